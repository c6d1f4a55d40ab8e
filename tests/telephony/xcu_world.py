"""A portal tenant wired to a served XCU simulator: platform, the seed's xivo-221, the seed's
"default" entity (1700–1799) and a line template — for in-process provisioning tests."""

from __future__ import annotations

from dataclasses import dataclass

from telephony.models import Entity, LineTemplate, Platform, Server, Tenant
from tenants.models import Organization
from tests.factories import EntityFactory, LineTemplateFactory, PlatformFactory, ServerFactory, TenantFactory

XIVO_221_UUID = "15585b75-1d75-45b1-8678-520d1210ec59"


@dataclass
class XcuWorld:
    platform: Platform
    server: Server
    tenant: Tenant
    entity: Entity
    template: LineTemplate


def xcu_world(base_url: str, owner: Organization, customer: Organization) -> XcuWorld:
    platform = PlatformFactory(organization=owner, kind="xcu", base_url=base_url, username="admin", secret="superpass")
    server = ServerFactory(platform=platform, name="xivo-221", backend_ref={"xcu_id": 2, "xcu_uuid": XIVO_221_UUID})
    tenant = TenantFactory(organization=customer, server=server, name="acme")
    entity = EntityFactory(
        tenant=tenant,
        name="default",
        intervals=[("1700", "1799")],
        backend_ref={"xcu_id": 17, "xcu_combined_id": f"default@{XIVO_221_UUID}"},
        sync_state="in_sync",
    )
    template = LineTemplateFactory(organization=owner, name="Portal line")
    return XcuWorld(platform, server, tenant, entity, template)
