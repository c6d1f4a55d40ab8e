"""Indexed substring search over the numbers list on SQLite too (telephony.search.NUMBER_TEXT, whose
`fts` names this table): an FTS5 trigram table over the searched columns, kept by triggers, which
answers which rows hold a word; PostgreSQL has its trigram indexes (0030).

Not the jobs nor the audit log: a bulk import writes a job and an entry per user, and keeping an FTS
table for each made a 100,000-user import on SQLite half as slow again (12.9 → 19.9 s, 2026-12-06)."""

from django.db import migrations

from tenants.sqlite_fts import create_fts, drop_fts

# table: (its FTS table, the searched columns when this migration was written)
SEARCHED = {
    "telephony_phonenumber": ("telephony_phonenumber_search", ("number", "label")),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, (fts, columns) in SEARCHED.items():
            create_fts(cursor, table, fts, columns)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        for fts, _columns in SEARCHED.values():
            drop_fts(cursor, fts)


class Migration(migrations.Migration):
    dependencies = [("telephony", "0030_list_search")]

    operations = [migrations.RunPython(create, drop)]
