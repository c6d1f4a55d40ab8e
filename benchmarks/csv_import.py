"""How fast is the CSV importer, against django-import-export 4.x on the same model and file?

Generates user files of 10,000 and 100,000 rows (tenant, entity, internal number, names, username,
e-mail, mobile, template, voicemail, no-answer timeout) and times "validate + commit" on a fresh
SQLite database, each measurement in its own process (so that its peak memory is its own):

- ours: decode and sniff the file, check every row with the rules of a single create, write every
  user, its audit row and one provisioning job per user in one transaction (jobs created, not
  pushed); "ours-bare" leaves the audit rows and jobs out, to show what they cost;
- django-import-export as a competent user would set it up: foreign keys resolved from a cache,
  yes/no parsed as the portal parses it, `clean_model_instances`, bulk writes, no diff ("ie");
  "ie+extras" also writes the same audit rows and jobs in bulk after the import (the same work as
  ours); "ie-default" is its plain ModelResource, for reference.

Every run is checked on its output: each saved user field by field against its row of the file.
Queries count each statement an executemany runs. django-import-export runs on the 10,000-row file
only (pass --ie-100k to run it on 100,000 too). Prints rows/s, queries and peak memory (the
process's peak RSS, Django included). Targets: 100k rows under 10 s and 300 MiB.

    .venv/bin/python benchmarks/csv_import.py

One measurement alone prints its JSON line, which also holds the CPU time of the timed part
(steadier than the wall time on a machine others use):

    .venv/bin/python benchmarks/csv_import.py --child ours 20000
"""

from __future__ import annotations

import atexit
import csv
import io
import json
import os
import resource
import shutil
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
    atexit.register(shutil.rmtree, database.parent, ignore_errors=True)  # up to 250 MB at 100k rows
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
    statements = [0]

    def count(execute, sql, params, many, context):
        # an executemany is as many statements as it has parameter sets: each is counted (as the
        # sets stream by, since ours streams them from a generator)
        if not many:
            statements[0] += 1
            return execute(sql, params, many, context)

        def counted(sets):
            for values in sets:
                statements[0] += 1
                yield values

        return execute(sql, counted(params), many, context)

    if engine.startswith("ours"):
        from telephony.imports import audit, user_writes
        from telephony.imports.reading import read_csv
        from telephony.imports.users import UserImport

        if engine == "ours-bare":  # what the audit rows and the jobs cost: leave them out
            audit.AuditWriter.write = lambda self, *args, **kwargs: None
            user_writes.JobWriter.write = lambda self, *args, **kwargs: None
        started = time.perf_counter()
        preview = UserImport(actor=staff, mode="create", tenant=tenant, template=template).run(read_csv(data))
        result["preview_seconds"] = time.perf_counter() - started
        assert preview.error_total == 0, preview.errors[:5]
        started, cpu_started = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(count):
            csv_file = read_csv(data)
            with transaction.atomic():
                batch = ProvisioningBatch.objects.create(organization=customer, label="bench", created_by=staff)
                outcome = UserImport(actor=staff, mode="create", tenant=tenant, template=template).run(
                    csv_file, commit=True, batch=batch, dispatch=False
                )
        result["seconds"] = time.perf_counter() - started
        result["cpu_seconds"] = time.process_time() - cpu_started
        assert outcome.error_total == 0 and outcome.created == rows, outcome.errors[:5]
    else:
        import tablib
        from import_export import fields, resources, widgets
        from import_export.instance_loaders import CachedInstanceLoader

        resource_class = _import_export_resource(engine, fields, resources, widgets, CachedInstanceLoader, staff)
        started, cpu_started = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(count):
            dataset = tablib.Dataset().load(data.decode(), format="csv")
            with transaction.atomic():
                outcome = resource_class().import_data(dataset, dry_run=False, raise_errors=True)
        result["seconds"] = time.perf_counter() - started
        result["cpu_seconds"] = time.process_time() - cpu_started
        assert not outcome.has_errors()
    result["queries"] = statements[0]
    result["jobs"] = ProvisioningJob.objects.count()
    result["audit_rows"] = _audit_rows()
    result["checked"] = _check_rows(data, tenant, entity, template)
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


