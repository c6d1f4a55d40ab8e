"""Handing job ids to Celery. A failed hand-over loses nothing: the job stays pending in the
database and the periodic sweep hands it over again."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from telephony import queue
from telephony.models import JobStatus, ProvisioningJob
from telephony.provisioning.job_statements import waiting_for

logger = logging.getLogger("telephony.provisioning")

UPDATE_CHUNK = 500
DRAIN_AT_LEAST = 8  # jobs of one server dispatched at once that go out as drains instead


_planned = threading.local()  # the ids planned on this thread since its last commit


def dispatch_on_commit(job_ids: list[int]) -> None:
    """Dispatch the jobs once the surrounding transaction commits (never before: a worker must
    find the rows). Every job planned in one transaction goes out in one hand-over (one UPDATE),
    however many services planned them: a thousand changes in one transaction otherwise make a
    thousand write transactions right when the workers start claiming.

    Each call registers its own callback (a savepoint rolled back drops only its own); the first
    callback that runs at the commit hands over every id planned so far, the others find nothing
    left. Ids of jobs that were rolled back are dropped then: they name no pending job."""
    if not transaction.get_connection().in_atomic_block:
        dispatch(job_ids)  # what on_commit would do at once
        return
    if not hasattr(_planned, "ids"):
        _planned.ids = []
    _planned.ids.extend(job_ids)
    transaction.on_commit(_hand_over_planned)


def _hand_over_planned() -> None:
    # ids of a transaction that rolled back may linger until this commit, and name a job of this
    # one where the database gave the id again: each id is handed over once, if it is pending
    planned, _planned.ids = sorted(set(getattr(_planned, "ids", []))), []
    if not planned:
        return
    committed = []
    for start in range(0, len(planned), UPDATE_CHUNK):
        chunk = planned[start : start + UPDATE_CHUNK]
        committed += ProvisioningJob.objects.filter(pk__in=chunk, status=JobStatus.PENDING).values_list("pk", flat=True)
    dispatch(sorted(committed))


def dispatch(job_ids: Iterable[int], *, countdown: float = 0.0) -> int:
    """Send each job to the broker; returns how many were handed over. Broker errors are logged,
    not raised: the caller's change is already committed and the sweep will retry the hand-over.

    Many jobs of one server at once go out as drains of that server (`drain`): as many as it has
    slots, each running the server's due jobs one after another."""
    job_ids = list(job_ids)
    if countdown or len(job_ids) < DRAIN_AT_LEAST:
        return _send_each(job_ids, countdown)
    by_server: dict[int | None, list[int]] = {}
    for start in range(0, len(job_ids), UPDATE_CHUNK):
        chunk = job_ids[start : start + UPDATE_CHUNK]
        for job_id, server_id in ProvisioningJob.objects.filter(pk__in=chunk).values_list("pk", "server_id"):
            by_server.setdefault(server_id, []).append(job_id)
    single = sorted(i for server, ids in by_server.items() if server is None or len(ids) < DRAIN_AT_LEAST for i in ids)
    handed = _send_each(single, 0.0) if single else 0
    for server_id, ids in by_server.items():
        if server_id is None or len(ids) < DRAIN_AT_LEAST:
            continue
        # Marked before the drains go out: a drain claims with SKIP LOCKED, and would pass over
        # the rows this UPDATE still held, end as if the queue were empty, and leave them to the
        # sweep's redispatch, minutes later (seen with PostgreSQL and Redis).
        _mark_dispatched(ids)
        if send_drains(server_id):
            handed += len(ids)
        else:
            _mark_dispatched(ids, handed_over=False)  # not handed over: the sweep's next pass sends them
    return handed


def send_drains(server_id: int, count: int | None = None, *, countdown: float = 0.0) -> bool:
    """Send drains of a server (by default, one per slot); False if the broker refused."""
    try:
        for _ in range(count or settings.PROVISIONING_SERVER_CONCURRENCY):
            queue.send(queue.DRAIN_SERVER, server_id, countdown=countdown or None)
    except Exception as exc:  # the broker is unreachable: the sweep dispatches later
        logger.warning("could not send a drain of server %s: %s", server_id, exc)
        return False
    return True


def _mark_dispatched(job_ids: list[int], *, handed_over: bool = True) -> None:
    """Note that the jobs were handed over just now (`handed_over=False`: they were not, after all)."""
    when = timezone.now() if handed_over else None
    for start in range(0, len(job_ids), UPDATE_CHUNK):  # within every database's limit on parameters
        ProvisioningJob.objects.filter(pk__in=job_ids[start : start + UPDATE_CHUNK]).update(dispatched_at=when)


def _send_each(job_ids: list[int], countdown: float) -> int:
    sent = []
    for job_id in job_ids:
        try:
            queue.send(queue.RUN_JOB, job_id, countdown=countdown or None)
        except Exception as exc:  # the broker is unreachable: the sweep dispatches later
            logger.warning("could not dispatch provisioning job %s: %s", job_id, exc)
            break
        sent.append(job_id)
    _mark_dispatched(sent)
    return len(sent)


def dispatch_later(job_id: int, seconds: float) -> None:
    """Re-send a job after a delay, with a little jitter so that waiting jobs do not move in step."""
    dispatch([job_id], countdown=max(0.05, seconds * random.uniform(0.8, 1.2)))  # noqa: S311


WAKE_LIMIT = 1000  # waiting jobs woken by one finished job; the rest keep their timer


def jobs_waiting_for(job) -> list[int]:
    """The jobs held back by this one that are due now: the next job of the same target, and the
    first job of every target that waits for this one (the users of a new entity, the numbers of
    a new user). They are dispatched when it finishes or is cancelled, instead of on their timer."""
    waiting = waiting_for(job.target_key, job.id, timezone.now(), limit=WAKE_LIMIT)
    first_of_each_target: dict[str, int] = {}
    for job_id, target in waiting:
        first_of_each_target.setdefault(target, job_id)
    return sorted(first_of_each_target.values())
