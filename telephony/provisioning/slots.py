"""A server's concurrency limit is shared by its jobs and its drift scans: a running scan holds the
slots it took when it started (its `readers`), one per call it may have in flight at once."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from telephony.models import DriftScan, JobStatus, ProvisioningJob, ScanStatus


def scans_running(server_id: int) -> int:
    """Slots the server's running scans hold (a scan that ran past the stale limit died with its worker)."""
    alive = timezone.now() - timedelta(seconds=settings.DRIFT_SCAN_STALE_SECONDS)
    running = DriftScan.objects.filter(server_id=server_id, status=ScanStatus.RUNNING, started_at__gt=alive)
    return running.aggregate(held=Sum("readers"))["held"] or 0


def jobs_running(server_id: int) -> int:
    return ProvisioningJob.objects.filter(
        server_id=server_id, status=JobStatus.RUNNING, lease_expires_at__gt=timezone.now()
    ).count()


def slots_free_for_a_scan(server_id: int) -> int:
    """Slots a scan may take on the server now, at most DRIFT_SCAN_READERS (the caller holds the
    server row's lock). A scan leaves the rest to its jobs."""
    free = settings.PROVISIONING_SERVER_CONCURRENCY - jobs_running(server_id) - scans_running(server_id)
    return max(0, min(free, settings.DRIFT_SCAN_READERS))
