"""Reads for the customer self-service site, already scoped to the login.

A customer administrator is a login with a membership in a customer organization: it sees that
organization's tenants, their users, numbers and provisioning jobs, and nothing else — even when
the same login also holds a membership higher up the tree (that one is for the staff admin). Every
queryset here is first restricted by `tenants.access` and then narrowed to those customers.

An end user is a login linked to one PBX user (`PbxUser.portal_user`): it sees that line only.

Every function costs a fixed number of queries, whatever the number of users.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from telephony.models import (
    Entity,
    ImportKind,
    ImportRun,
    JobStatus,
    LineTemplate,
    NumberInterval,
    PbxUser,
    PhoneNumber,
    ProvisioningJob,
    SyncState,
    Tenant,
)
from telephony.validators import interval_numbers
from tenants import access
from tenants.access import CHANGE, VIEW
from tenants.audit import describe_for_customers, entries_of, restrict_entries
from tenants.models import Organization, OrganizationKind

_CUSTOMERS_CACHE = "_selfservice_customers"
UNFINISHED_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)


# --- who is who --------------------------------------------------------------------------------------


def customer_organizations(login: Any) -> list[Organization]:
    """The customer organizations the login administers on the self-service site (one query, then
    cached on the login object for the request)."""
    cached = getattr(login, _CUSTOMERS_CACHE, None)
    if cached is None:
        paths = [path for path, _role in access.memberships(login)] if _active(login) else []
        cached = list(Organization.objects.filter(path__in=paths, kind=OrganizationKind.CUSTOMER)) if paths else []
        setattr(login, _CUSTOMERS_CACHE, cached)
    return cached


def is_customer_admin(login: Any) -> bool:
    return bool(customer_organizations(login))


def may_manage_users(login: Any) -> bool:
    """Does one of the login's customer memberships allow creating and changing users?"""
    return any(access.can_add(login, PbxUser, organization) for organization in customer_organizations(login))


def _active(login: Any) -> bool:
    return bool(getattr(login, "is_authenticated", False) and getattr(login, "is_active", False))


def _scoped(queryset: QuerySet, login: Any, organization_lookup: str, action: str = VIEW) -> QuerySet:
    """`queryset` restricted by the permission tree, then to the login's customer organizations."""
    customers = [organization.pk for organization in customer_organizations(login)]
    if not customers:
        return queryset.none()
    return access.restrict(queryset, login, action).filter(**{f"{organization_lookup}__in": customers})


def _count(queryset: QuerySet) -> Coalesce:
    """A correlated COUNT subquery (several of them on one row never multiply each other's rows)."""
    counted = queryset.order_by().values("pk")
    counted = counted.annotate(_one=Value(1)).values("_one").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# --- the customer administrator --------------------------------------------------------------------


def tenants_of(login: Any) -> QuerySet[Tenant]:
    """The login's tenants with their counts: users, numbers, free numbers, unfinished and failed pushes."""
    tenant = OuterRef("pk")
    return (
        _scoped(Tenant.objects.all(), login, "organization")
        .select_related("organization", "server__platform")
        .annotate(
            user_count=_count(PbxUser.objects.filter(tenant=tenant)),
            number_count=_count(PhoneNumber.objects.filter(tenant=tenant)),
            free_number_count=_count(PhoneNumber.objects.filter(tenant=tenant, assigned_user__isnull=True)),
            pushes_unfinished=_count(ProvisioningJob.objects.filter(tenant=tenant, status__in=UNFINISHED_STATUSES)),
            pushes_failed=_count(ProvisioningJob.objects.filter(tenant=tenant, status=JobStatus.FAILED)),
        )
        .order_by("organization__name", "name")
    )


def tenant_of(login: Any, tenant_id: int) -> Tenant:
    tenant = tenants_of(login).filter(pk=tenant_id).first()
    if tenant is None:
        raise Http404("No tenant matches the given query.")
    return tenant


def tenants_for_new_users(login: Any) -> list[Tenant]:
    """Tenants in which the login may create users."""
    return [t for t in tenants_of(login) if access.can_add(login, PbxUser, t.organization)]


def users_of(login: Any, *, search: str = "", tenant_id: int | None = None) -> QuerySet[PbxUser]:
    """The login's users, with what a list row shows, optionally searched by name, username, e-mail,
    internal or external number."""
    users = (
        _scoped(PbxUser.objects.all(), login, "tenant__organization")
        .select_related("tenant", "entity", "template")
        .prefetch_related(Prefetch("phone_numbers", queryset=PhoneNumber.objects.order_by("number")))
        .order_by("tenant__name", "internal_number")
    )
    if tenant_id is not None:
        users = users.filter(tenant_id=tenant_id)
    search = search.strip()
    if search:
        users = users.filter(
            Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
            | Q(display_name__icontains=search)
            | Q(username__icontains=search)
            | Q(email__icontains=search)
            | Q(internal_number__startswith=search)
            | Q(pk__in=PhoneNumber.objects.filter(number__contains=search).values("assigned_user_id"))
        )
    return users


ATTENTION_STATES = (SyncState.DRIFTED, SyncState.MISSING, SyncState.CONFLICT)


def lines_differing_from_the_pbx(login: Any, *, limit: int = 20) -> list[PbxUser]:
    """The login's lines that a read of the PBX found missing there, held otherwise, or claimed twice."""
    users = _scoped(PbxUser.objects.filter(sync_state__in=ATTENTION_STATES), login, "tenant__organization")
    return list(users.select_related("tenant").order_by("tenant__name", "internal_number")[:limit])


