"""PBX users: create, change and remove lines, inside the tenant's licences and the server's room."""

from __future__ import annotations

import secrets
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.line_features import TenantLine
from telephony.models import Entity, LineTemplate, PbxUser, PhoneNumber, Tenant
from telephony.models.sync import save_changes
from telephony.provisioning import cti_planning, planning
from telephony.rules import capacity, numbering, uniqueness
from telephony.services.numbers import phone_number_update
from telephony.webhooks import events as webhook_events
from tenants import access
from tenants.access import CHANGE, DELETE, VIEW


@transaction.atomic
def pbx_user_create(*, actor: AbstractBaseUser, user: PbxUser) -> PbxUser:
    validate_new_user(actor=actor, user=user)
    user.save()
    planning.user_created(user, actor=actor)
    webhook_events.users_created([user.pk])
    return user


def validate_new_user(*, actor: AbstractBaseUser, user: PbxUser) -> None:
    """Every rule a new line must meet (the tenant row is locked: call it inside a transaction)."""
    tenant = Tenant.objects.select_for_update().select_related("organization", "server").get(pk=user.tenant_id)
    entity = Entity.objects.get(pk=user.entity_id)
    access.require_add(actor, PbxUser, tenant.organization, entity=entity)
    user.tenant, user.entity = tenant, entity  # the model's checks read these rows, not the caller's copies
    _require_governed_logins(actor, user.portal_user_id)
    _require_usable_template(actor, user)
    user.full_clean(validate_constraints=False)  # uniqueness next, in the words an import uses too
    _require_free_in_tenant(actor, tenant, user)
    _validate_number_free_on_server(tenant, user)
    _validate_template_usable_on_platform(tenant, user)
    TenantLine.of(tenant).check_settings(user)
    validate_room_for_users(tenant, adding=1)


def _require_free_in_tenant(actor: AbstractBaseUser, tenant: Tenant, user: PbxUser) -> None:
    errors = uniqueness.check_free_in_tenant(actor, tenant, user)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def pbx_user_update(*, actor: AbstractBaseUser, user: PbxUser) -> PbxUser:
    stored = PbxUser.objects.select_for_update().get(pk=user.pk)
    access.require(actor, CHANGE, stored)
    if user.tenant_id != stored.tenant_id:
        raise ValidationError(
            {"tenant": _("A user cannot move to another tenant; create it there and delete this one.")}
        )
    if user.entity_id != stored.entity_id:
        tenant = Tenant.objects.select_related("organization").get(pk=user.tenant_id)
        access.require_add(actor, PbxUser, tenant.organization, entity=Entity.objects.get(pk=user.entity_id))
    if user.template_id != stored.template_id:
        _require_usable_template(actor, user)
    if user.portal_user_id != stored.portal_user_id:  # a login is linked or unlinked only by who manages it
        _require_governed_logins(actor, stored.portal_user_id, user.portal_user_id)
    user.full_clean(validate_constraints=False)
    if (user.internal_number, user.username) != (stored.internal_number, stored.username):
        _require_free_in_tenant(actor, stored.tenant, user)
    if user.internal_number != stored.internal_number:
        _validate_number_free_on_server(stored.tenant, user)
    if user.template_id != stored.template_id:
        _validate_template_usable_on_platform(stored.tenant, user)
    TenantLine.of(stored.tenant_id).check_settings(user, stored)
    save_changes(user, stored)
    planning.user_updated(user, previous=stored, actor=actor)
    webhook_events.users_updated([user.pk])
    return user


@transaction.atomic
def pbx_user_delete(*, actor: AbstractBaseUser, user: PbxUser) -> None:
    stored = PbxUser.objects.select_for_update().get(pk=user.pk)
    access.require(actor, DELETE, stored)
    cti_planning.user_deleted(stored, actor=actor)  # the CTI service lets go of its credentials too
    planning.user_deleted(stored, actor=actor)
    webhook_events.user_deleting(stored)
    stored.delete()


def validate_room_for_users(tenant: Tenant, *, adding: int) -> None:
    """Refuse users beyond the tenant's licences or the server's line capacity (tenant row locked)."""
    refused = [capacity.licence_shortfall(tenant, current=tenant.users.count(), adding=adding)]
    server = tenant.server
    if server.capacity_users is not None:
        on_server = PbxUser.objects.filter(tenant__server=server).count()
        refused.append(capacity.server_shortfall(server, on_server=on_server, adding=adding))
    if any(refused):
        raise ValidationError([message for message in refused if message])


def _validate_number_free_on_server(tenant: Tenant, user: PbxUser) -> None:
    if numbering.numbers_taken_elsewhere(tenant, [user.internal_number]):
        raise ValidationError({"internal_number": numbering.NUMBER_NOT_AVAILABLE.format(number=user.internal_number)})


def _validate_template_usable_on_platform(tenant: Tenant, user: PbxUser) -> None:
    if numbering.templates_unusable_on(tenant.server.platform, [user.template]):
        raise ValidationError({"template": numbering.TEMPLATE_NAME_NOT_AVAILABLE.format(name=user.template.name)})


LOGIN_NOT_YOURS = gettext_lazy("Only those who manage a portal login may link it to a line or unlink it.")


def governs_logins(actor: AbstractBaseUser, *login_ids: int | None) -> bool:
    """May the actor manage every one of these portal logins (the ones it may link to a line)?"""
    wanted = {pk for pk in login_ids if pk is not None}
    if not wanted:
        return True
    logins = access.restrict_users(get_user_model().objects.filter(pk__in=wanted), actor, CHANGE)
    return set(logins.values_list("pk", flat=True)) == wanted


