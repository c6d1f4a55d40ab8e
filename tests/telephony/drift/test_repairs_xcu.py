"""Repairs of what a scan found on XiVO XCU, each a person's decision: push the portal's value,
accept the PBX's (through the same rules as any change), re-create, forget, adopt; each refused to
another organization's staff, and held back where a scan saw much of a tenant change at once."""

from __future__ import annotations

import pytest
import requests
from django.core.exceptions import ValidationError
from django.http import Http404

from telephony.drift.scan import scan_server
from telephony.models import BackendClaim, DriftScan, FindingKind, PbxUser, ProvisioningJob, SyncState
from telephony.sandbox.xcu import XcuSimulator
from telephony.services import drift_repairs as repairs
from tenants.models import Role
from tests.telephony.drift.helpers import findings, run_all
from tests.telephony.xcu_world import XIVO_221_UUID, xcu_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def xcu(serve):
    return serve(XcuSimulator())


@pytest.fixture
def world(xcu, tree, add_users):
    world = xcu_world(xcu.base_url + "/api/1.0/", tree.distributor, tree.customer)
    world.tenant.backend_ref = {"xcu_id": 2}
    world.tenant.save()
    add_users(world.tenant, world.entity, world.template, *[(f"17{n:02}", f"user{n}") for n in range(1, 11)])
    return world


@pytest.fixture
def api(xcu):
    session = requests.Session()
    session.url = lambda path: f"{xcu.base_url}/api/1.0/{path}"
    assert session.post(session.url("login"), json={"login": "admin", "password": "superpass"}).ok
    session.user = lambda number: next(
        u
        for u in session.get(session.url(f"entities/default@{XIVO_221_UUID}/users")).json()["items"]
        if u["internalNumber"] == number
    )
    return session


def rename_on_pbx(api, number, last_name):
    user = api.user(number)
    template = next(t for t in api.get(api.url("templates")).json() if t["name"] == "Portal line")
    body = {"entityCId": user["entity"]["combinedId"], "templateId": template["id"], "firstName": user["firstName"],
            "lastName": last_name, "internalNumber": number, "ctiLogin": user["ctiLogin"]}  # fmt: skip
    assert api.put(api.url(f"users/{user['id']}"), json=body).ok


def test_pushing_the_portals_value_puts_it_back_on_the_pbx(world, api, superuser):
    rename_on_pbx(api, "1701", "King")
    [found] = findings(scan_server(server_id=world.server.pk), FindingKind.DIFFERS)
    repairs.drift_push_portal_value(actor=superuser, finding_id=found.pk)
    run_all()
    assert api.user("1701")["lastName"] == "Lovelace"
    assert PbxUser.objects.get(username="user1").sync_state == SyncState.VERIFIED
    with pytest.raises(ValidationError, match="dealt with already"):
        repairs.drift_push_portal_value(actor=superuser, finding_id=found.pk)


def test_accepting_the_pbxs_value_takes_it_through_the_rules(world, api, superuser):
    rename_on_pbx(api, "1701", "King")
    rename_on_pbx(api, "1702", "")
    scan = scan_server(server_id=world.server.pk)
    king, empty = sorted(findings(scan, FindingKind.DIFFERS), key=lambda f: f.target_id)
    repairs.drift_accept_pbx_value(actor=superuser, finding_id=king.pk)
    run_all()
    assert PbxUser.objects.get(username="user1").last_name == "King"
    assert PbxUser.objects.get(username="user1").sync_state == SyncState.VERIFIED
    with pytest.raises(ValidationError):
        repairs.drift_accept_pbx_value(actor=superuser, finding_id=empty.pk)
    empty.refresh_from_db()
    assert empty.resolved_at is None and empty.resolution.startswith("Not taken:"), "it stays a finding, with why"
    assert PbxUser.objects.get(username="user2").last_name == "Lovelace"


def test_a_missing_line_is_made_again_or_forgotten(world, api, superuser):
    for number in ("1703", "1704"):
        assert api.delete(api.url(f"users/{api.user(number)['id']}")).status_code == 204
    again, gone = sorted(
        findings(scan_server(server_id=world.server.pk), FindingKind.MISSING), key=lambda f: f.target_id
    )
    repairs.drift_recreate(actor=superuser, finding_id=again.pk)
    run_all()
    assert api.user("1703")["lastName"] == "Lovelace"
    assert PbxUser.objects.get(username="user3").sync_state == SyncState.VERIFIED
    jobs = ProvisioningJob.objects.count()
    repairs.drift_forget(actor=superuser, finding_id=gone.pk)
    assert not PbxUser.objects.filter(username="user4").exists() and ProvisioningJob.objects.count() == jobs
    assert not BackendClaim.objects.filter(target_id=gone.target_id, kind="user").exists()


def test_a_user_only_on_the_pbx_is_adopted_once_and_nothing_is_sent(world, api, superuser):
    template = next(t for t in api.get(api.url("templates")).json() if t["name"] == "Portal line")
    body = {"entityCId": f"default@{XIVO_221_UUID}", "templateId": template["id"], "firstName": "Eve",
            "lastName": "Outside", "internalNumber": "1750", "ctiLogin": "eve"}  # fmt: skip
    assert api.post(api.url("users"), json=body).status_code == 201
    scan = scan_server(server_id=world.server.pk)
    [eve] = [f for f in findings(scan, FindingKind.UNMANAGED) if f.observed.get("internal_number") == "1750"]
    jobs = ProvisioningJob.objects.count()
    adopted = repairs.drift_adopt(actor=superuser, finding_id=eve.pk, entity=world.entity, template=world.template)
    assert (adopted.username, adopted.internal_number, adopted.sync_state) == ("eve", "1750", SyncState.VERIFIED)
    assert ProvisioningJob.objects.count() == jobs, "the PBX holds it: nothing to push"
    assert findings(scan_server(server_id=world.server.pk), FindingKind.UNMANAGED)
    assert PbxUser.objects.get(username="eve").sync_state == SyncState.VERIFIED
    with pytest.raises(ValidationError, match="dealt with already"):
        repairs.drift_adopt(actor=superuser, finding_id=eve.pk, entity=world.entity, template=world.template)


