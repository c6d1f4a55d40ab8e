"""A Xelion Configurator order (the JSON configuration of a planned tenant), checked as the
Configurator's provisioning service checks it, and what completing it builds on a tenant.

The seed (xelion-configurator-provisioning.txt) shows only `{"version": 1, "organization": {"name"}}`;
the rest follows backend-api-facts.md ("Xelion Configurator"): an organization's `name` (required),
`country` (ISO 3166-1 alpha-2) and `centralPhoneNumber {new, value}` (required when any external
number exists, and one of them); `departments[]` with `name`, `users` (e-mail addresses),
`enableCallRecording`, `fallback {type: voicemail|dept|user, value}`, `internalNumbers` (unique,
1–4 digits, not starting with 0 or 1, not an emergency or reserved number) and
`externalNumbers [{new, value, country, area}]` (`country` and `area` required when `new`).
What the simulator assumes beyond that is listed in docs/backend-fidelity.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FALLBACK_TYPES = ("voicemail", "dept", "user")
RESERVED_NUMBERS = frozenset({"112", "911", "999", "600", "7000"})  # emergency and reserved (the facts' examples)
INTERNAL_NUMBER = re.compile(r"^[2-9][0-9]{0,3}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOP_KEYS = {"version", "organization", "departments"}
ORGANIZATION_KEYS = {"name", "country", "centralPhoneNumber"}
DEPARTMENT_KEYS = {"name", "users", "enableCallRecording", "fallback", "internalNumbers", "externalNumbers"}


class OrderRefused(Exception):
    """The configuration is not one the provisioning service takes: `cause` says where and why."""

    def __init__(self, cause: str):
        super().__init__(cause)
        self.cause = cause


@dataclass
class PlannedUser:
    """A user the order makes: its e-mail address, its department and its internal number."""

    email: str
    department: str
    internal_number: str

    @property
    def user_name(self) -> str:
        return self.email.split("@", 1)[0].lower()

    @property
    def given_name(self) -> str:
        """An order names a user by e-mail address only: its local part, as a name ("ann.lee" → "Ann Lee")."""
        return " ".join(part.capitalize() for part in re.split(r"[._-]+", self.user_name) if part) or self.user_name


@dataclass
class Order:
    """A configuration that passed the checks, reduced to what completing it builds."""

    organization: str
    country: str
    departments: list[str] = field(default_factory=list)
    users: list[PlannedUser] = field(default_factory=list)
    external_numbers: list[str] = field(default_factory=list)


def check_order(config: Any) -> Order:
    """The order a configuration describes, or OrderRefused with the first cause found."""
    if not isinstance(config, dict):
        raise OrderRefused("the configuration must be a JSON object")
    _known(config, TOP_KEYS, "")
    if config.get("version") != 1:
        raise OrderRefused("version: only version 1 is supported")
    organization = config.get("organization")
    if not isinstance(organization, dict):
        raise OrderRefused("organization: required, an object")
    _known(organization, ORGANIZATION_KEYS, "organization.")
    name = organization.get("name")
    if not isinstance(name, str) or not name.strip():
        raise OrderRefused("organization.name: required")
    country = organization.get("country", "")
    if country and (not isinstance(country, str) or not COUNTRY.match(country)):
        raise OrderRefused("organization.country: an ISO 3166-1 alpha-2 code such as NL")
    departments = config.get("departments", [])
    if not isinstance(departments, list):
        raise OrderRefused("departments: a list")
    order = Order(organization=name.strip(), country=country)
    taken: set[str] = set()
    for index, department in enumerate(departments):
        _department(order, department, f"departments[{index}]", taken)
    _central_number(organization.get("centralPhoneNumber"), order.external_numbers)
    return order


def _department(order: Order, department: Any, where: str, taken: set[str]) -> None:
    if not isinstance(department, dict):
        raise OrderRefused(f"{where}: an object")
    _known(department, DEPARTMENT_KEYS, f"{where}.")
    name = department.get("name")
    if not isinstance(name, str) or not name.strip():
        raise OrderRefused(f"{where}.name: required")
    if name.strip().lower() in (d.lower() for d in order.departments):
        raise OrderRefused(f"{where}.name: {name!r} is named twice")
    if not isinstance(department.get("enableCallRecording", False), bool):
        raise OrderRefused(f"{where}.enableCallRecording: true or false")
    _fallback(department.get("fallback"), f"{where}.fallback")
    numbers = _internal_numbers(department.get("internalNumbers", []), f"{where}.internalNumbers", taken)
    users = department.get("users", [])
    if not isinstance(users, list) or not all(isinstance(u, str) and EMAIL.match(u) for u in users):
        raise OrderRefused(f"{where}.users: a list of e-mail addresses")
    if len(users) > len(numbers):
        raise OrderRefused(f"{where}.users: {len(users)} users need as many internalNumbers ({len(numbers)} given)")
    known = {u.email.lower() for u in order.users}
    for email, number in zip(users, numbers, strict=False):
        if email.lower() in known:
            raise OrderRefused(f"{where}.users: {email} is in the order twice")
        known.add(email.lower())
        order.users.append(PlannedUser(email=email, department=name.strip(), internal_number=number))
    order.departments.append(name.strip())
    for index, external in enumerate(_list(department.get("externalNumbers", []), f"{where}.externalNumbers")):
        order.external_numbers.append(_external_number(external, f"{where}.externalNumbers[{index}]"))


def _internal_numbers(numbers: Any, where: str, taken: set[str]) -> list[str]:
    found = []
    for number in _list(numbers, where):
        number = str(number) if isinstance(number, int) and not isinstance(number, bool) else number
        if not isinstance(number, str) or not INTERNAL_NUMBER.match(number):
            raise OrderRefused(f"{where}: {number!r} is not 1–4 digits starting with 2–9")
        if number in RESERVED_NUMBERS:
            raise OrderRefused(f"{where}: {number} is an emergency or reserved number")
        if number in taken:
            raise OrderRefused(f"{where}: {number} is used twice")
        taken.add(number)
        found.append(number)
    return found


def _external_number(external: Any, where: str) -> str:
    if not isinstance(external, dict) or not isinstance(external.get("new", False), bool):
        raise OrderRefused(f"{where}: an object with new (true or false) and value")
    _known(external, {"new", "value", "country", "area"}, f"{where}.")
    if external.get("new"):
        if not isinstance(external.get("country"), str) or not COUNTRY.match(external["country"]):
            raise OrderRefused(f"{where}.country: required for a new number, an ISO 3166-1 alpha-2 code")
        if not isinstance(external.get("area"), str) or not external["area"].isdigit():
            raise OrderRefused(f"{where}.area: required for a new number, its area code")
    value = external.get("value")
    if not isinstance(value, str) or not E164.match(value):
        raise OrderRefused(f"{where}.value: a number in international form, such as +31201234567")
    return value


def _central_number(central: Any, external_numbers: list[str]) -> None:
    if central is None:
        if external_numbers:
            raise OrderRefused("organization.centralPhoneNumber: required when the order has external numbers")
        return
    if not isinstance(central, dict) or not isinstance(central.get("value"), str):
        raise OrderRefused("organization.centralPhoneNumber: an object with new and value")
    if central["value"] not in external_numbers:
        raise OrderRefused("organization.centralPhoneNumber.value: must be one of the departments' externalNumbers")


def _fallback(fallback: Any, where: str) -> None:
    if fallback is None:
        return
    if not isinstance(fallback, dict) or fallback.get("type") not in FALLBACK_TYPES:
        raise OrderRefused(f"{where}.type: one of {', '.join(FALLBACK_TYPES)}")
    if fallback["type"] != "voicemail" and not isinstance(fallback.get("value"), str):
        raise OrderRefused(f"{where}.value: the department or user calls fall back to")


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise OrderRefused(f"{where}: a list")
    return value


def _known(obj: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise OrderRefused(f"{where}{unknown[0]}: not a field of the configuration")
