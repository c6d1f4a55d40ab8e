"""Numbering shared between customers: where a PBX keeps internal numbers and entity names unique
across every tenant on a server (a XiVO under XCU), one customer's number plan, users and entity
names must not collide with another's there, or a push would land on the other customer's object.

The portal refuses such a collision before it is saved; the messages name the reason, never the
other customer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from telephony.backends.capabilities import UNIQUE_PER_SERVER
from telephony.backends.registry import capabilities_of
from telephony.models import BackendClaim, Entity, LineTemplateMirror, NumberInterval, PbxUser, Platform, Tenant
from telephony.validators import intervals_overlap

NUMBER_NOT_AVAILABLE = gettext_lazy(
    "{number} is not available: this PBX keeps internal numbers unique across every customer on its server."
)
PLAN_NOT_AVAILABLE = gettext_lazy(
    "{interval} is not available: this PBX keeps internal numbers unique across every customer on its server, "
    "and part of it is in use there."
)
TEMPLATE_NAME_NOT_AVAILABLE = gettext_lazy(
    "The line template {name} cannot be used on this PBX: it keeps template names unique, and a template of "
    "that name that is not this one is there already. Rename this template to use it here."
)
ENTITY_NAME_NOT_AVAILABLE = gettext_lazy(
    "This name is not available: this PBX keeps entity names unique across every customer on its server."
)


def shares_server_numbering(server_id: int) -> bool:
    """Does the PBX of this server keep numbers and entity names unique across its tenants?"""
    kind = Platform.objects.filter(servers=server_id).values_list("kind", flat=True).first()
    return capabilities_of(kind or "").number_scope == UNIQUE_PER_SERVER


def neighbours(tenant: Tenant) -> QuerySet[Tenant]:
    """The other tenants whose numbering this tenant's must not collide with."""
    if tenant.server_id is None or not shares_server_numbering(tenant.server_id):
        return Tenant.objects.none()
    return Tenant.objects.filter(server_id=tenant.server_id).exclude(pk=tenant.pk)


def numbers_taken_elsewhere(tenant: Tenant, numbers: Iterable[str]) -> set[str]:
    """Which of `numbers` users of the tenant's neighbours hold."""
    wanted = {n for n in numbers if n}
    if not wanted:
        return set()
    held = PbxUser.objects.filter(tenant__in=neighbours(tenant), internal_number__in=wanted)
    return set(held.values_list("internal_number", flat=True))


def all_numbers_taken_elsewhere(tenant: Tenant) -> set[str]:
    """Every internal number the tenant's neighbours hold (an import checks its rows against it)."""
    return set(PbxUser.objects.filter(tenant__in=neighbours(tenant)).values_list("internal_number", flat=True))


def plan_overlaps_elsewhere(tenant: Tenant, intervals: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The intervals of a number plan that overlap a neighbour's number plan."""
    if not intervals:
        return []
    theirs = list(NumberInterval.objects.filter(entity__tenant__in=neighbours(tenant)).values_list("start", "end"))
    return [interval for interval in intervals if any(intervals_overlap(interval, other) for other in theirs)]


def entity_name_taken_elsewhere(tenant: Tenant, name: str) -> bool:
    return Entity.objects.filter(tenant__in=neighbours(tenant), name__iexact=name).exists()


def templates_unusable_on(platform: Platform, templates: Iterable[Any]) -> set[int]:
    """The ids of `templates` whose name another template already holds on a platform that keeps
    templates by name (XCU): using them there would take over that other template."""
    templates = list(templates)
    if not templates or not capabilities_of(platform.kind).keeps_templates:
        return set()
    mirror_type = ContentType.objects.get_for_model(LineTemplateMirror)
    claimed = BackendClaim.objects.filter(platform=platform, kind="template", target_type=mirror_type)
    holders = dict(
        LineTemplateMirror.objects.filter(
            platform=platform, template__name__in={t.name for t in templates}, pk__in=claimed.values("target_id")
        ).values_list("template__name", "template_id")
    )
    return {t.pk for t in templates if holders.get(t.name, t.pk) != t.pk}
