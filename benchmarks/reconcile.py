"""Truth against the PBX at scale: importing an existing customer, scanning it, and what a scan costs.

For each platform kind (XCU, Xelion, XC5-XS) a simulator holding one customer of 1,000 and then
10,000 users runs in a process of its own (benchmarks/support/seeded_pbx.py) and answers every API
call after 30 ms. The portal then:

1. imports the customer from the PBX (a scan that finds every user unmanaged, then the import's
   plan and commit): the time, against the target of 30 s for 10,000 users;
2. scans it again, every user now mirrored: the time against the paging bound, which is the read
   calls the scan made × the latency ÷ the server's concurrency limit C (no reader can beat it),
   and against the floor of this sandbox: the larger of that bound and the simulator's own time
   answering those calls (it answers one at a time; a real PBX's time is its own);
3. scans once more under tracemalloc: the scan's peak memory, which must stay flat as the users grow
   (what grows is a small index entry per mirrored row: the bytes per user are printed);
4. (10,000 users) matches the mirror with what was read, calls removed: users compared per second.

A scan must find every user verified and nothing else, or the run fails. Runs on a fresh database
of its own (SQLite by default; DATABASE_URL is honoured).

    .venv/bin/python benchmarks/reconcile.py [--users 1000,10000] [--latency-ms 30] [--kinds xcu,xelion,xc5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDED_PBX = ROOT / "benchmarks" / "support" / "seeded_pbx.py"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="1000,10000", help="customer sizes, comma-separated")
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--kinds", default="xcu,xelion,xc5")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from benchmarks.support.database import fresh_database

    with fresh_database():
        run(args)


class SeededPbx:
    """The simulator process of one customer."""

    def __init__(self, kind: str, users: int):
        self.process = subprocess.Popen(
            [sys.executable, str(SEEDED_PBX), kind, str(users)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line:
            sys.exit(f"FAILED: the {kind} simulator did not start")
        self.facts = json.loads(line)
        self.base_url = self.facts["base_url"]

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        import requests

        answer = requests.request(method, f"{self.base_url}/_sandbox/{path}", json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def calls(self) -> tuple[int, float]:
        """API calls answered so far, and the simulator's own time on them (latency left out)."""
        answer = self.control("GET", "calls")
        return answer["api_calls"], answer["busy_seconds"]

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def run(args: argparse.Namespace) -> None:
    import logging

    from django.conf import settings

    from tenants.models import OrganizationKind
    from tests.factories import OrganizationFactory, UserFactory

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    sizes = [int(n) for n in args.users.split(",")]
    kinds = args.kinds.split(",")
    limit = settings.PROVISIONING_SERVER_CONCURRENCY
    distributor = OrganizationFactory(kind=OrganizationKind.DISTRIBUTOR, name="Bench distributor")
    actor = UserFactory(is_staff=True, is_superuser=True)
    results: dict[tuple[str, int], dict] = {}
    for kind in kinds:
        for users in sizes:
            pbx = SeededPbx(kind, users)
            try:
                customer = OrganizationFactory(kind=OrganizationKind.CUSTOMER, parent=distributor,
                                               name=f"Bench {kind} {users}")  # fmt: skip
                results[(kind, users)] = measure(kind, users, pbx, distributor, customer, actor, args.latency_ms, limit)
            finally:
                pbx.stop()
            print(f"{kind:>6} {users:>6} users: " + ", ".join(f"{k} {v}" for k, v in results[(kind, users)].items()))
    report(results, kinds, sizes, args.latency_ms, limit)


