"""The crawl world's CTI objects: a CTI service of each reseller, and on each customer's tenant a
CRM integration with a mapping and one line's CTI credentials. Their names carry their
organization's token, so that a page showing another customer's integration is caught."""

from __future__ import annotations

from telephony.models import CrmEventMapping, CrmIntegration, CtiService, CtiUserCredentials
from tests.crawl.world import ORG_ONLY, TREE, WorldBuilder

CTI_URL = "http://127.0.0.1:9/"  # port 9 (discard): nothing answers
PARENTS = {token: parent for token, _, parent, _ in TREE}


def add_cti(world: WorldBuilder) -> None:
    services = {}
    for token in ("kilox", "limax", "xrayx"):
        org = world.organizations[token]
        name = world.register(f"{token.title()} CTI", org, shared=True)
        services[token] = CtiService.objects.create(organization=org, name=name, base_url=CTI_URL)
    for token, customer in world.customers.items():
        org = customer.organization
        integration = CrmIntegration.objects.create(
            tenant=customer.tenant,
            service=services[PARENTS[token]],
            admin_username=world.register(f"{token}ctiadmin", org, entity=ORG_ONLY),
            admin_password="crawl-admin-password",
            authorization_server_uri=world.register(f"https://{token}crm.example/token", org, entity=ORG_ONLY),
            default_client_id=world.register(f"{token}defaultclient", org, entity=ORG_ONLY),
        )
        CrmEventMapping.objects.create(
            integration=integration,
            event="newCallEvent",
            uri=world.register(f"https://{token}crm.example/call", org, entity=ORG_ONLY),
            payload={"callId": "${callId}", "note": world.register(f"{token}payloadnote", org, entity=ORG_ONLY)},
        )
        CtiUserCredentials.objects.create(
            user=customer.lines[0],
            client_id=world.register(f"{token}ctiuserclient", org, entity=customer.lines[0].entity),
            client_secret="crawl-client-secret",
        )
