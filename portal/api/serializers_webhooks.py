"""How webhook endpoints and their deliveries read, and what creating or changing an endpoint takes.
An endpoint's signing secret is never part of a read: it is answered once, by the create and by a
rotation. Everything a body says is checked by the webhook services (telephony/services/webhooks.py),
whose messages come back field by field; an organization is looked up within what the login may
see (a foreign id reads as one that does not exist)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.serializers import ScopedRelatedField
from telephony import selectors_api as selectors
from telephony.models.webhooks import SUBSCRIBABLE, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

EVENTS_TEXT = "The event types sent to this URL (at least one): " + ", ".join(
    f"`{value}` ({label})" for value, label in SUBSCRIBABLE
)


@extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE)))
class EventListField(serializers.ListField):
    """A list of event types, checked by the service (an unknown one is named in its message)."""

    child = serializers.CharField(max_length=30)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    organization = ScopedRelatedField(
        selectors.organizations_for,
        help_text=gettext_lazy(
            "The organization the endpoint belongs to; you must be one of its administrators to register "
            "one. It receives the events about everything that organization may see."
        ),
    )
    url = serializers.CharField(
        max_length=500,
        help_text=gettext_lazy(
            "Where the portal POSTs each event (https; an address the outbound-URL rules accept), e.g. "
            "https://billing.example.net/hooks/portal."
        ),
    )
    events = EventListField(help_text=EVENTS_TEXT)
    pending_count = serializers.IntegerField(
        read_only=True, help_text=gettext_lazy("Deliveries to this endpoint still being tried.")
    )
    failed_count = serializers.IntegerField(
        read_only=True, help_text=gettext_lazy("Deliveries to this endpoint given up on (they may be replayed).")
    )
    previous_secret_expires_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy(
            "After a rotation, until when the previous secret still signs beside the new one (null: only "
            "the current secret signs)."
        ),
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "organization",
            "url",
            "description",
            "events",
            "is_active",
            "created_at",
            "pending_count",
            "failed_count",
            "previous_secret_expires_at",
        ]
        read_only_fields = ["id", "created_at", "pending_count", "failed_count", "previous_secret_expires_at"]


class WebhookEndpointUpdateSerializer(WebhookEndpointSerializer):
    """An endpoint changes its URL, description, events or whether it is active; never its organization
    (another organization's endpoint is a new one) nor its secret (rotate-secret)."""

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["organization"] = serializers.PrimaryKeyRelatedField(
            read_only=True, help_text=gettext_lazy("The organization the endpoint belongs to (it never changes).")
        )
        return fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """The endpoint just registered, with its signing secret: the only answer that shows it."""

    secret = serializers.CharField(
        read_only=True,
        allow_null=True,
        source="secret_shown_once",
        help_text=gettext_lazy(
            "The signing secret (Standard Webhooks, `whsec_…`): shown in this answer only, never again. "
            "null in the answer to a retry with the same Idempotency-Key (the secret is not kept in clear "
            "text): rotate the secret if the first answer was lost."
        ),
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class RotatedSecretSerializer(serializers.Serializer):
    endpoint = serializers.IntegerField(help_text=gettext_lazy("The endpoint's id."))
    secret = serializers.CharField(
        allow_null=True,
        help_text=gettext_lazy(
            "The new signing secret: shown in this answer only, never again (null in the answer to a retry "
            "with the same Idempotency-Key)."
        ),
    )
    previous_secret_expires_at = serializers.DateTimeField(
        help_text=gettext_lazy(
            "Until when the previous secret still signs beside the new one: switch the receiver before then."
        )
    )


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "duration_ms", "status_code", "error", "response_excerpt"]
        read_only_fields = fields
        extra_kwargs = {
            "status_code": {"help_text": "The receiver's HTTP status (null: no answer, see `error`)."},
            "response_excerpt": {"help_text": "The start of the receiver's answer."},
        }


class WebhookEventSerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(
        source="uuid",
        read_only=True,
        help_text=gettext_lazy("The event's id (the `webhook-id` header): the same for every retry and replay."),
    )
    type = serializers.CharField(source="event_type", read_only=True, help_text=gettext_lazy("The event type."))

    class Meta:
        model = WebhookEvent
        fields = ["event_id", "type", "occurred_at", "data"]
        read_only_fields = fields
        extra_kwargs = {"data": {"help_text": "The event's data, as sent: a snapshot taken when it happened."}}


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(source="event.uuid", read_only=True, help_text=gettext_lazy("The event's id."))
    event_type = serializers.CharField(
        source="event.event_type", read_only=True, help_text=gettext_lazy("The event type.")
    )
    attempt_count = serializers.IntegerField(
        source="attempts", read_only=True, help_text=gettext_lazy("POSTs made so far.")
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "subject",
            "status",
            "attempt_count",
            "next_attempt_at",
            "give_up_at",
            "delivered_at",
            "last_status_code",
            "last_error",
            "replay_of",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "subject": {"help_text": 'The object the event is about, e.g. "pbxuser:12".'},
            "replay_of": {"help_text": "The delivery this one replays (null: the first delivery of its event)."},
        }


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    """A delivery with its event (and data) and every attempt."""

    event = WebhookEventSerializer(read_only=True)
    attempts = serializers.SerializerMethodField(help_text=gettext_lazy("Every POST of this delivery, in order."))

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "event", "attempts"]
        read_only_fields = fields

    @extend_schema_field(WebhookAttemptSerializer(many=True))
    def get_attempts(self, delivery: WebhookDelivery) -> list[dict[str, Any]]:
        attempts = self.context.get("attempts", {}).get(delivery.pk, [])
        return WebhookAttemptSerializer(attempts, many=True).data
