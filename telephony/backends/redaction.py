"""Masking secrets before anything of a PBX exchange is logged or shown: secret-looking keys in
JSON bodies and query strings, credentials in URLs, and every secret the client knows by value."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

LOGGED_BODY_CHARS = 2000
REDACTED = "***"

SECRET_KEY_PATTERN = re.compile(
    r"pass(word)?|secret|token|authentication|appkey|app_key|pin|ctipassword|api_key|apikey",
    re.IGNORECASE,
)


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like value with every secret-looking key masked."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if SECRET_KEY_PATTERN.search(str(key)) and item not in (None, "") else redact_value(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    return value


def redact_url(url: str) -> str:
    """Mask user:password@ in the authority and secret-looking query parameters."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = "&".join(
        f"{name}={REDACTED}" if SECRET_KEY_PATTERN.search(name) else f"{name}={val}"
        for name, _, val in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


SECRET_VALUE_PATTERN = re.compile(
    r'("(?:[^"\\]*(?:' + SECRET_KEY_PATTERN.pattern + r')[^"\\]*)"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\]\s]+)',
    re.IGNORECASE,
)


def redact_text(text: str, known_secrets: tuple[str, ...] = ()) -> str:
    """Mask a body: JSON bodies key by key, and any known secret wherever it appears.

    Only the logged part is worked on: a large answer (a list of a thousand users) is cut first
    and masked by pattern, instead of being parsed and encoded whole for a 2,000-character log."""
    if len(text) <= LOGGED_BODY_CHARS * 2:
        with contextlib.suppress(ValueError, TypeError):  # not JSON: masked by pattern and known secrets
            text = json.dumps(redact_value(json.loads(text)), ensure_ascii=False)
    else:
        text = text[: LOGGED_BODY_CHARS + 200]
    text = SECRET_VALUE_PATTERN.sub(lambda m: m.group(1) + f'"{REDACTED}"', text)
    for secret in known_secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text[:LOGGED_BODY_CHARS]
