"""Planning: the jobs a change needs, written in the service's own transaction (the outbox) and
handed to Celery once that transaction commits. Nothing here talks to a backend."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from telephony.backends.registry import kinds_that
from telephony.models import (
    UNFINISHED,
    Entity,
    JobDependency,
    JobStatus,
    LineTemplate,
    LineTemplateMirror,
    PbxUser,
    PhoneNumber,
    ProvisioningBatch,
    ProvisioningJob,
    SyncState,
    Tenant,
)
from telephony.provisioning import specs
from telephony.provisioning.dispatch import dispatch_on_commit
from telephony.provisioning.keys import target_key
from telephony.provisioning.revisions import (
    never_created,
    supersede_refused_creates,
)
from telephony.provisioning.state import refresh_sync_state
from telephony.rules import numbering


def _job(
    *,
    operation: str,
    target: models.Model,
    tenant: Tenant | None,
    payload: dict[str, Any],
    wait_for: Iterable[str] = (),
    actor: Any = None,
    batch: ProvisioningBatch | None = None,
    platform: Any = None,
    releases: Iterable[str] = (),
    organization_id: int | None = None,
) -> ProvisioningJob:
    from django.conf import settings

    server = tenant.server if tenant is not None else None
    job = ProvisioningJob(
        target_type=ContentType.objects.get_for_model(type(target)),
        target_id=target.pk,
        target_key=target_key(target),
        target_label=str(target)[:300],
        operation=operation,
        payload=payload,
        releases=" ".join(sorted(set(releases))),
        tenant=tenant,
        server=server,
        platform=platform or (server.platform if server else None),
        batch=batch,
        organization_id=organization_id or _owner_of(tenant, target),
        created_by=actor if getattr(actor, "pk", None) else None,
        max_attempts=settings.PROVISIONING_MAX_ATTEMPTS,
        next_attempt_at=timezone.now(),
    )
    job.planned_dependencies = tuple(sorted(set(wait_for)))
    return job


def _owner_of(tenant: Tenant | None, target: models.Model) -> int | None:
    """The organization whose change a job is: its tenant's, else the target's own (if it has one)."""
    return tenant.organization_id if tenant is not None else getattr(target, "organization_id", None)


def enqueue(jobs: list[ProvisioningJob]) -> list[ProvisioningJob]:
    """Save jobs (and their dependencies) in the current transaction and dispatch them after it commits."""
    if not jobs:
        return jobs
    for job in jobs:
        job.save()
    JobDependency.objects.bulk_create(
        JobDependency(job=job, target_key=key) for job in jobs for key in job.planned_dependencies
    )
    dispatch_on_commit([job.pk for job in jobs])
    touched = {(job.target_type_id, job.target_id) for job in jobs}
    for type_id, object_id in touched:
        refresh_sync_state(type_id, object_id)
    return jobs


# --- tenants ---------------------------------------------------------------------------------------


def tenant_created(tenant: Tenant, *, actor: Any = None) -> list[ProvisioningJob]:
    payload = {"tenant": specs.to_payload(specs.tenant_spec(tenant))}
    return enqueue([_job(operation="tenant.create", target=tenant, tenant=tenant, payload=payload, actor=actor)])


def tenant_status_changed(tenant: Tenant, *, actor: Any = None) -> list[ProvisioningJob]:
    operation = "tenant.start" if tenant.status == "started" else "tenant.stop"
    payload = {"tenant": specs.to_payload(specs.tenant_ref(tenant))}
    return enqueue([_job(operation=operation, target=tenant, tenant=tenant, payload=payload, actor=actor)])


def tenant_deleted(tenant: Tenant, *, actor: Any = None) -> list[ProvisioningJob]:
    """Remove what the tenant holds on its backend, users first, then entities, then the tenant.
    Called before the rows are deleted; the jobs keep the specs they need."""
    jobs = []
    for user in tenant.users.select_related("entity", "template", "tenant__server__platform"):
        jobs.extend(_user_delete_jobs(user, actor=actor))
    for entity in tenant.entities.all():
        jobs.extend(_entity_delete_jobs(entity, actor=actor, extra_wait=[j.target_key for j in jobs]))
    if _cancel_unpushed(tenant):
        return enqueue(jobs)
    _supersede_unfinished(tenant)
    payload = {"tenant": specs.to_payload(specs.tenant_ref(tenant))}
    wait = [job.target_key for job in jobs]
    jobs.append(
        _job(operation="tenant.delete", target=tenant, tenant=tenant, payload=payload, wait_for=wait, actor=actor)
    )
    return enqueue(jobs)


# --- entities and templates ------------------------------------------------------------------------


def entity_saved(entity: Entity, *, actor: Any = None) -> list[ProvisioningJob]:
    tenant = entity.tenant
    payload = {
        "tenant": specs.to_payload(specs.tenant_ref(tenant)),
        "entity": specs.to_payload(specs.entity_spec(entity)),
    }
    job = _job(
        operation="entity.upsert",
        target=entity,
        tenant=tenant,
        payload=payload,
        wait_for=[target_key(tenant)],
        actor=actor,
    )
    return enqueue([job])


def entity_deleted(entity: Entity, *, actor: Any = None) -> list[ProvisioningJob]:
    return enqueue(_entity_delete_jobs(entity, actor=actor))


def _entity_delete_jobs(entity: Entity, *, actor: Any, extra_wait: Iterable[str] = ()) -> list[ProvisioningJob]:
    if _cancel_unpushed(entity):
        return []
    _supersede_unfinished(entity)
    tenant = entity.tenant
    payload = {
        "tenant": specs.to_payload(specs.tenant_ref(tenant)),
        "entity": specs.to_payload(specs.entity_spec(entity)),
    }
    return [
        _job(operation="entity.delete", target=entity, tenant=tenant, payload=payload, wait_for=extra_wait, actor=actor)
    ]


def template_saved(template: LineTemplate, *, actor: Any = None) -> list[ProvisioningJob]:
    """Push a changed template: to every platform that keeps templates and holds it (others get it
    with their first user), and, where the template's values live on each user, to its users."""
    users = (
        PbxUser.objects.filter(template=template)
        .exclude(tenant__server__platform__kind__in=kinds_that(lambda capabilities: capabilities.keeps_templates))
        .select_related("tenant__server__platform", "entity", "template")
    )
    user_jobs = [
        _job(
            operation="user.update",
            target=user,
            tenant=user.tenant,
            payload=_user_payload(user),
            wait_for=_user_wait(user),
            actor=actor,
        )
        for user in users
    ]
    return enqueue(_template_jobs(template, "template.upsert", actor) + user_jobs)


