"""Webhook endpoints in the crawl world: a reseller's, a customer of it, a customer of the other
reseller and one in the outside tree, each with a delivered event and its attempt, whose URL,
description, event data and receiver's answer carry the owner's token. (Four cover every relation
a login can have to an endpoint: its own, below it, a sibling's, another tree's.)"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from telephony.models.webhooks import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.crawl.world import ORG_ONLY, WorldBuilder

OWNERS = ("kilox", "mikex", "oscarx", "yankeex")


def add_webhooks(world: WorldBuilder) -> None:
    now = timezone.now()
    for token in OWNERS:
        org = world.organizations[token]
        endpoint = WebhookEndpoint.objects.create(
            organization=org,
            url=world.register(f"https://{token}hooks.example.net/portal", org, entity=ORG_ONLY),
            description=world.register(f"{token.title()} billing hook", org, entity=ORG_ONLY),
            events=["user.created", "job.failed"],
            secret="whsec_" + "A" * 43 + "=",
        )
        event = WebhookEvent.objects.create(
            event_type="user.created",
            organization=org,
            subject=f"pbxuser:{org.pk}",
            data={"username": world.register(f"{token}hookeduser", org, entity=ORG_ONLY)},
            occurred_at=now,
        )
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=event,
            subject=event.subject,
            status=DeliveryStatus.SUCCEEDED,
            attempts=1,
            next_attempt_at=now,
            give_up_at=now + timedelta(hours=24),
            delivered_at=now,
            last_status_code=200,
        )
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=1,
            started_at=now,
            duration_ms=12,
            status_code=200,
            response_excerpt=world.register(f"{token}receiverreply", org, entity=ORG_ONLY),
        )
