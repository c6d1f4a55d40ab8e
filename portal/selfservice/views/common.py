"""What every self-service page shares: the navigation it shows, and how a service's refusal
reaches the form that caused it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal import two_factor
from telephony import selectors_selfservice as selectors
from telephony.models import PbxUser
from tenants.admin_scoping import add_service_error

__all__ = ["add_service_error", "page"]


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Which parts of the site the login may use (two small queries at most, on every page)."""
    user = request.user
    if not user.is_authenticated:
        return {}
    customer_admin = selectors.is_customer_admin(user)
    # Acting as a customer's administrator (portal.selfservice.acting): only that administrator's pages.
    acting = getattr(request, "acting_session", None) is not None
    return {
        "customer_admin": customer_admin,
        "has_line": not acting and PbxUser.objects.filter(portal_user=user).exists(),
        "imports": customer_admin and not acting,
        # staff choose their alerts in the admin (portal.alert_choices)
        "alerts": customer_admin and not acting and not user.is_staff,
        "two_factor": not acting and two_factor.requires_two_factor(user),
        "api_tokens": not acting and customer_admin,
        "webhooks": not acting and customer_admin,
    }


def page(request: HttpRequest, template: str, context: dict[str, Any] | None = None, **kwargs: Any) -> HttpResponse:
    return render(request, template, {"nav": navigation(request), **(context or {})}, **kwargs)
