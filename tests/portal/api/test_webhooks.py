"""Issue 17: outgoing webhooks in the REST API. Endpoints are registered, changed, deleted, rotated and
tested through the webhook services (administrators of their organization only); the signing secret
is answered once, by the create and by a rotation, and never read again (nor kept by an
Idempotency-Key); deliveries are read with their event and attempts and replayed; another
organization's endpoint, delivery or organization answers as one that does not exist, in the path,
in a body and in a filter; the services' refusals come back field by field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.api.models import IdempotentRequest
from telephony.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from telephony.services.webhooks import webhook_endpoint_create
from telephony.webhooks import delivery as engine
from tenants.models import Role
from tests.factories import MembershipFactory, UserFactory
from tests.portal.api.test_tokens_and_scope import bearer, token_of
from tests.telephony.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db

API = "/api/v1"
JSON = "application/json"


def endpoint_of(organization, actor, url: str = "http://127.0.0.1:9/hooks", events=("user.created",)):
    endpoint, _secret = webhook_endpoint_create(
        actor=actor, endpoint=WebhookEndpoint(organization=organization, url=url, events=list(events))
    )
    return endpoint


def delivery_to(endpoint, status: str = DeliveryStatus.FAILED, event_type: str = "user.created") -> WebhookDelivery:
    now = timezone.now()
    event = WebhookEvent.objects.create(
        event_type=event_type,
        organization=endpoint.organization,
        subject="pbxuser:1",
        data={"id": 1, "username": "a1001"},
        occurred_at=now,
    )
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        subject=event.subject,
        status=status,
        attempts=3 if status == DeliveryStatus.FAILED else 0,
        next_attempt_at=now,
        give_up_at=now + timedelta(hours=24),
        last_status_code=500 if status == DeliveryStatus.FAILED else None,
    )


def login_with(customer, role: str):
    login = UserFactory(username=f"acme.{role}", is_staff=False)
    MembershipFactory(user=login, organization=customer.organization, role=role)
    return login


@pytest.fixture
def theirs(sibling, superuser):
    """The sibling customer's endpoint and one of its deliveries (given up on)."""
    endpoint = endpoint_of(sibling.organization, superuser, url="http://127.0.0.1:9/globex-hooks")
    return endpoint, delivery_to(endpoint)


def new_body(customer, **changes) -> dict:
    body = {
        "organization": customer.organization.pk,
        "url": "http://127.0.0.1:9/hooks/portal",
        "description": "Billing",
        "events": ["user.created", "job.failed"],
    }
    return {**body, **changes}


# --- endpoints: create, the secret, reads --------------------------------------------------------


def test_create_answers_the_secret_once_and_no_read_shows_it(client, customer):
    raw = token_of(customer.admin)
    made = client.post(f"{API}/webhook-endpoints/", new_body(customer), content_type=JSON, **bearer(raw))
    assert made.status_code == 201, made.json()
    assert made["Cache-Control"] == "no-store", "no cache on the way keeps the secret"
    endpoint = WebhookEndpoint.objects.get()
    answer = made.json()
    secret = answer.pop("secret")
    assert secret.startswith("whsec_") and secret == endpoint.secret
    assert answer == {
        "id": endpoint.pk,
        "organization": customer.organization.pk,
        "url": "http://127.0.0.1:9/hooks/portal",
        "description": "Billing",
        "events": ["job.failed", "user.created"],  # in the order of the event types
        "is_active": True,
        "created_at": answer["created_at"],
        "pending_count": 0,
        "failed_count": 0,
        "previous_secret_expires_at": None,
    }
    assert made["Location"].endswith(f"/api/v1/webhook-endpoints/{endpoint.pk}/")
    assert endpoint.created_by == customer.admin

    reads = [
        client.get(f"{API}/webhook-endpoints/", **bearer(raw)),
        client.get(f"{API}/webhook-endpoints/{endpoint.pk}/", **bearer(raw)),
        client.get(f"{API}/webhook-endpoints/", {"search": "billing"}, **bearer(raw)),
    ]
    for read in reads:
        assert read.status_code == 200
        assert secret not in read.content.decode() and b'"secret"' not in read.content
    assert reads[1].json() == answer and reads[1]["ETag"]
    assert [row["id"] for row in reads[2].json()["results"]] == [endpoint.pk]


