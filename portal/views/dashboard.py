"""The staff dashboard: jobs by status, failures of the last 24 hours, and the health of every
server the login can see."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from telephony import selectors


def staff_dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Provisioning dashboard",
        "counts": selectors.job_counts_by_status(request.user),
        "failures": selectors.recent_failures(request.user),
        "failure_count": selectors.failure_count(request.user),
        "servers": selectors.server_health(request.user),
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
