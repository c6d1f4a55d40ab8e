"""The import pages in the admin: upload → preview → confirm → progress, the template and the
export; every page of an import answers 404 to staff of a sibling organization."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from telephony.models import ImportRun, ImportStatus, JobStatus, PbxUser, ProvisioningJob
from tenants.models import Role
from tests.telephony.imports.conftest import csv_of

pytestmark = pytest.mark.django_db

USERS_CSV = csv_of(
    "FirstName,LastName,EmailAddress,Number,mobile_phone_number,Department,shoe_size",
    "Ada,Lovelace,ada@example.net,1701,+31612345678,sales,38",
    "Alan,Turing,alan@example.net,2001,,support,44",
)


def upload(client, world, data=USERS_CSV, **fields):
    form = {
        "file": SimpleUploadedFile("people.csv", data, content_type="text/csv"),
        "mode": "create",
        "encoding": "",
        "tenant": world.tenant.pk,
        "template": world.template.pk,
        **fields,
    }
    return client.post(reverse("admin:telephony_pbxuser_import"), form)


def test_upload_preview_confirm_and_progress(world, staff, client, django_capture_on_commit_callbacks):
    client.force_login(staff)
    assert client.get(reverse("admin:telephony_pbxuser_import")).status_code == 200
    response = upload(client, world)
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:telephony_importrun_run", args=[run.pk]
    )
    assert run.status == ImportStatus.VALIDATED, run.errors
    assert (run.create_count, run.update_count, run.error_count) == (2, 0, 0)
    assert run.unknown_columns == ["shoe_size"]
    page = client.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "shoe_size" in text and "Lovelace" in text and "Import 2 rows" in text
    assert "<script>" not in text and 'style="' not in text.split('id="content-main"')[1]
    assert 'telephony/import-progress.js" defer>' in text, "the script in <head> waits for the progress box"
    assert not PbxUser.objects.exists(), "the preview writes nothing"

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("admin:telephony_importrun_confirm", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == ImportStatus.COMMITTED and run.batch is not None
    assert PbxUser.objects.count() == 2
    jobs = ProvisioningJob.objects.filter(batch=run.batch)
    assert jobs.count() == 2 and len(callbacks) == 1
    progress = client.get(reverse("admin:telephony_importrun_progress", args=[run.pk])).json()
    assert progress["jobs"] == {"total": 2, "pushed": 0, "failed": 0, "cancelled": 0, "remaining": 2}
    assert "Jobs of this import" in client.get(reverse("admin:telephony_importrun_run", args=[run.pk])).content.decode()
    jobs.filter(pk=jobs.first().pk).update(status=JobStatus.SUCCEEDED)
    jobs.filter(pk=jobs.last().pk).update(status=JobStatus.FAILED)
    progress = client.get(reverse("admin:telephony_importrun_progress", args=[run.pk])).json()
    assert (progress["jobs"]["pushed"], progress["jobs"]["failed"], progress["finished"]) == (1, 1, True)
    assert progress["failures_url"].endswith(f"?batch__id__exact={run.batch_id}&status__exact=failed")


def test_sibling_staff_get_404_on_every_page_of_an_import(tree, world, staff, member, client):
    client.force_login(staff)
    upload(client, world)
    run = ImportRun.objects.get()
    client.force_login(member(tree.sibling, Role.ADMIN))
    for name in ("run", "progress", "errors", "confirm"):
        assert client.get(reverse(f"admin:telephony_importrun_{name}", args=[run.pk])).status_code == 404, name
    assert client.post(reverse("admin:telephony_importrun_confirm", args=[run.pk])).status_code == 404
    assert client.get(reverse("admin:telephony_importrun_change", args=[run.pk])).status_code == 404
    assert client.get(reverse("admin:telephony_pbxuser_import") + f"?tenant={world.tenant.pk}").status_code == 404
    assert run not in client.get(reverse("admin:telephony_importrun_changelist")).context["cl"].result_list
    run.refresh_from_db()
    assert run.status == ImportStatus.VALIDATED and not PbxUser.objects.exists()


def test_a_sibling_cannot_upload_into_a_tenant_outside_its_tree(tree, world, member, client):
    client.force_login(member(tree.sibling, Role.ADMIN))
    response = upload(client, world)
    assert response.status_code == 200 and "tenant" in response.context["form"].errors
    assert not ImportRun.objects.exists()


def test_large_files_are_checked_and_committed_by_a_worker_with_the_same_progress_bar(
    world, staff, client, monkeypatch, django_capture_on_commit_callbacks
):
    from telephony import tasks
    from telephony.imports import base, services

    monkeypatch.setattr(services, "BACKGROUND_BYTES", 10)
    monkeypatch.setattr(base.Importer, "progress_every", 1)
    client.force_login(staff)
    with django_capture_on_commit_callbacks() as queued:
        upload(client, world)
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.VALIDATING and len(queued) == 1
    progress = client.get(reverse("admin:telephony_importrun_progress", args=[run.pk])).json()
    assert progress["busy"] is True and "jobs" not in progress
    assert tasks.process_import_run(run.pk, "check") == ImportStatus.VALIDATED
    assert tasks.process_import_run(run.pk, "check") == ImportStatus.VALIDATED, "a second delivery does nothing"
    with django_capture_on_commit_callbacks() as queued:
        client.post(reverse("admin:telephony_importrun_confirm", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == ImportStatus.COMMITTING and not PbxUser.objects.exists()
    assert tasks.process_import_run(run.pk, "commit") == ImportStatus.COMMITTED
    assert PbxUser.objects.count() == 2
    progress = client.get(reverse("admin:telephony_importrun_progress", args=[run.pk])).json()
    assert progress["busy"] is False and progress["jobs"]["remaining"] == 2


def test_a_commit_that_finds_new_errors_writes_nothing(world, staff, client):
    from tests.factories import PbxUserFactory

    client.force_login(staff)
    upload(client, world)
    run = ImportRun.objects.get()
    PbxUserFactory(entity=world.sales, template=world.template, internal_number="1701", username="late")
    client.post(reverse("admin:telephony_importrun_confirm", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == ImportStatus.INVALID and "Nothing was imported" in run.message
    assert list(PbxUser.objects.values_list("username", flat=True)) == ["late"]
    assert not ProvisioningJob.objects.exists()
    errors = b"".join(client.get(reverse("admin:telephony_importrun_errors", args=[run.pk])).streaming_content)
    assert errors.decode().splitlines()[1] == "2,internal_number,1701,1701 is already taken by late."


@pytest.mark.parametrize("model", ["phonenumber", "organization"])
def test_numbers_and_customers_cannot_be_imported_into_a_siblings_organization(tree, model, member, client):
    client.force_login(member(tree.sibling, Role.ADMIN))
    url = reverse(f"admin:{'telephony_phonenumber' if model == 'phonenumber' else 'tenants_organization'}_import")
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "file": SimpleUploadedFile("x.csv", b"number\n+31201110000\n"),
            "mode": "create",
            "organization": tree.reseller.pk,
        },
    )
    assert response.status_code == 200 and "organization" in response.context["form"].errors
    assert not ImportRun.objects.exists()


def test_the_customers_export_holds_only_the_logins_scope(tree, world, member, client):
    client.force_login(member(tree.sibling, Role.ADMIN))
    body = b"".join(client.get(reverse("admin:tenants_organization_export")).streaming_content).decode()
    assert "Sibling customer" in body and world.tenant.name not in body and "Customer," not in body


@pytest.mark.parametrize(
    "data, message",
    [
        (b"first_name:last_name:exten\nAda:Lovelace:1701\n", "Is the delimiter right?"),
        (b"first_name,last_name,exten\n", "The file has a header row but no data rows."),
    ],
    ids=["colon separated", "header only"],
)
def test_a_file_that_cannot_be_read_says_so_without_counts(world, staff, client, data, message):
    client.force_login(staff)
    upload(client, world, data=data)
    run = ImportRun.objects.get()
    assert (run.status, run.delimiter, run.error_count) == (ImportStatus.UNREADABLE, "", 0)
    page = client.get(reverse("admin:telephony_importrun_run", args=[run.pk])).content.decode()
    assert "Cannot be read" in page and f"Cannot be read: {escape(run.message)}" in page and message in run.message
    facts = " ".join(re.sub(r"<[^>]+>", " ", page.split('class="import-facts">')[1].split("</p>")[0]).split())
    assert facts.startswith("PBX users import · Cannot be read · create new rows only · into tenant"), facts
    assert f"CSV import #{run.pk}: PBX users from people.csv" in page, "the heading keeps its acronym"
    assert "Has errors" not in page and "0 errors" not in page and "separated" not in page and "0 rows" not in page
    listed = client.get(reverse("admin:telephony_importrun_changelist")).content.decode()
    assert (
        '<td class="field-status">Cannot be read</td>' in listed and '<td class="field-errors_found">—</td>' in listed
    )
