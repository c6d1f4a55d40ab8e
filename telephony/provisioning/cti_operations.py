"""What each CTI job asks of the tenant's CTI service.

The job runs on the tenant's platform (its driver says where the CTI service reaches the tenant's
Xelion server, `Driver.cti_address`, and lends its exchange log); the client logs in as the
tenant's Xelion administrator, read from the integration's row. Secrets are read from the rows
when the job runs, never from its payload, and are masked in the exchange log by the client.

The portal changes only what it made: an integration the CTI service already holds for the tenant
that this row did not make (no `backend_ref`, or another one) is a conflict, and nothing is
written. After every push the service is read back: "verified" means it was seen to hold what the
portal pushed (OAuth secrets cannot be read back; that the user's credentials are there can)."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from telephony.backends.base import BackendRef, Driver, backend_ref
from telephony.backends.cti import (
    CtiClient,
    EventMapping,
    Integration,
    TenantContext,
    UserCredentials,
    identity_of,
    is_the_one,
)
from telephony.backends.errors import ConflictError, NotFoundError, RejectedError
from telephony.models import CrmIntegration, CtiUserCredentials, JobStatus, ProvisioningJob, SyncState
from telephony.provisioning import specs
from tenants.audit_mixin import acting_as

CREDENTIAL_FIELDS = ("client_id", "client_secret", "refresh_token", "device_code")


def _integrations():
    return CrmIntegration.objects.select_related("service", "tenant__server__platform")


def _integration(pk: int) -> CrmIntegration | None:
    return _integrations().filter(pk=pk).first()


def _integration_of_tenant(tenant_id: int) -> CrmIntegration | None:
    return _integrations().filter(tenant_id=tenant_id).first()


def _client(integration: CrmIntegration, driver: Driver) -> CtiClient:
    tenant = integration.tenant
    protocol, host = driver.cti_address(specs.tenant_ref(tenant))
    context = TenantContext(
        host=host,
        tenant=tenant.name,
        admin_username=integration.admin_username,
        admin_password=integration.admin_password or "",
        protocol=protocol,
    )
    service = integration.service
    return CtiClient(service.base_url, context, timeout=float(service.timeout_seconds), log=driver.log)


def mappings_of(integration: CrmIntegration) -> list[EventMapping]:
    return [EventMapping(m.event, m.uri, m.payload) for m in integration.mappings.order_by("event")]


def _ours(integration: CrmIntegration, found: Integration | None, client: CtiClient) -> Integration | None:
    """The service's integration for the tenant, if it is the one this row made; a conflict if
    another is there."""
    if found is None:
        return None
    if not is_the_one(found, integration.backend_ref):
        context = client.context
        raise ConflictError(
            f"the CTI service already holds a CRM integration for {context.host} / {context.tenant} that the portal "
            "did not make; nothing was changed. Remove it on the CTI service, or leave the tenant to it"
        )
    return found


def _identity(found: Integration) -> BackendRef:
    return backend_ref(**identity_of(found))


# --- the integration -----------------------------------------------------------------------------


def integration_upsert(job: ProvisioningJob, driver: Driver) -> BackendRef | None:
    integration = _integration(job.target_id)
    if integration is None or integration.removal_requested:
        return None  # removed since: its delete job follows
    wanted = mappings_of(integration)
    client = _client(integration, driver)
    try:
        found = _ours(integration, client.find(), client)
        if found is not None and (job.payload.get("rebuild") or _cannot_change_in_place(client, found, integration)):
            client.delete(found)
            found = None
        if found is None:
            found = client.create(integration.authorization_server_uri, integration.authorization_header_prefix, wanted)
            _add_users_again(client, found, integration)
        else:
            client.replace_mappings(found, wanted)
        job.seen = integration_seen(client, integration, wanted)
        return _identity(found)
    finally:
        client.close()


def _cannot_change_in_place(client: CtiClient, found: Integration, integration: CrmIntegration) -> bool:
    """The service has no call to change a CRM context, and replaces only as many mappings as it
    holds: anything else means making the integration again."""
    same_context = (found.authorization_server_uri, found.authorization_header_prefix) == (
        integration.authorization_server_uri,
        integration.authorization_header_prefix,
    )
    return not same_context or len(client.mappings(found)) != integration.mappings.count()


def _add_users_again(client: CtiClient, found: Integration, integration: CrmIntegration) -> None:
    """A new integration holds no users: give it the tenant's users' credentials that the old one
    held (new rows wait for this job and add themselves). A user the service refuses fails alone."""
    for credentials in _credentials_of_tenant(integration).exclude(backend_ref={}):
        try:
            user_id = client.add_user(found, user_credentials(credentials, integration))
        except RejectedError as error:
            _record_on(credentials, {}, SyncState.FAILED, f"Not given again to the new integration: {error}")
        else:
            ref = backend_ref(cti_user_id=user_id)
            _record_on(credentials, ref, SyncState.IN_SYNC, "Given again to the remade integration.")


def _record_on(credentials: CtiUserCredentials, ref: BackendRef, state: str, message: str) -> None:
    CtiUserCredentials.objects.filter(pk=credentials.pk).update(backend_ref=ref, sync_state=state, sync_message=message)


def _credentials_of_tenant(integration: CrmIntegration):
    return CtiUserCredentials.objects.filter(user__tenant_id=integration.tenant_id).select_related("user")


def integration_seen(client: CtiClient, integration: CrmIntegration, wanted: list[EventMapping]) -> dict[str, str]:
    """Read the integration back and compare it with the row."""
    found = client.find()
    if found is None:
        return {"state": SyncState.MISSING, "message": "The CTI service holds no integration for this tenant."}
    differences = []
    if found.authorization_server_uri != integration.authorization_server_uri:
        differences.append("authorization server URI")
    if found.authorization_header_prefix != integration.authorization_header_prefix:
        differences.append("authorization header prefix")
    held = sorted((m.event, m.uri, _canonical(m.payload)) for m in client.mappings(found))
    if held != sorted((m.event, m.uri, _canonical(m.payload)) for m in wanted):
        differences.append("event mappings")
    if differences:
        return {"state": SyncState.DRIFTED, "message": "The CTI service holds another " + ", ".join(differences) + "."}
    return {"state": SyncState.VERIFIED, "message": ""}


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True)


def integration_delete(job: ProvisioningJob, driver: Driver) -> None:
    integration = _integration(job.target_id)
    if integration is None:
        return
    client = _client(integration, driver)
    try:
        found = client.find()
        if found is not None and is_the_one(found, integration.backend_ref):
            client.delete(found)  # one the portal did not make stays where it is
    finally:
        client.close()
    with transaction.atomic(), acting_as(f"job #{job.pk}"):
        _credentials_of_tenant(integration).delete()
        integration.delete()


# --- users' credentials --------------------------------------------------------------------------


def user_credentials(credentials: CtiUserCredentials, integration: CrmIntegration) -> UserCredentials:
    """What the service is given for the user: its own client id and secret, else the integration's."""
    return UserCredentials(
        username=credentials.user.username,
        client_id=credentials.client_id or integration.default_client_id,
        client_secret=credentials.client_secret or integration.default_client_secret or "",
        refresh_token=credentials.refresh_token or "",
        device_code=credentials.device_code or "",
    )


