"""Issue 16, part 3: a reseller administrator acts as a customer's administrator, openly — only for a
customer below it, with a banner on every page, ended by a click, by signing out or after 30 minutes,
written in the audit and in the customer's history, with passwords, two-factor sign-in, logins and
the admin out of reach."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from telephony.models import PbxUser
from telephony.services.users import governs_logins
from tenants import access, acting, services
from tenants.models import ActingEnd, ActingSession, Membership, OrganizationKind, Role
from tenants.tasks import close_expired_acting_sessions
from tests.factories import OrganizationFactory, UserFactory
from tests.portal.conftest import build_customer
from tests.portal.routes import edit_data

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-passphrase-2026"


def start_url(organization):
    return reverse("selfservice:acting_start", args=[organization.pk])


def url(name, *args):
    return reverse(f"selfservice:{name}", args=args)


@pytest.fixture
def reseller_admin(tree, member):
    return member(tree.reseller, Role.ADMIN, username="res.admin", password=PASSWORD)


@pytest.fixture
def acting_client(client, reseller_admin, customer):
    """A client signed in as the reseller administrator, acting as `customer`'s administrator."""
    client.force_login(reseller_admin)
    response = client.post(start_url(customer.organization))
    assert response.status_code == 302 and response["Location"] == url("dashboard")
    return client


def open_session() -> ActingSession:
    return ActingSession.objects.get(ended_at__isnull=True)


def move_start_back(minutes: int) -> None:
    """Time travel: the session started `minutes` ago (its stored start decides its end)."""
    session = open_session()
    ActingSession.objects.filter(pk=session.pk).update(started_at=session.started_at - timedelta(minutes=minutes))


def test_the_start_page_says_what_the_session_is_and_starting_it_opens_the_customers_dashboard(
    client, reseller_admin, customer
):
    client.force_login(reseller_admin)
    page = client.get(start_url(customer.organization))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Act as the administrator of Customer" in body and "30 minutes" in body
    assert not ActingSession.objects.exists(), "a GET starts nothing"

    dashboard = client.get(client.post(start_url(customer.organization))["Location"])
    assert dashboard.status_code == 200
    assert [t.pk for t in dashboard.context["tenants"]] == [customer.tenant.pk]
    session = open_session()
    assert (session.actor, session.actor_name, session.organization) == (
        reseller_admin,
        "res.admin",
        customer.organization,
    )


def test_every_page_of_the_session_carries_the_banner_and_a_click_ends_it(acting_client, customer):
    for page in (
        url("dashboard"),
        url("user_list"),
        url("user_detail", customer.line.pk),
        url("user_create", customer.tenant.pk),
    ):
        response = acting_client.get(page)
        assert response.status_code == 200, page
        body = response.content.decode()
        assert "data-acting-banner" in body and "acting as the administrator of" in body, page
        assert "End acting as Customer" in body, page
        assert url("password_change") not in body and url("imports") not in body, "the closed pages are not offered"

    ended = acting_client.post(url("acting_end"))
    assert ended["Location"] == reverse("admin:tenants_organization_change", args=[customer.organization.pk])
    session = ActingSession.objects.get()
    assert session.end_reason == ActingEnd.CLICK and session.ended_at is not None
    assert acting_client.get(url("dashboard")).status_code == 404, "back to the reseller's own rights"


@pytest.mark.parametrize(
    "who",
    [
        "reseller operator",
        "reseller viewer",
        "sibling admin",
        "customer admin",
        "superuser",
        "entity admin",
        "end user",
    ],
)
def test_nobody_else_may_act_as_the_customer(client, tree, member, customer, who):
    login = {
        "reseller operator": lambda: member(tree.reseller, Role.OPERATOR),
        "reseller viewer": lambda: member(tree.reseller, Role.VIEWER),
        "sibling admin": lambda: member(tree.sibling, Role.ADMIN),
        "customer admin": lambda: customer.admin,
        "superuser": lambda: UserFactory(is_superuser=True),
        "entity admin": lambda: _entity_admin(customer),
        "end user": lambda: customer.end_user,
    }[who]()
    client.force_login(login)
    assert client.get(start_url(customer.organization)).status_code == 404
    assert client.post(start_url(customer.organization)).status_code == 404
    assert not ActingSession.objects.exists()


def _entity_admin(customer):
    login = UserFactory(is_staff=True)
    customer.sales.administrators.add(login)
    return login


def test_only_customers_below_it_a_distributor_admin_reaches_them_too(client, tree, member, reseller_admin, customer):
    client.force_login(reseller_admin)
    for organization in (tree.sibling_customer, tree.sibling, tree.reseller, tree.distributor):
        assert client.get(start_url(organization)).status_code == 404, organization
        assert client.post(start_url(organization)).status_code == 404, organization
    assert client.post(reverse("selfservice:acting_start", args=[999999])).status_code == 404
    assert not ActingSession.objects.exists()

    client.force_login(member(tree.distributor, Role.ADMIN))
    assert client.post(start_url(customer.organization)).status_code == 302


