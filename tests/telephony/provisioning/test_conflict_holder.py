"""A job stopped by another portal row's claim names that row only to those who may see it: the
job's message (which reaches the customer's logins, the self-service site and the API) names it
when it is the customer's own, and says "of another organization" otherwise; the job's admin page
shows staff who may see the row which one it is. Real HTTP against the XCU simulator, jobs run
in-process by the runner."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from telephony.models import BackendClaim, JobStatus, PbxUser, ProvisioningJob
from telephony.sandbox.xcu import XcuSimulator
from tenants.models import Role
from tests.factories import EntityFactory, PbxUserFactory, TenantFactory
from tests.telephony.test_adoption import new_user, run_all
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def xcu(serve):
    return serve(XcuSimulator())


@pytest.fixture
def world(xcu, tree):
    return xcu_world(xcu.base_url + "/api/1.0/", tree.distributor, tree.customer)


def _claim_next_user_id_for(world, xcu, holder: PbxUser) -> None:
    """The id the XCU gives its next user is still claimed by `holder` (a delete the portal never saw)."""
    with xcu.simulator.lock:
        next_id = xcu.simulator.state.setdefault("_counters", {}).get("users", 1)
    user_type = ContentType.objects.get_for_model(PbxUser)
    BackendClaim.objects.create(platform=world.platform, kind="user", key=str(next_id), target_type=user_type,
                                target_id=holder.pk)  # fmt: skip


def _stopped_create(world, superuser) -> tuple[PbxUser, ProvisioningJob]:
    ada = new_user(world.tenant, world.entity, world.template, superuser, number="1701", username="ada")
    run_all()
    job = ProvisioningJob.objects.get(target_key=f"pbxuser:{ada.pk}", operation="user.create")
    assert job.status == JobStatus.FAILED and job.error_kind == "conflict", job.last_error
    ada.refresh_from_db()
    return ada, job


@pytest.fixture
def secret_holder(world, tree):
    """Another reseller's customer's user on the same platform, with a name that must not travel."""
    tenant = TenantFactory(organization=tree.sibling_customer, server=world.server, name="globex")
    entity = EntityFactory(tenant=tenant, name="globex-sales", intervals=[("2000", "2099")])
    return PbxUserFactory(tenant=tenant, entity=entity, first_name="Bob", last_name="Secretname",
                          internal_number="2001")  # fmt: skip


def test_another_organizations_row_is_not_named_in_the_message(world, xcu, superuser, secret_holder):
    _claim_next_user_id_for(world, xcu, secret_holder)
    ada, job = _stopped_create(world, superuser)

    assert "a PBX user of another organization" in job.last_error
    for text in (job.last_error, ada.sync_message, job.attempt_log.get().error):
        assert "Secretname" not in text and "globex" not in text.lower() and str(secret_holder.pk) not in text
    assert job.result == {"conflict": {"kind": "user", "key": job.result["conflict"]["key"]}}


def test_the_customers_own_row_is_named(world, xcu, superuser):
    bob = new_user(world.tenant, world.entity, world.template, superuser, number="1702", username="bob",
                   first_name="Bob")  # fmt: skip
    ProvisioningJob.objects.filter(target_key=f"pbxuser:{bob.pk}").update(status=JobStatus.CANCELLED)
    _claim_next_user_id_for(world, xcu, bob)
    _ada, job = _stopped_create(world, superuser)

    assert f"PBX user {bob}" in job.last_error


def _job_page(client, login, job):
    client.force_login(login)
    return client.get(reverse("admin:telephony_provisioningjob_change", args=[job.pk]))


def test_staff_who_see_the_holder_are_shown_it_on_the_jobs_page(client, world, xcu, superuser, secret_holder, tree,
                                                                member):  # fmt: skip
    _claim_next_user_id_for(world, xcu, secret_holder)
    _ada, job = _stopped_create(world, superuser)
    distributor_admin = member(tree.distributor, Role.ADMIN)

    page = _job_page(client, distributor_admin, job).content.decode()
    holder_url = reverse("admin:telephony_pbxuser_change", args=[secret_holder.pk])
    assert f'<a href="{holder_url}">Bob Secretname (2001)</a>' in page
    assert "tenant globex" in page


@pytest.mark.parametrize("role", [Role.ADMIN, Role.VIEWER])
def test_the_customers_staff_read_that_the_holder_is_outside_their_scope(client, world, xcu, superuser, secret_holder,
                                                                        tree, member, role):  # fmt: skip
    _claim_next_user_id_for(world, xcu, secret_holder)
    _ada, job = _stopped_create(world, superuser)

    response = _job_page(client, member(tree.customer, role), job)
    page = response.content.decode()
    assert response.status_code == 200
    assert "outside the organizations you can see" in page
    assert "Secretname" not in page and "globex" not in page.lower()


def test_the_holders_staff_cannot_open_the_stopped_job(client, world, xcu, superuser, secret_holder, tree, member):
    _claim_next_user_id_for(world, xcu, secret_holder)
    _ada, job = _stopped_create(world, superuser)

    assert _job_page(client, member(tree.sibling, Role.ADMIN), job).status_code == 404


def test_a_holder_that_let_go_is_shown_as_free(client, world, xcu, superuser, secret_holder):
    _claim_next_user_id_for(world, xcu, secret_holder)
    _ada, job = _stopped_create(world, superuser)
    BackendClaim.objects.filter(target_id=secret_holder.pk).delete()

    page = _job_page(client, superuser, job).content.decode()
    assert "Nothing holds it any more" in page


def test_a_hostile_holder_name_is_shown_as_text(client, world, xcu, superuser, secret_holder):
    PbxUser.objects.filter(pk=secret_holder.pk).update(first_name="<img src=x onerror=alert(1)>", last_name="{{ x }}")
    _claim_next_user_id_for(world, xcu, secret_holder)
    _ada, job = _stopped_create(world, superuser)

    page = _job_page(client, superuser, job).content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt; {{ x }}" in page and "<img src=x" not in page
