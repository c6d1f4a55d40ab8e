"""The REST API's reads of drift scans and their findings (portal/api/views_drift.py), each scoped to
the login as the admin scopes them: a scan is seen by the staff of its server's platform, a finding
also by its tenant's organization. Anything outside the scope is not in the queryset, so the API
answers 404 for it exactly as for an id that does not exist."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from telephony.models import DriftFinding, DriftScan, FindingKind
from tenants import access
from tenants.access import VIEW

# `?state=` of the findings list: open (no repair yet) or resolved
FINDING_STATES: dict[str, Q] = {
    "open": Q(resolved_at__isnull=True),
    "resolved": Q(resolved_at__isnull=False),
}


def drift_findings_for(user: Any) -> QuerySet[DriftFinding]:
    return access.restrict(DriftFinding.objects.all(), user, VIEW).select_related("scan")


def drift_findings_in_state(queryset: QuerySet[DriftFinding], state: str) -> QuerySet[DriftFinding]:
    return queryset.filter(FINDING_STATES[state])


def drift_scans_for(user: Any) -> QuerySet[DriftScan]:
    """Scans the login may see, each with how many of its findings the login sees are still open."""
    still_open = (
        access.restrict(DriftFinding.objects.filter(scan=OuterRef("pk"), resolved_at__isnull=True), user, VIEW)
        .order_by()
        .values("scan")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        access.restrict(DriftScan.objects.all(), user, VIEW)
        .select_related("server", "tenant")
        .annotate(open_findings=Coalesce(Subquery(still_open, output_field=IntegerField()), 0))
    )


def drift_scan_summary(user: Any, scan: DriftScan) -> dict[str, dict[str, int]]:
    """The scan's findings the login sees, by kind: how many are open and how many resolved (every
    kind named, 0 where none)."""
    rows = (
        drift_findings_for(user)
        .filter(scan=scan)
        .order_by()
        .values("kind")
        .annotate(
            open=Count("pk", filter=Q(resolved_at__isnull=True)),
            resolved=Count("pk", filter=Q(resolved_at__isnull=False)),
        )
    )
    summary = {kind: {"open": 0, "resolved": 0} for kind in FindingKind.values}
    for row in rows:
        summary[row["kind"]] = {"open": row["open"], "resolved": row["resolved"]}
    return summary
