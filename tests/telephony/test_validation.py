"""Model and service validation of the PBX mirror: clear messages, nothing half-saved."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from telephony.models import Entity, LineTemplate, PbxUser, PhoneNumber, Platform, Server, Tenant
from telephony.services.numbers import phone_number_create, phone_number_update
from telephony.services.tenants import entity_create, entity_update, parse_intervals, tenant_create, tenant_update
from telephony.services.users import pbx_user_create
from tests.factories import (
    EntityFactory,
    LineTemplateFactory,
    PbxUserFactory,
    PhoneNumberFactory,
    PlatformFactory,
    ServerFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db


def messages(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- number plans -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1234567", "1 to 6 digits"),
        ("12a4", "1 to 6 digits"),
        ("1799-1700", "before its start"),
        ("100-1999", "same number of digits"),
        ("-100", "1 to 6 digits"),
    ],
)
def test_bad_intervals_are_refused_with_a_clear_message(text, message):
    with pytest.raises(ValidationError) as caught:
        parse_intervals(text)
    assert message in messages(caught.value)


def test_intervals_parse_single_numbers_and_ranges():
    assert parse_intervals("1700-1799, 1961 ; 2600–2799") == [("1700", "1799"), ("1961", ""), ("2600", "2799")]


def test_intervals_cannot_overlap_inside_a_tenant(superuser):
    tenant = TenantFactory()
    EntityFactory(tenant=tenant, name="first", intervals=[("1700", "1799")])
    with pytest.raises(ValidationError, match="overlaps"):
        entity_create(actor=superuser, entity=Entity(tenant=tenant, name="second"), intervals=[("1750", "1850")])
    with pytest.raises(ValidationError, match="overlaps"):
        entity_create(
            actor=superuser, entity=Entity(tenant=tenant, name="third"), intervals=[("1200", "1300"), ("1250", "")]
        )
    assert not Entity.objects.filter(name__in=["second", "third"]).exists()
    entity_create(
        actor=superuser, entity=Entity(tenant=TenantFactory(), name="elsewhere"), intervals=[("1750", "1850")]
    )


def test_shrinking_a_plan_may_not_strand_users(superuser):
    user = PbxUserFactory(internal_number="1500")
    with pytest.raises(ValidationError, match="fall outside"):
        entity_update(actor=superuser, entity=user.entity, intervals=[("1000", "1099")])
    assert user.entity.number_plan == "1000-1999"


# --- users --------------------------------------------------------------------------------------


def test_internal_number_must_lie_in_the_entity_plan(superuser):
    entity = EntityFactory(intervals=[("2000", "2099")])
    template = LineTemplateFactory(organization=entity.tenant.organization)
    user = PbxUser(
        tenant=entity.tenant,
        entity=entity,
        template=template,
        username="x",
        first_name="A",
        last_name="B",
        internal_number="2100",
    )
    with pytest.raises(ValidationError, match="outside the number plan"):
        pbx_user_create(actor=superuser, user=user)


def test_internal_number_and_username_are_unique_in_the_tenant(superuser):
    first = PbxUserFactory(internal_number="1001", username="ada")
    clash = PbxUser(
        tenant=first.tenant,
        entity=first.entity,
        template=first.template,
        username="ada",
        first_name="B",
        last_name="C",
        internal_number="1001",
    )
    with pytest.raises(ValidationError) as caught:
        pbx_user_create(actor=superuser, user=clash)
    # the words a CSV import uses too (telephony/rules/uniqueness.py)
    assert caught.value.message_dict == {
        "internal_number": ["1001 is already taken by ada."],
        "username": ["ada is already taken by ada."],
    }
    with transaction.atomic(), pytest.raises(IntegrityError):
        PbxUser.objects.create(
            tenant=first.tenant,
            entity=first.entity,
            template=first.template,
            username="other",
            first_name="B",
            last_name="C",
            internal_number="1001",
        )


def test_a_template_of_another_branch_cannot_be_used(tree, superuser):
    entity = EntityFactory(tenant=TenantFactory(organization=tree.customer))
    foreign = LineTemplateFactory(organization=tree.sibling)
    user = PbxUser(
        tenant=entity.tenant,
        entity=entity,
        template=foreign,
        username="x",
        first_name="A",
        last_name="B",
        internal_number="1002",
    )
    with pytest.raises(ValidationError, match="not available"):
        pbx_user_create(actor=superuser, user=user)


def test_licences_bound_the_number_of_users(superuser):
    entity = EntityFactory(tenant=TenantFactory(licences=1))
    PbxUserFactory(entity=entity, internal_number="1001")
    extra = PbxUser(
        tenant=entity.tenant,
        entity=entity,
        template=LineTemplateFactory(organization=entity.tenant.organization),
        username="two",
        first_name="A",
        last_name="B",
        internal_number="1002",
    )
    with pytest.raises(ValidationError, match="licences"):
        pbx_user_create(actor=superuser, user=extra)


def test_voicemail_pin_needs_voicemail_and_digits():
    user = PbxUserFactory(internal_number="1003")
    user.voicemail_pin = "12"
    with pytest.raises(ValidationError) as caught:
        user.full_clean()
    assert "4 to 8 digits" in messages(caught.value)
    assert "Turn voicemail on" in messages(caught.value)


# --- tenants and servers ------------------------------------------------------------------------


def test_tenant_name_is_immutable_once_it_exists_on_the_backend(superuser):
    tenant = TenantFactory(name="acme")
    tenant.name = "acme2"
    tenant_update(actor=superuser, tenant=tenant)  # no backend identity yet: allowed
    tenant = Tenant.objects.get(pk=tenant.pk)
    tenant.backend_ref = {"xelion_tenant_id": "17"}
    tenant.save()
    tenant = Tenant.objects.get(pk=tenant.pk)
    tenant.name = "acme3"
    with pytest.raises(ValidationError, match="cannot change"):
        tenant_update(actor=superuser, tenant=tenant)
    assert Tenant.objects.get(pk=tenant.pk).name == "acme2"


@pytest.mark.parametrize("name", ["Acme", "-acme", "acme_1", "a" * 64, ""])
def test_tenant_names_are_backend_safe(name):
    tenant = TenantFactory(name="valid")
    tenant.name = name
    with pytest.raises(ValidationError):
        tenant.full_clean()


def test_a_server_cannot_be_overfilled(tree, superuser):
    server = ServerFactory(capacity_tenants=1, platform=PlatformFactory(organization=tree.distributor))
    TenantFactory(server=server, organization=tree.customer)
    with pytest.raises(ValidationError, match="full"):
        tenant_create(actor=superuser, tenant=Tenant(organization=tree.customer, server=server, name="second"))


def test_xelion_servers_hold_about_a_hundred_tenants():
    server = ServerFactory(platform=PlatformFactory(kind="xelion_pm", username=""))
    assert server.capacity_tenants == 100


def test_a_tenant_belongs_to_a_customer(tree, superuser):
    with pytest.raises(ValidationError, match="customer"):
        tenant_create(actor=superuser, tenant=Tenant(organization=tree.reseller, server=ServerFactory(), name="x"))


# --- templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"routed_inbound": True}, "needs a DDI prefix"),
        ({"caller_id_mode": "custom"}, "number to show"),
        ({"voicemail_number_mode": "custom"}, "reaches voicemail"),
        ({"ringing_time": 1}, "greater than or equal to 5"),
    ],
)
def test_template_compulsory_fields(fields, message, tree):
    template = LineTemplate(organization=tree.reseller, name="t", **fields)
    with pytest.raises(ValidationError, match=message):
        template.full_clean()


def test_template_rules_hold_in_the_database_too(tree):
    with transaction.atomic(), pytest.raises(IntegrityError):
        LineTemplate.objects.create(organization=tree.reseller, name="t", routed_inbound=True)


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0201234567", "+0123", "+1234567890123456", "+31 20x"])
def test_numbers_are_e164(raw, tree, superuser):
    with pytest.raises(ValidationError, match=r"E\.164"):
        phone_number_create(actor=superuser, number=PhoneNumber(number=raw, organization=tree.reseller))


def test_common_spellings_are_normalised(tree, superuser):
    number = phone_number_create(
        actor=superuser, number=PhoneNumber(number="0031 20 123-4567", organization=tree.reseller)
    )
    assert number.number == "+31201234567"


def test_one_pilot_per_tenant(tree, superuser):
    tenant = TenantFactory(organization=tree.customer)
    PhoneNumberFactory(organization=tree.reseller, tenant=tenant, is_pilot=True)
    with pytest.raises(ValidationError, match="already has a pilot"):
        phone_number_create(
            actor=superuser,
            number=PhoneNumber(number="+31201111111", organization=tree.reseller, tenant=tenant, is_pilot=True),
        )


def test_numbers_go_only_to_tenants_below_the_pool_owner(tree, superuser):
    foreign_tenant = TenantFactory(organization=tree.sibling_customer)
    number = PhoneNumberFactory(organization=tree.reseller)
    number.tenant = foreign_tenant
    with pytest.raises(ValidationError, match="not a tenant of"):
        phone_number_update(actor=superuser, number=number)


def test_a_number_is_assigned_only_to_a_user_of_its_tenant(tree, superuser):
    user = PbxUserFactory(entity=EntityFactory(tenant=TenantFactory(organization=tree.customer)))
    other_tenant = TenantFactory(organization=tree.customer)
    number = PhoneNumberFactory(organization=tree.reseller, tenant=other_tenant)
    number.assigned_user = user
    with pytest.raises(ValidationError, match="another tenant"):
        phone_number_update(actor=superuser, number=number)


# --- platforms ----------------------------------------------------------------------------------


def test_platform_secrets_are_encrypted_at_rest():
    platform = PlatformFactory(secret="s3cret-value", app_key="app-key-value")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret, app_key FROM telephony_platform WHERE id = %s", [platform.pk])
        raw_secret, raw_key = cursor.fetchone()
    assert "s3cret" not in raw_secret and "app-key" not in raw_key
    assert Platform.objects.get(pk=platform.pk).secret == "s3cret-value"


def test_platforms_other_than_the_park_manager_need_a_login():
    platform = PlatformFactory.build(kind="xcu", username="")
    with pytest.raises(ValidationError, match="login name"):
        platform.full_clean(exclude=["organization"])


def test_server_names_are_unique_per_platform():
    server = ServerFactory()
    with pytest.raises(ValidationError, match="already has a server"):
        Server(platform=server.platform, name=server.name).full_clean()


def test_a_tenant_goes_only_on_a_server_shared_with_its_organization(tree, superuser):
    cousin_server = ServerFactory(platform=PlatformFactory(organization=tree.sibling))
    with pytest.raises(ValidationError, match="not shared with"):
        tenant_create(actor=superuser, tenant=Tenant(organization=tree.customer, server=cousin_server, name="x"))


def test_a_move_that_would_strand_shared_resources_is_refused(tree, superuser):
    from tenants.services import organization_move

    TenantFactory(
        organization=tree.customer, server=ServerFactory(platform=PlatformFactory(organization=tree.reseller))
    )
    with pytest.raises(ValidationError, match="not shared with its new place"):
        organization_move(actor=superuser, organization=tree.customer, new_parent=tree.sibling)
    tree.customer.refresh_from_db()
    assert tree.customer.parent == tree.reseller
