"""The customer administrator's alerts page (issue 16, part 6); see portal.views.alerts."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from portal.alert_choices import CUSTOMER, STAFF, audience_of
from portal.selfservice.guards import customer_admin_required
from portal.selfservice.views.common import navigation
from portal.views.alerts import alert_choices_page


@customer_admin_required
def alert_choices(request: HttpRequest) -> HttpResponse:
    audience = audience_of(request.user)
    if audience == STAFF:
        # A staff login is told about everything it sees in the admin, and chooses there.
        messages.info(request, _("Staff choose their alerts in the admin."))
        return redirect("alert_choices")
    if audience != CUSTOMER:
        raise Http404("No such page.")
    return alert_choices_page(
        request,
        template="selfservice/alerts.html",
        context={"nav": navigation(request)},
        done="selfservice:alert_choices",
    )
