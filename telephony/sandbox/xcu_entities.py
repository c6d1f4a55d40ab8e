"""XCU entities (the number plan of a XiVO) and their users: `/api/1.0/entities` and `/api/1.0/users`."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import BadInput, json_response, read_json
from telephony.sandbox.xcu_records import XcuRecords, api_call
from telephony.sandbox.xcu_validation import (
    AVAILABLE_NUMBERS_CAP,
    DIGITS,
    ENTITY_NAME,
    LOGIN,
    PHONE_NUMBER,
    PRESENTED_NUMBER_DEFAULT,
    Payload,
    interval_contains,
    interval_numbers,
    read_intervals,
)

DOCUMENTED_USER_FIELDS = {
    "entityCId",
    "templateId",
    "firstName",
    "lastName",
    "internalNumber",
    "ctiLogin",
    "ctiPassword",
}
# Writable in the user's representation but not among the document's user fields (backend-fidelity.md).
USER_FIELD_EXTENSIONS = {"mail", "externalNumber"}


class EntityAndUserEndpoints(XcuRecords):
    """Entities by combinedId, their users and free numbers; users by id, each taking a XiVO slot."""

    @api_call()
    def entity_list(self, request: Request) -> Response:
        return json_response({"items": [self._render_entity(e) for e in self.state["entities"]]})

    @api_call()
    def entity_get(self, request: Request, combined_id: str) -> Response:
        return json_response(self._render_entity(self._entity(combined_id)))

    @api_call()
    def entity_create(self, request: Request) -> Response:
        entity = self._read_entity(
            Payload(read_json(request), {"name", "displayName", "xivoId", "intervals", "presentedNumber"}),
            existing=None,
        )
        entity["id"] = self.next_id("entities")
        self.state["entities"].append(entity)
        return json_response(self._render_entity(entity), status=201)

    @api_call()
    def entity_edit(self, request: Request, combined_id: str) -> Response:
        current = self._entity(combined_id)
        allowed = {"name", "displayName", "xivoId", "intervals", "presentedNumber"}
        changes = self._read_entity(Payload(read_json(request), allowed, path_id=current["id"]), existing=current)
        current.update(changes)
        return json_response(self._render_entity(current))

    @api_call()
    def entity_delete(self, request: Request, combined_id: str) -> Response:
        entity = self._entity(combined_id)
        users = [u for u in self.state["users"] if u["entityId"] == entity["id"]]
        if users:
            raise BadInput(f"entity {combined_id} still has {len(users)} user(s); delete them first")
        self.state["entities"].remove(entity)
        for holder in self.state["templates"] + self.state["administrators"]:
            holder["entityIds"] = [i for i in holder["entityIds"] if i != entity["id"]]
        return Response(status=204)

    @api_call()
    def entity_users(self, request: Request, combined_id: str) -> Response:
        entity = self._entity(combined_id)
        return json_response(
            {"items": [self._render_user(u) for u in self.state["users"] if u["entityId"] == entity["id"]]}
        )

    @api_call()
    def entity_available_numbers(self, request: Request, combined_id: str) -> Response:
        entity = self._entity(combined_id)
        used = {u["internalNumber"] for u in self._users_on_xivo(entity["xivoId"])}
        free: list[str] = []
        for interval in entity["intervals"]:
            for number in interval_numbers(interval):
                if number not in used:
                    free.append(number)
                    if len(free) >= AVAILABLE_NUMBERS_CAP:
                        return json_response({"items": free})
        return json_response({"items": free})

    def _read_entity(self, payload: Payload, existing: dict[str, Any] | None) -> dict[str, Any]:
        name = payload.string("name", pattern=ENTITY_NAME, max_length=64)
        display_name = payload.string("displayName")
        xivo = self._xivo(payload.integer("xivoId"), status=400)
        if existing is not None and xivo["id"] != existing["xivoId"]:
            raise BadInput("xivoId: an entity cannot move to another XiVO")
        intervals = read_intervals(payload, existing["intervals"] if existing else [])
        presented = payload.string("presentedNumber", required=False, default=PRESENTED_NUMBER_DEFAULT, max_length=21)
        if presented != PRESENTED_NUMBER_DEFAULT and not PHONE_NUMBER.match(presented):
            raise BadInput(f"presentedNumber: {PRESENTED_NUMBER_DEFAULT} or a phone number")
        for other in self.state["entities"]:
            if other is not existing and other["xivoId"] == xivo["id"] and other["name"] == name:
                raise BadInput(f"entity {name} already exists on XiVO {xivo['name']}", 409)
        return {
            "name": name,
            "displayName": display_name,
            "xivoId": xivo["id"],
            "intervals": intervals,
            "presentedNumber": presented,
        }

    # ------------------------------------------------------------------ users
    def _user_fields(self) -> set[str]:
        if self.faults.documented_only:
            return DOCUMENTED_USER_FIELDS
        return DOCUMENTED_USER_FIELDS | USER_FIELD_EXTENSIONS

    @api_call()
    def user_get(self, request: Request, user_id: int) -> Response:
        return json_response(self._render_user(self._user(user_id)))

    @api_call()
    def user_create(self, request: Request) -> Response:
        user = self._read_user(Payload(read_json(request), self._user_fields()), existing=None)
        xivo = self._xivo(self._entity_by_id(user["entityId"])["xivoId"])
        if xivo["remainingSlots"] <= 0:
            raise BadInput(f"no remaining slot on XiVO {xivo['name']}")
        xivo["remainingSlots"] -= 1
        user.update(id=self.next_id("users"), provisioningNumber=str(self.next_id("provisioning")))
        self.state["users"].append(user)
        return json_response(self._render_user(user), status=201)

    @api_call()
    def user_edit(self, request: Request, user_id: int) -> Response:
        current = self._user(user_id)
        changes = self._read_user(Payload(read_json(request), self._user_fields(), path_id=user_id), existing=current)
        old_xivo = self._xivo(self._entity_by_id(current["entityId"])["xivoId"])
        new_xivo = self._xivo(self._entity_by_id(changes["entityId"])["xivoId"])
        if new_xivo is not old_xivo:
            if new_xivo["remainingSlots"] <= 0:
                raise BadInput(f"no remaining slot on XiVO {new_xivo['name']}")
            new_xivo["remainingSlots"] -= 1
            old_xivo["remainingSlots"] += 1
        current.update(changes)
        return json_response(self._render_user(current))

    @api_call()
    def user_delete(self, request: Request, user_id: int) -> Response:
        user = self._user(user_id)
        self._xivo(self._entity_by_id(user["entityId"])["xivoId"])["remainingSlots"] += 1
        self.state["users"].remove(user)
        return Response(status=204)

    def _read_user(self, payload: Payload, existing: dict[str, Any] | None) -> dict[str, Any]:
        entity = self._entity(payload.string("entityCId"), status=400)
        template = self._template(payload.integer("templateId"), status=400)
        if entity["xivoId"] not in template["xivos"] and entity["id"] not in template["entityIds"]:
            raise BadInput(
                f"templateId: template {template['id']} is not available to entity {self._combined_id(entity)}"
            )
        number = payload.string("internalNumber", pattern=DIGITS, max_length=20)
        keeps_number = existing is not None and (existing["entityId"], existing["internalNumber"]) == (
            entity["id"],
            number,
        )
        if not keeps_number and not any(interval_contains(i, number) for i in entity["intervals"]):
            raise BadInput(f"internalNumber: {number} is not in the intervals of entity {entity['name']}")
        cti_login = payload.string("ctiLogin", required=False, pattern=LOGIN, max_length=64)
        cti_password = payload.string("ctiPassword", required=False, max_length=64)
        if cti_password and not cti_login:
            raise BadInput("ctiLogin: required with ctiPassword")
        on_xivo = {e["id"] for e in self.state["entities"] if e["xivoId"] == entity["xivoId"]}
        for other in self.state["users"]:
            # the cheap test first: at 10,000 users, filtering the XiVO's users for every create
            # cost the simulator more time than the portal's engine spent on the job
            if other["internalNumber"] != number and not (cti_login and other["ctiLogin"] == cti_login):
                continue
            if other is existing or other["entityId"] not in on_xivo:
                continue
            if other["internalNumber"] == number:
                raise BadInput(f"internalNumber: {number} is already used by user {other['id']}", 409)
            if cti_login and other["ctiLogin"] == cti_login:
                raise BadInput(f"ctiLogin: {cti_login} is already used by user {other['id']}", 409)
        external = payload.string(
            "externalNumber", required=False, allow_empty=True, pattern=PHONE_NUMBER, max_length=21
        )
        return {
            "entityId": entity["id"],
            "templateId": template["id"],
            "firstName": payload.string("firstName"),
            "lastName": payload.string("lastName", allow_empty=True),
            "internalNumber": number,
            "externalNumber": external or None,
            "mail": payload.string("mail", required=False, max_length=254),
            "ctiLogin": cti_login,
            "ctiPassword": cti_password,
        }
