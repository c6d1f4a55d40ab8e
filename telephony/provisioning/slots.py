"""A server's concurrency limit is shared by its jobs and its drift scans: a running scan holds the
slots it took when it started (its `readers`), one per call it may have in flight at once."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from telephony.provisioning.job_statements import slots_taken


def slots_free_for_a_scan(server_id: int) -> int:
    """Slots a scan may take on the server now, at most DRIFT_SCAN_READERS (the caller holds the
    server row's lock). A scan leaves the rest to its jobs."""
    free = settings.PROVISIONING_SERVER_CONCURRENCY - slots_taken(server_id, timezone.now())
    return max(0, min(free, settings.DRIFT_SCAN_READERS))