BOOLEAN_TRUE = ("1", "y", "yes", "true", "t", "on", "x", "enabled", "oui", "ja", "si")


def _import_export_resource(engine, fields, resources, widgets, instance_loader, staff):
    """django-import-export as a competent user would set it up for this file: foreign keys from a
    cache (one query each), yes/no read as the portal reads it, every instance validated
    (`clean_model_instances`), bulk writes, no diff. "ie-default" is its plain ModelResource."""
    from telephony.models import Entity, JobDependency, LineTemplate, PbxUser, ProvisioningJob, Tenant

    class CachedForeignKey(widgets.ForeignKeyWidget):
        def clean(self, value, row=None, **kwargs):
            if not hasattr(self, "_by_key"):
                self._by_key = {getattr(obj, self.field): obj for obj in self.get_queryset(value, row, **kwargs)}
            return self._by_key.get(value) if value else None

    class YesNo(widgets.BooleanWidget):
        TRUE_VALUES = [*BOOLEAN_TRUE, *(value.upper() for value in BOOLEAN_TRUE), True, 1]
        FALSE_VALUES = ["0", "n", "no", "false", "f", "off", "", "NO", "FALSE", False, 0]

    foreign_key = widgets.ForeignKeyWidget if engine == "ie-default" else CachedForeignKey

    class UserResource(resources.ModelResource):
        tenant = fields.Field(attribute="tenant", column_name="tenant", widget=foreign_key(Tenant, "name"))
        entity = fields.Field(attribute="entity", column_name="entity", widget=foreign_key(Entity, "name"))
        template = fields.Field(attribute="template", column_name="template", widget=foreign_key(LineTemplate, "name"))
        if engine != "ie-default":
            voicemail_enabled = fields.Field(
                attribute="voicemail_enabled", column_name="voicemail_enabled", widget=YesNo()
            )

        class Meta:
            model = PbxUser
            import_id_fields = ("username",)
            fields = tuple(HEADER)
            if engine != "ie-default":
                use_bulk = True
                batch_size = 1000
                skip_diff = True
                clean_model_instances = True
                instance_loader_class = instance_loader

        def after_import(self, dataset, result, **kwargs):
            if engine != "ie+extras":
                return
            # the same extras as ours: one audit row and one provisioning job per user, in bulk
            from auditlog.models import LogEntry
            from django.contrib.contenttypes.models import ContentType

            from telephony.provisioning.bulk import PayloadCache

            user_type = ContentType.objects.get_for_model(PbxUser)
            cache = PayloadCache()
            users = list(PbxUser.objects.select_related("tenant__server__platform", "entity", "template"))
            LogEntry.objects.bulk_create(
                [
                    LogEntry(
                        content_type=user_type,
                        object_pk=str(user.pk),
                        object_id=user.pk,
                        object_repr=str(user)[:200],
                        action=LogEntry.Action.CREATE,
                        changes={name: ["None", str(getattr(user, name))] for name in HEADER[2:]},
                        actor=staff,
                    )
                    for user in users
                ],
                batch_size=1000,
            )
            jobs = ProvisioningJob.objects.bulk_create(
                [
                    ProvisioningJob(
                        target_type=user_type,
                        target_id=user.pk,
                        target_key=f"pbxuser:{user.pk}",
                        target_label=str(user)[:300],
                        operation="user.create",
                        payload={"user": cache.user(user, numbers=[]), "tenant": cache.tenant_ref(user.tenant)},
                        platform=user.tenant.server.platform,
                        server=user.tenant.server,
                        tenant=user.tenant,
                        created_by=staff,
                    )
                    for user in users
                ],
                batch_size=1000,
            )
            JobDependency.objects.bulk_create(
                [
                    JobDependency(job=job, target_key=key)
                    for job, user in zip(jobs, users, strict=True)
                    for key in (f"tenant:{user.tenant_id}", f"entity:{user.entity_id}")
                ],
                batch_size=1000,
            )

    return UserResource


def _audit_rows() -> int:
    from auditlog.models import LogEntry

    return LogEntry.objects.filter(content_type__model="pbxuser").count()


