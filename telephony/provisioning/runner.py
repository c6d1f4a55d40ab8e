"""Running one job in a worker: claim it (in order, within the server's concurrency limit, with a
lease), call the driver with no database lock held, record the outcome, schedule a retry.

Every step is safe to repeat: a job that is not pending is left alone, so a message delivered twice
runs the job once; a worker that dies leaves a lease that runs out, and the sweep puts the job
back. Drivers adopt objects that already exist, so a job re-run after a crash never duplicates.
"""

from __future__ import annotations

import logging
import os
import random
import socket
from dataclasses import asdict
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from telephony.backends.errors import (
    AlreadyExistsError,
    AuthenticationError,
    BackendError,
    NotFoundError,
    RejectedError,
    TransientError,
    UnsafeRequestError,
    UnsupportedOperation,
)
from telephony.models import JobAttempt, JobStatus, ProvisioningJob, Server
from telephony.provisioning.dispatch import dispatch, dispatch_later
from telephony.provisioning.drivers import driver_for_platform, forget_driver
from telephony.provisioning.operations import OPERATIONS
from telephony.provisioning.state import refresh_sync_state

logger = logging.getLogger("telephony.provisioning")

WAIT_FOR_EARLIER_SECONDS = 2.0
WAIT_FOR_SLOT_SECONDS = 0.5
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
    job, attempt = claimed
    platform = job.platform
    if platform is None:
        return _finish_failed(job, attempt, "The platform of this job no longer exists.", "configuration", [])
    driver = driver_for_platform(platform)
    driver.log.entries.clear()
    try:
        identity = OPERATIONS[job.operation](job, driver)
    except SoftTimeLimitExceeded:
        return _retry_or_fail(job, attempt, "The job ran out of time; it will be tried again.", "timeout", driver)
    except TransientError as error:
        return _retry_or_fail(job, attempt, str(error), "transient", driver)
    except AuthenticationError as error:
        forget_driver(platform.pk)
        if not _had_authentication_failure(job):
            return _retry_now(job, attempt, f"Authentication failed, logging in again: {error}", driver)
        return _finish_failed(job, attempt, f"Authentication failed: {error}", "authentication", driver.log.as_list())
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
    now = timezone.now()
    with transaction.atomic():
        job = ProvisioningJob.objects.select_for_update().select_related("platform").filter(pk=job_id).first()
        if job is None or job.status != JobStatus.PENDING:
            return "not pending"
        if job.next_attempt_at and job.next_attempt_at > now + timedelta(seconds=0.5):
            dispatch_later(job.pk, (job.next_attempt_at - now).total_seconds())
            return "not due"
        blocker = _earlier_unfinished(job)
        if blocker is not None:
            if blocker.status == JobStatus.FAILED:
                message = f"Waiting: job #{blocker.pk} ({blocker.operation}) failed; retry or cancel it first."
                ProvisioningJob.objects.filter(pk=job.pk).update(last_error=message, dispatched_at=None)
                return "blocked by a failed job"
            dispatch_later(job.pk, WAIT_FOR_EARLIER_SECONDS)
            return "waiting for an earlier job"
        if job.server_id is not None and not _slot_free(job.server_id, now):
            dispatch_later(job.pk, WAIT_FOR_SLOT_SECONDS)
            return "server busy"
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or now
        job.lease_expires_at = now + timedelta(seconds=settings.PROVISIONING_LEASE_SECONDS)
        job.save(update_fields=["status", "attempts", "started_at", "lease_expires_at"])
        attempt = JobAttempt.objects.create(
            job=job, number=job.attempts, started_at=now, outcome="running", worker=WORKER
        )
    return job, attempt


def _earlier_unfinished(job: ProvisioningJob) -> ProvisioningJob | None:
    keys = [job.target_key, *job.wait_for]
    return (
        ProvisioningJob.objects.filter(target_key__in=keys, id__lt=job.id)
        .filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING, JobStatus.FAILED))
        .order_by("id")
        .only("id", "status", "operation")
        .first()
    )


