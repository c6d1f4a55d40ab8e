"""The Xelion CTI service, as the portal calls it for one tenant: a CRM integration (the tenant's
Xelion context, the CRM's OAuth 2.0 authorization server, event → URI mappings) and the CRM
credentials of the tenant's users.

The service is reached with a tenant administrator's login (`session/login`, then
`Authorization: xelion <token>`); a token that ends mid-sequence is renewed by one fresh login.
Creating an integration logs in implicitly with the same credentials. Secrets (the administrator's
password, OAuth client secrets and tokens) are masked in the exchange log and never read back.
Placeholders in mappings (`${…}`) are data: sent verbatim, never evaluated here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telephony.backends.errors import AuthenticationError, RejectedError, TransientError
from telephony.backends.http import ExchangeLog, HttpClient, HttpResponse
from telephony.backends.json_answers import JsonAnswers

ANSWERS = JsonAnswers("the CTI service", "the login", transient_from=502)  # its 500: an unknown user
XELION_EVENTS = ("newCallEvent", "callConnectedEvent", "callHungUpEvent", "missedCallEvent")
CREDENTIAL_KINDS = {"client_id": "clientid", "client_secret": "clientsecret", "refresh_token": "refreshtoken",
                    "device_code": "devicecode"}  # fmt: skip


@dataclass
class XelionContext:
    """The tenant the integration is for, and the administrator the service logs in as."""

    host: str
    tenant: str
    admin_username: str
    admin_password: str
    protocol: str = "https"


@dataclass
class EventMapping:
    """Where the service sends one call event, and what (placeholders verbatim)."""

    event: str
    uri: str
    payload: dict[str, Any] | None = None


@dataclass
class UserCredentials:
    """A Xelion user's OAuth 2.0 credentials at the CRM."""

    username: str
    client_id: str = ""
    client_secret: str = ""
    device_code: str = ""
    refresh_token: str = ""


@dataclass
class Integration:
    """An integration as the service reports it: its two context ids."""

    xelion_context_id: int
    crm_context_id: int
    host: str
    tenant: str
    authorization_server_uri: str = ""
    authorization_header_prefix: str = ""
    mappings: list[EventMapping] = field(default_factory=list)


TenantContext = XelionContext  # what the code outside the drivers calls it


def identity_of(integration: Integration) -> dict[str, int]:
    """The integration's reference, as the portal keeps it on its row."""
    return {"xelion_context_id": integration.xelion_context_id, "crm_context_id": integration.crm_context_id}


def is_the_one(integration: Integration, reference: dict[str, Any]) -> bool:
    """Whether the integration the service holds is the one a row's reference names."""
    return integration.xelion_context_id == (reference or {}).get("xelion_context_id")


