"""What each job operation asks of a driver. The job's payload is the snapshot taken when the
change was made; identities are read fresh (an earlier job may have learnt them since)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from telephony.backends.base import BackendIdentity, Driver, EntitySpec, TemplateSpec, TenantRef, TenantSpec, UserSpec
from telephony.backends.errors import NotFoundError
from telephony.models import (
    Entity,
    JobStatus,
    LineTemplate,
    LineTemplateMirror,
    PbxUser,
    Platform,
    PlatformKind,
    ProvisioningJob,
    Tenant,
)
from telephony.provisioning import specs
from tenants.audit_mixin import acting_as

PLATFORMS_WITH_TEMPLATES = (PlatformKind.XCU,)

Handler = Callable[[ProvisioningJob, Driver], BackendIdentity | None]


def _tenant_ref(job: ProvisioningJob) -> TenantRef:
    tenant = job.tenant if job.tenant_id else None  # the claim loaded it with its server
    if tenant is not None:
        return specs.tenant_ref(tenant)
    return specs.from_payload(TenantRef, job.payload["tenant"])


def _learnt_identity(key: str) -> BackendIdentity:
    """What earlier successful jobs of a target learnt (for rows that are gone by now)."""
    identity = BackendIdentity()
    for result in ProvisioningJob.objects.filter(target_key=key, status=JobStatus.SUCCEEDED).values_list(
        "result", flat=True
    ):
        if result:
            identity = specs.merge_identity(identity, specs.from_payload(BackendIdentity, result))
    return identity


def _user_row(key: str) -> PbxUser | None:
    return PbxUser.objects.select_related("entity", "template").filter(pk=int(key.split(":")[1])).first()


def _user_spec(job: ProvisioningJob, key: str, payload_name: str = "user", row: PbxUser | None = None) -> UserSpec:
    """The user as the job's payload says, with the identities known now: the row's (every success
    writes what it learnt onto the row), or what earlier jobs learnt once the row is gone."""
    spec: UserSpec = specs.from_payload(UserSpec, job.payload[payload_name])
    row = row or _user_row(key)
    spec.identity = specs.identity_of(row) if row is not None else _learnt_identity(key)
    if row is not None:
        spec.voicemail_pin = row.voicemail_pin or ""  # secrets stay encrypted on the row, out of payloads
    if row is not None and row.entity.name == spec.entity.name:
        entity = row.entity
    else:
        entity = Entity.objects.filter(tenant_id=job.tenant_id, name=spec.entity.name).first()
    if entity is not None:
        spec.entity.identity = specs.merge_identity(spec.entity.identity, specs.identity_of(entity))
    return spec


def apply_identity(job: ProvisioningJob, identity: BackendIdentity | None) -> None:
    """Write what the backend answered onto the job's target row (the runner calls it in the
    transaction that records the success, so that a succeeded job's row always has it)."""
    model = ContentType.objects.get_for_id(job.target_type_id).model_class() if identity is not None else None
    if model is None:
        return
    updates = specs.identity_updates(model, identity)
    if not updates:
        return
    before = model.objects.filter(pk=job.target_id).values(*updates).first()
    if before is None:
        return
    changed = {name: value for name, value in updates.items() if before[name] != value}
    if changed:
        model.objects.filter(pk=job.target_id).update(**changed)
        _audit_identity(model, job, before, changed)


def _audit_identity(model, job: ProvisioningJob, before: dict, changed: dict) -> None:
    """The backend identity a job learnt is a change of the row like any other: audited, by the job."""
    instance = model.objects.get(pk=job.target_id)
    changes = {
        name: [str(before[name]) if before[name] not in (None, "") else "None", str(value)]
        for name, value in changed.items()
    }
    with acting_as(f"job #{job.pk}"):
        LogEntry.objects.log_create(instance, action=LogEntry.Action.UPDATE, changes=changes)


# --- tenants -------------------------------------------------------------------------------------


def tenant_create(job: ProvisioningJob, driver: Driver) -> BackendIdentity:
    return driver.create_tenant(specs.from_payload(TenantSpec, job.payload["tenant"])).identity


def tenant_start(job: ProvisioningJob, driver: Driver) -> None:
    driver.start_tenant(_tenant_ref(job))


def tenant_stop(job: ProvisioningJob, driver: Driver) -> None:
    driver.stop_tenant(_tenant_ref(job))


