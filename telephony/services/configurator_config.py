"""A Configurator order's configuration JSON, built from what a staff member typed or taken from an
uploaded file. Every problem is said against the input it comes from; the Configurator's own test
(`provision/test`) has the last word before anything is sent."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

LARGEST_UPLOAD = 1024 * 1024
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass
class OrderEntry:
    """What the order form asks for. `users`: one line per user, "department, e-mail, internal
    number"; `numbers`: one line per external number, "department, +number"."""

    organization_name: str
    country: str
    central_number: str
    users: str
    numbers: str = ""
    call_recording: bool = False


def _rows(text: str, field: str, width: int) -> list[tuple[int, list[str]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != width:
            raise ValidationError(
                {
                    field: _("Line %(number)s: expected %(width)s values separated by commas.")
                    % {"number": number, "width": width}
                }
            )
        rows.append((number, cells))
    return rows


def configuration_from_entry(entry: OrderEntry) -> dict[str, Any]:
    """The configuration the entry describes: a department per name used, in the order first used."""
    departments: dict[str, dict[str, Any]] = {}
    for number, (department, email, internal) in _rows(entry.users, "users", 3):
        if not department or not email or not internal:
            raise ValidationError(
                {"users": _("Line %(number)s: a department, an e-mail address and a number.") % {"number": number}}
            )
        found = departments.setdefault(department.lower(), _department(department, entry.call_recording))
        found["users"].append(email)
        found["internalNumbers"].append(internal)
    if not departments:
        raise ValidationError({"users": _("Enter at least one user.")})
    for number, (department, phone) in _rows(entry.numbers, "numbers", 2):
        found = departments.get(department.lower())
        if found is None:
            raise ValidationError(
                {
                    "numbers": _("Line %(number)s: no user is in the department %(department)s.")
                    % {"number": number, "department": department}
                }
            )
        if not E164.match(phone):
            raise ValidationError(
                {
                    "numbers": _("Line %(number)s: %(phone)s is not in international form (+31201234567).")
                    % {"number": number, "phone": phone}
                }
            )
        found["externalNumbers"].append({"new": False, "value": phone})
    organization: dict[str, Any] = {"name": entry.organization_name.strip(), "country": entry.country.strip().upper()}
    if entry.central_number.strip():
        organization["centralPhoneNumber"] = {"new": False, "value": entry.central_number.strip()}
    for department in departments.values():
        if not department["externalNumbers"]:
            del department["externalNumbers"]
    return {"version": 1, "organization": organization, "departments": list(departments.values())}


def _department(name: str, recording: bool) -> dict[str, Any]:
    return {"name": name, "users": [], "internalNumbers": [], "externalNumbers": [],
            "enableCallRecording": recording, "fallback": {"type": "voicemail"}}  # fmt: skip


def configuration_from_upload(content: bytes) -> dict[str, Any]:
    """An uploaded configuration file: one JSON object, taken as it is (the Configurator checks it)."""
    if len(content) > LARGEST_UPLOAD:
        raise ValidationError({"upload": _("The file is larger than 1 MiB; a configuration is much smaller.")})
    try:
        configuration = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationError({"upload": _("The file is not UTF-8 text.")}) from None
    except json.JSONDecodeError as error:
        where = {"problem": error.msg, "line": error.lineno, "column": error.colno}
        raise ValidationError(
            {"upload": _("Not JSON: %(problem)s (line %(line)s, column %(column)s).") % where}
        ) from None
    if not isinstance(configuration, dict):
        raise ValidationError({"upload": _("The file holds JSON, but not one object (a configuration is an object).")})
    return configuration


def cause_field(cause: str, *, uploaded: bool) -> str:
    """The input a refusal's cause is about: the uploaded file, or the field of the form it came from."""
    if uploaded:
        return "upload"
    where = cause.split(":", 1)[0]
    if where.startswith("organization.centralPhoneNumber"):
        return "central_number"
    if where.startswith("organization.country"):
        return "country"
    if where.startswith("organization"):
        return "organization_name"
    if ".externalNumbers" in where:
        return "numbers"
    return "users"


def cause_with_line(cause: str, entry_text: str) -> str:
    """A cause about a value the staff member typed, with the line of the users box that holds it."""
    for number, line in enumerate(entry_text.splitlines(), start=1):
        cells = [cell.strip() for cell in line.split(",")]
        if any(cell and (f" {cell} " in f" {cause} " or f"'{cell}'" in cause) for cell in cells[1:]):
            return _("Line %(number)s: %(cause)s") % {"number": number, "cause": cause}
    return cause


def users_in(configuration: dict[str, Any]) -> int:
    departments = configuration.get("departments")
    if not isinstance(departments, list):
        return 0
    return sum(len(d.get("users") or []) for d in departments if isinstance(d, dict))
