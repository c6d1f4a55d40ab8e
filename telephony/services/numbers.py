"""Phone numbers: a pool per organization, allocated to tenants, assigned to users."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from telephony.line_features import TenantLine
from telephony.models import PbxUser, PhoneNumber, Tenant
from telephony.models.sync import save_changes
from telephony.provisioning import planning
from telephony.validators import normalize_e164
from tenants import access
from tenants.access import CHANGE, DELETE, VIEW
from tenants.models import Organization


@transaction.atomic
def phone_number_create(*, actor: AbstractBaseUser, number: PhoneNumber) -> PhoneNumber:
    """Add a number to an organization's pool (and optionally allocate or assign it at once)."""
    access.require_add(actor, PhoneNumber, Organization.objects.get(pk=number.organization_id))
    number.number = normalize_e164(number.number)
    _require_visible_targets(actor, number)
    number.full_clean()
    if number.assigned_user_id:
        TenantLine.of(number.tenant_id).check_number_room(number.assigned_user, number)
    number.save()
    pushed = planning.number_assignment_changed(number, previous_user=None, actor=actor)
    pushed += planning.number_pilot_changed(number, before=None, actor=actor)
    if not pushed:
        planning.nothing_to_push(number)
    return number


@transaction.atomic
def phone_number_update(*, actor: AbstractBaseUser, number: PhoneNumber) -> PhoneNumber:
    """Allocate, assign, release or relabel a number."""
    stored = PhoneNumber.objects.select_for_update().get(pk=number.pk)
    access.require(actor, CHANGE, stored)
    if number.number != stored.number:
        raise ValidationError({"number": _("A number cannot be renumbered; add the new number to the pool instead.")})
    if number.organization_id != stored.organization_id:
        raise ValidationError({"organization": _("A number stays in the pool it was added to.")})
    if number.tenant_id != stored.tenant_id and not access.can_add(actor, PhoneNumber, stored.organization):
        raise ValidationError({"tenant": _("Only the pool's managers may allocate or release this number.")})
    if (
        number.tenant_id != stored.tenant_id
        and stored.assigned_user_id
        and number.assigned_user_id == stored.assigned_user_id
    ):
        number.assigned_user = None
    _require_visible_targets(actor, number)
    number.full_clean()
    if number.assigned_user_id and number.assigned_user_id != stored.assigned_user_id:
        TenantLine.of(number.tenant_id).check_number_room(number.assigned_user, number)
    save_changes(number, stored)
    pushed = planning.number_assignment_changed(number, previous_user=stored.assigned_user, actor=actor)
    pushed += planning.number_pilot_changed(number, before=stored, actor=actor)
    if not pushed:
        planning.nothing_to_push(number)
    return number


@transaction.atomic
def phone_number_delete(*, actor: AbstractBaseUser, number: PhoneNumber) -> None:
    stored = PhoneNumber.objects.select_for_update().get(pk=number.pk)
    access.require(actor, DELETE, stored)
    if stored.assigned_user_id:
        raise ValidationError(
            _("%(number)s is assigned to %(user)s; unassign it first.")
            % {"number": stored.number, "user": stored.assigned_user}
        )
    gone = PhoneNumber(pk=stored.pk, number=stored.number, organization_id=stored.organization_id)
    planning.number_pilot_changed(gone, before=stored, actor=actor)  # a pilot the tenant held lets go of it
    stored.delete()


def _require_visible_targets(actor: AbstractBaseUser, number: PhoneNumber) -> None:
    if number.tenant_id and not access.can(actor, VIEW, Tenant.objects.get(pk=number.tenant_id)):
        raise ValidationError({"tenant": _("Choose one of your tenants.")})
    if number.assigned_user_id and not access.can(actor, CHANGE, PbxUser.objects.get(pk=number.assigned_user_id)):
        raise ValidationError({"assigned_user": _("Choose one of the users you manage.")})
