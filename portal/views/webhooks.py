"""Webhook endpoints and their delivery log, in the admin (staff) and on the self-service site
(customer administrators): register a URL for events (its signing secret shown once, on the answer
to the form, never in a message or a cookie), change it, rotate its secret, send a test event, read
what was delivered and what was not, and replay a delivery. The same services as the API.

Whatever a login may not see answers 404; what it may see but not change (a viewer), 403."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.selfservice.views.common import navigation
from telephony.models.webhooks import SUBSCRIBABLE, DeliveryStatus, WebhookEndpoint
from telephony.selectors_webhooks import webhook_attempts_of, webhook_deliveries_for, webhook_endpoints_for
from telephony.services import webhooks as services
from tenants import access
from tenants.access import ADD, CHANGE

DELIVERIES_PER_PAGE = 50


class EndpointForm(forms.Form):
    organization = forms.ModelChoiceField(label=gettext_lazy("Organization"), queryset=None, empty_label=None)
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=500,
        help_text=gettext_lazy("Where the portal POSTs each event, e.g. https://billing.example.net/hooks/portal."),
    )
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"), choices=SUBSCRIBABLE, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args: Any, user: Any, endpoint: WebhookEndpoint | None = None, **kwargs: Any):
        if endpoint is not None:
            kwargs.setdefault(
                "initial",
                {
                    "url": endpoint.url,
                    "description": endpoint.description,
                    "events": endpoint.events,
                    "is_active": endpoint.is_active,
                },
            )
        super().__init__(*args, **kwargs)
        if endpoint is None:
            self.fields["organization"].queryset = access.organizations_for(user, WebhookEndpoint, ADD).order_by("path")
        else:
            del self.fields["organization"]  # an endpoint stays with its organization

    def add_service_errors(self, refused: ValidationError) -> None:
        for field, problems in refused.message_dict.items():
            self.add_error(field if field in self.fields else None, problems)


def _render(request: HttpRequest, site: dict[str, Any], template: str, context: dict[str, Any]) -> HttpResponse:
    response = render(request, site["templates"][template], {**site["context"], **context, "site": site})
    if context.get("secret"):
        response["Cache-Control"] = "no-store"  # the one page that shows the secret
    return response


def _endpoints(request: HttpRequest, site: dict[str, Any]) -> HttpResponse:
    user = request.user
    form, made, secret = EndpointForm(user=user), None, ""
    if request.method == "POST":
        form = EndpointForm(request.POST, user=user)
        if form.is_valid():
            data = form.cleaned_data
            endpoint = WebhookEndpoint(
                organization=data["organization"],
                url=data["url"].strip(),
                description=data["description"],
                events=data["events"],
                is_active=data["is_active"],
            )
            try:
                made, secret = services.webhook_endpoint_create(actor=user, endpoint=endpoint)
            except ValidationError as refused:
                form.add_service_errors(refused)
            else:
                form = EndpointForm(user=user)
    return _render(
        request,
        site,
        "list",
        {
            "title": _("Webhooks"),
            "endpoints": webhook_endpoints_for(user),
            "form": form if form.fields["organization"].queryset.exists() else None,
            "made": made,
            "secret": secret,
        },
    )


def _endpoint(request: HttpRequest, site: dict[str, Any], pk: int) -> HttpResponse:
    user = request.user
    endpoint = get_object_or_404(webhook_endpoints_for(user), pk=pk)
    here = reverse(site["detail"], args=[endpoint.pk])
    form, secret = EndpointForm(user=user, endpoint=endpoint), ""
    if request.method == "POST":
        if not access.can(user, CHANGE, endpoint):
            raise PermissionDenied(_("You may read this endpoint but not change it."))
        action = request.POST.get("action", "")
        try:
            if action == "save":
                form = EndpointForm(request.POST, user=user, endpoint=endpoint)
                if form.is_valid():
                    for name, value in form.cleaned_data.items():
                        setattr(endpoint, name, value.strip() if name == "url" else value)
                    services.webhook_endpoint_update(actor=user, endpoint=endpoint)
                    messages.success(request, _("The endpoint is saved."))
                    return HttpResponseRedirect(here)
            elif action == "rotate":
                secret = services.webhook_endpoint_rotate_secret(actor=user, endpoint=endpoint)
                endpoint = get_object_or_404(webhook_endpoints_for(user), pk=pk)
            elif action == "test":
                delivery = services.webhook_endpoint_send_test(actor=user, endpoint=endpoint)
                messages.success(request, _("A test event is on its way (delivery #%(id)s).") % {"id": delivery.pk})
                return HttpResponseRedirect(here)
            elif action == "delete":
                services.webhook_endpoint_delete(actor=user, endpoint=endpoint)
                messages.success(request, _("The endpoint %(url)s is removed.") % {"url": endpoint.url})
                return HttpResponseRedirect(reverse(site["list"]))
            elif action == "replay":
                wanted = request.POST.get("delivery", "")
                if not (wanted.isascii() and wanted.isdigit()):
                    raise Http404
                delivery = get_object_or_404(webhook_deliveries_for(user).filter(endpoint=endpoint), pk=int(wanted))
                replay = services.webhook_delivery_replay(actor=user, delivery=delivery)
                messages.success(request, _("Sent again as delivery #%(id)s.") % {"id": replay.pk})
                return HttpResponseRedirect(here)
            else:
                raise Http404
        except ValidationError as refused:
            if action == "save":
                form.add_service_errors(refused)
            else:
                for problem in refused.messages:
                    messages.error(request, problem)
                return HttpResponseRedirect(here)
    status = request.GET.get("status", "")
    deliveries = webhook_deliveries_for(user).filter(endpoint=endpoint)
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    attempts = webhook_attempts_of(rows)
    return _render(
        request,
        site,
        "detail",
        {
            "title": endpoint.description or endpoint.url,
            "endpoint": endpoint,
            "form": form,
            "may_change": access.can(user, CHANGE, endpoint),
            "secret": secret,
            "page": page,
            "deliveries": [
                (delivery, attempts[delivery.pk], json.dumps(delivery.event.data, indent=2, ensure_ascii=False))
                for delivery in rows
            ],
            "statuses": DeliveryStatus.choices,
            "status": status,
        },
    )


def _staff_site() -> dict[str, Any]:
    return {
        "list": "webhooks",
        "detail": "webhook",
        "templates": {"list": "admin/webhooks.html", "detail": "admin/webhook.html"},
        "context": {"site_header": _("PBX provisioning portal"), "has_permission": True},
    }


def staff_webhooks(request: HttpRequest) -> HttpResponse:
    """The admin's page (admin.site.admin_view: staff only)."""
    return _endpoints(request, _staff_site())


def staff_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    return _endpoint(request, _staff_site(), pk)


def _selfservice_site(request: HttpRequest) -> dict[str, Any]:
    if not request.user.is_authenticated:
        raise _SignIn
    nav = navigation(request)
    if not nav.get("webhooks"):
        raise Http404
    return {
        "list": "selfservice:webhooks",
        "detail": "selfservice:webhook",
        "templates": {"list": "selfservice/webhooks.html", "detail": "selfservice/webhook.html"},
        "context": {"nav": nav, "here": "webhooks"},
    }


class _SignIn(Exception):
    """Not signed in: the self-service site's sign-in page, then back."""


def selfservice_webhooks(request: HttpRequest) -> HttpResponse:
    try:
        return _endpoints(request, _selfservice_site(request))
    except _SignIn:
        return HttpResponseRedirect(f"{reverse('selfservice:login')}?next={request.path}")


def selfservice_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        return _endpoint(request, _selfservice_site(request), pk)
    except _SignIn:
        return HttpResponseRedirect(f"{reverse('selfservice:login')}?next={request.path}")