def user_of(login: Any, user_id: int, action: str = VIEW) -> PbxUser:
    """One of the login's users (404 otherwise, or when the login may not `action` it)."""
    user = users_of(login).filter(pk=user_id).first()
    if user is None or (action != VIEW and not access.can(login, action, user)):
        raise Http404("No PBX user matches the given query.")
    return user


def may_change(login: Any, user: PbxUser) -> bool:
    return access.can(login, CHANGE, user)


def may_add_to(login: Any, tenant: Tenant) -> bool:
    return access.can_add(login, PbxUser, tenant.organization)


def entities_of(tenant: Tenant) -> QuerySet[Entity]:
    return tenant.entities.order_by("name")


def templates_for(login: Any, tenant: Tenant) -> QuerySet[LineTemplate]:
    """Line templates usable by the tenant's organization that the login may pick."""
    usable_paths = [*tenant.organization.ancestor_paths(), tenant.organization.path]
    return access.restrict(LineTemplate.objects.all(), login, VIEW).filter(organization__path__in=usable_paths)


def templates_for_tenants(login: Any, tenants: list[Tenant]) -> QuerySet[LineTemplate]:
    """Line templates usable by at least one of the tenants."""
    paths = {path for t in tenants for path in (*t.organization.ancestor_paths(), t.organization.path)}
    return access.restrict(LineTemplate.objects.all(), login, VIEW).filter(organization__path__in=sorted(paths))


def import_runs_of(login: Any) -> QuerySet[ImportRun]:
    """The login's CSV imports of users (newest first)."""
    runs = ImportRun.objects.filter(kind=ImportKind.USERS).select_related("tenant", "created_by")
    return _scoped(runs, login, "organization").order_by("-created_at")


def free_numbers(tenant: Tenant) -> QuerySet[PhoneNumber]:
    """The tenant's external numbers that no user holds."""
    return PhoneNumber.objects.filter(tenant=tenant, assigned_user__isnull=True).order_by("number")


def next_free_internal_numbers(tenant: Tenant) -> dict[int, str]:
    """For each entity of the tenant, the lowest internal number of its plan that no user of the
    tenant holds ("" when the plan is full). Two queries; at most one step per used number."""
    used = set(PbxUser.objects.filter(tenant=tenant).values_list("internal_number", flat=True))
    found: dict[int, str] = {}
    for interval in NumberInterval.objects.filter(entity__tenant=tenant).order_by("entity_id", "start"):
        if found.get(interval.entity_id):
            continue
        numbers = interval_numbers(interval.start, interval.end)
        if numbers is None:
            continue
        width, candidate, last = len(interval.start), numbers.start, numbers.stop - 1
        while candidate <= last and str(candidate).zfill(width) in used:
            candidate += 1
        found[interval.entity_id] = str(candidate).zfill(width) if candidate <= last else ""
    return found


def internal_number_taken(tenant: Tenant, number: str, *, except_user_id: int | None = None) -> bool:
    others = PbxUser.objects.filter(tenant=tenant, internal_number=number)
    return others.exclude(pk=except_user_id).exists() if except_user_id else others.exists()


def username_taken(tenant: Tenant, username: str) -> bool:
    return PbxUser.objects.filter(tenant=tenant, username=username).exists()


def recent_pushes(login: Any, *, limit: int = 10) -> list[ProvisioningJob]:
    """The latest provisioning jobs of the login's tenants."""
    jobs = _scoped(ProvisioningJob.objects.all(), login, "tenant__organization").select_related("tenant")
    return list(jobs.order_by("-id")[:limit])


def user_totals(login: Any) -> dict[str, int]:
    """Totals over the login's tenants for the dashboard's headline figures."""
    tenants = list(tenants_of(login))
    return {
        "tenants": len(tenants),
        "users": sum(t.user_count for t in tenants),
        "licences": sum(t.licences for t in tenants),
        "numbers": sum(t.number_count for t in tenants),
        "free_numbers": sum(t.free_number_count for t in tenants),
    }


# --- the end user ----------------------------------------------------------------------------------


def line_of(login: Any) -> PbxUser | None:
    """The PBX user linked to the login, with its tenant, entity and numbers; None if there is none."""
    if not _active(login):
        return None
    return (
        PbxUser.objects.select_related("tenant", "entity", "template")
        .prefetch_related(Prefetch("phone_numbers", queryset=PhoneNumber.objects.order_by("number")))
        .filter(portal_user=login)
        .first()
    )


# --- push state of one line ------------------------------------------------------------------------


def line_pushes(user: PbxUser, *, limit: int = 8) -> list[ProvisioningJob]:
    """The latest jobs of a user and of the numbers it holds (the caller has checked the user)."""
    keys = [f"pbxuser:{user.pk}", *(f"phonenumber:{n.pk}" for n in user.phone_numbers.all())]
    # Only this tenant's jobs: a number held by another customer before has jobs that are not ours.
    jobs = ProvisioningJob.objects.filter(target_key__in=keys, tenant_id=user.tenant_id)
    return list(jobs.order_by("-id")[:limit])


def line_history(line: PbxUser, *, limit: int = 15) -> list[dict]:
    """Who changed this line and how, naming only what its customer may see (the caller reached
    the line through a scoped selector)."""
    customer = access.OrganizationViewer(line.tenant.organization)
    return describe_for_customers(restrict_entries(entries_of(line, limit=None), customer)[:limit], viewer=customer)
