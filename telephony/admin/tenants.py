"""Tenants with their entities (and each entity's number plan) inline, and entities on their own."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony import selectors
from telephony.admin.drift import check_against_pbx
from telephony.admin.pbx_import import PbxImportAdminMixin
from telephony.admin.sync import SyncStateAdminMixin
from telephony.admin.users import FREE_NUMBERS_LISTED, free_numbers_for
from telephony.models import Entity, NumberInterval, PbxUser, Tenant
from telephony.selectors_selfservice import next_free_internal_numbers
from telephony.services import tenants as services
from telephony.services.tenants import parse_intervals
from tenants import access
from tenants.access import ADD, VIEW
from tenants.admin_inlines import ServiceCheckedInline
from tenants.admin_scoping import ScopedAdmin
from tenants.keys import object_key


class EntityForm(forms.ModelForm):
    """An entity with its number plan typed as '1700-1799, 1961, 2600-2799'."""

    number_plan = forms.CharField(
        required=False,
        help_text=gettext_lazy("Internal number ranges, e.g. 1700-1799, 1961 (a single number), 2600-2799."),
        widget=forms.TextInput(attrs={"size": 30}),
    )

    class Meta:
        model = Entity
        fields = ["name", "display_name", "presented_number"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["number_plan"].initial = self.instance.number_plan

    def clean_number_plan(self) -> list[tuple[str, str]]:
        return parse_intervals(self.cleaned_data.get("number_plan", ""))


class EntityInline(ServiceCheckedInline):
    """A tenant's entities; a number plan the service refuses (overlaps, users left outside it)
    shows next to the row, with what was typed kept."""

    model = Entity
    form = EntityForm
    fields = ["name", "display_name", "number_plan", "presented_number"]
    show_change_link = True
    service_error_fields = {"intervals": "number_plan"}

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("intervals")

    def save_row(self, request: HttpRequest, obj: Entity, form: Any) -> None:
        intervals = form.cleaned_data.get("number_plan", [])
        if obj.pk:
            services.entity_update(actor=request.user, entity=obj, intervals=intervals)
        else:
            services.entity_create(actor=request.user, entity=obj, intervals=intervals)

    def delete_row(self, request: HttpRequest, obj: Entity) -> None:
        services.entity_delete(actor=request.user, entity=obj)


class DeletedWithItsParts:
    """Deleting a tenant or an entity through its service takes its number plan with it: the
    confirmation does not ask for a right to delete number intervals one by one, and it says which
    jobs remove the object from its PBX."""

    def get_deleted_objects(self, objs: Any, request: HttpRequest):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(NumberInterval._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None):
        obj = self.get_object(request, object_id)
        context = {**(extra_context or {}), "pbx_removal": self.pbx_removal(obj)}
        return super().delete_view(request, object_id, context)


@admin.register(Tenant)
class TenantAdmin(DeletedWithItsParts, PbxImportAdminMixin, SyncStateAdminMixin, ScopedAdmin):
    ordering = ["name"]
    list_display = ["name", "label", "organization", "server", "status", "user_load", "sync_badge"]
    list_filter = ["status", "server__platform__kind", "sync_state"]
    list_select_related = ["organization", "server"]
    search_fields = ["name", "label", "organization__name"]
    autocomplete_fields = ["organization", "server"]
    inlines = [EntityInline]
    actions = [check_against_pbx]
    readonly_fields = ["backend_reference", "pbx_import_link", "provisioning"]
    fieldsets = [
        (None, {"fields": ["organization", "server", "name", "label", "licences", "status"]}),
        (gettext_lazy("On the PBX"), {"fields": readonly_fields[:-1], "classes": ["collapse"]}),
        (gettext_lazy("Provisioning"), {"fields": ["provisioning"]}),
    ]
    service_object_name = "tenant"
    create_service = services.tenant_create
    update_service = services.tenant_update
    delete_service = services.tenant_delete

    def pbx_removal(self, tenant: Tenant) -> list[str]:
        return [
            _("one job per user removes its %(count)s user(s) from %(server)s (%(platform)s);")
            % {"count": tenant.users.count(), "server": tenant.server, "platform": tenant.server.platform},
            _("then one per entity its %(count)s entit(y/ies);") % {"count": tenant.entities.count()},
            _("then one job removes the tenant %(name)s itself.") % {"name": tenant.name},
        ]

    @admin.display(description=gettext_lazy("users / licences"), ordering="user_count")
    def user_load(self, obj: Tenant) -> str:
        return f"{obj.user_count} / {obj.licences}"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(user_count=access.visible_count(PbxUser, "tenant", request.user))

    def scoped_choices(self, request: HttpRequest, related_model: Any, field_name: str):
        choices = super().scoped_choices(request, related_model, field_name)
        if field_name == "organization":
            return access.organizations_for(request.user, Tenant, ADD).filter(kind="customer")
        return choices

    def get_urls(self):
        plan = path(
            "<int:object_id>/user-plan/",
            self.admin_site.admin_view(self.user_plan_view),
            name="telephony_tenant_user_plan",
        )
        return [plan, *super().get_urls()]

    def user_plan_view(self, request: HttpRequest, object_id: int) -> JsonResponse:
        """What the PBX user form fills in once this tenant is chosen (telephony/user-form.js): each
        entity's next free internal number, and the free external numbers this login may assign.
        Another organization's tenant is a 404, like an id that does not exist."""
        tenant = get_object_or_404(access.restrict(Tenant.objects.all(), request.user, VIEW), pk=object_id)
        free = free_numbers_for(request.user, tenant.pk)
        return JsonResponse(
            {
                "next_internal_numbers": {str(k): v for k, v in next_free_internal_numbers(tenant).items()},
                "free_numbers": list(free.values_list("number", flat=True)[:FREE_NUMBERS_LISTED]),
            }
        )