def _pushed_integration(client: CtiClient, integration: CrmIntegration) -> Integration:
    found = _ours(integration, client.find(), client)
    if found is None:
        raise NotFoundError("the tenant's CRM integration is not on the CTI service; push the integration first")
    return found


def user_upsert(job: ProvisioningJob, driver: Driver) -> BackendRef | None:
    credentials = CtiUserCredentials.objects.select_related("user").filter(pk=job.target_id).first()
    integration = _integration_of_tenant(credentials.user.tenant_id) if credentials is not None else None
    if credentials is None or integration is None or integration.removal_requested:
        return None  # gone since, or the integration's removal takes the credentials with it
    client = _client(integration, driver)
    try:
        found = _pushed_integration(client, integration)
        given = user_credentials(credentials, integration)
        mine = str(credentials.backend_ref.get("cti_user_id", ""))
        listed = client.users(found, username=given.username)
        if mine and any(str(u.get("userCredentialsId")) == mine for u in listed):
            for field in CREDENTIAL_FIELDS:
                if getattr(given, field):
                    client.update_user_secret(mine, field, getattr(given, field))
        elif listed:
            raise ConflictError(
                f"the CTI service already holds credentials for {given.username} that the portal did not give; "
                "nothing was changed"
            )
        else:
            mine = client.add_user(found, given)
        job.seen = _user_seen(client, found, given.username, mine)
        return backend_ref(cti_user_id=mine)
    finally:
        client.close()


