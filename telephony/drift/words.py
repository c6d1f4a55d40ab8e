"""What a scan found, in words a customer reads too: field names as the portal's forms call them,
the portal's value and the PBX's, and never a vendor name or a backend id.

These words are stored (a finding's differences, a row's sync message), so they are records and
stay English whatever language the request or the worker runs in."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils import translation

from telephony.backends.compare import Difference
from telephony.drift.matching import VERIFIED, Outcome
from telephony.models import FindingKind, PbxUser, SyncState

# fields a driver compares that are not a user's model fields, or are called otherwise there
LABELS = {
    "entity": "entity",
    "external_numbers": "external numbers",
    "display_name": "name shown",
    "pilot_number": "pilot number",
}


# the state of a row an outcome is about
STATE_OF = {
    VERIFIED: SyncState.VERIFIED,
    FindingKind.DIFFERS: SyncState.DRIFTED,
    FindingKind.MISSING: SyncState.MISSING,
    FindingKind.DANGLING: SyncState.MISSING,
    FindingKind.DUPLICATE: SyncState.CONFLICT,
}


def label(field: str) -> str:
    if field in LABELS:
        return LABELS[field]
    try:
        verbose_name = PbxUser._meta.get_field(field).verbose_name
    except FieldDoesNotExist:
        return field.replace("_", " ")
    with translation.override("en"):  # a stored record: the model's label in English, not the request's language
        return str(verbose_name)


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value) if value not in ("", None) else "empty"


def describe(difference: Difference) -> dict[str, Any]:
    return {
        "field": difference.field,
        "label": label(difference.field),
        "portal": shown(difference.portal),
        "pbx": shown(difference.pbx),
    }


def outcome_message(outcome: Outcome) -> str:
    """The sync message of the row an outcome is about."""
    if outcome.kind == VERIFIED:
        return ""
    if outcome.kind == FindingKind.DIFFERS:
        parts = [f"{label(d.field)} is {shown(d.pbx)} (here: {shown(d.portal)})" for d in outcome.differences]
        return "On the phone system, " + "; ".join(parts) + "."
    if outcome.kind == FindingKind.MISSING:
        return "The phone system does not hold this any more."
    if outcome.kind == FindingKind.DANGLING:
        return "The phone system no longer holds the object the portal knew; one with the same name or number is there."
    return "Another entry of the portal points at the same object on the phone system."
