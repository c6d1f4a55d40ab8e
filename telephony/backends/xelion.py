"""Drivers for Xelion: a server reached directly (`XelionServerDriver`, kind "xelion") and the
Park Manager (`XelionParkManagerDriver`, kind "xelion_pm", in `xelion_pm`). Both speak the same
tenant API for entities, users and numbers (`xelion_content`, `xelion_users`), each over a session
per tenant (`xelion_session`); they differ in how tenants are managed and how a session logs in.

Direct server driver:
- `Connection.base_url` is the server's root (`https://host`; a trailing `/api/v1[/<tenant>]` is
  ignored); `username`/`secret` are the platform (master) credentials, `app_key` the integrator's
  appKey. Every tenant session logs in at `/api/v1/<tenant>/me/login` with those same credentials.
- The session's `userSpace` is the connection's user space plus a short suffix unique to the driver
  instance, so that concurrent workers never collide on Xelion's one-session-per-userSpace rule
  (401/10005); should a 10005 still come back, the driver takes a new suffix and logs in once more.
- Tenants are managed on the master tenant: `tenants` (list, where=name=, create) and
  `tenants/<databaseId>/start|stop`. Only `start` is documented; the rest is the sandbox's stand-in
  for what a partner does through the Park Manager or Xelion's tooling (see telephony.sandbox).
  Creating a tenant adopts one with that name and leaves it started; starting a started tenant
  (10062) is fine. Xelion tenant names can never be reused, so `delete_tenant` stops the tenant
  and leaves it (and its data) on the server for Xelion's operators to clean up.
- `list_servers` is the server itself (capacity 100 tenants, 1 on a single-tenant server).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.utils.translation import gettext_lazy

from telephony.backends.base import (
    KIND_XELION_SERVER,
    BackendRef,
    Connection,
    HealthInfo,
    ServerInfo,
    TenantInfo,
    TenantRef,
    TenantSpec,
    backend_ref,
)
from telephony.backends.capabilities import Capabilities, documented_subset
from telephony.backends.errors import (
    AuthenticationError,
    NotFoundError,
    RejectedError,
    TransientError,
    UnsupportedOperation,
)
from telephony.backends.http import ExchangeLog
from telephony.backends.xelion_common import (
    XELION_DOCUMENTED_LINE,
    XELION_LINE,
    XELION_TEMPLATE,
    XELION_TENANTS_PER_SERVER,
    XelionDriverBase,
    root_url,
)
from telephony.backends.xelion_pm import XelionParkManagerDriver
from telephony.backends.xelion_session import XelionSession, error_from, expect_json_object

__all__ = ["XelionParkManagerDriver", "XelionServerDriver"]

MASTER = "master"
TENANT_FIELDS = ("name", "databaseId", "status", "label", "licenses")
ALREADY_STARTED = 10062
NO_MULTI_TENANT = 10060
ALREADY_LOGGED_IN = 10005
MAX_USER_SPACE = 200


class XelionServerDriver(XelionDriverBase):
    """A Xelion server reached directly with its master (platform) credentials."""

    kind = KIND_XELION_SERVER
    capabilities = Capabilities(
        pbx_name="Xelion",
        label=gettext_lazy("Xelion server"),
        starts_tenants=True,
        tenants_per_server=XELION_TENANTS_PER_SERVER,
        line_features=XELION_LINE,
        **XELION_TEMPLATE,
        crm_integrations=True,
        connection_fields=frozenset({"app_key", "user_space"}),
        required_connection_fields=frozenset({"user_space"}),
    )
    # Of the master tenant's calls only `tenants/<databaseId>/start` is documented, and nothing that
    # finds a tenant's databaseId: documented-only, tenants are made and started on the server, and
    # the portal checks that it can log in to them (backend-fidelity.md).
    documented_capabilities = documented_subset(
        capabilities, line=XELION_DOCUMENTED_LINE, creates_tenants=False, starts_tenants=False
    )

    def __init__(self, connection: Connection, *, log: ExchangeLog | None = None):
        super().__init__(connection, log=log)
        self.root = root_url(connection.base_url)
        self.http = self.client_for(self.root)
        self._space_suffix = secrets.token_hex(4)

    # sessions
    def user_space(self) -> str:
        base = (self.connection.user_space or "provisioning-portal").strip()
        return f"{base[: MAX_USER_SPACE - len(self._space_suffix) - 1]} {self._space_suffix}"

    def _login_to(self, tenant_name: str) -> dict[str, Any]:
        if not self.connection.username or not self.connection.secret:
            raise AuthenticationError("the Xelion platform has no user name or password")
        for attempt in range(2):
            payload = {
                "userName": self.connection.username,
                "password": self.connection.secret,
                "userSpace": self.user_space(),
            }
            if self.connection.app_key:
                payload["appKey"] = self.connection.app_key
            response = self.http.request("POST", f"api/v1/{tenant_name}/me/login", json_body=payload)
            if response.ok:
                return expect_json_object(response, "login")
            error = error_from(response, "login")
            if error.code == ALREADY_LOGGED_IN and attempt == 0:
                self._space_suffix = secrets.token_hex(4)  # another session holds this userSpace
                continue
            raise error
        raise AuthenticationError("login kept answering 10005")  # not reached: the loop raises

    def server_root(self, tenant: TenantRef) -> str:
        return self.root

    def open_session(self, tenant: TenantRef) -> XelionSession:
        return XelionSession(self.http, tenant.name, lambda: self._login_to(tenant.name))

    def _master(self) -> XelionSession:
        return self._session(TenantRef(name=MASTER))

    # health and inventory
    def health(self) -> HealthInfo:
        master = self._master()
        master.call("GET", "licenses")
        answer = master.login_answer
        version, build = answer.get("version", "?"), answer.get("buildNumber", "?")
        detail = f"Xelion API {version}, build {build} at {self.host_of(self.root)}"
        return HealthInfo(version=str(answer.get("serverVersion", "")), detail=detail)

    def _multi_tenant(self) -> bool:
        if self.connection.documented_only:
            return True  # nothing documented says; a single-tenant server holds its one tenant anyway
        try:
            self._master().call("GET", "tenants", params={"limit": 1})
        except NotFoundError as exc:
            if exc.code == NO_MULTI_TENANT:
                return False
            raise
        return True

    def list_servers(self) -> list[ServerInfo]:
        host = self.host_of(self.root)
        capacity = XELION_TENANTS_PER_SERVER if self._multi_tenant() else 1
        return [ServerInfo(name=host, host=host, identity=backend_ref(), capacity_tenants=capacity)]

    def _info(self, obj: dict[str, Any]) -> TenantInfo:
        licences = obj.get("licenses")
        return TenantInfo(
            name=obj["name"],
            identity=backend_ref(xelion_database_id=int(obj["databaseId"])),
            label=obj.get("label", ""),
            licences=licences if isinstance(licences, int) else None,
            status=str(obj.get("status", "")).lower(),
            server_name=self.host_of(self.root),
        )

    def list_tenants(self) -> list[TenantInfo]:
        if self.connection.documented_only:
            raise UnsupportedOperation("the documented Xelion API does not list tenants")
        if not self._multi_tenant():
            return [TenantInfo(name=MASTER, identity=backend_ref(xelion_database_id=0), status="started")]
        tenants = self._master().iterate("tenants", include=TENANT_FIELDS)
        return [self._info(obj) for obj in tenants if obj.get("name") != MASTER]

    # tenants
    def _find(self, name: str, database_id: int | None = None) -> dict[str, Any] | None:
        master = self._master()
        if database_id is not None:
            obj = master.get_object(f"tenants/{database_id}")
            if obj is not None and obj.get("name") == name:
                return obj
        return next(
            (
                obj
                for obj in master.iterate("tenants", where=("name", name), include=TENANT_FIELDS)
                if obj.get("name") == name
            ),
            None,
        )

    def _locate(self, tenant: TenantRef) -> dict[str, Any] | None:
        if self.connection.documented_only:
            raise UnsupportedOperation("the documented Xelion API cannot look a tenant up, start or stop it")
        return self._find(tenant.name, tenant.identity.get("xelion_database_id"))

    def _set_started(self, obj: dict[str, Any], started: bool) -> dict[str, Any]:
        if (obj.get("status") == "STARTED") == started:
            return obj
        action = "start" if started else "stop"
        try:
            response = self._master().call("POST", f"tenants/{obj['databaseId']}/{action}")
        except RejectedError as exc:
            if exc.code != ALREADY_STARTED:
                raise
            return self._find(obj["name"], obj["databaseId"]) or obj
        if not started:
            self.forget_session(obj["name"])
        body = response.json()
        answered = body.get("object") if isinstance(body, dict) else None
        return answered if isinstance(answered, dict) else (self._find(obj["name"], obj["databaseId"]) or obj)

    def tenant_key(self, identity: BackendRef) -> str:
        if identity.get("xelion_database_id") is not None:
            return f"db:{identity.get('xelion_database_id')}"
        # known by its name alone (documented-only): a Xelion tenant's name never changes
        return f"name:{identity['xelion_tenant_name']}" if identity.get("xelion_tenant_name") else ""

    def create_tenant(self, spec: TenantSpec) -> TenantInfo:
        if self.connection.documented_only:
            return self._existing_tenant(spec)
        obj = self._find(spec.name)
        if obj is not None:
            self._adopt_found(obj, spec.name)
        else:
            payload: dict[str, Any] = {"name": spec.name, "label": spec.label}
            if spec.licences is not None:
                payload["licenses"] = spec.licences
            try:
                obj = self._master().create("tenants", payload)
            except TransientError as exc:
                obj = self._find(spec.name) if exc.status and exc.status >= 500 else None  # 500/11000: a duplicate?
                if obj is None:
                    raise
                self._adopt_found(obj, spec.name)
        return self._info(self._set_started(obj, True))

    def _existing_tenant(self, spec: TenantSpec) -> TenantInfo:
        """Documented-only, a tenant is made on the server beforehand: it is the portal's once the
        platform's credentials log in to it (a login is the one documented call on any tenant)."""
        try:
            self._session(TenantRef(name=spec.name)).ensure()
        except AuthenticationError as exc:
            self.forget_session(spec.name)
            raise RejectedError(
                f"cannot log in to tenant {spec.name} ({exc.message}): the documented Xelion API cannot create a "
                "tenant, so it must exist and be started on the server first",
                status=exc.status,
            ) from None
        identity = backend_ref(xelion_tenant_name=spec.name)
        self.adopt("tenant", identity, spec.name)
        return TenantInfo(name=spec.name, identity=identity, label=spec.label, licences=spec.licences, status="started")

    def delete_tenant(self, tenant: TenantRef) -> None:
        if self.connection.documented_only:  # it cannot be stopped: it stays on the server as it is
            self.forget_session(tenant.name)
            return
        super().delete_tenant(tenant)

    def get_tenant(self, tenant: TenantRef) -> TenantInfo | None:
        if tenant.name == MASTER:
            return TenantInfo(name=MASTER, identity=backend_ref(xelion_database_id=0), status="started")
        return super().get_tenant(tenant)
