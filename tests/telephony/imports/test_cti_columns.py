"""CTI credential columns in the users import, through the admin pages, with the jobs run over HTTP
against the Xelion and CTI simulators: credentials for many users in one import and pushed; a bad
row changes nothing; secrets never in the preview, errors, import record, jobs, logs or the export;
export → import round-trips; a hostile client id is stored verbatim and shown escaped."""

from __future__ import annotations

import csv
import io
import json

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from telephony.imports.export import export_users
from telephony.imports.reading import read_csv
from telephony.imports.users import UserImport
from telephony.models import (
    CtiUserCredentials,
    ImportRun,
    ImportStatus,
    JobAttempt,
    PbxUser,
    ProvisioningBatch,
    ProvisioningJob,
)
from tests.telephony.cti_world import cti_world, run_all
from tests.telephony.imports.conftest import build_import_world
from tests.telephony.test_cti_integrations import create

pytestmark = pytest.mark.django_db

HOSTILE = "{{ 7*7 }} <img src=x onerror=alert(1)>"
USERS = 40


@pytest.fixture
def world(serve, tree):
    return cti_world(serve, tree.reseller, tree.customer, users=USERS)


@pytest.fixture
def integrated(world, superuser):
    create(world, superuser)
    assert set(run_all().values()) == {"succeeded"}
    return world


def exported(actor) -> list[dict[str, str]]:
    text = "".join(export_users(PbxUser.objects.all(), actor))
    return list(csv.DictReader(io.StringIO(text)))


