"""A real Celery worker delivers the events of real pushes (to the XCU simulator) to a receiver on
loopback that fails at first: every event arrives, signed, at least once, each object's events in
order, and nothing of another customer's."""

from __future__ import annotations

import json

import pytest

from telephony.models import JobStatus, ProvisioningJob
from telephony.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from telephony.services.users import pbx_user_create, pbx_user_update
from telephony.services.webhooks import webhook_endpoint_create
from tenants.models import Organization, OrganizationKind
from tests.factories import OrganizationFactory
from tests.telephony.provisioning.workers import wait_until
from tests.telephony.webhooks.conftest import verifies

pytestmark = pytest.mark.slow

FAST_RETRIES = {"WEBHOOK_BACKOFF_BASE_SECONDS": "0.2", "WEBHOOK_BACKOFF_MAX_SECONDS": "1"}


def test_a_worker_delivers_every_event_in_order_through_a_failing_receiver(world, start_worker, receiver):
    customer = world.tenant.organization
    reseller = Organization.objects.get(path=customer.path[: -Organization.steplen])
    neighbour = OrganizationFactory(name="Neighbour", kind=OrganizationKind.CUSTOMER, parent=reseller)
    events = ["user.created", "user.updated", "job.succeeded", "job.failed"]
    _, secret = webhook_endpoint_create(
        actor=world.actor,
        endpoint=WebhookEndpoint(organization=neighbour, url=receiver.url + "?who=neighbour", events=events),
    )
    _, secret = webhook_endpoint_create(
        actor=world.actor, endpoint=WebhookEndpoint(organization=customer, url=receiver.url, events=events)
    )
    receiver.plan = [500, 502, 503]  # the first three requests fail, whichever they are
    start_worker(**FAST_RETRIES)
    users = [pbx_user_create(actor=world.actor, user=world.user(number)) for number in range(2000, 2005)]
    users[0].first_name = "Grace"
    pbx_user_update(actor=world.actor, user=users[0])

    def all_delivered() -> bool:
        jobs_done = not ProvisioningJob.objects.exclude(status=JobStatus.SUCCEEDED).exists()
        return jobs_done and not WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists()

    wait_until(all_delivered, timeout=90, message="every job done and every delivery delivered")

    assert not any("neighbour" in request.path for request in receiver.received), "another customer hears nothing"
    delivered = [json.loads(request.body) for request in receiver.received]
    for request in receiver.received:
        assert verifies(secret, request.headers, request.body)
    unique = {envelope["id"]: envelope for envelope in delivered}
    # the worker started after the endpoint was made: the world's tenant and entity jobs count too
    assert len(unique) == 6 + ProvisioningJob.objects.count(), "5 created, 1 updated, a job.succeeded per job"
    assert len(delivered) >= len(unique) + 3, "the failed requests were sent again"
    about_first = [
        e["type"] for e in unique.values() if e["type"].startswith("user.") and e["data"]["id"] == users[0].pk
    ]
    assert about_first == ["user.created", "user.updated"]
    order = [e["id"] for e in delivered]
    first_created = next(e for e in unique.values() if e["type"] == "user.created" and e["data"]["id"] == users[0].pk)
    updated = next(e for e in unique.values() if e["type"] == "user.updated")
    assert order.index(updated["id"]) > max(i for i, x in enumerate(order) if x == first_created["id"])
    succeeded = [e for e in unique.values() if e["type"] == "job.succeeded"]
    assert sum(e["data"]["object"]["type"] == "pbxuser" for e in succeeded) == 6, "5 creates, 1 update"
    assert WebhookDelivery.objects.filter(attempts__gt=1).exists()


def test_a_job_that_fails_is_reported(world, start_worker, receiver, settings):
    """The XCU answers every call with a 500: the user's create gives up after its attempts, and
    job.failed carries the PBX's words to the customer's endpoint."""
    customer = world.tenant.organization
    _, secret = webhook_endpoint_create(
        actor=world.actor, endpoint=WebhookEndpoint(organization=customer, url=receiver.url, events=["job.failed"])
    )
    start_worker(**FAST_RETRIES)
    wait_until(lambda: not ProvisioningJob.objects.exclude(status=JobStatus.SUCCEEDED).exists(), message="world")
    world.sim.set_faults({"error_rate": 1.0})
    settings.PROVISIONING_MAX_ATTEMPTS = 2  # read when the job is planned, in this process
    user = pbx_user_create(actor=world.actor, user=world.user(2000))
    wait_until(lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).exists(), timeout=90)
    [request] = receiver.received
    envelope = json.loads(request.body)
    assert envelope["type"] == "job.failed" and envelope["data"]["object"] == {"type": "pbxuser", "id": user.pk}
    assert envelope["data"]["status"] == "failed" and "500" in envelope["data"]["error"]
    assert verifies(secret, request.headers, request.body)
