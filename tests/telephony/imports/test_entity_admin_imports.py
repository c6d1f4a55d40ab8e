"""Entity administrators import users into their own entities from the admin: the import page, the
run's pages and its confirmation work for them; rows of other entities fail as "not found"; their
runs are theirs alone, and another organization's tenant or run is a 404."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.urls import reverse

from telephony.imports import services
from telephony.models import ImportKind, ImportMode, ImportRun, ImportStatus, JobStatus, PbxUser, ProvisioningJob
from tenants.models import Role
from tests.factories import UserFactory
from tests.telephony.imports.conftest import csv_of

pytestmark = pytest.mark.django_db

HEADER = "first_name,last_name,username,exten,entity"


@pytest.fixture
def sales_admin(world):
    """Like the demo's acme.sales: a staff login without membership, administrator of one entity."""
    login = UserFactory(username="acme.sales")
    world.sales.administrators.add(login)
    return login


def upload(client, tenant, template, *rows: str, mode: str = "create"):
    form = {
        "file": SimpleUploadedFile("people.csv", csv_of(HEADER, *rows), content_type="text/csv"),
        "mode": mode,
        "encoding": "",
        "tenant": tenant.pk,
        "template": template.pk,
    }
    return client.post(reverse("admin:telephony_pbxuser_import"), form)


def test_an_entity_administrator_imports_users_into_their_entity(world, sales_admin, client):
    client.force_login(sales_admin)
    assert "Import CSV" in client.get(reverse("admin:telephony_pbxuser_changelist")).content.decode()
    assert client.get(reverse("admin:telephony_pbxuser_import") + f"?tenant={world.tenant.pk}").status_code == 200
    response = upload(client, world.tenant, world.template, "Ada,Lovelace,ada,1701,")
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:telephony_importrun_run", args=[run.pk]
    )
    assert run.status == ImportStatus.VALIDATED, run.errors
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Import 1 row" in page.content.decode()
    assert run in client.get(reverse("admin:telephony_importrun_changelist")).context["cl"].result_list

    client.post(reverse("admin:telephony_importrun_confirm", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == ImportStatus.COMMITTED
    assert PbxUser.objects.get(username="ada").entity == world.sales
    run_page = reverse("admin:telephony_importrun_run", args=[run.pk])
    assert "Users whose push failed" not in client.get(run_page).content.decode(), "no failure yet"
    progress = client.get(reverse("admin:telephony_importrun_progress", args=[run.pk])).json()
    assert progress["jobs"]["total"] == 1
    ProvisioningJob.objects.filter(batch=run.batch).update(status=JobStatus.FAILED)
    assert "Users whose push failed</a> (1)" in client.get(run_page).content.decode()
    # jobs are not theirs to see: the failures link leads to their users whose push failed
    assert progress["failures_url"] == reverse("admin:telephony_pbxuser_changelist") + "?sync_state__exact=failed"
    assert client.get(reverse("admin:telephony_importrun_errors", args=[run.pk])).status_code == 200


def test_rows_of_another_entity_fail_as_not_found(world, sales_admin, client):
    client.force_login(sales_admin)
    upload(client, world.tenant, world.template, "Ada,Lovelace,ada,1701,", "Sam,Port,sam,2001,support")
    upload(client, world.tenant, world.template, "Tom,Plan,tom,2002,")
    named, unnamed = ImportRun.objects.order_by("pk")
    assert named.status == ImportStatus.INVALID
    assert named.errors == [[3, "entity", f"'support' not found in tenant {world.tenant}."]]
    [(row, column, message)] = unnamed.errors
    assert (row, column) == (2, "internal_number") and message.startswith("2002 is not inside")
    assert "sales" in message and "support" not in message, "another entity's number plan is not shown"
    assert not PbxUser.objects.exists()


def test_an_entity_administrators_runs_are_theirs_alone(tree, world, sales_admin, staff, member, client):
    client.force_login(sales_admin)
    upload(client, world.tenant, world.template, "Ada,Lovelace,ada,1701,")
    own = ImportRun.objects.get()
    client.force_login(staff)
    assert client.get(reverse("admin:telephony_importrun_run", args=[own.pk])).status_code == 200
    upload(client, world.tenant, world.template, "Alan,Turing,alan,2001,")
    staffs = ImportRun.objects.exclude(pk=own.pk).get()

    support_admin = UserFactory()
    world.support.administrators.add(support_admin)
    for login, run in ((sales_admin, staffs), (support_admin, own), (member(tree.sibling, Role.ADMIN), own)):
        client.force_login(login)
        for name in ("run", "progress", "errors", "confirm"):
            assert client.get(reverse(f"admin:telephony_importrun_{name}", args=[run.pk])).status_code == 404, name
        assert client.post(reverse("admin:telephony_importrun_confirm", args=[run.pk])).status_code == 404
    run.refresh_from_db()
    assert run.status == ImportStatus.VALIDATED, "nobody else confirmed it"


def test_another_organizations_tenant_is_a_404_for_an_entity_administrator(world, sibling_world, sales_admin, client):
    client.force_login(sales_admin)
    url = reverse("admin:telephony_pbxuser_import")
    assert client.get(url + f"?tenant={sibling_world.tenant.pk}").status_code == 404
    response = upload(client, sibling_world.tenant, world.template, "Ada,Lovelace,ada,1701,")
    assert response.status_code == 200 and "tenant" in response.context["form"].errors
    with pytest.raises(Http404):
        services.import_run_create(
            actor=sales_admin,
            kind=ImportKind.USERS,
            mode=ImportMode.CREATE,
            data=csv_of(HEADER, "Ada,Lovelace,ada,1701,"),
            file_name="people.csv",
            tenant=sibling_world.tenant,
        )
    assert not ImportRun.objects.exists()
    # numbers and customers are not theirs to import: no page at all
    assert client.get(reverse("admin:telephony_phonenumber_import")).status_code == 404
