"""The one driver interface over every PBX platform, and the portal-terms data it speaks.

A driver knows one platform's API and nothing of the portal's database: provisioning turns model
rows into the specs below, calls the driver, and stores the `BackendRef` it gets back on the
row. Everything a driver returns is in portal terms, whatever the platform calls it.

Platform kinds and what a portal concept maps to:

| portal      | Xelion (server / Park Manager)        | XiVO XCU                 | XC5-XS                          |
|-------------|---------------------------------------|--------------------------|---------------------------------|
| server      | Xelion server in the park             | a XiVO (`remainingSlots`)| the XC5 system                  |
| tenant      | tenant (`/api/v1/<tenant>/`)          | the XiVO's entities      | environment account (`acme.x`)  |
| entity      | department (usergroup)                | entity (`combinedId`)    | group of child accounts         |
| template    | defaults applied to the user          | line template            | defaults applied to the account |
| user        | Person + UserProfile + phoneline      | user                     | child account + routes          |
| number      | trunk number on the user's phoneline  | (external number field)  | account number                  |
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from telephony.backends.capabilities import Capabilities
from telephony.backends.compare import ReadBackComparison
from telephony.backends.errors import UnsupportedOperation
from telephony.backends.http import ExchangeLog

KIND_XELION_PARK_MANAGER = "xelion_pm"
KIND_XELION_SERVER = "xelion"
KIND_XCU = "xcu"
KIND_XC5 = "xc5"


@dataclass(frozen=True)
class Connection:
    """Where a platform is and how to log in to it (credentials in clear, never logged)."""

    kind: str
    base_url: str
    username: str = ""
    secret: str = ""  # password, or the Park Manager X-Auth-Key
    app_key: str = ""  # Xelion appKey identifying the integrator
    user_space: str = "provisioning-portal"  # Xelion userSpace: names this client's session
    acting_organization: str = ""  # Park Manager X-As-Organization
    timeout: float = 10.0
    verify_tls: bool = True
    documented_only: bool = False  # use no API extension beyond the vendor's documents (backend-fidelity.md)


BackendRef = dict[str, Any]
"""How a backend addresses one object: JSON that only the object's driver reads and writes. The
portal stores it on the row (`backend_ref`), hands it back unchanged and merges what later calls
answer into it; it never looks inside."""


def backend_ref(**values: Any) -> BackendRef:
    """A reference holding the given values, without the empty ones."""
    return {name: value for name, value in values.items() if value not in (None, "")}


def merge_refs(base: BackendRef, extra: BackendRef) -> BackendRef:
    """`base` with what `extra` knows on top (what a later call learnt wins; empty values never do)."""
    return {**base, **{name: value for name, value in extra.items() if value not in (None, "")}}


@dataclass
class HealthInfo:
    """What "Test connection" shows: the backend answered, and what it is."""

    version: str
    detail: str = ""


@dataclass
class ServerInfo:
    """One PBX behind a platform, as the platform lists it."""

    name: str
    host: str
    identity: BackendRef
    remaining_slots: int | None = None  # where the platform reports free line slots
    capacity_tenants: int | None = None  # where the platform says how many tenants a server holds


@dataclass
class TenantRef:
    """Everything a driver needs to address one tenant and the server it lives on."""

    name: str
    identity: BackendRef = field(default_factory=dict)
    server_name: str = ""
    server_host: str = ""
    server_identity: BackendRef = field(default_factory=dict)


@dataclass
class TenantSpec:
    name: str
    label: str = ""
    licences: int | None = None
    server_name: str = ""
    server_host: str = ""
    server_identity: BackendRef = field(default_factory=dict)


@dataclass
class TenantInfo:
    name: str
    identity: BackendRef
    label: str = ""
    licences: int | None = None
    status: str = ""  # "started", "stopped", or the backend's own word
    server_name: str = ""


@dataclass
class IntervalSpec:
    start: str
    end: str = ""  # empty: a single number


@dataclass
class EntitySpec:
    name: str
    display_name: str = ""
    intervals: list[IntervalSpec] = field(default_factory=list)
    presented_number: str = ""
    identity: BackendRef = field(default_factory=dict)


@dataclass
class TemplateSpec:
    """A line template in portal terms; XCU stores it, Xelion and XC5 apply it to each user."""

    name: str
    peer_sip_name: str = "auto"
    ringing_time: int = 30
    routed_inbound: bool = False
    routed_inbound_prefix: str = ""
    caller_id_mode: str = "incomingNo"
    custom_caller_id: str = ""
    voicemail_enabled: bool = False
    voicemail_number_mode: str = "short_number"
    voicemail_custom_number: str = ""
    voicemail_send_email: bool = False
    settings: dict[str, Any] = field(default_factory=dict)  # the platform's own values (its template_settings)
    identity: BackendRef = field(default_factory=dict)


@dataclass
class ForwardingSpec:
    always: str = ""  # destination; empty = off
    busy: str = ""
    no_answer: str = ""
    no_answer_timeout: int = 20


@dataclass
class UserSpec:
    username: str  # natural key on Xelion (userName) and XC5 (local part of the account name)
    first_name: str
    last_name: str
    internal_number: str  # natural key on XCU
    entity: EntitySpec
    template: TemplateSpec
    email: str = ""
    display_name: str = ""
    mobile_number: str = ""
    voicemail_enabled: bool = False
    voicemail_pin: str = ""
    forwarding: ForwardingSpec = field(default_factory=ForwardingSpec)
    external_numbers: list[str] = field(default_factory=list)  # E.164
    identity: BackendRef = field(default_factory=dict)
    pilot_number: str = ""  # the one of `external_numbers` that is its tenant's pilot, if any
    # No earlier attempt of any change of this user ever ran: nothing an attempt left half-made can
    # be on the PBX, so a create need not look for it first (the PBX's own refusal of a duplicate
    # still leads to the ownership-checked adoption).
    first_try: bool = False
    # The push is read back later, with the rest of its bulk change, by one scan of its tenant
    # (provisioning.verification): the driver need not read the user back after writing it.
    read_later: bool = False


@dataclass
class UserState:
    """A user as read back from the backend, in portal terms."""

    username: str
    first_name: str
    last_name: str
    internal_number: str
    identity: BackendRef
    email: str | None = None  # None: the PBX keeps no e-mail per user, or it was not read
    entity_name: str | None = None  # None: the PBX keeps no entity per user, or it was not read
    voicemail_enabled: bool | None = None
    forwarding: ForwardingSpec | None = None
    external_numbers: list[str] = field(default_factory=list)
    pilot_number: str | None = None  # which of them the PBX flags as pilot ("": none); None: not read


@dataclass
class NumberState:
    number: str  # E.164
    identity: BackendRef
    assigned_username: str = ""
    is_pilot: bool = False


@dataclass
class TenantState:
    """Everything of one tenant read back from its backend (used for drift detection)."""

    tenant: TenantInfo
    entities: list[EntitySpec] = field(default_factory=list)
    templates: list[TemplateSpec] = field(default_factory=list)
    users: list[UserState] = field(default_factory=list)
    numbers: list[NumberState] = field(default_factory=list)


ReadBack = TenantInfo | EntitySpec | TemplateSpec | UserState | NumberState


class Ownership:
    """Whose the objects are that a driver finds on the backend by their natural key.

    A driver adopts such an object only when it sits in the container the change expects and
    `claim` accepts it: the portal (the provisioning engine) records which row holds each backend
    object and refuses one that another row holds (ConflictError), before anything is written.
    This base is for a driver used outside the portal (a script, a contract test): it claims
    nothing and refuses nothing."""

    def claim(self, kind: str, key: str) -> None:
        """Take the object (`kind`, the driver's canonical `key`) for the row being pushed."""

    def is_free(self, kind: str, key: str) -> bool:
        """Is the object unclaimed, or claimed by the row being pushed? (Asked before a delete.)"""
        return True


class Driver(ReadBackComparison, abc.ABC):
    """One platform's API behind the portal's operations.

    Creates are idempotent: before creating, a driver looks the object up by its natural key and
    adopts it if it is provably the one meant: in the expected container, and accepted by the
    `ownership` (`adopt`). Otherwise it raises ConflictError without writing. A retry after a crash
    thus never makes a duplicate, and never takes over another customer's object. Deletes of an
    object that is already gone (or that is not ours) succeed without touching anything. Errors are
    raised as the classes in `errors`.
    """

    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities]  # with every extension the driver knows of
    documented_capabilities: ClassVar[Capabilities | None] = None  # on the documented API alone (None: the same)

    @classmethod
    def capabilities_for(cls, *, documented_only: bool) -> Capabilities:
        """What the platform can do through this driver, with or without the API's extensions."""
        if documented_only and cls.documented_capabilities is not None:
            return cls.documented_capabilities
        return cls.capabilities

    @property
    def features(self) -> Capabilities:
        """The capabilities on this connection."""
        return self.capabilities_for(documented_only=self.connection.documented_only)

    def __init__(self, connection: Connection, *, log: ExchangeLog | None = None):
        self.connection = connection
        self.log = log if log is not None else ExchangeLog()
        self.ownership = Ownership()
        # calls a read-back may have in flight at once: the slots of the server's concurrency limit
        # its scan holds (a driver whose API pages its lists walks several at once)
        self.readers = 1
        self._answered_user: UserState | None = None

    # what a write's answer showed
    def answered_with(self, state: UserState | None) -> None:
        """Keep the user as the answer of the last user write showed it (None: the answer did not
        hold the whole user), for the engine's read after the push (`take_answered_user`)."""
        self._answered_user = state

    def take_answered_user(self, identity: BackendRef) -> UserState | None:
        """The user the last write's answer held, if it is the one with this identity: the PBX's own
        account of what it keeps, which spares reading it back. Forgotten once taken."""
        state, self._answered_user = self._answered_user, None
        shared = state.identity.keys() & identity.keys() if state is not None else set()
        if not shared or any(state.identity[key] != identity[key] for key in shared):
            return None
        return state

    def join_entities(self, tenant: TenantRef, members: list[tuple[BackendRef, BackendRef]]) -> int:
        """Put users made with `UserSpec.read_later` into their entities, given as (user identity,
        entity identity) pairs, where a user joins its entity in a call of its own (a group's
        member list) that the create then left out: one call per entity for all of them, before
        the scan that reads them back. Adds only who is not a member yet, never removes anyone;
        returns how many joined. Elsewhere a user's entity is written with the user: nothing to do."""
        return 0

    # ownership of what is found by natural key
    @contextlib.contextmanager
    def owned_by(self, ownership: Ownership) -> Iterator[None]:
        """Run the calls inside for one portal row (the engine sets it per job)."""
        previous, self.ownership = self.ownership, ownership
        try:
            yield
        finally:
            self.ownership = previous

    def claim_key(self, kind: str, identity: BackendRef, tenant: str = "") -> str:
        """The canonical key of a backend object, unique per platform and kind ("server", "tenant",
        "entity", "template", "user"); empty for what is no object of its own on this platform."""
        return ""

    def adopt(self, kind: str, identity: BackendRef, tenant: str = "") -> None:
        """Take an object found by its natural key, or raise ConflictError if another row holds it."""
        key = self.claim_key(kind, identity, tenant)
        if key:
            self.ownership.claim(kind, key)

    def may_remove(self, kind: str, identity: BackendRef, tenant: str = "") -> bool:
        """May a delete that found this object by its natural key remove it (nobody else holds it)?"""
        key = self.claim_key(kind, identity, tenant)
        return not key or self.ownership.is_free(kind, key)

    def cti_address(self, tenant: TenantRef) -> tuple[str, str]:
        """The protocol and host (with its port) under which a CTI service reaches the tenant's PBX
        (`capabilities.crm_integrations`)."""
        raise UnsupportedOperation(f"{self.capabilities.label} platforms have no CTI service")

    # health and inventory
    @abc.abstractmethod
    def health(self) -> HealthInfo: ...

    @abc.abstractmethod
    def list_servers(self) -> list[ServerInfo]: ...

    @abc.abstractmethod
    def list_tenants(self) -> list[TenantInfo]: ...

    # tenants
    @abc.abstractmethod
    def create_tenant(self, spec: TenantSpec) -> TenantInfo: ...

    @abc.abstractmethod
    def get_tenant(self, tenant: TenantRef) -> TenantInfo | None: ...

    def start_tenant(self, tenant: TenantRef) -> TenantInfo:
        raise UnsupportedOperation(f"{self.capabilities.label} platforms cannot start a tenant")

    def stop_tenant(self, tenant: TenantRef) -> TenantInfo:
        raise UnsupportedOperation(f"{self.capabilities.label} platforms cannot stop a tenant")

    @abc.abstractmethod
    def delete_tenant(self, tenant: TenantRef) -> None: ...

    # entities and their number plan
    @abc.abstractmethod
    def upsert_entity(self, tenant: TenantRef, spec: EntitySpec) -> BackendRef: ...

    @abc.abstractmethod
    def delete_entity(self, tenant: TenantRef, spec: EntitySpec) -> None: ...

    # line templates
    @abc.abstractmethod
    def upsert_template(self, tenant: TenantRef, spec: TemplateSpec) -> BackendRef: ...

    @abc.abstractmethod
    def delete_template(self, tenant: TenantRef, spec: TemplateSpec) -> None: ...

    # users
    @abc.abstractmethod
    def find_user(self, tenant: TenantRef, spec: UserSpec) -> UserState | None: ...

    @abc.abstractmethod
    def create_user(self, tenant: TenantRef, spec: UserSpec) -> BackendRef: ...

    @abc.abstractmethod
    def update_user(self, tenant: TenantRef, spec: UserSpec) -> BackendRef: ...

    @abc.abstractmethod
    def delete_user(self, tenant: TenantRef, spec: UserSpec) -> None: ...

    # external numbers
    @abc.abstractmethod
    def assign_number(self, tenant: TenantRef, user: UserSpec, number: str) -> BackendRef: ...

    @abc.abstractmethod
    def unassign_number(self, tenant: TenantRef, user: UserSpec, number: str) -> None: ...

    def set_tenant_pilot(
        self, tenant: TenantRef, number: str, *, pilot: bool, release: bool = False
    ) -> BackendRef | None:
        """Make `number`, on no user, the tenant's pilot on the PBX (or no longer; `release`: it is
        no longer the tenant's at all). Only platforms whose capabilities say `keeps_pilot` are
        asked; the others keep no pilot to push."""
        return None

    # read-back
    @abc.abstractmethod
    def read_tenant(self, tenant: TenantRef) -> Iterator[ReadBack]:
        """What the PBX holds of a tenant, item by item as its pages arrive: the TenantInfo first,
        then its entities, line templates, users and numbers (portal specs with their reference).
        Raises NotFoundError before the first item when the tenant is not there; any error in mid-read
        ends the read (a read cut short must conclude nothing)."""

    def fetch_state(self, tenant: TenantRef) -> TenantState:
        """The whole read-back at once: for a look at one small tenant (a test, a console)."""
        items = self.read_tenant(tenant)
        state = TenantState(tenant=next(items))
        lists = {EntitySpec: state.entities, TemplateSpec: state.templates, UserState: state.users}
        for item in items:
            lists.get(type(item), state.numbers).append(item)
        return state

    def close(self) -> None:
        """Log out and release the HTTP session, where the platform has one."""
