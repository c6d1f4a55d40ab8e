"""Audit history (django-auditlog): who changed what, when, from where, before → after.

Every audited model mixes in `Audited`, so each log entry carries the id of the organization(s)
owning the object — that is how the history list is scoped like everything else — and, when the
change came from a bulk import or a provisioning job rather than a person, which one. The
request's address and a request id (the correlation id) come from the middleware. Secrets are
never written: they are masked to "****".
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce
from operator import or_
from typing import Any

from auditlog.models import LogEntry
from django.db import NotSupportedError
from django.db.models import BigIntegerField, F, Func, Q, QuerySet
from django.utils.translation import gettext as _

from tenants import access
from tenants.access import VIEW
from tenants.audit_display import CUSTOMER, MASK, shown_entries
from tenants.audit_mixin import Audited, acting_as, current_origin
from tenants.text_search import SearchedColumns

# What the audit list searches on the entries' own table: a trigram index on PostgreSQL (migration
# 0005), a trailing FTS table on SQLite (0008: a bulk import's audit rows pay nothing for it).
ENTRY_TEXT = SearchedColumns(
    LogEntry, ("object_repr", "cid"), nullable=("cid",), fts="auditlog_logentry_search", trailing=True
)


def mask_secret(value: str) -> str:
    """Secrets never reach the log: a change shows only that a value was set or cleared."""
    return MASK if value not in ("", "None") else ""


def entry_data(obj: Any) -> dict[str, Any]:
    """The additional data an entry about `obj` carries (for entries written in bulk)."""
    return Audited.get_additional_data(obj)


__all__ = [
    "MASK",
    "Audited",
    "acting_as",
    "current_origin",
    "describe_for_customers",
    "entry_data",
    "mask_secret",
    "restrict_entries",
]


FEW = 100  # organizations a login sees, up to which its history is read through the scope indexes


class ScopeKey(Func):
    """The organization id an entry's additional data names under `key`, as an integer.

    Read once per row, with the database's own JSON access: Django's key transform reads a key on
    SQLite three times (its type, then its value), the larger part of a reseller's audit list.
    Entries hold these keys as integers or not at all (`Audited.get_additional_data`)."""

    output_field = BigIntegerField()
    # The key is part of the SQL, not a parameter: an index on the expression (migration tenants
    # 0007) serves only the same text, and SQLite never matches a parameter to it.

    def __init__(self, key: str, *, by_owner: bool = True):
        """`by_owner=False`: on SQLite, not through the (organization, time) indexes but along the
        (time, scope) index, for a login whose entries are many (see restrict_entries)."""
        if not key.isidentifier():
            raise ValueError(f"not a key of the audit scope: {key!r}")
        super().__init__(F("additional_data"))
        self.key, self.by_owner = key, by_owner

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        raise NotSupportedError(f"the audit scope is read on SQLite and PostgreSQL, not {connection.vendor}")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        data, params = compiler.compile(self.source_expressions[0])
        return f"(({data} ->> '{self.key}'))::bigint", params

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        data, params = compiler.compile(self.source_expressions[0])
        # SQLite's unary plus keeps a term from choosing an index by it (its documented way), and
        # still reads the value from the (time, scope) index that holds it (migration 0009).
        plus = "" if self.by_owner else "+"
        return f"{plus}CAST(JSON_EXTRACT({data}, '$.{self.key}') AS INTEGER)", params


def restrict_entries(queryset: QuerySet, user: Any) -> QuerySet:
    """The log entries about objects the login may see.

    A login that sees at most FEW organizations has them named in the query, which then reads its
    entries through the (organization, time) indexes: the database knows from their statistics that
    they are few, where a subquery's would be guessed. A wider one keeps the subquery: its entries
    are many, and are read newest first. On SQLite, along an index on (time, id, scope keys), which
    holds all a page's keys need: the (organization, time) indexes would have SQLite gather every
    entry of a reseller's thousand customers, read each row and sort them (43 against 8 ms for
    page 500 of 100,000 entries). PostgreSQL weighs the two ways itself."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    visible = access.visible_organizations(user).order_by().values_list("pk", flat=True)
    few = list(visible[: FEW + 1])
    by_owner = len(few) <= FEW
    organizations = few if by_owner else visible
    queryset = queryset.alias(
        _audit_org=ScopeKey("org", by_owner=by_owner), _audit_org2=ScopeKey("org2", by_owner=by_owner)
    )
    conditions = [Q(_audit_org__in=organizations), Q(_audit_org2__in=organizations)]
    granted = list(user.administered_entities.values_list("pk", flat=True)) if access.has_entity_grants(user) else []
    if granted:
        queryset = queryset.alias(_audit_entity=ScopeKey("entity", by_owner=by_owner))
        conditions.append(Q(_audit_entity__in=granted))
    return queryset.filter(reduce(or_, conditions))


def entries_for(obj: Any, user: Any, *, limit: int | None = 25) -> QuerySet:
    """The latest log entries of one object (all of them with limit=None), if the login may see the object."""
    if not access.can(user, VIEW, obj):
        return LogEntry.objects.none()
    # only what the login could see when it happened: a number now in its tenant may have belonged
    # to another customer before
    return restrict_entries(entries_of(obj, limit=None), user)[:limit]


def entries_of(obj: Any, *, limit: int | None = 25) -> QuerySet:
    """The latest log entries of one object; the caller has already checked that it may be seen
    (an end user's own line, reached through its login)."""
    from django.contrib.contenttypes.models import ContentType

    return (
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(type(obj)), object_pk=str(obj.pk))
        .select_related("actor")
        .order_by("-timestamp")[:limit]
    )


def describe_for_customers(entries: Iterable[Any], *, viewer: Any) -> list[dict[str, Any]]:
    """Entries in plain terms for a self-service page: when, who (a person, an import, a job), and
    what changed in the fields that mean something to a customer (and that `viewer` may see)."""
    return [
        {
            "when": shown.entry.timestamp,
            "who": _who(shown.entry),
            "action": shown.entry.get_action_display(),
            "changes": shown.changes,
        }
        for shown in shown_entries(entries, audience=CUSTOMER, viewer=viewer)
    ]


def _who(entry: Any) -> str:
    return (entry.additional_data or {}).get("via") or (entry.actor.get_username() if entry.actor else _("system"))