class CtiClient:
    """One tenant's CRM integration on one CTI service."""

    def __init__(self, base_url: str, context: XelionContext, *, timeout: float = 10.0, log: ExchangeLog | None = None):
        root = base_url.rstrip("/") + "/"
        self.context = context
        self.http = HttpClient(
            root if root.endswith("api/") else root + "api/",
            timeout=timeout,
            log=log,
            known_secrets=(context.admin_password,),
            default_headers={"Accept": "application/json"},
        )
        self.token = ""

    # session
    def login(self) -> None:
        body = {"adminUsername": self.context.admin_username, "adminPassword": self.context.admin_password,
                "host": self.context.host, "tenant": self.context.tenant}  # fmt: skip
        answer = ANSWERS.json(self.http.request("POST", "session/login", json_body=body), "log in", dict)
        token = answer.get("authentication")
        if not isinstance(token, str) or not token:
            raise AuthenticationError("the CTI service's login gave no token")
        self.http.add_secret(token)
        self.token = token

    def _call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> HttpResponse:
        """A call with the session token, after at most one fresh login (a token ended mid-sequence)."""
        if not self.token:
            self.login()
        answer = self.http.request(method, path, json_body=body, params=params, headers=self._auth())
        if answer.status == 401:
            self.login()
            answer = self.http.request(method, path, json_body=body, params=params, headers=self._auth())
        return answer

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"xelion {self.token}"}

    # the integration
    def create(self, crm_token_uri: str, header_prefix: str, mappings: list[EventMapping],
               users: tuple[UserCredentials, ...] = ()) -> Integration:  # fmt: skip
        """Make the integration (the service logs in with the administrator's credentials itself)."""
        context = self.context
        body = {
            "xelionContext": {
                "adminUsername": context.admin_username,
                "adminPassword": context.admin_password,
                "host": context.host,
                "tenant": context.tenant,
                "protocol": context.protocol,
            },
            "crmContext": {"authorizationServerUri": crm_token_uri, "authorizationHeaderPrefix": header_prefix},
            "userCredentials": [self._credentials(user) for user in users],
            "eventUriMappings": [mapping_body(m) for m in mappings],
        }
        answer = self.http.request("POST", "crm-integrations", json_body=body)
        return integration_from(ANSWERS.json(answer, "create the integration", dict))

    def find(self) -> Integration | None:
        params = {"xelionHost": self.context.host, "xelionTenant": self.context.tenant}
        answer = self._call("GET", "crm-integrations", params=params)
        if answer.status == 404:
            return None
        return integration_from(ANSWERS.json(answer, "find the integration", dict))

    def delete(self, integration: Integration) -> None:
        answer = self._call("DELETE", f"crm-integrations/{integration.xelion_context_id}")
        if answer.status != 404:  # already gone is what a delete wants
            ANSWERS.ok(answer, "delete the integration")

    def mappings(self, integration: Integration) -> list[EventMapping]:
        path = f"{self._contexts(integration)}/event-uri-mappings"
        found = ANSWERS.json(self._call("GET", path), "read the mappings", list)
        return [EventMapping(m["xelionEvent"], m["crmResourceUri"], m.get("crmResourcePayload")) for m in found]

    def replace_mappings(self, integration: Integration, mappings: list[EventMapping]) -> None:
        path = f"{self._contexts(integration)}/event-uri-mappings"
        ANSWERS.ok(self._call("PUT", path, [mapping_body(m) for m in mappings]), "replace the mappings")

    # users
    def users(self, integration: Integration, *, username: str = "") -> list[dict[str, str]]:
        params = {"username": username} if username else None
        path = f"{self._contexts(integration)}/user-credentials"
        return ANSWERS.json(self._call("GET", path, params=params), "list the users", list)

    def add_user(self, integration: Integration, user: UserCredentials) -> str:
        """The CTI service's id of the user's credentials."""
        path = f"{self._contexts(integration)}/user-credentials"
        answer = ANSWERS.json(self._call("POST", path, [self._credentials(user)]), f"add {user.username}", dict)
        return str(answer.get("userCredentialsId", ""))

    def update_user_secret(self, user_id: str, kind: str, value: str) -> None:
        """Change one of a user's credentials (`kind`: client_id, client_secret, refresh_token, device_code)."""
        self.http.add_secret(value)
        path = f"users/{int(user_id)}/{CREDENTIAL_KINDS[kind]}/update"
        ANSWERS.ok(self._call("POST", path, {"value": value}), f"update the {kind.replace('_', ' ')}")

    def remove_user(self, user_id: str) -> None:
        answer = self._call("DELETE", f"users/{int(user_id)}")
        if answer.status != 404:
            ANSWERS.ok(answer, "remove the user")

    def close(self) -> None:
        self.http.close()

    # helpers
    def _credentials(self, user: UserCredentials) -> dict[str, str]:
        for secret in (user.client_secret, user.refresh_token, user.device_code):
            self.http.add_secret(secret)
        return {"xelionUsername": user.username, "clientId": user.client_id, "clientSecret": user.client_secret,
                "deviceCode": user.device_code, "refreshToken": user.refresh_token}  # fmt: skip

    @staticmethod
    def _contexts(integration: Integration) -> str:
        return f"crm-integrations/{integration.xelion_context_id}/crm-contexts/{integration.crm_context_id}"


def mapping_body(mapping: EventMapping) -> dict[str, Any]:
    if mapping.event not in XELION_EVENTS:
        raise RejectedError(f"{mapping.event} is not a Xelion call event ({', '.join(XELION_EVENTS)})")
    return {"xelionEvent": mapping.event, "crmResourceUri": mapping.uri, "crmResourcePayload": mapping.payload}


def integration_from(body: dict[str, Any]) -> Integration:
    xelion, crm = body.get("xelionContext") or {}, body.get("crmContext") or {}
    if not isinstance(xelion.get("id"), int) or not isinstance(crm.get("id"), int):
        raise TransientError("the CTI service's integration has no context ids")
    return Integration(
        xelion_context_id=xelion["id"],
        crm_context_id=crm["id"],
        host=str(xelion.get("host") or ""),
        tenant=str(xelion.get("tenant") or ""),
        authorization_server_uri=str(crm.get("authorizationServerUri") or ""),
        authorization_header_prefix=str(crm.get("authorizationHeaderPrefix") or ""),
    )
