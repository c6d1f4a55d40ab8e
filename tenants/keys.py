"""Keys read from a request (a list's parameter, an address): what can be a row's key.

Anything else (letters, digits of another script, a number past a 64-bit integer, which SQLite
cannot even bind) matches nothing: the caller answers as for a key that is not there, never with an
error page.
"""

from __future__ import annotations

from typing import Any

MAX_KEY = 2**63 - 1


def object_key(value: Any) -> int | None:
    """The key `value` spells (ASCII digits within a 64-bit integer), or None."""
    text = str(value) if value is not None else ""
    if not (text.isascii() and text.isdigit()):
        return None
    key = int(text)
    return key if key <= MAX_KEY else None
