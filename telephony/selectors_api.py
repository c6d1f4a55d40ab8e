"""The REST API's reads (portal/api), each already scoped to the login: an object outside it is not
in the queryset, so the API answers 404 for it exactly as for an id that does not exist."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from telephony.models import Entity, LineTemplate, NumberInterval, PbxUser, PhoneNumber, ProvisioningJob, Tenant
from tenants import access
from tenants.access import VIEW
from tenants.models import Organization


def organizations_for(user: Any) -> QuerySet[Organization]:
    return access.visible_organizations(user).order_by("id")


def tenants_for(user: Any) -> QuerySet[Tenant]:
    return access.restrict(Tenant.objects.all(), user, VIEW).select_related("organization", "server")


def entities_for(user: Any) -> QuerySet[Entity]:
    intervals = Prefetch("intervals", queryset=NumberInterval.objects.order_by("start"))
    return access.restrict(Entity.objects.all(), user, VIEW).select_related("tenant").prefetch_related(intervals)


def line_templates_for(user: Any) -> QuerySet[LineTemplate]:
    return access.restrict(LineTemplate.objects.all(), user, VIEW).select_related("organization")


def pbx_users_for(user: Any) -> QuerySet[PbxUser]:
    numbers = Prefetch("phone_numbers", queryset=PhoneNumber.objects.order_by("number"))
    return (
        access.restrict(PbxUser.objects.all(), user, VIEW)
        .select_related("tenant", "entity", "template")
        .prefetch_related(numbers)
    )


def jobs_for(user: Any) -> QuerySet[ProvisioningJob]:
    return access.restrict(ProvisioningJob.objects.all(), user, VIEW).select_related("server", "tenant")
