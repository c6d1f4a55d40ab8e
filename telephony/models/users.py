"""PBX users: a person with a line on a tenant."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.models.fields import EncryptedCharField, InternationalEmailField
from telephony.validators import validate_destination, validate_e164, validate_internal_number
from tenants.access import ADD, CHANGE, DELETE, VIEW, AccessPolicy
from tenants.audit_mixin import Audited

from .sync import BackendRefField, MirroredModel
from .templates import LineTemplate
from .tenants import Entity, Tenant

validate_username = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]{0,63}$",
    gettext_lazy("Use lower-case letters, digits, . _ and - (at most 64), starting with a letter or digit."),
    code="username",
)
validate_pin = RegexValidator(r"^\d{4,8}$", gettext_lazy("A voicemail PIN is 4 to 8 digits."), code="pin")


class PbxUser(Audited, MirroredModel):
    """A person with a line on a tenant. Maps to an XCU user; a Xelion Person + UserProfile +
    phoneline; an XC5 child account with its number and routes.

    The internal number lies inside one of the entity's intervals and is unique in the tenant; the
    username is the natural key on Xelion and XC5 and is unique in the tenant too.
    """

    access_policy = AccessPolicy(
        ("tenant__organization",),
        entity_lookup="entity",
        entity_actions=frozenset({VIEW, ADD, CHANGE, DELETE}),
    )

    tenant = models.ForeignKey(
        Tenant, verbose_name=gettext_lazy("tenant"), on_delete=models.CASCADE, related_name="users"
    )
    entity = models.ForeignKey(
        Entity, verbose_name=gettext_lazy("entity"), on_delete=models.PROTECT, related_name="users"
    )
    template = models.ForeignKey(
        LineTemplate, verbose_name=gettext_lazy("template"), on_delete=models.PROTECT, related_name="users"
    )
    username = models.CharField(verbose_name=gettext_lazy("username"), max_length=64, validators=[validate_username])
    first_name = models.CharField(verbose_name=gettext_lazy("first name"), max_length=100)
    last_name = models.CharField(verbose_name=gettext_lazy("last name"), max_length=100)
    display_name = models.CharField(
        verbose_name=gettext_lazy("display name"),
        max_length=200,
        blank=True,
        help_text=gettext_lazy("Shown on calls; first and last name if empty."),
    )
    email = InternationalEmailField(verbose_name=gettext_lazy("email"), blank=True)
    mobile_number = models.CharField(
        verbose_name=gettext_lazy("mobile number"), max_length=16, blank=True, validators=[validate_e164]
    )
    internal_number = models.CharField(
        verbose_name=gettext_lazy("internal number"), max_length=6, validators=[validate_internal_number]
    )
    voicemail_enabled = models.BooleanField(verbose_name=gettext_lazy("voicemail enabled"), default=False)
    voicemail_pin = EncryptedCharField(
        verbose_name=gettext_lazy("voicemail pin"), max_length=8, blank=True, null=True, validators=[validate_pin]
    )
    voicemail_to_email = models.BooleanField(gettext_lazy("e-mail voicemail"), default=False)
    forward_always = models.CharField(
        gettext_lazy("forward all calls to"), max_length=21, blank=True, validators=[validate_destination]
    )
    forward_busy = models.CharField(
        gettext_lazy("forward when busy to"), max_length=21, blank=True, validators=[validate_destination]
    )
    forward_no_answer = models.CharField(
        gettext_lazy("forward when not answered to"), max_length=21, blank=True, validators=[validate_destination]
    )
    forward_no_answer_timeout = models.PositiveSmallIntegerField(
        gettext_lazy("seconds before forwarding"), default=20, validators=[MinValueValidator(5), MaxValueValidator(120)]
    )
    portal_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("portal user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pbx_line",
        help_text=gettext_lazy("Portal login that manages this line on the self-service site."),
    )
    backend_ref = BackendRefField()
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=gettext_lazy("updated at"), auto_now=True)

    class Meta:
        ordering = ["internal_number"]
        verbose_name = gettext_lazy("PBX user")
        verbose_name_plural = gettext_lazy("PBX users")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "internal_number"],
                name="pbx_user_number_unique_per_tenant",
                violation_error_message=gettext_lazy("Another user of this tenant already has this internal number."),
            ),
            models.UniqueConstraint(
                fields=["tenant", "username"],
                name="pbx_user_username_unique_per_tenant",
                violation_error_message=gettext_lazy("Another user of this tenant already has this username."),
            ),
        ]
        # The users waiting for or refused by their PBX, found without reading every user of the
        # tenants a reseller sees (on SQLite, in key order: the API's pages). The tenant's own users
        # come through the unique constraints' indexes.
        indexes = [models.Index(fields=["sync_state"], name="pbxuser_sync_state")]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.internal_number})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def shown_name(self) -> str:
        return self.display_name or self.full_name

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.entity_id and self.tenant_id and self.entity.tenant_id != self.tenant_id:
            errors["entity"] = _("The entity belongs to another tenant.")
        elif self.entity_id and self.internal_number and not self.entity.contains_number(self.internal_number):
            ranges = self.entity.number_plan or _("none")
            errors["internal_number"] = _(
                "%(number)s is outside the number plan of %(entity)s (intervals: %(ranges)s)."
            ) % {"number": self.internal_number, "entity": self.entity, "ranges": ranges}
        if self.template_id and self.tenant_id and not self.template.is_usable_by(self.tenant.organization):
            errors["template"] = _("This line template is not available to the tenant's organization.")
        if self.voicemail_pin and not self.voicemail_enabled:
            errors["voicemail_pin"] = _("Turn voicemail on to set a PIN.")
        if errors:
            raise ValidationError(errors)
