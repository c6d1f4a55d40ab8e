"""Indexed substring search over the audit log on SQLite too (tenants.audit.ENTRY_TEXT, whose `fts`
names this table): an FTS5 trigram table over the searched columns, trailing (tenants.sqlite_fts):
filled after the entries are written, by the worker's catch-up every minute, so that a bulk import's
entries pay nothing for it. PostgreSQL has its trigram index (0005). Empty when made: the first
catch-up fills it, and until then a search compares the entries row by row, as before."""

from django.db import migrations

from tenants.sqlite_fts import trailing_fts_operation

TABLE, FTS = "auditlog_logentry", "auditlog_logentry_search"
COLUMNS = ("object_repr", "cid")  # ENTRY_TEXT's columns when this migration was written


class Migration(migrations.Migration):
    dependencies = [("tenants", "0007_audit_scope_indexes")]

    operations = [trailing_fts_operation(TABLE, FTS, COLUMNS)]
