"""Import from PBX, on a tenant's admin page: read the PBX (a drift scan of the tenant), preview
what is there and not in the portal, confirm to write it as the tenant's mirror, nothing pushed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.models import Entity, LineTemplate, Tenant
from telephony.services.drift import drift_scan_requested
from telephony.services.pbx_import import (
    pbx_import_commit,
    pbx_import_offer,
    pbx_import_plan,
    shares_its_container,
)
from tenants import access
from tenants.access import VIEW

PREVIEW_ROWS = 200
SHARED_SERVER_HELP = gettext_lazy(
    "This server's entities belong to several customers: tick only this customer's. With their users; users of "
    "the tenant's own entities come in whatever is ticked."
)


class PbxImportForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=LineTemplate.objects.none(),
        label=gettext_lazy("line template"),
        help_text=gettext_lazy("Given to every user imported."),
    )
    entity = forms.ModelChoiceField(
        queryset=Entity.objects.none(),
        required=False,
        label=gettext_lazy("entity for users the PBX puts in none"),
        help_text=gettext_lazy("Where users go whose PBX keeps no entity per user."),
    )

    entities = forms.MultipleChoiceField(
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("entities on the PBX to bring in"),
        help_text=gettext_lazy("With their users. Users of the tenant's own entities come in whatever is ticked."),
    )

    def __init__(self, *args: Any, tenant: Tenant, login: Any, offered: list[str], shared: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = access.restrict(LineTemplate.objects.all(), login, VIEW).order_by("name")
        self.fields["entity"].queryset = Entity.objects.filter(tenant=tenant).order_by("name")
        self.fields["entities"].choices = [(name, name) for name in offered]
        self.fields["entities"].initial = [] if shared else offered
        if shared:
            self.fields["entities"].help_text = SHARED_SERVER_HELP


class PbxImportAdminMixin:
    """For the tenant admin: the "Import from PBX" page and the link to it."""

    def get_urls(self):
        view = self.admin_site.admin_view(self.pbx_import_view)
        return [path("<path:object_id>/pbx-import/", view, name="telephony_tenant_pbx_import"), *super().get_urls()]

    @admin.display(description=gettext_lazy("import from the PBX"))
    def pbx_import_link(self, obj: Tenant) -> str:
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:telephony_tenant_pbx_import", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Import what the PBX holds and the portal does not…"))

    def pbx_import_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        tenant = get_object_or_404(self.get_queryset(request), pk=object_id)
        here = reverse("admin:telephony_tenant_pbx_import", args=[tenant.pk])
        if request.method == "POST" and "read" in request.POST:
            drift_scan_requested(actor=request.user, tenants=[tenant])
            messages.info(request, _("The PBX is being read; this page shows what it holds once that is done."))
            return HttpResponseRedirect(here)
        data = request.POST or request.GET or None
        try:
            offered = pbx_import_offer(actor=request.user, tenant=tenant)
        except PermissionDenied as refused:
            messages.error(request, str(refused))
            return HttpResponseRedirect(reverse("admin:telephony_tenant_change", args=[tenant.pk]))
        shared = shares_its_container(tenant)
        form = PbxImportForm(data, tenant=tenant, login=request.user, offered=offered, shared=shared)
        fallback = _chosen_entity(form, data)
        chosen = _chosen_entities(form, data, offered)
        plan = pbx_import_plan(actor=request.user, tenant=tenant, fallback_entity=fallback, entity_names=chosen)
        if request.method == "POST" and "confirm" in request.POST and form.is_valid():
            try:
                done = pbx_import_commit(
                    actor=request.user, tenant_id=tenant.pk, template=form.cleaned_data["template"],
                    fallback_entity=fallback, entity_names=chosen,
                )  # fmt: skip
            except ValidationError as refused:
                messages.error(request, " ".join(refused.messages))
            else:
                messages.success(
                    request,
                    _(
                        "Imported %(users)s user(s) and %(entities)s entit(y/ies) from the PBX; "
                        "%(refused)s left as findings."
                    )
                    % {"users": len(done.importable), "entities": len(done.entities), "refused": len(done.refused)},
                )
                return HttpResponseRedirect(reverse("admin:telephony_tenant_change", args=[tenant.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": tenant,
            "title": _("Import from the PBX into %(tenant)s") % {"tenant": tenant},
            "form": form,
            "plan": plan,
            "importable": plan.importable[:PREVIEW_ROWS],
            "refused": plan.refused[:PREVIEW_ROWS],
        }
        return TemplateResponse(request, "admin/telephony/pbx_import.html", context)


def _chosen_entities(form: PbxImportForm, data: Any, offered: list[str]) -> set[str] | None:
    """The PBX entities ticked (None before the form was sent: the default, see the service); a
    name the PBX did not offer is dropped."""
    if not data:
        return None
    return {name for name in data.getlist("entities") if name in offered}


def _chosen_entity(form: PbxImportForm, data: Any) -> Entity | None:
    """The entity chosen for users the PBX puts in none, even before a template is chosen."""
    if not data or not data.get("entity"):
        return None
    try:
        return form.fields["entity"].clean(data.get("entity"))
    except ValidationError:
        return None
