"""Field definitions of the XC5-XS system API: one table per resource that both validates request
bodies and answers OPTIONS with the path documentation (the seed's `OPTIONS /api-sys/account/*/number`).

Validation is strict on purpose: unknown fields, wrong JSON types, read-only fields and malformed
numbers are refused with a 400 and a message naming the field, so a driver bug shows up in tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telephony.sandbox.base import BadInput

GUID_PATTERN = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
# XC5 stores numbers as E.164 digits without "+"; "a:" marks a number that outgoing rewrite may present.
NUMBER_PATTERN = re.compile(r"^(a:)?[1-9][0-9]{5,14}$")
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._@+\-]{0,127}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DIGIT_MAP_PATTERN = re.compile(r"^[0-9*#T]+=[^,=]+(,[0-9*#T]+=[^,=]+)*$")
RESERVED_PREFIXES = (
    "_route.default",
    "_carrier.",
    "_cos.",
    "_node.",
    "_prompts",
    "_auth.blacklist",
    "_unassigned.pool",
)


def is_guid(text: str) -> bool:
    return bool(GUID_PATTERN.match(text))


def reserved_prefix(name: str) -> str | None:
    lowered = name.lower()
    return next((prefix for prefix in RESERVED_PREFIXES if lowered.startswith(prefix)), None)


@dataclass(frozen=True)
class Field:
    """One documented field: its JSON type, its description, and how a written value is checked."""

    type: str
    description: str
    check: Callable[[str, Any], Any] | None = None  # (field name, value) -> cleaned value, or BadInput
    writable: bool = True


def text(max_len: int = 255, *, pattern: re.Pattern | None = None, nullable: bool = False, what: str = "") -> Callable:
    def check(name: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise BadInput(f"{name} must be a string" + (" or null" if nullable else ""))
        if len(value) > max_len:
            raise BadInput(f"{name} is longer than {max_len} characters")
        if pattern is not None and value != "" and not pattern.match(value):
            raise BadInput(f"{name} is not {what or 'valid'}: {value!r}")
        return value

    return check


def integer(low: int, high: int, *, numeric_string: bool = False) -> Callable:
    def check(name: str, value: Any) -> int:
        # the seed itself sends "order":"100", so order accepts a numeric string; nothing else does
        if numeric_string and isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,4}", value):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadInput(f"{name} must be an integer")
        if not low <= value <= high:
            raise BadInput(f"{name} must be between {low} and {high}")
        return value

    return check


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadInput(f"{name} must be true or false")
    return value


def destination(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 255:
        raise BadInput(f"{name} must be a string of at most 255 characters")
    if value.startswith("+"):
        raise BadInput(f"{name}: numbers are e.164 digits without a leading +")
    if value != value.strip():
        raise BadInput(f"{name} has leading or trailing spaces")
    return value


def number_text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise BadInput(f"{name} must be a string")
    if value.startswith("+"):
        raise BadInput(f"{name}: numbers are e.164 digits without a leading +")
    if not NUMBER_PATTERN.match(value):
        raise BadInput(f"{name} is not an e.164 number: {value!r}")
    return value


def optional_number(name: str, value: Any) -> str:
    return "" if value in (None, "") else number_text(name, value)


def null_is_empty(max_len: int) -> Callable:
    inner = text(max_len, nullable=True)
    return lambda name, value: inner(name, value) or ""


def api_access(name: str, value: Any) -> Any:
    if not isinstance(value, dict) or set(value) - {"api_access"}:
        raise BadInput(f"{name} must be an object with api_access only")
    if value.get("api_access") not in (None, "system", "user"):
        raise BadInput(f"{name}.api_access must be system, user or null")
    return {"api_access": value.get("api_access")}


def ignored(name: str, value: Any) -> None:
    return None


ACCOUNT_FIELDS: dict[str, Field] = {
    "guid": Field("string", "Unique identifier for each entry", writable=False),
    "username": Field(
        "string",
        "The account name, unique system-wide (e.g. acme.x.co.nz, alice@acme.x.co.nz)",
        text(128, pattern=USERNAME_PATTERN, what="a valid account name"),
    ),
    "parent": Field("string", "The parent account (name or guid); set at creation only", text(128)),
    "password": Field("string", "SIP and API password; generated when absent at creation", text(64)),
    "enabled": Field("boolean", "A disabled account cannot register, call or use the API", boolean),
    "description": Field("string", "Free text, e.g. the person's display name", text(255)),
    "cfna_duration": Field(
        "integer", "Seconds to ring the account before the no-answer forward applies", integer(5, 300)
    ),
    "cfna_dest": Field("string", "Call-forward no-answer (including busy) destination", destination),
    "cfna_active": Field("boolean", "Enables the call-forward no-answer to cfna_dest", boolean),
    "concurrent_limit": Field("integer", "Concurrent calls: 2 allows call hold, 1 disables it", integer(0, 99)),
    "pickup_group": Field(
        "string",
        "Call pickup group name, inherited by child accounts; null clears",
        text(32, pattern=re.compile(r"^[A-Za-z0-9_\-]+$"), nullable=True, what="a group name"),
    ),
    "ums_pin": Field(
        "string",
        "Voicemail (UMS) mailbox PIN; creates the mailbox or resets the PIN, null removes it",
        text(10, pattern=re.compile(r"^[0-9]{4,10}$"), nullable=True, what="4 to 10 digits"),
    ),
    "mailbox": Field("boolean", "Whether the account has a voicemail mailbox", writable=False),
    "private": Field("integer", "Caller presentation: 1 withholds the caller number", integer(0, 1)),
    "callerid": Field("boolean", "Allows displaying the caller on the phone", boolean),
    "accountresource": Field("object", 'Account resources, e.g. {"api_access": "system"|"user"|null}', api_access),
    "created": Field("string", "When the account was created (UTC, ISO 8601)", writable=False),
}
LEAN_ACCOUNT_KEYS = ("guid", "username", "parent", "enabled")

NUMBER_FIELDS: dict[str, Field] = {
    "guid": Field("string", "Unique identifier for each entry", writable=False),
    "number": Field(
        "string",
        "The e.164 phone number. Numbers must be unique, or prefixed with a: if outgoing rewrite is allowed",
        number_text,
    ),
    "assigned": Field("string", "The account holding the number", writable=False),
    "is-pilot": Field(
        "boolean", "Indicates to use this number a a default for invalid presented caller number", boolean
    ),
    "cfa": Field(
        "string", "An e.164 destination. Creates a call-forward-all for calls to this number", optional_number
    ),
    "alert-info": Field(
        "string", "Assigns a value to the sip Alert-Info header for distinctive ring", null_is_empty(64)
    ),
    "account-code": Field("string", "Free for use associated data", null_is_empty(64)),
}

ORDER = integer(-99, 999, numeric_string=True)
ROUTE_FIELDS: dict[str, Field] = {
    "guid": Field("string", "Unique identifier for each entry", writable=False),
    "order": Field(
        "integer",
        "Position of the route; negative before the account rings, 0 rings it, positive after. "
        "One route per order and menu_level: a PUT at an existing pair updates it",
        ORDER,
    ),
    "destination": Field(
        "string",
        "Where to send the call: e.164 digits, :extension, email:<address>, drop:<code>:<text>, conference:<room>",
        destination,
    ),
    "username": Field("string", "An account to ring at this position", text(128, nullable=True)),
    "hunt_user": Field("boolean", "Ring username only if not busy, without applying its own routes", boolean),
    "ring_seconds": Field("integer", "Seconds to ring before the next route", integer(1, 300)),
    "menu_level": Field("integer", "IVR menu number (1 is the entry menu); 0 for a plain route", integer(0, 99)),
    "digit_map": Field(
        "string",
        "DTMF to action map, e.g. 1=#3,5=#2,T=#3",
        text(255, pattern=DIGIT_MAP_PATTERN, what="a digit map like 1=#3,T=#2"),
    ),
    "time_definition": Field("string", "When the route applies, e.g. nz_holidays,!Mon-Thur 08:30-17:00", text(255)),
    "promptguid": Field(
        "string", "A prompt to play (guid)", text(36, pattern=GUID_PATTERN, nullable=True, what="a guid")
    ),
}

CALLRULE_FIELDS: dict[str, Field] = {
    "guid": Field("string", "Unique identifier for each entry", writable=False),
    "order": Field("integer", "Position of the rule; several conditional rules may share an order", ORDER),
    "prefix": Field(
        "string",
        "Condition: prefix of the e.164-translated dialled number",
        text(32, pattern=re.compile(r"^[0-9]+$"), what="digits"),
    ),
    "prefix_raw": Field(
        "string",
        "Condition: prefix of the untranslated dialled number",
        text(32, pattern=re.compile(r"^[0-9*#]+$"), what="digits, * or #"),
    ),
    "location": Field(
        "string", "Condition: the dialled number matches this location (see /api-sys/location)", text(64)
    ),
    "username": Field("string", "Account to call instead", text(128, nullable=True)),
    "destination": Field(
        "string", "Rewritten destination (:600 for an extension, drop:404:<text> to block)", destination
    ),
    "early_rule": Field("boolean", "Applies before number translation (e.g. 14 -> *)", boolean),
    "record_email": Field(
        "string",
        "Records calls and emails the recording to this address",
        text(255, pattern=EMAIL_PATTERN, what="an email address"),
    ),
}

FORK_FIELDS: dict[str, Field] = {
    "guid": Field("string", "Unique identifier for each entry", writable=False),
    "destination": Field("string", "A number (e.164 digits) or account rung in parallel", destination),
    "ring_seconds": Field("integer", "Seconds to ring this leg", integer(1, 300)),
}

PROMPT_FIELDS: dict[str, Field] = {
    "guid": Field("string", "Unique identifier for each entry", writable=False),
    "description": Field("string", "What the prompt says", text(255)),
    "prompt_length": Field("number", "Length of the uploaded recording in seconds", writable=False),
    "group_access": Field(
        "string", "Code to dial from a phone of the organisation to record the prompt", writable=False
    ),
}

LOCATION_FIELDS: dict[str, Field] = {
    "guid": Field("string", "Unique identifier for each entry", writable=False),
    "name": Field("string", "Location name used by callrule.location", writable=False),
    "description": Field("string", "What the location matches", writable=False),
    "prefixes": Field("array", "e.164 prefixes of the location", writable=False),
}

HYDRA_FIELDS: dict[str, Field] = {
    "number": Field("string", "The line's number and account name (from the path)", writable=False),
    "password": ACCOUNT_FIELDS["password"],
    "cfna_dest": ACCOUNT_FIELDS["cfna_dest"],
    "cfna_active": ACCOUNT_FIELDS["cfna_active"],
    "ums_pin": ACCOUNT_FIELDS["ums_pin"],
    "concurrent_limit": ACCOUNT_FIELDS["concurrent_limit"],
    "private": ACCOUNT_FIELDS["private"],
    "callerid": ACCOUNT_FIELDS["callerid"],
    "note": Field("string", "Free comment, ignored (may repeat)", ignored),
}

ALL_METHODS = ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"]
DOCS: dict[str, dict[str, Any]] = {
    "": {"description": "The API index", "methods": ["GET", "OPTIONS"], "fields": {}},
    "guid": {
        "description": "A fresh guid for client-chosen identifiers (prompts)",
        "methods": ["GET", "OPTIONS"],
        "fields": {"guid": {"type": "string", "description": "A new unique identifier"}},
    },
    "location": {
        "description": "Locations for callrule conditions. Params: filter (SQL LIKE on name)",
        "methods": ["GET", "OPTIONS"],
        "fields": LOCATION_FIELDS,
    },
    "hydraaccount": {
        "description": "POTS line (_tel) accounts with basic features, addressed by number",
        "methods": ["GET", "PUT", "DELETE", "OPTIONS"],
        "fields": HYDRA_FIELDS,
    },
    "account": {
        "description": "Manage accounts. Params: filter (SQL LIKE, default %), horizontal (default false: "
        'direct children only), dump-config. PUT {"username"} creates a root account',
        "methods": ["GET", "PUT", "OPTIONS"],
        "fields": ACCOUNT_FIELDS,
    },
    "account/*": {
        "description": "One account by guid or account name (verbose data). PUT creates if required; "
        "PATCH or PUT ?patch=true updates only",
        "methods": ALL_METHODS,
        "fields": ACCOUNT_FIELDS,
    },
    "account/*/child": {
        "description": 'Child accounts; PUT {"username"} creates one with a generated password. '
        "Params: filter, horizontal, dump-config",
        "methods": ["GET", "PUT", "OPTIONS"],
        "fields": ACCOUNT_FIELDS,
    },
    "account/*/number": {"description": "Manage account phonenumbers", "methods": ALL_METHODS, "fields": NUMBER_FIELDS},
    "account/*/numberallocate": {
        "description": "Free numbers of _unassigned.pool. Param: filter (SQL LIKE on number); "
        "PUT the self link to allocate one",
        "methods": ["GET", "OPTIONS"],
        "fields": NUMBER_FIELDS,
    },
    "account/*/route": {
        "description": "Account routes: what happens to calls TO the account, in order",
        "methods": ALL_METHODS,
        "fields": ROUTE_FIELDS,
    },
    "account/*/callrule": {
        "description": "Call rules: what happens to calls FROM the account and its descendants",
        "methods": ALL_METHODS,
        "fields": CALLRULE_FIELDS,
    },
    "account/*/fork": {
        "description": "Parallel ringing (blast group) destinations",
        "methods": ALL_METHODS,
        "fields": FORK_FIELDS,
    },
    "account/*/prompt": {
        "description": "Voice prompts: PUT JSON to create, PUT form data (file) to upload",
        "methods": ALL_METHODS,
        "fields": PROMPT_FIELDS,
    },
    "account/*/reg": {
        "description": "Current SIP registrations of the account",
        "methods": ["GET", "OPTIONS"],
        "fields": {
            "contact": {"type": "string", "description": "Registered contact URI"},
            "expires": {"type": "integer", "description": "Seconds until expiry"},
            "user_agent": {"type": "string", "description": "The phone's User-Agent"},
        },
    },
}


def documentation(template: str) -> dict[str, Any] | None:
    """The OPTIONS answer for a normalised path template such as account/*/number."""
    doc = DOCS.get(template)
    if doc is None:
        return None
    fields = {
        name: ({"type": item.type, "description": item.description} if isinstance(item, Field) else item)
        for name, item in doc["fields"].items()
    }
    return {"description": doc["description"], "methods": doc["methods"], "fields": fields}


def clean(fields: dict[str, Field], body: dict[str, Any], *, allowed_read_only: tuple[str, ...] = ()) -> dict[str, Any]:
    """The body checked field by field; refuses unknown and read-only fields (`_links` included)."""
    cleaned: dict[str, Any] = {}
    for name, value in body.items():
        if name == "_links":  # "The _links data is read-only" (the seed): a client sent back what it read
            raise BadInput("field _links is read-only")
        spec = fields.get(name)
        if spec is None:
            raise BadInput(f"unknown field: {name}")
        if not spec.writable:
            if name in allowed_read_only:
                continue
            raise BadInput(f"field {name} is read-only")
        cleaned[name] = spec.check(name, value) if spec.check else value
    return cleaned


def like(pattern: str, value: str) -> bool:
    """SQL LIKE (case-insensitive as on XC5's database): % any run, _ one character, \\ escapes."""
    out, escaped = [], False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.fullmatch("".join(out), value, re.IGNORECASE | re.DOTALL) is not None