def test_a_retried_create_makes_one_endpoint_and_never_keeps_the_secret(client, customer):
    raw = token_of(customer.admin)
    key = {"HTTP_IDEMPOTENCY_KEY": "create-hook-1"}
    first = client.post(f"{API}/webhook-endpoints/", new_body(customer), content_type=JSON, **key, **bearer(raw))
    again = client.post(f"{API}/webhook-endpoints/", new_body(customer), content_type=JSON, **key, **bearer(raw))
    assert first.status_code == again.status_code == 201
    assert WebhookEndpoint.objects.count() == 1
    secret = first.json()["secret"]
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == {**first.json(), "secret": None}
    assert secret not in str(list(IdempotentRequest.objects.values_list("response", flat=True)))


def test_the_services_refusals_come_back_field_by_field(client, customer):
    raw = token_of(customer.admin)

    def refused(**changes) -> dict:
        answer = client.post(
            f"{API}/webhook-endpoints/", new_body(customer, **changes), content_type=JSON, **bearer(raw)
        )
        assert answer.status_code == 400, answer.json()
        return answer.json()

    metadata = refused(url="http://169.254.169.254/latest/meta-data/")
    assert list(metadata) == ["url"] and metadata["url"][0]
    assert "url" in refused(url="http://10.0.0.5/hooks")
    assert "url" in refused(url="not an address")
    assert "url" in refused(url="http://user:pw@127.0.0.1:9/hooks")
    unknown = refused(events=["user.created", "user.exploded"])
    assert list(unknown) == ["events"] and "user.exploded" in unknown["events"][0]
    assert "events" in refused(events=[])
    assert "events" in refused(events=["webhook.test"]), "the test event is not subscribed to"
    assert "events" in refused(events="user.created")
    assert not WebhookEndpoint.objects.exists()


def test_list_filters_by_organization_and_activity(client, customer, tree, member):
    reseller_admin = member(tree.reseller)
    mine = endpoint_of(customer.organization, customer.admin)
    above = endpoint_of(tree.reseller, reseller_admin, url="http://127.0.0.1:9/reseller")
    WebhookEndpoint.objects.filter(pk=above.pk).update(is_active=False)
    raw = token_of(reseller_admin)

    def listed(**query) -> list[int]:
        answer = client.get(f"{API}/webhook-endpoints/", query, **bearer(raw))
        assert answer.status_code == 200, answer.json()
        return sorted(row["id"] for row in answer.json()["results"])

    assert listed() == sorted([mine.pk, above.pk])
    assert listed(organization=customer.organization.pk) == [mine.pk]
    assert listed(is_active="false") == [above.pk]
    assert listed(is_active="true") == [mine.pk]
    assert client.get(f"{API}/webhook-endpoints/", {"is_active": "maybe"}, **bearer(raw)).status_code == 400
    # the customer does not see its reseller's endpoint
    customer_view = client.get(f"{API}/webhook-endpoints/", **bearer(token_of(customer.admin))).json()["results"]
    assert [row["id"] for row in customer_view] == [mine.pk]


# --- endpoints: update, delete, If-Match ---------------------------------------------------------


