"""One customer's change never lands on another customer's PBX object. A driver adopts an object it
finds by its natural key only when it sits where the portal expects it and no other portal row
claims it; otherwise the job ends as a conflict and nothing is written. Real HTTP against the
simulators, jobs run in-process by the runner."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from telephony.backends.base import (
    EntitySpec,
    IntervalSpec,
    TemplateSpec,
    TenantRef,
    UserSpec,
)
from telephony.backends.registry import driver_for
from telephony.models import BackendClaim, Entity, JobStatus, PbxUser, ProvisioningJob
from telephony.provisioning import planning, runner
from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.sandbox.xcu import XcuSimulator
from telephony.services.users import pbx_user_create, pbx_user_delete, pbx_user_update
from tests.factories import EntityFactory, LineTemplateFactory, PlatformFactory, ServerFactory, TenantFactory
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


def run_all() -> dict[int, str]:
    """Run every pending job once, oldest first; what became of each."""
    return {
        pk: runner.run_job(pk)
        for pk in ProvisioningJob.objects.filter(status="pending").order_by("id").values_list("pk", flat=True)
    }


def new_user(tenant, entity, template, actor, *, number, username, first_name="Ada") -> PbxUser:
    user = PbxUser(
        tenant=tenant, entity=entity, template=template, username=username, first_name=first_name,
        last_name="Lovelace", internal_number=number,
    )  # fmt: skip
    return pbx_user_create(actor=actor, user=user)


# --- XiVO XCU ---------------------------------------------------------------------------------------


@pytest.fixture
def xcu(serve):
    return serve(XcuSimulator())


@pytest.fixture
def world(xcu, tree):
    return xcu_world(xcu.base_url + "/api/1.0/", tree.distributor, tree.customer)


def _xivo_ref() -> TenantRef:
    return TenantRef(name="outside", server_identity={"xcu_id": 2})


def test_a_user_made_outside_the_portal_on_the_number_is_a_conflict_not_a_takeover(world, xcu, superuser):
    """Another tool made "Hank" at 1701 in another entity of the XiVO: the portal's create of 1701
    fails as a conflict and Hank stays as he is; deleting the portal's user leaves Hank alone."""
    outside = driver_for(world.platform.connection())
    other = EntitySpec(name="globex", intervals=[IntervalSpec("1700", "1799")])
    outside.upsert_entity(_xivo_ref(), other)
    template = TemplateSpec(name="Outside line")
    outside.upsert_template(_xivo_ref(), template)
    outside.create_user(
        _xivo_ref(),
        UserSpec(username="hank", first_name="Hank", last_name="Scorpio", internal_number="1701", entity=other,
                 template=template),
    )  # fmt: skip

    ada = new_user(world.tenant, world.entity, world.template, superuser, number="1701", username="ada")
    run_all()
    job = ProvisioningJob.objects.get(operation="user.create")
    assert job.status == JobStatus.FAILED and job.error_kind == "conflict", job.last_error
    held = [u for u in xcu.simulator.snapshot()["users"] if u["internalNumber"] == "1701"]
    entities = {e["id"]: e["name"] for e in xcu.simulator.snapshot()["entities"]}
    assert [(u["firstName"], entities[u["entityId"]]) for u in held] == [("Hank", "globex")], "nothing overwritten"
    ada.refresh_from_db()
    assert ada.backend_ref.get("xcu_id") is None and ada.sync_state == "failed"

    pbx_user_delete(actor=superuser, user=ada)
    job_cancel_failed_create(ada)
    run_all()
    held = [u for u in xcu.simulator.snapshot()["users"] if u["internalNumber"] == "1701"]
    assert [u["firstName"] for u in held] == ["Hank"], "a delete never removes another's user"


def job_cancel_failed_create(user: PbxUser) -> None:
    from telephony.services.jobs import job_cancel

    for job in ProvisioningJob.objects.filter(target_key=f"pbxuser:{user.pk}", status=JobStatus.FAILED):
        job_cancel(actor=_root(), job=job)


def _root():
    from tests.factories import UserFactory

    return UserFactory(is_superuser=True)


def test_an_entity_another_customer_holds_on_the_xivo_is_never_taken_over(world, xcu, superuser, tree):
    """Two customers' entities called "sales" on one XiVO (saved before the portal refused it):
    the second one's push is a conflict, and the first one's entity keeps its plan."""
    first = EntityFactory(tenant=world.tenant, name="sales", display_name="Acme sales", intervals=[("1800", "1849")])
    planning.entity_saved(first, actor=superuser)
    run_all()
    first.refresh_from_db()
    assert first.backend_ref.get("xcu_id") is not None
    globex = TenantFactory(organization=tree.sibling_customer, server=world.server, name="globex")
    second = EntityFactory(tenant=globex, name="sales", display_name="Globex sales", intervals=[("1850", "1899")])
    planning.entity_saved(second, actor=superuser)
    run_all()
    job = ProvisioningJob.objects.filter(target_key=f"entity:{second.pk}").get()
    assert job.status == JobStatus.FAILED and job.error_kind == "conflict"
    on_xivo = [e for e in xcu.simulator.snapshot()["entities"] if e["name"] == "sales"]
    assert [(e["displayName"], e["intervals"][0]["start"]) for e in on_xivo] == [("Acme sales", "1800")]


