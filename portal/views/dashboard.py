"""The staff dashboard: jobs by status, failures of the last 24 hours, and the health of every
server the login can see.

The dashboard is about provisioning jobs, so it is offered only to logins that may see jobs: the
same question the job list asks. An entity administrator may not (jobs carry backend identities
and HTTP exchanges); it follows its users' pushes through their sync state instead, as the import
page's "Users whose push failed" link does. For such a login the dashboard answers 403 like the
job list, and the admin index does not link to it.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from telephony import selectors
from telephony.models import ProvisioningJob


def dashboard_offered(request: HttpRequest) -> bool:
    return admin.site.get_model_admin(ProvisioningJob).has_view_permission(request)


def staff_dashboard(request: HttpRequest) -> HttpResponse:
    if not dashboard_offered(request):
        raise PermissionDenied("Provisioning jobs are not shown to this login.")
    context = {
        **admin.site.each_context(request),
        "title": _("Provisioning dashboard"),
        "counts": selectors.job_counts_by_status(request.user),
        "failures": selectors.recent_failures(request.user),
        "failure_count": selectors.failure_count(request.user),
        "blocked_count": selectors.blocked_count(request.user),
        "servers": selectors.server_health(request.user),
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
