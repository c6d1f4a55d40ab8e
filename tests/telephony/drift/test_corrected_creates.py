"""A create the PBX refused is corrected and tried again with the corrected data, never with the
data of its first attempt; a cancelled create is shown as not on the PBX, not as in sync."""

from __future__ import annotations

import pytest

from telephony.models import JobStatus, PbxUser, ProvisioningJob, SyncState, Tenant
from telephony.provisioning import planning, runner
from telephony.sandbox.parkmanager import ROOT_API_KEY, build_xelion_park
from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.services.jobs import job_cancel
from telephony.services.tenants import tenant_update
from telephony.services.users import pbx_user_create, pbx_user_update
from tests.factories import EntityFactory, LineTemplateFactory, PlatformFactory, ServerFactory, TenantFactory
from tests.telephony.drift.helpers import run_all

pytestmark = pytest.mark.django_db


def run_pending() -> dict[str, str]:
    return {
        job.operation: runner.run_job(job.pk) for job in ProvisioningJob.objects.filter(status="pending").order_by("id")
    }


def test_a_tenant_refused_for_its_name_is_renamed_and_created_with_the_new_name(serve, tree, superuser):
    xc5 = serve(Xc5Simulator())
    platform = PlatformFactory(organization=tree.distributor, kind="xc5", base_url=xc5.base_url,
                               username=SYSTEM_API_USERNAME, secret=SYSTEM_API_PASSWORD)  # fmt: skip
    tenant = TenantFactory(organization=tree.customer, server=ServerFactory(platform=platform), name="acme")
    planning.tenant_created(tenant)
    assert run_pending() == {"tenant.create": "failed"}, "XC5 names an environment like a domain"
    tenant = Tenant.objects.get(pk=tenant.pk)
    assert tenant.sync_state == SyncState.FAILED
    tenant.name = "acme.x.co.nz"
    tenant_update(actor=superuser, tenant=tenant)
    assert run_pending() == {"tenant.create": "succeeded"}
    environments = [a["username"] for a in xc5.simulator.snapshot()["accounts"].values()]
    assert "acme.x.co.nz" in environments and "acme" not in environments
    assert Tenant.objects.get(pk=tenant.pk).backend_ref.get("xc5_guid")


def test_a_cancelled_create_is_not_in_sync_and_a_change_creates_it_anew(serve, tree, superuser):
    server_sim, park_manager = build_xelion_park()
    serve(server_sim)
    pm = serve(park_manager)
    platform = PlatformFactory(organization=tree.distributor, kind="xelion_pm", base_url=pm.base_url, username="",
                               secret=ROOT_API_KEY)  # fmt: skip
    server = ServerFactory(platform=platform, name="xelion-1", backend_ref={"xelion_oid": "1"})
    tenant = TenantFactory(organization=tree.customer, server=server, name="acme", licences=10)
    planning.tenant_created(tenant)
    entity = EntityFactory(tenant=tenant, name="sales", intervals=[("200", "299")])
    template = LineTemplateFactory(organization=tree.customer, name="standard")
    run_all()
    with server_sim.lock:
        server_sim.tenant_by_name("acme")["licenses"] = 0  # the PBX refuses any user now
    user = pbx_user_create(
        actor=superuser,
        user=PbxUser(tenant=Tenant.objects.get(pk=tenant.pk), entity=entity, template=template, username="ada",
                     first_name="Ada", last_name="Lovelace", internal_number="201"),
    )  # fmt: skip
    assert run_pending() == {"user.create": "failed"}
    job_cancel(actor=superuser, job=ProvisioningJob.objects.get(operation="user.create"))
    user = PbxUser.objects.get(pk=user.pk)
    assert user.sync_state == SyncState.FAILED and user.sync_message.startswith("Not on the PBX")
    with server_sim.lock:
        server_sim.tenant_by_name("acme")["licenses"] = 10
    user.last_name = "King"
    pbx_user_update(actor=superuser, user=user)
    assert ProvisioningJob.objects.filter(status=JobStatus.PENDING).get().operation == "user.create"
    assert run_pending() == {"user.create": "succeeded"}
    with server_sim.lock:
        people = [p["familyName"] for p in server_sim.objects_of(server_sim.tenant_by_name("acme")).of_type("Person")]
    assert "King" in people
    assert PbxUser.objects.get(pk=user.pk).sync_state == SyncState.VERIFIED
