"""What every XCU endpoint shares: the session and JSON checks around each call, and the
look-ups and renderings of the stored records in the document's shapes.

State kept by the simulator (see `xcu.XcuSimulator.seed_state`): XiVOs, entities (with `xivoId`),
users (with `entityId` and the `templateId` they were made with), templates (with `entityIds`,
rendered as combinedIds) and administrators (with `passwordHash`).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import BadInput

API = "/api/1.0/"
SESSION_COOKIE = "PLAY_SESSION"


def api_call(*, session: bool = True) -> Callable:
    """Wraps an endpoint: JSON bodies only, the session cookie (except for login), one writer at a
    time. Runs after the base class has injected its faults, as a Play action runs behind its proxy."""

    def decorate(endpoint: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(endpoint)
        def wrapper(self: XcuRecords, request: Request, **args: Any) -> Response:
            with self.lock:  # check-then-create must not interleave with another request
                if session:
                    self._require_session(request)
                if request.method in ("POST", "PUT") and request.mimetype != "application/json":
                    raise BadInput("expecting Content-Type: application/json", 415)
                if request.args:  # the document gives no call a query parameter: a stray one is a mistake
                    raise BadInput(f"unknown query parameter(s): {', '.join(sorted(request.args))}")
                return endpoint(self, request, **args)

        return wrapper

    return decorate


class XcuRecords:
    """Look-ups that answer 404 (or the given status) for unknown ids, and the JSON renderings."""

    state: dict[str, Any]

    def _require_session(self, request: Request) -> None:
        session = self.sessions.validate(request.cookies.get(SESSION_COOKIE))
        if session is None or not any(a["id"] == session.subject["adminId"] for a in self.state["administrators"]):
            raise BadInput("not logged in or session expired: POST /api/1.0/login first", 401)

    def _xivo(self, xivo_id: int, status: int = 404) -> dict[str, Any]:
        found = next((x for x in self.state["xivos"] if x["id"] == xivo_id), None)
        if found is None:
            raise BadInput(f"XiVO {xivo_id} not found", status)
        return found

    def _combined_id(self, entity: dict[str, Any]) -> str:
        return f"{entity['name']}@{self._xivo(entity['xivoId'])['uuid']}"

    def _entity(self, combined_id: str, status: int = 404) -> dict[str, Any]:
        found = next((e for e in self.state["entities"] if self._combined_id(e) == combined_id), None)
        if found is None:
            raise BadInput(f"entity {combined_id} not found", status)
        return found

    def _entity_by_id(self, entity_id: int, status: int = 404) -> dict[str, Any]:
        found = next((e for e in self.state["entities"] if e["id"] == entity_id), None)
        if found is None:
            raise BadInput(f"entity {entity_id} not found", status)
        return found

    def _user(self, user_id: int) -> dict[str, Any]:
        found = next((u for u in self.state["users"] if u["id"] == user_id), None)
        if found is None:
            raise BadInput(f"user {user_id} not found", 404)
        return found

    def _users_on_xivo(self, xivo_id: int) -> list[dict[str, Any]]:
        entity_ids = {e["id"] for e in self.state["entities"] if e["xivoId"] == xivo_id}
        return [u for u in self.state["users"] if u["entityId"] in entity_ids]

    def _template(self, template_id: int, status: int = 404) -> dict[str, Any]:
        found = next((t for t in self.state["templates"] if t["id"] == template_id), None)
        if found is None:
            raise BadInput(f"template {template_id} not found", status)
        return found

    def _admin(self, admin_id: int) -> dict[str, Any]:
        found = next((a for a in self.state["administrators"] if a["id"] == admin_id), None)
        if found is None:
            raise BadInput(f"administrator {admin_id} not found", 404)
        return found

    def _render_entity(self, entity: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": entity["id"],
            "combinedId": self._combined_id(entity),
            "name": entity["name"],
            "displayName": entity["displayName"],
            "xivo": dict(self._xivo(entity["xivoId"])),
            "intervals": copy.deepcopy(entity["intervals"]),
            "presentedNumber": entity["presentedNumber"],
        }

    def _render_user(self, user: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": user["id"],
            "entity": self._render_entity(self._entity_by_id(user["entityId"])),
            "firstName": user["firstName"],
            "lastName": user["lastName"],
            "internalNumber": user["internalNumber"],
            "externalNumber": user["externalNumber"],
            "mail": user["mail"],
            "ctiLogin": user["ctiLogin"],
            "ctiPassword": None,
            "provisioningNumber": user["provisioningNumber"],
        }

    def _render_template(self, template: dict[str, Any]) -> dict[str, Any]:
        rendered = {"id": template["id"]}  # first, as in the document, also for templates created later
        rendered.update((key, copy.deepcopy(value)) for key, value in template.items() if key != "entityIds")
        rendered["entities"] = [self._combined_id(self._entity_by_id(i)) for i in template["entityIds"]]
        return rendered

    def _render_admin(self, admin: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": admin["id"],
            "login": admin["login"],
            "name": admin["name"],
            "password": admin["passwordHash"],
            "superAdmin": admin["superAdmin"],
            "ldap": admin["ldap"],
            "entities": list(admin["entityIds"]),
        }
