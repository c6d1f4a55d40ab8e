"""What each Configurator job asks of the Configurator. A link's jobs talk to no PBX (the runner
gives them a `ServiceCall` for its log); an order's jobs run on the tenant's platform, whose Park
Manager hands over the tenant's address and session token (the guide's "Park Provisioning").

Nothing here adopts what it cannot prove is the portal's: a sub-organization is made only where
none of that name exists, and a submit retried after a lost answer takes over only the order that
carries this order's own callback URL, whose secret nobody else knows."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from telephony.backends.base import BackendRef, Driver
from telephony.backends.configurator import ConfiguratorClient
from telephony.backends.errors import ConflictError, RejectedError, UnsupportedOperation
from telephony.backends.http import ExchangeLog
from telephony.models import (
    ConfiguratorCredential,
    ConfiguratorLink,
    ConfiguratorOrder,
    EventSource,
    OrderStatus,
    ProvisioningJob,
    SyncState,
)
from telephony.provisioning import specs
from telephony.provisioning.configurator_status import apply_report


class ServiceCall:
    """Stands in for a PBX driver in jobs that talk to a service of no platform: it carries the
    exchange log the runner records with the attempt."""

    def __init__(self) -> None:
        self.log = ExchangeLog(limit=500)


def client_for(link: ConfiguratorLink, log: ExchangeLog) -> ConfiguratorClient:
    if not link.api_key:
        raise RejectedError(f"the Configurator link of {link.organization} has no API key")
    return ConfiguratorClient(link.base_url, link.api_key, timeout=float(link.timeout_seconds), log=log)


def callback_url(order: ConfiguratorOrder) -> str:
    path = reverse("configurator-webhook", args=[order.public_id, order.callback_secret])
    return settings.PORTAL_PUBLIC_URL.rstrip("/") + path


def _seen(ok: bool, message: str = "") -> dict[str, str]:
    return {"state": SyncState.VERIFIED if ok else SyncState.DRIFTED, "message": message}


# --- links ---------------------------------------------------------------------------------------


def link_check(job: ProvisioningJob, driver: Any) -> BackendRef:
    """Learn which organization the key acts for (the one of those it sees that has no parent among them)."""
    link = ConfiguratorLink.objects.select_related("organization").get(pk=job.target_id)
    client = client_for(link, driver.log)
    try:
        seen = client.organizations()
    finally:
        client.close()
    ids = {org.get("id") for org in seen}
    own = [org for org in seen if org.get("parent") not in ids]
    if len(own) != 1 or not isinstance(own[0].get("id"), int):
        raise RejectedError("the Configurator did not say which organization the key acts for")
    other = (
        ConfiguratorLink.objects.filter(base_url=link.base_url, backend_ref__configurator_organization=own[0]["id"])
        .exclude(pk=link.pk)
        .select_related("organization")
        .first()
    )
    if other is not None:
        raise ConflictError(f"this key acts for the Configurator organization that {other.organization} is linked to")
    job.seen = _seen(True, f"The key acts for {own[0].get('name', '')} ({len(seen)} organization(s) in reach).")
    return {"configurator_organization": own[0]["id"]}


def organization_create(job: ProvisioningJob, driver: Any) -> BackendRef:
    """Make the sub-organization with the parent's key and a key of its own, kept on the child's row."""
    child = ConfiguratorLink.objects.select_related("parent").get(pk=job.target_id)
    parent = child.parent
    if parent is None or parent.configurator_id is None:
        raise RejectedError("the parent organization's link has not been checked yet")
    client = client_for(parent, driver.log)
    try:
        org_id = child.configurator_id
        if org_id is None:
            below = [o for o in client.organizations() if o.get("parent") == parent.configurator_id]
            if any(str(o.get("name", "")).lower() == child.name.lower() for o in below):
                raise ConflictError(
                    f"the Configurator already has a sub-organization named {child.name} under "
                    f"{parent.name}; nothing was made (choose another name)"
                )
            org_id = int(client.create_organization(child.name)["id"])
            # kept at once: a key lost after this is made again, the organization never twice
            ConfiguratorLink.objects.filter(pk=child.pk).update(
                backend_ref={**(child.backend_ref or {}), "configurator_organization": org_id}
            )
        if not child.api_key:
            key = client.create_api_key(org_id)
            with transaction.atomic():
                row = ConfiguratorLink.objects.select_for_update().get(pk=child.pk)
                row.api_key = key
                row.save(update_fields=["api_key", "updated_at"])
    finally:
        client.close()
    job.seen = _seen(True, f"Made at the Configurator as organization {org_id}, with a key of its own.")
    return {"configurator_organization": org_id}


def credential_store(job: ProvisioningJob, driver: Any) -> None:
    credential = ConfiguratorCredential.objects.select_related("link").filter(pk=job.target_id).first()
    if credential is None:
        return None
    link = credential.link
    if link.configurator_id is None:
        raise RejectedError("the organization's link has not been checked yet")
    client = client_for(link, driver.log)
    try:
        client.store_credential(link.configurator_id, credential.name, credential.value or "")
        kept = credential.name in client.credential_names(link.configurator_id)
    finally:
        client.close()
    job.seen = _seen(kept, "" if kept else "The Configurator does not list the credential after storing it.")
    return None


# --- orders --------------------------------------------------------------------------------------


def order_submit(job: ProvisioningJob, driver: Driver) -> BackendRef | None:
    order = ConfiguratorOrder.objects.select_related("link", "tenant__server").get(pk=job.target_id)
    if order.configurator_id is not None:
        return None  # sent by an earlier attempt whose success was recorded
    if order.tenant is None:
        raise RejectedError("the order's tenant was deleted before the order was sent")
    if not driver.capabilities.opens_tenants_by_order:
        raise UnsupportedOperation(f"{driver.capabilities.label} cannot hand a tenant to a Configurator order")
    access = driver.tenant_access(specs.tenant_ref(order.tenant))
    client = client_for(order.link, driver.log)
    url = callback_url(order)
    client.http.add_secret(order.callback_secret)
    try:
        order_id = _earlier_submit(client, url) if job.attempts > 1 else None
        if order_id is None:
            order_id = client.provision(order.configuration, access, callback_url=url)
    finally:
        client.close()
    ConfiguratorOrder.objects.filter(pk=order.pk).update(submitted_at=timezone.now())
    apply_report(order_id=order.pk, source=EventSource.SUBMIT, status=OrderStatus.NOT_STARTED)
    job.seen = _seen(True, f"The Configurator took the order as its order {order_id}.")
    return {"configurator_order": order_id}


def _earlier_submit(client: ConfiguratorClient, url: str) -> int | None:
    """The order an earlier attempt placed before its answer was lost: the one with this callback URL."""
    for listed in client.orders():
        if listed.get("callbackUrl") == url and isinstance(listed.get("id"), int):
            return listed["id"]
    return None


def order_check(job: ProvisioningJob, driver: Driver) -> None:
    order = ConfiguratorOrder.objects.select_related("link").get(pk=job.target_id)
    if order.configurator_id is None:
        raise RejectedError("the order has not been sent yet")
    client = client_for(order.link, driver.log)
    try:
        found = client.order(order.configurator_id)
    finally:
        client.close()
    apply_report(order_id=order.pk, source=EventSource.POLL, status=found.status, error=found.error)
    return None


CONFIGURATOR_OPERATIONS = {
    "configurator.link.check": link_check,
    "configurator.organization.create": organization_create,
    "configurator.credential.store": credential_store,
    "configurator.order.submit": order_submit,
    "configurator.order.check": order_check,
}
# Jobs of no platform: they talk to the Configurator alone.
WITHOUT_PLATFORM = frozenset({"configurator.link.check", "configurator.organization.create",
                              "configurator.credential.store"})  # fmt: skip
