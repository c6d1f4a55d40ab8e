"""Users and their numbers on a Xelion tenant, shared by both Xelion drivers.

A portal user is three Xelion objects: a Person (`addressables`: given and family name, e-mail as
an Email address), a UserProfile (`users`: the natural key `userName`, display name, and the
template's `xccRole` and `userLicense`) and the user's primary phoneline, which Xelion creates with
the user. On that line:

- `extensions` hold the internal number and every external number routed to the user (a Xelion
  line answers the addresses in its extensions);
- `externalNumber` is the first external number (the caller id);
- `userPhoneLine.voicemailActive` is the user's or the template's voicemail;
- `userPhoneLine.redirection*` is call forwarding: "always" is an immediate redirection
  (timeout 0), "no answer" a redirection after `no_answer_timeout` seconds; "always" wins when
  both are set. Forwarding on busy has no field here and is not pushed.

External numbers are also assigned to the tenant's SIP trunk (`assignedNumbers`, the trunk with the
lowest oid unless the number is on one already), so a number is on the trunk exactly while a user
has it. A tenant without a trunk refuses numbers (RejectedError).

Creates adopt: a UserProfile with the same userName that no other portal row holds is taken over
and converged to the spec (one another row holds is a ConflictError: nothing is written); a
Person with the user's full name that no user is linked to (left by an interrupted create) is
reused, so a retry never makes a second Person. A 5xx on `POST users` is re-checked by userName
(Xelion answers 500/11000 for a duplicate as for any server error). Mobile number, e-mail
notification and voicemail PIN have no place in the provisioning API and are not pushed.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from typing import Any

from telephony.backends.base import BackendRef, ForwardingSpec, TenantRef, UserSpec, UserState, backend_ref
from telephony.backends.errors import BackendError, NotFoundError, RejectedError, TransientError
from telephony.backends.xelion_numbers import XelionNumberOperations, is_external
from telephony.backends.xelion_session import XelionSession
from telephony.backends.xelion_user_mapping import (
    display_name,
    emails_of,
    full_name,
    member_oids,
    redirection_for,
    user_state,
    wanted_addresses,
)

UNIQUE_SUFFIX = re.compile(r" \(\d+\)$")


class XelionUserOperations(XelionNumberOperations):
    """Mixin: users and numbers over `self._session(tenant)`; entities come from the other mixin.

    Documented-only (`connection.documented_only`), it uses none of the extensions listed in
    docs/backend-fidelity.md: no e-mail on the Person, the one external number as the line's
    `externalNumber` (not in its `extensions`), no usergroup members, no `where=` but `userName`
    (lists are read page by page and filtered here), and no DELETE: a deleted user is switched off
    (`active` false) and its line lets go of its numbers."""

    connection: Any

    def _session(self, tenant: TenantRef) -> XelionSession:
        raise NotImplementedError

    @property
    def _documented(self) -> bool:
        return bool(self.connection.documented_only)

    def _where(self, attribute: str, value: str) -> tuple[str, str] | None:
        """A `where=` filter, or None (read every page, filter here) for one the documents lack."""
        return (attribute, value) if attribute == "userName" or not self._documented else None

    def upsert_entity(self, tenant: TenantRef, spec: Any) -> BackendRef:
        raise NotImplementedError

    def expected_forwarding(self, spec: UserSpec) -> ForwardingSpec:
        # one redirection per line: "always" wins, and a no-answer delay is at least a second
        wanted = super().expected_forwarding(spec)  # type: ignore[misc]
        active, destination, timeout = redirection_for(wanted)
        if not active:
            return ForwardingSpec()
        if timeout == 0:
            return ForwardingSpec(always=destination)
        return ForwardingSpec(no_answer=destination, no_answer_timeout=timeout)

    # look-ups
    def _user_by_name(self, session: XelionSession, username: str) -> dict[str, Any] | None:
        for brief in session.iterate("users", where=("userName", username), include=("userName",)):
            if brief.get("userName", "").lower() == username.lower():
                return session.get_object(f"users/{brief['oid']}")
        return None

    def _locate_user(
        self, session: XelionSession, spec: UserSpec, tenant: TenantRef, *, adopting: bool = True
    ) -> dict[str, Any] | None:
        """The user by the oid the portal learnt, else by userName, taken over only when no other
        row holds it (ConflictError when adopting; None for a delete)."""
        if spec.identity.get("xelion_oid", ""):
            user = session.get_object(f"users/{spec.identity.get('xelion_oid', '')}")
            if user is not None:
                return user
        user = self._user_by_name(session, spec.username) if spec.username else None
        if user is None:
            return None
        identity = backend_ref(xelion_oid=user["oid"])
        if adopting:
            self.adopt("user", identity, tenant.name)
            return user
        return user if self.may_remove("user", identity, tenant.name) else None

    def _line_of(self, session: XelionSession, user: dict[str, Any]) -> dict[str, Any] | None:
        """The user's primary line, or else the first line the user is connected to."""
        if user.get("primaryLine"):
            return user["primaryLine"]
        for relation in user.get("lines") or []:
            line = session.get_object(f"phonelines/{relation['line']['oid']}")
            if line is not None:
                return line
        return None

    def _entity_of(self, session: XelionSession, user_oid: str) -> str:
        if self._documented:
            return ""  # membership is not read or written on the documented API
        for group in session.iterate("usergroups", include=("members",)):
            if user_oid in member_oids(group):
                return group.get("commonName", "")
        return ""

    # users
    def find_user(self, tenant: TenantRef, spec: UserSpec) -> UserState | None:
        session = self._session(tenant)
        user = self._locate_user(session, spec, tenant, adopting=False)
        if user is None or (self._documented and not user.get("active", True)):
            return None  # documented-only a deleted user is one switched off
        person = session.get_object(f"addressables/{user['person']['oid']}") if user.get("person") else None
        entity = None if self._documented else self._entity_of(session, user["oid"])
        return user_state(user, self._line_of(session, user), person, entity)

    def create_user(self, tenant: TenantRef, spec: UserSpec) -> BackendRef:
        """Look for the user (and a Person an earlier attempt left) only on a retry: a first try
        creates at once, and a userName the server already holds is adopted as a lookup would."""
        session = self._session(tenant)
        if not spec.username.strip():
            raise RejectedError("a Xelion user needs a userName")
        user = None if spec.first_try else self._locate_user(session, spec, tenant)
        if user is not None:
            return self._converge(session, tenant, spec, user)
        user, person = self._create_profile(session, spec, tenant)
        identity = self._converge(session, tenant, spec, user, person=person, fresh=person is not None)
        if person is not None and spec.first_try and not spec.read_later:
            self.answered_with(self._seen_made(session, user["oid"], person, spec))
        return identity

    def _seen_made(
        self, session: XelionSession, user_oid: str, person: dict[str, Any], spec: UserSpec
    ) -> UserState | None:
        """The user just made, read back in one call: the UserProfile with its primary line. Its
        Person is the create's answer when nothing had to be corrected on it; its group is left to
        the scans (None: not read)."""
        if self._person_operations(spec, person):
            return None  # corrected after its create: the full read-back reads it
        user = session.get_object(f"users/{user_oid}")
        if user is None:
            return None
        return user_state(user, self._line_of(session, user), person, None)

    def _create_profile(
        self, session: XelionSession, spec: UserSpec, tenant: TenantRef
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The new user and its Person as the server answered them; the Person is None when the
        user turned out to exist already and was adopted."""
        person = None if spec.first_try else self._orphan_person(session, spec)
        made_person = person is None
        if person is None:
            payload: dict[str, Any] = {
                "objectType": "Person",
                "givenName": spec.first_name.strip(),
                "familyName": spec.last_name.strip(),
                "commonName": full_name(spec),
            }
            if spec.email.strip() and not self._documented:
                payload["addresses"] = [{"address": spec.email.strip(), "addressType": "Email"}]
            person = session.create("addressables", payload)
        payload = {
            "userName": spec.username.strip(),
            "password": secrets.token_urlsafe(18),  # users sign in through cloud provisioning or a reset
            "active": True,
            "xccRole": spec.template.settings.get("role", "user"),
            "person": {"oid": person["oid"], "objectType": "Person"},
            "userLicense": spec.template.settings.get("user_licence", True),
            "commonName": display_name(spec),
            "objectType": "UserProfile",
        }
        try:
            return session.create("users", payload), person
        except TransientError as exc:
            if exc.status is not None and exc.status >= 500:
                adopted = self._user_by_name(session, spec.username)  # 500/11000 may mean "exists"
                if adopted is not None:
                    self.adopt("user", backend_ref(xelion_oid=adopted["oid"]), tenant.name)
                    if (adopted.get("person") or {}).get("oid") == person["oid"]:
                        return adopted, person  # made by this very call, its answer lost
                    if made_person and not self._documented:
                        session.delete(f"addressables/{person['oid']}")  # the adopted user has its own
                    return adopted, None
            raise
        except BackendError:
            if made_person and not self._documented:  # documented-only it stays, and a retry reuses it
                session.delete(f"addressables/{person['oid']}")  # leave nothing half-made behind
            raise

    def _orphan_person(self, session: XelionSession, spec: UserSpec) -> dict[str, Any] | None:
        name = full_name(spec)
        if not name:
            return None
        for person in session.iterate("addressables", where=self._where("commonName", name)):
            named = person.get("objectType") == "Person" and person.get("commonName") == name
            if named and not self._users_of_person(session, person["oid"]):
                return session.get_object(f"addressables/{person['oid']}")
        return None

    def _users_of_person(self, session: XelionSession, person_oid: str) -> list[dict[str, Any]]:
        where = self._where("person", person_oid)
        users = session.iterate("users", where=where, include=() if where else ("person",))
        return [user for user in users if where or (user.get("person") or {}).get("oid") == person_oid]

    def update_user(self, tenant: TenantRef, spec: UserSpec) -> BackendRef:
        session = self._session(tenant)
        user = self._locate_user(session, spec, tenant)
        if user is None:
            raise NotFoundError(f"user {spec.username} does not exist on tenant {tenant.name}")
        return self._converge(session, tenant, spec, user)

    def delete_user(self, tenant: TenantRef, spec: UserSpec) -> None:
        """Remove the user's numbers from the trunks, then the UserProfile, its phoneline and its
        Person. A delete replayed after a failure part-way finds the line and the Person by the
        oids the portal learnt, even once the UserProfile is gone."""
        session = self._session(tenant)
        user = self._locate_user(session, spec, tenant, adopting=False)
        if user is None and not spec.identity.get("xelion_oid", ""):
            return  # nothing here is known to be this user's
        line = self._line_of(session, user) if user is not None else None
        if line is None and spec.identity.get("xelion_phoneline_oid", ""):
            line = session.get_object(f"phonelines/{spec.identity.get('xelion_phoneline_oid', '')}")
        line = line or {}
        person_oid = (
            (user.get("person") or {}).get("oid", "")
            if user is not None
            else spec.identity.get("xelion_person_oid", "")
        )
        numbers = [ext["address"] for ext in line.get("extensions") or [] if is_external(ext.get("address", ""))]
        if is_external(line.get("externalNumber") or ""):
            numbers.append(line["externalNumber"])
        trunks = session.all("trunks", include=("assignedNumbers",))
        for number in dict.fromkeys([*numbers, *spec.external_numbers]):
            self._remove_from_trunks(session, trunks, number)
        if self._documented:
            self._switch_off(session, user, line)
            return
        if user is not None:
            session.delete(f"users/{user['oid']}")
        if line.get("oid"):
            session.delete(f"phonelines/{line['oid']}")
        if person_oid:
            session.delete(f"addressables/{person_oid}")

    def _switch_off(self, session: XelionSession, user: dict[str, Any] | None, line: dict[str, Any]) -> None:
        """What a delete is without DELETE: the user cannot log in, and its line answers no number,
        so that both can be given to someone else."""
        if user is not None and user.get("active", True):
            session.patch(f"users/{user['oid']}", [{"op": "replace", "path": "/active", "value": False}])
        if line.get("oid"):
            ops = [{"op": "remove", "path": f"/extensions/{e['oid']}"} for e in line.get("extensions") or []]
            if line.get("externalNumber"):
                ops.append({"op": "replace", "path": "/externalNumber", "value": ""})
            with contextlib.suppress(NotFoundError):
                session.patch(f"phonelines/{line['oid']}", ops)

    # convergence: make the three objects say what the spec says, with as few PATCHes as needed
    def _converge(
        self,
        session: XelionSession,
        tenant: TenantRef,
        spec: UserSpec,
        user: dict[str, Any],
        *,
        person: dict[str, Any] | None = None,
        fresh: bool = False,
    ) -> BackendRef:
        """`person`: the user's Person as its create answered it (not read again); `fresh`: the user
        was made just now, so it is in no group and its line holds nothing yet."""
        person_oid = (user.get("person") or {}).get("oid", "")
        if person is None and person_oid:
            person = session.get_object(f"addressables/{person_oid}")
        if person is not None:
            session.patch(f"addressables/{person_oid}", self._person_operations(spec, person))
        wanted = {
            "userName": spec.username.strip(),
            "commonName": display_name(spec),
            "xccRole": spec.template.settings.get("role", "user"),
            "userLicense": spec.template.settings.get("user_licence", True),
            "active": True,
        }
        ops = [{"op": "replace", "path": f"/{k}", "value": v} for k, v in wanted.items() if user.get(k) != v]
        session.patch(f"users/{user['oid']}", ops)
        line = self._line_of(session, user)
        if not line:
            created = session.create("phonelines", {"commonName": display_name(spec), "objectType": "XCCPhoneLine"})
            line = session.get_object(f"phonelines/{created['oid']}") or created
        removed = [
            e["address"]
            for e in line.get("extensions") or []
            if is_external(e["address"]) and e["address"] not in spec.external_numbers
        ]
        # the trunks are read only when a number goes onto one or comes off one
        trunks = session.all("trunks", include=("assignedNumbers",)) if spec.external_numbers or removed else []
        for number in spec.external_numbers:
            self._ensure_on_trunk(session, trunks, number.strip())
        session.patch(f"phonelines/{line['oid']}", self._line_operations(spec, user["oid"], line))
        for number in removed:
            self._remove_from_trunks(session, trunks, number)
        if not self._documented and not (fresh and (spec.read_later or self._join_group(session, spec, user["oid"]))):
            self._converge_membership(session, tenant, spec, user["oid"])
        return backend_ref(xelion_oid=user["oid"], xelion_person_oid=person_oid, xelion_phoneline_oid=line["oid"])

    def _join_group(self, session: XelionSession, spec: UserSpec, user_oid: str) -> bool:
        """A user made just now joins its entity's group by the oid the portal learnt, in one call
        (it is in no other group to leave); False when that is not possible (no such oid, or the
        group is gone): the full convergence looks the groups up."""
        group_oid = spec.entity.identity.get("xelion_oid", "") if spec.entity is not None else ""
        if not group_oid or not spec.entity.name.strip():
            return False
        try:
            session.patch(f"usergroups/{group_oid}", [{"op": "add", "path": "/members/1", "value": user_oid}])
        except NotFoundError:
            return False
        return True

    def _person_operations(self, spec: UserSpec, person: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = {
            "givenName": spec.first_name.strip(),
            "familyName": spec.last_name.strip(),
            "commonName": full_name(spec),
        }
        ops = [{"op": "replace", "path": f"/{k}", "value": v} for k, v in wanted.items() if person.get(k) != v]
        if self._documented:
            return ops  # the e-mail is a Person address, which the documents do not show
        email = spec.email.strip()
        current = emails_of(person)
        ops += [{"op": "remove", "path": f"/addresses/{a['oid']}"} for a in current if a["address"] != email]
        if email and all(a["address"] != email for a in current):
            ops.append({"op": "add", "path": "/addresses/1", "value": {"address": email, "addressType": "Email"}})
        return ops

    def _line_operations(self, spec: UserSpec, user_oid: str, line: dict[str, Any]) -> list[dict[str, Any]]:
        addresses = wanted_addresses(spec, with_external=not self._documented)
        current = {e["address"]: e["oid"] for e in line.get("extensions") or []}
        ops = [
            {"op": "remove", "path": f"/extensions/{oid}"}
            for address, oid in current.items()
            if address not in addresses
        ]
        missing = [a for a in addresses if a not in current]
        ops += [{"op": "add", "path": f"/extensions/{i}", "value": a} for i, a in enumerate(missing, start=1)]
        if user_oid not in {(rel.get("user") or {}).get("oid") for rel in line.get("users") or []}:
            ops.append({"op": "add", "path": "/users/1", "value": user_oid})
        name = display_name(spec)
        if UNIQUE_SUFFIX.sub("", line.get("commonName", "")) != name:
            ops.append({"op": "replace", "path": "/commonName", "value": name})
        external = next((n.strip() for n in spec.external_numbers if n.strip()), "")
        for attribute, value in (("callerName", name), ("externalNumber", external)):
            if line.get(attribute) != value:
                ops.append({"op": "replace", "path": f"/{attribute}", "value": value})
        active, destination, timeout = redirection_for(spec.forwarding)
        upl = line.get("userPhoneLine") or {}
        for attribute, value in (
            ("voicemailActive", spec.voicemail_enabled or spec.template.voicemail_enabled),
            ("redirectionActive", active),
            ("redirection", destination),
            ("redirectionTimeout", timeout),
        ):
            if upl.get(attribute) != value:
                ops.append({"op": "replace", "path": f"/userPhoneLine/{attribute}", "value": value})
        return ops

    def _converge_membership(self, session: XelionSession, tenant: TenantRef, spec: UserSpec, user_oid: str) -> None:
        groups = session.all("usergroups", include=("members",))
        entity = spec.entity
        target = None
        if entity is not None and entity.name.strip():
            target = next((g for g in groups if g["oid"] == entity.identity.get("xelion_oid", "")), None)
            if target is None:
                target = next(
                    (g for g in groups if g.get("commonName", "").lower() == entity.name.strip().lower()), None
                )
                if target is not None:  # found by its name: the user's entity's only if no other row holds it
                    self.adopt("entity", backend_ref(xelion_oid=target["oid"]), tenant.name)
            if target is None:
                target = {"oid": self.upsert_entity(tenant, entity).get("xelion_oid", ""), "members": []}
                groups.append(target)
        for group in groups:
            relation = member_oids(group).get(user_oid)
            if group is target and relation is None:
                session.patch(f"usergroups/{group['oid']}", [{"op": "add", "path": "/members/1", "value": user_oid}])
            elif group is not target and relation is not None:
                session.patch(f"usergroups/{group['oid']}", [{"op": "remove", "path": f"/members/{relation}"}])
