"""Indexed substring search over the audit log on PostgreSQL (tenants.admin_audit.ENTRY_TEXT;
tenants.text_search): a trigram GIN index on the entries' object name and request id joined by a
space, in upper case, which the search compares with LIKE. SQLite compares each column row by row,
as before: nothing to make there."""

from django.db import migrations

NAME = "auditlog_logentry_text_trgm"
# tenants.admin_audit.ENTRY_TEXT.text() when this migration was written
TEXT = """UPPER("object_repr" || ' ' || COALESCE("cid", ''))"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {NAME} ON auditlog_logentry USING gin ({TEXT} gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_verbose_names"), ("auditlog", "0017_add_actor_email")]

    operations = [migrations.RunPython(create, drop)]
