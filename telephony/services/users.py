"""PBX users: create, change and remove lines, inside the tenant's licences and the server's room."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from telephony.models import Entity, LineTemplate, PbxUser, Tenant
from telephony.provisioning import planning
from tenants import access
from tenants.access import CHANGE, DELETE, VIEW


@transaction.atomic
def pbx_user_create(*, actor: AbstractBaseUser, user: PbxUser) -> PbxUser:
    tenant = Tenant.objects.select_for_update().select_related("organization", "server").get(pk=user.tenant_id)
    entity = Entity.objects.get(pk=user.entity_id)
    access.require_add(actor, PbxUser, tenant.organization, entity=entity)
    user.tenant = tenant
    _require_usable_template(actor, user)
    user.full_clean()
    validate_room_for_users(tenant, adding=1)
    user.save()
    planning.user_created(user, actor=actor)
    return user


@transaction.atomic
def pbx_user_update(*, actor: AbstractBaseUser, user: PbxUser) -> PbxUser:
    stored = PbxUser.objects.select_for_update().get(pk=user.pk)
    access.require(actor, CHANGE, stored)
    if user.tenant_id != stored.tenant_id:
        raise ValidationError({"tenant": "A user cannot move to another tenant; create it there and delete this one."})
    if user.entity_id != stored.entity_id:
        tenant = Tenant.objects.select_related("organization").get(pk=user.tenant_id)
        access.require_add(actor, PbxUser, tenant.organization, entity=Entity.objects.get(pk=user.entity_id))
    if user.template_id != stored.template_id:
        _require_usable_template(actor, user)
    user.full_clean()
    user.save()
    planning.user_updated(user, actor=actor)
    return user


@transaction.atomic
def pbx_user_delete(*, actor: AbstractBaseUser, user: PbxUser) -> None:
    stored = PbxUser.objects.select_for_update().get(pk=user.pk)
    access.require(actor, DELETE, stored)
    planning.user_deleted(stored, actor=actor)
    stored.delete()


def validate_room_for_users(tenant: Tenant, *, adding: int) -> None:
    """Refuse users beyond the tenant's licences or the server's line capacity (tenant row locked)."""
    current = tenant.users.count()
    if current + adding > tenant.licences:
        raise ValidationError(
            f"{tenant} has {tenant.licences} licences and {current} users; there is no room for {adding} more."
        )
    server = tenant.server
    if server.capacity_users is not None:
        on_server = PbxUser.objects.filter(tenant__server=server).count()
        if on_server + adding > server.capacity_users:
            raise ValidationError(f"Server {server} is full: it holds {on_server} of {server.capacity_users} lines.")


def _require_usable_template(actor: AbstractBaseUser, user: PbxUser) -> None:
    template = LineTemplate.objects.select_related("organization").get(pk=user.template_id)
    if not access.can(actor, VIEW, template):
        raise ValidationError({"template": "Choose one of the line templates available to you."})
