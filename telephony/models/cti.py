"""CRM integrations on the Xelion CTI service: the service itself, one tenant's integration with its
event → URI mappings, and the CRM credentials of the tenant's users.

Secrets (the tenant administrator's password, OAuth client secrets, refresh tokens and device codes)
are encrypted at rest, never shown again, masked in the audit history, and read from the row when a
job runs (never put in a job's payload). Payload templates keep their `${…}` placeholders (Unified
Expression Language) verbatim: they are data for the CTI service, never evaluated by the portal.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.backends import guard
from telephony.backends.errors import UnsafeRequestError
from tenants.access import ORGANIZATION_MANAGERS, PBX_MANAGERS, AccessPolicy
from tenants.audit_mixin import Audited
from tenants.models import Organization

from .fields import EncryptedCharField
from .sync import BackendRefField, MirroredModel
from .tenants import Tenant
from .users import PbxUser

CALL_EVENTS = (
    ("newCallEvent", gettext_lazy("New call")),
    ("callConnectedEvent", gettext_lazy("Call connected")),
    ("callHungUpEvent", gettext_lazy("Call hung up")),
    ("missedCallEvent", gettext_lazy("Missed call")),
)
CrmEvent = models.TextChoices("CrmEvent", [(event, (event, label)) for event, label in CALL_EVENTS])


def outbound_url_refusal(url: str, *, resolve: bool, policy: guard.AddressPolicy | None = None) -> str:
    """Why the portal's outbound-URL rules (the platforms', unless another `policy` is given) refuse
    `url` (empty: they accept it)."""
    try:
        (policy or guard.current_policy()).check_url(url, resolve=resolve)
    except UnsafeRequestError as refusal:
        return str(refusal) + "."
    return ""


class CtiService(Audited, models.Model):
    """A Xelion CTI service (its REST API's base URL), owned by an organization and usable by the
    tenants of its whole subtree, like a platform. It keeps no credentials of its own: each
    integration logs in as its tenant's Xelion administrator."""

    access_policy = AccessPolicy(("organization",), manage_roles=ORGANIZATION_MANAGERS, shared_down=True)

    organization = models.ForeignKey(
        Organization, verbose_name=gettext_lazy("organization"), on_delete=models.PROTECT, related_name="cti_services"
    )
    name = models.CharField(verbose_name=gettext_lazy("name"), max_length=100)
    base_url = models.CharField(
        gettext_lazy("base URL"),
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=gettext_lazy(
            "Where the CTI service's API answers, e.g. https://cti.example.net/ (its api/ is added)."
        ),
    )
    timeout_seconds = models.PositiveSmallIntegerField(
        verbose_name=gettext_lazy("timeout seconds"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
    )
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = gettext_lazy("CTI service")
        verbose_name_plural = gettext_lazy("CTI services")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="cti_service_name_unique_per_organization",
                violation_error_message=gettext_lazy("This organization already has a CTI service with this name."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.base_url and (refusal := outbound_url_refusal(self.base_url, resolve=True)):
            raise ValidationError({"base_url": refusal})

    def is_usable_by(self, organization: Organization) -> bool:
        return organization.is_within(self.organization)


class CrmIntegration(Audited, MirroredModel):
    """One Xelion tenant's CRM integration on a CTI service: the tenant's administrator the service
    logs in as, the CRM's OAuth 2.0 authorization server, the client id and secret given to users
    who have none of their own, and (in `mappings`) where each call event is sent.

    The portal only ever changes an integration it made itself (`backend_ref` holds the service's
    context ids). A removal is asked for with `removal_requested`; the row goes once the CTI service
    no longer holds the integration."""

    access_policy = AccessPolicy(("tenant__organization",), manage_roles=PBX_MANAGERS)

    tenant = models.OneToOneField(
        Tenant, verbose_name=gettext_lazy("tenant"), on_delete=models.PROTECT, related_name="crm_integration"
    )
    service = models.ForeignKey(
        CtiService, verbose_name=gettext_lazy("service"), on_delete=models.PROTECT, related_name="integrations"
    )
    admin_username = models.CharField(
        gettext_lazy("tenant administrator"),
        max_length=100,
        help_text=gettext_lazy("An administrator of the tenant; the service logs in as it."),
    )
    admin_password = EncryptedCharField(
        gettext_lazy("tenant administrator's password"),
        max_length=200,
        blank=True,
        null=True,
        help_text=gettext_lazy("Never displayed again."),
    )
    authorization_server_uri = models.CharField(
        gettext_lazy("authorization server URI"),
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=gettext_lazy(
            "The CRM's OAuth 2.0 token endpoint, e.g. https://crm.example.com/services/oauth2/token"
        ),
    )
    authorization_header_prefix = models.CharField(
        gettext_lazy("authorization header prefix"), max_length=50, blank=True, default="Bearer ",
        help_text=gettext_lazy("Put before the access token in calls to the CRM."),
    )  # fmt: skip
    default_client_id = models.CharField(
        gettext_lazy("default client id"),
        max_length=200,
        blank=True,
        help_text=gettext_lazy("Given to users who have no client id of their own."),
    )
    default_client_secret = EncryptedCharField(
        gettext_lazy("default client secret"), max_length=500, blank=True, null=True,
        help_text=gettext_lazy("Given to users who have no client secret of their own. Never displayed again."),
    )  # fmt: skip
    removal_requested = models.BooleanField(
        verbose_name=gettext_lazy("removal requested"), default=False, editable=False
    )
    backend_ref = BackendRefField()
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=gettext_lazy("updated at"), auto_now=True)

    class Meta:
        ordering = ["tenant__name"]
        verbose_name = gettext_lazy("CRM integration")
        verbose_name_plural = gettext_lazy("CRM integrations")

    def __str__(self) -> str:
        return f"CRM integration of {self.tenant}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.authorization_server_uri:
            refusal = outbound_url_refusal(self.authorization_server_uri, resolve=False)
            if refusal:
                errors["authorization_server_uri"] = refusal
        if self.tenant_id and self.service_id and not self.service.is_usable_by(self.tenant.organization):
            errors["service"] = _("%(service)s is not shared with %(organization)s.") % {
                "service": self.service,
                "organization": self.tenant.organization,
            }
        if errors:
            raise ValidationError(errors)

    @property
    def has_admin_password(self) -> bool:
        return bool(self.admin_password)

    @property
    def has_default_client_secret(self) -> bool:
        return bool(self.default_client_secret)


class CrmEventMapping(Audited, models.Model):
    """Where the CTI service sends one call event of the tenant, and what: a JSON object whose
    `${…}` placeholders the service fills in. Kept and sent exactly as typed."""

    access_policy = AccessPolicy(("integration__tenant__organization",), manage_roles=PBX_MANAGERS)

    integration = models.ForeignKey(
        CrmIntegration, verbose_name=gettext_lazy("integration"), on_delete=models.CASCADE, related_name="mappings"
    )
    event = models.CharField(verbose_name=gettext_lazy("event"), max_length=30, choices=CrmEvent.choices)
    uri = models.CharField(gettext_lazy("CRM resource URI"), max_length=1000)
    payload = models.JSONField(gettext_lazy("payload template"), null=True, blank=True)

    class Meta:
        ordering = ["integration", "event"]
        verbose_name = gettext_lazy("CRM event mapping")
        verbose_name_plural = gettext_lazy("CRM event mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "event"],
                name="crm_event_mapping_unique_event",
                violation_error_message=gettext_lazy("This event is mapped already."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.uri}"

    @property
    def payload_text(self) -> str:
        """The payload template as JSON text, to be shown (escaped) as the data it is."""
        return json.dumps(self.payload, indent=2, ensure_ascii=False) if self.payload is not None else ""

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.uri:
            refusal = uri_refusal(self.uri)
            if refusal:
                errors["uri"] = refusal
        if self.payload is not None and not isinstance(self.payload, dict):
            errors["payload"] = _("The payload template is a JSON object ({…}), or empty.")
        if errors:
            raise ValidationError(errors)


def uri_refusal(uri: str) -> str:
    """Why a CRM resource URI will not do. The CTI service calls it, not the portal: it is checked
    against the outbound-URL rules without looking its name up."""
    try:
        URLValidator(schemes=["http", "https"])(uri)
    except ValidationError:
        return _("Enter an absolute http:// or https:// address.")
    return outbound_url_refusal(uri, resolve=False)


class CtiUserCredentials(Audited, MirroredModel):
    """One PBX user's OAuth 2.0 credentials at the CRM, as the tenant's CTI integration holds them.
    An empty client id or secret means the integration's default. `backend_ref` holds the
    service's id of the user's credentials."""

    access_policy = AccessPolicy(("user__tenant__organization",), manage_roles=PBX_MANAGERS)

    user = models.OneToOneField(
        PbxUser, verbose_name=gettext_lazy("user"), on_delete=models.CASCADE, related_name="cti_credentials"
    )
    client_id = models.CharField(gettext_lazy("client id"), max_length=200, blank=True)
    client_secret = EncryptedCharField(gettext_lazy("client secret"), max_length=500, blank=True, null=True)
    refresh_token = EncryptedCharField(gettext_lazy("refresh token"), max_length=2000, blank=True, null=True)
    device_code = EncryptedCharField(gettext_lazy("device code"), max_length=500, blank=True, null=True)
    backend_ref = BackendRefField()
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=gettext_lazy("updated at"), auto_now=True)

    SECRET_FIELDS = ("client_secret", "refresh_token", "device_code")

    class Meta:
        ordering = ["user__tenant__name", "user__username"]
        verbose_name = gettext_lazy("CTI user credentials")
        verbose_name_plural = gettext_lazy("CTI user credentials")

    def __str__(self) -> str:
        return f"CTI credentials of {self.user.username}"

    def secrets_set(self) -> dict[str, Any]:
        """Which secrets are set, by their names as shown (never their values)."""
        return {str(self._meta.get_field(name).verbose_name): bool(getattr(self, name)) for name in self.SECRET_FIELDS}
