"""Recording the portal's events for the endpoints that subscribe to them.

Every function here runs inside the transaction of the change it reports, and writes the event and
its deliveries there (an outbox): a change that rolls back sends nothing, and a committed one is
delivered however long the broker or the receiver is away. The deliveries are handed to the
workers once the transaction commits.

An endpoint receives an event only about an object its organization may see, as a viewer of that
organization would (`tenants.access.restrict`): a customer's endpoint hears of its own users and
jobs, a reseller's of every customer below it, nobody of a sibling. The event's data is the same
snapshot for every receiver and holds only fields of that one object (ids of what it belongs to,
never a secret). With no subscribing endpoint, recording costs one small query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from telephony.models import DriftScan, ImportRun, PbxUser, ProvisioningJob, Server
from telephony.models.webhooks import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookEventType,
)
from telephony.webhooks.delivery import send
from tenants.access import VIEW, OrganizationViewer, restrict

CHUNK = 2000  # ids per query: within every database's limit on parameters


def _user(user: PbxUser) -> dict[str, Any]:
    return {
        "id": user.pk,
        "tenant": user.tenant_id,
        "entity": user.entity_id,
        "template": user.template_id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "display_name": user.display_name,
        "email": user.email,
        "mobile_number": user.mobile_number,
        "internal_number": user.internal_number,
        "voicemail_enabled": user.voicemail_enabled,
        "sync_state": user.sync_state,
        "numbers": sorted(number.number for number in user.phone_numbers.all()),
    }


def _job(job: ProvisioningJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "operation": job.operation,
        "status": job.status,
        "object": {"type": job.target_key.split(":", 1)[0], "id": job.target_id},
        "tenant": job.tenant_id,
        "server": job.server_id,
        "attempts": job.attempts,
        "error": job.last_error,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _import(run: ImportRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "kind": run.kind,
        "tenant": run.tenant_id,
        "file_name": run.file_name,
        "status": run.status,
        "rows": run.row_count,
        "created": run.create_count,
        "updated": run.update_count,
        "skipped": run.skip_count,
        "failed_rows": run.failed_row_count,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def _scan(scan: DriftScan) -> dict[str, Any]:
    return {
        "id": scan.pk,
        "server": scan.server_id,
        "tenant": scan.tenant_id,
        "trigger": scan.trigger,
        "checked": scan.checked,
        "counts": scan.counts,
        "finished_at": scan.finished_at.isoformat() if scan.finished_at else None,
    }


def _server(server: Server) -> dict[str, Any]:
    return {"id": server.pk, "name": server.name, "platform": server.platform_id}


# model → (related rows to load with it, its data, the organization it belongs to)
SUBJECTS: dict[type[models.Model], tuple[tuple[str, ...], Callable[[Any], dict], Callable[[Any], int]]] = {
    PbxUser: (("tenant",), _user, lambda user: user.tenant.organization_id),
    ProvisioningJob: ((), _job, lambda job: job.organization_id),
    ImportRun: ((), _import, lambda run: run.organization_id),
    DriftScan: (("server__platform",), _scan, lambda scan: scan.server.platform.organization_id),
    Server: (("platform",), _server, lambda server: server.platform.organization_id),
}


def subscribers(event_type: str) -> list[WebhookEndpoint]:
    """The active endpoints that want this event. Asked for every finished job: the events each
    endpoint wants are read first (a small query: endpoints are few), and the endpoints themselves,
    with their organizations and secrets, only when one wants this event."""
    active = WebhookEndpoint.objects.filter(is_active=True)
    wanted = [pk for pk, events in active.values_list("pk", "events") if event_type in (events or ())]
    if not wanted:
        return []
    return list(active.filter(pk__in=wanted).select_related("organization"))


def record(
    event_type: str,
    model: type[models.Model],
    ids: Iterable[int],
    *,
    extra: Mapping[int, dict[str, Any]] | None = None,
    endpoints: list[WebhookEndpoint] | None = None,
) -> list[WebhookDelivery]:
    """Write an event about each object (of `model`, by id) that a subscribing endpoint may see,
    and a delivery of it to each such endpoint. `extra` adds to an object's data (a server's
    health). Call it while the objects still exist (a deletion is recorded before the delete)."""
    endpoints = subscribers(event_type) if endpoints is None else endpoints
    if not endpoints:
        return []
    ids = list(dict.fromkeys(ids))
    related, data_of, organization_of = SUBJECTS[model]
    organizations = {endpoint.organization_id: endpoint.organization for endpoint in endpoints}
    now = timezone.now()
    give_up_at = now + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    deliveries: list[WebhookDelivery] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        seen_by = {
            organization_id: set(
                restrict(model.objects.filter(pk__in=chunk), OrganizationViewer(organization), VIEW).values_list(
                    "pk", flat=True
                )
            )
            for organization_id, organization in organizations.items()
        }
        wanted = set().union(*seen_by.values())
        if not wanted:
            continue
        events, receivers = [], []
        rows = model.objects.filter(pk__in=wanted).select_related(*related).order_by("pk")
        if model is PbxUser:
            rows = rows.prefetch_related("phone_numbers")
        for obj in rows:
            data = data_of(obj) | dict((extra or {}).get(obj.pk, {}))
            subject = f"{model._meta.model_name}:{obj.pk}"
            events.append(
                WebhookEvent(
                    event_type=event_type,
                    organization_id=organization_of(obj),
                    subject=subject,
                    data=data,
                    occurred_at=now,
                )
            )
            receivers.append([endpoint for endpoint in endpoints if obj.pk in seen_by[endpoint.organization_id]])
        WebhookEvent.objects.bulk_create(events, batch_size=500)
        deliveries += [
            WebhookDelivery(
                endpoint=endpoint,
                event=event,
                subject=event.subject,
                next_attempt_at=now,
                give_up_at=give_up_at,
            )
            for event, endpoints_of_event in zip(events, receivers, strict=True)
            for endpoint in endpoints_of_event
        ]
    WebhookDelivery.objects.bulk_create(deliveries, batch_size=500)
    send_on_commit([delivery.pk for delivery in deliveries])
    return deliveries


def send_on_commit(delivery_ids: list[int]) -> None:
    if delivery_ids:
        transaction.on_commit(lambda: send(delivery_ids))


# --- the events --------------------------------------------------------------------------------


def job_finished(job: ProvisioningJob, *, status: str) -> None:
    """job.succeeded / job.failed, with the job as it now stands (call after its row is written)."""
    event_type = WebhookEventType.JOB_SUCCEEDED if status == "succeeded" else WebhookEventType.JOB_FAILED
    record(event_type, ProvisioningJob, [job.pk])


def users_created(ids: Iterable[int]) -> None:
    record(WebhookEventType.USER_CREATED, PbxUser, ids)


def users_updated(ids: Iterable[int]) -> None:
    record(WebhookEventType.USER_UPDATED, PbxUser, ids)


def user_deleting(user: PbxUser) -> None:
    """user.deleted: recorded just before the row goes, with the user as it was."""
    record(WebhookEventType.USER_DELETED, PbxUser, [user.pk])


def users_deleting(ids: Iterable[int]) -> None:
    """user.deleted for each of these users, just before they go (a tenant deleted with its users)."""
    record(WebhookEventType.USER_DELETED, PbxUser, ids)


def import_completed(run: ImportRun) -> None:
    record(WebhookEventType.IMPORT_COMPLETED, ImportRun, [run.pk])


def drift_found(scan: DriftScan) -> None:
    record(WebhookEventType.DRIFT_FOUND, DriftScan, [scan.pk])


def server_degraded(server_id: int, *, health: str, previous: str) -> None:
    """To the platform owner's organization and those above it only: the health is taken over every
    customer's jobs on the server, which a customer sharing it may not see."""
    owner = Server.objects.values_list("platform__organization__path", flat=True).get(pk=server_id)
    above = [e for e in subscribers(WebhookEventType.SERVER_DEGRADED) if owner.startswith(e.organization.path)]
    record(
        WebhookEventType.SERVER_DEGRADED,
        Server,
        [server_id],
        extra={server_id: {"health": health, "previous_health": previous}},
        endpoints=above,
    )
