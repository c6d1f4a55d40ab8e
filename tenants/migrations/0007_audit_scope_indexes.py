"""A customer's history read through indexes on (organization, time), on SQLite and PostgreSQL: one
per key of an entry's additional data that names who owns the object (tenants.audit.ScopeKey: the
organization, the second organization of an object two share, the entity), on exactly the
expression the scope compares. A login that sees few organizations (tenants.audit.FEW) then reads
its entries from these indexes instead of walking every entry in time order to find its own."""

from django.db import migrations

KEYS = ("org", "org2", "entity")


def name(key: str) -> str:
    return f"auditlog_logentry_scope_{key}"


def expression(key: str, vendor: str) -> str:
    """tenants.audit.ScopeKey(key) as that database compiles it, without the table's name."""
    if vendor == "postgresql":
        return f"((additional_data ->> '{key}'))::bigint"
    return f"CAST(JSON_EXTRACT(additional_data, '$.{key}') AS INTEGER)"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for key in KEYS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name(key)} ON auditlog_logentry (({expression(key, vendor)}), timestamp)"
        )


def drop(apps, schema_editor):
    for key in KEYS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name(key)}")


class Migration(migrations.Migration):
    dependencies = [("tenants", "0006_audit_object_history_index")]

    operations = [migrations.RunPython(create, drop)]
