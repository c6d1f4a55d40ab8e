"""A save never wipes what a job wrote: services save only the fields the caller changed, so a copy
of a row read before a job stored the backend identity (or the sync state) leaves them alone."""

from __future__ import annotations

import pytest

from telephony.models import PbxUser, ProvisioningJob, SyncState
from telephony.provisioning import runner
from telephony.sandbox.xcu import XcuSimulator
from telephony.services.tenants import entity_update
from telephony.services.users import pbx_user_create, pbx_user_update
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(serve, tree):
    return xcu_world(serve(XcuSimulator()).base_url + "/api/1.0/", tree.reseller, tree.customer)


def test_an_update_read_before_the_create_succeeded_keeps_the_identity_the_create_learnt(world, superuser):
    user = pbx_user_create(
        actor=superuser,
        user=PbxUser(tenant=world.tenant, entity=world.entity, template=world.template, username="ada",
                     first_name="Ada", last_name="Lovelace", internal_number="1701"),
    )  # fmt: skip
    read_before = PbxUser.objects.get(pk=user.pk)  # an edit form opened now
    create = ProvisioningJob.objects.get(operation="user.create")
    assert runner.run_job(create.pk) == "succeeded"
    learnt = PbxUser.objects.get(pk=user.pk).backend_ref["xcu_id"]
    assert learnt is not None

    read_before.internal_number = "1702"  # the key changes in the same update
    pbx_user_update(actor=superuser, user=read_before)
    stored = PbxUser.objects.get(pk=user.pk)
    assert stored.backend_ref["xcu_id"] == learnt and stored.internal_number == "1702"
    update = ProvisioningJob.objects.get(operation="user.update")
    assert runner.run_job(update.pk) == "succeeded", update.last_error
    stored.refresh_from_db()
    assert stored.backend_ref["xcu_id"] == learnt and stored.sync_state == SyncState.VERIFIED


def test_an_entity_saved_from_an_old_copy_keeps_its_identity_and_sync_state(world, superuser):
    old_copy = type(world.entity).objects.get(pk=world.entity.pk)
    type(world.entity).objects.filter(pk=world.entity.pk).update(
        sync_state=SyncState.FAILED, backend_ref={"xcu_id": 99}
    )
    old_copy.display_name = "Renamed"
    entity_update(actor=superuser, entity=old_copy)
    world.entity.refresh_from_db()
    assert (world.entity.display_name, world.entity.backend_ref) == ("Renamed", {"xcu_id": 99})
    assert old_copy.backend_ref == {"xcu_id": 99}, "the caller's copy shows what is stored"
