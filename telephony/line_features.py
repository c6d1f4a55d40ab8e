"""Which per-user settings a tenant's platform keeps, and the refusal of those it does not: a
setting the PBX would silently drop must not be saved and then shown as pushed."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from telephony.backends.base import LineFeatures
from telephony.backends.registry import capabilities_of
from telephony.models import PbxUser, PhoneNumber, Platform, Tenant

# model field -> the LineFeatures flag that says whether the platform keeps it
FIELD_FEATURES = {
    "display_name": "display_name",
    "forward_always": "forward_always",
    "forward_busy": "forward_busy",
    "forward_no_answer": "forward_no_answer",
    "voicemail_enabled": "voicemail",
    "voicemail_to_email": "voicemail_to_email",
    "voicemail_pin": "voicemail_pin",
}

NOT_KEPT = {
    "display_name": "{platform} keeps no display name per user; it shows the first and last name.",
    "forward_always": "{platform} keeps no forwarding of all calls per user.",
    "forward_busy": "{platform} keeps no forwarding on busy per user.",
    "forward_no_answer": "{platform} keeps no forwarding of unanswered calls per user.",
    "voicemail_enabled": "On {platform} voicemail comes from the line template: choose a template with voicemail.",
    "voicemail_to_email": "The portal cannot set e-mailing of voicemail on {platform}.",
    "voicemail_pin": "{platform} keeps the voicemail PIN on the phone system; it cannot be set here.",
}


class TenantLine:
    """The line features of one tenant's platform, with the platform's name for messages."""

    def __init__(self, kind: str):
        self.kind = kind
        capabilities = capabilities_of(kind)
        self.features: LineFeatures = capabilities.line_features
        self.platform = capabilities.pbx_name or capabilities.label
        self._not_kept = tuple(field for field in FIELD_FEATURES if not self.keeps(field))

    @classmethod
    def of(cls, tenant: Tenant | int) -> TenantLine:
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        kind = Platform.objects.filter(servers__tenants=tenant_id).values_list("kind", flat=True).first()
        return cls(kind or "")

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
                errors[field] = NOT_KEPT[field].format(platform=self.platform)
        busy, no_answer = user.forward_busy, user.forward_no_answer
        changed = stored is None or (busy, no_answer) != (stored.forward_busy, stored.forward_no_answer)
        # Busy alone would also forward unanswered calls there: the PBX has one destination for both.
        if self.features.busy_with_no_answer and busy and busy != no_answer and changed:
            errors.setdefault(
                "forward_busy",
                f"{self.platform} forwards busy calls together with unanswered ones: give the no-answer "
                "forwarding the same number, or leave busy empty.",
            )
        if errors:
            raise ValidationError(errors)

    def check_number_room(self, user: PbxUser, number: PhoneNumber, *, field: str = "assigned_user") -> None:
        """Refuse an external number beyond what the platform keeps per user."""
        held = list(user.phone_numbers.exclude(pk=number.pk).values_list("number", flat=True))
        if not self.may_add_number(len(held)):
            limit = self.features.external_numbers
            raise ValidationError(
                {
                    field: f"{self.platform} keeps {limit} external number{'s' if limit != 1 else ''} "
                    f"per user; {user} already has {', '.join(held)}. Release it first."
                }
            )
