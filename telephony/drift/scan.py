"""One drift scan: read a server's tenants back through their driver, match the mirror with what
the PBX holds, store the findings and set each row's sync state from what was seen.

A scan that cannot read everything concludes nothing: its report says why, no finding is stored
and no row changes state (a failed page must never read as "everything is missing"). Only rows
that reached the PBX and have no unfinished job are compared; a job's outcome is theirs to set."""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from telephony.backends.capabilities import UNIQUE_PER_SERVER
from telephony.backends.errors import BackendError
from telephony.backends.registry import driver_for
from telephony.drift.matching import VERIFIED, Outcome
from telephony.drift.reading import COMPARABLE, GroupRead
from telephony.drift.words import STATE_OF, describe, outcome_message
from telephony.models import (
    DriftFinding,
    DriftScan,
    FindingKind,
    ScanStatus,
    ScanTrigger,
    Server,
    SyncState,
    Tenant,
)
from telephony.provisioning.slots import slots_free_for_a_scan
from telephony.webhooks import events as webhook_events

CHANGED = frozenset({FindingKind.DIFFERS, FindingKind.MISSING, FindingKind.DANGLING})


CHUNK = 500  # rows per UPDATE (SQLite takes at most 999 parameters)
BUSY = "busy"  # every slot of the server is taken: try again shortly
RUNNING = "running"  # a scan of the server runs already


def begin(*, server_id: int, tenant_id: int | None, trigger: str, requested_by_id: int | None) -> DriftScan | str:
    """The scan's report, or why it cannot start now: another scan of the server runs (one at a
    time per server), or the server's concurrency limit is taken by its jobs (a scan holds a slot)."""
    stale = timezone.now() - timedelta(seconds=settings.DRIFT_SCAN_STALE_SECONDS)
    with transaction.atomic():
        Server.objects.select_for_update().get(pk=server_id)
        running = DriftScan.objects.filter(server_id=server_id, status=ScanStatus.RUNNING)
        running.filter(started_at__lt=stale).update(
            status=ScanStatus.FAILED, finished_at=timezone.now(), error="The scan stopped without finishing."
        )
        if running.exists():
            return RUNNING
        readers = slots_free_for_a_scan(server_id)
        if not readers:
            return BUSY
        return DriftScan.objects.create(
            server_id=server_id, tenant_id=tenant_id, trigger=trigger, requested_by_id=requested_by_id, readers=readers
        )


def run(scan: DriftScan) -> DriftScan:
    """Read, match, store. Returns the finished report."""
    server = Server.objects.select_related("platform").get(pk=scan.server_id)
    tenants = list(Tenant.objects.filter(server=server).exclude(backend_ref={}).order_by("pk"))
    if scan.tenant_id is not None:
        tenants = [t for t in tenants if t.pk == scan.tenant_id]
    driver = driver_for(server.platform.connection())
    driver.readers = scan.readers
    tally = Tally()
    try:
        shared = _shares_container(server)
        for group in _groups(server, tenants):
            first = None if shared else group[0].pk  # whose an object only on the PBX is
            for outcome in GroupRead(driver=driver, server=server, tenants=group, shared=shared).outcomes():
                tally.add(outcome, first)
        _record(scan, tenants, tally)
    except BackendError as error:
        fail(scan, str(error))
    except Exception as error:  # a bug: the report says so instead of "running" until it is stale
        fail(scan, f"Internal error: {error!r}")
        raise
    finally:
        driver.close()
    scan.refresh_from_db()
    return scan


def fail(scan: DriftScan, error: str) -> None:
    """End a scan that could not conclude: nothing stored, no row changed, the reason kept."""
    DriftScan.objects.filter(pk=scan.pk).update(
        status=ScanStatus.FAILED, finished_at=timezone.now(), error=error[:2000]
    )


def _shares_container(server: Server) -> bool:
    # where numbers and names are unique across the server's tenants, they share one container
    return server.platform.capabilities.number_scope == UNIQUE_PER_SERVER


def _groups(server: Server, tenants: list[Tenant]) -> list[list[Tenant]]:
    """Tenants read together: one read of the whole server where they share it, else one each."""
    if not tenants:
        return []
    return [tenants] if _shares_container(server) else [[tenant] for tenant in tenants]


