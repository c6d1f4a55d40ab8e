"""Line templates: the defaults a user's line gets on every platform."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from tenants.access import VIEW, AccessPolicy
from tenants.audit_mixin import Audited
from tenants.models import Organization

from .platforms import Platform
from .sync import MirroredModel


class PeerSipName(models.TextChoices):
    AUTO = "auto", "auto"
    MODEL = "model", "model"


class CallerIdMode(models.TextChoices):
    INCOMING_NUMBER = "incomingNo", "Use the DDI prefix (incomingNo)"
    ANONYMOUS = "anonymous", "Anonymous"
    CUSTOM = "custom", "Custom number"


class VoicemailNumberMode(models.TextChoices):
    SHORT_NUMBER = "short_number", "Default short number"
    CUSTOM = "custom", "Custom number"


class LineTemplate(Audited, MirroredModel):
    """Defaults applied to a user's line, defined by an organization and usable in its subtree.

    XCU stores the template itself (`peerSipName`, `ringingTime`, `routedInbound`, `callerIdMode`,
    voicemail …); on Xelion the role, licence and voicemail go onto each UserProfile; on XC5 the
    no-answer time, concurrent call limit and voicemail go onto each account.
    """

    access_policy = AccessPolicy(("organization",), shared_down=True, entity_actions=frozenset({VIEW}))

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="line_templates")
    name = models.CharField(max_length=100)
    # XCU
    peer_sip_name = models.CharField(
        "peer SIP name", max_length=10, choices=PeerSipName.choices, default=PeerSipName.AUTO
    )
    ringing_time = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(300)],
        help_text="Seconds before an unanswered call is rejected.",
    )
    routed_inbound = models.BooleanField("reachable from outside", default=False)
    routed_inbound_prefix = models.CharField("DDI prefix", max_length=20, blank=True)
    caller_id_mode = models.CharField(max_length=20, choices=CallerIdMode.choices, default=CallerIdMode.INCOMING_NUMBER)
    custom_caller_id = models.CharField(max_length=20, blank=True)
    voicemail_enabled = models.BooleanField(default=False)
    voicemail_number_mode = models.CharField(
        max_length=20, choices=VoicemailNumberMode.choices, default=VoicemailNumberMode.SHORT_NUMBER
    )
    voicemail_custom_number = models.CharField(max_length=20, blank=True)
    voicemail_send_email = models.BooleanField("e-mail new voicemail", default=False)
    # Xelion
    xelion_role = models.CharField(
        "Xelion role", max_length=20, choices=[("user", "user"), ("admin", "admin")], default="user"
    )
    xelion_user_license = models.BooleanField("Xelion user licence", default=True)
    # XC5
    xc5_cfna_duration = models.PositiveSmallIntegerField(
        "XC5 no-answer seconds", default=20, validators=[MinValueValidator(5), MaxValueValidator(300)]
    )
    xc5_concurrent_limit = models.PositiveSmallIntegerField(
        "XC5 concurrent calls", default=2, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="template_name_unique_per_organization",
                violation_error_message="This organization already has a line template with this name.",
            ),
            models.CheckConstraint(
                condition=models.Q(routed_inbound=False) | ~models.Q(routed_inbound_prefix=""),
                name="template_routed_inbound_needs_prefix",
                violation_error_message="A line reachable from outside needs a DDI prefix.",
            ),
            models.CheckConstraint(
                condition=~models.Q(caller_id_mode=CallerIdMode.CUSTOM) | ~models.Q(custom_caller_id=""),
                name="template_custom_caller_id_needs_number",
                violation_error_message="A custom caller id mode needs the number to show.",
            ),
            models.CheckConstraint(
                condition=~models.Q(voicemail_number_mode=VoicemailNumberMode.CUSTOM)
                | ~models.Q(voicemail_custom_number=""),
                name="template_custom_voicemail_needs_number",
                violation_error_message="A custom voicemail number mode needs the number.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.routed_inbound and not self.routed_inbound_prefix:
            errors["routed_inbound_prefix"] = "A line reachable from outside needs a DDI prefix."
        if self.caller_id_mode == CallerIdMode.CUSTOM and not self.custom_caller_id:
            errors["custom_caller_id"] = "Enter the number to show on outgoing calls."
        if self.voicemail_number_mode == VoicemailNumberMode.CUSTOM and not self.voicemail_custom_number:
            errors["voicemail_custom_number"] = "Enter the number that reaches voicemail."
        for name in ("routed_inbound_prefix", "custom_caller_id", "voicemail_custom_number"):
            value = getattr(self, name)
            if value and not value.lstrip("+").isdigit():
                errors.setdefault(name, "Digits only, optionally starting with +.")
        if errors:
            raise ValidationError(errors)

    def is_usable_by(self, organization: Organization) -> bool:
        """A template is usable by its owner and everything below it."""
        return organization.path.startswith(self.organization.path)


class LineTemplateMirror(models.Model):
    """A line template as stored on one XCU platform (XCU keeps templates; others don't)."""

    access_policy = AccessPolicy(("template__organization",), shared_down=True)

    template = models.ForeignKey(LineTemplate, on_delete=models.CASCADE, related_name="mirrors")
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="template_mirrors")
    xcu_id = models.IntegerField("XCU template id", null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "platform"], name="template_mirror_once_per_platform"),
        ]

    def __str__(self) -> str:
        return f"{self.template} on {self.platform}"
