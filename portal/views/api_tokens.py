"""A login's API tokens, in the admin (staff) and on the self-service site (customer logins): made
(the token shown once, on the answer to the form, never stored in a message or a cookie), listed and
revoked. A login only ever sees and revokes its own tokens (portal.api.tokens)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.api.models import ApiToken, TokenScope
from portal.api.tokens import api_token_create, api_token_revoke, tokens_of
from portal.selfservice.views.common import navigation
from tenants import access

# Values with a unit, not bare numbers: a choice is never taken for an object's id.
LIFETIMES = [
    ("30d", gettext_lazy("30 days")),
    ("90d", gettext_lazy("90 days")),
    ("180d", gettext_lazy("180 days")),
    ("365d", gettext_lazy("a year")),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What will use it, e.g. billing sync."),
    )
    scope = forms.ChoiceField(label=gettext_lazy("May"), choices=TokenScope.choices, initial=TokenScope.READ)
    days = forms.TypedChoiceField(
        label=gettext_lazy("Valid for"), choices=LIFETIMES, coerce=lambda value: int(value[:-1]), initial="90d"
    )


def _tokens_page(request: HttpRequest, template: str, here: str, context: dict[str, Any]) -> HttpResponse:
    form, made = TokenForm(), None
    if request.method == "POST" and "revoke" in request.POST:
        wanted = request.POST["revoke"]
        if not (wanted.isascii() and wanted.isdigit()):
            raise Http404
        token = get_object_or_404(ApiToken, pk=int(wanted), user=request.user)  # another login's: 404
        api_token_revoke(actor=request.user, token=token)
        messages.success(request, _("The token %(name)s is revoked; it no longer works.") % {"name": token.name})
        return HttpResponseRedirect(reverse(here))
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                _token, made = api_token_create(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    expires_at=timezone.now() + timedelta(days=form.cleaned_data["days"]),
                    session_verified=bool(getattr(request.user, "is_verified", lambda: False)()),
                )
            except ValidationError as refused:
                for field, problems in refused.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            except PermissionDenied as refused:
                form.add_error(None, str(refused))
            else:
                form = TokenForm()
    response = render(
        request, template, {**context, "form": form, "made": made, "tokens": tokens_of(request.user), "here": here}
    )
    if made:
        response["Cache-Control"] = "no-store"  # the one page that shows the token
    return response


def staff_api_tokens(request: HttpRequest) -> HttpResponse:
    """The admin's page (admin.site.admin_view: staff only)."""
    context = {"title": _("API tokens"), "site_header": _("PBX provisioning portal"), "has_permission": True}
    return _tokens_page(request, "admin/api_tokens.html", "api_tokens", context)


def selfservice_api_tokens(request: HttpRequest) -> HttpResponse:
    """The self-service site's page, for a login with an organization to reach through the API."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{reverse('selfservice:login')}?next={request.path}")
    if not access.has_any_scope(request.user):
        raise Http404
    return _tokens_page(request, "selfservice/api_tokens.html", "selfservice:api_tokens", {"nav": navigation(request)})
