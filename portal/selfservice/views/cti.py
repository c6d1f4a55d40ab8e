"""The customer administrator's CRM integration pages: a tenant's integration (its CRM, its call
event mappings with their payload templates) and one user's CTI credentials. Reads through
`telephony.selectors_cti` (another customer's tenant or user is a 404), writes through
`telephony.services.cti`; viewers see the pages without the forms."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.selfservice import pushes
from portal.selfservice.guards import customer_admin_required
from portal.selfservice.views.common import add_service_error, page
from telephony import selectors_cti
from telephony import selectors_selfservice as selectors
from telephony.admin.cti import CrmIntegrationForm, CtiCredentialsForm
from telephony.models import CrmIntegration
from telephony.services import cti as services
from tenants.access import CHANGE


class IntegrationForm(CrmIntegrationForm):
    """The admin's form without the tenant (the page's own) and with the services it may use."""

    class Meta(CrmIntegrationForm.Meta):
        fields = [f for f in CrmIntegrationForm.Meta.fields if f != "tenant"]

    def __init__(self, *args, services_offered, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services_offered


class CredentialsForm(CtiCredentialsForm):
    class Meta(CtiCredentialsForm.Meta):
        fields = ["client_id"]


@customer_admin_required
@require_http_methods(["GET", "POST"])
def crm_integration(request: HttpRequest, tenant_id: int) -> HttpResponse:
    tenant = selectors.tenant_of(request.user, tenant_id)
    if not selectors_cti.offers_crm_integrations(tenant):
        raise Http404("This tenant's PBX has no CTI service.")
    integration = selectors_cti.integration_of(request.user, tenant)
    may_manage = selectors_cti.may_manage_integration(request.user, tenant, integration)
    form = None
    if may_manage and not (integration and integration.removal_requested):
        instance = integration or CrmIntegration(tenant=tenant)
        offered = selectors_cti.services_for(request.user, tenant)
        form = IntegrationForm(request.POST or None, instance=instance, services_offered=offered)
        if request.method == "POST" and form.is_valid():
            try:
                form.save_through_service(request.user, form.instance)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The CRM integration was saved; it is being pushed to the CTI service."))
                return redirect("selfservice:crm_integration", tenant_id=tenant.pk)
    elif request.method == "POST":
        raise Http404("This login may not change the integration.")
    context = {
        "tenant": tenant,
        "integration": integration,
        "form": form,
        "may_manage": may_manage,
        "sync": pushes.sync_badge(integration.sync_state) if integration else None,
    }
    return page(request, "selfservice/crm_integration.html", context)


@customer_admin_required
@require_POST
def crm_integration_delete(request: HttpRequest, tenant_id: int) -> HttpResponse:
    tenant = selectors.tenant_of(request.user, tenant_id)
    integration = selectors_cti.integration_of(request.user, tenant)
    if integration is None or not selectors_cti.may_manage_integration(request.user, tenant, integration):
        raise Http404("No CRM integration matches the given query.")
    services.crm_integration_delete(actor=request.user, integration=integration)
    messages.success(request, _("The CRM integration is being removed from the CTI service."))
    return redirect("selfservice:crm_integration", tenant_id=tenant.pk)


@customer_admin_required
@require_http_methods(["GET", "POST"])
def user_cti(request: HttpRequest, pk: int) -> HttpResponse:
    user = selectors.user_of(request.user, pk)
    integration = selectors_cti.integration_of(request.user, user.tenant)
    if integration is None:
        raise Http404("This user's tenant has no CRM integration.")
    credentials = selectors_cti.credentials_of(user)
    may_change = selectors.may_change(request.user, user)
    form = CredentialsForm(request.POST or None, instance=credentials) if may_change else None
    if request.method == "POST":
        if form is None:
            raise Http404("This login may not change the user.")
        if form.is_valid():
            try:
                services.cti_credentials_set(actor=request.user, user=user, **form.values())
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request, _("The CTI credentials were saved; they are being pushed to the CTI service.")
                )
                return redirect("selfservice:user_cti", pk=user.pk)
    context = {
        "line": user,
        "integration": integration,
        "credentials": credentials,
        "form": form,
        "sync": pushes.sync_badge(credentials.sync_state) if credentials else None,
    }
    return page(request, "selfservice/user_cti.html", context)


@customer_admin_required
@require_POST
def user_cti_clear(request: HttpRequest, pk: int) -> HttpResponse:
    user = selectors.user_of(request.user, pk, CHANGE)
    services.cti_credentials_clear(actor=request.user, user=user)
    messages.success(request, _("The CTI credentials were removed; they are being taken off the CTI service."))
    return redirect("selfservice:user_cti", pk=user.pk)
