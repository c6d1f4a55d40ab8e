"""What lives inside a Xelion tenant, in portal terms — shared by both Xelion drivers.

- entity -> a department: a `usergroups` object (`commonName` = the entity's name, the natural key;
  `description` = its display name) whose members are the entity's users. Xelion has no number
  plan per department, so an entity's intervals and presented number stay in the portal.
- template -> nothing is stored: its Xelion values (setting `role` -> `xccRole`,
  `user_licence` -> `userLicense`, voicemail -> `userPhoneLine.voicemailActive`) are
  applied to each user that uses it (see `xelion_users`).
- `fetch_state` reads everything back through the paged lists (departments, users with their
  primary lines, persons, trunk numbers) and answers in portal terms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from telephony.backends.base import (
    BackendRef,
    EntitySpec,
    NumberState,
    ReadBack,
    TemplateSpec,
    TenantInfo,
    TenantRef,
    backend_ref,
)
from telephony.backends.errors import NotFoundError, TransientError
from telephony.backends.xelion_session import XelionSession
from telephony.backends.xelion_users import (
    XelionUserOperations,
    emails_of,
    is_external,
    member_oids,
    user_state,
)


class XelionTenantContent(XelionUserOperations):
    """Mixin: entities, templates, free numbers and read-back over `self._session(tenant)`."""

    def get_tenant(self, tenant: TenantRef) -> TenantInfo | None:
        raise NotImplementedError

    # entities
    def _find_group(
        self, session: XelionSession, spec: EntitySpec, tenant: TenantRef, *, adopting: bool = True
    ) -> dict[str, Any] | None:
        """The entity's usergroup: by the oid the portal learnt, else by its name, taken over only
        when no other row holds it (ConflictError when adopting; None for a delete)."""
        if spec.identity.get("xelion_oid", ""):
            group = session.get_object(f"usergroups/{spec.identity.get('xelion_oid', '')}")
            if group is not None:
                return group
        where = self._where("commonName", spec.name.strip())
        for group in session.iterate("usergroups", where=where, include=("description",)):
            if group.get("commonName", "").lower() == spec.name.strip().lower():
                identity = backend_ref(xelion_oid=group["oid"])
                if adopting:
                    self.adopt("entity", identity, tenant.name)
                    return group
                return group if self.may_remove("entity", identity, tenant.name) else None
        return None

    def upsert_entity(self, tenant: TenantRef, spec: EntitySpec) -> BackendRef:
        session = self._session(tenant)
        description = spec.display_name.strip() or spec.name.strip()
        group = self._find_group(session, spec, tenant)
        if group is None:
            payload = {"commonName": spec.name.strip(), "description": description, "objectType": "UserGroup"}
            try:
                group = session.create("usergroups", payload)
            except TransientError as exc:
                # Xelion answers a duplicate name with 500/11000, like any server error
                group = self._find_group(session, spec, tenant) if exc.status and exc.status >= 500 else None
                if group is None:
                    raise
        ops = [
            {"op": "replace", "path": f"/{k}", "value": v}
            for k, v in (("commonName", spec.name.strip()), ("description", description))
            if group.get(k) != v
        ]
        session.patch(f"usergroups/{group['oid']}", ops)
        return backend_ref(xelion_oid=group["oid"])

    def delete_entity(self, tenant: TenantRef, spec: EntitySpec) -> None:
        if self._documented:
            return  # without DELETE the group stays; users leave it as they are switched off
        session = self._session(tenant)
        group = self._find_group(session, spec, tenant, adopting=False)
        if group is not None:
            session.delete(f"usergroups/{group['oid']}")

    # templates live in the portal only
    def upsert_template(self, tenant: TenantRef, spec: TemplateSpec) -> BackendRef:
        return backend_ref()

    def delete_template(self, tenant: TenantRef, spec: TemplateSpec) -> None:
        return None

    # read-back
    @property
    def _read_page(self) -> int:
        return self.page_size or self.read_page_size

    def read_tenant(self, tenant: TenantRef) -> Iterator[ReadBack]:
        found = None if self._documented else self.get_tenant(tenant)  # no documented look-up of a tenant
        if found is None and not self._documented:
            raise NotFoundError(f"tenant {tenant.name} is not on this platform")
        session = self._session(tenant)
        yield found or TenantInfo(name=tenant.name, identity=tenant.identity)
        # a user's names and line are objects of their own: the four lists are walked at once (as
        # many at a time as the read may have calls in flight), keeping only the fields read
        page = self._read_page
        walks = {
            "groups": lambda: list(
                session.iterate(
                    "usergroups",
                    limit=page,
                    include=("description",) if self._documented else ("description", "members"),
                )
            ),
            "persons": lambda: {
                p["oid"]: compact_person(p)
                for p in session.iterate(
                    "addressables",
                    limit=page,
                    include=("givenName", "familyName", *(() if self._documented else ("addresses",))),
                )
            },
            "lines": lambda: {
                line["oid"]: compact_line(line)
                for line in session.iterate(
                    "phonelines", limit=page, include=("extensions", "externalNumber", "userPhoneLine")
                )
            },
            "users": lambda: [
                compact_user(user)
                for user in session.iterate(
                    "users", limit=page, include=("userName", "person", "primaryLine", "active")
                )
            ],
            "numbers": lambda: [
                (
                    (relation.get("extension") or {}).get("address", ""),
                    relation.get("oid", ""),
                    bool(relation.get("useAsCallerId")),
                )
                for trunk in session.iterate("trunks", limit=page, include=("assignedNumbers",))
                for relation in trunk.get("assignedNumbers") or []
            ],
        }
        read = walk_at_once(walks, self.readers)
        groups, persons, lines = read.pop("groups"), read.pop("persons"), read.pop("lines")
        entity_of_user: dict[str, str] = {}
        for group in groups:
            for user_oid in member_oids(group):
                entity_of_user.setdefault(user_oid, group["commonName"])
            yield EntitySpec(
                name=group["commonName"],
                display_name=group.get("description", ""),
                identity=backend_ref(xelion_oid=group["oid"]),
            )
        owner: dict[str, str] = {}
        for user in read.pop("users"):
            if self._documented and user.get("active") is False:
                continue  # documented-only, a deleted user is one switched off
            line = lines.pop((user.get("primaryLine") or {}).get("oid", ""), None)
            person = persons.pop((user.get("person") or {}).get("oid", ""), None)
            entity = None if self._documented else entity_of_user.get(user["oid"], "")  # membership unread
            state = user_state(user, line, person, entity)
            owner.update((number, state.username) for number in state.external_numbers)
            yield state
        del persons, lines, entity_of_user
        for address, oid, pilot in read.pop("numbers"):
            if is_external(address) or address.isdigit():
                yield NumberState(
                    number=address,
                    identity=backend_ref(xelion_oid=oid),
                    assigned_username=owner.get(address, ""),
                    is_pilot=pilot,
                )


def compact_person(person: dict[str, Any]) -> dict[str, Any]:
    """What `user_state` reads of a Person (the rest of it waits for its user in memory otherwise)."""
    return {
        "givenName": person.get("givenName", ""),
        "familyName": person.get("familyName", ""),
        "addresses": emails_of(person)[:1],
    }


def compact_line(line: dict[str, Any]) -> dict[str, Any]:
    """What `user_state` reads of a phone line."""
    upl = line.get("userPhoneLine") or {}
    return {
        "oid": line.get("oid", ""),
        "extensions": [{"address": ext.get("address", "")} for ext in line.get("extensions") or []],
        "externalNumber": line.get("externalNumber"),
        "userPhoneLine": {k: upl.get(k) for k in USER_LINE_FIELDS} if upl else {},
    }


USER_LINE_FIELDS = ("voicemailActive", "redirectionActive", "redirection", "redirectionTimeout")


def compact_user(user: dict[str, Any]) -> dict[str, Any]:
    """What `user_state` and the join read of a UserProfile."""
    return {
        "oid": user.get("oid", ""),
        "userName": user.get("userName", ""),
        "active": user.get("active"),
        "person": {"oid": (user.get("person") or {}).get("oid", "")},
        "primaryLine": {"oid": (user.get("primaryLine") or {}).get("oid", "")},
    }


def walk_at_once(walks: dict[str, Callable[[], Any]], readers: int) -> dict[str, Any]:
    """Each walk's result, with up to `readers` of them running at once (one: one after another)."""
    if readers <= 1:
        return {name: walk() for name, walk in walks.items()}
    with ThreadPoolExecutor(max_workers=min(readers, len(walks)), thread_name_prefix="xelion-read") as pool:
        futures = {name: pool.submit(walk) for name, walk in walks.items()}
        return {name: future.result() for name, future in futures.items()}
