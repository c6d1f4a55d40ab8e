"""Signing in and out, and getting back in: Django's own views with the site's templates."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils import translation

from portal.selfservice.views.common import page
from telephony import selectors_selfservice as selectors
from telephony.models import PbxUser
from tenants.languages import chosen_language


def home(request: HttpRequest) -> HttpResponse:
    """Where `/` leads: the login page, the customer dashboard, the end user's line, or the admin."""
    user = request.user
    if not user.is_authenticated:
        return redirect("selfservice:login")
    if selectors.is_customer_admin(user):
        return redirect("selfservice:dashboard")
    if PbxUser.objects.filter(portal_user=user).exists():
        return redirect("selfservice:my_line")
    if user.is_staff:
        return redirect("admin:index")
    return page(request, "selfservice/nothing_here.html")


class LoginView(auth_views.LoginView):
    template_name = "selfservice/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("selfservice:login")


class PasswordResetForm(auth_forms.PasswordResetForm):
    """The reset mail speaks the language its recipient chose, else the one of the page it was asked
    from (whoever asks need not be the login's owner)."""

    def send_mail(self, subject_template_name: str, email_template_name: str, context: dict[str, Any], *args, **kwargs):
        language = chosen_language(context.get("user")) or translation.get_language()
        with translation.override(language):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "selfservice/password_reset.html"
    email_template_name = "selfservice/email/password_reset.txt"
    subject_template_name = "selfservice/email/password_reset_subject.txt"
    success_url = reverse_lazy("selfservice:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "selfservice/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "selfservice/password_reset_confirm.html"
    success_url = reverse_lazy("selfservice:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "selfservice/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "selfservice/password_change.html"
    success_url = reverse_lazy("selfservice:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "selfservice/password_change_done.html"
