"""Line templates: the defaults a user's line gets on every platform."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.backends.capabilities import Capabilities
from telephony.backends.registry import settings_groups
from tenants.access import VIEW, AccessPolicy
from tenants.audit_mixin import Audited
from tenants.models import Organization

from .platforms import Platform
from .sync import BackendRefField, MirroredModel


class PeerSipName(models.TextChoices):
    AUTO = "auto", gettext_lazy("auto")
    MODEL = "model", gettext_lazy("model")


class CallerIdMode(models.TextChoices):
    INCOMING_NUMBER = "incomingNo", gettext_lazy("Use the DDI prefix (incomingNo)")
    ANONYMOUS = "anonymous", gettext_lazy("Anonymous")
    CUSTOM = "custom", gettext_lazy("Custom number")


class VoicemailNumberMode(models.TextChoices):
    SHORT_NUMBER = "short_number", gettext_lazy("Default short number")
    CUSTOM = "custom", gettext_lazy("Custom number")


class LineTemplate(Audited, MirroredModel):
    """Defaults applied to a user's line, defined by an organization and usable in its subtree.

    XCU stores the template itself (`peerSipName`, `ringingTime`, `routedInbound`, `callerIdMode`,
    voicemail …); on Xelion the role, licence and voicemail go onto each UserProfile; on XC5 the
    no-answer time, concurrent call limit and voicemail go onto each account.
    """

    access_policy = AccessPolicy(("organization",), shared_down=True, entity_actions=frozenset({VIEW}))

    organization = models.ForeignKey(
        Organization, verbose_name=gettext_lazy("organization"), on_delete=models.PROTECT, related_name="line_templates"
    )
    name = models.CharField(verbose_name=gettext_lazy("name"), max_length=100)
    # XCU
    peer_sip_name = models.CharField(
        gettext_lazy("peer SIP name"), max_length=10, choices=PeerSipName.choices, default=PeerSipName.AUTO
    )
    ringing_time = models.PositiveSmallIntegerField(
        verbose_name=gettext_lazy("ringing time"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(300)],
        help_text=gettext_lazy("Seconds before an unanswered call is rejected."),
    )
    routed_inbound = models.BooleanField(gettext_lazy("reachable from outside"), default=False)
    routed_inbound_prefix = models.CharField(gettext_lazy("DDI prefix"), max_length=20, blank=True)
    caller_id_mode = models.CharField(
        verbose_name=gettext_lazy("caller id mode"),
        max_length=20,
        choices=CallerIdMode.choices,
        default=CallerIdMode.INCOMING_NUMBER,
    )
    custom_caller_id = models.CharField(verbose_name=gettext_lazy("custom caller id"), max_length=20, blank=True)
    voicemail_enabled = models.BooleanField(verbose_name=gettext_lazy("voicemail enabled"), default=False)
    voicemail_number_mode = models.CharField(
        verbose_name=gettext_lazy("voicemail number mode"),
        max_length=20,
        choices=VoicemailNumberMode.choices,
        default=VoicemailNumberMode.SHORT_NUMBER,
    )
    voicemail_custom_number = models.CharField(
        verbose_name=gettext_lazy("voicemail custom number"), max_length=20, blank=True
    )
    voicemail_send_email = models.BooleanField(gettext_lazy("e-mail new voicemail"), default=False)
    platform_settings = models.JSONField(
        gettext_lazy("platform settings"),
        default=dict,
        blank=True,
        help_text=gettext_lazy(
            "Values only some platforms keep, by the group their drivers declare: "
            '{"<group>": {"<setting>": value}}; a setting left out takes its default.'
        ),
    )
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=gettext_lazy("updated at"), auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("line template")
        verbose_name_plural = gettext_lazy("line templates")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="template_name_unique_per_organization",
                violation_error_message=gettext_lazy("This organization already has a line template with this name."),
            ),
            models.CheckConstraint(
                condition=models.Q(routed_inbound=False) | ~models.Q(routed_inbound_prefix=""),
                name="template_routed_inbound_needs_prefix",
                violation_error_message=gettext_lazy("A line reachable from outside needs a DDI prefix."),
            ),
            models.CheckConstraint(
                condition=~models.Q(caller_id_mode=CallerIdMode.CUSTOM) | ~models.Q(custom_caller_id=""),
                name="template_custom_caller_id_needs_number",
                violation_error_message=gettext_lazy("A custom caller id mode needs the number to show."),
            ),
            models.CheckConstraint(
                condition=~models.Q(voicemail_number_mode=VoicemailNumberMode.CUSTOM)
                | ~models.Q(voicemail_custom_number=""),
                name="template_custom_voicemail_needs_number",
                violation_error_message=gettext_lazy("A custom voicemail number mode needs the number."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.routed_inbound and not self.routed_inbound_prefix:
            errors["routed_inbound_prefix"] = _("A line reachable from outside needs a DDI prefix.")
        if self.caller_id_mode == CallerIdMode.CUSTOM and not self.custom_caller_id:
            errors["custom_caller_id"] = _("Enter the number to show on outgoing calls.")
        if self.voicemail_number_mode == VoicemailNumberMode.CUSTOM and not self.voicemail_custom_number:
            errors["voicemail_custom_number"] = _("Enter the number that reaches voicemail.")
        for name in ("routed_inbound_prefix", "custom_caller_id", "voicemail_custom_number"):
            value = getattr(self, name)
            if value and not value.lstrip("+").isdigit():
                errors.setdefault(name, _("Digits only, optionally starting with +."))
        problem = self._settings_problem()
        if problem:
            errors["platform_settings"] = problem
        if errors:
            raise ValidationError(errors)

    def _settings_problem(self) -> str:
        """What is wrong with the stored platform settings: an unknown group or setting, or a value
        its driver's declaration refuses (empty: nothing)."""
        if not isinstance(self.platform_settings, dict):
            return _("Platform settings are an object of groups.")
        groups = settings_groups()
        for group, values in self.platform_settings.items():
            if group not in groups or not isinstance(values, dict):
                return _("No platform keeps settings called %(name)s.") % {"name": repr(str(group)[:40])}
            label, declared = groups[group]
            by_name = {setting.name: setting for setting in declared}
            for name, value in values.items():
                if name not in by_name:
                    return _("%(platform)s keeps no template setting called %(name)s.") % {
                        "platform": label,
                        "name": repr(str(name)[:40]),
                    }
                why = by_name[name].check(value)
                if why:
                    # the drivers declare their settings' labels with gettext_noop: translated here
                    return _("%(setting)s: %(problem)s") % {"setting": _(by_name[name].label), "problem": why}
        return ""

    def settings_for(self, capabilities: Capabilities) -> dict[str, Any]:
        """The template's values of a platform's own settings, defaults filled in."""
        stored = (self.platform_settings or {}).get(capabilities.settings_group) or {}
        return {setting.name: stored.get(setting.name, setting.default) for setting in capabilities.template_settings}

    def is_usable_by(self, organization: Organization) -> bool:
        """A template is usable by its owner and everything below it."""
        return organization.path.startswith(self.organization.path)


class LineTemplateMirror(models.Model):
    """A line template as stored on one platform whose PBX keeps templates as objects of their own."""

    access_policy = AccessPolicy(("template__organization",), shared_down=True)

    template = models.ForeignKey(
        LineTemplate, verbose_name=gettext_lazy("template"), on_delete=models.CASCADE, related_name="mirrors"
    )
    platform = models.ForeignKey(
        Platform, verbose_name=gettext_lazy("platform"), on_delete=models.CASCADE, related_name="template_mirrors"
    )
    backend_ref = BackendRefField()

    class Meta:
        verbose_name = gettext_lazy("line template mirror")
        verbose_name_plural = gettext_lazy("line template mirrors")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "platform"], name="template_mirror_once_per_platform"),
        ]

    def __str__(self) -> str:
        return f"{self.template} on {self.platform}"
