"""How close does the provisioning engine come to what the PBX physically allows?

N PBX user creations (default 1,000), committed in one transaction as a bulk import does, pushed by
a real Celery worker process to a simulator (served in this process) that answers every API call
after 50 ms. At most C jobs run at once on one server (PROVISIONING_SERVER_CONCURRENCY, default 4;
the worker runs C processes), so no engine can beat

    physical bound = N × the calls the vendor's documents require per creation × latency ÷ C

The time runs from the commit to the last user verified, seen on the PBX: a job's own read-back, or
for a drained bulk change the one scan that reads it back once the drains are done
(telephony/provisioning/verification.py), whose calls are counted with the rest; the time to the
last job finished is printed beside it.

The documented minimum per creation (PHYSICAL_CALLS) is stated with the sequence it comes from. The
report also keeps the bound against the calls the driver actually made, the calls per job by
endpoint, and the overhead per job (a slot's time per job beyond its calls' latency), split into
what the calls cost beyond their latency (the sandbox's HTTP server and simulator, the driver's
parsing: not the engine) and the engine's own time inside and between jobs.

`--workers 1,2,4` adds a table of throughput against the number of worker processes, the limit
raised with them (XCU, where one call per job leaves the engine the most to show).

Runs on a fresh database of its own (Django's test database machinery) with a per-run queue:
SQLite and the filesystem broker by default; DATABASE_URL and CELERY_BROKER_URL are honoured. The
worker uses Celery's default prefork pool, as `celery -A portal worker` does in production.

    .venv/bin/python benchmarks/provisioning.py [--platforms xcu,xelion,xc5] [--jobs 1000]
        [--latency-ms 50] [--limit 4] [--concurrency C] [--pool prefork|threads] [--workers 1,2,4]

Ends with `RESULT fraction_of_physical_bound=… overhead_ms=… calls_per_job=…`: the worst platform's
fraction and overhead, and the calls per job of each platform.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_NUMBER = 100000

# The fewest calls the seed documents need to create one user with its internal number, and why.
PHYSICAL_CALLS = {
    "xcu": (1, "POST users (xivo-xcu-rest-api: entityCId, templateId, names, internalNumber)"),
    "xelion": (
        3,
        "POST addressables (the Person), POST users (the UserProfile, whose answer holds its primary "
        "line), PATCH phonelines/<line> (the internal number): xelion-getting-started",
    ),
    "xc5": (
        2,
        "PUT account/<environment>/child, PUT account/<environment>/callrule (the extension): "
        "xc5-xs-system-provisioning",
    ),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platforms", default="xcu,xelion,xc5", help="comma-separated: xcu, xelion, xc5")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--limit", type=int, default=4, help="per-server concurrency limit C")
    parser.add_argument("--concurrency", type=int, default=None, help="worker processes or threads (default: C)")
    parser.add_argument("--pool", default="prefork", help="Celery worker pool: prefork (its default) or threads")
    parser.add_argument("--workers", default="", help="also XCU with 1, 2, 4 … processes, the limit raised with them")
    parser.add_argument(
        "--via-import",
        action="store_true",
        help="the users arrive as one CSV file through the import (upload, check, commit), timed from the upload",
    )
    args = parser.parse_args()
    args.platforms = [name.strip() for name in args.platforms.split(",") if name.strip()]
    unknown = set(args.platforms) - set(PHYSICAL_CALLS)
    if unknown:
        parser.error(f"unknown platform(s): {', '.join(sorted(unknown))}")
    args.workers = [int(n) for n in args.workers.split(",") if n.strip()]
    return args


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from benchmarks.support.database import fresh_database

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per API call otherwise
    results = []
    with fresh_database():
        for platform in args.platforms:
            concurrency = max(args.concurrency or args.limit, args.limit)
            results.append(run(args, platform, limit=args.limit, concurrency=concurrency))
        scaling = [run(args, "xcu", limit=n, concurrency=n) for n in args.workers]
    if scaling:
        print_scaling(scaling)
    worst = min(results, key=lambda r: r["physical_fraction"])
    per_platform = " ".join(
        f"{r['platform']}_fraction={r['physical_fraction']:.3f} {r['platform']}_calls_per_job={r['calls_per_job']:.2f}"
        for r in results
    )
    calls = "/".join(format(r["calls_per_job"], ".2f") for r in results)
    print(
        f"RESULT fraction_of_physical_bound={worst['physical_fraction']:.3f} "
        f"overhead_ms={max(r['overhead_ms'] for r in results):.1f} calls_per_job={calls} {per_platform}"
    )


def run(args: argparse.Namespace, platform: str, *, limit: int, concurrency: int) -> dict:
    """One platform's push of `args.jobs` creations; prints its table and returns its figures."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import Max
    from django.utils import timezone

    from telephony.models import JobAttempt, JobStatus, PbxUser, ProvisioningJob, SyncState
    from telephony.sandbox.server import serve_in_thread
    from telephony.services.users import pbx_user_create
    from tests.telephony.provisioning.workers import purge_queue, start_worker, wait_until

    settings.PROVISIONING_SERVER_CONCURRENCY = limit  # for this process; the worker reads the environment
    os.environ["PROVISIONING_SERVER_CONCURRENCY"] = str(limit)
    simulator = timed_simulator(simulator_classes()[platform])()
    simulator.run_label = f"{limit} {time.monotonic()}"
    served = serve_in_thread(simulator)
    purge_queue()
    world = WORLDS[platform](simulator, served.base_url, args.jobs)
    log_dir = Path(os.environ["PORTAL_TEST_RUN_DIR"])  # removed when the run ends (tests/settings.py)
    worker = start_worker(f"bench-{platform}-{limit}", log_dir, concurrency=concurrency, pool=args.pool)
    try:
        wait_until(lambda: not ProvisioningJob.objects.exclude(status=JobStatus.SUCCEEDED).exists(), 120, "set-up")
        simulator.set_faults({"latency_ms": args.latency_ms})
        simulator.reset_counts()

        started = {}
        if args.via_import:
            started["at"] = timezone.now()
            handed_over = import_users(world, args.jobs)
        else:
            with transaction.atomic():
                transaction.on_commit(lambda: started.setdefault("at", timezone.now()))  # runs before the dispatch
                for offset in range(args.jobs):
                    pbx_user_create(actor=world["actor"], user=world["user"](FIRST_NUMBER + offset))
            handed_over = (timezone.now() - started["at"]).total_seconds()
        jobs = ProvisioningJob.objects.filter(operation="user.create", target_id__in=world["users"]())
        wait_until(
            lambda: not jobs.filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING)).exists(),
            timeout=args.jobs * 12 * args.latency_ms / 1000 + 600,
            message="every job has finished",
            interval=0.25,
        )
        finished = jobs.aggregate(last=Max("finished_at"))["last"]
        users = PbxUser.objects.filter(pk__in=world["users"]())
        wait_until(  # a bulk change is read back by one scan once its drains are done
            lambda: not users.exclude(sync_state=SyncState.VERIFIED).exists(),
            timeout=120 + args.jobs * 0.05,
            message="every user verified (seen on the PBX)",
            interval=0.25,
        )
        verified = users.aggregate(last=Max("verified_at"))["last"]
        calls, by_endpoint = simulator.api_calls, dict(simulator.by_endpoint)
        simulator_work = simulator.busy_seconds - calls * args.latency_ms / 1000
    finally:
        worker.stop()
        worker_log = worker.log()
        purge_queue()
        served.stop()
        if sys.exc_info()[0] is not None:
            print("\n".join(worker_log.splitlines()[-40:]), file=sys.stderr)

    succeeded = jobs.filter(status=JobStatus.SUCCEEDED).count()
    made = world["made"]()
    if succeeded != args.jobs or made != args.jobs:
        print("\n".join(worker_log.splitlines()[-40:]), file=sys.stderr)
        sys.exit(f"FAILED on {platform}: {succeeded} jobs succeeded, {made} users on the PBX")
    attempts = list(JobAttempt.objects.filter(job__in=jobs).values_list("started_at", "finished_at", "exchanges"))
    return report(
        args,
        platform=platform,
        limit=limit,
        concurrency=concurrency,
        setting=f"{connection.vendor} / {settings.CELERY_BROKER_URL.split(':')[0]} / {args.pool} pool",
        elapsed=(verified - started["at"]).total_seconds(),
        pushed=(finished - started["at"]).total_seconds(),
        calls=calls,
        by_endpoint=by_endpoint,
        attempts=len(attempts),
        in_jobs=sum((end - begin).total_seconds() for begin, end, _ in attempts),
        calls_seen=sum(e["duration_ms"] / 1000 for _, _, exchanges in attempts for e in exchanges),
        simulator_work=simulator_work,
        runs=claim_outcomes(worker_log),
        handed_over=handed_over,
    )


