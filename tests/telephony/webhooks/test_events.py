"""The events that are not one user's change: a committed CSV import (with its users), a drift scan
that found differences, and a server whose health turns for the worse; each reaches only the
endpoints whose organization may see its object."""

from __future__ import annotations

import pytest
from django.utils import timezone

from telephony.imports import services as imports
from telephony.models import DriftScan, ImportKind, ImportStatus, JobStatus, ProvisioningJob, ScanStatus
from telephony.models.webhooks import WebhookEvent
from telephony.services.users import pbx_user_create
from telephony.webhooks import events, health

pytestmark = pytest.mark.django_db


def received_by(endpoint) -> list[tuple[str, dict]]:
    return [(d.event.event_type, d.event.data) for d in endpoint.deliveries.select_related("event").order_by("id")]


def test_an_import_reports_each_user_and_then_itself(tree, receiver):
    mine, _ = tree.endpoint(tree.customer_a, receiver.url, ["user.created", "import.completed"])
    theirs, _ = tree.endpoint(tree.customer_b, receiver.url, ["user.created", "import.completed"])
    data = b"first_name;last_name;username;exten\nAda;Lovelace;ada;1500\nGrace;Hopper;grace;1501\n"
    run = imports.import_run_create(
        actor=tree.root,
        kind=ImportKind.USERS,
        mode="create",
        data=data,
        file_name="two.csv",
        tenant=tree.entity_a.tenant,
        template=tree.template_a,
    )
    run = imports.import_run_start_check(run=run)
    run = imports.import_run_confirm(actor=tree.root, run=run)
    assert run.status == ImportStatus.COMMITTED

    heard = received_by(mine)
    assert [kind for kind, _data in heard] == ["user.created", "user.created", "import.completed"]
    assert {data["username"] for kind, data in heard if kind == "user.created"} == {"ada", "grace"}
    assert heard[-1][1] | {"finished_at": None} == heard[-1][1] | {
        "id": run.pk,
        "created": 2,
        "rows": 2,
        "file_name": "two.csv",
        "finished_at": None,
    }
    assert received_by(theirs) == []


def test_a_drift_scan_with_findings_is_told_to_whoever_sees_the_scan(tree, receiver):
    server = tree.entity_a.tenant.server
    above, _ = tree.endpoint(tree.distributor, receiver.url, ["drift.found"])
    customer, _ = tree.endpoint(tree.customer_a, receiver.url, ["drift.found"])
    scan = DriftScan.objects.create(server=server, status=ScanStatus.COMPLETE, counts={"changed": 2}, checked=10)
    events.drift_found(scan)
    [(kind, data)] = received_by(above)
    assert kind == "drift.found" and data["id"] == scan.pk and data["counts"] == {"changed": 2}
    assert received_by(customer) == [], "scans are the platform owner's staff's: a customer does not see them"


def test_a_server_turning_degraded_is_an_event_once_per_turn(tree, receiver):
    tenant = tree.entity_a.tenant
    endpoint, _ = tree.endpoint(tree.distributor, receiver.url, ["server.degraded"])  # the platform's owner
    customer, _ = tree.endpoint(tree.customer_a, receiver.url, ["server.degraded"])
    assert health.follow() == 0, "the first look only notes the health"
    user = pbx_user_create(actor=tree.root, user=tree.user("a", 1001))
    ProvisioningJob.objects.filter(target_id=user.pk).update(status=JobStatus.FAILED, finished_at=timezone.now())

    assert health.follow() == 1
    [(kind, data)] = received_by(endpoint)
    assert kind == "server.degraded" and data["id"] == tenant.server_id
    assert data["health"] in ("degraded", "failing") and data["previous_health"] in ("healthy", "unknown")
    assert health.follow() == 0, "still bad: no news"
    assert received_by(customer) == [], "a customer on a shared server is not told of every customer's jobs"

    ProvisioningJob.objects.filter(target_id=user.pk).update(status=JobStatus.SUCCEEDED)
    assert health.follow() == 0, "better again: not an event"
    ProvisioningJob.objects.filter(target_id=user.pk).update(status=JobStatus.FAILED)
    assert health.follow() == 1, "a second turn for the worse is"
    assert WebhookEvent.objects.filter(event_type="server.degraded").count() == 2


def test_a_tenant_deleted_with_its_users_reports_each_user(tree, receiver):
    from telephony.services.tenants import tenant_delete

    endpoint, _ = tree.endpoint(tree.customer_a, receiver.url, ["user.deleted"])
    made = [pbx_user_create(actor=tree.root, user=tree.user("a", number)) for number in (1001, 1002)]
    tenant_delete(actor=tree.root, tenant=tree.entity_a.tenant)
    heard = received_by(endpoint)
    assert [kind for kind, _data in heard] == ["user.deleted", "user.deleted"]
    assert sorted(data["id"] for _kind, data in heard) == sorted(user.pk for user in made)
