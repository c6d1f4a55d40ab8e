"""CRM integrations on the Xelion CTI service: one per Xelion tenant, its event mappings, and the
CTI credentials of the tenant's users. Staff (admin) and customer administrators (self-service)
call the same functions; each checks the permission, validates everything before saving anything,
audits (the models are audited, secrets masked) and writes its jobs in the same transaction.

Secrets are write-only: a function takes a new value or None (keep the stored one), and never
returns or logs one. Payload templates are parsed as JSON and stored as parsed; their `${…}`
placeholders are kept verbatim and never evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.models import (
    CrmEvent,
    CrmEventMapping,
    CrmIntegration,
    CtiService,
    CtiUserCredentials,
    PbxUser,
    ProvisioningBatch,
    Tenant,
)
from telephony.models.cti import uri_refusal
from telephony.models.sync import save_changes
from telephony.provisioning import cti_planning
from telephony.provisioning.planning import enqueue
from tenants import access
from tenants.access import CHANGE, DELETE, VIEW
from tenants.models import Organization

# What the CTI service cannot change in place: a change of these makes the integration again.
REMADE_BY = ("admin_username", "authorization_server_uri", "authorization_header_prefix")
NOT_ON_CRM_PLATFORM = gettext_lazy("%(tenant)s is not on a platform whose tenants can have a CRM integration.")
REMOVING = gettext_lazy("The integration is being removed from the CTI service; wait until that is done.")


@dataclass(frozen=True)
class MappingInput:
    """One event → URI mapping as typed: the payload template is JSON text (may be empty)."""

    event: str
    uri: str
    payload: str = ""


# --- CTI services ----------------------------------------------------------------------------------


@transaction.atomic
def cti_service_create(*, actor: AbstractBaseUser, service: CtiService) -> CtiService:
    access.require_add(actor, CtiService, Organization.objects.get(pk=service.organization_id))
    service.full_clean()
    service.save()
    return service


@transaction.atomic
def cti_service_update(*, actor: AbstractBaseUser, service: CtiService) -> CtiService:
    stored = CtiService.objects.select_for_update().get(pk=service.pk)
    access.require(actor, CHANGE, stored)
    if service.organization_id != stored.organization_id:
        access.require_add(actor, CtiService, Organization.objects.get(pk=service.organization_id))
    service.full_clean()
    save_changes(service, stored)
    return service


@transaction.atomic
def cti_service_delete(*, actor: AbstractBaseUser, service: CtiService) -> None:
    stored = CtiService.objects.select_for_update().get(pk=service.pk)
    access.require(actor, DELETE, stored)
    used = stored.integrations.count()
    if used:
        raise ValidationError(
            _("%(name)s still serves %(count)s CRM integration(s); remove them first.")
            % {"name": stored.name, "count": used}
        )
    stored.delete()


# --- mappings --------------------------------------------------------------------------------------


def parse_mappings(mappings: Sequence[MappingInput]) -> list[CrmEventMapping]:
    """Unsaved mapping rows, or a ValidationError naming every bad one (nothing is saved)."""
    known = dict(CrmEvent.choices)
    errors, parsed, seen = [], [], set()
    for mapping in mappings:
        name = known.get(mapping.event, mapping.event)
        if mapping.event not in known:
            errors.append(
                _("%(event)s is not a call event of the CTI service (use one of %(events)s).")
                % {"event": repr(mapping.event), "events": ", ".join(known)}
            )
            continue
        if mapping.event in seen:
            errors.append(_("%(event)s: the event is mapped twice.") % {"event": name})
            continue
        seen.add(mapping.event)
        if not mapping.uri.strip():
            errors.append(_("%(event)s: enter the CRM resource URI.") % {"event": name})
        elif refusal := uri_refusal(mapping.uri.strip()):
            errors.append(f"{name}: {refusal}")
        payload = None
        if mapping.payload.strip():
            try:
                payload = json.loads(mapping.payload)
            except json.JSONDecodeError as error:
                errors.append(
                    _("%(event)s: the payload template is not valid JSON (%(problem)s, line %(line)s).")
                    % {"event": name, "problem": error.msg, "line": error.lineno}
                )
                continue
            if not isinstance(payload, dict):
                errors.append(_("%(event)s: the payload template is a JSON object ({…}), or empty.") % {"event": name})
                continue
        parsed.append(CrmEventMapping(event=mapping.event, uri=mapping.uri.strip(), payload=payload))
    if errors:
        raise ValidationError({"mappings": errors})
    return parsed


def _replace_mappings(integration: CrmIntegration, mappings: list[CrmEventMapping]) -> bool:
    """Make the integration's mappings these; True if anything changed."""
    held = {(m.event, m.uri, json.dumps(m.payload, sort_keys=True)) for m in integration.mappings.all()}
    wanted = {(m.event, m.uri, json.dumps(m.payload, sort_keys=True)) for m in mappings}
    if held == wanted:
        return False
    for mapping in integration.mappings.all():
        mapping.delete()  # one by one: each removal is audited
    for mapping in mappings:
        mapping.integration = integration
        mapping.full_clean()
        mapping.save()
    return True


