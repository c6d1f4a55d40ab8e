"""The Xelion Park Manager driver (kind "xelion_pm").

- `Connection.base_url` is the Park Manager's root; `secret` is the X-Auth-Key (sent on every call,
  never logged) and `acting_organization`, when set, goes out as `X-As-Organization`. A refused key
  (401) or an organisation the key may not act as (403) is an AuthenticationError: the credentials
  do not reach that organisation, and retrying cannot help.
- Servers: `GET /api/v2/servers`; a server's `id` is its identity (`BackendRef.get("xelion_oid", "")`),
  its capacity `maxTenants` (100 when not given).
- Tenants: `GET /api/v2/tenants[?name=]`, `GET /api/v2/tenants/{id}`; the tenant's Xelion name is
  `subDatabaseName`; identity `xelion_tenant_id` (the Park Manager id) and `xelion_database_id`.
  `create_tenant` adopts a tenant with that name, else calls
  `POST /api/v1/park/start-new-tenant?name=&requestedLicenses=&label=` (plus `serverId` when the
  spec names a server; the sandbox honours it, a Park Manager without it picks a server itself),
  and leaves the tenant started. Start and stop go through `/api/v2/tenants/{id}/start|stop`; a
  tenant already in that state is fine. `delete_tenant` stops the tenant: a Xelion tenant name can
  never be reused, so the tenant stays with the park for its operators.
- Tenant sessions: `POST /api/v2/tenants/{id}/login` gives a token valid on the tenant's server;
  the server's address is the listed server's `scheme` + `fqdn`. Renewal and logout then go to the
  server itself (`me/renew`, `me/logout`); an expired token is replaced by a new Park Manager login.
- `health` lists the servers the key sees and reports the first one's version.
"""

from __future__ import annotations

from typing import Any

