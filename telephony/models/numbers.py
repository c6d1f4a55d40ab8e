"""External phone numbers (DDIs): pools, allocation to tenants, assignment to users."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.validators import validate_e164
from tenants.access import CHANGE, VIEW, AccessPolicy
from tenants.audit_mixin import Audited
from tenants.models import Organization

from .sync import BackendRefField, MirroredModel
from .tenants import Tenant
from .users import PbxUser


class PhoneNumber(Audited, MirroredModel):
    """An external number in E.164, in the pool of an organization, allocated to a tenant of that
    organization's subtree, and assigned to at most one user of that tenant. One number per tenant
    may be its pilot (the default presented number)."""

    access_policy = AccessPolicy(
        ("organization", "tenant__organization"),
        entity_lookup="assigned_user__entity",
        entity_actions=frozenset({VIEW, CHANGE}),
    )

    number = models.CharField(
        verbose_name=gettext_lazy("number"),
        max_length=16,
        unique=True,
        validators=[validate_e164],
        # numbers are unique across every pool: never confirm one exists outside the login's scope
        error_messages={"unique": gettext_lazy("This number is not available.")},
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=gettext_lazy("organization"),
        on_delete=models.PROTECT,
        related_name="phone_numbers",
        help_text=gettext_lazy("Owner of the pool."),
    )
    tenant = models.ForeignKey(
        Tenant,
        verbose_name=gettext_lazy("tenant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="phone_numbers",
    )
    assigned_user = models.ForeignKey(
        PbxUser,
        verbose_name=gettext_lazy("assigned user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="phone_numbers",
    )
    is_pilot = models.BooleanField(gettext_lazy("pilot number"), default=False)
    label = models.CharField(verbose_name=gettext_lazy("label"), max_length=100, blank=True)
    backend_ref = BackendRefField()
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("phone number")
        verbose_name_plural = gettext_lazy("phone numbers")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(is_pilot=True),
                name="phone_number_one_pilot_per_tenant",
                violation_error_message=gettext_lazy("This tenant already has a pilot number."),
            ),
            models.CheckConstraint(
                condition=models.Q(assigned_user__isnull=True) | models.Q(tenant__isnull=False),
                name="phone_number_assigned_needs_tenant",
                violation_error_message=gettext_lazy("Allocate the number to the user's tenant before assigning it."),
            ),
            models.CheckConstraint(
                condition=models.Q(is_pilot=False) | models.Q(tenant__isnull=False),
                name="phone_number_pilot_needs_tenant",
                violation_error_message=gettext_lazy("Only a number allocated to a tenant can be its pilot."),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.tenant_id and self.organization_id and not self.tenant.organization.is_within(self.organization):
            errors["tenant"] = _("%(tenant)s is not a tenant of %(organization)s or of an organization below it.") % {
                "tenant": self.tenant,
                "organization": self.organization,
            }
        if self.assigned_user_id:
            if not self.tenant_id:
                errors["assigned_user"] = _("Allocate the number to the user's tenant before assigning it.")
            elif self.assigned_user.tenant_id != self.tenant_id:
                errors["assigned_user"] = _(
                    "The user belongs to another tenant than the one the number is allocated to."
                )
        if errors:
            raise ValidationError(errors)
