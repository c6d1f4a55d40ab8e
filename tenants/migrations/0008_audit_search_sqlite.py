"""Indexed substring search over the audit log on SQLite too (tenants.admin_audit.ENTRY_TEXT, whose
`fts` names this table): an FTS5 trigram table over the object's name and the request id, kept by
triggers; PostgreSQL has its trigram index (0005)."""

from django.db import migrations

from tenants.sqlite_fts import create_fts, drop_fts

TABLE, FTS, COLUMNS = "auditlog_logentry", "auditlog_logentry_search", ("object_repr", "cid")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            create_fts(cursor, TABLE, FTS, COLUMNS)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            drop_fts(cursor, FTS)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0007_audit_scope_indexes")]

    operations = [migrations.RunPython(create, drop)]
