"""A platform ticked "documented API only": its driver keeps to the vendor's documents, the portal
offers nothing that needs an extension and says why, and every push still lands — here end to end
through the engine against simulators that refuse every extension (real HTTP, jobs run in-process)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from telephony.line_features import withheld_on_documented_api
from telephony.models import Entity, JobStatus, PbxUser, ProvisioningJob, Tenant, TenantStatus
from telephony.provisioning import runner
from telephony.sandbox.parkmanager import ROOT_API_KEY, build_xelion_park
from telephony.services.platforms import servers_import, servers_import_requested
from telephony.services.tenants import entity_create, tenant_create, tenant_update
from telephony.services.users import pbx_user_create, pbx_user_delete, pbx_user_update
from tenants.models import Role
from tests.factories import LineTemplateFactory, PlatformFactory, ServerFactory

pytestmark = pytest.mark.django_db


def run_all() -> dict[int, str]:
    return {
        pk: runner.run_job(pk)
        for pk in ProvisioningJob.objects.filter(status="pending").order_by("id").values_list("pk", flat=True)
    }


@pytest.fixture
def park(serve):
    server, park_manager = build_xelion_park()
    for simulator in (server, park_manager):
        simulator.set_faults({"documented_only": True})
    serve(server)
    return server, serve(park_manager)


@pytest.fixture
def platform(park, tree):
    _, park_manager = park
    return PlatformFactory(
        organization=tree.distributor,
        kind="xelion_pm",
        base_url=park_manager.base_url,
        username="",
        secret=ROOT_API_KEY,
        documented_only=True,
    )


def test_a_customer_is_set_up_and_removed_on_the_documented_park_manager_api(park, platform, tree, superuser):
    server_sim, _ = park
    server = ServerFactory(platform=platform, name="picked by the park")
    tenant = tenant_create(
        actor=superuser, tenant=Tenant(organization=tree.customer, server=server, name="acme", licences=5)
    )
    entity = entity_create(actor=superuser, entity=Entity(tenant=tenant, name="sales"), intervals=[("200", "299")])
    template = LineTemplateFactory(organization=tree.distributor, name="Standard")
    user = PbxUser(
        tenant=tenant, entity=entity, template=template, username="ada", first_name="Ada", last_name="Lovelace",
        internal_number="201", forward_always="0612345678",
    )  # fmt: skip
    pbx_user_create(actor=superuser, user=user)
    outcomes = run_all()
    assert set(outcomes.values()) == {"succeeded"}, ProvisioningJob.objects.values_list("operation", "last_error")
    tenant.refresh_from_db()
    assert tenant.backend_ref["xelion_server_url"] == server_sim.base_url  # from start-new-tenant's answer
    with server_sim.lock:
        objects = server_sim.objects_of(server_sim.tenant_by_name("acme"))
        [profile] = objects.of_type("UserProfile")
        [person] = objects.of_type("Person")
    assert profile["userName"] == "ada" and person["addresses"] == []

    user.email = "ada@example.com"
    with pytest.raises(ValidationError, match="documented API only, which has no place for an e-mail address"):
        pbx_user_update(actor=superuser, user=user)
    tenant.status = TenantStatus.STOPPED
    with pytest.raises(ValidationError, match="does not allow starting and stopping tenants"):
        tenant_update(actor=superuser, tenant=tenant)

    pbx_user_delete(actor=superuser, user=PbxUser.objects.get(pk=user.pk))
    assert set(run_all().values()) == {"succeeded"}
    with server_sim.lock:
        [profile] = server_sim.objects_of(server_sim.tenant_by_name("acme")).of_type("UserProfile")
    assert profile["active"] is False, "no DELETE in the documents: the user is switched off"
    assert not ProvisioningJob.objects.exclude(status=JobStatus.SUCCEEDED).exists()


def test_servers_are_not_imported_from_a_documented_only_park_manager(platform, tree, member):
    admin = member(tree.distributor, Role.ADMIN)
    with pytest.raises(ValidationError, match="does not allow importing servers"):
        servers_import_requested(actor=admin, platform=platform)
    assert "add them by hand" in servers_import(actor=admin, platform_id=platform.pk)


def test_the_platform_page_lists_what_the_documented_api_switches_off(client, platform, superuser):
    client.force_login(superuser)
    body = client.get(reverse("admin:telephony_platform_change", args=[platform.pk])).content.decode()
    assert "Switched off now: an e-mail address per user; more than 1 external number per user;" in body
    assert "starting and stopping tenants" in body and "importing servers" in body
    assert withheld_on_documented_api("xc5") == [
        "a display name per user",
        "forwarding on busy",
        "forwarding of unanswered calls",
        "voicemail on or off per user",
        "a voicemail PIN",
        "some of the platform's own line-template settings",
    ]
