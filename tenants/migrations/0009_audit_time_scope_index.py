"""A reseller's history, newest first, read along one index on SQLite: (time, id, and the two
organization keys of tenants.audit.ScopeKey, as SQLite compiles them). A login that sees many
organizations walks it in the list's order and finds in it all that its scope compares, without
reading the entries themselves (tenants.audit.restrict_entries). Not the entity key: with a fifth
column SQLite's planner took the time index and read every entry again (measured at 100,000
entries). PostgreSQL chooses well between its (organization, time) indexes (0007) and the time index
without it."""

from django.db import migrations

NAME = "auditlog_logentry_time_scope"
# tenants.audit.ScopeKey's SQLite expression for each key when this migration was written
SCOPE = ", ".join(f"CAST(JSON_EXTRACT(additional_data, '$.{key}') AS INTEGER)" for key in ("org", "org2"))


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {NAME} ON auditlog_logentry (timestamp, id, {SCOPE})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("tenants", "0008_audit_search_sqlite")]

    operations = [migrations.RunPython(create, drop)]
