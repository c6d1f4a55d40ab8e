"""What each job operation asks of a driver. The job's payload is the snapshot taken when the
change was made; identities are read fresh (an earlier job may have learnt them since).

Every driver call runs for the job's rows (`claims.owning`): an object the driver finds by its
natural key is adopted only if no other row holds it, what a create or update returns is claimed
for the row before the job succeeds, and a delete that reached the PBX releases the row's claims."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from telephony.backends.base import (
    BackendRef,
    Driver,
    EntitySpec,
    TemplateSpec,
    TenantRef,
    TenantSpec,
    UserSpec,
    merge_refs,
)
from telephony.backends.errors import BackendError, NotFoundError
from telephony.drift.matching import VERIFIED, Outcome
from telephony.drift.words import STATE_OF, outcome_message
from telephony.models import (
    BackendClaim,
    Entity,
    FindingKind,
    JobStatus,
    LineTemplate,
    LineTemplateMirror,
    PbxUser,
    PhoneNumber,
    Platform,
    ProvisioningJob,
    Tenant,
)
from telephony.provisioning import claims, rows, specs, verification
from telephony.provisioning.claims import job_target, row_target
from telephony.provisioning.configurator_operations import CONFIGURATOR_OPERATIONS
from telephony.provisioning.cti_operations import CTI_OPERATIONS
from tenants.audit_mixin import acting_as

Handler = Callable[[ProvisioningJob, Driver], BackendRef | None]


def _tenant_ref(job: ProvisioningJob) -> TenantRef:
    tenant = job.tenant if job.tenant_id else None  # the claim loaded it with its server
    if tenant is not None:
        return specs.tenant_ref(tenant)
    return specs.from_payload(TenantRef, job.payload["tenant"])


def _learnt_identity(key: str) -> BackendRef:
    """What earlier successful jobs of a target learnt (for rows that are gone by now)."""
    identity: BackendRef = {}
    for result in ProvisioningJob.objects.filter(target_key=key, status=JobStatus.SUCCEEDED).values_list(
        "result", flat=True
    ):
        if result:
            identity = merge_refs(identity, result)
    return identity


def _user_row(key: str, job: ProvisioningJob | None = None) -> PbxUser | None:
    """The user with what its spec and audit read. Given its `job`, the tenant (with its server and
    organization) and the platform the claim loaded are the row's, instead of being read again."""
    if job is None or job.tenant_id is None or job.platform is None:
        related = ("entity", "template", "tenant__server__platform", "tenant__organization")
        return PbxUser.objects.select_related(*related).filter(pk=int(key.split(":")[1])).first()
    row = rows.user_with_line(int(key.split(":")[1]))
    if row is not None and row.tenant_id == job.tenant_id and job.tenant.server.platform_id == job.platform_id:
        job.tenant.server.platform = job.platform
        row.tenant = job.tenant
    return row


def _user_spec(
    job: ProvisioningJob, key: str, row: PbxUser | None = None, mirror: LineTemplateMirror | None = None
) -> UserSpec:
    """The user as the row holds it now: a job that runs late or is retried sends the current data,
    never the snapshot of when it was planned (a key renamed since would point at another user's
    object). Only a row that is gone is described by the job's payload, with what earlier jobs
    learnt of it."""
    row = row or _user_row(key)
    if row is not None:
        template = specs.template_spec(row.template, job.platform, mirror=mirror) if mirror is not None else None
        held = rows.numbers_of(row.pk)
        pilot = next((number for number, is_pilot in held if is_pilot), "")
        entity = specs.entity_spec(row.entity, intervals=rows.intervals_of(row.entity_id))
        spec = specs.user_spec(row, numbers=[n for n, _ in held], pilot=pilot, entity=entity, template=template)
        spec.voicemail_pin = row.voicemail_pin or ""  # secrets stay encrypted on the row, out of payloads
        return spec
    spec = specs.from_payload(UserSpec, job.payload["user"])
    spec.identity = _learnt_identity(key)
    entity = Entity.objects.filter(tenant_id=job.tenant_id, name=spec.entity.name).first()
    if entity is not None:
        spec.entity.identity = merge_refs(spec.entity.identity, specs.identity_of(entity))
    return spec


