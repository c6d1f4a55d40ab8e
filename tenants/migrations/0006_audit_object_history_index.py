"""One object's history (tenants.audit.entries_of: its content type and key, newest first) read
through one index on (content type, object key, time), on every database: the page of an object with
a long history no longer sorts its entries, and the lookup never starts from the key alone (a key
that many kinds of object share)."""

from django.db import migrations

NAME = "auditlog_logentry_object_history"


class Migration(migrations.Migration):
    dependencies = [("tenants", "0005_audit_search")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON auditlog_logentry (content_type_id, object_pk, timestamp)",
            f"DROP INDEX IF EXISTS {NAME}",
        )
    ]
