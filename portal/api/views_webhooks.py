"""Outgoing webhooks: the endpoints an organization's administrators register, and the log of every
delivery to them. Reads are the scoped selectors (telephony/selectors_webhooks.py); every write runs
the service the admin and the self-service site run (telephony/services/webhooks.py): the same
checks (administrators of the endpoint's organization only; the outbound-URL rules on the URL), the
same history. A signing secret is answered once, by the create and by rotate-secret, and never
read again. A refused request changes nothing."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from portal.api import serializers_webhooks as serializers
from portal.api.base import answer_once, idempotent
from portal.api.views import ScopedFilters, ScopedReadViewSet, ServicedViewSet, adding_where_seen
from telephony import selectors_webhooks as selectors
from telephony.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEventType
from telephony.services import webhooks as webhook_services

FLAGS = {"true": True, "1": True, "false": False, "0": False}


def _without_secret(data: Any) -> Any:
    """What an Idempotency-Key keeps of an answer showing a secret: all but the secret."""
    return {**data, "secret": None}


class EndpointFilters(ScopedFilters):
    """The shared filters, and `?is_active=true|false`."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        queryset = super().filter_queryset(request, queryset, view)
        value = request.query_params.get("is_active")
        if value is None:
            return queryset
        if value.lower() not in FLAGS:
            raise ValidationError({"is_active": [_("One of: %(choices)s.") % {"choices": "true, false"}]})
        return queryset.filter(is_active=FLAGS[value.lower()])

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": "is_active",
                "required": False,
                "in": "query",
                "description": "true: only the active endpoints; false: only the inactive ones.",
                "schema": {"type": "boolean"},
            },
        ]


class DeliveryFilters(ScopedFilters):
    """The shared filters, `?status=pending|succeeded|failed` and `?event_type=user.created`."""

    choices = {
        "status": ("status", [value for value, _label in DeliveryStatus.choices]),
        "event_type": ("event__event_type", [value for value, _label in WebhookEventType.choices]),
    }
    descriptions = {
        "status": "pending: still being tried; succeeded: the receiver answered 2xx; failed: given up on.",
        "event_type": "Only the deliveries of events of this type.",
    }

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        queryset = super().filter_queryset(request, queryset, view)
        problems = {}
        for name, (lookup, allowed) in self.choices.items():
            value = request.query_params.get(name)
            if value is None:
                continue
            if value not in allowed:
                problems[name] = [_("One of: %(choices)s.") % {"choices": ", ".join(allowed)}]
                continue
            queryset = queryset.filter(**{lookup: value})
        if problems:
            raise ValidationError(problems)
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            *[
                {
                    "name": name,
                    "required": False,
                    "in": "query",
                    "description": self.descriptions[name],
                    "schema": {"type": "string", "enum": allowed},
                }
                for name, (_lookup, allowed) in self.choices.items()
            ],
        ]


def _delivery_answer(request: Request, delivery: WebhookDelivery) -> Response:
    """A delivery just queued (a test or a replay): 202, the delivery, and where to follow it."""
    fresh = selectors.webhook_deliveries_for(request.user).get(pk=delivery.pk)
    data = serializers.WebhookDeliveryDetailSerializer(
        fresh, context={"request": request, "attempts": selectors.webhook_attempts_of([fresh])}
    ).data
    location = reverse("api:webhook-delivery-detail", args=[fresh.pk], request=request)
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


QUEUED = OpenApiResponse(
    serializers.WebhookDeliveryDetailSerializer,
    description="The delivery, queued (`pending`): a worker POSTs it; follow it at webhook-deliveries/{id}/.",
)


def _not_stored(response: Response) -> Response:
    """An answer that may carry a signing secret: no cache or proxy on the way keeps it."""
    response["Cache-Control"] = "no-store"
    return response


