"""Celery worker processes on the current (test) database, for the worker tests and the benchmark.

A worker is `python -m celery -A portal worker --pool threads` in its own process group (so that
SIGKILL takes its embedded beat along), with DJANGO_SETTINGS_MODULE=tests.settings, DATABASE_URL
pointing at the database this process uses, and the broker, queue and run directory this process
uses (inherited through the environment, see tests/settings.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from portal.celery import app as celery_app

REPO = Path(__file__).resolve().parents[3]
READY_TIMEOUT = 90.0


def wait_until(predicate: Callable[[], Any], timeout: float = 60.0, message: str = "", interval: float = 0.2) -> Any:
    """Poll `predicate` (usually a database query) until it is truthy; its value is returned. The
    timeout only guards against a hang: nothing asserts on how long anything took."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting until {message or predicate}")
        time.sleep(interval)


def database_url() -> str:
    """DATABASE_URL of the database this process is connected to (the test database in a test)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        name = str(db["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError("the SQLite database must be a file for a worker process to see it")
        return f"sqlite:///{name}"
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgresql://{auth}@{host}:{port}/{db['NAME']}"


def purge_queue() -> None:
    """Drop every message left in this run's queue (by a stopped worker or an earlier test): job
    ids restart after a flush, so an old message must never reach a new test's job."""
    # a queue that was never declared has nothing to purge
    with celery_app.connection_for_write() as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)


@dataclass
class Worker:
    """One Celery worker process."""

    name: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Until the worker logs that it is ready (it then consumes from the queue)."""
        deadline = time.monotonic() + timeout
        while " ready." not in self.log():
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker {self.name} did not get ready:\n{self.log()[-4000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the worker and everything it started, as a crash of its machine would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Tests and the benchmark throw the worker away: what it held is purged with the queue."""
        self.kill()


def start_worker(
    name: str,
    log_dir: Path,
    *,
    concurrency: int = 4,
    beat: bool = True,
    pool: str = "threads",
    env: dict[str, str] | None = None,
) -> Worker:
    """Start a worker and return it once it is ready."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BEAT_SCHEDULE_FILENAME": str(log_dir / f"{name}-beat"),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    args = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", pool]
    args += ["-c", str(concurrency), "-n", f"{name}@%h", "--loglevel", "INFO"]
    args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    if beat:
        args.append("--beat")
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(name=name, process=process, log_path=log_path)
    try:
        worker.wait_ready()
    except BaseException:
        worker.kill()
        raise
    return worker
