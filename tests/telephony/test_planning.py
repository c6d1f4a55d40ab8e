"""The outbox: every write plans its provisioning jobs in its own transaction, dispatched after commit."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from telephony.models import JobStatus, PbxUser, PhoneNumber, Platform, ProvisioningJob, SyncState, Tenant
from telephony.services.numbers import phone_number_create, phone_number_update
from telephony.services.templates import line_template_update
from telephony.services.tenants import tenant_delete, tenant_update
from telephony.services.users import pbx_user_create, pbx_user_delete, pbx_user_update
from tests.factories import (
    LineTemplateFactory,
    PbxUserFactory,
    PhoneNumberFactory,
    PlatformFactory,
    ServerFactory,
    TenantFactory,
)
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree):
    return xcu_world("http://127.0.0.1:9/api/1.0/", tree.reseller, tree.customer)


def new_user(world, number="1701", username="ada") -> PbxUser:
    return PbxUser(
        tenant=world.tenant,
        entity=world.entity,
        template=world.template,
        username=username,
        first_name="Ada",
        last_name="Lovelace",
        internal_number=number,
    )


def test_a_create_plans_one_job_dispatched_only_after_commit(world, superuser, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        user = pbx_user_create(actor=superuser, user=new_user(world))
        assert ProvisioningJob.objects.count() == 1
    assert len(callbacks) == 1, "the job is handed to Celery once, after the commit"
    job = ProvisioningJob.objects.get()
    assert (job.operation, job.status, job.target_key) == ("user.create", JobStatus.PENDING, f"pbxuser:{user.pk}")
    assert set(job.dependency_keys()) == {f"tenant:{world.tenant.pk}", f"entity:{world.entity.pk}"}
    assert job.payload["user"]["username"] == "ada"
    assert job.server == world.server and job.platform == world.platform and job.created_by == superuser
    assert PbxUser.objects.get(pk=user.pk).sync_state == SyncState.PENDING


def test_a_refused_change_writes_no_job(world, superuser):
    with pytest.raises(ValidationError):
        pbx_user_create(actor=superuser, user=new_user(world, number="9999"))
    assert not ProvisioningJob.objects.exists()


def test_update_and_delete_follow_the_create_in_order(world, superuser):
    user = pbx_user_create(actor=superuser, user=new_user(world))
    ProvisioningJob.objects.update(status=JobStatus.SUCCEEDED, attempts=1)
    user.first_name = "Augusta"
    pbx_user_update(actor=superuser, user=user)
    pbx_user_delete(actor=superuser, user=user)
    jobs = list(ProvisioningJob.objects.order_by("id").values_list("operation", "payload__user__first_name"))
    assert jobs == [("user.create", "Ada"), ("user.update", "Augusta"), ("user.delete", "Augusta")]


def test_deleting_what_never_reached_the_backend_cancels_instead(world, superuser):
    user = pbx_user_create(actor=superuser, user=new_user(world))
    pbx_user_delete(actor=superuser, user=user)
    assert list(ProvisioningJob.objects.values_list("operation", "status")) == [("user.create", JobStatus.CANCELLED)]


def test_deleting_a_tenant_removes_its_users_and_entities_first(world, superuser):
    user = PbxUserFactory(tenant=world.tenant, entity=world.entity, internal_number="1702")
    ProvisioningJob.objects.all().delete()
    tenant_delete(actor=superuser, tenant=world.tenant)
    jobs = {job.operation: job for job in ProvisioningJob.objects.all()}
    assert set(jobs) == {"user.delete", "entity.delete", "tenant.delete"}
    assert f"pbxuser:{user.pk}" in jobs["tenant.delete"].dependency_keys()
    assert f"entity:{world.entity.pk}" in jobs["tenant.delete"].dependency_keys()
    assert not Tenant.objects.filter(pk=world.tenant.pk).exists()


def test_number_reassignment_unassigns_then_assigns(world, superuser, tree):
    first = PbxUserFactory(tenant=world.tenant, entity=world.entity, internal_number="1703")
    second = PbxUserFactory(tenant=world.tenant, entity=world.entity, internal_number="1704")
    number = PhoneNumberFactory(organization=tree.reseller, tenant=world.tenant, assigned_user=first)
    number.assigned_user = second
    phone_number_update(actor=superuser, number=number)
    assert list(ProvisioningJob.objects.order_by("id").values_list("operation", "payload__user__username")) == [
        ("number.unassign", first.username),
        ("number.assign", second.username),
    ]


def test_a_number_without_a_user_needs_no_push(tree, superuser):
    number = phone_number_create(actor=superuser, number=PhoneNumber(number="+31201112222", organization=tree.reseller))
    assert number.__class__.objects.get(pk=number.pk).sync_state == SyncState.IN_SYNC
    assert not ProvisioningJob.objects.exists()


def test_a_template_change_goes_to_every_xcu_that_holds_it(world, superuser):
    world.template.mirrors.create(platform=world.platform, backend_ref={"xcu_id": 7})
    world.template.ringing_time = 45
    line_template_update(actor=superuser, template=world.template)
    job = ProvisioningJob.objects.get()
    assert (job.operation, job.payload["template"]["ringing_time"], job.platform) == (
        "template.upsert",
        45,
        world.platform,
    )


def test_a_template_never_pushed_is_in_sync(tree, superuser):
    template = LineTemplateFactory(organization=tree.reseller)
    template.ringing_time = 50
    line_template_update(actor=superuser, template=template)
    assert template.__class__.objects.get(pk=template.pk).sync_state == SyncState.IN_SYNC


def test_only_xelion_tenants_start_and_stop(world, superuser, tree):
    world.tenant.status = "stopped"
    with pytest.raises(ValidationError, match="cannot be started or stopped"):
        tenant_update(actor=superuser, tenant=world.tenant)
    xelion = TenantFactory(
        organization=tree.customer,
        server=ServerFactory(platform=PlatformFactory(organization=tree.reseller, kind="xelion_pm", username="")),
    )
    xelion.status = "stopped"
    tenant_update(actor=superuser, tenant=xelion)
    assert ProvisioningJob.objects.get(tenant=xelion).operation == "tenant.stop"


def test_the_voicemail_pin_never_goes_into_a_payload(world, superuser):
    # on a platform that keeps voicemail PINs
    Platform.objects.filter(pk=world.platform.pk).update(kind="xc5", base_url="http://127.0.0.1:9/api-sys/")
    user = new_user(world)
    user.voicemail_enabled, user.voicemail_pin = True, "97531"
    pbx_user_create(actor=superuser, user=user)
    job = ProvisioningJob.objects.get()
    assert "97531" not in str(job.payload) and job.payload["user"]["voicemail_pin"] == ""


def test_a_tenant_changed_before_it_was_pushed_is_created_as_changed(tree, superuser):
    from telephony.models import Tenant
    from telephony.services.tenants import tenant_create

    server = ServerFactory(platform=PlatformFactory(organization=tree.reseller, kind="xelion_pm", username=""))
    tenant = tenant_create(actor=superuser, tenant=Tenant(organization=tree.customer, server=server, name="first"))
    tenant.name, tenant.licences = "second", 25
    tenant_update(actor=superuser, tenant=tenant)
    job = ProvisioningJob.objects.get(operation="tenant.create")
    assert (job.payload["tenant"]["name"], job.payload["tenant"]["licences"]) == ("second", 25)
    ProvisioningJob.objects.filter(pk=job.pk).update(attempts=1)  # a worker has tried it
    tenant.name = "third"
    with pytest.raises(ValidationError, match="being created"):
        tenant_update(actor=superuser, tenant=tenant)
    assert Tenant.objects.get(pk=tenant.pk).name == "second"


def test_a_template_change_reaches_the_users_where_its_values_live_on_them(tree, superuser):
    xc5 = ServerFactory(platform=PlatformFactory(organization=tree.reseller, kind="xc5"))
    user = PbxUserFactory(tenant=TenantFactory(organization=tree.customer, server=xc5))
    user.template.ringing_time = 55
    line_template_update(actor=superuser, template=user.template)
    job = ProvisioningJob.objects.get()
    assert (job.operation, job.target_id, job.payload["user"]["template"]["ringing_time"]) == (
        "user.update",
        user.pk,
        55,
    )


def test_an_xcu_tenant_whose_create_succeeded_takes_label_and_licence_changes(tree, superuser):
    """An XCU tenant gets no backend identity: its succeeded create is what says it exists."""
    from telephony.models import Tenant
    from telephony.services.tenants import tenant_create

    server = ServerFactory(platform=PlatformFactory(organization=tree.reseller, kind="xcu"))
    tenant = tenant_create(actor=superuser, tenant=Tenant(organization=tree.customer, server=server, name="acme"))
    ProvisioningJob.objects.filter(operation="tenant.create").update(status=JobStatus.SUCCEEDED, attempts=1)
    tenant.label, tenant.licences = "Acme HQ", 30
    tenant_update(actor=superuser, tenant=tenant)
    assert (Tenant.objects.get(pk=tenant.pk).label, Tenant.objects.get(pk=tenant.pk).licences) == ("Acme HQ", 30)
    tenant.server = ServerFactory(platform=server.platform)
    with pytest.raises(ValidationError, match="cannot move"):
        tenant_update(actor=superuser, tenant=tenant)
