"""Middleware of the portal."""

from __future__ import annotations

import uuid
from typing import Any

from auditlog.cid import correlation_id
from auditlog.context import set_extra_data
from auditlog.middleware import AuditlogMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode

from portal import two_factor
from portal.auth import client_address
from tenants import languages

OPEN_ADMIN_PATHS = ("/admin/login/", "/admin/logout/", "/admin/2fa/setup/", "/admin/2fa/verify/", "/admin/jsi18n/")
# Signing in and out, getting a forgotten password back, and the pages that ask for the code.
OPEN_SELFSERVICE_PATHS = (
    "/login/",
    "/logout/",
    "/password/reset/",
    "/2fa/setup/",
    "/2fa/verify/",
    "/static/",
    "/favicon.ico",
    "/language/",
)


def _two_factor_pages(path: str) -> tuple[str, str] | None:
    """The (setup, verify) pages that guard this path, or None for a path open without a code."""
    if path.startswith("/admin/"):
        return None if path.startswith(OPEN_ADMIN_PATHS) else ("two_factor_setup", "two_factor_verify")
    if path.startswith(OPEN_SELFSERVICE_PATHS):
        return None
    return ("selfservice:two_factor_setup", "selfservice:two_factor_verify")


class TwoFactorMiddleware:
    """Every admin and self-service URL asks those who need two-factor sign-in (superusers and
    administrators of any organization, customers' included) to enrol, and those who need it or
    have set it up to verify once per session, before anything else is shown — on the site they
    are using."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return self.get_response(request)
        pages = _two_factor_pages(request.path)
        if pages is not None and two_factor.must_verify(request, user):
            setup, verify = pages
            target = verify if two_factor.is_enrolled(user) else setup
            return HttpResponseRedirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class AuditContextMiddleware(AuditlogMiddleware):
    """django-auditlog's middleware with the client address worked out as for login protection
    (never the leftmost, client-written X-Forwarded-For entry), and a request id as the audit
    entries' correlation id — sent back as X-Request-ID, or taken from the proxy's."""

    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> str | None:
        return client_address(request)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        token = correlation_id.set(request_id)
        try:
            with set_extra_data(context_data=self.get_extra_data(request)):
                response = self.get_response(request)
        finally:
            correlation_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


LOGIN_LANGUAGE_SESSION_KEY = "login_language"


def remember_login_language(*, request: HttpRequest | None, user: Any) -> None:
    """At sign-in, the login's own language goes into its session, where every request finds it."""
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_LANGUAGE_SESSION_KEY] = languages.chosen_language(user)


class LoginLanguageMiddleware:
    """Speaks to a signed-in login in the language it chose, over what its browser asks for (which
    Django's LocaleMiddleware has activated before this runs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        language = session.get(LOGIN_LANGUAGE_SESSION_KEY, "") if session is not None else ""
        if language in languages.SUPPORTED:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
