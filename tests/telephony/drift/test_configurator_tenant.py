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