def tenant_delete(job: ProvisioningJob, driver: Driver) -> None:
    ref = specs.from_payload(TenantRef, job.payload["tenant"])
    ref.identity = specs.merge_identity(_learnt_identity(job.target_key), ref.identity)
    driver.delete_tenant(ref)


# --- entities and templates ----------------------------------------------------------------------


def entity_upsert(job: ProvisioningJob, driver: Driver) -> BackendIdentity:
    spec: EntitySpec = specs.from_payload(EntitySpec, job.payload["entity"])
    row = Entity.objects.filter(pk=job.target_id).first()
    spec.identity = specs.merge_identity(
        _learnt_identity(job.target_key), specs.identity_of(row) if row else spec.identity
    )
    return driver.upsert_entity(_tenant_ref(job), spec)


def entity_delete(job: ProvisioningJob, driver: Driver) -> None:
    spec: EntitySpec = specs.from_payload(EntitySpec, job.payload["entity"])
    spec.identity = specs.merge_identity(_learnt_identity(job.target_key), spec.identity)
    driver.delete_entity(specs.from_payload(TenantRef, job.payload["tenant"]), spec)


def ensure_template(driver: Driver, platform: Platform, ref: TenantRef, template: LineTemplate) -> BackendIdentity:
    """XCU keeps line templates: make sure the user's template exists there before the user (once
    per platform; the mirror row remembers its XCU id)."""
    mirror = LineTemplateMirror.objects.filter(template=template, platform=platform).first()
    if mirror is not None and mirror.xcu_id is not None:
        return BackendIdentity(xcu_id=mirror.xcu_id)
    identity = driver.upsert_template(ref, specs.template_spec(template, platform))
    LineTemplateMirror.objects.update_or_create(
        template=template, platform=platform, defaults={"xcu_id": identity.xcu_id}
    )
    return identity


def template_upsert(job: ProvisioningJob, driver: Driver) -> BackendIdentity | None:
    spec: TemplateSpec = specs.from_payload(TemplateSpec, job.payload["template"])
    tenant = Tenant.objects.filter(server__platform=job.platform, users__template_id=job.target_id).first()
    if tenant is None:
        return None  # no user of this platform uses it any more: nothing to update there
    identity = driver.upsert_template(specs.tenant_ref(tenant), spec)
    LineTemplateMirror.objects.filter(template_id=job.target_id, platform=job.platform).update(xcu_id=identity.xcu_id)
    return identity


def template_delete(job: ProvisioningJob, driver: Driver) -> None:
    spec: TemplateSpec = specs.from_payload(TemplateSpec, job.payload["template"])
    driver.delete_template(TenantRef(name=""), spec)


# --- users and numbers ---------------------------------------------------------------------------


def _prepared_user(job: ProvisioningJob, driver: Driver) -> tuple[TenantRef, UserSpec]:
    ref = _tenant_ref(job)
    row = _user_row(job.target_key)
    spec = _user_spec(job, job.target_key, row=row)
    if row is not None and job.platform is not None and job.platform.kind in PLATFORMS_WITH_TEMPLATES:
        spec.template.identity = ensure_template(driver, job.platform, ref, row.template)
    return ref, spec


def user_create(job: ProvisioningJob, driver: Driver) -> BackendIdentity:
    ref, spec = _prepared_user(job, driver)
    return driver.create_user(ref, spec)


def user_update(job: ProvisioningJob, driver: Driver) -> BackendIdentity:
    ref, spec = _prepared_user(job, driver)
    return driver.update_user(ref, spec)


def user_delete(job: ProvisioningJob, driver: Driver) -> None:
    ref = specs.from_payload(TenantRef, job.payload["tenant"])
    ref.identity = specs.merge_identity(ref.identity, _tenant_ref(job).identity) if job.tenant_id else ref.identity
    with contextlib.suppress(NotFoundError):  # already gone: what a delete wants
        driver.delete_user(ref, _user_spec(job, job.target_key))


def _user_key(job: ProvisioningJob) -> str:
    return next(key for key in job.wait_for if key.startswith("pbxuser:"))


def number_assign(job: ProvisioningJob, driver: Driver) -> BackendIdentity:
    return driver.assign_number(_tenant_ref(job), _user_spec(job, _user_key(job)), job.payload["number"])


def number_unassign(job: ProvisioningJob, driver: Driver) -> None:
    with contextlib.suppress(NotFoundError):
        driver.unassign_number(_tenant_ref(job), _user_spec(job, _user_key(job)), job.payload["number"])


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
}
