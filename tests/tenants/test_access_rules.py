"""One test per rule of tenants/access.py and tenants/policy.py that the broader suites let slip:
each fails when its rule is removed (a mutation check of the permission tree)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from telephony.models import Entity, ImportRun, LineTemplate, PbxUser, PhoneNumber, Platform, Server, Tenant
from tenants import access
from tenants.access import ADD, CHANGE, DELETE, VIEW, AccessPolicy
from tenants.models import Organization, Role
from tests.factories import (
    EntityFactory,
    LineTemplateFactory,
    PbxUserFactory,
    PhoneNumberFactory,
    PlatformFactory,
    ServerFactory,
    TenantFactory,
    UserFactory,
)

Users = get_user_model()


@pytest.fixture
def granted(tree):
    """An entity of the customer, administered by a login that holds no membership."""
    entity = EntityFactory(tenant=TenantFactory(organization=tree.customer))
    login = UserFactory()
    entity.administrators.add(login)
    return entity, login


# --- lookups -----------------------------------------------------------------------------------


def test_the_pools_owner_alone_adds_and_deletes_a_number_its_customer_holds(tree, member):
    """A number of the reseller's pool held by the customer's tenant is seen and changed by the
    customer (second lookup), but only the pool's owner (first lookup) may delete it or add one."""
    number = PhoneNumberFactory(organization=tree.reseller, tenant=TenantFactory(organization=tree.customer))
    customer_admin = member(tree.customer, Role.ADMIN)
    assert access.can(customer_admin, VIEW, number) and access.can(customer_admin, CHANGE, number)
    assert not access.can(customer_admin, DELETE, number)
    assert not access.restrict(PhoneNumber.objects.all(), customer_admin, DELETE).exists()
    assert not access.can_add(customer_admin, PhoneNumber, tree.reseller)
    assert access.can(member(tree.reseller, Role.OPERATOR), DELETE, number)


# --- inactive logins and superusers, at every entry point --------------------------------------

ENTRY_POINTS = {
    "restrict": lambda login, tree: access.restrict(Tenant.objects.all(), login, VIEW).exists(),
    "can_add": lambda login, tree: access.can_add(login, Tenant, tree.customer),
    "administers": lambda login, tree: access.administers(login, tree.customer),
    "organizations_for": lambda login, tree: access.organizations_for(login, Tenant, ADD).exists(),
    "has_any_scope": lambda login, tree: access.has_any_scope(login),
    "restrict_users view": lambda login, tree: access.restrict_users(Users.objects.all(), login, VIEW).exists(),
    "restrict_users change": lambda login, tree: access.restrict_users(Users.objects.all(), login, CHANGE).exists(),
}


@pytest.mark.parametrize("entry_point", list(ENTRY_POINTS))
def test_a_deactivated_administrator_gets_nothing_anywhere(tree, member, entry_point):
    TenantFactory(organization=tree.customer)
    member(tree.customer, Role.VIEWER)  # a login it would see and govern
    active = member(tree.reseller, Role.ADMIN)
    assert ENTRY_POINTS[entry_point](active, tree), "the same login, active, gets it"
    inactive = member(tree.reseller, Role.ADMIN, is_active=False)
    assert not ENTRY_POINTS[entry_point](inactive, tree)


@pytest.mark.parametrize("entry_point", list(ENTRY_POINTS))
def test_a_superuser_without_membership_gets_everything(tree, member, superuser, entry_point):
    TenantFactory(organization=tree.customer)
    member(tree.customer, Role.VIEWER)
    assert ENTRY_POINTS[entry_point](superuser, tree)


# --- roles -------------------------------------------------------------------------------------


def test_organization_choices_follow_the_role_of_each_membership(tree, member):
    """A viewer may see a customer but is offered it nowhere to create things."""
    viewer = member(tree.customer, Role.VIEWER)
    assert access.organizations_for(viewer, Tenant, VIEW).exists()
    assert not access.organizations_for(viewer, Tenant, ADD).exists()
    operator = member(tree.reseller, Role.OPERATOR)
    assert set(access.organizations_for(operator, Tenant, ADD)) == {tree.reseller, tree.customer}
    assert not access.organizations_for(operator, Organization, ADD).exists(), "organizations: admins only"


def test_an_unknown_action_is_an_error_not_a_manage_right(tree, member):
    login = member(tree.reseller, Role.ADMIN)
    with pytest.raises(ValueError, match="unknown action"):
        access.can(login, "publish", tree.customer)
    with pytest.raises(ValueError, match="unknown action"):
        Tenant.access_policy.roles_for("")


# --- what an organization itself may see -------------------------------------------------------


def test_an_organization_viewer_sees_its_organization_and_below_only(tree):
    """The stand-in for "the customer" on an end user's page sees what a viewer of the customer
    sees: not its reseller, not the other customers of the tree."""
    customer = access.OrganizationViewer(tree.customer)
    assert set(access.visible_organizations(customer)) == {tree.customer}
    assert not access.can(customer, CHANGE, tree.customer)
    sibling_template = LineTemplateFactory(organization=tree.sibling_customer)
    assert not access.can(customer, VIEW, sibling_template)