def test_while_acting_it_reaches_this_customer_only_never_another_customer_of_the_reseller(
    acting_client, tree, customer, sibling
):
    other = OrganizationFactory(name="Other customer", kind=OrganizationKind.CUSTOMER, parent=tree.reseller)
    other_customer = build_customer(tree.reseller, other, "initech")
    for foreign_customer in (other_customer, sibling):
        foreign = foreign_customer.line
        assert acting_client.get(url("user_detail", foreign.pk)).status_code == 404
        data = edit_data(foreign_customer, first_name="Taken")
        assert acting_client.post(url("user_edit", foreign.pk), data).status_code == 404
        assert PbxUser.objects.get(pk=foreign.pk).first_name != "Taken"
    listed = acting_client.get(url("user_list"))
    assert {u.tenant_id for u in listed.context["users"]} == {customer.tenant.pk}


def test_passwords_two_factor_logins_imports_and_the_admin_are_closed_while_acting(
    acting_client, reseller_admin, customer
):
    closed = [
        url("password_change"),
        url("password_reset"),
        url("two_factor_setup"),
        url("two_factor_backup_codes"),
        url("my_line"),
        url("imports"),
        url("login"),
        reverse("admin:index"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_password_change", args=[customer.admin.pk]),
        reverse("admin:tenants_organization_change", args=[customer.organization.pk]),
    ]
    for page in closed:
        response = acting_client.get(page)
        assert response.status_code == 302 and response["Location"] == url("dashboard"), page
    posts = {
        url("password_change"): {
            "old_password": PASSWORD,
            "new_password1": "x-Changed-2026!",
            "new_password2": "x-Changed-2026!",
        },
        url("two_factor_setup"): {"token": "123456"},
        url("login"): {"username": customer.admin.username, "password": "whatever"},
        reverse("admin:auth_user_password_change", args=[customer.admin.pk]): {
            "password1": "x-Changed-2026!",
            "password2": "x-Changed-2026!",
        },
    }
    for page, data in posts.items():
        response = acting_client.post(page, data)
        assert response.status_code == 302 and response["Location"] == url("dashboard"), page
    mounted = acting_client.get(reverse("admin:index"), SCRIPT_NAME="/portal")
    assert mounted.status_code == 302, "closed under whatever prefix the site is mounted"
    reseller_admin.refresh_from_db()
    assert reseller_admin.check_password(PASSWORD)
    assert not TOTPDevice.objects.exists()
    assert int(acting_client.session["_auth_user_id"]) == reseller_admin.pk, "still the reseller administrator"
    assert "acting as the administrator" in acting_client.get(url("dashboard")).content.decode()


def test_a_narrowed_login_governs_no_login_and_holds_only_the_customers_admin_role(reseller_admin, customer):
    assert governs_logins(reseller_admin, customer.admin.pk), "outside a session it governs the customer's logins"
    access.narrow_to_role(reseller_admin, customer.organization, Role.ADMIN)
    assert not governs_logins(reseller_admin, customer.admin.pk)
    assert access.memberships(reseller_admin) == [(customer.organization.path, Role.ADMIN)]
    access.forget(reseller_admin)
    assert access.memberships(reseller_admin) == [(customer.organization.path, Role.ADMIN)], "forget keeps it"
    assert not acting.may_act_as(reseller_admin, customer.organization), "no session inside a session"


def test_after_30_minutes_the_next_request_ends_it_and_does_nothing(acting_client, customer):
    move_start_back(29)
    assert acting_client.get(url("dashboard")).status_code == 200
    move_start_back(2)
    line = customer.line
    response = acting_client.post(url("user_edit", line.pk), edit_data(customer, first_name="Late"))
    assert response["Location"] == reverse("admin:tenants_organization_change", args=[customer.organization.pk])
    assert PbxUser.objects.get(pk=line.pk).first_name != "Late", "a request after the limit changes nothing"
    session = ActingSession.objects.get()
    assert session.end_reason == ActingEnd.TIMEOUT
    assert session.ended_at == session.started_at + acting.LIMIT, "it ended at its deadline"
    assert acting_client.get(url("dashboard")).status_code == 404


def test_a_session_nobody_comes_back_to_is_closed_at_its_deadline(acting_client):
    move_start_back(10)
    assert acting.close_expired_sessions() == 0
    move_start_back(25)
    assert close_expired_acting_sessions() == 1, "the beat's task closes it"
    session = ActingSession.objects.get()
    assert (session.end_reason, session.ended_at) == (ActingEnd.TIMEOUT, session.started_at + acting.LIMIT)


def test_signing_out_ends_it(acting_client):
    acting_client.post(url("logout"))
    assert ActingSession.objects.get().end_reason == ActingEnd.LOGOUT


def test_losing_the_admin_role_ends_it_at_the_next_request(acting_client, reseller_admin, tree, customer):
    Membership.objects.filter(user=reseller_admin).update(role=Role.VIEWER)
    response = acting_client.get(url("dashboard"))
    assert response.status_code == 302 and response["Location"] == url("home")
    assert ActingSession.objects.get().end_reason == ActingEnd.REVOKED
    assert "you may no longer act as it" in acting_client.get(url("home"), follow=True).content.decode()


def test_a_membership_taken_away_ends_it_with_the_logins_sessions(acting_client, reseller_admin, tree, superuser):
    services.membership_delete(actor=superuser, membership=Membership.objects.get(user=reseller_admin))
    assert ActingSession.objects.get().end_reason == ActingEnd.REVOKED


def test_starting_again_while_acting_starts_nothing(acting_client, tree, customer):
    other = OrganizationFactory(name="Other customer", kind=OrganizationKind.CUSTOMER, parent=tree.reseller)
    response = acting_client.post(start_url(other))
    assert response["Location"] == url("dashboard")
    assert ActingSession.objects.count() == 1


def test_the_audit_has_start_and_end_and_every_change_reads_x_acting_as_y(acting_client, reseller_admin, customer):
    line = customer.line
    response = acting_client.post(url("user_edit", line.pk), edit_data(customer, first_name="Helped"))
    assert response.status_code == 302
    acting_client.post(url("acting_end"))

    change = LogEntry.objects.get_for_object(PbxUser.objects.get(pk=line.pk)).latest("timestamp")
    assert change.actor == reseller_admin
    assert change.additional_data["via"] == "res.admin acting as administrator of Customer"
    session = ActingSession.objects.get()
    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(ActingSession)).order_by("pk")
    start, end = entries
    assert (start.action, end.action) == (LogEntry.Action.CREATE, LogEntry.Action.UPDATE)
    assert start.actor == end.actor == reseller_admin
    assert start.additional_data["org"] == customer.organization.pk, "the customer's scope sees them"
    assert set(start.changes_dict) >= {"actor_name", "organization", "started_at"}
    assert end.changes_dict["end_reason"] == ["", "click"]
    assert end.changes_dict["ended_at"][1].startswith(session.ended_at.replace(tzinfo=None).isoformat(sep=" "))