class Tally:
    """What a scan has concluded so far, kept small: counts, the findings, and each compared row's
    new state (a verified row is two numbers and an empty message)."""

    def __init__(self) -> None:
        self.findings: list[DriftFinding] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.checked: dict[int, int] = defaultdict(int)  # users compared, per tenant
        self.changed: dict[int, int] = defaultdict(int)  # of which changed on the PBX
        self.rows = 0
        self.gone: set[int] = set()  # tenants the PBX does not hold
        self.verified: dict[int, array] = defaultdict(lambda: array("q"))  # type → pks seen as the portal has them
        self.states: dict[int, list[tuple[int, str, str]]] = defaultdict(list)  # type → (pk, state, message)

    def add(self, outcome: Outcome, owner: int | None) -> None:
        row = outcome.row
        outcome.tenant_id = row.tenant_id if row is not None else owner
        if row is not None:
            self.rows += 1
            if outcome.kind == VERIFIED:
                self.verified[row.type_id].append(row.pk)
            else:
                self.states[row.type_id].append((row.pk, STATE_OF[outcome.kind], outcome_message(outcome)))
            if row.kind == "user":
                self.checked[row.tenant_id] += 1
                self.changed[row.tenant_id] += outcome.kind in CHANGED
            elif row.kind == "tenant":
                self.gone.add(row.pk)
        if outcome.kind != VERIFIED:
            self.counts[outcome.kind] += 1
            self.findings.append(_finding(outcome))


@transaction.atomic
def _record(scan: DriftScan, tenants: list[Tenant], tally: Tally) -> None:
    now = timezone.now()
    DriftFinding.objects.filter(
        resolved_at__isnull=True,
        scan__server_id=scan.server_id,
        **({"tenant_id": scan.tenant_id} if scan.tenant_id else {}),
    ).update(resolved_at=now, resolution=f"Superseded by scan {scan.pk}.")
    for finding in tally.findings:
        finding.scan = scan
    DriftFinding.objects.bulk_create(tally.findings, batch_size=1000)
    _set_states(tally, now)
    held_back = [
        str(tenant)
        for tenant in tenants
        if tenant.pk in tally.gone or _mass_change(tally.changed[tenant.pk], tally.checked[tenant.pk])
    ]
    DriftScan.objects.filter(pk=scan.pk).update(
        status=ScanStatus.COMPLETE,
        finished_at=timezone.now(),
        checked=tally.rows,
        counts=dict(tally.counts),
        held_back=", ".join(held_back),
    )
    if tally.findings:
        webhook_events.drift_found(scan)


def _mass_change(changed: int, checked: int) -> bool:
    """More of a tenant's users changed at once than a person should see repaired unasked: a share
    above DRIFT_MASS_CHANGE_SHARE, counting at least DRIFT_MASS_CHANGE_MINIMUM users (one changed line
    of a three-line tenant is no accident of that kind). A tenant gone altogether always is."""
    return (
        changed >= settings.DRIFT_MASS_CHANGE_MINIMUM
        and checked > 0
        and changed / checked > settings.DRIFT_MASS_CHANGE_SHARE
    )


def _finding(outcome: Outcome) -> DriftFinding:
    row, seen = outcome.row, outcome.seen
    return DriftFinding(
        tenant_id=outcome.tenant_id,
        kind=outcome.kind,
        object_kind=outcome.object_kind,
        target_type_id=row.type_id if row else None,
        target_id=row.pk if row else None,
        label=(row.label if row else seen.label)[:300],
        differences=[describe(d) for d in outcome.differences],
        observed=_plain(seen.state) if seen is not None else {},
        backend_ref=seen.identity if seen is not None else {},
    )


def _plain(state: Any) -> dict[str, Any]:
    return {k: v for k, v in asdict(state).items() if k != "identity"}


def _set_states(tally: Tally, now) -> None:
    """Each compared row takes the state its outcome says, unless a job took it over meanwhile."""
    comparable = {"sync_state__in": COMPARABLE}
    for type_id, pks in tally.verified.items():
        manager = ContentType.objects.get_for_id(type_id).model_class()._default_manager
        for start in range(0, len(pks), CHUNK):
            manager.filter(pk__in=pks[start : start + CHUNK], **comparable).update(
                sync_state=SyncState.VERIFIED, sync_message="", verified_at=now
            )
    for type_id, changes in tally.states.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        manager = model._default_manager
        for start in range(0, len(changes), CHUNK):
            chunk = changes[start : start + CHUNK]
            still = set(manager.filter(pk__in=[pk for pk, _, _ in chunk], **comparable).values_list("pk", flat=True))
            # when the PBX was last seen to hold the row stays, until it is seen to hold it again
            changed = [model(pk=pk, sync_state=state, sync_message=message[:1000]) for pk, state, message in chunk
                       if pk in still]  # fmt: skip
            manager.bulk_update(changed, ["sync_state", "sync_message"])


def scan_server(
    *,
    server_id: int,
    tenant_id: int | None = None,
    trigger: str = ScanTrigger.STAFF,
    requested_by_id: int | None = None,
) -> DriftScan | str:
    """Scan a server (or one tenant of it) now; or say why not (BUSY, RUNNING)."""
    scan = begin(server_id=server_id, tenant_id=tenant_id, trigger=trigger, requested_by_id=requested_by_id)
    return run(scan) if isinstance(scan, DriftScan) else scan
