"""A mirrored row's sync state, derived from its jobs: failed if one failed, pending while one
waits or runs; with none left, what the last push saw when it read the row back (verified or
drifted), or "pushed" when it could not look."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from telephony.models import SEEN_STATES, JobStatus, ProvisioningJob, SyncState, WaitState
from telephony.provisioning import job_statements
from telephony.provisioning.rows import update_row


def refresh_sync_state(
    type_id: int,
    object_id: int,
    *,
    pushed: bool = False,
    seen: dict[str, str] | None = None,
    also: dict[str, object] | None = None,
) -> int | None:
    """Set the row's state from its unfinished jobs; with none left, from what the push that just
    succeeded saw of it (`seen`), else "pushed" (`pushed`: a push just succeeded unseen).

    `also`: more of the row's fields, written in the same UPDATE after a push; returns the rows that
    UPDATE changed, or None when `also` was not written (the caller writes it)."""
    model = ContentType.objects.get_for_id(type_id).model_class()
    if model is None or not hasattr(model, "sync_state"):
        return None
    also = also or {}
    unfinished = job_statements.unfinished_of(f"{model._meta.model_name}:{object_id}")
    failed = [error for status, error, _ in unfinished if status == JobStatus.FAILED]
    waiting = [error for status, error, _ in unfinished if status == JobStatus.PENDING and error]
    blocked = sum(1 for status, _, why in unfinished if status == JobStatus.PENDING and why == WaitState.FAILED)
    if failed:
        state, message = SyncState.FAILED, failed[-1] or "A change failed."
        if blocked:
            message += f" {blocked} later change(s) wait until it is retried or cancelled."
    elif unfinished:
        state, message = SyncState.PENDING, waiting[-1] if waiting else ""
    elif seen is not None:  # the push was followed by a read of what it pushed
        state, message = seen["state"], seen.get("message", "")
        if state == SyncState.VERIFIED:
            also = {"verified_at": timezone.now(), **also}
    elif pushed:
        state, message = SyncState.IN_SYNC, ""
    elif _creation_cancelled(model, object_id):
        state, message = (
            SyncState.FAILED,
            "Not on the PBX: its creation was cancelled. Change and save it to try again.",
        )
    else:  # nothing left to push: what a read of the PBX last saw stands
        rows = model._default_manager.filter(pk=object_id)
        rows.exclude(sync_state__in=SEEN_STATES).update(sync_state=SyncState.IN_SYNC, sync_message="")
        return None
    return update_row(model, object_id, {"sync_state": state, "sync_message": message[:1000], **also})


def _creation_cancelled(model, object_id: int) -> bool:
    """The row's create was cancelled and nothing of it succeeded: the PBX does not hold it."""
    jobs = ProvisioningJob.objects.filter(target_key=f"{model._meta.model_name}:{object_id}")
    cancelled = jobs.filter(operation__endswith=".create", status=JobStatus.CANCELLED).exists()
    return cancelled and not jobs.filter(status=JobStatus.SUCCEEDED).exists()
