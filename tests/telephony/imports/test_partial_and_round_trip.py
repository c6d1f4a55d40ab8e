"""Issue 16, imports: a partial import (the rows that pass, the others skipped and downloadable),
numbers and e-mail addresses as people write them, the commit's progress while it runs, and the
admin's unfiltered export coming back (each row to the tenant it names, never another customer's)."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from telephony.imports import progress, services
from telephony.imports.export import export_users
from telephony.imports.reading import read_csv
from telephony.imports.users import UserImport
from telephony.models import ImportKind, ImportRun, ImportStatus, PbxUser, PhoneNumber, Platform, ProvisioningJob
from tenants.models import Organization, Role
from tests.factories import OrganizationFactory, PbxUserFactory, TenantFactory
from tests.telephony.imports.conftest import build_import_world, csv_of, parsed

pytestmark = pytest.mark.django_db

HEADER = "first_name,last_name,exten,email,mobile_number,voicemail_pin"
ROWS = (
    "Ada,Lovelace,1701,ada@example.net,,",
    "Bad,Number,9999,bad@example.net,,",  # outside every number plan
    "Alan,Turing,2001,alan@example.net,,",
    "Bad,Mail,1702,not-an-address,,1357",  # a PIN: a secret, never written back out
)


def upload(client, world, data, *, url="admin:telephony_pbxuser_import", **fields):
    form = {
        "file": SimpleUploadedFile("people.csv", data, content_type="text/csv"),
        "mode": "create",
        "encoding": "",
        "tenant": world.tenant.pk,
        "template": world.template.pk,
        **fields,
    }
    return client.post(reverse(url), form)


def xc5(world):
    Platform.objects.filter(pk=world.platform.pk).update(kind="xc5", base_url="http://127.0.0.1:9/api-sys/")


# --- partial imports ------------------------------------------------------------------------------


def test_all_or_nothing_stays_the_default_and_the_preview_offers_the_rows_that_pass(world, staff, client):
    xc5(world)
    client.force_login(staff)
    upload(client, world, csv_of(HEADER, *ROWS))
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.INVALID and (run.create_count, run.failed_row_count) == (2, 2)
    page = client.get(reverse("admin:telephony_importrun_run", args=[run.pk])).content.decode()
    assert "Import the 2 rows that pass and skip the 2 that don" in page
    assert "row 3, internal_number &#x27;9999&#x27;: 9999 is not inside the number plan" in page
    assert "row 5, email &#x27;not-an-address&#x27;: Enter a valid email address." in page

    # confirming without choosing to skip writes nothing: every row or none, as before
    client.post(reverse("admin:telephony_importrun_confirm", args=[run.pk]))
    assert not PbxUser.objects.exists()

    skipped = client.get(reverse("admin:telephony_importrun_skipped", args=[run.pk]))
    rows = list(csv.reader(io.StringIO(skipped.content.decode("utf-8-sig"))))
    assert rows[0] == [*HEADER.split(","), "import_row", "import_error"], "the file's own columns, and why"
    assert [row[:3] for row in rows[1:]] == [["Bad", "Number", "9999"], ["Bad", "Mail", "1702"]]
    assert rows[1][6] == "3" and "number plan" in rows[1][7]
    assert rows[2][5] == "" and "1357" not in skipped.content.decode(), "the PIN is never written back out"
    assert "type them again" in rows[2][7]

    response = client.post(reverse("admin:telephony_importrun_confirm", args=[run.pk]), {"skip_invalid": "1"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == ImportStatus.COMMITTED and run.skip_invalid and run.failed_row_count == 2
    assert sorted(PbxUser.objects.values_list("username", flat=True)) == ["ada", "alan"]
    assert ProvisioningJob.objects.filter(batch=run.batch).count() == 2
    assert not run.content, "the file is gone once imported"
    page = client.get(reverse("admin:telephony_importrun_run", args=[run.pk])).content.decode()
    assert "2 rows with errors were skipped" in page and "download the skipped rows" in page

    # the skipped rows, fixed, import as they are
    fixed = skipped.content.decode("utf-8-sig").replace("9999", "1703").replace("not-an-address", "m@example.net")
    upload(client, world, fixed.encode())
    again = ImportRun.objects.order_by("-pk").first()
    assert again.status == ImportStatus.VALIDATED, again.errors
    assert any(entry.startswith("import_error (what was wrong") for entry in again.unknown_columns)
    services.import_run_confirm(actor=staff, run=again)
    assert PbxUser.objects.count() == 4


def test_a_file_wide_error_is_never_skipped(world, staff):
    world.tenant.licences = 1
    world.tenant.save()
    run = services.import_run_create(
        actor=staff,
        kind=ImportKind.USERS,
        mode="create",
        data=csv_of(HEADER, *ROWS),
        file_name="x.csv",
        tenant=world.tenant,
        template=world.template,
    )
    run = services.import_run_start_check(run=run)
    assert run.status == ImportStatus.INVALID and not run.may_commit_partially
    with pytest.raises(Exception, match="no rows to skip"):
        services.import_run_confirm(actor=staff, run=run, skip_invalid=True)
    assert not PbxUser.objects.exists()


def test_the_self_service_site_offers_the_same_partial_import(customer_admin_world, client):
    world, login = customer_admin_world
    xc5(world)
    client.force_login(login)
    form = {
        "tenant": world.tenant.pk,
        "file": SimpleUploadedFile("people.csv", csv_of(HEADER, *ROWS), content_type="text/csv"),
        "mode": "create",
        "template": world.template.pk,
    }
    client.post(reverse("selfservice:imports"), form)
    run = ImportRun.objects.get()
    page = client.get(reverse("selfservice:import_run", args=[run.pk])).content.decode()
    assert "Import the 2 rows that pass and skip the 2 that don" in page
    skipped = client.get(reverse("selfservice:import_skipped", args=[run.pk]))
    assert skipped.status_code == 200 and "9999" in skipped.content.decode("utf-8-sig")
    client.post(reverse("selfservice:import_confirm", args=[run.pk]), {"skip_invalid": "1"})
    run.refresh_from_db()
    assert run.status == ImportStatus.COMMITTED and PbxUser.objects.count() == 2


@pytest.fixture
def customer_admin_world(tree, world, member):
    return world, member(tree.customer, Role.ADMIN)


# --- numbers and addresses as people write them --------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("+31 20 555 0000", ["+31205550000"]),
        ("+31-20-555-0000", ["+31205550000"]),
        ("+31 (0)20 555 00 00", ["+31205550000"]),
        ("(020) 555-0000", ["+31205550000"]),  # national, in the tenant's country (its numbers are Dutch)
        ("020.555.0000", ["+31205550000"]),
        ("0031 20 555 0000", ["+31205550000"]),
        ("+31 20 555 0000; +31 20 555 0001", ["+31205550000", "+31205550001"]),
        ("+31205550000,+31205550001", ["+31205550000", "+31205550001"]),
        ("+31205550000\n(020) 555-0001", ["+31205550000", "+31205550001"]),
        ("tel:+31205550000;ext=1701", ["+31205550000"]),
    ],
)
def test_numbers_with_spaces_dots_dashes_or_brackets_are_numbers(world, staff, cell, expected):
    xc5(world)
    quoted = '"' + cell.replace('"', '""') + '"'
    outcome = UserImport(actor=staff, mode="create", tenant=world.tenant, template=world.template).run(
        parsed("first_name,last_name,exten,ddi,mobile_number", f"Ada,Lovelace,1701,{quoted},+31 6 1234-5678")
    )
    assert outcome.error_total == 0, outcome.errors
    assert outcome.preview[0]["ddi"] == "; ".join(expected) and outcome.preview[0]["mobile_number"] == "+31612345678"


def test_a_space_never_separates_two_numbers_and_formulas_stay_refused(world, staff):
    outcome = UserImport(actor=staff, mode="create", tenant=world.tenant, template=world.template).run(
        parsed(
            "first_name,last_name,exten,ddi,mobile_number",
            "Ada,Lovelace,1701,+31205550000 +31205550001,",
            "Bob,Formula,1702,=cmd|' /C calc'!A0,",
            "Cy,Formula,1703,,+31 6 1234 5678+HYPERLINK(1)",
            "Di,Formula,1704,@SUM(1),",
        )
    )
    found = {(row, column): message for row, column, message in outcome.errors}
    assert "separated by spaces; separate them with ; or , or a line break" in found[(2, "ddi")]
    assert "looks like a spreadsheet formula" in found[(3, "ddi")]
    assert "looks like a spreadsheet formula" in found[(4, "mobile_number")]
    assert "looks like a spreadsheet formula" in found[(5, "ddi")]


def test_a_national_number_of_a_tenant_without_numbers_says_what_to_do(tree, member):
    lonely = build_import_world(tree.sibling, tree.sibling_customer, name="globex")
    PhoneNumber.objects.all().delete()
    outcome = UserImport(
        actor=member(tree.sibling, Role.OPERATOR), mode="create", tenant=lonely.tenant, template=lonely.template
    ).run(parsed("first_name,last_name,exten,mobile_number", "Ada,Lovelace,1701,06-12345678"))
    [(_row, column, message)] = outcome.errors
    assert column == "mobile_number" and "write it with its country code" in message


@pytest.mark.parametrize("address", ["ann@bücher.example", "ünsal@example.de", "用户@例子.广告", "zoë.ærø@example.dk"])
def test_internationalized_addresses_are_accepted(world, staff, address):
    outcome = UserImport(actor=staff, mode="create", tenant=world.tenant, template=world.template).run(
        parsed("first_name,last_name,exten,email", f"Ann,Bücher,1701,{address}")
    )
    assert outcome.error_total == 0, outcome.errors
    assert outcome.preview[0]["email"] == address


@pytest.mark.parametrize("address", ["ann@@example.net", "ann bücher@example.de", "ann@bücher", "ünsal@"])
def test_addresses_the_rfcs_refuse_stay_refused(world, staff, address):
    outcome = UserImport(actor=staff, mode="create", tenant=world.tenant, template=world.template).run(
        parsed("first_name,last_name,exten,email", f"Ann,Bücher,1701,{address}")
    )
    assert [(column, message) for _row, column, message in outcome.errors] == [
        ("email", "Enter a valid email address.")
    ]


def test_the_admin_user_form_takes_an_internationalized_address_too(world, staff, client):
    from telephony.models.fields import InternationalEmailFormField

    assert InternationalEmailFormField().clean("ünsal@example.de") == "ünsal@example.de"
    assert isinstance(PbxUser._meta.get_field("email").formfield(), InternationalEmailFormField)


# --- progress while committing -------------------------------------------------------------------


def test_the_commit_tells_its_progress_while_its_transaction_is_open(world, staff, monkeypatch):
    """The count moves step by step during the commit (not only at the end): what the progress
    page reads while the run is committing, sampled every time the commit reports."""
    monkeypatch.setattr("telephony.imports.base.PROGRESS_CHUNK", 5)
    world.tenant.licences = 100
    world.tenant.save()
    rows = [f"User,Number{i},{1700 + i},u{i}@example.net,," for i in range(40)]
    run = services.import_run_create(
        actor=staff,
        kind=ImportKind.USERS,
        mode="create",
        data=csv_of(HEADER, *rows),
        file_name="big.csv",
        tenant=world.tenant,
        template=world.template,
    )
    run = services.import_run_start_check(run=run)
    assert run.status == ImportStatus.VALIDATED, run.errors
    seen: list[tuple[int, int, str]] = []
    report = progress.report

    def watch(run_id, **state):
        report(run_id, **state)
        shown = services.import_run_progress(ImportRun.objects.get(pk=run_id))
        seen.append((shown["done"], shown["total"], shown.get("phase", "")))

    monkeypatch.setattr(progress, "report", watch)
    services.import_run_confirm(actor=staff, run=run)
    run.refresh_from_db()
    assert run.status == ImportStatus.COMMITTED and PbxUser.objects.count() == 40
    done = [d for d, _t, _p in seen]
    assert len(set(done)) > 10, seen
    assert done == sorted(done), "the bar only moves forward"
    assert {t for _d, t, _p in seen} == {40 * 4}, "four steps of 40 rows"
    phases = " | ".join(p for _d, _t, p in seen)
    for words in ("Checking every row again", "Saving the rows", "Writing the change history", "Planning the pushes"):
        assert words in phases
    assert progress.read(run.pk) is None, "cleared once the run's row holds the outcome"


# --- round trips ----------------------------------------------------------------------------------


def test_an_unfiltered_admin_export_imports_back_into_each_tenant_it_names(tree, world, staff, client):
    other_customer = OrganizationFactory(
        parent=Organization.objects.get(pk=tree.reseller.pk), kind="customer", name="Other"
    )
    other = TenantFactory(organization=other_customer, server=world.server, name="other", licences=10)
    from tests.factories import EntityFactory

    other_sales = EntityFactory(tenant=other, name="sales", intervals=[("3000", "3099")])
    PbxUserFactory(entity=world.sales, template=world.template, internal_number="1701", username="ada")
    PbxUserFactory(entity=other_sales, template=world.template, internal_number="3001", username="bob")
    client.force_login(staff)
    exported = b"".join(client.get(reverse("admin:telephony_pbxuser_export")).streaming_content)
    assert b"acme" in exported and b"other" in exported

    # the export, changed, comes back with no tenant on the form: each row goes where it says
    lines = exported.decode().splitlines()
    changed = "\n".join(line.replace(",Ada,", ",Augusta,") if line.startswith("acme,") else line for line in lines)
    response = upload(client, world, changed.encode(), mode="update", tenant="", template="")
    run = ImportRun.objects.get()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert run.status == ImportStatus.VALIDATED, services.described_errors(run, 5)
    assert run.tenant is None and (run.update_count, run.skip_count) == (1, 1)
    services.import_run_confirm(actor=staff, run=run)
    assert PbxUser.objects.get(username="ada").first_name == "Augusta"

    # and a new row naming the other customer's tenant lands there
    header = exported.decode().splitlines()[0]
    names = header.split(",")
    row = dict.fromkeys(names, "")
    row.update(tenant="other", internal_number="3002", first_name="Cy", last_name="New", template="Standard")
    upload(client, world, csv_of(header, ",".join(row[n] for n in names)), tenant="", template="")
    run = ImportRun.objects.order_by("-pk").first()
    assert run.status == ImportStatus.VALIDATED, services.described_errors(run, 5)
    services.import_run_confirm(actor=staff, run=run)
    assert PbxUser.objects.get(username="cy.new").tenant == other


def test_the_tenant_on_the_form_is_optional_as_its_help_says(world, staff, client):
    client.force_login(staff)
    page = client.get(reverse("admin:telephony_pbxuser_import")).content.decode()
    assert "Leave it empty for a file whose rows name" in page
    response = upload(client, world, csv_of("tenant,first_name,last_name,exten", "acme,Ada,Lovelace,1701"), tenant="")
    assert response.status_code == 302
    assert ImportRun.objects.get().status == ImportStatus.VALIDATED


def test_a_row_naming_another_customers_tenant_is_refused_and_nothing_is_written(
    tree, world, sibling_world, member, client
):
    """A customer-level login (or staff of a sibling reseller) names a tenant that is not theirs:
    the row says so plainly, and all-or-nothing writes nothing."""
    customer_admin = member(tree.customer, Role.ADMIN)
    client.force_login(customer_admin)
    data = csv_of(
        "tenant,first_name,last_name,exten",
        "acme,Ada,Lovelace,1701",
        f"{sibling_world.tenant.name},Eve,Intruder,1702",
    )
    run = services.import_run_create(
        actor=customer_admin,
        kind=ImportKind.USERS,
        mode="create",
        data=data,
        file_name="x.csv",
        tenant=None,
        template=world.template,
    )
    run = services.import_run_start_check(run=run)
    assert run.status == ImportStatus.INVALID
    [message] = services.described_errors(run, 5)
    assert message.startswith(f"row 3, tenant '{sibling_world.tenant.name}': ")
    assert "not found among your tenants" in message
    with pytest.raises(Exception):
        services.import_run_confirm(actor=customer_admin, run=run)
    assert not PbxUser.objects.exists() and not ProvisioningJob.objects.exists()

    # with the form's tenant chosen, another customer of the same reseller is named plainly
    staff = member(tree.reseller, Role.OPERATOR)
    other_customer = OrganizationFactory(parent=Organization.objects.get(pk=tree.reseller.pk), kind="customer")
    TenantFactory(organization=other_customer, server=world.server, name="other")
    outcome = UserImport(actor=staff, mode="create", tenant=world.tenant, template=world.template).run(
        parsed("tenant,first_name,last_name,exten", "other,Eve,Intruder,1702")
    )
    assert "belongs to another customer than the tenant chosen on the form" in outcome.errors[0][2]


def test_the_export_writes_several_numbers_so_that_they_import_back(world, staff):
    xc5(world)
    ada = PbxUserFactory(entity=world.sales, template=world.template, internal_number="1701", username="ada")
    for number in world.numbers[:2]:
        number.tenant, number.assigned_user = world.tenant, ada
        number.save()
    exported = "".join(export_users(PbxUser.objects.all(), staff)).encode()
    assert b"+31205550000; +31205550001" in exported
    outcome = UserImport(actor=staff, mode="update", tenant=world.tenant).run(read_csv(exported))
    assert outcome.error_total == 0 and outcome.skipped == 1, outcome.errors
