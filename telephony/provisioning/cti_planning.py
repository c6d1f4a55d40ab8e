"""The jobs a CRM integration change needs, written in the service's own transaction (the outbox).

A job is addressed like every other: `platform` and `tenant` are the tenant's (so the runner gets
the Xelion driver, the server's concurrency slots apply and the job shows in the tenant's log).
Payloads name what to do and which rows, never a secret: the handlers read those from the rows."""

from __future__ import annotations

from typing import Any

from telephony.models import CrmIntegration, CtiUserCredentials, PbxUser, ProvisioningBatch, ProvisioningJob
from telephony.provisioning import specs
from telephony.provisioning.keys import target_key
from telephony.provisioning.planning import _cancel_unpushed, _job, _supersede_unfinished, enqueue


def _tenant_payload(integration: CrmIntegration) -> dict[str, Any]:
    return {"tenant": specs.to_payload(specs.tenant_ref(integration.tenant))}


def integration_saved(
    integration: CrmIntegration, *, actor: Any = None, rebuild: bool = False
) -> list[ProvisioningJob]:
    """Push the integration and its mappings. `rebuild`: what changed (the administrator the
    service logs in as) cannot be changed in place, so the service's integration is made again."""
    tenant = integration.tenant
    payload = {**_tenant_payload(integration), "rebuild": rebuild}
    job = _job(
        operation="cti.integration.upsert",
        target=integration,
        tenant=tenant,
        payload=payload,
        wait_for=[target_key(tenant)],
        actor=actor,
    )
    return enqueue([job])


def integration_check_requested(integration: CrmIntegration, *, actor: Any = None) -> list[ProvisioningJob]:
    """Read the integration back from the CTI service (nothing is written there)."""
    job = _job(
        operation="cti.integration.check",
        target=integration,
        tenant=integration.tenant,
        payload=_tenant_payload(integration),
        actor=actor,
    )
    return enqueue([job])


def never_pushed(integration: CrmIntegration) -> bool:
    """True (and its jobs and its users' cancelled) if nothing of the integration reached the CTI
    service: its create has not started."""
    if not _cancel_unpushed(integration):
        return False
    for credentials in CtiUserCredentials.objects.filter(user__tenant=integration.tenant):
        _cancel_unpushed(credentials)
    return True


def integration_removed(integration: CrmIntegration, *, actor: Any = None) -> list[ProvisioningJob]:
    """Remove the integration (and with it every user's credentials) from the CTI service. The
    users' own unfinished jobs give way to it."""
    for credentials in CtiUserCredentials.objects.filter(user__tenant=integration.tenant):
        if not _cancel_unpushed(credentials):
            _supersede_unfinished(credentials)
    _supersede_unfinished(integration)
    job = _job(
        operation="cti.integration.delete",
        target=integration,
        tenant=integration.tenant,
        payload=_tenant_payload(integration),
        actor=actor,
    )
    return enqueue([job])


def credentials_saved(
    credentials: CtiUserCredentials,
    integration: CrmIntegration,
    *,
    actor: Any = None,
    batch: ProvisioningBatch | None = None,
) -> ProvisioningJob:
    """Unsaved: the caller enqueues (a CSV import enqueues all of its jobs at once)."""
    user = credentials.user
    return _job(
        operation="cti.user.upsert",
        target=credentials,
        tenant=user.tenant,
        payload={**_tenant_payload(integration), "username": user.username},
        wait_for=[target_key(integration), target_key(user)],
        actor=actor,
        batch=batch,
    )


def credentials_removed(
    credentials: CtiUserCredentials, integration: CrmIntegration, *, actor: Any = None
) -> list[ProvisioningJob]:
    """Take the user's credentials off the CTI service (called before the row is deleted: the
    job keeps the service's id of them)."""
    return enqueue(_credentials_removal(credentials, integration, actor=actor))


def user_deleted(user: PbxUser, *, actor: Any = None) -> list[ProvisioningJob]:
    """A PBX user is being deleted (its credentials row goes with it): the CTI service lets go of
    its credentials. Nothing to do without credentials, or when the integration's own removal
    takes them with it."""
    credentials = CtiUserCredentials.objects.filter(user=user).first()
    if credentials is None:
        return []
    integration = CrmIntegration.objects.filter(tenant_id=user.tenant_id).first()
    if integration is None or integration.removal_requested:
        return []
    credentials.user = user
    return enqueue(_credentials_removal(credentials, integration, actor=actor))


def _credentials_removal(
    credentials: CtiUserCredentials, integration: CrmIntegration, *, actor: Any
) -> list[ProvisioningJob]:
    if _cancel_unpushed(credentials):
        return []
    _supersede_unfinished(credentials)
    user = credentials.user
    payload = {
        **_tenant_payload(integration),
        "username": user.username,
        "integration": integration.pk,
        "credentials_id": str(credentials.backend_ref.get("cti_user_id", "")),
    }
    job = _job(
        operation="cti.user.delete",
        target=credentials,
        tenant=user.tenant,
        payload=payload,
        wait_for=[target_key(integration)],
        actor=actor,
    )
    return [job]
