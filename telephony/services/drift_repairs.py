"""Repairs of what a drift scan found, each decided by a person, with a permission check and an
audit trail: push the portal's value, accept the PBX's, re-create what is missing, forget a row
whose object is gone for good, or adopt an object only on the PBX. A tenant where a scan saw much
change at once ("held back") is repaired only with an explicit confirmation."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telephony.backends.registry import driver_for
from telephony.models import (
    BackendClaim,
    DriftFinding,
    DriftScan,
    Entity,
    FindingKind,
    JobStatus,
    LineTemplate,
    LineTemplateMirror,
    PbxUser,
    ProvisioningJob,
    SyncState,
    Tenant,
)
from telephony.models.sync import save_changes
from telephony.provisioning import planning
from telephony.provisioning.keys import target_key
from telephony.services.users import pbx_user_update, validate_new_user
from telephony.webhooks import events as webhook_events
from tenants import access
from tenants.access import CHANGE, DELETE

# what accepting the PBX's value writes, by the field a driver compares
ACCEPTABLE = {"first_name", "last_name", "internal_number", "email", "voicemail_enabled", "forward_always"}


def _open_finding(actor: AbstractBaseUser, finding_id: int, kinds: set[str], *, confirmed: bool) -> DriftFinding:
    # only the finding's row is locked (its tenant may be none: an outer join, which cannot be)
    finding = DriftFinding.objects.select_for_update(of=("self",)).select_related("scan", "tenant").get(pk=finding_id)
    if not actor.is_staff:  # customers see what a check found; their provider's staff decide the repair
        raise PermissionDenied(_("Your provider's staff decide how a line that differs from the PBX is repaired."))
    if finding.tenant is not None:
        access.require(actor, CHANGE, finding.tenant)
    else:
        access.require(actor, CHANGE, finding.scan.server)
    if finding.resolved_at is not None:
        raise ValidationError(
            _("This finding was dealt with already: %(resolution)s") % {"resolution": finding.resolution}
        )
    if finding.kind not in kinds:
        raise ValidationError(
            _("A finding of this kind (%(kind)s) is not repaired this way.") % {"kind": finding.get_kind_display()}
        )
    held = {name.strip() for name in finding.scan.held_back.split(",") if name.strip()}
    if finding.tenant is not None and str(finding.tenant) in held and not (confirmed or finding.scan.confirmed_at):
        raise ValidationError(
            _("The check found much of %(tenant)s changed at once; confirm that this is to be repaired.")
            % {"tenant": finding.tenant}
        )
    return finding


def _row(finding: DriftFinding) -> PbxUser:
    if finding.object_kind != "user" or finding.target_id is None:
        raise ValidationError(_("Only a line's findings are repaired here."))
    row = PbxUser.objects.select_for_update().filter(pk=finding.target_id).first()
    if row is None:
        raise ValidationError(_("The line is gone from the portal since the check."))
    return row


def _resolve(finding: DriftFinding, actor: AbstractBaseUser, what: str) -> None:
    finding.resolved_at = timezone.now()
    finding.resolution = f"{what} by {actor}."[:300]
    finding.save(update_fields=["resolved_at", "resolution"])


@transaction.atomic
def drift_push_portal_value(*, actor: AbstractBaseUser, finding_id: int, confirmed: bool = False) -> None:
    """The PBX holds the line otherwise: send the portal's values again (the job converges it)."""
    finding = _open_finding(actor, finding_id, {FindingKind.DIFFERS}, confirmed=confirmed)
    if finding.object_kind == "entity":
        entity = _entity_row(finding)
        access.require(actor, CHANGE, entity.tenant)
        planning.entity_saved(entity, actor=actor)
    else:
        row = _row(finding)
        access.require(actor, CHANGE, row)
        planning.user_updated(row, actor=actor)
    _resolve(finding, actor, "Portal's value pushed")


def drift_accept_pbx_value(*, actor: AbstractBaseUser, finding_id: int, confirmed: bool = False) -> PbxUser | Entity:
    """The PBX holds the line otherwise and the PBX is right: take its values into the portal,
    through the same rules as any change. A value the portal refuses stays a finding, with why."""
    try:
        return _accept_pbx_value(actor, finding_id, confirmed)
    except RulesRefused as refused:
        reason = "; ".join(refused.error.messages)
        DriftFinding.objects.filter(pk=finding_id).update(resolution=f"Not taken: {reason}"[:300])
        raise refused.error from None


class RulesRefused(Exception):
    """The portal's rules refused the PBX's values (kept apart so that the reason is recorded)."""

    def __init__(self, error: ValidationError):
        self.error = error