def test_another_organizations_staff_cannot_repair(world, api, tree, member):
    rename_on_pbx(api, "1701", "King")
    [found] = findings(scan_server(server_id=world.server.pk), FindingKind.DIFFERS)
    with pytest.raises(Http404):
        repairs.drift_push_portal_value(actor=member(tree.sibling, Role.ADMIN), finding_id=found.pk)


def test_a_tenant_much_changed_at_once_is_repaired_only_when_confirmed(world, api, superuser):
    for number in ("1701", "1702", "1703"):  # 3 of 10 users: more than 20%
        assert api.delete(api.url(f"users/{api.user(number)['id']}")).status_code == 204
    scan = scan_server(server_id=world.server.pk)
    assert scan.held_back == str(world.tenant)
    found = findings(scan, FindingKind.MISSING)[0]
    with pytest.raises(ValidationError, match="confirm"):
        repairs.drift_recreate(actor=superuser, finding_id=found.pk)
    repairs.drift_recreate(actor=superuser, finding_id=found.pk, confirmed=True)
    # or once for the whole scan, by a staff member: the other repairs there go ahead
    repairs.drift_scan_confirm(actor=superuser, scan_id=scan.pk)
    assert DriftScan.objects.get(pk=scan.pk).confirmed_by == superuser
    for other in findings(scan, FindingKind.MISSING)[1:]:
        repairs.drift_recreate(actor=superuser, finding_id=other.pk)
    run_all()
    assert [api.user(n)["lastName"] for n in ("1701", "1702", "1703")] == ["Lovelace"] * 3


def test_adopting_an_object_another_row_holds_is_refused(world, api, superuser, tree):
    template = next(t for t in api.get(api.url("templates")).json() if t["name"] == "Portal line")
    body = {"entityCId": f"default@{XIVO_221_UUID}", "templateId": template["id"], "firstName": "Eve",
            "lastName": "Outside", "internalNumber": "1750", "ctiLogin": "eve"}  # fmt: skip
    assert api.post(api.url("users"), json=body).status_code == 201
    scan = scan_server(server_id=world.server.pk)
    [eve] = [f for f in findings(scan, FindingKind.UNMANAGED) if f.observed.get("internal_number") == "1750"]
    # meanwhile another customer's line took the object over (its claim is what the portal holds)
    other = PbxUser.objects.get(username="user10")
    BackendClaim.objects.filter(kind="user", target_id=other.pk).update(key=str(eve.backend_ref["xcu_id"]))
    with pytest.raises(ValidationError, match="holds this object already"):
        repairs.drift_adopt(actor=superuser, finding_id=eve.pk, entity=world.entity, template=world.template)
    assert not PbxUser.objects.filter(username="eve").exists()


def test_lines_lost_with_their_line_template_are_made_again_with_it(world, xcu, api, superuser):
    xcu.simulator.reset()  # the XCU restored from an empty backup: its seed entity is back, not the portal's template
    scan = scan_server(server_id=world.server.pk)
    repairs.drift_scan_confirm(actor=superuser, scan_id=scan.pk)
    for found in findings(scan, FindingKind.MISSING):
        repairs.drift_recreate(actor=superuser, finding_id=found.pk)
    run_all()
    assert api.post(api.url("login"), json={"login": "admin", "password": "superpass"}).ok  # sessions went too
    assert "Portal line" in {t["name"] for t in api.get(api.url("templates")).json()}
    assert api.user("1705")["lastName"] == "Lovelace"
    assert not findings(scan_server(server_id=world.server.pk), FindingKind.MISSING)


def rename_entity_on_pbx(api, display_name):
    entity = next(e for e in api.get(api.url("entities")).json()["items"] if e["name"] == "default")
    body = {key: entity[key] for key in ("name", "intervals", "presentedNumber")}
    body["xivoId"] = entity["xivo"]["id"]
    assert api.put(api.url(f"entities/{entity['combinedId']}"), json={**body, "displayName": display_name}).ok


def test_an_entity_renamed_on_the_pbx_is_taken_or_pushed_back(world, api, superuser):
    world.entity.display_name = "Default"
    world.entity.save()
    rename_entity_on_pbx(api, "Head office")
    [found] = [f for f in findings(scan_server(server_id=world.server.pk), FindingKind.DIFFERS)]
    assert found.object_kind == "entity" and found.differences[0]["pbx"] == "Head office"
    repairs.drift_accept_pbx_value(actor=superuser, finding_id=found.pk)
    world.entity.refresh_from_db()
    assert world.entity.display_name == "Head office"
    run_all()  # the push that follows changes nothing on the PBX
    assert not findings(scan_server(server_id=world.server.pk), FindingKind.DIFFERS)

    rename_entity_on_pbx(api, "Somebody's typo")
    [found] = findings(scan_server(server_id=world.server.pk), FindingKind.DIFFERS)
    repairs.drift_push_portal_value(actor=superuser, finding_id=found.pk)
    run_all()
    assert next(e for e in api.get(api.url("entities")).json()["items"] if e["name"] == "default")["displayName"] == (
        "Head office"
    )
