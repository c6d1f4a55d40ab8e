"""Real Celery worker processes for the provisioning tests.

A worker is `python -m celery -A portal worker --pool threads` started as a subprocess on the test
session's own database (the SQLite test database is a file, see tests/settings.py; PostgreSQL test
databases are visible anyway), the same broker as this process (the per-session filesystem broker,
or CELERY_BROKER_URL, e.g. Redis in CI) and a per-session queue. The XCU simulator is served in this
process over loopback HTTP, and a Platform row points at it.

Tests use `transactional_db`: the worker only sees what this process has committed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from portal.celery import app as celery_app
from telephony.models import Entity, LineTemplate, PbxUser, Platform, ProvisioningJob, Server, Tenant
from telephony.sandbox.xcu import XcuSimulator
from telephony.services.templates import line_template_create
from telephony.services.tenants import entity_create, tenant_create
from tenants.models import OrganizationKind
from tests.factories import OrganizationFactory, PlatformFactory, ServerFactory, UserFactory
from tests.telephony.provisioning import workers as workers_module
from tests.telephony.provisioning.workers import Worker, purge_queue

XIVO_220 = {"name": "xivo-220", "xcu_id": 1, "uuid": "8f159082-4b25-48b3-afec-1873491a60be"}

# What every test worker runs with: short leases, sweeps and backoffs so that recovery happens within
# a test. The lease stays above the longest a job can legitimately run (a few calls, 1 s timeout each).
WORKER_DEFAULTS = {
    "PROVISIONING_LEASE_SECONDS": "6",
    "PROVISIONING_SWEEP_INTERVAL_SECONDS": "1",
    "PROVISIONING_REDISPATCH_AFTER_SECONDS": "6",
    "PROVISIONING_BACKOFF_BASE_SECONDS": "0.05",
    "PROVISIONING_BACKOFF_MAX_SECONDS": "0.5",
    "PROVISIONING_SERVER_CONCURRENCY": "4",
}


def service_missing(message: str) -> None:
    """In CI a missing service is a failure (the suite must run there); elsewhere a skip."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def broker_available():
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
    except Exception as exc:
        service_missing(f"the Celery broker {celery_app.conf.broker_url} is unreachable: {exc}")


@pytest.fixture
def broker(broker_available):
    """This session's queue, empty at the start and at the end of the test."""
    purge_queue()
    yield
    purge_queue()


@pytest.fixture
def start_worker(transactional_db, broker, tmp_path):
    """start_worker(concurrency=4, beat=True, **settings) → a ready Worker. Stopped at teardown,
    before the test database is flushed."""
    workers: list[Worker] = []

    def _start(concurrency: int = 4, beat: bool = True, **overrides: Any) -> Worker:
        env = {**WORKER_DEFAULTS, **{key: str(value) for key, value in overrides.items()}}
        name = f"w{len(workers) + 1}-{os.getpid()}"
        worker = workers_module.start_worker(name, tmp_path, concurrency=concurrency, beat=beat, env=env)
        workers.append(worker)
        return worker

    yield _start
    for worker in workers:
        worker.stop()
    for worker in workers:  # shown only when the test failed
        print(f"----- log of worker {worker.name} (last lines)\n" + "\n".join(worker.log().splitlines()[-60:]))


@contextlib.contextmanager
def broker_unreachable():
    """Point this process's Celery app at a closed port (the worker keeps its own connection).

    Sends go to `broker_write_url`, which Celery reads before `broker_url`; `broker_url` itself
    would not do: the CELERY_BROKER_URL variable of a CI run overrides it. The app's pools are set
    aside untouched and put back afterwards, so that no later test depends on this one."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    conf = celery_app.conf
    saved = conf.get("broker_write_url"), conf.broker_transport, celery_app._pool, celery_app.amqp._producer_pool
    conf.broker_write_url, conf.broker_transport = f"redis://127.0.0.1:{closed_port}/0", None
    celery_app._pool = celery_app.amqp._producer_pool = None  # the next ones connect to the closed port
    try:
        yield
    finally:
        for pool in (celery_app.amqp._producer_pool, celery_app._pool):
            if pool is not None:
                with contextlib.suppress(Exception):
                    pool.force_close_all()
        conf.broker_write_url, conf.broker_transport, celery_app._pool, celery_app.amqp._producer_pool = saved


# --- the simulator and the portal's side of it ------------------------------------------------------


class CountingXcuSimulator(XcuSimulator):
    """The XCU simulator that also counts the API requests in progress and remembers the most at
    once (the count drops before the answer is written, so it never overlaps the client's next call)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.in_flight = 0
        self.most_in_flight = 0
        self.counter_lock = threading.Lock()
        self.gate = threading.Event()  # cleared: every API request waits (a test holds calls in flight)
        self.gate.set()
        self.held = 0

    def dispatch(self, request):
        if request.path.startswith("/_sandbox/"):
            return super().dispatch(request)
        if not self.gate.is_set():
            with self.counter_lock:
                self.held += 1
            self.gate.wait(timeout=120)
            with self.counter_lock:
                self.held -= 1
        with self.counter_lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return super().dispatch(request)
        finally:
            with self.counter_lock:
                self.in_flight -= 1


@dataclass
class World:
    actor: Any
    sim: CountingXcuSimulator
    platform: Platform
    server: Server
    tenant: Tenant
    entity: Entity
    template: LineTemplate

    def user(self, number: int | str, **fields: Any) -> PbxUser:
        values = {"username": f"u{number}", "first_name": "Ada", "last_name": f"Lovelace {number}"}
        values.update(fields)
        return PbxUser(
            tenant=self.tenant, entity=self.entity, template=self.template, internal_number=str(number), **values
        )

    def sim_users(self) -> list[dict]:
        """The users the simulator holds in our entity."""
        entity_id = next(e["id"] for e in self.sim.snapshot()["entities"] if e["name"] == self.entity.name)
        return [u for u in self.sim.snapshot()["users"] if u["entityId"] == entity_id]


@pytest.fixture
def xcu(serve):
    return serve(CountingXcuSimulator())


@pytest.fixture
def world(transactional_db, broker, xcu) -> World:
    """A customer tenant on the XCU's xivo-220 with an entity (2000–2999) and a line template, made
    through the services: their jobs (tenant.create, entity.upsert) run first on the worker."""
    distributor = OrganizationFactory(name="Distributor", kind=OrganizationKind.DISTRIBUTOR)
    customer = OrganizationFactory(name="Customer", kind=OrganizationKind.CUSTOMER, parent=distributor)
    actor = UserFactory(username="root", is_superuser=True)
    platform = PlatformFactory(
        organization=distributor,
        kind="xcu",
        base_url=xcu.base_url + "/api/1.0/",
        username="admin",
        secret="superpass",
        timeout_seconds=1,
    )
    server = ServerFactory(
        platform=platform,
        name=XIVO_220["name"],
        backend_ref={"xcu_id": XIVO_220["xcu_id"], "xcu_uuid": XIVO_220["uuid"]},
    )
    tenant = tenant_create(actor=actor, tenant=Tenant(organization=customer, server=server, name="acme", licences=1000))
    entity = entity_create(
        actor=actor, entity=Entity(tenant=tenant, name="acme", display_name="Acme"), intervals=[("2000", "2999")]
    )
    template = line_template_create(actor=actor, template=LineTemplate(organization=distributor, name="Standard"))
    return World(actor, xcu.simulator, platform, server, tenant, entity, template)


def job_statuses() -> dict[str, int]:
    """How many jobs are in each status."""
    counts: dict[str, int] = {}
    for status in ProvisioningJob.objects.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts
