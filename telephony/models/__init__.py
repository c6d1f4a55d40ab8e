"""The mirror of the PBX platforms: what the portal holds and pushes to the backends."""

from telephony.models.numbers import PhoneNumber
from telephony.models.platforms import Platform, PlatformKind, Server
from telephony.models.templates import CallerIdMode, LineTemplate, LineTemplateMirror, PeerSipName, VoicemailNumberMode
from telephony.models.tenants import Entity, NumberInterval, Tenant, TenantStatus
from telephony.models.users import PbxUser

__all__ = [
    "CallerIdMode",
    "Entity",
    "LineTemplate",
    "LineTemplateMirror",
    "NumberInterval",
    "PbxUser",
    "PeerSipName",
    "PhoneNumber",
    "Platform",
    "PlatformKind",
    "Server",
    "Tenant",
    "TenantStatus",
    "VoicemailNumberMode",
]
