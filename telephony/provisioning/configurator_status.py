"""An order's status, from whatever reports it: the portal's own submit, a webhook, or a read of
the order when no webhook came. Every report is kept as an event of the order; it changes the
order only when it is news: a newer message (`mid`) with a status further along. A duplicate, or
an older report that arrives late, is recorded and changes nothing.

A completed order's tenant is then read back into the mirror (a task), and a failed one's reason
read from the Configurator when the report did not carry it."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from telephony import queue
from telephony.models import (
    ConfiguratorOrder,
    ConfiguratorOrderEvent,
    EventSource,
    OrderStatus,
)
from telephony.models.configurator import STATUS_RANK
from telephony.provisioning import configurator_planning
from tenants.audit_mixin import acting_as

logger = logging.getLogger("telephony.configurator")

KNOWN = frozenset(OrderStatus.values) - {OrderStatus.DRAFT, OrderStatus.SUBMITTING}


def apply_report(
    *, order_id: int, source: str, status: str, error: str = "", mid: int | None = None, event_id: int | None = None
) -> str:
    """Record one report and apply it if it is news; returns what became of it (for the event log)."""
    with transaction.atomic():
        order = ConfiguratorOrder.objects.select_for_update().get(pk=order_id)
        event = (
            ConfiguratorOrderEvent.objects.get(pk=event_id)
            if event_id is not None
            else ConfiguratorOrderEvent(order=order, source=source, mid=mid, status=status)
        )
        outcome = _apply(order, event, error)
        event.outcome = outcome[:200]
        event.save()
    return outcome


def _apply(order: ConfiguratorOrder, event: ConfiguratorOrderEvent, error: str) -> str:
    if event.status not in KNOWN:
        return f"not a status of an order ({event.status}): ignored"
    if event.mid is not None and order.status_mid is not None and event.mid <= order.status_mid:
        return "older than the report the order already has: ignored"
    if STATUS_RANK[event.status] < STATUS_RANK[order.status]:
        return "a step the order has already passed: ignored"
    if event.status == order.status and not (error and not order.error):
        if event.mid is not None:
            order.status_mid = event.mid
            order.save(update_fields=["status_mid"])
        return "no change"
    if order.is_final and event.status != order.status:
        return f"the order has already ended {order.get_status_display().lower()}: ignored"
    before = order.status
    order.status = event.status
    order.status_mid = event.mid if event.mid is not None else order.status_mid
    order.status_changed_at = timezone.now()
    if error:
        order.error = error[:2000]
    fields = ["status", "status_mid", "status_changed_at", "error"]
    if order.is_final and order.finished_at is None:
        order.finished_at = order.status_changed_at
        fields.append("finished_at")
    with acting_as(_who(event)):
        order.save(update_fields=fields)
    _follow_up(order, before)
    return f"{OrderStatus(before).label} → {order.get_status_display()}"


def _who(event: ConfiguratorOrderEvent) -> str:
    if event.source == EventSource.WEBHOOK:
        return f"Configurator webhook (message {event.mid})"
    return "Configurator (status read by the portal)" if event.source == EventSource.POLL else "provisioning"


def _follow_up(order: ConfiguratorOrder, before: str) -> None:
    if order.status == OrderStatus.COMPLETED:
        transaction.on_commit(lambda: _import_soon(order.pk))
    elif order.status == OrderStatus.FAILED and not order.error:
        configurator_planning.order_status_wanted(order)


def _import_soon(order_id: int) -> None:
    try:
        queue.send(queue.IMPORT_CONFIGURATOR_ORDER, order_id)
    except Exception:  # a broker that is down: the sweep sends it again
        logger.warning("the read-back of Configurator order %s waits for the sweep", order_id)
