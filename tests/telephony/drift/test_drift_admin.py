"""Drift scans in the admin and how they are asked for: scoped like everything else (another
organization's staff see a 404), "Check against PBX" queues a scan of what the login manages, and
the beat hands over the servers due for their scheduled scan, a few at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from telephony import queue, tasks
from telephony.drift import schedule
from telephony.models import (
    DriftFinding,
    DriftScan,
    FindingKind,
    JobAttempt,
    PbxUser,
    ProvisioningJob,
    ScanStatus,
    ScanTrigger,
    SyncState,
)
from telephony.selectors import server_health
from telephony.services import drift_repairs as repairs
from telephony.services.drift import drift_scan_requested
from telephony.services.users import pbx_user_create
from tenants.models import Role
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree):
    return xcu_world("http://127.0.0.1:9/api/1.0/", tree.reseller, tree.customer)


@pytest.fixture
def scan(world):
    scan = DriftScan.objects.create(server=world.server, status=ScanStatus.COMPLETE, counts={"differs": 1})
    DriftFinding.objects.create(
        scan=scan, tenant=world.tenant, kind=FindingKind.DIFFERS, object_kind="user",
        label="<img src=x onerror=alert(1)>",
        differences=[{"field": "last_name", "label": "last name", "portal": "{{ secret }}", "pbx": "King"}],
    )  # fmt: skip
    return scan


@pytest.fixture
def sent():
    """What the services hand to the queue, instead of a broker."""
    calls = []
    queue.register(lambda task, args, countdown: calls.append((task, args)))
    yield calls
    queue.register(tasks.send)  # the real queue back, as TelephonyConfig.ready installs it


def test_staff_of_the_platform_see_a_scan_and_its_findings_escaped(tree, member, client, scan):
    client.force_login(member(tree.reseller, Role.OPERATOR))
    page = client.get(reverse("admin:telephony_driftscan_change", args=[scan.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in body and "<img src=x" not in body
    assert "{{ secret }}" in body, "data is shown as it is, never rendered as a template"


def test_another_organizations_staff_get_404_on_scans(tree, member, client, scan):
    client.force_login(member(tree.sibling, Role.ADMIN))
    assert scan not in client.get(reverse("admin:telephony_driftscan_changelist")).context["cl"].result_list
    for name in ("change", "history"):
        assert client.get(reverse(f"admin:telephony_driftscan_{name}", args=[scan.pk])).status_code == 404, name


def test_check_against_pbx_queues_a_scan_of_what_the_login_manages(tree, member, client, world, sent):
    client.force_login(member(tree.reseller, Role.ADMIN))
    url = reverse("admin:telephony_server_changelist")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.db.transaction.on_commit", lambda send, **kw: send())
        response = client.post(url, {"action": "check_against_pbx", "_selected_action": [world.server.pk]}, follow=True)
    assert "1 check(s) queued" in response.content.decode()
    assert sent == [(queue.SCAN_SERVER, (world.server.pk, None, ScanTrigger.STAFF, response.wsgi_request.user.pk))]


def test_a_login_that_does_not_manage_the_server_cannot_ask_for_its_scan(tree, member, world, sent):
    with pytest.raises(Http404):  # another organization's: as if it did not exist
        drift_scan_requested(actor=member(tree.sibling, Role.ADMIN), servers=[world.server])
    with pytest.raises(Http404):  # a viewer: what a denied login gets everywhere
        drift_scan_requested(actor=member(tree.reseller, Role.VIEWER), servers=[world.server])
    assert sent == []


def test_the_schedule_hands_over_due_servers_oldest_first(world, settings, sent):
    settings.DRIFT_SCAN_INTERVAL_MINUTES = 60
    assert schedule.send_due_scans() == 1 and sent[0][1][0] == world.server.pk, "never scanned: due"
    DriftScan.objects.create(server=world.server, status=ScanStatus.COMPLETE)
    assert schedule.due_servers() == [], "scanned a moment ago"
    DriftScan.objects.update(started_at=timezone.now() - timedelta(minutes=61))
    assert schedule.due_servers() == [world.server.pk]
    settings.DRIFT_SCAN_INTERVAL_MINUTES = 0
    assert schedule.due_servers() == [], "0: only scans asked for"


def test_a_server_that_answers_nothing_is_failing_before_any_job_gives_up(world, superuser):
    user = pbx_user_create(
        actor=superuser,
        user=PbxUser(tenant=world.tenant, entity=world.entity, template=world.template, username="ada",
                     first_name="Ada", last_name="Lovelace", internal_number="1701"),
    )  # fmt: skip
    job = ProvisioningJob.objects.get(target_id=user.pk)
    now = timezone.now()
    JobAttempt.objects.create(job=job, number=1, started_at=now, finished_at=now, outcome="retry", error="HTTP 503")
    (row,) = server_health(superuser)
    assert (row["health"], row["pending"], row["failed_24h"]) == ("failing", 1, 0)
    assert row["states"] == {SyncState.PENDING: 1}


def test_a_server_its_last_scan_could_not_read_is_failing(world, superuser):
    DriftScan.objects.create(server=world.server, status=ScanStatus.FAILED, error="HTTP 500")
    (row,) = server_health(superuser)
    assert row["health"] == "failing" and row["last_scan"].status == ScanStatus.FAILED


def test_another_organizations_staff_get_404_on_findings(tree, member, client, scan):
    finding = scan.findings.get()
    client.force_login(member(tree.sibling, Role.ADMIN))
    assert finding not in client.get(reverse("admin:telephony_driftfinding_changelist")).context["cl"].result_list
    assert client.get(reverse("admin:telephony_driftfinding_change", args=[finding.pk])).status_code == 404


def test_a_customer_login_sees_but_does_not_repair(tree, member, world, scan):
    customer_admin = member(tree.customer, Role.ADMIN, is_staff=False)
    with pytest.raises(PermissionDenied):
        repairs.drift_forget(actor=customer_admin, finding_id=scan.findings.get().pk)


def test_adopt_asks_where_then_adopts_through_the_rules(tree, member, client, world, scan):
    found = DriftFinding.objects.create(
        scan=scan, tenant=world.tenant, kind=FindingKind.UNMANAGED, object_kind="user", label="Eve Outside (1750)",
        observed={"username": "eve", "first_name": "Eve", "last_name": "Outside", "internal_number": "1750"},
        backend_ref={"xcu_id": 990},
    )  # fmt: skip
    client.force_login(member(tree.reseller, Role.ADMIN))
    url = reverse("admin:telephony_driftfinding_changelist")
    asked = client.post(url, {"action": "adopt", "_selected_action": [found.pk]})
    assert asked.status_code == 200 and "Adopt users found only on the PBX" in asked.content.decode()
    choice = {"action": "adopt", "_selected_action": [found.pk], "adopt": "yes", "entity": world.entity.pk,
              "template": world.template.pk}  # fmt: skip
    done = client.post(url, choice, follow=True)
    assert "adopted into" in done.content.decode(), done.content.decode()[-3000:]
    eve = PbxUser.objects.get(username="eve")
    assert (eve.backend_ref, eve.sync_state, eve.entity) == ({"xcu_id": 990}, SyncState.VERIFIED, world.entity)
    assert not ProvisioningJob.objects.filter(target_id=eve.pk).exists()


def test_the_dashboard_counts_each_servers_lines_by_state_and_shows_its_last_check(tree, member, client, world, scan):
    client.force_login(member(tree.reseller, Role.ADMIN))
    body = client.get(reverse("staff_dashboard")).content.decode()
    assert "lines on the PBX" in body and "last check against the PBX" in body
    assert reverse("admin:telephony_driftscan_change", args=[scan.pk]) in body
