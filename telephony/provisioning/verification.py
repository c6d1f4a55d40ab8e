"""Reading a bulk change back in one scan, not one read per job.

"Verified" means the PBX was seen to hold a row. A job pushed on its own reads its user back at
once (operations._seen_after_push), in the write's own answer where that holds the whole user,
else by one more call. A drain runs a bulk change's jobs one after another; there a read per job
is a fifth of Xelion's calls for a new user, while one paged read of the tenant sees them all. So
a drained push whose write did not answer with the user is left "pushed, not yet checked" and,
when the server's drains have nothing left to run, one drift scan reads what they pushed back
(`verify_pushed`), with the same matching and findings as any scan: verified, drifted, missing.

Nothing is believed meanwhile: the rows say "pushed, not yet checked" until the scan has seen them.
A drain killed before its scan leaves them so, and the server's next drain or scheduled scan reads
them; a scan that cannot start (another runs, the server's slots are taken) is queued again."""

from __future__ import annotations

from contextvars import ContextVar

from telephony.models import JobStatus, PbxUser, ProvisioningJob, ScanTrigger, SyncState

# Set while a drain runs a server's jobs (drain.drain_server).
DRAINING: ContextVar[bool] = ContextVar("draining", default=False)
RETRY_SECONDS = 5.0  # a scan after a push that could not start yet is asked again this much later


def read_later(tenant_known: bool) -> bool:
    """Whether the job now running leaves its read-back to the scan after its drain: it runs in a
    drain, and its tenant is known on the PBX (a scan reads only such tenants)."""
    return DRAINING.get() and tenant_known


def tenants_to_verify(server_id: int) -> list[int]:
    """Up to two of the server's tenants that hold users pushed and not yet read back (two: enough
    to tell one tenant's scan from the whole server's)."""
    users = PbxUser.objects.filter(sync_state=SyncState.IN_SYNC, tenant__server_id=server_id)
    tenants = users.exclude(tenant__backend_ref={}).order_by("tenant_id").values_list("tenant_id", flat=True)
    return list(tenants.distinct()[:2])


def verify_pushed(server_id: int) -> str:
    """Read back what the server's drains pushed unseen, once no job of the server runs (a drain
    still running reads it when it ends). Returns what happened, for logs and tests."""
    from telephony import queue
    from telephony.drift import scan as drift_scan

    if ProvisioningJob.objects.filter(server_id=server_id, status=JobStatus.RUNNING).exists():
        return "jobs still running"
    tenants = tenants_to_verify(server_id)
    if not tenants:
        return "nothing to verify"
    tenant_id = tenants[0] if len(tenants) == 1 else None
    scan = drift_scan.scan_server(server_id=server_id, tenant_id=tenant_id, trigger=ScanTrigger.PUSH)
    if isinstance(scan, str):  # another scan runs, or the server's slots are taken: ask again soon
        queue.send(queue.VERIFY_PUSHED, server_id, countdown=RETRY_SECONDS)
        return f"scan {scan}, asked again"
    return f"scan {scan.status}"
