"""One object of every scoped model, owned inside a given subtree (for scoping tests)."""

from __future__ import annotations

from telephony.models import Entity, LineTemplate, NumberInterval, PbxUser, PhoneNumber, Platform, Server, Tenant
from tenants.models import Membership, Organization, Role
from tests.factories import (
    EntityFactory,
    LineTemplateFactory,
    MembershipFactory,
    PbxUserFactory,
    PhoneNumberFactory,
    PlatformFactory,
    ServerFactory,
    TenantFactory,
)


def build_world(owner: Organization, customer: Organization) -> dict[type, object]:
    platform = PlatformFactory(organization=owner)
    server = ServerFactory(platform=platform)
    tenant = TenantFactory(organization=customer, server=server)
    entity = EntityFactory(tenant=tenant)
    user = PbxUserFactory(entity=entity, internal_number="1001")
    return {
        Organization: customer,
        Membership: MembershipFactory(organization=customer, role=Role.VIEWER),
        Platform: platform,
        Server: server,
        Tenant: tenant,
        Entity: entity,
        NumberInterval: entity.intervals.get(),
        LineTemplate: LineTemplateFactory(organization=customer),
        PbxUser: user,
        PhoneNumber: PhoneNumberFactory(organization=owner, tenant=tenant, assigned_user=user),
    }
