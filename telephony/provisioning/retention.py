"""How long finished jobs stay: succeeded jobs and their HTTP exchanges older than
JOB_RETENTION_DAYS leave the jobs table, so that it grows with the objects, not with time.

A succeeded job is removed only when a newer succeeded job of the same object and operation is
kept: the engine reads the newest one of each (the identity a create learnt, that a tenant's create
went through, the CTI credentials an upsert made), so those stay, with their attempts' exchanges
dropped once old. Failed, cancelled and waiting jobs stay whatever their age: someone must look at
them. The audit log keeps the history of every change; removing a job removes no audit entry."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from telephony.models import JobAttempt, JobStatus, ProvisioningJob

CHUNK = 2_000  # jobs per transaction: a short lock, whatever the backlog


def remove_old_jobs(*, days: int | None = None, chunk: int = CHUNK) -> dict[str, int]:
    """Remove the succeeded jobs older than `days` (JOB_RETENTION_DAYS unless given; 0 keeps
    everything) that a newer succeeded job of the same object and operation stands for, and the
    attempts (with their HTTP exchanges) of the old ones that stay. Returns what it removed."""
    days = settings.JOB_RETENTION_DAYS if days is None else days
    if days <= 0:
        return {"jobs": 0, "attempts": 0}
    cutoff = timezone.now() - timedelta(days=days)
    old = ProvisioningJob.objects.filter(status=JobStatus.SUCCEEDED, finished_at__lt=cutoff)
    newer = ProvisioningJob.objects.filter(
        target_key=OuterRef("target_key"),
        operation=OuterRef("operation"),
        status=JobStatus.SUCCEEDED,
        id__gt=OuterRef("id"),
    )
    removed = {"jobs": delete_in_chunks(ProvisioningJob, old.filter(Exists(newer)), chunk)}
    removed["attempts"] = delete_in_chunks(JobAttempt, JobAttempt.objects.filter(job__in=old), chunk)
    return removed


def delete_in_chunks(model, rows, chunk: int = CHUNK) -> int:
    """Delete the rows a chunk of ids at a time, each chunk in a transaction of its own."""
    total = 0
    while True:
        with transaction.atomic():
            ids = list(rows.order_by("id").values_list("id", flat=True)[:chunk])
            if not ids:
                return total
            _count, by_model = model._default_manager.filter(id__in=ids).delete()
            total += by_model.get(model._meta.label, 0)