def _user_seen(client: CtiClient, found: Integration, username: str, user_id: str) -> dict[str, str]:
    listed = client.users(found, username=username)
    if any(str(u.get("userCredentialsId")) == user_id for u in listed):
        return {"state": SyncState.VERIFIED, "message": "Held by the CTI service (secrets are never read back)."}
    return {"state": SyncState.MISSING, "message": f"The CTI service holds no credentials for {username}."}


def _credentials_id(job: ProvisioningJob) -> str:
    """The CTI service's id of the credentials: kept in the payload, or, when their push was still
    running as the delete was planned, learnt by that push (which finished before this job began:
    it has the same target)."""
    kept = job.payload.get("credentials_id", "")
    if kept:
        return kept
    learnt = (
        ProvisioningJob.objects.filter(
            target_key=job.target_key, operation="cti.user.upsert", status=JobStatus.SUCCEEDED, id__lt=job.id
        )
        .order_by("-id")
        .values_list("result", flat=True)
        .first()
    )
    return str((learnt or {}).get("cti_user_id", ""))


def user_delete(job: ProvisioningJob, driver: Driver) -> None:
    user_id = _credentials_id(job)
    integration = _integration(job.payload.get("integration", 0))
    if not user_id or integration is None or integration.removal_requested:
        return  # never given, or the integration's removal takes it with it
    client = _client(integration, driver)
    try:
        client.remove_user(user_id)
    finally:
        client.close()


# --- the check (drift) ------------------------------------------------------------------------------


def integration_check(job: ProvisioningJob, driver: Driver) -> None:
    """Read the integration and its users' credentials back and say what the service holds: the
    integration verified, drifted or missing; each pushed user's credentials verified or missing.
    Nothing is written to the CTI service: a person repairs drift (save the integration again)."""
    integration = _integration(job.target_id)
    if integration is None or integration.removal_requested or not integration.backend_ref:
        return None  # removed, or never made: nothing of it to look for
    client = _client(integration, driver)
    try:
        job.seen = integration_seen(client, integration, mappings_of(integration))
        found = client.find()
        held = {str(u.get("userCredentialsId")) for u in client.users(found)} if found is not None else set()
    finally:
        client.close()
    _settle_users(integration, held)
    return None


def _settle_users(integration: CrmIntegration, held: set[str]) -> None:
    """Each pushed user's credentials as the check found them; rows with a change on its way keep their state."""
    settled = _credentials_of_tenant(integration).exclude(backend_ref={})
    settled = settled.exclude(sync_state__in=(SyncState.PENDING, SyncState.FAILED))
    now = timezone.now()
    for credentials in settled:
        if str(credentials.backend_ref.get("cti_user_id", "")) in held:
            CtiUserCredentials.objects.filter(pk=credentials.pk).update(
                sync_state=SyncState.VERIFIED, sync_message="", verified_at=now
            )
        else:
            CtiUserCredentials.objects.filter(pk=credentials.pk).update(
                sync_state=SyncState.MISSING,
                sync_message=f"The CTI service no longer holds credentials for {credentials.user.username}.",
            )


CTI_OPERATIONS = {
    "cti.integration.upsert": integration_upsert,
    "cti.integration.delete": integration_delete,
    "cti.user.upsert": user_upsert,
    "cti.user.delete": user_delete,
    "cti.integration.check": integration_check,
}
