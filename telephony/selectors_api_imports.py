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


def import_run_summaries_for(user: Any) -> QuerySet[ImportRun]:
    """The same runs without the file and the rows to fix (up to 32 MB each): what a list needs."""
    return import_runs_for(user).defer("content", "skipped_rows")
