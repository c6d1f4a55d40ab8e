"""Reading a bulk change back in one scan, not one read per job.

"Verified" means the PBX was seen to hold a row. A job pushed on its own reads its user back at
once (operations._seen_after_push), in the write's own answer where that holds the whole user,
else by one more call. A drain runs a bulk change's jobs one after another; there a read per job
is a fifth of Xelion's calls for a new user, while one paged read of the tenant sees them all. So
a drained push whose write did not answer with the user is left "pushed, not yet checked" and,
when the server's drains have nothing left to run (`after_drain`), one drift scan reads what they
pushed back (`verify_pushed`, a task of its own), with the same matching and findings as any scan:
verified, drifted, missing.

Nothing is believed meanwhile: the rows say "pushed, not yet checked" until the scan has seen them.
A drain killed before its scan leaves them so, and the server's next drain or scheduled scan reads
them; a scan that cannot start (another runs, the server's slots are taken) is queued again."""

from __future__ import annotations

import logging
from contextvars import ContextVar

from telephony import queue
from telephony.backends.errors import BackendError
from telephony.backends.registry import driver_for
from telephony.drift import scan as drift_scan
from telephony.models import DriftScan, JobStatus, PbxUser, ProvisioningJob, ScanTrigger, Server, SyncState, Tenant
from telephony.provisioning import specs

logger = logging.getLogger(__name__)

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


def after_drain(server_id: int) -> str:
    """A drain found nothing left to run: ask for the scan of what the server's drains pushed
    unseen (a drain still running asks when it ends). The scan is a task of its own
    (`verify_pushed`), with a scan's time limit rather than the drain's."""
    tenants = _to_verify(server_id)
    if isinstance(tenants, str):
        return tenants
    queue.send(queue.VERIFY_PUSHED, server_id)
    return "scan asked"


def verify_pushed(server_id: int) -> str:
    """Read back what the server's drains pushed unseen, unless its jobs run again (their drain
    then asks when it ends) or a scan has read it meanwhile. Returns what happened, for logs and
    tests."""
    tenants = _to_verify(server_id)
    if isinstance(tenants, str):
        return tenants
    tenant_id = tenants[0] if len(tenants) == 1 else None
    scan = scan_pushed(server_id=server_id, tenant_id=tenant_id, trigger=ScanTrigger.PUSH)
    if isinstance(scan, str):  # another scan runs, or the server's slots are taken: ask again soon
        queue.send(queue.VERIFY_PUSHED, server_id, countdown=RETRY_SECONDS)
        return f"scan {scan}, asked again"
    return f"scan {scan.status}"


def _to_verify(server_id: int) -> list[int] | str:
    """The tenants to read back now (tenants_to_verify), or why none: a job of the server runs
    (its drain asks when it ends), or nothing pushed waits to be seen."""
    if ProvisioningJob.objects.filter(server_id=server_id, status=JobStatus.RUNNING).exists():
        return "jobs still running"
    return tenants_to_verify(server_id) or "nothing to verify"


def scan_pushed(
    *, server_id: int, tenant_id: int | None, trigger: str, requested_by_id: int | None = None
) -> DriftScan | str:
    """A drift scan (drift.scan.scan_server) that first finishes what drained pushes left to it:
    the users they made join their entities, where the platform makes that a call of its own
    (Driver.join_entities: one call per entity, not one per user), inside the scan's slots. Every
    scan the queue runs goes through here, so that a worker killed between a bulk create and its
    scan leaves the joins to the next one, never a user reported outside its entity."""
    scan = drift_scan.begin(server_id=server_id, tenant_id=tenant_id, trigger=trigger, requested_by_id=requested_by_id)
    if isinstance(scan, str):
        return scan
    try:
        _join_entities(scan)
    except BackendError as error:  # the scan reads what is there and says what differs
        logger.warning("server %s: entity joins before the scan failed: %s", server_id, error)
    except Exception as error:  # a bug: the report says so instead of "running" until it is stale
        drift_scan.fail(scan, f"Internal error: {error!r}")
        raise
    return drift_scan.run(scan)


def _join_entities(scan: DriftScan) -> int:
    users = PbxUser.objects.filter(sync_state=SyncState.IN_SYNC, tenant__server_id=scan.server_id, entity__isnull=False)
    if scan.tenant_id is not None:
        users = users.filter(tenant_id=scan.tenant_id)
    members: dict[int, list[tuple[dict, dict]]] = {}
    for tenant_id, user_ref, entity_ref in users.values_list("tenant_id", "backend_ref", "entity__backend_ref"):
        members.setdefault(tenant_id, []).append((user_ref or {}, entity_ref or {}))
    if not members:
        return 0
    server = Server.objects.select_related("platform").get(pk=scan.server_id)
    driver = driver_for(server.platform.connection())
    try:
        return sum(
            driver.join_entities(specs.tenant_ref(tenant), members[tenant.pk])
            for tenant in Tenant.objects.filter(pk__in=members).exclude(backend_ref={}).select_related("server")
        )
    finally:
        driver.close()
