"""Outgoing webhooks: the URLs an organization's administrators register for the portal's events,
the events themselves (written in the same transaction as the change they report: an outbox), and
every delivery of an event to an endpoint with each of its attempts."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy

from tenants.access import ORGANIZATION_MANAGERS, AccessPolicy
from tenants.audit_mixin import Audited
from tenants.models import Organization

from .fields import EncryptedCharField


class WebhookEventType(models.TextChoices):
    JOB_SUCCEEDED = "job.succeeded", gettext_lazy("A provisioning job succeeded")
    JOB_FAILED = "job.failed", gettext_lazy("A provisioning job failed")
    USER_CREATED = "user.created", gettext_lazy("A PBX user was created")
    USER_UPDATED = "user.updated", gettext_lazy("A PBX user was changed")
    USER_DELETED = "user.deleted", gettext_lazy("A PBX user was deleted")
    IMPORT_COMPLETED = "import.completed", gettext_lazy("A CSV import was committed")
    DRIFT_FOUND = "drift.found", gettext_lazy("A drift scan found differences")
    SERVER_DEGRADED = "server.degraded", gettext_lazy("A server turned degraded or failing")
    PING = "webhook.test", gettext_lazy("A test event, sent on request")


SUBSCRIBABLE = [choice for choice in WebhookEventType.choices if choice[0] != WebhookEventType.PING]


class WebhookEndpoint(Audited, models.Model):
    """A URL of an organization that receives the events it subscribes to, for everything that
    organization may see (its own subtree; shared servers from above). Each request is signed with
    the endpoint's secret (Standard Webhooks: HMAC-SHA256 over id, timestamp and body); after a
    rotation the previous secret signs too until `previous_secret_expires_at`."""

    access_policy = AccessPolicy(("organization",), manage_roles=ORGANIZATION_MANAGERS)

    organization = models.ForeignKey(
        Organization,
        verbose_name=gettext_lazy("organization"),
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    url = models.CharField(
        verbose_name=gettext_lazy("URL"),
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=gettext_lazy("Where the portal POSTs each event, e.g. https://billing.example.net/hooks/portal."),
    )
    description = models.CharField(verbose_name=gettext_lazy("description"), max_length=200, blank=True)
    events = models.JSONField(
        verbose_name=gettext_lazy("events"),
        default=list,
        help_text=gettext_lazy("The event types sent to this URL."),
    )
    is_active = models.BooleanField(
        verbose_name=gettext_lazy("active"),
        default=True,
        help_text=gettext_lazy("An inactive endpoint receives no new events; its pending deliveries wait."),
    )
    secret = EncryptedCharField(verbose_name=gettext_lazy("signing secret"), max_length=100, editable=False)
    previous_secret = EncryptedCharField(
        verbose_name=gettext_lazy("previous signing secret"),
        max_length=100,
        blank=True,
        null=True,
        editable=False,
    )
    previous_secret_expires_at = models.DateTimeField(
        verbose_name=gettext_lazy("previous secret signs until"), null=True, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=gettext_lazy("updated at"), auto_now=True)

    class Meta:
        ordering = ["organization__name", "url"]
        verbose_name = gettext_lazy("webhook endpoint")
        verbose_name_plural = gettext_lazy("webhook endpoints")
        indexes = [models.Index(fields=["is_active"], name="webhook_endpoint_active")]

    def __str__(self) -> str:
        return self.description or self.url


class WebhookEvent(models.Model):
    """One thing that happened, as it is sent: its id (`webhook-id`, the same for every retry and
    replay, so that a receiver can de-duplicate), its type, the object it is about (`subject`,
    "pbxuser:12": deliveries about one object go out in order) and the JSON data, a snapshot taken
    when it happened. It is written only when an endpoint that may see its object subscribes."""

    access_policy = AccessPolicy(("organization",), entity_actions=frozenset())

    uuid = models.UUIDField(verbose_name=gettext_lazy("event id"), default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(verbose_name=gettext_lazy("event"), max_length=30, choices=WebhookEventType.choices)
    organization = models.ForeignKey(
        Organization,
        verbose_name=gettext_lazy("organization"),
        on_delete=models.CASCADE,
        related_name="+",
        help_text=gettext_lazy("The organization of the object the event is about."),
    )
    subject = models.CharField(verbose_name=gettext_lazy("object"), max_length=60)
    data = models.JSONField(verbose_name=gettext_lazy("data"))
    occurred_at = models.DateTimeField(verbose_name=gettext_lazy("occurred at"))

    class Meta:
        ordering = ["-id"]
        verbose_name = gettext_lazy("webhook event")
        verbose_name_plural = gettext_lazy("webhook events")

    def __str__(self) -> str:
        return f"{self.event_type} {self.subject}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Pending")
    SUCCEEDED = "succeeded", gettext_lazy("Delivered")
    FAILED = "failed", gettext_lazy("Gave up")


class WebhookDelivery(models.Model):
    """One event on its way to one endpoint: retried with backoff until the receiver answers 2xx or
    `give_up_at` (24 hours) has passed. A delivery waits while an earlier delivery about the same
    object to the same endpoint is still pending (ordered per object). `lease_expires_at` marks a
    worker's claim: a worker that dies mid-request leaves it to the sweep once the lease runs out."""

    access_policy = AccessPolicy(("endpoint__organization",), manage_roles=ORGANIZATION_MANAGERS)

    # No constraint in the database: a change recording its event while the endpoint is deleted in
    # another transaction must still commit (a deferred check would fail the change itself at
    # commit). Deleting an endpoint deletes the deliveries it sees; one written beside the delete
    # is never sent (the claim joins the endpoint) and the sweep removes it.
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=gettext_lazy("endpoint"),
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
    )
    event = models.ForeignKey(
        WebhookEvent, verbose_name=gettext_lazy("event"), on_delete=models.CASCADE, related_name="deliveries"
    )
    subject = models.CharField(verbose_name=gettext_lazy("object"), max_length=60)
    status = models.CharField(
        verbose_name=gettext_lazy("status"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    attempts = models.PositiveSmallIntegerField(verbose_name=gettext_lazy("attempts"), default=0)
    next_attempt_at = models.DateTimeField(verbose_name=gettext_lazy("next attempt at"))
    give_up_at = models.DateTimeField(verbose_name=gettext_lazy("gives up at"))
    lease_expires_at = models.DateTimeField(verbose_name=gettext_lazy("lease expires at"), null=True, blank=True)
    delivered_at = models.DateTimeField(verbose_name=gettext_lazy("delivered at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(verbose_name=gettext_lazy("last answer"), null=True, blank=True)
    last_error = models.CharField(verbose_name=gettext_lazy("last error"), max_length=500, blank=True)
    replay_of = models.ForeignKey(
        "self",
        verbose_name=gettext_lazy("replay of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replays",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = gettext_lazy("webhook delivery")
        verbose_name_plural = gettext_lazy("webhook deliveries")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "subject", "id"], name="webhook_delivery_order"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event.event_type} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, how long, and what the receiver answered (the start of its body
    only). Shown in the delivery log."""

    access_policy = AccessPolicy(("delivery__endpoint__organization",), manage_roles=ORGANIZATION_MANAGERS)

    delivery = models.ForeignKey(
        WebhookDelivery, verbose_name=gettext_lazy("delivery"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField(verbose_name=gettext_lazy("number"))
    started_at = models.DateTimeField(verbose_name=gettext_lazy("started at"))
    duration_ms = models.PositiveIntegerField(verbose_name=gettext_lazy("duration (ms)"), default=0)
    status_code = models.PositiveSmallIntegerField(verbose_name=gettext_lazy("answer"), null=True, blank=True)
    error = models.CharField(verbose_name=gettext_lazy("error"), max_length=500, blank=True)
    response_excerpt = models.CharField(verbose_name=gettext_lazy("response"), max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        verbose_name = gettext_lazy("webhook attempt")
        verbose_name_plural = gettext_lazy("webhook attempts")

    def __str__(self) -> str:
        return f"{self.delivery_id}/{self.number}"


class ServerHealthState(models.Model):
    """The health of a server as a whole (every customer's jobs on it), as last noted by the health
    follower: a turn from healthy or unknown to degraded or failing is a `server.degraded` event."""

    server = models.OneToOneField(
        "telephony.Server", verbose_name=gettext_lazy("server"), on_delete=models.CASCADE, related_name="health_state"
    )
    health = models.CharField(verbose_name=gettext_lazy("health"), max_length=10)
    changed_at = models.DateTimeField(verbose_name=gettext_lazy("changed at"))

    class Meta:
        verbose_name = gettext_lazy("server health state")
        verbose_name_plural = gettext_lazy("server health states")

    def __str__(self) -> str:
        return f"{self.server_id}: {self.health}"
