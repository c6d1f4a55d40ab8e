"""A Xelion tenant in the portal on the Xelion simulator, with the CTI simulator beside it: what the
CTI tests share."""

from __future__ import annotations

from dataclasses import dataclass

from telephony.models import CtiService, PbxUser, ProvisioningJob, Tenant
from telephony.provisioning import runner
from telephony.sandbox.cti import CtiSimulator
from telephony.sandbox.xelion import MASTER_PASSWORD, MASTER_USERNAME, XelionServerSimulator
from telephony.sandbox.xelion_tenants import tenant_admin_password
from tests.factories import (
    EntityFactory,
    LineTemplateFactory,
    PbxUserFactory,
    PlatformFactory,
    ServerFactory,
    TenantFactory,
)
from tests.telephony.sandbox.test_cti import tenant_with_users

PLACEHOLDER = '${(initiation=="outgoing")?"calldialed":"callreceived"}'


@dataclass
class CtiWorld:
    tenant: Tenant
    service: CtiService
    users: list[PbxUser]
    cti: object
    admin_password: str


def cti_world(serve, owner, customer, *, users: int = 3, name: str = "acme") -> CtiWorld:
    xelion = XelionServerSimulator()
    pbx_tenant = tenant_with_users(xelion, name, users)
    xelion_running = serve(xelion)
    cti = serve(CtiSimulator(xelion))
    platform = PlatformFactory(organization=owner, kind="xelion", base_url=xelion_running.base_url,
                               username=MASTER_USERNAME, secret=MASTER_PASSWORD)  # fmt: skip
    reference = {"xelion_database_id": pbx_tenant["databaseId"]}
    tenant = TenantFactory(organization=customer, server=ServerFactory(platform=platform), name=name,
                           backend_ref=reference, sync_state="verified")  # fmt: skip
    entity = EntityFactory(tenant=tenant)
    template = LineTemplateFactory(organization=customer)
    lines = [
        PbxUserFactory(tenant=tenant, entity=entity, template=template, username=f"user{n}",
                       internal_number=str(1000 + n), sync_state="verified", backend_ref={"xelion_oid": str(n)})
        for n in range(1, users + 1)
    ]  # fmt: skip
    service = CtiService.objects.create(organization=owner, name="CTI", base_url=cti.base_url + "/")
    return CtiWorld(tenant, service, lines, cti, tenant_admin_password(name))


def run_all() -> dict[int, str]:
    """Run every pending job once, oldest first; what became of each."""
    return {
        pk: runner.run_job(pk)
        for pk in ProvisioningJob.objects.filter(status="pending").order_by("id").values_list("pk", flat=True)
    }