def test_an_update_goes_through_the_service_and_honours_if_match(client, customer, tree):
    raw = token_of(customer.admin)
    endpoint = endpoint_of(customer.organization, customer.admin)
    url = f"{API}/webhook-endpoints/{endpoint.pk}/"
    etag = client.get(url, **bearer(raw))["ETag"]
    changed = client.patch(
        url, {"events": ["drift.found"], "description": "Drift"}, content_type=JSON, HTTP_IF_MATCH=etag, **bearer(raw)
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["events"] == ["drift.found"] and changed["ETag"] != etag
    stale = client.patch(url, {"description": "Late"}, content_type=JSON, HTTP_IF_MATCH=etag, **bearer(raw))
    assert stale.status_code == 412
    assert client.delete(url, HTTP_IF_MATCH=etag, **bearer(raw)).status_code == 412
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (stored.description, stored.events) == ("Drift", ["drift.found"])

    refused = client.patch(url, {"url": "http://169.254.169.254/"}, content_type=JSON, **bearer(raw))
    assert refused.status_code == 400 and list(refused.json()) == ["url"]
    moved = client.put(
        url,
        {**new_body(customer), "organization": tree.reseller.pk, "is_active": False},
        content_type=JSON,
        **bearer(raw),
    )
    assert moved.status_code == 200, moved.json()
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert stored.organization_id == customer.organization.pk and not stored.is_active, "never another organization"
    assert stored.secret == endpoint.secret, "an update never touches the secret"

    assert client.delete(url, HTTP_IF_MATCH=client.get(url, **bearer(raw))["ETag"], **bearer(raw)).status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


# --- rotation and the test event -----------------------------------------------------------------


def test_rotate_secret_answers_the_new_secret_once_and_when_the_old_one_stops(client, customer):
    raw = token_of(customer.admin)
    endpoint = endpoint_of(customer.organization, customer.admin)
    old = endpoint.secret
    rotated = client.post(f"{API}/webhook-endpoints/{endpoint.pk}/rotate-secret/", **bearer(raw))
    assert rotated.status_code == 200, rotated.json()
    assert rotated["Cache-Control"] == "no-store"
    answer = rotated.json()
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert answer["endpoint"] == endpoint.pk
    assert answer["secret"] == stored.secret != old and stored.previous_secret == old
    assert answer["secret"].startswith("whsec_")
    read = client.get(f"{API}/webhook-endpoints/{endpoint.pk}/", **bearer(raw))
    assert read.json()["previous_secret_expires_at"] == answer["previous_secret_expires_at"]
    assert answer["previous_secret_expires_at"] is not None
    assert stored.previous_secret_expires_at > timezone.now() + timedelta(hours=23)
    assert answer["secret"] not in read.content.decode() and old not in read.content.decode()

    key = {"HTTP_IDEMPOTENCY_KEY": "rotate-1"}
    first = client.post(f"{API}/webhook-endpoints/{endpoint.pk}/rotate-secret/", **key, **bearer(raw))
    again = client.post(f"{API}/webhook-endpoints/{endpoint.pk}/rotate-secret/", **key, **bearer(raw))
    assert again["Idempotent-Replayed"] == "true" and again.json()["secret"] is None
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == first.json()["secret"], "rotated once"
    assert first.json()["secret"] not in str(list(IdempotentRequest.objects.values_list("response", flat=True)))


def test_the_test_event_is_delivered_and_its_attempt_is_read_back(client, customer):
    receiver = Receiver().start()
    try:
        raw = token_of(customer.admin)
        endpoint = endpoint_of(customer.organization, customer.admin, url=receiver.url)
        sent = client.post(f"{API}/webhook-endpoints/{endpoint.pk}/test/", **bearer(raw))
        assert sent.status_code == 202, sent.json()
        queued = sent.json()
        assert queued["endpoint"] == endpoint.pk and queued["status"] == "pending" and queued["attempts"] == []
        assert queued["event_type"] == queued["event"]["type"] == "webhook.test"
        assert sent["Location"].endswith(f"/api/v1/webhook-deliveries/{queued['id']}/")
        assert engine.deliver(queued["id"]) == "delivered"
        (received,) = receiver.received
        assert received.headers["webhook-id"] == queued["event_id"] == queued["event"]["event_id"]
    finally:
        receiver.stop()
    detail = client.get(f"{API}/webhook-deliveries/{queued['id']}/", **bearer(raw))
    assert detail.status_code == 200 and detail["ETag"]
    body = detail.json()
    assert body["status"] == "succeeded" and body["attempt_count"] == 1 and body["last_status_code"] == 200
    (attempt,) = body["attempts"]
    assert attempt["number"] == 1 and attempt["status_code"] == 200 and attempt["response_excerpt"] == "ok"
    assert attempt["error"] == "" and attempt["duration_ms"] >= 0 and attempt["started_at"]
    assert body["event"]["data"]["endpoint"] == endpoint.pk and body["event"]["occurred_at"]
    counts = client.get(f"{API}/webhook-endpoints/{endpoint.pk}/", **bearer(raw)).json()
    assert (counts["pending_count"], counts["failed_count"]) == (0, 0)

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    inactive = client.post(f"{API}/webhook-endpoints/{endpoint.pk}/test/", **bearer(raw))
    assert inactive.status_code == 400 and inactive.json()["non_field_errors"]


# --- deliveries ----------------------------------------------------------------------------------


def test_deliveries_list_filter_and_read_with_their_event(client, customer):
    raw = token_of(customer.admin)
    endpoint = endpoint_of(customer.organization, customer.admin)
    other = endpoint_of(customer.organization, customer.admin, url="http://127.0.0.1:9/other")
    failed = delivery_to(endpoint)
    pending = delivery_to(endpoint, status=DeliveryStatus.PENDING, event_type="job.failed")
    elsewhere = delivery_to(other, status=DeliveryStatus.SUCCEEDED)

    def listed(**query) -> list[int]:
        answer = client.get(f"{API}/webhook-deliveries/", query, **bearer(raw))
        assert answer.status_code == 200, answer.json()
        return [row["id"] for row in answer.json()["results"]]

    assert listed() == [failed.pk, pending.pk, elsewhere.pk]
    assert listed(endpoint=endpoint.pk) == [failed.pk, pending.pk]
    assert listed(status="failed") == [failed.pk]
    assert listed(event_type="job.failed") == [pending.pk]
    assert listed(page_size=2) == [failed.pk, pending.pk]
    for query in ({"status": "lost"}, {"event_type": "user.exploded"}, {"endpoint": "x"}):
        assert client.get(f"{API}/webhook-deliveries/", query, **bearer(raw)).status_code == 400
    row = client.get(f"{API}/webhook-deliveries/", **bearer(raw)).json()["results"][0]
    assert row["event_id"] == str(failed.event.uuid) and row["event_type"] == "user.created"
    assert "attempts" not in row and "event" not in row
    detail = client.get(f"{API}/webhook-deliveries/{failed.pk}/", **bearer(raw)).json()
    assert detail["event"] == {
        "event_id": str(failed.event.uuid),
        "type": "user.created",
        "occurred_at": detail["event"]["occurred_at"],
        "data": {"id": 1, "username": "a1001"},
    }
    assert (detail["status"], detail["attempt_count"], detail["last_status_code"]) == ("failed", 3, 500)
    counts = client.get(f"{API}/webhook-endpoints/{endpoint.pk}/", **bearer(raw)).json()
    assert (counts["pending_count"], counts["failed_count"]) == (1, 1)
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(f"{API}/webhook-deliveries/{failed.pk}/", **bearer(raw)).status_code == 405
    assert client.post(f"{API}/webhook-deliveries/", {}, content_type=JSON, **bearer(raw)).status_code == 405


def test_replay_makes_a_new_delivery_of_the_same_event(client, customer):
    raw = token_of(customer.admin)
    endpoint = endpoint_of(customer.organization, customer.admin)
    failed = delivery_to(endpoint)
    replayed = client.post(f"{API}/webhook-deliveries/{failed.pk}/replay/", **bearer(raw))
    assert replayed.status_code == 202, replayed.json()
    answer = replayed.json()
    assert answer["id"] != failed.pk and answer["replay_of"] == failed.pk and answer["status"] == "pending"
    assert answer["event_id"] == str(failed.event.uuid)
    assert WebhookDelivery.objects.get(pk=answer["id"]).requested_by == customer.admin
    pending = client.post(f"{API}/webhook-deliveries/{answer['id']}/replay/", **bearer(raw))
    assert pending.status_code == 400 and pending.json()["non_field_errors"]
    assert WebhookDelivery.objects.count() == 2


# --- who may do what -----------------------------------------------------------------------------


def test_a_viewer_reads_but_never_writes(client, customer, viewer):
    endpoint = endpoint_of(customer.organization, customer.admin)
    failed = delivery_to(endpoint)
    raw = token_of(viewer)
    assert client.get(f"{API}/webhook-endpoints/{endpoint.pk}/", **bearer(raw)).status_code == 200
    assert client.get(f"{API}/webhook-deliveries/{failed.pk}/", **bearer(raw)).status_code == 200
    url = f"{API}/webhook-endpoints/{endpoint.pk}/"
    # a create in an organization it only reads: 403, as a change of an object it only reads
    made = client.post(f"{API}/webhook-endpoints/", new_body(customer), content_type=JSON, **bearer(raw))
    assert made.status_code == 403
    answers = [
        client.patch(url, {"description": "mine"}, content_type=JSON, **bearer(raw)),
        client.put(url, new_body(customer), content_type=JSON, **bearer(raw)),
        client.delete(url, **bearer(raw)),
        client.post(f"{url}rotate-secret/", **bearer(raw)),
        client.post(f"{url}test/", **bearer(raw)),
        client.post(f"{API}/webhook-deliveries/{failed.pk}/replay/", **bearer(raw)),
    ]
    assert [answer.status_code for answer in answers] == [403] * len(answers)
    stored = WebhookEndpoint.objects.get()
    assert (stored.description, stored.secret) == ("", endpoint.secret)
    assert WebhookDelivery.objects.count() == 1


def test_an_operator_may_not_manage_webhooks(client, customer):
    endpoint = endpoint_of(customer.organization, customer.admin)
    raw = token_of(login_with(customer, Role.OPERATOR))
    assert client.get(f"{API}/webhook-endpoints/{endpoint.pk}/", **bearer(raw)).status_code == 200
    made = client.post(f"{API}/webhook-endpoints/", new_body(customer), content_type=JSON, **bearer(raw))
    assert made.status_code == 403, "it sees the organization: as a PBX user where the login may not add one"
    assert made.json() == {"detail": "You may see this organization but not add this here."}
    url = f"{API}/webhook-endpoints/{endpoint.pk}/"
    assert client.patch(url, {"description": "x"}, content_type=JSON, **bearer(raw)).status_code == 403
    assert client.post(f"{url}rotate-secret/", **bearer(raw)).status_code == 403
    assert WebhookEndpoint.objects.count() == 1


def test_a_read_token_never_writes(client, customer):
    endpoint = endpoint_of(customer.organization, customer.admin)
    raw = token_of(customer.admin, scope="read")
    assert (
        client.post(f"{API}/webhook-endpoints/", new_body(customer), content_type=JSON, **bearer(raw)).status_code
        == 403
    )
    assert client.post(f"{API}/webhook-endpoints/{endpoint.pk}/rotate-secret/", **bearer(raw)).status_code == 403
    assert WebhookEndpoint.objects.get().secret == endpoint.secret


def test_another_organization_s_endpoint_delivery_or_organization_is_one_that_does_not_exist(
    client, customer, sibling, theirs
):
    endpoint, delivery = theirs
    raw = token_of(customer.admin)
    for resource, foreign in (("webhook-endpoints", endpoint.pk), ("webhook-deliveries", delivery.pk)):
        found = client.get(f"{API}/{resource}/{foreign}/", **bearer(raw))
        missing = client.get(f"{API}/{resource}/99999999/", **bearer(raw))
        assert found.status_code == missing.status_code == 404 and found.json() == missing.json()
    url = f"{API}/webhook-endpoints/{endpoint.pk}/"
    writes = [
        ("patch", url, {"description": "hijacked"}),
        ("put", url, new_body(customer)),
        ("delete", url, None),
        ("post", f"{url}rotate-secret/", None),
        ("post", f"{url}test/", None),
        ("post", f"{API}/webhook-deliveries/{delivery.pk}/replay/", None),
    ]
    for method, path, body in writes:
        extra = {"data": body, "content_type": JSON} if body is not None else {}
        found = getattr(client, method)(path, **extra, **bearer(raw))
        missing_path = path.replace(f"/{endpoint.pk}/", "/99999999/").replace(f"/{delivery.pk}/", "/99999999/")
        missing = getattr(client, method)(missing_path, **extra, **bearer(raw))
        assert found.status_code == missing.status_code == 404, (method, path)
        assert found.json() == missing.json()
    # in a body: the organization reads as one that does not exist
    refused = client.post(
        f"{API}/webhook-endpoints/",
        new_body(customer, organization=sibling.organization.pk),
        content_type=JSON,
        **bearer(raw),
    )
    absent = client.post(
        f"{API}/webhook-endpoints/", new_body(customer, organization=99999999), content_type=JSON, **bearer(raw)
    )
    assert refused.status_code == absent.status_code == 400
    assert refused.json()["organization"] == [
        m.replace("99999999", str(sibling.organization.pk)) for m in absent.json()["organization"]
    ]
    # in a filter: nothing is listed
    for resource, query in (
        ("webhook-endpoints", {"organization": sibling.organization.pk}),
        ("webhook-deliveries", {"endpoint": endpoint.pk}),
    ):
        answer = client.get(f"{API}/{resource}/", query, **bearer(raw))
        assert answer.status_code == 200 and answer.json()["results"] == []
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (stored.description, stored.secret) == ("", endpoint.secret)
    assert WebhookEndpoint.objects.filter(organization=customer.organization).count() == 0
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1
