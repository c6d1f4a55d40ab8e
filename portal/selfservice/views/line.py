"""The end user's page: their own line, found from the login alone (no id in the URL, so there is
no other line to reach)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from portal.selfservice import pushes
from portal.selfservice.forms import MyLineForm
from portal.selfservice.guards import line_required
from portal.selfservice.views.common import add_service_error, page
from telephony import selectors_selfservice as selectors
from telephony.line_features import TenantLine
from telephony.models import PbxUser
from telephony.services.users import pbx_user_line_update


@line_required
@require_http_methods(["GET", "POST"])
def my_line(request: HttpRequest, line: PbxUser) -> HttpResponse:
    form = MyLineForm(request.POST or None, instance=line)
    if request.method == "POST" and form.is_valid():
        try:
            pbx_user_line_update(actor=request.user, user=form.instance, new_pin=form.cleaned_data.get("new_pin"))
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Your line was saved; the change is being pushed to the PBX."))
            return redirect("selfservice:my_line")
    context = {
        "line": line,
        "form": form,
        "line_rules": TenantLine.of(line.tenant_id),
        **pushes.context(selectors.line_pushes(line)),
        "sync": pushes.sync_badge(line.sync_state),
        "history": selectors.line_history(line),
    }
    return page(request, "selfservice/my_line.html", context)


@line_required
@require_GET
def my_line_pushes(request: HttpRequest, line: PbxUser) -> JsonResponse:
    return pushes.pushes_response(selectors.line_pushes(line), sync_state=line.sync_state)
