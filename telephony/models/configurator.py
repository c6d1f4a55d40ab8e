"""The Xelion Configurator: a reseller's link to its organization there, the third-party credentials
it keeps there, and the orders that open a customer's tenant in one go."""

from __future__ import annotations

import hmac
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator, URLValidator
from django.db import models
from django.utils.translation import gettext_lazy

from telephony.backends import guard
from telephony.backends.errors import UnsafeRequestError
from telephony.models.fields import EncryptedCharField
from telephony.models.sync import BackendRefField, MirroredModel
from telephony.models.templates import LineTemplate
from telephony.models.tenants import Tenant
from tenants.access import ORGANIZATION_MANAGERS, AccessPolicy
from tenants.audit_mixin import Audited
from tenants.models import Organization


class ConfiguratorLink(Audited, MirroredModel):
    """An organization's link to its organization on a Xelion Configurator: where the service answers
    and the API key (`X-Auth-Key`) that acts for that organization and every one below it there.

    A link made by the portal for an organization below another one's (`parent`) is a
    sub-organization the portal created with the parent's key; its key was shown once by the
    Configurator and lives only here, encrypted. The key is never displayed again."""

    access_policy = AccessPolicy(("organization",), manage_roles=ORGANIZATION_MANAGERS)

    organization = models.OneToOneField(
        Organization,
        verbose_name=gettext_lazy("organization"),
        on_delete=models.PROTECT,
        related_name="configurator_link",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=gettext_lazy("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        editable=False,
    )
    name = models.CharField(
        gettext_lazy("name at the Configurator"),
        max_length=100,
        help_text=gettext_lazy("The organization's name on the Configurator."),
    )
    base_url = models.CharField(
        gettext_lazy("base URL"),
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=gettext_lazy(
            "Where the Configurator's provisioning API answers, e.g. https://configurator.example.net/"
        ),
    )
    api_key = EncryptedCharField(
        gettext_lazy("API key"),
        max_length=200,
        blank=True,
        null=True,
        help_text=gettext_lazy("The organization's key. Never displayed again."),
    )
    timeout_seconds = models.PositiveSmallIntegerField(
        verbose_name=gettext_lazy("timeout seconds"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
    )
    verify_tls = models.BooleanField(gettext_lazy("verify TLS certificates"), default=True)
    backend_ref = BackendRefField()
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("Configurator link")
        verbose_name_plural = gettext_lazy("Configurator links")
        ordering = ["organization__path"]

    def __str__(self) -> str:
        return f"{self.organization} → {self.name}"

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key)

    @property
    def configurator_id(self) -> int | None:
        """The organization's id at the Configurator, once known."""
        value = (self.backend_ref or {}).get("configurator_organization")
        return int(value) if value is not None else None

    def clean(self) -> None:
        super().clean()
        if self.base_url:
            try:
                guard.current_policy().check_url(self.base_url, resolve=True)
            except UnsafeRequestError as refusal:
                raise ValidationError({"base_url": str(refusal) + "."}) from None


CREDENTIAL_NAME = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    gettext_lazy("Letters, digits, dots, dashes and underscores, starting with a letter or digit (at most 64)."),
)


class ConfiguratorCredential(Audited, MirroredModel):
    """A third-party credential (a SIP trunk's password, a number porting key) that an organization
    keeps at the Configurator under a name. Write-only: the value is held encrypted until it has
    been stored there, never shown, and can only be replaced."""

    access_policy = AccessPolicy(("link__organization",), manage_roles=ORGANIZATION_MANAGERS)

    link = models.ForeignKey(
        ConfiguratorLink, verbose_name=gettext_lazy("link"), on_delete=models.CASCADE, related_name="credentials"
    )
    name = models.CharField(verbose_name=gettext_lazy("name"), max_length=64, validators=[CREDENTIAL_NAME])
    value = EncryptedCharField(
        verbose_name=gettext_lazy("value"), max_length=1000, blank=True, null=True, editable=False
    )
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("configurator credential")
        verbose_name_plural = gettext_lazy("configurator credentials")
        ordering = ["link", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["link", "name"],
                name="configurator_credential_unique_name",
                violation_error_message=gettext_lazy("This organization already keeps a credential with this name."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class OrderStatus(models.TextChoices):
    """Where an order stands. DRAFT and SUBMITTING are the portal's own; the rest the Configurator's."""

    DRAFT = "DRAFT", gettext_lazy("Not sent yet")
    SUBMITTING = "SUBMITTING", gettext_lazy("Being sent")
    NOT_STARTED = "NOT_STARTED", gettext_lazy("Waiting at the Configurator")
    IN_PROGRESS = "IN_PROGRESS", gettext_lazy("In progress")
    COMPLETED = "COMPLETED", gettext_lazy("Completed")
    FAILED = "FAILED", gettext_lazy("Failed")


# How far an order has come: a status never goes back to one ranked lower.
STATUS_RANK = {
    OrderStatus.DRAFT: 0,
    OrderStatus.SUBMITTING: 1,
    OrderStatus.NOT_STARTED: 2,
    OrderStatus.IN_PROGRESS: 3,
    OrderStatus.COMPLETED: 4,
    OrderStatus.FAILED: 4,
}
FINAL_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.FAILED})