def _check_rows(data: bytes, tenant, entity, template) -> dict:
    """Every saved user, field by field, against its row of the file: how many match, and the
    first that does not (a run whose output is wrong is no comparison)."""
    from telephony.models import PbxUser

    names = ["internal_number", "first_name", "last_name", "username", "email", "mobile_number"]
    saved = {
        row[3]: row
        for row in PbxUser.objects.values_list(
            *names, "tenant_id", "entity_id", "template_id", "voicemail_enabled", "forward_no_answer_timeout"
        )
    }
    matched, first_wrong, lines = 0, "", 0
    for line in csv.DictReader(io.StringIO(data.decode())):
        lines += 1
        wanted = (
            *(line[name] for name in names),
            tenant.pk,
            entity.pk,
            template.pk,
            line["voicemail_enabled"] == "yes",
            int(line["forward_no_answer_timeout"]),
        )
        got = saved.get(line["username"])
        if got == wanted:
            matched += 1
        elif not first_wrong:
            first_wrong = f"{line['username']}: saved {got}, the file says {wanted}"
    if len(saved) != lines and not first_wrong:
        first_wrong = f"{len(saved)} users saved for {lines} rows"
    return {"matched": matched, "wrong": lines - matched, "first_wrong": first_wrong}


def measure(engine: str, rows: int) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(rows)], capture_output=True, text=True, timeout=3600
    )
    if completed.returncode != 0:
        raise SystemExit(f"{engine} on {rows} rows failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    runs = [
        ("ours", 10_000),
        ("ours-bare", 10_000),
        ("ours", 100_000),
        ("ie", 10_000),
        ("ie+extras", 10_000),
        ("ie-default", 10_000),
    ]
    if "--ie-100k" in sys.argv:
        runs += [("ie", 100_000), ("ie+extras", 100_000)]
    results = {}
    print(
        f"{'engine':<12}{'rows':>9}{'seconds':>10}{'rows/s':>10}{'queries':>9}{'jobs':>9}{'audit':>9}{'peak MiB':>10}"
    )
    for engine, rows in runs:
        result = measure(engine, rows)
        results[(engine, rows)] = result
        print(
            f"{engine:<12}{rows:>9,}{result['seconds']:>10.2f}{rows / result['seconds']:>10,.0f}"
            f"{result['queries']:>9,}{result['jobs']:>9,}{result['audit_rows']:>9,}{result['peak_mib']:>10.0f}",
            flush=True,
        )
        checked = result["checked"]
        print(
            f"{'':<12}{'':>9}  output checked field by field: {checked['matched']:,} rows right"
            + (f", {checked['wrong']:,} WRONG, e.g. {checked['first_wrong']}" if checked["wrong"] else "")
        )
        if engine == "ours":
            print(f"{'':<12}{'':>9}  (preview alone, nothing written: {result['preview_seconds']:.2f} s)")
    wrong = [f"{engine}/{rows}" for (engine, rows), result in results.items() if result["checked"]["wrong"]]
    for name in wrong:
        print(f"{name}: its output is wrong, so it is no comparison (left out of the ratios)")
    ours_10k, ours_100k = results[("ours", 10_000)], results[("ours", 100_000)]
    bare = results[("ie", 10_000)]["seconds"] / results[("ours-bare", 10_000)]["seconds"]
    extras = results[("ie+extras", 10_000)]["seconds"] / ours_10k["seconds"]
    ie_default = results[("ie-default", 10_000)]
    default = "wrong_output" if ie_default["checked"]["wrong"] else f"{ie_default['seconds'] / ours_10k['seconds']:.1f}"
    print(
        f"RESULT speedup_vs_ie_same_work={extras:.1f} speedup_vs_ie_rows_only={bare:.1f} "
        f"speedup_vs_ie_default={default} wrong_outputs={len(wrong)} "
        f"rows_per_s_100k={100_000 / ours_100k['seconds']:.0f} peak_mib_100k={ours_100k['peak_mib']:.0f} "
        f"queries_10k={ours_10k['queries']} queries_100k={ours_100k['queries']}"
    )


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
