"""A login is changed only by those who administer every right it holds: its memberships, its entity
grants and its linked PBX line. Otherwise an administrator could reset the password of a login that
also acts for another reseller's customer, and then act as it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse

from tenants import access, services
from tenants.access import CHANGE, VIEW
from tenants.models import Membership, Role
from tests.factories import EntityFactory, MembershipFactory, PbxUserFactory, TenantFactory, UserFactory

User = get_user_model()


@pytest.fixture
def admin(tree, member):
    return member(tree.reseller, Role.ADMIN, is_staff=True)


def _login_with_foreign_grant(tree, member):
    """Staff of the admin's own customer who also administers an entity of another reseller's customer."""
    login = member(tree.customer, Role.OPERATOR, is_staff=True)
    EntityFactory(tenant=TenantFactory(organization=tree.sibling_customer)).administrators.add(login)
    return login


def _login_with_foreign_line(tree, member):
    login = member(tree.customer, Role.VIEWER, is_staff=True)
    PbxUserFactory(tenant=TenantFactory(organization=tree.sibling_customer), portal_user=login)
    return login


@pytest.mark.parametrize("make", [_login_with_foreign_grant, _login_with_foreign_line], ids=["grant", "line"])
def test_a_right_outside_the_admins_tree_takes_the_login_out_of_its_hands(tree, member, admin, make):
    login = make(tree, member)
    assert login in access.restrict_users(User.objects.all(), admin, VIEW), "still seen from the admin's tree"
    assert login not in access.restrict_users(User.objects.all(), admin, CHANGE)
    sibling_admin = member(tree.sibling, Role.ADMIN)
    assert login not in access.restrict_users(User.objects.all(), sibling_admin, CHANGE)
    distributor_admin = member(tree.distributor, Role.ADMIN)
    assert login in access.restrict_users(User.objects.all(), distributor_admin, CHANGE), "who governs both may"


@pytest.mark.parametrize("make", [_login_with_foreign_grant, _login_with_foreign_line], ids=["grant", "line"])
def test_every_way_to_change_such_a_login_is_refused(tree, member, admin, make, client):
    login = make(tree, member)
    login.first_name = "Hijacked"
    with pytest.raises(Http404):
        services.login_update(actor=admin, user=login)
    with pytest.raises(Http404):
        services.login_unlock(actor=admin, user=login)
    with pytest.raises(Http404):
        services.login_delete(actor=admin, user=login)
    with pytest.raises(Http404):
        services.membership_create(
            actor=admin, membership=Membership(user=login, organization=tree.reseller, role=Role.ADMIN)
        )

    client.force_login(admin)
    password_url = reverse("admin:auth_user_password_change", args=[login.pk])
    assert client.get(password_url).status_code in (403, 404)
    response = client.post(password_url, {"password1": "Taken-over-2026!", "password2": "Taken-over-2026!"})
    assert response.status_code in (403, 404)
    change_url = reverse("admin:auth_user_change", args=[login.pk])
    response = client.post(change_url, {"username": login.username, "is_active": "", "email": "x@evil.example"})
    assert response.status_code in (403, 404)
    assert client.post(reverse("admin:auth_user_delete", args=[login.pk]), {"post": "yes"}).status_code in (403, 404)
    client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "delete_selected", "_selected_action": [login.pk], "post": "yes"},
    )
    login.refresh_from_db()
    assert login.is_active and login.email != "x@evil.example" and login.first_name != "Hijacked"


def test_an_end_user_login_is_governed_by_the_administrators_of_its_line(tree, member, admin):
    end_user = UserFactory()
    PbxUserFactory(tenant=TenantFactory(organization=tree.customer), portal_user=end_user)
    assert end_user in access.restrict_users(User.objects.all(), admin, CHANGE)
    assert end_user not in access.restrict_users(User.objects.all(), member(tree.sibling, Role.ADMIN), VIEW)
    assert end_user not in access.restrict_users(User.objects.all(), member(tree.reseller, Role.OPERATOR), CHANGE)


def test_lines_without_a_login_do_not_hide_every_login(tree, member, admin):
    """Most PBX lines have no login: a NULL among the rights looked at must not make every login
    unmanageable (NOT IN with a NULL matches nothing)."""
    PbxUserFactory(tenant=TenantFactory(organization=tree.sibling_customer))
    PbxUserFactory(tenant=TenantFactory(organization=tree.customer))
    staff = member(tree.customer, Role.OPERATOR)
    assert set(access.restrict_users(User.objects.all(), admin, CHANGE)) >= {admin, staff}


def test_a_login_with_no_right_anywhere_is_governed_by_nobody_but_a_superuser(tree, admin, superuser):
    orphan = UserFactory()
    assert orphan not in access.restrict_users(User.objects.all(), admin, CHANGE)
    assert orphan in access.restrict_users(User.objects.all(), superuser, CHANGE)


def test_memberships_at_every_level_count(tree, member, admin):
    """A right below the admin's organization is inside; one above it (the distributor) is not."""
    below = member(tree.customer, Role.ADMIN)
    MembershipFactory(user=below, organization=tree.reseller, role=Role.VIEWER)
    above = member(tree.customer, Role.ADMIN)
    MembershipFactory(user=above, organization=tree.distributor, role=Role.VIEWER)
    governed = set(access.restrict_users(User.objects.all(), admin, CHANGE))
    assert below in governed
    assert above not in governed


def test_a_superuser_is_never_governed_by_staff(tree, member, admin):
    root = member(tree.customer, Role.VIEWER, is_superuser=True)
    assert root not in access.restrict_users(User.objects.all(), admin, CHANGE)
    root.first_name = "x"
    with pytest.raises((Http404, ValidationError)):
        services.login_update(actor=admin, user=root)
