"""Template helpers of the portal's admin pages."""

from __future__ import annotations

from django import template

from portal.alert_choices import STAFF, audience_of
from portal.views.dashboard import dashboard_offered
from telephony.selectors_onboarding import onboarding_offered

register = template.Library()


@register.simple_tag(takes_context=True)
def staff_dashboard_offered(context: template.Context) -> bool:
    """Whether the admin index links to the provisioning dashboard (see portal.views.dashboard)."""
    request = context.get("request")
    return request is not None and dashboard_offered(request)


@register.simple_tag(takes_context=True)
def onboarding_wizard_offered(context: template.Context) -> bool:
    """Whether the admin index links to the onboarding wizard (administrators of a reseller or above)."""
    request = context.get("request")
    return request is not None and onboarding_offered(request.user)


@register.simple_tag(takes_context=True)
def alerts_offered(context: template.Context) -> bool:
    """Whether the admin index links to the login's alerts page (staff who see provisioning jobs)."""
    request = context.get("request")
    return request is not None and audience_of(request.user) == STAFF
