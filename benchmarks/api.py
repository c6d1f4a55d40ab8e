"""Does the REST API's PBX users list stay as fast at 100,000 users as at 1,000? And does a create
through the API cost at most 30% more than the same create through the service?

Builds a world twice, each on a fresh database of its own in a process of its own: a distributor with
two resellers, each with 10 customers, each customer one tenant with one entity; one line template
per reseller; N PBX users spread over the 20 tenants in turn (as users made over time are), every
tenth with an external number; N = 1,000 and N = 100,000. Three users of every world are called
"Zwanenburg" (the first, the middle and the last one made), at both sizes.

Then asks GET /api/v1/pbx-users/ with Django's test client (in process, no server) and a bearer
token, as a reseller administrator (who sees the 10 tenants of its reseller) and as a superuser:

- first: the first page (50 users);
- deep: a page from the middle of what the login sees (its cursor built as the API builds it);
- search: ?search=zwanenburg (the same 3 users at both sizes);
- filter: ?tenant=<a tenant of the reseller>.

Each answer is checked once (the right users), each case warmed up, then asked RUNS times: the two
worlds' processes run side by side and take turns of RUNS ÷ ROUNDS requests, so that a busy moment
of a shared machine falls on both sizes alike. Prints the median and the 95th percentile and the SQL
queries one request runs (which must be the same at both sizes), then the ratio p95(100k) ÷
p95(1k) of every case. Target: every ratio under 2. Nothing is asserted on time.

In the same run, a third process on a fresh database of its own builds the same tree without users
and creates CREATES (1,000) PBX users through POST /api/v1/pbx-users/ (the test client, a read-write
bearer token of the reseller administrator) and as many through the service the API's create calls
(`PbxUserViewSet.create_service`, telephony/services/users.py `pbx_user_create`) with the same
login as actor (one object for all of them, as a script would call it; each API request reads its
login afresh): the same fields (tenant, entity, template, internal number, username, names, e-mail),
spread over the reseller's 10 tenants in turn. After one create each way to warm up (not counted),
the two ways take turns of BATCH (50) users, which goes first alternating, so that a busy moment
falls on both; each create is timed on its own. Both are checked to have made CREATES users, each
with its provisioning job. Prints ms per user (the mean: the whole cost; the median and p95) and the
API's overhead, mean(API) ÷ mean(service) − 1. Target: at most 0.30. The create part runs after the
list part, alone.

The token's last use is set ahead, so that no measured request writes it (a token writes it at most
once a minute); the rate limit is lifted for the run. SQLite by default; when DATABASE_URL names a
PostgreSQL database, a database of the run's own is made beside it and dropped after, and is
ANALYZEd after the bulk load, as autovacuum would do.

    .venv/bin/python benchmarks/api.py                      # 1,000 and 100,000 users
    .venv/bin/python benchmarks/api.py --sizes 1000 20000   # other sizes (the first is the base)
    .venv/bin/python benchmarks/api.py --creates 2000       # users created each way (a multiple of 50)
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/api.py
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1_000, 100_000)
RESELLERS = 2
CUSTOMERS_PER_RESELLER = 10
WARMUP = 5
RUNS = 60
ROUNDS = RUNS  # the sizes take turns request by request
CHILD = len(sys.argv) == 3 and sys.argv[1] in ("--child", "--create-child")
CREATES = 1_000  # users created through the API, and as many through the service
BATCH = 50  # the API and the service take turns of this many creates
FIRST_NUMBER = 100000
RARE_NAME = "Zwanenburg"
URL = "/api/v1/pbx-users/"
CASES = ("first", "deep", "search", "filter")
LOGINS = ("reseller", "superuser")


def say(text: str) -> None:
    print(text, file=sys.stderr if CHILD else sys.stdout, flush=True)  # a child's stdout is for its answers


# --- the child: one world, one size ------------------------------------------------------------


def child(users: int, creates: bool = False) -> None:
    """Runs in a process of its own on a fresh database; prints progress, then one JSON line per order."""
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ["API_RATE_LIMIT"] = "100000000/min"  # the run asks more than a token may in a minute
    from benchmarks.support.database import fresh_database

    with fresh_database():
        from django.test.utils import setup_test_environment

        setup_test_environment()  # the test client's host is allowed, as in the tests
        if creates:
            serve_creates(users)
        else:
            serve(build_world(users), users)


def build_tree(licences: int) -> dict:
    """The distributor, its resellers and their customers, one tenant with one entity each, a line
    template per reseller; no users."""
    from telephony.models import Entity, LineTemplate, NumberInterval, Platform, Server, Tenant
    from tenants.models import Organization

    distributor = Organization.objects.add_root(instance=Organization(name="Distributor", kind="distributor"))
    platform = Platform.objects.create(
        organization=distributor, name="xcu", kind="xcu", base_url="https://xcu.example.net/", username="u"
    )
    server = Server.objects.create(platform=platform, name="xcu-1")
    tenants, entities, templates_of = [], [], {}
    resellers = []
    for r in range(RESELLERS):
        distributor = Organization.objects.get(pk=distributor.pk)
        reseller = Organization.objects.add_child(
            distributor, instance=Organization(name=f"Reseller {r}", kind="reseller")
        )
        resellers.append(reseller)
        template = LineTemplate.objects.create(organization=reseller, name=f"Standard {r}")
        for c in range(CUSTOMERS_PER_RESELLER):
            reseller = Organization.objects.get(pk=reseller.pk)
            customer = Organization.objects.add_child(
                reseller, instance=Organization(name=f"Customer {r}.{c}", kind="customer")
            )
            tenant = Tenant.objects.create(
                organization=customer, server=server, name=f"t{r}x{c}", licences=licences, sync_state="synced"
            )
            entity = Entity.objects.create(tenant=tenant, name="main", sync_state="synced")
            NumberInterval.objects.create(entity=entity, start=str(FIRST_NUMBER), end="999999")
            tenants.append(tenant)
            entities.append(entity)
            templates_of[tenant.pk] = template
    return {"tenants": tenants, "entities": entities, "templates_of": templates_of, "resellers": resellers}


def bench_login(reseller: Any, scope: str) -> tuple[Any, str]:
    """The reseller's administrator and a token of it (`scope`) whose use no request writes."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from portal.api.models import ApiToken
    from portal.api.tokens import api_token_create
    from tenants.models import Membership

    admin = get_user_model().objects.create(username="bench.reseller", is_staff=True)
    Membership.objects.create(user=admin, organization=reseller, role="admin")
    token, raw = api_token_create(
        actor=admin,
        name="bench",
        scope=scope,
        expires_at=timezone.now() + timedelta(days=1),
        session_verified=True,
    )
    # no measured request writes last_used_at (a token writes it at most once a minute)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() + timedelta(days=1))
    return admin, raw


