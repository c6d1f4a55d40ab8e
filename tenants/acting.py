"""Acting as a customer, openly: a reseller administrator opens the self-service site as the
administrator of a customer below it, to help on the phone.

Who may: an active login, never a superuser, holding the admin role in an organization strictly
above the customer (a reseller's, or a distributor's above it). Operators, viewers, entity
administrators, the customer's own logins and everyone outside the subtree get 404.

What it is: not a login as somebody else. The reseller administrator stays signed in as itself;
for each request of the session its rights are narrowed to exactly "administrator of this
customer" (`access.narrow_to_role`), so every change names the real person, is attributed "X acting
as administrator of Y" in the audit, and reaches nothing the customer could not. Logins are never
governed under a narrowing, and the pages that change a password, a two-factor device or who is
signed in, and the admin, stay closed (the self-service middleware, `portal.selfservice.acting`).

How long: `LIMIT` (30 minutes) from the start, counted from the stored start on every request,
whatever the browser does; then the next request ends it. A session nobody comes back to is
closed at its deadline by the periodic task `tenants.close_expired_acting_sessions`.

The record: one `ActingSession` row per session, audited (django-auditlog) when it starts and when
it ends, with who, as whom, from when, until when and how it ended (a click, the time limit, signing
out, or access withdrawn). The customer's dashboard lists them (`history_of`).

Why not django-hijack: it signs in as the other login, with all of that login's rights (which may
reach beyond this customer) and none of the actor's, and needs that login's second factor, touches
its last login, and attributes every change to it; narrowing the real login keeps each of this
feature's rules in one place.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants import access
from tenants.models import ActingEnd, ActingSession, Organization, OrganizationKind
from tenants.policy import ORGANIZATION_MANAGERS, ROLE_ADMIN

LIMIT_MINUTES = 30
LIMIT = timedelta(minutes=LIMIT_MINUTES)
NOT_AVAILABLE = "No organization matches the given query."
# Formatted with str.format (name=…) where it is shown, in the language of that request.
ALREADY_ACTING = gettext_lazy("You are already acting as the administrator of {name}; end that session first.")


def deadline(session: ActingSession) -> datetime:
    return session.started_at + LIMIT


def attribution(session: ActingSession) -> str:
    """How the changes made in the session are attributed in the audit."""
    return f"{session.actor_name} acting as administrator of {session.organization.name}"


def may_act_as(user: Any, organization: Organization) -> bool:
    """May the login open the self-service site as administrator of `organization`? No query
    beyond the login's cached memberships."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_superuser:
        return False
    if access.is_narrowed(user) or organization.kind != OrganizationKind.CUSTOMER:
        return False
    return any(
        organization.path.startswith(path) and organization.path != path
        for path, role in access.memberships(user)
        if role in ORGANIZATION_MANAGERS
    )


def customer_to_act_as(*, user: Any, organization_id: int) -> Organization:
    """The customer the login may act as, or 404 (an organization it may not act as is not there)."""
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None or not may_act_as(user, organization):
        raise Http404(NOT_AVAILABLE)
    return organization


@transaction.atomic
def acting_session_start(*, actor: AbstractBaseUser, organization: Organization) -> ActingSession:
    """Start acting as administrator of the customer (refused with 404 unless `may_act_as`)."""
    organization = customer_to_act_as(user=actor, organization_id=organization.pk)
    _close_expired(ActingSession.objects.filter(actor=actor))
    return ActingSession.objects.create(
        actor=actor, actor_name=actor.get_username(), organization=organization, started_at=timezone.now()
    )


@transaction.atomic
def acting_session_end(*, actor: AbstractBaseUser, session_id: int, reason: str) -> ActingSession | None:
    """End the actor's open session (None if it has already ended): at its deadline when that has
    passed, else now."""
    session = (
        ActingSession.objects.select_for_update()
        .select_related("organization")
        .filter(pk=session_id, actor_id=actor.pk, ended_at__isnull=True)
        .first()
    )
    if session is None:
        return None
    now = timezone.now()
    if now >= deadline(session):
        now, reason = deadline(session), ActingEnd.TIMEOUT
    return _end(session, ended_at=now, reason=reason)


