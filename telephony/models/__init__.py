"""The mirror of the PBX platforms: what the portal holds and pushes to the backends."""

from telephony.models.claims import BackendClaim
from telephony.models.configurator import (
    ConfiguratorCredential,
    ConfiguratorLink,
    ConfiguratorOrder,
    ConfiguratorOrderEvent,
    EventSource,
    OrderStatus,
)
from telephony.models.cti import CrmEvent, CrmEventMapping, CrmIntegration, CtiService, CtiUserCredentials
from telephony.models.drift import DriftFinding, DriftScan, FindingKind, ScanStatus, ScanTrigger
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
from telephony.models.sync import SEEN_STATES, MirroredModel, SyncState
from telephony.models.templates import CallerIdMode, LineTemplate, LineTemplateMirror, PeerSipName, VoicemailNumberMode
from telephony.models.tenants import Entity, NumberInterval, Tenant, TenantStatus
from telephony.models.users import PbxUser
from telephony.models.webhooks import (
    DeliveryStatus,
    ServerHealthState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventType,
)

__all__ = [
    "SEEN_STATES",
    "UNFINISHED",
    "BackendClaim",
    "CallerIdMode",
    "ConfiguratorCredential",
    "ConfiguratorLink",
    "ConfiguratorOrder",
    "ConfiguratorOrderEvent",
    "CrmEvent",
    "CrmEventMapping",
    "CrmIntegration",
    "CtiService",
    "CtiUserCredentials",
    "DeliveryStatus",
    "DriftFinding",
    "DriftScan",
    "Entity",
    "EventSource",
    "FindingKind",
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
    "OrderStatus",
    "PbxUser",
    "PeerSipName",
    "PhoneNumber",
    "Platform",
    "PlatformKind",
    "ProvisioningBatch",
    "ProvisioningJob",
    "ScanStatus",
    "ScanTrigger",
    "Server",
    "ServerHealthState",
    "SyncState",
    "Tenant",
    "TenantStatus",
    "VoicemailNumberMode",
    "WaitState",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookEventType",
]