def report(args, *, platform, limit, concurrency, setting, elapsed, pushed, calls, by_endpoint, attempts, in_jobs,
           calls_seen, simulator_work, runs, handed_over) -> dict:  # fmt: skip
    """Print one platform's table. `elapsed` runs to the last user verified (seen on the PBX),
    `pushed` to the last job finished. Per-job figures are a slot's time per job in the push
    (pushed × C ÷ jobs)."""
    jobs, latency = args.jobs, args.latency_ms / 1000
    minimum, sequence = PHYSICAL_CALLS[platform]
    physical = jobs * minimum * latency / limit
    bound = calls * latency / limit
    slot = pushed * limit / jobs
    backend = calls * latency / jobs
    overhead = slot - backend
    beyond_latency = calls_seen / jobs - backend
    engine_inside = in_jobs / jobs - calls_seen / jobs
    ms = "{:.1f} ms".format
    rows = [
        ("platform", platform),
        ("database / broker / worker pool", setting),
        ("jobs (user creations) / attempts", f"{jobs} / {attempts}"),
        ("documented minimum calls per creation", f"{minimum}: {sequence}"),
        ("backend calls received", f"{calls} ({calls / jobs:.2f} per job)"),
        *((f"  {endpoint}", f"{count / jobs:.2f} per job") for endpoint, count in sorted(by_endpoint.items())),
        ("latency per call", ms(args.latency_ms)),
        ("server limit C / worker concurrency", f"{limit} / {concurrency}"),
        ("physical bound: minimum calls × latency ÷ C", f"{physical:.1f} s"),
        ("bound on the calls made", f"{bound:.1f} s"),
        (f"achieved: {'upload' if args.via_import else 'commit'} → every user verified", f"{elapsed:.1f} s"),
        (f"  of which {'the check and commit' if args.via_import else 'the hand-over'}", f"{handed_over:.1f} s"),
        ("  → last job finished", f"{pushed:.1f} s"),
        ("  last job finished → every user verified", f"{elapsed - pushed:.1f} s"),
        ("fraction of the physical bound", f"{physical / elapsed:.3f}"),
        ("fraction of the bound on the calls made", f"{bound / elapsed:.3f}"),
        ("jobs per second (at the physical bound)", f"{jobs / elapsed:.2f} ({jobs / physical:.2f})"),
        ("a slot's time per job", ms(slot * 1000)),
        ("  backend latency", ms(backend * 1000)),
        ("  overhead", ms(overhead * 1000)),
        ("    calls beyond their latency (sandbox HTTP", ms(beyond_latency * 1000)),
        ("      server, simulator, driver parsing)", ""),
        ("      of which inside the simulator", ms(simulator_work / jobs * 1000)),
        ("    engine, inside the job (claim, database)", ms(engine_inside * 1000)),
        ("    engine, between jobs (finish, broker, idle)", ms((overhead - beyond_latency - engine_inside) * 1000)),
        ("task runs by outcome", ", ".join(f"{k} {v}" for k, v in sorted(runs.items()))),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(flush=True)
    return {
        "platform": platform,
        "limit": limit,
        "elapsed": elapsed,
        "jobs_per_s": jobs / elapsed,
        "physical_fraction": physical / elapsed,
        "calls_per_job": calls / jobs,
        "overhead_ms": overhead * 1000,
    }


def print_scaling(results: list[dict]) -> None:
    print("XCU throughput against worker processes (limit C raised with them)")
    print(f"{'processes = C':>14} {'jobs/s':>8} {'physical bound jobs/s':>22} {'fraction':>9} {'overhead ms':>12}")
    for r in results:
        at_bound = r["jobs_per_s"] / r["physical_fraction"]
        print(
            f"{r['limit']:>14} {r['jobs_per_s']:>8.1f} {at_bound:>22.1f} {r['physical_fraction']:>9.3f}"
            f" {r['overhead_ms']:>12.1f}"
        )
    print(flush=True)


ENDPOINT_IDS = re.compile(r"/(\d+|[0-9a-fA-F-]{36}|[^/]*@[^/]*)(?=/|$)")


def endpoint_of(method: str, path: str) -> str:
    """A call's method and path with its ids, guids and account names as placeholders."""
    return f"{method} {ENDPOINT_IDS.sub('/<id>', path)}"


def timed_simulator(base: type) -> type:
    """The simulator, adding up the time its API calls take on its side (latency included) and
    counting them by endpoint."""

    class Timed(base):
        busy_seconds = 0.0

        def reset_counts(self):
            with self.lock:
                self.api_calls, self.busy_seconds, self.by_endpoint = 0, 0.0, {}

        def dispatch(self, request):
            started = time.perf_counter()
            try:
                return super().dispatch(request)
            finally:
                if not request.path.startswith("/_sandbox/"):
                    endpoint = endpoint_of(request.method, request.path)
                    with self.lock:
                        self.busy_seconds += time.perf_counter() - started
                        counts = self.__dict__.setdefault("by_endpoint", {})
                        counts[endpoint] = counts.get(endpoint, 0) + 1

    return Timed


def import_users(world: dict, jobs: int) -> float:
    """Upload the users as one CSV file, check it and commit it as staff would (a file this large
    is checked and committed by the worker); returns the seconds until its jobs were committed."""
    from telephony.imports.services import import_run_confirm, import_run_create, import_run_start_check
    from telephony.models import ImportRun, ImportStatus
    from tests.telephony.provisioning.workers import wait_until

    started = time.monotonic()
    lines = ["username,first_name,last_name,internal_number"]
    lines += [f"u{n},Ada,Lovelace {n},{n}" for n in range(FIRST_NUMBER, FIRST_NUMBER + jobs)]
    actor, tenant = world["actor"], world["tenant"]
    run = import_run_create(actor=actor, kind="users", mode="create", data="\n".join(lines).encode(),
                            file_name="users.csv", tenant=tenant, template=world["template"])  # fmt: skip
    import_run_start_check(run=run)
    checked = (ImportStatus.VALIDATED, ImportStatus.INVALID, ImportStatus.UNREADABLE)
    wait_until(lambda: ImportRun.objects.get(pk=run.pk).status in checked, 600, "the file is checked", interval=0.1)
    run.refresh_from_db()
    if run.status != ImportStatus.VALIDATED:
        sys.exit(f"FAILED: the import was not accepted ({run.status}): {run.message}")
    import_run_confirm(actor=actor, run=run)
    done = (ImportStatus.COMMITTED, ImportStatus.FAILED)
    wait_until(lambda: ImportRun.objects.get(pk=run.pk).status in done, 600, "the file is imported", interval=0.1)
    if ImportRun.objects.get(pk=run.pk).status != ImportStatus.COMMITTED:
        sys.exit("FAILED: the import's commit failed")
    return time.monotonic() - started


def base_world(label: str, kind: str, base_url: str, username: str, secret: str) -> dict:
    """A distributor of its own for each run with its platform, its customer, and a superuser."""
    from django.contrib.auth import get_user_model

    from telephony.models import Platform
    from tenants.models import Organization, OrganizationKind

    actor = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
        "bench", "bench@example.net", "bench-password"
    )
    distributor = Organization.objects.add_root({"name": f"Distributor {label}", "kind": OrganizationKind.DISTRIBUTOR})
    customer = Organization.objects.add_child(distributor, {"name": "Customer", "kind": OrganizationKind.CUSTOMER})
    platform = Platform.objects.create(organization=distributor, name=label, kind=kind, base_url=base_url,
                                       username=username, secret=secret, timeout_seconds=10)  # fmt: skip
    return {"actor": actor, "distributor": distributor, "customer": customer, "platform": platform}