def as_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(client, world, data: bytes, mode: str = "update"):
    form = {
        "file": SimpleUploadedFile("cti.csv", data, content_type="text/csv"),
        "mode": mode,
        "encoding": "",
        "tenant": world.tenant.pk,
        "template": "",
    }
    response = client.post(reverse("admin:telephony_pbxuser_import"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportRun.objects.latest("pk"), client.get(response["Location"]).content.decode()


def with_credentials(rows, *, secret=lambda n: f"user-secret-{n:03}", start=1):
    for n, row in enumerate(rows, start=start):
        row["cti_client_id"] = f"client-{n}"
        row["cti_client_secret"] = secret(n)
        row["cti_refresh_token"] = f"refresh-{n:03}" if n % 2 else ""
    return rows


def everything_kept() -> str:
    """Every place a secret must never reach, as one text."""
    runs = list(ImportRun.objects.values_list("preview", "errors", "message", "columns"))
    return json.dumps(
        [
            runs,
            list(ProvisioningJob.objects.values_list("payload", "last_error")),
            list(JobAttempt.objects.values_list("exchanges", flat=True)),
            list(LogEntry.objects.values_list("changes", flat=True)),
        ],
        default=str,
    )


def test_an_import_gives_many_users_cti_credentials_and_their_jobs_push_them(integrated, superuser, client):
    world = integrated
    client.force_login(superuser)
    rows = with_credentials(exported(superuser))
    assert {row["cti_client_secret"] for row in exported(superuser)} == {""}
    run, page = upload(client, world, as_csv(rows))
    assert run.status == ImportStatus.VALIDATED, run.errors
    assert (run.update_count, run.error_count) == (USERS, 0)
    assert "client-1" in page and "user-secret-001" not in page and "refresh-001" not in page
    assert run.preview[0]["cti_client_secret"] == "••••"
    assert not CtiUserCredentials.objects.exists(), "the preview writes nothing"

    client.post(reverse("admin:telephony_importrun_confirm", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == ImportStatus.COMMITTED, (run.message, run.errors)
    jobs = ProvisioningJob.objects.filter(batch=run.batch)
    assert jobs.filter(operation="cti.user.upsert").count() == USERS
    assert not jobs.exclude(operation="cti.user.upsert").exists(), "the users themselves did not change"

    outcomes = run_all()
    assert set(outcomes.values()) == {"succeeded"}, outcomes
    held = {u["xelionUsername"]: u for u in world.cti.simulator.state["users"].values()}
    assert len(held) == USERS
    assert (held["user1"]["_clientId"], held["user1"]["_clientSecret"]) == ("client-1", "user-secret-001")
    assert held["user1"]["_refreshToken"] == "refresh-001"
    assert CtiUserCredentials.objects.filter(sync_state="verified").count() == USERS

    kept = everything_kept()
    for n in (1, 2, USERS):
        assert f"user-secret-{n:03}" not in kept
    assert "refresh-001" not in kept

    again = exported(superuser)
    assert again[0]["cti_client_id"] == "client-1"
    assert {row[name] for row in again for name in ("cti_client_secret", "cti_refresh_token", "cti_device_code")} == {
        ""
    }, "secrets are write-only"
    round_trip = UserImport(actor=superuser, mode="update", tenant=world.tenant).run(read_csv(as_csv(again)))
    assert (round_trip.error_total, round_trip.updated, round_trip.skipped) == (0, 0, USERS)


def test_new_users_of_an_import_get_credentials_after_their_create(integrated, superuser):
    world = integrated
    lines = [
        "first_name,last_name,username,exten,entity,template,cti_client_id,cti_device_code",
        f"New,One,newone,1901,{world.users[0].entity.name},{world.users[0].template.name},new-client,device-1",
    ]
    importer = UserImport(actor=superuser, mode="create", tenant=world.tenant)
    batch = ProvisioningBatch.objects.create(organization=world.tenant.organization, label="t")
    with transaction.atomic():
        outcome = importer.run(read_csv("\n".join(lines).encode()), commit=True, batch=batch, dispatch=False)
    assert outcome.error_total == 0 and outcome.created == 1, outcome.errors
    user = PbxUser.objects.get(username="newone")
    credentials = CtiUserCredentials.objects.get(user=user)
    assert (credentials.client_id, credentials.device_code) == ("new-client", "device-1")
    job = ProvisioningJob.objects.get(operation="cti.user.upsert")
    assert job.payload["username"] == "newone" and "device-1" not in json.dumps(job.payload)
    assert f"pbxuser:{user.pk}" in set(job.dependencies.values_list("target_key", flat=True))


def test_a_bad_row_changes_nothing_and_never_repeats_a_secret(integrated, superuser, client):
    world = integrated
    client.force_login(superuser)
    rows = with_credentials(exported(superuser)[:5])
    rows[2]["cti_client_secret"] = "S" * 501 + "-leaked"
    rows[3]["cti_client_id"] = "c" * 201
    rows[4]["cti_client_secret"] = "=SUM(A1)-formula-secret"  # taken as written: a secret is never exported
    run, page = upload(client, world, as_csv(rows))
    assert run.status == ImportStatus.INVALID
    found = {(row, column): message for row, column, message in run.errors}
    assert set(found) == {(4, "cti_client_secret"), (5, "cti_client_id")}, found
    assert "at most 500 characters" in found[(4, "cti_client_secret")]
    assert "-leaked" not in page and "-leaked" not in everything_kept()
    assert "Import 5 rows" not in page
    assert not CtiUserCredentials.objects.exists() and not ProvisioningJob.objects.filter(batch__isnull=False).exists()


def test_cti_values_for_a_tenant_without_an_integration_are_refused_by_row(world, superuser, tree):
    rows = with_credentials(exported(superuser)[:2])
    outcome = UserImport(actor=superuser, mode="update", tenant=world.tenant).run(read_csv(as_csv(rows)))
    assert [(r, c) for r, c, _m in outcome.errors] == [(2, "cti_client_id"), (3, "cti_client_id")]
    assert "has no CRM integration; set one up first." in outcome.errors[0][2]
    assert "user-secret" not in json.dumps(outcome.errors)

    xcu = build_import_world(tree.reseller, tree.customer, name="other")
    header = "first_name,last_name,exten,username,cti_client_secret"
    outcome = UserImport(actor=superuser, mode="create", tenant=xcu.tenant, template=xcu.template).run(
        read_csv(f"{header}\nAda,Lovelace,1701,ada,top-secret\n".encode())
    )
    [(row, column, message)] = outcome.errors
    assert (row, column) == (2, "cti_client_secret") and "not on a platform" in message
    assert "top-secret" not in message


def test_a_file_without_cti_columns_loads_nothing_of_the_cti(world, superuser):
    rows = exported(superuser)
    for row in rows:
        for name in ("cti_client_id", "cti_client_secret", "cti_refresh_token", "cti_device_code"):
            del row[name]
    importer = UserImport(actor=superuser, mode="update", tenant=world.tenant)
    with CaptureQueriesContext(connection) as queries:
        outcome = importer.run(read_csv(as_csv(rows)))
    assert outcome.skipped == USERS and importer.cti is None
    assert not [q["sql"] for q in queries if "telephony_cti" in q["sql"].lower() or "telephony_crm" in q["sql"].lower()]


def test_a_hostile_client_id_is_stored_verbatim_and_shown_escaped(integrated, superuser, client):
    world = integrated
    client.force_login(superuser)
    rows = exported(superuser)[:1]
    rows[0]["cti_client_id"] = HOSTILE
    run, page = upload(client, world, as_csv(rows))
    assert run.status == ImportStatus.VALIDATED, run.errors
    assert escape(HOSTILE) in page and HOSTILE not in page and "49" not in page.split(escape(HOSTILE))[0][-20:]
    client.post(reverse("admin:telephony_importrun_confirm", args=[run.pk]))
    assert CtiUserCredentials.objects.get().client_id == HOSTILE
    assert set(run_all().values()) == {"succeeded"}
    [held] = world.cti.simulator.state["users"].values()
    assert held["_clientId"] == HOSTILE, "sent verbatim"
    credentials = CtiUserCredentials.objects.get()
    change = client.get(reverse("admin:telephony_ctiusercredentials_change", args=[credentials.pk])).content.decode()
    assert escape(HOSTILE) in change and HOSTILE not in change
