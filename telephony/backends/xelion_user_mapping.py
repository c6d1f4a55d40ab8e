"""How a Xelion user (its UserProfile, Person and phoneline) reads in portal terms, and the names and
addresses the driver writes (see `xelion_users` for the calls)."""

from __future__ import annotations

from typing import Any

from telephony.backends.base import ForwardingSpec, UserSpec, UserState, backend_ref
from telephony.backends.xelion_numbers import is_external


def full_name(spec: UserSpec) -> str:
    return " ".join(part for part in (spec.first_name.strip(), spec.last_name.strip()) if part)


def display_name(spec: UserSpec) -> str:
    return spec.display_name.strip() or full_name(spec)


def wanted_addresses(spec: UserSpec, *, with_external: bool = True) -> list[str]:
    """The addresses the user's line answers: its internal number, and (where the platform may put
    them there) its external numbers."""
    addresses = [spec.internal_number.strip()] + ([n.strip() for n in spec.external_numbers] if with_external else [])
    return list(dict.fromkeys(a for a in addresses if a))


def redirection_for(forwarding: ForwardingSpec) -> tuple[bool, str, int]:
    if forwarding.always:
        return True, forwarding.always, 0
    if forwarding.no_answer:
        return True, forwarding.no_answer, max(1, forwarding.no_answer_timeout)
    return False, "", 0


def forwarding_from(user_phone_line: dict[str, Any]) -> ForwardingSpec:
    if not user_phone_line.get("redirectionActive") or not user_phone_line.get("redirection"):
        return ForwardingSpec()
    timeout = int(user_phone_line.get("redirectionTimeout") or 0)
    if timeout <= 0:
        return ForwardingSpec(always=user_phone_line["redirection"])
    return ForwardingSpec(no_answer=user_phone_line["redirection"], no_answer_timeout=timeout)


def emails_of(person: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in person.get("addresses") or [] if a.get("addressType") == "Email"]


def member_oids(group: dict[str, Any]) -> dict[str, str]:
    """user oid -> membership relation oid."""
    return {(m.get("user") or {}).get("oid"): m.get("oid") for m in group.get("members") or []}


def user_state(
    user: dict[str, Any], line: dict[str, Any] | None, person: dict[str, Any] | None, entity_name: str | None
) -> UserState:
    """A user in portal terms from its UserProfile, its phoneline and its Person."""
    line = line or {}
    addresses = [ext.get("address", "") for ext in line.get("extensions") or []]
    internal = next((a for a in addresses if a and not is_external(a)), "")
    if is_external(line.get("externalNumber") or "") and line["externalNumber"] not in addresses:
        addresses.append(line["externalNumber"])  # documented-only, the one external number is here
    upl = line.get("userPhoneLine") or {}
    person = person or {}
    emails = emails_of(person)
    return UserState(
        username=user.get("userName", ""),
        first_name=person.get("givenName", ""),
        last_name=person.get("familyName", ""),
        internal_number=internal,
        identity=backend_ref(
            xelion_oid=user.get("oid", ""),
            xelion_person_oid=(user.get("person") or {}).get("oid", ""),
            xelion_phoneline_oid=line.get("oid", ""),
        ),
        email=emails[0]["address"] if emails else "",
        entity_name=entity_name,
        voicemail_enabled=bool(upl.get("voicemailActive")) if upl else None,
        forwarding=forwarding_from(upl) if upl else None,
        external_numbers=[a for a in addresses if is_external(a)],
    )
