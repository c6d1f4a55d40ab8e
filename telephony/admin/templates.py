"""Line templates: defined by an organization, usable in its subtree."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.admin.sync import SyncStateAdminMixin
from telephony.backends.capabilities import TemplateSetting
from telephony.backends.registry import settings_groups
from telephony.models import LineTemplate, PbxUser
from telephony.services import templates as services
from tenants import access
from tenants.admin_scoping import ScopedAdmin


def _setting_field(setting: TemplateSetting) -> forms.Field:
    # the drivers declare their settings' words with gettext_noop: translated when shown
    options = {
        "label": gettext_lazy(setting.label),
        "help_text": gettext_lazy(setting.help_text) if setting.help_text else "",
    }
    if isinstance(setting.default, bool):
        return forms.BooleanField(required=False, **options)
    if setting.choices:
        return forms.ChoiceField(choices=setting.choices, **options)
    if isinstance(setting.default, int):
        return forms.IntegerField(min_value=setting.minimum, max_value=setting.maximum, **options)
    return forms.CharField(max_length=100, **options)


# Each platform's own template settings, as the drivers declare them: (form field name, group, setting).
SETTING_FIELDS = [
    (f"{group}__{setting.name}", group, setting)
    for group, (_, declared) in settings_groups().items()
    for setting in declared
]


class LineTemplateForm(forms.ModelForm):
    """The template's fields, and a field for each platform's own settings (stored by group)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        stored = self.instance.platform_settings or {}
        for name, group, setting in SETTING_FIELDS:
            if name in self.fields:
                self.fields[name].initial = (stored.get(group) or {}).get(setting.name, setting.default)

    def _post_clean(self) -> None:
        settings = dict(self.instance.platform_settings or {})
        for name, group, setting in SETTING_FIELDS:
            if name in self.cleaned_data:
                settings[group] = {**(settings.get(group) or {}), setting.name: self.cleaned_data[name]}
        self.instance.platform_settings = settings
        super()._post_clean()


LineTemplateForm.base_fields.update({name: _setting_field(setting) for name, _, setting in SETTING_FIELDS})


def _setting_display(group: str, setting: TemplateSetting):
    """What a login that may only view the template sees for a setting."""

    def shown(admin_instance: Any, template: LineTemplate) -> Any:
        return ((template.platform_settings or {}).get(group) or {}).get(setting.name, setting.default)

    shown.short_description = gettext_lazy(setting.label)
    return shown


def _defaults_title(platform: str) -> str:
    """A fieldset's title: the platform's own settings (the platform's name is a product name)."""
    return _("%(platform)s defaults") % {"platform": platform}


@admin.register(LineTemplate)
class LineTemplateAdmin(SyncStateAdminMixin, ScopedAdmin):
    ordering = ["name"]
    list_display = [
        "name",
        "organization",
        "caller_id_mode",
        "ringing_time",
        "voicemail_enabled",
        "user_count",
        "sync_badge",
    ]
    readonly_fields = ["provisioning"]
    list_filter = ["caller_id_mode", "voicemail_enabled", "peer_sip_name", "sync_state"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name"]
    autocomplete_fields = ["organization"]
    fieldsets = [
        (None, {"fields": ["organization", "name"]}),
        (
            gettext_lazy("Line"),
            {
                "fields": [
                    "peer_sip_name",
                    "ringing_time",
                    ("routed_inbound", "routed_inbound_prefix"),
                    ("caller_id_mode", "custom_caller_id"),
                ]
            },
        ),
        (
            gettext_lazy("Voicemail"),
            {
                "fields": [
                    "voicemail_enabled",
                    ("voicemail_number_mode", "voicemail_custom_number"),
                    "voicemail_send_email",
                ]
            },
        ),
        *(
            (lazy(_defaults_title, str)(label), {"fields": [f"{group}__{setting.name}" for setting in declared]})
            for group, (label, declared) in settings_groups().items()
        ),
        (gettext_lazy("Provisioning"), {"fields": ["provisioning"]}),
    ]
    form = LineTemplateForm
    service_object_name = "template"
    create_service = services.line_template_create
    update_service = services.line_template_update
    delete_service = services.line_template_delete

    @admin.display(description=gettext_lazy("users"), ordering="user_count")
    def user_count(self, obj: LineTemplate) -> int:
        return obj.user_count

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .annotate(user_count=access.visible_count(PbxUser, "template", request.user, shared=True))
        )


for _name, _group, _setting in SETTING_FIELDS:
    setattr(LineTemplateAdmin, _name, _setting_display(_group, _setting))
