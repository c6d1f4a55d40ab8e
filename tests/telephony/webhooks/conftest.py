"""A small tree with two resellers, each with a customer, a tenant and an entity; a loopback
webhook receiver; and the worker fixtures of the provisioning tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import pytest
from standardwebhooks import Webhook

from telephony.models import Entity, LineTemplate, PbxUser
from telephony.models.webhooks import WebhookEndpoint
from telephony.services.webhooks import webhook_endpoint_create
from tenants.models import Organization, OrganizationKind
from tests.factories import EntityFactory, LineTemplateFactory, OrganizationFactory, TenantFactory, UserFactory
from tests.telephony.provisioning.conftest import (  # noqa: F401  (fixtures of the worker tests)
    broker,
    broker_available,
    start_worker,
    world,
    xcu,
)
from tests.telephony.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


@dataclass
class Tree:
    root: Any
    distributor: Organization
    reseller_a: Organization
    reseller_b: Organization
    customer_a: Organization
    customer_b: Organization
    entity_a: Entity
    entity_b: Entity
    template_a: LineTemplate
    template_b: LineTemplate

    def user(self, side: str, number: int, **fields: Any) -> PbxUser:
        entity, template = (self.entity_a, self.template_a) if side == "a" else (self.entity_b, self.template_b)
        values = {"username": f"{side}{number}", "first_name": "Ada", "last_name": f"Lovelace {number}"}
        return PbxUser(
            tenant=entity.tenant,
            entity=entity,
            template=template,
            internal_number=str(number),
            **(values | fields),
        )

    def endpoint(self, organization: Organization, url: str, events: list[str]) -> tuple[WebhookEndpoint, str]:
        return webhook_endpoint_create(
            actor=self.root, endpoint=WebhookEndpoint(organization=organization, url=url, events=events)
        )


@pytest.fixture
def tree(db) -> Tree:
    distributor = OrganizationFactory(name="Distributor", kind=OrganizationKind.DISTRIBUTOR)
    reseller_a = OrganizationFactory(name="Reseller A", parent=distributor)
    reseller_b = OrganizationFactory(name="Reseller B", parent=distributor)
    customer_a = OrganizationFactory(name="Customer A", kind=OrganizationKind.CUSTOMER, parent=reseller_a)
    customer_b = OrganizationFactory(name="Customer B", kind=OrganizationKind.CUSTOMER, parent=reseller_b)
    entity_a = EntityFactory(tenant=TenantFactory(organization=customer_a))
    entity_b = EntityFactory(tenant=TenantFactory(organization=customer_b))
    return Tree(
        root=UserFactory(username="root", is_superuser=True),
        distributor=distributor,
        reseller_a=reseller_a,
        reseller_b=reseller_b,
        customer_a=customer_a,
        customer_b=customer_b,
        entity_a=entity_a,
        entity_b=entity_b,
        template_a=LineTemplateFactory(organization=customer_a),
        template_b=LineTemplateFactory(organization=customer_b),
    )


def independent_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    """The Standard Webhooks signature computed here by hand, not by the library the portal uses."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verifies(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Both the reference library and the hand-made HMAC accept the request under `secret`."""
    headers = {key.lower(): value for key, value in headers.items()}
    try:
        Webhook(secret).verify(body, headers)
    except Exception:
        return False
    return independent_signature(secret, headers, body) in headers["webhook-signature"].split(" ")
