"""Platforms and servers. A platform's secrets are never rendered back: the form says whether one
is set and takes a new one; a login that may only view the platform reads "set" or "not set"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.admin.drift import check_against_pbx
from telephony.admin.sync import BackendRefAdminMixin, badge
from telephony.line_features import withheld_on_documented_api
from telephony.models import Platform, Server, Tenant
from telephony.services import platforms as services
from tenants import access
from tenants.access import CHANGE
from tenants.admin_scoping import ScopedAdmin

LIST_MESSAGE_LENGTH = 60


class PlatformForm(forms.ModelForm):
    new_secret = forms.CharField(
        label=gettext_lazy("Secret"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    new_app_key = forms.CharField(
        label=gettext_lazy("app key"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    current_password = forms.CharField(
        label=gettext_lazy("Your password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=gettext_lazy(
            "Needed to replace a secret, or to change the address, login or TLS check of a platform "
            "whose secret is stored."
        ),
    )

    class Meta:
        model = Platform
        fields = [
            "organization",
            "name",
            "kind",
            "base_url",
            "is_active",
            "username",
            "user_space",
            "acting_organization",
            "timeout_seconds",
            "verify_tls",
            "documented_only",
        ]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for field, kinds in Platform.KIND_SPECIFIC_FIELDS.items():  # shown for those kinds only (platform-kind.js)
            name = "new_app_key" if field == "app_key" else field
            if name in self.fields:
                self.fields[name].widget.attrs["data-platform-kinds"] = " ".join(kinds)
        instance = self.instance
        for field, attribute, set_help, unset_help in (
            (
                "new_secret",
                "secret",
                _("A password or API key is set. Leave empty to keep it, or type a new one to replace it."),
                _("No password or API key is set yet."),
            ),
            (
                "new_app_key",
                "app_key",
                _("A app key is set. Leave empty to keep it, or type a new one to replace it."),
                _("No app key is set yet."),
            ),
        ):
            is_set = bool(instance.pk and getattr(instance, attribute))
            self.fields[field].help_text = set_help if is_set else unset_help


@admin.register(Platform)
class PlatformAdmin(ScopedAdmin):
    ordering = ["name"]
    form = PlatformForm
    list_display = ["name", "kind", "organization", "base_url", "secret_set", "active", "server_count", "last_check"]
    actions = ["test_connection", "import_servers"]
    list_filter = ["kind", "is_active"]
    list_select_related = ["organization"]
    search_fields = ["name", "base_url"]
    autocomplete_fields = ["organization"]
    readonly_fields = ["last_checked_at", "last_check_ok", "last_check_message", "documented_api_limits"]
    fieldsets = [
        (None, {"fields": ["organization", "name", "kind", "base_url", "is_active"]}),
        (
            gettext_lazy("Credentials"),
            {
                "fields": [
                    "username",
                    "new_secret",
                    "new_app_key",
                    "current_password",
                    "user_space",
                    "acting_organization",
                ]
            },
        ),
        (
            gettext_lazy("Connection"),
            {"fields": ["timeout_seconds", "verify_tls", "documented_only", "documented_api_limits"]},
        ),
        (gettext_lazy("Last check"), {"fields": ["last_checked_at", "last_check_ok", "last_check_message"]}),
    ]

    class Media:
        css = {"all": ["telephony/admin.css"]}
        js = ["telephony/platform-kind.js"]

    def get_fieldsets(self, request: HttpRequest, obj: Platform | None = None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        return _read_only_fieldsets(fieldsets, obj)

    @admin.display(description=gettext_lazy("without the extensions"))
    def documented_api_limits(self, obj: Platform) -> str:
        if not obj.pk:
            return _("Shown once the platform is saved.")
        withheld = withheld_on_documented_api(obj.kind)
        if not withheld:
            return format_html(_("Nothing: the {} driver uses only the documented API."), obj.get_kind_display())
        features = format_html_join("; ", "{}", ((name,) for name in withheld))
        if obj.documented_only:
            return format_html(_("Switched off now: {}."), features)
        return format_html(_("Switched off when “documented API only” is ticked: {}."), features)

    @admin.display(description=gettext_lazy("secret"))
    def secret_state(self, obj: Platform) -> str:
        return _("set") if obj.has_secret else _("not set")

    @admin.display(description=gettext_lazy("app key"))
    def app_key_state(self, obj: Platform) -> str:
        return _("set") if obj.app_key else _("not set")

    @admin.display(description=gettext_lazy("last check"))
    def last_check(self, obj: Platform) -> str:
        if obj.last_checked_at is None:
            return _("never")
        state = "succeeded" if obj.last_check_ok else "failed" if obj.last_check_ok is False else "pending"
        message = obj.last_check_message
        # The list shows the start of the message; all of it is on hover and on the platform's page.
        return format_html(
            '{} <span title="{}">{}</span>',
            badge(state, _("OK") if obj.last_check_ok else _("failed")),
            message,
            Truncator(message).chars(LIST_MESSAGE_LENGTH),
        )

    @admin.action(
        description=gettext_lazy("Test connection (shows the backend's version or its error)"), permissions=["change"]
    )
    def test_connection(self, request: HttpRequest, queryset) -> None:
        if self._managed(request, queryset, services.platform_check_requested):
            messages.info(request, _("Connection test queued; the answer appears under “last check” in a few seconds."))

    @admin.action(
        description=gettext_lazy("Import the servers (and, where the platform lists them, the tenants) it has"),
        permissions=["change"],
    )
    def import_servers(self, request: HttpRequest, queryset) -> None:
        if self._managed(request, queryset, services.servers_import_requested):
            messages.info(request, _("Import queued; its summary appears under “last check” when it is done."))

    def _managed(self, request: HttpRequest, queryset, request_service) -> int:
        """Ask for the action on the selected platforms the login manages; say so for the others
        (shared with it from above: it may use them, not make them receive calls)."""
        managed = list(access.restrict(queryset, request.user, CHANGE))
        for platform in managed:
            request_service(actor=request.user, platform=platform)
        skipped = queryset.count() - len(managed)
        if skipped:
            messages.warning(
                request,
                _("%(count)s selected platform(s) left out: only their administrators may do this.")
                % {"count": skipped},
            )
        return len(managed)

    @admin.display(boolean=True, description=gettext_lazy("active"), ordering="is_active")
    def active(self, obj: Platform) -> bool:
        return obj.is_active

    @admin.display(boolean=True, description=gettext_lazy("secret"))
    def secret_set(self, obj: Platform) -> bool:
        return obj.has_secret

    @admin.display(description=gettext_lazy("servers"), ordering="server_count")
    def server_count(self, obj: Platform) -> int:
        return obj.server_count

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(server_count=Count("servers"))

    def create_object(self, request: HttpRequest, obj: Platform, form: Any) -> None:
        obj.secret = form.cleaned_data.get("new_secret") or ""
        obj.app_key = form.cleaned_data.get("new_app_key") or ""
        services.platform_create(actor=request.user, platform=obj)

    def update_object(self, request: HttpRequest, obj: Platform, form: Any) -> None:
        services.platform_update(
            actor=request.user,
            platform=obj,
            new_secret=form.cleaned_data.get("new_secret") or None,
            new_app_key=form.cleaned_data.get("new_app_key") or None,
            actor_password=form.cleaned_data.get("current_password") or None,
        )

    def delete_object(self, request: HttpRequest, obj: Platform) -> None:
        services.platform_delete(actor=request.user, platform=obj)


# A login that may only view a platform sees what is stored, not the form's inputs: whether a secret
# is set instead of the fields that replace it, no password prompt, and only the fields of its kind
# (editors get the same through platform-kind.js, which a read-only page has no kind input for).
_READ_ONLY_REPLACEMENTS = {"new_secret": "secret_state", "new_app_key": "app_key_state", "current_password": None}


def _read_only_fieldsets(fieldsets: list, platform: Platform) -> list:
    other_kinds_fields = {
        "new_app_key" if field == "app_key" else field
        for field, kinds in Platform.KIND_SPECIFIC_FIELDS.items()
        if platform.kind not in kinds
    }
    shown = []
    for title, options in fieldsets:
        fields = [
            _READ_ONLY_REPLACEMENTS.get(field, field)
            for field in options.get("fields", [])
            if field not in other_kinds_fields
        ]
        shown.append((title, {**options, "fields": [field for field in fields if field]}))
    return shown


@admin.register(Server)
class ServerAdmin(BackendRefAdminMixin, ScopedAdmin):
    ordering = ["name"]
    list_display = ["name", "platform", "host", "tenant_load", "capacity_users", "remaining_slots"]
    list_filter = ["platform__kind"]
    list_select_related = ["platform"]
    search_fields = ["name", "host", "platform__name"]
    autocomplete_fields = ["platform"]
    readonly_fields = ["remaining_slots", "backend_reference"]
    actions = [check_against_pbx]
    service_object_name = "server"
    create_service = services.server_create
    update_service = services.server_update
    delete_service = services.server_delete

    @admin.display(description=gettext_lazy("tenants"), ordering="tenant_count")
    def tenant_load(self, obj: Server) -> str:
        return f"{obj.tenant_count} / {obj.capacity_tenants}" if obj.capacity_tenants else str(obj.tenant_count)

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .annotate(tenant_count=access.visible_count(Tenant, "server", request.user, shared=True))
        )
