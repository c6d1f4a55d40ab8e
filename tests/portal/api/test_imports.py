"""Issue 17, imports: CSV upload, preview, confirm, progress and errors through the REST API, all by
the importer's own services (telephony/imports/services.py): the same checks and messages as the
admin and the self-service site, another organization's run answering as a missing id."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from telephony.imports import services as import_services
from telephony.models import ImportRun, ImportStatus, PbxUser, ProvisioningJob
from tests.portal.api.test_tokens_and_scope import bearer, token_of

pytestmark = pytest.mark.django_db

API = "/api/v1"
HOSTILE = "<img src=x onerror=alert(1)>"
TEMPLATE_TAG = "{{ 7|add:1 }}"


def users_csv(customer, rows: int = 3, start: int = 2300, bad_row: int | None = None, first_name: str = "Imp") -> bytes:
    lines = ["first_name;last_name;username;exten;email;entity;template"]
    for index in range(rows):
        number = "9999" if index + 1 == bad_row else str(start + index)
        lines.append(
            f"{first_name};Orted {index};imp{index};{number};imp{index}@example.net;sales;{customer.template.name}"
        )
    return ("\n".join(lines) + "\n").encode()


def upload(client, raw: str, content: bytes, name: str = "staff.csv", **fields):
    headers = {key: fields.pop(key) for key in list(fields) if key.startswith("HTTP_")}
    data = {"mode": "create", "file": SimpleUploadedFile(name, content, content_type="text/csv"), **fields}
    return client.post(f"{API}/imports/", data, **bearer(raw), **headers)


def confirm(client, raw: str, run_id: int, **body):
    return client.post(f"{API}/imports/{run_id}/confirm/", body, content_type="application/json", **bearer(raw))


def imported() -> int:
    return PbxUser.objects.filter(username__startswith="imp").count()


def test_upload_then_confirm_makes_the_users_and_their_jobs(client, customer):
    raw = token_of(customer.admin)
    answer = upload(client, raw, users_csv(customer), tenant=customer.tenant.pk)
    assert answer.status_code == 201, answer.json()
    run = answer.json()
    assert run["status"] == "validated" and run["tenant"] == customer.tenant.pk
    assert (run["row_count"], run["create_count"], run["update_count"], run["error_count"]) == (3, 3, 0, 0)
    assert [row["action"] for row in run["preview"]] == ["create"] * 3
    assert run["preview"][0]["last_name"] == "Orted 0" and run["may_confirm"] and run["errors_summary"] == []
    assert answer["Location"].endswith(f"/api/v1/imports/{run['id']}/")
    assert imported() == 0, "nothing written before the confirm"

    done = confirm(client, raw, run["id"])
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "committed" and done.json()["create_count"] == 3
    assert PbxUser.objects.filter(tenant=customer.tenant, username__startswith="imp").count() == 3
    batch = ImportRun.objects.get(pk=run["id"]).batch
    assert done.json()["batch"] == batch.pk
    assert ProvisioningJob.objects.filter(batch=batch, operation="user.create").count() == 3

    progress = client.get(f"{API}/imports/{run['id']}/progress/", **bearer(raw))
    assert progress.status_code == 200 and progress["Cache-Control"] == "no-store"
    assert progress.json() == import_services.import_run_progress(ImportRun.objects.get(pk=run["id"]))
    assert progress.json()["jobs"]["total"] == 3 and not progress.json()["finished"]

    again = confirm(client, raw, run["id"])
    assert again.status_code == 400 and "already imported" in again.json()["non_field_errors"][0]
    assert imported() == 3

    listed = client.get(f"{API}/imports/", **bearer(raw)).json()["results"]
    assert [row["id"] for row in listed] == [run["id"]] and listed[0]["status"] == "committed"
    detail = client.get(f"{API}/imports/{run['id']}/", **bearer(raw))
    assert detail.status_code == 200 and detail["ETag"] and detail.json()["status_label"] == "Imported"


def test_without_a_tenant_the_rows_name_theirs_as_in_the_admin(client, customer):
    raw = token_of(customer.admin)
    lines = [f"tenant,{users_csv(customer).decode().splitlines()[0].replace(';', ',')}"]
    lines.append(f"{customer.tenant.name},Ann,Tenant,imp.ann,2400,ann@example.net,sales,{customer.template.name}")
    answer = upload(client, raw, ("\n".join(lines) + "\n").encode())
    assert answer.status_code == 201, answer.json()
    assert answer.json()["tenant"] is None and answer.json()["organization"] == customer.organization.pk
    assert confirm(client, raw, answer.json()["id"]).status_code == 200
    assert PbxUser.objects.get(username="imp.ann").tenant == customer.tenant


def test_rows_with_errors_answer_400_and_may_be_imported_partially(client, customer):
    raw = token_of(customer.admin)
    answer = upload(client, raw, users_csv(customer, rows=4, bad_row=2), tenant=customer.tenant.pk)
    assert answer.status_code == 400
    body = answer.json()
    assert body["file"] == import_services.described_errors(ImportRun.objects.get(), 50)
    assert "9999 is outside the number plan" in body["file"][0] and body["import"]["status"] == "invalid"
    assert body["import"]["may_confirm_partially"] and not body["import"]["may_confirm"]
    run_id = body["import"]["id"]

    errors = client.get(f"{API}/imports/{run_id}/errors/", **bearer(raw)).json()
    assert errors["count"] == 1
    assert errors["results"][0]["row"] == 3 and errors["results"][0]["column"] == "internal_number"
    assert errors["results"][0]["value"] == "9999" and "number plan" in errors["results"][0]["message"]

    refused = confirm(client, raw, run_id)
    assert refused.status_code == 400 and refused.json()["non_field_errors"] and imported() == 0
    partial = confirm(client, raw, run_id, skip_invalid=True)
    assert partial.status_code == 200, partial.json()
    assert partial.json()["status"] == "committed" and partial.json()["skip_invalid"] and imported() == 3


def test_a_confirm_of_a_run_not_ready_says_the_services_message(client, customer):
    raw = token_of(customer.admin)
    run_id = upload(client, raw, users_csv(customer), tenant=customer.tenant.pk).json()["id"]
    ImportRun.objects.filter(pk=run_id).update(status=ImportStatus.VALIDATING)
    answer = confirm(client, raw, run_id)
    assert answer.status_code == 400
    assert answer.json()["non_field_errors"] == [
        "This import is not ready to be imported (check it again, or it is already imported)."
    ]
    assert imported() == 0


def test_a_large_file_is_checked_by_a_worker(client, customer, settings, monkeypatch):
    monkeypatch.setattr(import_services, "BACKGROUND_BYTES", 10)
    queued = []
    monkeypatch.setattr(import_services, "_queue", lambda run, step: queued.append((run.pk, step)))
    raw = token_of(customer.admin)
    answer = upload(client, raw, users_csv(customer), tenant=customer.tenant.pk)
    assert answer.status_code == 202 and answer.json()["status"] == "validating"
    assert queued == [(answer.json()["id"], "check")]
    progress = client.get(f"{API}/imports/{answer.json()['id']}/progress/", **bearer(raw)).json()
    assert progress["busy"] and progress["status"] == "validating"


@pytest.mark.parametrize(
    "content, said",
    [
        (b"PK\x03\x04rest of a workbook", "not a CSV file"),
        (b"first_name,last_name\n\xc3\xa9\xff\xfe broken,x\n", "not valid UTF-8"),
        (b"", "The file is empty."),
    ],
)
def test_a_file_that_is_no_csv_is_refused_with_the_importers_words_and_nothing_kept(client, customer, content, said):
    raw = token_of(customer.admin)
    answer = upload(client, raw, content, tenant=customer.tenant.pk)
    assert answer.status_code == 400 and said in answer.json()["file"][0], answer.json()
    assert not ImportRun.objects.exists() and imported() == 0


def test_a_file_too_large_is_refused_by_the_service(client, customer, monkeypatch):
    monkeypatch.setattr(import_services, "MAX_FILE_BYTES", 100)
    raw = token_of(customer.admin)
    answer = upload(client, raw, users_csv(customer, rows=10), tenant=customer.tenant.pk)
    assert answer.status_code == 400 and "larger than" in answer.json()["non_field_errors"][0]
    assert not ImportRun.objects.exists()


def test_a_formula_cell_is_refused_and_nothing_imported(client, customer):
    raw = token_of(customer.admin)
    content = users_csv(customer, rows=1, first_name='=HYPERLINK("http://x")')
    answer = upload(client, raw, content, tenant=customer.tenant.pk)
    assert answer.status_code == 400
    assert "looks like a spreadsheet formula" in answer.json()["file"][0]
    assert answer.json()["import"]["status"] == "invalid" and not answer.json()["import"]["may_confirm_partially"]
    assert imported() == 0 and not ProvisioningJob.objects.exists()


def test_another_customers_run_is_404_in_every_endpoint(client, customer, sibling):
    theirs = upload(client, token_of(sibling.admin), users_csv(sibling), tenant=sibling.tenant.pk).json()["id"]
    raw = token_of(customer.admin)
    missing = client.get(f"{API}/imports/99999999/", **bearer(raw))
    assert missing.status_code == 404
    for suffix in ("", "progress/", "errors/"):
        answer = client.get(f"{API}/imports/{theirs}/{suffix}", **bearer(raw))
        assert (answer.status_code, answer.json()) == (404, missing.json()), suffix
    answer = confirm(client, raw, theirs)
    assert (answer.status_code, answer.json()) == (404, missing.json())
    assert client.get(f"{API}/imports/", **bearer(raw)).json()["results"] == []
    for query in ({"tenant": sibling.tenant.pk}, {"organization": sibling.organization.pk}):
        assert client.get(f"{API}/imports/", query, **bearer(raw)).json()["results"] == []
    assert ImportRun.objects.get(pk=theirs).status == ImportStatus.VALIDATED and imported() == 0


def test_another_customers_tenant_in_the_body_reads_as_a_missing_one(client, customer, sibling):
    raw = token_of(customer.admin)
    theirs = upload(client, raw, users_csv(customer), tenant=sibling.tenant.pk)
    missing = upload(client, raw, users_csv(customer), tenant=99999999)
    assert theirs.status_code == missing.status_code == 400
    assert theirs.json()["tenant"] == [m.replace("99999999", str(sibling.tenant.pk)) for m in missing.json()["tenant"]]
    assert not ImportRun.objects.exists()


def test_a_viewer_and_a_read_only_token_read_but_cannot_upload_or_confirm(client, customer, viewer):
    run_id = upload(client, token_of(customer.admin), users_csv(customer), tenant=customer.tenant.pk).json()["id"]
    for raw in (token_of(viewer), token_of(customer.admin, scope="read")):
        assert client.get(f"{API}/imports/{run_id}/", **bearer(raw)).status_code == 200
        assert client.get(f"{API}/imports/{run_id}/progress/", **bearer(raw)).status_code == 200
        assert upload(client, raw, users_csv(customer, start=2500), tenant=customer.tenant.pk).status_code in (403, 404)
        assert confirm(client, raw, run_id).status_code == 403
    assert not client.get(f"{API}/imports/{run_id}/", **bearer(token_of(viewer))).json()["may_confirm"]
    assert ImportRun.objects.count() == 1 and ImportRun.objects.get().status == ImportStatus.VALIDATED
    assert imported() == 0


def test_a_hostile_file_name_and_cells_come_back_as_plain_text(client, customer):
    raw = token_of(customer.admin)
    lines = [
        "first_name;last_name;username;exten;email;entity;template",
        f"{HOSTILE};{TEMPLATE_TAG};imp.h;2300;h@example.net;sales;{customer.template.name}",
        f"Bad;Row;imp.b;2301;h2@example.net;{HOSTILE};{customer.template.name}",
    ]
    content = ("\n".join(lines) + "\n").encode()
    answer = upload(client, raw, content, name=f"{TEMPLATE_TAG}{HOSTILE}.csv", tenant=customer.tenant.pk)
    assert answer.status_code == 400, answer.json()
    assert answer["Content-Type"].startswith("application/json")
    run = answer.json()["import"]
    assert run["file_name"] == f"{TEMPLATE_TAG}{HOSTILE}.csv"
    assert run["preview"][0]["first_name"] == HOSTILE and run["preview"][0]["last_name"] == TEMPLATE_TAG
    errors = client.get(f"{API}/imports/{run['id']}/errors/", **bearer(raw)).json()["results"]
    assert errors[0]["value"] == HOSTILE and errors[0]["column"] == "entity"
    assert any(HOSTILE in said for said in answer.json()["file"])
    body = client.get(f"{API}/imports/{run['id']}/", **bearer(raw)).content.decode()
    assert HOSTILE in body and TEMPLATE_TAG in body and "&lt;" not in body and "\\u003c" not in body


def test_an_upload_retried_with_its_idempotency_key_is_answered_again_not_made_twice(client, customer):
    raw = token_of(customer.admin)
    key = {"HTTP_IDEMPOTENCY_KEY": "upload-1"}
    first = upload(client, raw, users_csv(customer), tenant=customer.tenant.pk, **key)
    again = upload(client, raw, users_csv(customer), tenant=customer.tenant.pk, **key)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert ImportRun.objects.count() == 1


def test_a_commit_whose_rows_no_longer_pass_imports_nothing_and_answers_409(client, customer):
    from tests.factories import PbxUserFactory

    raw = token_of(customer.admin)
    run_id = upload(client, raw, users_csv(customer), tenant=customer.tenant.pk).json()["id"]
    PbxUserFactory(entity=customer.sales, tenant=customer.tenant, template=customer.template, internal_number="2301")
    answer = confirm(client, raw, run_id)
    assert answer.status_code == 409, answer.json()
    assert answer.json()["import"]["status"] == "invalid" and answer.json()["file"]
    assert imported() == 0 and not ProvisioningJob.objects.filter(operation="user.create").exists()


def test_another_organization_in_the_body_reads_as_a_missing_one(client, customer, sibling):
    raw = token_of(customer.admin)
    body = {"kind": "numbers"}
    theirs = upload(client, raw, b"number\n+31201234567\n", organization=sibling.organization.pk, **body)
    missing = upload(client, raw, b"number\n+31201234567\n", organization=99999999, **body)
    assert theirs.status_code == missing.status_code == 400
    said = [m.replace("99999999", str(sibling.organization.pk)) for m in missing.json()["organization"]]
    assert theirs.json()["organization"] == said
    assert not ImportRun.objects.exists()


def test_the_list_of_runs_reads_their_summaries_only_with_labels_in_the_callers_language(client, customer):
    raw = token_of(customer.admin)
    run = upload(client, raw, users_csv(customer), tenant=customer.tenant.pk).json()
    assert confirm(client, raw, run["id"]).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        listed = client.get(f"{API}/imports/", HTTP_ACCEPT_LANGUAGE="nl", **bearer(raw))
    row = listed.json()["results"][0]
    assert row["status"] == "committed" and row["status_label"] == "Geïmporteerd"
    assert (row["organization"], row["tenant"], row["create_count"]) == (
        customer.organization.pk,
        customer.tenant.pk,
        3,
    )
    assert "preview" not in row and "columns" not in row
    read = " ".join(query["sql"] for query in captured if "telephony_importrun" in query["sql"])
    for column in ("content", "preview", "errors", "skipped_rows", "columns"):
        assert f'"telephony_importrun"."{column}"' not in read, column  # up to 32 MB a run, never shown here
    assert '"telephony_tenant"' not in read and '"tenants_organization"."name"' not in read
