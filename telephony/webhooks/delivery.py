"""Delivering webhook events: claim, sign, POST, record, retry.

- **Signed** as Standard Webhooks (https://www.standardwebhooks.com/) specifies, with its reference
  library: `webhook-id` (the event's id, the same on every retry and replay), `webhook-timestamp`
  and `webhook-signature`, an HMAC-SHA256 of "id.timestamp.body" under the endpoint's secret.
  During a rotation's overlap the previous secret signs as well (two signatures, space-separated),
  so a receiver that still holds the old secret keeps verifying.
- **At least once.** A delivery is claimed with a lease (a conditional update: one worker only),
  then posted. A worker that dies mid-request leaves the lease to run out, and the sweep sends the
  delivery again: the receiver may see an event twice, and de-duplicates on `webhook-id`.
- **Retried** with exponential backoff on anything but a 2xx answer (an error, a timeout, a
  redirect, which is not followed) until `give_up_at`, 24 hours after the event by default.
- **Ordered per object**: a delivery is not sent while an earlier one about the same object to the
  same endpoint is pending; when that one is delivered or given up, the next one is sent at once.
- **Only where the webhooks' outbound-URL rules allow** (`guard.webhook_policy`: public addresses
  over https unless WEBHOOK_ALLOWED_NETWORKS says otherwise; never the PBX networks): the address is
  checked when it is saved and again, resolved, when the connection opens.
- **Every attempt ends in a record**, whatever the receiver does (a broken body, a stalled answer, a
  worker's time limit); past `give_up_at` a delivery is given up when it is next looked at.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterable
from datetime import timedelta

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from standardwebhooks import Webhook

from telephony import queue
from telephony.backends import guard
from telephony.backends.errors import UnsafeRequestError
from telephony.models.webhooks import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger("telephony.webhooks")

EXCERPT = 500
SWEEP_LIMIT = 2000
USER_AGENT = "provisioning-portal-webhooks/1"
MAX_ATTEMPTS = 1000  # a bound whatever happens (24 h of the shortest backoff is far fewer)
LONGEST_COUNTDOWN = 300.0  # s: a later retry is left to the sweep, not held by the broker
# A claim outlives the task's hard time limit (tasks.py), so that no second worker posts the same
# delivery while the first one may still be talking to a slow receiver.
TASK_SOFT_LIMIT, TASK_HARD_LIMIT = 60, 90
LEASE_SECONDS = TASK_HARD_LIMIT + 30


def body_of(event: WebhookEvent) -> bytes:
    """What is posted: the event's envelope, compact JSON."""
    envelope = {
        "id": str(event.uuid),
        "type": event.event_type,
        "occurred_at": event.occurred_at,
        "organization": event.organization_id,
        "data": event.data,
    }
    return json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


def signing_secrets(endpoint: WebhookEndpoint, now) -> list[str]:
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        secrets.append(endpoint.previous_secret)
    return secrets


def headers_for(endpoint: WebhookEndpoint, event: WebhookEvent, body: bytes, now) -> dict[str, str]:
    message_id = str(event.uuid)
    signatures = [Webhook(secret).sign(message_id, now, body) for secret in signing_secrets(endpoint, now)]
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
        "webhook-event": event.event_type,
    }


_session: requests.Session | None = None


def _http() -> requests.Session:
    """One session per worker process, kept between deliveries (its connections too), whose
    connections open only to addresses the outbound-URL rules allow."""
    global _session
    if _session is None:
        session = requests.Session()
        session.trust_env = False  # no proxy from the environment: the address checked is the one reached
        session.mount("http://", guard.CheckedAdapter(policy_source=guard.webhook_policy))
        session.mount("https://", guard.CheckedAdapter(policy_source=guard.webhook_policy))
        _session = session
    return _session


def send(delivery_ids: Iterable[int], *, countdown: float | None = None) -> int:
    """Hand deliveries to the workers. A broker that is down loses nothing: the sweep sends them."""
    sent = 0
    for delivery_id in delivery_ids:
        try:
            queue.send(queue.DELIVER_WEBHOOK, delivery_id, countdown=countdown)
        except Exception as exc:  # the broker is unreachable: the sweep sends it later
            logger.warning("could not hand webhook delivery %s to the queue: %s", delivery_id, exc)
            break
        sent += 1
    return sent


def backoff_seconds(attempts: int) -> float:
    base = settings.WEBHOOK_BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return min(settings.WEBHOOK_BACKOFF_MAX_SECONDS, base) * random.uniform(0.9, 1.1)  # noqa: S311


def _same_object(delivery: WebhookDelivery):
    """The pending deliveries to the same endpoint about the same object (served by an index)."""
    return WebhookDelivery.objects.filter(
        endpoint_id=delivery.endpoint_id, subject=delivery.subject, status=DeliveryStatus.PENDING
    )


