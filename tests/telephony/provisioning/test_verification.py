"""A bulk change is read back by one scan after its drain, not by one read per job: against the
Xelion server simulator over real HTTP, with the drain run in this process."""

from __future__ import annotations

import pytest
from django.db import transaction

from telephony import tasks
from telephony.models import (
    DriftScan,
    Entity,
    FindingKind,
    JobStatus,
    LineTemplate,
    PbxUser,
    ProvisioningJob,
    ScanTrigger,
    SyncState,
    Tenant,
)
from telephony.provisioning import drain, runner, verification
from telephony.sandbox.xelion import MASTER_PASSWORD, MASTER_USERNAME, XelionServerSimulator
from telephony.services.templates import line_template_create
from telephony.services.tenants import entity_create, tenant_create
from telephony.services.users import pbx_user_create, pbx_user_update
from tests.factories import PlatformFactory, ServerFactory, UserFactory
from tests.telephony.drift.helpers import run_all
from tests.telephony.provisioning.workers import wait_until

pytestmark = pytest.mark.django_db


class CountingXelion(XelionServerSimulator):
    """The simulator, keeping each API call's method and path."""

    def dispatch(self, request):
        if not request.path.startswith("/_sandbox/"):
            with self.lock:
                self.__dict__.setdefault("seen", []).append((request.method, request.path))
        return super().dispatch(request)

    def calls(self, method: str, fragment: str) -> int:
        return sum(1 for m, path in self.__dict__.get("seen", []) if m == method and fragment in path)


@pytest.fixture
def world(serve, tree):
    simulator = CountingXelion()
    served = serve(simulator)
    actor = UserFactory(is_superuser=True, is_staff=True)
    platform = PlatformFactory(organization=tree.distributor, kind="xelion", base_url=served.base_url,
                               username=MASTER_USERNAME, secret=MASTER_PASSWORD)  # fmt: skip
    server = ServerFactory(platform=platform, name="xelion-1")
    tenant = tenant_create(
        actor=actor, tenant=Tenant(organization=tree.customer, server=server, name="bulk", licences=50)
    )
    entity = entity_create(actor=actor, entity=Entity(tenant=tenant, name="sales"), intervals=[("200", "299")])
    template = line_template_create(actor=actor, template=LineTemplate(organization=tree.customer, name="standard"))
    run_all()

    def create(*numbers: int) -> list[PbxUser]:
        with transaction.atomic():  # as a bulk import commits
            return [
                pbx_user_create(actor=actor, user=PbxUser(tenant=tenant, entity=entity, template=template,
                                username=f"u{n}", first_name="Ada", last_name=f"Lovelace {n}", internal_number=str(n)))
                for n in numbers
            ]  # fmt: skip

    simulator.seen = []
    return type("World", (), {"sim": simulator, "server": server, "tenant": tenant, "actor": actor, "create": create})


def group_members(world) -> set[str]:
    """The user names in the tenant's "sales" usergroup, as the simulator holds it."""
    with world.sim.lock:
        tenant = next(t for t in world.sim.state["tenants"].values() if t["name"] == "bulk")
        objects = world.sim.objects_of(tenant)
        [group] = [g for g in objects.of_type("UserGroup") if g["commonName"] == "sales"]
        return {objects.get(m["user"])["userName"] for m in group["members"]}


def states() -> dict[str, str]:
    return dict(PbxUser.objects.values_list("username", "sync_state"))


def test_a_drained_bulk_create_is_read_back_by_one_scan_not_a_read_per_user(world):
    world.create(*range(200, 212))
    said = drain.drain_server(world.server.pk)
    assert said == "drained after 12 jobs; scan asked", said
    assert set(states().values()) == {SyncState.IN_SYNC}, "pushed, not yet checked: nothing believed meanwhile"
    assert verification.verify_pushed(world.server.pk) == "scan complete"  # the task the drain asked for

    assert set(ProvisioningJob.objects.filter(operation="user.create").values_list("status", flat=True)) == {
        JobStatus.SUCCEEDED
    }
    assert set(states().values()) == {SyncState.VERIFIED}, "each user seen on the PBX by the scan"
    assert PbxUser.objects.filter(verified_at__isnull=True).count() == 0
    [scan] = DriftScan.objects.filter(trigger=ScanTrigger.PUSH)
    assert scan.tenant_id == world.tenant.pk
    assert world.sim.calls("POST", "/users") == 12
    assert world.sim.calls("GET", "/users/") == 0, "no user read back one by one"
    assert world.sim.calls("GET", "/users") >= 1, "the scan's paged list"
    assert world.sim.calls("PATCH", "/usergroups/") == 1, "the twelve joined their entity in one call"
    assert group_members(world) == {f"u{n}" for n in range(200, 212)}


