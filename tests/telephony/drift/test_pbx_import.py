"""Import from PBX: an XC5 environment built directly on the simulator, with its accounts and
extensions, becomes a tenant's lines in one transaction, nothing pushed; a row the rules refuse
stays a finding with why; the admin page previews before it writes and is another organization's 404."""

from __future__ import annotations

import pytest
import requests
from django.core.exceptions import ValidationError
from django.urls import reverse

from telephony.drift.scan import scan_server
from telephony.models import BackendClaim, DriftFinding, FindingKind, PbxUser, Platform, ProvisioningJob, SyncState
from telephony.provisioning import planning
from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.services.pbx_import import pbx_import_commit, pbx_import_offer, pbx_import_plan
from tenants.models import Role
from tests.factories import EntityFactory, LineTemplateFactory, PlatformFactory, ServerFactory, TenantFactory
from tests.telephony.drift.helpers import findings, run_all

pytestmark = pytest.mark.django_db
ENV = "acme.x.co.nz"


@pytest.fixture
def xc5(serve):
    simulator = serve(Xc5Simulator())
    api = requests.Session()
    api.auth = (SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD)
    url = lambda path: f"{simulator.base_url}/api-sys/{path}"  # noqa: E731
    assert api.put(url("account/"), json={"username": ENV}).ok
    for local, name, number in (("ann", "Ann Able", "601"), ("ben", "Ben Baker", "602"), ("cy", "Cy Far", "700")):
        account = f"{local}@{ENV}"
        assert api.put(url(f"account/{ENV}/child"), json={"username": account, "description": name}).ok
        rule = {"order": -2, "prefix_raw": number, "username": account, "destination": f":{number}"}
        assert api.put(url(f"account/{ENV}/callrule"), json=rule).ok
    return simulator


@pytest.fixture
def world(xc5, tree):
    platform = PlatformFactory(organization=tree.reseller, kind="xc5", base_url=xc5.base_url,
                               username=SYSTEM_API_USERNAME, secret=SYSTEM_API_PASSWORD)  # fmt: skip
    tenant = TenantFactory(organization=tree.customer, server=ServerFactory(platform=platform), name=ENV)
    planning.tenant_created(tenant)
    run_all()  # the environment exists: the create adopts it
    office = EntityFactory(tenant=tenant, name="office", intervals=[("600", "699")])
    template = LineTemplateFactory(organization=tree.customer, name="standard")
    scan = scan_server(server_id=tenant.server_id)
    assert len(findings(scan, FindingKind.UNMANAGED)) == 3
    tenant.refresh_from_db()
    return tenant, office, template


def test_an_environment_built_on_the_pbx_becomes_the_tenants_lines_without_a_push(world, superuser):
    tenant, office, template = world
    plan = pbx_import_plan(actor=superuser, tenant=tenant)
    assert {u.problem for u in plan.users} == {"The PBX names no entity for this user: choose one for such users."}
    jobs = ProvisioningJob.objects.count()
    done = pbx_import_commit(actor=superuser, tenant_id=tenant.pk, template=template, fallback_entity=office)
    assert [u.values["username"] for u in done.importable] == ["ann", "ben"]
    [far] = done.refused
    assert far.problem == "700 is outside the number plan of office."
    lines = {u.username: u for u in PbxUser.objects.filter(tenant=tenant)}
    assert set(lines) == {"ann", "ben"} and lines["ann"].internal_number == "601"
    assert lines["ann"].sync_state == SyncState.VERIFIED and lines["ann"].backend_ref.get("xc5_guid")
    assert BackendClaim.objects.filter(kind="user").count() == 2
    assert ProvisioningJob.objects.count() == jobs, "the PBX holds them: nothing to push"
    assert (
        DriftFinding.objects.get(pk=far.finding.pk).resolution
        == "Not imported: 700 is outside the number plan of office."
    )
    rescan = scan_server(server_id=tenant.server_id)
    assert [f.observed["username"] for f in findings(rescan, FindingKind.UNMANAGED)] == ["cy"]
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}


def test_an_import_that_does_not_fit_the_licences_writes_nothing(world, superuser):
    tenant, office, template = world
    tenant.licences = 1
    tenant.save()
    with pytest.raises(ValidationError, match="no room for 2 more"):
        pbx_import_commit(actor=superuser, tenant_id=tenant.pk, template=template, fallback_entity=office)
    assert not PbxUser.objects.exists()


def test_the_admin_page_previews_and_imports_and_is_404_to_another_organization(world, tree, member, client):
    tenant, office, template = world
    url = reverse("admin:telephony_tenant_pbx_import", args=[tenant.pk])
    client.force_login(member(tree.sibling, Role.ADMIN))
    assert client.get(url).status_code == 404
    client.force_login(member(tree.reseller, Role.ADMIN))
    preview = client.get(url, {"entity": office.pk})
    assert preview.status_code == 200 and "2 user(s)" in preview.content.decode()
    assert not PbxUser.objects.exists(), "a preview writes nothing"
    done = client.post(url, {"confirm": "Import", "template": template.pk, "entity": office.pk}, follow=True)
    assert "Imported 2 user(s)" in done.content.decode()
    assert PbxUser.objects.filter(tenant=tenant).count() == 2


