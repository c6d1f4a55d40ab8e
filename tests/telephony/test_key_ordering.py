"""Jobs that let go of a key on the PBX (a rename, a renumbering, a delete) run before jobs of
other users that take it, whichever way the change came in: a single change or an import."""

from __future__ import annotations

import pytest
from django.db import transaction

from telephony.imports.users import UserImport
from telephony.models import PbxUser, ProvisioningBatch, ProvisioningJob
from telephony.services.users import pbx_user_create, pbx_user_delete, pbx_user_update
from tests.factories import EntityFactory, LineTemplateFactory, PlatformFactory, ServerFactory, TenantFactory
from tests.telephony.imports.conftest import parsed

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(tree):
    server = ServerFactory(platform=PlatformFactory(organization=tree.reseller, kind="xcu"))
    tenant = TenantFactory(organization=tree.customer, server=server, name="acme", licences=50)
    entity = EntityFactory(tenant=tenant, name="sales", intervals=[("1700", "1799")])
    template = LineTemplateFactory(organization=tree.reseller, name="Standard")
    return tenant, entity, template


def _user(place, actor, number, username) -> PbxUser:
    tenant, entity, template = place
    return pbx_user_create(
        actor=actor,
        user=PbxUser(tenant=tenant, entity=entity, template=template, username=username, first_name=username.title(),
                     last_name="X", internal_number=number),
    )  # fmt: skip


def _pushed(user: PbxUser) -> None:
    """As if its create had reached the PBX."""
    ProvisioningJob.objects.filter(target_key=f"pbxuser:{user.pk}").update(status="succeeded", attempts=1)


def _job_of(user: PbxUser, operation: str) -> ProvisioningJob:
    return ProvisioningJob.objects.get(target_key=f"pbxuser:{user.pk}", operation=operation)


@pytest.mark.parametrize("let_go", ["renumber", "rename", "delete"])
def test_a_user_taking_a_key_waits_for_the_user_letting_go_of_it(place, superuser, let_go):
    ada = _user(place, superuser, "1701", "ada")
    _pushed(ada)
    taken = {"renumber": ("1701", "bob"), "rename": ("1702", "ada"), "delete": ("1701", "ada")}[let_go]
    if let_go == "delete":
        pbx_user_delete(actor=superuser, user=ada)
    else:
        ada.internal_number, ada.username = ("1705", "ada") if let_go == "renumber" else ("1701", "ada2")
        pbx_user_update(actor=superuser, user=ada)
    bob = _user(place, superuser, *taken)
    assert f"pbxuser:{ada.pk}" in _job_of(bob, "user.create").dependency_keys()


def test_a_user_taking_nothing_of_anyone_waits_for_no_other_user(place, superuser):
    ada = _user(place, superuser, "1701", "ada")
    _pushed(ada)
    ada.first_name = "Adele"
    pbx_user_update(actor=superuser, user=ada)
    bob = _user(place, superuser, "1702", "bob")
    assert f"pbxuser:{ada.pk}" not in _job_of(bob, "user.create").dependency_keys()


def test_an_import_renumbering_one_user_and_giving_its_number_to_another_orders_them(place, superuser, tree):
    tenant, _entity, template = place
    ada = _user(place, superuser, "1701", "ada")
    _pushed(ada)
    batch = ProvisioningBatch.objects.create(organization=tree.customer, label="test")
    with transaction.atomic():
        outcome = UserImport(actor=superuser, mode="upsert", tenant=tenant, template=template).run(
            parsed("first_name,last_name,exten,username", "Ada,X,1702,ada", "Bob,X,1701,bob"),
            commit=True,
            batch=batch,
            dispatch=False,
        )
    assert not outcome.errors
    bob = PbxUser.objects.get(username="bob")
    renumber, create = _job_of(ada, "user.update"), _job_of(bob, "user.create")
    assert renumber.releases == f"number:server{tenant.server_id}:1701"
    assert f"pbxuser:{ada.pk}" in create.dependency_keys() and renumber.pk < create.pk, "the renumbering runs first"
