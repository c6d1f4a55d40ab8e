"""Import / export on the self-service site: the bulk importer scoped to the customer's own
tenants — preview, all-or-nothing commit, progress, errors as CSV, export — and 404 for anyone else."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from telephony.imports.base import describe_error
from telephony.models import ImportRun, ImportStatus, PbxUser, ProvisioningJob

pytestmark = pytest.mark.django_db


def users_csv(customer, rows: int = 20, start: int = 2300, bad_row: int | None = None) -> bytes:
    lines = ["first_name;last_name;username;exten;email;entity;template"]
    for index in range(rows):
        number = "9999" if index + 1 == bad_row else str(start + index)
        lines.append(f"Imp;Orted {index};imp{index};{number};imp{index}@example.net;sales;{customer.template.name}")
    return ("\n".join(lines) + "\n").encode()


def upload(client, customer, content: bytes, mode: str = "create"):
    data = {
        "tenant": customer.tenant.pk,
        "mode": mode,
        "template": "",
        "file": SimpleUploadedFile("staff.csv", content, content_type="text/csv"),
    }
    return client.post(reverse("selfservice:imports"), data)


def test_a_customer_administrator_imports_20_users_after_a_preview(admin_client, customer):
    response = upload(admin_client, customer, users_csv(customer))
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("selfservice:import_run", args=[run.pk])
    assert (run.status, run.create_count, run.error_count, run.tenant) == (
        ImportStatus.VALIDATED,
        20,
        0,
        customer.tenant,
    )
    page = admin_client.get(response["Location"]).content.decode()
    assert "Import 20 rows" in page and "Orted 0" in page and "telephony/import-progress.js" in page
    assert not PbxUser.objects.filter(username__startswith="imp").exists(), "nothing written before the confirm"

    confirmed = admin_client.post(reverse("selfservice:import_confirm", args=[run.pk]), follow=True)
    assert "Imported: 20 created" in confirmed.content.decode()
    assert PbxUser.objects.filter(tenant=customer.tenant, username__startswith="imp").count() == 20
    run.refresh_from_db()
    assert ProvisioningJob.objects.filter(batch=run.batch, operation="user.create").count() == 20
    progress = admin_client.get(reverse("selfservice:import_progress", args=[run.pk])).json()
    assert progress["jobs"]["total"] == 20 and progress["jobs"]["remaining"] == 20 and not progress["finished"]


def test_one_bad_row_is_reported_by_row_and_column_and_nothing_is_imported(admin_client, customer):
    upload(admin_client, customer, users_csv(customer, bad_row=7))
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.INVALID and run.error_count == 1
    page = admin_client.get(reverse("selfservice:import_run", args=[run.pk])).content.decode()
    assert run.errors[0][1] == "internal_number" and "9999 is outside the number plan" in run.errors[0][2]
    assert escape(describe_error(*run.errors[0], "9999")) in page and "Import 20 rows" not in page
    assert "row 8, internal_number &#x27;9999&#x27;: 9999 is outside the number plan" in page
    errors = b"".join(admin_client.get(reverse("selfservice:import_errors", args=[run.pk])).streaming_content)
    assert errors.decode().splitlines()[0] == "row,column,value,message" and "9999" in errors.decode()
    assert admin_client.post(reverse("selfservice:import_confirm", args=[run.pk])).status_code == 302
    assert not PbxUser.objects.filter(username__startswith="imp").exists()


@pytest.mark.parametrize(
    "content", [b"first_name:last_name:exten\nAda:Lovelace:2300\n", b"first_name,last_name,exten\n"]
)
def test_a_file_that_cannot_be_read_says_so_without_counts(admin_client, customer, content):
    upload(admin_client, customer, content)
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.UNREADABLE and run.message
    page = admin_client.get(reverse("selfservice:import_run", args=[run.pk])).content.decode()
    assert f"Cannot be read: {escape(run.message)}" in page
    assert "Has errors" not in page and "0</strong> errors" not in page and "separated" not in page
    listed = admin_client.get(reverse("selfservice:imports")).content.decode()
    assert "Cannot be read" in listed and "0 rows" not in listed


def test_the_export_holds_the_customers_users_only(admin_client, customer, sibling):
    body = b"".join(admin_client.get(reverse("selfservice:users_export")).streaming_content).decode()
    assert "acme.first" in body and "acme.second" in body
    assert "globex" not in body
    template = b"".join(admin_client.get(reverse("selfservice:import_template")).streaming_content).decode()
    assert template.startswith("tenant,entity,internal_number,first_name")


def test_the_template_example_row_is_filled_from_the_customers_tenant(admin_client, customer, sibling):
    from telephony.imports.reading import read_csv
    from telephony.imports.users import UserImport

    page = admin_client.get(reverse("selfservice:imports")).content.decode()
    assert "Download a template with an example row" in page and "empty template" not in page
    url = reverse("selfservice:import_template")
    for query in ("", f"?tenant={customer.tenant.pk}"):
        template = b"".join(admin_client.get(url + query).streaming_content)
        outcome = UserImport(actor=customer.admin, mode="create", tenant=customer.tenant).run(read_csv(template))
        assert (outcome.created, outcome.errors) == (1, []), template
        row = outcome.preview[0]
        assert (row["entity"], row["internal_number"], row["template"]) == ("office", "2000", customer.template.name)
        assert row["ddi"] in {number.number for number in customer.free_numbers}
    assert admin_client.get(url + f"?tenant={sibling.tenant.pk}").status_code == 404


def test_a_sibling_cannot_import_into_the_customers_tenant(client, customer, sibling):
    client.force_login(sibling.admin)
    response = upload(client, customer, users_csv(customer))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("who", ["sibling_admin", "end_user", "viewer"])
def test_another_login_gets_404_on_every_page_of_an_import_run(client, customer, sibling, viewer, who):
    client.force_login(customer.admin)
    upload(client, customer, users_csv(customer))
    run = ImportRun.objects.get()
    login = {"sibling_admin": sibling.admin, "end_user": customer.end_user, "viewer": viewer}[who]
    client.force_login(login)
    for name in ("import_run", "import_progress", "import_errors"):
        status = client.get(reverse(f"selfservice:{name}", args=[run.pk])).status_code
        assert status == (200 if who == "viewer" else 404), name
    assert client.post(reverse("selfservice:import_confirm", args=[run.pk])).status_code == 404
    run.refresh_from_db()
    assert run.status == ImportStatus.VALIDATED and not PbxUser.objects.filter(username__startswith="imp").exists()


def test_a_read_only_member_may_export_but_not_upload(client, customer, viewer):
    client.force_login(viewer)
    page = client.get(reverse("selfservice:imports"))
    assert page.status_code == 200 and page.context["form"] is None
    assert upload(client, customer, users_csv(customer)).status_code == 404
    assert client.get(reverse("selfservice:users_export")).status_code == 200


def test_end_users_get_404_on_import_and_export(end_user_client):
    for name in ("imports", "import_template", "users_export"):
        assert end_user_client.get(reverse(f"selfservice:{name}")).status_code == 404


def test_the_navigation_keeps_import_and_export_apart(admin_client):
    body = admin_client.get(reverse("selfservice:dashboard")).content.decode()
    assert 'class="navbar-nav nav-section-imports" aria-label="Import and export"' in body
    assert reverse("selfservice:imports") in body


def test_the_only_template_there_is_is_chosen_for_rows_that_name_none(admin_client, customer):
    form = admin_client.get(reverse("selfservice:imports")).context["form"]
    assert form.fields["template"].initial == customer.template.pk
