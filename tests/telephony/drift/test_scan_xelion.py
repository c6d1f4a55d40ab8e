"""Drift scans on Xelion through its Park Manager, against the simulators over real HTTP: each
finding kind made through the tenant's own API (a technician's session on the tenant)."""

from __future__ import annotations

import pytest
import requests
from django.core.exceptions import ValidationError

from telephony.drift.scan import scan_server
from telephony.models import Entity, FindingKind, PbxUser, ScanStatus, SyncState
from telephony.provisioning import planning
from telephony.sandbox.parkmanager import ROOT_API_KEY, build_xelion_park
from telephony.services import drift_repairs as repairs
from tests.factories import EntityFactory, LineTemplateFactory, PlatformFactory, ServerFactory, TenantFactory
from tests.telephony.drift.helpers import findings, run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def park(serve):
    server, park_manager = build_xelion_park()
    return serve(server), serve(park_manager)


@pytest.fixture
def world(park, tree, add_users):
    _, park_manager = park
    platform = PlatformFactory(organization=tree.distributor, kind="xelion_pm", base_url=park_manager.base_url,
                               username="", secret=ROOT_API_KEY)  # fmt: skip
    server = ServerFactory(platform=platform, name="xelion-1", backend_ref={"xelion_oid": "1"})
    tenant = TenantFactory(organization=tree.customer, server=server, name="acme", licences=10)
    planning.tenant_created(tenant)
    entity = EntityFactory(tenant=tenant, name="sales", intervals=[("200", "299")])
    template = LineTemplateFactory(organization=tree.customer, name="standard")
    run_all()
    add_users(tenant, entity, template, ("201", "ada"), ("202", "bob"))
    return server


@pytest.fixture
def tenant_api(park):
    """A technician's session on the tenant, as its admin."""
    served, _ = park
    session = requests.Session()
    session.url = lambda path: f"{served.base_url}/api/v1/acme/{path}"
    login = {"userName": "admin", "password": "acme-admin", "userSpace": "technician"}
    answer = session.post(session.url("me/login"), json=login)
    assert answer.ok, answer.text
    session.headers["Authorization"] = f"xelion {answer.json()['authentication']}"
    return session


def test_the_pushed_tenant_is_verified(world):
    scan = scan_server(server_id=world.pk)
    assert scan.status == ScanStatus.COMPLETE, scan.error
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}
    assert not findings(scan, FindingKind.MISSING) and not findings(scan, FindingKind.DIFFERS)


def test_each_finding_kind_made_through_the_tenant_api(world, tenant_api):
    ada, bob = PbxUser.objects.get(username="ada"), PbxUser.objects.get(username="bob")
    person = ada.backend_ref["xelion_person_oid"]
    change = {"operations": [{"op": "replace", "path": "/familyName", "value": "King"}]}
    assert tenant_api.patch(tenant_api.url(f"addressables/{person}"), json=change).ok
    assert tenant_api.delete(tenant_api.url(f"users/{bob.backend_ref['xelion_oid']}")).ok
    eve = tenant_api.post(tenant_api.url("addressables"), json={"objectType": "Person", "commonName": "Eve Outside"})
    profile = {"userName": "eve", "person": {"oid": eve.json()["object"]["oid"], "objectType": "Person"},
               "objectType": "UserProfile", "commonName": "Eve Outside"}  # fmt: skip
    assert tenant_api.post(tenant_api.url("users"), json=profile).ok
    scan = scan_server(server_id=world.pk)
    [differs] = findings(scan, FindingKind.DIFFERS)
    assert differs.differences == [{"field": "last_name", "label": "last name", "portal": "Lovelace", "pbx": "King"}]
    [missing] = findings(scan, FindingKind.MISSING)
    assert missing.target_id == bob.pk
    assert [f.observed["username"] for f in findings(scan, FindingKind.UNMANAGED)] == ["eve"]
    states = dict(PbxUser.objects.values_list("username", "sync_state"))
    assert states == {"ada": SyncState.DRIFTED, "bob": SyncState.MISSING}


def test_a_tenant_on_the_documented_api_alone_is_verified_too(park, tree, add_users):
    _, park_manager = park
    for served in park:
        served.simulator.set_faults({"documented_only": True})
    platform = PlatformFactory(organization=tree.distributor, kind="xelion_pm", base_url=park_manager.base_url,
                               username="", secret=ROOT_API_KEY, documented_only=True)  # fmt: skip
    server = ServerFactory(platform=platform, name="xelion-1")
    tenant = TenantFactory(organization=tree.customer, server=server, name="acme", licences=10)
    planning.tenant_created(tenant)
    entity = EntityFactory(tenant=tenant, name="sales", intervals=[("200", "299")])
    run_all()
    add_users(tenant, entity, LineTemplateFactory(organization=tree.customer, name="standard"), ("201", "ada"))
    scan = scan_server(server_id=server.pk)
    assert scan.status == ScanStatus.COMPLETE, scan.error
    assert PbxUser.objects.get().sync_state == SyncState.VERIFIED


def test_a_page_failing_mid_read_leaves_the_last_report_standing(world, park):
    first = scan_server(server_id=world.pk)
    served, _ = park
    served.simulator.set_faults({"fail_call": 4})  # a page of the read-back, after the login and first pages
    failed = scan_server(server_id=world.pk)
    assert failed.status == ScanStatus.FAILED and "500" in failed.error
    assert not findings(failed) and first.status == ScanStatus.COMPLETE
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}


def test_a_tenant_lost_by_the_park_is_made_again_with_its_lines(world, park, superuser):
    for served in park:
        served.simulator.reset()  # the park restored from an empty backup
    scan = scan_server(server_id=world.pk)
    [gone] = [f for f in findings(scan, FindingKind.MISSING) if f.object_kind == "tenant"]
    repairs.drift_scan_confirm(actor=superuser, scan_id=scan.pk)
    repairs.drift_recreate(actor=superuser, finding_id=gone.pk)
    run_all()
    again = scan_server(server_id=world.pk)
    assert not findings(again, FindingKind.MISSING) and not findings(again, FindingKind.DIFFERS)
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}


def test_a_token_ending_in_mid_read_is_renewed_and_the_pages_go_on(world, park):
    served, _ = park
    served.simulator.set_faults({"session_expiry_calls": 3})  # a token lasts three calls of the walk
    scan = scan_server(server_id=world.pk)
    assert scan.status == ScanStatus.COMPLETE, scan.error
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}
    assert not findings(scan, FindingKind.MISSING) and not findings(scan, FindingKind.DIFFERS)


def test_an_entity_name_the_portal_refuses_stays_a_finding_with_why(world, tenant_api, superuser):
    planning.entity_saved(Entity.objects.get())  # the entity row learns its group's reference
    run_all()
    [group] = [g["object"] for g in tenant_api.get(tenant_api.url("usergroups")).json()["data"]]
    change = {"operations": [{"op": "replace", "path": "/description", "value": "x" * 300}]}
    assert tenant_api.patch(tenant_api.url(f"usergroups/{group['oid']}"), json=change).ok
    [found] = findings(scan_server(server_id=world.pk), FindingKind.DIFFERS)
    assert found.object_kind == "entity"
    with pytest.raises(ValidationError):
        repairs.drift_accept_pbx_value(actor=superuser, finding_id=found.pk)
    found.refresh_from_db()
    assert found.resolved_at is None and "200 characters" in found.resolution
