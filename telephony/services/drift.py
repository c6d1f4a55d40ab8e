"""Drift scans asked for by staff: "Check against PBX" on servers or tenants."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from telephony import queue
from telephony.models import ScanTrigger, Server, Tenant
from tenants import access
from tenants.access import CHANGE

logger = logging.getLogger("telephony.drift")


def drift_scan_requested(
    *, actor: AbstractBaseUser, servers: Iterable[Server] = (), tenants: Iterable[Tenant] = ()
) -> int:
    """Queue a scan of each server and tenant the actor manages (a tenant alone is read where it has
    a container of its own; else its whole server is). Returns how many were queued."""
    wanted: list[tuple[int, int | None]] = []
    for server in servers:
        access.require(actor, CHANGE, server)
        wanted.append((server.pk, None))
    for tenant in tenants:
        access.require(actor, CHANGE, tenant)
        wanted.append((tenant.server_id, tenant.pk))

    def send() -> None:
        for server_id, tenant_id in wanted:
            try:
                queue.send(queue.SCAN_SERVER, server_id, tenant_id, ScanTrigger.STAFF, actor.pk)
            except Exception as exc:  # the broker is down: the scheduled scan comes round anyway
                logger.warning("could not queue the drift scan of server %s: %s", server_id, exc)

    transaction.on_commit(send)
    return len(wanted)
