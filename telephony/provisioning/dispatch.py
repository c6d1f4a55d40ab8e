"""Handing job ids to Celery. A failed hand-over loses nothing: the job stays pending in the
database and the periodic sweep hands it over again."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger("telephony.provisioning")


def dispatch_on_commit(job_ids: list[int]) -> None:
    """Dispatch the jobs once the surrounding transaction commits (never before: a worker must
    find the rows)."""
    ids = list(job_ids)
    transaction.on_commit(lambda: dispatch(ids))


def dispatch(job_ids: Iterable[int], *, countdown: float = 0.0) -> int:
    """Send each job to the broker; returns how many were sent. Broker errors are logged, not
    raised: the caller's change is already committed and the sweep will retry the hand-over."""
    from telephony.models import ProvisioningJob
    from telephony.tasks import run_provisioning_job

    sent = []
    for job_id in job_ids:
        try:
            run_provisioning_job.apply_async((job_id,), countdown=countdown or None, retry=False)
        except Exception as exc:  # the broker is unreachable: the sweep dispatches later
            logger.warning("could not dispatch provisioning job %s: %s", job_id, exc)
            break
        sent.append(job_id)
    if sent:
        ProvisioningJob.objects.filter(pk__in=sent).update(dispatched_at=timezone.now())
    return len(sent)


def dispatch_later(job_id: int, seconds: float) -> None:
    """Re-send a job after a delay, with a little jitter so that waiting jobs do not move in step."""
    dispatch([job_id], countdown=max(0.05, seconds * random.uniform(0.8, 1.2)))  # noqa: S311
