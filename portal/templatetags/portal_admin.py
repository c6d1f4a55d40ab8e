"""Template helpers of the portal's admin pages."""

from __future__ import annotations

from django import template

from portal.views.dashboard import dashboard_offered

register = template.Library()


@register.simple_tag(takes_context=True)
def staff_dashboard_offered(context: template.Context) -> bool:
    """Whether the admin index links to the provisioning dashboard (see portal.views.dashboard)."""
    request = context.get("request")
    return request is not None and dashboard_offered(request)
