"""Template helpers of the portal's admin pages."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy

from portal.alert_choices import STAFF, audience_of
from portal.views.dashboard import dashboard_offered
from telephony.models import JobStatus, SyncState
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


# A server's health on the dashboard (telephony.selectors), as a word in the reader's language.
HEALTH_LABELS = {
    "healthy": gettext_lazy("healthy"),
    "degraded": gettext_lazy("degraded"),
    "failing": gettext_lazy("failing"),
    "unknown": gettext_lazy("unknown"),
}


@register.filter
def health_label(health: str) -> str:
    return HEALTH_LABELS.get(health, health)


@register.filter
def job_status_label(status: str) -> str:
    """A job status stored as its value ("failed"), shown as its label in the reader's language."""
    return JobStatus(status).label if status in JobStatus.values else status


@register.filter
def sync_state_label(state: str) -> str:
    """A mirror's sync state stored as its value ("in_sync"), shown as its label in the reader's language."""
    return SyncState(state).label if state in SyncState.values else state