def _claim(delivery_id: int) -> WebhookDelivery | str:
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "event")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return "not pending"
        if not delivery.endpoint.is_active:
            return "endpoint inactive"
        if delivery.lease_expires_at and delivery.lease_expires_at > now:
            return "claimed by another worker"
        if delivery.next_attempt_at > now + timedelta(seconds=0.5):
            return "not due"
        if delivery.attempts and (now >= delivery.give_up_at or delivery.attempts >= MAX_ATTEMPTS):
            delivery.status, delivery.lease_expires_at = DeliveryStatus.FAILED, None
            delivery.save(update_fields=["status", "lease_expires_at"])
            gave_up = True
        elif _same_object(delivery).filter(id__lt=delivery.pk).exists():
            return "waiting for an earlier delivery"
        else:
            gave_up = False
            delivery.attempts += 1
            delivery.lease_expires_at = now + timedelta(seconds=LEASE_SECONDS)
            delivery.save(update_fields=["attempts", "lease_expires_at"])
    if gave_up:
        send_next(delivery)
        return "gave up"
    return delivery


def deliver(delivery_id: int) -> str:
    """One attempt at one delivery (the task's body)."""
    delivery = _claim(delivery_id)
    if isinstance(delivery, str):
        return delivery
    endpoint, event = delivery.endpoint, delivery.event
    started = timezone.now()
    body = body_of(event)
    status_code, error, excerpt = None, "", ""
    clock = time.perf_counter()
    try:
        guard.webhook_policy().check_url(endpoint.url)
        with _http().post(
            endpoint.url,
            data=body,
            headers=headers_for(endpoint, event, body, started),
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        ) as response:
            status_code = response.status_code
            excerpt = response.raw.read(EXCERPT, decode_content=True).decode("utf-8", "replace")
    except UnsafeRequestError as refusal:
        error = str(refusal)
    except Exception as failure:  # anything the receiver's answer or a time limit raises: still an attempt
        error = f"{type(failure).__name__}: {failure}"
    duration_ms = int((time.perf_counter() - clock) * 1000)
    delivered = status_code is not None and 200 <= status_code < 300
    if not delivered and not error:
        error = f"The receiver answered {status_code}."
    return _settle(delivery, started, duration_ms, status_code, _text(error), _text(excerpt), delivered)


def _text(value: str) -> str:
    """What is kept of a receiver's words: the start, without NUL (PostgreSQL refuses it in text)."""
    return value.replace("\x00", "")[:EXCERPT]


def _settle(
    delivery: WebhookDelivery, started, duration_ms: int, status_code, error: str, excerpt: str, delivered: bool
) -> str:
    now = timezone.now()
    fields = {"lease_expires_at": None, "last_status_code": status_code, "last_error": error}
    if delivered:
        fields |= {"status": DeliveryStatus.SUCCEEDED, "delivered_at": now, "last_error": ""}
        outcome = "delivered"
    elif now >= delivery.give_up_at:
        fields |= {"status": DeliveryStatus.FAILED}
        outcome = "gave up"
    else:
        delay = backoff_seconds(delivery.attempts)
        fields |= {"next_attempt_at": min(delivery.give_up_at, now + timedelta(seconds=delay))}
        outcome = "retry"
    with transaction.atomic():
        mine = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.PENDING, attempts=delivery.attempts
        ).update(**fields)
        if not mine:  # the lease ran out and the sweep gave it to another worker: its outcome counts
            return "lease lost"
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=started,
            duration_ms=duration_ms,
            status_code=status_code,
            error=error,
            response_excerpt=excerpt,
        )
    if outcome == "retry":
        wait = (fields["next_attempt_at"] - now).total_seconds()
        if wait <= LONGEST_COUNTDOWN:
            send([delivery.pk], countdown=wait)  # longer waits: the sweep sends it when it is due
    else:
        send_next(delivery)
    return outcome


def send_next(delivery: WebhookDelivery) -> None:
    """The delivery is done (delivered or given up): the next one about the same object may go."""
    following = _same_object(delivery).filter(id__gt=delivery.pk).order_by("id").values_list("id", flat=True).first()
    if following is not None:
        send([following])


def sweep() -> dict[str, int]:
    """What the broker lost, a dead worker left leased, or a wait held back: the pending deliveries
    that are due (beyond a short grace, in which their own task should have taken them) and
    unclaimed, and first in line for their object, go to the queue again."""
    now = timezone.now()
    grace = now - timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    earlier = WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        subject=OuterRef("subject"),
        status=DeliveryStatus.PENDING,
        id__lt=OuterRef("id"),
    )
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=grace)
        .filter(endpoint__is_active=True)
        .exclude(lease_expires_at__gt=now)
        .exclude(Exists(earlier))  # first in line for its object only: the others wait for it, not for the sweep
        .order_by("id")
        .values_list("id", flat=True)[:SWEEP_LIMIT]
    )
    return {"due": len(due), "sent": send(due), "orphans removed": _remove_orphans()}


def _remove_orphans() -> int:
    """Pending deliveries written beside their endpoint's deletion (no database constraint stops
    them: the change that wrote them must commit) are removed; nobody will send them."""
    orphans = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exclude(
        endpoint_id__in=WebhookEndpoint.objects.values("pk")
    )
    _total, removed = orphans.delete()
    return removed.get(WebhookDelivery._meta.label, 0)
