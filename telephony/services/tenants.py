"""Tenants, their entities and the entities' number plans."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from telephony.line_features import refusal
from telephony.models import CrmIntegration, Entity, NumberInterval, Server, Tenant
from telephony.models.sync import save_changes
from telephony.provisioning import planning, revisions
from telephony.rules import numbering
from telephony.validators import interval_contains, intervals_overlap, validate_interval
from telephony.webhooks import events as webhook_events
from tenants import access
from tenants.access import CHANGE, DELETE, VIEW
from tenants.models import Organization

IntervalPair = tuple[str, str]


@transaction.atomic
def tenant_create(*, actor: AbstractBaseUser, tenant: Tenant) -> Tenant:
    """Place a new tenant on a server shared with the actor, if the server has room."""
    organization = Organization.objects.get(pk=tenant.organization_id)
    access.require_add(actor, Tenant, organization)
    tenant.server = Server.objects.select_for_update().get(pk=tenant.server_id)
    access.require(actor, VIEW, tenant.server)
    tenant.full_clean()
    tenant.validate_server_capacity()
    tenant.save()
    planning.tenant_created(tenant, actor=actor)
    return tenant


@transaction.atomic
def tenant_update(*, actor: AbstractBaseUser, tenant: Tenant) -> Tenant:
    stored = Tenant.objects.select_for_update().get(pk=tenant.pk)
    access.require(actor, CHANGE, stored)
    if tenant.organization_id != stored.organization_id:
        access.require_add(actor, Tenant, Organization.objects.get(pk=tenant.organization_id))
    reached_backend = revisions.tenant_reached_backend(stored)
    if tenant.server_id != stored.server_id:
        if reached_backend:
            raise ValidationError({"server": _("The tenant exists on its server; it cannot move to another one.")})
        tenant.server = Server.objects.select_for_update().get(pk=tenant.server_id)
        access.require(actor, VIEW, tenant.server)
        tenant.validate_server_capacity()
        _validate_numbering_on_new_server(tenant)
    tenant._stored_name = stored.name
    tenant.full_clean()
    users = stored.users.count()
    if tenant.licences < users:
        raise ValidationError(
            {
                "licences": _("The tenant already has %(count)s users; it needs at least %(count)s licences.")
                % {"count": users}
            }
        )
    status_changed = tenant.status != stored.status
    platform = tenant.server.platform
    if status_changed and not platform.capabilities.starts_tenants:
        never = _("Tenants on %(kind)s cannot be started or stopped.") % {"kind": platform.get_kind_display()}
        raise ValidationError({"status": refusal(platform, "starts_tenants", never)})
    creation_changed = any(
        getattr(tenant, name) != getattr(stored, name) for name in ("name", "server_id", "label", "licences")
    )
    save_changes(tenant, stored)
    if creation_changed and not reached_backend and not revisions.tenant_creation_revised(tenant):
        raise ValidationError(
            _("%(name)s is being created on its PBX right now; change it once that has finished.")
            % {"name": stored.name}
        )
    if status_changed:
        planning.tenant_status_changed(tenant, actor=actor)
    return tenant


def _validate_numbering_on_new_server(tenant: Tenant) -> None:
    """A tenant moving to a server whose PBX shares numbering across tenants brings its plans along."""
    plans = list(NumberInterval.objects.filter(entity__tenant=tenant).values_list("start", "end"))
    names = list(tenant.entities.values_list("name", flat=True))
    clashes = [_show(i) for i in numbering.plan_overlaps_elsewhere(tenant, plans)]
    clashes += [name for name in names if numbering.entity_name_taken_elsewhere(tenant, name)]
    if clashes:
        raise ValidationError(
            {
                "server": _("Its number plans or entity names are not available on that server (%(clashes)s).")
                % {"clashes": ", ".join(clashes)}
            }
        )


@transaction.atomic
def tenant_delete(*, actor: AbstractBaseUser, tenant: Tenant) -> None:
    stored = Tenant.objects.select_for_update().get(pk=tenant.pk)
    access.require(actor, DELETE, stored)
    if CrmIntegration.objects.filter(tenant=stored).exists():
        raise ValidationError(
            _(
                "%(tenant)s has a CRM integration: remove it first (a job removes it from the CTI service), "
                "then the tenant."
            )
            % {"tenant": stored}
        )
    planning.tenant_deleted(stored, actor=actor)
    webhook_events.users_deleting(stored.users.values_list("pk", flat=True))
    stored.users.all().delete()  # users first: an entity cannot go while it has users
    stored.delete()


@transaction.atomic
def entity_create(*, actor: AbstractBaseUser, entity: Entity, intervals: Sequence[IntervalPair] = ()) -> Entity:
    tenant = Tenant.objects.select_for_update().select_related("organization").get(pk=entity.tenant_id)
    access.require_add(actor, Entity, tenant.organization)
    entity.full_clean()
    _validate_entity_name(tenant, entity)
    _validate_number_plan(tenant, entity, intervals)
    entity.save()
    NumberInterval.objects.bulk_create(NumberInterval(entity=entity, start=s, end=e) for s, e in intervals)
    planning.entity_saved(entity, actor=actor)
    return entity


@transaction.atomic
def entity_update(
    *, actor: AbstractBaseUser, entity: Entity, intervals: Sequence[IntervalPair] | None = None
) -> Entity:
    """Save an entity; with `intervals`, replace its number plan (its users must stay inside it)."""
    stored = Entity.objects.select_for_update().get(pk=entity.pk)
    access.require(actor, CHANGE, stored)
    if entity.tenant_id != stored.tenant_id:
        raise ValidationError({"tenant": _("An entity cannot move to another tenant.")})
    tenant = Tenant.objects.select_for_update().get(pk=stored.tenant_id)
    entity.full_clean()
    if entity.name != stored.name:
        _validate_entity_name(tenant, entity)
    if intervals is not None:
        _validate_number_plan(tenant, entity, intervals)
    save_changes(entity, stored)
    if intervals is not None:
        current = {(i.start, i.end) for i in stored.intervals.all()}
        wanted = {(s, e) for s, e in intervals}
        if current != wanted:
            stored.intervals.all().delete()
            NumberInterval.objects.bulk_create(NumberInterval(entity=entity, start=s, end=e) for s, e in intervals)
    planning.entity_saved(entity, actor=actor)
    return entity


@transaction.atomic
def entity_delete(*, actor: AbstractBaseUser, entity: Entity) -> None:
    stored = Entity.objects.select_for_update().get(pk=entity.pk)
    access.require(actor, DELETE, stored)
    users = stored.users.count()
    if users:
        raise ValidationError(
            _("%(entity)s still has %(count)s user(s); move or delete them first.") % {"entity": stored, "count": users}
        )
    planning.entity_deleted(stored, actor=actor)
    stored.delete()


@transaction.atomic
def entity_set_administrators(*, actor: AbstractBaseUser, entity: Entity, administrators: Iterable[Any]) -> Entity:
    """Make `administrators` the logins that administer the entity.

    Granting is an administrator's act: the actor needs the admin role over the entity's customer.
    A login may be added only if it belongs to that customer (every right it holds lies in the
    customer organization or below); grants the actor leaves in place are kept whoever holds them."""
    stored = Entity.objects.select_for_update().select_related("tenant__organization").get(pk=entity.pk)
    access.require(actor, VIEW, stored)
    wanted = {login.pk: login for login in administrators}
    current = set(stored.administrators.values_list("pk", flat=True))
    if set(wanted) == current:
        return stored
    customer = stored.tenant.organization
    if not access.administers(actor, customer):
        raise ValidationError(
            {"administrators": _("Only an administrator of the customer may grant or remove entity administrators.")}
        )
    added = set(wanted) - current
    if added:
        candidates = access.logins_governed_within(get_user_model().objects.filter(pk__in=added), [customer.path])
        refused = added - set(candidates.values_list("pk", flat=True))
        if refused:
            names = ", ".join(sorted(str(wanted[pk]) for pk in refused))
            raise ValidationError(
                {
                    "administrators": _(
                        "Not available as administrators of %(entity)s: %(names)s. An entity administrator "
                        "must be a login of %(customer)s only."
                    )
                    % {"entity": stored, "names": names, "customer": customer}
                }
            )
    stored.administrators.set(list(wanted.values()))
    return stored


def parse_intervals(text: str) -> list[IntervalPair]:
    """'1700-1799, 1961' → [('1700', '1799'), ('1961', '')]; raises ValidationError with a plain message."""
    pairs: list[IntervalPair] = []
    for chunk in (part.strip() for part in text.replace(";", ",").replace("\n", ",").split(",")):
        if not chunk:
            continue
        start, _dash, end = (piece.strip() for piece in chunk.replace("–", "-").partition("-"))
        try:
            validate_interval(start, end)
        except ValidationError as exc:
            raise ValidationError(f"{chunk}: {' '.join(m for ms in exc.message_dict.values() for m in ms)}") from None
        pairs.append((start, end))
    return pairs


def _validate_number_plan(tenant: Tenant, entity: Entity, intervals: Sequence[IntervalPair]) -> None:
    errors: list[str] = []
    for start, end in intervals:
        try:
            validate_interval(start, end)
        except ValidationError as exc:
            errors.extend(f"{start}-{end}: {m}" for ms in exc.message_dict.values() for m in ms)
    if errors:
        raise ValidationError({"intervals": errors})
    for i, first in enumerate(intervals):
        for second in intervals[i + 1 :]:
            if intervals_overlap(first, second):
                errors.append(_("%(first)s overlaps %(second)s.") % {"first": _show(first), "second": _show(second)})
    for interval in numbering.plan_overlaps_elsewhere(tenant, intervals):
        errors.append(numbering.PLAN_NOT_AVAILABLE.format(interval=_show(interval)))
    others = NumberInterval.objects.filter(entity__tenant=tenant).select_related("entity")
    if entity.pk:
        others = others.exclude(entity=entity)
    for other in others:
        for interval in intervals:
            if intervals_overlap(interval, (other.start, other.end)):
                errors.append(
                    _("%(interval)s overlaps %(other)s of entity %(entity)s.")
                    % {"interval": _show(interval), "other": other, "entity": other.entity}
                )
    if entity.pk:
        stranded = [
            f"{user.full_name} ({user.internal_number})"
            for user in entity.users.only("first_name", "last_name", "internal_number")
            if not any(interval_contains(s, e, user.internal_number) for s, e in intervals)
        ]
        if stranded:
            errors.append(
                _("These users would fall outside the number plan: %(users)s.") % {"users": ", ".join(stranded[:10])}
            )
    if errors:
        raise ValidationError({"intervals": errors})


def _validate_entity_name(tenant: Tenant, entity: Entity) -> None:
    if numbering.entity_name_taken_elsewhere(tenant, entity.name):
        raise ValidationError({"name": numbering.ENTITY_NAME_NOT_AVAILABLE})


def _show(interval: IntervalPair) -> str:
    return f"{interval[0]}–{interval[1]}" if interval[1] else interval[0]
