"""A reseller administrator acting as a customer's administrator (`tenants.acting`), on every request
of the session: the rights narrowed to the customer's, the changes attributed to "X acting as
administrator of Y", the pages that must stay out of reach closed, and the banner every page shows.

Closed while acting: the admin (with the customer's rights or the actor's own: a change there would
escape the narrowing or be attributed to the wrong one), signing in, every page that changes a
password or a two-factor device, the end user's own line, and the CSV imports (they are committed by
a worker with the actor's own rights, outside this session). Signing out stays open and ends it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import two_factor
from tenants import acting
from tenants.audit import acting_as
from tenants.models import ActingEnd, ActingSession

SESSION_KEY = "acting_session_id"
# Alerts too: they are the actor's own mail, not the customer's (portal.alert_choices); and the
# API, whose tokens are a login's own and whose session calls would leave the banner's sight.
CLOSED_WHILE_ACTING = (
    "/admin/",
    "/login/",
    "/password/",
    "/2fa/",
    "/my-line/",
    "/import/",
    "/alerts/",
    "/api/",
    "/api-tokens/",
)
OPEN_WHILE_ACTING = ("/admin/logout/",)
CLOSED_MESSAGE = gettext_lazy(
    "While you act as the administrator of %(name)s, the admin, passwords, two-factor sign-in, logins, "
    "imports and alerts are closed. End the session first."
)
ENDED_MESSAGES = {
    ActingEnd.TIMEOUT: gettext_lazy(
        "Your session as the administrator of %(name)s ended: it lasts at most %(minutes)s minutes."
    ),
    ActingEnd.REVOKED: gettext_lazy(
        "Your session as the administrator of %(name)s ended: you may no longer act as it."
    ),
    ActingEnd.CLICK: gettext_lazy("Your session as the administrator of %(name)s has ended."),
    ActingEnd.LOGOUT: gettext_lazy("Your session as the administrator of %(name)s has ended."),
}


def begin(request: HttpRequest, session: ActingSession) -> None:
    request.session[SESSION_KEY] = session.pk


def current(request: HttpRequest) -> ActingSession | None:
    return getattr(request, "acting_session", None)


class ActingAsCustomerMiddleware:
    """Runs after authentication, two-factor sign-in and the audit context: a session in force
    narrows `request.user` and attributes the request's changes; an ended one is dropped."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.acting_session = None
        session_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if session_id is None or not request.user.is_authenticated:
            return self.get_response(request)
        session, why = acting.acting_session_in_force(actor=request.user, session_id=session_id)
        if session is None:
            return self._ended(request, session_id, why)
        if two_factor.must_verify(request, request.user) and not request.user.is_verified():
            # A second factor is asked of the actor now (it was not when the session started): the
            # session ends, so that the sign-in pages it leads to are not closed to it in a loop.
            acting.acting_session_end(actor=request.user, session_id=session.pk, reason=ActingEnd.REVOKED)
            del request.session[SESSION_KEY]
            return self.get_response(request)
        # path_info: the path the URLs resolve, whatever prefix the site is mounted under
        if request.path_info.startswith(CLOSED_WHILE_ACTING) and not request.path_info.startswith(OPEN_WHILE_ACTING):
            messages.warning(request, CLOSED_MESSAGE % {"name": session.organization.name})
            return redirect("selfservice:dashboard")
        acting.narrow(request.user, session)
        request.acting_session = session
        with acting_as(acting.attribution(session)):
            return self.get_response(request)

    @staticmethod
    def _ended(request: HttpRequest, session_id: int, why: str) -> HttpResponse:
        """The session ended since the last request: nothing this request asked for is done. A page's
        live-state poll is only refused: the next page the person opens says why it ended."""
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"error": _("This session of acting as a customer has ended.")}, status=403)
        del request.session[SESSION_KEY]
        ended = ActingSession.objects.select_related("organization").filter(pk=session_id, actor_id=request.user.pk)
        ended = ended.first()
        if ended is None:
            return redirect("selfservice:home")
        message = ENDED_MESSAGES.get(why, ENDED_MESSAGES[ActingEnd.CLICK])
        messages.info(request, message % {"name": ended.organization.name, "minutes": acting.LIMIT_MINUTES})
        if why == ActingEnd.REVOKED:  # the customer's admin page may be out of reach now too
            return redirect("selfservice:home")
        return redirect("admin:tenants_organization_change", ended.organization_id)


def banner(request: HttpRequest) -> dict[str, Any]:
    """Template context: the session in force, for the banner on every page."""
    session = current(request)
    if session is None:
        return {}
    return {"acting": {"session": session, "until": acting.deadline(session)}}


def end_on_sign_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Signing out (on either site) ends the session of acting as a customer, written as such
    (connected to `user_logged_out` in `portal.apps`)."""
    session_id = request.session.get(SESSION_KEY) if request is not None and hasattr(request, "session") else None
    if session_id is not None and user is not None:
        acting.acting_session_end(actor=user, session_id=session_id, reason=ActingEnd.LOGOUT)
