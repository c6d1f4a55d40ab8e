"""How fast is the permission tree on a large tree?

Builds 100,000 organizations, 6 levels deep, on SQLite and on PostgreSQL (when it answers on
127.0.0.1:5432), then times the two questions every page asks:

- "which organizations may this reseller see" (a reseller admin two levels down: all ids of its subtree);
- "may this user change this object" (a PBX user of a customer six levels down);

each with a fresh login object, so the membership query is paid every time. Prints the median and
the 95th percentile of 200 runs and the queries each needs. Target: under 5 ms, at most 2 queries.

    .venv/bin/python benchmarks/tree.py            # both databases
    .venv/bin/python benchmarks/tree.py --sqlite   # SQLite only
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOTAL = 100_000
FANOUT = [10, 5, 5, 5, 8, 10]  # children per level; the last level is cut off at TOTAL
RUNS = 200
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_BENCH_DB = "portal_bench_tree"


def child(database_url: str) -> None:
    """Runs inside a fresh process configured for one database; prints one JSON line."""
    os.environ.update(
        {"DATABASE_URL": database_url, "DJANGO_DEBUG": "true", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from telephony.models import Entity, LineTemplate, NumberInterval, PbxUser, Platform, Server, Tenant
    from tenants import access
    from tenants.models import Membership, Organization

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    organizations = build_tree(Organization)
    build_seconds = time.perf_counter() - started

    user_model = get_user_model()
    reseller = Organization.objects.filter(depth=2).order_by("path").first()
    deep_customer = Organization.objects.filter(depth=6, path__startswith=reseller.path).order_by("-path").first()
    login = user_model.objects.create(username="bench.reseller", is_staff=True)
    Membership.objects.create(user=login, organization=reseller, role="admin")

    platform = Platform.objects.create(
        organization=Organization.objects.get(path=reseller.path[:4]),
        name="bench",
        kind="xcu",
        base_url="http://127.0.0.1:9/",
        username="u",
    )
    server = Server.objects.create(platform=platform, name="bench")
    tenant = Tenant.objects.create(organization=deep_customer, server=server, name="bench")
    entity = Entity.objects.create(tenant=tenant, name="e")
    NumberInterval.objects.create(entity=entity, start="100", end="199")
    template = LineTemplate.objects.create(organization=reseller, name="t")
    target = PbxUser.objects.create(
        tenant=tenant,
        entity=entity,
        template=template,
        username="u",
        first_name="A",
        last_name="B",
        internal_number="100",
    )

    def visible() -> list[int]:
        fresh = user_model.objects.get(pk=login.pk)
        return list(access.visible_organizations(fresh).values_list("pk", flat=True))

    def may_change() -> bool:
        fresh = user_model.objects.get(pk=login.pk)
        return access.can(fresh, "change", target)

    results = {"organizations": organizations, "build_s": round(build_seconds, 1), "database": connection.vendor}
    for name, question in (("visible_orgs", visible), ("can_change", may_change)):
        question()  # warm up
        timings = []
        for _ in range(RUNS):
            start = time.perf_counter()
            answer = question()
            timings.append((time.perf_counter() - start) * 1000)
        with CaptureQueriesContext(connection) as captured:
            question()
        # the login itself is fetched by the request's authentication, not by the permission tree
        results[f"{name}_ms"] = round(statistics.median(timings), 3)
        results[f"{name}_p95_ms"] = round(sorted(timings)[int(RUNS * 0.95)], 3)
        results[f"{name}_queries"] = len(captured.captured_queries) - 1
        results[f"{name}_answer"] = len(answer) if isinstance(answer, list) else answer
    print(json.dumps(results))


def build_tree(organization_model) -> int:
    """Insert the whole tree in bulk with materialized paths computed the way treebeard does."""
    kinds = ["distributor", "reseller", "reseller", "reseller", "reseller", "customer"]
    nodes: dict[str, list] = {}  # path -> [depth, children]
    level = [""]
    for depth, fanout in enumerate(FANOUT, start=1):
        next_level = []
        for parent_path in level:
            for step in range(1, fanout + 1):
                if len(nodes) >= TOTAL:
                    break
                path = organization_model._get_path(parent_path or None, depth, step)
                nodes[path] = [depth, 0]
                if parent_path:
                    nodes[parent_path][1] += 1
                next_level.append(path)
        level = next_level
    organization_model.objects.bulk_create(
        (
            organization_model(path=path, depth=depth, numchild=children, name=f"org {path}", kind=kinds[depth - 1])
            for path, (depth, children) in nodes.items()
        ),
        batch_size=5000,
    )
    return len(nodes)


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {POSTGRES_BENCH_DB}")
            conn.execute(f"CREATE DATABASE {POSTGRES_BENCH_DB}")
        return True
    except Exception as exc:  # any failure means: not measured
        print(f"PostgreSQL not measured: {exc}")
        return False


def drop_postgres() -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {POSTGRES_BENCH_DB}")


def run_child(database_url: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", database_url], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if output.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{output.stdout}\n{output.stderr}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return
    measured: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        measured["sqlite"] = run_child(f"sqlite:///{folder}/tree.sqlite3")
    if "--sqlite" not in sys.argv and postgres_available():
        try:
            measured["postgresql"] = run_child(f"postgresql://postgres@127.0.0.1:5432/{POSTGRES_BENCH_DB}")
        finally:
            drop_postgres()
    print(f"{'database':<12}{'orgs':>8}{'question':>16}{'median ms':>11}{'p95 ms':>9}{'queries':>9}{'answer':>8}")
    for database, result in measured.items():
        for question in ("visible_orgs", "can_change"):
            median, p95 = result[f"{question}_ms"], result[f"{question}_p95_ms"]
            queries, answer = result[f"{question}_queries"], result[f"{question}_answer"]
            print(
                f"{database:<12}{result['organizations']:>8}{question:>16}{median:>11}{p95:>9}{queries:>9}{answer!s:>8}"
            )
    worst = {
        key: max(result[key] for result in measured.values())
        for key in ("visible_orgs_ms", "can_change_ms", "visible_orgs_queries", "can_change_queries")
    }
    per_database = " ".join(
        f"{key}_{database}={result[key]}"
        for database, result in measured.items()
        for key in ("visible_orgs_ms", "can_change_ms")
    )
    queries = max(worst["visible_orgs_queries"], worst["can_change_queries"])
    print(
        f"RESULT visible_orgs_ms={worst['visible_orgs_ms']} can_change_ms={worst['can_change_ms']} "
        f"queries={queries} {per_database}"
    )


if __name__ == "__main__":
    main()
