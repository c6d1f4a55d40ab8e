"""Bringing an existing PBX customer into the portal. What the tenant's last drift scan found only
on the PBX (its entities and users, with their external numbers) becomes the tenant's mirror in
one transaction, with the objects' references and nothing pushed: the PBX holds it already.

The plan is computed set-based (a tenant of 10,000 users is a handful of queries): each user gets
the rules of a new line (a valid username, an internal number free in the tenant and on a server
whose numbering is shared, inside its entity's plan, a known entity, room in the licences). A row
the rules refuse is not imported: it stays a finding, with why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from telephony.backends.capabilities import UNIQUE_PER_SERVER
from telephony.backends.registry import driver_for
from telephony.imports.audit import CREATE, AuditRow, AuditWriter, changes
from telephony.imports.users import derive_username
from telephony.models import (
    BackendClaim,
    DriftFinding,
    DriftScan,
    Entity,
    FindingKind,
    LineTemplate,
    NumberInterval,
    PbxUser,
    ScanStatus,
    SyncState,
    Tenant,
)
from telephony.rules import capacity, numbering
from telephony.validators import interval_contains
from telephony.webhooks import events as webhook_events
from tenants import access
from tenants.access import CHANGE, VIEW

USER_FIELDS = ("username", "first_name", "last_name", "internal_number", "email")


@dataclass
class PlannedUser:
    """A user found only on the PBX, as the line it would become (or why it cannot)."""

    finding: DriftFinding
    values: dict[str, str]
    entity_name: str
    problem: str = ""


@dataclass
class ImportPlan:
    """What importing from the PBX would write: entities, users, and what is refused."""

    scan: DriftScan | None
    entities: list[DriftFinding] = field(default_factory=list)
    users: list[PlannedUser] = field(default_factory=list)
    problem: str = ""  # refuses the whole import (no scan yet, no room in the licences)
    offered: list[str] = field(default_factory=list)  # names of the PBX's entities no row holds
    left_out: int = 0  # users of entities not chosen (another customer's, on a shared server)

    @property
    def importable(self) -> list[PlannedUser]:
        return [user for user in self.users if not user.problem]

    @property
    def refused(self) -> list[PlannedUser]:
        return [user for user in self.users if user.problem]


def _require_staff(actor: AbstractBaseUser, tenant: Tenant) -> None:
    if not actor.is_staff:
        raise PermissionDenied(_("Your provider's staff bring a customer's PBX into the portal."))
    access.require(actor, CHANGE, tenant)


def latest_scan(tenant: Tenant) -> DriftScan | None:
    """The last complete scan that read this tenant (of it alone, or of its whole server)."""
    scans = DriftScan.objects.filter(server=tenant.server_id, status=ScanStatus.COMPLETE)
    return scans.filter(Q(tenant=tenant) | Q(tenant__isnull=True)).order_by("-id").first()


def shares_its_container(tenant: Tenant) -> bool:
    """Does the tenant share its container on the PBX with others (an XCU's XiVO)? Then what is
    only on the PBX there may be another customer's, and an import takes only the entities chosen."""
    return tenant.server.platform.capabilities.number_scope == UNIQUE_PER_SERVER


def pbx_import_offer(*, actor: AbstractBaseUser, tenant: Tenant) -> list[str]:
    """The names of the PBX's entities an import into `tenant` may bring in (what the last scan
    found there and no row holds), without planning the users."""
    _require_staff(actor, tenant)
    scan = latest_scan(tenant)
    return _names(_unmanaged(actor, tenant, scan).filter(object_kind="entity")) if scan else []


def _unmanaged(actor: AbstractBaseUser, tenant: Tenant, scan: DriftScan) -> QuerySet[DriftFinding]:
    """What the scan found only on the PBX, in the tenant's container or in one it shares (the
    latter only where the actor may see it: the platform's organization's, not every tenant's)."""
    found = DriftFinding.objects.filter(
        Q(tenant=tenant) | Q(tenant__isnull=True), scan=scan, kind=FindingKind.UNMANAGED, resolved_at__isnull=True
    )
    return access.restrict(found, actor, VIEW)


def _names(entity_findings: Iterable[DriftFinding]) -> list[str]:
    return sorted({(f.observed.get("name") or "").strip() for f in entity_findings} - {""}, key=str.lower)


def pbx_import_plan(
    *,
    actor: AbstractBaseUser,
    tenant: Tenant,
    fallback_entity: Entity | None = None,
    entity_names: set[str] | None = None,
) -> ImportPlan:
    """What an import from the PBX into `tenant` would write, from its last scan. `entity_names`:
    the PBX's entities to bring in with their users (None: all of them, unless the tenant shares its
    container: then none). Users of the tenant's own entities come in whatever is chosen."""
    _require_staff(actor, tenant)
    scan = latest_scan(tenant)
    if scan is None:
        return ImportPlan(scan=None, problem=_("The PBX has not been read yet: check it against the PBX first."))
    found = _unmanaged(actor, tenant, scan).order_by("id")
    plan = ImportPlan(scan=scan)
    offered = [f for f in found if f.object_kind == "entity"]
    plan.offered = _names(offered)
    if entity_names is None and not shares_its_container(tenant):
        entity_names = set(plan.offered)
    chosen = {name.lower() for name in entity_names or ()}
    plan.entities = [f for f in offered if (f.observed.get("name") or "").strip().lower() in chosen]
    entities = {e.name.lower(): e for e in Entity.objects.filter(tenant=tenant).prefetch_related("intervals")}
    planned_entities = {(f.observed.get("name") or "").lower(): f for f in plan.entities}
    taken_names = set(PbxUser.objects.filter(tenant=tenant).values_list("username", flat=True))
    taken_numbers = set(PbxUser.objects.filter(tenant=tenant).values_list("internal_number", flat=True))
    elsewhere = numbering.all_numbers_taken_elsewhere(tenant)
    for finding in (f for f in found if f.object_kind == "user"):
        named = (finding.observed.get("entity_name") or "").strip().lower()
        if named and named not in chosen and named not in entities:
            plan.left_out += 1  # an entity not chosen: not this import's
            continue
        user = _planned_user(finding, fallback_entity)
        user.problem = _problem(user, entities, planned_entities, taken_names | taken_numbers, elsewhere)
        if not user.problem:
            taken_names.add(user.values["username"])
            taken_numbers.add(user.values["internal_number"])
        plan.users.append(user)
    shortfall = capacity.licence_shortfall(tenant, current=tenant.users.count(), adding=len(plan.importable))
    if shortfall:
        plan.problem = shortfall
    return plan


def _planned_user(finding: DriftFinding, fallback: Entity | None) -> PlannedUser:
    seen = finding.observed
    values = {name: str(seen.get(name) or "").strip() for name in USER_FIELDS}
    values["username"] = values["username"].lower() or derive_username(
        values["email"], values["first_name"], values["last_name"]
    )
    entity_name = (seen.get("entity_name") or (fallback.name if fallback else "")).strip()
    return PlannedUser(finding=finding, values=values, entity_name=entity_name)


def _problem(user: PlannedUser, entities: dict, planned: dict, taken: set[str], elsewhere: set[str]) -> str:
    values = user.values
    for name in USER_FIELDS:
        try:
            if values[name] or name in ("username", "first_name", "internal_number"):
                PbxUser._meta.get_field(name).run_validators(values[name])
                if not values[name]:
                    raise ValidationError(_("it is empty"))
        except ValidationError as refused:
            return f"{PbxUser._meta.get_field(name).verbose_name}: {' '.join(refused.messages)}"
    if values["username"] in taken:
        return _("The username %(username)s is taken in this tenant.") % {"username": values["username"]}
    if values["internal_number"] in taken:
        return _("The internal number %(number)s is taken in this tenant.") % {"number": values["internal_number"]}
    if values["internal_number"] in elsewhere:
        return numbering.NUMBER_NOT_AVAILABLE.format(number=values["internal_number"])
    key = user.entity_name.lower()
    if not key:
        return _("The PBX names no entity for this user: choose one for such users.")
    if key in entities:
        plan = [(i.start, i.end) for i in entities[key].intervals.all()]
    elif key in planned:
        plan = [(i.get("start", ""), i.get("end", "")) for i in planned[key].observed.get("intervals") or []]
    else:
        return _("The entity %(entity)s is neither in the portal nor on the PBX.") % {"entity": user.entity_name}
    if plan and not any(interval_contains(start, end, values["internal_number"]) for start, end in plan):
        return _("%(number)s is outside the number plan of %(entity)s.") % {
            "number": values["internal_number"],
            "entity": user.entity_name,
        }
    return ""


@transaction.atomic
def pbx_import_commit(
    *,
    actor: AbstractBaseUser,
    tenant_id: int,
    template: LineTemplate,
    fallback_entity: Entity | None = None,
    entity_names: set[str] | None = None,
) -> ImportPlan:
    """Write what the plan holds, in one transaction and without a push; refused rows stay findings."""
    tenant = Tenant.objects.select_for_update().select_related("server__platform", "organization").get(pk=tenant_id)
    plan = pbx_import_plan(actor=actor, tenant=tenant, fallback_entity=fallback_entity, entity_names=entity_names)
    if plan.problem:
        raise ValidationError(plan.problem)
    if not access.can(actor, VIEW, template):
        raise ValidationError({"template": _("Choose a line template you may use.")})
    now, platform = timezone.now(), tenant.server.platform
    driver = driver_for(platform.connection())
    audit: list[AuditRow] = []
    entity_type = ContentType.objects.get_for_model(Entity)
    user_type = ContentType.objects.get_for_model(PbxUser)
    claims: list[BackendClaim] = []
    by_name = {e.name.lower(): e for e in Entity.objects.filter(tenant=tenant)}
    for finding in plan.entities:
        name = (finding.observed.get("name") or "").strip()
        if not name or name.lower() in by_name:
            continue
        entity = Entity.objects.create(
            tenant=tenant, name=name, display_name=finding.observed.get("display_name") or "",
            backend_ref=finding.backend_ref, sync_state=SyncState.VERIFIED, verified_at=now,
        )  # fmt: skip
        NumberInterval.objects.bulk_create(
            NumberInterval(entity=entity, start=i.get("start", ""), end=i.get("end") or "")
            for i in finding.observed.get("intervals") or []
        )
        by_name[name.lower()] = entity
        key = driver.claim_key("entity", finding.backend_ref, tenant.name)
        if key:
            claims.append(
                BackendClaim(platform=platform, kind="entity", key=key, target_type=entity_type, target_id=entity.pk)
            )
        audit.append(_audit_row(Entity, entity.pk, name, {"name": ["", name]}, tenant))
    users = [
        PbxUser(
            tenant=tenant,
            entity=by_name[planned.entity_name.lower()],
            template=template,
            **planned.values,
            backend_ref=planned.finding.backend_ref,
            sync_state=SyncState.VERIFIED,
            verified_at=now,
        )
        for planned in plan.importable
    ]
    PbxUser.objects.bulk_create(users, batch_size=1000)
    webhook_events.users_created(user.pk for user in users)
    for user, planned in zip(users, plan.importable, strict=True):
        key = driver.claim_key("user", planned.finding.backend_ref, tenant.name)
        if key:
            claims.append(
                BackendClaim(platform=platform, kind="user", key=key, target_type=user_type, target_id=user.pk)
            )
        values = [planned.values[name] for name in USER_FIELDS]
        audit.append(_audit_row(PbxUser, user.pk, str(user), changes(USER_FIELDS, None, values), tenant))
    BackendClaim.objects.bulk_create(claims, batch_size=1000)
    imported = [p.finding.pk for p in plan.importable] + [f.pk for f in plan.entities]
    resolution = f"Imported from the PBX by {actor}."
    DriftFinding.objects.filter(pk__in=imported).update(resolved_at=now, resolution=resolution[:300])
    for refused in plan.refused:
        DriftFinding.objects.filter(pk=refused.finding.pk).update(resolution=f"Not imported: {refused.problem}"[:300])
    AuditWriter(origin=f"import from the PBX (scan {plan.scan.pk})", actor=actor).write(audit, [Entity, PbxUser])
    return plan


def _claim(platform: Any, kind: str, key: str, target_type: ContentType, pk: int) -> BackendClaim:
    return BackendClaim(platform=platform, kind=kind, key=key, target_type=target_type, target_id=pk)


def _audit_row(model: Any, pk: int, label: str, change: dict, tenant: Tenant) -> AuditRow:
    return AuditRow(model=model, object_id=pk, label=label[:200], action=CREATE, changes=change,
                    organization=tenant.organization_id)  # fmt: skip
