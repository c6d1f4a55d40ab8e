"""Sandbox of the XC5-XS JSON system provisioning API, `/api-sys/` (seed: xc5-xs-system-provisioning.txt;
extra facts: backend-api-facts.md, XC5 section).

This module holds the seed data, authentication and scoping, the path router and OPTIONS; the
endpoint families are in `xc5_accounts` (index, accounts, HydraAccount), `xc5_numbers` (numbers,
numberallocate), `xc5_rules` (routes, callrules, forks, prompts, reg, guid, location), with shared
helpers in `xc5_core` and the field tables (validation and OPTIONS text) in `xc5_schema`.

Behaviour:
- Basic authentication on every call, OPTIONS included, against enabled accounts holding
  `accountresource.api_access`: `system` reaches everything, `user` only its own account and its
  descendants (anything else answers 404 "account not found", as if it did not exist). A missing
  or refused Authorization header answers 401 with `WWW-Authenticate: Basic realm="api-sys"`.
- Every answer is `application/hal+json` and a JSON array, errors included: `[{"error": "..."}]`.
  400 validation, 401 authentication, 403 forbidden by scope or reserved names, 404 unknown path
  or object, 405 method, 409 duplicate, 429/5xx injected faults.
- Path words are case-insensitive (`/api-sys/HydraAccount/…` = `/api-sys/hydraaccount/…`).
- Unknown query parameters and body fields are refused (400).
- Basic authentication has no session, so FaultConfig.session_expiry_* has no effect here; the
  other faults (down, latency, 5xx, 429, timeouts) apply as in every simulator.
- `patch_method_allowed=False` (constructor, or `PUT /_sandbox/xc5-settings {"patch_method_allowed":
  false}`) answers PATCH with 405, like a proxy that drops it; clients then use `PUT ?patch=true`.
- `journal` keeps "METHOD /path?query" of the last 1000 API calls (tests check what a client sent).

Seed data (reset with POST /_sandbox/reset):
- `provisioning` / `xc5-sandbox-secret`: a root account with api_access=system.
- `demo.x.co.nz` / `demo-sandbox-secret`: a demo virtual environment with api_access=user, its
  users `alice@demo.x.co.nz` (number 6493001000, extension 200) and `bob@demo.x.co.nz`
  (6493001001, extension 201), their extension callrules at order -2, pickup group "Demo".
- `_unassigned.pool` holding the free numbers 6491231200–6491231299, 6499290085–6499290089 and
  6499740205 (6499290088 has the seed's guid D5A51C5C-…, 6499740205 the seed's E6134D37-…).
- `_prompts.shared` with the seed's PIN prompt F4FE3E59-…; `_tel`, the parent of HydraAccount lines.
- Locations <CallRule-International>, <CallRule-Mobile>, <CallRule-Premium>, <CallRule-Emergency>.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import deque
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import BadInput, FaultConfig, Simulator, json_response, read_json
from telephony.sandbox.xc5_accounts import HYDRA_CONTAINER, AccountEndpoints
from telephony.sandbox.xc5_core import POOL_ACCOUNT, Caller, hal, now_iso
from telephony.sandbox.xc5_numbers import NumberEndpoints
from telephony.sandbox.xc5_rules import KINDS, RuleEndpoints
from telephony.sandbox.xc5_schema import documentation

SYSTEM_API_USERNAME = "provisioning"
SYSTEM_API_PASSWORD = "xc5-sandbox-secret"
USER_API_USERNAME = "demo.x.co.nz"
USER_API_PASSWORD = "demo-sandbox-secret"
POOL_NUMBERS = [str(n) for n in range(6491231200, 6491231300)] + [str(n) for n in range(6499290085, 6499290090)]
SEED_NUMBER_GUIDS = {
    "6499290088": "D5A51C5C-F762-4E82-8B3E-7CB15662D40C",
    "6499740205": "E6134D37-104E-4320-AEE8-030300F3BF1A",
}
SHARED_PIN_PROMPT = "F4FE3E59-0439-4849-9444-85BEFE8694B3"
LOCATIONS = {
    "<CallRule-International>": (
        "Any destination outside New Zealand (+64)",
        ["1", "2", "3", "4", "5", "60", "61", "62", "63", "65", "66", "7", "8", "9"],
    ),
    "<CallRule-Mobile>": ("New Zealand mobile networks", ["6420", "6421", "6422", "6427", "6428", "6429"]),
    "<CallRule-Premium>": ("Premium rate services", ["64900"]),
    "<CallRule-Emergency>": ("Emergency services", ["111"]),
}
SEED_NAMESPACE = uuid.UUID("6f1c1b1e-53a4-4c1b-9f0e-0c5c5a0dbe01")
SUB_WORDS = ("number", "route", "callrule", "fork", "prompt")


def seed_guid(name: str) -> str:
    """Stable guids for seed objects, so that documentation and a reset agree."""
    return str(uuid.uuid5(SEED_NAMESPACE, name)).upper()


class Xc5Simulator(AccountEndpoints, NumberEndpoints, RuleEndpoints, Simulator):
    """The XC5-XS system provisioning API (`/api-sys/`) with its seed data; see the module docstring."""

    name = "xc5"
    description = "XC5-XS JSON system provisioning API (/api-sys/)"

    def __init__(self, *, faults: FaultConfig | None = None, state_file: Any = None, patch_method_allowed: bool = True):
        self.patch_method_allowed_at_reset = patch_method_allowed  # seed_state runs inside the base __init__
        super().__init__(faults=faults, state_file=state_file)
        self.journal: deque[str] = deque(maxlen=1000)  # "METHOD /path?query" of recent API calls, for tests

    def credentials_hint(self) -> str:
        return (
            f"Basic auth: {SYSTEM_API_USERNAME} / {SYSTEM_API_PASSWORD} (api_access=system), "
            f"{USER_API_USERNAME} / {USER_API_PASSWORD} (api_access=user)"
        )

    def error_response(self, status: int, message: str) -> Response:
        headers = {"WWW-Authenticate": 'Basic realm="api-sys"'} if status == 401 else None
        return hal([{"error": message}], status=status, headers=headers)

    def routes(self) -> list[Rule]:
        return [
            Rule("/api-sys/", endpoint="api"),
            Rule("/api-sys/<path:rest>", endpoint="api"),
            Rule("/_sandbox/xc5-settings", endpoint="control_settings", methods=["GET", "PUT"]),
        ]

    def control_settings(self, request: Request) -> Response:
        """Sandbox switches beyond FaultConfig: {"patch_method_allowed": bool}."""
        if request.method == "PUT":
            changes = read_json(request, expect=dict)
            if set(changes) - {"patch_method_allowed"} or not all(isinstance(v, bool) for v in changes.values()):
                return json_response({"error": "only patch_method_allowed (true/false) can be set"}, status=400)
            with self.lock:
                self.state["settings"].update(changes)
        return json_response(self.state["settings"])

    # dispatch
    def api(self, request: Request, rest: str = "") -> Response:
        segments = [segment for segment in rest.split("/") if segment]
        query = request.query_string.decode("latin-1")
        self.journal.append(f"{request.method} {request.path}" + (f"?{query}" if query else ""))
        with self.lock:
            caller = self.authenticate(request)
            if request.method == "OPTIONS":
                doc = documentation(self.template(segments))
                if doc is None:
                    raise BadInput("invalid path", 404)
                return hal([doc])
            if request.method == "PATCH" and not self.state["settings"]["patch_method_allowed"]:
                return self.method_not_allowed(["GET", "PUT", "DELETE", "OPTIONS"])
            handlers = self.handlers(segments)
            if handlers is None:
                raise BadInput("invalid path", 404)
            handler = handlers.get(request.method)
            if handler is None:
                return self.method_not_allowed([*handlers, "OPTIONS"])
            if request.method != "GET":
                self.refuse_reserved_path(caller, segments)
            return handler(request, caller)

    def method_not_allowed(self, allowed: list[str]) -> Response:
        return hal([{"error": "method not allowed"}], status=405, headers={"Allow": ", ".join(allowed)})

    @staticmethod
    def template(segments: list[str]) -> str:
        """The documentation key of a path: account names and guids become *, items share their collection's."""
        words = [segment.lower() for segment in segments]
        if not words:
            return ""
        if words[0] != "account":
            return words[0] if len(words) <= 2 else "invalid"
        if len(words) <= 2:
            return "account" if len(words) == 1 else "account/*"
        if len(words) == 4 and words[2] not in SUB_WORDS:
            return "invalid"
        return f"account/*/{words[2]}" if len(words) <= 4 else "invalid"

    def handlers(self, segments: list[str]) -> dict[str, Any] | None:
        """The method → handler table of a path, or None for an invalid path."""
        words = [segment.lower() for segment in segments]
        count = len(words)
        if count == 0:
            return {"GET": self.index_get}
        head = words[0]
        if head == "guid" and count == 1:
            return {"GET": self.guid_get}
        if head == "location" and count <= 2:
            if count == 1:
                return {"GET": self.location_list}
            return {"GET": lambda r, c: self.location_get(r, c, segments[1])}
        if head == "hydraaccount" and count == 2:
            number = segments[1]
            return {
                "GET": lambda r, c: self.hydra_get(r, c, number),
                "PUT": lambda r, c: self.hydra_put(r, c, number),
                "DELETE": lambda r, c: self.hydra_delete(r, c, number),
            }
        if head != "account":
            return None
        if count == 1:
            return {"GET": self.account_list, "PUT": self.account_create}
        key = segments[1]
        if count == 2:
            return {
                "GET": lambda r, c: self.account_get(r, c, key),
                "PUT": lambda r, c: self.account_put(r, c, key),
                "PATCH": lambda r, c: self.account_patch(r, c, key),
                "DELETE": lambda r, c: self.account_delete(r, c, key),
            }
        sub = words[2]
        if count == 3:
            if sub == "child":
                return {
                    "GET": lambda r, c: self.child_list(r, c, key),
                    "PUT": lambda r, c: self.child_create(r, c, key),
                }
            if sub == "numberallocate":
                return {"GET": lambda r, c: self.numberallocate_list(r, c, key)}
            if sub == "reg":
                return {"GET": lambda r, c: self.reg_list(r, c, key)}
            if sub == "number":
                return {
                    "GET": lambda r, c: self.number_list(r, c, key),
                    "PUT": lambda r, c: self.number_create(r, c, key),
                }
            if sub in KINDS:
                kind = KINDS[sub]
                return {
                    "GET": lambda r, c: self.sub_list(r, c, key, kind),
                    "PUT": lambda r, c: self.sub_create(r, c, key, kind),
                }
            return None
        if count == 4 and sub in SUB_WORDS:
            item = segments[3]
            if sub == "number":
                return {
                    "GET": lambda r, c: self.number_get(r, c, key, item),
                    "PUT": lambda r, c: self.number_put(r, c, key, item),
                    "PATCH": lambda r, c: self.number_patch(r, c, key, item),
                    "DELETE": lambda r, c: self.number_delete(r, c, key, item),
                }
            kind = KINDS[sub]
            return {
                "GET": lambda r, c: self.sub_get(r, c, key, item, kind),
                "PUT": lambda r, c: self.sub_put(r, c, key, item, kind),
                "PATCH": lambda r, c: self.sub_patch(r, c, key, item, kind),
                "DELETE": lambda r, c: self.sub_delete(r, c, key, item, kind),
            }
        return None

    # authentication
    def authenticate(self, request: Request) -> Caller:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise BadInput("authentication required", 401)
        try:
            username, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise BadInput("malformed Basic authorization", 401) from None
        account = self.account_by_name(username)
        if account is None or not account["enabled"] or account["password"] != password:
            raise BadInput("invalid username or password", 401)
        access = account["accountresource"].get("api_access")
        if access not in ("system", "user"):
            raise BadInput("API access is not enabled for this account", 401)
        return Caller(account_guid=account["guid"], username=account["username"], access=access)

    # seed data
    def seed_state(self) -> dict[str, Any]:
        self.state = {
            "accounts": {},
            "numbers": {},
            "routes": {},
            "callrules": {},
            "forks": {},
            "prompts": {},
            "locations": {},
            "_counters": {},
            "settings": {"patch_method_allowed": self.patch_method_allowed_at_reset},
        }
        system = Caller(account_guid="", username="seed", access="system")
        make = self.create_account
        make(
            system,
            {
                "username": SYSTEM_API_USERNAME,
                "password": SYSTEM_API_PASSWORD,
                "description": "System provisioning API account",
                "accountresource": {"api_access": "system"},
            },
            None,
        )
        pool = self.seed_account(POOL_ACCOUNT, "Free numbers")
        shared = self.seed_account("_prompts.shared", "Prompts shared by every environment")
        self.seed_account(HYDRA_CONTAINER, "POTS lines (HydraAccount)")
        for number in [*POOL_NUMBERS, "6499740205"]:
            guid = SEED_NUMBER_GUIDS.get(number) or seed_guid(f"number:{number}")
            self.state["numbers"][guid] = {
                "guid": guid,
                "account_guid": pool["guid"],
                "number": number,
                "is-pilot": False,
                "cfa": "",
                "alert-info": "",
                "account-code": "",
                "from_pool": True,
                "seq": self.next_seq(),
            }
        self.state["prompts"][SHARED_PIN_PROMPT] = {
            "guid": SHARED_PIN_PROMPT,
            "account_guid": shared["guid"],
            "description": "Please enter your PIN",
            "prompt_length": 2.4,
            "group_access": "*2200100",
            "seq": self.next_seq(),
        }
        demo = make(
            system,
            {
                "username": USER_API_USERNAME,
                "password": USER_API_PASSWORD,
                "description": "Demo environment",
                "pickup_group": "Demo",
                "accountresource": {"api_access": "user"},
            },
            None,
        )
        for local, number, extension, name in (
            ("alice", "6493001000", "200", "Alice Demo"),
            ("bob", "6493001001", "201", "Bob Demo"),
        ):
            user = make(system, {"username": f"{local}@{USER_API_USERNAME}", "description": name}, demo["guid"])
            self.add_number(user, {"number": number})
            self.new_item(
                system,
                KINDS["callrule"],
                demo,
                {"order": -2, "prefix_raw": extension, "username": user["username"], "destination": f":{extension}"},
            )
        for name, (description, prefixes) in LOCATIONS.items():
            guid = seed_guid(f"location:{name}")
            self.state["locations"][guid] = {
                "guid": guid,
                "name": name,
                "description": description,
                "prefixes": prefixes,
            }
        for account in self.state["accounts"].values():
            account["created"] = "2024-01-01T00:00:00Z"
        return self.state

    def seed_account(self, username: str, description: str) -> dict[str, Any]:
        """Reserved and infrastructure accounts, which the API itself refuses to create."""
        guid = seed_guid(f"account:{username}")
        account = {
            "guid": guid,
            "username": username,
            "parent_guid": None,
            "password": uuid.uuid4().hex,
            "enabled": True,
            "description": description,
            "cfna_duration": 20,
            "cfna_dest": "",
            "cfna_active": False,
            "concurrent_limit": 0,
            "pickup_group": None,
            "ums_pin": None,
            "private": 0,
            "callerid": True,
            "accountresource": {"api_access": None},
            "created": now_iso(),
        }
        self.state["accounts"][guid] = account
        return account
