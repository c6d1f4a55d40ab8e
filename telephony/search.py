"""Substring search over PBX users that an index serves, on PostgreSQL and on SQLite alike.

A search text is split into words; a user matches when every word is part of one of its searched
columns, in any case (as Django's `icontains` and DRF's SearchFilter mean it). The indexes are made
by migration 0028: on PostgreSQL a trigram GIN index on the columns joined by spaces (a word has no
space, so it never matches across two columns), compared with LIKE; on SQLite an FTS5 trigram table
that answers which rows hold the word. A word shorter than three characters has no trigram: it is
compared row by row (still correct, only not indexed).
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db import connections
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

USER_COLUMNS = ("username", "first_name", "last_name", "email", "internal_number")
TRIGRAM = 3
# The rows of the FTS5 table (migration 0028) that hold a phrase; the phrase is a parameter.
MATCHING = "SELECT rowid FROM telephony_pbxuser_search WHERE telephony_pbxuser_search MATCH %s"


# The expression the PostgreSQL index is on (migration 0028): the searched columns joined by
# spaces, in upper case. Named with their table here, as a query may join another table with a
# column of the same name (a login's username); the planner matches it to the index all the same.
USER_TEXT = " || ' ' || ".join(f'"telephony_pbxuser"."{column}"' for column in USER_COLUMNS)
TEXT_HOLDS = f"UPPER({USER_TEXT}) LIKE UPPER(%s)"


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _word_condition(word: str, using: str) -> Q | RawSQL:
    vendor = connections[using].vendor
    if vendor == "postgresql":
        return RawSQL(TEXT_HOLDS, [_like_pattern(word)], output_field=BooleanField())  # noqa: S611  (constant SQL)
    if len(word) < TRIGRAM or vendor != "sqlite":
        return reduce(or_, (Q(**{f"{column}__icontains": word}) for column in USER_COLUMNS))
    phrase = '"' + word.replace('"', '""') + '"'  # a phrase: the word as typed, never FTS syntax
    return Q(pk__in=RawSQL(MATCHING, [phrase]))  # noqa: S611  (a constant statement, the word a parameter)


def search_users(queryset: QuerySet, text: str, *, tenant_names: bool = False) -> QuerySet:
    """The users of `queryset` whose searched columns hold every word of `text`; with
    `tenant_names`, a word may also be part of the user's tenant's name (the admin's search), found
    through the tenants whose name holds it, so that the users' index still serves the rest."""
    for word in text.split()[:10]:
        condition = _word_condition(word[:100], queryset.db)
        if tenant_names:
            named = queryset.model._meta.get_field("tenant").related_model.objects.filter(name__icontains=word[:100])
            condition = Q(condition) | Q(tenant_id__in=named.values("pk"))
        queryset = queryset.filter(condition)
    return queryset
