"""Other tools' exports imported as they are: each file in fixtures/ is built from the tool's
documented format (header, order, delimiter, encoding) and goes through the upload → check →
confirm flow unedited. The preview says which tool the file was read as, and how each header that
means different things in different tools was read."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.imports import services
from telephony.imports.columns import USER_COLUMNS, match_header
from telephony.imports.numbers import NumberImport
from telephony.imports.reading import read_csv
from telephony.models import ImportKind, ImportStatus, PbxUser, PhoneNumber, Platform
from tests.telephony.imports.conftest import csv_of

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def xc5_world(world):
    """The world's tenant on a platform that keeps voicemail, its PIN and forwarding per user."""
    Platform.objects.filter(pk=world.platform.pk).update(kind="xc5", base_url="http://127.0.0.1:9/api-sys/")
    world.tenant.refresh_from_db()
    return world


def imported(world, actor, name: str):
    data = (FIXTURES / name).read_bytes()
    run = services.import_run_create(
        actor=actor,
        kind=ImportKind.USERS,
        mode="create",
        data=data,
        file_name=name,
        tenant=world.tenant,
        template=world.template,
    )
    run = services.import_run_start_check(run=run)
    assert run.status == ImportStatus.VALIDATED, (run.message, services.described_errors(run, 20))
    run = services.import_run_confirm(actor=actor, run=run)
    assert run.status == ImportStatus.COMMITTED, (run.message, services.described_errors(run, 20))
    return run


def user(username: str) -> dict:
    found = PbxUser.objects.get(username=username)
    return {
        "name": (found.first_name, found.last_name),
        "display": found.display_name,
        "email": found.email,
        "internal": found.internal_number,
        "entity": found.entity.name,
        "mobile": found.mobile_number,
        "ddis": sorted(found.phone_numbers.values_list("number", flat=True)),
        "voicemail": (found.voicemail_enabled, found.voicemail_pin or ""),
        "forward": (found.forward_always, found.forward_busy, found.forward_no_answer),
        "timeout": found.forward_no_answer_timeout,
    }


def understood(run) -> dict[str, str]:
    return {pair[0]: pair[1] for pair in run.columns}


def test_a_wazo_export(xc5_world, staff):
    run = imported(xc5_world, staff, "wazo_users.csv")
    assert run.options["vocabulary"] == "Wazo" and (run.create_count, run.error_count) == (2, 0)
    ada = user("ada")
    assert ada["name"] == ("Ada", "Lovelace") and ada["internal"] == "1701" and ada["entity"] == "sales"
    assert ada["mobile"] == "+31612345678", "spaces in a number column"
    assert ada["ddis"] == ["+31205550000", "+31205550001"], "incall_exten: two numbers separated by ;"
    assert ada["voicemail"] == (True, "1234") and ada["timeout"] == 30
    assert user("alan")["internal"] == "2001" and user("alan")["entity"] == "support"
    assert any(entry.startswith("voicemail_email (") for entry in run.unknown_columns), "an address, not yes/no"
    assert any(entry.startswith("sip_secret (") for entry in run.unknown_columns)


def test_a_legacy_xivo_export_with_pipes_and_national_numbers(xc5_world, staff):
    run = imported(xc5_world, staff, "xivo_legacy_users.csv")
    assert run.delimiter == "|" and run.options["vocabulary"].startswith("XiVO (legacy")
    assert understood(run)["phonenumber"] == "internal_number", "XiVO's legacy phonenumber is the extension"
    note = next(pair[2] for pair in run.columns if pair[0] == "phonenumber")
    assert "read as internal_number" in note and "Teams" in note, "the preview says how it was read"
    emile = user("ezola")
    assert emile["name"] == ("Émile", "Zola") and emile["internal"] == "1702"
    assert emile["mobile"] == "+31612345678", "a national mobile number, read in the tenant's country"
    assert emile["ddis"] == ["+31205550002"] and emile["voicemail"] == (True, "5678"), "a mailbox PIN: a mailbox"
    assert user("marie.curie")["internal"] == "2002"


def test_a_kazoo_monster_ui_onboarding_file(xc5_world, staff):
    run = imported(xc5_world, staff, "kazoo_monster_users.csv")
    assert run.options["vocabulary"] == "Kazoo / Monster UI"
    assert user("michael")["internal"] == "1703" and user("pam")["email"] == "pam@dundermifflin.example"
    assert any(entry.startswith("mac_address (") for entry in run.unknown_columns)


