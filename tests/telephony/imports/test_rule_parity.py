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
