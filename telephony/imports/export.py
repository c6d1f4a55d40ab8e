"""Export in the import format: what an export writes, an import in update mode reads back as
"nothing to change". Cells that a spreadsheet would run as a formula are escaped with a leading '.
Secrets are never exported: voicemail PINs have no column, the CTI secrets an empty one."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Prefetch, QuerySet

from telephony.imports.base import escape
from telephony.imports.columns import NUMBER_COLUMNS, ORGANIZATION_COLUMNS, USER_COLUMNS, Column
from telephony.imports.user_context import UserContext
from telephony.models import CtiUserCredentials, PbxUser, PhoneNumber, Tenant
from telephony.validators import interval_numbers
from tenants import access
from tenants.access import CHANGE, VIEW
from tenants.models import Organization, OrganizationKind

CHUNK = 2000


class _Line:
    """A file-like object that hands back what csv.writer writes (for streaming responses)."""

    def write(self, value: str) -> str:
        return value


def exported_columns(columns: tuple[Column, ...]) -> list[str]:
    return [c.name for c in columns if c.exported and c.name != "action"]


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text, line by line, every cell escaped."""
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([escape(cell) for cell in row])


def template_lines(columns: tuple[Column, ...], example: dict[str, str] | None = None) -> Iterator[str]:
    """The downloadable template: the native header and one example row (the columns' generic
    examples, or `example`'s values where it has them)."""
    names = [c.name for c in columns if c.name != "action" and c.in_template]
    examples = {c.name: c.example for c in columns} | (example or {})
    return csv_lines(names, [[examples[name] for name in names]])


def user_template_lines(*, actor: Any, tenant: Tenant | None) -> Iterator[str]:
    """The users template; for a known tenant its example row imports into that tenant as it is."""
    example = user_example(actor=actor, tenant=tenant) if tenant is not None else None
    return template_lines(USER_COLUMNS, example)


def user_example(*, actor: Any, tenant: Tenant) -> dict[str, str] | None:
    """An example row that passes the import's own checks for this actor: an entity of the tenant
    they may add users to with its next free internal number, the nearest line template they may
    use there, a free external number of the tenant they manage, a username nobody has. None when
    the tenant has no such entity (the generic example stays)."""
    context = UserContext(actor=actor, default_tenant=tenant, tenant_names=set(), numbers=set(), lock=False)
    state = context.states.get(tenant.pk)
    if state is None:
        return None
    free = (
        (entity, _first_free(entity, state.users_by_number))
        for entity in state.entities.values()
        if context.may_use_entity(state, entity)
    )
    entity, number = next(((e, n) for e, n in free if n), (None, ""))
    if entity is None:
        return None
    username, suffix = "ada.lovelace", 1
    while username in state.users_by_username:
        suffix += 1
        username = f"ada.lovelace{suffix}"
    template = next(iter(state.templates.values()), None)
    ddi = (
        access.restrict(PhoneNumber.objects.all(), actor, CHANGE)
        .filter(tenant=tenant, assigned_user__isnull=True)
        .order_by("number")
        .values_list("number", flat=True)
        .first()
    )
    return {
        "tenant": tenant.name,
        "entity": entity.name,
        "internal_number": number,
        "username": username,
        "email": f"{username}@example.net",
        "template": template.name if template else "",
        "ddi": ddi or "",
        # a platform without voicemail per user takes it from the template
        "voicemail_enabled": "yes" if state.line.keeps("voicemail_enabled") else "no",
    }


def _first_free(entity: Any, taken: dict[str, Any]) -> str:
    """The lowest internal number of the entity's plan that no user of the tenant holds."""
    for interval in entity.intervals.all():
        width = len(interval.start)
        for candidate in interval_numbers(interval.start, interval.end) or ():
            number = str(candidate).zfill(width)
            if number not in taken:
                return number
    return ""


def _yes(value: bool) -> str:
    return "yes" if value else "no"


# --- users -------------------------------------------------------------------------------------------


def export_users(queryset: QuerySet[PbxUser], actor: Any) -> Iterator[str]:
    names = exported_columns(USER_COLUMNS)
    write_only = {c.name: "" for c in USER_COLUMNS if c.write_only}
    users = (
        access.restrict(queryset.prefetch_related(None), actor, VIEW)
        .select_related("tenant", "entity", "template", "cti_credentials")
        .prefetch_related(Prefetch("phone_numbers", queryset=PhoneNumber.objects.order_by("number")))
        .order_by("tenant__name", "internal_number")
    )

    def rows() -> Iterator[list[Any]]:
        for user in users.iterator(chunk_size=CHUNK):
            values = {
                "tenant": user.tenant.name,
                "entity": user.entity.name,
                "ddi": "; ".join(n.number for n in user.phone_numbers.all()),
                "template": user.template.name,
                "voicemail_enabled": _yes(user.voicemail_enabled),
                "voicemail_to_email": _yes(user.voicemail_to_email),
                "cti_client_id": _cti_client_id(user),
                **write_only,
            }
            yield [values[name] if name in values else getattr(user, name) for name in names]

    return csv_lines(names, rows())


def _cti_client_id(user: PbxUser) -> str:
    try:
        return user.cti_credentials.client_id
    except CtiUserCredentials.DoesNotExist:
        return ""


# --- numbers -----------------------------------------------------------------------------------------


def export_numbers(queryset: QuerySet[PhoneNumber], actor: Any) -> Iterator[str]:
    names = exported_columns(NUMBER_COLUMNS)
    numbers = access.restrict(queryset, actor, VIEW).select_related("tenant", "assigned_user").order_by("number")

    def rows() -> Iterator[list[Any]]:
        for number in numbers.iterator(chunk_size=CHUNK):
            yield [
                number.number,
                number.tenant.name if number.tenant else "",
                number.assigned_user.username if number.assigned_user else "",
                _yes(number.is_pilot),
                number.label,
            ]

    return csv_lines(names, rows())


# --- organizations -----------------------------------------------------------------------------------


def export_organizations(queryset: QuerySet[Organization], actor: Any) -> Iterator[str]:
    """Every customer in scope with its tenants (one line per tenant; one line for a customer
    without tenants), and the reseller it sits below."""
    names = exported_columns(ORGANIZATION_COLUMNS)
    customers = access.restrict(queryset, actor, VIEW).filter(kind=OrganizationKind.CUSTOMER).order_by("path")
    tenants = Tenant.objects.select_related("server").order_by("name")

    def rows() -> Iterator[list[Any]]:
        parents: dict[str, str] = {}
        for customer in customers.prefetch_related(Prefetch("tenants", queryset=tenants)).iterator(chunk_size=CHUNK):
            parent_path = customer.path[: -Organization.steplen]
            if parent_path not in parents:
                parents[parent_path] = (
                    Organization.objects.filter(path=parent_path).values_list("name", flat=True).first() or ""
                )
            reseller = parents[parent_path]
            listed = list(customer.tenants.all())
            if not listed:
                yield [reseller, customer.name, "", "", "", ""]
            for tenant in listed:
                yield [reseller, customer.name, tenant.name, tenant.server.name, tenant.label, tenant.licences]

    return csv_lines(names, rows())
