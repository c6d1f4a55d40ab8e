"""`<relation>__scanned_in`: a relation's `__in`, checked on each row the query reads and never
used to choose an index (SQLite's unary plus, its documented way). `access.reaching` writes a
scope this way where SQLite, which keeps no statistics, would otherwise gather a wide scope's rows
through the relation's index and sort them all, or seek each of a scope's organizations in a
count's index. Other databases read the column as is and weigh the ways themselves."""

from __future__ import annotations

from typing import Any

from django.db.models import ForeignObject
from django.db.models.fields.related_lookups import RelatedIn


@ForeignObject.register_lookup
class ScannedIn(RelatedIn):
    """A relation's IN, never an index's way in on SQLite."""

    lookup_name = "scanned_in"

    def process_lhs(self, compiler: Any, connection: Any, lhs: Any = None) -> tuple[str, Any]:
        sql, params = super().process_lhs(compiler, connection, lhs)
        return (f"+{sql}" if connection.vendor == "sqlite" else sql), params
