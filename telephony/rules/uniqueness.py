"""A line's internal number and username are unique in its tenant. A single write and a CSV import
check it alike and say it in the same words: the holder is named to whoever may change that user,
to anyone else only the tenant (a login of one entity learns nothing of the others' lines)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from telephony.models import PbxUser, Tenant
from tenants import access
from tenants.access import CHANGE

UNIQUE_IN_TENANT = ("internal_number", "username")


def taken(value: str, *, holder: str, tenant: Tenant | str) -> str:
    """The refusal of `value`, held by the user named `holder` (empty: not to be named)."""
    if holder:
        return _("%(value)s is already taken by %(holder)s.") % {"value": value, "holder": holder}
    return _("%(value)s is already taken in %(tenant)s.") % {"value": value, "tenant": tenant}


def holder_of(tenant: Tenant, field: str, value: str, *, except_pk: int | None) -> PbxUser | None:
    return PbxUser.objects.filter(tenant=tenant, **{field: value}).exclude(pk=except_pk).first() if value else None


def check_free_in_tenant(actor: Any, tenant: Tenant, user: PbxUser) -> dict[str, str]:
    """What of the user's internal number and username another user of the tenant holds, in words."""
    errors = {}
    for field in UNIQUE_IN_TENANT:
        value = getattr(user, field)
        holder = holder_of(tenant, field, value, except_pk=user.pk)
        if holder is not None:
            shown = holder.username if access.can(actor, CHANGE, holder) else ""
            errors[field] = taken(value, holder=shown, tenant=tenant)
    return errors
