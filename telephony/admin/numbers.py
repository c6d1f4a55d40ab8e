"""Phone numbers (DDIs) in organizations' pools: one by one, or by the range (add a block to a
pool, allocate a range or a count to a tenant, release in bulk), with each pool's use above the list."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import lazy
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.admin.imports import ImportExportMixin
from telephony.admin.sync import SyncStateAdminMixin
from telephony.models import ImportKind, PhoneNumber, Tenant
from telephony.search import search_numbers
from telephony.services import number_ranges as ranges
from telephony.services import numbers as services
from tenants import access
from tenants.access import ADD, VIEW
from tenants.admin_scoping import ScopedAdmin, add_service_error
from tenants.keys import object_key
from tenants.models import Organization


class AllocationFilter(admin.SimpleListFilter):
    title = gettext_lazy("allocation")
    parameter_name = "allocation"

    def lookups(self, request, model_admin):
        return [
            ("free", _("In the pool")),
            ("allocated", _("Allocated, not assigned")),
            ("assigned", _("Assigned to a user")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "free":
            return queryset.filter(tenant__isnull=True)
        if self.value() == "allocated":
            return queryset.filter(tenant__isnull=False, assigned_user__isnull=True)
        if self.value() == "assigned":
            return queryset.filter(assigned_user__isnull=False)
        return queryset


# Pools named above the list and in its filter: a reseller may hold one per customer.
POOLS_LISTED = 20


class PoolFilter(admin.SimpleListFilter):
    """The pools the login sees numbers of (never an organization outside its scope)."""

    title = gettext_lazy("pool")
    parameter_name = "pool"

    def lookups(self, request, model_admin):
        pools = getattr(request, "number_pools", None)  # what the list's pool summary counted
        if pools is not None:
            return [(str(use.organization_id), use.organization) for use in pools]
        visible = model_admin.get_queryset(request).order_by().values("organization_id")
        pools = Organization.objects.filter(pk__in=visible).order_by("name", "pk")[:POOLS_LISTED]
        return [(str(o.pk), o.name) for o in pools]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        # no such pool (not a key, or past any key the database holds): nothing, never an error
        key = object_key(value)
        return queryset.filter(organization_id=key) if key is not None else queryset.none()


def _range_help() -> str:
    return _(
        "A range such as +31 20 123 4500 – 4599 (the end may be just its last digits) or "
        "+31201234500 - +31201234599; or a first number and a count below. "
        "At most %(limit)s numbers at a time."
    ) % {"limit": f"{ranges.RANGE_LIMIT:,}"}


RANGE_HELP = lazy(_range_help, str)()


class _PoolForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), label=gettext_lazy("Pool of"))

    def __init__(self, *args: Any, actor: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = access.organizations_for(actor, PhoneNumber, ADD)
        if "tenant" in self.fields:
            self.fields["tenant"].queryset = access.restrict(Tenant.objects.all(), actor, VIEW).select_related(
                "organization"
            )
        only = list(self.fields["organization"].queryset.values_list("pk", flat=True)[:2])
        if len(only) == 1:
            self.initial.setdefault("organization", only[0])

    def range_or_count(self, *, range_required: bool) -> tuple[ranges.NumberRange | None, int | None]:
        text, count = self.cleaned_data.get("numbers", ""), self.cleaned_data.get("count")
        if not text:
            if range_required:
                raise ValidationError({"numbers": _("Enter the range, or its first number and a count.")})
            return None, count
        if range_required:
            return ranges.parse_range(text, count), None
        return ranges.parse_range(text), count


class RangeAddForm(_PoolForm):
    numbers = forms.CharField(label=gettext_lazy("Numbers"), max_length=80, help_text=RANGE_HELP)
    count = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=ranges.RANGE_LIMIT,
        label=gettext_lazy("Count"),
        help_text=gettext_lazy("With a first number only."),
    )
    tenant = forms.ModelChoiceField(
        queryset=Tenant.objects.none(),
        required=False,
        label=gettext_lazy("Allocate them to"),
        help_text=gettext_lazy("Optional: a tenant."),
    )
    label = forms.CharField(
        max_length=100,
        required=False,
        label=gettext_lazy("Label"),
        help_text=gettext_lazy("Given to every number of the range."),
    )

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                self.range = self.range_or_count(range_required=True)[0]
            except ValidationError as error:
                add_service_error(self, error)
        return cleaned


class AllocateForm(_PoolForm):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none(), label=gettext_lazy("Allocate to"))
    numbers = forms.CharField(
        label=gettext_lazy("Numbers"),
        max_length=80,
        required=False,
        help_text=gettext_lazy("A range of the pool, e.g. +31 20 123 4500 – 4549; empty: the lowest free numbers."),
    )
    count = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=ranges.RANGE_LIMIT,
        label=gettext_lazy("Count"),
        help_text=gettext_lazy("How many free numbers (inside the range, when one is given)."),
    )

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                self.range, self.count = self.range_or_count(range_required=False)
                if self.range is None and not self.count:
                    raise ValidationError({"count": _("Give a range of the pool or how many numbers to allocate.")})
            except ValidationError as error:
                add_service_error(self, error)
        return cleaned


@admin.register(PhoneNumber)
class PhoneNumberAdmin(ImportExportMixin, SyncStateAdminMixin, ScopedAdmin):
    import_kind = ImportKind.NUMBERS
    change_list_template = "admin/telephony/phonenumber/change_list.html"
    list_display = ["number", "organization", "tenant", "assigned_user", "is_pilot", "label", "sync_badge"]
    list_filter = [AllocationFilter, PoolFilter, "is_pilot", "sync_state"]
    list_select_related = ["organization", "tenant", "assigned_user"]
    # through telephony.search.search_numbers: the numbers' own index, the tenants and users named
    search_fields = ["number", "label", "tenant__name", "assigned_user__last_name"]
    autocomplete_fields = ["organization", "tenant", "assigned_user"]
    readonly_fields = ["backend_reference", "provisioning"]
    actions = ["release_from_users", "return_to_pool"]
    service_object_name = "number"
    create_service = services.phone_number_create
    update_service = services.phone_number_update
    delete_service = services.phone_number_delete

    class Media:
        css = {"all": ["telephony/numbers.css"]}

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        return search_numbers(queryset, search_term), False  # no words: the queryset as it is

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # a number stays in its pool and keeps its digits; only the pool's managers allocate it
            fields += ["number", "organization"]
            if not access.can_add(request.user, PhoneNumber, obj.organization):
                fields.append("tenant")
        return fields

    # --- the list: each pool's use, and the range pages ------------------------------------------

    def get_urls(self):
        return [
            path("add-range/", self.admin_site.admin_view(self.range_add_view), name="telephony_phonenumber_range"),
            path("allocate/", self.admin_site.admin_view(self.allocate_view), name="telephony_phonenumber_allocate"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        changelist = reverse("admin:telephony_phonenumber_changelist")
        pools, more = [], False
        # The pools' use is the list's overview: a search's page shows the numbers found, not the
        # pools' counts (which a search does not change), and pays nothing for them.
        if not request.GET.get(SEARCH_VAR):
            chosen = request.GET.get(PoolFilter.parameter_name, "")
            uses, more = ranges.first_pools_usage(
                self.get_queryset(request), limit=POOLS_LISTED, including=object_key(chosen)
            )
            pools = [
                {
                    "use": use,
                    # a pool's key (an integer) and the states are all the query holds: nothing to quote
                    "links": {
                        state: f"{changelist}?pool={use.organization_id}&allocation={state}"
                        for state in ("free", "allocated", "assigned")
                    },
                    "all": f"{changelist}?pool={use.organization_id}",
                }
                for use in uses
            ]
            # the pool filter offers the same pools: one read of the numbers for both, not a second one
            request.number_pools = [pool["use"] for pool in pools]
        may_add = self.has_add_permission(request)
        extra = {
            "pools": pools,
            "more_pools": more,
            "pools_listed": POOLS_LISTED,
            "range_url": reverse("admin:telephony_phonenumber_range") if may_add else "",
            "allocate_url": reverse("admin:telephony_phonenumber_allocate") if may_add else "",
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def range_add_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise Http404("No pool to add numbers to.")
        form = RangeAddForm(request.POST or None, actor=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                added = ranges.phone_number_range_add(
                    actor=request.user,
                    organization=data["organization"],
                    numbers=form.range,
                    tenant=data.get("tenant"),
                    label=data.get("label", ""),
                )
            except ValidationError as refused:
                add_service_error(form, refused)
            else:
                values = {
                    "count": f"{added:,}",
                    "range": form.range,
                    "pool": data["organization"],
                    "tenant": data.get("tenant"),
                }
                if data.get("tenant"):
                    done = _("%(count)s numbers (%(range)s) added to %(pool)s's pool, allocated to %(tenant)s.")
                else:
                    done = _("%(count)s numbers (%(range)s) added to %(pool)s's pool.")
                messages.success(request, done % values)
                return HttpResponseRedirect(self._pool_list(data["organization"]))
        return self._form_page(request, form, _("Add a range of numbers"), _("Add the numbers"))

    def allocate_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise Http404("No pool to allocate from.")
        form = AllocateForm(request.POST or None, actor=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                allocated = ranges.phone_numbers_allocate(
                    actor=request.user,
                    organization=data["organization"],
                    tenant=data["tenant"],
                    numbers=form.range,
                    count=form.count,
                )
            except ValidationError as refused:
                add_service_error(form, refused)
            else:
                if allocated:
                    shown = allocated[0] if len(allocated) == 1 else f"{allocated[0]} … {allocated[-1]}"
                    messages.success(
                        request,
                        _("%(count)s numbers (%(shown)s) allocated to %(tenant)s.")
                        % {"count": f"{len(allocated):,}", "shown": shown, "tenant": data["tenant"]},
                    )
                else:
                    messages.info(
                        request,
                        _("Every number of %(range)s is %(tenant)s's already.")
                        % {"range": form.range, "tenant": data["tenant"]},
                    )
                return HttpResponseRedirect(self._pool_list(data["organization"], "allocated"))
        return self._form_page(request, form, _("Allocate numbers to a tenant"), _("Allocate"))

    def _pool_list(self, organization: Organization, allocation: str = "") -> str:
        query = {"pool": organization.pk, **({"allocation": allocation} if allocation else {})}
        return f"{reverse('admin:telephony_phonenumber_changelist')}?{urlencode(query)}"

    def _form_page(self, request: HttpRequest, form: forms.Form, title: str, button: str) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "form": form,
            "button": button,
        }
        return TemplateResponse(request, "admin/telephony/phonenumber/range_form.html", context)

    # --- bulk release -------------------------------------------------------------------------------

    @admin.action(
        description=gettext_lazy("Release from their users (back to the tenant's free numbers)"), permissions=["change"]
    )
    def release_from_users(self, request: HttpRequest, queryset):
        self._release(request, queryset, to_pool=False)

    @admin.action(description=gettext_lazy("Return to the pool (off their tenant and user)"), permissions=["add"])
    def return_to_pool(self, request: HttpRequest, queryset):
        self._release(request, queryset, to_pool=True)

    def _release(self, request: HttpRequest, queryset, *, to_pool: bool) -> None:
        try:
            done = ranges.phone_numbers_release(actor=request.user, numbers=queryset, to_pool=to_pool)
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
            return
        counts = {"from_users": f"{done.from_users:,}", "to_pool": f"{done.to_pool:,}"}
        if done.from_users and done.to_pool:
            released = _(
                "Numbers released: %(from_users)s taken off their users (pushed to the PBX); "
                "%(to_pool)s back in their pool."
            )
        elif done.from_users:
            released = _("Numbers released: %(from_users)s taken off their users (pushed to the PBX).")
        elif done.to_pool:
            released = _("Numbers released: %(to_pool)s back in their pool.")
        else:
            released = ""
        if released:
            messages.success(request, released % counts)
        elif to_pool:
            messages.info(request, _("None of the selected numbers was on a user or a tenant."))
        else:
            messages.info(request, _("None of the selected numbers was on a user."))
