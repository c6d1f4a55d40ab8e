"""The hand-over to Celery after commit: one per transaction, however many services planned jobs in
it, and never a job whose savepoint was rolled back without the ones that stayed."""

from __future__ import annotations

import pytest
from django.db import transaction

from telephony.models import PbxUser, ProvisioningJob
from telephony.provisioning import dispatch as dispatch_module
from telephony.services.users import pbx_user_create
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree):
    return xcu_world("http://127.0.0.1:9/api/1.0/", tree.reseller, tree.customer)


@pytest.fixture
def handovers(monkeypatch):
    """The lists of job ids handed to the broker, one list per hand-over."""
    calls: list[list[int]] = []
    monkeypatch.setattr(dispatch_module, "dispatch", lambda job_ids, **kwargs: calls.append(list(job_ids)))
    return calls


def new_user(world, number: str) -> PbxUser:
    return PbxUser(
        tenant=world.tenant,
        entity=world.entity,
        template=world.template,
        username=f"u{number}",
        first_name="Ada",
        last_name="Lovelace",
        internal_number=number,
    )


def test_the_jobs_of_one_transaction_go_out_together_after_it_commits(
    world, superuser, handovers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for number in ("1701", "1702", "1703"):
            pbx_user_create(actor=superuser, user=new_user(world, number))
        assert handovers == [], "nothing before the commit"
    assert handovers == [list(ProvisioningJob.objects.order_by("id").values_list("id", flat=True))]


def test_a_rolled_back_savepoint_does_not_take_the_later_jobs_with_it(
    world, superuser, handovers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            pbx_user_create(actor=superuser, user=new_user(world, "1701"))  # registers the hand-over
            raise RuntimeError("the caller gives up on this one")
        pbx_user_create(actor=superuser, user=new_user(world, "1702"))
    kept = ProvisioningJob.objects.get()
    assert handovers == [[kept.pk]]


def test_jobs_of_a_transaction_that_rolled_back_never_go_out_with_a_later_one(
    world, superuser, handovers, django_capture_on_commit_callbacks
):
    with pytest.raises(RuntimeError), transaction.atomic():
        pbx_user_create(actor=superuser, user=new_user(world, "1701"))
        raise RuntimeError("the whole change is given up")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        pbx_user_create(actor=superuser, user=new_user(world, "1702"))
    assert handovers == [[ProvisioningJob.objects.get().pk]]
