"""Reads that the admin pages and the dashboard need, already scoped to the login."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from telephony.models import JobStatus, PbxUser, ProvisioningJob, Server
from tenants import access
from tenants.access import VIEW


def jobs_for(user: Any) -> QuerySet[ProvisioningJob]:
    return access.restrict(ProvisioningJob.objects.all(), user, VIEW)


def job_counts_by_status(user: Any) -> dict[str, int]:
    counts = dict(jobs_for(user).order_by().values_list("status").annotate(n=Count("id")))
    return {status: counts.get(status, 0) for status in JobStatus.values}


def recent_failures(user: Any, *, hours: int = 24, limit: int = 20) -> QuerySet[ProvisioningJob]:
    since = timezone.now() - timedelta(hours=hours)
    return (
        jobs_for(user)
        .filter(status=JobStatus.FAILED, finished_at__gte=since)
        .select_related("tenant", "platform")
        .order_by("-finished_at")[:limit]
    )


def failure_count(user: Any, *, hours: int = 24) -> int:
    since = timezone.now() - timedelta(hours=hours)
    return jobs_for(user).filter(status=JobStatus.FAILED, finished_at__gte=since).count()


def jobs_of(obj: Any, *, limit: int = 10) -> QuerySet[ProvisioningJob]:
    """The latest jobs of one mirrored object."""
    key = f"{obj._meta.model_name}:{obj.pk}"
    return ProvisioningJob.objects.filter(target_key=key).order_by("-id")[:limit]


def server_health(user: Any) -> list[dict[str, Any]]:
    """Per visible server: load against capacity and how its jobs are doing (constant queries)."""
    since = timezone.now() - timedelta(hours=24)
    servers = (
        access.restrict(Server.objects.all(), user, VIEW)
        .select_related("platform")
        .annotate(
            tenant_count=Count("tenants", distinct=True),
            pending=Count("jobs", filter=Q(jobs__status__in=(JobStatus.PENDING, JobStatus.RUNNING)), distinct=True),
            failed_24h=Count(
                "jobs", filter=Q(jobs__status=JobStatus.FAILED, jobs__finished_at__gte=since), distinct=True
            ),
            succeeded_24h=Count(
                "jobs", filter=Q(jobs__status=JobStatus.SUCCEEDED, jobs__finished_at__gte=since), distinct=True
            ),
            last_success=Max("jobs__finished_at", filter=Q(jobs__status=JobStatus.SUCCEEDED)),
        )
        .order_by("platform__name", "name")
    )
    users = dict(
        PbxUser.objects.filter(tenant__server__in=[s.pk for s in servers])
        .order_by()
        .values_list("tenant__server")
        .annotate(n=Count("id"))
    )
    rows = []
    for server in servers:
        done = server.failed_24h + server.succeeded_24h
        if server.platform.last_check_ok is False or (done and server.failed_24h / done > 0.2):
            health = "failing"
        elif server.pending > 100 or server.failed_24h:
            health = "degraded"
        else:
            health = "healthy"
        rows.append(
            {
                "server": server,
                "platform": server.platform,
                "tenants": server.tenant_count,
                "users": users.get(server.pk, 0),
                "pending": server.pending,
                "failed_24h": server.failed_24h,
                "succeeded_24h": server.succeeded_24h,
                "last_success": server.last_success,
                "health": health,
            }
        )
    return rows
