"""How a provisioning job is shown to a customer: what it does in plain words, where it stands, and
why it failed. The same rows are rendered in the page and served as JSON to the page's poller."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

from telephony.models import JobStatus, ProvisioningJob, SyncState

OPERATION_LABELS = {
    "tenant.create": "Create tenant",
    "tenant.start": "Start tenant",
    "tenant.stop": "Stop tenant",
    "tenant.delete": "Delete tenant",
    "entity.upsert": "Save entity",
    "entity.delete": "Delete entity",
    "user.create": "Create line",
    "user.update": "Update line",
    "user.delete": "Delete line",
    "number.assign": "Add number",
    "number.unassign": "Remove number",
    "number.pilot": "Main number",
}

# status → (word shown, Bootstrap badge class)
STATUS_BADGES = {
    JobStatus.PENDING: ("pending", "text-bg-secondary"),
    JobStatus.RUNNING: ("pushing", "text-bg-info"),
    JobStatus.SUCCEEDED: ("done", "text-bg-success"),
    JobStatus.FAILED: ("failed", "text-bg-danger"),
    JobStatus.CANCELLED: ("cancelled", "text-bg-dark"),
}
SYNC_BADGES = {
    SyncState.VERIFIED: ("on the PBX", "text-bg-success"),
    SyncState.IN_SYNC: ("sent", "text-bg-success"),
    SyncState.PENDING: ("pending", "text-bg-secondary"),
    SyncState.DRIFTED: ("differs on the PBX", "text-bg-warning"),
    SyncState.MISSING: ("missing on the PBX", "text-bg-danger"),
    SyncState.CONFLICT: ("conflict", "text-bg-danger"),
    SyncState.FAILED: ("failed", "text-bg-danger"),
}
UNFINISHED = {JobStatus.PENDING, JobStatus.RUNNING}

# Why a push failed, as a customer is told it. The backend's own words name servers, vendor ids and
# HTTP bodies: they are for staff (the admin's job pages), never for a customer.
FAILURE_NOTES = {
    "transient": "The PBX did not answer. Your provider has the details.",
    "timeout": "The PBX did not answer in time. Your provider has the details.",
    "authentication": "The portal could not sign in to the PBX. Your provider has the details.",
    "not_found": "The PBX does not hold this line any more. Your provider has the details.",
    "conflict": "The PBX holds something else under this number or name. Your provider has the details.",
    "AlreadyExistsError": "The PBX holds something else under this number or name. Your provider has the details.",
    "UnsupportedOperation": "This PBX cannot make this change.",
}
FAILURE_NOTE = "The PBX refused this change. Your provider has the details."
RETRY_KINDS = ("transient", "timeout")
SYNC_NOTES = {
    SyncState.IN_SYNC: "Sent to the PBX; the next check confirms that the PBX holds it.",
    SyncState.PENDING: "On its way to the PBX.",
    SyncState.DRIFTED: "The PBX holds this line otherwise than shown here. Your provider decides which to keep.",
    SyncState.MISSING: "The PBX does not hold this line any more. Your provider has been told.",
    SyncState.CONFLICT: "Another entry points at the same line on the PBX. Your provider has been told.",
    SyncState.FAILED: "The last change did not reach the PBX. Your provider has the details.",
}


def customer_note(job: ProvisioningJob) -> str:
    """Where a push stands, in words that name nothing of the platform."""
    if job.status == JobStatus.FAILED:
        return FAILURE_NOTES.get(job.error_kind, FAILURE_NOTE)
    if job.status == JobStatus.PENDING and job.error_kind in RETRY_KINDS and job.attempts:
        return "The PBX did not answer yet; trying again."
    if job.status == JobStatus.PENDING and job.last_error.startswith("Waiting"):
        return "Waiting for an earlier change."
    return ""


def sync_note(state: str) -> str:
    return SYNC_NOTES.get(state, "")


def job_row(job: ProvisioningJob) -> dict[str, Any]:
    word, badge = STATUS_BADGES.get(job.status, (job.status, "text-bg-light"))
    return {
        "id": job.pk,
        "what": OPERATION_LABELS.get(job.operation, job.operation),
        "target": job.target_label,
        "status": job.status,
        "status_label": word,
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
    return (*SYNC_BADGES.get(state, (state, "text-bg-light")), sync_note(state))


def pushes_response(jobs: list[ProvisioningJob], *, sync_state: str | None = None) -> JsonResponse:
    """The poller's answer: the rows, whether any is still under way, and the object's sync state."""
    body: dict[str, Any] = {
        "jobs": rows(jobs),
        "unfinished": any(job.status in UNFINISHED for job in jobs),
    }
    if sync_state is not None:
        word, badge, note = sync_badge(sync_state)
        body["sync"] = {"state": sync_state, "label": word, "badge": badge, "message": note}
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response
