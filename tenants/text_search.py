"""Substring search over a list's own columns that an index serves on PostgreSQL, with the same
answers everywhere.

A search text is split into words; a row matches when every word is part of one of its searched
columns, in any case, as Django's admin search (`icontains`) means it. On PostgreSQL the columns are
joined by spaces into one upper-case text, and a trigram GIN index made by migration on exactly that
expression (`SearchedColumns.text`) answers which rows hold a word: a word has no space, so it never
matches across two columns. Elsewhere each column is compared row by row.

A word may also match through a related table (a number's tenant name): `any_of` then asks for the
rows of each way in turn, joined by UNION, since an OR of a text condition and an `IN (subquery)` is
checked row by row on every row of the table, where each part of a union keeps its own index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db import connections
from django.db.models import BooleanField, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.text import smart_split, unescape_string_literal

MAX_WORDS, MAX_WORD = 10, 100


TRIGRAM = 3  # a shorter word has no trigram: no index finds it


@dataclass(frozen=True)
class SearchedColumns:
    """The columns a list searches on its own table (`nullable`: those that may hold NULL; `fts`:
    the SQLite FTS5 trigram table over them, made by a migration with tenants.sqlite_fts)."""

    model: type[Model]
    columns: tuple[str, ...]
    nullable: tuple[str, ...] = ()
    fts: str = ""

    def text(self) -> str:
        """The expression the index is on: the columns joined by spaces, in upper case."""
        parts = [f"COALESCE(\"{column}\", '')" if column in self.nullable else f'"{column}"' for column in self.columns]
        return "UPPER(" + " || ' ' || ".join(parts) + ")"

    def holds(self, word: str, using: str) -> Q:
        """Rows with `word` in one of the columns."""
        if connections[using].vendor == "postgresql":
            # Asked of the table alone, in a subquery of its own: its columns need no table name
            # there, whatever the list joins or however Django names the table. Constant SQL (names
            # from the model, never from the request); the word is a parameter.
            holds = RawSQL(f"{self.text()} LIKE UPPER(%s)", [like_pattern(word)], output_field=BooleanField())  # noqa: S611
            rows = self.model._base_manager.db_manager(using).filter(holds).order_by().values("pk")
            return Q(pk__in=rows)
        compared = reduce(or_, (Q(**{f"{column}__icontains": word}) for column in self.columns))
        if connections[using].vendor == "sqlite" and self.fts and len(word) >= TRIGRAM:
            # The FTS table finds the few rows that may hold the word; they are then compared as
            # Django compares them (its trigrams fold the case of every script, SQLite's LIKE of
            # ASCII letters only). The word is a phrase, never FTS syntax, and a parameter.
            matching = f"SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH %s"  # noqa: S608 (a constant name)
            found = RawSQL(matching, [fts_phrase(word)])  # noqa: S611
            return Q(pk__in=found) & compared
        return compared


def fts_phrase(word: str) -> str:
    """An FTS5 query matching `word` as typed: a phrase, never FTS syntax."""
    return '"' + word.replace('"', '""') + '"'


def like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_words(text: str) -> list[str]:
    """The words of a search box (at most 10, each at most 100 characters; NUL bytes dropped)."""
    return [word[:MAX_WORD] for word in text.replace("\x00", "").split()[:MAX_WORDS]]


def admin_search_words(text: str) -> list[str]:
    """The terms of an admin list's search box as Django's admin reads them: words, or a phrase in
    quotes (at most 10, each at most 100 characters; NUL bytes dropped)."""
    terms = []
    for term in list(smart_split(text.replace("\x00", "")))[:MAX_WORDS]:
        if term.startswith(('"', "'")) and term[0] == term[-1]:
            term = unescape_string_literal(term)
        terms.append(term[:MAX_WORD])
    return terms


def any_of(queryset: QuerySet, conditions: Sequence[Q]) -> Q:
    """Rows of `queryset`'s model meeting one of `conditions`, each asked on its own (a UNION)."""
    if len(conditions) == 1:
        return conditions[0]
    manager = queryset.model._base_manager.db_manager(queryset.db)
    parts = [manager.filter(condition).order_by().values("pk") for condition in conditions]
    return Q(pk__in=parts[0].union(*parts[1:], all=True))
