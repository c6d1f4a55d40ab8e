"""Drains: a bulk change goes out as a few tasks that each run a server's due jobs one after
another, instead of one broker message per job. A real worker runs them; the limit, the order of a
target's jobs and the recovery from a killed worker hold as they do for a job's own task."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from telephony.models import JobAttempt, JobStatus, ProvisioningJob, WaitState
from telephony.provisioning import dispatch as dispatching
from telephony.provisioning import drain
from telephony.services.users import pbx_user_create, pbx_user_update
from tests.telephony.provisioning.conftest import job_statuses
from tests.telephony.provisioning.test_worker_outcomes import wait_for_all_jobs
from tests.telephony.provisioning.workers import wait_until

pytestmark = pytest.mark.slow


def create_in_one_transaction(world, numbers) -> None:
    with transaction.atomic():  # as a bulk import commits
        for number in numbers:
            pbx_user_create(actor=world.actor, user=world.user(number))


def test_a_bulk_commit_goes_out_as_drains_and_keeps_the_servers_limit(world, start_worker):
    world.sim.set_faults({"latency_ms": 20})
    worker = start_worker(PROVISIONING_SERVER_CONCURRENCY=2)
    wait_for_all_jobs()  # the tenant and the entity
    set_up = len(worker.log().splitlines())
    create_in_one_transaction(world, range(2000, 2060))

    wait_for_all_jobs()
    assert job_statuses() == {JobStatus.SUCCEEDED: 62}
    assert sorted(u["internalNumber"] for u in world.sim_users()) == [str(n) for n in range(2000, 2060)]
    assert world.sim.most_in_flight <= 2, "never more than the server's limit at once"
    since = worker.log().splitlines()[set_up:]
    assert any("telephony.drain_server" in line for line in since)
    job_tasks = sum("run_provisioning_job" in line and " received" in line for line in since)
    assert job_tasks <= 2, "the 60 users went out as drains, not as a message each (2: a set-up straggler)"
    assert all(job.dispatched_at for job in ProvisioningJob.objects.all())


def test_a_worker_killed_mid_drain_loses_nothing_and_duplicates_nothing(world, start_worker):
    # a create is one call: at 200 ms a call the drains are surely still under way when the gate closes
    world.sim.set_faults({"latency_ms": 200})
    first = start_worker()
    wait_for_all_jobs()
    create_in_one_transaction(world, range(2000, 2040))
    wait_until(
        lambda: ProvisioningJob.objects.filter(operation="user.create", status=JobStatus.SUCCEEDED).count() >= 4,
        message="the drains are under way",
    )
    world.sim.gate.clear()  # the calls of the running jobs hang at the PBX: the kill lands inside them
    wait_until(lambda: world.sim.held >= 2, message="jobs are running, their calls held by the PBX")
    first.kill()
    world.sim.gate.set()

    start_worker()  # its sweep takes back the leases, then hands the untouched jobs over again
    wait_for_all_jobs()
    assert job_statuses() == {JobStatus.SUCCEEDED: 42}
    assert sorted(u["internalNumber"] for u in world.sim_users()) == [str(n) for n in range(2000, 2040)]
    assert JobAttempt.objects.filter(outcome="lost").exists()


def test_a_users_update_waits_for_its_create_inside_a_drain(world, start_worker):
    world.sim.set_faults({"latency_ms": 10})
    start_worker()
    wait_for_all_jobs()
    with transaction.atomic():
        users = [pbx_user_create(actor=world.actor, user=world.user(n)) for n in range(2000, 2020)]
        for user in users:
            user.last_name = "Renamed"
            pbx_user_update(actor=world.actor, user=user)

    wait_for_all_jobs()
    assert job_statuses() == {JobStatus.SUCCEEDED: 42}
    assert {u["lastName"] for u in world.sim_users()} == {"Renamed"}
    for user in users:  # each update ran after its user's create had finished
        create, update = ProvisioningJob.objects.filter(target_key=f"pbxuser:{user.pk}").order_by("id")
        assert create.finished_at <= update.started_at


def test_a_drain_goes_out_only_once_its_jobs_are_marked_and_one_refused_leaves_them_to_the_sweep(world, monkeypatch):
    """The marks first: a drain sent before them could find the rows still locked by their UPDATE,
    pass over them (SKIP LOCKED) and end as if nothing were due (seen with PostgreSQL and Redis: a
    bulk commit waited two minutes for the sweep)."""
    ProvisioningJob.objects.update(status=JobStatus.SUCCEEDED)  # the tenant and the entity
    unmarked_when_sent = []

    def send(server_id, count=None, **kwargs):
        users = ProvisioningJob.objects.filter(operation="user.create")
        unmarked_when_sent.append(users.filter(dispatched_at__isnull=True).count())
        return True

    monkeypatch.setattr(dispatching, "send_drains", send)
    create_in_one_transaction(world, range(2000, 2010))
    assert unmarked_when_sent == [0]

    users = ProvisioningJob.objects.filter(operation="user.create")
    monkeypatch.setattr(dispatching, "send_drains", lambda *args, **kwargs: False)  # the broker refuses
    assert dispatching.dispatch(list(users.values_list("pk", flat=True))) == 0
    assert not users.filter(dispatched_at__isnull=False).exists(), "unmarked: the sweep's next pass sends them"


@pytest.mark.django_db
class TestClaimNext:
    """The claim a drain makes, without a worker."""

    @pytest.fixture(autouse=True)
    def _no_broker(self, monkeypatch):
        monkeypatch.setattr("telephony.provisioning.dispatch.dispatch", lambda *args, **kwargs: 0)

    def test_takes_the_oldest_job_that_may_run_and_passes_over_one_held_back(self, world):
        ProvisioningJob.objects.update(status=JobStatus.SUCCEEDED)  # the tenant and the entity
        first = pbx_user_create(actor=world.actor, user=world.user(2000))
        first.last_name = "Later"
        pbx_user_update(actor=world.actor, user=first)
        pbx_user_create(actor=world.actor, user=world.user(2001))
        create, update, other = ProvisioningJob.objects.filter(operation__startswith="user.").order_by("id")

        job, attempt = drain.claim_next(world.server.pk)
        assert (job.pk, job.status, attempt.number) == (create.pk, JobStatus.RUNNING, 1)
        job, _ = drain.claim_next(world.server.pk)
        assert job.pk == other.pk, "the update waits for its create: the next user's job goes first"
        assert ProvisioningJob.objects.get(pk=update.pk).status == JobStatus.PENDING

    def test_passes_over_a_job_whose_dependency_has_not_finished(self, world):
        # the world's tenant and entity jobs are still pending: the users wait for them
        ProvisioningJob.objects.filter(operation="tenant.create").update(status=JobStatus.SUCCEEDED)
        pbx_user_create(actor=world.actor, user=world.user(2000))
        entity_job = ProvisioningJob.objects.get(operation="entity.upsert")
        job, _ = drain.claim_next(world.server.pk)
        assert job.pk == entity_job.pk and job.first_try
        assert drain.claim_next(world.server.pk) == drain.IDLE, "the user waits for its entity"
        ProvisioningJob.objects.filter(pk=entity_job.pk).update(status=JobStatus.SUCCEEDED)
        job, _ = drain.claim_next(world.server.pk)
        assert (job.operation, job.first_try) == ("user.create", True)

    def test_is_busy_when_the_servers_slots_are_taken_and_idle_when_nothing_is_due(self, world, settings):
        settings.PROVISIONING_SERVER_CONCURRENCY = 1
        ProvisioningJob.objects.update(status=JobStatus.SUCCEEDED)
        pbx_user_create(actor=world.actor, user=world.user(2000))
        pbx_user_create(actor=world.actor, user=world.user(2001))
        drain.claim_next(world.server.pk)
        assert drain.claim_next(world.server.pk) == drain.BUSY
        ProvisioningJob.objects.filter(status=JobStatus.RUNNING).update(status=JobStatus.SUCCEEDED)
        ProvisioningJob.objects.filter(status=JobStatus.PENDING).update(
            next_attempt_at=timezone.now() + timedelta(minutes=5)
        )
        assert drain.claim_next(world.server.pk) == drain.IDLE, "a job waiting for its retry is not due"

    def test_a_busy_server_is_asked_again_a_moment_later_before_the_drain_goes_back_to_the_broker(
        self, world, monkeypatch
    ):
        answers = iter([drain.BUSY, drain.BUSY, drain.IDLE])
        monkeypatch.setattr(drain, "claim_next", lambda server_id: next(answers))
        monkeypatch.setattr(drain.time, "sleep", lambda seconds: None)
        sent = []
        monkeypatch.setattr(drain, "send_drains", lambda *args, **kwargs: sent.append(kwargs))
        assert drain.drain_server(world.server.pk).startswith("drained after 0 jobs")
        assert sent == [], "a slot freed within the moment: no drain went back to the broker"

        monkeypatch.setattr(drain, "claim_next", lambda server_id: drain.BUSY)
        assert drain.drain_server(world.server.pk) == "server busy after 0 jobs"
        assert [kwargs["countdown"] > 0 for kwargs in sent] == [True], "still busy: it comes back later"

    def test_due_jobs_another_transaction_holds_for_a_moment_are_busy_not_an_empty_queue(self, world):
        if not connection.features.has_select_for_update_skip_locked:
            pytest.skip("SQLite has no row locks: its claims are serialised whole")
        ProvisioningJob.objects.update(status=JobStatus.SUCCEEDED)
        pbx_user_create(actor=world.actor, user=world.user(2000))
        held, release = threading.Event(), threading.Event()

        def hold_the_rows():  # on a connection of its own, as another worker's transaction
            try:
                with transaction.atomic():
                    ProvisioningJob.objects.filter(status=JobStatus.PENDING).update(dispatched_at=timezone.now())
                    held.set()
                    release.wait(30)
            finally:
                connection.close()

        holder = threading.Thread(target=hold_the_rows)
        holder.start()
        try:
            assert held.wait(30)
            assert drain.claim_next(world.server.pk) == drain.BUSY, "not IDLE: the job waits for no sweep"
        finally:
            release.set()
            holder.join(30)
        job, _ = drain.claim_next(world.server.pk)
        assert job.operation == "user.create"

    def test_leaves_a_job_parked_behind_a_failed_one(self, world):
        ProvisioningJob.objects.update(status=JobStatus.SUCCEEDED)
        pbx_user_create(actor=world.actor, user=world.user(2000))
        ProvisioningJob.objects.filter(status=JobStatus.PENDING).update(waiting_for=WaitState.FAILED)
        assert drain.claim_next(world.server.pk) == drain.IDLE

    def test_renews_the_dispatch_marks_of_the_servers_pending_jobs(self, world):
        ProvisioningJob.objects.update(status=JobStatus.SUCCEEDED)
        pbx_user_create(actor=world.actor, user=world.user(2000))
        long_ago = timezone.now() - timedelta(hours=1)
        ProvisioningJob.objects.filter(status=JobStatus.PENDING).update(dispatched_at=long_ago)
        assert drain.renew_dispatch_marks(world.server.pk) == 1
        assert ProvisioningJob.objects.get(status=JobStatus.PENDING).dispatched_at > long_ago
