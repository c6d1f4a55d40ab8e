"""Reading uploads: encodings and delimiters detected, headers matched with other tools' names, and
the corpus of broken files — each refused with a clear message, nothing written."""

from __future__ import annotations

import pytest

from telephony.imports.columns import USER_COLUMNS, match_header
from telephony.imports.reading import FileProblem, read_csv
from telephony.imports.services import import_run_check, import_run_create
from telephony.models import ImportStatus, PbxUser, ProvisioningJob

pytestmark = pytest.mark.django_db

TEXT = "first_name;last_name;exten\nJosé;Müller;1701\nZoë;Ærø;1702\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.replace("José", "José – “quoted”").encode("cp1252"), "cp1252"),
        (TEXT.encode("latin-1") + b"\x81", "latin-1"),  # 0x81 means nothing in cp1252
        (TEXT.encode("utf-16"), "utf-16"),
    ],
    ids=["utf-8", "utf-8-bom", "cp1252", "latin-1", "utf-16"],
)
def test_encodings_are_detected(data, encoding):
    csv_file = read_csv(data)
    assert csv_file.encoding == encoding
    assert csv_file.header == ["first_name", "last_name", "exten"]
    rows = [cells for _n, cells in csv_file.rows()]
    assert rows[0][0].startswith("José") and rows[0][1] == "Müller" and rows[1][:2] == ["Zoë", "Ærø"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(delimiter):
    lines = ["first_name,last_name,exten", "Ada,Lovelace,1701", '"Smith, Jr",Bob,1702']
    data = "\n".join(line.replace(",", delimiter) if delimiter != "," else line for line in lines)
    csv_file = read_csv(data.encode())
    assert csv_file.delimiter == delimiter
    assert len(csv_file.header) == 3


def test_headers_match_other_tools_names_case_insensitively():
    header = ["FirstName", "last_name", "EmailAddress", "Number", "mobile_phone_number", "VMPIN", "shoe size"]
    column_map = match_header(header, USER_COLUMNS)
    assert set(column_map.index) == {
        "first_name",
        "last_name",
        "email",
        "internal_number",
        "mobile_number",
        "voicemail_pin",
    }
    assert column_map.unknown == ["shoe size"]


def test_duplicate_headers_are_refused():
    with pytest.raises(FileProblem, match="both mean email"):
        match_header(["first_name", "last_name", "exten", "email", "EmailAddress"], USER_COLUMNS)


BROKEN = {
    "empty": (b"", "The file is empty"),
    "blank lines": (b"\n\n  \n", "The file is empty"),
    "header only": (b"first_name,last_name,exten\n", "header row but no data rows"),
    "binary": (bytes(range(256)) * 4, "binary file"),
    "excel workbook": (b"PK\x03\x04" + b"\x00" * 100, "Excel"),
    "wrong delimiter": (b"first_name:last_name:exten\nAda:Lovelace:1701\n", "Is the delimiter right"),
    "ragged rows": (b"first_name,last_name,exten\nAda,Lovelace,1701,extra,cells\n", "has 5 cells but the header has 3"),
    "10 MB single line": (b"a," * (5 * 1024 * 1024), "first line is"),
    "huge cell": (b"first_name,last_name,exten\n" + b"x" * 20_000 + b",y,1701\n", "longer than 10,000 characters"),
    "invalid utf-8": (
        "first_name,last_name,exten\nJosé,Ok,1701\n".encode() + b"Bad\xc3,Bytes,1702\n",
        "not valid UTF-8",
    ),
    "duplicate headers": (b"first_name,FirstName,last_name,exten\nA,B,C,1701\n", "both mean first_name"),
    "formula cells": (b'first_name,last_name,exten\n=HYPERLINK("http://evil"),x,1701\n@SUM(1),y,1702\n', "formula"),
    "40-digit numbers": (
        b"first_name,last_name,exten,ddi\nAda,L,1234567890123456789012345678901234567890,\n",
        "1 to 6 digits",
    ),
    "40-digit ddi": (
        b"first_name,last_name,exten,ddi\nAda,L,1701,+1234567890123456789012345678901234567890\n",
        "E.164",
    ),
    "sql-looking": (
        b"first_name,last_name,exten,username,email\nA,B,1701,x'); DROP TABLE telephony_pbxuser;--,a@b'--.com\n",
        "lower-case letters",
    ),
    "control characters": (b"first_name,last_name,exten\nA\x07,B,1701\n", "control character"),
    "missing required column": (b"first_name,last_name\nAda,Lovelace\n", "no internal_number"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_get_a_clear_message_and_write_nothing(name, world, staff):
    data, expected = BROKEN[name]
    run = import_run_create(
        actor=staff,
        kind="users",
        mode="create",
        data=data,
        file_name=f"{name}.csv",
        tenant=world.tenant,
        template=world.template,
    )
    run = import_run_check(run_id=run.pk)
    shown = run.message + " ".join(message for _row, _column, message in run.errors)
    # a file refused as a whole cannot be read; one refused row by row has errors
    assert run.status == (ImportStatus.INVALID if run.errors else ImportStatus.UNREADABLE), shown
    assert bool(run.message) != bool(run.errors), shown
    assert expected in shown
    assert not PbxUser.objects.exists() and not ProvisioningJob.objects.exists()
