"""Configurator orders: "add" is the wizard that opens a customer's tenant in one order (the
configuration typed or uploaded, the Configurator's dry run, then the order); an order's page shows
its status as it moves (the page reloads itself until the order ends), its reports and what came
into the mirror. Orders are never edited: a new order is a new tenant."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.admin.sync import SyncStateAdminMixin, badge
from telephony.backends.registry import kinds_that
from telephony.models import ConfiguratorLink, ConfiguratorOrder, LineTemplate, Server, Tenant
from telephony.services import configurator_orders as orders
from telephony.services.configurator_config import (
    OrderEntry,
    cause_field,
    cause_with_line,
    configuration_from_entry,
    configuration_from_upload,
)
from telephony.validators import validate_tenant_name
from tenants import access
from tenants.access import ADD, VIEW
from tenants.admin_scoping import ScopedAdmin, add_service_error
from tenants.choices import choice_label
from tenants.models import Organization

USERS_HELP = gettext_lazy(
    "One user per line: department, e-mail address, internal number (e.g. Sales, ann@acme.example, 201)."
)
NUMBERS_HELP = gettext_lazy("One external number per line: department, number (e.g. Sales, +31201234500). Optional.")


class OrderWizardForm(forms.Form):
    link = forms.ModelChoiceField(queryset=ConfiguratorLink.objects.none(), label=gettext_lazy("order through"))
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), label=gettext_lazy("customer"))
    server = forms.ModelChoiceField(
        queryset=Server.objects.none(),
        label=gettext_lazy("Server"),
        help_text=gettext_lazy(
            "A server whose platform opens tenants by order: it opens the tenant and hands it over."
        ),
    )
    tenant_name = forms.CharField(max_length=63, validators=[validate_tenant_name], label=gettext_lazy("tenant name"))
    label = forms.CharField(max_length=200, required=False, label=gettext_lazy("Label"))
    licences = forms.IntegerField(
        initial=10, validators=[MinValueValidator(1), MaxValueValidator(100000)], label=gettext_lazy("Licences")
    )
    template = forms.ModelChoiceField(
        queryset=LineTemplate.objects.none(),
        label=gettext_lazy("line template"),
        help_text=gettext_lazy("Given in the portal to every user the order makes."),
    )
    organization_name = forms.CharField(
        max_length=200, label=gettext_lazy("organization name"), help_text=gettext_lazy("As the tenant shows it.")
    )
    country = forms.CharField(
        max_length=2,
        initial="NL",
        label=gettext_lazy("Country"),
        help_text=gettext_lazy("ISO 3166-1 alpha-2, e.g. NL."),
    )
    central_number = forms.CharField(
        max_length=20,
        required=False,
        label=gettext_lazy("central phone number"),
        help_text=gettext_lazy("One of the external numbers below."),
    )
    users = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False, label=gettext_lazy("Users"), help_text=USERS_HELP
    )
    numbers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label=gettext_lazy("external numbers"),
        help_text=NUMBERS_HELP,
    )
    call_recording = forms.BooleanField(required=False, label=gettext_lazy("record calls"))
    upload = forms.FileField(
        required=False,
        label=gettext_lazy("or a configuration file"),
        help_text=gettext_lazy(
            "A Configurator configuration (JSON). When given, it is sent as it is and the fields above "
            "from “organization name” on are not used."
        ),
    )

    def __init__(self, *args: Any, login: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["link"].queryset = access.restrict(ConfiguratorLink.objects.all(), login, VIEW).filter(
            api_key__isnull=False
        )
        self.fields["organization"].queryset = access.organizations_for(login, Tenant, ADD).order_by("path")
        kinds = kinds_that(lambda capabilities: capabilities.opens_tenants_by_order)
        servers = access.restrict(Server.objects.filter(platform__kind__in=kinds), login, VIEW)
        self.fields["server"].queryset = servers.select_related("platform").order_by("name")
        self.fields["template"].queryset = access.restrict(LineTemplate.objects.all(), login, VIEW).order_by("name")

    def configuration(self) -> dict[str, Any]:
        """The configuration to send (raises ValidationError against the input it is about)."""
        data = self.cleaned_data
        if data.get("upload"):
            return configuration_from_upload(data["upload"].read())
        missing = [name for name in ("organization_name", "country") if not data.get(name)]
        if missing:
            raise ValidationError({name: _("Required when no configuration file is given.") for name in missing})
        entry = OrderEntry(
            organization_name=data["organization_name"],
            country=data["country"],
            central_number=data.get("central_number") or "",
            users=data.get("users") or "",
            numbers=data.get("numbers") or "",
            call_recording=bool(data.get("call_recording")),
        )
        return configuration_from_entry(entry)

    def place_error(self, cause: str) -> None:
        field = cause_field(cause, uploaded=bool(self.cleaned_data.get("upload")))
        if field in ("users", "numbers"):
            cause = cause_with_line(cause, self.cleaned_data.get(field) or "")
        self.add_error(field, cause)


@admin.register(ConfiguratorOrder)
class ConfiguratorOrderAdmin(SyncStateAdminMixin, ScopedAdmin):
    list_display = ["tenant", "customer", "link", "status_badge", "created_at", "finished_at", "imported"]
    list_select_related = ["tenant__organization", "link__organization"]
    list_filter = ["status"]
    search_fields = ["tenant__name", "tenant__organization__name"]
    fields = ["link", "tenant", "template", "status_badge", "error", "imported", "provisioning", "reports",
              "configuration_shown", "created_by", "created_at", "submitted_at", "finished_at"]  # fmt: skip
    readonly_fields = fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an order is a record; a new order is a new tenant

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("customer"), ordering="tenant__organization__name")
    def customer(self, obj: ConfiguratorOrder) -> str:
        return str(obj.tenant.organization) if obj.tenant_id else "—"

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, obj: ConfiguratorOrder) -> str:
        state = {"COMPLETED": "verified", "FAILED": "failed"}.get(obj.status, "pending")
        return badge(state, choice_label(obj, "status"))

    @admin.display(description=gettext_lazy("configuration"))
    def configuration_shown(self, obj: ConfiguratorOrder) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.configuration, indent=2, ensure_ascii=False))

    @admin.display(description=gettext_lazy("reports"))
    def reports(self, obj: ConfiguratorOrder) -> str:
        events = list(obj.events.all())
        if not events:
            return _("None yet.")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (e.received_at.strftime("%Y-%m-%d %H:%M:%S"), e.get_source_display(), e.mid or "—", e.status,
                 e.outcome or _("waiting to be applied"))
                for e in events
            ),
        )  # fmt: skip
        return format_html(
            '<table class="job-table"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>',
            _("received"),
            _("from"),
            _("message"),
            _("status"),
            _("outcome"),
            rows,
        )

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None):
        order = self.get_object(request, object_id)
        extra = {**(extra_context or {}), "reload_seconds": 0 if order.is_final else 3}
        return super().change_view(request, object_id, form_url, extra)

    # --- the wizard ---------------------------------------------------------------------------------

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        data = request.POST if request.method == "POST" else None
        initial = {"link": request.GET.get("link")} if request.GET.get("link", "").isdigit() else {}
        form = OrderWizardForm(data, request.FILES or None, login=request.user, initial=initial)
        tested: str = ""
        if data is not None and form.is_valid():
            try:
                configuration = form.configuration()
            except ValidationError as problem:
                add_service_error(form, problem)
            else:
                tested = self._test(request, form, configuration)
                if tested and "order" in request.POST:
                    order = self._place(request, form, configuration)
                    if order is not None:
                        messages.success(request, _("The tenant is being opened and its order sent."))
                        return HttpResponseRedirect(
                            reverse("admin:telephony_configuratororder_change", args=[order.pk])
                        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Open a customer's tenant by Configurator order"),
            "form": form,
            "tested": tested,
        }
        return TemplateResponse(request, "admin/telephony/configurator_order_wizard.html", context)

    def _test(self, request: HttpRequest, form: OrderWizardForm, configuration: dict[str, Any]) -> str:
        """The Configurator's dry run: the configuration as sent when it passes, "" otherwise (the cause
        is on the form)."""
        try:
            cause = orders.configurator_order_test(
                actor=request.user, link=form.cleaned_data["link"], configuration=configuration
            )
        except ValidationError as problem:
            add_service_error(form, problem)
            return ""
        if cause:
            form.place_error(cause)
            return ""
        return json.dumps(configuration, indent=2, ensure_ascii=False)

    def _place(self, request: HttpRequest, form: OrderWizardForm, configuration: dict[str, Any]):
        data = form.cleaned_data
        new_tenant = orders.NewTenant(
            organization=data["organization"], server=data["server"], name=data["tenant_name"],
            label=data.get("label") or "", licences=data["licences"],
        )  # fmt: skip
        try:
            return orders.configurator_order_place(
                actor=request.user, link=data["link"], new_tenant=new_tenant, template=data["template"],
                configuration=configuration,
            )  # fmt: skip
        except ValidationError as refused:
            add_service_error(form, refused, aliases={"name": "tenant_name"})
            return None
