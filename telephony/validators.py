"""Rules about numbers that models, services and the importer share."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, RegexValidator
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

E164_PATTERN = re.compile(r"^\+[1-9]\d{1,14}$")
INTERNAL_NUMBER_PATTERN = re.compile(r"^\d{1,6}$")
TENANT_NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,61}[a-z0-9])?$")

validate_e164 = RegexValidator(
    E164_PATTERN,
    gettext_lazy("Enter the number in E.164 form: a + followed by 2 to 15 digits, e.g. +31201234567."),
    code="e164",
)
validate_internal_number = RegexValidator(
    INTERNAL_NUMBER_PATTERN, gettext_lazy("An internal number is 1 to 6 digits."), code="internal_number"
)
validate_destination = RegexValidator(
    re.compile(r"^\+?\d{1,20}$"),
    gettext_lazy("A forwarding destination is a phone number: digits, optionally starting with +."),
    code="destination",
)
validate_tenant_name = RegexValidator(
    TENANT_NAME_PATTERN,
    gettext_lazy(
        "Use lower-case letters, digits, dots and hyphens (at most 63), starting and ending with a letter or digit."
    ),
    code="tenant_name",
)


def normalize_e164(raw: str) -> str:
    """Accept common spellings ('+31 20 123 4567', '0031201234567') and return +<digits>."""
    text = re.sub(r"[\s().-]", "", raw or "")
    if text.startswith("00"):
        text = "+" + text[2:]
    return text


def interval_contains(start: str, end: str, number: str) -> bool:
    """Is `number` inside the interval? Numbers of another length never are ("170" is not in 1700–1799)."""
    end = end or start
    return len(number) == len(start) and start <= number <= end


def intervals_overlap(a: tuple[str, str], b: tuple[str, str]) -> bool:
    a_start, a_end = a[0], a[1] or a[0]
    b_start, b_end = b[0], b[1] or b[0]
    return len(a_start) == len(b_start) and a_start <= b_end and b_start <= a_end


def validate_interval(start: str, end: str) -> None:
    errors = {}
    if not INTERNAL_NUMBER_PATTERN.match(start or ""):
        errors["start"] = _("The start of an interval is 1 to 6 digits.")
    if end and not INTERNAL_NUMBER_PATTERN.match(end):
        errors["end"] = _("The end of an interval is 1 to 6 digits, or empty for a single number.")
    if not errors and end:
        if len(end) != len(start):
            errors["end"] = _("Start and end must have the same number of digits.")
        elif end < start:
            errors["end"] = _("The end of an interval cannot be before its start.")
    if errors:
        raise ValidationError(errors)


def interval_size(start: str, end: str) -> int:
    return int(end or start) - int(start) + 1


def interval_numbers(start: str, end: str) -> range | None:
    """The numbers of a stored interval (zero-pad each to len(start)); None for one that is not an
    interval of digits (a row written past the services: it holds no number, and breaks no page)."""
    try:
        validate_interval(start, end)
    except ValidationError:
        return None
    return range(int(start), int(end or start) + 1)


@deconstructible
class InternationalEmailValidator(EmailValidator):
    """Django's e-mail rules, with the letters of any script in the local part as RFC 6531 allows
    (`ünsal@example.de`); the domain part is Django's own check, which already takes IDNs
    (`ann@bücher.example`). Spaces, control characters and unquoted specials stay refused."""

    _atom = r"[-!#$%&'*+/=?^_`{}|~0-9A-Z\u00a1-\U0010ffff]+"
    user_regex = re.compile(
        rf"(^{_atom}(\.{_atom})*\Z"  # dot-atom, UTF-8 letters allowed (RFC 6531 section 3.3)
        r'|^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"\Z)',
        re.IGNORECASE,
    )


validate_email_address = InternationalEmailValidator()
