"""Fixtures of the drift tests."""

from __future__ import annotations

import pytest

from telephony.models import PbxUser
from telephony.services.users import pbx_user_create
from tests.telephony.drift.helpers import run_all


@pytest.fixture
def add_users(superuser):
    """Create and push users (number, username) on a tenant's entity with a template."""

    def _add(tenant, entity, template, *people: tuple[str, str]) -> None:
        for number, username in people:
            user = PbxUser(
                tenant=tenant, entity=entity, template=template, username=username,
                first_name=username.title(), last_name="Lovelace", internal_number=number,
            )  # fmt: skip
            pbx_user_create(actor=superuser, user=user)
        run_all()

    return _add
