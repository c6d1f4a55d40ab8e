"""A mirrored row's sync state, derived from its jobs: failed if one failed, pending while one
waits or runs, in sync otherwise."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from telephony.models import JobStatus, ProvisioningJob, SyncState


def refresh_sync_state(type_id: int, object_id: int) -> None:
    model = ContentType.objects.get_for_id(type_id).model_class()
    if model is None or not hasattr(model, "sync_state"):
        return
    jobs = ProvisioningJob.objects.filter(target_type_id=type_id, target_id=object_id)
    failed = jobs.filter(status=JobStatus.FAILED).order_by("-id").values_list("last_error", flat=True).first()
    if failed is not None:
        state, message = SyncState.FAILED, failed
    elif jobs.filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING)).exists():
        waiting = (
            jobs.filter(status=JobStatus.PENDING).exclude(last_error="").values_list("last_error", flat=True).first()
        )
        state, message = SyncState.PENDING, waiting or ""
    else:
        state, message = SyncState.IN_SYNC, ""
    model._default_manager.filter(pk=object_id).update(sync_state=state, sync_message=message[:1000])