def test_no_two_rows_can_claim_one_backend_object(world):
    other = EntityFactory(tenant=world.tenant, name="other", intervals=[("1900", "1909")])
    from django.contrib.contenttypes.models import ContentType

    entity_type = ContentType.objects.get_for_model(Entity)
    BackendClaim.objects.create(platform=world.platform, kind="entity", key="17", target_type=entity_type,
                                target_id=world.entity.pk)  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        BackendClaim.objects.create(platform=world.platform, kind="entity", key="17", target_type=entity_type,
                                    target_id=other.pk)  # fmt: skip


def test_a_first_try_whose_new_id_another_row_still_claims_fails_as_a_conflict(world, xcu, superuser):
    """The PBX gives a new user an id that a claim of another row still names (an id reused after a
    delete the portal never saw): the create's success is not recorded, the claim stays the other
    row's, and the user's row does not take the id."""
    from django.contrib.contenttypes.models import ContentType

    bob = new_user(world.tenant, world.entity, world.template, superuser, number="1702", username="bob")
    ProvisioningJob.objects.filter(target_key=f"pbxuser:{bob.pk}").update(status=JobStatus.CANCELLED)
    with xcu.simulator.lock:
        next_id = xcu.simulator.state.setdefault("_counters", {}).get("users", 1)
    user_type = ContentType.objects.get_for_model(PbxUser)
    BackendClaim.objects.create(platform=world.platform, kind="user", key=str(next_id), target_type=user_type,
                                target_id=bob.pk)  # fmt: skip

    ada = new_user(world.tenant, world.entity, world.template, superuser, number="1701", username="ada")
    run_all()

    job = ProvisioningJob.objects.get(target_key=f"pbxuser:{ada.pk}", operation="user.create")
    assert job.status == JobStatus.FAILED and job.error_kind == "conflict", job.last_error
    assert "belongs to another portal row" in job.last_error
    assert job.attempt_log.get().outcome == "failed"
    claim = BackendClaim.objects.get(platform=world.platform, kind="user", key=str(next_id))
    assert claim.target_id == bob.pk, "the other row keeps its claim"
    ada.refresh_from_db()
    assert ada.backend_ref.get("xcu_id") is None and ada.sync_state == "failed"


# --- XC5 ---------------------------------------------------------------------------------------------


@pytest.fixture
def xc5(serve):
    return serve(Xc5Simulator())


@pytest.fixture
def xc5_world(xc5, tree):
    platform = PlatformFactory(organization=tree.distributor, kind="xc5", base_url=xc5.base_url,
                               username=SYSTEM_API_USERNAME, secret=SYSTEM_API_PASSWORD)  # fmt: skip
    server = ServerFactory(platform=platform, name="xc5")
    tenant = TenantFactory(organization=tree.customer, server=server, name="acmebrick.x.co.nz")
    planning.tenant_created(tenant)
    entity = EntityFactory(tenant=tenant, name="office", intervals=[("600", "699")])
    template = LineTemplateFactory(organization=tree.customer, name="standard")
    return tenant, entity, template


def _pushed_user(tenant, entity, template, actor, **fields) -> PbxUser:
    user = new_user(tenant, entity, template, actor, **fields)
    run_all()
    user.refresh_from_db()
    assert user.backend_ref.get("xc5_guid"), "pushed"
    return user


def accounts(xc5) -> dict[str, dict]:
    return {a["username"]: a for a in xc5.simulator.snapshot()["accounts"].values()}


