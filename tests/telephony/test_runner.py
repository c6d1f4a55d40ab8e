"""The runner in-process against a served XCU simulator: outcomes, ordering, the server limit,
failures in the backend's words, and the sweep. (Real worker processes: tests/telephony/provisioning/.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from telephony.models import JobAttempt, JobStatus, PbxUser, ProvisioningJob, SyncState
from telephony.provisioning import runner, sweep
from telephony.sandbox.xcu import XcuSimulator
from telephony.services.jobs import job_cancel, job_retry
from telephony.services.users import pbx_user_assign_number, pbx_user_create, pbx_user_update
from tests.factories import PhoneNumberFactory
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(serve):
    return serve(XcuSimulator())


@pytest.fixture
def world(sim, tree):
    return xcu_world(sim.base_url + "/api/1.0/", tree.reseller, tree.customer)


def create_user(world, actor, number="1701", username="ada", **fields) -> PbxUser:
    return pbx_user_create(
        actor=actor,
        user=PbxUser(
            tenant=world.tenant,
            entity=world.entity,
            template=world.template,
            username=username,
            first_name=fields.pop("first_name", "Ada"),
            last_name="Lovelace",
            internal_number=number,
            **fields,
        ),
    )


def sim_users(sim) -> list[dict]:
    return [u for u in sim.simulator.snapshot()["users"] if u["internalNumber"].startswith("17")]


def test_a_job_reaches_the_backend_and_records_everything(world, sim, superuser):
    user = create_user(world, superuser)
    job = ProvisioningJob.objects.get()
    assert runner.run_job(job.pk) == "succeeded"
    job.refresh_from_db()
    user.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 1 and job.finished_at
    assert [u["firstName"] for u in sim_users(sim)] == ["Ada"]
    assert user.backend_ref["xcu_id"] == sim_users(sim)[0]["id"], "the backend identity is stored on the row"
    assert user.sync_state == SyncState.VERIFIED  # the push was read back
    assert world.template.mirrors.get(platform=world.platform).backend_ref, "the template went to the XCU first"
    attempt = JobAttempt.objects.get(job=job)
    assert attempt.outcome == "succeeded" and attempt.exchanges
    assert "superpass" not in str(attempt.exchanges), "the HTTP log never holds the password"
    from auditlog.models import LogEntry

    learnt = (
        LogEntry.objects.get_for_object(user)
        .filter(changes__has_key="backend_ref", action=LogEntry.Action.UPDATE)
        .get()
    )
    assert learnt.additional_data["via"] == f"job #{job.pk}", "the identity a job learnt is audited, by the job"


def test_running_a_job_twice_does_it_once(world, sim, superuser):
    create_user(world, superuser)
    job = ProvisioningJob.objects.get()
    assert runner.run_job(job.pk) == "succeeded"
    assert runner.run_job(job.pk) == "not pending"
    assert len(sim_users(sim)) == 1


def test_a_later_job_waits_for_the_earlier_one_of_its_target(world, sim, superuser):
    user = create_user(world, superuser)
    user.first_name = "Augusta"
    pbx_user_update(actor=superuser, user=user)
    create_job, update_job = ProvisioningJob.objects.order_by("id")
    assert runner.run_job(update_job.pk) == "waiting for an earlier job"
    assert runner.run_job(create_job.pk) == "succeeded"
    assert runner.run_job(update_job.pk) == "succeeded"
    assert [u["firstName"] for u in sim_users(sim)] == ["Augusta"]


def test_transient_errors_are_retried_later(world, sim, superuser):
    create_user(world, superuser)
    job = ProvisioningJob.objects.get()
    sim.simulator.set_faults({"error_rate": 1.0})
    assert runner.run_job(job.pk) == "retry"
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and job.next_attempt_at > timezone.now() - timedelta(seconds=1)
    assert "Retrying" in job.last_error
    assert JobAttempt.objects.get(job=job).outcome == "retry"
    sim.simulator.set_faults({"error_rate": 0.0})
    ProvisioningJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    assert runner.run_job(job.pk) == "succeeded"


def test_transient_errors_give_up_after_the_bound(world, sim, superuser):
    create_user(world, superuser)
    job = ProvisioningJob.objects.get()
    ProvisioningJob.objects.filter(pk=job.pk).update(max_attempts=1)
    sim.simulator.set_faults({"error_rate": 1.0})
    assert runner.run_job(job.pk) == "failed"
    assert "Gave up after 1 attempts" in ProvisioningJob.objects.get(pk=job.pk).last_error


def test_a_job_whose_last_attempt_was_lost_never_runs_past_its_maximum(world, sim, superuser):
    """A worker died on the last attempt (the sweep put the job back), or a re-login was granted
    on it: the job ends failed instead of counting a ninth attempt of eight."""
    create_user(world, superuser)
    job = ProvisioningJob.objects.get()
    ProvisioningJob.objects.filter(pk=job.pk).update(attempts=8, max_attempts=8, last_error="The worker stopped.")
    assert runner.run_job(job.pk) == "gave up"
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 8)
    assert job.last_error == "Gave up after 8 attempts: The worker stopped."
    assert not JobAttempt.objects.filter(job=job).exists()


def test_a_permanent_refusal_fails_with_the_backends_message(world, sim, superuser):
    user = create_user(world, superuser)
    entity = next(e for e in sim.simulator.state["entities"] if e["id"] == 17)
    entity["intervals"] = [{"start": "1800", "end": "1899"}]  # the PBX's plan no longer holds 1701
    job = ProvisioningJob.objects.get()
    assert runner.run_job(job.pk) == "failed"
    job.refresh_from_db()
    user.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_kind == "RejectedError"
    assert "1701" in job.last_error, "the message is the backend's own"
    assert user.sync_state == SyncState.FAILED and user.sync_message == job.last_error
    assert not sim_users(sim)


def test_a_failed_job_holds_back_the_next_until_retried_or_cancelled(world, sim, superuser):
    user = create_user(world, superuser)
    user.first_name = "Augusta"
    pbx_user_update(actor=superuser, user=user)
    create_job, update_job = ProvisioningJob.objects.order_by("id")
    ProvisioningJob.objects.filter(pk=create_job.pk).update(max_attempts=1)
    sim.simulator.set_faults({"error_rate": 1.0})
    assert runner.run_job(create_job.pk) == "failed"
    assert runner.run_job(update_job.pk) == "blocked by a failed job"
    assert "failed" in ProvisioningJob.objects.get(pk=update_job.pk).last_error
    sim.simulator.set_faults({"error_rate": 0.0})
    job_retry(actor=superuser, job=create_job)
    assert runner.run_job(create_job.pk) == "succeeded"
    assert runner.run_job(update_job.pk) == "succeeded"
    cancelled = ProvisioningJob.objects.get(pk=create_job.pk)
    with pytest.raises(Exception, match="only failed or cancelled"):
        job_retry(actor=superuser, job=cancelled)


def test_cancel_gives_up_a_waiting_job(world, superuser):
    create_user(world, superuser)
    job = job_cancel(actor=superuser, job=ProvisioningJob.objects.get())
    assert job.status == JobStatus.CANCELLED
    assert runner.run_job(job.pk) == "not pending"


def test_cancelling_a_failed_job_releases_the_jobs_of_other_targets_waiting_for_it(world, sim, superuser, monkeypatch):
    user = create_user(world, superuser)
    number = PhoneNumberFactory(organization=world.tenant.organization, tenant=world.tenant)
    pbx_user_assign_number(actor=superuser, user=user, number=number)
    create_job, assign_job = ProvisioningJob.objects.order_by("id")
    assert assign_job.operation == "number.assign" and assign_job.target_key != create_job.target_key
    ProvisioningJob.objects.filter(pk=create_job.pk).update(max_attempts=1)
    sim.simulator.set_faults({"error_rate": 1.0})
    assert runner.run_job(create_job.pk) == "failed"
    assert runner.run_job(assign_job.pk) == "blocked by a failed job"
    handed_over = []  # what goes to the broker when the cancellation commits (the broker is not the point)
    monkeypatch.setattr("telephony.services.jobs.dispatch_on_commit", handed_over.extend)

    job_cancel(actor=superuser, job=create_job)
    assert handed_over == [assign_job.pk], "the number's job is handed to a worker at once, not left to the sweep"


def test_the_server_limit_holds(world, sim, superuser, settings):
    settings.PROVISIONING_SERVER_CONCURRENCY = 1
    create_user(world, superuser, number="1701", username="one")
    create_user(world, superuser, number="1702", username="two")
    first, second = ProvisioningJob.objects.order_by("id")
    ProvisioningJob.objects.filter(pk=first.pk).update(
        status=JobStatus.RUNNING, lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    assert runner.run_job(second.pk) == "server busy"
    ProvisioningJob.objects.filter(pk=first.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert runner.run_job(second.pk) == "succeeded", "an expired lease no longer holds a slot"


def test_the_sweep_recovers_a_dead_workers_job_and_lost_messages(world, superuser):
    create_user(world, superuser, number="1701", username="one")
    create_user(world, superuser, number="1702", username="two")
    running, lost = ProvisioningJob.objects.order_by("id")
    ProvisioningJob.objects.filter(pk=running.pk).update(
        status=JobStatus.RUNNING, attempts=1, lease_expires_at=timezone.now() - timedelta(seconds=5)
    )
    JobAttempt.objects.create(job=running, number=1, started_at=timezone.now(), outcome="running")
    ProvisioningJob.objects.filter(pk=lost.pk).update(dispatched_at=None)
    result = sweep.sweep()
    assert result["recovered"] == 1 and result["due"] == 2
    running.refresh_from_db()
    assert running.status == JobStatus.PENDING
    assert JobAttempt.objects.get(job=running).outcome == "lost"
    assert ProvisioningJob.objects.get(pk=lost.pk).dispatched_at is not None
