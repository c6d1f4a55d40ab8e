"""A mirrored row's sync state, derived from its jobs: failed if one failed, pending while one
waits or runs, in sync otherwise."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from telephony.models import JobStatus, ProvisioningJob, SyncState, WaitState


def refresh_sync_state(type_id: int, object_id: int) -> None:
    model = ContentType.objects.get_for_id(type_id).model_class()
    if model is None or not hasattr(model, "sync_state"):
        return
    unfinished = list(  # one query: a target has few unfinished jobs
        ProvisioningJob.objects.filter(
            target_key=f"{model._meta.model_name}:{object_id}",  # indexed, unlike (target_type, target_id)
            status__in=(JobStatus.FAILED, JobStatus.PENDING, JobStatus.RUNNING),
        )
        .order_by("id")
        .values_list("status", "last_error", "waiting_for")
    )
    failed = [error for status, error, _ in unfinished if status == JobStatus.FAILED]
    waiting = [error for status, error, _ in unfinished if status == JobStatus.PENDING and error]
    blocked = sum(1 for status, _, why in unfinished if status == JobStatus.PENDING and why == WaitState.FAILED)
    if failed:
        state, message = SyncState.FAILED, failed[-1] or "A change failed."
        if blocked:
            message += f" {blocked} later change(s) wait until it is retried or cancelled."
    elif unfinished:
        state, message = SyncState.PENDING, waiting[-1] if waiting else ""
    else:
        state, message = SyncState.IN_SYNC, ""
    model._default_manager.filter(pk=object_id).update(sync_state=state, sync_message=message[:1000])
