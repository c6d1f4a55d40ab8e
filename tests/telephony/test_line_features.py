"""Each platform keeps its own set of per-user settings: the portal refuses, with the platform's name,
a setting the PBX would silently drop, instead of saving it and showing it as pushed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from telephony.backends.capabilities import LineFeatures
from telephony.backends.registry import capabilities_of
from telephony.line_features import TenantLine
from telephony.models import PbxUser, PhoneNumber, Platform, ProvisioningJob
from telephony.services.numbers import phone_number_update
from telephony.services.users import (
    pbx_user_assign_number,
    pbx_user_create,
    pbx_user_line_update,
    pbx_user_reset_voicemail_pin,
    pbx_user_update,
)
from tests.factories import PbxUserFactory, PhoneNumberFactory
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


def on_platform(world, kind: str):
    urls = {"xcu": "http://127.0.0.1:9/api/1.0/", "xc5": "http://127.0.0.1:9/api-sys/", "xelion": "http://127.0.0.1:9/"}
    Platform.objects.filter(pk=world.platform.pk).update(kind=kind, base_url=urls[kind])
    return world


@pytest.fixture
def world(tree):
    return xcu_world("http://127.0.0.1:9/api/1.0/", tree.reseller, tree.customer)


@pytest.fixture
def line(world):
    return PbxUserFactory(tenant=world.tenant, entity=world.entity, template=world.template, internal_number="1701")


def edited(user: PbxUser, **values) -> PbxUser:
    copy = PbxUser.objects.get(pk=user.pk)
    for name, value in values.items():
        setattr(copy, name, value)
    return copy


def test_every_driver_says_what_it_keeps():
    def line_features_of(kind: str) -> LineFeatures:
        return capabilities_of(kind).line_features

    assert line_features_of("xcu").forward_always is False and line_features_of("xcu").external_numbers == 1
    assert line_features_of("xelion").forward_busy is False and line_features_of("xelion").voicemail_pin is False
    assert line_features_of("xelion_pm") == line_features_of("xelion")
    assert line_features_of("xc5").busy_with_no_answer and line_features_of("xc5").voicemail_pin
    assert line_features_of("no-such-kind") == LineFeatures()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("forward_always", "0612345678", "XiVO XCU keeps no forwarding of all calls"),
        ("forward_busy", "0612345678", "XiVO XCU keeps no forwarding on busy"),
        ("forward_no_answer", "0612345678", "XiVO XCU keeps no forwarding of unanswered calls"),
        ("voicemail_enabled", True, "voicemail comes from the line template"),
        ("display_name", "Ada L.", "XiVO XCU keeps no display name"),
    ],
)
def test_xcu_refuses_what_it_does_not_keep_and_nothing_is_saved(world, line, superuser, field, value, message):
    with pytest.raises(ValidationError) as refused:
        pbx_user_update(actor=superuser, user=edited(line, **{field: value}))
    assert message in " ".join(refused.value.message_dict[field])
    assert getattr(PbxUser.objects.get(pk=line.pk), field) == getattr(line, field)
    assert not ProvisioningJob.objects.exists()


def test_the_line_service_and_the_create_service_refuse_too(world, line, superuser):
    with pytest.raises(ValidationError, match="forwarding on busy"):
        pbx_user_line_update(actor=superuser, user=edited(line, forward_busy="0612345678"))
    new = PbxUser(
        tenant=world.tenant,
        entity=world.entity,
        template=world.template,
        username="grace",
        first_name="Grace",
        last_name="Hopper",
        internal_number="1702",
        forward_always="0612345678",
    )
    with pytest.raises(ValidationError, match="forwarding of all calls"):
        pbx_user_create(actor=superuser, user=new)
    assert not PbxUser.objects.filter(username="grace").exists()


def test_xcu_has_no_pin_to_reset(world, line, superuser):
    PbxUser.objects.filter(pk=line.pk).update(voicemail_enabled=True)
    with pytest.raises(ValidationError, match="keeps the voicemail PIN on the phone system"):
        pbx_user_reset_voicemail_pin(actor=superuser, user=line)


def test_a_setting_stored_before_is_left_alone_when_something_else_changes(world, line, superuser):
    PbxUser.objects.filter(pk=line.pk).update(forward_busy="0612345678")
    pbx_user_update(actor=superuser, user=edited(line, first_name="Augusta"))
    assert PbxUser.objects.get(pk=line.pk).first_name == "Augusta"


def test_xcu_keeps_one_external_number_per_user(tree, world, line, superuser):
    first, second = (PhoneNumberFactory(organization=tree.reseller, tenant=world.tenant) for _ in range(2))
    pbx_user_assign_number(actor=superuser, user=line, number=first)
    with pytest.raises(ValidationError) as refused:
        pbx_user_assign_number(actor=superuser, user=line, number=second)
    assert f"XiVO XCU keeps 1 external number per user; {line} already has {first.number}" in str(refused.value)
    second = PhoneNumber.objects.get(pk=second.pk)
    second.assigned_user = line
    with pytest.raises(ValidationError, match="keeps 1 external number"):
        phone_number_update(actor=superuser, number=second)
    assert list(PbxUser.objects.get(pk=line.pk).phone_numbers.values_list("pk", flat=True)) == [first.pk]


def test_xc5_takes_busy_only_with_the_no_answer_destination(world, line, superuser):
    on_platform(world, "xc5")
    with pytest.raises(ValidationError, match="together with unanswered ones"):
        pbx_user_update(actor=superuser, user=edited(line, forward_busy="0611111111", forward_no_answer="0622222222"))
    with pytest.raises(ValidationError, match="together with unanswered ones"):
        pbx_user_update(actor=superuser, user=edited(line, forward_busy="0611111111", forward_no_answer=""))
    pbx_user_update(actor=superuser, user=edited(line, forward_busy="0622222222", forward_no_answer="0622222222"))
    pbx_user_update(actor=superuser, user=edited(line, forward_busy="", forward_no_answer="0633333333"))
    assert PbxUser.objects.get(pk=line.pk).forward_no_answer == "0633333333"


def test_xelion_keeps_no_answer_forwarding_but_not_busy(world, line, superuser):
    on_platform(world, "xelion")
    pbx_user_update(actor=superuser, user=edited(line, forward_no_answer="0612345678", display_name="Ada L."))
    with pytest.raises(ValidationError, match="Xelion keeps no forwarding on busy"):
        pbx_user_update(actor=superuser, user=edited(line, forward_busy="0612345678"))


def test_the_fields_a_tenant_does_not_keep(world):
    assert set(TenantLine.of(world.tenant).fields_not_kept) == {
        "display_name",
        "forward_always",
        "forward_busy",
        "forward_no_answer",
        "voicemail_enabled",
        "voicemail_to_email",
        "voicemail_pin",
    }
    assert TenantLine.of(on_platform(world, "xc5").tenant).fields_not_kept == ["voicemail_to_email"]
