"""Payload checks of the XCU simulator: strict field-by-field reading of JSON bodies, number
intervals, line-template rules and administrator password hashes.

Kept apart from `xcu.py` so that the endpoint code reads as the API document does, and so the
rules that decide a 400 are in one place. Every refusal is a `BadInput` whose message names the
offending field, which the simulator sends back as `{"error": "<message>"}`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Any

from telephony.sandbox.base import BadInput

NEW_INTERVAL_BOUND = re.compile(r"^\d{1,6}$")  # backend-api-facts: interval start/end are 1–6 digits
DIGITS = re.compile(r"^\d+$")
PHONE_NUMBER = re.compile(r"^\+?\d{2,20}$")
DIAL_STRING = re.compile(r"^[0-9*#+]{1,20}$")
ENTITY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # no "@" nor "/": the name is part of combinedId and URLs
HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
LOGIN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

PEER_SIP_NAMES = ("auto", "model")
CALLER_ID_MODES = ("incomingNo", "anonymous", "custom")
VOICEMAIL_NUMBER_MODES = ("short_number", "custom")
PRESENTED_NUMBER_DEFAULT = "inbNo"
AVAILABLE_NUMBERS_CAP = 1000  # a 6-digit interval would otherwise answer a million numbers

_MISSING = object()
# what the server makes: the document's answers show them, no create or edit lists them
SERVER_FIELDS = frozenset({"id", "uuid", "combinedId", "provisioningNumber", "remainingSlots", "xivo", "entity"})


class Payload:
    """A JSON object body read field by field.

    Unknown fields are refused (a misspelt optional field must not be silently ignored), and so
    are the fields the server makes (ids, `provisioningNumber` …), named as read-only; an `id`
    equal to the addressed object is tolerated so that a client may send back what it read.
    """

    def __init__(self, data: Any, allowed: set[str], *, path_id: int | None = None):
        if not isinstance(data, dict):
            raise BadInput("payload must be a JSON object")
        extra = set(data) - allowed
        if "id" in extra and path_id is not None and data["id"] == path_id:
            extra.discard("id")
        if extra & SERVER_FIELDS:
            raise BadInput(f"read-only field(s): {', '.join(sorted(extra & SERVER_FIELDS))}")
        if extra:
            raise BadInput(f"unknown field(s): {', '.join(sorted(extra))}")
        self.data = data

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise BadInput(f"{name}: field is required")
            return _MISSING
        return value

    def value(self, name: str, *, required: bool = True) -> Any:
        """The raw value, for shapes the typed readers below do not cover."""
        value = self._get(name, required)
        return None if value is _MISSING else value

    def string(
        self,
        name: str,
        *,
        required: bool = True,
        pattern: re.Pattern | None = None,
        allow_empty: bool = False,
        max_length: int = 128,
        default: str | None = None,
    ) -> str | None:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            raise BadInput(f"{name}: must be a string")
        if not value.strip() and not allow_empty:
            raise BadInput(f"{name}: must not be empty")
        if len(value) > max_length:
            raise BadInput(f"{name}: at most {max_length} characters")
        if value and pattern is not None and not pattern.match(value):
            raise BadInput(f"{name}: invalid value {value!r}")
        return value

    def integer(
        self, name: str, *, required: bool = True, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadInput(f"{name}: must be an integer")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise BadInput(f"{name}: must be between {minimum} and {maximum}")
        return value

    def boolean(self, name: str, *, required: bool = True, default: bool | None = None) -> bool | None:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise BadInput(f"{name}: must be true or false")
        return value

    def choice(
        self, name: str, choices: tuple[str, ...], *, required: bool = True, default: str | None = None
    ) -> str | None:
        value = self._get(name, required)
        if value is _MISSING:
            return default
        if value not in choices:
            raise BadInput(f"{name}: must be one of {', '.join(choices)}")
        return value

    def array(self, name: str, item_type: type, *, required: bool = False) -> list:
        value = self._get(name, required)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            raise BadInput(f"{name}: must be an array")
        for item in value:
            if not isinstance(item, item_type) or isinstance(item, bool):
                raise BadInput(f"{name}: every item must be a{'n integer' if item_type is int else ' string'}")
        if len(set(value)) != len(value):
            raise BadInput(f"{name}: duplicate items")
        return value


def read_intervals(payload: Payload, already_stored: list[dict[str, str]]) -> list[dict[str, str]]:
    """The entity's intervals, each `{"start", "end"}` with `end` "" for a single number.

    New intervals follow the documented 1–6 digit rule; an interval that the entity already has is
    kept as it is (the seed's `default_analogique` has 7- and 8-digit ones)."""
    raw = payload.value("intervals")
    if not isinstance(raw, list):
        raise BadInput("intervals: must be an array")
    intervals: list[dict[str, str]] = []
    for position, item in enumerate(raw):
        where = f"intervals[{position}]"
        if not isinstance(item, dict) or set(item) - {"start", "end"} or "start" not in item:
            raise BadInput(f"{where}: must be an object with start and end")
        start, end = item["start"], item.get("end") or ""
        if not isinstance(start, str) or not isinstance(end, str):
            raise BadInput(f"{where}: start and end must be strings")
        interval = {"start": start, "end": end}
        if interval not in already_stored:
            if not NEW_INTERVAL_BOUND.match(start):
                raise BadInput(f"{where}.start: must be 1 to 6 digits")
            if end and not NEW_INTERVAL_BOUND.match(end):
                raise BadInput(f"{where}.end: must be 1 to 6 digits, or empty for a single number")
            if end and len(end) != len(start):
                raise BadInput(f"{where}: start and end must have the same number of digits")
            if end and end < start:
                raise BadInput(f"{where}: end is before start")
        for other in intervals:
            if intervals_overlap(other, interval):
                raise BadInput(f"{where}: overlaps interval {other['start']}-{other['end'] or other['start']}")
        intervals.append(interval)
    return intervals


def intervals_overlap(a: dict[str, str], b: dict[str, str]) -> bool:
    a_end, b_end = a["end"] or a["start"], b["end"] or b["start"]
    return len(a["start"]) == len(b["start"]) and a["start"] <= b_end and b["start"] <= a_end


def interval_contains(interval: dict[str, str], number: str) -> bool:
    """Numbers of another length are never inside ("170" is not in 1700–1799)."""
    end = interval["end"] or interval["start"]
    return len(number) == len(interval["start"]) and interval["start"] <= number <= end


def interval_numbers(interval: dict[str, str]):
    width = len(interval["start"])
    for value in range(int(interval["start"]), int(interval["end"] or interval["start"]) + 1):
        yield str(value).zfill(width)


def read_template_fields(payload: Payload) -> dict[str, Any]:
    """The line-template settings with the document's "compulsory if" rules and enum values.

    Optional settings are kept only when given, so the answer has the seed's shape."""
    fields: dict[str, Any] = {
        "name": payload.string("name"),
        "peerSipName": payload.choice("peerSipName", PEER_SIP_NAMES),
        "routedInbound": payload.boolean("routedInbound"),
        "callerIdMode": payload.choice("callerIdMode", CALLER_ID_MODES),
        "ringingTime": payload.integer("ringingTime", minimum=1, maximum=300),
        "voiceMailEnabled": payload.boolean("voiceMailEnabled"),
        # the document types it "Boolean" yet lists two string values: the values win
        "voiceMailNumberMode": payload.choice(
            "voiceMailNumberMode", VOICEMAIL_NUMBER_MODES, required=False, default="short_number"
        ),
    }
    optional = {
        "routedInboundPrefix": payload.string(
            "routedInboundPrefix", required=fields["routedInbound"], pattern=DIGITS, max_length=20
        ),
        "customCallerId": payload.string(
            "customCallerId", required=fields["callerIdMode"] == "custom", pattern=PHONE_NUMBER, max_length=21
        ),
        "voiceMailCustomNumber": payload.string(
            "voiceMailCustomNumber",
            required=fields["voiceMailNumberMode"] == "custom",
            pattern=DIAL_STRING,
            max_length=20,
        ),
        "voiceMailSendEmail": payload.boolean("voiceMailSendEmail", required=False),
    }
    fields.update({name: value for name, value in optional.items() if value is not None})
    return fields


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A salted hash shaped like the seed's (64 base64 characters); the clear text is never kept."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        raw = base64.b64decode(stored_hash.encode(), validate=True)
    except ValueError:
        return False
    return len(raw) == 48 and hmac.compare_digest(hash_password(password, raw[:16]), stored_hash)