from telephony.backends.base import (
    KIND_XELION_PARK_MANAGER,
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
from telephony.backends.configurator import TenantAccess
from telephony.backends.errors import (
    AlreadyExistsError,
    AuthenticationError,
    NotFoundError,
    RejectedError,
    TransientError,
    UnsupportedOperation,
)
from telephony.backends.http import ExchangeLog, HttpClient
from telephony.backends.xelion_common import (
    XELION_DOCUMENTED_LINE,
    XELION_LINE,
    XELION_TEMPLATE,
    XELION_TENANTS_PER_SERVER,
    XelionDriverBase,
    root_url,
)
from telephony.backends.xelion_session import XelionSession, error_from


class XelionParkManagerDriver(XelionDriverBase):
    """A Xelion Park Manager: servers, tenants and, through tenant logins, each tenant's API."""

    kind = KIND_XELION_PARK_MANAGER
    capabilities = Capabilities(
        pbx_name="Xelion",
        label="Xelion Park Manager",
        starts_tenants=True,
        lists_tenants=True,
        tenants_per_server=XELION_TENANTS_PER_SERVER,
        line_features=XELION_LINE,
        **XELION_TEMPLATE,
        crm_integrations=True,
        places_tenants=True,
        needs_username=False,  # the X-Auth-Key alone
        opens_tenants_by_order=True,
        connection_fields=frozenset({"acting_organization"}),
    )
    # The seed shows start-new-tenant and the tenant login alone (backend-fidelity.md).
    documented_capabilities = documented_subset(
        capabilities,
        line=XELION_DOCUMENTED_LINE,
        starts_tenants=False,
        lists_tenants=False,
        lists_servers=False,
        places_tenants=False,
    )

    def __init__(self, connection: Connection, *, log: ExchangeLog | None = None):
        super().__init__(connection, log=log)
        self.root = root_url(connection.base_url)
        headers = {"Accept": "application/json", "X-Auth-Key": connection.secret}
        if connection.acting_organization:
            headers["X-As-Organization"] = str(connection.acting_organization)
        self.pm = HttpClient(
            self.root,
            timeout=connection.timeout,
            verify_tls=connection.verify_tls,
            log=self.log,
            known_secrets=(connection.secret,),
            default_headers=headers,
        )
        self._servers: dict[int, dict[str, Any]] = {}

    def call_pm(self, method: str, path: str, *, params: dict[str, Any] | None = None) -> Any:
        if not self.connection.secret:
            raise AuthenticationError("the Park Manager platform has no X-Auth-Key")
        response = self.pm.request(method, path, params=params)
        if response.ok:
            return response.json()
        error = error_from(response, f"{method} {path}")
        if response.status in (401, 403):
            raise AuthenticationError(error.message, status=response.status)
        raise error

    # servers
    def _server_map(self, refresh: bool = False) -> dict[int, dict[str, Any]]:
        if refresh or not self._servers:
            listed = self.call_pm("GET", "api/v2/servers")
            if not isinstance(listed, list):
                raise TransientError("GET api/v2/servers: the answer is not a list")
            self._servers = {int(server["id"]): server for server in listed}
        return self._servers

    def _server(self, server_id: int) -> dict[str, Any]:
        server = self._server_map().get(server_id) or self._server_map(refresh=True).get(server_id)
        if server is None:
            raise NotFoundError(f"Park Manager server {server_id} is not visible")
        return server

    def _beyond_the_documents(self, what: str) -> UnsupportedOperation:
        return UnsupportedOperation(f"the documented Park Manager API {what}; this platform is set to use it alone")

    def health(self) -> HealthInfo:
        if self.connection.documented_only:
            raise self._beyond_the_documents(
                "has no call that checks a key without starting a tenant: the key is tried at the first tenant login"
            )
        servers = list(self._server_map(refresh=True).values())
        version = str(servers[0].get("version", "")) if servers else ""
        detail = f"Park Manager at {self.host_of(self.root)}: {len(servers)} server(s) visible"
        return HealthInfo(version=version, detail=detail)

    def list_servers(self) -> list[ServerInfo]:
        if self.connection.documented_only:
            raise self._beyond_the_documents("does not list servers")
        return [
            ServerInfo(
                name=str(server.get("name", "")),
                host=str(server.get("fqdn", "")),
                identity=backend_ref(xelion_oid=str(server["id"])),
                capacity_tenants=int(server.get("maxTenants") or XELION_TENANTS_PER_SERVER),
            )
            for server in self._server_map(refresh=True).values()
        ]

    # tenants
    def _info(self, tenant: dict[str, Any]) -> TenantInfo:
        licences = [entry.get("maxLicenses") for entry in tenant.get("licenses") or [] if isinstance(entry, dict)]
        server = self._server_map().get(int(tenant.get("server") or 0)) or {}
        return TenantInfo(
            name=tenant.get("subDatabaseName", ""),
            identity=backend_ref(xelion_tenant_id=str(tenant["id"]), xelion_database_id=tenant.get("databaseId")),
            label=tenant.get("label", ""),
            licences=int(licences[0]) if licences and isinstance(licences[0], int) else None,
            status=str(tenant.get("status", "")).lower(),
            server_name=str(server.get("name", "")),
        )

    def list_tenants(self) -> list[TenantInfo]:
        if self.connection.documented_only:
            raise self._beyond_the_documents("does not list tenants")
        listed = self.call_pm("GET", "api/v2/tenants")
        return [self._info(tenant) for tenant in listed or []]

    def _find(self, name: str, tenant_id: str = "") -> dict[str, Any] | None:
        if tenant_id:
            try:
                tenant = self.call_pm("GET", f"api/v2/tenants/{tenant_id}")
            except NotFoundError:
                tenant = None
            if isinstance(tenant, dict) and tenant.get("subDatabaseName") == name:
                return tenant
        listed = self.call_pm("GET", "api/v2/tenants", params={"name": name})
        return next((t for t in listed or [] if t.get("subDatabaseName") == name), None)

    def _locate(self, tenant: TenantRef) -> dict[str, Any] | None:
        if self.connection.documented_only:
            raise self._beyond_the_documents("cannot look a tenant up, start or stop it")
        return self._find(tenant.name, tenant.identity.get("xelion_tenant_id", ""))

    def _set_started(self, tenant: dict[str, Any], started: bool) -> dict[str, Any]:
        if (tenant.get("status") == "STARTED") == started:
            return tenant
        action = "start" if started else "stop"
        try:
            answered = self.call_pm("POST", f"api/v2/tenants/{tenant['id']}/{action}")
        except AlreadyExistsError as exc:  # 409: already so, or refused
            again = self._find(tenant.get("subDatabaseName", ""), str(tenant["id"]))
            if again is not None and (again.get("status") == "STARTED") == started:
                return again
            raise RejectedError(exc.message, status=exc.status) from None
        if not started:
            self.forget_session(tenant.get("subDatabaseName", ""))
        return answered if isinstance(answered, dict) else tenant

    def tenant_key(self, identity: BackendRef) -> str:
        return f"pm:{identity.get('xelion_tenant_id', '')}" if identity.get("xelion_tenant_id", "") else ""

    def create_tenant(self, spec: TenantSpec) -> TenantInfo:
        if self.connection.documented_only:
            return self._start_new_documented(spec)
        tenant = self._find(spec.name)
        if tenant is not None:
            self._adopt_found(tenant, spec.name)
        else:
            params: dict[str, Any] = {"name": spec.name}
            if spec.licences is not None:
                params["requestedLicenses"] = spec.licences
            if spec.label:
                params["label"] = spec.label
            if spec.server_identity.get("xelion_oid", ""):
                params["serverId"] = spec.server_identity.get("xelion_oid", "")
            try:
                answer = self.call_pm("POST", "api/v1/park/start-new-tenant", params=params)
                tenant = answer.get("tenant") if isinstance(answer, dict) else None
            except AlreadyExistsError as exc:
                tenant = self._find(spec.name)  # a retry after a lost answer finds it here
                if tenant is None:
                    raise RejectedError(exc.message, status=exc.status) from None
                self._adopt_found(tenant, spec.name)
            if not isinstance(tenant, dict):
                raise TransientError("start-new-tenant answered no tenant")
        return self._info(self._set_started(tenant, True))

    def _start_new_documented(self, spec: TenantSpec) -> TenantInfo:
        """start-new-tenant as the seed shows it: the Park Manager picks the server, and its answer
        names the server's address, which the reference keeps for the tenant's logins."""
        params: dict[str, Any] = {"name": spec.name}
        if spec.licences is not None:
            params["requestedLicenses"] = spec.licences
        if spec.label:
            params["label"] = spec.label
        try:
            answer = self.call_pm("POST", "api/v1/park/start-new-tenant", params=params)
        except AlreadyExistsError as exc:
            raise RejectedError(
                f"{exc.message}: the documented Park Manager API cannot look up the tenant named {spec.name} to "
                "take it over; choose another name, or ask the park's operators",
                status=exc.status,
            ) from None
        tenant, server = (answer.get(key) if isinstance(answer, dict) else None for key in ("tenant", "server"))
        if not isinstance(tenant, dict) or not isinstance(server, dict) or not server.get("fqdn"):
            raise TransientError("start-new-tenant answered no tenant or server")
        return TenantInfo(
            name=tenant.get("subDatabaseName") or spec.name,
            identity=backend_ref(
                xelion_tenant_id=str(tenant["id"]),
                xelion_database_id=tenant.get("databaseId"),
                xelion_server_url=f"{server.get('scheme') or 'https'}://{server['fqdn']}",
            ),
            label=tenant.get("label", spec.label),
            licences=spec.licences,
            status="started",  # start-new-tenant starts what it takes
            server_name=str(server.get("name", "")),
        )

    def delete_tenant(self, tenant: TenantRef) -> None:
        if self.connection.documented_only:  # it cannot be stopped: it stays with the park as it is
            self.forget_session(tenant.name)
            return
        super().delete_tenant(tenant)

    # tenant sessions
    def _address(self, tenant: TenantRef) -> tuple[str, str, str]:
        """The tenant's server root, its Park Manager id and its Xelion name."""
        if self.connection.documented_only:
            root, tenant_id = tenant.identity.get("xelion_server_url", ""), tenant.identity.get("xelion_tenant_id", "")
            if not root or not tenant_id:
                raise NotFoundError(
                    f"tenant {tenant.name} was not started by this portal, and the documented Park Manager API "
                    "cannot look it up"
                )
            return root, tenant_id, tenant.name
        found = self._require(tenant)
        server = self._server(int(found["server"]))
        if not server.get("scheme") or not server.get("fqdn"):
            raise TransientError(f"the Park Manager gives no address for server {server.get('name', found['server'])}")
        return f"{server['scheme']}://{server['fqdn']}", found["id"], found["subDatabaseName"]

    def tenant_access(self, tenant: TenantRef) -> TenantAccess:
        """What a Configurator order needs to reach the tenant (the guide's "Park Provisioning"):
        its server's URL, its name there, and a session token the Park Manager's login gives."""
        root, _, name = self._address(tenant)
        session = self._session(tenant)
        session.ensure()
        return TenantAccess(server_url=root, tenant_name=name, token=session.token)

    def server_root(self, tenant: TenantRef) -> str:
        return self._address(tenant)[0]

    def open_session(self, tenant: TenantRef) -> XelionSession:
        root, tenant_id, name = self._address(tenant)
        http = self.client_for(root)

        def login() -> dict[str, Any]:
            answer = self.call_pm("POST", f"api/v2/tenants/{tenant_id}/login")
            if not isinstance(answer, dict):
                raise TransientError("the Park Manager's tenant login answered no object")
            return answer

        return XelionSession(http, name, login)

    def close(self) -> None:
        super().close()
        self.pm.close()
