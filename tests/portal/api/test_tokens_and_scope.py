"""Issue 17, parts 2 and 3: tokens (shown once, kept hashed, read or read-write, expiring, revocable,
acting with exactly their login's rights), and the same scope as the admin: another organization's
object answers 404 with the body of an id that does not exist, in paths, bodies and filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from portal.api.models import ApiToken
from portal.api.tokens import api_token_create, api_token_revoke
from telephony.models import PbxUser, ProvisioningJob
from tenants.models import Role

pytestmark = pytest.mark.django_db

API = "/api/v1"


def token_of(login, scope: str = "read_write", days: int = 30) -> str:
    _token, raw = api_token_create(
        actor=login,
        name=f"t{ApiToken.objects.count()}",
        scope=scope,
        expires_at=timezone.now() + timedelta(days=days),
        session_verified=True,
    )
    return raw


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def new_user_body(customer, **changes) -> dict:
    body = {
        "tenant": customer.tenant.pk,
        "entity": customer.sales.pk,
        "template": customer.template.pk,
        "internal_number": "2150",
        "username": "api.user",
        "first_name": "Api",
        "last_name": "User",
    }
    return {**body, **changes}


def test_a_token_is_shown_once_and_kept_only_as_a_hash(customer):
    raw = token_of(customer.admin)
    token = ApiToken.objects.get()
    assert raw.startswith(token.prefix + "_") and len(raw) > 40
    assert raw not in str(list(ApiToken.objects.values_list()))


def test_a_token_acts_with_exactly_its_login_s_rights(client, customer, sibling):
    raw = token_of(customer.admin)
    listed = client.get(f"{API}/pbx-users/", **bearer(raw)).json()["results"]
    assert {row["id"] for row in listed} == {u.pk for u in customer.users}
    assert client.get(f"{API}/pbx-users/{sibling.users[0].pk}/", **bearer(raw)).status_code == 404


def test_no_token_a_wrong_one_an_expired_or_a_revoked_one_gets_401(client, customer):
    assert client.get(f"{API}/tenants/").status_code in (401, 403)
    assert client.get(f"{API}/tenants/", **bearer("pbx_nothing_known")).status_code == 401
    raw = token_of(customer.admin)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    answer = client.get(f"{API}/tenants/", **bearer(raw))
    assert answer.status_code == 401 and answer["WWW-Authenticate"].startswith("Bearer")
    raw = token_of(customer.admin)
    assert client.get(f"{API}/tenants/", **bearer(raw)).status_code == 200
    api_token_revoke(
        actor=customer.admin, token=ApiToken.objects.get(revoked_at__isnull=True, expires_at__gt=timezone.now())
    )
    assert client.get(f"{API}/tenants/", **bearer(raw)).status_code == 401


def test_a_login_made_inactive_loses_its_tokens(client, customer):
    raw = token_of(customer.admin)
    customer.admin.is_active = False
    customer.admin.save(update_fields=["is_active"])
    assert client.get(f"{API}/tenants/", **bearer(raw)).status_code == 401


def test_a_read_token_reads_and_never_writes(client, customer):
    raw = token_of(customer.admin, scope="read")
    assert client.get(f"{API}/pbx-users/", **bearer(raw)).status_code == 200
    answer = client.post(f"{API}/pbx-users/", new_user_body(customer), content_type="application/json", **bearer(raw))
    assert answer.status_code == 403
    assert not PbxUser.objects.filter(username="api.user").exists()


def test_only_its_owner_or_a_superuser_revokes_a_token(customer, sibling, superuser):
    raw = token_of(customer.admin)
    token = ApiToken.objects.get()
    with pytest.raises(PermissionDenied):
        api_token_revoke(actor=sibling.admin, token=token)
    api_token_revoke(actor=superuser, token=token)
    assert ApiToken.objects.get().revoked_at is not None and raw


def test_logins_that_must_use_two_factor_make_tokens_only_from_a_verified_session(superuser, settings):
    settings.PORTAL_REQUIRE_2FA = True
    with pytest.raises(PermissionDenied):
        api_token_create(
            actor=superuser,
            name="ci",
            scope="read",
            expires_at=timezone.now() + timedelta(days=1),
            session_verified=False,
        )
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": ""}, "name"),
        ({"scope": "admin"}, "scope"),
        ({"days": -1}, "expires_at"),
        ({"days": 400}, "expires_at"),
    ],
)
def test_a_bad_token_request_says_which_field_and_makes_nothing(customer, changes, field):
    days = changes.pop("days", 30)
    arguments = {"name": "billing", "scope": "read", **changes}
    with pytest.raises(ValidationError) as refused:
        api_token_create(
            actor=customer.admin, expires_at=timezone.now() + timedelta(days=days), session_verified=True, **arguments
        )
    assert field in refused.value.message_dict
    assert not ApiToken.objects.exists()


def test_a_foreign_id_answers_as_an_id_that_does_not_exist(client, customer, sibling):
    raw = token_of(customer.admin)
    for resource, foreign in [
        ("tenants", sibling.tenant.pk),
        ("entities", sibling.sales.pk),
        ("pbx-users", sibling.users[0].pk),
        ("line-templates", sibling.template.pk),
    ]:
        theirs = client.get(f"{API}/{resource}/{foreign}/", **bearer(raw))
        missing = client.get(f"{API}/{resource}/99999999/", **bearer(raw))
        assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json()) == (404, missing.json())
        changed = client.patch(
            f"{API}/{resource}/{foreign}/", {"first_name": "x"}, content_type="application/json", **bearer(raw)
        )
        assert changed.status_code in (404, 405)
    assert client.delete(f"{API}/pbx-users/{sibling.users[0].pk}/", **bearer(raw)).status_code == 404
    assert PbxUser.objects.filter(pk=sibling.users[0].pk).exists()


def test_a_foreign_id_in_a_body_is_refused_as_one_that_does_not_exist(client, customer, sibling):
    raw = token_of(customer.admin)
    theirs = client.post(
        f"{API}/pbx-users/",
        new_user_body(customer, tenant=sibling.tenant.pk),
        content_type="application/json",
        **bearer(raw),
    )
    missing = client.post(
        f"{API}/pbx-users/", new_user_body(customer, tenant=99999999), content_type="application/json", **bearer(raw)
    )
    assert theirs.status_code == missing.status_code == 400
    assert theirs.json()["tenant"] == [m.replace("99999999", str(sibling.tenant.pk)) for m in missing.json()["tenant"]]
    assert not PbxUser.objects.filter(username="api.user").exists()


def test_a_foreign_id_in_a_filter_finds_nothing(client, customer, sibling):
    raw = token_of(customer.admin)
    assert client.get(f"{API}/pbx-users/", {"tenant": sibling.tenant.pk}, **bearer(raw)).json()["results"] == []
    assert client.get(f"{API}/jobs/", {"tenant": sibling.tenant.pk}, **bearer(raw)).json()["results"] == []
    bad = client.get(f"{API}/pbx-users/", {"tenant": "1 OR 1=1"}, **bearer(raw))
    assert bad.status_code == 400 and "tenant" in bad.json()


def test_a_viewer_reads_and_the_services_refuse_its_writes(client, customer, viewer):
    raw = token_of(viewer)
    assert client.get(f"{API}/pbx-users/", **bearer(raw)).status_code == 200
    answer = client.post(f"{API}/pbx-users/", new_user_body(customer), content_type="application/json", **bearer(raw))
    assert answer.status_code == 403 and not PbxUser.objects.filter(username="api.user").exists()  # sees, may not add
    line = customer.users[0]
    assert (
        client.patch(
            f"{API}/pbx-users/{line.pk}/", {"first_name": "X"}, content_type="application/json", **bearer(raw)
        ).status_code
        == 403
    )
    assert PbxUser.objects.get(pk=line.pk).first_name == line.first_name


def test_a_create_runs_the_service_and_plans_its_job(client, customer):
    raw = token_of(customer.admin)
    answer = client.post(f"{API}/pbx-users/", new_user_body(customer), content_type="application/json", **bearer(raw))
    assert answer.status_code == 201, answer.json()
    made = PbxUser.objects.get(username="api.user")
    assert answer.json()["id"] == made.pk and answer.json()["sync_state"] == "pending"
    assert ProvisioningJob.objects.filter(target_id=made.pk, operation__endswith="create").exists()


def test_the_services_messages_come_back_field_by_field(client, customer):
    raw = token_of(customer.admin)
    taken = customer.users[0].internal_number
    answer = client.post(
        f"{API}/pbx-users/",
        new_user_body(customer, internal_number=taken),
        content_type="application/json",
        **bearer(raw),
    )
    assert answer.status_code == 400  # the service's words (telephony/rules/uniqueness.py), as an import's
    assert answer.json() == {"internal_number": [f"{taken} is already taken by {customer.users[0].username}."]}


def test_a_session_works_with_its_csrf_token_and_never_without(customer):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(customer.admin)
    assert browser.get(f"{API}/pbx-users/").status_code == 200
    refused = browser.post(f"{API}/pbx-users/", new_user_body(customer), content_type="application/json")
    assert refused.status_code == 403 and not PbxUser.objects.filter(username="api.user").exists()


def test_an_operator_of_the_reseller_sees_its_customers(client, customer, tree, member):
    operator = member(tree.reseller, Role.OPERATOR)
    raw = token_of(operator)
    listed = client.get(f"{API}/tenants/", **bearer(raw)).json()["results"]
    assert customer.tenant.pk in {row["id"] for row in listed}


@pytest.mark.parametrize("resource", ["organizations", "tenants", "entities", "line-templates", "jobs"])
def test_a_read_only_resource_refuses_writes_with_405(client, superuser, customer, resource):
    raw = token_of(superuser)
    listed = client.get(f"{API}/{resource}/", **bearer(raw)).json()["results"]
    target = f"{API}/{resource}/{listed[0]['id']}/" if listed else f"{API}/{resource}/1/"
    for method in ("put", "patch", "delete"):
        answer = getattr(client, method)(target, {}, content_type="application/json", **bearer(raw))
        assert answer.status_code in (404, 405), (method, answer.status_code)
    assert client.post(f"{API}/{resource}/", {}, content_type="application/json", **bearer(raw)).status_code == 405
