"""tenants/compiled_counts.py: a list's count column compiled once per scope counts exactly what
the ORM's correlated subquery counts, wherever the outer query puts it, and steps aside where it
could not tell the outer row's key from the counted rows'."""

from __future__ import annotations

import pytest
from django.db.models import Q

from telephony.models import PbxUser, Server, Tenant
from tenants import access, compiled_counts
from tenants.access import VIEW
from tenants.compiled_counts import CountPointingHere, compiled_count
from tenants.models import Role
from tests.factories import EntityFactory, PbxUserFactory, PlatformFactory, ServerFactory, TenantFactory, UserFactory


@pytest.fixture
def shared_server(tree):
    """A distributor's server holding a tenant of the customer and two of its sibling."""
    server = ServerFactory(platform=PlatformFactory(organization=tree.distributor))
    ServerFactory(platform=server.platform)  # a second row, counting nothing
    for organization, name in ((tree.customer, "50% off"), (tree.sibling_customer, "a"), (tree.sibling_customer, "b")):
        TenantFactory(organization=organization, server=server, name=name)
    return server


def _orm_count(login, server):
    """What the ORM's own correlated subquery counts (the path the compiled count replaces)."""
    condition = access.scope_condition(Tenant, login, VIEW, correlated=True) if not login.is_superuser else Q()
    rows = Tenant.objects.filter(condition, server=server)
    return rows.count()


def test_each_login_counts_what_the_orm_counts_and_the_compiled_count_is_used(tree, member, superuser, shared_server):
    for login in (member(tree.reseller, Role.VIEWER), member(tree.sibling, Role.ADMIN), superuser):
        counted = access.visible_count(Tenant, "server", login, shared=True)
        assert isinstance(counted, CountPointingHere)
        assert Server.objects.annotate(n=counted).get(pk=shared_server.pk).n == _orm_count(login, shared_server)
    assert [row.n for row in Server.objects.annotate(n=counted).order_by("pk")] == [3, 0]


def test_the_same_scope_is_compiled_once(tree, member, shared_server):
    compiled_counts._parts.cache_clear()
    for _ in range(3):  # three requests of two logins holding the same role in the same place
        for login in (member(tree.reseller, Role.VIEWER), member(tree.reseller, Role.VIEWER)):
            list(Server.objects.annotate(n=access.visible_count(Tenant, "server", login, shared=True)))
    assert compiled_counts._parts.cache_info().misses == 1


def test_the_count_inside_a_subquery_still_reads_its_own_outer_row(tree, member, shared_server):
    """Where the outer query is itself a subquery, its table has another alias (U0): the count
    takes the alias of the query it sits in."""
    login = member(tree.sibling, Role.ADMIN)
    counted = Server.objects.annotate(n=access.visible_count(Tenant, "server", login, shared=True))
    busy = Server.objects.filter(pk__in=counted.filter(n__gte=2).values("pk"))
    assert list(busy) == [shared_server]
    assert list(Server.objects.filter(pk__in=counted.filter(n__gte=3).values("pk"))) == []


def test_a_list_sorts_and_counts_its_pages_on_the_compiled_count(tree, member, shared_server):
    """The admin's sortable count column and its paginator's COUNT of the annotated rows."""
    login = member(tree.sibling, Role.ADMIN)
    counted = Server.objects.annotate(n=access.visible_count(Tenant, "server", login, shared=True))
    assert counted.order_by("-n", "pk").first() == shared_server
    assert [row.n for row in counted.order_by("n", "pk")] == [0, 2]
    assert counted.filter(n__gt=0).count() == 1


def test_a_percent_sign_in_a_condition_is_a_value_not_a_placeholder(shared_server):
    counted = compiled_count(Tenant, "server", Q(name__contains="50%"))
    assert counted is not None
    assert Server.objects.annotate(n=counted).get(pk=shared_server.pk).n == 1


def test_counted_rows_that_join_the_outer_table_are_left_to_the_orm(shared_server):
    assert compiled_count(Tenant, "server", Q(server__name=shared_server.name)) is None


def test_an_entity_administrators_count_is_not_cached_and_counts_its_entity_alone(tree):
    """The grants are a queryset inside the condition: hashed by identity, so never a shared key."""
    tenant = TenantFactory(organization=tree.customer)
    entity, other = EntityFactory(tenant=tenant), EntityFactory(tenant=tenant)
    PbxUserFactory(tenant=tenant, entity=entity)
    PbxUserFactory.create_batch(2, tenant=tenant, entity=other)
    login = UserFactory()
    entity.administrators.add(login)
    condition = access.scope_condition(PbxUser, login, VIEW)
    assert compiled_count(PbxUser, "tenant", condition) is None
    counted = access.visible_count(PbxUser, "tenant", login)
    assert Tenant.objects.annotate(n=counted).get(pk=tenant.pk).n == 1


def test_a_login_that_sees_nothing_of_the_kind_counts_zero(tree, shared_server):
    nobody = UserFactory()
    assert (
        Server.objects.annotate(n=access.visible_count(Tenant, "server", nobody, shared=True))
        .get(pk=shared_server.pk)
        .n
        == 0
    )


def test_the_organizations_list_counts_each_ones_tenants_and_members_the_compiled_way(tree, member, rf):
    from django.contrib import admin

    from tenants.models import Organization

    TenantFactory.create_batch(2, organization=tree.customer)
    TenantFactory(organization=tree.sibling_customer)
    login = member(tree.reseller, Role.ADMIN)
    member(tree.customer, Role.VIEWER)
    request = rf.get("/admin/tenants/organization/")
    request.user = login
    rows = admin.site._registry[Organization].get_queryset(request)
    assert isinstance(rows.query.annotations["tenant_count"], CountPointingHere)
    counted = {row.pk: (row.tenant_count, row.member_count) for row in rows}
    assert counted[tree.customer.pk] == (2, 1)
    assert counted[tree.reseller.pk] == (0, 1)
    assert tree.sibling_customer.pk not in counted, "another reseller's customer is not in the list"
    assert rows.order_by("-tenant_count", "pk").first() == tree.customer


def test_a_condition_holding_an_expression_or_an_object_is_left_to_the_orm(tree, shared_server):
    from django.db.models import Exists, OuterRef

    from telephony.models import Entity

    with_entities = Exists(Entity.objects.filter(tenant=OuterRef("pk")))
    assert compiled_count(Tenant, "server", Q(with_entities)) is None
    assert compiled_count(Tenant, "server", Q(organization=tree.customer)) is None
    assert compiled_count(Tenant, "server", Q(organization_id__in=[tree.customer.pk])) is not None
