"""The self-service reads: scoped to the login's customer organizations, the next free internal
number of each entity, free external numbers."""

from __future__ import annotations

import pytest
from django.http import Http404

from telephony import selectors_selfservice as selectors
from telephony.models import PbxUser, PhoneNumber, Tenant
from tenants.models import OrganizationKind, Role
from tests.factories import (
    EntityFactory,
    MembershipFactory,
    OrganizationFactory,
    PbxUserFactory,
    PhoneNumberFactory,
    TenantFactory,
)
from tests.worlds import build_world

pytestmark = pytest.mark.django_db


def test_a_customer_membership_makes_a_customer_administrator_a_reseller_one_does_not(tree, member):
    customer_admin = member(tree.customer, Role.ADMIN)
    assert selectors.customer_organizations(customer_admin) == [tree.customer]
    assert not selectors.is_customer_admin(member(tree.reseller, Role.ADMIN))


def test_reads_stay_inside_the_customer_even_for_a_login_that_is_also_reseller_staff(tree, member):
    ours = build_world(tree.reseller, tree.customer)
    other_customer = OrganizationFactory(kind=OrganizationKind.CUSTOMER, parent=tree.reseller)
    theirs = build_world(tree.reseller, other_customer)
    login = member(tree.customer, Role.ADMIN)
    MembershipFactory(user=login, organization=tree.reseller, role=Role.ADMIN)
    assert list(selectors.tenants_of(login)) == [ours[Tenant]]
    assert list(selectors.users_of(login)) == [ours[PbxUser]]
    with pytest.raises(Http404):
        selectors.user_of(login, theirs[PbxUser].pk)


def test_next_free_internal_numbers_skip_the_used_ones_and_keep_leading_zeros(db):
    tenant = TenantFactory()
    padded = EntityFactory(tenant=tenant, intervals=[("0010", "0012"), ("0100", "")])
    full = EntityFactory(tenant=tenant, intervals=[("500", "501")])
    empty_plan = EntityFactory(tenant=tenant, intervals=[])
    for number in ("0010", "0011", "500", "501"):
        entity = padded if number.startswith("0") else full
        PbxUserFactory(tenant=tenant, entity=entity, internal_number=number)
    found = selectors.next_free_internal_numbers(tenant)
    assert found[padded.pk] == "0012"
    assert found[full.pk] == ""
    assert empty_plan.pk not in found
    PbxUserFactory(tenant=tenant, entity=padded, internal_number="0012")
    assert selectors.next_free_internal_numbers(tenant)[padded.pk] == "0100", "on to the next interval"


def test_free_numbers_are_the_tenants_unassigned_ones(tree):
    world = build_world(tree.reseller, tree.customer)
    tenant = world[Tenant]
    free = PhoneNumberFactory(organization=tree.reseller, tenant=tenant)
    PhoneNumberFactory(organization=tree.reseller)
    assert list(selectors.free_numbers(tenant)) == [free]
    assert world[PhoneNumber] not in selectors.free_numbers(tenant)
