"""A tenant the Configurator simulator built from an order is what the drift scan sees and what
Import from the PBX brings into the portal: its departments as entities, its users with their
internal numbers and e-mail addresses."""

from __future__ import annotations

import time

import pytest
import requests

from telephony.drift.scan import scan_server
from telephony.models import FindingKind, PbxUser, SyncState
from telephony.sandbox.configurator import ROOT_KEY, ConfiguratorSimulator
from telephony.sandbox.xelion import MASTER_PASSWORD, MASTER_USERNAME, XelionServerSimulator
from telephony.sandbox.xelion_tenants import STARTED
from telephony.services.pbx_import import pbx_import_commit
from tests.factories import LineTemplateFactory, PlatformFactory, ServerFactory, TenantFactory
from tests.telephony.drift.helpers import findings
from tests.telephony.sandbox.test_configurator import ORDER

pytestmark = pytest.mark.django_db


@pytest.fixture
def built(serve):
    """The Xelion tenant "fairy" after the Configurator carried out ORDER on it."""
    simulator = XelionServerSimulator()
    tenant = simulator.create_named_tenant("fairy", licenses=10)
    tenant["status"] = STARTED
    tenant["accounts"]["admin"]["password"] = MASTER_PASSWORD  # the platform's one login, as on the master
    xelion = serve(simulator)
    configurator = serve(ConfiguratorSimulator(order_delay_seconds=0))
    login = {"userName": MASTER_USERNAME, "password": MASTER_PASSWORD, "userSpace": "configurator"}
    token = requests.post(f"{xelion.base_url}/api/v1/fairy/me/login", json=login, timeout=5).json()["authentication"]
    headers = {"X-Auth-Key": ROOT_KEY, "Xelion-Server-Url": xelion.base_url, "Xelion-Tenant-Name": "fairy",
               "Xelion-Tenant-Token": token}  # fmt: skip
    order = requests.post(f"{configurator.base_url}/api/v1/provision", json=ORDER, headers=headers, timeout=5).json()
    for _ in range(200):
        status = requests.get(f"{configurator.base_url}/api/v1/orders/{order['id']}", headers=headers, timeout=5)
        if status.json()["status"] in ("COMPLETED", "FAILED"):
            break
        time.sleep(0.05)
    assert status.json()["status"] == "COMPLETED", status.json()
    return xelion, tenant


def test_the_built_tenant_is_scanned_and_imported(built, tree, superuser):
    xelion, pbx_tenant = built
    platform = PlatformFactory(organization=tree.reseller, kind="xelion", base_url=xelion.base_url,
                               username=MASTER_USERNAME, secret=MASTER_PASSWORD)  # fmt: skip
    reference = {"xelion_database_id": pbx_tenant["databaseId"]}
    tenant = TenantFactory(organization=tree.customer, server=ServerFactory(platform=platform), name="fairy",
                           backend_ref=reference, sync_state="verified")  # fmt: skip
    scan = scan_server(server_id=tenant.server_id)
    found = {f.observed.get("username") or f.observed.get("name") for f in findings(scan, FindingKind.UNMANAGED)}
    assert {"ann", "ben", "cy", "Sales", "Support"} <= found
    template = LineTemplateFactory(organization=tree.customer, name="standard")
    plan = pbx_import_commit(actor=superuser, tenant_id=tenant.pk, template=template)
    assert not plan.refused
    lines = {u.username: u for u in PbxUser.objects.filter(tenant=tenant).select_related("entity")}
    assert (lines["ann"].internal_number, lines["ann"].entity.name, lines["ann"].email) == (
        "201",
        "Sales",
        "ann@fairy.example",
    )
    assert lines["cy"].entity.name == "Support" and lines["cy"].sync_state == SyncState.VERIFIED
    assert lines["ben"].first_name == "Ben"


def test_a_park_tenant_is_opened_by_one_order_with_the_park_managers_token(serve, tree, superuser):
    """The guide's Park Provisioning: the Park Manager starts the tenant and gives its session token;
    the Configurator builds it; the portal's scan and import bring it into the mirror."""
    from telephony.backends.configurator import ConfiguratorClient
    from telephony.backends.registry import driver_for
    from telephony.provisioning import planning, specs
    from telephony.sandbox.parkmanager import ROOT_API_KEY, build_xelion_park
    from tests.telephony.drift.helpers import run_all

    server_sim, park_manager_sim = build_xelion_park()
    serve(server_sim)
    park_manager = serve(park_manager_sim)
    configurator = serve(ConfiguratorSimulator(order_delay_seconds=0))
    platform = PlatformFactory(organization=tree.distributor, kind="xelion_pm", base_url=park_manager.base_url,
                               username="", secret=ROOT_API_KEY)  # fmt: skip
    server = ServerFactory(platform=platform, name="xelion-1", backend_ref={"xelion_oid": "1"})
    tenant = TenantFactory(organization=tree.customer, server=server, name="fairy", licences=10)
    planning.tenant_created(tenant)
    run_all()
    tenant.refresh_from_db()
    driver = driver_for(platform.connection())
    access = driver.tenant_access(specs.tenant_ref(tenant))
    client = ConfiguratorClient(configurator.base_url, ROOT_KEY)
    client.test(ORDER)
    order_id = client.provision(ORDER, access)
    for _ in range(200):
        if client.order(order_id).finished:
            break
        time.sleep(0.05)
    assert client.order(order_id).status == "COMPLETED", client.order(order_id).error
    scan = scan_server(server_id=server.pk)
    assert {"ann", "ben", "cy"} <= {f.observed.get("username") for f in findings(scan, FindingKind.UNMANAGED)}
    pbx_import_commit(actor=superuser, tenant_id=tenant.pk,
                      template=LineTemplateFactory(organization=tree.customer, name="standard"))  # fmt: skip
    assert set(PbxUser.objects.filter(tenant=tenant).values_list("username", flat=True)) == {"ann", "ben", "cy"}