def identity_learnt(job: ProvisioningJob, identity: BackendRef | None) -> tuple[type, BackendRef, BackendRef] | None:
    """What the backend answered, merged into the backend_ref of the job's target row: (model,
    before, after), or None when the row takes none or nothing changes. The runner writes it in the
    transaction that records the success, so that a succeeded job's row always has it."""
    model = ContentType.objects.get_for_id(job.target_type_id).model_class() if identity else None
    if model is None or not any(field.name == "backend_ref" for field in model._meta.concrete_fields):
        return None
    kept = getattr(job, "target_row", None)
    if getattr(job, "first_try", False) and isinstance(kept, model) and kept.pk == job.target_id:
        before = kept.backend_ref  # read by this job a moment ago; no earlier job ever wrote one
    else:
        before = model.objects.filter(pk=job.target_id).values_list("backend_ref", flat=True).first()
        if before is None:
            return None
    merged = merge_refs(before, identity)
    return (model, before, merged) if merged != before else None


def apply_identity(job: ProvisioningJob, learnt: tuple[type, BackendRef, BackendRef] | None, *, written=None) -> None:
    """Write what `identity_learnt` found onto the row, unless the caller's UPDATE did (`written`:
    the rows it changed), and audit it when the row took it."""
    if learnt is None:
        return
    model, before, merged = learnt
    if written is None:
        written = model.objects.filter(pk=job.target_id).update(backend_ref=merged)
    if written:
        _audit_identity(model, job, before, merged)


def _audit_identity(model, job: ProvisioningJob, before: BackendRef, after: BackendRef) -> None:
    """The backend reference a job learnt is a change of the row like any other: audited, by the job
    (with the row its operation read, where it kept it, and the rows that one holds already)."""
    kept = getattr(job, "target_row", None)
    instance = kept if isinstance(kept, model) and kept.pk == job.target_id else model.objects.get(pk=job.target_id)
    shown = json.dumps(before, sort_keys=True) if before else "None"
    with acting_as(f"job #{job.pk}"):
        LogEntry.objects.log_create(
            instance,
            action=LogEntry.Action.UPDATE,
            changes={"backend_ref": [shown, json.dumps(after, sort_keys=True)]},
        )


# --- tenants -------------------------------------------------------------------------------------


def tenant_create(job: ProvisioningJob, driver: Driver) -> BackendRef:
    # the row as it is now: a create retried after its data was corrected sends the corrected data
    row = Tenant.objects.select_related("server").filter(pk=job.target_id).first()
    spec = specs.tenant_spec(row) if row is not None else specs.from_payload(TenantSpec, job.payload["tenant"])
    with claims.owning(job, driver, tenant=job_target(job)) as owner:
        identity = driver.create_tenant(spec).identity
        owner.confirm(driver, "tenant", identity, spec.name)
    return identity


def tenant_start(job: ProvisioningJob, driver: Driver) -> None:
    with claims.owning(job, driver, tenant=job_target(job)):
        driver.start_tenant(_tenant_ref(job))


def tenant_stop(job: ProvisioningJob, driver: Driver) -> None:
    with claims.owning(job, driver, tenant=job_target(job)):
        driver.stop_tenant(_tenant_ref(job))


def tenant_delete(job: ProvisioningJob, driver: Driver) -> None:
    ref = specs.from_payload(TenantRef, job.payload["tenant"])
    ref.identity = merge_refs(_learnt_identity(job.target_key), ref.identity)
    with claims.owning(job, driver, tenant=job_target(job)):
        driver.delete_tenant(ref)
    claims.release(job)


# --- entities and templates ----------------------------------------------------------------------


def entity_upsert(job: ProvisioningJob, driver: Driver) -> BackendRef:
    spec: EntitySpec = specs.from_payload(EntitySpec, job.payload["entity"])
    row = Entity.objects.filter(pk=job.target_id).first()
    spec.identity = merge_refs(_learnt_identity(job.target_key), specs.identity_of(row) if row else spec.identity)
    ref = _tenant_ref(job)
    with claims.owning(job, driver, entity=job_target(job)) as owner:
        identity = driver.upsert_entity(ref, spec)
        owner.confirm(driver, "entity", identity, ref.name)
    return identity


def entity_delete(job: ProvisioningJob, driver: Driver) -> None:
    spec: EntitySpec = specs.from_payload(EntitySpec, job.payload["entity"])
    spec.identity = merge_refs(_learnt_identity(job.target_key), spec.identity)
    with claims.owning(job, driver, entity=job_target(job)):
        driver.delete_entity(specs.from_payload(TenantRef, job.payload["tenant"]), spec)
    claims.release(job)


def template_mirror(template: LineTemplate | int, platform: Platform) -> LineTemplateMirror:
    """The row that stands for a line template on a platform that keeps templates (it holds the claim)."""
    template_id = template if isinstance(template, int) else template.pk
    found = rows.template_mirror(template_id, platform.pk)  # nearly always there: a cheap read first
    return found or LineTemplateMirror.objects.get_or_create(template_id=template_id, platform=platform)[0]


