"""Indexed substring search over the jobs and numbers lists on SQLite too (telephony.search.JOB_TEXT
and NUMBER_TEXT, whose `fts` names these tables): an FTS5 trigram table over the searched columns,
kept by triggers, which answers which rows hold a word; PostgreSQL has its trigram indexes (0030)."""

from django.db import migrations

from tenants.sqlite_fts import create_fts, drop_fts

# table: (its FTS table, the searched columns when this migration was written)
SEARCHED = {
    "telephony_provisioningjob": ("telephony_provisioningjob_search", ("target_label", "operation", "last_error")),
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
