"""Following each server's health, so that a turn for the worse is an event (`server.degraded`).

A server's health is the provisioning dashboard's (`telephony.selectors.server_health`), taken over
every customer's jobs on it. It is noted once a minute; the first look at a server only notes it.
Health over every customer's jobs is what the platform's owner sees, not what one customer on a
shared server may see: the event goes to the owner's organization and those above it only.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from telephony import selectors
from telephony.models.webhooks import ServerHealthState
from telephony.webhooks import events

BAD = ("degraded", "failing")


class _WholePlatform:
    """Sees every server, tenant and job: the health of a server as a whole, nobody's share of it."""

    is_active = True
    is_authenticated = True
    is_superuser = True
    pk = None


def follow() -> int:
    """Note every server's health; returns how many turned degraded or failing."""
    now = timezone.now()
    noted = {state.server_id: state for state in ServerHealthState.objects.all()}
    turned = 0
    for row in selectors.server_health(_WholePlatform()):
        server, health = row["server"], row["health"]
        state = noted.get(server.pk)
        if state is None:  # a second follower at the same moment notes it once
            ServerHealthState.objects.bulk_create(
                [ServerHealthState(server=server, health=health, changed_at=now)], ignore_conflicts=True
            )
            continue
        if state.health == health:
            continue
        with transaction.atomic():
            changed = ServerHealthState.objects.filter(pk=state.pk, health=state.health).update(
                health=health, changed_at=now
            )
            if changed and health in BAD and state.health not in BAD:
                events.server_degraded(server.pk, health=health, previous=state.health)
                turned += 1
    return turned
