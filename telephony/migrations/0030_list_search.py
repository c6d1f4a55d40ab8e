"""Indexed substring search over the jobs and numbers lists on PostgreSQL (telephony.search's
JOB_TEXT and NUMBER_TEXT; tenants.text_search): a trigram GIN index on each table's searched
columns joined by spaces, in upper case, which the search compares with LIKE. SQLite compares each
column row by row, as before: nothing to make there."""

from django.db import migrations

# telephony.search.JOB_TEXT.text() and NUMBER_TEXT.text() when this migration was written
INDEXES = {
    "telephony_provisioningjob_text_trgm": (
        "telephony_provisioningjob",
        """UPPER("target_label" || ' ' || "operation" || ' ' || "last_error")""",
    ),
    "telephony_phonenumber_text_trgm": ("telephony_phonenumber", """UPPER("number" || ' ' || "label")"""),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, text) in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({text} gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("telephony", "0029_webhook_delivery_outlives_endpoint")]

    operations = [migrations.RunPython(create, drop)]