def test_a_name_taken_from_a_user_still_being_renamed_waits_for_the_rename(xc5_world, xc5, superuser):
    """Ada is pushed as ada@…, then renamed to ada2 while Bob takes the name "ada". Bob's create
    waits until Ada's rename has reached the PBX, then makes an account of his own."""
    tenant, entity, template = xc5_world
    run_all()  # the tenant
    ada = _pushed_user(tenant, entity, template, superuser, number="601", username="ada")
    ada.username = "ada2"
    pbx_user_update(actor=superuser, user=ada)
    rename = ProvisioningJob.objects.filter(target_key=f"pbxuser:{ada.pk}", status="pending").get()
    bob = new_user(tenant, entity, template, superuser, number="602", username="ada", first_name="Bob")
    bob_create = ProvisioningJob.objects.filter(target_key=f"pbxuser:{bob.pk}").get()
    assert f"pbxuser:{ada.pk}" in bob_create.dependency_keys()
    assert runner.run_job(bob_create.pk) == "waiting for an earlier job"
    assert runner.run_job(rename.pk) == "succeeded"
    assert runner.run_job(bob_create.pk) == "succeeded"
    held = accounts(xc5)
    bob.refresh_from_db()
    assert held["ada2@acmebrick.x.co.nz"]["guid"] == ada.backend_ref["xc5_guid"]
    assert held["ada@acmebrick.x.co.nz"]["guid"] == bob.backend_ref["xc5_guid"] != ada.backend_ref["xc5_guid"]


def test_an_account_still_held_by_a_deleted_user_is_a_conflict_not_a_takeover(xc5_world, xc5, superuser):
    """Ada's delete fails and staff cancel it: her account stays on the PBX, still hers. Bob, who
    takes her name, stops as a conflict instead of taking the account over."""
    from telephony.services.jobs import job_cancel

    tenant, entity, template = xc5_world
    run_all()
    ada = _pushed_user(tenant, entity, template, superuser, number="601", username="ada")
    ada_guid = ada.backend_ref["xc5_guid"]
    pbx_user_delete(actor=superuser, user=ada)
    delete = ProvisioningJob.objects.get(operation="user.delete")
    ProvisioningJob.objects.filter(pk=delete.pk).update(status=JobStatus.FAILED, last_error="HTTP 500")
    job_cancel(actor=superuser, job=ProvisioningJob.objects.get(pk=delete.pk))
    bob = new_user(tenant, entity, template, superuser, number="602", username="ada", first_name="Bob")
    bob_create = ProvisioningJob.objects.filter(target_key=f"pbxuser:{bob.pk}").get()
    assert runner.run_job(bob_create.pk) == "failed"
    bob_create.refresh_from_db()
    assert bob_create.error_kind == "conflict"
    assert accounts(xc5)["ada@acmebrick.x.co.nz"]["guid"] == ada_guid, "Ada's account is untouched"


def test_deleting_a_user_whose_create_failed_cleans_up_without_waiting_for_a_person(xc5_world, xc5, superuser):
    """Ada's create made her XC5 account, then failed for good (her extension already dials an
    account made outside the portal). Deleting her cancels the failed create and the delete runs
    at once: the half-made account goes, the other account stays."""
    tenant, entity, template = xc5_world
    run_all()
    outside = driver_for(tenant.server.platform.connection())
    spec = UserSpec(username="other", first_name="O", last_name="Ther", internal_number="601",
                    entity=EntitySpec(name="office"), template=TemplateSpec(name="standard"))  # fmt: skip
    outside.create_user(TenantRef(name=tenant.name), spec)
    ada = new_user(tenant, entity, template, superuser, number="601", username="ada")
    run_all()
    create = ProvisioningJob.objects.get(target_key=f"pbxuser:{ada.pk}", operation="user.create")
    assert create.status == JobStatus.FAILED
    assert "ada@acmebrick.x.co.nz" in accounts(xc5), "the failed create left its account behind"

    pbx_user_delete(actor=superuser, user=ada)
    create.refresh_from_db()
    assert create.status == JobStatus.CANCELLED
    assert set(run_all().values()) == {"succeeded"}, "the delete does not wait for anyone"
    assert "ada@acmebrick.x.co.nz" not in accounts(xc5)
    assert "other@acmebrick.x.co.nz" in accounts(xc5)


def test_a_job_waiting_on_a_failed_one_says_so_on_the_dashboard(world, superuser, client):
    from django.urls import reverse

    ada = new_user(world.tenant, world.entity, world.template, superuser, number="1701", username="ada")
    ProvisioningJob.objects.filter(operation="user.create").update(status=JobStatus.FAILED, attempts=1)
    ada.first_name = "Adele"
    pbx_user_update(actor=superuser, user=ada)
    update = ProvisioningJob.objects.get(operation="user.update")
    assert runner.run_job(update.pk) == "blocked by a failed job"
    ada.refresh_from_db()
    assert "1 later change(s) wait until it is retried or cancelled" in ada.sync_message
    client.force_login(superuser)
    page = client.get(reverse("admin:telephony_pbxuser_change", args=[ada.pk])).content.decode()
    assert "failed; retry or cancel it first" in page, "the user's page says why its change waits"
    page = client.get(reverse("staff_dashboard")).content.decode()
    assert "waiting on a failed job" in page and "1 (1)" in page
