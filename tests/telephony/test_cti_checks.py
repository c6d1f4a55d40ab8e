"""CRM integrations checked against the CTI service (drift): a check only reads, and shows what
the service holds: a mapping changed there is drift, a user's credentials gone are missing, an
integration gone is missing; a login of another organization cannot ask for a check."""

from __future__ import annotations

import pytest

from telephony.models import CrmIntegration, CtiUserCredentials, ProvisioningJob, SyncState
from telephony.services import cti as services
from telephony.services.cti_checks import crm_integrations_check, crm_integrations_check_due
from tenants.models import Role
from tests.telephony.cti_world import cti_world, run_all
from tests.telephony.test_cti_integrations import create

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(serve, tree):
    return cti_world(serve, tree.reseller, tree.customer, users=3)


@pytest.fixture
def pushed(world, superuser):
    create(world, superuser)
    for line in world.users:
        services.cti_credentials_set(actor=superuser, user=line, client_id=f"client-{line.username}")
    assert set(run_all().values()) == {"succeeded"}
    return CrmIntegration.objects.get()


def check(actor, integration) -> None:
    assert crm_integrations_check(actor=actor, integrations=[integration]) == 1
    assert set(run_all().values()) == {"succeeded"}
    integration.refresh_from_db()


def test_a_check_that_finds_everything_verifies_it_and_writes_nothing(world, superuser, pushed):
    before = dict(world.cti.simulator.state["integrations"])
    check(superuser, pushed)
    assert pushed.sync_state == SyncState.VERIFIED and pushed.verified_at is not None
    assert world.cti.simulator.state["integrations"] == before
    assert set(CtiUserCredentials.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}


def test_a_mapping_changed_on_the_service_is_drift_and_a_users_credentials_gone_are_missing(world, superuser, pushed):
    state = world.cti.simulator.state
    [held] = state["integrations"].values()
    held["eventUriMappings"][0]["crmResourceUri"] = "https://elsewhere.example/"
    gone = CtiUserCredentials.objects.select_related("user").first()
    del state["users"][str(gone.backend_ref["cti_user_id"])]
    check(superuser, pushed)
    assert pushed.sync_state == SyncState.DRIFTED and "event mappings" in pushed.sync_message
    gone.refresh_from_db()
    assert gone.sync_state == SyncState.MISSING and gone.user.username in gone.sync_message
    others = CtiUserCredentials.objects.exclude(pk=gone.pk).values_list("sync_state", flat=True)
    assert set(others) == {SyncState.VERIFIED}


def test_an_integration_gone_from_the_service_is_missing(world, superuser, pushed):
    world.cti.simulator.state["integrations"].clear()
    world.cti.simulator.state["users"].clear()
    check(superuser, pushed)
    assert pushed.sync_state == SyncState.MISSING


def test_checks_fall_due_on_the_drift_schedule_and_never_twice_at_once(world, superuser, pushed, settings):
    settings.DRIFT_SCAN_INTERVAL_MINUTES = 0
    assert crm_integrations_check_due() == 0
    settings.DRIFT_SCAN_INTERVAL_MINUTES = 60
    CrmIntegration.objects.update(verified_at=None)
    assert crm_integrations_check_due() == 1
    assert crm_integrations_check_due() == 0  # its check is on its way
    assert ProvisioningJob.objects.filter(operation="cti.integration.check").count() == 1


def test_another_organizations_login_cannot_ask_for_a_check(world, tree, member, pushed):
    assert crm_integrations_check(actor=member(tree.sibling, Role.ADMIN), integrations=[pushed]) == 0
    assert crm_integrations_check(actor=member(tree.reseller, Role.VIEWER), integrations=[pushed]) == 0
    assert not ProvisioningJob.objects.filter(operation="cti.integration.check").exists()
