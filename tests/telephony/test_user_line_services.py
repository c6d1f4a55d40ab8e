"""The self-service use cases of telephony.services.users: a line's own settings, its PIN, its
external numbers — each permission-checked, all-or-nothing, and planning the usual jobs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from telephony.models import PbxUser, PhoneNumber, Platform, ProvisioningJob
from telephony.services.users import (
    pbx_user_assign_number,
    pbx_user_create_with_number,
    pbx_user_line_update,
    pbx_user_release_number,
    pbx_user_reset_voicemail_pin,
)
from tenants.models import Role
from tests.factories import PbxUserFactory, PhoneNumberFactory, UserFactory
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree):
    """A tenant on a platform that keeps every line setting (XCU's limits: test_line_features)."""
    world = xcu_world("http://127.0.0.1:9/api/1.0/", tree.reseller, tree.customer)
    Platform.objects.filter(pk=world.platform.pk).update(kind="xc5", base_url="http://127.0.0.1:9/api-sys/")
    return world


@pytest.fixture
def line(world):
    owner = UserFactory(username="alice", is_staff=False)
    return PbxUserFactory(
        tenant=world.tenant,
        entity=world.entity,
        template=world.template,
        internal_number="1701",
        voicemail_enabled=True,
        voicemail_pin="2468",
        portal_user=owner,
    )


def changed(line: PbxUser, **values) -> PbxUser:
    copy = PbxUser.objects.get(pk=line.pk)
    for name, value in values.items():
        setattr(copy, name, value)
    return copy


def test_the_line_owner_changes_forwarding_and_one_update_is_planned(line):
    pbx_user_line_update(actor=line.portal_user, user=changed(line, forward_always="0612345678"))
    assert PbxUser.objects.get(pk=line.pk).forward_always == "0612345678"
    job = ProvisioningJob.objects.get()
    assert (job.operation, job.created_by) == ("user.update", line.portal_user)


def test_fields_outside_the_line_settings_keep_their_stored_value(line):
    pbx_user_line_update(
        actor=line.portal_user, user=changed(line, internal_number="1799", first_name="Mallory", display_name="Al")
    )
    stored = PbxUser.objects.get(pk=line.pk)
    assert (stored.internal_number, stored.first_name, stored.display_name) == ("1701", "Ada", "Al")


def test_nothing_changed_means_nothing_pushed(line):
    pbx_user_line_update(actor=line.portal_user, user=changed(line))
    assert not ProvisioningJob.objects.exists()


def test_another_login_without_rights_gets_404_and_nothing_changes(tree, member, line):
    for stranger in (UserFactory(is_staff=False), member(tree.sibling_customer)):
        with pytest.raises(Http404):
            pbx_user_line_update(actor=stranger, user=changed(line, forward_always="0612345678"))
        with pytest.raises(Http404):
            pbx_user_reset_voicemail_pin(actor=stranger, user=line)
    assert PbxUser.objects.get(pk=line.pk).forward_always == ""
    assert not ProvisioningJob.objects.exists()


def test_a_deactivated_owner_is_refused(line):
    line.portal_user.is_active = False
    line.portal_user.save()
    with pytest.raises(Http404):
        pbx_user_line_update(actor=line.portal_user, user=changed(line, forward_always="0612345678"))


def test_a_customer_administrator_may_change_the_line_a_read_only_member_may_not(tree, member, line):
    pbx_user_line_update(actor=member(tree.customer, Role.ADMIN), user=changed(line, forward_always="0201234567"))
    with pytest.raises(Http404):
        pbx_user_line_update(actor=member(tree.customer, Role.VIEWER), user=changed(line, forward_always=""))
    assert PbxUser.objects.get(pk=line.pk).forward_always == "0201234567"


def test_a_new_pin_is_validated_and_dropped_with_voicemail(line):
    with pytest.raises(ValidationError) as refused:
        pbx_user_line_update(actor=line.portal_user, user=changed(line), new_pin="12")
    assert "voicemail_pin" in refused.value.message_dict
    pbx_user_line_update(actor=line.portal_user, user=changed(line), new_pin="135790")
    assert PbxUser.objects.get(pk=line.pk).voicemail_pin == "135790"
    pbx_user_line_update(actor=line.portal_user, user=changed(line, voicemail_enabled=False))
    assert PbxUser.objects.get(pk=line.pk).voicemail_pin is None


def test_a_bad_destination_changes_nothing(line):
    with pytest.raises(ValidationError) as refused:
        pbx_user_line_update(actor=line.portal_user, user=changed(line, forward_always="call me", display_name="X"))
    assert "forward_always" in refused.value.message_dict
    assert PbxUser.objects.get(pk=line.pk).display_name == ""
    assert not ProvisioningJob.objects.exists()


def test_a_pin_reset_makes_a_random_six_digit_pin_and_pushes_it(line):
    pins = {pbx_user_reset_voicemail_pin(actor=line.portal_user, user=line) for _ in range(5)}
    assert all(len(pin) == 6 and pin.isdigit() for pin in pins) and len(pins) > 1
    assert PbxUser.objects.get(pk=line.pk).voicemail_pin in pins
    assert ProvisioningJob.objects.filter(operation="user.update").count() == 5


def test_a_pin_reset_needs_voicemail(line):
    PbxUser.objects.filter(pk=line.pk).update(voicemail_enabled=False, voicemail_pin=None)
    with pytest.raises(ValidationError):
        pbx_user_reset_voicemail_pin(actor=line.portal_user, user=line)


def test_numbers_are_assigned_only_when_free_and_in_the_tenant(tree, world, line, superuser):
    free = PhoneNumberFactory(organization=tree.reseller, tenant=world.tenant)
    elsewhere = PhoneNumberFactory(organization=tree.reseller)
    other = PbxUserFactory(tenant=world.tenant, entity=world.entity, template=world.template, internal_number="1702")
    pbx_user_assign_number(actor=superuser, user=line, number=free)
    assert PhoneNumber.objects.get(pk=free.pk).assigned_user_id == line.pk
    with pytest.raises(ValidationError, match="already taken"):
        pbx_user_assign_number(actor=superuser, user=other, number=free)
    with pytest.raises(ValidationError, match="not one of"):
        pbx_user_assign_number(actor=superuser, user=line, number=elsewhere)
    with pytest.raises(ValidationError, match="not assigned to"):
        pbx_user_release_number(actor=superuser, user=other, number=free)
    pbx_user_release_number(actor=superuser, user=line, number=free)
    assert PhoneNumber.objects.get(pk=free.pk).assigned_user_id is None
    assert list(ProvisioningJob.objects.order_by("id").values_list("operation", flat=True)) == [
        "number.assign",
        "number.unassign",
    ]


def test_the_line_owner_cannot_take_numbers(tree, world, line):
    free = PhoneNumberFactory(organization=tree.reseller, tenant=world.tenant)
    with pytest.raises(Http404):
        pbx_user_assign_number(actor=line.portal_user, user=line, number=free)


def test_create_with_a_number_is_all_or_nothing(tree, world, superuser):
    taken = PhoneNumberFactory(
        organization=tree.reseller,
        tenant=world.tenant,
        assigned_user=PbxUserFactory(
            tenant=world.tenant, entity=world.entity, template=world.template, internal_number="1710"
        ),
    )
    new = PbxUser(
        tenant=world.tenant,
        entity=world.entity,
        template=world.template,
        username="nina",
        first_name="Nina",
        last_name="New",
        internal_number="1720",
    )
    with pytest.raises(ValidationError, match="already taken"):
        pbx_user_create_with_number(actor=superuser, user=new, number=taken)
    assert not PbxUser.objects.filter(username="nina").exists()
    assert not ProvisioningJob.objects.exists()
    free = PhoneNumberFactory(organization=tree.reseller, tenant=world.tenant)
    new.pk = None
    new._state.adding = True
    created = pbx_user_create_with_number(actor=superuser, user=new, number=free)
    assert PhoneNumber.objects.get(pk=free.pk).assigned_user == created
    assert list(ProvisioningJob.objects.order_by("id").values_list("operation", flat=True)) == [
        "user.create",
        "number.assign",
    ]