def _slot_free(server_id: int, now) -> bool:
    """Fewer than the limit of live jobs on this server. The server row is locked while counting,
    so that claims on one server are serialised across every worker process and machine."""
    Server.objects.select_for_update().filter(pk=server_id).first()
    running = ProvisioningJob.objects.filter(
        server_id=server_id, status=JobStatus.RUNNING, lease_expires_at__gt=now
    ).count()
    return running < settings.PROVISIONING_SERVER_CONCURRENCY


def _had_authentication_failure(job: ProvisioningJob) -> bool:
    return job.attempt_log.filter(outcome="reauthenticate").exists()


def _close_attempt(attempt: JobAttempt, outcome: str, error: str, exchanges: list) -> None:
    attempt.finished_at = timezone.now()
    attempt.outcome = outcome
    attempt.error = error
    attempt.exchanges = exchanges
    attempt.save(update_fields=["finished_at", "outcome", "error", "exchanges"])


def _finish_succeeded(job: ProvisioningJob, attempt: JobAttempt, identity, exchanges: list) -> str:
    with transaction.atomic():
        ProvisioningJob.objects.filter(pk=job.pk).update(
            status=JobStatus.SUCCEEDED,
            finished_at=timezone.now(),
            lease_expires_at=None,
            last_error="",
            error_kind="",
            result={k: v for k, v in asdict(identity).items() if v not in (None, "")} if identity else {},
        )
        _close_attempt(attempt, "succeeded", "", exchanges)
        refresh_sync_state(job.target_type_id, job.target_id)
    _wake_next(job)
    return "succeeded"


def _finish_failed(job: ProvisioningJob, attempt: JobAttempt, message: str, kind: str, exchanges: list) -> str:
    with transaction.atomic():
        ProvisioningJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            lease_expires_at=None,
            last_error=message,
            error_kind=kind,
        )
        _close_attempt(attempt, "failed", message, exchanges)
        refresh_sync_state(job.target_type_id, job.target_id)
    logger.warning("provisioning job %s failed: %s", job.pk, message)
    return "failed"


def _retry_or_fail(job: ProvisioningJob, attempt: JobAttempt, message: str, kind: str, driver) -> str:
    if job.attempts >= job.max_attempts:
        return _finish_failed(
            job, attempt, f"Gave up after {job.attempts} attempts: {message}", kind, driver.log.as_list()
        )
    delay = backoff_seconds(job.attempts)
    with transaction.atomic():
        ProvisioningJob.objects.filter(pk=job.pk).update(
            status=JobStatus.PENDING,
            lease_expires_at=None,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            last_error=f"Retrying in {delay:.0f} s: {message}",
            error_kind=kind,
        )
        _close_attempt(attempt, "retry", message, driver.log.as_list())
        refresh_sync_state(job.target_type_id, job.target_id)
    dispatch([job.pk], countdown=delay)
    return "retry"


def _retry_now(job: ProvisioningJob, attempt: JobAttempt, message: str, driver) -> str:
    with transaction.atomic():
        ProvisioningJob.objects.filter(pk=job.pk).update(
            status=JobStatus.PENDING, lease_expires_at=None, next_attempt_at=timezone.now(), last_error=message
        )
        _close_attempt(attempt, "reauthenticate", message, driver.log.as_list())
    dispatch([job.pk])
    return "reauthenticate"


def _wake_next(job: ProvisioningJob) -> None:
    """Dispatch at once the next jobs that were waiting for this one (instead of their timer)."""
    key = job.target_key
    waiting = list(
        ProvisioningJob.objects.filter(status=JobStatus.PENDING, id__gt=job.id)
        .filter(Q(target_key=key))
        .order_by("id")
        .values_list("id", flat=True)[:1]
    )
    if waiting:
        dispatch(waiting)
