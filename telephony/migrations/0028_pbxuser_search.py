"""Indexed substring search over PBX users (telephony/search.py).

PostgreSQL: pg_trgm and one trigram GIN index on the searched columns joined by spaces, in upper
case (telephony.search.USER_TEXT, which the search compares with LIKE). One index, not one per
column: the planner takes a single index's bitmap for a rare word (0.1 ms at 100,000 users) where it
read five and OR-ed them (24 ms) or preferred a scan of the table.
SQLite: an FTS5 table with the trigram tokenizer over the same columns, kept by triggers (an update
touches it only when one of those columns is written, not on the engine's sync-state updates)."""

from django.db import migrations

# The columns of telephony.search.USER_COLUMNS, and its USER_TEXT, when this migration was written.
USER_COLUMNS = ("username", "first_name", "last_name", "email", "internal_number")
USER_TEXT = "UPPER(username || ' ' || first_name || ' ' || last_name || ' ' || email || ' ' || internal_number)"

TABLE = "telephony_pbxuser"
FTS = "telephony_pbxuser_search"


def _columns(prefix: str = "") -> str:
    return ", ".join(f"{prefix}{column}" for column in USER_COLUMNS)


def create(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_text_trgm ON {TABLE} USING gin ({USER_TEXT} gin_trgm_ops)")
        elif connection.vendor == "sqlite":
            cursor.execute(
                f"CREATE VIRTUAL TABLE {FTS} USING fts5({_columns()}, content='{TABLE}', content_rowid='id', "
                "tokenize='trigram')"
            )
            cursor.execute(
                f"CREATE TRIGGER {FTS}_insert AFTER INSERT ON {TABLE} BEGIN "
                f"INSERT INTO {FTS}(rowid, {_columns()}) VALUES (new.id, {_columns('new.')}); END"
            )
            cursor.execute(
                f"CREATE TRIGGER {FTS}_delete AFTER DELETE ON {TABLE} BEGIN "
                f"INSERT INTO {FTS}({FTS}, rowid, {_columns()}) VALUES ('delete', old.id, {_columns('old.')}); END"
            )
            cursor.execute(
                f"CREATE TRIGGER {FTS}_update AFTER UPDATE OF {_columns()} ON {TABLE} BEGIN "
                f"INSERT INTO {FTS}({FTS}, rowid, {_columns()}) VALUES ('delete', old.id, {_columns('old.')}); "
                f"INSERT INTO {FTS}(rowid, {_columns()}) VALUES (new.id, {_columns('new.')}); END"
            )
            cursor.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def drop(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {TABLE}_text_trgm")
        elif connection.vendor == "sqlite":
            for trigger in ("insert", "delete", "update"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {FTS}_{trigger}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS}")


class Migration(migrations.Migration):
    dependencies = [("telephony", "0027_webhooks")]

    operations = [migrations.RunPython(create, drop)]
