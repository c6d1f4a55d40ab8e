"""The database a benchmark runs on: Django's test-database machinery on the configured one (SQLite
by default; DATABASE_URL is honoured), made fresh for the run and removed after it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def fresh_database() -> Iterator[None]:
    """Set Django up on tests.settings and run the body on a database of this run's own."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"  # per-run broker dir, queue and SQLite file
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    test_settings = settings.DATABASES["default"].setdefault("TEST", {})
    if connection.vendor != "sqlite":  # never the database DATABASE_URL names, nor another run's
        test_settings["NAME"] = f"{settings.DATABASES['default']['NAME']}_bench_{os.getpid()}"
    original = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