def portal_side(base: dict, server_name: str, tenant_name: str, jobs: int, server_ref=None) -> dict:
    """The server, tenant, entity (every number of the run) and line template, made through the
    services, so that their own jobs run before the measured ones; and the user factory."""
    from telephony.models import Entity, LineTemplate, PbxUser, Server, Tenant
    from telephony.services.templates import line_template_create
    from telephony.services.tenants import entity_create, tenant_create

    actor = base["actor"]
    server = Server.objects.create(platform=base["platform"], name=server_name, backend_ref=server_ref or {})
    tenant = tenant_create(
        actor=actor, tenant=Tenant(organization=base["customer"], server=server, name=tenant_name, licences=jobs)
    )
    last = str(FIRST_NUMBER + jobs - 1)
    entity = entity_create(
        actor=actor, entity=Entity(tenant=tenant, name="bench"), intervals=[(str(FIRST_NUMBER), last)]
    )
    template = line_template_create(
        actor=actor, template=LineTemplate(organization=base["distributor"], name="Standard")
    )

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

    users = lambda: PbxUser.objects.filter(tenant=tenant).values_list("pk", flat=True)  # noqa: E731
    return {"actor": actor, "user": user, "users": users, "tenant": tenant, "template": template}


def xcu_world(simulator, base_url: str, jobs: int) -> dict:
    """A tenant on xivo-220 with room for every user."""

    with simulator.lock:
        simulator.state["xivos"][0]["remainingSlots"] = jobs + 100
    base = base_world(f"XCU {simulator.run_label}", "xcu", base_url + "/api/1.0/", "admin", "superpass")
    xivo = simulator.state["xivos"][0]
    world = portal_side(base, xivo["name"], "acme", jobs, {"xcu_id": xivo["id"], "xcu_uuid": xivo["uuid"]})

    def made() -> int:
        numbers = [u["internalNumber"] for u in simulator.snapshot()["users"]]
        return len({n for n in numbers if int(n) >= FIRST_NUMBER})

    return {**world, "made": made}