def ensure_template(
    driver: Driver, owner: claims.JobOwnership, ref: TenantRef, template: LineTemplate, mirror: LineTemplateMirror
) -> BackendRef:
    """A platform that keeps line templates: make sure the user's template exists there before the user (once
    per platform; the mirror row remembers its XCU id)."""
    if mirror.backend_ref:
        return dict(mirror.backend_ref)
    identity = driver.upsert_template(ref, specs.template_spec(template, mirror.platform))
    owner.confirm(driver, "template", identity, ref.name)
    LineTemplateMirror.objects.filter(pk=mirror.pk).update(backend_ref=identity)
    return identity


def template_upsert(job: ProvisioningJob, driver: Driver) -> BackendRef | None:
    spec: TemplateSpec = specs.from_payload(TemplateSpec, job.payload["template"])
    tenant = Tenant.objects.filter(server__platform=job.platform, users__template_id=job.target_id).first()
    if tenant is None:
        return None  # no user of this platform uses it any more: nothing to update there
    mirror = template_mirror(job.target_id, job.platform)
    ref = specs.tenant_ref(tenant)
    with claims.owning(job, driver, template=row_target(mirror)) as owner:
        identity = driver.upsert_template(ref, spec)
        owner.confirm(driver, "template", identity, ref.name)
    LineTemplateMirror.objects.filter(pk=mirror.pk).update(backend_ref=merge_refs(mirror.backend_ref, identity))
    return identity


def template_delete(job: ProvisioningJob, driver: Driver) -> None:
    spec: TemplateSpec = specs.from_payload(TemplateSpec, job.payload["template"])
    mirror_id = job.payload.get("mirror")
    mirror_type = ContentType.objects.get_for_model(LineTemplateMirror).pk
    target = (mirror_type, mirror_id) if mirror_id else None
    with claims.owning(job, driver, template=target):
        driver.delete_template(TenantRef(name=""), spec)
    if target is not None:
        BackendClaim.objects.filter(target_type_id=mirror_type, target_id=mirror_id).delete()


# --- users and numbers ---------------------------------------------------------------------------


def _user_targets(
    job: ProvisioningJob, key: str, row: PbxUser | None, spec: UserSpec, mirror: LineTemplateMirror | None = None
) -> dict[str, claims.Target]:
    """The rows a user's job acts for: the user (gone, for a delete), its entity and, where the
    platform keeps line templates, its template's mirror there."""
    user_type = ContentType.objects.get_for_model(PbxUser).pk
    entity = (
        row.entity if row is not None else Entity.objects.filter(tenant_id=job.tenant_id, name=spec.entity.name).first()
    )
    targets = {"user": (user_type, int(key.split(":")[1])), "entity": row_target(entity)}
    if row is not None and _keeps_templates(job):
        targets["template"] = row_target(mirror or template_mirror(row.template, job.platform))
    return targets


def _keeps_templates(job: ProvisioningJob) -> bool:
    return job.platform is not None and job.platform.capabilities.keeps_templates


def _user_call(
    job: ProvisioningJob, driver: Driver, call: Callable[[TenantRef, UserSpec], BackendRef], *, creating: bool = False
):
    ref = _tenant_ref(job)
    row = _user_row(job.target_key, job)
    if row is None:
        return None  # deleted since: nothing to create or change, and its delete job follows
    mirror = template_mirror(row.template, job.platform) if _keeps_templates(job) else None
    spec = _user_spec(job, job.target_key, row=row, mirror=mirror)
    targets = _user_targets(job, job.target_key, row, spec, mirror)
    job.target_row = row  # for the audit of what the push learns
    spec.first_try = job.first_try = creating and _first_try(job)
    spec.read_later = verification.read_later(bool(ref.identity))
    driver.answered_with(None)  # nothing an earlier job's write answered
    with claims.owning(job, driver, **targets) as owner:
        if mirror is not None:
            spec.template.identity = ensure_template(driver, owner, ref, row.template, mirror)
        identity = call(ref, spec)
        owner.confirm(driver, "user", identity, ref.name, fresh=spec.first_try)
    job.seen = _seen_after_push(driver, ref, spec, identity)
    return identity