def measure(kind, users, pbx, owner, customer, actor, latency_ms, limit) -> dict:
    from telephony.drift.scan import scan_server
    from telephony.models import FindingKind, PbxUser, SyncState
    from telephony.services.pbx_import import pbx_import_commit
    from tests.factories import LineTemplateFactory

    world = WORLDS[kind](pbx, owner, customer, users)
    template = LineTemplateFactory(organization=customer, name=f"Bench {kind} {users}")
    pbx.control("PUT", "faults", {"latency_ms": latency_ms})

    started = time.perf_counter()
    found = scan_server(server_id=world["tenant"].server_id)
    unmanaged = found.counts.get(FindingKind.UNMANAGED, 0)
    plan = pbx_import_commit(actor=actor, tenant_id=world["tenant"].pk, template=template,
                             fallback_entity=world.get("fallback"))  # fmt: skip
    imported_s = time.perf_counter() - started
    mirrored = PbxUser.objects.filter(tenant=world["tenant"]).count()
    if mirrored != users:  # the seed's own users elsewhere on the PBX may stay refused
        sys.exit(f"FAILED: {kind}: {mirrored} of {users} users imported ({unmanaged} found); {plan.refused[:3]}")

    calls_before, busy_before = pbx.calls()
    started = time.perf_counter()
    scan = scan_server(server_id=world["tenant"].server_id)
    scan_s = time.perf_counter() - started
    calls_after, busy_after = pbx.calls()
    read_calls, pbx_busy = calls_after - calls_before, busy_after - busy_before
    verified = PbxUser.objects.filter(tenant=world["tenant"], sync_state=SyncState.VERIFIED).count()
    if scan.status != "complete" or set(scan.counts) - {FindingKind.UNMANAGED} or verified != users:
        found = list(scan.findings.exclude(kind=FindingKind.UNMANAGED).values_list("label", "differences")[:3])
        sys.exit(f"FAILED: {kind}: the scan found {scan.counts or scan.error}, {verified} of {users} verified: {found}")

    tracemalloc.start()
    scan_server(server_id=world["tenant"].server_id)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    bound = read_calls * latency_ms / 1000 / limit
    floor = max(bound, pbx_busy)  # the simulator answers one call at a time (one process, one lock)
    figures = {
        "import_s": round(imported_s, 2),
        "scan_s": round(scan_s, 2),
        "read_calls": read_calls,
        "bound_s": round(bound, 3),
        "of_bound": round(bound / scan_s, 3),
        "pbx_busy_s": round(pbx_busy, 2),
        "of_floor": round(floor / scan_s, 3),
        "peak_mib": round(peak / 2**20, 1),
    }
    if users >= 10000:
        pbx.control("PUT", "faults", {"latency_ms": 0})
        figures["diff_users_per_s"] = diff_throughput(world["tenant"])
    return figures


def diff_throughput(tenant) -> int:
    """Users matched and compared per second, everything already in memory."""
    from telephony.backends.registry import driver_for
    from telephony.drift.matching import match
    from telephony.drift.reading import GroupRead
    from telephony.models import PbxUser, Server

    server = Server.objects.select_related("platform").get(pk=tenant.server_id)
    driver = driver_for(server.platform.connection())
    reader = GroupRead(driver=driver, server=server, tenants=[tenant], shared=False)
    tenant.server = server
    from telephony.provisioning import specs

    seen = [obj for obj in reader._seen(driver.read_tenant(specs.tenant_ref(tenant))) if obj.kind == "user"]
    pks = list(PbxUser.objects.filter(tenant=tenant).values_list("pk", flat=True))
    rows = [row for start in range(0, len(pks), 500) for row in reader._user_rows(pks[start : start + 500]).values()]
    driver.close()

    def differences(row, obj):
        return driver.user_differences(row.spec, obj.state)

    best = None
    for _ in range(3):
        started = time.perf_counter()
        outcomes = list(match(rows, seen, differences))
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    if sum(o.kind == "verified" for o in outcomes) != len(rows):  # the seed's own users stay unmanaged
        sys.exit("FAILED: the in-memory match did not verify every user")
    return int(len(rows) / best)


def xcu_world(pbx, owner, customer, users):
    from telephony.sandbox.xcu import XIVO_221
    from tests.factories import EntityFactory, PlatformFactory, ServerFactory, TenantFactory

    platform = PlatformFactory(organization=owner, kind="xcu", base_url=pbx.base_url + "/api/1.0/",
                               username="admin", secret="superpass")  # fmt: skip
    server = ServerFactory(platform=platform, name="xivo-221",
                           backend_ref={"xcu_id": 2, "xcu_uuid": XIVO_221["uuid"]})  # fmt: skip
    tenant = TenantFactory(organization=customer, server=server, name="bench", licences=users + 10,
                           backend_ref={"xcu_id": 2}, sync_state="verified")  # fmt: skip
    first, last = 20000, 20000 + users - 1
    EntityFactory(tenant=tenant, name="bench", display_name="Bench", intervals=[(str(first), str(last))],
                  sync_state="verified",
                  backend_ref={"xcu_id": pbx.facts["entity_id"], "xcu_combined_id": pbx.facts["entity"]})  # fmt: skip
    return {"tenant": tenant}


