"""The REST API's reads of phone numbers and their pools (portal/api/views_numbers.py), each scoped
to the login: a number, a user or a pool outside it is not in the queryset, so the API answers 404
for it exactly as for an id that does not exist."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Length

from telephony.models import PhoneNumber
from telephony.services.number_ranges import NumberRange, PoolUse, pool_usage
from telephony.validators import normalize_e164
from tenants import access, wide_scope
from tenants.access import VIEW
from tenants.models import Organization

# `?status=` of the numbers list: the admin's "allocation" filter
NUMBER_STATUSES: dict[str, Q] = {
    "free": Q(tenant__isnull=True),
    "allocated": Q(tenant__isnull=False, assigned_user__isnull=True),
    "assigned": Q(assigned_user__isnull=False),
}


def phone_numbers_for(user: Any) -> QuerySet[PhoneNumber]:
    """The numbers the login sees. The API reads them in id order a page at a time: a wide scope is
    checked on each row read (tenants.wide_scope)."""
    wide = wide_scope.sees_much(user)
    return access.restrict(PhoneNumber.objects.all(), user, VIEW, row_by_row=wide).select_related(
        "organization", "tenant", "assigned_user"
    )


def phone_numbers_with_status(queryset: QuerySet[PhoneNumber], status: str) -> QuerySet[PhoneNumber]:
    return queryset.filter(NUMBER_STATUSES[status])


def phone_numbers_in_range(user: Any, numbers: NumberRange) -> QuerySet[PhoneNumber]:
    """The numbers of the range the login sees (the others are not there for it)."""
    return phone_numbers_for(user).annotate(number_length=Length("number")).filter(numbers.within())


def phone_number_by_id_or_text(user: Any, reference: int | str) -> PhoneNumber | None:
    """A number the login sees, given by its id or by its digits (any spelling of E.164)."""
    visible = phone_numbers_for(user)
    if isinstance(reference, int):
        return visible.filter(pk=reference).first()
    return visible.filter(number=normalize_e164(reference)).first()


def number_pools_for(user: Any) -> QuerySet[Organization]:
    """The organizations the login may read that hold numbers it sees in their pool."""
    numbers = access.restrict(PhoneNumber.objects.all(), user, VIEW)
    return access.visible_organizations(user).filter(pk__in=numbers.values("organization_id")).order_by("id")


def pool_use_of(user: Any, organizations: Iterable[Organization]) -> dict[int, PoolUse]:
    """Free / allocated / assigned numbers the login sees in each of these pools (one query, the
    admin's "pool use")."""
    pks = [organization.pk for organization in organizations]
    numbers = access.restrict(PhoneNumber.objects.filter(organization_id__in=pks), user, VIEW)
    return {use.organization_id: use for use in pool_usage(user, numbers)}