def acting_session_in_force(*, actor: AbstractBaseUser, session_id: int) -> tuple[ActingSession | None, str]:
    """The actor's session if it still holds for this request, else (None, why it ended). A session
    past its deadline, or whose actor may no longer act as the customer, is ended here."""
    session = ActingSession.objects.select_related("organization").filter(pk=session_id, actor_id=actor.pk).first()
    if session is None:
        return None, ActingEnd.REVOKED
    if session.ended_at is not None:
        return None, session.end_reason
    if timezone.now() >= deadline(session):
        acting_session_end(actor=actor, session_id=session.pk, reason=ActingEnd.TIMEOUT)
        return None, ActingEnd.TIMEOUT
    access.forget(actor)  # a role taken away since the last request counts now
    if not may_act_as(actor, session.organization):
        acting_session_end(actor=actor, session_id=session.pk, reason=ActingEnd.REVOKED)
        return None, ActingEnd.REVOKED
    return session, ""


def narrow(user: Any, session: ActingSession) -> None:
    """For this request the login is the customer's administrator and nothing else."""
    access.narrow_to_role(user, session.organization, ROLE_ADMIN)


def end_open_sessions(*, actor: Any, reason: str) -> int:
    """End every open session of the login (it signed out, or its access was withdrawn)."""
    ended = 0
    for session_id in ActingSession.objects.filter(actor_id=actor.pk, ended_at__isnull=True).values_list(
        "pk", flat=True
    ):
        ended += acting_session_end(actor=actor, session_id=session_id, reason=reason) is not None
    return ended


@transaction.atomic
def close_expired_sessions() -> int:
    """End, at their deadline, the sessions nobody came back to (the periodic task)."""
    return _close_expired(ActingSession.objects.all())


def _close_expired(sessions) -> int:
    expired = sessions.select_for_update().filter(ended_at__isnull=True, started_at__lte=timezone.now() - LIMIT)
    closed = 0
    for session in expired:
        _end(session, ended_at=deadline(session), reason=ActingEnd.TIMEOUT)
        closed += 1
    return closed


def _end(session: ActingSession, *, ended_at: datetime, reason: str) -> ActingSession:
    session.ended_at = ended_at
    session.end_reason = reason
    session.full_clean()
    session.save(update_fields=["ended_at", "end_reason"])  # audited: the entry that closes it
    return session


# --- reads ------------------------------------------------------------------------------------------


def history_of(organization: Organization, *, viewer: Any, limit: int = 10) -> list[dict[str, Any]]:
    """The latest sessions in which someone acted as the customer's administrator, for its own
    pages (`selfservice/_history.html`): who, from when, until when, how it ended."""
    if not access.can(viewer, access.VIEW, organization):
        return []
    sessions = ActingSession.objects.filter(organization=organization).order_by("-started_at", "-id")[:limit]
    return [_described(session) for session in sessions]


def _described(session: ActingSession) -> dict[str, Any]:
    local = timezone.localtime
    if session.ended_at is not None:
        until, how = local(session.ended_at).strftime("%Y-%m-%d %H:%M"), session.get_end_reason_display()
    elif timezone.now() >= deadline(session):
        until, how = local(deadline(session)).strftime("%Y-%m-%d %H:%M"), ActingEnd.TIMEOUT.label
    else:
        until = _("still open (at the latest %(time)s)") % {"time": local(deadline(session)).strftime("%H:%M")}
        how = ""
    changes = [{"label": _("From"), "new": local(session.started_at).strftime("%Y-%m-%d %H:%M"), "old": None}]
    changes.append({"label": _("Until"), "new": until, "old": None})
    if how:
        changes.append({"label": _("How it ended"), "new": how, "old": None})
    return {
        "when": session.started_at,
        "who": session.actor_name,
        "action": _("acted as your administrator"),
        "changes": changes,
    }