def xelion_world(pbx, owner, customer, users):
    from telephony.sandbox.xelion import MASTER_PASSWORD, MASTER_USERNAME
    from tests.factories import PlatformFactory, ServerFactory, TenantFactory

    platform = PlatformFactory(organization=owner, kind="xelion", base_url=pbx.base_url,
                               username=MASTER_USERNAME, secret=MASTER_PASSWORD)  # fmt: skip
    server = ServerFactory(platform=platform, name="xelion-bench")
    tenant = TenantFactory(organization=customer, server=server, name="bench", licences=users + 10,
                           backend_ref={"xelion_database_id": int(pbx.facts["tenant_oid"])},
                           sync_state="verified")  # fmt: skip
    return {"tenant": tenant}


def xc5_world(pbx, owner, customer, users):
    from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME
    from tests.factories import EntityFactory, PlatformFactory, ServerFactory, TenantFactory

    platform = PlatformFactory(organization=owner, kind="xc5", base_url=pbx.base_url,
                               username=SYSTEM_API_USERNAME, secret=SYSTEM_API_PASSWORD)  # fmt: skip
    server = ServerFactory(platform=platform, name="xc5-bench")
    tenant = TenantFactory(organization=customer, server=server, name="bench.x.co.nz", licences=users + 10,
                           backend_ref={"xc5_name": "bench.x.co.nz"}, sync_state="verified")  # fmt: skip
    office = EntityFactory(tenant=tenant, name="office", intervals=[("20000", str(20000 + users - 1))])
    return {"tenant": tenant, "fallback": office}


WORLDS = {"xcu": xcu_world, "xelion": xelion_world, "xc5": xc5_world}


def report(results, kinds, sizes, latency_ms, limit) -> None:
    small, large = min(sizes), max(sizes)
    print()
    print(f"latency {latency_ms:g} ms per call, server concurrency limit C = {limit}")
    header = f"{'':<8}{'users':>7}{'import s':>10}{'scan s':>9}{'calls':>7}{'bound s':>9}{'of bound':>10}"
    print(header + f"{'PBX busy s':>12}{'of floor':>10}{'peak MiB':>10}{'diff/s':>10}")
    for kind in kinds:
        for users in sizes:
            r = results[(kind, users)]
            print(f"{kind:<8}{users:>7}{r['import_s']:>10}{r['scan_s']:>9}{r['read_calls']:>7}{r['bound_s']:>9}"
                  f"{r['of_bound']:>10}{r['pbx_busy_s']:>12}{r['of_floor']:>10}{r['peak_mib']:>10}"
                  f"{r.get('diff_users_per_s', ''):>10}")  # fmt: skip
    print("bound: read calls × latency ÷ C; PBX busy: the simulator's own time answering them (it answers one")
    print("at a time); floor: the larger of the two, what a reader costing nothing would take against this sandbox")
    of_bound = min(results[(k, large)]["of_bound"] for k in kinds)
    of_floor = min(results[(k, large)]["of_floor"] for k in kinds)
    growth = max(results[(k, large)]["peak_mib"] / max(results[(k, small)]["peak_mib"], 0.1) for k in kinds)
    per_user = max(
        (results[(k, large)]["peak_mib"] - results[(k, small)]["peak_mib"]) * 2**20 / (large - small) for k in kinds
    )
    print(f"memory: peak at {large} ÷ peak at {small} users, at most {growth:.2f}; {per_user:.0f} bytes per user more")
    import_s = max(results[(k, large)]["import_s"] for k in kinds)
    diff = min(results[(k, large)].get("diff_users_per_s", 0) for k in kinds)
    print(
        f"RESULT users={large} scan_of_bound_min={of_bound} scan_of_floor_min={of_floor} "
        f"memory_growth_max={growth:.2f} bytes_per_user_max={per_user:.0f} import_s_max={import_s} "
        f"diff_users_per_s_min={diff}"
    )


if __name__ == "__main__":
    main()
