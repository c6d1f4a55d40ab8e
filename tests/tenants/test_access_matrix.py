"""The role matrix from every place a right can lie, not only at the reseller.

tests/tenants/test_access.py puts memberships at the reseller, where a phone number's two lookups
(its pool's owner, its tenant's customer) agree. Here the login's right lies at the distributor
(above both worlds), at the customer (below the reseller's pool, platform and server), at a site
below the customer (below every object of the world), in an entity grant and in a linked PBX line;
then the same places as rights of another login, seen and governed by administrators
(`restrict_users`).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from telephony.models import Entity, LineTemplate, NumberInterval, PbxUser, PhoneNumber, Platform, Server, Tenant
from tenants import access
from tenants.access import ADD, CHANGE, DELETE, VIEW
from tenants.models import Membership, Organization, OrganizationKind, Role
from tests.factories import (
    EntityFactory,
    MembershipFactory,
    OrganizationFactory,
    PbxUserFactory,
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
ALL = frozenset({VIEW, ADD, CHANGE, DELETE})
ADMIN_ONLY = {Organization, Membership, Platform, Server}  # manage_roles = ORGANIZATION_MANAGERS

# What a manager (the right role) may do on each object of the world built at (reseller, customer),
# for each place of its membership. A viewer keeps VIEW only; an operator keeps VIEW only on ADMIN_ONLY.
BY_PLACE: dict[str, dict[type, frozenset[str]]] = {
    # above everything: both worlds, every action
    "distributor": {model: ALL for model in MODELS},
    "customer": {
        Organization: frozenset({VIEW, ADD, CHANGE}),  # itself: rename, add below, never delete
        Membership: ALL,
        Platform: frozenset({VIEW}),  # the reseller's, shared down: used, never changed
        Server: frozenset({VIEW}),
        Tenant: ALL,
        Entity: ALL,
        NumberInterval: ALL,
        LineTemplate: ALL,
        PbxUser: ALL,
        # in the reseller's pool, held by the customer's tenant: the second lookup grants view and
        # change, the first (the pool) alone decides add and delete
        PhoneNumber: frozenset({VIEW, CHANGE}),
    },
    # a site below the customer: only what is shared down reaches it
    "below": {Platform: frozenset({VIEW}), Server: frozenset({VIEW}), LineTemplate: frozenset({VIEW})},
}

# A login without membership. Granted the world's entity: its users fully, its numbers in view and
# change, the way to them (tenant, entity, interval) and the templates shared with it in view.
# Linked to a line of the world: that is a self-service right, nothing in the admin.
BY_RIGHT: dict[str, dict[type, frozenset[str]]] = {
    "entity grant": {
        Tenant: frozenset({VIEW}),
        Entity: frozenset({VIEW}),
        NumberInterval: frozenset({VIEW}),
        LineTemplate: frozenset({VIEW}),
        PbxUser: ALL,
        PhoneNumber: frozenset({VIEW, CHANGE}),
    },
    "linked line": {},
}


@pytest.fixture
def site(tree):
    return OrganizationFactory(name="Site", kind=OrganizationKind.CUSTOMER, parent=tree.customer)


@pytest.fixture
def worlds(tree):
    return {
        "inside": build_world(tree.reseller, tree.customer),
        "outside": build_world(tree.sibling, tree.sibling_customer),
    }


def allowed(table: dict[type, frozenset[str]], model: type, role: str | None) -> frozenset[str]:
    actions = table.get(model, frozenset())
    if role == Role.VIEWER or (role == Role.OPERATOR and model in ADMIN_ONLY):
        return actions & {VIEW}
    return actions


def add_target(model: type, obj) -> tuple[Organization, Entity | None]:
    """Where a new object like `obj` would be added: its first lookup's organization (for an
    organization, itself as the parent), and the entity for a PBX user."""
    if model is Organization:
        return obj, None
    lookup = access.policy_of(model).organization_lookups[0]
    organization = obj
    for part in lookup.split("__"):
        organization = getattr(organization, part)
    return organization, obj.entity if model is PbxUser else None


def granted_actions(login, model: type, obj) -> frozenset[str]:
    found = set()
    for action in (VIEW, CHANGE, DELETE):
        may = access.can(login, action, obj)
        assert access.restrict(model.objects.filter(pk=obj.pk), login, action).exists() is may, action
        if may:
            found.add(action)
    organization, entity = add_target(model, obj)
    if access.can_add(login, model, organization, entity=entity):
        found.add(ADD)
    return frozenset(found)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR, Role.VIEWER])
@pytest.mark.parametrize("place", list(BY_PLACE))
@pytest.mark.parametrize("where", ["inside", "outside"])
def test_membership_place_matrix(tree, site, worlds, member, place, role, model, where):
    organization = {"distributor": tree.distributor, "customer": tree.customer, "below": site}[place]
    login = member(organization, role)
    # only the distributor is above the other reseller's world
    want = allowed(BY_PLACE[place], model, role) if where == "inside" or place == "distributor" else frozenset()
    assert granted_actions(login, model, worlds[where][model]) == want


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("right", list(BY_RIGHT))
@pytest.mark.parametrize("where", ["inside", "outside"])
def test_entity_grant_and_linked_line_matrix(worlds, right, model, where):
    login = UserFactory()
    inside = worlds["inside"]
    if right == "entity grant":
        inside[Entity].administrators.add(login)
    else:
        inside[PbxUser].portal_user = login
        inside[PbxUser].save()
    want = allowed(BY_RIGHT[right], model, None) if where == "inside" else frozenset()
    assert granted_actions(login, model, worlds[where][model]) == want


# --- logins: seen from every organization one of their rights lies in, governed only by an
# administrator of all of them -------------------------------------------------------------------

TARGETS = [
    "member of customer",
    "member of distributor",
    "member of sibling customer",
    "member of site",
    "entity admin at customer",
    "entity admin at sibling customer",
    "line at customer",
    "line at sibling customer",
    "member of customer, line at sibling customer",
    "entity admin at customer, member of site",
    "no right",
]
OBSERVERS = [
    ("distributor", Role.ADMIN),
    ("reseller", Role.ADMIN),
    ("reseller", Role.OPERATOR),
    ("reseller", Role.VIEWER),
    ("customer", Role.ADMIN),
    ("site", Role.ADMIN),
    ("sibling", Role.ADMIN),
]


def make_target(description: str, organizations: dict[str, Organization]) -> tuple[object, list[Organization]]:
    """A login holding the rights the description names, and the organizations those rights lie in."""
    login = UserFactory()
    places = []
    for right in description.split(", "):
        if right == "no right":
            continue
        kind, _, where = right.partition(" at ") if " at " in right else right.partition(" of ")
        organization = organizations[where]
        if kind == "member":
            MembershipFactory(user=login, organization=organization, role=Role.VIEWER)
        elif kind == "entity admin":
            EntityFactory(tenant=TenantFactory(organization=organization)).administrators.add(login)
        else:
            PbxUserFactory(tenant=TenantFactory(organization=organization), portal_user=login)
        places.append(organization)
    return login, places


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("observer", OBSERVERS, ids=lambda o: f"{o[1]}@{o[0]}")
def test_logins_are_seen_and_governed_from_where_their_rights_lie(tree, site, member, observer, target):
    organizations = {
        "distributor": tree.distributor,
        "reseller": tree.reseller,
        "customer": tree.customer,
        "site": site,
        "sibling": tree.sibling,
        "sibling customer": tree.sibling_customer,
    }
    where, role = observer
    watcher = member(organizations[where], role)
    login, places = make_target(target, organizations)
    below = [place.path.startswith(organizations[where].path) for place in places]
    users = get_user_model().objects.all()
    assert (login in access.restrict_users(users, watcher, VIEW)) is any(below)
    governed = role == Role.ADMIN and bool(places) and all(below)
    assert (login in access.restrict_users(users, watcher, CHANGE)) is governed
    assert (login in access.restrict_users(users, watcher, DELETE)) is governed