@transaction.atomic
def _accept_pbx_value(actor: AbstractBaseUser, finding_id: int, confirmed: bool) -> PbxUser | Entity:
    finding = _open_finding(actor, finding_id, {FindingKind.DIFFERS}, confirmed=confirmed)
    if finding.object_kind == "entity":
        return _accept_entity_value(actor, finding)
    row = _row(finding)
    fields = {d["field"] for d in finding.differences}
    if not fields <= ACCEPTABLE:
        names = ", ".join(d["label"] for d in finding.differences if d["field"] not in ACCEPTABLE)
        raise ValidationError(
            _("The portal cannot take %(fields)s from the PBX; push the portal's value instead.") % {"fields": names}
        )
    for field in fields - {"forward_always"}:
        setattr(row, field, finding.observed.get(field, getattr(row, field)))
    if "forward_always" in fields:
        row.forward_always = (finding.observed.get("forwarding") or {}).get("always", row.forward_always)
    try:
        with transaction.atomic():
            updated = pbx_user_update(actor=actor, user=row)
    except ValidationError as refused:
        raise RulesRefused(refused) from None
    _resolve(finding, actor, "PBX's value taken")
    return updated


def _accept_entity_value(actor: AbstractBaseUser, finding: DriftFinding) -> Entity:
    """The name the PBX shows for an entity, taken as the entity's name shown (the only value of an
    entity a scan compares), checked as the entity form checks it; the push that follows is a no-op
    the PBX confirms."""
    stored = _entity_row(finding)
    access.require(actor, CHANGE, stored.tenant)
    entity = Entity.objects.get(pk=stored.pk)
    entity.display_name = str(finding.observed.get("display_name") or "").strip()
    try:
        entity.full_clean(validate_constraints=False)
    except ValidationError as refused:
        raise RulesRefused(refused) from None
    save_changes(entity, stored)
    planning.entity_saved(entity, actor=actor)
    _resolve(finding, actor, "PBX's value taken")
    return entity


def _entity_row(finding: DriftFinding) -> Entity:
    entity = Entity.objects.select_for_update().select_related("tenant").filter(pk=finding.target_id).first()
    if finding.target_id is None or entity is None:
        raise ValidationError(_("The entity is gone from the portal since the check."))
    return entity


@transaction.atomic
def drift_recreate(*, actor: AbstractBaseUser, finding_id: int, confirmed: bool = False) -> None:
    """What is missing on the PBX is made again from the portal's values: a line (an object there
    with its number or name that no row holds is taken over, as any create does), an entity, or a
    whole tenant with its entities and lines (the PBX lost it: a restore, a wiped sandbox)."""
    finding = _open_finding(actor, finding_id, {FindingKind.MISSING, FindingKind.DANGLING}, confirmed=confirmed)
    if finding.object_kind == "tenant":
        _recreate_tenant(actor, finding)
    elif finding.object_kind == "entity":
        entity = Entity.objects.select_for_update().filter(pk=finding.target_id).first()
        if entity is None:
            raise ValidationError(_("The entity is gone from the portal since the check."))
        access.require(actor, CHANGE, entity.tenant)
        _forget_reference(entity)
        planning.entity_saved(entity, actor=actor)
    else:
        row = _row(finding)
        access.require(actor, CHANGE, row)
        _forget_reference(row)
        _forget_templates(row.tenant, [row.template_id])
        planning.user_created(row, actor=actor)
    _resolve(finding, actor, "Made again on the PBX")


def _recreate_tenant(actor: AbstractBaseUser, finding: DriftFinding) -> None:
    tenant = Tenant.objects.select_for_update().select_related("server").get(pk=finding.target_id)
    access.require(actor, CHANGE, tenant)
    _forget_reference(tenant)
    planning.tenant_created(tenant, actor=actor)
    for entity in Entity.objects.filter(tenant=tenant).order_by("pk"):
        _forget_reference(entity)
        planning.entity_saved(entity, actor=actor)
    users = list(PbxUser.objects.filter(tenant=tenant).select_related("tenant__server").order_by("pk"))
    _forget_templates(tenant, {user.template_id for user in users})
    for user in users:
        _forget_reference(user)
        planning.user_created(user, actor=actor)
    # the findings of what the tenant held are dealt with by this one repair
    DriftFinding.objects.filter(scan=finding.scan, tenant=tenant, resolved_at__isnull=True).exclude(
        pk=finding.pk
    ).update(resolved_at=timezone.now(), resolution=f"Made again with its tenant by {actor}."[:300])


