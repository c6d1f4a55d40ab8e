"""XCU users and their one external number (see `xcu` for the mapping): a user is found by the
portal's id for it, else by its internal number on the XiVO, and taken over only inside the entity
the portal expects and when no other row holds it. Documented-only, the user payload carries the
document's seven fields alone (no `mail`, no `externalNumber`)."""

from __future__ import annotations

from typing import Any

from telephony.backends.base import BackendRef, EntitySpec, TemplateSpec, TenantRef, UserSpec, UserState, backend_ref
from telephony.backends.errors import (
    AlreadyExistsError,
    ConflictError,
    NotFoundError,
    RejectedError,
    UnsupportedOperation,
)
from telephony.backends.xcu_mapping import USER_FIELD_EXTENSIONS, Record, user_state
from telephony.backends.xcu_session import XcuClient, entity_path


class XcuUserOperations:
    """Mixin of `XcuDriver`: users and numbers; XiVOs, entities and templates come from the driver."""

    client: XcuClient
    connection: Any

    def _xivo(self, tenant: TenantRef) -> Record:
        raise NotImplementedError

    def _find_entity(
        self, xivo: Record, spec: EntitySpec, tenant: TenantRef, *, adopting: bool = True
    ) -> Record | None:
        raise NotImplementedError

    def _require_entity(self, xivo: Record, spec: EntitySpec, tenant: TenantRef) -> Record:
        raise NotImplementedError

    def _template_id(self, spec: TemplateSpec, tenant: TenantRef) -> int:
        raise NotImplementedError

    def _owned(self, kind: str, found: Record | None, identity: BackendRef, tenant: TenantRef, adopting: bool):
        raise NotImplementedError

    # ------------------------------------------------------------------ users
    def find_user(self, tenant: TenantRef, spec: UserSpec) -> UserState | None:
        found = self._find_user(self._xivo(tenant), spec, tenant, adopting=False)
        return user_state(found) if found else None

    def create_user(self, tenant: TenantRef, spec: UserSpec) -> BackendRef:
        """Create, or adopt the user of the entity that already holds the number.

        XCU keeps internal numbers unique on a XiVO and answers a second create with 409, so the
        create is sent first and a conflict is resolved by looking in the user's own entity (a
        retry after a crash finds what the first attempt made). This spares listing the entity's
        users on every create. A number held outside the entity, or by a user another row
        claims, is a conflict: nothing is written.

        When the portal already holds the ids the create needs (the XiVO's, the entity's
        `combinedId` on it, the template's), the create is the one call the document requires.
        An answer that says one of them is stale (400, 404) leads to looking them all up again."""
        taken = False
        if spec.identity.get("xcu_id") is None and (known := self._payload_from_refs(tenant, spec)) is not None:
            try:
                return self._written("POST", "users", known)
            except AlreadyExistsError:
                taken = True  # the number is taken: adopt its user below, if it is provably this one
            except (RejectedError, NotFoundError):
                pass  # the entity or the template is not what the portal remembers: look them up
        xivo = self._xivo(tenant)
        payload = self._user_payload(xivo, spec, tenant)  # resolves the entity and template once
        if spec.identity.get("xcu_id") is None and not taken:
            try:
                return self._written("POST", "users", payload)
            except AlreadyExistsError:
                pass  # the number is taken: adopt its user below, if it is provably this one
        existing = self._find_user(xivo, spec, tenant, entity_cid=payload["entityCId"])
        if existing is None:
            try:
                return self._written("POST", "users", payload)
            except AlreadyExistsError:
                raise ConflictError(
                    f"internal number {spec.internal_number} is held on XiVO {xivo['name']} by a user outside "
                    f"entity {spec.entity.name}; nothing was changed"
                ) from None
        kept = self._keeping(payload, spec, existing)
        return self._written("PUT", f"users/{existing['id']}", kept)

    def _payload_from_refs(self, tenant: TenantRef, spec: UserSpec) -> Record | None:
        """The create's payload from the identities the portal learnt, without a look-up; None
        when one is missing. The entity is on the tenant's XiVO when its combinedId ends with the
        XiVO's uuid (backend-fidelity.md)."""
        uuid = tenant.server_identity.get("xcu_uuid", "")
        combined_id = spec.entity.identity.get("xcu_combined_id", "")
        template_id = spec.template.identity.get("xcu_id")
        if not uuid or template_id is None or not combined_id.endswith("@" + uuid):
            return None
        return self._fields(spec, combined_id, template_id, {})

    def _edit_from_refs(self, tenant: TenantRef, spec: UserSpec) -> Record | None:
        """An edit's payload without a look-up, when nothing in it has to come from the user as XCU
        holds it: the CTI login is the portal's username, and the external number is either the
        spec's or not sent at all (documented-only). None otherwise."""
        if spec.identity.get("xcu_id") is None or not spec.username:
            return None
        if not (self.connection.documented_only or spec.external_numbers):
            return None
        return self._payload_from_refs(tenant, spec)

    def _written(self, method: str, path: str, payload: Record) -> BackendRef:
        """Send a user write; its answer, where it holds the whole user, is what the PBX keeps."""
        answer = self.client.call(method, path, payload)
        whole = isinstance(answer.get("entity"), dict) and "internalNumber" in answer
        self.answered_with(user_state(answer) if whole else None)
        return backend_ref(xcu_id=answer["id"])

    def update_user(self, tenant: TenantRef, spec: UserSpec) -> BackendRef:
        """Edit the user the row holds. With its id and the ids a create needs (see `create_user`),
        the edit is the one PUT the document describes, sent to the id the portal learnt and
        claimed; an answer that says one of them is stale (400, 404) leads to looking them up."""
        if (known := self._edit_from_refs(tenant, spec)) is not None:
            try:
                return self._written("PUT", f"users/{spec.identity.get('xcu_id')}", known)
            except (RejectedError, NotFoundError):
                pass  # the user, its entity or its template is not what the portal remembers
        xivo = self._xivo(tenant)
        existing = self._find_user(xivo, spec, tenant)
        if existing is None:
            raise NotFoundError(f"no user with internal number {spec.internal_number} on XiVO {xivo['name']}")
        return self._update_found_user(xivo, existing, spec, tenant)

    def delete_user(self, tenant: TenantRef, spec: UserSpec) -> None:
        existing = self._find_user(self._xivo(tenant), spec, tenant, adopting=False)
        if existing is not None:
            self.client.delete_if_present(f"users/{existing['id']}")

    # ------------------------------------------------------------------ external numbers
    def assign_number(self, tenant: TenantRef, user: UserSpec, number: str) -> BackendRef:
        if self.connection.documented_only:
            raise UnsupportedOperation("the documented XCU API keeps no external number on a user")
        xivo = self._xivo(tenant)
        found = self._require_user(xivo, user, tenant)
        current = found.get("externalNumber")
        if current == number:
            return backend_ref(xcu_id=found["id"])
        if current:
            raise RejectedError(
                f"XCU keeps one external number per user: user {found['internalNumber']} already has {current}"
            )
        return self._set_external_number(xivo, found, user, number, tenant)

    def unassign_number(self, tenant: TenantRef, user: UserSpec, number: str) -> None:
        if self.connection.documented_only:
            return  # nothing was ever put there
        xivo = self._xivo(tenant)
        found = self._find_user(xivo, user, tenant, adopting=False)
        if found is not None and found.get("externalNumber") == number:
            self._set_external_number(xivo, found, user, None, tenant)

    def _find_user(
        self, xivo: Record, spec: UserSpec, tenant: TenantRef, *, adopting: bool = True, entity_cid: str = ""
    ) -> Record | None:
        if spec.identity.get("xcu_id") is not None:
            found = self.client.get_or_none(f"users/{spec.identity.get('xcu_id')}")
            if found is not None and found["entity"]["xivo"]["id"] == xivo["id"]:
                return found
        # by its number, inside the user's own entity only: a user of another entity is not ours
        if not entity_cid:
            entity = self._find_entity(xivo, spec.entity, tenant, adopting=adopting)
            if entity is None:
                return None
            entity_cid = entity["combinedId"]
        users = self.client.items(entity_path(entity_cid, "/users"))
        found = next((user for user in users if user["internalNumber"] == spec.internal_number), None)
        if found is None and spec.username:
            # An earlier attempt whose answer was lost made the user under the number it had then;
            # its CTI login (the portal username) still says whose it is.
            login = spec.username.lower()
            found = next((user for user in users if (user.get("ctiLogin") or "").lower() == login), None)
        identity = backend_ref(xcu_id=found["id"]) if found else backend_ref()
        return self._owned("user", found, identity, tenant, adopting)

    def _require_user(self, xivo: Record, spec: UserSpec, tenant: TenantRef) -> Record:
        found = self._find_user(xivo, spec, tenant)
        if found is None:
            raise NotFoundError(f"no user with internal number {spec.internal_number} on XiVO {xivo['name']}")
        return found

    # ------------------------------------------------------------------ user writes
    def _documented(self, payload: Record) -> Record:
        """The payload without the fields beyond the document, where the platform keeps to it."""
        if self.connection.documented_only:
            return {name: value for name, value in payload.items() if name not in USER_FIELD_EXTENSIONS}
        return payload

    def _user_payload(self, xivo: Record, spec: UserSpec, tenant: TenantRef, existing: Record | None = None) -> Record:
        entity_cid = self._require_entity(xivo, spec.entity, tenant)["combinedId"]
        return self._fields(spec, entity_cid, self._template_id(spec.template, tenant), existing or {})

    def _fields(self, spec: UserSpec, entity_cid: str, template_id: int, current: Record) -> Record:
        # Numbers are assigned and unassigned by their own jobs: a spec without external numbers
        # (or without a username) keeps what the user already has instead of clearing it.
        return self._documented(
            {
                "entityCId": entity_cid,
                "templateId": template_id,
                "firstName": spec.first_name,
                "lastName": spec.last_name,
                "internalNumber": spec.internal_number,
                "mail": spec.email or None,
                "ctiLogin": spec.username or current.get("ctiLogin"),
                "externalNumber": spec.external_numbers[0] if spec.external_numbers else current.get("externalNumber"),
            }
        )

    def _update_found_user(self, xivo: Record, existing: Record, spec: UserSpec, tenant: TenantRef) -> BackendRef:
        # always sent, even when nothing visible differs: the template is not in XCU's answer
        return self._written("PUT", f"users/{existing['id']}", self._user_payload(xivo, spec, tenant, existing))

    def _keeping(self, payload: Record, spec: UserSpec, existing: Record) -> Record:
        """A payload made without the user, for the user found: what the spec leaves out (no
        username, no external number) keeps what the user already has."""
        return self._documented(
            {
                **payload,
                "ctiLogin": spec.username or existing.get("ctiLogin"),
                "externalNumber": spec.external_numbers[0] if spec.external_numbers else existing.get("externalNumber"),
            }
        )

    def _set_external_number(
        self, xivo: Record, found: Record, spec: UserSpec, number: str | None, tenant: TenantRef
    ) -> BackendRef:
        # only the number changes: everything else is sent back as XCU holds it
        payload = {
            "entityCId": found["entity"]["combinedId"],
            "templateId": self._template_id(spec.template, tenant),
            "firstName": found["firstName"],
            "lastName": found["lastName"],
            "internalNumber": found["internalNumber"],
            "mail": found.get("mail"),
            "ctiLogin": found.get("ctiLogin"),
            "externalNumber": number,
        }
        return backend_ref(xcu_id=self.client.call("PUT", f"users/{found['id']}", payload)["id"])
