"""A customer and its sibling, each with a tenant, two entities, users and numbers, and the logins
of the self-service site: customer administrators, a read-only member, end users linked to lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from telephony.models import Entity, LineTemplate, PbxUser, PhoneNumber, Tenant
from tenants.models import Organization, Role
from tests.factories import (
    EntityFactory,
    LineTemplateFactory,
    MembershipFactory,
    PbxUserFactory,
    PhoneNumberFactory,
    PlatformFactory,
    ServerFactory,
    TenantFactory,
    UserFactory,
)


@dataclass
class Customer:
    """One customer organization's world."""

    organization: Organization
    tenant: Tenant
    sales: Entity
    office: Entity
    template: LineTemplate
    users: list[PbxUser]
    free_numbers: list[PhoneNumber]
    admin: Any
    end_user: Any
    numbers_taken: list[PhoneNumber] = field(default_factory=list)

    @property
    def line(self) -> PbxUser:
        """The line of `end_user`."""
        return self.users[0]

    def add_users(self, count: int) -> list[PbxUser]:
        """More users in the sales entity (from 2200 on), each with an external number."""
        made = []
        for index in range(count):
            user = PbxUserFactory(
                entity=self.sales,
                tenant=self.tenant,
                template=self.template,
                internal_number=str(2200 + len(self.users) + index),
            )
            PhoneNumberFactory(organization=self.organization, tenant=self.tenant, assigned_user=user)
            made.append(user)
        self.users.extend(made)
        return made


def build_customer(owner: Organization, organization: Organization, name: str) -> Customer:
    # XC5 keeps every setting of a line the self-service site offers (XCU's limits: test_line_features)
    platform = PlatformFactory(organization=owner, kind="xc5", base_url="http://127.0.0.1:9/api-sys/")
    server = ServerFactory(platform=platform)
    tenant = TenantFactory(
        organization=organization, server=server, name=name, label=f"{name.title()} HQ", licences=500
    )
    sales = EntityFactory(tenant=tenant, name="sales", display_name="Sales", intervals=[("2100", "2999")])
    office = EntityFactory(tenant=tenant, name="office", display_name="Office", intervals=[("2000", "2099")])
    template = LineTemplateFactory(organization=owner, name=f"{name} line")
    first = PbxUserFactory(
        entity=sales,
        tenant=tenant,
        template=template,
        username=f"{name}.first",
        first_name="Alice",
        last_name=f"First-{name}",
        internal_number="2101",
        voicemail_enabled=True,
        voicemail_pin="97531",
    )
    second = PbxUserFactory(
        entity=sales,
        tenant=tenant,
        template=template,
        username=f"{name}.second",
        first_name="Bob",
        last_name=f"Second-{name}",
        internal_number="2102",
    )
    taken = PhoneNumberFactory(organization=owner, tenant=tenant, assigned_user=first)
    free = [PhoneNumberFactory(organization=owner, tenant=tenant) for _ in range(3)]
    admin = UserFactory(username=f"{name}.admin", is_staff=False)
    MembershipFactory(user=admin, organization=organization, role=Role.ADMIN)
    end_user = UserFactory(username=f"{name}.alice", is_staff=False)
    first.portal_user = end_user
    first.save(update_fields=["portal_user"])
    return Customer(organization, tenant, sales, office, template, [first, second], free, admin, end_user, [taken])


@pytest.fixture
def customer(tree) -> Customer:
    return build_customer(tree.reseller, tree.customer, "acme")


@pytest.fixture
def sibling(tree) -> Customer:
    """A customer under the sibling reseller: nothing of it may ever show to `customer`'s logins."""
    return build_customer(tree.sibling, tree.sibling_customer, "globex")


@pytest.fixture
def viewer(customer):
    login = UserFactory(username="acme.viewer", is_staff=False)
    MembershipFactory(user=login, organization=customer.organization, role=Role.VIEWER)
    return login


@pytest.fixture
def admin_client(client, customer):
    client.force_login(customer.admin)
    return client


@pytest.fixture
def end_user_client(client, customer):
    client.force_login(customer.end_user)
    return client
