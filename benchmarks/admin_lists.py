"""Do the admin's lists and the self-service pages stay as fast at 100,000 PBX users as at 1,000, and
how much slower are they than a plain Django admin of the same model? (issue 18)

Builds one world per size, on a fresh database and in a process of its own, with bulk writes: a
distributor, two resellers of 1,000 customers each (2,003 organizations at every size), a tenant
with one entity per customer, ten servers, a line template per reseller; N PBX users spread over
the tenants in turn, a phone number and an import run per ten users, and per user a provisioning
job (some failed or pending) and an audit entry, made over 60 days. A few rows of every list carry
the rare word "Zwanenburg", the same at every size. N = 1,000, 10,000 and 100,000.

Then asks, with Django's test client in process (force_login; tests.settings turns two-factor
sign-in off), every admin list (organizations, tenants, entities, PBX users, phone numbers,
provisioning jobs, import runs, audit log, servers) as the superuser and as a reseller
administrator (who sees half the world), in four cases:

- default: the first page;
- search: ?q=zwanenburg (the same few rows at every size);
- filter: one list_filter choice of the list (a sync state, a job or import status, ...);
- page500: ?p=500, or the login's last full page where the list is shorter (said in the table),
  so that every page compared holds 50 rows.

Beside each, the same cases on a PLAIN django.contrib.admin.ModelAdmin of the same model (Django's
defaults, no select_related; only the list's search_fields, the filter's one field and the
project's 50 rows a page set, so that both show the same rows), registered on an
AdminSite(name="plain") mounted at /plain/ in a URLconf of the run's own, asked as the superuser.
And a customer administrator's self-service user list (default, search) and dashboard, compared
with the plain PBX users list's same case (default for the dashboard).

Every page is checked once: 200, with rows (a search: a few). Each case is warmed
up, then asked RUNS times; the sizes' processes take turns request by request, so that a busy
moment of a shared machine falls on all alike. Prints per case the median ms at each size, the
plain list's, the ratio median(project) ÷ median(plain) (the worst over the sizes; target 1.5),
the growth median(largest) ÷ median(base) (target 2) and the SQL queries per page at each size
(flagged when they differ); the RESULT line's worst_case is the case furthest over its target, by
ratio or by growth. Nothing is asserted on time. SQLite by default; when DATABASE_URL names a
PostgreSQL database, a database of the run's own is made beside it (VACUUM ANALYZEd after the
load, as autovacuum leaves a table bulk inserts made: its statistics read, its visibility map set
for index-only scans) and dropped after.

    .venv/bin/python benchmarks/admin_lists.py                          # 1,000, 10,000 and 100,000 users
    .venv/bin/python benchmarks/admin_lists.py --sizes 1000 5000 20000  # other sizes (the first is the base)
    .venv/bin/python benchmarks/admin_lists.py --runs 30                # timed requests per case
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/admin_lists.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import types
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1_000, 10_000, 100_000)
RESELLERS, CUSTOMERS_PER_RESELLER = 2, 1_000
PAGE_ROWS = 50  # tenants.admin_scoping.ScopedAdmin.list_per_page
SERVERS = 10  # the last two on a Xelion platform
RUNS, WARMUP = 20, 3
CHILD = len(sys.argv) == 3 and sys.argv[1] == "--child"
FIRST_NUMBER = 100000
RARE = "Zwanenburg"
BATCH = 5000
CASES = ("default", "search", "filter", "page500")
TARGET_RATIO, TARGET_GROWTH = 1.5, 2.0
ONLY = "ADMIN_LISTS_ONLY"  # --lists, as the children are told
# list: (app.model, its admin's URL name, the filter's field and value)
LISTS = {
    "organizations": ("tenants.Organization", "tenants_organization", "kind", "customer"),
    "tenants": ("telephony.Tenant", "telephony_tenant", "sync_state", "pending"),
    "entities": ("telephony.Entity", "telephony_entity", "sync_state", "pending"),
    "pbx users": ("telephony.PbxUser", "telephony_pbxuser", "sync_state", "pending"),
    "phone numbers": ("telephony.PhoneNumber", "telephony_phonenumber", "sync_state", "pending"),
    "jobs": ("telephony.ProvisioningJob", "telephony_provisioningjob", "status", "failed"),
    "import runs": ("telephony.ImportRun", "telephony_importrun", "status", "failed"),
    "audit log": ("auditlog.LogEntry", "auditlog_logentry", "action", "1"),
    "servers": ("telephony.Server", "telephony_server", "platform__kind", "xelion"),
}
SELF_SERVICE = {  # page/case: (URL name, parameters, the plain list's case it is compared with)
    "self-service users/default": ("selfservice:user_list", {}, "pbx users/plain/default"),
    "self-service users/search": ("selfservice:user_list", {"q": RARE.lower()}, "pbx users/plain/search"),
    "self-service dashboard/default": ("selfservice:dashboard", {}, "pbx users/plain/default"),
}


def chosen(name: str) -> bool:
    """Whether the run measures this list or page (--lists; all of them by default)."""
    wanted = os.environ.get(ONLY)
    return not wanted or name in wanted.split(",")


def say(text: str) -> None:
    print(text, file=sys.stderr if CHILD else sys.stdout, flush=True)  # a child's stdout is for its answers


# --- the child: one world, one size ------------------------------------------------------------


def child(users: int) -> None:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ["API_RATE_LIMIT"] = "100000000/min"  # the run asks more than a token may in a minute
    from benchmarks.support.database import fresh_database

    with fresh_database():
        serve(build_world(users), users)


def build_tree() -> tuple:
    """2,003 organizations with treebeard's paths computed (no add_child), a tenant, an entity and a
    number interval per customer, ten servers, a template per reseller."""
    from telephony.models import Entity, LineTemplate, NumberInterval, Platform, Server, Tenant
    from tenants.models import Organization

    root = Organization._get_path(None, 1, 1)
    rows = [Organization(path=root, depth=1, numchild=RESELLERS, name="Distributor", kind="distributor")]
    for r in range(RESELLERS):
        reseller = Organization._get_path(root, 2, r + 1)
        rows.append(
            Organization(path=reseller, depth=2, numchild=CUSTOMERS_PER_RESELLER, name=f"Reseller {r}", kind="reseller")
        )
        for c in range(CUSTOMERS_PER_RESELLER):
            name = f"{RARE} {r}.{c}" if c in (0, 500, 999) else f"Customer {r}.{c}"
            rows.append(
                Organization(path=Organization._get_path(reseller, 3, c + 1), depth=3, name=name, kind="customer")
            )
    Organization.objects.bulk_create(rows, batch_size=BATCH)
    orgs = list(Organization.objects.order_by("path"))
    customers = [o for o in orgs if o.depth == 3]  # reseller by reseller, as the templates
    platforms = [
        Platform.objects.create(
            organization=orgs[0], name=kind, kind=kind, base_url=f"https://{kind}.example.net/", username="u"
        )
        for kind in ("xcu", "xelion")
    ]
    servers = Server.objects.bulk_create(
        Server(platform=platforms[s >= SERVERS - 2], name=f"{RARE.lower()}-{s}" if s == 3 else f"pbx-{s}")
        for s in range(SERVERS)
    )
    templates = [LineTemplate.objects.create(organization=o, name=f"Standard {o.name}") for o in orgs if o.depth == 2]
    tenants = Tenant.objects.bulk_create(
        Tenant(
            organization=c,
            server=servers[i % (SERVERS - 2)],
            name=f"t{i}",
            label=c.name if RARE in c.name else "",
            licences=10**6,
            sync_state="pending" if i % 10 == 3 else "verified",
        )
        for i, c in enumerate(customers)
    )
    entities = Entity.objects.bulk_create(
        Entity(tenant=t, name="main", display_name=f"{c.name} office", sync_state=t.sync_state)
        for t, c in zip(tenants, customers, strict=True)
    )
    NumberInterval.objects.bulk_create(
        NumberInterval(entity=e, start=str(FIRST_NUMBER), end="999999") for e in entities
    )
    return orgs, customers, tenants, entities, [templates[i // CUSTOMERS_PER_RESELLER] for i in range(len(tenants))]


def build_world(users: int) -> dict:
    from auditlog.models import LogEntry
    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from telephony.models import ImportRun, PbxUser, PhoneNumber, ProvisioningJob
    from telephony.search import catch_up_indexes
    from tenants.models import Membership

    started = time.perf_counter()
    with transaction.atomic():
        orgs, customers, tenants, entities, template_of = build_tree()
        say(f"  {users:>7,} users: {len(orgs):,} organizations, {len(tenants):,} tenants made")
        user_type = ContentType.objects.get_for_model(PbxUser)
        rare, span, start = {0, users // 2, users - 1}, timedelta(days=60), timezone.now() - timedelta(days=60)
        stamped = [ProvisioningJob._meta.get_field("created_at"), ImportRun._meta.get_field("created_at")]
        for field in stamped:  # bulk_create keeps the created_at given (spread over 60 days), not now
            field.auto_now_add = False
        for first in range(0, users, BATCH):
            chunk = [
                PbxUser(
                    tenant=tenants[i % len(tenants)],
                    entity=entities[i % len(tenants)],
                    template=template_of[i % len(tenants)],
                    username=f"user{i}",
                    first_name=f"Given{i % 997}",
                    last_name=RARE if i in rare else f"Family{i}",
                    email=f"user{i}@example.net",
                    internal_number=str(FIRST_NUMBER + i // len(tenants)),
                    sync_state="pending" if i % 20 == 7 else "verified",
                )
                for i in range(first, min(users, first + BATCH))
            ]
            PbxUser.objects.bulk_create(chunk)
            made = [
                (first + n, u, start + span * (first + n) / users, customers[(first + n) % len(tenants)])
                for n, u in enumerate(chunk)
            ]
            PhoneNumber.objects.bulk_create(
                PhoneNumber(
                    number=f"+3120{i:07d}",
                    organization=org,
                    tenant=u.tenant,
                    assigned_user=u,
                    label=RARE if i in rare else "desk",
                    sync_state="pending" if i % 30 == 0 else "verified",
                )
                for i, u, _at, org in made
                if i % 10 == 0 or i in rare
            )
            ProvisioningJob.objects.bulk_create(
                ProvisioningJob(
                    target_type=user_type,
                    target_id=u.pk,
                    target_key=f"pbxuser:{u.pk}",
                    target_label=str(u),
                    operation="user.create",
                    tenant=u.tenant,
                    platform_id=u.tenant.server.platform_id,
                    server=u.tenant.server,
                    created_at=at,
                    status="failed" if i % 50 == 3 else "pending" if i % 50 == 4 else "succeeded",
                    last_error="timeout" if i % 50 == 3 else "",
                )
                for i, u, at, _org in made
            )
            ImportRun.objects.bulk_create(
                ImportRun(
                    kind="users",
                    organization=org,
                    content=b"",
                    created_at=at,
                    file_name=f"{RARE.lower()}.csv" if i in rare else f"users-{i}.csv",
                    status="failed" if i % 70 == 5 else "committed",
                )
                for i, u, at, org in made
                if i % 10 == 5 or i in rare
            )
            LogEntry.objects.bulk_create(
                LogEntry(
                    content_type=user_type,
                    object_pk=str(u.pk),
                    object_id=u.pk,
                    object_repr=str(u),
                    action=1 if i % 10 == 1 else 0,
                    changes={"last_name": ["None", u.last_name]},
                    timestamp=at,
                    additional_data={"org": org.pk, "via": "import #1"},
                )
                for i, u, at, org in made
            )
            if (first + BATCH) % 20_000 == 0:
                say(f"  {users:>7,} users: {first + BATCH:>7,} written ({time.perf_counter() - started:.1f} s)")
        for field in stamped:
            field.auto_now_add = True
        model = get_user_model()
        logins = {
            "superuser": model.objects.create(username="bench.root", is_staff=True, is_superuser=True),
            "reseller": model.objects.create(username="bench.reseller", is_staff=True),
            "customer": model.objects.create(username="bench.customer"),
        }
        Membership.objects.create(user=logins["reseller"], organization=orgs[1], role="admin")
        Membership.objects.create(user=logins["customer"], organization=customers[0], role="admin")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    # What the worker's minute catch-up does after a bulk write (SQLite's jobs and audit search
    # tables; nothing on PostgreSQL), timed apart from the lists.
    indexing = time.perf_counter()
    indexed = catch_up_indexes()
    if any(indexed.values()):
        took = time.perf_counter() - indexing
        say(f"  {users:>7,} users: {sum(indexed.values()):,} jobs and entries indexed for search ({took:.1f} s)")
    say(f"  {users:>7,} users: world built in {time.perf_counter() - started:.1f} s")
    return {"logins": logins, "build_s": time.perf_counter() - started}


def plain_site_urls() -> str:
    """A URLconf of the run's own: the project's, and the plain admin at /plain/."""
    from django.apps import apps
    from django.contrib import admin
    from django.test.utils import override_settings
    from django.urls import path

    from benchmarks.support.api_lists import plain_api_patterns
    from portal.urls import urlpatterns

    site = admin.AdminSite(name="plain")
    for model_name, _url, field, _value in LISTS.values():
        model = apps.get_model(model_name)
        search = list(admin.site._registry[model].search_fields)
        site.register(
            model,
            type(
                f"Plain{model.__name__}Admin",
                (admin.ModelAdmin,),
                # the project's page size: the same rows on a page, the same page 500
                {"search_fields": search, "list_filter": [field], "list_per_page": PAGE_ROWS},
            ),
        )
    module = types.ModuleType("benchmarks_admin_lists_urls")
    module.urlpatterns = [path("plain/", site.urls), *plain_api_patterns(), *urlpatterns]
    sys.modules[module.__name__] = module
    override_settings(ROOT_URLCONF=module.__name__).enable()
    return module.__name__


def result_rows(html: str) -> int:
    """The rows of an admin changelist's result table."""
    table = html.split('id="result_list"', 1)
    return table[1].split("</table>", 1)[0].count("<tr") - 1 if len(table) == 2 else 0


