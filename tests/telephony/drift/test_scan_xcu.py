"""Drift scans on XiVO XCU, against the simulator over real HTTP: every finding kind, produced by
changing what the simulator holds through its own API, and the rows' sync states that follow."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from telephony.drift import reading
from telephony.drift.scan import BUSY, RUNNING, scan_server
from telephony.models import DriftFinding, DriftScan, FindingKind, PbxUser, ProvisioningJob, ScanStatus, SyncState
from telephony.provisioning import runner
from telephony.sandbox.xcu import XcuSimulator
from telephony.services.users import pbx_user_update
from tests.telephony.drift.helpers import findings
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=[reading.PAGE, 1], ids=["pages", "one-object-pages"])
def page_size(request, monkeypatch):
    """Every scan here also matched one object at a time: what is settled at the end of the read
    (missing, dangling, duplicate, unmanaged) must not depend on where the pages break."""
    monkeypatch.setattr(reading, "PAGE", request.param)


@pytest.fixture
def xcu(serve):
    return serve(XcuSimulator())


@pytest.fixture
def world(xcu, tree, add_users):
    world = xcu_world(xcu.base_url + "/api/1.0/", tree.distributor, tree.customer)
    world.tenant.backend_ref = {"xcu_id": 2}
    world.tenant.save()
    add_users(world.tenant, world.entity, world.template, ("1701", "ada"), ("1702", "bob"), ("1703", "cy"))
    return world


@pytest.fixture
def api(xcu):
    session = requests.Session()
    session.url = lambda path: f"{xcu.base_url}/api/1.0/{path}"
    assert session.post(session.url("login"), json={"login": "admin", "password": "superpass"}).ok
    return session


def user_on_xcu(api, number):
    users = api.get(api.url(f"entities/default@{'15585b75-1d75-45b1-8678-520d1210ec59'}/users")).json()["items"]
    return next(u for u in users if u["internalNumber"] == number)


def test_a_pushed_tenant_is_verified_and_what_only_the_pbx_holds_is_reported(world):
    scan = scan_server(server_id=world.server.pk)
    assert scan.status == ScanStatus.COMPLETE, scan.error
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}
    assert all(PbxUser.objects.values_list("verified_at", flat=True))
    assert not findings(scan, FindingKind.MISSING) and not findings(scan, FindingKind.DIFFERS)
    # the seed's own entities and users of the XiVO are no row's: only on the PBX, with their reference
    unmanaged = findings(scan, FindingKind.UNMANAGED)
    assert unmanaged and all(f.backend_ref.get("xcu_id") for f in unmanaged)


def test_a_change_made_on_the_pbx_is_a_difference_with_both_values(world, api):
    ada = user_on_xcu(api, "1701")
    body = {"entityCId": ada["entity"]["combinedId"], "templateId": ada["entity"]["id"], "firstName": "Ada",
            "lastName": "King", "internalNumber": "1701", "ctiLogin": "ada"}  # fmt: skip
    template = next(t for t in api.get(api.url("templates")).json() if t["name"] == "Portal line")
    body["templateId"] = template["id"]
    assert api.put(api.url(f"users/{ada['id']}"), json=body).ok
    scan = scan_server(server_id=world.server.pk)
    [found] = findings(scan, FindingKind.DIFFERS)
    assert found.differences == [{"field": "last_name", "label": "last name", "portal": "Lovelace", "pbx": "King"}]
    row = PbxUser.objects.get(username="ada")
    assert row.sync_state == SyncState.DRIFTED
    assert row.sync_message == "On the phone system, last name is King (here: Lovelace)."


def test_a_user_deleted_on_the_pbx_is_missing(world, api):
    assert api.delete(api.url(f"users/{user_on_xcu(api, '1702')['id']}")).status_code == 204
    scan = scan_server(server_id=world.server.pk)
    [found] = findings(scan, FindingKind.MISSING)
    assert found.target_id == PbxUser.objects.get(username="bob").pk
    assert PbxUser.objects.get(username="bob").sync_state == SyncState.MISSING
    assert PbxUser.objects.get(username="ada").sync_state == SyncState.VERIFIED


def test_a_user_made_again_on_the_pbx_leaves_the_reference_pointing_nowhere(world, api):
    cy = user_on_xcu(api, "1703")
    assert api.delete(api.url(f"users/{cy['id']}")).status_code == 204
    body = {"entityCId": cy["entity"]["combinedId"], "firstName": "Cy", "lastName": "Again", "internalNumber": "1703"}
    template = next(t for t in api.get(api.url("templates")).json() if t["name"] == "Portal line")
    assert api.post(api.url("users"), json={**body, "templateId": template["id"]}).status_code == 201
    scan = scan_server(server_id=world.server.pk)
    [found] = findings(scan, FindingKind.DANGLING)
    assert found.target_id == PbxUser.objects.get(username="cy").pk and found.observed["last_name"] == "Again"
    assert not [f for f in findings(scan, FindingKind.UNMANAGED) if f.observed.get("internal_number") == "1703"]


def test_two_rows_naming_one_object_are_a_duplicate(world):
    ada, bob = PbxUser.objects.get(username="ada"), PbxUser.objects.get(username="bob")
    PbxUser.objects.filter(pk=bob.pk).update(backend_ref=ada.backend_ref)
    scan = scan_server(server_id=world.server.pk)
    [found] = findings(scan, FindingKind.DUPLICATE)
    assert found.target_id == bob.pk
    assert PbxUser.objects.get(pk=bob.pk).sync_state == SyncState.CONFLICT


def test_a_failed_read_concludes_nothing(world, xcu):
    first = scan_server(server_id=world.server.pk)
    xcu.simulator.set_faults({"error_rate": 1.0})
    failed = scan_server(server_id=world.server.pk)
    assert failed.status == ScanStatus.FAILED and failed.error
    assert not findings(failed)
    assert DriftFinding.objects.filter(scan=first, resolved_at__isnull=True).exists(), "the last report stands"
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}


def test_rows_with_unfinished_jobs_are_not_concluded_on(world, superuser):
    row = PbxUser.objects.get(username="ada")
    row.last_name = "Changed"
    pbx_user_update(actor=superuser, user=row)
    scan_server(server_id=world.server.pk)
    assert PbxUser.objects.get(username="ada").sync_state == SyncState.PENDING


def test_a_scan_holds_one_of_the_servers_slots(world, settings):
    settings.PROVISIONING_SERVER_CONCURRENCY = 1
    job = ProvisioningJob.objects.filter(server=world.server).first()
    ProvisioningJob.objects.filter(pk=job.pk).update(
        status="running", lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    assert scan_server(server_id=world.server.pk) == BUSY, "its jobs take every slot"
    ProvisioningJob.objects.filter(pk=job.pk).update(status="succeeded", lease_expires_at=None)
    DriftScan.objects.create(server=world.server, status=ScanStatus.RUNNING)
    assert scan_server(server_id=world.server.pk) == RUNNING, "one scan of a server at a time"
    assert not runner.slot_free(world.server.pk, timezone.now()), "the running scan holds the one slot"


def test_an_answer_broken_off_mid_list_concludes_nothing(world, xcu):
    before = xcu.simulator.api_calls
    scan_server(server_id=world.server.pk)
    read_calls = xcu.simulator.api_calls - before  # the user list of the one entity comes last
    api_user = user_on_xcu_via_sim(xcu, "1701")
    api_user["lastName"] = "Changed"  # a difference a complete read would report
    xcu.simulator.set_faults({"cut_call": read_calls})
    failed = scan_server(server_id=world.server.pk)
    assert failed.status == ScanStatus.FAILED and "broke off" in failed.error
    assert not findings(failed)
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}


def test_a_session_expiring_in_mid_read_is_renewed(world, xcu):
    xcu.simulator.set_faults({"session_expiry_calls": 2})
    scan = scan_server(server_id=world.server.pk)
    assert scan.status == ScanStatus.COMPLETE, scan.error
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}


def user_on_xcu_via_sim(xcu, number):
    """The simulator's own record of a user (a change there is a change made on the PBX)."""
    return next(u for u in xcu.simulator.state["users"] if u["internalNumber"] == number)


def test_a_scan_takes_the_free_slots_up_to_its_readers(world, settings):
    settings.PROVISIONING_SERVER_CONCURRENCY, settings.DRIFT_SCAN_READERS = 4, 3
    assert scan_server(server_id=world.server.pk).readers == 3, "at most DRIFT_SCAN_READERS"
    job = ProvisioningJob.objects.filter(server=world.server).first()
    ProvisioningJob.objects.filter(pk=job.pk).update(
        status="running", lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    settings.DRIFT_SCAN_READERS = 4
    scan = scan_server(server_id=world.server.pk)
    assert scan.readers == 3 and scan.status == ScanStatus.COMPLETE, "one slot is its job's"
    DriftScan.objects.filter(pk=scan.pk).update(status=ScanStatus.RUNNING)
    assert not runner.slot_free(world.server.pk, timezone.now()), "the job and the scan's three readers"
