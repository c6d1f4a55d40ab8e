"""The mirror of the PBX platforms: what the portal holds and pushes to the backends."""

from telephony.models.claims import BackendClaim
from telephony.models.imports import ImportKind, ImportMode, ImportRun, ImportStatus
from telephony.models.jobs import (
    UNFINISHED,
    JobAttempt,
    JobDependency,
    JobStatus,
    ProvisioningBatch,
    ProvisioningJob,
    WaitState,
)
from telephony.models.numbers import PhoneNumber
from telephony.models.platforms import Platform, PlatformKind, Server
from telephony.models.sync import MirroredModel, SyncState
from telephony.models.templates import CallerIdMode, LineTemplate, LineTemplateMirror, PeerSipName, VoicemailNumberMode
from telephony.models.tenants import Entity, NumberInterval, Tenant, TenantStatus
from telephony.models.users import PbxUser

__all__ = [
    "UNFINISHED",
    "BackendClaim",
    "CallerIdMode",
    "Entity",
    "ImportKind",
    "ImportMode",
    "ImportRun",
    "ImportStatus",
    "JobAttempt",
    "JobDependency",
    "JobStatus",
    "LineTemplate",
    "LineTemplateMirror",
    "MirroredModel",
    "NumberInterval",
    "PbxUser",
    "PeerSipName",
    "PhoneNumber",
    "Platform",
    "PlatformKind",
    "ProvisioningBatch",
    "ProvisioningJob",
    "Server",
    "SyncState",
    "Tenant",
    "TenantStatus",
    "VoicemailNumberMode",
    "WaitState",
]
