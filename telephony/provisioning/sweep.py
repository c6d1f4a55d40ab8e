"""The periodic sweep: whatever the broker lost or a dead worker left behind goes out again.

- A running job whose lease ran out belonged to a worker that died: it goes back to pending.
- A pending job that is due and was never handed to the broker (it was down at commit time), or
  was handed over long ago without being run, is dispatched again.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from telephony.models import JobAttempt, JobStatus, ProvisioningJob
from telephony.provisioning.dispatch import dispatch

SWEEP_LIMIT = 5000


def sweep() -> dict[str, int]:
    now = timezone.now()
    with transaction.atomic():
        lost = list(
            ProvisioningJob.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.RUNNING, lease_expires_at__lt=now)
            .values_list("id", flat=True)[:SWEEP_LIMIT]
        )
        if lost:
            ProvisioningJob.objects.filter(pk__in=lost).update(
                status=JobStatus.PENDING,
                lease_expires_at=None,
                next_attempt_at=now,
                dispatched_at=None,
                last_error="The worker running this job stopped; it will run again.",
            )
            JobAttempt.objects.filter(job_id__in=lost, outcome="running").update(
                outcome="lost", finished_at=now, error="The worker stopped before it finished."
            )
    stale = now - timedelta(seconds=settings.PROVISIONING_REDISPATCH_AFTER_SECONDS)
    due = list(
        ProvisioningJob.objects.filter(status=JobStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale))
        .order_by("id")
        .values_list("id", flat=True)[:SWEEP_LIMIT]
    )
    sent = dispatch(due) if due else 0
    return {"recovered": len(lost), "due": len(due), "dispatched": sent}