def build_world(users: int) -> dict:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from portal.api.models import ApiToken
    from portal.api.tokens import api_token_create
    from telephony.models import PbxUser, PhoneNumber

    started = time.perf_counter()
    tree = build_tree(licences=users + 1)
    tenants, entities, templates_of, resellers = (
        tree["tenants"],
        tree["entities"],
        tree["templates_of"],
        tree["resellers"],
    )
    say(f"  {users:>7,} users: {len(tenants)} tenants made, writing users")

    rare = {0, users // 2, users - 1}  # the first, the middle and the last one made

    def user_rows():
        for i in range(users):
            slot = i % len(tenants)
            tenant, n = tenants[slot], i // len(tenants)
            last = RARE_NAME if i in rare else f"Family{i}"
            yield PbxUser(
                tenant=tenant,
                entity=entities[slot],
                template=templates_of[tenant.pk],
                username=f"user{i}",
                first_name=f"Given{i % 997}",
                last_name=last,
                email=f"user{i}@example.net",
                internal_number=str(FIRST_NUMBER + n),
                sync_state="synced",
            )

    batch = 5000
    with transaction.atomic():
        rows = user_rows()
        made = 0
        while made < users:
            chunk = list(islice(rows, batch))
            PbxUser.objects.bulk_create(chunk, batch_size=batch)
            made += len(chunk)
            if made % 20_000 == 0 or made == users:
                say(f"  {users:>7,} users: {made:>7,} written ({time.perf_counter() - started:.1f} s)")
        numbers = (
            PhoneNumber(
                number=f"+3120{user_id:07d}",
                organization_id=org_id,
                tenant_id=tenant_id,
                assigned_user_id=user_id,
                sync_state="synced",
            )
            for user_id, tenant_id, org_id in PbxUser.objects.values_list("id", "tenant_id", "tenant__organization_id")
            .order_by("id")
            .iterator(chunk_size=batch)
            if user_id % 10 == 0
        )
        PhoneNumber.objects.bulk_create(numbers, batch_size=batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    say(f"  {users:>7,} users: world built in {time.perf_counter() - started:.1f} s")

    tokens = {}
    _admin, tokens["reseller"] = bench_login(resellers[0], "read")
    root = get_user_model().objects.create(username="bench.root", is_staff=True, is_superuser=True)
    _token, tokens["superuser"] = api_token_create(
        actor=root,
        name="bench",
        scope="read",
        expires_at=timezone.now() + timedelta(days=1),
        session_verified=True,
    )
    # no measured request writes last_used_at (a token writes it at most once a minute)
    ApiToken.objects.update(last_used_at=timezone.now() + timedelta(days=1))

    reseller_tenants = [t.pk for t in tenants if t.organization.path.startswith(resellers[0].path)]
    visible = {
        "reseller": PbxUser.objects.filter(tenant_id__in=reseller_tenants),
        "superuser": PbxUser.objects.all(),
    }
    middle = {}
    for name, queryset in visible.items():
        count = queryset.count()
        middle[name] = queryset.order_by("id").values_list("id", flat=True)[count // 2]
    return {
        "tokens": tokens,
        "rare": {
            "reseller": sum(1 for i in rare if tenants[i % len(tenants)].pk in reseller_tenants),
            "superuser": len(rare),
        },
        "middle": middle,
        "tenant": reseller_tenants[len(reseller_tenants) // 2],
        "visible": {name: queryset.count() for name, queryset in visible.items()},
    }


def cursor_after(position: int) -> str:
    """The cursor of the page that starts after `position`, as DRF's CursorPagination encodes it."""
    return base64.b64encode(urlencode({"p": position}).encode("ascii")).decode("ascii")


def serve(world: dict, users: int) -> None:
    """Answers the parent's orders, one JSON line each, until its standard input closes: `ready`
    first, then for each order (a login, a case, a number of runs) the time of every request."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from benchmarks.support.orders import answer_timing_orders, reply

    client = Client()
    orders = {}
    for login in LOGINS:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {world['tokens'][login]}"}
        params = {
            "first": {},
            "deep": {"cursor": cursor_after(world["middle"][login])},
            "search": {"search": RARE_NAME.lower()},
            "filter": {"tenant": world["tenant"]},
        }
        for case in CASES:
            orders[f"{login}/{case}"] = (params[case], headers)

    def ask(key: str):
        params, headers = orders[key]
        answer = client.get(URL, params, **headers)
        if answer.status_code != 200:
            raise SystemExit(f"{key}: {answer.status_code} {answer.content[:300]!r}")
        return answer

    facts = {}
    for key in orders:  # each case answers what it should, and warms up
        login, case = key.split("/")
        body = ask(key).json()
        check(case, login, body, world)
        for _ in range(WARMUP - 1):
            ask(key)
        with CaptureQueriesContext(connection) as captured:
            ask(key)
        facts[key] = {"queries": len(captured.captured_queries), "rows": len(body["results"])}
    reply({"ready": True, "users": users, "database": connection.vendor, "visible": world["visible"], "cases": facts})
    answer_timing_orders(ask)


def check(case: str, login: str, body: dict, world: dict) -> None:
    """Each case answers what it should (a benchmark of wrong answers measures nothing)."""
    ids = [row["id"] for row in body["results"]]
    if case == "search":
        ok = len(ids) == world["rare"][login] and all(row["last_name"] == RARE_NAME for row in body["results"])
    elif case == "filter":
        ok = len(ids) > 0 and all(row["tenant"] == world["tenant"] for row in body["results"])
    elif case == "deep":
        ok = len(ids) == 50 and ids[0] > world["middle"][login] and body["next"] and body["previous"]
    else:
        ok = len(ids) == 50 and ids == sorted(ids) and body["next"]
    if not ok:
        raise SystemExit(f"{login}/{case}: unexpected answer {json.dumps(body)[:500]}")


# --- the create child: the API against the service, on a fresh world ------------------------------


def serve_creates(creates: int) -> None:
    """Answers the parent's orders until its standard input closes: `ready` first, then for each
    order (`api` or `service`, a number of users) the time of every create; `verify` last."""
    from django.db import connection
    from django.test import Client

    from benchmarks.support.orders import reply
    from portal.api.views import PbxUserViewSet
    from telephony.models import PbxUser, ProvisioningJob

    service = PbxUserViewSet.create_service  # what POST /api/v1/pbx-users/ calls, as it calls it
    tree = build_tree(licences=2 * creates)
    admin, raw = bench_login(tree["resellers"][0], "read_write")
    slots = [
        (tenant, entity, tree["templates_of"][tenant.pk])
        for tenant, entity in zip(tree["tenants"], tree["entities"], strict=True)
        if tenant.organization.path.startswith(tree["resellers"][0].path)
    ]
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    made = {"api": 0, "service": 0}

    def fields(way: str, index: int) -> dict[str, Any]:
        """The same shape both ways: the i-th user of all, over the reseller's tenants in turn."""
        tenant, entity, template = slots[index % len(slots)]
        tag = "api" if way == "api" else "svc"
        return {
            "tenant": tenant,
            "entity": entity,
            "template": template,
            "internal_number": str(FIRST_NUMBER + index),  # unique on the server, as its PBX keeps them
            "username": f"{tag}.user{index:06d}",
            "first_name": f"Given{index % 997}",
            "last_name": f"Family{index}",
            "email": f"{tag}.user{index}@example.net",
        }

    def create_api(index: int) -> None:
        body = {k: (v.pk if hasattr(v, "pk") else v) for k, v in fields("api", index).items()}
        answer = client.post(URL, body, content_type="application/json", **headers)
        if answer.status_code != 201:
            raise SystemExit(f"api create {index}: {answer.status_code} {answer.content[:300]!r}")

    def create_service(index: int) -> None:
        service(actor=admin, user=PbxUser(**fields("service", index)))

    ways = {"api": create_api, "service": create_service}
    warm_up = 2 * creates  # one user each way first, past the indexes the turns use (not counted)
    create_api(warm_up)
    create_service(warm_up + 1)
    next_index = 0
    reply({"ready": True, "database": connection.vendor, "service": f"{service.__module__}.{service.__name__}"})
    for line in sys.stdin:
        order = json.loads(line)
        if order.get("verify"):
            reply(verify_creates(PbxUser, ProvisioningJob, made))
            continue
        timings = []
        for _ in range(order["runs"]):
            start = time.perf_counter()
            ways[order["case"]](next_index)
            timings.append((time.perf_counter() - start) * 1000)
            next_index += 1
            made[order["case"]] += 1
        reply({"timings": timings})


def verify_creates(user_model: Any, job_model: Any, made: dict[str, int]) -> dict:
    """Each way made its users (and its one warm-up user), each with its provisioning job."""
    from django.contrib.contenttypes.models import ContentType

    user_type = ContentType.objects.get_for_model(user_model)
    found = {}
    for way, tag in (("api", "api"), ("service", "svc")):
        ids = list(user_model.objects.filter(username__startswith=f"{tag}.user").values_list("pk", flat=True))
        jobs = job_model.objects.filter(target_type=user_type, target_id__in=ids, operation="user.create")
        found[way] = {"users": len(ids) - 1, "jobs": jobs.values("target_id").distinct().count() - 1}
    ok = all(found[way] == {"users": made[way], "jobs": made[way]} for way in made)
    return {"verified": ok, "found": found}


# --- the parent: both sizes at once, the table, the ratios ---------------------------------------


class Child:
    """One size's world in a process of its own, answering orders (`--create-child`: the creates)."""

    def __init__(self, users: int, mode: str = "--child"):
        self.users = users
        self.process = subprocess.Popen(
            [sys.executable, __file__, mode, str(users)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise SystemExit(f"the run at {self.users:,} users failed (exit {self.process.returncode})")
        return json.loads(line)

    def ask(self, order: dict) -> dict:
        self.process.stdin.write(json.dumps(order) + "\n")
        self.process.stdin.flush()
        return self.read()

    def time(self, case: str, runs: int) -> list[float]:
        return self.ask({"case": case, "runs": runs})["timings"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=SIZES, metavar=("BASE", "LARGE"))
    parser.add_argument("--creates", type=int, default=CREATES, help=f"users created each way (× {BATCH})")
    args = parser.parse_args()
    if args.creates <= 0 or args.creates % BATCH:
        parser.error(f"--creates: a positive multiple of {BATCH}")
    started = time.perf_counter()
    children = [Child(users) for users in args.sizes]  # both build at once
    creator = Child(args.creates, "--create-child")  # its world (no users) is built meanwhile
    try:
        try:
            lists = run_lists(args, children, started)
        finally:
            for child in children:
                child.close()
        creates = run_creates(creator, args.creates)  # alone: the list processes have ended
    finally:
        creator.close()
    say(f"whole run {time.perf_counter() - started:.0f} s")
    say(f"RESULT {lists} {creates}")


def run_creates(creator: Child, creates: int) -> str:
    """The API and the service take turns of BATCH creates (which goes first alternating)."""
    ready = creator.read()
    timings: dict[str, list[float]] = {"api": [], "service": []}
    for turn in range(creates // BATCH):
        ways = ["api", "service"] if turn % 2 == 0 else ["service", "api"]
        for way in ways:
            timings[way] += creator.time(way, BATCH)
    verified = creator.ask({"verify": True})
    if not verified["verified"]:
        raise SystemExit(f"the creates made other than {creates} users with a job each way: {verified['found']}")
    say(
        f"create: {creates:,} PBX users through POST {URL} and {creates:,} through {ready['service']} "
        f"(the same login, the same fields), in turns of {BATCH}; each way made {creates:,} users "
        f"with a job each; database: {ready['database']}"
    )
    say(f"{'create':<20}{'mean ms/user':>14}{'median ms':>11}{'p95 ms':>9}")
    means = {}
    for way, runs in timings.items():
        runs = sorted(runs)
        means[way] = statistics.fmean(runs)
        say(f"{way:<20}{means[way]:>14.2f}{statistics.median(runs):>11.2f}{runs[int(len(runs) * 0.95)]:>9.2f}")
    overhead = means["api"] / means["service"] - 1
    say(f"the API's overhead: {overhead:+.1%} (target: at most +30%){'' if overhead <= 0.30 else '   <- over'}")
    return (
        f"api_create_ms_per_user={means['api']:.2f} service_create_ms_per_user={means['service']:.2f} "
        f"api_create_overhead={overhead:.2f}"
    )


def run_lists(args: argparse.Namespace, children: list[Child], started: float) -> str:
    """The list part: the sizes take turns; the table, the ratios; the list's RESULT keys."""
    facts = [child.read() for child in children]
    say(f"  both worlds built and checked ({time.perf_counter() - started:.0f} s); timing")
    timings: list[dict[str, list[float]]] = [{key: [] for key in facts[0]["cases"]} for _ in children]
    for round_ in range(ROUNDS):  # the sizes take turns, so that a busy moment falls on both
        for key in facts[0]["cases"]:
            turns = list(enumerate(children))
            for index, child in turns if round_ % 2 == 0 else reversed(turns):
                timings[index][key] += child.time(key, RUNS // ROUNDS)
    small, large = facts
    say(
        f"database: {large['database']}; the reseller administrator sees "
        f"{small['visible']['reseller']:,} / {large['visible']['reseller']:,} users; "
        f"{RUNS} requests per case after {WARMUP} to warm up, the two sizes taking turns"
    )
    say(f"{'case':<20}{'users':>9}{'median ms':>11}{'p95 ms':>9}{'queries':>9}{'rows':>6}")
    p95: list[dict[str, float]] = [{}, {}]
    for key in small["cases"]:
        for index, result in enumerate(facts):
            runs = sorted(timings[index][key])
            p95[index][key] = runs[int(len(runs) * 0.95)]
            case = result["cases"][key]
            say(
                f"{key:<20}{result['users']:>9,}{statistics.median(runs):>11.2f}{p95[index][key]:>9.2f}"
                f"{case['queries']:>9}{case['rows']:>6}"
            )
    ratios = {key: p95[1][key] / p95[0][key] for key in small["cases"]}
    same_queries = all(small["cases"][key]["queries"] == large["cases"][key]["queries"] for key in small["cases"])
    say(f"ratio {args.sizes[1]:,} ÷ {args.sizes[0]:,} users: p95 (target: under 2), and the median's")
    for key, ratio in ratios.items():
        medians = [statistics.median(timings[index][key]) for index in (0, 1)]
        say(f"  {key:<20}{ratio:>7.2f}{medians[1] / medians[0]:>7.2f}{'' if ratio < 2 else '   <- 2 or more'}")
    if not same_queries:
        say("  the queries per request differ between the sizes")
    worst = max(ratios, key=ratios.get)
    say(f"worst: {worst}; list part done at {time.perf_counter() - started:.0f} s")
    first = [max(p95[index][f"{login}/first"] for login in LOGINS) for index in (0, 1)]
    queries = max(case["queries"] for case in large["cases"].values())
    return (
        f"pbx_users_p95_ratio={ratios[worst]:.2f} first_page_p95_ms_1k={first[0]:.2f} "
        f"first_page_p95_ms_100k={first[1]:.2f} queries_per_page={queries} "
        f"queries_same_at_both_sizes={str(same_queries).lower()} worst_case={worst} database={large['database']}"
    )


if __name__ == "__main__":
    if CHILD:
        child(int(sys.argv[2]), creates=sys.argv[1] == "--create-child")
    else:
        main()
