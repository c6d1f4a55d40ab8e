"""tenants/wide_scope.py and `access.restrict`'s `row_by_row`: a login that sees a large part of the
tree has, on SQLite, its scope checked on each row a list walks in key order rather than its rows
gathered through the scope's indexes and sorted; the rows are exactly the same either way, and
PostgreSQL is never changed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from rest_framework.test import APIClient

from telephony.models import PhoneNumber
from telephony.selectors_api_numbers import phone_numbers_for
from tenants import access, wide_scope
from tenants.access import VIEW
from tenants.models import OrganizationKind, Role
from tests.factories import EntityFactory, OrganizationFactory, PbxUserFactory, PhoneNumberFactory, TenantFactory
from tests.query_plans import sqlite_plan

SQLITE = "sqlite"


@pytest.fixture
def numbers(tree):
    """Numbers of every kind of owner: a pool's own (free), a distributor's allocated to the
    customer's tenant (seen through the tenant only), the sibling's, and an entity's user's."""
    tenant = TenantFactory(organization=tree.customer)
    entity = EntityFactory(tenant=tenant)
    user = PbxUserFactory(tenant=tenant, entity=entity)
    return {
        "reseller pool": PhoneNumberFactory(organization=tree.reseller),
        "allocated from above": PhoneNumberFactory(organization=tree.distributor, tenant=tenant),
        "assigned": PhoneNumberFactory(organization=tree.customer, tenant=tenant, assigned_user=user),
        "sibling": PhoneNumberFactory(organization=tree.sibling_customer),
        "entity": entity,
    }


def _logins(tree, member, numbers):
    entity_admin = member(tree.sibling_customer, Role.VIEWER)
    numbers["entity"].administrators.add(entity_admin)
    return [
        member(tree.reseller, Role.ADMIN),
        member(tree.customer, Role.VIEWER),
        member(tree.sibling, Role.ADMIN),
        member(tree.distributor, Role.VIEWER),
        entity_admin,
    ]


def test_rows_checked_row_by_row_are_exactly_the_scoped_rows(tree, member, numbers):
    for login in _logins(tree, member, numbers):
        gathered = set(access.restrict(PhoneNumber.objects.all(), login, VIEW))
        walked = set(access.restrict(PhoneNumber.objects.all(), login, VIEW, row_by_row=True))
        assert walked == gathered, login
    reseller = member(tree.reseller, Role.ADMIN)
    seen = set(access.restrict(PhoneNumber.objects.all(), reseller, VIEW, row_by_row=True))
    assert numbers["allocated from above"] in seen and numbers["sibling"] not in seen


def test_a_login_seeing_a_quarter_of_the_tree_is_wide_and_only_on_sqlite(tree, member, superuser):
    reseller = member(tree.reseller, Role.ADMIN)
    assert wide_scope.sees_much(reseller) is (connection.vendor == SQLITE)
    for _ in range(20):  # the tree grows elsewhere: the reseller now sees a small part of it
        OrganizationFactory(parent=tree.sibling, kind=OrganizationKind.CUSTOMER)
    assert wide_scope.sees_much(member(tree.reseller, Role.ADMIN)) is False
    assert wide_scope.sees_much(reseller) is (connection.vendor == SQLITE)  # kept for the request
    assert wide_scope.sees_much(superuser) is False  # a superuser's lists hold no scope to check
    assert wide_scope.sees_much(AnonymousUser()) is False
    assert wide_scope.sees_much(member(tree.customer, Role.ADMIN, is_active=False)) is False


def test_a_wide_login_walks_the_key_order_on_sqlite_and_postgresql_keeps_its_plan(tree, member, numbers):
    reseller = member(tree.reseller, Role.ADMIN)
    page = phone_numbers_for(reseller).filter(sync_state="pending").order_by("pk")[:51]
    sql = str(page.query)
    if connection.vendor != SQLITE:
        assert '+"telephony_phonenumber"' not in sql
        return
    assert '+"telephony_phonenumber"."organization_id" IN' in sql
    walked = sqlite_plan(page)
    assert "TEMP B-TREE" not in walked and "MULTI-INDEX OR" not in walked, walked
    gathered = access.restrict(PhoneNumber.objects.all(), reseller, VIEW).order_by("pk")[:51]
    assert "TEMP B-TREE" in sqlite_plan(gathered)  # what the walk spares: every scoped row gathered and sorted


def test_the_api_pages_a_wide_login_through_all_its_numbers_and_no_other(tree, member, numbers):
    for _ in range(3):
        PhoneNumberFactory(organization=tree.reseller)
    reseller = member(tree.reseller, Role.ADMIN)
    client = APIClient()
    client.force_login(reseller)
    ids, url = [], "/api/v1/phone-numbers/?page_size=2"
    while url:
        answer = client.get(url)
        assert answer.status_code == 200, answer.content
        ids += [row["id"] for row in answer.json()["results"]]
        url = answer.json()["next"]
    expected = access.restrict(PhoneNumber.objects.all(), reseller, VIEW).order_by("pk")
    assert ids == list(expected.values_list("pk", flat=True))
    assert numbers["sibling"].pk not in ids and numbers["allocated from above"].pk in ids
    assert client.get(f"/api/v1/phone-numbers/{numbers['sibling'].pk}/").status_code == 404