# --- integrations ----------------------------------------------------------------------------------


def _check_tenant(actor: AbstractBaseUser, tenant: Tenant) -> None:
    access.require(actor, VIEW, tenant)
    if not tenant.server.platform.capabilities.crm_integrations:
        raise ValidationError(NOT_ON_CRM_PLATFORM % {"tenant": tenant})


def _check_service(actor: AbstractBaseUser, service: CtiService | None) -> None:
    if service is None or not access.can(actor, VIEW, service):
        raise ValidationError({"service": _("Choose a CTI service.")})


@transaction.atomic
def crm_integration_create(
    *,
    actor: AbstractBaseUser,
    integration: CrmIntegration,
    admin_password: str,
    default_client_secret: str = "",
    mappings: Sequence[MappingInput] = (),
) -> CrmIntegration:
    """Set up a tenant's CRM integration (the tenant, the service and the plain fields are on
    `integration`) and push it."""
    tenant = (
        Tenant.objects.select_for_update()
        .select_related("server__platform", "organization")
        .get(pk=integration.tenant_id)
    )
    _check_tenant(actor, tenant)
    access.require_add(actor, CrmIntegration, tenant.organization)
    _check_service(actor, integration.service if integration.service_id else None)
    existing = CrmIntegration.objects.filter(tenant=tenant).first()
    if existing is not None:
        raise ValidationError(
            REMOVING
            if existing.removal_requested
            else _("%(tenant)s has a CRM integration already.") % {"tenant": tenant}
        )
    if not admin_password:
        raise ValidationError({"admin_password": _("Enter the tenant administrator's password.")})
    integration.admin_password = admin_password
    integration.default_client_secret = default_client_secret or None
    rows = parse_mappings(mappings)
    integration.full_clean()
    integration.save()
    _replace_mappings(integration, rows)
    cti_planning.integration_saved(integration, actor=actor)
    return integration


@transaction.atomic
def crm_integration_update(
    *,
    actor: AbstractBaseUser,
    integration: CrmIntegration,
    new_admin_password: str | None = None,
    new_default_client_secret: str | None = None,
    mappings: Sequence[MappingInput] | None = None,
) -> CrmIntegration:
    """Save a changed integration; stored secrets are kept unless a new one is given, the mappings
    unless new ones are. A change the CTI service cannot make in place makes it again there."""
    stored = (
        CrmIntegration.objects.select_for_update().select_related("tenant__server__platform").get(pk=integration.pk)
    )
    access.require(actor, CHANGE, stored)
    if stored.removal_requested:
        raise ValidationError(REMOVING)
    if integration.tenant_id != stored.tenant_id:
        raise ValidationError(_("An integration stays with its tenant."))
    if integration.service_id != stored.service_id:
        if stored.backend_ref:
            raise ValidationError(
                {"service": _("The integration is on its CTI service; remove it to use another one.")}
            )
        _check_service(actor, integration.service)
    rows = parse_mappings(mappings) if mappings is not None else None
    integration.admin_password = new_admin_password or stored.admin_password
    integration.default_client_secret = new_default_client_secret or stored.default_client_secret
    integration.full_clean()
    changed = save_changes(integration, stored)
    mappings_changed = rows is not None and _replace_mappings(integration, rows)
    if not changed and not mappings_changed:
        return integration
    remade = bool(new_admin_password) or any(name in changed for name in REMADE_BY)
    cti_planning.integration_saved(integration, actor=actor, rebuild=remade)
    if {"default_client_id", "default_client_secret"} & set(changed):
        _push_users_on_defaults(integration, actor)
    return integration


def _push_users_on_defaults(integration: CrmIntegration, actor: AbstractBaseUser) -> None:
    """Users without a client id or secret of their own were given the defaults: give them the new ones."""
    on_defaults = CtiUserCredentials.objects.filter(user__tenant_id=integration.tenant_id).select_related("user")
    enqueue(
        [
            cti_planning.credentials_saved(credentials, integration, actor=actor)
            for credentials in on_defaults
            if not credentials.client_id or not credentials.client_secret
        ]
    )


@transaction.atomic
def crm_integration_delete(*, actor: AbstractBaseUser, integration: CrmIntegration) -> None:
    """Remove the integration: at once if it never reached the CTI service, else once the job has
    removed it there (the row stays, marked, until then)."""
    stored = (
        CrmIntegration.objects.select_for_update().select_related("tenant__server__platform").get(pk=integration.pk)
    )
    access.require(actor, DELETE, stored)
    if stored.removal_requested:
        return
    if cti_planning.never_pushed(stored):
        CtiUserCredentials.objects.filter(user__tenant_id=stored.tenant_id).delete()
        stored.delete()
        return
    CrmIntegration.objects.filter(pk=stored.pk).update(removal_requested=True)
    cti_planning.integration_removed(stored, actor=actor)


