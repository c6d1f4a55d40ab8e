"""The jobs that carry Configurator changes out: a link checked, a sub-organization made, a
credential stored, an order sent and its status read. Written in the transaction of the change,
like every other job (the outbox)."""

from __future__ import annotations

from typing import Any

from telephony.models import ConfiguratorCredential, ConfiguratorLink, ConfiguratorOrder, ProvisioningJob
from telephony.provisioning.keys import target_key
from telephony.provisioning.planning import _job, enqueue


def link_saved(link: ConfiguratorLink, *, actor: Any = None) -> list[ProvisioningJob]:
    """Check the key: learn which Configurator organization it acts for."""
    return enqueue([_job(operation="configurator.link.check", target=link, tenant=None, payload={}, actor=actor)])


def suborganization_requested(link: ConfiguratorLink, *, actor: Any = None) -> list[ProvisioningJob]:
    """Make the sub-organization at the Configurator with the parent's key, after the parent is known."""
    parent = ConfiguratorLink.objects.get(pk=link.parent_id)
    job = _job(
        operation="configurator.organization.create",
        target=link,
        tenant=None,
        payload={"name": link.name},
        wait_for=[target_key(parent)],
        actor=actor,
    )
    return enqueue([job])


def credential_saved(credential: ConfiguratorCredential, *, actor: Any = None) -> list[ProvisioningJob]:
    job = _job(
        operation="configurator.credential.store",
        target=credential,
        tenant=None,
        payload={"name": credential.name},  # never the value: it is read from the row when the job runs
        wait_for=[target_key(credential.link)],
        organization_id=credential.link.organization_id,
        actor=actor,
    )
    return enqueue([job])


def order_placed(order: ConfiguratorOrder, *, actor: Any = None) -> list[ProvisioningJob]:
    """Send the order once its tenant exists at the Park Manager (the tenant's jobs go first)."""
    job = _job(
        operation="configurator.order.submit",
        target=order,
        tenant=order.tenant,
        payload={"tenant": order.tenant.name},
        wait_for=[target_key(order.tenant), target_key(order.link)],
        actor=actor,
    )
    return enqueue([job])


def order_status_wanted(order: ConfiguratorOrder, *, actor: Any = None) -> list[ProvisioningJob]:
    """Read the order's status from the Configurator (no webhook came, or a failure's reason is wanted)."""
    job = _job(operation="configurator.order.check", target=order, tenant=order.tenant, payload={}, actor=actor)
    return enqueue([job])
