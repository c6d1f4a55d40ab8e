"""The REST API's reads of CSV import runs (portal/api/views_imports.py), scoped to the login as the
admin scopes them (`telephony.imports.services.runs_for`): another organization's run is not in the
queryset, so the API answers 404 for it exactly as for an id that does not exist."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from telephony.imports import services as import_services
from telephony.models import ImportRun


def import_runs_for(user: Any) -> QuerySet[ImportRun]:
    return import_services.runs_for(user).select_related("organization", "tenant")


# What a list of runs shows (with its status's label: portal/api/serializers_imports.SUMMARY_FIELDS).
SUMMARY_COLUMNS = (
    "id",
    "kind",
    "mode",
    "organization",
    "tenant",
    "file_name",
    "status",
    "message",
    "row_count",
    "create_count",
    "update_count",
    "skip_count",
    "error_count",
    "failed_row_count",
    "skip_invalid",
    "batch",
    "created_at",
    "finished_at",
)


def import_run_summaries_for(user: Any) -> QuerySet[ImportRun]:
    """The same runs with what a list shows only: not the file, the rows to fix (up to 32 MB each),
    the preview and the errors, nor the organization's and tenant's rows (a list gives their ids)."""
    return import_services.runs_for(user).only(*SUMMARY_COLUMNS)
