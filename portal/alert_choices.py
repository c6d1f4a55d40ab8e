"""Who may be mailed alerts, about what, and a login's own choices (issue 16, part 6).

Two audiences, each told about exactly what it may see:
- staff (a staff login that sees provisioning jobs: a superuser or a login with a membership),
  in the admin: the failed pushes and the servers of everything its memberships reach;
- customer administrators (a login with a membership in a customer organization, not staff), on the
  self-service site: the failed pushes of their own organizations' lines, and the servers those
  lines are on, as far as those lines go.
End users (a login with a line and no membership) get no alerts: their line's failed push is their
administrator's to follow, and the self-service line page already shows it. Entity administrators
see no jobs, so they get none either. A login acting as a customer's administrator chooses nothing
for anybody: its rights are narrowed to the customer's and the alert pages are closed meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import FAILURE_LOOKBACK, AlertDelivery, AlertNotice, AlertSubscription, AlertTopic
from telephony import selectors_selfservice
from tenants import access

STAFF = "staff"
CUSTOMER = "customer"
OFF = ""


def audience_of(login: Any) -> str | None:
    """STAFF, CUSTOMER, or None for a login that gets no alerts."""
    if not (getattr(login, "is_authenticated", False) and login.is_active) or access.is_narrowed(login):
        return None
    if login.is_staff:
        return STAFF if login.is_superuser or access.memberships(login) else None
    return CUSTOMER if selectors_selfservice.is_customer_admin(login) else None


def choices_of(login: Any) -> dict[str, str]:
    """The login's own choice per topic: a delivery, or OFF."""
    chosen = dict(AlertSubscription.objects.filter(user_id=login.pk).values_list("topic", "delivery"))
    return {topic: chosen.get(topic, OFF) for topic in AlertTopic.values}


def recent_notices_of(login: Any, *, limit: int = 10) -> QuerySet[AlertNotice]:
    """What the login was told about lately (its own notices only)."""
    return AlertNotice.objects.filter(subscription__user_id=login.pk, mailed_at__isnull=False).order_by(
        "-mailed_at", "-id"
    )[:limit]


@transaction.atomic
def alert_choices_save(*, actor: Any, choices: Mapping[str, str], now: datetime | None = None) -> dict[str, str]:
    """Set the actor's own alerts: per topic a delivery or OFF (a topic left out stays as it is).
    Only ever the actor's own subscriptions: no other login is named or reachable here."""
    if audience_of(actor) is None:
        raise PermissionDenied("This login gets no alerts.")
    unknown = sorted(set(choices) - set(AlertTopic.values))
    bad = sorted(t for t, d in choices.items() if d != OFF and d not in AlertDelivery.values)
    if unknown or bad:
        raise ValidationError(
            _("Not an alert or not a way to send one: %(names)s.") % {"names": ", ".join(unknown + bad)}
        )
    if any(delivery != OFF for delivery in choices.values()) and not (actor.email or "").strip():
        raise ValidationError(_("Your login has no e-mail address to send alerts to. Ask an administrator to add one."))
    now = now or timezone.now()
    for topic, delivery in choices.items():
        mine = AlertSubscription.objects.filter(user_id=actor.pk, topic=topic)
        if delivery == OFF:
            mine.delete()
        elif not mine.update(delivery=delivery):
            # From now on: subscribing does not mail what failed before (see FAILURE_LOOKBACK).
            AlertSubscription.objects.get_or_create(
                user_id=actor.pk, topic=topic, defaults={"delivery": delivery, "read_until": now + FAILURE_LOOKBACK}
            )
    return choices_of(actor)