# --- users' credentials ----------------------------------------------------------------------------


def integration_refusal(tenant: Tenant, integration: CrmIntegration | None) -> str:
    """Why the tenant's users cannot be given CTI credentials now (empty: they can)."""
    if not tenant.server.platform.capabilities.crm_integrations:
        return NOT_ON_CRM_PLATFORM % {"tenant": tenant}
    if integration is None:
        return _("%(tenant)s has no CRM integration; set one up first.") % {"tenant": tenant}
    if integration.removal_requested:
        return str(REMOVING)
    return ""


def _integration_for(user: PbxUser) -> CrmIntegration:
    integration = CrmIntegration.objects.filter(tenant_id=user.tenant_id).first()
    if integration is None:
        raise ValidationError(_("%(tenant)s has no CRM integration; set one up first.") % {"tenant": user.tenant})
    if integration.removal_requested:
        raise ValidationError(REMOVING)
    return integration


def credentials_applied(
    row: CtiUserCredentials,
    integration: CrmIntegration,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    refresh_token: str | None = None,
    device_code: str | None = None,
) -> bool:
    """Apply the given values to `row` (None or "" keeps a stored secret, None the client id) and
    validate it, without a query (a CSV import loads the rows and the integration at once);
    whether anything changed. Messages never repeat a value."""
    before = (row.client_id, row.client_secret, row.refresh_token, row.device_code)
    if client_id is not None:
        row.client_id = client_id.strip()
    secrets = {"client_secret": client_secret, "refresh_token": refresh_token, "device_code": device_code}
    for name, value in secrets.items():
        if value:
            setattr(row, name, value)
    if not (row.client_id or integration.default_client_id):
        raise ValidationError({"client_id": _("Enter a client id: the integration has no default one.")})
    row.full_clean(exclude=["user"], validate_unique=False, validate_constraints=False)
    return row.pk is None or before != (row.client_id, row.client_secret, row.refresh_token, row.device_code)


def credentials_for(
    user: PbxUser,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    refresh_token: str | None = None,
    device_code: str | None = None,
) -> tuple[CtiUserCredentials, CrmIntegration, bool]:
    """The user's credentials row with the given values applied (None or "" keeps a stored secret),
    validated, not saved; whether anything changed. For one user."""
    integration = _integration_for(user)
    row = CtiUserCredentials.objects.filter(user=user).first() or CtiUserCredentials(user=user)
    changed = credentials_applied(
        row,
        integration,
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        device_code=device_code,
    )
    return row, integration, changed


@transaction.atomic
def cti_credentials_set(
    *,
    actor: AbstractBaseUser,
    user: PbxUser,
    client_id: str | None = None,
    client_secret: str | None = None,
    refresh_token: str | None = None,
    device_code: str | None = None,
) -> CtiUserCredentials:
    """Give a PBX user CTI credentials, or change them (a blank secret keeps the stored one)."""
    user = PbxUser.objects.select_for_update().select_related("tenant").get(pk=user.pk)
    access.require(actor, CHANGE, user)
    row, integration, changed = credentials_for(
        user, client_id=client_id, client_secret=client_secret, refresh_token=refresh_token, device_code=device_code
    )
    if changed:
        row.save()
        enqueue([cti_planning.credentials_saved(row, integration, actor=actor)])
    return row


def cti_credentials_set_many(
    rows: list[tuple[CtiUserCredentials, CrmIntegration]], *, actor: AbstractBaseUser, batch: ProvisioningBatch | None
) -> None:
    """Save rows made by `credentials_for` or `credentials_applied` (permission checked by the
    caller, each row's user set) and push them, in the caller's transaction (a CSV import's)."""
    for row, _integration in rows:
        row.save()
    enqueue([cti_planning.credentials_saved(row, integration, actor=actor, batch=batch) for row, integration in rows])


@transaction.atomic
def cti_credentials_clear(*, actor: AbstractBaseUser, user: PbxUser) -> None:
    """Take the user's CTI credentials away (from the portal and the CTI service)."""
    user = PbxUser.objects.select_for_update().select_related("tenant").get(pk=user.pk)
    access.require(actor, CHANGE, user)
    row = CtiUserCredentials.objects.filter(user=user).first()
    if row is None:
        return
    integration = CrmIntegration.objects.filter(tenant_id=user.tenant_id).first()
    if integration is not None and not integration.removal_requested:
        cti_planning.credentials_removed(row, integration, actor=actor)
    row.delete()
