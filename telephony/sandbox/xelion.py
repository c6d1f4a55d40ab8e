"""Sandbox of one multi-tenant Xelion server's API, `/api/v1/<tenant>/` (seed:
xelion-getting-started.txt; extra facts: backend-api-facts.md, Xelion section).

The master tenant (databaseId 0) manages the other tenants (`xelion_tenants`); every tenant has the
provisioning collections `addressables`, `users`, `phonelines`, `trunks`, `usergroups` and
`licenses` (`xelion_schema`, `xelion_objects`, `xelion_render`, `xelion_patch`).

Seed data and credentials (all documented sandbox values):

- master: `admin` / `master-admin`. The master's accounts are the platform credentials: they log
  in to every tenant of the server too (the sandbox's stand-in for a partner's credentials).
- every named tenant: `admin` / `<tenant name>-admin`; UserProfiles created with a password log in
  as well (a `user` role may read but not change anything: 403/10101).
- tenants `parked-1` … `parked-3` wait in the park for the Park Manager; 100 tenants fit.

Sessions: `POST me/login` answers a token for `Authorization: xelion <token>`, valid until
`validUntil` (UTC, `yyyy-MM-dd HH:mm:ss`; one hour, or FaultConfig.session_expiry_seconds when
that is shorter). FaultConfig.session_expiry_calls ends a token after that many calls. Missing,
unknown or expired tokens answer 401/10000; a token is valid on its own tenant only. `me/renew`
takes the renewal token (or the password) as a bare JSON string and answers a new token and a new
renewal token; the old ones stop working. A second login with the same userName + userSpace while
the first session lives answers 401/10005; a session that expired, was renewed away or logged out
no longer counts, so a client recovers by logging out, by waiting for the expiry, or by naming
its session with another userSpace. Stopping a tenant ends its sessions; logging in to a tenant
that is not started answers 401/10004 "Wrong user name, password or tenant".

Answers: objects `{"object", "links"}`, lists `{"data", "meta": {"paging"}}`, errors
`{"errorCode", "message", "info"}`. PATCH and DELETE answer `1` (the seed) or, with
`patch_answer = "empty"`, 204 with no body (the public guide); switch it with the constructor,
the attribute, or `PUT /_sandbox/xelion/patch-answer {"answer": "one"|"empty"}`. Injected faults
answer in the same error format: 429/10400, 500/11000, 503 and 504. Documented mistakes in the
seed are not reproduced: users are created with `POST users` (the seed shows the tenant's root)
and trunks with `POST trunks` (the seed shows `users/`, which refuses an XCCTrunk with 10203).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import CONTROL_PREFIX, BadInput, FaultConfig, Session, Simulator, json_response, read_json
from telephony.sandbox.xelion_documented import refuse_extensions
from telephony.sandbox.xelion_patch import apply_patch, parse_operations
from telephony.sandbox.xelion_render import (
    LIST_PARAMETERS,
    error_body,
    listing,
    one,
    refuse_unknown_parameters,
    render,
)
from telephony.sandbox.xelion_schema import XelionError, check_oid, invalid, not_found
from telephony.sandbox.xelion_tenants import MASTER, PARKED, SEED_PARKED_TENANTS, STARTED, TenantRegistry

MASTER_USERNAME = "admin"
MASTER_PASSWORD = "master-admin"
TOKEN_LIFETIME_SECONDS = 3600
VALID_UNTIL_FORMAT = "%Y-%m-%d %H:%M:%S"
COLLECTIONS = {
    "addressables": "Person",
    "users": "UserProfile",
    "phonelines": "XCCPhoneLine",
    "trunks": "XCCTrunk",
    "usergroups": "UserGroup",
}
LOGIN_FIELDS = {"userName", "password", "userSpace", "appKey", "clientId", "mfa", "email"}
FAULT_CODES = {400: 10202, 401: 10000, 403: 10101, 404: 10100, 405: 10202, 429: 10400}


def same_secret(known: str, offered: str) -> bool:
    return secrets.compare_digest(known.encode(), offered.encode())


class XelionServerSimulator(TenantRegistry, Simulator):
    """One multi-tenant Xelion server: the master tenant plus every tenant created on it."""

    name = "xelion"
    description = "Xelion server API /api/v1/<tenant>/ (multi-tenant, master = databaseId 0)"

    def __init__(
        self,
        *,
        faults: FaultConfig | None = None,
        state_file: Any = None,
        server_name: str = "xelion-sandbox-1",
        capacity_tenants: int = 100,
        multi_tenant: bool = True,
        patch_answer: str = "one",
        token_lifetime_seconds: float = TOKEN_LIFETIME_SECONDS,
    ):
        self.server_name = server_name
        self.capacity_tenants = capacity_tenants
        self.multi_tenant = multi_tenant
        self.server_version = "9 update 3 patch 1"
        self.build_number = "20250501.1"
        self.token_lifetime_seconds = token_lifetime_seconds
        self.patch_answer = patch_answer
        self.type_indexes = {}
        super().__init__(faults=faults, state_file=state_file)

    def credentials_hint(self) -> str:
        return f"master {MASTER_USERNAME} / {MASTER_PASSWORD}; each tenant admin / <tenant>-admin"

    def seed_state(self) -> dict[str, Any]:
        self.state = {"tenants": {}, "_counters": {}}
        master = self._new_tenant(MASTER, STARTED)
        master["accounts"] = {MASTER_USERNAME: {"password": MASTER_PASSWORD, "role": "admin"}}
        for number in range(1, SEED_PARKED_TENANTS + 1):
            self._new_tenant(f"parked-{number}", PARKED)
        return self.state

    def routes(self) -> list[Rule]:
        return [
            Rule(f"{CONTROL_PREFIX}xelion/patch-answer", endpoint="_control_patch_answer", methods=["GET", "PUT"]),
            Rule("/api/v1/<tenant>/<path:rest>", endpoint="api", methods=["GET", "POST", "PATCH", "DELETE", "PUT"]),
        ]

    def error_response(self, status: int, message: str) -> Response:
        code = FAULT_CODES.get(status, 11000)
        return json_response({"errorCode": code, "message": message}, status=status)

    def request_error(self, request: Request, status: int, message: str) -> Response:
        # the documented error body names the request: "info": "resource=POST /api/v1/master/me/login"
        error = XelionError(status, FAULT_CODES.get(status, 11000), message)
        return json_response(error_body(error, f"resource={request.method} {request.path}"), status=status)

    def _control_patch_answer(self, request: Request) -> Response:
        if request.method == "PUT":
            answer = read_json(request, expect=dict).get("answer")
            if answer not in ("one", "empty"):
                return json_response({"error": "answer is 'one' or 'empty'"}, status=400)
            self.patch_answer = answer
        return json_response({"answer": self.patch_answer})

    # dispatch
    def api(self, request: Request, tenant: str, rest: str) -> Response:
        try:
            return self._api(request, tenant, [s for s in rest.split("/") if s])
        except XelionError as exc:
            info = f"resource={request.method} {request.path}"
            return json_response(error_body(exc, info), status=exc.status)

    def _api(self, request: Request, tenant_name: str, segments: list[str]) -> Response:
        if segments[:1] == ["me"] and request.method == "POST":
            refuse_unknown_parameters(request.args, ())
            if segments == ["me", "login"]:
                return self.login(request, tenant_name)
            session = self.authorize(request, tenant_name)
            if segments == ["me", "renew"]:
                return self.renew(request, session)
            if segments == ["me", "logout"]:
                self.sessions.revoke(session.token)
                return Response(status=204)
        session = self.authorize(request, tenant_name)
        if self.faults.documented_only:
            refuse_extensions(request, segments)
        if segments[:1] == ["tenants"]:
            return self.master_endpoint(request, tenant_name, segments, session)
        a_list = request.method == "GET" and len(segments) == 1
        refuse_unknown_parameters(request.args, LIST_PARAMETERS if a_list else ())
        if segments[:1] == ["licenses"] and len(segments) == 1 and request.method == "GET":
            return self.licenses(request, tenant_name)
        if not segments or segments[0] not in COLLECTIONS or len(segments) > 2:
            raise XelionError(404, 10100, f"invalid path {request.method} {request.path}")
        if request.method != "GET" and session.subject["role"] != "admin":
            raise XelionError(403, 10101, "no permission to change objects")
        if len(segments) == 1:
            return self.collection(request, tenant_name, segments[0])
        return self.single(request, tenant_name, segments[0], check_oid(segments[1]))

    def read_body(self, request: Request, expect: type | tuple[type, ...]) -> Any:
        raw = request.get_data(cache=True)
        if not raw.strip():
            raise XelionError(400, 10200, "empty payload")
        try:
            return read_json(request, expect=expect)
        except BadInput as refused:
            if refused.status == 415:
                raise XelionError(415, 10202, refused.message) from None
            raise XelionError(400, 10202, "invalid payload") from None

    # sessions
    def _expired(self, session: Session) -> bool:
        faults = self.faults
        if time.time() > session.subject["expires"]:
            return True
        if faults.session_expiry_seconds and time.monotonic() - session.created > faults.session_expiry_seconds:
            return True
        return bool(faults.session_expiry_calls and session.calls >= faults.session_expiry_calls)

    def _lifetime(self) -> float:
        expiry = self.faults.session_expiry_seconds
        return min(self.token_lifetime_seconds, expiry) if expiry else self.token_lifetime_seconds

    def open_session(self, tenant: dict[str, Any], user_name: str, user_space: str, role: str) -> dict[str, Any]:
        """Issue a token on a tenant and answer as `me/login` does (also used by the Park Manager)."""
        lifetime = self._lifetime()
        valid_until = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=lifetime)
        renewal = secrets.token_hex(16)
        subject = {
            "tenant": tenant["name"],
            "userName": user_name,
            "userSpace": user_space,
            "role": role,
            "renewalToken": renewal,
            "expires": time.time() + lifetime,
        }
        session = self.sessions.issue(subject, token=secrets.token_hex(28))
        return {
            "authentication": session.token,
            "renewalToken": renewal,
            "validUntil": valid_until.strftime(VALID_UNTIL_FORMAT),
            "version": "1.1",
            "serverVersion": self.server_version,
            "brand": "Xelion",
            "buildNumber": self.build_number,
            "_validUntil": valid_until,
        }

    def revoke_tenant_sessions(self, tenant_name: str) -> None:
        while (session := self.sessions.find(lambda s: s.subject["tenant"] == tenant_name)) is not None:
            self.sessions.revoke(session.token)

    def _account(self, tenant: dict[str, Any], user_name: str, password: str) -> str:
        """The role of whoever these credentials name on this tenant; 401 otherwise."""
        candidates = [tenant["accounts"].get(user_name)]
        if tenant["name"] != MASTER:
            candidates.append(self.tenant_by_name(MASTER)["accounts"].get(user_name))
        for account in candidates:
            if account and same_secret(account["password"], password):
                return account["role"]
        for user in self.objects_of(tenant).of_type("UserProfile"):
            named = user["userName"].lower() == user_name.lower() and user["_password"]
            if named and same_secret(user["_password"], password):
                if not user["active"]:
                    raise XelionError(401, 10006, "user is disabled")
                return user["xccRole"]
        raise XelionError(401, 10004, "Wrong user name, password or tenant")

    def login(self, request: Request, tenant_name: str) -> Response:
        body = self.read_body(request, dict)
        unknown = set(body) - LOGIN_FIELDS
        if unknown:
            raise invalid(f"unknown login field(s) {', '.join(sorted(unknown))}")
        user_name, password, user_space = body.get("userName"), body.get("password"), body.get("userSpace")
        if not isinstance(user_name, str) or not user_name.strip():
            raise XelionError(400, 10002, "no user name")
        if not isinstance(password, str) or not password:
            raise XelionError(400, 10003, "no password")
        if not isinstance(user_space, str) or not user_space.strip() or len(user_space) > 200:
            raise invalid("userSpace is required, at most 200 characters")
        for optional in LOGIN_FIELDS - {"userName", "password", "userSpace"}:
            if optional in body and not isinstance(body[optional], str):
                raise invalid(f"{optional} must be a string")
        with self.lock:
            tenant = self.tenant_by_name(tenant_name)
            if tenant is None or tenant["status"] != STARTED:
                raise XelionError(401, 10004, "Wrong user name, password or tenant")
            role = self._account(tenant, user_name, password)

            def same_session(session: Session) -> bool:
                s = session.subject
                return (s["tenant"], s["userName"].lower(), s["userSpace"]) == (
                    tenant_name,
                    user_name.lower(),
                    user_space,
                )

            while (live := self.sessions.find(same_session)) is not None:
                if not self._expired(live):
                    raise XelionError(401, 10005, f"{user_name} is already logged in with userSpace {user_space!r}")
                self.sessions.revoke(live.token)
            answer = self.open_session(tenant, user_name, user_space, role)
        answer.pop("_validUntil")
        return json_response(answer)

    def authorize(self, request: Request, tenant_name: str) -> Session:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "xelion" or not token.strip():
            raise XelionError(401, 10000, "not authenticated")
        with self.lock:
            live = self.sessions.find(lambda s: s.token == token.strip())
            if live is not None and self._expired(live):
                self.sessions.revoke(live.token)
            session = self.sessions.validate(token.strip())
        if session is None or session.subject["tenant"] != tenant_name:
            raise XelionError(401, 10000, "not authenticated (no or expired token)")
        return session

    def renew(self, request: Request, session: Session) -> Response:
        offered = self.read_body(request, str)
        subject = session.subject
        with self.lock:
            tenant = self.tenant_by_name(subject["tenant"])
            if not same_secret(offered, subject["renewalToken"]):
                try:
                    self._account(tenant, subject["userName"], offered)
                except XelionError:
                    raise XelionError(401, 10020, "invalid renewal token") from None
            self.sessions.revoke(session.token)
            answer = self.open_session(tenant, subject["userName"], subject["userSpace"], subject["role"])
        return json_response({key: answer[key] for key in ("authentication", "renewalToken", "validUntil")})

    # collections
    def _tenant(self, name: str) -> dict[str, Any]:
        tenant = self.tenant_by_name(name)
        if tenant is None:
            raise not_found(f"tenant {name}")
        return tenant

    def _done(self) -> Response:
        if self.patch_answer == "empty":
            return Response(status=204)
        return json_response(1)

    def licenses(self, request: Request, tenant_name: str) -> Response:
        with self.lock:
            tenant = self._tenant(tenant_name)
            licence = {
                "name": "userLicense",
                "maxLicenses": tenant["licenses"],
                "usedLicenses": self.objects_of(tenant).licensed_users(),
                "permissions": "ReadOnly",
                "commonName": "User licence",
                "oid": tenant["licenseOid"],
                "objectType": "XCCLicense",
            }
        return json_response(listing([licence], request.args, f"{request.host_url}api/v1/{tenant_name}/licenses"))

    def collection(self, request: Request, tenant_name: str, collection: str) -> Response:
        href = f"{request.host_url}api/v1/{tenant_name}/{collection}"
        object_type = COLLECTIONS[collection]
        if request.method == "GET":
            with self.lock:
                objs = self.objects_of(self._tenant(tenant_name))
                answer = listing(objs.of_type(object_type), request.args, href, lambda obj: render(objs, obj))
            return json_response(answer)
        if request.method != "POST":
            raise XelionError(405, 10202, f"{request.method} is not allowed on {collection}")
        body = self.read_body(request, dict)
        if body.get("objectType") != object_type:
            raise XelionError(400, 10203, f"objectType must be {object_type} in {collection}")
        with self.lock:
            objs = self.objects_of(self._tenant(tenant_name))
            create = {
                "Person": objs.create_person,
                "UserProfile": objs.create_user,
                "XCCPhoneLine": objs.create_phoneline,
                "XCCTrunk": objs.create_trunk,
                "UserGroup": objs.create_usergroup,
            }[object_type]
            created = render(objs, create(body))
        return json_response(one(created, f"{href}/{created['oid']}"))

    def single(self, request: Request, tenant_name: str, collection: str, oid: str) -> Response:
        with self.lock:
            objs = self.objects_of(self._tenant(tenant_name))
            obj = objs.get(oid, COLLECTIONS[collection])
            if obj is None:
                raise not_found(f"{COLLECTIONS[collection]} {oid}")
            if request.method == "GET":
                href = f"{request.host_url}api/v1/{tenant_name}/{collection}/{oid}"
                return json_response(one(render(objs, obj), href))
            if request.method == "PATCH":
                apply_patch(objs, obj, parse_operations(self.read_body(request, (dict, list))))
                return self._done()
            if request.method == "DELETE":
                objs.delete(obj)
                return self._done()
        raise XelionError(405, 10202, f"{request.method} is not allowed on {collection}/{oid}")
