"""Substring search over PBX users that an index serves, on PostgreSQL and on SQLite alike.

A search text is split into words; a user matches when every word is part of one of its searched
columns, in any case (as Django's `icontains` and DRF's SearchFilter mean it). The indexes are made
by migration 0028: on PostgreSQL a trigram GIN index per column serves `icontains` as it is; on
SQLite an FTS5 trigram table answers which rows hold the word. A word shorter than three characters
has no trigram: it is compared row by row (still correct, only not indexed).
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db import connections
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

USER_COLUMNS = ("username", "first_name", "last_name", "email", "internal_number")
TRIGRAM = 3
# The rows of the FTS5 table (migration 0028) that hold a phrase; the phrase is a parameter.
MATCHING = "SELECT rowid FROM telephony_pbxuser_search WHERE telephony_pbxuser_search MATCH %s"


def _word_condition(word: str, using: str) -> Q:
    plain = reduce(or_, (Q(**{f"{column}__icontains": word}) for column in USER_COLUMNS))
    if len(word) < TRIGRAM or connections[using].vendor != "sqlite":
        return plain
    phrase = '"' + word.replace('"', '""') + '"'  # a phrase: the word as typed, never FTS syntax
    return Q(pk__in=RawSQL(MATCHING, [phrase]))  # noqa: S611  (a constant statement, the word a parameter)


def search_users(queryset: QuerySet, text: str) -> QuerySet:
    """The users of `queryset` whose searched columns hold every word of `text`."""
    for word in text.split()[:10]:
        queryset = queryset.filter(_word_condition(word[:100], queryset.db))
    return queryset
