"""The webhook delivery log does not grow without end: finished deliveries older than
WEBHOOK_RETENTION_DAYS go with their attempts, then the events left without a delivery; a pending
delivery and a young one stay (telephony/webhooks/retention.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from telephony.models.webhooks import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEvent
from telephony.services.users import pbx_user_create
from telephony.webhooks import retention

pytestmark = pytest.mark.django_db


def age(delivery: WebhookDelivery, days: int, status: str) -> None:
    when = timezone.now() - timedelta(days=days)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=when, status=status)
    WebhookEvent.objects.filter(pk=delivery.event_id).update(occurred_at=when)
    WebhookAttempt.objects.create(delivery=delivery, number=1, started_at=when, status_code=200)


def test_old_finished_deliveries_and_their_events_go_and_the_rest_stays(tree, receiver, settings):
    tree.endpoint(tree.customer_a, receiver.url, ["user.created"])
    for number in (1001, 1002, 1003, 1004):
        pbx_user_create(actor=tree.root, user=tree.user("a", number))
    delivered, gave_up, pending, young = WebhookDelivery.objects.order_by("id")
    age(delivered, 40, DeliveryStatus.SUCCEEDED)
    age(gave_up, 40, DeliveryStatus.FAILED)
    age(pending, 40, DeliveryStatus.PENDING)
    age(young, 5, DeliveryStatus.SUCCEEDED)

    settings.WEBHOOK_RETENTION_DAYS = 0
    assert retention.remove_old_deliveries() == {"deliveries": 0, "events": 0}
    settings.WEBHOOK_RETENTION_DAYS = 30
    assert retention.remove_old_deliveries(chunk=1) == {"deliveries": 2, "events": 2}

    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {pending.pk, young.pk}
    assert set(WebhookEvent.objects.values_list("pk", flat=True)) == {pending.event_id, young.event_id}
    assert set(WebhookAttempt.objects.values_list("delivery_id", flat=True)) == {pending.pk, young.pk}
    assert retention.remove_old_deliveries() == {"deliveries": 0, "events": 0}
