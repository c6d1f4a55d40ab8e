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

import contextlib
from collections.abc import Callable, Iterator
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
from telephony.backends.errors import NotFoundError, RejectedError, TransientError
from telephony.backends.prefetch import read_ahead
from telephony.backends.xelion_numbers import is_external
from telephony.backends.xelion_session import XelionSession
from telephony.backends.xelion_user_mapping import emails_of, member_oids, user_state
from telephony.backends.xelion_users import XelionUserOperations

JOINS_PER_CALL = 500  # members added by one PATCH of a group (a bulk create's users joining their entity)


class XelionTenantContent(XelionUserOperations):
    """Mixin: entities, templates, free numbers and read-back over `self._session(tenant)`."""

    def get_tenant(self, tenant: TenantRef) -> TenantInfo | None:
        raise NotImplementedError

    # entities
    def join_entities(self, tenant: TenantRef, members: list[tuple[BackendRef, BackendRef]]) -> int:
        """A bulk create's users join their entities' groups, one PATCH per group (in chunks of
        JOINS_PER_CALL), after one read of the groups with their members."""
        wanted: dict[str, list[str]] = {}
        for user, entity in members:
            if user.get("xelion_oid") and entity.get("xelion_oid"):
                wanted.setdefault(entity["xelion_oid"], []).append(user["xelion_oid"])
        if self._documented or not wanted:
            return 0
        session = self._session(tenant)
        groups = {g["oid"]: g for g in session.iterate("usergroups", limit=self._read_page, include=("members",))}
        joined = 0
        for group_oid, users in wanted.items():
            if group_oid not in groups:
                continue  # gone: the scan that follows finds the users' entity differs
            held = member_oids(groups[group_oid])
            missing = [oid for oid in dict.fromkeys(users) if oid not in held]
            for start in range(0, len(missing), JOINS_PER_CALL):
                joined += self._add_members(session, group_oid, missing[start : start + JOINS_PER_CALL])
        return joined

    def _add_members(self, session: XelionSession, group_oid: str, users: list[str]) -> int:
        """Add the users to the group in one PATCH. Xelion applies a PATCH whole or not at all: when
        it is refused (a user gone since its create, one that joined meanwhile), each is added
        alone, so that one user never keeps the others out; who still cannot join is left to the
        scan, which reports it."""
        add = [{"op": "add", "path": "/members/1", "value": oid} for oid in users]
        try:
            session.patch(f"usergroups/{group_oid}", add)
            return len(users)
        except (NotFoundError, RejectedError):
            if len(users) == 1:
                return 0
        joined = 0
        for operation in add:
            with contextlib.suppress(NotFoundError, RejectedError):
                session.patch(f"usergroups/{group_oid}", [operation])
                joined += 1
        return joined

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
        page = self._read_page
        groups = session.iterate(
            "usergroups", limit=page, include=("description",) if self._documented else ("description", "members")
        )
        entity_of_user: dict[str, str] = {}
        for group in groups:
            for user_oid in member_oids(group):
                entity_of_user.setdefault(user_oid, group["commonName"])
            yield EntitySpec(
                name=group["commonName"],
                display_name=group.get("description", ""),
                identity=backend_ref(xelion_oid=group["oid"]),
            )
        # a user's names and line are objects of their own, in lists of their own: the three lists
        # are walked side by side (up to `readers` calls in flight) and joined as they arrive
        ahead = self._read_ahead_count()
        persons = Joined(
            session.iterate(
                "addressables",
                limit=page,
                include=("givenName", "familyName", *(() if self._documented else ("addresses",))),
            ),
            compact_person,
            ahead=ahead >= 2,
            depth=page,
        )
        lines = Joined(
            session.iterate("phonelines", limit=page, include=("extensions", "externalNumber", "userPhoneLine")),
            compact_line,
            ahead=ahead >= 1,
            depth=page,
        )
        users = session.iterate("users", limit=page, include=("userName", "person", "primaryLine", "active"))
        owner: dict[str, str] = {}
        for user in read_ahead(users, depth=page) if ahead >= 3 else users:
            if self._documented and user.get("active") is False:
                continue  # documented-only, a deleted user is one switched off
            line = lines.take((user.get("primaryLine") or {}).get("oid", ""))
            person = persons.take((user.get("person") or {}).get("oid", ""))
            entity = None if self._documented else entity_of_user.get(user["oid"], "")  # membership unread
            state = user_state(user, line, person, entity)
            owner.update((number, state.username) for number in state.external_numbers)
            yield state
        del persons, lines, entity_of_user
        for trunk in session.iterate("trunks", limit=page, include=("assignedNumbers",)):
            for relation in trunk.get("assignedNumbers") or []:
                address = (relation.get("extension") or {}).get("address", "")
                if is_external(address) or address.isdigit():
                    yield NumberState(
                        number=address,
                        identity=backend_ref(xelion_oid=relation.get("oid", "")),
                        assigned_username=owner.get(address, ""),
                        is_pilot=bool(relation.get("useAsCallerId")),
                    )

    def _read_ahead_count(self) -> int:
        """How many of the users', lines' and persons' walks run on threads of their own: with three
        readers all (the caller only joins), with two one (the caller walks the others), else none."""
        readers = getattr(self, "readers", 1)
        return 3 if readers >= 3 else readers - 1


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


class Joined:
    """The objects of one list, taken by oid as a join asks for them: the list is read on until the
    one asked for arrives, and what arrives before it waits. A tenant's objects are made together
    (a user's Person and line just before the user), so the wait stays about a page long."""

    def __init__(self, items: Iterator[dict[str, Any]], compact: Callable, *, ahead: bool, depth: int):
        self.items = read_ahead(items, depth=depth) if ahead else items
        self.compact = compact
        self.waiting: dict[str, dict[str, Any]] = {}

    def take(self, oid: str) -> dict[str, Any] | None:
        if not oid:
            return None
        if oid in self.waiting:
            return self.waiting.pop(oid)
        for item in self.items:
            if item.get("oid") == oid:
                return self.compact(item)
            self.waiting[item.get("oid", "")] = self.compact(item)
        return None
