"""Drift scans on XC5-XS, against the simulator over real HTTP: each finding kind made through the
simulator's own API, on an environment the portal pushed."""

from __future__ import annotations

import pytest
import requests
from django.core.exceptions import ValidationError

from telephony.drift.scan import scan_server
from telephony.models import FindingKind, PbxUser, ScanStatus, SyncState
from telephony.provisioning import planning
from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.services import drift_repairs as repairs
from tests.factories import EntityFactory, LineTemplateFactory, PlatformFactory, ServerFactory, TenantFactory
from tests.telephony.drift.helpers import findings, run_all

pytestmark = pytest.mark.django_db
TENANT = "acmebrick.x.co.nz"


@pytest.fixture
def xc5(serve):
    return serve(Xc5Simulator())


@pytest.fixture
def api(xc5):
    session = requests.Session()
    session.auth = (SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD)
    session.url = lambda path: f"{xc5.base_url}/api-sys/{path}"
    return session


@pytest.fixture
def world(xc5, tree, add_users):
    platform = PlatformFactory(organization=tree.distributor, kind="xc5", base_url=xc5.base_url,
                               username=SYSTEM_API_USERNAME, secret=SYSTEM_API_PASSWORD)  # fmt: skip
    server = ServerFactory(platform=platform, name="xc5")
    tenant = TenantFactory(organization=tree.customer, server=server, name=TENANT)
    planning.tenant_created(tenant)
    entity = EntityFactory(tenant=tenant, name="office", intervals=[("600", "699")])
    template = LineTemplateFactory(organization=tree.customer, name="standard")
    run_all()
    add_users(tenant, entity, template, ("600", "ada"), ("601", "bob"))
    return server


def test_the_pushed_environment_is_verified(world):
    scan = scan_server(server_id=world.pk)
    assert scan.status == ScanStatus.COMPLETE, scan.error
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}
    assert findings(scan) == [], "an environment of the portal's alone: nothing else there"


def test_each_finding_kind_made_through_the_api(world, api):
    assert api.patch(api.url(f"account/ada@{TENANT}"), json={"description": "Ada King"}).ok
    assert api.delete(api.url(f"account/bob@{TENANT}")).ok
    assert api.put(api.url(f"account/{TENANT}/child"), json={"username": f"eve@{TENANT}"}).ok
    scan = scan_server(server_id=world.pk)
    [differs] = findings(scan, FindingKind.DIFFERS)
    assert differs.differences == [
        {"field": "display_name", "label": "name shown", "portal": "Ada Lovelace", "pbx": "Ada King"}
    ]
    [missing] = findings(scan, FindingKind.MISSING)
    assert missing.target_id == PbxUser.objects.get(username="bob").pk
    [unmanaged] = findings(scan, FindingKind.UNMANAGED)
    assert unmanaged.observed["username"] == "eve" and unmanaged.backend_ref.get("xc5_guid")
    states = dict(PbxUser.objects.values_list("username", "sync_state"))
    assert states == {"ada": SyncState.DRIFTED, "bob": SyncState.MISSING}


def test_a_wiped_pbx_is_missing_everything_and_one_confirmed_repair_brings_it_back(world, xc5, superuser):
    xc5.simulator.reset()  # the PBX restored from an empty backup
    scan = scan_server(server_id=world.pk)
    assert scan.status == ScanStatus.COMPLETE, scan.error
    missing = findings(scan, FindingKind.MISSING)
    assert sorted(f.object_kind for f in missing) == ["tenant", "user", "user"]
    assert scan.held_back, "everything missing at once: nothing is repaired without a confirmation"
    [tenant_gone] = [f for f in missing if f.object_kind == "tenant"]
    with pytest.raises(ValidationError, match="confirm"):
        repairs.drift_recreate(actor=superuser, finding_id=tenant_gone.pk)
    repairs.drift_scan_confirm(actor=superuser, scan_id=scan.pk)
    repairs.drift_recreate(actor=superuser, finding_id=tenant_gone.pk)
    run_all()
    assert {f"ada@{TENANT}", f"bob@{TENANT}"} <= {a["username"] for a in xc5.simulator.snapshot()["accounts"].values()}
    again = scan_server(server_id=world.pk)
    assert findings(again) == []
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}


def test_an_account_list_broken_off_concludes_nothing(world, xc5):
    before = xc5.simulator.api_calls
    scan_server(server_id=world.pk)
    read_calls = xc5.simulator.api_calls - before  # the environment's accounts come last
    xc5.simulator.set_faults({"cut_call": read_calls})
    failed = scan_server(server_id=world.pk)
    assert failed.status == ScanStatus.FAILED and "broke off" in failed.error
    assert not findings(failed)
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}