def new_callback_secret() -> str:
    return secrets.token_urlsafe(32)


class ConfiguratorOrder(Audited, MirroredModel):
    """One order that configures a customer's new Xelion tenant in one go: the configuration JSON
    sent, the tenant it is for, and how far the Configurator has come with it.

    The Configurator reports progress to the order's own callback URL, which holds the order's
    public id and a secret (kept encrypted: a submit retried after a lost answer recognises its
    order at the Configurator by that URL, which nobody else knows). When the order completes, what it built is
    read back from the tenant into the mirror, with the line template chosen here."""

    access_policy = AccessPolicy(("link__organization", "tenant__organization"))

    link = models.ForeignKey(
        ConfiguratorLink, verbose_name=gettext_lazy("link"), on_delete=models.PROTECT, related_name="orders"
    )
    # The order stays as a record when its tenant is deleted later.
    tenant = models.ForeignKey(
        Tenant,
        verbose_name=gettext_lazy("tenant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="configurator_orders",
    )
    template = models.ForeignKey(
        LineTemplate,
        verbose_name=gettext_lazy("template"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=gettext_lazy("The line template the order's users get in the portal once it has built them."),
    )
    configuration = models.JSONField(
        verbose_name=gettext_lazy("configuration"),
        help_text=gettext_lazy("The configuration sent, as the Configurator reads it."),
    )
    public_id = models.UUIDField(
        verbose_name=gettext_lazy("public id"), default=uuid.uuid4, unique=True, editable=False
    )
    callback_secret = EncryptedCharField(
        verbose_name=gettext_lazy("callback secret"), max_length=100, default=new_callback_secret, editable=False
    )
    status = models.CharField(
        verbose_name=gettext_lazy("status"),
        max_length=12,
        choices=OrderStatus.choices,
        default=OrderStatus.DRAFT,
        editable=False,
    )
    status_mid = models.BigIntegerField(
        verbose_name=gettext_lazy("status mid"),
        null=True,
        blank=True,
        editable=False,
        help_text=gettext_lazy("The newest webhook message that set the status."),
    )
    error = models.TextField(verbose_name=gettext_lazy("error"), blank=True, editable=False)
    imported = models.CharField(verbose_name=gettext_lazy("imported"), max_length=300, blank=True, editable=False)
    backend_ref = BackendRefField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    submitted_at = models.DateTimeField(
        verbose_name=gettext_lazy("submitted at"), null=True, blank=True, editable=False
    )
    status_changed_at = models.DateTimeField(
        verbose_name=gettext_lazy("status changed at"), null=True, blank=True, editable=False
    )
    finished_at = models.DateTimeField(verbose_name=gettext_lazy("finished at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = gettext_lazy("configurator order")
        verbose_name_plural = gettext_lazy("configurator orders")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="configurator_order_open")]

    def __str__(self) -> str:
        return f"order for {self.tenant}" if self.tenant_id else f"order {self.pk} (its tenant was deleted)"

    @property
    def configurator_id(self) -> int | None:
        value = (self.backend_ref or {}).get("configurator_order")
        return int(value) if value is not None else None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def callback_secret_matches(self, secret: str) -> bool:
        return bool(self.callback_secret) and hmac.compare_digest(self.callback_secret.encode(), secret.encode())


class EventSource(models.TextChoices):
    WEBHOOK = "webhook", gettext_lazy("Webhook")
    POLL = "poll", gettext_lazy("Read from the Configurator")
    SUBMIT = "submit", gettext_lazy("Sent by the portal")


class ConfiguratorOrderEvent(models.Model):
    """One status report about an order: a webhook as it came (by its `mid`), or a status the portal
    read itself when no webhook came. Kept for every report, applied or not, as the order's log."""

    access_policy = AccessPolicy(("order__link__organization", "order__tenant__organization"))

    order = models.ForeignKey(
        ConfiguratorOrder, verbose_name=gettext_lazy("order"), on_delete=models.CASCADE, related_name="events"
    )
    source = models.CharField(verbose_name=gettext_lazy("source"), max_length=10, choices=EventSource.choices)
    mid = models.BigIntegerField(verbose_name=gettext_lazy("mid"), null=True, blank=True)
    status = models.CharField(verbose_name=gettext_lazy("status"), max_length=12)
    received_at = models.DateTimeField(verbose_name=gettext_lazy("received at"), auto_now_add=True)
    outcome = models.CharField(verbose_name=gettext_lazy("outcome"), max_length=200, blank=True)

    class Meta:
        verbose_name = gettext_lazy("configurator order event")
        verbose_name_plural = gettext_lazy("configurator order events")
        ordering = ["order", "received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "mid"], condition=models.Q(mid__isnull=False), name="configurator_event_mid_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.mid or ''} {self.status}".strip()
