"""CTI services, tenants' CRM integrations and users' CTI credentials. Secrets are write-only: the
form says whether one is set and takes a new one (empty keeps it). A mapping's payload template is
edited as JSON text and shown back as the data it is (escaped, placeholders untouched)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.admin.sync import SyncStateAdminMixin
from telephony.models import CrmEvent, CrmIntegration, CtiService, CtiUserCredentials
from telephony.services import cti as services
from telephony.services import cti_checks
from telephony.services.cti import MappingInput
from tenants.admin_scoping import ScopedAdmin

MAPPING_LABELS = {
    "newCallEvent": (
        gettext_lazy("New call: CRM resource URI"),
        gettext_lazy("New call: payload template (JSON)"),
    ),
    "callConnectedEvent": (
        gettext_lazy("Call connected: CRM resource URI"),
        gettext_lazy("Call connected: payload template (JSON)"),
    ),
    "callHungUpEvent": (
        gettext_lazy("Call hung up: CRM resource URI"),
        gettext_lazy("Call hung up: payload template (JSON)"),
    ),
    "missedCallEvent": (
        gettext_lazy("Missed call: CRM resource URI"),
        gettext_lazy("Missed call: payload template (JSON)"),
    ),
}
SET = gettext_lazy("Set. Leave empty to keep it, or type a new one to replace it.")
NOT_SET = gettext_lazy("Not set.")


def secret_input(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


def say_whether_set(form: forms.BaseForm, secrets: dict[str, str]) -> None:
    """Each write-only field's help: whether its secret is stored (never the secret)."""
    for field, attribute in secrets.items():
        if field not in form.fields:
            continue  # a login that may only view the object gets no write-only field
        stored = bool(form.instance.pk and getattr(form.instance, attribute))
        form.fields[field].help_text = SET if stored else NOT_SET


class CrmIntegrationForm(forms.ModelForm):
    """The integration's fields, its two secrets (write-only) and one URI and payload template per
    call event. The service validates the mappings; this form only collects them."""

    new_admin_password = secret_input(gettext_lazy("tenant administrator's password"))
    new_default_client_secret = secret_input(gettext_lazy("default client secret"))

    class Meta:
        model = CrmIntegration
        fields = [
            "tenant",
            "service",
            "admin_username",
            "authorization_server_uri",
            "authorization_header_prefix",
            "default_client_id",
        ]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if "authorization_header_prefix" in self.fields:
            self.fields["authorization_header_prefix"].strip = False  # "Bearer " keeps its space
        say_whether_set(
            self, {"new_admin_password": "admin_password", "new_default_client_secret": "default_client_secret"}
        )
        held = {m.event: m for m in self.instance.mappings.all()} if self.instance.pk else {}
        for event, mapping in held.items():
            if f"uri_{event}" in self.fields:
                self.fields[f"uri_{event}"].initial = mapping.uri
                payload = json.dumps(mapping.payload, indent=2) if mapping.payload is not None else ""
                self.fields[f"payload_{event}"].initial = payload

    @staticmethod
    def mapping_field_names() -> list[str]:
        return [f"{kind}_{event}" for event in CrmEvent.values for kind in ("uri", "payload")]

    def mappings(self) -> list[MappingInput]:
        """The events given a URI or a payload (an event left empty is not mapped)."""
        data = self.cleaned_data
        return [
            MappingInput(event, data.get(f"uri_{event}", ""), data.get(f"payload_{event}", ""))
            for event in CrmEvent.values
            if data.get(f"uri_{event}", "").strip() or data.get(f"payload_{event}", "").strip()
        ]

    def save_through_service(self, actor: Any, integration: CrmIntegration) -> CrmIntegration:
        data = self.cleaned_data
        if integration.pk is None:
            return services.crm_integration_create(
                actor=actor,
                integration=integration,
                admin_password=data.get("new_admin_password") or "",
                default_client_secret=data.get("new_default_client_secret") or "",
                mappings=self.mappings(),
            )
        return services.crm_integration_update(
            actor=actor,
            integration=integration,
            new_admin_password=data.get("new_admin_password") or None,
            new_default_client_secret=data.get("new_default_client_secret") or None,
            mappings=self.mappings(),
        )


def _declare_mapping_fields(form_class: type[forms.ModelForm]) -> None:
    """One URI and one payload field per call event, declared on the class (the admin builds its
    form from the declared fields)."""
    for event in CrmEvent.values:
        fields = {
            f"uri_{event}": forms.CharField(label=MAPPING_LABELS[event][0], required=False, max_length=1000),
            f"payload_{event}": forms.CharField(
                label=MAPPING_LABELS[event][1],
                required=False,
                widget=forms.Textarea(attrs={"rows": 4, "class": "font-monospace", "spellcheck": "false"}),
                help_text=gettext_lazy("A JSON object; ${…} placeholders are sent to the CTI service as typed."),
            ),
        }
        form_class.declared_fields.update(fields)
        form_class.base_fields.update(fields)


_declare_mapping_fields(CrmIntegrationForm)


