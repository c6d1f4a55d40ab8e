"""How long the webhook delivery log stays: deliveries that are over (delivered, or given up)
leave it WEBHOOK_RETENTION_DAYS after they were made, with their attempts, and then the events no
delivery refers to any more. A pending delivery stays whatever its age (it gives up after its own
retry window first)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from telephony.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEvent
from telephony.provisioning.retention import CHUNK, delete_in_chunks


def remove_old_deliveries(*, days: int | None = None, chunk: int = CHUNK) -> dict[str, int]:
    """Remove the finished deliveries older than `days` (WEBHOOK_RETENTION_DAYS unless given; 0
    keeps everything) and the events left without a delivery. Returns what it removed."""
    days = settings.WEBHOOK_RETENTION_DAYS if days is None else days
    if days <= 0:
        return {"deliveries": 0, "events": 0}
    cutoff = timezone.now() - timedelta(days=days)
    finished = WebhookDelivery.objects.filter(
        status__in=[DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED], created_at__lt=cutoff
    )
    removed = {"deliveries": delete_in_chunks(WebhookDelivery, finished, chunk)}
    unsent = WebhookEvent.objects.filter(occurred_at__lt=cutoff).exclude(
        Exists(WebhookDelivery.objects.filter(event=OuterRef("pk")))
    )
    removed["events"] = delete_in_chunks(WebhookEvent, unsent, chunk)
    return removed
