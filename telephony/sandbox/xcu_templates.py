"""XCU line templates and administrators: `/api/1.0/templates` and `/api/1.0/administrators`."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import BadInput, json_response, read_json
from telephony.sandbox.xcu_records import XcuRecords, api_call
from telephony.sandbox.xcu_validation import (
    LOGIN,
    Payload,
    hash_password,
    read_template_fields,
)

TEMPLATE_FIELDS = {
    "name",
    "xivos",
    "entities",
    "peerSipName",
    "ringingTime",
    "routedInbound",
    "routedInboundPrefix",
    "callerIdMode",
    "customCallerId",
    "voiceMailEnabled",
    "voiceMailNumberMode",
    "voiceMailCustomNumber",
    "voiceMailSendEmail",
}
ADMIN_FIELDS = {"login", "name", "ldap", "password", "superAdmin", "entityIds"}


class TemplateAndAdministratorEndpoints(XcuRecords):
    """Templates (a bare array when listed) with their "compulsory if" rules; administrators whose
    passwords are only ever answered hashed."""

    @api_call()
    def template_list(self, request: Request) -> Response:
        return json_response([self._render_template(t) for t in self.state["templates"]])

    @api_call()
    def template_get(self, request: Request, template_id: int) -> Response:
        return json_response(self._render_template(self._template(template_id)))

    @api_call()
    def template_create(self, request: Request) -> Response:
        template = self._read_template(Payload(read_json(request), TEMPLATE_FIELDS), existing=None)
        template["id"] = self.next_id("templates")
        self.state["templates"].append(template)
        return json_response(self._render_template(template), status=201)

    @api_call()
    def template_edit(self, request: Request, template_id: int) -> Response:
        current = self._template(template_id)
        changes = self._read_template(Payload(read_json(request), TEMPLATE_FIELDS, path_id=template_id), current)
        current.clear()
        current.update(id=template_id, **changes)
        return json_response(self._render_template(current))

    @api_call()
    def template_delete(self, request: Request, template_id: int) -> Response:
        self.state["templates"].remove(self._template(template_id))
        return Response(status=204)

    def _read_template(self, payload: Payload, existing: dict[str, Any] | None) -> dict[str, Any]:
        fields = read_template_fields(payload)
        if any(t is not existing and t["name"] == fields["name"] for t in self.state["templates"]):
            raise BadInput(f"a template named {fields['name']!r} already exists", 409)
        fields["xivos"] = [self._xivo(i, status=400)["id"] for i in payload.array("xivos", int)]
        fields["entityIds"] = [self._entity(c, status=400)["id"] for c in payload.array("entities", str)]
        return fields

    # ------------------------------------------------------------------ administrators
    @api_call()
    def admin_list(self, request: Request) -> Response:
        return json_response({"items": [self._render_admin(a) for a in self.state["administrators"]]})

    @api_call()
    def admin_get(self, request: Request, admin_id: int) -> Response:
        return json_response(self._render_admin(self._admin(admin_id)))

    @api_call()
    def admin_create(self, request: Request) -> Response:
        admin = self._read_admin(Payload(read_json(request), ADMIN_FIELDS), existing=None)
        admin["id"] = self.next_id("administrators")
        self.state["administrators"].append(admin)
        return json_response(self._render_admin(admin), status=201)

    @api_call()
    def admin_edit(self, request: Request, admin_id: int) -> Response:
        current = self._admin(admin_id)
        changes = self._read_admin(Payload(read_json(request), ADMIN_FIELDS, path_id=admin_id), current)
        if current["superAdmin"] and not changes["superAdmin"] and self._super_admin_count() == 1:
            raise BadInput("superAdmin: the last super-administrator cannot be demoted")
        current.update(changes)
        return json_response(self._render_admin(current))

    @api_call()
    def admin_delete(self, request: Request, admin_id: int) -> Response:
        admin = self._admin(admin_id)
        if admin["superAdmin"] and self._super_admin_count() == 1:
            raise BadInput("the last super-administrator cannot be deleted")
        self.state["administrators"].remove(admin)
        while (live := self.sessions.find(lambda s: s.subject["adminId"] == admin_id)) is not None:
            self.sessions.revoke(live.token)
        return Response(status=204)

    def _read_admin(self, payload: Payload, existing: dict[str, Any] | None) -> dict[str, Any]:
        login = payload.string("login", pattern=LOGIN, max_length=64)
        if any(a is not existing and a["login"] == login for a in self.state["administrators"]):
            raise BadInput(f"an administrator with login {login!r} already exists", 409)
        ldap = payload.boolean("ldap", required=False, default=False)
        keeps_password = existing is not None and not existing["ldap"] and not ldap
        password = payload.string("password", required=not ldap and not keeps_password, max_length=128)
        if ldap:
            password_hash = ""
        elif password is not None:
            password_hash = hash_password(password)
        else:
            password_hash = existing["passwordHash"]
        return {
            "login": login,
            "name": payload.string("name", required=False, allow_empty=True, default=""),
            "passwordHash": password_hash,
            "ldap": ldap,
            "superAdmin": payload.boolean("superAdmin", required=False, default=False),
            "entityIds": [self._entity_by_id(i, status=400)["id"] for i in payload.array("entityIds", int)],
        }

    def _super_admin_count(self) -> int:
        return sum(1 for a in self.state["administrators"] if a["superAdmin"])
