"""Statements the engine makes for every job, written out: how many slots a server's jobs and
scans hold, which of its due jobs may run next, which jobs a finished one was holding back, and
the claim of what a first try made.

They run for every job a worker takes, and the ORM spent more processor time composing them
(queries with correlated subqueries and a union) than the database spent answering: 40% of the
engine's time per job, measured. The statements are constants built once from the models' table
and column names; every value is a parameter.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from telephony.models import (
    BackendClaim,
    DriftScan,
    JobDependency,
    JobStatus,
    ProvisioningJob,
    ScanStatus,
    Server,
    WaitState,
)

_JOB = ProvisioningJob._meta.db_table
_DEPENDENCY = JobDependency._meta.db_table
_SCAN = DriftScan._meta.db_table
_SERVER = Server._meta.db_table
_CLAIM = BackendClaim._meta.db_table
_UNFINISHED = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.FAILED)

SLOTS_TAKEN = f"""
SELECT (SELECT COUNT(*) FROM {_JOB} j
         WHERE j.server_id = s.id AND j.status = %s AND j.lease_expires_at > %s)
     + (SELECT COALESCE(SUM(d.readers), 0) FROM {_SCAN} d
         WHERE d.server_id = s.id AND d.status = %s AND d.started_at > %s)
FROM {_SERVER} s WHERE s.id = %s"""  # noqa: S608  (constant names; values are parameters)

LOCK_SERVER = f"SELECT id FROM {_SERVER} WHERE id = %s FOR UPDATE"  # noqa: S608  (a constant name)

# The oldest due job of the server that no earlier unfinished job holds back (its own target's, or a
# target it depends on: what `runner.earlier_unfinished` asks of one job), and whether any job of
# its target came before it (its first try, when it has had no attempt).
NEXT_DUE = f"""
SELECT j.id, EXISTS (SELECT 1 FROM {_JOB} e WHERE e.target_key = j.target_key AND e.id < j.id)
FROM {_JOB} j
WHERE j.server_id = %s AND j.status = %s AND j.waiting_for <> %s
  AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= %s)
  AND NOT EXISTS (SELECT 1 FROM {_JOB} e
                  WHERE e.target_key = j.target_key AND e.id < j.id AND e.status IN (%s, %s, %s))
  AND NOT EXISTS (SELECT 1 FROM {_DEPENDENCY} d JOIN {_JOB} e ON e.target_key = d.target_key
                  WHERE d.job_id = j.id AND e.id < j.id AND e.status IN (%s, %s, %s))
ORDER BY j.id
LIMIT 1"""  # noqa: S608  (constant names; values are parameters)


# The jobs due now that wait for a finished one: the next jobs of its target and the jobs that depend
# on its target, each part on its own index (job_target_order, job_dependency_target).
WAITING_FOR = f"""
SELECT j.id, j.target_key FROM {_JOB} j
WHERE j.target_key = %s AND j.status = %s AND j.id > %s AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= %s)
UNION
SELECT j.id, j.target_key FROM {_JOB} j JOIN {_DEPENDENCY} d ON d.job_id = j.id
WHERE d.target_key = %s AND j.status = %s AND j.id > %s AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= %s)
ORDER BY 1
LIMIT %s"""  # noqa: S608  (constant names; values are parameters)

# A target's unfinished jobs, oldest first (on job_target_order): what its sync state is made of.
UNFINISHED_OF = f"""
SELECT status, last_error, waiting_for FROM {_JOB}
WHERE target_key = %s AND status IN (%s, %s, %s) ORDER BY id"""  # noqa: S608  (constant names; values are parameters)

# The row's earlier claim of that kind (its object gone from the PBX and made again) goes; the new
# one is inserted (the unique (platform, kind, key) refuses it when another row holds the key).
DROP_CLAIM = f"""
DELETE FROM {_CLAIM} WHERE platform_id = %s AND kind = %s AND target_type_id = %s AND target_id = %s"""  # noqa: S608
INSERT_CLAIM = f"""
INSERT INTO {_CLAIM} (platform_id, kind, {connection.ops.quote_name("key")}, target_type_id, target_id, created_at)
VALUES (%s, %s, %s, %s, %s, %s)"""  # noqa: S608  (constant names; values are parameters)


def _at(moment: datetime):
    return connection.ops.adapt_datetimefield_value(moment)


def slots_taken(server_id: int, now: datetime, *, lock: bool = False) -> int:
    """The slots the server's live jobs and running scans hold; `lock`: with the server row locked
    until the transaction ends (a claim's serialisation across workers)."""
    alive = now - timedelta(seconds=settings.DRIFT_SCAN_STALE_SECONDS)
    with connection.cursor() as cursor:
        if lock:
            # The lock first, in a statement of its own: a statement that waited for a row lock still
            # counts with the snapshot it began with (PostgreSQL's read committed), and would miss
            # the job the claim it waited for has just started.
            cursor.execute(LOCK_SERVER, [server_id])
        cursor.execute(SLOTS_TAKEN, [JobStatus.RUNNING, _at(now), ScanStatus.RUNNING, _at(alive), server_id])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def next_due(server_id: int, due_by: datetime, *, lock: bool = True) -> tuple[int, bool] | None:
    """The server's oldest due job that may run, with whether an earlier job of its target exists;
    locked (skipping what another claim locked) where the database can. `lock=False`: read only,
    locked rows included (is a due job there that another transaction holds?)."""
    statement = NEXT_DUE
    if lock and connection.features.has_select_for_update_skip_locked:
        statement += " FOR UPDATE OF j SKIP LOCKED"
    params = [server_id, JobStatus.PENDING, WaitState.FAILED, _at(due_by), *_UNFINISHED, *_UNFINISHED]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    return (row[0], bool(row[1])) if row else None


def waiting_for(target_key: str, after_id: int, now: datetime, *, limit: int) -> list[tuple[int, str]]:
    """Up to `limit` pending jobs due now (id, target) that come after job `after_id` and wait for
    its target: its own later jobs, and the jobs that depend on it."""
    part = [JobStatus.PENDING, after_id, _at(now)]
    with connection.cursor() as cursor:
        cursor.execute(WAITING_FOR, [target_key, *part, target_key, *part, limit])
        return list(cursor.fetchall())


def unfinished_of(target_key: str) -> list[tuple[str, str, str]]:
    """The target's pending, running and failed jobs, oldest first: (status, last error, waiting for)."""
    with connection.cursor() as cursor:
        cursor.execute(UNFINISHED_OF, [target_key, *_UNFINISHED])
        return list(cursor.fetchall())


def claim(platform_id: int, kind: str, key: str, target: tuple[int, int], now: datetime) -> None:
    """The row `target` (content type, id) holds the platform's object of this kind and key from
    now on, instead of whatever it held before; IntegrityError when another row holds the key."""
    with connection.cursor() as cursor:
        cursor.execute(DROP_CLAIM, [platform_id, kind, *target])
        cursor.execute(INSERT_CLAIM, [platform_id, kind, key, *target, _at(now)])
