"""Enrolment and verification pages of the two-factor sign-in, for the staff admin and for the
self-service site: the same three views, each site with its own templates, start page and URLs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login

from portal import two_factor


@dataclass(frozen=True)
class Site:
    """Where a site keeps its two-factor pages: URL names, templates and the page shown after."""

    setup: str
    verify: str
    backup_codes: str
    home: str
    templates: str
    context: Callable[[HttpRequest], dict[str, Any]]


def _admin_context(request: HttpRequest) -> dict[str, Any]:
    return admin.site.each_context(request)


def _selfservice_context(request: HttpRequest) -> dict[str, Any]:
    # The self-service navigation would link to pages that are closed until the code is typed.
    return {"nav": {}}


ADMIN = Site(
    setup="two_factor_setup",
    verify="two_factor_verify",
    backup_codes="two_factor_backup_codes",
    home="admin:index",
    templates="admin/two_factor",
    context=_admin_context,
)
SELFSERVICE = Site(
    setup="selfservice:two_factor_setup",
    verify="selfservice:two_factor_verify",
    backup_codes="selfservice:two_factor_backup_codes",
    home="selfservice:home",
    templates="selfservice/two_factor",
    context=_selfservice_context,
)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _next(request: HttpRequest, site: Site) -> str:
    target = request.POST.get("next") or request.GET.get("next") or reverse(site.home)
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return reverse(site.home)
    return target


def _page(request: HttpRequest, site: Site, template: str, **context: Any) -> TemplateResponse:
    return TemplateResponse(
        request,
        f"{site.templates}/{template}",
        {**site.context(request), "next": _next(request, site), **context},
    )


def _redirect(request: HttpRequest, site: Site, url_name: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(url_name)}?next={_next(request, site)}")


def setup(request: HttpRequest, site: Site = ADMIN) -> HttpResponse:
    """Enrol an authenticator app: scan the QR code, type a code, keep the backup codes. Replacing an
    authenticator needs a verified sign-in first (a stolen password alone must not do it)."""
    if two_factor.is_enrolled(request.user) and not request.user.is_verified():
        return _redirect(request, site, site.verify)
    device = two_factor.pending_authenticator(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        confirmed = two_factor.confirm_enrolment(user=request.user, token=form.cleaned_data["code"])
        if confirmed is None:
            form.add_error("code", _("That code is not right. Check the time on your phone and try the newest code."))
        else:
            authenticator, codes = confirmed
            otp_login(request, authenticator)
            request.session[two_factor.ENROLLED_SESSION_KEY] = True
            return _page(request, site, "backup_codes.html", title=_("Backup codes"), codes=codes)
    return _page(
        request,
        site,
        "setup.html",
        title=_("Set up two-factor sign-in"),
        form=form,
        qr_code=two_factor.qr_code_data_uri(device),
        secret=two_factor.secret_for_typing(device),
        replacing=two_factor.is_enrolled(request.user),
        required=two_factor.requires_two_factor(request.user),
    )


def verify(request: HttpRequest, site: Site = ADMIN) -> HttpResponse:
    """Ask for a code from the authenticator app (or a backup code) once per session."""
    if not two_factor.is_enrolled(request.user):
        return _redirect(request, site, site.setup)
    if request.user.is_verified():
        return HttpResponseRedirect(_next(request, site))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = two_factor.seconds_before_next_try(request.user)
        device = None if wait else two_factor.verify(user=request.user, token=form.cleaned_data["code"])
        if wait:
            form.add_error(
                "code", _("Too many wrong codes in a row: wait %(wait)s s, then type the newest code.") % {"wait": wait}
            )
        elif device is None:
            form.add_error("code", _("That code is not right, or it was already used."))
        else:
            otp_login(request, device)
            return HttpResponseRedirect(_next(request, site))
    return _page(request, site, "verify.html", title=_("Two-factor sign-in"), form=form)


def backup_codes(request: HttpRequest, site: Site = ADMIN) -> HttpResponse:
    """New backup codes (the old ones stop working); only after a verified sign-in."""
    if request.method != "POST":
        return HttpResponseRedirect(reverse(site.setup))
    if not request.user.is_verified():
        return _redirect(request, site, site.verify)
    codes = two_factor.new_backup_codes(user=request.user)
    messages.success(request, _("New backup codes made; the old ones no longer work."))
    return _page(request, site, "backup_codes.html", title=_("Backup codes"), codes=codes)


def selfservice_view(view: Callable[..., HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """A two-factor page of the self-service site: for logins that need the second factor, or that
    have one, and no one else (a customer's end user has no use for it)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest) -> HttpResponse:
        if not (two_factor.requires_two_factor(request.user) or two_factor.is_enrolled(request.user)):
            raise Http404("No such page.")
        return view(request, site=SELFSERVICE)

    return wrapped
