"""Export in the import format: export → import in update mode → nothing changes; formula cells
escaped; only the login's scope is exported."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telephony.imports.export import export_numbers, export_organizations, export_users
from telephony.imports.numbers import NumberImport
from telephony.imports.organizations import OrganizationImport
from telephony.imports.reading import read_csv
from telephony.imports.users import UserImport
from telephony.models import PbxUser, PhoneNumber, Tenant
from tenants.models import Organization, Role
from tests.factories import PbxUserFactory

pytestmark = pytest.mark.django_db


def text(lines) -> bytes:
    return "".join(lines).encode()


@pytest.fixture
def users(world):
    ada = PbxUserFactory(
        entity=world.sales,
        template=world.template,
        internal_number="1701",
        username="ada",
        first_name="=cmd|' /C calc'!A0",
        last_name="@SUM(1)",
        display_name="-2+3",
        email="ada@example.net",
        mobile_number="+31612345678",
        voicemail_enabled=True,
        voicemail_pin="9876",
    )
    PbxUserFactory(entity=world.support, template=world.template, internal_number="2001", username="alan")
    number = world.numbers[0]
    number.tenant, number.assigned_user = world.tenant, ada
    number.save()
    return ada


def test_users_round_trip_changes_nothing_and_escapes_formulas(world, users, staff):
    exported = text(export_users(PbxUser.objects.all(), staff))
    first_data_line = exported.decode().splitlines()[1]
    assert "'=cmd" in first_data_line and "'@SUM" in first_data_line and "'-2+3" in first_data_line
    assert "'+31612345678" in first_data_line and "9876" not in exported.decode(), "PINs are never exported"
    outcome = UserImport(actor=staff, mode="update", tenant=world.tenant).run(read_csv(exported))
    assert outcome.error_total == 0, outcome.errors
    assert (outcome.created, outcome.updated, outcome.skipped) == (0, 0, 2)


def test_numbers_round_trip_changes_nothing(tree, world, users, reseller_admin):
    exported = text(export_numbers(PhoneNumber.objects.all(), reseller_admin))
    assert exported.decode().count("\n") == 1 + len(world.numbers)
    outcome = NumberImport(actor=reseller_admin, mode="update", organization=tree.reseller).run(read_csv(exported))
    assert outcome.error_total == 0, outcome.errors
    assert (outcome.created, outcome.updated, outcome.skipped) == (0, 0, len(world.numbers))


def test_organizations_round_trip_changes_nothing(tree, world, reseller_admin):
    exported = text(export_organizations(Organization.objects.all(), reseller_admin))
    assert "Sibling" not in exported.decode()
    outcome = OrganizationImport(actor=reseller_admin, mode="update", parent=tree.reseller).run(read_csv(exported))
    assert outcome.error_total == 0, outcome.errors
    assert outcome.skipped == outcome.rows == Tenant.objects.filter(organization=tree.customer).count()


def test_the_admin_export_holds_only_the_logins_scope(tree, world, sibling_world, users, member, client):
    PbxUserFactory(entity=sibling_world.sales, template=sibling_world.template, username="foreign")
    client.force_login(member(tree.sibling, Role.ADMIN))
    body = b"".join(client.get(reverse("admin:telephony_pbxuser_export")).streaming_content).decode()
    assert "foreign" in body and "ada" not in body
    body = b"".join(client.get(reverse("admin:telephony_phonenumber_export")).streaming_content).decode()
    assert world.numbers[0].number not in body and sibling_world.numbers[0].number in body
    template = b"".join(client.get(reverse("admin:telephony_pbxuser_import_template")).streaming_content).decode()
    assert template.splitlines()[0].startswith("tenant,entity,internal_number,first_name")


def template_of(client, url: str) -> str:
    return b"".join(client.get(url).streaming_content).decode()


def example_imports_cleanly(world, actor, template: str):
    outcome = UserImport(actor=actor, mode="create", tenant=world.tenant).run(read_csv(template.encode()))
    assert (outcome.created, outcome.errors) == (1, []), template
    return outcome.preview[0]


def test_the_users_template_of_a_chosen_tenant_imports_into_it_as_it_is(tree, world, staff, client):
    from tests.factories import LineTemplateFactory

    for number, username in (("1700", "ada.lovelace"), ("1701", "other")):
        PbxUserFactory(entity=world.sales, template=world.template, internal_number=number, username=username)
    LineTemplateFactory(organization=tree.customer, name="Customer line")
    client.force_login(staff)
    url = reverse("admin:telephony_pbxuser_import_template")
    template = template_of(client, url + f"?tenant={world.tenant.pk}")
    header = template.splitlines()[0]
    assert header == template_of(client, url).splitlines()[0], "the header stays the native format"
    row = example_imports_cleanly(world, staff, template)
    assert (row["tenant"], row["entity"], row["internal_number"]) == ("acme", "sales", "1702")
    assert (row["template"], row["username"], row["ddi"]) == ("Customer line", "ada.lovelace2", "")
    generic = template_of(client, url).splitlines()[1]
    assert "sales,1701" in generic and "Standard" in generic, "no tenant chosen: the generic example"


def test_an_entity_administrators_template_uses_their_entity(tree, world, sibling_world, client):
    from tests.factories import UserFactory

    login = UserFactory()
    world.support.administrators.add(login)
    client.force_login(login)
    url = reverse("admin:telephony_pbxuser_import_template")
    row = example_imports_cleanly(world, login, template_of(client, url + f"?tenant={world.tenant.pk}"))
    assert (row["entity"], row["internal_number"]) == ("support", "2000")
    assert client.get(url + f"?tenant={sibling_world.tenant.pk}").status_code == 404
    assert client.get(url + "?tenant=x").status_code == 404


def test_the_upload_page_links_the_template_of_the_chosen_tenant(world, staff, client):
    client.force_login(staff)
    page = client.get(reverse("admin:telephony_pbxuser_import") + f"?tenant={world.tenant.pk}").content.decode()
    url = reverse("admin:telephony_pbxuser_import_template")
    assert f'href="{url}?tenant={world.tenant.pk}"' in page and 'data-tenant-field="id_tenant"' in page
    assert 'telephony/import-upload.js" defer>' in page
