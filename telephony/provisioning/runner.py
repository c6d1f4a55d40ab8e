"""Running one job in a worker: claim it (in order, within the server's concurrency limit, with a
lease), call the driver with no database lock held, record the outcome, schedule a retry.

Every step is safe to repeat: a job that is not pending is left alone, so a message delivered twice
runs the job once; a worker that dies leaves a lease that runs out, and the sweep puts the job
back. Drivers adopt objects that already exist, so a job re-run after a crash never duplicates. An
outcome is recorded only while the job is still the attempt's own (status running, same attempt
number): a run that outlived its lease cannot overwrite the run that replaced it.

A job that cannot run yet goes back to the broker with a delay, and is woken sooner by whatever it
waits for: a finished job wakes the next job of its target and the jobs that wait for its target,
and hands its server slot to the oldest job waiting for one.
"""

from __future__ import annotations

import logging
import os
import random
import socket
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from telephony.backends.base import backend_ref
from telephony.backends.errors import (
    AlreadyExistsError,
    AuthenticationError,
    BackendError,
    ConflictError,
    NotFoundError,
    RejectedError,
    TransientError,
    UnsafeRequestError,
    UnsupportedOperation,
)
from telephony.models import JobAttempt, JobStatus, ProvisioningJob, WaitState
from telephony.provisioning import rows
from telephony.provisioning.configurator_operations import WITHOUT_PLATFORM, ServiceCall
from telephony.provisioning.dispatch import dispatch, dispatch_later, jobs_waiting_for
from telephony.provisioning.drivers import driver_for_platform, forget_driver
from telephony.provisioning.job_statements import slots_taken
from telephony.provisioning.operations import OPERATIONS, apply_identity, identity_learnt
from telephony.provisioning.state import refresh_sync_state
from telephony.provisioning.verification import DRAINING
from telephony.webhooks import events as webhook_events

logger = logging.getLogger("telephony.provisioning")

