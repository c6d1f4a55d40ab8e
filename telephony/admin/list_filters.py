"""List filters for the big lists (jobs, numbers, users) whose choices never scan the listed rows:
Django's related-object filters find their choices with a DISTINCT over every row of the list,
which at 100,000 jobs costs more than the page itself."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from telephony.models import Platform, ProvisioningBatch, Tenant
from telephony.provisioning.operations import OPERATIONS
from tenants import access
from tenants.access import VIEW
from tenants.keys import object_key


class ChosenObjectFilter(admin.SimpleListFilter):
    """A filter on one related object, offered by the links that lead to the list (a tenant's or a
    batch's "jobs" link) rather than as a list of every object: it shows only once one is chosen,
    with that object's name, looked up in the login's scope (another organization's id finds
    nothing to name and its rows are out of the list's scope anyway)."""

    related_model: type[Model]
    field_name = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        chosen = self.value()
        key = object_key(chosen)
        if key is None:
            return []
        found = access.restrict(self.related_model._default_manager.filter(pk=key), request.user, VIEW).first()
        return [(chosen, str(found))] if found is not None else []

    def has_output(self) -> bool:
        return bool(self.value())  # chosen: applied even when it names nothing the login sees

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        chosen = self.value()
        if not chosen:
            return queryset
        key = object_key(chosen)
        return queryset.filter(**{f"{self.field_name}_id": key}) if key is not None else queryset.none()


class JobTenantFilter(ChosenObjectFilter):
    title = gettext_lazy("tenant")
    parameter_name = "tenant__id__exact"
    related_model = Tenant
    field_name = "tenant"


class JobBatchFilter(ChosenObjectFilter):
    title = gettext_lazy("batch")
    parameter_name = "batch__id__exact"
    related_model = ProvisioningBatch
    field_name = "batch"


class PlatformFilter(admin.SimpleListFilter):
    """The platforms the login may see (a short table), not those found by scanning the list."""

    title = gettext_lazy("platform")
    parameter_name = "platform__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        platforms = access.restrict(Platform.objects.order_by("name"), request.user, VIEW)
        return [(str(pk), name) for pk, name in platforms.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        chosen = self.value()
        if not chosen:
            return queryset
        key = object_key(chosen)
        return queryset.filter(platform_id=key) if key is not None else queryset.none()


class OperationFilter(admin.SimpleListFilter):
    """The operations the engine knows, not a DISTINCT over every job."""

    title = gettext_lazy("operation")
    parameter_name = "operation"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(operation, operation) for operation in sorted(OPERATIONS)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        chosen = self.value()
        return queryset.filter(operation=chosen) if chosen else queryset