def test_a_fusionpbx_extension_export(xc5_world, staff):
    run = imported(xc5_world, staff, "fusionpbx_extensions.csv")
    assert run.options["vocabulary"] == "FusionPBX / FS PBX"
    unsal = PbxUser.objects.get(internal_number="2003")
    assert (unsal.first_name, unsal.last_name, unsal.display_name) == ("Ünsal", "Yılmaz", "Ünsal Yılmaz")
    assert unsal.forward_always == "+31612345678", "+31 (0)6-12 34 56 78, switched on"
    assert unsal.forward_busy == "", "a busy destination FusionPBX keeps switched off is not imported"
    assert unsal.forward_no_answer_timeout == 30
    desk = PbxUser.objects.get(internal_number="2004")
    assert (desk.first_name, desk.last_name) == ("Reception", "Desk"), "the one name, split"
    assert desk.forward_always == "", "switched off"
    assert not PhoneNumber.objects.filter(assigned_user__isnull=False).exists(), "the caller id is no DDI"


def test_a_freepbx_bulk_handler_extension_export(xc5_world, staff):
    run = imported(xc5_world, staff, "freepbx_extensions.csv")
    assert run.options["vocabulary"] == "FreePBX Bulk Handler (extensions)"
    columns = understood(run)
    assert columns["name"] == "full_name" and columns["voicemail_enable"] == "voicemail_enabled"
    assert "voicemail" not in columns and "user" not in columns, "FreePBX's context and device user"
    assert any(e.startswith("voicemail (") and "FreePBX" in e for e in run.unknown_columns)
    grace = user("grace.hopper")
    assert grace["name"] == ("Grace", "Hopper") and grace["internal"] == "1705"
    assert grace["voicemail"] == (True, "4321") and grace["timeout"] == 20, "ringtimer 0 is the default"
    guido = user("guido.van.rossum")
    assert guido["name"] == ("Guido", "van Rossum") and guido["voicemail"] == (False, "") and guido["timeout"] == 25


def test_a_freepbx_user_manager_export(xc5_world, staff):
    run = imported(xc5_world, staff, "freepbx_userman.csv")
    assert run.options["vocabulary"] == "FreePBX User Manager (usermanusers)"
    assert "department" not in understood(run), "User Manager's department is free text, not an entity"
    katherine = user("kjohnson")
    assert katherine["internal"] == "1707" and katherine["mobile"] == "+15550100199"
    assert katherine["display"] == "Katherine Johnson" and user("dvaughan")["name"] == ("Dorothy", "Vaughan")


def test_a_3cx_user_export_with_international_addresses(xc5_world, staff):
    run = imported(xc5_world, staff, "3cx_users.csv")
    assert run.options["vocabulary"] == "3CX" and understood(run)["Department"] == "entity"
    anna = PbxUser.objects.get(internal_number="2005")
    assert anna.email == "ann@bücher.example" and anna.entity.name == "support"
    assert anna.mobile_number == "+31611112222" and (anna.voicemail_enabled, anna.voicemail_pin) == (True, "2468")
    unsal = PbxUser.objects.get(internal_number="1710")
    assert unsal.email == "ünsal@example.de" and unsal.username == "unsal", "an ASCII username from it"


def test_an_elastix_issabel_batch_export(xc5_world, staff):
    run = imported(xc5_world, staff, "elastix_extensions.csv")
    assert run.options["vocabulary"] == "Elastix / Issabel (extensions batch)"
    linus = user("linus.torvalds")
    assert linus["name"] == ("Linus", "Torvalds") and linus["internal"] == "1711"
    assert linus["ddis"] == ["+31205550001"], "(020) 555-0001 read in the tenant's country"
    assert linus["voicemail"] == (True, "8642")


def test_a_teams_user_sheet(xc5_world, staff):
    run = imported(xc5_world, staff, "teams_users.csv")
    assert run.options["vocabulary"] == "Microsoft Teams / Entra (Excel sheets)"
    assert understood(run)["Mail"] == "email" and "Department" not in understood(run)
    assert any(e.startswith("UserPrincipalName (not imported: Mail") for e in run.unknown_columns)
    margaret = user("margaret")
    assert margaret["internal"] == "1712" and margaret["ddis"] == ["+31205550002"], "from tel:…;ext=…"
    assert user("katherine.coleman")["internal"] == "2006"


def test_an_excel_sheet_in_windows_encoding_with_national_numbers(xc5_world, staff):
    run = imported(xc5_world, staff, "excel_sheet_nl.csv")
    assert (run.encoding, run.delimiter) == ("cp1252", ";") and run.options["vocabulary"] == ""
    assert "Phone number" not in understood(run), "ambiguous, and no tool to tell which it is"
    assert any(e.startswith("Phone number (not imported: it means different things") for e in run.unknown_columns)
    jose = user("jose")
    assert jose["name"] == ("José", "Müller") and jose["ddis"] == ["+31205550004"]
    assert jose["mobile"] == "+31623456789"
    assert user("zoe")["ddis"] == ["+31205550000", "+31205550001"], "(020) 555-0000, 020.555.0001"