WAIT_FOR_EARLIER_SECONDS = 2.0
WAIT_FOR_SLOT_SECONDS = 0.5
MAX_WAIT_FOR_SLOT_SECONDS = 60.0
SLOT_WAIT = "Waiting for a free slot on its server."
LEASE_LOST = "lease lost"
WORKER = f"{socket.gethostname()}:{os.getpid()}"


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter, bounded so that it stays below the broker's visibility
    timeout: base · 2^(attempt-1), capped, then a random share of it (at least a tenth)."""
    ceiling = min(
        settings.PROVISIONING_BACKOFF_MAX_SECONDS, settings.PROVISIONING_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)
    )
    return max(0.1, random.uniform(ceiling / 10, ceiling))  # noqa: S311


def run_job(job_id: int) -> str:
    """Run one job if it is due; returns what happened (for logs and tests)."""
    claimed = _claim(job_id)
    if isinstance(claimed, str):
        return claimed
    return run_claimed(*claimed)


def run_claimed(job: ProvisioningJob, attempt: JobAttempt) -> str:
    """Call the driver for a job this worker has claimed (`_claim`, `drain.claim_next`), and record
    the outcome."""
    platform = job.platform
    if platform is None and job.operation not in WITHOUT_PLATFORM:
        return _finish_failed(job, attempt, "The platform of this job no longer exists.", "configuration", [])
    driver = driver_for_platform(platform) if platform is not None else ServiceCall()
    driver.log.clear()
    attempt.log = driver.log  # its count of calls is recorded with the outcome
    try:
        identity = OPERATIONS[job.operation](job, driver)
    except SoftTimeLimitExceeded:
        return _retry_or_fail(job, attempt, "The job ran out of time; it will be tried again.", "timeout", driver)
    except TransientError as error:
        return _retry_or_fail(job, attempt, str(error), "transient", driver)
    except AuthenticationError as error:
        if platform is not None:
            forget_driver(platform.pk)
        if not _had_authentication_failure(job):
            return _retry_now(job, attempt, f"Authentication failed, logging in again: {error}", driver)
        return _finish_failed(job, attempt, f"Authentication failed: {error}", "authentication", driver.log.as_list())
    except ConflictError as error:
        return _finish_failed(
            job, attempt, f"Conflict: {error}", "conflict", driver.log.as_list(), result=_conflict_result(error)
        )
    except NotFoundError as error:
        return _finish_failed(job, attempt, f"Not found on the backend: {error}", "not_found", driver.log.as_list())
    except (RejectedError, AlreadyExistsError, UnsupportedOperation, UnsafeRequestError) as error:
        return _finish_failed(job, attempt, str(error), type(error).__name__, driver.log.as_list())
    except BackendError as error:
        return _finish_failed(job, attempt, str(error), "backend", driver.log.as_list())
    except Exception as error:  # a bug must not leave the job running until its lease runs out
        logger.exception("provisioning job %s failed unexpectedly", job.pk)
        return _finish_failed(job, attempt, f"Internal error: {error!r}", "internal", driver.log.as_list())
    return _finish_succeeded(job, attempt, identity, driver.log.as_list())


def _claim(job_id: int):
    """Take the job (row-locked) if it is due, its earlier jobs are done and its server has a free
    slot; otherwise say why and hand it back to the broker for later. The hand-over happens after
    the transaction, so that no lock is held while talking to the broker."""
    now = timezone.now()
    later = None
    with transaction.atomic():
        job = (
            ProvisioningJob.objects.select_for_update(of=("self",))  # lock the job only, not what it joins
            .select_related("platform", "tenant__server", "tenant__organization")
            .filter(pk=job_id)
            .first()
        )
        if job is None or job.status != JobStatus.PENDING:
            return "not pending"
        if job.next_attempt_at and job.next_attempt_at > now + timedelta(seconds=0.5):
            outcome, later = "not due", (job.next_attempt_at - now).total_seconds()
        elif (blocker := earlier_unfinished(job)) is not None:
            if blocker.status == JobStatus.FAILED:
                # Parked: the failed job's success after a retry wakes it (_wake_waiting), its
                # cancellation releases the next job of its target (services.jobs); otherwise the
                # sweep looks at it again after PROVISIONING_REDISPATCH_AFTER_SECONDS.
                message = f"Waiting: job #{blocker.pk} ({blocker.operation}) failed; retry or cancel it first."
                ProvisioningJob.objects.filter(pk=job.pk).update(
                    last_error=message, dispatched_at=now, waiting_for=WaitState.FAILED
                )
                refresh_sync_state(job.target_type_id, job.target_id)
                return "blocked by a failed job"
            outcome, later = "waiting for an earlier job", _wait_for(blocker, now)
            if job.waiting_for != WaitState.EARLIER:
                ProvisioningJob.objects.filter(pk=job.pk).update(waiting_for=WaitState.EARLIER)
        elif job.server_id is not None and not slot_free(job.server_id, now):
            ProvisioningJob.objects.filter(pk=job.pk).update(  # see _hand_over_slot
                last_error=SLOT_WAIT, waiting_for=WaitState.SLOT
            )
            outcome, later = "server busy", slot_wait(job.server_id)
        elif job.attempts >= job.max_attempts:
            # A worker died during the last attempt, or a re-login was granted on it: no attempt
            # beyond the maximum (a person's retry grants more).
            give_up(job, now)
            return "gave up"
        else:
            return start(job, now)
    dispatch_later(job_id, later)
    return outcome


def start(job: ProvisioningJob, now) -> tuple[ProvisioningJob, JobAttempt]:
    """Mark a claimed job running under a lease, with its attempt (inside the claim's transaction)."""
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.started_at = job.started_at or now
    job.lease_expires_at = now + timedelta(seconds=settings.PROVISIONING_LEASE_SECONDS)
    job.last_error = "" if job.waiting_for in (WaitState.SLOT, WaitState.FAILED) else job.last_error
    job.waiting_for = WaitState.NONE
    fields = ("status", "attempts", "started_at", "lease_expires_at", "last_error", "waiting_for")
    rows.update_row(ProvisioningJob, job.pk, {name: getattr(job, name) for name in fields})
    attempt = JobAttempt(job=job, number=job.attempts, started_at=now, outcome="running", worker=WORKER)
    rows.insert_instance(attempt)
    return job, attempt


def give_up(job: ProvisioningJob, now) -> None:
    """No attempt is left: the job fails with the reason of its last one."""
    reason = job.last_error or "no reason recorded"
    job.status, job.finished_at = JobStatus.FAILED, now
    job.last_error = f"Gave up after {job.attempts} attempts: {reason}"[:10000]
    job.waiting_for = WaitState.NONE
    job.save(update_fields=["status", "finished_at", "last_error", "waiting_for"])
    refresh_sync_state(job.target_type_id, job.target_id)
    webhook_events.job_finished(job, status=JobStatus.FAILED)


def _wait_for(blocker: ProvisioningJob, now) -> float:
    """How long to wait for an earlier job: until its next attempt when it waits for one (a
    backoff can be minutes), else a short while. Its success wakes the waiting jobs sooner."""
    if blocker.status == JobStatus.PENDING and blocker.next_attempt_at and blocker.next_attempt_at > now:
        return max(WAIT_FOR_EARLIER_SECONDS, (blocker.next_attempt_at - now).total_seconds() + 0.5)
    return WAIT_FOR_EARLIER_SECONDS


def earlier_unfinished(job: ProvisioningJob) -> ProvisioningJob | None:
    # The keys are read first, not joined in: a list of keys keeps the lookup on job_target_order.
    keys = [job.target_key, *job.dependencies.values_list("target_key", flat=True)]
    return (
        ProvisioningJob.objects.filter(target_key__in=keys, id__lt=job.id)
        .filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING, JobStatus.FAILED))
        .order_by("id")
        .only("id", "status", "operation", "next_attempt_at")
        .first()
    )


