"""The REST API's reads of who reaches what (portal/api/views_access.py): platforms, servers,
memberships and entity administrators, each scoped to the login as the admin scopes them. An object
outside the scope is not in the queryset, so the API answers 404 for it as for an id that does not
exist."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

from telephony.models import Entity, Platform, Server, Tenant
from tenants import access
from tenants.access import VIEW
from tenants.models import Membership


def platforms_for(user: Any) -> QuerySet[Platform]:
    """Platforms the login may see: its organizations' and everything below them, and the ones
    shared down from above (usable, never changed from here)."""
    return access.restrict(Platform.objects.all(), user, VIEW).select_related("organization")


def servers_for(user: Any) -> QuerySet[Server]:
    """Servers the login may see, each with the number of its tenants that the login may see (a
    shared server's other customers are never counted), as the admin's list shows."""
    return (
        access.restrict(Server.objects.all(), user, VIEW)
        .select_related("platform")
        .annotate(tenant_count=access.visible_count(Tenant, "server", user, shared=True))
    )


def logins_for(user: Any) -> QuerySet:
    """Portal logins the login may see (one of their rights lies in its subtree, or itself)."""
    return access.restrict_users(get_user_model().objects.all(), user, VIEW)


def memberships_for(user: Any) -> QuerySet[Membership]:
    return access.restrict(Membership.objects.all(), user, VIEW).select_related("user", "organization")


def entity_grants_for(user: Any) -> QuerySet[Entity]:
    """Entities the login may see, each with its administrators among the logins the login may
    see (prefetched as `shown_administrators`, by username)."""
    shown = Prefetch("administrators", queryset=logins_for(user).order_by("username"), to_attr="shown_administrators")
    return access.restrict(Entity.objects.all(), user, VIEW).select_related("tenant").prefetch_related(shown)
