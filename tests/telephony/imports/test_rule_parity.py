"""One rule set for one write and for ten thousand: a create through the service and the same
row in a CSV import are refused alike, in the same words."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.models import PbxUser
from telephony.services.users import pbx_user_create
from tests.factories import PbxUserFactory
from tests.telephony.imports.test_users import check

pytestmark = pytest.mark.django_db


def _through_the_service(world, staff, username: str, number: str) -> str:
    user = PbxUser(
        tenant=world.tenant,
        entity=world.sales,
        template=world.template,
        username=username,
        first_name="New",
        last_name="Line",
        internal_number=number,
    )
    try:
        pbx_user_create(actor=staff, user=user)
    except ValidationError as refusal:
        return " ".join(refusal.messages)
    user.delete()  # accepted: leave the world as it was for the import's turn
    return ""


def _through_the_import(world, staff, username: str, number: str) -> str:
    outcome = check(world, staff, f"New,Line,{number},{username},,,,sales,,")
    return " ".join(message for _row, _column, message in outcome.errors)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(licences=st.integers(min_value=1, max_value=4), held=st.integers(min_value=0, max_value=4), room=st.booleans())
def test_room_for_a_line_is_refused_alike_and_in_the_same_words(world, staff, licences, held, room):
    PbxUser.objects.filter(tenant=world.tenant).delete()
    for index in range(held):
        PbxUserFactory(
            tenant=world.tenant, entity=world.sales, template=world.template, internal_number=f"17{index:02}"
        )
    world.tenant.licences = max(licences, held)
    world.tenant.save()
    world.server.capacity_users = None if room else held
    world.server.save()

    by_service = _through_the_service(world, staff, "newline", "1750")
    by_import = _through_the_import(world, staff, "newline", "1750")
    assert by_service == by_import
    full = held + 1 > world.tenant.licences or not room
    assert bool(by_service) == full, by_service


NUMBERS = ["1750", "1701", "9999", "17a5", ""]
# (A row naming an existing user is that user's update in the importer, not a clash: not compared.)
USERNAMES = ["newline", "Bad Name", "x" * 200, "ada@example.com", "_under"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=st.sampled_from(NUMBERS), username=st.sampled_from(USERNAMES))
def test_number_plan_and_names_are_refused_alike_and_in_the_same_words(world, staff, number, username):
    """A number taken, outside the entity's plan or not digits, and a user name taken or malformed:
    the service and the importer answer with the same verdict and the same words."""
    PbxUser.objects.filter(tenant=world.tenant).delete()
    PbxUserFactory(
        tenant=world.tenant, entity=world.sales, template=world.template, internal_number="1701", username="taken"
    )
    world.tenant.licences = 10
    world.tenant.save()
    by_service = _refusals_by_the_service(world, staff, username, number)
    by_import = _refusals_by_the_import(world, staff, username, number)
    # an import reports the first refusal of a row, the service every field's: the same verdict, and
    # the import's words are the service's for that field
    assert bool(by_service) == bool(by_import), (by_service, by_import)
    for column, message in by_import.items():
        assert by_service.get(column) == message, (column, by_service, by_import)


def _refusals_by_the_service(world, staff, username: str, number: str) -> dict[str, str]:
    """The first refusal of each field."""
    user = PbxUser(
        tenant=world.tenant, entity=world.sales, template=world.template, username=username,
        first_name="New", last_name="Line", internal_number=number,
    )  # fmt: skip
    try:
        pbx_user_create(actor=staff, user=user)
    except ValidationError as refusal:
        return {field: messages[0] for field, messages in refusal.message_dict.items()}
    user.delete()
    return {}


def _refusals_by_the_import(world, staff, username: str, number: str) -> dict[str, str]:
    outcome = check(world, staff, f"New,Line,{number},{username},,,,sales,,")
    refusals: dict[str, str] = {}
    for _row, column, message in outcome.errors:
        refusals.setdefault(column, message)
    return refusals
