"""Deleting a PBX user takes its CTI credentials off the CTI service: the delete plans a
`cti.user.delete` job that keeps the service's id of them (never a secret), run over HTTP against
the Xelion and CTI simulators."""

from __future__ import annotations

import json

import pytest

from telephony.models import CtiUserCredentials, JobStatus, PbxUser, ProvisioningJob
from telephony.services import cti as cti_services
from telephony.services.users import pbx_user_delete
from tests.telephony.cti_world import cti_world, run_all
from tests.telephony.test_cti_integrations import create

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(serve, tree, superuser):
    built = cti_world(serve, tree.reseller, tree.customer, users=3)
    create(built, superuser)
    for user in built.users:
        cti_services.cti_credentials_set(
            actor=superuser, user=user, client_id=f"client-{user.username}", client_secret=f"secret-{user.username}"
        )
    assert set(run_all().values()) == {"succeeded"}
    return built


def held_usernames(world) -> set[str]:
    return {u["xelionUsername"] for u in world.cti.simulator.state["users"].values()}


def test_deleting_a_user_takes_its_credentials_off_the_cti_service(world, superuser):
    doomed = world.users[0]
    credentials = CtiUserCredentials.objects.get(user=doomed)
    pbx_user_delete(actor=superuser, user=doomed)
    assert not PbxUser.objects.filter(pk=doomed.pk).exists() and not CtiUserCredentials.objects.filter(user=doomed)

    job = ProvisioningJob.objects.get(operation="cti.user.delete")
    assert job.payload["credentials_id"] == credentials.backend_ref["cti_user_id"]
    assert job.payload["username"] == doomed.username and "secret-" not in json.dumps(job.payload)
    assert ProvisioningJob.objects.filter(operation="user.delete", target_id=doomed.pk).exists()

    outcomes = run_all()
    assert set(outcomes.values()) == {"succeeded"}, outcomes
    assert held_usernames(world) == {"user2", "user3"}, "the others keep theirs"


def test_credentials_whose_push_had_not_recorded_its_id_are_still_removed(world, superuser):
    """The delete was planned while the push of the credentials was still running (the row had no
    id of them yet): the delete learns the id from that push, which ran before it."""
    doomed = world.users[1]
    CtiUserCredentials.objects.filter(user=doomed).update(backend_ref={})
    pbx_user_delete(actor=superuser, user=doomed)
    job = ProvisioningJob.objects.get(operation="cti.user.delete")
    assert job.payload["credentials_id"] == ""
    assert set(run_all().values()) == {"succeeded"}
    assert held_usernames(world) == {"user1", "user3"}


def test_credentials_never_pushed_are_cancelled_instead(world, superuser):
    fresh = world.users[2]
    CtiUserCredentials.objects.filter(user=fresh).delete()
    ProvisioningJob.objects.filter(target_key__startswith="ctiusercredentials:").delete()
    cti_services.cti_credentials_set(actor=superuser, user=fresh, client_id="late-client")
    pbx_user_delete(actor=superuser, user=fresh)
    assert not ProvisioningJob.objects.filter(operation="cti.user.delete").exists()
    assert ProvisioningJob.objects.get(operation="cti.user.upsert").status == JobStatus.CANCELLED


def test_a_user_of_an_integration_being_removed_leaves_it_to_the_integrations_delete(world, superuser):
    integration = world.tenant.crm_integration
    cti_services.crm_integration_delete(actor=superuser, integration=integration)
    pbx_user_delete(actor=superuser, user=world.users[0])
    assert not ProvisioningJob.objects.filter(operation="cti.user.delete").exists()
    assert set(run_all().values()) == {"succeeded"}
    assert held_usernames(world) == set()
