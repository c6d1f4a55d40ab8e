"""A server's concurrency limit is shared by its jobs and its drift scans: a running scan reads
the PBX one page at a time and holds one slot while it does."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from telephony.models import DriftScan, JobStatus, ProvisioningJob, ScanStatus


def scans_running(server_id: int) -> int:
    """Scans of the server that run now (one that ran past the stale limit died with its worker)."""
    alive = timezone.now() - timedelta(seconds=settings.DRIFT_SCAN_STALE_SECONDS)
    return DriftScan.objects.filter(server_id=server_id, status=ScanStatus.RUNNING, started_at__gt=alive).count()


def jobs_running(server_id: int) -> int:
    return ProvisioningJob.objects.filter(
        server_id=server_id, status=JobStatus.RUNNING, lease_expires_at__gt=timezone.now()
    ).count()


def slot_free_for_a_scan(server_id: int) -> bool:
    """Room on the server for a scan (the caller holds the server row's lock)."""
    return jobs_running(server_id) + scans_running(server_id) < settings.PROVISIONING_SERVER_CONCURRENCY
