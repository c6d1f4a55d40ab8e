"""Phone numbers (DDIs) in organizations' pools."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from telephony.admin.imports import ImportExportMixin
from telephony.admin.sync import SyncStateAdminMixin
from telephony.models import ImportKind, PhoneNumber
from telephony.services import numbers as services
from tenants import access
from tenants.admin_scoping import ScopedAdmin


class AllocationFilter(admin.SimpleListFilter):
    title = "allocation"
    parameter_name = "allocation"

    def lookups(self, request, model_admin):
        return [("free", "In the pool"), ("allocated", "Allocated, not assigned"), ("assigned", "Assigned to a user")]

    def queryset(self, request, queryset):
        if self.value() == "free":
            return queryset.filter(tenant__isnull=True)
        if self.value() == "allocated":
            return queryset.filter(tenant__isnull=False, assigned_user__isnull=True)
        if self.value() == "assigned":
            return queryset.filter(assigned_user__isnull=False)
        return queryset


@admin.register(PhoneNumber)
class PhoneNumberAdmin(ImportExportMixin, SyncStateAdminMixin, ScopedAdmin):
    import_kind = ImportKind.NUMBERS
    list_display = ["number", "organization", "tenant", "assigned_user", "is_pilot", "label", "sync_badge"]
    list_filter = [AllocationFilter, "is_pilot", "sync_state"]
    list_select_related = ["organization", "tenant", "assigned_user"]
    search_fields = ["number", "label", "tenant__name", "assigned_user__last_name"]
    autocomplete_fields = ["organization", "tenant", "assigned_user"]
    readonly_fields = ["backend_reference", "provisioning"]
    service_object_name = "number"
    create_service = services.phone_number_create
    update_service = services.phone_number_update
    delete_service = services.phone_number_delete

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # a number stays in its pool and keeps its digits; only the pool's managers allocate it
            fields += ["number", "organization"]
            if not access.can_add(request.user, PhoneNumber, obj.organization):
                fields.append("tenant")
        return fields