def _require_governed_logins(actor: AbstractBaseUser, *login_ids: int | None) -> None:
    if not governs_logins(actor, *login_ids):
        raise ValidationError({"portal_user": LOGIN_NOT_YOURS})


def _require_usable_template(actor: AbstractBaseUser, user: PbxUser) -> None:
    template = LineTemplate.objects.select_related("organization").get(pk=user.template_id)
    if not access.can(actor, VIEW, template):
        raise ValidationError({"template": _("Choose one of the line templates available to you.")})
    user.template = template  # what the model's own checks read next: this row, not the caller's copy


# --- self-service: the line's own settings, its PIN and its external numbers ------------------------

# What the person on a line may change about it themselves (the self-service "my line" page).
LINE_FIELDS = (
    "display_name",
    "email",
    "voicemail_enabled",
    "voicemail_to_email",
    "forward_always",
    "forward_busy",
    "forward_no_answer",
    "forward_no_answer_timeout",
)
GENERATED_PIN_DIGITS = 6


def _require_line_access(actor: AbstractBaseUser, stored: PbxUser) -> None:
    """The person linked to the line, or anyone who may change the user, may change its settings."""
    if stored.portal_user_id is not None and stored.portal_user_id == actor.pk and actor.is_active:
        return
    access.require(actor, CHANGE, stored)


@transaction.atomic
def pbx_user_line_update(*, actor: AbstractBaseUser, user: PbxUser, new_pin: str | None = None) -> PbxUser:
    """Change a line's own settings (LINE_FIELDS, and the voicemail PIN when `new_pin` is given);
    every other field keeps its stored value. Turning voicemail off also drops the PIN. Pushes an
    update only when something changed."""
    stored = PbxUser.objects.select_for_update().get(pk=user.pk)
    _require_line_access(actor, stored)
    before = {name: getattr(stored, name) for name in (*LINE_FIELDS, "voicemail_pin")}
    for name in LINE_FIELDS:
        setattr(stored, name, getattr(user, name))
    if new_pin:
        stored.voicemail_pin = new_pin
    if not stored.voicemail_enabled:
        stored.voicemail_pin = None
    stored.full_clean()
    TenantLine.of(stored.tenant_id).check_settings(stored, SimpleNamespace(**before))
    if all(getattr(stored, name) == value for name, value in before.items()):
        return stored
    stored.save()
    planning.user_updated(stored, actor=actor)
    webhook_events.users_updated([stored.pk])
    return stored


@transaction.atomic
def pbx_user_reset_voicemail_pin(*, actor: AbstractBaseUser, user: PbxUser) -> str:
    """Give the line a new random voicemail PIN and return it (shown once, never stored in clear)."""
    stored = PbxUser.objects.select_for_update().get(pk=user.pk)
    _require_line_access(actor, stored)
    line = TenantLine.of(stored.tenant_id)
    if not line.keeps("voicemail_pin"):
        raise ValidationError({"voicemail_pin": line.why_not("voicemail_pin")})
    if not stored.voicemail_enabled:
        raise ValidationError({"voicemail_enabled": _("Turn voicemail on before resetting its PIN.")})
    pin = "".join(secrets.choice("0123456789") for _ in range(GENERATED_PIN_DIGITS))
    stored.voicemail_pin = pin
    stored.full_clean()
    stored.save()
    planning.user_updated(stored, actor=actor)
    webhook_events.users_updated([stored.pk])
    return pin


@transaction.atomic
def pbx_user_assign_number(*, actor: AbstractBaseUser, user: PbxUser, number: PhoneNumber) -> PhoneNumber:
    """Give a user one of its tenant's free external numbers (never one that another user holds)."""
    stored = PhoneNumber.objects.select_for_update().get(pk=number.pk)
    holder = PbxUser.objects.get(pk=user.pk)
    access.require(actor, CHANGE, holder)
    if stored.tenant_id != holder.tenant_id:
        raise ValidationError(
            {
                "number": _("%(number)s is not one of %(tenant)s's numbers.")
                % {"number": stored.number, "tenant": holder.tenant}
            }
        )
    if stored.assigned_user_id not in (None, holder.pk):
        raise ValidationError({"number": _("%(number)s is already taken by another user.") % {"number": stored.number}})
    if stored.assigned_user_id == holder.pk:
        return stored
    TenantLine.of(holder.tenant_id).check_number_room(holder, stored, field="number")
    stored.assigned_user = holder
    assigned = phone_number_update(actor=actor, number=stored)
    webhook_events.users_updated([holder.pk])
    return assigned


@transaction.atomic
def pbx_user_release_number(*, actor: AbstractBaseUser, user: PbxUser, number: PhoneNumber) -> PhoneNumber:
    """Take an external number off a user; it goes back to the tenant's free numbers."""
    stored = PhoneNumber.objects.select_for_update().get(pk=number.pk)
    holder = PbxUser.objects.get(pk=user.pk)
    access.require(actor, CHANGE, holder)
    if stored.assigned_user_id != holder.pk:
        raise ValidationError(
            {"number": _("%(number)s is not assigned to %(user)s.") % {"number": stored.number, "user": holder}}
        )
    stored.assigned_user = None
    released = phone_number_update(actor=actor, number=stored)
    webhook_events.users_updated([holder.pk])
    return released


@transaction.atomic
def pbx_user_create_with_number(
    *, actor: AbstractBaseUser, user: PbxUser, number: PhoneNumber | None = None
) -> PbxUser:
    """Create a user and, in the same transaction, give it one of its tenant's free numbers."""
    created = pbx_user_create(actor=actor, user=user)
    if number is not None:
        pbx_user_assign_number(actor=actor, user=created, number=number)
    return created
