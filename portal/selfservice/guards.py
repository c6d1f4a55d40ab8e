"""Who may open which self-service page. A visitor who is not logged in is sent to the login page;
a logged-in login outside a page's audience gets 404, like every denied object in the portal."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from telephony import selectors_selfservice as selectors

View = Callable[..., HttpResponse]


def customer_admin_required(view: View) -> View:
    """Pages of the customer administrator: a membership in a customer organization."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not selectors.is_customer_admin(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapped


def line_required(view: View) -> View:
    """Pages of the end user: a login linked to a PBX user. The view gets that line as `line`."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        line = selectors.line_of(request.user)
        if line is None:
            raise Http404("No line is linked to this login.")
        return view(request, *args, line=line, **kwargs)

    return wrapped
