"""Scheduled drift scans: each server is read back every DRIFT_SCAN_INTERVAL_MINUTES. The beat asks
every minute which servers are due (their last scan began longer ago than the interval) and hands
a few of them to the queue, oldest first, so that the scans of many servers spread out instead of
all starting at once."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from telephony import queue
from telephony.models import ScanTrigger, Server

PER_TICK = 2  # servers handed over per minute: 120 an hour, spread over the interval


def due_servers(*, limit: int = PER_TICK) -> list[int]:
    """The servers whose scheduled scan is due, the longest waiting first."""
    minutes = settings.DRIFT_SCAN_INTERVAL_MINUTES
    if minutes <= 0:
        return []
    before = timezone.now() - timedelta(minutes=minutes)
    servers = (
        Server.objects.filter(platform__is_active=True, tenants__isnull=False)
        .annotate(last=Max("drift_scans__started_at"))
        .filter(Q(last__isnull=True) | Q(last__lt=before))
        .order_by("last", "pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    return list(servers[:limit])


def send_due_scans() -> int:
    sent = 0
    for server_id in due_servers():
        queue.send(queue.SCAN_SERVER, server_id, None, ScanTrigger.SCHEDULE, None)
        sent += 1
    return sent
