"""How close does the provisioning engine come to what the backend allows?

1,000 PBX user creations, committed in one transaction (as a bulk import does), pushed by a real
Celery worker process to the XCU simulator (served in this process), which answers every API call
after 50 ms. At most C jobs run at once on one server (PROVISIONING_SERVER_CONCURRENCY, default 4;
the worker runs C processes), so no engine can beat

    bound = backend calls × latency ÷ C

counting the calls the simulator actually received. Prints the achieved throughput against that
bound and the overhead per job (a slot's time per job beyond its calls' latency), split into what
the calls cost beyond their latency (the sandbox's HTTP server and simulator, the driver's parsing:
not the engine) and the engine's own time inside and between jobs; then the best fraction any
engine could reach against this sandbox. Target: at least 0.8 of the bound.

Runs on a fresh database of its own (Django's test database machinery) with a per-run queue:
SQLite and the filesystem broker by default; DATABASE_URL and CELERY_BROKER_URL are honoured. The
worker uses Celery's default prefork pool, as `celery -A portal worker` does in production.

    .venv/bin/python benchmarks/provisioning.py [--jobs 1000] [--latency-ms 50] [--limit 4]
                                                [--concurrency C] [--pool prefork|threads]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_NUMBER = 100000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--limit", type=int, default=4, help="per-server concurrency limit C")
    parser.add_argument("--concurrency", type=int, default=None, help="worker processes or threads (default: C)")
    parser.add_argument("--pool", default="prefork", help="Celery worker pool: prefork (its default) or threads")
    args = parser.parse_args()
    args.concurrency = max(args.concurrency or args.limit, args.limit)
    return args


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ["PROVISIONING_SERVER_CONCURRENCY"] = str(args.limit)
    from benchmarks.support.database import fresh_database

    with fresh_database():
        run(args)


def run(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import Max
    from django.utils import timezone

    from telephony.models import JobAttempt, JobStatus, ProvisioningJob
    from telephony.sandbox.server import serve_in_thread
    from telephony.sandbox.xcu import XcuSimulator
    from telephony.services.users import pbx_user_create
    from tests.telephony.provisioning.workers import purge_queue, start_worker, wait_until

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per API call otherwise
    simulator = timed_simulator(XcuSimulator)()
    served = serve_in_thread(simulator)
    with simulator.lock:  # room for every line on xivo-220
        simulator.state["xivos"][0]["remainingSlots"] = args.jobs + 100
    purge_queue()
    world = make_world(served.base_url, args.jobs)
    log_dir = Path(os.environ["PORTAL_TEST_RUN_DIR"])  # removed when the run ends (tests/settings.py)
    worker = start_worker("bench", log_dir, concurrency=args.concurrency, pool=args.pool)
    try:
        wait_until(lambda: not ProvisioningJob.objects.exclude(status=JobStatus.SUCCEEDED).exists(), 60, "set-up")
        simulator.set_faults({"latency_ms": args.latency_ms})
        with simulator.lock:
            simulator.api_calls = 0
            simulator.busy_seconds = 0.0

        started = {}
        with transaction.atomic():
            transaction.on_commit(lambda: started.setdefault("at", timezone.now()))  # runs before the dispatch
            for offset in range(args.jobs):
                pbx_user_create(actor=world["actor"], user=world["user"](FIRST_NUMBER + offset))
        handed_over = (timezone.now() - started["at"]).total_seconds()
        jobs = ProvisioningJob.objects.filter(operation="user.create")
        wait_until(
            lambda: not jobs.filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING)).exists(),
            timeout=args.jobs * 6 * args.latency_ms / 1000 + 600,
            message="every job has finished",
            interval=0.25,
        )
        finished = jobs.aggregate(last=Max("finished_at"))["last"]
        calls = simulator.api_calls
        simulator_work = simulator.busy_seconds - calls * args.latency_ms / 1000
    finally:
        worker.stop()
        worker_log = worker.log()
        purge_queue()
        served.stop()
        if sys.exc_info()[0] is not None:
            print("\n".join(worker_log.splitlines()[-40:]), file=sys.stderr)

    succeeded = jobs.filter(status=JobStatus.SUCCEEDED).count()
    numbers = [u["internalNumber"] for u in simulator.snapshot()["users"] if int(u["internalNumber"]) >= FIRST_NUMBER]
    if succeeded != args.jobs or len(numbers) != args.jobs or len(set(numbers)) != args.jobs:
        print("\n".join(worker_log.splitlines()[-40:]), file=sys.stderr)
        sys.exit(f"FAILED: {succeeded} jobs succeeded, {len(numbers)} users on the XCU ({len(set(numbers))} distinct)")
    attempts = list(
        JobAttempt.objects.filter(job__operation="user.create").values_list("started_at", "finished_at", "exchanges")
    )
    report(
        args,
        setting=f"{connection.vendor} / {settings.CELERY_BROKER_URL.split(':')[0]} / {args.pool} pool",
        elapsed=(finished - started["at"]).total_seconds(),
        calls=calls,
        attempts=len(attempts),
        in_jobs=sum((end - begin).total_seconds() for begin, end, _ in attempts),
        calls_seen=sum(e["duration_ms"] / 1000 for _, _, exchanges in attempts for e in exchanges),
        simulator_work=simulator_work,
        runs=claim_outcomes(worker_log),
        handed_over=handed_over,
    )


def report(args, *, setting, elapsed, calls, attempts, in_jobs, calls_seen, simulator_work, runs, handed_over) -> None:
    """Print the table and the RESULT line. Per-job figures are a slot's time per job (elapsed × C ÷ jobs)."""
    jobs, limit, latency = args.jobs, args.limit, args.latency_ms / 1000
    bound = calls * latency / limit
    slot = elapsed * limit / jobs
    backend = calls * latency / jobs
    overhead = slot - backend
    beyond_latency = calls_seen / jobs - backend
    engine_inside = in_jobs / jobs - calls_seen / jobs
    ms = "{:.1f} ms".format
    rows = [
        ("database / broker / worker pool", setting),
        ("jobs (user creations) / attempts", f"{jobs} / {attempts}"),
        ("backend calls received", f"{calls} ({calls / jobs:.2f} per job)"),
        ("latency per call", ms(args.latency_ms)),
        ("server limit C / worker concurrency", f"{limit} / {args.concurrency}"),
        ("bound: calls × latency ÷ C", f"{bound:.1f} s"),
        ("achieved: commit → last job finished", f"{elapsed:.1f} s"),
        ("  of which handing the jobs to the broker", f"{handed_over:.1f} s"),
        ("fraction of bound", f"{bound / elapsed:.3f}"),
        ("jobs per second (at the bound)", f"{jobs / elapsed:.2f} ({jobs / bound:.2f})"),
        ("a slot's time per job", ms(slot * 1000)),
        ("  backend latency", ms(backend * 1000)),
        ("  overhead", ms(overhead * 1000)),
        ("    calls beyond their latency (sandbox HTTP", ms(beyond_latency * 1000)),
        ("      server, simulator, driver parsing)", ""),
        ("      of which inside the simulator", ms(simulator_work / jobs * 1000)),
        ("    engine, inside the job (claim, database)", ms(engine_inside * 1000)),
        ("    engine, between jobs (finish, broker, idle)", ms((overhead - beyond_latency - engine_inside) * 1000)),
        (
            "a zero-cost engine against this sandbox",
            f"{calls_seen / limit:.1f} s, fraction {bound * limit / calls_seen:.3f}",
        ),
        ("  (calls as the driver saw them ÷ C)", ""),
        ("this engine reaches of that", f"{calls_seen / limit / elapsed:.3f}"),
        ("task runs by outcome", ", ".join(f"{k} {v}" for k, v in sorted(runs.items()))),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    result = (
        f"fraction_of_bound={bound / elapsed:.3f} jobs_per_s={jobs / elapsed:.2f} overhead_ms={overhead * 1000:.1f}"
    )
    print(f"RESULT {result}")


def timed_simulator(base: type) -> type:
    """The simulator, adding up the time its API calls take on its side (latency included)."""
    import time

    class Timed(base):
        busy_seconds = 0.0

        def dispatch(self, request):
            started = time.perf_counter()
            try:
                return super().dispatch(request)
            finally:
                if not request.path.startswith("/_sandbox/"):
                    with self.lock:
                        self.busy_seconds += time.perf_counter() - started

    return Timed


def make_world(base_url: str, jobs: int) -> dict:
    """A tenant on xivo-220 with one entity big enough for every user, made through the services."""
    from django.contrib.auth import get_user_model

    from telephony.models import Entity, LineTemplate, PbxUser, Platform, Server, Tenant
    from telephony.services.templates import line_template_create
    from telephony.services.tenants import entity_create, tenant_create
    from tenants.models import Organization, OrganizationKind

    actor = get_user_model().objects.create_superuser("bench", "bench@example.net", "bench-password")
    distributor = Organization.objects.add_root({"name": "Distributor", "kind": OrganizationKind.DISTRIBUTOR})
    customer = Organization.objects.add_child(distributor, {"name": "Customer", "kind": OrganizationKind.CUSTOMER})
    platform = Platform.objects.create(
        organization=distributor,
        name="XCU",
        kind="xcu",
        base_url=base_url + "/api/1.0/",
        username="admin",
        secret="superpass",
        timeout_seconds=10,
    )
    server = Server.objects.create(
        platform=platform,
        name="xivo-220",
        backend_ref={"xcu_id": 1, "xcu_uuid": "8f159082-4b25-48b3-afec-1873491a60be"},
    )
    tenant = tenant_create(actor=actor, tenant=Tenant(organization=customer, server=server, name="acme", licences=jobs))
    last = str(FIRST_NUMBER + jobs - 1)
    entity = entity_create(
        actor=actor, entity=Entity(tenant=tenant, name="acme"), intervals=[(str(FIRST_NUMBER), last)]
    )
    template = line_template_create(actor=actor, template=LineTemplate(organization=distributor, name="Standard"))

    def user(number: int) -> PbxUser:
        return PbxUser(
            tenant=tenant,
            entity=entity,
            template=template,
            username=f"u{number}",
            first_name="Ada",
            last_name=f"Lovelace {number}",
            internal_number=str(number),
        )

    return {"actor": actor, "user": user}


def claim_outcomes(log: str) -> dict[str, int]:
    """How the worker's task runs ended, from its log ('succeeded in …s: <outcome>')."""
    counts: dict[str, int] = {}
    for line in log.splitlines():
        if "run_provisioning_job" in line and " succeeded in " in line:
            outcome = line.rsplit(": ", 1)[-1].strip("'\"")
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


if __name__ == "__main__":
    main()
