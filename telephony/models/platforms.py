"""Platforms (management APIs the portal talks to) and the servers behind them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.backends import guard
from telephony.backends.base import Connection
from telephony.backends.capabilities import Capabilities
from telephony.backends.errors import UnsafeRequestError
from telephony.backends.registry import DRIVERS, capabilities_of, kinds
from telephony.models.fields import EncryptedCharField
from telephony.models.sync import BackendRefField
from tenants.access import ORGANIZATION_MANAGERS, AccessPolicy
from tenants.audit_mixin import Audited
from tenants.models import Organization

# The kinds of platform the portal has a driver for, as the drivers name them (a new vendor is a
# new driver, not an edit here).
PlatformKind = models.TextChoices("PlatformKind", [(kind.upper(), (kind, label)) for kind, label in kinds()])
# Optional connection fields, each with the kinds that use it: the form shows a field for those kinds only.
CONNECTION_FIELDS = ("app_key", "user_space", "acting_organization")


class Platform(Audited, models.Model):
    """One management API: a Xelion Park Manager, a Xelion server reached directly, an XCU
    instance or an XC5 system. Owned by an organization and usable in its whole subtree.

    The secret (password or API key) and the Xelion app key are encrypted at rest with the keys in
    FIELD_ENCRYPTION_KEYS, and never shown again once saved.
    """

    access_policy = AccessPolicy(("organization",), manage_roles=ORGANIZATION_MANAGERS, shared_down=True)

    organization = models.ForeignKey(
        Organization, verbose_name=gettext_lazy("organization"), on_delete=models.PROTECT, related_name="platforms"
    )
    name = models.CharField(verbose_name=gettext_lazy("name"), max_length=100)
    kind = models.CharField(verbose_name=gettext_lazy("kind"), max_length=20, choices=PlatformKind.choices)
    base_url = models.CharField(
        gettext_lazy("base URL"),
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=gettext_lazy(
            "Where the platform's management API answers, e.g. https://pbx.example.net:9001/api/1.0/"
        ),
    )
    username = models.CharField(
        verbose_name=gettext_lazy("username"),
        max_length=200,
        blank=True,
        help_text=gettext_lazy("Login name (not used by platforms that log in with a key alone)."),
    )
    secret = EncryptedCharField(
        verbose_name=gettext_lazy("secret"),
        max_length=500,
        blank=True,
        null=True,
        help_text=gettext_lazy("Password, or the platform's API key. Never displayed again."),
    )
    app_key = EncryptedCharField(
        gettext_lazy("app key"),
        max_length=200,
        blank=True,
        null=True,
        help_text=gettext_lazy("Identifies the integrator to platforms that ask for one."),
    )
    user_space = models.CharField(
        gettext_lazy("user space"),
        max_length=200,
        blank=True,
        default="provisioning-portal",
        help_text=gettext_lazy("Names this client's sessions, on platforms that keep one per client."),
    )
    acting_organization = models.CharField(
        gettext_lazy("acting organization"),
        max_length=50,
        blank=True,
        help_text=gettext_lazy("The organization to act as, on platforms that let a key act for another one."),
    )
    timeout_seconds = models.PositiveSmallIntegerField(
        verbose_name=gettext_lazy("timeout seconds"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
    )
    verify_tls = models.BooleanField(gettext_lazy("verify TLS certificates"), default=True)
    documented_only = models.BooleanField(
        gettext_lazy("documented API only"),
        default=False,
        help_text=gettext_lazy(
            "Use nothing beyond what the vendor documents of its API. Features that rely on an extension "
            "(listed in docs/backend-fidelity.md) are switched off, and the portal says so where it would offer them."
        ),
    )
    is_active = models.BooleanField(verbose_name=gettext_lazy("is active"), default=True)
    last_checked_at = models.DateTimeField(
        verbose_name=gettext_lazy("last checked at"), null=True, blank=True, editable=False
    )
    last_check_ok = models.BooleanField(verbose_name=gettext_lazy("last check ok"), null=True, editable=False)
    last_check_message = models.CharField(
        verbose_name=gettext_lazy("last check message"), max_length=500, blank=True, editable=False
    )
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=gettext_lazy("updated at"), auto_now=True)

    # Fields only some kinds use (the others ignore them): the form shows them for those kinds only.
    KIND_SPECIFIC_FIELDS = {
        name: tuple(kind for kind, driver in DRIVERS.items() if name in driver.capabilities.connection_fields)
        for name in CONNECTION_FIELDS
    }

    class Meta:
        verbose_name = gettext_lazy("platform")
        verbose_name_plural = gettext_lazy("platforms")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="platform_name_unique_per_organization",
                violation_error_message=gettext_lazy("This organization already has a platform with this name."),
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=PlatformKind.values),
                name="platform_kind_valid",
                violation_error_message=gettext_lazy("Unknown platform kind."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.base_url:
            try:
                guard.current_policy().check_url(self.base_url, resolve=True)
            except UnsafeRequestError as refusal:
                errors["base_url"] = str(refusal) + "."
        capabilities = self.capabilities
        if capabilities.needs_username and not self.username:
            errors["username"] = _("A %(kind)s platform needs a login name.") % {"kind": self.get_kind_display()}
        if "user_space" in capabilities.required_connection_fields and not self.user_space.strip():
            errors["user_space"] = _("A %(kind)s platform needs a user space to name its sessions.") % {
                "kind": self.get_kind_display()
            }
        if errors:
            raise ValidationError(errors)

    @property
    def capabilities(self) -> Capabilities:
        """What this platform can do, as its driver declares for the API it may use."""
        return capabilities_of(self.kind, documented_only=self.documented_only)

    def connection(self) -> Connection:
        """What a driver needs to talk to this platform."""
        return Connection(
            kind=self.kind,
            base_url=self.base_url,
            username=self.username,
            secret=self.secret or "",
            app_key=self.app_key or "",
            user_space=self.user_space,
            acting_organization=self.acting_organization,
            timeout=float(self.timeout_seconds),
            verify_tls=self.verify_tls,
            documented_only=self.documented_only,
        )


class Server(Audited, models.Model):
    """One PBX behind a platform: a Xelion server (≈100 tenants), a XiVO under XCU (its
    `remainingSlots` are lines), or the XC5 system itself. Shared like its platform."""

    access_policy = AccessPolicy(("platform__organization",), manage_roles=ORGANIZATION_MANAGERS, shared_down=True)

    platform = models.ForeignKey(
        Platform, verbose_name=gettext_lazy("platform"), on_delete=models.PROTECT, related_name="servers"
    )
    name = models.CharField(verbose_name=gettext_lazy("name"), max_length=100)
    host = models.CharField(verbose_name=gettext_lazy("host"), max_length=255, blank=True)
    capacity_tenants = models.PositiveIntegerField(
        verbose_name=gettext_lazy("capacity tenants"),
        null=True,
        blank=True,
        help_text=gettext_lazy("Most tenants this server may hold; empty for no limit."),
    )
    capacity_users = models.PositiveIntegerField(
        verbose_name=gettext_lazy("capacity users"),
        null=True,
        blank=True,
        help_text=gettext_lazy("Most users (lines) this server may hold; empty for no limit."),
    )
    remaining_slots = models.IntegerField(
        verbose_name=gettext_lazy("remaining slots"),
        null=True,
        blank=True,
        editable=False,
        help_text=gettext_lazy("Free line slots as the platform last reported them."),
    )
    backend_ref = BackendRefField()
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("server")
        verbose_name_plural = gettext_lazy("servers")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "name"],
                name="server_name_unique_per_platform",
                violation_error_message=gettext_lazy("This platform already has a server with this name."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if self._state.adding and self.capacity_tenants is None:
            self.capacity_tenants = self.platform.capabilities.tenants_per_server
        super().save(*args, **kwargs)
