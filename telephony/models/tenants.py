"""Tenants (a customer's PBX space on one server), their entities and the entities' number plans."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.validators import interval_contains, validate_interval, validate_tenant_name
from tenants.access import VIEW, AccessPolicy
from tenants.audit_mixin import Audited
from tenants.models import Organization, OrganizationKind

from .platforms import Server
from .sync import BackendRefField, MirroredModel


class TenantStatus(models.TextChoices):
    STARTED = "started", gettext_lazy("Started")
    STOPPED = "stopped", gettext_lazy("Stopped")


class Tenant(Audited, MirroredModel):
    """A customer's PBX space on one server: a Xelion tenant, a XiVO tenancy, an XC5 virtual
    environment account such as `acmebrick.x.co.nz`. Owned by a customer organization.

    The name addresses the tenant on its backend (Xelion puts it in every URL), so it cannot change
    once the tenant exists there.
    """

    access_policy = AccessPolicy(("organization",), entity_reverse_lookup="tenant", entity_actions=frozenset({VIEW}))

    organization = models.ForeignKey(
        Organization, verbose_name=gettext_lazy("organization"), on_delete=models.PROTECT, related_name="tenants"
    )
    server = models.ForeignKey(
        Server, verbose_name=gettext_lazy("server"), on_delete=models.PROTECT, related_name="tenants"
    )
    name = models.CharField(verbose_name=gettext_lazy("name"), max_length=63, validators=[validate_tenant_name])
    label = models.CharField(
        verbose_name=gettext_lazy("label"),
        max_length=200,
        blank=True,
        help_text=gettext_lazy(
            "Shown in the portal; sent to platforms that label tenants when the tenant is created (no "
            "PBX has a call to change it later, so later changes stay in the portal)."
        ),
    )
    licences = models.PositiveIntegerField(
        verbose_name=gettext_lazy("licences"),
        default=10,
        validators=[MinValueValidator(1)],
        help_text=gettext_lazy(
            "Most users this tenant may have. Requested from platforms that license tenants when the "
            "tenant is created; later changes set the portal's limit only (no PBX has a call to change them)."
        ),
    )
    status = models.CharField(
        verbose_name=gettext_lazy("status"), max_length=20, choices=TenantStatus.choices, default=TenantStatus.STARTED
    )
    backend_ref = BackendRefField()
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("tenant")
        verbose_name_plural = gettext_lazy("tenants")
        ordering = ["name"]
        # A server's tenants that a login sees, counted from the index alone (the servers' lists'
        # count column, tenants.scanned_in): 0.49 against 0.77 ms for ten servers on SQLite.
        indexes = [models.Index(fields=["server", "organization"], name="tenant_server_organization")]
        constraints = [
            models.UniqueConstraint(
                fields=["server", "name"],
                name="tenant_name_unique_per_server",
                violation_error_message=gettext_lazy("This name is not available on this server."),
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=TenantStatus.values),
                name="tenant_status_valid",
                violation_error_message=gettext_lazy("A tenant is started or stopped."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_name = instance.__dict__.get("name")
        return instance

    @property
    def has_backend_identity(self) -> bool:
        return bool(self.backend_ref)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        stored_name = getattr(self, "_stored_name", None)
        if stored_name is not None and self.name != stored_name and self.has_backend_identity:
            errors["name"] = _(
                "The tenant exists on its PBX as %(name)s; its name cannot change any more "
                "(the backend refers to it by name)."
            ) % {"name": repr(stored_name)}
        if self.organization_id and self.organization.kind != OrganizationKind.CUSTOMER:
            errors["organization"] = _("A tenant belongs to a customer organization.")
        elif self.organization_id and self.server_id:
            owner = self.server.platform.organization
            if not self.organization.is_within(owner):
                errors["server"] = _(
                    "%(server)s is not shared with %(organization)s (its platform belongs to %(owner)s)."
                ) % {"server": self.server, "organization": self.organization, "owner": owner}
        renamed = stored_name is None or self.name != stored_name  # a name the PBX already holds stays valid
        if self.server_id and self.name and renamed and "name" not in errors:
            rule = self.server.platform.capabilities.tenant_name_rule
            if rule and not re.match(rule[0], self.name, re.IGNORECASE):
                errors["name"] = rule[1]
        if errors:
            raise ValidationError(errors)

    def validate_server_capacity(self) -> None:
        """Refuse to place the tenant on a full server (run with the server row locked)."""
        server = self.server
        if server.capacity_tenants is None:
            return
        others = server.tenants.exclude(pk=self.pk).count()
        if others >= server.capacity_tenants:
            raise ValidationError(
                {
                    "server": _("%(server)s is full: it holds its most, %(count)s tenants.")
                    % {"server": server.name, "count": server.capacity_tenants}
                }
            )


validate_entity_name = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    gettext_lazy("Use letters, digits, _ . and - (at most 64), starting with a letter or digit."),
    code="entity_name",
)


class Entity(Audited, MirroredModel):
    """A unit of a tenant with its own number plan: an XCU entity (`combinedId`), a Xelion
    department, an XC5 group of child accounts. Entity administrators (XCU administrators with
    `entityIds`) manage only the users and numbers of the entities granted to them."""

    access_policy = AccessPolicy(("tenant__organization",), entity_lookup="", entity_actions=frozenset({VIEW}))

    tenant = models.ForeignKey(
        Tenant, verbose_name=gettext_lazy("tenant"), on_delete=models.CASCADE, related_name="entities"
    )
    name = models.CharField(verbose_name=gettext_lazy("name"), max_length=64, validators=[validate_entity_name])
    display_name = models.CharField(verbose_name=gettext_lazy("display name"), max_length=200, blank=True)
    presented_number = models.CharField(
        verbose_name=gettext_lazy("presented number"),
        max_length=40,
        blank=True,
        help_text=gettext_lazy("Number shown on outgoing calls, where the platform sets one per entity."),
    )
    administrators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("administrators"),
        blank=True,
        related_name="administered_entities",
        help_text=gettext_lazy("Logins that manage only this entity's users and numbers."),
    )
    backend_ref = BackendRefField()
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("entity")
        verbose_name_plural = gettext_lazy("entities")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                name="entity_name_unique_per_tenant",
                violation_error_message=gettext_lazy("This tenant already has an entity with this name."),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.name

    @property
    def number_plan(self) -> str:
        """The intervals as typed in a form: '1700-1799, 1961'."""
        return ", ".join(f"{i.start}-{i.end}" if i.end else i.start for i in self.intervals.all())

    def contains_number(self, number: str) -> bool:
        return any(interval.contains(number) for interval in self.intervals.all())


class NumberInterval(Audited, models.Model):
    """A range of internal numbers of an entity: 1–6 digits, start ≤ end, an empty end for a
    single number. Intervals never overlap inside a tenant."""

    access_policy = AccessPolicy(
        ("entity__tenant__organization",), entity_lookup="entity", entity_actions=frozenset({VIEW})
    )

    entity = models.ForeignKey(
        Entity, verbose_name=gettext_lazy("entity"), on_delete=models.CASCADE, related_name="intervals"
    )
    start = models.CharField(verbose_name=gettext_lazy("start"), max_length=6)
    end = models.CharField(
        verbose_name=gettext_lazy("end"), max_length=6, blank=True, help_text=gettext_lazy("Empty for a single number.")
    )

    class Meta:
        verbose_name = gettext_lazy("number interval")
        verbose_name_plural = gettext_lazy("number intervals")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end="") | models.Q(end__gte=models.F("start")),
                name="interval_end_not_before_start",
                violation_error_message=gettext_lazy("The end of an interval cannot be before its start."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start}–{self.end}" if self.end else self.start

    def contains(self, number: str) -> bool:
        return interval_contains(self.start, self.end, number)

    def clean(self) -> None:
        super().clean()
        validate_interval(self.start, self.end)
