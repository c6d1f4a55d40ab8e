"""The Configurator client against the Configurator simulator over real HTTP: the organization
tree, write-only credentials, a configuration tested and an order followed to the end; the key and
the tenant's token never in the exchange log."""

from __future__ import annotations

import json
import time

import pytest

from telephony.backends.configurator import ConfiguratorClient, TenantAccess
from telephony.backends.errors import AuthenticationError, NotFoundError, RejectedError
from telephony.sandbox.configurator import ROOT_KEY
from tests.telephony.sandbox.test_configurator import ORDER, configurator, tenant_token, xelion  # noqa: F401


@pytest.fixture
def client(configurator):  # noqa: F811
    client = ConfiguratorClient(configurator.base_url, ROOT_KEY)
    yield client
    client.close()


def test_sub_organizations_keys_and_credentials(client, configurator):  # noqa: F811
    reseller = client.create_organization("Reseller A")
    key = client.create_api_key(reseller["id"])
    below = ConfiguratorClient(configurator.base_url, key)
    customer = below.create_organization("Customer of A")
    assert {o["id"] for o in below.organizations()} == {reseller["id"], customer["id"]}
    with pytest.raises(NotFoundError):
        below.create_api_key(1)  # its parent's
    below.store_credential(customer["id"], "sipTrunk.password", "trunk-secret")
    assert below.credential_names(customer["id"]) == ["sipTrunk.password"]
    log = json.dumps(below.http.log.as_list())
    assert "trunk-secret" not in log and key not in log
    with pytest.raises(AuthenticationError):
        ConfiguratorClient(configurator.base_url, "x" * 32).organizations()


def test_a_configuration_refused_says_why(client):
    with pytest.raises(RejectedError, match=r"organization\.name: required"):
        client.test({"version": 1, "organization": {}})
    client.test(ORDER)


def test_an_order_is_placed_and_followed_to_its_end(client, xelion, tenant_token):  # noqa: F811
    access = TenantAccess(server_url=xelion.base_url, tenant_name="fairy", token=tenant_token)
    order_id = client.provision(ORDER, access)
    for _ in range(200):
        order = client.order(order_id)
        if order.finished:
            break
        time.sleep(0.05)
    assert order.status == "COMPLETED" and order.tenant == "fairy"
    assert tenant_token not in json.dumps(client.http.log.as_list()) and ROOT_KEY not in json.dumps(
        client.http.log.as_list()
    )
