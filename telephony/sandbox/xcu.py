"""Sandbox of the XiVO Centralized User Management (XCU) REST API, `/api/1.0/` (seed:
xivo-xcu-rest-api.txt; extra facts: backend-api-facts.md, XCU section).

This module holds the seed data, the routes, login and the XiVOs; the other API families are in
`xcu_entities` (entities, users), `xcu_templates` (templates, administrators), with the shared
look-ups in `xcu_records` and the payload rules in `xcu_validation`.

Decisions where the document is silent or obfuscated:

- `combinedId` is `<entity name>@<XiVO uuid>` (the document shows it as "[email protected]").
- `POST /api/1.0/login` sets a `PLAY_SESSION` cookie (XCU is a Play application); every other
  call without a live session answers 401. Sessions expire through FaultConfig.session_expiry_*.
- Errors are `{"error": "<message>"}` everywhere: 400 validation (any query parameter too: the
  document gives no call one), 401 not logged in or bad credentials, 404 unknown id or path, 405
  undocumented method, 409 duplicate (a name, a login, a host, an internal number or a CTI login
  already taken), 415 a POST/PUT that is not JSON.
- Creates answer 201 with the object, edits 200 with the object, deletes 204.
- Lists are `{"items": [...]}` except `GET /templates`, a bare array as documented.
- Bodies with unknown fields are refused. Users also accept `mail` and `externalNumber`, the other
  writable fields of their representation, unless the sandbox runs documented-only (then they are
  unknown fields, 400); `ctiPassword` is write-only (always answered null).
- A user's template must exist and be available to the user's entity: listed in the template's
  `entities`, or the entity's XiVO in its `xivos`. Internal numbers are unique on a XiVO and must
  lie in one of the entity's intervals (an edit may keep a number the seed put outside them).
  Each user takes one of its XiVO's `remainingSlots`; deleting the user gives it back.
- `available_numbers` lists at most the first 1000 free numbers, interval by interval.
- An entity that still has users cannot be deleted (400); an entity cannot move to another XiVO.
- Administrator `entities` echoes the `entityIds` given; passwords are answered as a salted hash.
  LDAP administrators cannot log in to the sandbox; all logged-in administrators may do anything
  (entity-scoped rights are not simulated).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import BadInput, Simulator, json_response, read_json
from telephony.sandbox.xcu_entities import EntityAndUserEndpoints
from telephony.sandbox.xcu_records import API, SESSION_COOKIE, api_call
from telephony.sandbox.xcu_templates import TemplateAndAdministratorEndpoints
from telephony.sandbox.xcu_validation import (
    HOST,
    Payload,
    hash_password,
    password_matches,
)

NEW_XIVO_SLOTS = 500  # a licence size for XiVOs added at run time; the seed's come from the document
XIVO_220 = {
    "id": 1,
    "uuid": "8f159082-4b25-48b3-afec-1873491a60be",
    "name": "xivo-220",
    "host": "192.168.29.220",
    "remainingSlots": 664,
}
XIVO_221 = {
    "id": 2,
    "uuid": "15585b75-1d75-45b1-8678-520d1210ec59",
    "name": "xivo-221",
    "host": "192.168.29.221",
    "remainingSlots": 280,
}


class XcuSimulator(EntityAndUserEndpoints, TemplateAndAdministratorEndpoints, Simulator):
    """The XCU REST API with the document's two XiVOs, their entities, template, user and admin."""

    name = "xcu"
    description = "XiVO Centralized User Management (XCU) REST API /api/1.0/"

    def credentials_hint(self) -> str:
        return "login admin / password superpass"

    def seed_state(self) -> dict[str, Any]:
        seed_salt = hashlib.sha256(b"xcu-sandbox-admin").digest()[:16]  # stable hash across resets
        return {
            "xivos": [dict(XIVO_220), dict(XIVO_221)],
            "entities": [
                {
                    "id": 17,
                    "name": "default",
                    "displayName": "default",
                    "xivoId": 2,
                    "presentedNumber": "inbNo",
                    "intervals": [
                        {"start": "1700", "end": "1799"},
                        {"start": "1961", "end": ""},
                        {"start": "2600", "end": "2799"},
                    ],
                },
                {
                    "id": 22,
                    "name": "default_analogique",
                    "displayName": "default_analogique",
                    "xivoId": 2,
                    "presentedNumber": "inbNo",
                    "intervals": [{"start": "3990000", "end": "3999999"}, {"start": "39990000", "end": "39999999"}],
                },
            ],
            "users": [
                {
                    "id": 559,
                    "entityId": 22,
                    "templateId": 1,
                    "firstName": "Sous sol Logistique",
                    "lastName": "CLF 88:40 P3",
                    "internalNumber": "6260",
                    "externalNumber": None,
                    "mail": None,
                    "ctiLogin": None,
                    "ctiPassword": None,
                    "provisioningNumber": "114133",
                },
            ],
            # the document's obfuscated template entity is taken to be default_analogique, which is
            # what its own example script needs to create a user with template 1
            "templates": [
                {
                    "id": 1,
                    "name": "Modèle 220",
                    "peerSipName": "auto",
                    "routedInbound": False,
                    "callerIdMode": "incomingNo",
                    "ringingTime": 30,
                    "voiceMailEnabled": False,
                    "voiceMailNumberMode": "short_number",
                    "xivos": [1],
                    "entityIds": [22],
                },
            ],
            "administrators": [
                {
                    "id": 1,
                    "login": "admin",
                    "name": "",
                    "passwordHash": hash_password("superpass", seed_salt),
                    "superAdmin": True,
                    "ldap": False,
                    "entityIds": [],
                },
            ],
            "_counters": {
                "xivos": 3,
                "entities": 23,
                "users": 560,
                "templates": 2,
                "administrators": 2,
                "provisioning": 114134,
            },
        }

    def routes(self) -> list[Rule]:
        def rule(path: str, endpoint: str, *methods: str) -> Rule:
            return Rule(API + path, endpoint=endpoint, methods=list(methods))

        return [
            rule("login", "login", "POST"),
            rule("xivo", "xivo_list", "GET"),
            rule("xivo", "xivo_create", "POST"),
            rule("xivo/synchronize_config_files", "xivo_synchronize", "GET"),
            rule("xivo/<int:xivo_id>", "xivo_get", "GET"),
            rule("entities", "entity_list", "GET"),
            rule("entities", "entity_create", "POST"),
            rule("entities/<combined_id>", "entity_get", "GET"),
            rule("entities/<combined_id>", "entity_edit", "PUT"),
            rule("entities/<combined_id>", "entity_delete", "DELETE"),
            rule("entities/<combined_id>/users", "entity_users", "GET"),
            rule("entities/<combined_id>/available_numbers", "entity_available_numbers", "GET"),
            rule("users", "user_create", "POST"),
            rule("users/<int:user_id>", "user_get", "GET"),
            rule("users/<int:user_id>", "user_edit", "PUT"),
            rule("users/<int:user_id>", "user_delete", "DELETE"),
            rule("templates", "template_list", "GET"),
            rule("templates", "template_create", "POST"),
            rule("templates/<int:template_id>", "template_get", "GET"),
            rule("templates/<int:template_id>", "template_edit", "PUT"),
            rule("templates/<int:template_id>", "template_delete", "DELETE"),
            rule("administrators", "admin_list", "GET"),
            rule("administrators", "admin_create", "POST"),
            rule("administrators/<int:admin_id>", "admin_get", "GET"),
            rule("administrators/<int:admin_id>", "admin_edit", "PUT"),
            rule("administrators/<int:admin_id>", "admin_delete", "DELETE"),
        ]

    # ------------------------------------------------------------------ login
    @api_call(session=False)
    def login(self, request: Request) -> Response:
        payload = Payload(read_json(request), {"login", "password"})
        login, password = payload.string("login"), payload.string("password")
        admin = next((a for a in self.state["administrators"] if a["login"] == login), None)
        if admin is not None and admin["ldap"]:
            raise BadInput("LDAP authentication is not available in the sandbox", 401)
        if admin is None or not password_matches(admin["passwordHash"], password):
            raise BadInput("invalid login or password", 401)
        session = self.sessions.issue({"adminId": admin["id"], "login": login})
        response = json_response({"login": login})
        response.set_cookie(SESSION_COOKIE, session.token, path="/", httponly=True, samesite="Lax")
        return response

    # ------------------------------------------------------------------ xivo
    @api_call()
    def xivo_list(self, request: Request) -> Response:
        return json_response({"items": [dict(x) for x in self.state["xivos"]]})

    @api_call()
    def xivo_get(self, request: Request, xivo_id: int) -> Response:
        return json_response(dict(self._xivo(xivo_id)))

    @api_call()
    def xivo_create(self, request: Request) -> Response:
        payload = Payload(read_json(request), {"name", "host", "configure"})
        name, host = payload.string("name", max_length=64), payload.string("host", pattern=HOST, max_length=253)
        payload.boolean("configure", required=False)
        for xivo in self.state["xivos"]:
            if xivo["name"] == name or xivo["host"] == host:
                raise BadInput(f"a XiVO named {xivo['name']!r} with host {xivo['host']!r} already exists", 409)
        xivo = {
            "id": self.next_id("xivos"),
            "uuid": str(uuid.uuid4()),
            "name": name,
            "host": host,
            "remainingSlots": NEW_XIVO_SLOTS,
        }
        self.state["xivos"].append(xivo)
        return json_response(dict(xivo), status=201)

    @api_call()
    def xivo_synchronize(self, request: Request) -> Response:
        return json_response({"synchronized": [x["id"] for x in self.state["xivos"]]})