# --- entity administrators ---------------------------------------------------------------------


def test_an_entity_administrator_sees_the_templates_shared_with_its_customer(tree, granted):
    """Templates of the customer and of every organization above it can be used for the entity's
    users; another reseller's template, and the platforms, cannot be seen."""
    _entity, login = granted
    usable = {LineTemplateFactory(organization=organization) for organization in (tree.distributor, tree.reseller)}
    usable.add(LineTemplateFactory(organization=tree.customer))
    LineTemplateFactory(organization=tree.sibling)
    LineTemplateFactory(organization=tree.sibling_customer)
    assert set(access.restrict(LineTemplate.objects.all(), login, VIEW)) == usable
    PlatformFactory(organization=tree.distributor)
    assert not access.restrict(Platform.objects.all(), login, VIEW).exists()


def test_a_shared_resource_is_never_changed_through_an_entity_grant(tree, granted, monkeypatch):
    """Shared down means seen from below, whatever else the policy gives entity administrators:
    even a policy with CHANGE for them leaves the template of the organization above untouchable."""
    _entity, login = granted
    above = LineTemplateFactory(organization=tree.reseller)
    policy = AccessPolicy(("organization",), shared_down=True, entity_actions=frozenset({VIEW, CHANGE}))
    monkeypatch.setattr(LineTemplate, "access_policy", policy)
    assert access.can(login, VIEW, above)
    assert not access.can(login, CHANGE, above)


def test_an_entity_administrator_sees_only_the_imports_it_uploaded(tree, granted):
    """Two administrators of the same customer's entities: each one sees and confirms its own
    users import, never the other's (its rows name the other's entities)."""
    entity, login = granted
    colleague = UserFactory()
    EntityFactory(tenant=entity.tenant).administrators.add(colleague)

    def upload(by):
        return ImportRun.objects.create(
            kind="users",
            organization=tree.customer,
            tenant=entity.tenant,
            file_name="u.csv",
            content=b"",
            created_by=by,
        )

    mine, theirs = upload(login), upload(colleague)
    assert list(access.restrict(ImportRun.objects.all(), login, VIEW)) == [mine]
    assert access.can(login, CHANGE, mine) and not access.can(login, CHANGE, theirs)
    assert not access.can(login, DELETE, mine)


def test_an_entity_grant_adds_users_only_to_the_login_own_entities(tree, granted):
    entity, login = granted
    assert access.can_add(login, PbxUser, tree.customer, entity=entity)
    someone_elses = EntityFactory(tenant=entity.tenant)
    someone_elses.administrators.add(UserFactory())
    assert not access.can_add(login, PbxUser, tree.customer, entity=someone_elses)


@pytest.mark.parametrize("model", [PhoneNumber, Entity, Tenant], ids=lambda m: m.__name__)
def test_an_entity_grant_adds_nothing_but_users(tree, granted, model):
    """Numbers, entities and tenants are added by the organization's staff only, even inside a
    granted entity."""
    entity, login = granted
    assert not access.can_add(login, model, tree.customer, entity=entity)


def test_an_entity_grant_is_a_scope_in_the_admin_and_a_linked_line_is_not(tree, granted):
    _entity, login = granted
    assert access.has_any_scope(login)
    end_user = UserFactory()
    PbxUserFactory(tenant=TenantFactory(organization=tree.customer), portal_user=end_user)
    assert not access.has_any_scope(end_user)


# --- logins ------------------------------------------------------------------------------------


def test_a_login_without_membership_still_sees_itself(tree, granted):
    _entity, login = granted
    colleague = UserFactory()
    EntityFactory(tenant=TenantFactory(organization=tree.customer)).administrators.add(colleague)
    assert list(access.restrict_users(Users.objects.all(), login, VIEW)) == [login]


# --- counts in lists ---------------------------------------------------------------------------


@pytest.mark.parametrize("shared", [False, True], ids=["scope per row", "scope read once"])
def test_a_shared_servers_tenant_count_counts_only_the_visible_tenants(tree, member, superuser, shared):
    server = ServerFactory(platform=PlatformFactory(organization=tree.distributor))
    ServerFactory(platform=server.platform)  # a second row: the scope read once serves both
    for organization in (tree.customer, tree.sibling_customer, tree.sibling_customer):
        TenantFactory(organization=organization, server=server)

    def count(login):
        rows = Server.objects.annotate(n=access.visible_count(Tenant, "server", login, shared=shared))
        return rows.get(pk=server.pk).n

    assert count(member(tree.reseller, Role.VIEWER)) == 1
    assert count(member(tree.sibling, Role.ADMIN)) == 2
    assert count(superuser) == 3
