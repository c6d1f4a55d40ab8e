"""Reads of webhook endpoints and their delivery log, scoped to the login (pages and the API)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from telephony.models.webhooks import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tenants import access
from tenants.access import VIEW


def webhook_endpoints_for(user: Any) -> QuerySet[WebhookEndpoint]:
    """The endpoints the login may see, with their pending and given-up deliveries counted."""
    return (
        access.restrict(WebhookEndpoint.objects.all(), user, VIEW)
        .select_related("organization")
        .annotate(
            pending_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
            failed_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        )
        .order_by("organization__name", "url", "id")
    )


def webhook_deliveries_for(user: Any) -> QuerySet[WebhookDelivery]:
    """The deliveries to endpoints the login may see, newest first, with their event."""
    return (
        access.restrict(WebhookDelivery.objects.all(), user, VIEW)
        .select_related("event", "endpoint__organization")
        .order_by("-id")
    )


def webhook_attempts_of(deliveries: list[WebhookDelivery]) -> dict[int, list[WebhookAttempt]]:
    """The attempts of these (already scoped) deliveries, by delivery id, in order: one query."""
    attempts: dict[int, list[WebhookAttempt]] = {delivery.pk: [] for delivery in deliveries}
    for attempt in WebhookAttempt.objects.filter(delivery_id__in=list(attempts)).order_by("delivery_id", "number"):
        attempts[attempt.delivery_id].append(attempt)
    return attempts