def slot_free(server_id: int, now) -> bool:
    """Fewer than the limit of live jobs on this server. The server row is locked while counting,
    so that claims on one server are serialised across every worker process and machine. (SQLite
    has no row locks: there the claim's BEGIN IMMEDIATE already serialises every writer.)"""
    taken = slots_taken(server_id, now, lock=connection.features.has_select_for_update)
    return taken < settings.PROVISIONING_SERVER_CONCURRENCY


def slot_wait(server_id: int) -> float:
    """How long a job waits when its server is busy: about as long as the jobs ahead of it need,
    within bounds. It is the fallback only: a job that finishes hands its slot to the oldest job
    waiting for one. Without that, every worker thread beyond the limit would keep bouncing the
    whole backlog through the broker and the database twice a second."""
    waiting = ProvisioningJob.objects.filter(server_id=server_id, status=JobStatus.PENDING).count()
    share = WAIT_FOR_SLOT_SECONDS * waiting / max(1, settings.PROVISIONING_SERVER_CONCURRENCY)
    return min(MAX_WAIT_FOR_SLOT_SECONDS, max(WAIT_FOR_SLOT_SECONDS, share))


def _hand_over_slot(job: ProvisioningJob) -> None:
    """The job's slot on its server is free: dispatch the oldest due job that is waiting for one
    (taking its mark first, so that the next finishing job wakes another one). A drain keeps the
    slot: it claims the server's next due job itself."""
    if job.server_id is None or DRAINING.get():
        return
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
    waiting = ProvisioningJob.objects.filter(
        server_id=job.server_id, status=JobStatus.PENDING, waiting_for=WaitState.SLOT
    )
    for candidate in waiting.filter(due).order_by("id").values_list("id", flat=True)[:3]:
        if ProvisioningJob.objects.filter(pk=candidate, waiting_for=WaitState.SLOT).update(
            waiting_for=WaitState.NONE, last_error=""
        ):
            dispatch([candidate])
            return


def _had_authentication_failure(job: ProvisioningJob) -> bool:
    return job.attempt_log.filter(outcome="reauthenticate").exists()


ATTEMPT_OUTCOME = ("finished_at", "outcome", "error", "exchanges", "calls")