def xelion_world(simulator, base_url: str, jobs: int) -> dict:
    """A tenant made on a Xelion server through the master's API, licensed for every user."""
    from telephony.sandbox.xelion import MASTER_PASSWORD, MASTER_USERNAME

    base = base_world("Xelion", "xelion", base_url, MASTER_USERNAME, MASTER_PASSWORD)
    world = portal_side(base, "xelion-bench", "bench", jobs)

    def made() -> int:
        tenant = next(t for t in simulator.state["tenants"].values() if t["name"] == "bench")
        users = simulator.objects_of(tenant).of_type("UserProfile")
        return sum(1 for u in users if u.get("userName", "").startswith("u"))

    return {**world, "made": made}


def xc5_world(simulator, base_url: str, jobs: int) -> dict:
    """An XC5 environment made by the tenant's job."""
    from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME

    base = base_world("XC5", "xc5", base_url, SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD)
    world = portal_side(base, "xc5-bench", "bench.x.co.nz", jobs)

    def made() -> int:
        names = [account.get("username", "") for account in simulator.snapshot()["accounts"].values()]
        return sum(1 for name in names if re.fullmatch(r"u\d+@bench\.x\.co\.nz", name))

    return {**world, "made": made}


def simulator_classes() -> dict[str, type]:
    from telephony.sandbox.xc5 import Xc5Simulator
    from telephony.sandbox.xcu import XcuSimulator
    from telephony.sandbox.xelion import XelionServerSimulator

    return {"xcu": XcuSimulator, "xelion": XelionServerSimulator, "xc5": Xc5Simulator}


WORLDS = {"xcu": xcu_world, "xelion": xelion_world, "xc5": xc5_world}


def claim_outcomes(log: str) -> dict[str, int]:
    """How the worker's task runs ended, from its log ('succeeded in …s: <outcome>'): a job's own
    task by its outcome, a drain by how it ended (its count of jobs left out)."""
    counts: dict[str, int] = {}
    for line in log.splitlines():
        if " succeeded in " not in line or not ("run_provisioning_job" in line or "drain_server" in line):
            continue
        outcome = re.sub(r" after \d+ jobs", "", line.rsplit(": ", 1)[-1].strip("'\""))
        key = f"drain {outcome}" if "drain_server" in line else outcome
        counts[key] = counts.get(key, 0) + 1
    return counts


if __name__ == "__main__":
    main()