def template_deleted(template: LineTemplate, *, actor: Any = None) -> list[ProvisioningJob]:
    return enqueue(_template_jobs(template, "template.delete", actor))


def _template_jobs(template: LineTemplate, operation: str, actor: Any) -> list[ProvisioningJob]:
    return [
        _job(
            operation=operation,
            target=template,
            tenant=None,
            payload={"template": specs.to_payload(specs.template_spec(template, mirror.platform)), "mirror": mirror.pk},
            actor=actor,
            platform=mirror.platform,
        )
        for mirror in LineTemplateMirror.objects.filter(template=template).select_related("platform")
    ]


# --- users and numbers -----------------------------------------------------------------------------


def _user_payload(user: PbxUser) -> dict[str, Any]:
    return {"tenant": specs.to_payload(specs.tenant_ref(user.tenant)), "user": specs.to_payload(specs.user_spec(user))}


def _user_wait(user: PbxUser) -> list[str]:
    return [target_key(user.tenant), target_key(user.entity)]


def natural_keys(tenant: Tenant, internal_number: str, username: str, *, per_server: bool) -> set[str]:
    """The natural keys a user holds on its PBX: its internal number (unique on the whole server
    where the PBX keeps numbers per server) and its name (unique in the tenant)."""
    scope = f"server{tenant.server_id}" if per_server else f"tenant{tenant.pk}"
    return {f"number:{scope}:{internal_number}", f"name:tenant{tenant.pk}:{username.lower()}"}


def user_keys(user: Any) -> set[str]:
    per_server = numbering.shares_server_numbering(user.tenant.server_id)
    return natural_keys(user.tenant, user.internal_number, user.username, per_server=per_server)


