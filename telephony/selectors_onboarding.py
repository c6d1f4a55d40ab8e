"""What the onboarding wizard offers a login: the resellers it administers, the servers with room
shared with one of them, the free numbers of the pools it manages there, and a batch's progress.

These are the choices only; `telephony.services.onboarding` checks every one of them again when
it writes, so a choice taken from elsewhere (a tampered form, a stale session) is refused there.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q, QuerySet

from telephony.models import JobStatus, LineTemplate, PhoneNumber, ProvisioningBatch, ProvisioningJob, Server
from tenants import access
from tenants.access import CHANGE, VIEW
from tenants.models import Organization, OrganizationKind

# A step lists at most this many free numbers; more are taken by count.
NUMBERS_LISTED = 500


def onboarding_parents(user: Any) -> QuerySet[Organization]:
    """The organizations a new customer may go below: those the login administers, never a customer."""
    if not getattr(user, "is_staff", False):
        return Organization.objects.none()
    return access.organizations_for(user, Organization).exclude(kind=OrganizationKind.CUSTOMER).order_by("path")


def onboarding_offered(user: Any) -> bool:
    """Whether the login may use the wizard at all (an administrator of a reseller or above)."""
    return onboarding_parents(user).exists()


def servers_with_room(user: Any, parent: Organization) -> QuerySet[Server]:
    """Servers the login sees whose platform is shared with `parent` (owned by it or above it) and
    that hold fewer tenants than their most."""
    shared = Q(platform__organization__path__in=_paths_at_and_above(parent))
    servers = access.restrict(Server.objects.filter(shared), user, VIEW).annotate(held=Count("tenants"))
    room = Q(capacity_tenants__isnull=True) | Q(held__lt=F("capacity_tenants"))
    return servers.filter(room).select_related("platform").order_by("name")


def free_numbers(user: Any, parent: Organization) -> QuerySet[PhoneNumber]:
    """Numbers allocated to no tenant, in pools the login manages that are shared with `parent`."""
    numbers = PhoneNumber.objects.filter(tenant__isnull=True, organization__path__in=_paths_at_and_above(parent))
    managed = access.restrict(numbers, user, CHANGE)
    pools = access.organizations_for(user, PhoneNumber)
    return managed.filter(organization__in=pools).order_by("number")


def _paths_at_and_above(organization: Organization) -> list[str]:
    steplen = Organization.steplen
    return [organization.path[:end] for end in range(steplen, len(organization.path) + 1, steplen)]


def visible_batch(user: Any, batch_id: Any) -> ProvisioningBatch | None:
    """The batch, if the login may see it."""
    try:
        pk = int(batch_id)
    except (TypeError, ValueError):
        return None
    return access.restrict(ProvisioningBatch.objects.filter(pk=pk), user, VIEW).first()


def batch_progress(batch: ProvisioningBatch) -> dict[str, Any]:
    """The jobs of a batch counted the way the import pages' progress bar reads them."""
    counts = ProvisioningJob.objects.filter(batch=batch).aggregate(
        total=Count("id"),
        pushed=Count("id", filter=Q(status=JobStatus.SUCCEEDED)),
        failed=Count("id", filter=Q(status=JobStatus.FAILED)),
        cancelled=Count("id", filter=Q(status=JobStatus.CANCELLED)),
    )
    counts["remaining"] = counts["total"] - counts["pushed"] - counts["failed"] - counts["cancelled"]
    return {
        "status": "committed",
        "status_label": "Written",
        "busy": False,
        "jobs": counts,
        "finished": counts["remaining"] == 0,
    }


def usable_templates(user: Any, parent: Organization) -> QuerySet[LineTemplate]:
    """Line templates a customer below `parent` may use (of `parent` or above) that the login sees."""
    templates = LineTemplate.objects.filter(organization__path__in=_paths_at_and_above(parent))
    return access.restrict(templates, user, VIEW).order_by("name")
