"""What both Xelion drivers share: HTTP clients per server, one cached session per tenant, and
closing them all. The tenant-level operations come from `XelionTenantContent`."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext_noop

from telephony.backends.base import BackendRef, Connection, Driver, TenantInfo, TenantRef
from telephony.backends.capabilities import LineFeatures, TemplateSetting
from telephony.backends.errors import NotFoundError
from telephony.backends.http import ExchangeLog, HttpClient
from telephony.backends.xelion_content import XelionTenantContent
from telephony.backends.xelion_session import XelionSession

API_SUFFIX = re.compile(r"/api(/v\d+(/[^/]*)?)?/?$")


def root_url(base_url: str) -> str:
    """The scheme://host[:port] root of a Xelion server or Park Manager, even when the URL given
    already ends in `/api/v1` or `/api/v1/<tenant>`."""
    url = base_url.strip().rstrip("/")
    return API_SUFFIX.sub("", url) or url


# A Xelion phoneline has no busy redirection; the voicemail PIN is not in the API.
XELION_LINE = LineFeatures(forward_busy=False, voicemail_pin=False)
# On the documented API alone: no e-mail (Person `addresses`), and one external number, the line's
# `externalNumber` (a line's `extensions` are documented with its internal number only).
XELION_DOCUMENTED_LINE = {"email": False, "external_numbers": 1}
# What a Xelion user takes from its line template beyond the common fields.
XELION_TEMPLATE = {
    "template_settings": (
        TemplateSetting("role", gettext_noop("Xelion role"), "user", choices=(("user", "user"), ("admin", "admin"))),
        TemplateSetting("user_licence", gettext_noop("Xelion user licence"), True),
    ),
    "settings_group": "xelion",
    "settings_label": "Xelion",
}
# A multi-tenant Xelion server holds about a hundred tenants.
XELION_TENANTS_PER_SERVER = 100


class XelionDriverBase(XelionTenantContent, Driver):
    """Sessions and clients of a Xelion driver; subclasses say how a tenant's session logs in."""

    renew_margin_seconds = 60.0  # renew a token this long before its validUntil
    page_size: int | None = None  # None: the server's default page (15)
    read_page_size = 200  # a read-back's pages, unless page_size says otherwise: fewer round trips

    def __init__(self, connection: Connection, *, log: ExchangeLog | None = None):
        super().__init__(connection, log=log)
        self._clients: dict[str, HttpClient] = {}
        self._sessions: dict[str, XelionSession] = {}

    def server_root(self, tenant: TenantRef) -> str:
        """The root URL of the Xelion server that holds the tenant."""
        raise NotImplementedError

    def cti_address(self, tenant: TenantRef) -> tuple[str, str]:
        parts = urlsplit(self.server_root(tenant))
        return parts.scheme or "https", parts.netloc

    def client_for(self, root: str) -> HttpClient:
        """The HTTP client of one server root, made once and shared by its tenants' sessions."""
        root = root.rstrip("/")
        if root not in self._clients:
            self._clients[root] = HttpClient(
                root,
                timeout=self.connection.timeout,
                verify_tls=self.connection.verify_tls,
                log=self.log,
                known_secrets=(self.connection.secret, self.connection.app_key),
                default_headers={"Accept": "application/json"},
            )
        return self._clients[root]

    def host_of(self, root: str) -> str:
        return urlsplit(root).netloc

    def claim_key(self, kind: str, identity: BackendRef, tenant: str = "") -> str:
        # oids are unique inside one tenant's database; a tenant is known by the platform's id for it
        if kind == "server":
            return identity.get("xelion_oid", "")  # the Park Manager's id of the server
        if kind == "tenant":
            return self.tenant_key(identity)
        if kind in ("entity", "user") and identity.get("xelion_oid", ""):
            return f"{tenant}/{identity.get('xelion_oid', '')}"
        return ""

    def tenant_key(self, identity: BackendRef) -> str:
        raise NotImplementedError

    def _session(self, tenant: TenantRef) -> XelionSession:
        session = self._sessions.get(tenant.name)
        if session is None:
            session = self.open_session(tenant)
            session.renew_margin_seconds = self.renew_margin_seconds
            session.page_size = self.page_size
            self._sessions[tenant.name] = session
        return session

    def open_session(self, tenant: TenantRef) -> XelionSession:
        raise NotImplementedError

    # tenants: the drivers differ in how a tenant is found and started, not in what follows
    def _locate(self, tenant: TenantRef) -> dict[str, Any] | None:
        """The platform's record of the tenant, by its identity when known, else by name."""
        raise NotImplementedError

    def _set_started(self, obj: dict[str, Any], started: bool) -> dict[str, Any]:
        raise NotImplementedError

    def _info(self, obj: dict[str, Any]) -> TenantInfo:
        raise NotImplementedError

    def _require(self, tenant: TenantRef) -> dict[str, Any]:
        obj = self._locate(tenant)
        if obj is None:
            raise NotFoundError(f"tenant {tenant.name} does not exist on {self.host_of(self.root)}")
        return obj

    def get_tenant(self, tenant: TenantRef) -> TenantInfo | None:
        obj = self._locate(tenant)
        return self._info(obj) if obj else None

    def _adopt_found(self, obj: dict[str, Any], tenant: str) -> dict[str, Any]:
        """A tenant found by its name is the row's only if no other row holds it."""
        self.adopt("tenant", self._info(obj).identity, tenant)
        return obj

    def start_tenant(self, tenant: TenantRef) -> TenantInfo:
        return self._info(self._set_started(self._require(tenant), True))

    def stop_tenant(self, tenant: TenantRef) -> TenantInfo:
        return self._info(self._set_started(self._require(tenant), False))

    def delete_tenant(self, tenant: TenantRef) -> None:
        """Stop the tenant: a Xelion tenant's name can never be used again, so it stays stopped.
        A tenant found by its name only that another row holds is left alone."""
        obj = self._locate(tenant)
        found = self._info(obj).identity if obj is not None else None
        if found is not None and (
            self.tenant_key(found) == self.tenant_key(tenant.identity) or self.may_remove("tenant", found, tenant.name)
        ):
            self._set_started(obj, False)
        self.forget_session(tenant.name)

    def forget_session(self, tenant_name: str) -> None:
        session = self._sessions.pop(tenant_name, None)
        if session is not None:
            session.close()

    def close(self) -> None:
        for name in list(self._sessions):
            self.forget_session(name)
        for client in self._clients.values():
            client.close()
        self._clients.clear()
