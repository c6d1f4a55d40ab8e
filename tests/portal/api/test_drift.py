"""Issue 17: drift scans and their repairs in the REST API, against a served XCU simulator. Scans and
findings are read in the login's scope (filters by server, tenant, scan, kind, state); a scan is
asked for through the admin's service and made; each repair runs the admin's service and changes the
finding, the portal and the jobs as the admin's action does; held-back tenants are repaired once
confirmed. Another organization's scan or finding answers as an id that does not exist, in the path,
in a body and in a filter; a viewer reads and never repairs; a customer leaves repairs to its
provider's staff."""

from __future__ import annotations

import pytest
import requests

from telephony import queue, tasks
from telephony.drift.scan import scan_server
from telephony.models import DriftFinding, DriftScan, FindingKind, PbxUser, ProvisioningJob, ScanTrigger, SyncState
from telephony.sandbox.server import serve_in_thread
from telephony.sandbox.xcu import XcuSimulator
from telephony.services.users import pbx_user_create
from tenants.models import Role
from tests.factories import EntityFactory, PlatformFactory, ServerFactory, TenantFactory
from tests.portal.api.test_tokens_and_scope import API, bearer, token_of
from tests.telephony.drift.helpers import findings, run_all
from tests.telephony.drift.test_repairs_xcu import rename_on_pbx
from tests.telephony.xcu_world import XIVO_221_UUID, xcu_world

pytestmark = pytest.mark.django_db

KINDS = ["missing", "differs", "unmanaged", "dangling", "duplicate"]


@pytest.fixture
def xcu():
    running = serve_in_thread(XcuSimulator())
    yield running
    running.stop()


@pytest.fixture
def world(xcu, tree, superuser):
    """The reseller's XCU platform, the customer's tenant on it with ten lines pushed."""
    world = xcu_world(xcu.base_url + "/api/1.0/", tree.reseller, tree.customer)
    world.tenant.backend_ref = {"xcu_id": 2}
    world.tenant.save()
    for n in range(1, 11):
        user = PbxUser(
            tenant=world.tenant, entity=world.entity, template=world.template, username=f"user{n}",
            first_name=f"User{n}", last_name="Lovelace", internal_number=f"17{n:02}",
        )  # fmt: skip
        pbx_user_create(actor=superuser, user=user)
    run_all()
    return world


@pytest.fixture
def pbx(xcu):
    """The simulator's own API, to change the PBX behind the portal's back."""
    session = requests.Session()
    session.url = lambda path: f"{xcu.base_url}/api/1.0/{path}"
    assert session.post(session.url("login"), json={"login": "admin", "password": "superpass"}).ok
    session.user = lambda number: next(
        u
        for u in session.get(session.url(f"entities/default@{XIVO_221_UUID}/users")).json()["items"]
        if u["internalNumber"] == number
    )
    return session


@pytest.fixture
def staff(tree, member):
    """An administrator of the reseller that owns the platform (and manages the customer below)."""
    return member(tree.reseller, Role.ADMIN)


@pytest.fixture
def scans_run_at_once():
    """The queue runs a scan when it is sent (the real task, against the simulator)."""
    sent = []

    def send(task, args, countdown):
        sent.append(task)
        if task == queue.SCAN_SERVER:
            tasks.scan_server_task(*args)

    queue.register(send)
    yield sent
    queue.register(tasks.send)  # the real queue back, as TelephonyConfig.ready installs it


def get(client, raw, url, query=None):
    return client.get(f"{API}/{url}", query or {}, **bearer(raw))


def post(client, raw, url, body=None, **headers):
    return client.post(f"{API}/{url}", body or {}, content_type="application/json", **bearer(raw), **headers)


def ids(answer) -> set[int]:
    assert answer.status_code == 200, answer.content
    return {row["id"] for row in answer.json()["results"]}


def same_as_missing(theirs, missing, foreign_id=None) -> None:
    assert theirs.status_code == missing.status_code, (theirs.json(), missing.json())
    expected = missing.content.decode().replace("99999999", str(foreign_id)) if foreign_id else missing.content
    assert (theirs.content.decode() if foreign_id else theirs.content) == expected