def releasing_jobs(server_ids: Iterable[int]) -> dict[str, set[str]]:
    """key → the targets of the unfinished jobs on these servers that let go of it (one query)."""
    releasing = (
        ProvisioningJob.objects.filter(server_id__in=list(server_ids), status__in=UNFINISHED)
        .exclude(releases="")
        .values_list("target_key", "releases")
    )
    found: dict[str, set[str]] = {}
    for target, released in releasing:
        for key in released.split():
            found.setdefault(key, set()).add(target)
    return found


def released_by_others(keys: set[str], *, server_id: int, target: str) -> list[str]:
    """The targets of unfinished jobs of other objects that let go of one of `keys`: a job that
    takes a key runs after them (B takes the number A is leaving), never before."""
    if not keys:
        return []
    releasing = releasing_jobs([server_id])
    return sorted({other for key in keys for other in releasing.get(key, ()) if other != target})


def user_created(user: PbxUser, *, actor: Any = None, batch: ProvisioningBatch | None = None) -> list[ProvisioningJob]:
    takes = user_keys(user)
    job = _job(
        operation="user.create",
        target=user,
        tenant=user.tenant,
        payload=_user_payload(user),
        wait_for=_user_wait(user) + released_by_others(takes, server_id=user.tenant.server_id, target=target_key(user)),
        actor=actor,
        batch=batch,
    )
    return enqueue([job])


def user_updated(
    user: PbxUser, *, previous: PbxUser | None = None, actor: Any = None, batch: ProvisioningBatch | None = None
) -> list[ProvisioningJob]:
    """Push a changed user; `previous` is the row before the change (a renamed or renumbered user
    lets go of its old keys, and takes its new ones only after whoever held them let go). A user
    that never reached its PBX (its create was refused and cancelled) is created instead."""
    if never_created(user):
        supersede_refused_creates(user)
        return user_created(user, actor=actor, batch=batch)
    held = user_keys(user)
    before = user_keys(previous) if previous is not None else held
    job = _job(
        operation="user.update",
        target=user,
        tenant=user.tenant,
        payload=_user_payload(user),
        wait_for=_user_wait(user)
        + released_by_others(held - before, server_id=user.tenant.server_id, target=target_key(user)),
        actor=actor,
        batch=batch,
        releases=before - held,
    )
    return enqueue([job])


def user_deleted(user: PbxUser, *, actor: Any = None) -> list[ProvisioningJob]:
    return enqueue(_user_delete_jobs(user, actor=actor))


def _user_delete_jobs(user: PbxUser, *, actor: Any) -> list[ProvisioningJob]:
    if _cancel_unpushed(user):
        return []
    _supersede_unfinished(user)
    return [
        _job(
            operation="user.delete",
            target=user,
            tenant=user.tenant,
            payload=_user_payload(user),
            wait_for=_user_wait(user),
            actor=actor,
            releases=user_keys(user),
        )
    ]


def _number_job(
    number: PhoneNumber, operation: str, user: PbxUser, actor: Any, batch: ProvisioningBatch | None = None
) -> ProvisioningJob:
    payload = {
        "tenant": specs.to_payload(specs.tenant_ref(user.tenant)),
        "user": specs.to_payload(specs.user_spec(user)),
        "number": number.number,
    }
    return _job(
        operation=operation,
        target=number,
        tenant=user.tenant,
        payload=payload,
        wait_for=[target_key(user)],
        actor=actor,
        batch=batch,
    )


def number_assignment_changed(
    number: PhoneNumber, *, previous_user: PbxUser | None, actor: Any = None
) -> list[ProvisioningJob]:
    """Take the number off its previous user and put it on its new one, in that order."""
    moved = previous_user is None or previous_user.pk != number.assigned_user_id
    jobs = []
    if previous_user is not None and moved:
        jobs.append(_number_job(number, "number.unassign", previous_user, actor))
    if number.assigned_user_id is not None and moved:
        jobs.append(_number_job(number, "number.assign", number.assigned_user, actor))
    return enqueue(jobs)


