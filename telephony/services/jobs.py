"""Staff actions on provisioning jobs: retry a failed or cancelled job, cancel one that has not run."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telephony.models import JobStatus, ProvisioningJob
from telephony.provisioning.dispatch import dispatch_on_commit, jobs_waiting_for
from telephony.provisioning.state import refresh_sync_state
from tenants import access
from tenants.access import CHANGE

RETRY_EXTRA_ATTEMPTS = 3


@transaction.atomic
def job_retry(*, actor: AbstractBaseUser, job: ProvisioningJob) -> ProvisioningJob:
    """Put a failed or cancelled job back in the queue, with a few more attempts."""
    stored = ProvisioningJob.objects.select_for_update().get(pk=job.pk)
    access.require(actor, CHANGE, stored)
    if stored.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise ValidationError(
            _("Job #%(id)s is %(status)s; only failed or cancelled jobs are retried.")
            % {"id": stored.pk, "status": stored.get_status_display().lower()}
        )
    stored.status = JobStatus.PENDING
    stored.max_attempts = max(stored.max_attempts, stored.attempts + RETRY_EXTRA_ATTEMPTS)
    stored.next_attempt_at = timezone.now()
    stored.finished_at = None
    stored.last_error = f"Retried by {actor.get_username()}."
    stored.save(update_fields=["status", "max_attempts", "next_attempt_at", "finished_at", "last_error"])
    refresh_sync_state(stored.target_type_id, stored.target_id)
    dispatch_on_commit([stored.pk])
    _release_waiting(stored)
    return stored


@transaction.atomic
def job_cancel(*, actor: AbstractBaseUser, job: ProvisioningJob) -> ProvisioningJob:
    """Give up on a job that is waiting or failed (a running one finishes first)."""
    stored = ProvisioningJob.objects.select_for_update().get(pk=job.pk)
    access.require(actor, CHANGE, stored)
    if stored.status not in (JobStatus.PENDING, JobStatus.FAILED):
        raise ValidationError(
            _("Job #%(id)s is %(status)s; it cannot be cancelled.")
            % {"id": stored.pk, "status": stored.get_status_display().lower()}
        )
    stored.status = JobStatus.CANCELLED
    stored.finished_at = timezone.now()
    stored.last_error = f"Cancelled by {actor.get_username()}." + (
        f" Last error: {stored.last_error}" if stored.last_error else ""
    )
    stored.save(update_fields=["status", "finished_at", "last_error"])
    refresh_sync_state(stored.target_type_id, stored.target_id)
    _release_waiting(stored)
    return stored


def _release_waiting(job: ProvisioningJob) -> None:
    """Jobs that were held back by this one get another chance at once: the next job of its target
    and the jobs of other targets that wait for it (the users of an entity whose job was cancelled
    then run, and succeed or fail in the backend's own words, instead of waiting for the sweep)."""
    waiting = jobs_waiting_for(job)
    if waiting:
        dispatch_on_commit(waiting)
