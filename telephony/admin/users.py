"""PBX users."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from telephony.admin.imports import ImportExportMixin
from telephony.admin.sync import SyncStateAdminMixin
from telephony.models import ImportKind, PbxUser
from telephony.services import users as services
from tenants.admin_scoping import ScopedAdmin


class PbxUserForm(forms.ModelForm):
    """The voicemail PIN is never shown back: the form says whether one is set and takes a new one."""

    new_voicemail_pin = forms.CharField(
        label="Voicemail PIN",
        required=False,
        max_length=8,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password", "inputmode": "numeric"}),
    )

    class Meta:
        model = PbxUser
        exclude = ["voicemail_pin"]  # noqa: DJ006  (every other field is edited here; the PIN never is)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        is_set = bool(self.instance.pk and self.instance.voicemail_pin)
        self.fields["new_voicemail_pin"].help_text = (
            "A PIN is set. Leave empty to keep it, or type a new one (4 to 8 digits)."
            if is_set
            else "4 to 8 digits; voicemail must be on."
        )


@admin.register(PbxUser)
class PbxUserAdmin(ImportExportMixin, SyncStateAdminMixin, ScopedAdmin):
    form = PbxUserForm
    import_kind = ImportKind.USERS
    list_display = [
        "internal_number",
        "first_name",
        "last_name",
        "username",
        "email",
        "tenant",
        "entity",
        "template",
        "sync_badge",
    ]
    list_display_links = ["internal_number", "first_name", "last_name"]
    list_filter = ["voicemail_enabled", "tenant__server__platform__kind", "sync_state"]
    list_select_related = ["tenant", "entity", "template"]
    search_fields = ["first_name", "last_name", "username", "email", "internal_number", "tenant__name"]
    autocomplete_fields = ["tenant", "entity", "template", "portal_user"]
    ordering = ["tenant__name", "internal_number"]
    readonly_fields = ["backend_reference", "provisioning"]
    fieldsets = [
        (None, {"fields": ["tenant", "entity", "internal_number", "template"]}),
        ("Person", {"fields": [("first_name", "last_name"), "display_name", "username", "email", "mobile_number"]}),
        ("Voicemail", {"fields": ["voicemail_enabled", "new_voicemail_pin", "voicemail_to_email"]}),
        (
            "Call forwarding",
            {"fields": ["forward_always", "forward_busy", ("forward_no_answer", "forward_no_answer_timeout")]},
        ),
        ("Self-service", {"fields": ["portal_user"]}),
        ("On the PBX", {"fields": readonly_fields[:-1], "classes": ["collapse"]}),
        ("Provisioning", {"fields": ["provisioning"]}),
    ]
    service_object_name = "user"
    create_service = services.pbx_user_create
    update_service = services.pbx_user_update
    delete_service = services.pbx_user_delete

    def _with_new_pin(self, obj: PbxUser, form: Any) -> PbxUser:
        if form.cleaned_data.get("new_voicemail_pin"):
            obj.voicemail_pin = form.cleaned_data["new_voicemail_pin"]
        return obj

    def _login_kept(self, request: HttpRequest, obj: PbxUser | None) -> bool:
        """Is the line linked to a login this editor does not manage? Then the link is shown as kept,
        not offered as a choice (an empty choice would unlink it on save)."""
        return (
            obj is not None
            and obj.portal_user_id is not None
            and not services.governs_logins(request.user, obj.portal_user_id)
        )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self._login_kept(request, obj):
            return fieldsets
        return [
            (
                title,
                {**options, "fields": ["portal_login_kept" if f == "portal_user" else f for f in options["fields"]]},
            )
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "portal_login_kept"] if self._login_kept(request, obj) else fields

    @admin.display(description="portal user")
    def portal_login_kept(self, obj: PbxUser) -> str:
        return "Linked to a portal login you do not manage; it stays linked."

    def create_object(self, request: HttpRequest, obj: PbxUser, form: Any) -> None:
        services.pbx_user_create(actor=request.user, user=self._with_new_pin(obj, form))

    def update_object(self, request: HttpRequest, obj: PbxUser, form: Any) -> None:
        services.pbx_user_update(actor=request.user, user=self._with_new_pin(obj, form))
