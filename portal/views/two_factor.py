"""Enrolment and verification pages of the staff two-factor sign-in."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login

from portal import two_factor


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return reverse("admin:index")
    return target


def _page(request: HttpRequest, template: str, **context) -> TemplateResponse:
    return TemplateResponse(request, template, {**admin.site.each_context(request), "next": _next(request), **context})


def setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the QR code, type a code, keep the backup codes. Replacing an
    authenticator needs a verified sign-in first (a stolen password alone must not do it)."""
    if two_factor.is_enrolled(request.user) and not request.user.is_verified():
        return HttpResponseRedirect(reverse("two_factor_verify") + f"?next={_next(request)}")
    device = two_factor.pending_authenticator(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        confirmed = two_factor.confirm_enrolment(user=request.user, token=form.cleaned_data["code"])
        if confirmed is None:
            form.add_error("code", "That code is not right. Check the time on your phone and try the newest code.")
        else:
            authenticator, codes = confirmed
            otp_login(request, authenticator)
            return _page(request, "admin/two_factor/backup_codes.html", title="Backup codes", codes=codes)
    return _page(
        request,
        "admin/two_factor/setup.html",
        title="Set up two-factor sign-in",
        form=form,
        qr_code=two_factor.qr_code_data_uri(device),
        secret=two_factor.secret_for_typing(device),
        replacing=two_factor.is_enrolled(request.user),
    )


def verify(request: HttpRequest) -> HttpResponse:
    """Ask for a code from the authenticator app (or a backup code) once per session."""
    if not two_factor.is_enrolled(request.user):
        return HttpResponseRedirect(reverse("two_factor_setup") + f"?next={_next(request)}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = two_factor.verify(user=request.user, token=form.cleaned_data["code"])
        if device is None:
            form.add_error("code", "That code is not right, or it was already used.")
        else:
            otp_login(request, device)
            return HttpResponseRedirect(_next(request))
    return _page(request, "admin/two_factor/verify.html", title="Two-factor sign-in", form=form)


def backup_codes(request: HttpRequest) -> HttpResponse:
    """New backup codes (the old ones stop working); only after a verified sign-in."""
    if request.method != "POST":
        return HttpResponseRedirect(reverse("two_factor_setup"))
    codes = two_factor.new_backup_codes(user=request.user)
    messages.success(request, "New backup codes made; the old ones no longer work.")
    return _page(request, "admin/two_factor/backup_codes.html", title="Backup codes", codes=codes)