def test_the_customer_sees_who_acted_as_it_when_and_how_it_ended(acting_client, client, customer, viewer):
    line = customer.line
    acting_client.post(url("user_edit", line.pk), edit_data(customer, first_name="Helped"))
    acting_client.post(url("acting_end"))

    for login in (customer.admin, viewer):
        client.force_login(login)
        body = client.get(url("dashboard")).content.decode()
        assert "Staff who acted as your administrator" in body
        assert "res.admin · acted as your administrator" in body
        assert "How it ended: ended by a click" in body
        detail = client.get(url("user_detail", line.pk)).content.decode()
        assert "res.admin acting as administrator of Customer" in detail, "the line's history names them"


def test_the_sibling_customer_sees_nothing_of_it(acting_client, client, sibling):
    acting_client.post(url("acting_end"))
    client.force_login(sibling.admin)
    body = client.get(url("dashboard")).content.decode()
    assert "res.admin" not in body and "Nobody from your provider has acted as your administrator." in body


def test_the_admin_offers_it_on_a_customers_page_to_those_who_may(client, tree, member, reseller_admin, customer):
    page = reverse("admin:tenants_organization_change", args=[customer.organization.pk])
    client.force_login(reseller_admin)
    assert start_url(customer.organization) in client.get(page).content.decode()
    reseller_page = reverse("admin:tenants_organization_change", args=[tree.reseller.pk])
    assert "act-as-customer-link" not in client.get(reseller_page).content.decode()
    client.force_login(member(tree.reseller, Role.OPERATOR))
    assert "act-as-customer-link" not in client.get(page).content.decode()


def test_hostile_names_are_shown_escaped(client, tree, member, customer):
    hostile = "<img src=x onerror=alert(1)>{{ 7*7 }}"
    customer.organization.name = hostile
    customer.organization.save(update_fields=["name"])
    login = member(tree.reseller, Role.ADMIN, username="x{{7*7}}")
    client.force_login(login)
    start_page = client.get(start_url(customer.organization)).content.decode()
    client.post(start_url(customer.organization))
    dashboard = client.get(url("dashboard")).content.decode()
    client.post(url("acting_end"))
    client.force_login(customer.admin)
    history = client.get(url("dashboard")).content.decode()
    for body in (start_page, dashboard, history):
        assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;{{ 7*7 }}" in body, "shown as typed"
    assert "x{{7*7}}" in history


def test_a_second_factor_asked_during_the_session_ends_it_without_a_redirect_loop(acting_client, settings):
    settings.PORTAL_REQUIRE_2FA = True
    response = acting_client.get(url("dashboard"), follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0].startswith(url("two_factor_setup"))
    assert ActingSession.objects.get().end_reason == ActingEnd.REVOKED


def test_a_live_state_poll_after_the_limit_is_refused_and_the_next_page_says_why(acting_client, customer):
    move_start_back(31)
    poll = acting_client.get(url("dashboard_pushes"), HTTP_ACCEPT="application/json")
    assert poll.status_code == 403 and poll.json()["error"]
    assert ActingSession.objects.get().end_reason == ActingEnd.TIMEOUT, "the poll ended it at its deadline"
    page = acting_client.get(url("dashboard"), follow=True)
    assert "it lasts at most 30 minutes" in page.content.decode()
