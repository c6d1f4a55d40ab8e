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