def differing(world, pbx, number="1701", last_name="King") -> tuple[DriftScan, DriftFinding]:
    rename_on_pbx(pbx, number, last_name)
    scan = scan_server(server_id=world.server.pk)
    [found] = findings(scan, FindingKind.DIFFERS)
    return scan, found


# --- reading -----------------------------------------------------------------------------------------


def test_a_scan_and_its_findings_read_and_filter(client, world, pbx, staff):
    scan, found = differing(world, pbx)
    unmanaged = {f.pk for f in findings(scan, FindingKind.UNMANAGED)}  # the seed's users no line holds
    every = {found.pk, *unmanaged}
    raw = token_of(staff)
    assert ids(get(client, raw, "drift-scans/")) == {scan.pk}
    [row] = get(client, raw, "drift-scans/").json()["results"]
    assert (row["server"], row["status"], row["trigger"], row["open_findings"]) == (
        world.server.pk,
        "complete",
        "staff",
        len(every),
    )
    for query, expected in [
        ({"server": world.server.pk}, {scan.pk}),
        ({"status": "complete"}, {scan.pk}),
        ({"status": "failed"}, set()),
        ({"trigger": "schedule"}, set()),
        ({"trigger": "staff"}, {scan.pk}),
    ]:
        assert ids(get(client, raw, "drift-scans/", query)) == expected, query
    detail = get(client, raw, f"drift-scans/{scan.pk}/")
    assert detail.status_code == 200 and detail["ETag"]
    opened = {"differs": 1, "unmanaged": len(unmanaged)}
    assert detail.json()["findings"] == {kind: {"open": opened.get(kind, 0), "resolved": 0} for kind in KINDS}
    assert detail.json()["counts"] == opened and detail.json()["held_back"] == ""

    finding = get(client, raw, f"drift-findings/{found.pk}/")
    assert finding.status_code == 200 and finding["ETag"]
    body = finding.json()
    assert (body["scan"], body["server"], body["tenant"], body["kind"], body["object_kind"]) == (
        scan.pk,
        world.server.pk,
        world.tenant.pk,
        "differs",
        "user",
    )
    assert body["target_id"] == PbxUser.objects.get(internal_number="1701").pk
    assert [(d["field"], d["portal"], d["pbx"]) for d in body["differences"]] == [("last_name", "Lovelace", "King")]
    assert body["resolved_at"] is None and body["resolution"] == ""
    for query, expected in [
        ({"scan": scan.pk}, every),
        ({"server": world.server.pk}, every),
        ({"tenant": world.tenant.pk}, {f.pk for f in DriftFinding.objects.filter(tenant=world.tenant)}),
        ({"kind": "differs"}, {found.pk}),
        ({"kind": "unmanaged"}, unmanaged),
        ({"kind": "missing"}, set()),
        ({"state": "open"}, every),
        ({"state": "resolved"}, set()),
        ({"search": "1701"}, {found.pk}),
    ]:
        assert ids(get(client, raw, "drift-findings/", query)) == expected, query
    for query in ({"state": "gone"}, {"server": "1 OR 1=1"}, {"scan": "x"}):
        bad = get(client, raw, "drift-findings/", query)
        assert bad.status_code == 400 and set(query) <= set(bad.json()), bad.json()


