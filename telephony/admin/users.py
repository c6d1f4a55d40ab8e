"""PBX users."""

from __future__ import annotations

from django.contrib import admin

from telephony.admin.imports import ImportExportMixin
from telephony.admin.sync import SyncStateAdminMixin
from telephony.models import ImportKind, PbxUser
from telephony.services import users as services
from tenants.admin_scoping import ScopedAdmin


@admin.register(PbxUser)
class PbxUserAdmin(ImportExportMixin, SyncStateAdminMixin, ScopedAdmin):
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
    readonly_fields = [
        "xcu_id",
        "xelion_oid",
        "xelion_person_oid",
        "xelion_phoneline_oid",
        "xc5_guid",
        "xc5_name",
        "provisioning",
    ]
    fieldsets = [
        (None, {"fields": ["tenant", "entity", "internal_number", "template"]}),
        ("Person", {"fields": [("first_name", "last_name"), "display_name", "username", "email", "mobile_number"]}),
        ("Voicemail", {"fields": ["voicemail_enabled", "voicemail_pin", "voicemail_to_email"]}),
        (
            "Call forwarding",
            {"fields": ["forward_always", "forward_busy", ("forward_no_answer", "forward_no_answer_timeout")]},
        ),
        ("Self-service", {"fields": ["portal_user"]}),
        ("Backend identity", {"fields": readonly_fields[:-1], "classes": ["collapse"]}),
        ("Provisioning", {"fields": ["provisioning"]}),
    ]
    service_object_name = "user"
    create_service = services.pbx_user_create
    update_service = services.pbx_user_update
    delete_service = services.pbx_user_delete
