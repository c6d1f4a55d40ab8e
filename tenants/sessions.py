"""Ending a login's sessions when its access is taken away."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.models import Session
from django.utils import timezone

from tenants.acting import end_open_sessions
from tenants.models import ActingEnd

USER_ID_KEY = "_auth_user_id"


def end_sessions(user: Any) -> int:
    """Log the login out everywhere: delete every live session that belongs to it. (Sessions are
    signed blobs, so each live one is decoded; fine at the number of staff and customer logins.)"""
    wanted = str(user.pk)
    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(USER_ID_KEY) == wanted
    ]
    Session.objects.filter(pk__in=ended).delete()
    end_open_sessions(actor=user, reason=ActingEnd.REVOKED)  # acting as a customer ends with them
    return len(ended)