def test_another_organization_sees_404_in_path_body_and_filter(client, world, pbx, staff, tree, member):
    scan, found = differing(world, pbx)
    theirs = token_of(member(tree.sibling, Role.ADMIN))
    for resource, pk in [("drift-scans", scan.pk), ("drift-findings", found.pk)]:
        same_as_missing(get(client, theirs, f"{resource}/{pk}/"), get(client, theirs, f"{resource}/99999999/"))
    for resource, query in [
        ("drift-scans", {"server": world.server.pk}),
        ("drift-scans", {"tenant": world.tenant.pk}),
        ("drift-findings", {"scan": scan.pk}),
        ("drift-findings", {"server": world.server.pk}),
        ("drift-findings", {"tenant": world.tenant.pk}),
        ("drift-findings", {"search": "1701"}),
    ]:
        assert ids(get(client, theirs, f"{resource}/", query)) == set(), (resource, query)
    jobs = ProvisioningJob.objects.count()
    for repair in ("push-portal-value", "accept-pbx-value", "recreate", "forget", "adopt"):
        same_as_missing(
            post(client, theirs, f"drift-findings/{found.pk}/{repair}/"),
            post(client, theirs, f"drift-findings/99999999/{repair}/"),
        )
    same_as_missing(
        post(client, theirs, f"drift-scans/{scan.pk}/confirm/"), post(client, theirs, "drift-scans/99999999/confirm/")
    )
    # their server or tenant in a body reads as one that does not exist
    same_as_missing(
        post(client, theirs, "drift-scans/", {"server": world.server.pk}),
        post(client, theirs, "drift-scans/", {"server": 99999999}),
        world.server.pk,
    )
    # and ours: the sibling's entity and template are no choice for an adoption
    sibling_server = ServerFactory(platform=PlatformFactory(organization=tree.sibling, kind="xcu"))
    sibling_entity = EntityFactory(tenant=TenantFactory(organization=tree.sibling_customer, server=sibling_server))
    raw = token_of(staff)
    same_as_missing(
        post(
            client,
            raw,
            f"drift-findings/{found.pk}/adopt/",
            {"entity": sibling_entity.pk, "template": world.template.pk},
        ),
        post(client, raw, f"drift-findings/{found.pk}/adopt/", {"entity": 99999999, "template": world.template.pk}),
        sibling_entity.pk,
    )
    same_as_missing(
        post(client, raw, "drift-scans/", {"server": sibling_server.pk}),
        post(client, raw, "drift-scans/", {"server": 99999999}),
        sibling_server.pk,
    )
    assert ids(get(client, raw, "drift-findings/", {"server": sibling_server.pk})) == set()
    found.refresh_from_db()
    assert found.resolved_at is None and ProvisioningJob.objects.count() == jobs
    assert not DriftScan.objects.exclude(pk=scan.pk).exists()


def test_a_viewer_reads_but_never_repairs_and_a_customer_leaves_repairs_to_its_provider(
    client, world, pbx, staff, tree, member, scans_run_at_once
):
    scan, found = differing(world, pbx)
    jobs = ProvisioningJob.objects.count()
    viewer = token_of(member(tree.reseller, Role.VIEWER))
    assert get(client, viewer, f"drift-findings/{found.pk}/").status_code == 200
    assert get(client, viewer, f"drift-scans/{scan.pk}/").status_code == 200
    for repair in ("push-portal-value", "accept-pbx-value", "recreate", "forget"):
        answer = post(client, viewer, f"drift-findings/{found.pk}/{repair}/")
        assert answer.status_code == 403, (repair, answer.json())
    adopt = {"entity": world.entity.pk, "template": world.template.pk}
    assert post(client, viewer, f"drift-findings/{found.pk}/adopt/", adopt).status_code == 403
    assert post(client, viewer, f"drift-scans/{scan.pk}/confirm/").status_code == 403
    assert post(client, viewer, "drift-scans/", {"server": world.server.pk}).status_code == 403
    # a read-only token of a login that may repair does not either
    read_only = token_of(staff, scope="read")
    assert post(client, read_only, f"drift-findings/{found.pk}/push-portal-value/").status_code == 403
    # the customer reads what the check found on its tenant; its provider's staff decide the repair
    customer = token_of(member(tree.customer, Role.ADMIN, is_staff=False))
    assert ids(get(client, customer, "drift-findings/")) == {found.pk}
    assert get(client, customer, f"drift-scans/{scan.pk}/").status_code == 404
    refused = post(client, customer, f"drift-findings/{found.pk}/push-portal-value/")
    assert refused.status_code == 403 and "provider's staff" in refused.json()["detail"]
    found.refresh_from_db()
    assert found.resolved_at is None and ProvisioningJob.objects.count() == jobs
    assert scans_run_at_once == [] and DriftScan.objects.count() == 1


# --- asking for a scan ---------------------------------------------------------------------------------