def _keeps_pilot(tenant_id: int | None) -> Tenant | None:
    """The tenant, if its platform keeps the pilot flag (XC5): else the pilot is the portal's note."""
    if tenant_id is None:
        return None
    tenant = Tenant.objects.select_related("server__platform").get(pk=tenant_id)
    return tenant if tenant.server.platform.capabilities.keeps_pilot else None


def number_pilot_changed(
    number: PhoneNumber, *, before: PhoneNumber | None, actor: Any = None, batch: ProvisioningBatch | None = None
) -> list[ProvisioningJob]:
    """Where the platform keeps a pilot flag per number (XC5), push it as the portal holds it: a
    number on a user carries its flag in its own number job (pushed again when only the flag
    changed); a pilot on no user is the tenant's own number on the PBX (`number.pilot`), which
    the tenant lets go of when the number stops being its pilot on no user. Call after
    `number_assignment_changed`, in the same transaction."""
    was_tenant, was_user, was_pilot = (
        (before.tenant_id, before.assigned_user_id, before.is_pilot) if before else (None, None, False)
    )
    on_tenant_before = was_pilot and was_tenant is not None and was_user is None
    on_tenant_now = number.is_pilot and number.tenant_id is not None and number.assigned_user_id is None
    jobs = []

    def pilot_job(tenant: Tenant) -> ProvisioningJob:
        payload = {"tenant": specs.to_payload(specs.tenant_ref(tenant)), "number": number.number}
        return _job(
            operation="number.pilot", target=number, tenant=tenant, payload=payload, wait_for=[target_key(tenant)],
            actor=actor, batch=batch,
        )  # fmt: skip

    same_tenant = was_tenant == number.tenant_id
    taken_by_a_user = same_tenant and number.assigned_user_id is not None  # its assign job moves it
    if on_tenant_before and not (on_tenant_now and same_tenant) and not taken_by_a_user:
        tenant = _keeps_pilot(was_tenant)
        if tenant is not None:
            jobs.append(pilot_job(tenant))
    if on_tenant_now and not (on_tenant_before and same_tenant):
        tenant = _keeps_pilot(number.tenant_id)
        if tenant is not None:
            jobs.append(pilot_job(tenant))
    flag_only = number.assigned_user_id is not None and number.assigned_user_id == was_user
    if flag_only and number.is_pilot != was_pilot and _keeps_pilot(number.tenant_id) is not None:
        jobs.append(_number_job(number, "number.assign", number.assigned_user, actor, batch))
    return enqueue(jobs)


def nothing_to_push(obj: models.Model) -> None:
    """A mirrored row whose change needs no backend call is in sync as soon as it is saved."""
    if not ProvisioningJob.objects.filter(target_key=target_key(obj)).exclude(status=JobStatus.SUCCEEDED).exists():
        type(obj)._default_manager.filter(pk=obj.pk).update(sync_state=SyncState.IN_SYNC, sync_message="")


def _supersede_unfinished(obj: models.Model) -> None:
    """The object is being deleted: its jobs that wait, retry or failed for good (a create the PBX
    refused) are cancelled, so that the delete runs now instead of waiting for a person. The
    delete finds by its natural key whatever their attempts left on the PBX, and removes it if no
    other row holds it. A job that is running right now is left to finish first."""
    ProvisioningJob.objects.filter(target_key=target_key(obj), status__in=(JobStatus.PENDING, JobStatus.FAILED)).update(
        status=JobStatus.CANCELLED,
        finished_at=timezone.now(),
        waiting_for="",
        last_error="Cancelled: the object was deleted; its delete takes over.",
    )


def _cancel_unpushed(obj: models.Model) -> bool:
    """If nothing of `obj` ever reached its backend (its create job has not started), cancel its
    jobs instead of planning a delete. True when that was the case."""
    key = target_key(obj)
    jobs = ProvisioningJob.objects.select_for_update().filter(target_key=key)
    statuses = set(jobs.values_list("status", flat=True))
    ever_started = jobs.filter(attempts__gt=0).exists() or JobStatus.SUCCEEDED in statuses
    if not statuses or ever_started:
        return False
    jobs.filter(status=JobStatus.PENDING).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now(), last_error="Cancelled: deleted before it was pushed."
    )
    return True
