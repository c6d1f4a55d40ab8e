"""Audit entries for imports, written in bulk.

An import writes its rows with bulk statements, so django-auditlog's signals never see them; this
writes the same entries they would (one per object, before → after, secrets masked, scope
(organization ids), "via import #N", the login who confirmed it) in bulk too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from auditlog.cid import get_cid
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from telephony.provisioning.bulk import db_value, insert_rows
from tenants.audit import MASK

CREATE, UPDATE = LogEntry.Action.CREATE, LogEntry.Action.UPDATE
SECRET_FIELDS = frozenset({"voicemail_pin", "secret", "app_key"})
COLUMNS = [
    "content_type",
    "object_pk",
    "object_id",
    "object_repr",
    "action",
    "changes_text",
    "changes",
    "actor",
    "cid",
    "timestamp",
    "additional_data",
]


@dataclass
class AuditRow:
    """One object an import created or changed."""

    model: type[models.Model]
    object_id: int
    label: str
    action: int
    changes: dict[str, list[str]]
    organization: int
    organization2: int | None = None
    entity: int | None = None


@dataclass
class AuditWriter:
    """Writes the audit entries of one import, attributed to `origin` and to `actor`."""

    origin: str
    actor: Any = None
    _types: dict[type, int] = field(default_factory=dict)

    def write(self, rows: Iterable[AuditRow], models_written: Iterable[type[models.Model]]) -> None:
        # Everything the rows need is looked up now: nothing may query while they are streamed.
        for model in models_written:
            self._types[model] = ContentType.objects.get_for_model(model).pk
        stamp = db_value(LogEntry, "timestamp", timezone.now())
        actor_id = getattr(self.actor, "pk", None)
        cid = get_cid()
        insert_rows(LogEntry, COLUMNS, self._values(rows, stamp, actor_id, cid))

    def _values(self, rows: Iterable[AuditRow], stamp: Any, actor_id: int | None, cid: str | None) -> Iterator[tuple]:
        scopes: dict[tuple, Any] = {}  # rows of one tenant and entity share their scope: encoded once
        for row in rows:
            scope_key = (row.organization, row.organization2, row.entity)
            scope = scopes.get(scope_key)
            if scope is None:
                data: dict[str, Any] = {"org": row.organization, "via": self.origin}
                if row.organization2:
                    data["org2"] = row.organization2
                if row.entity is not None:
                    data["entity"] = row.entity
                scope = scopes[scope_key] = db_value(LogEntry, "additional_data", data)
            yield (
                self._types[row.model],
                str(row.object_id),
                row.object_id,
                row.label,
                row.action,
                "",
                db_value(LogEntry, "changes", row.changes),
                actor_id,
                cid,
                stamp,
                scope,
            )


def origin_of(batch: Any) -> str:
    """ "import #12" from the batch label "CSV import #12: users.csv"."""
    label = batch.label.split(":")[0]
    return label.removeprefix("CSV ").strip() or "import"


def shown(name: str, value: Any) -> str:
    """A value as an audit entry shows it (secrets masked, as for single changes)."""
    if name in SECRET_FIELDS:
        return MASK if value else ""
    return "None" if value is None else str(value)


def changes(names: Iterable[str], before: Iterable[Any] | None, after: Iterable[Any]) -> dict[str, list[str]]:
    """{field: [before, after]} for the fields that differ (every set field of a new object)."""
    result = {}
    previous = list(before) if before is not None else None
    for index, (name, value) in enumerate(zip(names, after, strict=False)):
        old = previous[index] if previous is not None else None
        if previous is None and value in (None, "", False):
            continue
        if previous is not None and old == value:
            continue
        result[name] = [shown(name, old), shown(name, value)]
    return result