class CtiCredentialsForm(forms.ModelForm):
    new_client_secret = secret_input(gettext_lazy("client secret"))
    new_refresh_token = secret_input(gettext_lazy("refresh token"))
    new_device_code = secret_input(gettext_lazy("device code"))

    class Meta:
        model = CtiUserCredentials
        fields = ["user", "client_id"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        say_whether_set(self, {f"new_{name}": name for name in CtiUserCredentials.SECRET_FIELDS})

    def values(self) -> dict[str, str | None]:
        data = self.cleaned_data
        return {
            "client_id": data.get("client_id", ""),
            "client_secret": data.get("new_client_secret") or None,
            "refresh_token": data.get("new_refresh_token") or None,
            "device_code": data.get("new_device_code") or None,
        }


@admin.register(CtiService)
class CtiServiceAdmin(ScopedAdmin):
    list_display = ["name", "organization", "base_url"]
    list_select_related = ["organization"]
    search_fields = ["name", "base_url"]
    autocomplete_fields = ["organization"]
    fields = ["organization", "name", "base_url", "timeout_seconds"]
    service_object_name = "service"
    create_service = services.cti_service_create
    update_service = services.cti_service_update
    delete_service = services.cti_service_delete


@admin.register(CrmIntegration)
class CrmIntegrationAdmin(SyncStateAdminMixin, ScopedAdmin):
    form = CrmIntegrationForm
    list_display = ["tenant", "service", "authorization_server_uri", "mapped_events", "sync_badge"]
    list_select_related = ["tenant", "service"]
    list_filter = ["sync_state"]
    search_fields = ["tenant__name", "authorization_server_uri"]
    autocomplete_fields = ["tenant"]
    readonly_fields = ["backend_reference", "provisioning", "mapped_events"]
    fieldsets = [
        (None, {"fields": ["tenant", "service", "admin_username", "new_admin_password"]}),
        (
            gettext_lazy("The CRM"),
            {
                "fields": [
                    "authorization_server_uri",
                    "authorization_header_prefix",
                    "default_client_id",
                    "new_default_client_secret",
                ]
            },
        ),
        (gettext_lazy("Call events"), {"fields": CrmIntegrationForm.mapping_field_names()}),
        (gettext_lazy("On the CTI service"), {"fields": ["backend_reference"], "classes": ["collapse"]}),
        (gettext_lazy("Provisioning"), {"fields": ["provisioning"]}),
    ]

    actions = ["check_against_cti_service"]

    @admin.action(
        description=gettext_lazy("Check against the CTI service (reads only; the finding shows under sync)"),
        permissions=["change"],
    )
    def check_against_cti_service(self, request: HttpRequest, queryset) -> None:
        asked = cti_checks.crm_integrations_check(actor=request.user, integrations=queryset)
        skipped = queryset.count() - asked
        if asked:
            messages.info(
                request,
                _("%(count)s integration(s) are being read back from their CTI service.") % {"count": asked},
            )
        if skipped:
            messages.warning(
                request,
                _("%(count)s left out: not made on the CTI service yet, a change on its way, or not yours to manage.")
                % {"count": skipped},
            )

    @admin.display(description=gettext_lazy("mapped events"))
    def mapped_events(self, obj: CrmIntegration) -> str:
        return ", ".join(m.event for m in obj.mappings.all()) or "—"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("mappings")

    def get_fieldsets(self, request: HttpRequest, obj: CrmIntegration | None = None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            return [(None, {"fields": ["tenant", "service", "admin_username", "mapped_events", "provisioning"]})]
        return fieldsets

    def create_object(self, request: HttpRequest, obj: CrmIntegration, form: Any) -> None:
        form.save_through_service(request.user, obj)

    def update_object(self, request: HttpRequest, obj: CrmIntegration, form: Any) -> None:
        form.save_through_service(request.user, obj)

    def delete_object(self, request: HttpRequest, obj: CrmIntegration) -> None:
        services.crm_integration_delete(actor=request.user, integration=obj)


@admin.register(CtiUserCredentials)
class CtiUserCredentialsAdmin(SyncStateAdminMixin, ScopedAdmin):
    form = CtiCredentialsForm
    list_display = ["user", "client_id", "secrets", "sync_badge"]
    list_select_related = ["user__tenant"]
    list_filter = ["sync_state"]
    search_fields = ["user__username", "user__tenant__name", "client_id"]
    autocomplete_fields = ["user"]
    readonly_fields = ["backend_reference", "provisioning", "secrets"]
    fieldsets = [
        (None, {"fields": ["user", "client_id", "new_client_secret", "new_refresh_token", "new_device_code"]}),
        (gettext_lazy("On the CTI service"), {"fields": ["backend_reference"], "classes": ["collapse"]}),
        (gettext_lazy("Provisioning"), {"fields": ["provisioning"]}),
    ]

    @admin.display(description=gettext_lazy("secrets set"))
    def secrets(self, obj: CtiUserCredentials) -> str:
        names = [name for name, is_set in obj.secrets_set().items() if is_set]
        return ", ".join(names) or _("none")

    def get_fieldsets(self, request: HttpRequest, obj: CtiUserCredentials | None = None):
        if obj is not None and not self.has_change_permission(request, obj):
            return [(None, {"fields": ["user", "client_id", "secrets", "provisioning"]})]
        return super().get_fieldsets(request, obj)

    def create_object(self, request: HttpRequest, obj: CtiUserCredentials, form: Any) -> None:
        services.cti_credentials_set(actor=request.user, user=obj.user, **form.values())

    def update_object(self, request: HttpRequest, obj: CtiUserCredentials, form: Any) -> None:
        if obj.user_id != CtiUserCredentials.objects.values_list("user_id", flat=True).get(pk=obj.pk):
            raise ValidationError({"user": _("Credentials stay with their user.")})
        services.cti_credentials_set(actor=request.user, user=obj.user, **form.values())

    def delete_object(self, request: HttpRequest, obj: CtiUserCredentials) -> None:
        services.cti_credentials_clear(actor=request.user, user=obj.user)
