"""Issue 17, part 5: webhook endpoints are registered, changed, tested, rotated and removed, and their
delivery log read and replayed, in the admin and on the self-service site; the secret is shown once;
another organization's endpoint answers 404, a viewer reads but changes nothing (403)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from telephony.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from telephony.services.webhooks import webhook_endpoint_create, webhook_endpoint_send_test
from tenants.models import Role

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hooks/portal"
HOSTILE = "<img src=x onerror=alert(1)>{{ 7|add:1 }}"


def shown_secret(page: str) -> str:
    found = re.search(r"<code class=\"webhook-secret\" data-secret>(whsec_[^<]+)</code>", page)
    return found.group(1) if found else ""


def pages(where: str, endpoint: WebhookEndpoint | None = None) -> str:
    name = "selfservice:webhook" if where == "selfservice" else "webhook"
    if endpoint is not None:
        return reverse(name, args=[endpoint.pk])
    return reverse("selfservice:webhooks" if where == "selfservice" else "webhooks")


def endpoint_of(organization, actor) -> WebhookEndpoint:
    endpoint, _secret = webhook_endpoint_create(
        actor=actor,
        endpoint=WebhookEndpoint(organization=organization, url=URL, events=["user.created"], description="theirs"),
    )
    return endpoint


@pytest.fixture
def login_for(customer, tree, member):
    def pick(where: str):
        return customer.admin if where == "selfservice" else member(tree.reseller, Role.ADMIN)

    return pick


@pytest.mark.parametrize("where", ["selfservice", "admin"])
def test_an_endpoint_is_registered_and_its_secret_shown_once(client, customer, login_for, where):
    client.force_login(login_for(where))
    answer = client.post(
        pages(where),
        {
            "organization": customer.organization.pk,
            "url": URL,
            "description": HOSTILE,
            "events": ["user.created", "job.failed"],
            "is_active": "on",
        },
    )
    secret = shown_secret(answer.content.decode())
    assert answer.status_code == 200 and secret and "no-store" in answer["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == secret and endpoint.events == ["job.failed", "user.created"], "in the list's order"
    assert secret not in str(answer.cookies) and secret not in str(client.session.items())
    listed = client.get(pages(where)).content.decode()
    assert secret not in listed and "&lt;img src=x onerror=alert(1)&gt;{{ 7|add:1 }}" in listed
    assert "<img src=x" not in listed
    detail = client.get(pages(where, endpoint)).content.decode()
    assert secret not in detail and "<img src=x" not in detail


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"url": "http://169.254.169.254/latest", "events": ["user.created"]}, "link-local"),
        ({"url": "http://10.1.2.3/hook", "events": ["user.created"]}, "outside the networks"),
        ({"url": URL, "events": ["user.hacked"]}, "user.hacked"),
        ({"url": "javascript:alert(1)", "events": ["user.created"]}, "valid URL"),
    ],
)
def test_a_refused_endpoint_says_why_and_saves_nothing(client, customer, data, words):
    client.force_login(customer.admin)
    answer = client.post(pages("selfservice"), {"organization": customer.organization.pk, **data})
    assert answer.status_code == 200 and words in answer.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("where", ["selfservice", "admin"])
def test_another_organization_s_endpoint_answers_404(client, customer, sibling, tree, member, where):
    theirs = endpoint_of(sibling.organization, sibling.admin)
    delivery = webhook_endpoint_send_test(actor=sibling.admin, endpoint=theirs)
    login = customer.admin if where == "selfservice" else member(customer.organization, Role.ADMIN)
    client.force_login(login)
    assert "theirs" not in client.get(pages(where)).content.decode()
    assert client.get(pages(where, theirs)).status_code == 404
    for action in ("save", "rotate", "test", "delete"):
        assert client.post(pages(where, theirs), {"action": action, "url": URL}).status_code == 404
    assert client.post(pages(where, theirs), {"action": "replay", "delivery": delivery.pk}).status_code == 404
    answer = client.post(pages("selfservice"), {"organization": sibling.organization.pk, "url": URL})
    assert answer.status_code in (200, 404) and WebhookEndpoint.objects.count() == 1
    assert WebhookEndpoint.objects.get().secret == theirs.secret


def test_a_delivery_of_another_endpoint_is_not_replayed_through_mine(client, customer, sibling):
    mine = endpoint_of(customer.organization, customer.admin)
    theirs = endpoint_of(sibling.organization, sibling.admin)
    delivery = webhook_endpoint_send_test(actor=sibling.admin, endpoint=theirs)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SUCCEEDED)
    client.force_login(customer.admin)
    answer = client.post(pages("selfservice", mine), {"action": "replay", "delivery": delivery.pk})
    assert answer.status_code == 404 and WebhookDelivery.objects.count() == 1


def test_a_viewer_reads_the_log_but_changes_nothing(client, customer, tree, member):
    endpoint = endpoint_of(customer.organization, customer.admin)
    webhook_endpoint_send_test(actor=customer.admin, endpoint=endpoint)
    viewer = member(tree.reseller, Role.VIEWER)
    client.force_login(viewer)
    page = client.get(pages("admin", endpoint)).content.decode()
    assert "webhook.test" in page and 'value="rotate"' not in page
    for action in ("rotate", "test", "delete", "save"):
        assert client.post(pages("admin", endpoint), {"action": action, "url": URL}).status_code == 403
    assert WebhookEndpoint.objects.get().secret == endpoint.secret
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("where", ["selfservice", "admin"])
def test_change_test_rotate_replay_and_remove(client, customer, login_for, where):
    endpoint = endpoint_of(customer.organization, customer.admin)
    client.force_login(login_for(where))
    here = pages(where, endpoint)
    saved = client.post(here, {"action": "save", "url": URL + "/v2", "events": ["job.failed"], "description": "x"})
    assert saved.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == URL + "/v2" and endpoint.events == ["job.failed"] and not endpoint.is_active

    refused = client.post(here, {"action": "save", "url": "http://169.254.169.254/", "events": ["job.failed"]})
    assert refused.status_code == 200 and "link-local" in refused.content.decode()
    assert WebhookEndpoint.objects.get().url == URL + "/v2"

    assert client.post(here, {"action": "test"}).status_code == 302
    assert not WebhookDelivery.objects.exists(), "an inactive endpoint is not tested"
    client.post(here, {"action": "save", "url": URL, "events": ["job.failed"], "is_active": "on"})
    assert client.post(here, {"action": "test"}).status_code == 302
    delivery = WebhookDelivery.objects.get()

    rotated = client.post(here, {"action": "rotate"})
    secret = shown_secret(rotated.content.decode())
    assert secret and secret != endpoint.secret and WebhookEndpoint.objects.get().secret == secret

    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    assert client.post(here, {"action": "replay", "delivery": delivery.pk}).status_code == 302
    assert WebhookDelivery.objects.filter(replay_of=delivery).count() == 1
    assert client.post(here, {"action": "replay", "delivery": "1 OR 1=1"}).status_code == 404
    assert "webhook.test" in client.get(here + "?status=failed").content.decode()
    assert "webhook.test" not in client.get(here + "?status=succeeded").content.decode()

    assert client.post(here, {"action": "delete"}).status_code == 302
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()


def test_an_end_user_and_a_visitor_have_no_webhooks_page(client, customer):
    assert client.get(pages("selfservice")).status_code == 302
    client.force_login(customer.end_user)
    assert client.get(pages("selfservice")).status_code == 404
