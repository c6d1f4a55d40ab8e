"""How fast is the CSV importer, against django-import-export 4.x on the same model and file?

Generates user files of 10,000 and 100,000 rows (tenant, entity, internal number, names, username,
e-mail, mobile, template, voicemail, no-answer timeout) and times "validate + commit" on a fresh
SQLite database, each measurement in its own process (so that its peak memory is its own):

- ours: decode and sniff the file, check every row with the rules of a single create, write every
  user and one provisioning job per user in one transaction (jobs created, not pushed);
- django-import-export's default ModelResource (tenant, entity and template looked up by name);
- its tuned resource: use_bulk, skip_diff and CachedInstanceLoader.

django-import-export runs on the 10,000-row file only (its default mode needs minutes for 100,000;
pass --ie-100k to run it anyway). Prints rows/s, queries and peak memory (the process's peak RSS,
Django included). Targets on 10k rows: ≥ 10× the default and ≥ 3× the tuned mode; 100k rows under
10 s and 300 MiB; the query count independent of the row count.

    .venv/bin/python benchmarks/csv_import.py
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000)
HEADER = [
    "tenant",
    "entity",
    "internal_number",
    "first_name",
    "last_name",
    "username",
    "email",
    "mobile_number",
    "template",
    "voicemail_enabled",
    "forward_no_answer_timeout",
]


def users_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(rows):
        writer.writerow(
            [
                "acme",
                "main",
                str(100000 + i),
                "Ada",
                f"Lovelace{i}",
                f"user{i}",
                f"user{i}@example.net",
                f"+3161{i:07d}",
                "Standard",
                "yes" if i % 2 else "no",
                "25",
            ]
        )
    return out.getvalue().encode()


def child(engine: str, rows: int) -> None:
    """Runs in a fresh process on a fresh database; prints one JSON line."""
    database = Path(tempfile.mkdtemp(prefix="bench-import-")) / "bench.sqlite3"
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "DJANGO_DEBUG": "false",  # as in production: no query log kept in memory
            "DJANGO_SECRET_KEY": "benchmark-only-secret-key-" + "x" * 30,
            "FIELD_ENCRYPTION_KEYS": "benchmark-only-field-key",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from telephony.models import (
        Entity,
        LineTemplate,
        NumberInterval,
        PbxUser,
        Platform,
        ProvisioningBatch,
        ProvisioningJob,
        Server,
        Tenant,
    )
    from tenants.models import Membership, Organization

    call_command("migrate", verbosity=0)
    distributor = Organization.objects.add_root(instance=Organization(name="Distributor", kind="distributor"))
    reseller = Organization.objects.add_child(distributor, instance=Organization(name="Reseller", kind="reseller"))
    reseller = Organization.objects.get(pk=reseller.pk)
    customer = Organization.objects.add_child(reseller, instance=Organization(name="Acme", kind="customer"))
    # XC5 keeps voicemail per user, which the generated rows set (XCU takes it from the template).
    platform = Platform.objects.create(
        organization=distributor, name="xc5", kind="xc5", base_url="https://xc5.example.net/api-sys/", username="u"
    )
    server = Server.objects.create(platform=platform, name="xc5-1")
    tenant = Tenant.objects.create(organization=customer, server=server, name="acme", licences=1_000_000)
    entity = Entity.objects.create(tenant=tenant, name="main")
    NumberInterval.objects.create(entity=entity, start="100000", end="999999")
    template = LineTemplate.objects.create(organization=reseller, name="Standard")
    staff = get_user_model().objects.create(username="bench.staff", is_staff=True)
    Membership.objects.create(user=staff, organization=reseller, role="operator")
    data = users_csv(rows)
    result = {"engine": engine, "rows": rows}
    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)  # one statement, however many rows an executemany writes
        return execute(sql, params, many, context)

    if engine == "ours":
        from telephony.imports.reading import read_csv
        from telephony.imports.users import UserImport

        started = time.perf_counter()
        preview = UserImport(actor=staff, mode="create", tenant=tenant, template=template).run(read_csv(data))
        result["preview_seconds"] = time.perf_counter() - started
        assert preview.error_total == 0, preview.errors[:5]
        started = time.perf_counter()
        with connection.execute_wrapper(count):
            csv_file = read_csv(data)
            with transaction.atomic():
                batch = ProvisioningBatch.objects.create(organization=customer, label="bench", created_by=staff)
                outcome = UserImport(actor=staff, mode="create", tenant=tenant, template=template).run(
                    csv_file, commit=True, batch=batch, dispatch=False
                )
        result["seconds"] = time.perf_counter() - started
        assert outcome.error_total == 0 and outcome.created == rows, outcome.errors[:5]
        result["queries"] = len(statements)
        result["jobs"] = ProvisioningJob.objects.filter(batch=batch).count()
    else:
        import tablib
        from import_export import fields, resources, widgets
        from import_export.instance_loaders import CachedInstanceLoader

        class DefaultUserResource(resources.ModelResource):
            tenant = fields.Field(
                attribute="tenant", column_name="tenant", widget=widgets.ForeignKeyWidget(Tenant, "name")
            )
            entity = fields.Field(
                attribute="entity", column_name="entity", widget=widgets.ForeignKeyWidget(Entity, "name")
            )
            template = fields.Field(
                attribute="template", column_name="template", widget=widgets.ForeignKeyWidget(LineTemplate, "name")
            )

            class Meta:
                model = PbxUser
                import_id_fields = ("username",)
                fields = tuple(HEADER)

        class TunedUserResource(DefaultUserResource):
            class Meta(DefaultUserResource.Meta):
                use_bulk = True
                skip_diff = True
                instance_loader_class = CachedInstanceLoader

        resource_class = TunedUserResource if engine == "ie-tuned" else DefaultUserResource
        started = time.perf_counter()
        with connection.execute_wrapper(count):
            dataset = tablib.Dataset().load(data.decode(), format="csv")
            outcome = resource_class().import_data(dataset, dry_run=False, raise_errors=True)
        result["seconds"] = time.perf_counter() - started
        assert not outcome.has_errors() and PbxUser.objects.count() == rows
        result["queries"] = len(statements)
        result["jobs"] = ProvisioningJob.objects.count()
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(engine: str, rows: int) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(rows)], capture_output=True, text=True, timeout=3600
    )
    if completed.returncode != 0:
        raise SystemExit(f"{engine} on {rows} rows failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    runs = [("ours", 10_000), ("ours", 100_000), ("ie-default", 10_000), ("ie-tuned", 10_000)]
    if "--ie-100k" in sys.argv:
        runs += [("ie-default", 100_000), ("ie-tuned", 100_000)]
    results = {}
    print(f"{'engine':<12}{'rows':>9}{'seconds':>10}{'rows/s':>10}{'queries':>9}{'jobs':>9}{'peak MiB':>10}")
    for engine, rows in runs:
        result = measure(engine, rows)
        results[(engine, rows)] = result
        queries = result["queries"]
        print(
            f"{engine:<12}{rows:>9,}{result['seconds']:>10.2f}{rows / result['seconds']:>10,.0f}"
            f"{queries:>9}{result['jobs']:>9,}{result['peak_mib']:>10.0f}",
            flush=True,
        )
        if engine == "ours":
            print(f"{'':<12}{'':>9}  (preview alone, nothing written: {result['preview_seconds']:.2f} s)")
    ours_10k, ours_100k = results[("ours", 10_000)], results[("ours", 100_000)]
    default = results[("ie-default", 10_000)]["seconds"] / ours_10k["seconds"]
    tuned = results[("ie-tuned", 10_000)]["seconds"] / ours_10k["seconds"]
    print(
        f"RESULT speedup_vs_default={default:.1f} speedup_vs_tuned={tuned:.1f} "
        f"rows_per_s_100k={100_000 / ours_100k['seconds']:.0f} peak_mib_100k={ours_100k['peak_mib']:.0f} "
        f"queries_10k={ours_10k['queries']} queries_100k={ours_100k['queries']}"
    )


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
