"""Reads of the CTI pages, scoped to the login: a tenant's CRM integration, the CTI services a
tenant may use, a user's CTI credentials. Anything outside the login's tree is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from telephony.models import CrmIntegration, CtiService, CtiUserCredentials, PbxUser, Tenant
from tenants import access
from tenants.access import CHANGE, VIEW


def integration_of(login: Any, tenant: Tenant) -> CrmIntegration | None:
    """The tenant's integration, if the login may see it."""
    scoped = access.restrict(CrmIntegration.objects.filter(tenant=tenant), login, VIEW)
    return scoped.select_related("service").prefetch_related("mappings").first()


def services_for(login: Any, tenant: Tenant) -> QuerySet[CtiService]:
    """The CTI services the login sees that are shared with the tenant's organization."""
    visible = access.restrict(CtiService.objects.select_related("organization"), login, VIEW)
    usable = [service.pk for service in visible if service.is_usable_by(tenant.organization)]
    return CtiService.objects.filter(pk__in=usable).order_by("name")


def may_manage_integration(login: Any, tenant: Tenant, integration: CrmIntegration | None) -> bool:
    if integration is None:
        return access.can_add(login, CrmIntegration, tenant.organization)
    return access.can(login, CHANGE, integration)


def credentials_of(user: PbxUser) -> CtiUserCredentials | None:
    return CtiUserCredentials.objects.filter(user=user).first()


def offers_crm_integrations(tenant: Tenant) -> bool:
    return tenant.server.platform.capabilities.crm_integrations
