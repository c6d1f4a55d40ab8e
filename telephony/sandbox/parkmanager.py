"""Sandbox of the Xelion Park Manager API, `/api/<version>/` (seed: xelion-getting-started.txt;
extra facts: backend-api-facts.md, Park Manager section). It manages one or more
`XelionServerSimulator`s: what it does to a tenant happens on that server simulator.

Authentication: `X-Auth-Key: <key>` on every call (401 without a known key). `X-As-Organization:
<id>` acts as that organisation, which must be the key's own or one below it (403 otherwise).
Seed organisation tree and documented sandbox keys (32 characters, as the public example):

    1 Sandbox Park        (root)   key sandboxPMrootKey0000000000000001
    2 Sandbox Reseller    (child)  key sandboxPMresellerKey000000000002
    3 Other Reseller      (child)  key sandboxPMotherKey000000000000003

An organisation sees the servers of itself and its ancestors (servers belong to the root and are
shared down the tree) and the tenants owned by itself and its descendants; other tenants answer
404 so that nobody learns what exists elsewhere.

Endpoints (v1 and v2 mixed, as the seed says; the listings are the sandbox's choice):

    POST /api/v1/park/start-new-tenant?name=&requestedLicenses=&label=[&serverId=]
         takes a parked tenant of a server, renames it, sets its licences and starts it; answers
         {"response", "server", "tenant"} shaped as the seed. `serverId` (a sandbox extension)
         picks the server; without it the first server with room is used. 409 when the name is
         taken anywhere in the park or no server has room; 400 for a missing or invalid name.
    GET  /api/v2/organizations            the acting organisation and those below it
    GET  /api/v2/servers[/{id}]           servers (bare JSON array / one object)
    GET  /api/v2/tenants[?name=&server=]  tenants (bare JSON array), GET /api/v2/tenants/{id}
    POST /api/v2/tenants/{id}/start|stop  the tenant object afterwards (409 when already so)
    POST /api/v2/tenants/{id}/login       a Xelion login answer for the tenant's server with
                                          `validUntil` in ISO 8601 ("2023-07-10T13:22:43.414Z")
                                          and `host`, `tenant`, `userName`; 409 unless started

`start-new-tenant` and `tenants/{id}/login` refuse a query parameter they do not take (400).
Errors are Spring-style `{"status", "error", "message", "path"}` (the documents show none).
Documented-only (`FaultConfig.documented_only`), the v2 servers and tenants listings, start and stop
answer 404 as unknown paths and `serverId` is refused (400): only start-new-tenant and the tenant
login are in the seed.
A server's `scheme` and `fqdn` are read from the server simulator's `base_url` at request time.
"""

from __future__ import annotations

import datetime as dt
import secrets
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import CONTROL_PREFIX, FaultConfig, Simulator, json_response
from telephony.sandbox.xelion import XelionServerSimulator
from telephony.sandbox.xelion_schema import XelionError
from telephony.sandbox.xelion_tenants import STARTED, STOPPED

ROOT_API_KEY = "sandboxPMrootKey0000000000000001"
RESELLER_API_KEY = "sandboxPMresellerKey000000000002"
OTHER_API_KEY = "sandboxPMotherKey000000000000003"
DEFAULT_REQUESTED_LICENCES = 10


def reason(status: int) -> str:
    """The reason phrase a Spring error body carries in `error` ("Not Found", "Method Not Allowed")."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# The query parameters the documents give; `serverId` is the sandbox's extension (backend-fidelity.md).
START_NEW_TENANT_PARAMETERS = ("name", "requestedLicenses", "label", "serverId")


class ParkManagerError(Exception):
    """Answered as the Park Manager's error body with this HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def refuse_unknown_parameters(request: Request, allowed: tuple[str, ...]) -> None:
    """400 for a query parameter the call does not take (a misspelt `requestedLicenses` would
    otherwise start a tenant with the default licences)."""
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        raise ParkManagerError(400, f"unknown query parameter(s): {', '.join(unknown)}")


