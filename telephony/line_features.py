"""Which per-user settings a tenant's platform keeps, and the refusal of those it does not: a
setting the PBX would silently drop must not be saved and then shown as pushed."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from telephony.backends.capabilities import LineFeatures
from telephony.backends.registry import capabilities_of
from telephony.models import PbxUser, PhoneNumber, Platform, Tenant

# model field -> the LineFeatures flag that says whether the platform keeps it
FIELD_FEATURES = {
    "display_name": "display_name",
    "email": "email",
    "forward_always": "forward_always",
    "forward_busy": "forward_busy",
    "forward_no_answer": "forward_no_answer",
    "voicemail_enabled": "voicemail",
    "voicemail_to_email": "voicemail_to_email",
    "voicemail_pin": "voicemail_pin",
}

NOT_KEPT = {
    "display_name": gettext_lazy("%(platform)s keeps no display name per user; it shows the first and last name."),
    "email": gettext_lazy("%(platform)s keeps no e-mail address per user."),
    "forward_always": gettext_lazy("%(platform)s keeps no forwarding of all calls per user."),
    "forward_busy": gettext_lazy("%(platform)s keeps no forwarding on busy per user."),
    "forward_no_answer": gettext_lazy("%(platform)s keeps no forwarding of unanswered calls per user."),
    "voicemail_enabled": gettext_lazy(
        "On %(platform)s voicemail comes from the line template: choose a template with voicemail."
    ),
    "voicemail_to_email": gettext_lazy("The portal cannot set e-mailing of voicemail on %(platform)s."),
    "voicemail_pin": gettext_lazy("%(platform)s keeps the voicemail PIN on the phone system; it cannot be set here."),
}


# What a feature is called in a sentence, for those a platform may withhold on its documented API.
FEATURE_NAMES = {
    "display_name": gettext_lazy("a display name per user"),
    "email": gettext_lazy("an e-mail address per user"),
    "forward_always": gettext_lazy("forwarding of all calls"),
    "forward_busy": gettext_lazy("forwarding on busy"),
    "forward_no_answer": gettext_lazy("forwarding of unanswered calls"),
    "voicemail": gettext_lazy("voicemail on or off per user"),
    "voicemail_to_email": gettext_lazy("voicemail by e-mail"),
    "voicemail_pin": gettext_lazy("a voicemail PIN"),
    "external_numbers": gettext_lazy("external numbers (DDIs) on a user"),
}
# ... and the platform-wide capabilities it may withhold
CAPABILITY_NAMES = {
    "creates_tenants": gettext_lazy("creating tenants (each must exist on the PBX already)"),
    "starts_tenants": gettext_lazy("starting and stopping tenants (a tenant deleted here keeps running on the PBX)"),
    "places_tenants": gettext_lazy("placing a new tenant on a chosen server (the platform picks one)"),
    "lists_servers": gettext_lazy("importing servers and reading their free slots"),
    "lists_tenants": gettext_lazy("importing the tenants already on the platform"),
    "template_settings": gettext_lazy("some of the platform's own line-template settings"),
    "removes_users": gettext_lazy("removing users from the PBX (a deleted line is only switched off there)"),
}


def refusal(platform: Platform, capability: str, otherwise: str) -> str:
    """Why `platform` will not do `capability`: it keeps to its documented API, which has no such
    call, or `otherwise` (the platform cannot do it at all)."""
    if capability in platform.capabilities.withheld:
        return _("%(platform)s is used through its documented API only, which does not allow %(what)s.") % {
            "platform": platform.name,
            "what": CAPABILITY_NAMES.get(capability, capability),
        }
    return otherwise


def feature_name(name: str, features: LineFeatures) -> str:
    """A withheld feature in words; external numbers may be cut down rather than off."""
    limit = features.external_numbers
    if name == "external_numbers" and limit:
        return ngettext(
            "more than %(count)s external number per user", "more than %(count)s external numbers per user", limit
        ) % {"count": limit}
    return str({**FEATURE_NAMES, **CAPABILITY_NAMES}.get(name, name.replace("_", " ")))


def withheld_on_documented_api(kind: str) -> list[str]:
    """What a platform of this kind cannot do through its documented API alone, in words."""
    capabilities = capabilities_of(kind, documented_only=True)
    names = [*FEATURE_NAMES, *CAPABILITY_NAMES]
    return [feature_name(name, capabilities.line_features) for name in names if name in capabilities.withheld]


class TenantLine:
    """The line features of one tenant's platform, with the platform's name for messages."""

    def __init__(self, kind: str, *, documented_only: bool = False):
        self.kind = kind
        capabilities = capabilities_of(kind, documented_only=documented_only)
        self.features: LineFeatures = capabilities.line_features
        self.withheld = capabilities.withheld
        self.platform = capabilities.pbx_name or capabilities.label
        self._not_kept = tuple(field for field in FIELD_FEATURES if not self.keeps(field))

    @classmethod
    def of(cls, tenant: Tenant | int) -> TenantLine:
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        found = Platform.objects.filter(servers__tenants=tenant_id).values_list("kind", "documented_only").first()
        kind, documented_only = found or ("", False)
        return cls(kind, documented_only=documented_only)

    @classmethod
    def of_platform(cls, platform: Platform) -> TenantLine:
        return cls(platform.kind, documented_only=platform.documented_only)

    def why_not(self, field: str) -> str:
        """Why a per-user setting cannot be set: the PBX keeps none, or the platform is used on its
        documented API, which has no place for it."""
        feature = FIELD_FEATURES.get(field, field)
        if feature in self.withheld:
            return self._documented_only(FEATURE_NAMES.get(feature, field))
        return NOT_KEPT[field] % {"platform": self.platform}

    def _documented_only(self, what: str) -> str:
        return _(
            "This %(platform)s platform is used through its documented API only, which has no place for "
            "%(what)s: it cannot be set here."
        ) % {"platform": self.platform, "what": what}

    @property
    def withheld_note(self) -> str:
        """One sentence naming what the documented API alone cannot set (empty: nothing is withheld)."""
        names = [feature_name(name, self.features) for name in FEATURE_NAMES if name in self.withheld]
        if not names:
            return ""
        if len(names) == 1:
            listed = names[0]
        else:
            listed = _("%(names)s and %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}
        return _(
            "This %(platform)s platform is used through its documented API only: %(features)s cannot be set "
            "in the portal."
        ) % {"platform": self.platform, "features": listed}

    @property
    def numbers_note(self) -> str:
        """Why no further external number can be given to a user that has the most it may hold."""
        limit = self.features.external_numbers
        if limit == 0:
            return (
                self._documented_only(FEATURE_NAMES["external_numbers"])
                if "external_numbers" in self.withheld
                else _("%(platform)s keeps no external number per user.") % {"platform": self.platform}
            )
        return ngettext(
            "%(platform)s keeps %(count)s external number per user: remove one to give another.",
            "%(platform)s keeps %(count)s external numbers per user: remove one to give another.",
            limit,
        ) % {"platform": self.platform, "count": limit}

    @property
    def pin_note(self) -> str:
        return self.why_not("voicemail_pin")

    def keeps(self, field: str) -> bool:
        feature = FIELD_FEATURES.get(field)
        return feature is None or bool(getattr(self.features, feature))

    @property
    def fields_not_kept(self) -> list[str]:
        return list(self._not_kept)

    def may_add_number(self, held: int) -> bool:
        limit = self.features.external_numbers
        return limit is None or held < limit

    def check_settings(self, user: PbxUser, stored: Any = None) -> None:
        """Refuse a setting the platform does not keep, when this change sets it (a value stored
        before the rule, or a default, is left alone)."""
        errors: dict[str, str] = {}
        for field in self._not_kept:  # once per imported row: kept cheap
            value = getattr(user, field)
            if value and value != (getattr(stored, field) if stored is not None else None):
                errors[field] = self.why_not(field)
        busy, no_answer = user.forward_busy, user.forward_no_answer
        changed = stored is None or (busy, no_answer) != (stored.forward_busy, stored.forward_no_answer)
        # Busy alone would also forward unanswered calls there: the PBX has one destination for both.
        if self.features.busy_with_no_answer and busy and busy != no_answer and changed:
            errors.setdefault(
                "forward_busy",
                _(
                    "%(platform)s forwards busy calls together with unanswered ones: give the no-answer "
                    "forwarding the same number, or leave busy empty."
                )
                % {"platform": self.platform},
            )
        if errors:
            raise ValidationError(errors)

    def check_number_room(self, user: PbxUser, number: PhoneNumber, *, field: str = "assigned_user") -> None:
        """Refuse an external number beyond what the platform keeps per user."""
        held = list(user.phone_numbers.exclude(pk=number.pk).values_list("number", flat=True))
        if not self.may_add_number(len(held)):
            limit = self.features.external_numbers
            if not limit:
                raise ValidationError({field: self.numbers_note})
            raise ValidationError(
                {
                    field: ngettext(
                        "%(platform)s keeps %(count)s external number per user; %(user)s already has %(numbers)s. "
                        "Release it first.",
                        "%(platform)s keeps %(count)s external numbers per user; %(user)s already has %(numbers)s. "
                        "Release it first.",
                        limit,
                    )
                    % {"platform": self.platform, "count": limit, "user": user, "numbers": ", ".join(held)}
                }
            )
