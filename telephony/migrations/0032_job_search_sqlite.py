"""Indexed substring search over the jobs list on SQLite too (telephony.search.JOB_TEXT, whose `fts`
names this table): an FTS5 trigram table over the searched columns, trailing (tenants.sqlite_fts):
filled after the jobs are written, by the worker's catch-up every minute, so that a bulk import's
jobs pay nothing for it (a table kept by insert triggers made a 100,000-user import half as slow
again, see 0031). PostgreSQL has its trigram index (0030). Empty when made: the first catch-up fills
it, and until then a search compares the jobs row by row, as before."""

from django.db import migrations

from tenants.sqlite_fts import trailing_fts_operation

TABLE, FTS = "telephony_provisioningjob", "telephony_provisioningjob_search"
COLUMNS = ("target_label", "operation", "last_error")  # JOB_TEXT's columns when this was written


class Migration(migrations.Migration):
    dependencies = [("telephony", "0031_list_search_sqlite"), ("tenants", "0008_audit_search_sqlite")]

    operations = [trailing_fts_operation(TABLE, FTS, COLUMNS)]