def rows_seen(name: str, site: str, login) -> int:
    """How many rows a login's list holds (its pages' links stop at the rows the list counted)."""
    from django.apps import apps
    from django.contrib import admin
    from django.test import RequestFactory

    model = apps.get_model(LISTS[name][0])
    if site == "plain":
        return model._default_manager.count()
    request = RequestFactory().get("/")
    request.user = login
    return admin.site._registry[model].get_queryset(request).count()


def page_rows(name: str, site: str) -> int:
    from django.apps import apps
    from django.contrib import admin

    return PAGE_ROWS if site == "plain" else admin.site._registry[apps.get_model(LISTS[name][0])].list_per_page


def serve(world: dict, users: int) -> None:
    """Checks every page once, answers `ready` with the facts, then the parent's orders (a case and
    a number of runs: the time of every request), one JSON line each, until stdin closes."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from benchmarks.support.api_lists import api_orders, api_rows
    from benchmarks.support.orders import answer_timing_orders, reply

    plain_site_urls()
    clients = {}
    for login in ("superuser", "reseller", "customer"):
        clients[login] = Client(SERVER_NAME="localhost")  # an allowed host, without the test environment
        clients[login].force_login(world["logins"][login])
    clients["plain"] = clients["superuser"]
    orders: dict[str, tuple] = {}
    for name, (_model, url_name, field, value) in LISTS.items():
        if not chosen(name):
            continue
        for login, site in (("superuser", "admin"), ("reseller", "admin"), ("plain", "plain")):
            url = reverse(f"{site}:{url_name}_changelist")
            rows = rows_seen(name, site, world["logins"]["superuser" if login == "plain" else login])
            pages = max(1, rows // page_rows(name, site))  # full pages: the last may hold a few rows
            params = {
                "default": {},
                "search": {"q": RARE.lower()},
                "filter": {f"{field}__exact": value},
                "page500": {"p": min(500, pages)},
            }
            for case in CASES:
                orders[f"{name}/{login}/{case}"] = (login, url, params[case], params[case].get("p"))
    for key, (url_name, params, _plain) in SELF_SERVICE.items():
        page, case = key.split("/")
        if chosen(page):
            orders[f"{page}/customer/{case}"] = ("customer", reverse(url_name), params, None)
    api = api_orders(world["logins"], RARE, PAGE_ROWS)
    orders.update({key: order for key, order in api.items() if chosen(key.split("/")[0])})

    def ask(key: str):
        login, url, params, _page = orders[key]
        return clients[login].get(url, params)

    facts = {}
    for key, (_login, url, params, page) in orders.items():
        answer = ask(key)
        html = answer.content.decode()
        if key.startswith("api "):
            rows = api_rows(answer.content)
        elif key.startswith("self-service"):
            rows = html.count(RARE if "search" in key else "Given")
        else:
            rows = result_rows(html)
        if answer.status_code != 200 or rows == 0 or ("search" in key and rows > 20):
            raise SystemExit(f"{key}: {answer.status_code}, {rows} rows: {url} {params} {html[:300]!r}")
        for _ in range(WARMUP - 1):
            ask(key)
        with CaptureQueriesContext(connection) as captured:
            ask(key)
        facts[key] = {"queries": len(captured.captured_queries), "rows": rows, "page": page}
    reply({"ready": True, "users": users, "database": connection.vendor, "build_s": world["build_s"], "cases": facts})
    answer_timing_orders(ask)


# --- the parent: the sizes in turn, the table, the ratios ----------------------------------------


class Child:
    """One size's world in a process of its own, answering orders."""

    def __init__(self, users: int):
        self.users = users
        command = [sys.executable, __file__, "--child", str(users)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise SystemExit(f"the run at {self.users:,} users failed (exit {self.process.returncode})")
        return json.loads(line)

    def time(self, case: str, runs: int) -> list[float]:
        self.process.stdin.write(json.dumps({"case": case, "runs": runs}) + "\n")
        self.process.stdin.flush()
        return self.read()["timings"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, metavar="USERS")
    parser.add_argument("--runs", type=int, default=RUNS, help="timed requests per case and size")
    parser.add_argument(
        "--lists",
        nargs="+",
        metavar="LIST",
        help='only these lists or pages, by their names in the table ("jobs", "api jobs", "self-service users")',
    )
    args = parser.parse_args()
    if len(args.sizes) < 2 or min(args.sizes) < 10:
        parser.error("--sizes: at least two sizes of 10 users or more")
    if args.lists:
        if any(name.startswith("self-service") for name in args.lists):
            args.lists.append("pbx users")  # the plain list they are compared with
        os.environ[ONLY] = ",".join(args.lists)
    started = time.perf_counter()
    children = [Child(users) for users in args.sizes]  # all build at once
    try:
        facts = [child.read() for child in children]
        say(f"  all worlds built and checked ({time.perf_counter() - started:.0f} s); timing")
        keys = list(facts[0]["cases"])
        timings: list[dict[str, list[float]]] = [{key: [] for key in keys} for _ in children]
        for round_ in range(args.runs):  # the sizes take turns, so that a busy moment falls on all
            turns = list(enumerate(children))
            for key in keys:
                for index, child in turns if round_ % 2 == 0 else reversed(turns):
                    timings[index][key] += child.time(key, 1)
    finally:
        for child in children:
            child.close()
    report(args, facts, timings, started)


def report(args: argparse.Namespace, facts: list[dict], timings: list[dict], started: float) -> None:
    sizes = args.sizes
    median = [{key: statistics.median(runs) for key, runs in t.items()} for t in timings]
    p95 = {key: sorted(runs)[int(len(runs) * 0.95)] for key, runs in timings[-1].items()}
    say(
        f"database: {facts[0]['database']}; worlds built in "
        + ", ".join(f"{f['build_s']:.0f} s ({f['users']:,} users)" for f in facts)
        + f"; {args.runs} requests per case after {WARMUP} to warm up, the sizes taking turns"
    )
    heads = [f"ms@{s // 1000}k" if s >= 1000 else f"ms@{s}" for s in sizes]
    say(
        f"{'list':<24}{'login':<10}{'case':<9}"
        + "".join(f"{h:>9}" for h in heads)
        + f"{'p95':>8}"  # at the largest size
        + "".join(f"{'plain' + h[2:]:>10}" for h in heads)
        + f"{'ratio':>7}{'growth':>7}{'plain gr':>9}  queries (plain)"
    )
    ratios, growths, differing = {}, {}, []
    for key in facts[0]["cases"]:
        page, login, case = key.split("/")
        if login == "plain":
            continue
        plain = SELF_SERVICE[f"{page}/{case}"][2] if login == "customer" else f"{page}/plain/{case}"
        ratios[key] = max(m[key] / m[plain] for m in median)
        growths[key] = median[-1][key] / median[0][key]
        queries = [f["cases"][key]["queries"] for f in facts]
        if len(set(queries)) > 1:
            differing.append(key)
        label = case if case != "page500" else "p" + "/".join(str(f["cases"][key]["page"]) for f in facts)
        over = ratios[key] > TARGET_RATIO or growths[key] > TARGET_GROWTH
        say(
            f"{page:<24}{login:<10}{label:<9}"
            + "".join(f"{m[key]:>9.1f}" for m in median)
            + f"{p95[key]:>8.1f}"
            + "".join(f"{m[plain]:>10.1f}" for m in median)
            + f"{ratios[key]:>7.2f}{growths[key]:>7.2f}{median[-1][plain] / median[0][plain]:>9.2f}  "
            + "/".join(map(str, queries))
            + f" ({facts[-1]['cases'][plain]['queries']})"
            + ("  <- over" if over else "")
        )
    say(
        f"ratio: median(project) ÷ median(plain admin, same model and case, superuser), the worst of the sizes "
        f"(target ≤ {TARGET_RATIO}); growth: median at {sizes[-1]:,} ÷ at {sizes[0]:,} users (target ≤ "
        f"{TARGET_GROWTH}); page500: the page asked at each size (500, or the last full page when there are fewer)"
    )
    if differing:
        say("queries per page differ between the sizes: " + ", ".join(differing))
    worst_ratio, worst_growth = max(ratios, key=ratios.get), max(growths, key=growths.get)
    say(
        f"worst ratio vs plain: {ratios[worst_ratio]:.2f} ({worst_ratio}); "
        f"worst growth: {growths[worst_growth]:.2f} ({worst_growth})"
    )
    say(f"whole run {time.perf_counter() - started:.0f} s")
    worst = worst_ratio if ratios[worst_ratio] / TARGET_RATIO >= growths[worst_growth] / TARGET_GROWTH else worst_growth
    say(
        f"RESULT worst_ratio_vs_plain={ratios[worst_ratio]:.2f} worst_growth_1k_100k={growths[worst_growth]:.2f} "
        f"worst_case={worst.replace(' ', '-')} database={facts[0]['database']}"
    )


if __name__ == "__main__":
    if CHILD:
        child(int(sys.argv[2]))
    else:
        main()