@extend_schema_view(
    list=extend_schema(
        description="The webhook endpoints you may see (those of your organizations and of the ones below), with "
        "how many of their deliveries are pending and given up. Filters: `organization`, `is_active`; "
        "`search` in the URL and the description. Never a secret."
    ),
    retrieve=extend_schema(
        description="One endpoint (its ETag for If-Match). Its signing secret is never part of a read: it was "
        "shown when the endpoint was made or its secret rotated."
    ),
    create=extend_schema(
        description="Register an endpoint of an organization you administer: elsewhere (an organization you "
        "only read as an operator or a viewer, or do not see) the organization answers 404, as for "
        "every create of this API. Its URL must pass the portal's outbound-URL rules (https, no "
        "address in a private or reserved network unless allowed, no credentials in it) and its "
        "events must be known; each refusal comes back under its field (400). Answers 201 with the "
        "endpoint and its signing secret, the only answer that ever shows it.",
        request=serializers.WebhookEndpointSerializer,
        responses={201: serializers.WebhookEndpointCreatedSerializer},
    ),
    update=extend_schema(
        description="Change the URL, description, events or whether the endpoint is active (not its "
        "organization, not its secret), with the same checks as a create. `If-Match` with the ETag you "
        "read: 412 if it changed since. An endpoint made active again sends what waited for it."
    ),
    partial_update=extend_schema(
        description="Change some of the URL, description, events and whether the endpoint is active, with the "
        "same checks as a create. `If-Match` with the ETag you read: 412 if it changed since."
    ),
    destroy=extend_schema(
        description="Remove the endpoint with its delivery log: nothing more is sent to it. `If-Match` as for an "
        "update."
    ),
)
class WebhookEndpointViewSet(ServicedViewSet):
    """URLs an organization's administrators register to receive the portal's events (jobs that
    succeeded or failed, PBX users made, changed or deleted, imports committed, drift found, servers
    degraded), signed as Standard Webhooks with the endpoint's secret. Viewers read them; only the
    organization's administrators register, change, delete, rotate and test them."""

    serializer_class = serializers.WebhookEndpointSerializer
    selector = staticmethod(selectors.webhook_endpoints_for)
    filter_backends = [EndpointFilters, *ServicedViewSet.filter_backends[1:]]
    search_fields = ["url", "description"]
    filter_ids = ("organization",)
    service_object_name = "endpoint"
    update_service = webhook_services.webhook_endpoint_update
    delete_service = webhook_services.webhook_endpoint_delete
    kept_answer = staticmethod(_without_secret)  # a retry of the create: the endpoint, not its secret

    def get_serializer_class(self) -> type:
        if self.action == "create":
            return serializers.WebhookEndpointCreatedSerializer
        if self.action in ("update", "partial_update"):
            return serializers.WebhookEndpointUpdateSerializer
        return serializers.WebhookEndpointSerializer

    def perform_create(self, serializer: Any) -> None:
        with adding_where_seen():
            endpoint, secret = webhook_services.webhook_endpoint_create(
                actor=self.request.user, endpoint=WebhookEndpoint(**serializer.validated_data)
            )
        fresh = self.get_queryset().get(pk=endpoint.pk)  # with its counts, as every read has them
        fresh.secret_shown_once = secret
        serializer.instance = fresh

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return _not_stored(super().create(request, *args, **kwargs))

    def get_success_headers(self, data: Any) -> dict[str, str]:
        return {"Location": self.reverse_action("detail", args=[data["id"]])}  # not the endpoint's `url`

    @extend_schema(request=None, responses=serializers.RotatedSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret", url_name="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """Give the endpoint a new signing secret, answered here once and never again. The previous
        secret keeps signing beside it until `previous_secret_expires_at` (each request then carries
        both signatures), so that the receiver can switch without losing an event; a second rotation
        within that time ends the oldest secret at once. Administrators of the endpoint's
        organization only. A retry with the same Idempotency-Key does not rotate again (and answers
        no secret)."""

        def rotate() -> Response:
            endpoint = self.get_object()  # outside the scope: 404; seen but not managed: 403
            secret = webhook_services.webhook_endpoint_rotate_secret(actor=request.user, endpoint=endpoint)
            fresh = self.get_queryset().get(pk=endpoint.pk)
            answer = {
                "endpoint": fresh.pk,
                "secret": secret,
                "previous_secret_expires_at": fresh.previous_secret_expires_at,
            }
            return Response(serializers.RotatedSecretSerializer(answer).data)

        return _not_stored(answer_once(request, rotate, kept_as=_without_secret))

    @extend_schema(request=None, responses={202: QUEUED})
    @action(detail=True, methods=["post"])
    @idempotent
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Send a `webhook.test` event to the endpoint now, whatever it subscribes to, to check that the
        receiver answers and verifies the signature. Answers the delivery made (202); an inactive
        endpoint is refused (400). Administrators of the endpoint's organization only."""
        endpoint = self.get_object()  # outside the scope: 404; seen but not managed: 403
        delivery = webhook_services.webhook_endpoint_send_test(actor=request.user, endpoint=endpoint)
        return _delivery_answer(request, delivery)


@extend_schema_view(
    list=extend_schema(
        description="The deliveries to the endpoints you may see, in cursor pages (oldest first; follow `next`), "
        "each with its event's id and type and how it went: `pending` while it is retried with backoff "
        "(for up to a day), `succeeded` once the receiver answered 2xx, `failed` once given up on. "
        'Filters: `endpoint`, `status`, `event_type`; `search` in the object ("pbxuser:12").'
    ),
    retrieve=extend_schema(
        description="One delivery with its event (its id, the same for every retry and replay; its type, when it "
        "happened and its data, as sent) and every attempt: when, how long, the receiver's status "
        "and the start of its answer, or why there was none."
    ),
)
class WebhookDeliveryViewSet(ScopedReadViewSet):
    """The delivery log: every event on its way to an endpoint you may see, newest last in cursor
    pages, with its status (pending while it is retried with backoff, for up to a day; succeeded once
    the receiver answered 2xx; failed once given up on). The detail adds the event (its id, type,
    time and data, as sent) and every attempt (when, how long, the receiver's status and the start of
    its answer). Filters: `endpoint`, `status`, `event_type`; `search` in the object
    ("pbxuser:12")."""

    serializer_class = serializers.WebhookDeliverySerializer
    selector = staticmethod(selectors.webhook_deliveries_for)
    filter_backends = [DeliveryFilters, *ScopedReadViewSet.filter_backends[1:]]
    search_fields = ["subject"]
    filter_ids = ("endpoint",)

    def get_serializer_class(self) -> type:
        if self.action in ("retrieve", "replay"):
            return serializers.WebhookDeliveryDetailSerializer
        return serializers.WebhookDeliverySerializer

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], WebhookDelivery) and self.action == "retrieve":
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["attempts"] = selectors.webhook_attempts_of([args[0]])
        return super().get_serializer(*args, **kwargs)

    @extend_schema(request=None, responses={202: QUEUED})
    @action(detail=True, methods=["post"])
    @idempotent
    def replay(self, request: Request, pk: str | None = None) -> Response:
        """Send a delivered or given-up event to its endpoint again: a new delivery with the same event
        id (the receiver may de-duplicate on it), answered here (202). A delivery still being tried or
        an inactive endpoint is refused (400). Administrators of the endpoint's organization only."""
        delivery = self.get_object()  # outside the scope: 404; seen but not managed: 403
        replay = webhook_services.webhook_delivery_replay(actor=request.user, delivery=delivery)
        return _delivery_answer(request, replay)
