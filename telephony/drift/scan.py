"""One drift scan: read a server's tenants back through their driver, match the mirror with what
the PBX holds, store the findings and set each row's sync state from what was seen.

A scan that cannot read everything concludes nothing: its report says why, no finding is stored
and no row changes state (a failed page must never read as "everything is missing"). Only rows
that reached the PBX and have no unfinished job are compared; a job's outcome is theirs to set."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from telephony.backends.base import Driver, TenantState
from telephony.backends.capabilities import UNIQUE_PER_SERVER
from telephony.backends.compare import Difference
from telephony.backends.errors import BackendError, NotFoundError
from telephony.backends.registry import driver_for
from telephony.drift.matching import VERIFIED, Outcome, Row, Seen, match
from telephony.drift.words import STATE_OF, describe, outcome_message
from telephony.models import (
    SEEN_STATES,
    BackendClaim,
    DriftFinding,
    DriftScan,
    Entity,
    FindingKind,
    PbxUser,
    PhoneNumber,
    ScanStatus,
    ScanTrigger,
    Server,
    SyncState,
    Tenant,
)
from telephony.provisioning import specs
from telephony.provisioning.slots import slot_free_for_a_scan

# Rows a read of the PBX may conclude on: pushed, or seen before. Pending and failed are the jobs'.
COMPARABLE = frozenset({SyncState.IN_SYNC, *SEEN_STATES})
CHANGED = frozenset({FindingKind.DIFFERS, FindingKind.MISSING, FindingKind.DANGLING})


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
        if not slot_free_for_a_scan(server_id):
            return BUSY
        return DriftScan.objects.create(
            server_id=server_id, tenant_id=tenant_id, trigger=trigger, requested_by_id=requested_by_id
        )


def run(scan: DriftScan) -> DriftScan:
    """Read, match, store. Returns the finished report."""
    server = Server.objects.select_related("platform").get(pk=scan.server_id)
    tenants = list(Tenant.objects.filter(server=server).exclude(backend_ref={}).order_by("pk"))
    if scan.tenant_id is not None:
        tenants = [t for t in tenants if t.pk == scan.tenant_id]
    driver = driver_for(server.platform.connection())
    outcomes: list[Outcome] = []
    try:
        for group in _groups(server, tenants):
            outcomes += _scan_group(driver, server, group, shared=_shares_container(server))
        _record(scan, tenants, outcomes)
    except BackendError as error:
        _failed(scan, str(error))
    except Exception as error:  # a bug: the report says so instead of "running" until it is stale
        _failed(scan, f"Internal error: {error!r}")
        raise
    finally:
        driver.close()
    scan.refresh_from_db()
    return scan


def _failed(scan: DriftScan, error: str) -> None:
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


def _scan_group(driver: Driver, server: Server, group: list[Tenant], *, shared: bool) -> list[Outcome]:
    first = group[0]
    first.server = server
    rows = list(_rows(driver, server, group))
    try:
        state = driver.fetch_state(specs.tenant_ref(first))
    except NotFoundError:
        if shared:
            raise  # the server itself is gone: nothing to conclude about its tenants
        return _tenant_gone(first, rows)
    seen = list(_seen(driver, state, first.name))
    kinds = ("entity", "user")
    claimed = set(
        BackendClaim.objects.filter(platform=server.platform, kind__in=kinds).values_list("kind", "key").iterator()
    )

    def differences(row: Row, obj: Seen) -> list[Difference]:
        if row.kind == "user":
            return driver.user_differences(row.spec, obj.state)
        return driver.entity_differences(row.spec, obj.state)

    outcomes = list(match(rows, seen, differences, claimed=claimed))
    for outcome in outcomes:  # an object only on the PBX is the tenant's where it has a container of its own
        outcome.tenant_id = outcome.row.tenant_id if outcome.row else (None if shared else first.pk)
    return outcomes


def _tenant_gone(tenant: Tenant, rows: list[Row]) -> list[Outcome]:
    """The PBX does not hold the tenant: it is missing there, and so is everything in it."""
    tenant_type = ContentType.objects.get_for_model(Tenant).pk
    row = Row("tenant", tenant_type, tenant.pk, tenant.pk, str(tenant), "", None)
    outcomes = [Outcome(FindingKind.MISSING, "tenant", row=row, tenant_id=tenant.pk)]
    outcomes += [Outcome(FindingKind.MISSING, r.kind, row=r, tenant_id=tenant.pk) for r in rows]
    return outcomes


def _rows(driver: Driver, server: Server, tenants: list[Tenant]) -> Iterable[Row]:
    names = {tenant.pk: tenant.name for tenant in tenants}
    entity_type = ContentType.objects.get_for_model(Entity).pk
    user_type = ContentType.objects.get_for_model(PbxUser).pk
    entities = Entity.objects.filter(tenant__in=tenants, sync_state__in=COMPARABLE).prefetch_related("intervals")
    for entity in entities:
        key = driver.claim_key("entity", entity.backend_ref, names[entity.tenant_id])
        if key:  # an entity that is no object of its own on this PBX is the portal's alone
            spec = specs.entity_spec(entity)
            yield Row(
                "entity", entity_type, entity.pk, entity.tenant_id, entity.name, key, spec, (entity.name.lower(),)
            )
    numbers: dict[int, list[str]] = defaultdict(list)
    held = PhoneNumber.objects.filter(tenant__in=tenants, assigned_user__isnull=False)
    for user_id, number in held.values_list("assigned_user_id", "number").iterator():
        numbers[user_id].append(number)
    entity_spec = functools.cache(lambda pk: specs.entity_spec(Entity.objects.prefetch_related("intervals").get(pk=pk)))
    template_spec = functools.cache(lambda template: specs.template_spec(template, server.platform))
    users = PbxUser.objects.filter(tenant__in=tenants, sync_state__in=COMPARABLE).select_related("template")
    for user in users.iterator(chunk_size=2000):
        key = driver.claim_key("user", user.backend_ref, names[user.tenant_id])
        if not key:
            continue
        spec = specs.user_spec(
            user,
            numbers=numbers.get(user.pk, []),
            entity=entity_spec(user.entity_id),
            template=template_spec(user.template),
        )
        label = f"{user.full_name} ({user.internal_number})"
        yield Row(
            "user", user_type, user.pk, user.tenant_id, label, key, spec, (user.username.lower(), user.internal_number)
        )


def _seen(driver: Driver, state: TenantState, tenant_name: str) -> Iterable[Seen]:
    for entity in state.entities:
        key = driver.claim_key("entity", entity.identity, tenant_name)
        if key:
            yield Seen(
                "entity", key, entity, entity.display_name or entity.name, (entity.name.lower(),), entity.identity
            )
    for user in state.users:
        key = driver.claim_key("user", user.identity, tenant_name)
        if key:
            label = " ".join(p for p in (user.first_name, user.last_name) if p) or user.username
            names = tuple(n for n in (user.username.lower(), user.internal_number) if n)
            yield Seen("user", key, user, f"{label} ({user.internal_number})", names, user.identity)


@transaction.atomic
def _record(scan: DriftScan, tenants: list[Tenant], outcomes: list[Outcome]) -> None:
    now = timezone.now()
    findings, counts = [], defaultdict(int)
    checked: dict[int, int] = defaultdict(int)
    changed: dict[int, int] = defaultdict(int)
    for outcome in outcomes:
        row = outcome.row
        if row is not None and row.kind == "user":
            checked[row.tenant_id] += 1
            changed[row.tenant_id] += outcome.kind in CHANGED
        if outcome.kind == VERIFIED:
            continue
        counts[outcome.kind] += 1
        findings.append(_finding(scan, outcome))
    DriftFinding.objects.filter(
        resolved_at__isnull=True,
        scan__server_id=scan.server_id,
        **({"tenant_id": scan.tenant_id} if scan.tenant_id else {}),
    ).update(resolved_at=now, resolution=f"Superseded by scan {scan.pk}.")
    DriftFinding.objects.bulk_create(findings, batch_size=1000)
    _set_states(outcomes, now)
    by_pk = {tenant.pk: tenant for tenant in tenants}
    gone = {o.row.pk for o in outcomes if o.row is not None and o.row.kind == "tenant"}
    held_back = [str(by_pk[pk]) for pk in by_pk if pk in gone or _mass_change(changed[pk], checked[pk])]
    DriftScan.objects.filter(pk=scan.pk).update(
        status=ScanStatus.COMPLETE,
        finished_at=timezone.now(),
        checked=sum(1 for o in outcomes if o.row is not None),
        counts=dict(counts),
        held_back=", ".join(held_back),
    )


def _mass_change(changed: int, checked: int) -> bool:
    """More of a tenant's users changed at once than a person should see repaired unasked: a share
    above DRIFT_MASS_CHANGE_SHARE, counting at least DRIFT_MASS_CHANGE_MINIMUM users (one changed line
    of a three-line tenant is no accident of that kind). A tenant gone altogether always is."""
    return (
        changed >= settings.DRIFT_MASS_CHANGE_MINIMUM
        and checked > 0
        and changed / checked > settings.DRIFT_MASS_CHANGE_SHARE
    )


def _finding(scan: DriftScan, outcome: Outcome) -> DriftFinding:
    row, seen = outcome.row, outcome.seen
    return DriftFinding(
        scan=scan,
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


def _set_states(outcomes: list[Outcome], now) -> None:
    """Each compared row takes the state its outcome says, unless a job took it over meanwhile."""
    by_model: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.row is not None:
            state = STATE_OF[outcome.kind]
            by_model[outcome.row.type_id].append((outcome.row.pk, state, outcome_message(outcome)))
    for type_id, changes in by_model.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        manager = model._default_manager
        for start in range(0, len(changes), 500):
            chunk = changes[start : start + 500]
            still = set(
                manager.filter(pk__in=[pk for pk, _, _ in chunk], sync_state__in=COMPARABLE).values_list(
                    "pk", flat=True
                )
            )
            verified, other = [], []
            for pk, state, message in chunk:
                if pk in still:
                    obj = model(pk=pk, sync_state=state, sync_message=message[:1000], verified_at=now)
                    (verified if state == SyncState.VERIFIED else other).append(obj)
            # when the PBX was last seen to hold the row stays, until it is seen to hold it again
            manager.bulk_update(verified, ["sync_state", "sync_message", "verified_at"])
            manager.bulk_update(other, ["sync_state", "sync_message"])


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
