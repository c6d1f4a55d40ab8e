"""Xelion CTI service simulator (xelion-cti-api.txt): CRM integrations over OAuth 2.0.

- `POST api/session/login` checks a tenant administrator's credentials on the Xelion simulator and
  answers `{"authentication", "validUntil"}`; later calls send `Authorization: xelion <token>` and
  reach only that tenant's integration (another's answers 404).
- `POST api/crm-integrations` logs in implicitly with the payload's adminUsername/adminPassword (an
  Authorization header is ignored) and creates the integration: a xelionContext, a crmContext, user
  credentials and event → URI mappings. `GET api/crm-integrations?xelionHost=&xelionTenant=`
  finds it; `DELETE api/crm-integrations/{xelionContextId}` removes it with everything in it.
- User credentials: list (filtered by `username` or `oid`), add (404 for unknown contexts, 500 for a
  user the Xelion tenant does not have, as documented), `users/{id}` get / put / delete, and
  `users/{id}/{clientid|clientsecret|refreshtoken|devicecode}/update`. Secrets are never answered.
- `xelion-environment/{id}` get and put, and its admin username and password updates.
- Event → URI mappings get and put (a put names as many mappings as the get answers). Placeholders
  (`${…}`, Unified Expression Language) are kept verbatim: the service evaluates them on calls, the
  simulator never does.
- `cti-app-context` stores an app user's OAuth context; `external-api-endpoint/call` answers what the
  external service would, without calling out (the sandbox reaches nothing beyond this machine).
Where the seed is thin or contradicts itself, docs/backend-fidelity.md says what the simulator does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import BadInput, Simulator, json_response, read_json
from telephony.sandbox.xelion import XelionServerSimulator

XELION_EVENTS = ("newCallEvent", "callConnectedEvent", "callHungUpEvent", "missedCallEvent")
CREDENTIAL_TYPES = {
    "clientid": "clientId",
    "clientsecret": "clientSecret",
    "refreshtoken": "refreshToken",
    "devicecode": "deviceCode",
}
TOKEN_LIFETIME = dt.timedelta(hours=1)


class CtiSimulator(Simulator):
    name = "cti"
    description = "Xelion CTI service"

    def __init__(self, xelion: XelionServerSimulator, *args: Any, **kwargs: Any):
        self.xelion = xelion
        super().__init__(*args, **kwargs)

    def credentials_hint(self) -> str:
        return "a Xelion tenant's admin credentials (api/session/login)"

    def seed_state(self) -> dict[str, Any]:
        return {"integrations": {}, "users": {}, "apps": []}

    def routes(self) -> list[Rule]:
        api, ctx = "/api/", "/api/crm-integrations/<int:xid>/crm-contexts/<int:cid>/"
        return [
            Rule(f"{api}session/login", endpoint="login", methods=["POST"]),
            Rule(f"{api}crm-integrations", endpoint="integrations", methods=["GET", "POST"]),
            Rule(f"{api}crm-integrations/<int:xid>", endpoint="integration_delete", methods=["DELETE"]),
            Rule(f"{ctx}user-credentials", endpoint="credentials", methods=["GET", "POST"]),
            Rule(f"{ctx}event-uri-mappings", endpoint="mappings", methods=["GET", "PUT"]),
            Rule(f"{api}users/<int:user_id>", endpoint="user", methods=["GET", "PUT", "DELETE"]),
            Rule(f"{api}users/<int:user_id>/<kind>/update", endpoint="user_credential", methods=["POST"]),
            Rule(f"{api}xelion-environment/<int:xid>", endpoint="environment", methods=["GET", "PUT"]),
            Rule(f"{api}xelion-environment/<int:xid>/admin/<what>/update", endpoint="admin_update", methods=["POST"]),
            Rule(f"{api}cti-app-context", endpoint="app_context", methods=["POST"]),
            Rule(f"{api}external-api-endpoint/call", endpoint="external_call", methods=["POST"]),
        ]

    def error_response(self, status: int, message: str) -> Response:
        return json_response({"status": status, "message": message}, status=status)

    # sessions
    def _xelion_tenant(self, tenant: str) -> dict[str, Any]:
        found = self.xelion.tenant_by_name(tenant)
        if found is None:
            raise BadInput(f"tenant {tenant} is not on the Xelion server", 401)
        return found

    def _check_admin(self, tenant: str, username: Any, password: Any) -> None:
        account = self._xelion_tenant(tenant)["accounts"].get(username if isinstance(username, str) else "")
        if account is None or account.get("password") != password or account.get("role") != "admin":
            raise BadInput("the Xelion administrator's credentials are wrong", 401)

    def login(self, request: Request) -> Response:
        body = read_json(request, expect=dict)
        for name in ("adminUsername", "adminPassword", "host", "tenant"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise BadInput(f"{name} is required")
        with self.lock:
            self._check_admin(body["tenant"], body["adminUsername"], body["adminPassword"])
        session = self.sessions.issue({"tenant": body["tenant"], "host": body["host"]})
        valid_until = (dt.datetime.now(dt.UTC) + TOKEN_LIFETIME).strftime("%Y-%m-%d %H:%M:%S")
        return json_response({"authentication": session.token, "validUntil": valid_until})

    def _tenant_of(self, request: Request, prefix: str = "xelion") -> str:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        session = self.sessions.validate(token.strip()) if scheme == prefix else None
        if session is None:
            raise BadInput("a valid Authorization: xelion <token> is required", 401)
        return session.subject["tenant"]

    def _integration(self, request: Request, xid: int, cid: int | None = None) -> dict[str, Any]:
        tenant = self._tenant_of(request)
        found = self.state["integrations"].get(str(xid))
        if found is None or found["xelionContext"]["tenant"] != tenant:
            raise BadInput(f"xelionContext {xid} not found", 404)
        if cid is not None and found["crmContext"]["id"] != cid:
            raise BadInput(f"crmContext {cid} not found", 404)
        return found

    # integrations
    def integrations(self, request: Request) -> Response:
        if request.method == "GET":
            tenant = self._tenant_of(request)
            host, wanted = request.args.get("xelionHost", ""), request.args.get("xelionTenant", "")
            with self.lock:
                for found in self.state["integrations"].values():
                    context = found["xelionContext"]
                    if context["tenant"] == tenant == wanted and context["host"] == host:
                        return json_response(public_integration(found))
            raise BadInput(f"no CRM integration for {host} / {wanted}", 404)
        body = read_json(request, expect=dict)
        xelion, crm = body.get("xelionContext"), body.get("crmContext")
        if not isinstance(xelion, dict) or not isinstance(crm, dict):
            raise BadInput("xelionContext and crmContext are required")
        for name in ("host", "tenant", "adminUsername", "adminPassword"):
            if not isinstance(xelion.get(name), str) or not xelion[name]:
                raise BadInput(f"xelionContext.{name} is required")
        if not isinstance(crm.get("authorizationServerUri"), str) or not crm["authorizationServerUri"]:
            raise BadInput("crmContext.authorizationServerUri is required")
        mappings = check_mappings(body.get("eventUriMappings", []))
        with self.lock:
            self._check_admin(xelion["tenant"], xelion["adminUsername"], xelion["adminPassword"])
            for other in self.state["integrations"].values():
                theirs = other["xelionContext"]
                if (theirs["host"], theirs["tenant"]) == (xelion["host"], xelion["tenant"]):
                    raise BadInput(f"a CRM integration for {xelion['host']} / {xelion['tenant']} exists", 409)
            xid, cid = self.next_id("xelionContext", start=100), self.next_id("crmContext", start=100)
            context = {"id": xid, "host": xelion["host"], "tenant": xelion["tenant"],
                       "protocol": xelion.get("protocol", "https"), "_adminUsername": xelion["adminUsername"],
                       "_adminPassword": xelion["adminPassword"]}  # fmt: skip
            integration = {
                "xelionContext": context,
                "crmContext": {
                    "id": cid,
                    "authorizationServerUri": crm["authorizationServerUri"],
                    "authorizationHeaderPrefix": crm.get("authorizationHeaderPrefix", ""),
                },
                "eventUriMappings": [self._mapping(m) for m in mappings],
            }
            self.state["integrations"][str(xid)] = integration
            for credentials in body.get("userCredentials", []) or []:
                self._add_user(integration, credentials)
            return json_response(public_integration(integration))

    def integration_delete(self, request: Request, xid: int) -> Response:
        with self.lock:
            self._integration(request, xid)
            del self.state["integrations"][str(xid)]
            for user_id in [k for k, u in self.state["users"].items() if u["_xid"] == xid]:
                del self.state["users"][user_id]
        return json_response({})

    # user credentials
    def credentials(self, request: Request, xid: int, cid: int) -> Response:
        with self.lock:
            integration = self._integration(request, xid, cid)
            if request.method == "GET":
                username, oid = request.args.get("username"), request.args.get("oid")
                users = [u for u in self.state["users"].values() if u["_xid"] == xid]
                users = [u for u in users if (username is None or u["xelionUsername"] == username)
                         and (oid is None or u["xelionOid"] == oid)]  # fmt: skip
                return json_response([public_user(u) for u in users])
            body = read_json(request, expect=list)
            made = [public_user(self._add_user(integration, credentials)) for credentials in body]
            return json_response(made[0] if len(made) == 1 else made)

    def _add_user(self, integration: dict[str, Any], credentials: Any) -> dict[str, Any]:
        if not isinstance(credentials, dict) or not isinstance(credentials.get("xelionUsername"), str):
            raise BadInput("each user needs a xelionUsername")
        tenant = self.xelion.tenant_by_name(integration["xelionContext"]["tenant"])
        profile = next(
            (u for u in self.xelion.objects_of(tenant).of_type("UserProfile")
             if u["userName"].lower() == credentials["xelionUsername"].lower()),
            None,
        )  # fmt: skip
        if profile is None:
            raise BadInput(f"user {credentials['xelionUsername']} is not in the Xelion system database", 500)
        user_id = self.next_id("user")
        user = {"userCredentialsId": str(user_id), "xelionUsername": profile["userName"], "xelionOid": profile["oid"],
                "_xid": integration["xelionContext"]["id"],
                **{f"_{key}": str(credentials.get(key) or "") for key in CREDENTIAL_TYPES.values()}}  # fmt: skip
        self.state["users"][str(user_id)] = user
        return user

    def _user(self, request: Request, user_id: int) -> dict[str, Any]:
        tenant = self._tenant_of(request)
        user = self.state["users"].get(str(user_id))
        integration = self.state["integrations"].get(str(user["_xid"])) if user else None
        if user is None or integration is None or integration["xelionContext"]["tenant"] != tenant:
            raise BadInput(f"user {user_id} not found", 404)
        return user

    def user(self, request: Request, user_id: int) -> Response:
        with self.lock:
            user = self._user(request, user_id)
            if request.method == "GET":
                return json_response({"xelionOid": user["xelionOid"], "xelionUsername": user["xelionUsername"]})
            if request.method == "DELETE":
                del self.state["users"][str(user_id)]
                return json_response({})
            body = read_json(request, expect=dict)
            for name in ("xelionUsername", "xelionOid"):
                if name in body:
                    if not isinstance(body[name], str) or not body[name]:
                        raise BadInput(f"{name}: a non-empty string")
                    user[name] = body[name]
            return json_response({})

    def user_credential(self, request: Request, user_id: int, kind: str) -> Response:
        if kind not in CREDENTIAL_TYPES:
            raise BadInput(f"oauthCredentialsType: one of {', '.join(CREDENTIAL_TYPES)}", 404)
        body = read_json(request, expect=dict)
        if not isinstance(body.get("value"), str):
            raise BadInput('the body is {"value": "…"}')
        with self.lock:
            self._user(request, user_id)[f"_{CREDENTIAL_TYPES[kind]}"] = body["value"]
        return Response(status=200)

    # the Xelion environment
    def environment(self, request: Request, xid: int) -> Response:
        with self.lock:
            context = self._integration(request, xid)["xelionContext"]
            if request.method == "PUT":
                body = read_json(request, expect=dict)
                for name in ("host", "tenant", "protocol"):
                    if name in body:
                        if not isinstance(body[name], str) or not body[name]:
                            raise BadInput(f"{name}: a non-empty string")
                        context[name] = body[name]
                return Response(status=200)
            return json_response({k: context[k] for k in ("host", "protocol", "tenant")})

    def admin_update(self, request: Request, xid: int, what: str) -> Response:
        if what not in ("username", "password"):
            raise BadInput("invalid path", 404)
        body = read_json(request, expect=dict)
        old, new = body.get(f"old{what.capitalize()}"), body.get(f"new{what.capitalize()}")
        if not isinstance(old, str) or not isinstance(new, str) or not new:
            raise BadInput(f"old{what.capitalize()} and new{what.capitalize()} are required")
        with self.lock:
            context = self._integration(request, xid)["xelionContext"]
            if context[f"_admin{what.capitalize()}"] != old:
                raise BadInput(f"old{what.capitalize()} does not match", 400)
            context[f"_admin{what.capitalize()}"] = new
        return Response(status=200)

    # event → URI mappings
    def mappings(self, request: Request, xid: int, cid: int) -> Response:
        with self.lock:
            integration = self._integration(request, xid, cid)
            if request.method == "GET":
                return json_response(integration["eventUriMappings"])
            body = check_mappings(read_json(request, expect=list))
            if len(body) != len(integration["eventUriMappings"]):
                raise BadInput(f"give as many mappings as there are ({len(integration['eventUriMappings'])})")
            integration["eventUriMappings"] = [self._mapping(m) for m in body]
            return json_response(integration["eventUriMappings"])

    def _mapping(self, mapping: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.next_id("mapping"),
            "createdAt": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "xelionEvent": mapping["xelionEvent"],
            "crmResourceUri": mapping["crmResourceUri"],
            "crmResourcePayload": mapping.get("crmResourcePayload"),
        }

    # app users
    def app_context(self, request: Request) -> Response:
        tenant = self._tenant_of(request)
        body = read_json(request, expect=dict)
        api, user = body.get("appExternalApiContext"), body.get("appUserContext")
        if not isinstance(api, dict) or not isinstance(api.get("authorizationServerUri"), str):
            raise BadInput("appExternalApiContext.authorizationServerUri is required")
        if not isinstance(user, dict) or not isinstance(user.get("xelionUsername"), str) or not user.get("clientId"):
            raise BadInput("appUserContext needs xelionUsername and clientId")
        with self.lock:
            self.state["apps"].append({"tenant": tenant, "authorizationServerUri": api["authorizationServerUri"],
                                       "xelionUsername": user["xelionUsername"]})  # fmt: skip
        return Response(status=200)

    def external_call(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "xelion_cti" or not token.strip():
            raise BadInput("Authorization: xelion_cti <external service access token> is required", 401)
        body = read_json(request, expect=dict)
        endpoint = body.get("endpointContext")
        if not isinstance(endpoint, dict) or not isinstance(endpoint.get("endpointUri"), str):
            raise BadInput("endpointContext.endpointUri is required")
        with self.lock:
            known = any(
                a["authorizationServerUri"] == endpoint.get("authorizationServerUri") for a in self.state["apps"]
            )
        if not known:
            raise BadInput("authorizationServerUri: not the one of any cti-app-context")
        # the sandbox calls nothing beyond this machine: the external service's answer is an echo
        return json_response({"accessToken": token.strip(), "payload": {"echo": endpoint.get("payload")}})


def check_mappings(mappings: Any) -> list[dict[str, Any]]:
    """Event → URI mappings as the service takes them: a known event, a URI, an object (or null)
    payload. Placeholders are data, never evaluated here."""
    if not isinstance(mappings, list):
        raise BadInput("eventUriMappings: a list")
    for index, mapping in enumerate(mappings):
        where = f"eventUriMappings[{index}]"
        if not isinstance(mapping, dict) or mapping.get("xelionEvent") not in XELION_EVENTS:
            raise BadInput(f"{where}.xelionEvent: one of {', '.join(XELION_EVENTS)}")
        if not isinstance(mapping.get("crmResourceUri"), str) or not mapping["crmResourceUri"]:
            raise BadInput(f"{where}.crmResourceUri is required")
        if mapping.get("crmResourcePayload") is not None and not isinstance(mapping["crmResourcePayload"], dict):
            raise BadInput(f"{where}.crmResourcePayload: an object or null")
    return mappings


def public_integration(integration: dict[str, Any]) -> dict[str, Any]:
    context = integration["xelionContext"]
    return {
        "crmContext": dict(integration["crmContext"]),
        "xelionContext": {k: context[k] for k in ("host", "id", "protocol", "tenant")},
    }


def public_user(user: dict[str, Any]) -> dict[str, Any]:
    """A user's credentials as the service shows them: never a secret."""
    return {k: user[k] for k in ("xelionUsername", "xelionOid", "userCredentialsId")}
