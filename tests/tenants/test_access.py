"""The permission tree: every role × every model × view/change/delete, inside and outside the subtree."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from telephony.models import Entity, LineTemplate, NumberInterval, PbxUser, PhoneNumber, Platform, Server, Tenant
from tenants import access
from tenants.access import CHANGE, DELETE, VIEW
from tenants.models import Membership, Organization, Role
from tests.factories import (
    EntityFactory,
    LineTemplateFactory,
    MembershipFactory,
    PbxUserFactory,
    PhoneNumberFactory,
    PlatformFactory,
    ServerFactory,
    TenantFactory,
    UserFactory,
)
from tests.worlds import build_world

MODELS = [
    Organization,
    Membership,
    Platform,
    Server,
    Tenant,
    Entity,
    NumberInterval,
    LineTemplate,
    PbxUser,
    PhoneNumber,
]
ORGANIZATION_REALM = {Organization, Membership, Platform, Server}


@pytest.fixture
def worlds(tree):
    return {
        "inside": build_world(tree.reseller, tree.customer),
        "outside": build_world(tree.sibling, tree.sibling_customer),
    }


def expected(model: type, role: str, action: str, where: str) -> bool:
    if where == "outside":
        return False
    if action == VIEW:
        return True
    if role == Role.VIEWER:
        return False
    if model in ORGANIZATION_REALM:
        return role == Role.ADMIN
    return True


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR, Role.VIEWER])
@pytest.mark.parametrize("action", [VIEW, CHANGE, DELETE])
@pytest.mark.parametrize("where", ["inside", "outside"])
def test_role_model_action_matrix(tree, worlds, member, model, role, action, where):
    login = member(tree.reseller, role)
    obj = worlds[where][model]
    want = expected(model, role, action, where)
    assert access.can(login, action, obj) is want
    assert access.restrict(model.objects.filter(pk=obj.pk), login, action).exists() is want


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_superuser_sees_and_changes_everything(worlds, superuser, model):
    for world in worlds.values():
        assert access.can(superuser, DELETE, world[model])


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_inactive_and_anonymous_logins_get_nothing(tree, worlds, member, model):
    from django.contrib.auth.models import AnonymousUser

    login = member(tree.reseller, Role.ADMIN, is_active=False)
    obj = worlds["inside"][model]
    assert not access.can(login, VIEW, obj)
    assert not access.restrict(model.objects.all(), AnonymousUser(), VIEW).exists()


def test_membership_is_inherited_down_any_depth(tree, member):
    login = member(tree.distributor, Role.VIEWER)
    deep = tree.customer
    assert access.can(login, VIEW, deep)
    assert set(access.visible_organizations(login)) == set(Organization.objects.all())


def test_an_organization_cannot_delete_itself_but_can_rename_itself(tree, member):
    login = member(tree.reseller, Role.ADMIN)
    assert access.can(login, CHANGE, tree.reseller)
    assert not access.can(login, DELETE, tree.reseller)
    assert access.can(login, DELETE, tree.customer)


def test_shared_resources_are_seen_but_not_changed_from_below(tree, member):
    platform = PlatformFactory(organization=tree.distributor)
    template = LineTemplateFactory(organization=tree.distributor)
    server = ServerFactory(platform=platform)
    login = member(tree.customer, Role.ADMIN)
    for obj in (platform, template, server):
        assert access.can(login, VIEW, obj)
        assert not access.can(login, CHANGE, obj)
    sibling_template = LineTemplateFactory(organization=tree.sibling)
    assert not access.can(login, VIEW, sibling_template)


def test_entity_administrator_sees_only_the_users_and_numbers_of_granted_entities(tree):
    tenant = TenantFactory(organization=tree.customer)
    granted = EntityFactory(tenant=tenant, intervals=[("100", "199")])
    other = EntityFactory(tenant=tenant, intervals=[("200", "299")])
    mine = PbxUserFactory(entity=granted, internal_number="101")
    theirs = PbxUserFactory(entity=other, internal_number="201")
    my_number = PhoneNumberFactory(organization=tree.reseller, tenant=tenant, assigned_user=mine)
    their_number = PhoneNumberFactory(organization=tree.reseller, tenant=tenant, assigned_user=theirs)
    login = UserFactory()
    granted.administrators.add(login)

    assert list(access.restrict(PbxUser.objects.all(), login, CHANGE)) == [mine]
    assert list(access.restrict(PbxUser.objects.all(), login, DELETE)) == [mine]
    assert list(access.restrict(PhoneNumber.objects.all(), login, VIEW)) == [my_number]
    assert not access.can(login, DELETE, my_number)
    assert not access.can(login, VIEW, their_number)
    assert list(access.restrict(Entity.objects.all(), login, VIEW)) == [granted]
    assert list(access.restrict(Tenant.objects.all(), login, VIEW)) == [tenant]
    assert not access.can(login, CHANGE, tenant)
    assert not access.restrict(Organization.objects.all(), login, VIEW).exists()
    assert access.can_add(login, PbxUser, tree.customer, entity=granted)
    assert not access.can_add(login, PbxUser, tree.customer, entity=other)


def test_restrict_gives_each_row_once_with_several_entity_administrators(tree, member):
    entity = EntityFactory(tenant=TenantFactory(organization=tree.customer))
    PbxUserFactory(entity=entity, internal_number="1500")
    entity.administrators.add(UserFactory(), UserFactory())
    login = member(tree.reseller, Role.OPERATOR)
    entity.administrators.add(login)
    assert access.restrict(PbxUser.objects.all(), login, VIEW).count() == 1


def test_logins_are_scoped_like_everything_else(tree, member):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.all()
    admin = member(tree.reseller, Role.ADMIN)
    staff = member(tree.customer, Role.OPERATOR)
    sibling_staff = member(tree.sibling, Role.ADMIN)
    shared = member(tree.customer, Role.VIEWER)
    MembershipFactory(user=shared, organization=tree.sibling, role=Role.VIEWER)

    visible = set(access.restrict_users(users, admin, VIEW))
    assert {admin, staff, shared} <= visible
    assert sibling_staff not in visible
    manageable = set(access.restrict_users(users, admin, CHANGE))
    assert staff in manageable and admin in manageable
    assert shared not in manageable, "a login with a role elsewhere is not this admin's to manage"
    assert not access.restrict_users(users, member(tree.reseller, Role.OPERATOR), CHANGE).exists()


def test_memberships_are_read_once_per_login(tree, member, django_assert_num_queries):
    login = member(tree.reseller, Role.ADMIN)
    access.forget(login)
    with django_assert_num_queries(2):  # the memberships, then the check itself
        assert access.can(login, VIEW, tree.customer)
    with django_assert_num_queries(1):  # the memberships are not read again
        assert access.can(login, CHANGE, tree.customer)


def test_memberships_and_entity_grants_are_read_together_in_one_query(tree, member, django_assert_num_queries):
    login = member(tree.reseller, Role.OPERATOR)
    MembershipFactory(user=login, organization=tree.sibling, role=Role.VIEWER)
    for organization in (tree.customer, tree.sibling_customer):
        EntityFactory(tenant=TenantFactory(organization=organization)).administrators.add(login)
    access.forget(login)
    with django_assert_num_queries(1):
        assert access.memberships(login) == sorted(
            [(tree.reseller.path, Role.OPERATOR), (tree.sibling.path, Role.VIEWER)]
        )
        assert access.has_entity_grants(login)
        assert access.entity_grant_paths(login) == sorted([tree.customer.path, tree.sibling_customer.path])
    nobody = UserFactory()
    with django_assert_num_queries(1):
        assert access.memberships(nobody) == [] and not access.has_entity_grants(nobody)


def test_the_organizations_list_counts_tenants_and_members_for_its_page_only(tree, member, client):
    client.force_login(member(tree.reseller, Role.ADMIN))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("admin:tenants_organization_changelist"))
    assert page.status_code == 200 and tree.customer.name in page.content.decode()
    assert not [q["sql"] for q in queries if "COUNT(DISTINCT" in q["sql"]]
