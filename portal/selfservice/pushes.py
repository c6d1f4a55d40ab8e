"""How a provisioning job is shown to a customer: what it does in plain words, where it stands, and
why it failed. The same rows are rendered in the page and served as JSON to the page's poller."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.models import JobStatus, ProvisioningJob, SyncState

OPERATION_LABELS = {
    "tenant.create": gettext_lazy("Create tenant"),
    "tenant.start": gettext_lazy("Start tenant"),
    "tenant.stop": gettext_lazy("Stop tenant"),
    "tenant.delete": gettext_lazy("Delete tenant"),
    "entity.upsert": gettext_lazy("Save entity"),
    "entity.delete": gettext_lazy("Delete entity"),
    "user.create": gettext_lazy("Create line"),
    "user.update": gettext_lazy("Update line"),
    "user.delete": gettext_lazy("Delete line"),
    "number.assign": gettext_lazy("Add number"),
    "number.unassign": gettext_lazy("Remove number"),
    "number.pilot": gettext_lazy("Main number"),
}

# status → (word shown, Bootstrap badge class)
STATUS_BADGES = {
    JobStatus.PENDING: (gettext_lazy("pending"), "text-bg-secondary"),
    JobStatus.RUNNING: (gettext_lazy("pushing"), "text-bg-info"),
    JobStatus.SUCCEEDED: (gettext_lazy("done"), "text-bg-success"),
    JobStatus.FAILED: (gettext_lazy("failed"), "text-bg-danger"),
    JobStatus.CANCELLED: (gettext_lazy("cancelled"), "text-bg-dark"),
}
SYNC_BADGES = {
    SyncState.VERIFIED: (gettext_lazy("on the PBX"), "text-bg-success"),
    SyncState.IN_SYNC: (gettext_lazy("sent"), "text-bg-success"),
    SyncState.PENDING: (gettext_lazy("pending"), "text-bg-secondary"),
    SyncState.DRIFTED: (gettext_lazy("differs on the PBX"), "text-bg-warning"),
    SyncState.MISSING: (gettext_lazy("missing on the PBX"), "text-bg-danger"),
    SyncState.CONFLICT: (gettext_lazy("conflict"), "text-bg-danger"),
    SyncState.FAILED: (gettext_lazy("failed"), "text-bg-danger"),
}
UNFINISHED = {JobStatus.PENDING, JobStatus.RUNNING}

# Why a push failed, as a customer is told it. The backend's own words name servers, vendor ids and
# HTTP bodies: they are for staff (the admin's job pages), never for a customer.
FAILURE_NOTES = {
    "transient": gettext_lazy("The PBX did not answer. Your provider has the details."),
    "timeout": gettext_lazy("The PBX did not answer in time. Your provider has the details."),
    "authentication": gettext_lazy("The portal could not sign in to the PBX. Your provider has the details."),
    "not_found": gettext_lazy("The PBX does not hold this line any more. Your provider has the details."),
    "conflict": gettext_lazy("The PBX holds something else under this number or name. Your provider has the details."),
    "AlreadyExistsError": gettext_lazy(
        "The PBX holds something else under this number or name. Your provider has the details."
    ),
    "UnsupportedOperation": gettext_lazy("This PBX cannot make this change."),
}
FAILURE_NOTE = gettext_lazy("The PBX refused this change. Your provider has the details.")
RETRY_KINDS = ("transient", "timeout")
SYNC_NOTES = {
    SyncState.IN_SYNC: gettext_lazy("Sent to the PBX; the next check confirms that the PBX holds it."),
    SyncState.PENDING: gettext_lazy("On its way to the PBX."),
    SyncState.DRIFTED: gettext_lazy(
        "The PBX holds this line otherwise than shown here. Your provider decides which to keep."
    ),
    SyncState.MISSING: gettext_lazy("The PBX does not hold this line any more. Your provider has been told."),
    SyncState.CONFLICT: gettext_lazy("Another entry points at the same line on the PBX. Your provider has been told."),
    SyncState.FAILED: gettext_lazy("The last change did not reach the PBX. Your provider has the details."),
}


def customer_note(job: ProvisioningJob) -> str:
    """Where a push stands, in words that name nothing of the platform."""
    if job.status == JobStatus.FAILED:
        return str(FAILURE_NOTES.get(job.error_kind, FAILURE_NOTE))
    if job.status == JobStatus.PENDING and job.error_kind in RETRY_KINDS and job.attempts:
        return _("The PBX did not answer yet; trying again.")
    if job.status == JobStatus.PENDING and job.last_error.startswith("Waiting"):
        return _("Waiting for an earlier change.")
    return ""


def sync_note(state: str) -> str:
    return str(SYNC_NOTES.get(state, ""))


def job_row(job: ProvisioningJob) -> dict[str, Any]:
    word, badge = STATUS_BADGES.get(job.status, (job.status, "text-bg-light"))
    return {
        "id": job.pk,
        "what": str(OPERATION_LABELS.get(job.operation, job.operation)),
        "target": job.target_label,
        "status": job.status,
        "status_label": str(word),
        "badge": badge,
        "note": customer_note(job),
        "when": job.created_at.isoformat(timespec="seconds"),
    }


def rows(jobs: list[ProvisioningJob]) -> list[dict[str, Any]]:
    return [job_row(job) for job in jobs]


def context(jobs: list[ProvisioningJob]) -> dict[str, Any]:
    """What the pushes table of a page needs: its rows, and whether the page should keep polling."""
    return {"pushes": rows(jobs), "pushes_unfinished": any(job.status in UNFINISHED for job in jobs)}


def sync_badge(state: str) -> tuple[str, str, str]:
    """(word, badge class, note) of a line's sync state as a customer sees it."""
    word, badge = SYNC_BADGES.get(state, (state, "text-bg-light"))
    return str(word), badge, sync_note(state)


def pushes_response(jobs: list[ProvisioningJob], *, sync_state: str | None = None) -> JsonResponse:
    """The poller's answer: the rows, whether any is still under way, and the object's sync state."""
    body: dict[str, Any] = {
        "jobs": rows(jobs),
        "unfinished": any(job.status in UNFINISHED for job in jobs),
        "empty": _("No changes yet."),  # what the script shows when there are no rows
    }
    if sync_state is not None:
        word, badge, note = sync_badge(sync_state)
        body["sync"] = {"state": sync_state, "label": word, "badge": badge, "message": note}
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response
