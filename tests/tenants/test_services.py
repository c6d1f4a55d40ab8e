"""Writes to the organization tree: nobody creates or moves anything outside their subtree."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from tenants import services
from tenants.models import Membership, Organization, OrganizationKind, Role
from tests.factories import TenantFactory, UserFactory


def new(name: str, kind: str = OrganizationKind.RESELLER) -> Organization:
    return Organization(name=name, kind=kind)


def test_admin_creates_below_own_organization(tree, member):
    login = member(tree.reseller, Role.ADMIN)
    child = services.organization_create(
        actor=login, organization=new("Sub", OrganizationKind.CUSTOMER), parent=tree.reseller
    )
    assert child.parent == tree.reseller
    assert child.path.startswith(tree.reseller.path)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_only_admins_create_organizations(tree, member, role):
    login = member(tree.reseller, role)
    with pytest.raises(Http404):
        services.organization_create(actor=login, organization=new("Sub"), parent=tree.reseller)


def test_nobody_creates_below_a_sibling(tree, member):
    login = member(tree.reseller, Role.ADMIN)
    with pytest.raises(Http404):
        services.organization_create(actor=login, organization=new("Sneaky"), parent=tree.sibling)
    assert not Organization.objects.filter(name="Sneaky").exists()


def test_only_a_superuser_starts_a_new_tree(tree, member, superuser):
    login = member(tree.distributor, Role.ADMIN)
    with pytest.raises(ValidationError):
        services.organization_create(actor=login, organization=new("Root", OrganizationKind.DISTRIBUTOR), parent=None)
    root = services.organization_create(
        actor=superuser, organization=new("Root", OrganizationKind.DISTRIBUTOR), parent=None
    )
    assert root.depth == 1


def test_a_customer_has_no_organizations_below_it(tree, superuser):
    with pytest.raises(ValidationError, match="customer"):
        services.organization_create(actor=superuser, organization=new("Under customer"), parent=tree.customer)


def test_blank_name_is_refused(tree, superuser):
    with pytest.raises(ValidationError):
        services.organization_create(actor=superuser, organization=new(""), parent=tree.reseller)


def test_moving_under_a_siblings_organization_is_refused(tree, member):
    login = member(tree.reseller, Role.ADMIN)
    with pytest.raises(Http404):
        services.organization_move(actor=login, organization=tree.customer, new_parent=tree.sibling)
    tree.customer.refresh_from_db()
    assert tree.customer.parent == tree.reseller


def test_an_admin_cannot_move_the_organization_it_belongs_to(tree, member):
    login = member(tree.reseller, Role.ADMIN)
    with pytest.raises(Http404):
        services.organization_move(actor=login, organization=tree.reseller, new_parent=tree.sibling)


def test_distributor_admin_moves_a_customer_with_its_subtree(tree, member):
    login = member(tree.distributor, Role.ADMIN)
    TenantFactory(organization=tree.customer)
    moved = services.organization_move(actor=login, organization=tree.customer, new_parent=tree.sibling)
    assert moved.parent.pk == tree.sibling.pk
    assert moved.tenants.count() == 1


def test_no_move_below_itself(tree, superuser):
    with pytest.raises(ValidationError, match="below itself"):
        services.organization_move(actor=superuser, organization=tree.reseller, new_parent=tree.reseller)


def test_delete_refuses_while_something_depends_on_it(tree, superuser):
    TenantFactory(organization=tree.customer)
    with pytest.raises(ValidationError, match="tenant"):
        services.organization_delete(actor=superuser, organization=tree.customer)
    with pytest.raises(ValidationError, match="organization"):
        services.organization_delete(actor=superuser, organization=tree.reseller)


def test_membership_cannot_be_given_outside_the_subtree(tree, member):
    login = member(tree.reseller, Role.ADMIN)
    newcomer = UserFactory()
    with pytest.raises(Http404):
        services.membership_create(
            actor=login, membership=Membership(user=newcomer, organization=tree.sibling, role=Role.ADMIN)
        )
    services.membership_create(
        actor=login, membership=Membership(user=newcomer, organization=tree.customer, role=Role.ADMIN)
    )
    assert newcomer.memberships.count() == 1


def test_membership_cannot_capture_someone_elses_staff(tree, member):
    login = member(tree.reseller, Role.ADMIN)
    sibling_staff = member(tree.sibling, Role.OPERATOR)
    with pytest.raises(Http404):
        services.membership_create(
            actor=login, membership=Membership(user=sibling_staff, organization=tree.customer, role=Role.ADMIN)
        )


def test_one_role_per_organization(tree, member, superuser):
    login = member(tree.reseller, Role.VIEWER)
    with pytest.raises(ValidationError, match="already has a role"):
        services.membership_create(
            actor=superuser, membership=Membership(user=login, organization=tree.reseller, role=Role.ADMIN)
        )


def test_staff_login_is_created_with_its_first_role(tree, member):
    login = member(tree.reseller, Role.ADMIN)
    created = services.staff_login_create(
        actor=login,
        username="newstaff",
        password="a-long-password-1",
        email="n@example.net",
        organization=tree.customer,
        role=Role.OPERATOR,
    )
    assert created.is_staff and created.check_password("a-long-password-1")
    assert created.memberships.get().organization == tree.customer
    with pytest.raises(Http404):
        services.staff_login_create(
            actor=login,
            username="other",
            password="a-long-password-1",
            email="",
            organization=tree.sibling,
            role=Role.ADMIN,
        )


def test_only_a_superuser_makes_a_superuser(tree, member):
    login = member(tree.reseller, Role.ADMIN)
    staff = member(tree.customer, Role.OPERATOR)
    staff.is_superuser = True
    with pytest.raises(ValidationError):
        services.login_update(actor=login, user=staff)
