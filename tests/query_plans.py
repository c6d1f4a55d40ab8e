"""SQLite's query plan of a queryset, for tests that hold a list to the way it reads its rows."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet


def sqlite_plan(queryset: QuerySet) -> str:
    """EXPLAIN QUERY PLAN's steps, joined by " | " (SQLite only)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " | ".join(str(row[-1]) for row in cursor.fetchall())
