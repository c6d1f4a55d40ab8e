"""Line templates: defined by an organization, usable in its subtree."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from telephony.admin.sync import SyncStateAdminMixin
from telephony.models import LineTemplate, PbxUser
from telephony.services import templates as services
from tenants import access
from tenants.admin_scoping import ScopedAdmin


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
            "Line (XCU template fields)",
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
            "Voicemail",
            {
                "fields": [
                    "voicemail_enabled",
                    ("voicemail_number_mode", "voicemail_custom_number"),
                    "voicemail_send_email",
                ]
            },
        ),
        ("Xelion defaults", {"fields": ["xelion_role", "xelion_user_license"]}),
        ("XC5 defaults", {"fields": ["xc5_cfna_duration", "xc5_concurrent_limit"]}),
        ("Provisioning", {"fields": ["provisioning"]}),
    ]
    service_object_name = "template"
    create_service = services.line_template_create
    update_service = services.line_template_update
    delete_service = services.line_template_delete

    @admin.display(description="users", ordering="user_count")
    def user_count(self, obj: LineTemplate) -> int:
        return obj.user_count

    def get_queryset(self, request: HttpRequest):
        return (
            super().get_queryset(request).annotate(user_count=access.visible_count(PbxUser, "template", request.user))
        )
