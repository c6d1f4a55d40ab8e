"""Issue 17: platforms, servers, memberships and entity administrators in the REST API. Platforms and
servers are read only and never show a secret; roles and entity grants are given and taken through
the services (administrators only); another organization's object answers as one that does not
exist, in the path, in a body and in a filter; names come back as plain JSON text."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from telephony.models import Platform
from tenants.models import Membership, OrganizationKind, Role
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    PlatformFactory,
    ServerFactory,
    TenantFactory,
    UserFactory,
)
from tests.portal.api.test_tokens_and_scope import bearer, token_of

pytestmark = pytest.mark.django_db

API = "/api/v1"
HOSTILE = ["<img src=x onerror=alert(1)>", "{{ 7|add:1 }}"]


def ids(answer) -> set[int]:
    assert answer.status_code == 200, answer.content
    return {row["id"] for row in answer.json()["results"]}


def same_as_missing(client, raw: str, resource: str, foreign_id: int) -> None:
    theirs = client.get(f"{API}/{resource}/{foreign_id}/", **bearer(raw))
    missing = client.get(f"{API}/{resource}/99999999/", **bearer(raw))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


# --- platforms -----------------------------------------------------------------------------------


def test_platforms_list_and_detail_as_their_owner_and_shared_down(client, customer, sibling, member, tree):
    reseller_admin = member(tree.reseller)
    raw = token_of(reseller_admin)
    mine = customer.tenant.server.platform
    assert ids(client.get(f"{API}/platforms/", **bearer(raw))) == {mine.pk}
    detail = client.get(f"{API}/platforms/{mine.pk}/", **bearer(raw))
    assert detail.status_code == 200 and detail["ETag"]
    assert detail.json() == {
        "id": mine.pk,
        "organization": tree.reseller.pk,
        "name": mine.name,
        "kind": "xc5",
        "base_url_host": "127.0.0.1",
        "is_active": True,
        "last_check_ok": None,
        "last_checked_at": None,
        "last_check_message": "",
    }
    # the customer below uses the reseller's platform: it sees it (never the sibling's)
    assert ids(client.get(f"{API}/platforms/", **bearer(token_of(customer.admin)))) == {mine.pk}
    same_as_missing(client, raw, "platforms", sibling.tenant.server.platform.pk)
    assert client.get(f"{API}/platforms/", {"organization": tree.sibling.pk}, **bearer(raw)).json()["results"] == []


def test_no_stored_secret_of_a_platform_appears_in_any_answer(client, customer, superuser, tree):
    platform = PlatformFactory(
        organization=tree.reseller,
        name="secretive",
        base_url="https://apiuser:hunter2-in-url@pbx.example.net:9001/api/1.0/?token=tok3n-in-query",
        username="api-login-name",
        secret="sup3r-s3cret-pass",
        app_key="app-k3y-value",
        acting_organization="acting-org-77",
    )
    ServerFactory(platform=platform, name="behind-secretive")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret, app_key FROM telephony_platform WHERE id = %s", [platform.pk])
        stored = [value for value in cursor.fetchone() if value]
    secrets = [*stored, "sup3r-s3cret-pass", "app-k3y-value", "hunter2-in-url", "tok3n-in-query", "api-login-name"]
    for login in (superuser, customer.admin):
        raw = token_of(login)
        answers = [
            client.get(f"{API}/platforms/", **bearer(raw)),
            client.get(f"{API}/platforms/{platform.pk}/", **bearer(raw)),
            client.get(f"{API}/platforms/", {"search": "secretive"}, **bearer(raw)),
            client.get(f"{API}/servers/", **bearer(raw)),
        ]
        for answer in answers:
            assert answer.status_code == 200
            body = answer.content.decode()
            assert not [secret for secret in secrets if secret in body], body
        assert answers[1].json()["base_url_host"] == "pbx.example.net"
    component = client.get(f"{API}/schema/", {"format": "json"}, **bearer(token_of(superuser))).json()
    fields = set(component["components"]["schemas"]["Platform"]["properties"])
    assert not fields & {"secret", "app_key", "username", "base_url", "password", "token"}


def test_platforms_and_servers_are_read_only(client, customer, superuser):
    raw = token_of(superuser)
    platform = customer.tenant.server.platform
    server = customer.tenant.server
    assert (
        client.post(f"{API}/platforms/", {"name": "x"}, content_type="application/json", **bearer(raw)).status_code
        == 405
    )
    assert (
        client.patch(
            f"{API}/platforms/{platform.pk}/", {"name": "x"}, content_type="application/json", **bearer(raw)
        ).status_code
        == 405
    )
    assert client.delete(f"{API}/servers/{server.pk}/", **bearer(raw)).status_code == 405
    assert (
        client.put(f"{API}/servers/{server.pk}/", {}, content_type="application/json", **bearer(raw)).status_code == 405
    )
    grants = f"{API}/entity-grants/{customer.sales.pk}/"
    assert client.delete(grants, **bearer(raw)).status_code == 405
    assert client.patch(grants, {}, content_type="application/json", **bearer(raw)).status_code == 405
    assert client.post(f"{API}/entity-grants/", {}, content_type="application/json", **bearer(raw)).status_code == 405
    assert Platform.objects.get(pk=platform.pk).name == platform.name


# --- servers -------------------------------------------------------------------------------------


def test_servers_list_and_detail_count_only_the_tenants_the_login_sees(client, customer, sibling, tree, member):
    server = customer.tenant.server
    server.capacity_tenants, server.remaining_slots = 100, 42
    server.save(update_fields=["capacity_tenants", "remaining_slots"])
    # another customer of the same reseller on the same server: the customer must not count it
    other = OrganizationFactory(name="Neighbour", kind=OrganizationKind.CUSTOMER, parent=tree.reseller)
    TenantFactory(organization=other, server=server, name="neighbour")
    raw = token_of(customer.admin)
    assert ids(client.get(f"{API}/servers/", **bearer(raw))) == {server.pk}
    detail = client.get(f"{API}/servers/{server.pk}/", **bearer(raw)).json()
    assert detail == {
        "id": server.pk,
        "platform": server.platform_id,
        "name": server.name,
        "host": server.host,
        "capacity_tenants": 100,
        "capacity_users": None,
        "remaining_slots": 42,
        "tenant_count": 1,
    }
    reseller_view = client.get(f"{API}/servers/{server.pk}/", **bearer(token_of(member(tree.reseller)))).json()
    assert reseller_view["tenant_count"] == 2
    same_as_missing(client, raw, "servers", sibling.tenant.server.pk)
    assert (
        client.get(f"{API}/servers/", {"platform": sibling.tenant.server.platform_id}, **bearer(raw)).json()["results"]
        == []
    )
    assert client.get(f"{API}/servers/", {"platform": "1 OR 1=1"}, **bearer(raw)).status_code == 400


# --- memberships ---------------------------------------------------------------------------------


def test_memberships_list_and_detail_as_an_administrator(client, customer, sibling, viewer):
    raw = token_of(customer.admin)
    mine = Membership.objects.filter(organization=customer.organization)
    assert ids(client.get(f"{API}/memberships/", **bearer(raw))) == set(mine.values_list("pk", flat=True))
    own = mine.get(user=customer.admin)
    detail = client.get(f"{API}/memberships/{own.pk}/", **bearer(raw))
    assert detail.status_code == 200 and detail["ETag"]
    assert detail.json()["user"] == customer.admin.pk and detail.json()["username"] == "acme.admin"
    assert detail.json()["organization"] == customer.organization.pk and detail.json()["role"] == "admin"
    theirs = Membership.objects.get(user=sibling.admin)
    same_as_missing(client, raw, "memberships", theirs.pk)
    assert client.get(f"{API}/memberships/", {"user": sibling.admin.pk}, **bearer(raw)).json()["results"] == []
    assert (
        client.get(f"{API}/memberships/", {"organization": sibling.organization.pk}, **bearer(raw)).json()["results"]
        == []
    )
    assert ids(client.get(f"{API}/memberships/", {"role": "viewer"}, **bearer(raw))) == {
        Membership.objects.get(user=viewer).pk
    }


def test_an_administrator_gives_changes_and_takes_a_role_through_the_services(client, customer):
    raw = token_of(customer.admin)
    body = {"user": customer.end_user.pk, "organization": customer.organization.pk, "role": "viewer"}
    made = client.post(f"{API}/memberships/", body, content_type="application/json", **bearer(raw))
    assert made.status_code == 201, made.json()
    membership = Membership.objects.get(user=customer.end_user)
    assert made.json()["id"] == membership.pk and membership.role == Role.VIEWER
    again = client.post(f"{API}/memberships/", body, content_type="application/json", **bearer(raw))
    assert again.status_code == 400 and Membership.objects.filter(user=customer.end_user).count() == 1
    changed = client.patch(
        f"{API}/memberships/{membership.pk}/", {"role": "operator"}, content_type="application/json", **bearer(raw)
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["role"] == "operator" and Membership.objects.get(pk=membership.pk).role == Role.OPERATOR
    wrong = client.patch(
        f"{API}/memberships/{membership.pk}/", {"role": "owner"}, content_type="application/json", **bearer(raw)
    )
    assert wrong.status_code == 400 and "role" in wrong.json()
    assert client.delete(f"{API}/memberships/{membership.pk}/", **bearer(raw)).status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_an_update_changes_the_role_only(client, customer, viewer, tree):
    raw = token_of(customer.admin)
    membership = Membership.objects.get(user=viewer)
    answer = client.patch(
        f"{API}/memberships/{membership.pk}/",
        {"user": customer.admin.pk, "organization": tree.reseller.pk, "role": "operator"},
        content_type="application/json",
        **bearer(raw),
    )
    assert answer.status_code == 200
    stored = Membership.objects.get(pk=membership.pk)
    assert (stored.user_id, stored.organization_id, stored.role) == (viewer.pk, customer.organization.pk, "operator")


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_a_non_administrator_cannot_give_change_or_take_a_role(client, customer, role):
    login = UserFactory(username=f"acme.{role}", is_staff=False)
    MembershipFactory(user=login, organization=customer.organization, role=role)
    raw = token_of(login)
    before = sorted(Membership.objects.values_list("pk", "user_id", "organization_id", "role"))
    body = {"user": customer.end_user.pk, "organization": customer.organization.pk, "role": "admin"}
    assert client.post(f"{API}/memberships/", body, content_type="application/json", **bearer(raw)).status_code in (
        403,
        404,
    )
    admins = Membership.objects.get(user=customer.admin)
    assert client.delete(f"{API}/memberships/{admins.pk}/", **bearer(raw)).status_code in (403, 404)
    own = Membership.objects.get(user=login)
    assert client.patch(
        f"{API}/memberships/{own.pk}/", {"role": "admin"}, content_type="application/json", **bearer(raw)
    ).status_code in (403, 404)
    assert sorted(Membership.objects.values_list("pk", "user_id", "organization_id", "role")) == before


def test_a_read_token_of_an_administrator_never_writes_a_role(client, customer):
    raw = token_of(customer.admin, scope="read")
    body = {"user": customer.end_user.pk, "organization": customer.organization.pk, "role": "viewer"}
    assert client.post(f"{API}/memberships/", body, content_type="application/json", **bearer(raw)).status_code == 403
    own = Membership.objects.get(user=customer.admin)
    assert client.delete(f"{API}/memberships/{own.pk}/", **bearer(raw)).status_code == 403
    assert not Membership.objects.filter(user=customer.end_user).exists() and Membership.objects.filter(pk=own.pk)


def test_another_organization_s_membership_or_login_is_one_that_does_not_exist(client, customer, sibling):
    raw = token_of(customer.admin)
    theirs = Membership.objects.get(user=sibling.admin)
    assert client.delete(f"{API}/memberships/{theirs.pk}/", **bearer(raw)).status_code == 404
    assert (
        client.patch(
            f"{API}/memberships/{theirs.pk}/", {"role": "viewer"}, content_type="application/json", **bearer(raw)
        ).status_code
        == 404
    )
    assert Membership.objects.get(pk=theirs.pk).role == Role.ADMIN

    def post(**changes):
        body = {"user": customer.end_user.pk, "organization": customer.organization.pk, "role": "admin", **changes}
        return client.post(f"{API}/memberships/", body, content_type="application/json", **bearer(raw))

    for field, foreign in [("user", sibling.end_user.pk), ("organization", sibling.organization.pk)]:
        refused, missing = post(**{field: foreign}), post(**{field: 99999999})
        assert refused.status_code == missing.status_code == 400
        assert refused.json()[field] == [m.replace("99999999", str(foreign)) for m in missing.json()[field]]
    assert not Membership.objects.filter(user__in=[customer.end_user, sibling.end_user], role="admin").exists()
    assert Membership.objects.filter(organization=sibling.organization).count() == 1


# --- entity grants -------------------------------------------------------------------------------


def test_entity_grants_list_and_detail_as_the_customer_s_administrator(client, customer, sibling):
    customer.sales.administrators.add(customer.end_user)
    sibling.sales.administrators.add(sibling.end_user)
    raw = token_of(customer.admin)
    assert ids(client.get(f"{API}/entity-grants/", **bearer(raw))) == {customer.sales.pk, customer.office.pk}
    detail = client.get(f"{API}/entity-grants/{customer.sales.pk}/", **bearer(raw))
    assert detail.status_code == 200 and detail["ETag"]
    assert detail.json()["administrators"] == [{"id": customer.end_user.pk, "username": "acme.alice"}]
    assert detail.json()["tenant"] == customer.tenant.pk
    same_as_missing(client, raw, "entity-grants", sibling.sales.pk)
    assert client.get(f"{API}/entity-grants/", {"tenant": sibling.tenant.pk}, **bearer(raw)).json()["results"] == []
    # an entity administrator sees its own entity and itself, nothing else
    mine = client.get(f"{API}/entity-grants/", **bearer(token_of(customer.end_user))).json()["results"]
    assert [(row["id"], row["administrators"]) for row in mine] == [
        (customer.sales.pk, [{"id": customer.end_user.pk, "username": "acme.alice"}])
    ]


def test_an_administrator_grants_and_revokes_an_entity_through_the_service(client, customer, sibling):
    raw = token_of(customer.admin)
    url = f"{API}/entity-grants/{customer.sales.pk}"
    body = {"user": customer.end_user.pk}
    granted = client.post(f"{url}/grant/", body, content_type="application/json", **bearer(raw))
    assert granted.status_code == 200, granted.json()
    assert list(customer.sales.administrators.all()) == [customer.end_user]
    assert granted.json()["administrators"] == [{"id": customer.end_user.pk, "username": "acme.alice"}]
    again = client.post(f"{url}/grant/", body, content_type="application/json", **bearer(raw))
    assert again.status_code == 400 and "user" in again.json()
    # the service's own rule: an entity administrator is a login of this customer only
    shared = UserFactory(username="acme.and.globex", is_staff=False)
    MembershipFactory(user=shared, organization=customer.organization, role=Role.VIEWER)
    MembershipFactory(user=shared, organization=sibling.organization, role=Role.VIEWER)
    outsider = client.post(f"{url}/grant/", {"user": shared.pk}, content_type="application/json", **bearer(raw))
    assert outsider.status_code == 400 and "administrators" in outsider.json()
    assert list(customer.sales.administrators.all()) == [customer.end_user]
    revoked = client.post(f"{url}/revoke/", body, content_type="application/json", **bearer(raw))
    assert (
        revoked.status_code == 200
        and {"id": customer.end_user.pk, "username": "acme.alice"} not in (revoked.json()["administrators"])
    )
    assert not customer.sales.administrators.filter(pk=customer.end_user.pk).exists()
    twice = client.post(f"{url}/revoke/", body, content_type="application/json", **bearer(raw))
    assert twice.status_code == 400 and "user" in twice.json()


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_a_non_administrator_cannot_grant_or_revoke_an_entity(client, customer, role):
    customer.office.administrators.add(customer.end_user)
    login = UserFactory(username=f"acme.{role}", is_staff=False)
    MembershipFactory(user=login, organization=customer.organization, role=role)
    raw = token_of(login)
    for entity, verb in [(customer.sales, "grant"), (customer.office, "revoke")]:
        answer = client.post(
            f"{API}/entity-grants/{entity.pk}/{verb}/",
            {"user": customer.end_user.pk},
            content_type="application/json",
            **bearer(raw),
        )
        assert answer.status_code == 403, answer.json()
    assert list(customer.sales.administrators.all()) == []
    assert list(customer.office.administrators.all()) == [customer.end_user]
    read_only = token_of(customer.admin, scope="read")
    answer = client.post(
        f"{API}/entity-grants/{customer.sales.pk}/grant/",
        {"user": customer.end_user.pk},
        content_type="application/json",
        **bearer(read_only),
    )
    assert answer.status_code == 403 and not customer.sales.administrators.exists()


def test_another_organization_s_entity_or_login_is_one_that_does_not_exist(client, customer, sibling):
    raw = token_of(customer.admin)
    foreign = client.post(
        f"{API}/entity-grants/{sibling.sales.pk}/grant/",
        {"user": sibling.end_user.pk},
        content_type="application/json",
        **bearer(raw),
    )
    missing = client.post(
        f"{API}/entity-grants/99999999/grant/", {"user": 1}, content_type="application/json", **bearer(raw)
    )
    assert foreign.status_code == missing.status_code == 404 and foreign.json() == missing.json()
    url = f"{API}/entity-grants/{customer.sales.pk}/grant/"
    theirs = client.post(url, {"user": sibling.end_user.pk}, content_type="application/json", **bearer(raw))
    nobody = client.post(url, {"user": 99999999}, content_type="application/json", **bearer(raw))
    assert theirs.status_code == nobody.status_code == 400
    assert theirs.json()["user"] == [m.replace("99999999", str(sibling.end_user.pk)) for m in nobody.json()["user"]]
    assert not customer.sales.administrators.exists() and not sibling.sales.administrators.exists()


# --- names are text ------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_come_back_as_plain_json_text(client, customer, tree, hostile):
    platform = PlatformFactory(organization=tree.reseller, name=hostile, last_check_message=hostile)
    server = ServerFactory(platform=platform, name=hostile, host="pbx.example.net")
    login = UserFactory(username=hostile, is_staff=False)
    membership = MembershipFactory(user=login, organization=customer.organization, role=Role.VIEWER)
    customer.sales.display_name = hostile
    customer.sales.save(update_fields=["display_name"])
    customer.sales.administrators.add(login)
    raw = token_of(customer.admin)
    answers = {
        "platform": client.get(f"{API}/platforms/{platform.pk}/", **bearer(raw)),
        "server": client.get(f"{API}/servers/{server.pk}/", **bearer(raw)),
        "membership": client.get(f"{API}/memberships/{membership.pk}/", **bearer(raw)),
        "grants": client.get(f"{API}/entity-grants/{customer.sales.pk}/", **bearer(raw)),
    }
    for answer in answers.values():
        assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
        assert "add:1" in json.dumps(answer.json()) or "<img" in json.dumps(answer.json())
        assert "8" not in answer.json().get("name", "")
    assert answers["platform"].json()["name"] == answers["platform"].json()["last_check_message"] == hostile
    assert answers["server"].json()["name"] == hostile
    assert answers["membership"].json()["username"] == hostile
    assert answers["grants"].json()["display_name"] == hostile
    assert answers["grants"].json()["administrators"] == [{"id": login.pk, "username": hostile}]
