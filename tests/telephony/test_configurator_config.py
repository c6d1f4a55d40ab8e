"""A Configurator configuration built from what a staff member typed, or taken from a file: every
problem is said against the input it is about, and nothing typed is ever evaluated."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from telephony.services.configurator_config import (
    OrderEntry,
    cause_field,
    cause_with_line,
    configuration_from_entry,
    configuration_from_upload,
)


def entry(**changes) -> OrderEntry:
    values = {"organization_name": "Acme", "country": "nl", "central_number": "+31201234500",
              "users": "Sales, ann@acme.example, 201\n# a comment\n\nSupport, cy@acme.example, 301\n"
                       "sales, ben@acme.example, 202",
              "numbers": "Sales, +31201234500"}  # fmt: skip
    values.update(changes)
    return OrderEntry(**values)


def test_departments_come_in_the_order_first_named_with_their_users_and_numbers():
    configuration = configuration_from_entry(entry())
    assert configuration["organization"] == {"name": "Acme", "country": "NL",
                                             "centralPhoneNumber": {"new": False, "value": "+31201234500"}}  # fmt: skip
    sales, support = configuration["departments"]
    assert sales["users"] == ["ann@acme.example", "ben@acme.example"] and sales["internalNumbers"] == ["201", "202"]
    assert sales["externalNumbers"] == [{"new": False, "value": "+31201234500"}]
    assert "externalNumbers" not in support


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"users": "Sales, ann@acme.example"}, "users", "Line 1: expected 3 values"),
        ({"users": "Sales, , 201"}, "users", "Line 1: a department, an e-mail address and a number."),
        ({"users": ""}, "users", "Enter at least one user."),
        ({"numbers": "Nobody, +31201234500"}, "numbers", "Line 1: no user is in the department Nobody."),
        ({"numbers": "Sales, 0201234500"}, "numbers", "Line 1: 0201234500 is not in international form"),
    ],
)
def test_a_typing_mistake_is_said_against_its_field_and_line(changes, field, message):
    with pytest.raises(ValidationError) as refused:
        configuration_from_entry(entry(**changes))
    assert message in refused.value.message_dict[field][0]


def test_typed_text_is_data():
    hostile = "{{ 7*7 }}<img src=x onerror=alert(1)>"
    configuration = configuration_from_entry(
        entry(organization_name=hostile, users=f"{hostile}, a@b.example, 201", numbers="")
    )
    assert configuration["organization"]["name"] == hostile
    assert configuration["departments"][0]["name"] == hostile


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "Not JSON"),
        (b"[1, 2]", "not one object"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b" " * (1024 * 1024 + 1), "larger than 1 MiB"),
    ],
)
def test_an_uploaded_file_that_is_no_configuration_is_refused(content, message):
    with pytest.raises(ValidationError) as refused:
        configuration_from_upload(content)
    assert message in refused.value.message_dict["upload"][0]


def test_an_uploaded_configuration_is_taken_as_it_is():
    assert configuration_from_upload(b'\xef\xbb\xbf{"version": 1}') == {"version": 1}


def test_a_refusal_is_put_next_to_the_input_it_is_about():
    assert cause_field("organization.country: an ISO code", uploaded=False) == "country"
    assert cause_field("organization.centralPhoneNumber.value: must be", uploaded=False) == "central_number"
    assert cause_field("departments[0].externalNumbers[0].value: a number", uploaded=False) == "numbers"
    assert cause_field("departments[1].users: x", uploaded=False) == "users"
    assert cause_field("anything", uploaded=True) == "upload"
    typed = "Sales, ann@acme.example, 201\nSales, ben@acme.example, 911"
    assert cause_with_line("departments[0]: 911 is an emergency number", typed).startswith("Line 2: ")