@pytest.fixture
def shared_xivo(serve, tree):
    """A XiVO under XCU holding two customers the portal does not know yet, made through its API."""
    from telephony.sandbox.xcu import XcuSimulator
    from tests.telephony.xcu_world import XIVO_221_UUID

    served = serve(XcuSimulator())
    api = requests.Session()
    url = lambda path: f"{served.base_url}/api/1.0/{path}"  # noqa: E731
    assert api.post(url("login"), json={"login": "admin", "password": "superpass"}).ok
    template = {"name": "Theirs", "xivos": [2], "entities": [], "peerSipName": "auto", "ringingTime": 25,
                "routedInbound": False, "callerIdMode": "anonymous", "voiceMailEnabled": True}  # fmt: skip
    template_id = api.post(url("templates"), json=template).json()["id"]
    for name, first in (("acme", 2000), ("globex", 3000)):
        entity = {"name": name, "displayName": name.title(), "xivoId": 2,
                  "intervals": [{"start": str(first), "end": str(first + 99)}]}  # fmt: skip
        assert api.post(url("entities"), json=entity).status_code == 201
        for n in range(1, 3 if name == "acme" else 2):
            user = {"entityCId": f"{name}@{XIVO_221_UUID}", "templateId": template_id, "firstName": f"{name}{n}",
                    "lastName": "Person", "internalNumber": str(first + n), "ctiLogin": f"{name}{n}"}  # fmt: skip
            assert api.post(url("users"), json=user).status_code == 201, "made"
    platform = PlatformFactory(organization=tree.reseller, kind="xcu", base_url=served.base_url + "/api/1.0/",
                               username="admin", secret="superpass")  # fmt: skip
    server = ServerFactory(platform=platform, name="xivo-221", backend_ref={"xcu_id": 2, "xcu_uuid": XIVO_221_UUID})
    tenant = TenantFactory(organization=tree.customer, server=server, name="acme", backend_ref={"xcu_id": 2},
                           sync_state="verified")  # fmt: skip
    assert scan_server(server_id=server.pk).status == "complete"
    return tenant, LineTemplateFactory(organization=tree.customer, name="standard")


def test_a_new_tenant_on_a_shared_xivo_takes_only_the_entities_chosen(shared_xivo, superuser):
    tenant, template = shared_xivo
    untouched = pbx_import_plan(actor=superuser, tenant=tenant)
    assert {"acme", "globex"} <= set(untouched.offered)
    assert untouched.importable == [] and untouched.left_out >= 3, "another customer's: nothing by default"
    plan = pbx_import_plan(actor=superuser, tenant=tenant, entity_names={"acme"})
    assert sorted(u.values["username"] for u in plan.importable) == ["acme1", "acme2"]
    pbx_import_commit(actor=superuser, tenant_id=tenant.pk, template=template, entity_names={"acme", "nonsense"})
    assert sorted(PbxUser.objects.filter(tenant=tenant).values_list("entity__name", "username")) == [
        ("acme", "acme1"),
        ("acme", "acme2"),
    ]
    assert not PbxUser.objects.filter(username__startswith="globex").exists()
    rescan = scan_server(server_id=tenant.server_id)
    assert "globex1" in {f.observed.get("username") for f in findings(rescan, FindingKind.UNMANAGED)}
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}


def test_the_import_page_offers_the_pbx_entities_unticked_on_a_shared_server(shared_xivo, superuser, client):
    tenant, template = shared_xivo
    client.force_login(superuser)
    url = reverse("admin:telephony_tenant_pbx_import", args=[tenant.pk])
    page = client.get(url)
    assert page.status_code == 200 and b'value="globex"' in page.content and b"checked" not in page.content
    answer = client.post(url, {"template": template.pk, "entities": ["acme"], "confirm": "Import"})
    assert answer.status_code == 302
    assert set(PbxUser.objects.filter(tenant=tenant).values_list("username", flat=True)) == {"acme1", "acme2"}


def test_a_shared_server_of_the_distributor_offers_a_resellers_staff_nothing(shared_xivo, tree, member, superuser):
    """What no tenant holds on a shared XiVO is the platform's organization's to see and to hand out:
    the staff of a reseller below it import only what the PBX shows in their own tenant's container."""
    tenant, _ = shared_xivo
    Platform.objects.filter(pk=tenant.server.platform_id).update(organization=tree.distributor)
    reseller_staff = member(tree.reseller, Role.ADMIN)
    assert pbx_import_offer(actor=reseller_staff, tenant=tenant) == []
    plan = pbx_import_plan(actor=reseller_staff, tenant=tenant, entity_names={"acme"})
    assert plan.importable == [] and plan.left_out == 0
    assert "acme" in pbx_import_offer(actor=superuser, tenant=tenant), "the platform's side still sees it"