def _forget_templates(tenant: Tenant, template_ids: Any) -> None:
    """Where the PBX keeps line templates, those the lines use are made sure of again before the
    lines (found by name and taken back if nobody holds them, else made): the PBX that lost the
    lines may have lost them too."""
    platform = tenant.server.platform
    if not platform.capabilities.keeps_templates:
        return
    mirrors = LineTemplateMirror.objects.filter(platform=platform, template_id__in=list(template_ids))
    mirror_type = ContentType.objects.get_for_model(LineTemplateMirror)
    BackendClaim.objects.filter(target_type=mirror_type, target_id__in=mirrors.values("pk")).delete()
    mirrors.update(backend_ref={})


def _forget_reference(row: Any) -> None:
    """The row's object is gone from the PBX: drop its reference and claim, so that a create makes it
    anew; its failed jobs (which would hold the create back) are superseded by it."""
    target_type = ContentType.objects.get_for_model(type(row))
    ProvisioningJob.objects.filter(target_key=target_key(row), status=JobStatus.FAILED).update(
        status=JobStatus.CANCELLED, last_error="Superseded: the object is made again on the PBX."
    )
    BackendClaim.objects.filter(target_type=target_type, target_id=row.pk).delete()
    type(row).objects.filter(pk=row.pk).update(backend_ref={}, sync_state=SyncState.PENDING, sync_message="")
    row.backend_ref = {}


@transaction.atomic
def drift_forget(*, actor: AbstractBaseUser, finding_id: int, confirmed: bool = False) -> None:
    """The line's object is gone from the PBX for good: remove the row, sending nothing."""
    finding = _open_finding(actor, finding_id, {FindingKind.MISSING, FindingKind.DANGLING}, confirmed=confirmed)
    row = _row(finding)
    access.require(actor, DELETE, row)
    BackendClaim.objects.filter(target_type=finding.target_type, target_id=row.pk).delete()
    if isinstance(row, PbxUser):
        webhook_events.user_deleting(row)
    row.delete()
    _resolve(finding, actor, "Forgotten (gone from the PBX)")


@transaction.atomic
def drift_adopt(
    *, actor: AbstractBaseUser, finding_id: int, entity: Entity, template: LineTemplate, confirmed: bool = False
) -> PbxUser:
    """An object only on the PBX becomes a line of the chosen entity: a row with the object's
    reference, claimed for it, and nothing sent (the PBX holds it). The rules of any new line apply:
    the entity must be the actor's to add to, its number plan must hold the number, and no other row
    may hold the object."""
    finding = _open_finding(actor, finding_id, {FindingKind.UNMANAGED}, confirmed=confirmed)
    if finding.object_kind != "user":
        raise ValidationError(_("Only a user found on the PBX is adopted here."))
    observed = finding.observed
    tenant = entity.tenant
    if tenant.server_id != finding.scan.server_id:
        raise ValidationError({"entity": _("Choose an entity of a tenant on the server where the user was found.")})
    user = PbxUser(
        tenant=tenant,
        entity=entity,
        template=template,
        username=(observed.get("username") or "").lower(),
        first_name=observed.get("first_name") or "",
        last_name=observed.get("last_name") or "",
        internal_number=observed.get("internal_number") or "",
        email=observed.get("email") or "",
    )
    driver = driver_for(tenant.server.platform.connection())
    key = driver.claim_key("user", finding.backend_ref, tenant.name)
    if not key or BackendClaim.objects.filter(platform=tenant.server.platform, kind="user", key=key).exists():
        raise ValidationError(_("Another line of the portal holds this object already."))
    validate_new_user(actor=actor, user=user)
    user.backend_ref = finding.backend_ref
    user.sync_state, user.verified_at = SyncState.VERIFIED, timezone.now()
    user.save()  # nothing to push: the PBX holds it
    user_type = ContentType.objects.get_for_model(PbxUser)
    BackendClaim.objects.create(
        platform=tenant.server.platform, kind="user", key=key, target_type=user_type, target_id=user.pk
    )
    webhook_events.users_created([user.pk])
    _resolve(finding, actor, f"Adopted as {user}")
    return user


@transaction.atomic
def drift_scan_confirm(*, actor: AbstractBaseUser, scan_id: int) -> DriftScan:
    """A staff member confirms that what a scan held back is to be repaired (one decision, kept)."""
    scan = DriftScan.objects.select_for_update().select_related("server").get(pk=scan_id)
    if not actor.is_staff:
        raise PermissionDenied(_("Your provider's staff confirm repairs."))
    access.require(actor, CHANGE, scan.server)
    if not scan.held_back:
        raise ValidationError(_("This scan held nothing back."))
    if scan.confirmed_at is None:
        scan.confirmed_by, scan.confirmed_at = actor, timezone.now()
        scan.save(update_fields=["confirmed_by", "confirmed_at"])
    return scan
