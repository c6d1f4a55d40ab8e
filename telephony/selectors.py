"""Reads that the admin pages and the dashboard need, already scoped to the login."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from telephony.models import (
    BackendClaim,
    DriftScan,
    Entity,
    JobAttempt,
    JobStatus,
    PbxUser,
    ProvisioningJob,
    ScanStatus,
    Server,
    Tenant,
    WaitState,
)
from tenants import access
from tenants.access import CHANGE, VIEW


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


def blocked_count(user: Any) -> int:
    """Jobs that cannot run until someone retries or cancels the failed job they wait for."""
    return jobs_for(user).filter(status=JobStatus.PENDING, waiting_for=WaitState.FAILED).count()


def failure_count(user: Any, *, hours: int = 24) -> int:
    since = timezone.now() - timedelta(hours=hours)
    return jobs_for(user).filter(status=JobStatus.FAILED, finished_at__gte=since).count()


def jobs_of(obj: Any, user: Any, *, limit: int = 10) -> QuerySet[ProvisioningJob]:
    """The latest jobs of one mirrored object that the login may see (a phone number that changed
    hands, or a template shared down, also has jobs of other organizations)."""
    key = f"{obj._meta.model_name}:{obj.pk}"
    return jobs_for(user).filter(target_key=key).order_by("-id")[:limit]


def conflict_holder(job: ProvisioningJob, user: Any) -> tuple[str, Any]:
    """For a job that another portal row's claim stopped (`runner._conflict_result`), who holds that
    backend object now, as the login may know it: ("row", the row) when it may see the row,
    ("hidden", None) when the row is outside its scope, ("free", None) when nobody holds it any
    more; ("", None) for any other job."""
    conflict = job.result.get("conflict") if isinstance(job.result, dict) else None
    if not isinstance(conflict, dict) or job.platform_id is None:
        return "", None
    claim = (
        BackendClaim.objects.filter(platform_id=job.platform_id, kind=conflict.get("kind"), key=conflict.get("key"))
        .select_related("target_type")
        .first()
    )
    model = claim.target_type.model_class() if claim is not None else None
    if model is None:
        return "free", None
    row = access.restrict(model._default_manager.all(), user, VIEW).filter(pk=claim.target_id).first()
    return ("row", row) if row is not None else ("hidden", None)


def server_health(user: Any) -> list[dict[str, Any]]:
    """Per visible server: load against capacity and how its jobs are doing, counting only the
    tenants, users and jobs the login may see (a server shared down also carries other customers).
    A constant number of queries."""
    since = timezone.now() - timedelta(hours=24)
    servers = list(
        access.restrict(Server.objects.all(), user, VIEW).select_related("platform").order_by("platform__name", "name")
    )
    ids = [server.pk for server in servers]
    tenants = _count_by_server(access.restrict(Tenant.objects.filter(server__in=ids), user, VIEW), "server")
    users = _count_by_server(
        access.restrict(PbxUser.objects.filter(tenant__server__in=ids), user, VIEW), "tenant__server"
    )
    jobs = jobs_for(user).filter(server__in=ids)
    pending = _count_by_server(jobs.filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING)), "server")
    blocked = _count_by_server(jobs.filter(status=JobStatus.PENDING, waiting_for=WaitState.FAILED), "server")
    failed = _count_by_server(jobs.filter(status=JobStatus.FAILED, finished_at__gte=since), "server")
    succeeded = _count_by_server(jobs.filter(status=JobStatus.SUCCEEDED, finished_at__gte=since), "server")
    last_success = dict(
        jobs.filter(status=JobStatus.SUCCEEDED).order_by().values_list("server").annotate(last=Max("finished_at"))
    )
    states = _user_states_by_server(user, ids)
    scans = _latest_scans(user, ids)
    hour = timezone.now() - timedelta(hours=1)
    attempts = JobAttempt.objects.filter(job__in=jobs, finished_at__gte=hour).order_by()
    retried = _count_by_server(attempts.filter(outcome="retry"), "job__server")
    answered = _count_by_server(attempts.filter(outcome="succeeded"), "job__server")
    rows = []
    for server in servers:
        done = failed.get(server.pk, 0) + succeeded.get(server.pk, 0)
        scan = scans.get(server.pk)
        # every attempt of the last hour was retried and none got through: failing, though no job
        # has given up yet; so is a server the last scan could not read
        silent = bool(retried.get(server.pk)) and not answered.get(server.pk)
        unreadable = scan is not None and scan.status == ScanStatus.FAILED
        mostly_failed = done and failed.get(server.pk, 0) / done > 0.2
        if server.platform.last_check_ok is False or mostly_failed or silent or unreadable:
            health = "failing"
        elif pending.get(server.pk, 0) > 100 or failed.get(server.pk, 0) or blocked.get(server.pk, 0):
            health = "degraded"
        elif done or last_success.get(server.pk) or server.platform.last_check_ok:
            health = "healthy"
        else:
            health = "unknown"  # nothing has been pushed to it, nor has its platform been tested
        rows.append(
            {
                "server": server,
                "platform": server.platform,
                "tenants": tenants.get(server.pk, 0),
                "users": users.get(server.pk, 0),
                "pending": pending.get(server.pk, 0),
                "blocked": blocked.get(server.pk, 0),
                "failed_24h": failed.get(server.pk, 0),
                "succeeded_24h": succeeded.get(server.pk, 0),
                "last_success": last_success.get(server.pk),
                "health": health,
                "states": states.get(server.pk, {}),
                "last_scan": scan,
            }
        )
    return rows


def _user_states_by_server(user: Any, ids: list[int]) -> dict[int, dict[str, int]]:
    """The lines of each server the login may see, counted by sync state."""
    lines = access.restrict(PbxUser.objects.filter(tenant__server__in=ids), user, VIEW).order_by()
    counts: dict[int, dict[str, int]] = {}
    for server_id, state, n in lines.values_list("tenant__server", "sync_state").annotate(n=Count("id")):
        counts.setdefault(server_id, {})[state] = n
    return counts


def _latest_scans(user: Any, ids: list[int]) -> dict[int, DriftScan]:
    latest = DriftScan.objects.filter(server__in=ids).order_by().values("server").annotate(last=Max("id"))
    scans = access.restrict(DriftScan.objects.filter(pk__in=latest.values("last")), user, VIEW)
    return {scan.server_id: scan for scan in scans}


def _count_by_server(queryset: QuerySet, server_lookup: str) -> dict[int, int]:
    return dict(queryset.order_by().values_list(server_lookup).annotate(n=Count("id")))


def administrator_candidates(user: Any, entity: Entity | None) -> QuerySet:
    """Logins the user may offer as administrators of the entity: the logins of the entity's own
    customer when the user administers it, and whoever already is one (so that saving the entity
    never drops a grant silently). For a new entity, the logins the user governs (the service
    then keeps those of the chosen tenant's customer only)."""
    logins = get_user_model().objects.all()
    if entity is None or entity.pk is None:
        return access.restrict_users(logins, user, CHANGE)
    granted = Q(pk__in=entity.administrators.values("pk"))
    customer = entity.tenant.organization
    if not access.administers(user, customer):
        return logins.filter(granted)
    return logins.filter(Q(pk__in=access.logins_governed_within(logins, [customer.path]).values("pk")) | granted)