def test_asking_for_a_scan_queues_it_and_the_scan_is_made(
    client, world, pbx, staff, scans_run_at_once, django_capture_on_commit_callbacks
):
    rename_on_pbx(pbx, "1701", "King")
    raw = token_of(staff)
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(client, raw, "drift-scans/", {"server": world.server.pk}, HTTP_IDEMPOTENCY_KEY="scan-1")
    assert answer.status_code == 202, answer.json()
    assert answer.json() == {"queued": 1, "server": world.server.pk, "tenant": None}
    scan = DriftScan.objects.get()
    assert (scan.server, scan.trigger, scan.requested_by, scan.status) == (
        world.server,
        ScanTrigger.STAFF,
        staff,
        "complete",
    )
    assert scan.counts["differs"] == 1 and ids(get(client, raw, "drift-scans/")) == {scan.pk}
    with django_capture_on_commit_callbacks(execute=True):
        again = post(client, raw, "drift-scans/", {"server": world.server.pk}, HTTP_IDEMPOTENCY_KEY="scan-1")
    assert again.status_code == 202 and again["Idempotent-Replayed"] == "true"
    assert DriftScan.objects.count() == 1, "a retry with the same key asks for nothing more"

    with django_capture_on_commit_callbacks(execute=True):
        one_tenant = post(client, raw, "drift-scans/", {"server": world.server.pk, "tenant": world.tenant.pk})
    assert one_tenant.status_code == 202 and one_tenant.json()["tenant"] == world.tenant.pk
    assert DriftScan.objects.count() == 2 and scans_run_at_once == [queue.SCAN_SERVER] * 2

    elsewhere = ServerFactory(platform=world.platform)
    wrong = post(client, raw, "drift-scans/", {"server": elsewhere.pk, "tenant": world.tenant.pk})
    assert wrong.status_code == 400 and list(wrong.json()) == ["tenant"]
    assert post(client, raw, "drift-scans/", {}).status_code == 400
    assert DriftScan.objects.count() == 2


# --- repairs ------------------------------------------------------------------------------------------


def test_pushing_the_portals_value_puts_it_back_on_the_pbx(client, world, pbx, staff):
    _scan, found = differing(world, pbx)
    raw = token_of(staff)
    pending = ProvisioningJob.objects.filter(status="pending").count()
    answer = post(client, raw, f"drift-findings/{found.pk}/push-portal-value/")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["resolved_at"] and answer.json()["resolution"].startswith("Portal's value pushed by")
    assert ProvisioningJob.objects.filter(status="pending").count() == pending + 1
    run_all()
    assert pbx.user("1701")["lastName"] == "Lovelace"
    assert PbxUser.objects.get(username="user1").sync_state == SyncState.VERIFIED
    again = post(client, raw, f"drift-findings/{found.pk}/push-portal-value/")
    assert again.status_code == 400 and "dealt with already" in again.json()["non_field_errors"][0]
    assert ids(get(client, raw, "drift-findings/", {"state": "resolved"})) == {found.pk}


def test_accepting_the_pbxs_value_goes_through_the_rules(client, world, pbx, staff):
    rename_on_pbx(pbx, "1701", "King")
    rename_on_pbx(pbx, "1702", "")
    scan = scan_server(server_id=world.server.pk)
    king, empty = sorted(findings(scan, FindingKind.DIFFERS), key=lambda f: f.target_id)
    raw = token_of(staff)
    wrong_kind = post(client, raw, f"drift-findings/{king.pk}/recreate/")
    assert wrong_kind.status_code == 400 and "is not repaired this way" in wrong_kind.json()["non_field_errors"][0]
    taken = post(client, raw, f"drift-findings/{king.pk}/accept-pbx-value/")
    assert taken.status_code == 200, taken.json()
    assert PbxUser.objects.get(username="user1").last_name == "King"
    refused = post(client, raw, f"drift-findings/{empty.pk}/accept-pbx-value/")
    assert refused.status_code == 400 and refused.json(), refused.json()
    assert all(isinstance(messages, list) and messages for messages in refused.json().values())
    empty.refresh_from_db()
    assert empty.resolved_at is None and empty.resolution.startswith("Not taken:"), "it stays a finding, with why"
    assert PbxUser.objects.get(username="user2").last_name == "Lovelace"


