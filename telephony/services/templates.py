"""Line templates, defined by an organization and usable in its subtree."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from telephony.models import LineTemplate
from telephony.models.sync import save_changes
from telephony.provisioning import planning
from tenants import access
from tenants.access import CHANGE, DELETE
from tenants.models import Organization


@transaction.atomic
def line_template_create(*, actor: AbstractBaseUser, template: LineTemplate) -> LineTemplate:
    access.require_add(actor, LineTemplate, Organization.objects.get(pk=template.organization_id))
    template.full_clean()
    template.save()
    planning.nothing_to_push(template)
    return template


@transaction.atomic
def line_template_update(*, actor: AbstractBaseUser, template: LineTemplate) -> LineTemplate:
    stored = LineTemplate.objects.select_for_update().get(pk=template.pk)
    access.require(actor, CHANGE, stored)
    if template.organization_id != stored.organization_id:
        raise ValidationError({"organization": _("A line template stays with the organization that defined it.")})
    template.full_clean()
    save_changes(template, stored)
    if not planning.template_saved(template, actor=actor):
        planning.nothing_to_push(template)
    return template


@transaction.atomic
def line_template_delete(*, actor: AbstractBaseUser, template: LineTemplate) -> None:
    stored = LineTemplate.objects.select_for_update().get(pk=template.pk)
    access.require(actor, DELETE, stored)
    users = stored.users.count()
    if users:
        raise ValidationError(
            _("%(name)s is the template of %(count)s user(s); give them another one first.")
            % {"name": stored.name, "count": users}
        )
    planning.template_deleted(stored, actor=actor)
    stored.delete()
