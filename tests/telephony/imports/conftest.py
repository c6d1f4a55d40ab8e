"""A tenant with two entities, a template, a pool with free numbers, and a staff login of the
reseller above it — and the same world under the sibling reseller, for scoping tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from telephony.imports.reading import read_csv
from telephony.models import Entity, LineTemplate, PhoneNumber, Platform, Server, Tenant
from tenants.models import Organization, Role
from tests.factories import (
    EntityFactory,
    LineTemplateFactory,
    PhoneNumberFactory,
    PlatformFactory,
    ServerFactory,
    TenantFactory,
)


@dataclass
class ImportWorld:
    platform: Platform
    server: Server
    tenant: Tenant
    sales: Entity
    support: Entity
    template: LineTemplate
    numbers: list[PhoneNumber]


def build_import_world(reseller: Organization, customer: Organization, *, name: str = "acme") -> ImportWorld:
    platform = PlatformFactory(organization=reseller, kind="xcu")
    server = ServerFactory(platform=platform, name=f"{name}-server")
    tenant = TenantFactory(organization=customer, server=server, name=name, licences=50)
    sales = EntityFactory(tenant=tenant, name="sales", intervals=[("1700", "1799")])
    support = EntityFactory(tenant=tenant, name="support", intervals=[("2000", "2099")])
    template = LineTemplateFactory(organization=reseller, name="Standard")
    prefix = "+3120555" if name == "acme" else "+3120666"
    numbers = [PhoneNumberFactory(organization=reseller, number=f"{prefix}00{i:02d}") for i in range(5)]
    return ImportWorld(platform, server, tenant, sales, support, template, numbers)


@pytest.fixture
def world(tree) -> ImportWorld:
    return build_import_world(tree.reseller, tree.customer)


@pytest.fixture
def sibling_world(tree) -> ImportWorld:
    return build_import_world(tree.sibling, tree.sibling_customer, name="globex")


@pytest.fixture
def staff(tree, member):
    return member(tree.reseller, Role.OPERATOR)


@pytest.fixture
def reseller_admin(tree, member):
    return member(tree.reseller, Role.ADMIN)


def csv_of(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def parsed(*lines: str):
    return read_csv(csv_of(*lines))
