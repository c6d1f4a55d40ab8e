"""Two customers on one XiVO: XCU keeps internal numbers and entity names unique across the whole
XiVO, so one customer's number plan, users and entity names must not collide with another's there
(a push would land on the other customer's object). Refused before saving, naming the reason, never
the other customer. On a platform that keeps numbering per tenant, overlaps are fine."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from telephony.imports.users import UserImport
from telephony.models import Entity, PbxUser, ProvisioningBatch
from telephony.services.tenants import entity_create, entity_update
from telephony.services.users import pbx_user_create
from tenants.models import Role
from tests.factories import (
    EntityFactory,
    LineTemplateFactory,
    PbxUserFactory,
    PlatformFactory,
    ServerFactory,
    TenantFactory,
)
from tests.telephony.imports.conftest import parsed


@pytest.fixture
def xivo(tree):
    return ServerFactory(platform=PlatformFactory(organization=tree.distributor, kind="xcu"), name="xivo-220")


@pytest.fixture
def globex(tree, xivo):
    """The other reseller's customer, on the same XiVO, with the plan 2000-2099 and user 2001."""
    tenant = TenantFactory(organization=tree.sibling_customer, server=xivo, name="globex")
    sales = EntityFactory(tenant=tenant, name="sales", intervals=[("2000", "2099")])
    PbxUserFactory(entity=sales, internal_number="2001", first_name="Hank")
    return tenant


@pytest.fixture
def acme(tree, xivo):
    return TenantFactory(organization=tree.customer, server=xivo, name="acme")


@pytest.fixture
def admin(tree, member):
    return member(tree.reseller, Role.ADMIN)


def _text(error: ValidationError) -> str:
    return " ".join(error.messages)


def test_an_overlapping_number_plan_on_the_same_xivo_is_refused(admin, acme, globex):
    with pytest.raises(ValidationError) as refused:
        entity_create(actor=admin, entity=Entity(tenant=acme, name="office"), intervals=[("2050", "2150")])
    text = _text(refused.value)
    assert "2050–2150 is not available" in text and "globex" not in text.lower() and "Hank" not in text
    entity_create(actor=admin, entity=Entity(tenant=acme, name="office"), intervals=[("2100", "2199")])
    office = Entity.objects.get(tenant=acme, name="office")
    with pytest.raises(ValidationError, match="not available"):
        entity_update(actor=admin, entity=office, intervals=[("2000", "2000")])


def test_an_entity_name_taken_on_the_same_xivo_is_refused(admin, acme, globex):
    with pytest.raises(ValidationError) as refused:
        entity_create(actor=admin, entity=Entity(tenant=acme, name="SALES"), intervals=[("2100", "2199")])
    assert "name" in refused.value.message_dict and "globex" not in _text(refused.value).lower()


def test_a_user_on_a_number_another_customer_holds_is_refused_even_with_an_old_overlapping_plan(
    tree, admin, acme, globex
):
    legacy = EntityFactory(tenant=acme, name="legacy", intervals=[("2000", "2009")])  # saved before the rule
    template = LineTemplateFactory(organization=tree.customer)
    new = PbxUser(
        tenant=acme, entity=legacy, template=template, username="wile", first_name="Wile", last_name="E",
        internal_number="2001",
    )  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        pbx_user_create(actor=admin, user=new)
    assert "2001 is not available" in _text(refused.value) and "Hank" not in _text(refused.value)
    assert not PbxUser.objects.filter(tenant=acme).exists()


def test_the_second_customers_import_of_an_overlapping_number_is_refused(tree, admin, acme, globex):
    legacy = EntityFactory(tenant=acme, name="legacy", intervals=[("2000", "2009")])
    template = LineTemplateFactory(organization=tree.customer, name="Standard")
    importer = UserImport(actor=admin, mode="create", tenant=acme, template=template)
    batch = ProvisioningBatch.objects.create(organization=tree.customer, label="test")
    with transaction.atomic():
        outcome = importer.run(
            parsed(
                "first_name,last_name,exten,username,entity", "Wile,E,2001,wile,legacy", "Road,Runner,2002,rr,legacy"
            ),
            commit=True,
            batch=batch,
            dispatch=False,
        )
    assert [(row, column) for row, column, _message in outcome.errors] == [(2, "internal_number")]
    assert "not available" in outcome.errors[0][2] and "Hank" not in outcome.errors[0][2]
    assert legacy.users.count() == 0, "all rows or none"


def test_on_a_platform_that_keeps_numbering_per_tenant_overlaps_are_fine(tree, admin):
    xc5 = ServerFactory(platform=PlatformFactory(organization=tree.distributor, kind="xc5"))
    TenantFactory(organization=tree.sibling_customer, server=xc5, name="globex.x.co.nz")
    theirs = EntityFactory(tenant=TenantFactory(organization=tree.sibling_customer, server=xc5), name="sales")
    PbxUserFactory(entity=theirs, internal_number="1001")
    mine = TenantFactory(organization=tree.customer, server=xc5, name="acme.x.co.nz")
    entity_create(actor=admin, entity=Entity(tenant=mine, name="sales"), intervals=[("1000", "1999")])


def test_a_template_name_another_template_holds_on_the_xcu_is_refused_before_saving(tree, admin, acme, globex, xivo):
    """XCU keeps template names unique across the whole XCU: a second organization's "Standard"
    would take over the first one's template there."""
    from django.contrib.contenttypes.models import ContentType

    from telephony.models import BackendClaim, LineTemplateMirror

    theirs = LineTemplateFactory(organization=tree.sibling, name="Standard")
    mirror = LineTemplateMirror.objects.create(template=theirs, platform=xivo.platform, backend_ref={"xcu_id": 5})
    BackendClaim.objects.create(
        platform=xivo.platform, kind="template", key="5", target_type=ContentType.objects.get_for_model(mirror),
        target_id=mirror.pk,
    )  # fmt: skip
    ours = LineTemplateFactory(organization=tree.customer, name="Standard")
    office = entity_create(actor=admin, entity=Entity(tenant=acme, name="office"), intervals=[("2100", "2199")])
    new = PbxUser(tenant=acme, entity=office, template=ours, username="wile", first_name="W", last_name="E",
                  internal_number="2101")  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        pbx_user_create(actor=admin, user=new)
    assert "Rename this template" in _text(refused.value) and "Sibling" not in _text(refused.value)

    importer = UserImport(actor=admin, mode="create", tenant=acme, template=ours)
    outcome = importer.run(parsed("first_name,last_name,exten,username", "Wile,E,2101,wile"))
    assert [(row, column) for row, column, _message in outcome.errors] == [(2, "template")]
