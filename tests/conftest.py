"""Fixtures shared by the whole suite: a small organization tree with one login per role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache

from tenants.models import Organization, OrganizationKind, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_local_cache():
    """Each test starts with an empty in-process cache: an API rate limit counted by an earlier
    test's login (the ids repeat from test to test) never answers a later test's request 429."""
    cache.clear()


@dataclass
class Tree:
    """distributor > (reseller > customer, sibling reseller > sibling customer)."""

    distributor: Organization
    reseller: Organization
    customer: Organization
    sibling: Organization
    sibling_customer: Organization


@pytest.fixture
def tree(db) -> Tree:
    distributor = OrganizationFactory(name="Distributor", kind=OrganizationKind.DISTRIBUTOR)
    reseller = OrganizationFactory(name="Reseller", kind=OrganizationKind.RESELLER, parent=distributor)
    distributor.refresh_from_db()
    sibling = OrganizationFactory(name="Sibling", kind=OrganizationKind.RESELLER, parent=distributor)
    reseller.refresh_from_db()
    customer = OrganizationFactory(name="Customer", kind=OrganizationKind.CUSTOMER, parent=reseller)
    sibling.refresh_from_db()
    sibling_customer = OrganizationFactory(name="Sibling customer", kind=OrganizationKind.CUSTOMER, parent=sibling)
    return Tree(
        *(Organization.objects.get(pk=o.pk) for o in (distributor, reseller, customer, sibling, sibling_customer))
    )


@pytest.fixture
def member(db):
    """member(organization, role) → a staff login with that one membership."""

    def _member(organization: Organization, role: str = Role.ADMIN, **user_fields):
        user = UserFactory(**user_fields)
        MembershipFactory(user=user, organization=organization, role=role)
        return user

    return _member


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)
