"""A fingerprint of the whole database, to tell whether a request changed anything.

Each POST of the crawl runs in a savepoint that is rolled back after the fingerprint was taken, so
every POST is compared with the same world.
"""

from __future__ import annotations

import hashlib

from django.apps import apps
from django.db import connection, models

# The fingerprint ignores what any request may write: audit entries, sessions, login attempts
# (django-axes) and the last-login time.
FINGERPRINT_SKIPPED_APPS = {"auditlog", "sessions", "axes"}
FINGERPRINT_SKIPPED_FIELDS = {"last_login"}


def fingerprint() -> dict[str, tuple[int, str]]:
    """(row count, hash of every row's stored values) per table, over the whole database."""
    prints = {}
    with connection.cursor() as cursor:
        for model in _fingerprinted_models():
            meta = model._meta
            columns = [f.column for f in meta.concrete_fields if f.attname not in FINGERPRINT_SKIPPED_FIELDS]
            quote = connection.ops.quote_name
            selected = ", ".join(quote(c) for c in columns)
            cursor.execute(f"SELECT {selected} FROM {quote(meta.db_table)} ORDER BY {quote(meta.pk.column)}")
            rows = cursor.fetchall()
            prints[meta.label] = (len(rows), hashlib.sha1(repr(rows).encode()).hexdigest())
    return prints


def _fingerprinted_models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label not in FINGERPRINT_SKIPPED_APPS and not model._meta.proxy and model._meta.managed
    ]


def fingerprint_diff(before: dict, after: dict) -> list[str]:
    """The tables that differ, with their row counts."""
    return [
        f"{label}: {before.get(label, (0, ''))[0]} → {after.get(label, (0, ''))[0]} rows"
        + (" (values changed)" if before.get(label, (0, ""))[0] == after.get(label, (0, ""))[0] else "")
        for label in sorted(set(before) | set(after))
        if before.get(label) != after.get(label)
    ]
