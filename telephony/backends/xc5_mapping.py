"""Portal terms ↔ XC5-XS records for `Xc5Driver`: numbers with and without "+", destinations,
the account fields a user spec asks for, and users and numbers read back in portal terms.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from typing import Any

from telephony.backends.base import ForwardingSpec, NumberState, UserSpec, UserState, backend_ref
from telephony.backends.errors import RejectedError

ENVIRONMENT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", re.IGNORECASE)
EXTENSION_ORDER = -2  # the seed's standard order for extension-dialling callrules
FORWARD_ALWAYS_ORDER = -10  # before the account rings (order 0), after the seed's recording rules at -12


def to_xc5_number(number: str) -> str:
    """XC5 stores E.164 digits without the "+" the portal writes."""
    return number.strip().removeprefix("+")


def from_xc5_number(number: str) -> str:
    return "+" + number.removeprefix("a:")


def to_xc5_destination(destination: str) -> str:
    """E.164 loses its "+"; a short all-digit number is an extension, written ":608" as in the seed."""
    destination = destination.strip()
    if destination.startswith("+"):
        return destination[1:]
    if destination.isdigit() and len(destination) <= 6:
        return ":" + destination
    return destination


def from_xc5_destination(destination: str) -> str:
    if destination.startswith(":") and destination[1:].isdigit():
        return destination[1:]
    if destination.isdigit() and len(destination) > 6:
        return "+" + destination
    return destination


def is_extension_rule(rule: dict[str, Any]) -> bool:
    """An extension-dialling callrule as the driver writes them (and as the seed standardises them)."""
    return (
        rule.get("order") == EXTENSION_ORDER
        and not rule.get("early_rule")
        and bool(rule.get("username"))
        and str(rule.get("destination", "")).startswith(":")
    )


def is_environment(record: dict[str, Any]) -> bool:
    """A virtual environment: a root account named like a domain, not infrastructure (`_…`)."""
    name = str(record.get("username", ""))
    return not record.get("parent") and not name.startswith("_") and bool(ENVIRONMENT_NAME.match(name))


def local_part(account_name: str, environment_name: str) -> str:
    suffix = "@" + environment_name.lower()
    return account_name[: -len(suffix)] if account_name.lower().endswith(suffix) else account_name


def is_forward_always(route: dict[str, Any]) -> bool:
    return route.get("order") == FORWARD_ALWAYS_ORDER and not route.get("menu_level")


def account_fields(spec: UserSpec, existing: dict[str, Any] | None, *, documented_only: bool = False) -> dict[str, Any]:
    """The account fields a user spec and its template ask for (`existing`: the account as it is);
    `documented_only`: only those the seed shows on ordinary accounts."""
    if documented_only:
        return {"cfna_duration": spec.template.settings.get("cfna_duration", 20)}
    display = spec.display_name or " ".join(part for part in (spec.first_name, spec.last_name) if part)
    # XC5's no-answer forward also applies when busy: one destination serves both
    no_answer = spec.forwarding.no_answer or spec.forwarding.busy
    fields: dict[str, Any] = {
        "description": display,
        "concurrent_limit": spec.template.settings.get("concurrent_limit", 2),
        "cfna_duration": spec.forwarding.no_answer_timeout
        if no_answer
        else spec.template.settings.get("cfna_duration", 20),
        "cfna_dest": to_xc5_destination(no_answer) if no_answer else "",
        "cfna_active": bool(no_answer),
    }
    has_mailbox = bool(existing and existing.get("mailbox"))
    if spec.voicemail_enabled or spec.template.voicemail_enabled:
        if spec.voicemail_pin:
            fields["ums_pin"] = spec.voicemail_pin
        elif not has_mailbox:
            # a mailbox needs a PIN; the user sets their own later, so an existing one is kept
            fields["ums_pin"] = "".join(secrets.choice("0123456789") for _ in range(6))
    elif has_mailbox:
        fields["ums_pin"] = None
    return fields


# Account fields the seed shows only on HydraAccount lines or not at all (docs/backend-fidelity.md).
ACCOUNT_FIELD_EXTENSIONS = frozenset({"description", "ums_pin", "cfna_dest", "cfna_active", "concurrent_limit"})


def extension_numbers(rules: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Account name (lower case) → its extension, from an environment's callrules (the first rule
    of an account counts), so that each account's look-up is one step however many there are."""
    numbers: dict[str, str] = {}
    for rule in rules:
        if is_extension_rule(rule):
            numbers.setdefault(str(rule["username"]).lower(), rule["prefix_raw"])
    return numbers


def user_state(record: dict[str, Any], extensions: dict[str, str], environment_name: str) -> UserState:
    """A dumped account (`dump-config`) in portal terms, with its extension from the environment's
    callrules (`extension_numbers`)."""
    name = record["username"]
    internal = extensions.get(name.lower(), "")
    first, _, last = str(record.get("description", "")).partition(" ")
    always = next((route for route in record.get("routes", []) if is_forward_always(route)), None)
    forwarding = ForwardingSpec(
        always=from_xc5_destination(always["destination"]) if always else "",
        no_answer=from_xc5_destination(record.get("cfna_dest", "")) if record.get("cfna_active") else "",
        no_answer_timeout=record.get("cfna_duration", 20),
    )
    return UserState(
        username=local_part(name, environment_name),
        first_name=first,
        last_name=last,
        internal_number=internal,
        identity=backend_ref(xc5_guid=record["guid"], xc5_name=name),
        voicemail_enabled=bool(record.get("mailbox")),
        forwarding=forwarding,
        external_numbers=[from_xc5_number(item["number"]) for item in record.get("numbers", [])],
        pilot_number=next(
            (from_xc5_number(item["number"]) for item in record.get("numbers", []) if item.get("is-pilot")), ""
        ),
    )


def check_pilot(record: dict[str, Any], pilot: bool, account: str) -> None:
    """The flag read back from XC5's answer (a write answers the whole record) is the one written."""
    if bool(record.get("is-pilot")) != pilot:
        raise RejectedError(
            f"XC5 holds {record.get('number')} on {account} with is-pilot {bool(record.get('is-pilot'))}, "
            f"though the portal wrote {pilot}"
        )


def number_state(item: dict[str, Any], assigned: str) -> NumberState:
    return NumberState(
        number=from_xc5_number(item["number"]),
        identity=backend_ref(xc5_guid=item["guid"], xc5_name=item["number"]),
        assigned_username=assigned,
        is_pilot=bool(item.get("is-pilot")),
    )
