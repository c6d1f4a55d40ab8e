"""Starting and ending a session of acting as a customer's administrator (`tenants.acting`).

The start page is reached from the customer's page in the admin; it says what the session is and
starts it on a POST. The banner on every page of the session ends it on a POST. A login that may not
act as the organization gets 404, like every denied object.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.selfservice import acting as acting_session
from portal.selfservice.views.common import page
from tenants import acting
from tenants.models import ActingEnd


@login_required
@require_http_methods(["GET", "POST"])
def acting_start(request: HttpRequest, organization_id: int) -> HttpResponse:
    current = acting_session.current(request)
    if current is not None:
        messages.warning(request, str(acting.ALREADY_ACTING).format(name=current.organization.name))
        return redirect("selfservice:dashboard")
    organization = acting.customer_to_act_as(user=request.user, organization_id=organization_id)
    if request.method == "POST":
        session = acting.acting_session_start(actor=request.user, organization=organization)
        acting_session.begin(request, session)
        return redirect("selfservice:dashboard")
    context = {"organization": organization, "minutes": acting.LIMIT_MINUTES}
    return page(request, "selfservice/acting_start.html", context)


@login_required
@require_POST
def acting_end(request: HttpRequest) -> HttpResponse:
    current = acting_session.current(request)
    if current is None:
        return redirect("selfservice:home")
    acting.acting_session_end(actor=request.user, session_id=current.pk, reason=ActingEnd.CLICK)
    del request.session[acting_session.SESSION_KEY]
    messages.success(
        request, _("You no longer act as the administrator of %(name)s.") % {"name": current.organization.name}
    )
    return redirect("admin:tenants_organization_change", current.organization_id)