@admin.register(NumberInterval)
class NumberIntervalAdmin(ScopedAdmin):
    """Every number range at a glance; ranges are edited on their entity."""

    list_display = ["__str__", "entity", "tenant_name"]
    list_select_related = ["entity__tenant"]
    search_fields = ["start", "end", "entity__name", "entity__tenant__name"]
    ordering = ["entity__tenant__name", "start"]

    @admin.display(description=gettext_lazy("tenant"), ordering="entity__tenant__name")
    def tenant_name(self, obj: NumberInterval) -> str:
        return obj.entity.tenant.name

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EntityAdminForm(EntityForm):
    """An entity on its own page, with the logins that administer it (granted through the service:
    only an administrator of the customer may, and only the customer's own logins)."""

    administrators = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        widget=FilteredSelectMultiple(gettext_lazy("administrators"), is_stacked=False),
        help_text=gettext_lazy("Logins of the customer that manage only this entity's users and numbers."),
    )
    administrator_choices = None  # set per request by EntityAdmin.get_form

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if "administrators" in self.fields:
            self.fields["administrators"].queryset = self.administrator_choices
            if self.instance.pk:
                self.fields["administrators"].initial = list(self.instance.administrators.all())


@admin.register(Entity)
class EntityAdmin(DeletedWithItsParts, SyncStateAdminMixin, ScopedAdmin):
    ordering = ["name"]
    form = EntityAdminForm
    list_display = ["name", "display_name", "tenant", "number_plan", "user_count", "presented_number", "sync_badge"]
    list_select_related = ["tenant"]
    list_filter = ["tenant__server__platform__kind", "sync_state"]
    search_fields = ["name", "display_name", "tenant__name"]
    autocomplete_fields = ["tenant"]
    readonly_fields = ["backend_reference", "provisioning"]
    fieldsets = [
        (None, {"fields": ["tenant", "name", "display_name", "number_plan", "presented_number"]}),
        (gettext_lazy("Entity administrators"), {"fields": ["administrators"]}),
        (gettext_lazy("On the PBX"), {"fields": readonly_fields[:-1], "classes": ["collapse"]}),
        (gettext_lazy("Provisioning"), {"fields": ["provisioning"]}),
    ]

    def pbx_removal(self, entity: Entity) -> list[str]:
        return [
            _("one job removes the entity %(name)s from %(tenant)s on %(server)s.")
            % {"name": entity.name, "tenant": entity.tenant, "server": entity.tenant.server}
        ]

    # Entity names repeat from tenant to tenant: a choice of entity says whose it is.
    choice_select_related = ["tenant"]

    def choice_label(self, entity: Entity) -> str:
        return f"{entity} ({entity.tenant})"

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        # The user form's entity box offers the chosen tenant's entities only (telephony/user-form.js).
        tenant = object_key(request.GET.get("tenant")) if request.path.endswith("/autocomplete/") else None
        if tenant is not None:
            queryset = queryset.filter(tenant_id=tenant)
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=gettext_lazy("users"), ordering="user_count")
    def user_count(self, obj: Entity) -> int:
        return obj.user_count

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .select_related(*self.choice_select_related)
            .annotate(user_count=access.visible_count(PbxUser, "entity", request.user))
            .prefetch_related(Prefetch("intervals", queryset=NumberInterval.objects.order_by("start")))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not access.administers(request.user, obj.tenant.organization):
            fields.append("administrators")  # granting is an administrator's act
        return fields

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        kwargs["fields"] = ["tenant", "name", "display_name", "presented_number"]
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if "administrators" in self.get_readonly_fields(request, obj):
            form_class.base_fields.pop("administrators", None)  # this request's own form class
        else:
            form_class.administrator_choices = selectors.administrator_candidates(request.user, obj)
        return form_class

    def create_object(self, request: HttpRequest, obj: Entity, form: Any) -> None:
        services.entity_create(actor=request.user, entity=obj, intervals=form.cleaned_data.get("number_plan", []))
        self._set_administrators(request, obj, form)

    def update_object(self, request: HttpRequest, obj: Entity, form: Any) -> None:
        services.entity_update(actor=request.user, entity=obj, intervals=form.cleaned_data.get("number_plan", []))
        self._set_administrators(request, obj, form)

    def _set_administrators(self, request: HttpRequest, obj: Entity, form: Any) -> None:
        if "administrators" in form.cleaned_data:
            services.entity_set_administrators(
                actor=request.user, entity=obj, administrators=form.cleaned_data["administrators"]
            )

    def delete_object(self, request: HttpRequest, obj: Entity) -> None:
        services.entity_delete(actor=request.user, entity=obj)
