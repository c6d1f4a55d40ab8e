"""Draining a server's queue: one task runs a server's due jobs one after another, claiming each
the way a job's own task does, for a bulk change that would otherwise send the broker one message
per job and pay its round trip between every two jobs.

`dispatch` sends drains instead of job messages when many jobs of one server go out at once (a
bulk import's commit, the users a new entity was holding back, the sweep). As many drains go out
as the server has slots. A drain whose server is busy comes back after the wait a job would have
(`runner.slot_wait`), unless a slot frees within a moment (`BUSY_PAUSES`): the server is often busy
only while a fellow drain hands over to its successor. One that finds no job it may run ends.

Nothing about a job's guarantees changes: each job is claimed in its own transaction under the
server's limit, checked against its earlier jobs, run under a lease and recorded as its own task
would. A drain that dies leaves its running job to the lease and the sweep, and the jobs it had
not reached are pending and marked dispatched: the sweep sends them again once that mark is older
than PROVISIONING_REDISPATCH_AFTER_SECONDS. A live drain renews the mark as it goes, so that the
sweep does not send them beside it.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from telephony.models import JobAttempt, JobStatus, ProvisioningJob
from telephony.provisioning import rows, runner, verification
from telephony.provisioning.dispatch import send_drains
from telephony.provisioning.job_statements import next_due

DRAIN_SECONDS = 20.0  # a drain hands over to a fresh task after this long (fairness, time limits)
CANDIDATES = 25  # due jobs looked at per claim: beyond the first, those with no attempt left
# Seconds a drain waits before asking a busy server again, before it goes back to the broker for
# the backlog's wait (which is up to a minute: meanwhile the server runs a slot short).
BUSY_PAUSES = (0.1, 0.3, 0.6)


def drain_server(server_id: int) -> str:
    """Run the server's due jobs until none can be claimed, or hand over to a new drain after
    DRAIN_SECONDS (half the sweep's patience at most); returns what happened (for logs and tests).
    A drain that finds nothing left asks for the scan that reads back what the server's drains
    pushed unseen (verification.after_drain)."""
    seconds = min(DRAIN_SECONDS, settings.PROVISIONING_REDISPATCH_AFTER_SECONDS / 2)
    deadline = time.monotonic() + seconds
    ran = 0
    draining = runner.DRAINING.set(True)
    try:
        while time.monotonic() < deadline:
            claimed = claim_next(server_id)
            if claimed == BUSY:
                claimed = _claim_after_a_moment(server_id)
            if claimed == BUSY:
                send_drains(server_id, 1, countdown=runner.slot_wait(server_id))
                return f"server busy after {ran} jobs"
            if claimed == IDLE:
                return f"drained after {ran} jobs; {verification.after_drain(server_id)}"
            runner.run_claimed(*claimed)
            ran += 1
    finally:
        runner.DRAINING.reset(draining)
    renew_dispatch_marks(server_id)
    send_drains(server_id, 1)
    return f"continued after {ran} jobs"


BUSY, IDLE = "busy", "idle"


def _claim_after_a_moment(server_id: int) -> tuple[ProvisioningJob, JobAttempt] | str:
    """Ask a busy server again after each of BUSY_PAUSES; BUSY if it stays busy throughout."""
    claimed = BUSY
    for pause in BUSY_PAUSES:
        time.sleep(pause)
        claimed = claim_next(server_id)
        if claimed != BUSY:
            break
    return claimed


def claim_next(server_id: int) -> tuple[ProvisioningJob, JobAttempt] | str:
    """Claim the server's oldest due job that may run now, in one transaction; BUSY when the
    server has no free slot or its due jobs are locked by another transaction for now, IDLE when
    none of its due jobs may run yet."""
    now = timezone.now()
    with transaction.atomic():
        if not runner.slot_free(server_id, now):
            return BUSY
        for _ in range(CANDIDATES):  # the first nearly always runs; one that gave up makes room
            found = next_due(server_id, now + timedelta(seconds=0.5))
            if found is None:
                if connection.features.has_select_for_update_skip_locked and next_due(
                    server_id, now + timedelta(seconds=0.5), lock=False
                ):
                    # due jobs that another transaction holds for a moment (marking them
                    # dispatched, cancelling one): not an empty queue, or they would wait for
                    # the sweep's redispatch, minutes later
                    return BUSY
                break
            job_id, earlier = found
            job = rows.job_with_context(job_id)  # locked by next_due where the database locks rows
            if job.attempts >= job.max_attempts:
                runner.give_up(job, now)
                continue
            job.first_try = job.attempts == 0 and not earlier
            return runner.start(job, now)
    return IDLE


def renew_dispatch_marks(server_id: int) -> int:
    """Mark the server's pending jobs as just dispatched: a live drain will reach them."""
    return ProvisioningJob.objects.filter(
        server_id=server_id, status=JobStatus.PENDING, dispatched_at__isnull=False
    ).update(dispatched_at=timezone.now())
