"""Webhook events and their delivery, in process, against a receiver on loopback over real HTTP:
who hears of what, signatures (checked by the reference library and by hand), retries, giving
up, order per object, secret rotation, replay and the outbound-URL rules."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone

from telephony.models import PbxUser
from telephony.models.webhooks import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from telephony.services.users import pbx_user_create, pbx_user_delete, pbx_user_update
from telephony.services.webhooks import (
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_send_test,
    webhook_endpoint_update,
)
from telephony.webhooks import delivery as engine
from tenants.models import Role
from tests.factories import MembershipFactory
from tests.telephony.webhooks.conftest import verifies

pytestmark = pytest.mark.django_db


def deliver_all() -> list[str]:
    """Every pending delivery that is due, oldest first, once."""
    due = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
    return [engine.deliver(pk) for pk in due.order_by("id").values_list("id", flat=True)]


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_without_a_subscriber_nothing_is_written(tree):
    pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    assert not WebhookEvent.objects.exists()


def test_an_event_reaches_only_the_organizations_that_may_see_its_object(tree, receiver):
    secrets = {}
    for organization in (tree.distributor, tree.reseller_a, tree.customer_a, tree.reseller_b, tree.customer_b):
        url = f"{receiver.url}?org={organization.name.replace(' ', '-')}"
        secrets[organization.name.replace(" ", "-")] = tree.endpoint(organization, url, ["user.created"])[1]

    user = pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    assert deliver_all() == ["delivered"] * 3

    heard = sorted(request.path.split("org=")[1] for request in receiver.received)
    assert heard == ["Customer-A", "Distributor", "Reseller-A"], "never Reseller B or its customer"
    for request in receiver.received:
        assert verifies(secrets[request.path.split("org=")[1]], request.headers, request.body)
        envelope = json.loads(request.body)
        assert envelope["type"] == "user.created"
        assert envelope["id"] == request.headers["webhook-id"]
        assert envelope["data"]["id"] == user.pk and envelope["data"]["username"] == "a1001"
        assert "voicemail_pin" not in envelope["data"]
    assert len({request.headers["webhook-id"] for request in receiver.received}) == 1, "one event, three receivers"

    receiver.received.clear()
    pbx_user_create(actor=tree.root, user=tree.user("b", 1001))
    deliver_all()
    assert sorted(request.path.split("org=")[1] for request in receiver.received) == [
        "Customer-B",
        "Distributor",
        "Reseller-B",
    ]


def test_a_signature_from_another_secret_does_not_verify(tree, receiver):
    tree.endpoint(tree.customer_a, receiver.url, ["user.created"])
    _, other_secret = tree.endpoint(tree.customer_b, receiver.url, ["user.created"])
    pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    deliver_all()
    [request] = receiver.received
    assert not verifies(other_secret, request.headers, request.body)
    tampered = request.body.replace(b"a1001", b"a1002")
    assert not verifies(other_secret, request.headers, tampered)


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(tree, receiver, settings):
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 30
    tree.endpoint(tree.customer_a, receiver.url, ["user.created"])
    receiver.plan = [500, 503]
    pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    delivery = WebhookDelivery.objects.get()

    assert deliver_all() == ["retry"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_status_code == 500
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 25 < wait < 35, "the first retry waits the base delay"
    assert engine.deliver(delivery.pk) == "not due"

    make_due(delivery)
    assert engine.deliver(delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert 50 < (delivery.next_attempt_at - timezone.now()).total_seconds() < 70, "then twice as long"

    make_due(delivery)
    assert engine.deliver(delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 3
    log = list(WebhookAttempt.objects.filter(delivery=delivery).values_list("number", "status_code"))
    assert log == [(1, 500), (2, 503), (3, 200)]
    assert len({request.headers["webhook-id"] for request in receiver.received}) == 1, "the same event id each time"


def test_after_the_retry_window_it_gives_up(tree, receiver):
    tree.endpoint(tree.customer_a, receiver.url, ["user.created"])
    receiver.plan = [500]
    pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    WebhookDelivery.objects.update(give_up_at=timezone.now() - timedelta(seconds=1))
    assert deliver_all() == ["gave up"]
    assert WebhookDelivery.objects.get().status == DeliveryStatus.FAILED


def test_deliveries_about_one_object_keep_their_order(tree, receiver):
    tree.endpoint(tree.customer_a, receiver.url, ["user.created", "user.updated", "user.deleted"])
    receiver.plan = [500]
    user = pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    pbx_user_create(actor=tree.root, user=tree.user("a", 1002))
    user.first_name = "Grace"
    pbx_user_update(actor=tree.root, user=user)
    created, other_created, updated = WebhookDelivery.objects.order_by("id")

    assert engine.deliver(created.pk) == "retry"
    assert engine.deliver(updated.pk) == "waiting for an earlier delivery"
    assert engine.deliver(other_created.pk) == "delivered", "another object does not wait"
    make_due(created)
    assert engine.deliver(created.pk) == "delivered"
    assert engine.deliver(updated.pk) == "delivered"
    pbx_user_delete(actor=tree.root, user=PbxUser.objects.get(pk=user.pk))
    deliver_all()

    about_user = [json.loads(r.body) for r in receiver.received if json.loads(r.body)["data"]["id"] == user.pk]
    assert [e["type"] for e in about_user] == ["user.created", "user.created", "user.updated", "user.deleted"]
    assert about_user[2]["data"]["first_name"] == "Grace"
    assert about_user[3]["data"]["username"] == "a1001", "a deletion carries the user as it was"


def test_a_rotated_secret_signs_beside_the_new_one_until_the_overlap_ends(tree, receiver):
    endpoint, old = tree.endpoint(tree.customer_a, receiver.url, ["user.created"])
    new = webhook_endpoint_rotate_secret(actor=tree.root, endpoint=endpoint)
    assert new != old and new.startswith("whsec_")
    pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    deliver_all()
    request = receiver.received[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verifies(old, request.headers, request.body) and verifies(new, request.headers, request.body)

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    pbx_user_create(actor=tree.root, user=tree.user("a", 1002))
    deliver_all()
    request = receiver.received[-1]
    assert verifies(new, request.headers, request.body)
    assert not verifies(old, request.headers, request.body)


def test_a_replay_sends_the_same_event_again(tree, receiver):
    _endpoint, _ = tree.endpoint(tree.customer_a, receiver.url, ["user.created"])
    pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    receiver.plan = [500]
    deliver_all()
    first = WebhookDelivery.objects.get()
    with pytest.raises(ValidationError):
        webhook_delivery_replay(actor=tree.root, delivery=first)  # still being tried
    make_due(first)
    deliver_all()

    replay = webhook_delivery_replay(actor=tree.root, delivery=first)
    assert replay.replay_of == first and replay.event_id == first.event_id
    assert engine.deliver(replay.pk) == "delivered"
    ids = [request.headers["webhook-id"] for request in receiver.received]
    assert len(ids) == 3 and len(set(ids)) == 1


def test_only_an_administrator_of_the_endpoint_s_organization_may_replay(tree, receiver):
    tree.endpoint(tree.customer_a, receiver.url, ["user.created"])
    pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    viewer = MembershipFactory(organization=tree.customer_a, role=Role.VIEWER).user
    outsider = MembershipFactory(organization=tree.reseller_b, role=Role.ADMIN).user
    for login in (viewer, outsider):  # the services refuse as a 404; pages and the API tell a viewer 403
        with pytest.raises(Http404):
            webhook_delivery_replay(actor=login, delivery=delivery)
    admin = MembershipFactory(organization=tree.reseller_a, role=Role.ADMIN).user
    assert webhook_delivery_replay(actor=admin, delivery=delivery).status == DeliveryStatus.PENDING


def test_a_test_event_is_sent_on_request(tree, receiver):
    endpoint, secret = tree.endpoint(tree.customer_a, receiver.url, ["job.failed"])
    delivery = webhook_endpoint_send_test(actor=tree.root, endpoint=endpoint)
    assert engine.deliver(delivery.pk) == "delivered"
    [request] = receiver.received
    assert json.loads(request.body)["type"] == "webhook.test"
    assert verifies(secret, request.headers, request.body)


def test_an_inactive_endpoint_gets_no_new_events(tree, receiver):
    endpoint, _ = tree.endpoint(tree.customer_a, receiver.url, ["user.created"])
    endpoint.is_active = False
    webhook_endpoint_update(actor=tree.root, endpoint=endpoint)
    pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.0.0.5/hook", "outside the networks"),
        ("ftp://127.0.0.1/hook", "valid URL"),
        ("http://user:pw@127.0.0.1/hook", "credentials"),
        ("not a url", "valid URL"),
    ],
)
def test_urls_that_the_outbound_rules_refuse_are_not_saved(tree, url, words):
    with pytest.raises(ValidationError) as refused:
        tree.endpoint(tree.customer_a, url, ["user.created"])
    assert words in " ".join(refused.value.message_dict["url"])
    assert not WebhookEndpoint.objects.exists()


def test_events_must_be_known_and_chosen(tree, receiver):
    for events, words in (([], "at least one"), (["user.created", "user.hacked"], "user.hacked")):
        with pytest.raises(ValidationError) as refused:
            tree.endpoint(tree.customer_a, receiver.url, events)
        assert words in " ".join(refused.value.message_dict["events"])


def test_an_address_that_turned_unsafe_is_not_called(tree, receiver):
    endpoint, _ = tree.endpoint(tree.customer_a, receiver.url, ["user.created"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://169.254.169.254/latest")
    pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    assert deliver_all() == ["retry"]
    assert "link-local" in WebhookAttempt.objects.get().error
    assert not receiver.received


def test_only_administrators_register_endpoints(tree, receiver):
    operator = MembershipFactory(organization=tree.customer_a, role=Role.OPERATOR).user
    outsider = MembershipFactory(organization=tree.customer_b, role=Role.ADMIN).user
    for login in (operator, outsider):
        with pytest.raises(Http404):
            webhook_endpoint_create(
                actor=login,
                endpoint=WebhookEndpoint(organization=tree.customer_a, url=receiver.url, events=["user.created"]),
            )
    assert not WebhookEndpoint.objects.exists()


def test_a_2xx_whose_body_cannot_be_read_is_delivered_and_the_trouble_noted(tree, receiver):
    """The receiver said yes in its status line; what follows it (a body that is not the gzip it
    says, NUL bytes that PostgreSQL refuses in text) never leaves the delivery stuck."""
    tree.endpoint(tree.customer_a, receiver.url, ["user.created"])
    receiver.plan = ["broken-gzip", "binary"]
    pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    pbx_user_create(actor=tree.root, user=tree.user("a", 1002))
    assert deliver_all() == ["delivered", "delivered"]
    broken, binary = WebhookAttempt.objects.order_by("delivery_id")
    assert broken.status_code == 200 and "Decod" in broken.error
    assert binary.status_code == 200 and "\x00" not in binary.response_excerpt and "done" in binary.response_excerpt


def test_a_delivery_past_its_window_is_given_up_when_next_looked_at(tree, receiver):
    tree.endpoint(tree.customer_a, receiver.url, ["user.created", "user.updated"])
    receiver.plan = [500]
    user = pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    user.first_name = "Grace"
    pbx_user_update(actor=tree.root, user=user)
    first, second = WebhookDelivery.objects.order_by("id")
    assert engine.deliver(first.pk) == "retry"
    WebhookDelivery.objects.filter(pk=first.pk).update(
        next_attempt_at=timezone.now(), give_up_at=timezone.now() - timedelta(seconds=1)
    )
    assert engine.deliver(first.pk) == "gave up"
    assert WebhookDelivery.objects.get(pk=first.pk).attempts == 1, "not posted again"
    assert engine.deliver(second.pk) == "delivered", "the next one about the object goes"


def test_the_sweep_sends_only_the_first_delivery_of_each_object(tree, receiver, settings):
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0
    tree.endpoint(tree.customer_a, receiver.url, ["user.created", "user.updated"])
    user = pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    pbx_user_update(actor=tree.root, user=user)
    other = pbx_user_create(actor=tree.root, user=tree.user("a", 1002))
    assert other.pk and engine.sweep()["due"] == 2, "the user's first and the other user's, not the update"


def test_rotating_twice_keeps_the_secret_the_receiver_holds(tree, receiver):
    endpoint, held = tree.endpoint(tree.customer_a, receiver.url, ["user.created"])
    webhook_endpoint_rotate_secret(actor=tree.root, endpoint=endpoint)
    newest = webhook_endpoint_rotate_secret(actor=tree.root, endpoint=endpoint)  # the button pressed twice
    pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    deliver_all()
    request = receiver.received[-1]
    assert verifies(held, request.headers, request.body) and verifies(newest, request.headers, request.body)


def test_an_unencodable_host_name_is_a_field_message_not_a_crash(tree):
    with pytest.raises(ValidationError) as refused:
        tree.endpoint(tree.customer_a, "https://" + "é" * 60 + ".com/hook", ["user.created"])
    assert "not a host name that can be looked up" in " ".join(refused.value.message_dict["url"])


@pytest.mark.django_db(transaction=True)
def test_an_endpoint_deleted_while_a_change_records_its_event_never_fails_the_change(tree, receiver):
    """The change holds its transaction open after writing its event and delivery while another
    transaction deletes the endpoint and commits: the change still commits (on PostgreSQL a database
    constraint, checked at commit, would have failed it), nothing is sent, the sweep tidies up."""
    endpoint, _secret = tree.endpoint(tree.customer_a, receiver.url, ["user.created"])
    recorded, deleted, outcome = threading.Event(), threading.Event(), {}

    def delete_endpoint():
        try:
            recorded.wait(timeout=30)
            webhook_endpoint_delete(actor=tree.root, endpoint=endpoint)
            outcome["deleted"] = True
        except Exception as error:  # SQLite: the change holds the write lock; the delete waits or fails
            outcome["deleted"] = repr(error)
        finally:
            deleted.set()
            connection.close()

    deleter = threading.Thread(target=delete_endpoint)
    deleter.start()
    with transaction.atomic():
        user = pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
        recorded.set()
        deleted.wait(timeout=10 if connection.vendor == "postgresql" else 0.5)
    deleter.join(timeout=60)

    assert PbxUser.objects.filter(pk=user.pk).exists()
    if outcome.get("deleted") is not True:  # it waited for the change (SQLite): delete it now
        webhook_endpoint_delete(actor=tree.root, endpoint=endpoint)
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert set(deliver_all()) <= {"not pending"} and receiver.received == []
    assert engine.sweep()["due"] == 0
    assert not WebhookDelivery.objects.exists()
