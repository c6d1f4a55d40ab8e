"""A PBX user's tenant, entity and template go to the service as ids, looked up only when the service
refuses (portal/api/serializers.py `IdsCheckedOnRefusal`): whatever the service would have said, an
id of another organization answers exactly as an id that does not exist, on a create and on a change,
alone or beside other errors, and nothing is written."""

from __future__ import annotations

import pytest

from portal.api.serializers import PbxUserSerializer
from telephony.models import PbxUser, ProvisioningJob
from tests.portal.api.test_tokens_and_scope import API, bearer, new_user_body, token_of

pytestmark = pytest.mark.django_db

MISSING = 99999999


def foreign_id(sibling, field: str) -> int:
    return {"tenant": sibling.tenant, "entity": sibling.sales, "template": sibling.template}[field].pk


def same_but_for_the_id(theirs: dict, missing: dict, field: str, their_id: int) -> bool:
    return theirs == {**missing, field: [m.replace(str(MISSING), str(their_id)) for m in missing[field]]}


@pytest.mark.parametrize("field", ["tenant", "entity", "template"])
def test_a_create_naming_another_organization_s_object_answers_as_a_missing_id(client, customer, sibling, field):
    raw = token_of(customer.admin)
    jobs = ProvisioningJob.objects.count()
    theirs = client.post(
        f"{API}/pbx-users/",
        new_user_body(customer, **{field: foreign_id(sibling, field)}),
        content_type="application/json",
        **bearer(raw),
    )
    missing = client.post(
        f"{API}/pbx-users/", new_user_body(customer, **{field: MISSING}), content_type="application/json", **bearer(raw)
    )
    assert theirs.status_code == missing.status_code == 400
    assert same_but_for_the_id(theirs.json(), missing.json(), field, foreign_id(sibling, field))
    assert list(theirs.json()) == [field]  # never the service's words about their object
    assert not PbxUser.objects.filter(username="api.user").exists()
    assert ProvisioningJob.objects.count() == jobs


@pytest.mark.parametrize("field", ["entity", "template"])
def test_a_change_naming_another_organization_s_object_answers_as_a_missing_id(client, customer, sibling, field):
    raw = token_of(customer.admin)
    line = customer.users[1]
    url = f"{API}/pbx-users/{line.pk}/"
    theirs = client.patch(url, {field: foreign_id(sibling, field)}, content_type="application/json", **bearer(raw))
    missing = client.patch(url, {field: MISSING}, content_type="application/json", **bearer(raw))
    assert theirs.status_code == missing.status_code == 400
    assert same_but_for_the_id(theirs.json(), missing.json(), field, foreign_id(sibling, field))
    stored = PbxUser.objects.get(pk=line.pk)
    assert (stored.entity_id, stored.template_id) == (line.entity_id, line.template_id)


def test_moving_a_user_to_another_organization_s_tenant_reads_as_a_missing_tenant(client, customer, sibling):
    raw = token_of(customer.admin)
    url = f"{API}/pbx-users/{customer.users[1].pk}/"
    theirs = client.patch(url, {"tenant": sibling.tenant.pk}, content_type="application/json", **bearer(raw))
    assert theirs.status_code == 400
    assert list(theirs.json()) == ["tenant"] and str(sibling.tenant.pk) in theirs.json()["tenant"][0]
    # its own other tenant would be refused in the service's words: a user does not move
    assert PbxUser.objects.get(pk=customer.users[1].pk).tenant_id == customer.tenant.pk


def test_an_unseen_id_is_named_beside_the_body_s_other_errors(client, customer, sibling):
    raw = token_of(customer.admin)
    answer = client.post(
        f"{API}/pbx-users/",
        new_user_body(customer, tenant=sibling.tenant.pk, email="not an address"),
        content_type="application/json",
        **bearer(raw),
    )
    assert answer.status_code == 400 and set(answer.json()) == {"tenant", "email"}


@pytest.mark.parametrize("given", [True, "2", 0, -4, 2**63, "1e3", "", None, [1], {"id": 1}])
def test_an_id_that_is_no_id_is_refused_under_its_field_and_never_a_500(client, customer, given):
    if given == "2" and customer.tenant.pk == 2:
        given = str(MISSING)  # the text names another id, not this customer's own tenant
    raw = token_of(customer.admin)
    answer = client.post(
        f"{API}/pbx-users/", new_user_body(customer, tenant=given), content_type="application/json", **bearer(raw)
    )
    assert answer.status_code == 400 and "tenant" in answer.json()
    assert not PbxUser.objects.filter(username="api.user").exists()


def test_a_created_user_is_answered_with_its_ids_and_no_numbers(client, customer):
    raw = token_of(customer.admin)
    answer = client.post(f"{API}/pbx-users/", new_user_body(customer), content_type="application/json", **bearer(raw))
    assert answer.status_code == 201
    body = answer.json()
    assert (body["tenant"], body["entity"], body["template"]) == (
        customer.tenant.pk,
        customer.sales.pk,
        customer.template.pk,
    )
    assert body["numbers"] == []
    assert client.get(f"{API}/pbx-users/{body['id']}/", **bearer(raw)).json()["numbers"] == []


def test_two_serializers_never_share_a_field(customer, rf):
    """The fields are built once per class and copied: each serializer binds its own."""
    first, second = PbxUserSerializer(), PbxUserSerializer()
    for name in ("tenant", "internal_number", "numbers"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second


def test_an_address_is_checked_by_the_model_s_rules_and_said_wrong_once(client, customer):
    raw = token_of(customer.admin)
    wrong = client.post(
        f"{API}/pbx-users/",
        new_user_body(customer, email="not an address"),
        content_type="application/json",
        **bearer(raw),
    )
    assert wrong.status_code == 400 and len(wrong.json()["email"]) == 1
    made = client.post(
        f"{API}/pbx-users/",
        new_user_body(customer, email="ünsal@bücher.example"),
        content_type="application/json",
        **bearer(raw),
    )
    assert made.status_code == 201, made.json()  # as the admin's form and the CSV import take it
    assert PbxUser.objects.get(username="api.user").email == "ünsal@bücher.example"
