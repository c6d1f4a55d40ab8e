"""tenants/scanned_in.py: `<relation>__scanned_in` selects exactly what `__in` selects, and keeps
SQLite from using the relation's index as its way in; a shared server's tenant count then reads the
(server, organization) index by server alone, and PostgreSQL is given COUNT(*), which it can count
from that index without reading the rows."""

from __future__ import annotations

from django.db import connection

from telephony.models import Server, Tenant
from tenants import access
from tenants.models import Role
from tests.factories import PlatformFactory, ServerFactory, TenantFactory
from tests.query_plans import sqlite_plan


def test_scanned_in_selects_what_in_selects_and_only_sqlite_reads_it_row_by_row(tree):
    for organization in (tree.customer, tree.sibling_customer, tree.reseller):
        TenantFactory(organization=organization)
    wanted = [tree.customer.pk, tree.reseller.pk]
    scanned = Tenant.objects.filter(organization__scanned_in=wanted)
    assert set(scanned) == set(Tenant.objects.filter(organization__in=wanted))
    assert len(scanned) == 2
    assert ('+"telephony_tenant"."organization_id" IN' in str(scanned.query)) is (connection.vendor == "sqlite")


def test_a_shared_servers_tenant_count_reads_the_server_and_organization_index(tree, member):
    server = ServerFactory(platform=PlatformFactory(organization=tree.distributor))
    for organization in (tree.customer, tree.customer, tree.sibling_customer):
        TenantFactory(organization=organization, server=server)
    login = member(tree.reseller, Role.VIEWER)
    counted = Server.objects.annotate(n=access.visible_count(Tenant, "server", login, shared=True))
    assert counted.get(pk=server.pk).n == 2  # the sibling's tenant is never counted
    assert "COUNT(*)" in str(counted.query)
    if connection.vendor != "sqlite":
        return
    plan = sqlite_plan(counted)
    # by the server's entries of the index, each checked for the scope; not one seek per organization
    assert "COVERING INDEX tenant_server_organization (server_id=?)" in plan, plan
    assert "organization_id=?" not in plan, plan
