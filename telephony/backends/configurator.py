"""The Xelion Configurator's provisioning service, as the portal calls it: an organization's API key
(`X-Auth-Key`) acts for that organization and the sub-organizations below it.

What it does: make a sub-organization and an API key for it, store a third-party credential (never
read back), test a configuration, place an order for a tenant (its server URL, name and session
token in headers, and the portal's callback URL), and read an order's status. Every answer maps onto
the error taxonomy of `errors`, with the service's own message; the key is never logged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telephony.backends.errors import (
    TransientError,
)
from telephony.backends.http import ExchangeLog, HttpClient
from telephony.backends.json_answers import JsonAnswers

API_PATH = "api/v1/"
ORDER_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "COMPLETED", "FAILED")
FINISHED = frozenset({"COMPLETED", "FAILED"})
ANSWERS = JsonAnswers("the Configurator", "the API key")


@dataclass
class ConfiguratorOrder:
    """An order as the service reports it."""

    id: int
    status: str
    organization: int | None = None
    tenant: str = ""
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass
class TenantAccess:
    """What an order needs to reach the tenant it configures (the token is a secret)."""

    server_url: str
    tenant_name: str
    token: str


class ConfiguratorClient:
    """One organization's API key on one Configurator."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 10.0, log: ExchangeLog | None = None):
        root = base_url.rstrip("/") + "/"
        self.http = HttpClient(
            root if root.endswith(API_PATH) else root + API_PATH,
            timeout=timeout,
            log=log,
            known_secrets=(api_key,),
            default_headers={"X-Auth-Key": api_key, "Accept": "application/json"},
        )

    # organizations
    def organizations(self) -> list[dict[str, Any]]:
        """The key's organization and every one below it."""
        return ANSWERS.json(self.http.request("GET", "organizations/"), "list the organizations", list)

    def create_organization(self, name: str) -> dict[str, Any]:
        """A sub-organization of the key's own."""
        answer = self.http.request("POST", "organizations/", json_body={"name": name})
        return ANSWERS.json(answer, "make a sub-organization", dict)

    def create_api_key(self, organization_id: int) -> str:
        """A new key for an organization at or below the key's own (shown this once)."""
        answer = self.http.request("POST", f"organizations/{int(organization_id)}/apikeys")
        key = ANSWERS.json(answer, "make an API key", dict).get("key")
        if not isinstance(key, str) or not key:
            raise TransientError("the Configurator made a key but did not show it")
        self.http.add_secret(key)
        return key

    def store_credential(self, organization_id: int, name: str, value: str) -> None:
        """Keep a third-party credential with the organization; it cannot be read back."""
        self.http.add_secret(value)
        answer = self.http.request(
            "PUT", f"organizations/{int(organization_id)}/credentials/{name}", json_body={"value": value}
        )
        ANSWERS.ok(answer, f"store the credential {name}")

    def credential_names(self, organization_id: int) -> list[str]:
        answer = self.http.request("GET", f"organizations/{int(organization_id)}/credentials")
        return ANSWERS.json(answer, "list the credentials", list)

    # orders
    def test(self, configuration: dict[str, Any]) -> None:
        """Nothing when the service would take the configuration; RejectedError with its cause otherwise."""
        ANSWERS.ok(self.http.request("POST", "provision/test", json_body=configuration), "test the configuration")

    def provision(self, configuration: dict[str, Any], tenant: TenantAccess, *, callback_url: str = "") -> int:
        """Place an order for `tenant`; returns the order's id."""
        self.http.add_secret(tenant.token)
        headers = {
            "Xelion-Server-Url": tenant.server_url,
            "Xelion-Tenant-Name": tenant.tenant_name,
            "Xelion-Tenant-Token": tenant.token,
        }
        if callback_url:
            headers["X-Callback-Url"] = callback_url
        answer = self.http.request("POST", "provision", json_body=configuration, headers=headers)
        order_id = ANSWERS.json(answer, "place the order", dict).get("id")
        if not isinstance(order_id, int):
            raise TransientError("the Configurator took the order but gave no id")
        return order_id

    def orders(self) -> list[dict[str, Any]]:
        """The orders of the key's organization and those below it, as the service lists them."""
        return ANSWERS.json(self.http.request("GET", "orders"), "list the orders", list)

    def order(self, order_id: int) -> ConfiguratorOrder:
        body = ANSWERS.json(self.http.request("GET", f"orders/{int(order_id)}"), f"read order {order_id}", dict)
        status = body.get("status")
        if status not in ORDER_STATUSES:
            raise TransientError(f"order {order_id} has an unknown status {status!r}")
        return ConfiguratorOrder(
            id=int(body.get("id", order_id)),
            status=status,
            organization=body.get("organization"),
            tenant=str(body.get("tenant") or ""),
            error=str(body.get("error") or ""),
        )

    def close(self) -> None:
        self.http.close()
