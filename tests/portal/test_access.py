"""Same rules as everywhere: another organization's objects answer 404 on every page and form
action, and change nothing; an end user reaches their own line and nothing else."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telephony.models import PbxUser, PhoneNumber, ProvisioningJob
from tenants.models import Role
from tests.factories import MembershipFactory, UserFactory
from tests.portal.routes import customer_admin_routes, new_user_data, site_pages

pytestmark = pytest.mark.django_db


def snapshot():
    """What a refused request must leave exactly as it was."""
    return (
        ProvisioningJob.objects.count(),
        sorted(PbxUser.objects.values_list("pk", "last_name", "forward_busy", "voicemail_pin")),
        sorted(PhoneNumber.objects.values_list("pk", "assigned_user_id")),
    )


def routes_of(customer):
    return {str(route): route for route in customer_admin_routes(customer)}


ROUTE_NAMES = [
    "GET user list of the tenant",
    "GET user_create",
    "POST user_create",
    "GET user_detail",
    "GET user_pushes",
    "GET user_edit",
    "POST user_edit",
    "GET user_line",
    "POST user_line",
    "POST user_number_add",
    "POST user_number_release",
    "POST user_pin_reset",
    "GET user_delete",
    "POST user_delete",
]


def test_the_route_list_covers_every_route_of_the_customer_administrator(customer):
    assert sorted(routes_of(customer)) == sorted(ROUTE_NAMES)


@pytest.mark.parametrize("name", ROUTE_NAMES)
def test_the_customer_administrator_may_use_every_route(client, customer, name):
    """The control for the 404 tests below: the same request works for the right login."""
    client.force_login(customer.admin)
    response = routes_of(customer)[name].call(client)
    assert response.status_code in (200, 302), response.content[:2000]
    if name.startswith("POST"):
        assert response.status_code == 302 or b"New voicemail PIN" in response.content


@pytest.mark.parametrize("name", ROUTE_NAMES)
def test_a_sibling_customer_administrator_gets_404_and_changes_nothing(client, customer, sibling, name):
    client.force_login(sibling.admin)
    before = snapshot()
    assert routes_of(customer)[name].call(client).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("name", ROUTE_NAMES)
def test_an_end_user_gets_404_on_every_administrator_route_even_for_their_own_line(client, customer, name):
    client.force_login(customer.end_user)
    before = snapshot()
    assert routes_of(customer)[name].call(client).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    "name", [n for n in ROUTE_NAMES if n not in ("GET user list of the tenant", "GET user_detail", "GET user_pushes")]
)
def test_a_read_only_member_sees_but_changes_nothing(client, customer, viewer, name):
    client.force_login(viewer)
    before = snapshot()
    assert routes_of(customer)[name].call(client).status_code == 404
    assert snapshot() == before


def test_a_read_only_member_sees_users_without_the_buttons_to_change_them(client, customer, viewer):
    client.force_login(viewer)
    response = client.get(reverse("selfservice:user_detail", args=[customer.line.pk]))
    assert response.status_code == 200
    assert b"Reset the voicemail PIN" not in response.content and b"Delete" not in response.content
    assert b"Add a user" not in client.get(reverse("selfservice:user_list")).content


@pytest.mark.parametrize("url", site_pages())
def test_sibling_pages_show_nothing_of_the_customer(client, customer, sibling, url):
    client.force_login(sibling.admin)
    response = client.get(url, follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    for user in customer.users:
        assert user.last_name not in body and user.username not in body
    assert customer.tenant.name not in body and customer.free_numbers[0].number not in body
    if url in (reverse("selfservice:dashboard"), reverse("selfservice:user_list")):
        assert sibling.users[0].last_name in body or sibling.tenant.label in body, "it shows the sibling's own"


def test_a_sibling_cannot_give_its_user_the_customers_free_number(client, customer, sibling):
    client.force_login(sibling.admin)
    number = customer.free_numbers[0]
    url = reverse("selfservice:user_number_add", args=[sibling.line.pk])
    response = client.post(url, {"number": number.pk})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert PhoneNumber.objects.get(pk=number.pk).assigned_user_id is None


def test_a_sibling_cannot_create_a_user_in_its_tenant_with_the_customers_entity(client, customer, sibling):
    client.force_login(sibling.admin)
    data = new_user_data(sibling, entity=customer.sales.pk, template=customer.template.pk, number="")
    response = client.post(reverse("selfservice:user_create", args=[sibling.tenant.pk]), data)
    assert response.status_code == 200
    assert not PbxUser.objects.filter(username="nina.new").exists()


# --- end users ---------------------------------------------------------------------------------------


def test_an_end_user_sees_their_own_line_only(client, customer):
    second = UserFactory(username="acme.bob", is_staff=False)
    PbxUser.objects.filter(pk=customer.users[1].pk).update(portal_user=second)
    client.force_login(second)
    body = client.get(reverse("selfservice:my_line")).content.decode()
    assert "2102" in body and "Bob" in body
    assert customer.numbers_taken[0].number not in body, "Alice's number never shows on Bob's page"


def test_an_end_user_cannot_reach_another_line_by_adding_its_id(client, customer):
    client.force_login(customer.end_user)
    other = customer.users[1]
    data = {
        "pk": other.pk,
        "id": other.pk,
        "display_name": "Hijacked",
        "email": "",
        "forward_no_answer_timeout": "20",
    }
    assert client.post(reverse("selfservice:my_line") + f"?pk={other.pk}", data).status_code == 302
    assert PbxUser.objects.get(pk=other.pk).display_name == ""
    assert PbxUser.objects.get(pk=customer.line.pk).display_name == "Hijacked"


@pytest.mark.parametrize("url", ["selfservice:my_line", "selfservice:my_line_pushes"])
def test_a_login_without_a_line_gets_404_on_the_end_user_pages(client, customer, url):
    client.force_login(customer.admin)
    assert client.get(reverse(url)).status_code == 404


@pytest.mark.parametrize("url", site_pages())
def test_pages_of_the_customer_administrator_are_404_for_end_users_and_staff(client, tree, customer, url):
    staff = UserFactory(username="reseller.admin")
    MembershipFactory(user=staff, organization=tree.reseller, role=Role.ADMIN)
    for login in (customer.end_user, staff):
        client.force_login(login)
        assert client.get(url).status_code == 404, login


@pytest.mark.parametrize("name", ROUTE_NAMES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, customer, name):
    before = snapshot()
    response = routes_of(customer)[name].call(client)
    assert response.status_code == 302 and response["Location"].startswith(reverse("selfservice:login"))
    assert snapshot() == before