def _seen_after_push(driver: Driver, ref: TenantRef, spec: UserSpec, identity: BackendRef) -> dict[str, str] | None:
    """Read back the user just pushed, so that "verified" means the PBX was seen to hold it: in the
    write's own answer where that holds the whole user, else by reading it. A read that fails leaves
    the push succeeded and unseen: the next scan looks."""
    spec.identity = merge_refs(spec.identity, identity or {})
    state = driver.take_answered_user(identity or {})
    if state is None and spec.read_later:
        return None  # pushed, not yet checked: the scan after the drain reads it
    try:
        state = state or driver.find_user(ref, spec)
    except BackendError:
        return None
    if state is None:
        outcome = Outcome(FindingKind.MISSING, "user")
    else:
        found = driver.user_differences(spec, state)
        outcome = Outcome(FindingKind.DIFFERS if found else VERIFIED, "user", differences=found)
    return {"state": STATE_OF[outcome.kind], "message": outcome_message(outcome)}


def _first_try(job: ProvisioningJob) -> bool:
    """This is the first attempt of the first job of its target: nothing of it can be on the PBX
    (a drain's claim read it already)."""
    known = getattr(job, "first_try", None)
    if known is not None:
        return known
    return job.attempts == 1 and not ProvisioningJob.objects.filter(target_key=job.target_key, id__lt=job.id).exists()


def user_create(job: ProvisioningJob, driver: Driver) -> BackendRef | None:
    return _user_call(job, driver, driver.create_user, creating=True)


def user_update(job: ProvisioningJob, driver: Driver) -> BackendRef | None:
    return _user_call(job, driver, driver.update_user)


def user_delete(job: ProvisioningJob, driver: Driver) -> None:
    ref = specs.from_payload(TenantRef, job.payload["tenant"])
    ref.identity = merge_refs(ref.identity, _tenant_ref(job).identity) if job.tenant_id else ref.identity
    spec = _user_spec(job, job.target_key)
    targets = _user_targets(job, job.target_key, None, spec)
    with claims.owning(job, driver, **targets), contextlib.suppress(NotFoundError):  # gone: what a delete wants
        driver.delete_user(ref, spec)
    claims.release(job)


def _user_key(job: ProvisioningJob) -> str:
    """The user a number job is for: the one it depends on."""
    return (
        job.dependencies.filter(target_key__startswith="pbxuser:")
        .order_by("target_key")
        .values_list("target_key", flat=True)[:1]
        .get()
    )


def _number_call(job: ProvisioningJob, driver: Driver, call: Callable[[TenantRef, UserSpec, str], Any]) -> Any:
    key = _user_key(job)
    row = _user_row(key)
    spec = _user_spec(job, key, row=row)
    with claims.owning(job, driver, **_user_targets(job, key, row, spec)):
        return call(_tenant_ref(job), spec, job.payload["number"])


def number_assign(job: ProvisioningJob, driver: Driver) -> BackendRef | None:
    if _user_row(_user_key(job)) is None:
        return None  # the user is gone: its delete takes the line, and the number with it
    return _number_call(job, driver, driver.assign_number)


def number_unassign(job: ProvisioningJob, driver: Driver) -> None:
    with contextlib.suppress(NotFoundError):
        _number_call(job, driver, driver.unassign_number)


def number_pilot(job: ProvisioningJob, driver: Driver) -> BackendRef | None:
    """The tenant's pilot on no user, as the row holds it now: on the tenant's own stock and flagged,
    unflagged there, or let go of (the number left the tenant or is deleted). A number on a user is
    that user's number job's (it carries the flag)."""
    row = PhoneNumber.objects.filter(pk=job.target_id).first()
    ours = row is not None and row.tenant_id == job.tenant_id
    if ours and row.assigned_user_id is not None:
        return None
    with claims.owning(job, driver):
        if not ours:
            with contextlib.suppress(NotFoundError):  # the tenant is gone: so is what it held
                driver.set_tenant_pilot(_tenant_ref(job), job.payload["number"], pilot=False, release=True)
            return None
        return driver.set_tenant_pilot(_tenant_ref(job), job.payload["number"], pilot=row.is_pilot)


OPERATIONS: dict[str, Handler] = {
    "tenant.create": tenant_create,
    "tenant.start": tenant_start,
    "tenant.stop": tenant_stop,
    "tenant.delete": tenant_delete,
    "entity.upsert": entity_upsert,
    "entity.delete": entity_delete,
    "template.upsert": template_upsert,
    "template.delete": template_delete,
    "user.create": user_create,
    "user.update": user_update,
    "user.delete": user_delete,
    "number.assign": number_assign,
    "number.unassign": number_unassign,
    "number.pilot": number_pilot,
    **CTI_OPERATIONS,
    **CONFIGURATOR_OPERATIONS,
}
