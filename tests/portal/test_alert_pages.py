"""Alerts by e-mail (issue 16, part 6), the pages: staff choose in the admin, customer administrators
on the self-service site, each login for itself only; closed while acting as a customer."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import AlertDelivery, AlertNotice, AlertSubscription, AlertTopic
from tenants.models import Role

pytestmark = pytest.mark.django_db

ADMIN_PAGE = "/admin/alerts/"
SELFSERVICE_PAGE = "/alerts/"
HOSTILE = "{{ 7*7 }} <img src=x onerror=alert(1)>"
ESCAPED = "{{ 7*7 }} &lt;img src=x onerror=alert(1)&gt;"
BOTH = {AlertTopic.FAILED_PUSHES: AlertDelivery.DIGEST, AlertTopic.SERVER_DEGRADED: ""}


@pytest.fixture
def staff(tree, member):
    return member(tree.reseller, Role.VIEWER, username="res.viewer")


def test_the_url_names_are_the_pages():
    assert reverse("alert_choices") == ADMIN_PAGE
    assert reverse("selfservice:alert_choices") == SELFSERVICE_PAGE


def test_staff_choose_their_alerts_in_the_admin(client, staff):
    client.force_login(staff)
    page = client.get(ADMIN_PAGE)
    assert page.status_code == 200 and "res.viewer@example.net" in page.content.decode()
    assert 'href="/admin/alerts/"' in client.get("/admin/").content.decode()
    response = client.post(ADMIN_PAGE, BOTH)
    assert response.status_code == 302 and response["Location"] == ADMIN_PAGE
    (subscription,) = AlertSubscription.objects.all()
    assert (subscription.user, subscription.topic, subscription.delivery) == (
        staff,
        AlertTopic.FAILED_PUSHES,
        AlertDelivery.DIGEST,
    )
    assert "Your alerts are saved." in client.get(ADMIN_PAGE).content.decode()


def test_a_post_naming_another_login_changes_only_the_visitors_own(client, staff, tree, member):
    other = member(tree.reseller, Role.ADMIN)
    theirs = AlertSubscription.objects.create(
        user=other, topic=AlertTopic.FAILED_PUSHES, delivery=AlertDelivery.IMMEDIATE, read_until=timezone.now()
    )
    client.force_login(staff)
    client.post(ADMIN_PAGE, {**BOTH, "user": other.pk, "id": theirs.pk, "subscription": theirs.pk})
    theirs.refresh_from_db()
    assert theirs.user == other and theirs.delivery == AlertDelivery.IMMEDIATE
    assert AlertSubscription.objects.filter(user=staff).count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {AlertTopic.FAILED_PUSHES: "hourly", AlertTopic.SERVER_DEGRADED: ""},
        {AlertTopic.FAILED_PUSHES: AlertDelivery.IMMEDIATE},  # a topic left out
        {},
    ],
)
def test_bad_input_is_answered_with_a_message_and_changes_nothing(client, staff, data):
    client.force_login(staff)
    response = client.post(ADMIN_PAGE, data)
    assert response.status_code == 200 and response.context["form"].errors
    assert not AlertSubscription.objects.exists()


def test_a_login_without_an_address_is_told_on_the_page(client, staff):
    staff.email = ""
    staff.save()
    client.force_login(staff)
    response = client.post(ADMIN_PAGE, BOTH)
    assert response.status_code == 200
    assert "no e-mail address to send alerts to" in response.content.decode()
    assert not AlertSubscription.objects.exists()


def test_an_entity_administrator_has_no_admin_alerts_page(client, tree, member, customer):
    login = member(tree.customer, Role.ADMIN)
    login.memberships.all().delete()
    customer.sales.administrators.add(login)
    client.force_login(login)
    assert client.get(ADMIN_PAGE).status_code == 404
    assert client.post(ADMIN_PAGE, BOTH).status_code == 404
    assert not AlertSubscription.objects.exists()


def test_a_customer_administrator_chooses_on_the_self_service_site(admin_client, customer):
    page = admin_client.get(SELFSERVICE_PAGE)
    assert page.status_code == 200
    assert 'href="/alerts/"' in page.content.decode(), "in the menu"
    response = admin_client.post(SELFSERVICE_PAGE, BOTH)
    assert response.status_code == 302 and response["Location"] == SELFSERVICE_PAGE
    assert AlertSubscription.objects.get().user == customer.admin
    assert admin_client.get(ADMIN_PAGE).status_code == 302, "no admin for a customer administrator"


def test_an_end_user_has_no_alerts(end_user_client):
    assert end_user_client.get(SELFSERVICE_PAGE).status_code == 404
    assert end_user_client.post(SELFSERVICE_PAGE, BOTH).status_code == 404
    assert 'href="/alerts/"' not in end_user_client.get("/my-line/").content.decode()
    assert not AlertSubscription.objects.exists()


def test_staff_who_are_also_customer_administrators_are_sent_to_the_admin(client, tree, member, customer):
    login = member(customer.organization, Role.ADMIN)
    client.force_login(login)
    response = client.get(SELFSERVICE_PAGE)
    assert response.status_code == 302 and response["Location"] == ADMIN_PAGE


def test_the_page_is_closed_while_acting_as_a_customer(client, tree, member, customer):
    actor = member(tree.reseller, Role.ADMIN)
    client.force_login(actor)
    client.post(reverse("selfservice:acting_start", args=[customer.organization.pk]))
    dashboard = client.get(reverse("selfservice:dashboard")).content.decode()
    assert 'href="/alerts/"' not in dashboard
    for response in (client.get(SELFSERVICE_PAGE), client.post(SELFSERVICE_PAGE, BOTH), client.get(ADMIN_PAGE)):
        assert response.status_code == 302 and response["Location"] == reverse("selfservice:dashboard")
    assert not AlertSubscription.objects.exists()


def test_hostile_names_in_the_latest_alerts_are_escaped(admin_client, customer):
    subscription = AlertSubscription.objects.create(
        user=customer.admin, topic=AlertTopic.FAILED_PUSHES, delivery=AlertDelivery.IMMEDIATE, read_until=timezone.now()
    )
    AlertNotice.objects.create(
        subscription=subscription, key="k", text=HOSTILE, occurred_at=timezone.now(), mailed_at=timezone.now()
    )
    body = admin_client.get(SELFSERVICE_PAGE).content.decode()
    assert ESCAPED in body and HOSTILE not in body