@pytest.mark.parametrize(
    ("name", "tool", "numbers"),
    [
        ("kazoo_numbers.csv", "Kazoo (tasks: number_management)", {"+31205559901": "acme", "+31205559902": ""}),
        ("freepbx_dids.csv", "FreePBX Bulk Handler (DIDs)", {"+31205559903": "", "+31205559904": ""}),
        ("teams_numbers.csv", "Microsoft Teams (acquired numbers)", {"+31205559905": ""}),
    ],
)
def test_number_exports(tree, world, reseller_admin, name, tool, numbers):
    run = services.import_run_create(
        actor=reseller_admin,
        kind=ImportKind.NUMBERS,
        mode="create",
        data=(FIXTURES / name).read_bytes(),
        file_name=name,
        organization=tree.reseller,
    )
    run = services.import_run_start_check(run=run)
    assert run.status == ImportStatus.VALIDATED, services.described_errors(run, 10)
    assert run.options["vocabulary"] == tool
    run = services.import_run_confirm(actor=reseller_admin, run=run)
    assert run.status == ImportStatus.COMMITTED
    saved = {n.number: (n.tenant.name if n.tenant else "") for n in PhoneNumber.objects.filter(number__in=numbers)}
    assert saved == numbers
    if name == "freepbx_dids.csv":
        assert PhoneNumber.objects.get(number="+31205559903").label == "Main line"


def test_an_ambiguous_header_is_never_silently_read(tree, world, reseller_admin):
    """`extension` in a numbers file: FreePBX's DIDs export means the DID, other sheets the user's
    extension. Without FreePBX's other columns it is not imported, and the preview says why."""
    outcome_map = match_header(["number", "extension"], NumberImport.columns, kind="numbers")
    assert outcome_map.index == {"number": 0}
    assert outcome_map.unknown[0].startswith("extension (not imported: it means different things")
    freepbx = match_header(["description", "extension", "cidnum", "destination"], NumberImport.columns, kind="numbers")
    assert freepbx.index["number"] == 1 and freepbx.tool == "FreePBX Bulk Handler (DIDs)"


def test_headers_of_one_tool_are_never_two_columns(world):
    """Every tool's header row is read without two headers claiming one column."""
    for path in FIXTURES.glob("*users*.csv"):
        header = read_csv(path.read_bytes()).header
        column_map = match_header(header, USER_COLUMNS, kind="users")
        assert column_map.tool or "excel" in path.name, path.name


def test_voicemail_means_yes_no_in_a_sheet_of_no_known_tool(world, staff):
    header = read_csv(csv_of("first_name,last_name,exten,voicemail", "A,B,1701,yes")).header
    column_map = match_header(header, USER_COLUMNS, kind="users")
    assert column_map.index["voicemail_enabled"] == 3
    assert "read as voicemail_enabled" in column_map.understood[3][2] and "FreePBX" in column_map.understood[3][2]


@pytest.mark.parametrize(
    ("header", "tool", "expected"),
    [
        (
            "Extension,First Name,Last Name,Web Username,Password,Description,Email,IM,Mobile,Device MAC Address",
            "Sangoma PBXact / Switchvox (user import)",
            {"internal_number": "Extension", "username": "Web Username", "mobile_number": "Mobile"},
        ),
        (
            "Type,FirstName,LastName,Email,HomePhone,MobilePhone,Extension,Language,IncomingDID,OutgoingCLID,VM,PIN",
            "Hosted portals (OfficeSuite subscriber import)",
            {"ddi": "IncomingDID", "voicemail_enabled": "VM", "voicemail_pin": "PIN", "mobile_number": "MobilePhone"},
        ),
        (
            "entity_id,firstname,lastname,email,mobile_phone_number,exten,context,line_protocol,incall_exten,labels",
            "XiVO (xivo.solutions CSV import, 2017+)",
            {"internal_number": "exten", "ddi": "incall_exten", "first_name": "firstname"},
        ),
    ],
)
def test_the_other_documented_vocabularies(header, tool, expected):
    column_map = match_header(header.split(","), USER_COLUMNS, kind="users")
    assert column_map.tool == tool
    names = header.split(",")
    assert {column: names[column_map.index[column]] for column in expected} == expected
