"""Middleware of the portal."""

from __future__ import annotations

import uuid

from auditlog.cid import correlation_id
from auditlog.context import set_extra_data
from auditlog.middleware import AuditlogMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from portal import two_factor
from portal.auth import client_address

OPEN_ADMIN_PATHS = ("/admin/login/", "/admin/logout/", "/admin/2fa/setup/", "/admin/2fa/verify/", "/admin/jsi18n/")


class StaffTwoFactorMiddleware:
    """Every admin URL asks those who need two-factor sign-in to enrol, then to verify once per
    session, before anything else is shown."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        user = getattr(request, "user", None)
        if (
            path.startswith("/admin/")
            and not path.startswith(OPEN_ADMIN_PATHS)
            and user is not None
            and user.is_authenticated
            and not user.is_verified()
            and two_factor.requires_two_factor(user)
        ):
            target = "two_factor_verify" if two_factor.is_enrolled(user) else "two_factor_setup"
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
