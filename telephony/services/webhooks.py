"""Webhook endpoints and their deliveries: what an organization's administrators do with them, in
the admin, on the self-service site and through the API alike.

A secret is made by the portal, returned once (by create and rotate) and never shown again; it is
stored encrypted and masked in the history. A rotation keeps the previous secret signing beside the
new one for WEBHOOK_SECRET_OVERLAP_HOURS, so that the receiver can switch without losing events.
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telephony.backends import guard
from telephony.models.cti import outbound_url_refusal
from telephony.models.sync import save_changes
from telephony.models.webhooks import (
    SUBSCRIBABLE,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventType,
)
from telephony.webhooks.events import send_on_commit
from tenants import access
from tenants.access import CHANGE, DELETE
from tenants.models import Organization

SECRET_BYTES = 32


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _validate(endpoint: WebhookEndpoint) -> None:
    known = {value for value, _label in SUBSCRIBABLE}
    errors: dict[str, list[str]] = {}
    if not isinstance(endpoint.events, list) or not endpoint.events:
        errors["events"] = [_("Choose at least one event.")]
    elif unknown := [str(event) for event in endpoint.events if event not in known]:
        errors["events"] = [_("Unknown events: %(events)s.") % {"events": ", ".join(unknown)}]
    else:
        endpoint.events = [value for value, _label in SUBSCRIBABLE if value in endpoint.events]
    try:
        endpoint.full_clean(exclude=["events"])
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if "url" not in errors and (
        refusal := outbound_url_refusal(endpoint.url, resolve=True, policy=guard.webhook_policy())
    ):
        errors["url"] = [refusal]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def webhook_endpoint_create(*, actor: AbstractBaseUser, endpoint: WebhookEndpoint) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret (shown once)."""
    access.require_add(actor, WebhookEndpoint, Organization.objects.get(pk=endpoint.organization_id))
    secret = new_secret()
    endpoint.secret = secret
    endpoint.created_by = actor if getattr(actor, "pk", None) else None
    _validate(endpoint)
    endpoint.save()
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(*, actor: AbstractBaseUser, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Change an endpoint's URL, description, events or whether it is active (not its secret, not
    its organization). An endpoint made active again sends what waited for it."""
    stored = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    access.require(actor, CHANGE, stored)
    if endpoint.organization_id != stored.organization_id:
        raise ValidationError({"organization": _("An endpoint cannot move to another organization.")})
    endpoint.secret, endpoint.previous_secret = stored.secret, stored.previous_secret
    endpoint.previous_secret_expires_at = stored.previous_secret_expires_at
    _validate(endpoint)
    save_changes(endpoint, stored)
    if endpoint.is_active and not stored.is_active:
        waiting = WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING)
        send_on_commit(list(waiting.order_by("id").values_list("id", flat=True)[:1000]))
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, actor: AbstractBaseUser, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint with its delivery log; nothing more is sent to it."""
    stored = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    access.require(actor, DELETE, stored)
    stored.delete()


@transaction.atomic
def webhook_endpoint_rotate_secret(*, actor: AbstractBaseUser, endpoint: WebhookEndpoint) -> str:
    """Give the endpoint a new secret (returned, shown once); the current one keeps signing beside
    it for the overlap. A second rotation within the overlap (a page reloaded, a button pressed
    twice, a retried call) keeps the secret the receiver held before the first one signing and
    replaces only the newer one, which may never have been copied."""
    stored = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    access.require(actor, CHANGE, stored)
    secret, now = new_secret(), timezone.now()
    overlapping = (
        stored.previous_secret and stored.previous_secret_expires_at and stored.previous_secret_expires_at > now
    )
    if not overlapping:
        stored.previous_secret = stored.secret
    stored.previous_secret_expires_at = now + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
    stored.secret = secret
    stored.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return secret


@transaction.atomic
def webhook_delivery_replay(*, actor: AbstractBaseUser, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivered or given-up event to its endpoint again, as a new delivery with the same
    event id (the receiver may de-duplicate on it); it waits behind the object's pending ones."""
    stored = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery.pk)
    access.require(actor, CHANGE, stored)
    if stored.status == DeliveryStatus.PENDING:
        raise ValidationError(_("This delivery is still being tried; wait until it is delivered or given up."))
    if not stored.endpoint.is_active:
        raise ValidationError(_("The endpoint is inactive; make it active before replaying."))
    now = timezone.now()
    replay = WebhookDelivery.objects.create(
        endpoint=stored.endpoint,
        event_id=stored.event_id,
        subject=stored.subject,
        next_attempt_at=now,
        give_up_at=now + timedelta(hours=settings.WEBHOOK_RETRY_HOURS),
        replay_of=stored,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    send_on_commit([replay.pk])
    return replay


@transaction.atomic
def webhook_endpoint_send_test(*, actor: AbstractBaseUser, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a `webhook.test` event to the endpoint now (whatever it subscribes to), to check that the
    receiver answers and verifies the signature."""
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    access.require(actor, CHANGE, stored)
    if not stored.is_active:
        raise ValidationError(_("The endpoint is inactive; make it active before testing it."))
    now = timezone.now()
    event = WebhookEvent.objects.create(
        event_type=WebhookEventType.PING,
        organization_id=stored.organization_id,
        subject=f"webhookendpoint:{stored.pk}",
        data={"endpoint": stored.pk, "message": "A test event from the portal."},
        occurred_at=now,
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=stored,
        event=event,
        subject=event.subject,
        next_attempt_at=now,
        give_up_at=now + timedelta(hours=settings.WEBHOOK_RETRY_HOURS),
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    send_on_commit([delivery.pk])
    return delivery