def test_a_missing_line_is_made_again_or_forgotten(client, world, pbx, staff):
    for number in ("1703", "1704"):
        assert pbx.delete(pbx.url(f"users/{pbx.user(number)['id']}")).status_code == 204
    again, gone = sorted(
        findings(scan_server(server_id=world.server.pk), FindingKind.MISSING), key=lambda f: f.target_id
    )
    raw = token_of(staff)
    made = post(client, raw, f"drift-findings/{again.pk}/recreate/")
    assert made.status_code == 200 and made.json()["resolution"].startswith("Made again on the PBX")
    run_all()
    assert pbx.user("1703")["lastName"] == "Lovelace"
    jobs = ProvisioningJob.objects.count()
    forgotten = post(client, raw, f"drift-findings/{gone.pk}/forget/", {"confirmed": False})
    assert forgotten.status_code == 200 and forgotten.json()["resolution"].startswith("Forgotten")
    assert not PbxUser.objects.filter(username="user4").exists() and ProvisioningJob.objects.count() == jobs


def test_a_user_only_on_the_pbx_is_adopted_and_nothing_is_sent(client, world, pbx, staff):
    template = next(t for t in pbx.get(pbx.url("templates")).json() if t["name"] == "Portal line")
    body = {"entityCId": f"default@{XIVO_221_UUID}", "templateId": template["id"], "firstName": "Eve",
            "lastName": "Outside", "internalNumber": "1750", "ctiLogin": "eve"}  # fmt: skip
    assert pbx.post(pbx.url("users"), json=body).status_code == 201
    scan = scan_server(server_id=world.server.pk)
    [eve] = [f for f in findings(scan, FindingKind.UNMANAGED) if f.observed.get("internal_number") == "1750"]
    raw = token_of(staff)
    jobs = ProvisioningJob.objects.count()
    choice = {"entity": world.entity.pk, "template": world.template.pk}
    adopted = post(client, raw, f"drift-findings/{eve.pk}/adopt/", choice)
    assert adopted.status_code == 200, adopted.json()
    line = PbxUser.objects.get(pk=adopted.json()["pbx_user"])
    assert (line.username, line.internal_number, line.sync_state) == ("eve", "1750", SyncState.VERIFIED)
    assert adopted.json()["finding"]["id"] == eve.pk and adopted.json()["finding"]["resolved_at"]
    assert ProvisioningJob.objects.count() == jobs, "the PBX holds it: nothing to push"
    twice = post(client, raw, f"drift-findings/{eve.pk}/adopt/", choice)
    assert twice.status_code == 400 and "dealt with already" in twice.json()["non_field_errors"][0]
    missing_choice = post(client, raw, f"drift-findings/{eve.pk}/adopt/", {})
    assert missing_choice.status_code == 400 and {"entity", "template"} <= set(missing_choice.json())


def test_a_tenant_much_changed_at_once_is_repaired_only_when_confirmed(client, world, pbx, staff):
    for number in ("1701", "1702", "1703"):  # 3 of 10 users: more than 20%
        assert pbx.delete(pbx.url(f"users/{pbx.user(number)['id']}")).status_code == 204
    scan = scan_server(server_id=world.server.pk)
    raw = token_of(staff)
    assert get(client, raw, f"drift-scans/{scan.pk}/").json()["held_back"] == str(world.tenant)
    first, *others = findings(scan, FindingKind.MISSING)
    held = post(client, raw, f"drift-findings/{first.pk}/recreate/")
    assert held.status_code == 400 and "confirm" in held.json()["non_field_errors"][0]
    assert post(client, raw, f"drift-findings/{first.pk}/recreate/", {"confirmed": True}).status_code == 200
    # or once for the whole scan: the other repairs there go ahead
    confirmed = post(client, raw, f"drift-scans/{scan.pk}/confirm/")
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["confirmed_by"] == staff.pk and confirmed.json()["confirmed_at"]
    assert confirmed.json()["findings"]["missing"] == {"open": len(others), "resolved": 1}
    for other in others:
        assert post(client, raw, f"drift-findings/{other.pk}/recreate/").status_code == 200
    run_all()
    assert [pbx.user(n)["lastName"] for n in ("1701", "1702", "1703")] == ["Lovelace"] * 3
    calm = scan_server(server_id=world.server.pk)
    nothing_held = post(client, raw, f"drift-scans/{calm.pk}/confirm/")
    assert nothing_held.status_code == 400 and "held nothing back" in nothing_held.json()["non_field_errors"][0]
