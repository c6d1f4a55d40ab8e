"""The crawl world's Configurator objects: a link of each reseller with a credential kept there, and
an order for each customer's tenant with its reports. Their names carry their organization's token,
so that a page showing another organization's link or order is caught."""

from __future__ import annotations

from telephony.models import (
    ConfiguratorCredential,
    ConfiguratorLink,
    ConfiguratorOrder,
    ConfiguratorOrderEvent,
    EventSource,
    OrderStatus,
)
from tests.crawl.world import ORG_ONLY, TREE, WorldBuilder

CONFIGURATOR_URL = "http://127.0.0.1:9/"  # port 9 (discard): nothing answers
PARENTS = {token: parent for token, _, parent, _ in TREE}


def add_configurator(world: WorldBuilder) -> None:
    links = {}
    for token in ("kilox", "limax", "xrayx"):
        org = world.organizations[token]
        links[token] = ConfiguratorLink.objects.create(
            organization=org,
            name=world.register(f"{token}configuratororg", org),
            base_url=CONFIGURATOR_URL,
            api_key="crawl-configurator-key",
            backend_ref={"configurator_organization": len(links) + 1},
        )
        ConfiguratorCredential.objects.create(
            link=links[token], name=world.register(f"{token}trunkcredential", org), value="crawl-credential-value"
        )
    for token, customer in world.customers.items():
        org = customer.organization
        configuration = {
            "version": 1,
            "organization": {"name": world.register(f"{token}orderedorganization", org, entity=ORG_ONLY)},
            "departments": [{"name": "Sales", "users": [f"ann@{token}.example"], "internalNumbers": ["201"]}],
        }
        order = ConfiguratorOrder.objects.create(
            link=links[PARENTS[token]],
            tenant=customer.tenant,
            template=customer.own_template,
            configuration=configuration,
            status=OrderStatus.COMPLETED,
            backend_ref={"configurator_order": 1},
            imported=world.register(f"{token}importoutcome", org, entity=ORG_ONLY),
        )
        ConfiguratorOrderEvent.objects.create(
            order=order,
            source=EventSource.WEBHOOK,
            mid=1,
            status=OrderStatus.COMPLETED,
            outcome="In progress → Completed",
        )