class ParkManagerSimulator(Simulator):
    """The Park Manager of a small park: an organisation tree over the given Xelion servers."""

    name = "parkmanager"
    description = "Xelion Park Manager API /api/v1/ and /api/v2/"

    def __init__(
        self, servers: list[XelionServerSimulator], *, faults: FaultConfig | None = None, state_file: Any = None
    ):
        if not servers:
            raise ValueError("a Park Manager manages at least one Xelion server simulator")
        self.servers = list(servers)
        super().__init__(faults=faults, state_file=state_file)

    def credentials_hint(self) -> str:
        return f"X-Auth-Key {ROOT_API_KEY} (root organisation 1); {RESELLER_API_KEY} (organisation 2)"

    def seed_state(self) -> dict[str, Any]:
        return {
            "organisations": {
                "1": {"id": 1, "name": "Sandbox Park", "parent": None},
                "2": {"id": 2, "name": "Sandbox Reseller", "parent": 1},
                "3": {"id": 3, "name": "Other Reseller", "parent": 1},
            },
            "apiKeys": {
                ROOT_API_KEY: {"organisation": 1, "user": "integrator"},
                RESELLER_API_KEY: {"organisation": 2, "user": "reseller-integrator"},
                OTHER_API_KEY: {"organisation": 3, "user": "other-integrator"},
            },
            "servers": {str(i): {"id": i, "organisation": 1} for i in range(1, len(self.servers) + 1)},
            "tenants": {},
        }

    def routes(self) -> list[Rule]:
        return [
            Rule("/api/v1/park/start-new-tenant", endpoint="start_new_tenant", methods=["POST"]),
            Rule("/api/v2/organizations", endpoint="list_organisations", methods=["GET"]),
            Rule("/api/v2/servers", endpoint="list_servers", methods=["GET"]),
            Rule("/api/v2/servers/<int:server_id>", endpoint="get_server", methods=["GET"]),
            Rule("/api/v2/tenants", endpoint="list_tenants", methods=["GET"]),
            Rule("/api/v2/tenants/<int:tenant_id>", endpoint="get_tenant", methods=["GET"]),
            Rule(
                "/api/v2/tenants/<int:tenant_id>/<any(start, stop):action>", endpoint="tenant_action", methods=["POST"]
            ),
            Rule("/api/v2/tenants/<int:tenant_id>/login", endpoint="tenant_login", methods=["POST"]),
        ]

    def error_response(self, status: int, message: str, path: str = "") -> Response:
        body = {"status": status, "error": reason(status), "message": message, "path": path}
        return json_response(body, status=status)

    def request_error(self, request: Request, status: int, message: str) -> Response:
        return self.error_response(status, message, request.path)  # unknown paths too name the path

    def dispatch(self, request: Request) -> Response:
        if self.faults.documented_only and not request.path.startswith(CONTROL_PREFIX):
            refusal = self._beyond_the_documents(request)
            if refusal is not None:
                return refusal
        try:
            return super().dispatch(request)
        except ParkManagerError as exc:
            return self.error_response(exc.status, exc.message, request.path)

    def _beyond_the_documents(self, request: Request) -> Response | None:
        """Documented-only: the v2 listings, start/stop and `serverId` are unknown (the seed shows
        start-new-tenant and the tenant login alone)."""
        path = request.path.rstrip("/")
        if path == "/api/v1/park/start-new-tenant" and "serverId" in request.args:
            return self.error_response(400, "unknown parameter: serverId", request.path)
        if path.startswith(("/api/v2/servers", "/api/v2/tenants")) and not path.endswith("/login"):
            return self.error_response(404, "No static resource " + path.lstrip("/"), request.path)
        return None

    # organisations and access
    def _org(self, org_id: int) -> dict[str, Any]:
        return self.state["organisations"][str(org_id)]

    def _ancestors(self, org_id: int) -> list[int]:
        chain = []
        current: int | None = org_id
        while current is not None:
            chain.append(current)
            current = self._org(current)["parent"]
        return chain

    def _subtree(self, org_id: int) -> set[int]:
        return {int(key) for key in self.state["organisations"] if org_id in self._ancestors(int(key))}

    def acting_organisation(self, request: Request) -> int:
        key = self.state["apiKeys"].get(request.headers.get("X-Auth-Key", ""))
        if key is None:
            raise ParkManagerError(401, "missing or unknown X-Auth-Key")
        acting = request.headers.get("X-As-Organization", "").strip()
        if not acting:
            return key["organisation"]
        if not acting.isdigit() or acting not in self.state["organisations"]:
            raise ParkManagerError(400 if not acting.isdigit() else 403, f"unknown organisation {acting!r}")
        if int(acting) not in self._subtree(key["organisation"]):
            raise ParkManagerError(403, f"this key may not act as organisation {acting}")
        return int(acting)

    def _visible_servers(self, org_id: int) -> list[dict[str, Any]]:
        ancestors = set(self._ancestors(org_id))
        return [s for s in self.state["servers"].values() if s["organisation"] in ancestors]

    def _server(self, org_id: int, server_id: int) -> dict[str, Any]:
        server = next((s for s in self._visible_servers(org_id) if s["id"] == server_id), None)
        if server is None:
            raise ParkManagerError(404, f"server {server_id} not found")
        return server

    def _tenant(self, org_id: int, tenant_id: int) -> dict[str, Any]:
        tenant = self.state["tenants"].get(str(tenant_id))
        if tenant is None or tenant["owner"] not in self._subtree(org_id):
            raise ParkManagerError(404, f"tenant {tenant_id} not found")
        return tenant

    # rendering
    def simulator_of(self, server: dict[str, Any]) -> XelionServerSimulator:
        return self.servers[server["id"] - 1]

    def render_server(self, server: dict[str, Any], *, short: bool = False) -> dict[str, Any]:
        sim = self.simulator_of(server)
        parts = urlsplit(sim.base_url)
        answer = {
            "id": server["id"],
            "name": sim.server_name,
            "scheme": parts.scheme,
            "fqdn": parts.netloc,
            "version": sim.server_version,
        }
        if short:
            return answer
        with sim.lock:
            tenants = [t for t in sim.tenants() if t["name"] != "master"]
        answer.update(
            {
                "organization": server["organisation"],
                "maxTenants": sim.capacity_tenants,
                "tenantCount": len(tenants),
                "parkedTenants": sum(1 for t in tenants if t["status"] == "PARKED"),
            }
        )
        return answer

    def render_tenant(self, tenant: dict[str, Any]) -> dict[str, Any]:
        sim = self.simulator_of(self.state["servers"][str(tenant["server"])])
        with sim.lock:
            record = sim.tenant_by_database_id(tenant["databaseId"])
            used = sim.objects_of(record).licensed_users() if record else 0
        name = record["name"] if record else ""
        status = record["status"] if record else "UNKNOWN"
        return {
            "id": tenant["id"],
            "databaseId": tenant["databaseId"],
            "subDatabaseName": name,
            "label": record["label"] if record else "",
            "resellerName": self._org(tenant["owner"])["name"],
            "active": status == STARTED,
            "status": status,
            "licenses": [
                {
                    "id": tenant["id"],
                    "tenant": name,
                    "name": "userLicense",
                    "maxLicenses": record["licenses"] if record else 0,
                    "usedLicenses": used,
                }
            ],
            "usage": dict.fromkeys(
                (
                    "db",
                    "moh",
                    "monitor",
                    "callRecording",
                    "voicemail",
                    "chatAttachment",
                    "mailAttachment",
                    "totalAttachment",
                    "total",
                ),
                0,
            ),
            "reservationTimeStamp": tenant["reservationTimeStamp"],
            "version": sim.server_version,
            "url": f"{sim.base_url}/api/v1/{name}/",
            "server": tenant["server"],
            "owner": tenant["owner"],
        }

    # endpoints
    def start_new_tenant(self, request: Request) -> Response:
        org = self.acting_organisation(request)
        refuse_unknown_parameters(request, START_NEW_TENANT_PARAMETERS)
        name = request.args.get("name", "").strip()
        if not name:
            raise ParkManagerError(400, "name is required")
        licences = request.args.get("requestedLicenses", str(DEFAULT_REQUESTED_LICENCES))
        if not licences.isdigit():
            raise ParkManagerError(400, "requestedLicenses must be a number ≥ 0")
        label = request.args.get("label", "")
        if len(label) > 200:
            raise ParkManagerError(400, "label is longer than 200 characters")
        with self.lock:
            if any(sim.tenant_by_name(name) for sim in self.servers):
                raise ParkManagerError(409, f"tenant name {name!r} is already in use")
            if request.args.get("serverId"):
                server_id = request.args["serverId"]
                candidates = [self._server(org, int(server_id))] if server_id.isdigit() else []
                if not candidates:
                    raise ParkManagerError(400, "serverId must be a number")
            else:
                candidates = self._visible_servers(org)
            last_error = "no server is visible to this organisation"
            for server in candidates:
                try:
                    record = self.simulator_of(server).claim_parked_tenant(name, licenses=int(licences), label=label)
                except XelionError as exc:
                    if exc.status == 400 and exc.code == 10202:
                        raise ParkManagerError(400, exc.message) from None
                    last_error = exc.message
                    continue
                tenant_id = self.next_id("tenant")
                stamp = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                tenant = {
                    "id": tenant_id,
                    "server": server["id"],
                    "databaseId": record["databaseId"],
                    "owner": org,
                    "reservationTimeStamp": stamp,
                }
                self.state["tenants"][str(tenant_id)] = tenant
                answer = {
                    "response": {},
                    "server": self.render_server(server, short=True),
                    "tenant": self.render_tenant(tenant),
                }
                return json_response(answer)
        raise ParkManagerError(409, f"no parked tenant available: {last_error}")

    def list_organisations(self, request: Request) -> Response:
        org = self.acting_organisation(request)
        with self.lock:
            visible = sorted(self._subtree(org))
            return json_response([self._org(org_id) for org_id in visible])

    def list_servers(self, request: Request) -> Response:
        org = self.acting_organisation(request)
        with self.lock:
            return json_response([self.render_server(server) for server in self._visible_servers(org)])

    def get_server(self, request: Request, server_id: int) -> Response:
        org = self.acting_organisation(request)
        with self.lock:
            return json_response(self.render_server(self._server(org, server_id)))

    def list_tenants(self, request: Request) -> Response:
        org = self.acting_organisation(request)
        wanted_name, wanted_server = request.args.get("name"), request.args.get("server")
        with self.lock:
            subtree = self._subtree(org)
            rendered = [self.render_tenant(t) for t in self.state["tenants"].values() if t["owner"] in subtree]
        if wanted_name is not None:
            rendered = [t for t in rendered if t["subDatabaseName"] == wanted_name]
        if wanted_server is not None:
            rendered = [t for t in rendered if str(t["server"]) == wanted_server]
        return json_response(rendered)

    def get_tenant(self, request: Request, tenant_id: int) -> Response:
        org = self.acting_organisation(request)
        with self.lock:
            return json_response(self.render_tenant(self._tenant(org, tenant_id)))

    def tenant_action(self, request: Request, tenant_id: int, action: str) -> Response:
        org = self.acting_organisation(request)
        with self.lock:
            tenant = self._tenant(org, tenant_id)
            sim = self.simulator_of(self.state["servers"][str(tenant["server"])])
            record = sim.tenant_by_database_id(tenant["databaseId"])
            wanted = STARTED if action == "start" else STOPPED
            if record is None:
                raise ParkManagerError(404, f"tenant {tenant_id} is gone from its server")
            if record["status"] == wanted:
                raise ParkManagerError(409, f"tenant {record['name']} is already {wanted.lower()}")
            try:
                sim.set_tenant_status(tenant["databaseId"], started=action == "start")
            except XelionError as exc:
                raise ParkManagerError(409, exc.message) from None
            return json_response(self.render_tenant(tenant))

    def tenant_login(self, request: Request, tenant_id: int) -> Response:
        org = self.acting_organisation(request)
        refuse_unknown_parameters(request, ())
        with self.lock:
            tenant = self._tenant(org, tenant_id)
            sim = self.simulator_of(self.state["servers"][str(tenant["server"])])
        with sim.lock:
            record = sim.tenant_by_database_id(tenant["databaseId"])
            if record is None or record["status"] != STARTED:
                raise ParkManagerError(409, f"tenant {tenant_id} is not started")
            answer = sim.open_session(record, "admin", f"parkmanager-{secrets.token_hex(4)}", "admin")
        valid_until: dt.datetime = answer.pop("_validUntil")
        answer["validUntil"] = valid_until.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        answer.update({"host": urlsplit(sim.base_url).netloc, "tenant": record["name"], "userName": "admin"})
        return json_response(answer)


def build_xelion_park(
    faults: FaultConfig | None = None, pm_faults: FaultConfig | None = None
) -> tuple[XelionServerSimulator, ParkManagerSimulator]:
    """One Xelion server and the Park Manager that manages it, as the sandbox command serves them."""
    server = XelionServerSimulator(faults=faults)
    return server, ParkManagerSimulator([server], faults=pm_faults)
