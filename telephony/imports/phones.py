"""Phone numbers as people and other tools write them: `+31 20 123 4567`, `+31 (0)20 123 45 67`,
`0031-20-1234567`, `tel:+31201234567;ext=1701`, or a national `(020) 123-4567` read in a country.

The quick path (strip spaces, dots, dashes, slashes and brackets; 00 → +) needs no library and
covers what exports write; only a national number goes through libphonenumber (phonenumberslite),
which knows every country's trunk prefix (0 in the Netherlands, none in Italy, 1 in the USA).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import phonenumbers
from django.utils.translation import gettext as _

_TEL_URI = re.compile(r"^tel:", re.IGNORECASE)
_URI_PARAMETERS = re.compile(r";\s*(?:ext|phone-context|isub)=[^;,\n]*", re.IGNORECASE)
_INTERNATIONAL_TRUNK = re.compile(r"^\+(\d{1,3})\s*\(0\)")  # +31 (0)20 … → +31 20 …
_PUNCTUATION = re.compile(r"[\s().\-/\u00a0\u2010-\u2015]")
_SEPARATORS = re.compile(r"[;,\r\n]+")
_DIGITS = re.compile(r"^\+?\d+$")
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")


def clean(raw: str) -> str:
    """The number without its punctuation, 00 turned into +: `+31 (0)20-123 4567` → `+31201234567`.
    Anything else (letters, a formula) comes back as it was written, for the validator to refuse."""
    text = _URI_PARAMETERS.sub("", _TEL_URI.sub("", raw.strip()))
    text = _INTERNATIONAL_TRUNK.sub(r"+\1 ", text)
    compact = _PUNCTUATION.sub("", text)
    if not _DIGITS.match(compact):
        return raw.strip()
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact


def split_numbers(cell: str) -> list[str]:
    """The numbers of a cell that may hold several: separated by ; or , or a line break, never by
    a space (`+31 20 123 4567` is one number). A tel: URI's parameters (;ext=…) are not separators."""
    return [part.strip() for part in _SEPARATORS.split(_URI_PARAMETERS.sub("", cell)) if part.strip()]


def is_national(number: str) -> bool:
    """A cleaned number written without its country code (0201234567)."""
    return bool(number) and number[0] != "+" and number.isdigit() and len(number) >= 6


def to_e164(raw: str, region: str | None) -> str:
    """`raw` in E.164 when it can be read so (a national number needs `region`), else cleaned."""
    number = clean(raw)
    if not is_national(number) or not region:
        return number
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_possible_number(parsed):
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def region_of(numbers: Iterable[str]) -> str | None:
    """The country (ISO 3166 region) most of these E.164 numbers are in, None when there are none."""
    codes: Counter[int] = Counter()
    for number in numbers:
        if not _E164.match(number or ""):
            continue
        try:
            codes[phonenumbers.parse(number).country_code] += 1
        except phonenumbers.NumberParseException:
            continue
    if not codes:
        return None
    region = phonenumbers.region_code_for_country_code(codes.most_common(1)[0][0])
    return None if region in ("ZZ", "001") else region


def national_hint(raw: str, where: str) -> str:
    """What to do with a national number whose country is not known."""
    return _(
        "%(number)s has no country code, and %(where)s has no numbers yet to tell its country from; write it "
        "with its country code (+31 20 123 4567)."
    ) % {"number": raw, "where": where}
