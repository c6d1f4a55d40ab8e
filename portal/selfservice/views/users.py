"""The customer administrator's pages: dashboard, users, one user's line, numbers, PIN and delete.

Every object is looked up through `telephony.selectors_selfservice` (scoped to the login: another
organization's object is a 404) and every change goes through a `telephony.services.users`
function, which checks the permission again and plans the provisioning jobs.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.selfservice import pushes
from portal.selfservice.forms import AddNumberForm, LineSettingsForm, UserCreateForm, UserEditForm
from portal.selfservice.guards import customer_admin_required
from portal.selfservice.views.common import add_service_error, page
from telephony import selectors_selfservice as selectors
from telephony.line_features import TenantLine
from telephony.services import users as services
from tenants import acting
from tenants.access import CHANGE, DELETE

PIN_RESETS_DONE = "selfservice_pin_resets_done"  # session key: tokens of PIN resets already made

USERS_PER_PAGE = 25


@customer_admin_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    tenants = list(selectors.tenants_of(request.user))
    context = {
        "tenants": tenants,
        "totals": {
            "users": sum(t.user_count for t in tenants),
            "licences": sum(t.licences for t in tenants),
            "numbers": sum(t.number_count for t in tenants),
            "free_numbers": sum(t.free_number_count for t in tenants),
        },
        **pushes.context(selectors.recent_pushes(request.user)),
        "may_add": selectors.may_manage_users(request.user),
        "differing": [
            (line, pushes.sync_badge(line.sync_state)) for line in selectors.lines_differing_from_the_pbx(request.user)
        ],
        "acting_history": [
            entry
            for organization in selectors.customer_organizations(request.user)
            for entry in acting.history_of(organization, viewer=request.user)
        ],
    }
    return page(request, "selfservice/dashboard.html", context)


@customer_admin_required
@require_GET
def dashboard_pushes(request: HttpRequest) -> JsonResponse:
    return pushes.pushes_response(selectors.recent_pushes(request.user))


@customer_admin_required
@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "")[:100]
    tenants = list(selectors.tenants_of(request.user))
    tenant_id = _int(request.GET.get("tenant"))
    if tenant_id is not None and tenant_id not in {t.pk for t in tenants}:
        raise Http404("No tenant matches the given query.")
    users = selectors.users_of(request.user, search=search, tenant_id=tenant_id)
    paginator = Paginator(users, USERS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    context = {
        "page_obj": page_obj,
        "users": list(page_obj.object_list),
        "search": search,
        "tenants": tenants,
        "tenant_id": tenant_id,
        "querystring": _querystring(search=search, tenant=tenant_id),
        "may_add": selectors.may_manage_users(request.user),
    }
    return page(request, "selfservice/user_list.html", context)


@customer_admin_required
@require_GET
def user_new(request: HttpRequest) -> HttpResponse:
    """Choose the tenant of the new user (straight to the form when there is only one)."""
    tenants = selectors.tenants_for_new_users(request.user)
    if not tenants:
        raise Http404("No tenant where this login may add users.")
    if len(tenants) == 1:
        return redirect("selfservice:user_create", tenant_id=tenants[0].pk)
    return page(request, "selfservice/user_new.html", {"tenants": tenants})


@customer_admin_required
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest, tenant_id: int) -> HttpResponse:
    tenant = selectors.tenant_of(request.user, tenant_id)
    if not selectors.may_add_to(request.user, tenant):
        raise Http404("No tenant matches the given query.")
    form = UserCreateForm(request.POST or None, tenant=tenant, login=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.pbx_user_create_with_number(
                actor=request.user, user=form.instance, number=form.cleaned_data.get("number")
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request, _("%(name)s was created; the line is being set up on the PBX.") % {"name": user.full_name}
            )
            return redirect("selfservice:user_detail", pk=user.pk)
    context = {"form": form, "tenant": tenant, "creating": True, "line_rules": TenantLine.of(tenant)}
    return page(request, "selfservice/user_form.html", context)


@customer_admin_required
@require_GET
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = selectors.user_of(request.user, pk)
    may_change = selectors.may_change(request.user, user)
    line_form = number_form = None
    line_rules = TenantLine.of(user.tenant_id)
    room_for_a_number = line_rules.may_add_number(len(user.phone_numbers.all()))
    if may_change:
        line_form = LineSettingsForm(instance=user)
        line_form.helper.form_action = reverse("selfservice:user_line", args=[user.pk])
        line_form = line_form if line_form.fields else None  # the PBX keeps none of these per user
        if room_for_a_number:
            number_form = AddNumberForm(tenant=user.tenant)
            number_form.helper.form_action = reverse("selfservice:user_number_add", args=[user.pk])
            number_form = number_form if number_form.fields["number"].queryset.exists() else None
    context = {
        "line": user,
        "line_rules": line_rules,
        "pin_reset_token": secrets.token_urlsafe(12),
        "room_for_a_number": room_for_a_number,
        "may_change": may_change,
        "line_form": line_form,
        "number_form": number_form,
        **pushes.context(selectors.line_pushes(user)),
        "sync": pushes.sync_badge(user.sync_state),
        "history": selectors.line_history(user),
    }
    return page(request, "selfservice/user_detail.html", context)


@customer_admin_required
@require_GET
def user_pushes(request: HttpRequest, pk: int) -> JsonResponse:
    user = selectors.user_of(request.user, pk)
    return pushes.pushes_response(selectors.line_pushes(user), sync_state=user.sync_state)


@customer_admin_required
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = selectors.user_of(request.user, pk, CHANGE)
    form = UserEditForm(request.POST or None, instance=user, login=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.pbx_user_update(actor=request.user, user=form.instance)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request, _("%(name)s was saved; the change is being pushed to the PBX.") % {"name": user.full_name}
            )
            return redirect("selfservice:user_detail", pk=user.pk)
    context = {"form": form, "tenant": user.tenant, "line": user, "line_rules": TenantLine.of(user.tenant_id)}
    return page(request, "selfservice/user_form.html", context)


@customer_admin_required
@require_http_methods(["GET", "POST"])
def user_line(request: HttpRequest, pk: int) -> HttpResponse:
    """Voicemail and call forwarding (GET shows the form on its own page, e.g. after an error)."""
    user = selectors.user_of(request.user, pk, CHANGE)
    form = LineSettingsForm(request.POST or None, instance=user)
    if not form.fields:
        raise Http404("This PBX keeps no voicemail or forwarding settings per user.")
    if request.method == "POST" and form.is_valid():
        try:
            services.pbx_user_line_update(actor=request.user, user=form.instance)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Voicemail and forwarding were saved; the change is being pushed to the PBX."))
            return redirect("selfservice:user_detail", pk=user.pk)
    return page(request, "selfservice/user_line.html", {"form": form, "line": user})


@customer_admin_required
@require_POST
def user_number_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = selectors.user_of(request.user, pk, CHANGE)
    form = AddNumberForm(request.POST, tenant=user.tenant)
    if form.is_valid():
        try:
            number = services.pbx_user_assign_number(actor=request.user, user=user, number=form.cleaned_data["number"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request, _("%(number)s was added to %(name)s.") % {"number": number.number, "name": user.full_name}
            )
            return redirect("selfservice:user_detail", pk=user.pk)
    return page(request, "selfservice/user_number_add.html", {"form": form, "line": user})


@customer_admin_required
@require_POST
def user_number_release(request: HttpRequest, pk: int, number_id: int) -> HttpResponse:
    user = selectors.user_of(request.user, pk, CHANGE)
    number = next((n for n in user.phone_numbers.all() if n.pk == number_id), None)
    if number is None:
        raise Http404("No phone number matches the given query.")
    try:
        services.pbx_user_release_number(actor=request.user, user=user, number=number)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(number)s was taken off %(name)s; it is free again.")
            % {"number": number.number, "name": user.full_name},
        )
    return redirect("selfservice:user_detail", pk=user.pk)


@customer_admin_required
@require_POST
def user_pin_reset(request: HttpRequest, pk: int) -> HttpResponse:
    """Shows the new PIN once, in this response (never in a redirect, a message or a log). The form's
    one-time token makes a reloaded page (the same POST sent again) reset nothing a second time."""
    user = selectors.user_of(request.user, pk, CHANGE)
    token = request.POST.get("token", "")[:64]
    done = request.session.get(PIN_RESETS_DONE, [])
    if token and token in done:
        messages.info(
            request, _("That PIN reset was already done (the page was sent again); the PIN shown then is valid.")
        )
        return redirect("selfservice:user_detail", pk=user.pk)
    try:
        pin = services.pbx_user_reset_voicemail_pin(actor=request.user, user=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("selfservice:user_detail", pk=user.pk)
    if token:
        request.session[PIN_RESETS_DONE] = [*done, token][-20:]
    response = page(request, "selfservice/user_pin.html", {"line": user, "pin": pin})
    response["Cache-Control"] = "no-store"
    return response


@customer_admin_required
@require_http_methods(["GET", "POST"])
def user_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; only the POST of that page deletes."""
    user = selectors.user_of(request.user, pk, DELETE)
    if request.method == "POST":
        try:
            services.pbx_user_delete(actor=request.user, user=user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("selfservice:user_detail", pk=user.pk)
        messages.success(
            request, _("%(name)s was deleted; the line is being removed from the PBX.") % {"name": user.full_name}
        )
        return redirect("selfservice:dashboard")
    return page(request, "selfservice/user_delete.html", {"line": user})


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        raise Http404("Not a valid id.") from None


def _querystring(**values: object) -> str:
    return urlencode({k: v for k, v in values.items() if v not in (None, "")})
