"""A real Celery worker process pushes changes to the XCU simulator: through injected 5xx answers and
timeouts, expiring sessions, back-to-back changes of one user, and permanent refusals.

Every test asserts on outcomes (job rows, the simulator's state), never on how long anything took.
"""

from __future__ import annotations

import pytest

from telephony.models import JobAttempt, JobStatus, PbxUser, ProvisioningJob, SyncState
from telephony.services.users import pbx_user_create, pbx_user_delete, pbx_user_update
from tests.telephony.provisioning.conftest import job_statuses
from tests.telephony.provisioning.workers import wait_until

pytestmark = pytest.mark.slow

UNFINISHED = (JobStatus.PENDING, JobStatus.RUNNING)


def all_jobs_finished() -> bool:
    return ProvisioningJob.objects.exists() and not ProvisioningJob.objects.filter(status__in=UNFINISHED).exists()


def wait_for_all_jobs(timeout: float = 90.0) -> None:
    try:
        wait_until(all_jobs_finished, timeout=timeout, message="every job has finished")
    except AssertionError as gave_up:  # the statuses when it gave up, not when it began to wait
        failed = list(
            ProvisioningJob.objects.filter(status=JobStatus.FAILED).values_list("operation", "last_error")[:3]
        )
        raise AssertionError(f"{gave_up} (now {job_statuses()}; failed: {failed})") from None


def test_200_creations_through_injected_errors_and_timeouts_all_land_exactly_once(world, start_worker, settings):
    """20% of the API calls fail (10% answer 500, 10% hang past the platform's 1 s timeout).

    An XCU user create makes about six calls, so one attempt gets through only with probability
    0.8⁶ ≈ 0.26. With the default bound of 8 attempts about 9% of the jobs (0.74⁸) would give up,
    as they should; the bound is raised to 40 so that all 200 succeed unless the engine loses or
    mishandles retries (200 · 0.74⁴⁰ < 10⁻³).

    Each of the ~280 injected timeouts holds a slot for the whole 1 s timeout: the worker runs 8
    threads with a server limit of 8 (instead of 4 and 4) to halve the test's length."""
    settings.PROVISIONING_MAX_ATTEMPTS = 40  # read when the jobs are planned, in this process
    # ... and the world's tenant and entity jobs, planned before, under the same faults
    ProvisioningJob.objects.filter(status=JobStatus.PENDING).update(max_attempts=40)
    world.sim.set_faults({"error_rate": 0.1, "timeout_rate": 0.1, "hang_seconds": 1.5})
    start_worker(concurrency=8, PROVISIONING_SERVER_CONCURRENCY=8)
    for number in range(2000, 2200):
        pbx_user_create(actor=world.actor, user=world.user(number))

    wait_for_all_jobs(timeout=150)
    assert job_statuses() == {JobStatus.SUCCEEDED: 202}, "tenant, entity and 200 users"
    numbers = [user["internalNumber"] for user in world.sim_users()]
    assert sorted(numbers) == [str(n) for n in range(2000, 2200)], "exactly 200 users, none twice"
    assert JobAttempt.objects.filter(outcome="retry", error__contains="timed out").exists()
    assert JobAttempt.objects.filter(outcome="retry", error__contains="HTTP 500").exists()
    users = PbxUser.objects.all()
    # each push is read back; under faults a read may fail, leaving it pushed and not yet seen
    assert {user.sync_state for user in users} <= {SyncState.VERIFIED, SyncState.IN_SYNC}
    assert sorted(user.backend_ref["xcu_id"] for user in users) == sorted(u["id"] for u in world.sim_users())


def test_an_expiring_session_does_not_stop_the_run(world, start_worker):
    world.sim.set_faults({"session_expiry_calls": 4})
    start_worker()
    for number in range(2000, 2030):
        pbx_user_create(actor=world.actor, user=world.user(number))

    wait_for_all_jobs()
    assert job_statuses() == {JobStatus.SUCCEEDED: 32}
    assert len(world.sim_users()) == 30
    exchanges = [e for a in JobAttempt.objects.all() for e in a.exchanges]
    assert any(e["status"] == 401 for e in exchanges), "sessions did expire mid-run"
    assert sum(e["url"].endswith("/login") for e in exchanges) > 4, "and the worker logged in again"


def test_create_update_delete_back_to_back_end_in_the_right_state(world, start_worker):
    # a create is one call: at 300 ms the late user's update and delete surely arrive while it runs
    world.sim.set_faults({"latency_ms": 300})
    start_worker()
    # gone: all three at once (whether the create ran before the delete or was cancelled)
    gone = pbx_user_create(actor=world.actor, user=world.user(2000))
    gone.first_name = "Changed"
    pbx_user_update(actor=world.actor, user=gone)
    pbx_user_delete(actor=world.actor, user=gone)
    # kept: created, then changed twice
    kept = pbx_user_create(actor=world.actor, user=world.user(2001))
    kept.first_name, kept.email = "Augusta", "ada@example.net"
    pbx_user_update(actor=world.actor, user=kept)
    kept.last_name = "King"
    pbx_user_update(actor=world.actor, user=kept)
    # late: the update and the delete arrive while the create is running on the backend
    late = pbx_user_create(actor=world.actor, user=world.user(2002))
    wait_until(
        lambda: ProvisioningJob.objects.filter(target_key=f"pbxuser:{late.pk}", attempts__gt=0).exists(),
        message="the create of the late user has started",
    )
    late.first_name = "Late"
    pbx_user_update(actor=world.actor, user=late)
    pbx_user_delete(actor=world.actor, user=late)

    wait_for_all_jobs()
    assert set(job_statuses()) <= {JobStatus.SUCCEEDED, JobStatus.CANCELLED}
    late_jobs = ProvisioningJob.objects.filter(target_key=f"pbxuser:{late.pk}").order_by("id")
    assert [(job.operation, job.status) for job in late_jobs] == [
        ("user.create", JobStatus.SUCCEEDED),
        ("user.update", JobStatus.CANCELLED),  # the delete took over from the update still waiting
        ("user.delete", JobStatus.SUCCEEDED),
    ]
    [on_xcu] = world.sim_users()
    assert (on_xcu["internalNumber"], on_xcu["firstName"], on_xcu["lastName"], on_xcu["mail"]) == (
        "2001",
        "Augusta",
        "King",
        "ada@example.net",
    )
    assert PbxUser.objects.get().sync_state == SyncState.VERIFIED


def test_a_permanent_refusal_fails_the_job_with_the_backends_message(world, start_worker):
    with world.sim.lock:  # the XiVO has no line left: XCU refuses every new user
        next(x for x in world.sim.state["xivos"] if x["id"] == 1)["remainingSlots"] = 0
    start_worker()
    user = pbx_user_create(actor=world.actor, user=world.user(2000))

    wait_for_all_jobs()
    job = ProvisioningJob.objects.get(operation="user.create")
    assert job.status == JobStatus.FAILED and job.attempts == 1, "a refusal is not retried"
    assert job.last_error == "no remaining slot on XiVO xivo-220 (HTTP 400)", "in the backend's own words"
    user.refresh_from_db()
    assert (user.sync_state, user.sync_message) == (SyncState.FAILED, job.last_error)
    assert not world.sim_users()