def _settle(
    job: ProvisioningJob, attempt: JobAttempt, outcome: str, error: str, exchanges: list, identity=None, **fields
) -> bool:
    """Record how an attempt ended, in one transaction, if the job is still this attempt's. A run
    that outlived its lease may have been given to another worker by the sweep: it must not
    overwrite that run's state (False: nothing was written)."""
    with transaction.atomic():
        mine = rows.update_row(
            ProvisioningJob,
            job.pk,
            {"lease_expires_at": None, **fields},
            where={"status": JobStatus.RUNNING, "attempts": job.attempts},
        )
        if not mine:
            logger.warning(
                "provisioning job %s: attempt %s outlived its lease; its outcome is dropped", job.pk, attempt.number
            )
            return False
        ownership = getattr(job, "ownership", None)
        if outcome == "succeeded" and ownership is not None:
            ownership.write_deferred()  # IntegrityError: another row holds the key (_finish_succeeded)
        learnt = identity_learnt(job, identity)
        attempt.finished_at = timezone.now()
        attempt.outcome = outcome
        attempt.error = error
        attempt.exchanges = exchanges
        log = getattr(attempt, "log", None)
        attempt.calls = log.call_count if log is not None else len(exchanges)
        rows.update_row(JobAttempt, attempt.pk, {name: getattr(attempt, name) for name in ATTEMPT_OUTCOME})
        succeeded = outcome == "succeeded"
        seen = getattr(job, "seen", None) if succeeded else None
        also = {"backend_ref": learnt[2]} if learnt else None  # one UPDATE of the row, not two
        written = refresh_sync_state(job.target_type_id, job.target_id, pushed=succeeded, seen=seen, also=also)
        apply_identity(job, learnt, written=written)
        if fields.get("status") in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            webhook_events.job_finished(job, status=fields["status"])
    return True


def _finish_succeeded(job: ProvisioningJob, attempt: JobAttempt, identity, exchanges: list) -> str:
    result = backend_ref(**identity) if identity else {}
    if getattr(job, "seen", None):
        result["seen"] = job.seen  # what the read after the push found
    fields = {"status": JobStatus.SUCCEEDED, "finished_at": timezone.now(), "last_error": "", "error_kind": ""}
    try:
        settled = _settle(job, attempt, "succeeded", "", exchanges, identity=identity, result=result, **fields)
    except IntegrityError:  # rolled back: the job is still this attempt's, and it failed
        ownership = getattr(job, "ownership", None)
        if ownership is None or not ownership.deferred:
            raise
        refusal = ownership.refusal()
        result = _conflict_result(refusal)
        return _finish_failed(job, attempt, f"Conflict: {refusal}", "conflict", exchanges, result=result)
    if not settled:
        return LEASE_LOST
    _hand_over_slot(job)
    _wake_waiting(job)
    return "succeeded"


def _conflict_result(error: ConflictError) -> dict | None:
    """What a job that another row's claim stopped keeps of it: the backend object's kind and key,
    for the job's page to show staff which row holds it (`selectors.conflict_holder`)."""
    return {"conflict": {"kind": error.claim[0], "key": error.claim[1]}} if error.claim else None


def _finish_failed(
    job: ProvisioningJob, attempt: JobAttempt, message: str, kind: str, exchanges: list, *, result: dict | None = None
) -> str:
    fields = {"status": JobStatus.FAILED, "finished_at": timezone.now(), "last_error": message, "error_kind": kind}
    if result is not None:
        fields["result"] = result
    if not _settle(job, attempt, "failed", message, exchanges, **fields):
        return LEASE_LOST
    _hand_over_slot(job)
    logger.warning("provisioning job %s failed: %s", job.pk, message)
    return "failed"


def _retry_or_fail(job: ProvisioningJob, attempt: JobAttempt, message: str, kind: str, driver) -> str:
    if job.attempts >= job.max_attempts:
        return _finish_failed(
            job, attempt, f"Gave up after {job.attempts} attempts: {message}", kind, driver.log.as_list()
        )
    delay = backoff_seconds(job.attempts)
    fields = {
        "status": JobStatus.PENDING,
        "next_attempt_at": timezone.now() + timedelta(seconds=delay),
        "last_error": f"Retrying in {delay:.0f} s: {message}",
        "error_kind": kind,
    }
    if not _settle(job, attempt, "retry", message, driver.log.as_list(), **fields):
        return LEASE_LOST
    _hand_over_slot(job)
    dispatch([job.pk], countdown=delay)
    return "retry"


def _retry_now(job: ProvisioningJob, attempt: JobAttempt, message: str, driver) -> str:
    fields = {"status": JobStatus.PENDING, "next_attempt_at": timezone.now(), "last_error": message}
    if not _settle(job, attempt, "reauthenticate", message, driver.log.as_list(), **fields):
        return LEASE_LOST
    _hand_over_slot(job)
    dispatch([job.pk])
    return "reauthenticate"


def _wake_waiting(job: ProvisioningJob) -> None:
    """Dispatch at once the jobs that were waiting for this one, instead of leaving them to their timer."""
    waiting = jobs_waiting_for(job)
    if waiting:
        dispatch(waiting)