def test_a_push_the_pbx_lost_before_the_scan_reads_as_missing_never_as_verified(world, monkeypatch):
    world.create(200, 201, 202)
    pushed = []
    real_run = runner.run_claimed

    def run_then_lose_the_second(job, attempt):
        outcome = real_run(job, attempt)
        pushed.append(job.target_id)
        if len(pushed) == 2:  # the PBX loses this user between its push and the scan
            lost = PbxUser.objects.get(pk=job.target_id).backend_ref["xelion_oid"]
            with world.sim.lock:
                tenant = next(t for t in world.sim.state["tenants"].values() if t["name"] == "bulk")
                objects = world.sim.objects_of(tenant)
                objects.delete(objects.get(lost, "UserProfile"))
        return outcome

    monkeypatch.setattr(runner, "run_claimed", run_then_lose_the_second)
    drain.drain_server(world.server.pk)
    verification.verify_pushed(world.server.pk)

    assert states() == {"u200": SyncState.VERIFIED, "u201": SyncState.MISSING, "u202": SyncState.VERIFIED}
    [scan] = DriftScan.objects.filter(trigger=ScanTrigger.PUSH)
    assert [f.target_id for f in scan.findings.filter(kind=FindingKind.MISSING)] == [pushed[1]]


def test_a_job_run_on_its_own_still_reads_its_user_back_at_once(world):
    [user] = world.create(230)
    ProvisioningJob.objects.filter(status=JobStatus.PENDING).update(dispatched_at=None)
    run_all()
    assert states() == {"u230": SyncState.VERIFIED}
    assert not DriftScan.objects.exists(), "no scan: the job read its user back itself"
    assert world.sim.calls("GET", "/users/") == 1

    user.last_name = "Byron"
    pbx_user_update(actor=world.actor, user=user)
    run_all()
    assert states() == {"u230": SyncState.VERIFIED}


def test_a_drain_that_ends_while_another_job_runs_leaves_the_scan_to_that_jobs_drain(world):
    world.create(200, 201)
    ProvisioningJob.objects.filter(operation="user.create", target_id=PbxUser.objects.get(username="u201").pk).update(
        status=JobStatus.RUNNING
    )
    said = drain.drain_server(world.server.pk)
    assert said.endswith("jobs still running"), said
    assert states()["u200"] == SyncState.IN_SYNC, "pushed, not yet checked: nothing believed meanwhile"
    assert not DriftScan.objects.exists()

    ProvisioningJob.objects.filter(status=JobStatus.RUNNING).update(status=JobStatus.SUCCEEDED)
    assert verification.after_drain(world.server.pk) == "scan asked"
    assert verification.verify_pushed(world.server.pk) == "scan complete"
    assert states()["u200"] == SyncState.VERIFIED


@pytest.mark.slow
def test_a_real_worker_reads_a_bulk_create_back_once_its_drains_are_done(world, start_worker):
    world.sim.set_faults({"latency_ms": 10})
    start_worker(PROVISIONING_SERVER_CONCURRENCY=3, concurrency=3)
    world.create(*range(200, 240))
    wait_until(lambda: set(states().values()) == {SyncState.VERIFIED}, timeout=90, message="every user verified")
    assert world.sim.calls("POST", "/users") == 40
    assert world.sim.calls("GET", "/users/") == 0, "read back by the scan after the drains, not one by one"
    assert DriftScan.objects.filter(trigger=ScanTrigger.PUSH, status="complete").exists()


def test_users_a_killed_worker_left_outside_their_entity_join_it_before_the_next_scan_reads_them(world, monkeypatch):
    world.create(200, 201, 202)
    assert drain.drain_server(world.server.pk).endswith("scan asked")  # and the worker dies: never scanned
    assert set(states().values()) == {SyncState.IN_SYNC}
    assert group_members(world) == set(), "the create left the join to the scan"

    assert tasks.scan_server_task(world.server.pk, None, ScanTrigger.SCHEDULE, None) == "complete"
    assert group_members(world) == {"u200", "u201", "u202"}
    assert set(states().values()) == {SyncState.VERIFIED}, "seen in their entity: not drifted"

    joins = world.sim.calls("PATCH", "/usergroups/")
    assert tasks.scan_server_task(world.server.pk, None, ScanTrigger.STAFF, None) == "complete"
    assert world.sim.calls("PATCH", "/usergroups/") == joins, "verified users are not joined again"
