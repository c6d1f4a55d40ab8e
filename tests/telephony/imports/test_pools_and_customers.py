"""Numbers into a pool and customers with their tenants below a reseller: the rules of the single
services, all or nothing, and the login's scope."""

from __future__ import annotations

import pytest
from django.db import transaction

from telephony.imports.numbers import NumberImport
from telephony.imports.organizations import OrganizationImport
from telephony.models import PhoneNumber, ProvisioningBatch, ProvisioningJob, Tenant
from tenants.models import Organization
from tests.factories import PbxUserFactory, ServerFactory
from tests.telephony.imports.conftest import parsed

pytestmark = pytest.mark.django_db


def run(importer, *lines, organization):
    batch = ProvisioningBatch.objects.create(organization=organization, label="test")
    with transaction.atomic():
        outcome = importer.run(parsed(*lines), commit=True, batch=batch, dispatch=False)
        if outcome.error_total:
            transaction.set_rollback(True)
    return outcome, batch


def test_numbers_are_added_allocated_and_assigned(tree, world, reseller_admin):
    ada = PbxUserFactory(entity=world.sales, template=world.template, username="ada", internal_number="1701")
    outcome, batch = run(
        NumberImport(actor=reseller_admin, mode="create", organization=tree.reseller),
        "number,tenant,username,pilot,label",
        "0031 20 777 0001,acme,ada,yes,Reception",
        "+31207770002,,,no,",
        organization=tree.reseller,
    )
    assert outcome.error_total == 0, outcome.errors
    first = PhoneNumber.objects.get(number="+31207770001")
    assert (first.tenant, first.assigned_user, first.is_pilot, first.label) == (world.tenant, ada, True, "Reception")
    assert list(ProvisioningJob.objects.filter(batch=batch).values_list("operation", flat=True)) == ["number.assign"]


def test_number_rules_and_scope(tree, world, sibling_world, reseller_admin):
    outcome, _batch = run(
        NumberImport(actor=reseller_admin, mode="create", organization=tree.reseller),
        "number,tenant,assigned_user,is_pilot",
        "+31207770001,acme,,yes",
        "+31207770002,acme,,yes",  # a second pilot
        "+31207770001,,,",  # twice in the file
        f"+31207770003,{sibling_world.tenant.name},,",  # a sibling's tenant
        f"{sibling_world.numbers[0].number},,,",  # exists, outside the scope
        "+31207770004,,nobody,",  # assigned without tenant
        "12,,,",
        organization=tree.reseller,
    )
    messages = {(row, column): message for row, column, message in outcome.errors}
    assert "already has a pilot" in messages[(3, "is_pilot")] or "already makes a pilot" in messages[(3, "is_pilot")]
    assert messages[(4, "number")] == "+31207770001 is also on row 2."
    assert messages[(5, "tenant")] == f"{sibling_world.tenant.name!r} not found."
    assert messages[(6, "number")] == f"{sibling_world.numbers[0].number} is not available.", "nothing confirmed"
    assert "tenant" in messages[(7, "assigned_user")]
    assert "E.164" in messages[(8, "number")]
    assert not PhoneNumber.objects.filter(number__startswith="+3120777").exists()


def test_customers_and_tenants_are_created_below_the_reseller(tree, world, reseller_admin):
    server = ServerFactory(platform=world.platform, name="xivo-9", capacity_tenants=5)
    outcome, batch = run(
        OrganizationImport(actor=reseller_admin, mode="create", parent=tree.reseller),
        "customer,tenant,server,label,licenses",
        "Initech,initech,xivo-9,Initech Ltd,25",
        "Initech,initech-lab,xivo-9,,",
        "Hooli,hooli,xivo-9,,5",
        organization=tree.reseller,
    )
    assert outcome.error_total == 0, outcome.errors
    initech = Organization.objects.get(name="Initech")
    assert Organization.objects.get_parent(initech) == tree.reseller and initech.kind == "customer"
    assert Organization.objects.find_problems() == ([], [], [], [], [])
    assert set(Tenant.objects.filter(organization=initech).values_list("name", flat=True)) == {"initech", "initech-lab"}
    assert Tenant.objects.get(name="initech").licences == 25 and Tenant.objects.get(name="initech-lab").licences == 10
    assert ProvisioningJob.objects.filter(batch=batch, operation="tenant.create").count() == 3
    assert server.tenants.count() == 3


def test_customer_rules_and_scope(tree, world, sibling_world, reseller_admin):
    ServerFactory(platform=world.platform, name="small", capacity_tenants=1)
    outcome, _batch = run(
        OrganizationImport(actor=reseller_admin, mode="create", parent=tree.reseller),
        "reseller,organization,tenant,server",
        "Sibling,Evil,evil,small",  # a reseller outside the form's subtree
        f",Acme,acme,{world.server.name}",  # the name is taken on that server
        ",Big,big1,small",
        ",Big,big2,small",  # the server holds one tenant only
        f",Other,other,{sibling_world.server.name}",  # a server not shared with the login
        ",Bad,Not A Name,small",
        organization=tree.reseller,
    )
    messages = {(row, column): message for row, column, message in outcome.errors}
    assert messages[(2, "reseller")] == "'Sibling' not found below Reseller."
    assert messages[(3, "tenant")] == f"the name acme is not available on server {world.server.name}."
    assert "is full" in messages[(0, "server")]
    assert messages[(6, "server")] == f"{sibling_world.server.name!r} not found."
    assert "lower-case" in messages[(7, "tenant")]
    assert not Organization.objects.filter(name__in=["Big", "Evil", "Other"]).exists()
