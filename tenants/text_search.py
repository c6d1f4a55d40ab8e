"""Substring search over a list's own columns that an index serves on PostgreSQL and, where a
migration made an FTS table, on SQLite, with the same answers everywhere.

A search text is split into words; a row matches when every word is part of one of its searched
columns, in any case, as Django's admin search (`icontains`) means it. On PostgreSQL the columns are
joined by spaces into one upper-case text, and a trigram GIN index made by migration on exactly that
expression (`SearchedColumns.text`) answers which rows hold a word: a word has no space, so it never
matches across two columns. Without an index each column is compared row by row.

On SQLite an FTS5 trigram table made by migration (tenants.sqlite_fts) finds the few rows that may
hold a word. Most are kept by triggers as rows are written. A trailing one (the jobs', the audit
log's: a bulk import writes one of each per user) is filled afterwards, in chunks, up to a watermark
of ids (`SearchedColumns.catch_up`, every minute from the worker): a search asks it for the rows up
to the watermark and compares the few written since row by row. SQLite never gives an id twice
(Django's AUTOINCREMENT keys), so every row past the watermark is one the table does not hold yet.

A word may also match through a related table (a number's tenant name): `any_of` then asks for the
rows of each way in turn, joined by UNION, since an OR of a text condition and an `IN (subquery)` is
checked row by row on every row of the table, where each part of a union keeps its own index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import BooleanField, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.text import smart_split, unescape_string_literal

from tenants.sqlite_fts import WATERMARKS

MAX_WORDS, MAX_WORD = 10, 100


TRIGRAM = 3  # a shorter word has no trigram: no index finds it
CATCH_UP_CHUNK = 20_000  # rows indexed in one transaction (about a second of SQLite's write lock)


@dataclass(frozen=True)
class SearchedColumns:
    """The columns a list searches on its own table (`nullable`: those that may hold NULL; `fts`:
    the SQLite FTS5 trigram table over them, made by a migration with tenants.sqlite_fts; `trailing`:
    that table is filled by `catch_up`, not as rows are written)."""

    model: type[Model]
    columns: tuple[str, ...]
    nullable: tuple[str, ...] = ()
    fts: str = ""
    trailing: bool = False

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
            # ASCII letters only). The word is a phrase, never FTS syntax, and a parameter; the names
            # are constants (the model's table, the migration's FTS table).
            matching, params = f"SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH %s", [fts_phrase(word)]  # noqa: S608
            if self.trailing:
                # ...and the rows written since the last catch-up, in the same list: an OR of two
                # conditions would have SQLite walk the whole table in the list's order instead.
                watermark = f"SELECT COALESCE(MAX(indexed_to), 0) FROM {WATERMARKS} WHERE fts = %s"  # noqa: S608
                matching += f" UNION ALL SELECT id FROM {self.model._meta.db_table} WHERE id > ({watermark})"  # noqa: S608
                params.append(self.fts)
            return Q(pk__in=RawSQL(matching, params)) & compared  # noqa: S611
        return compared

    def catch_up(self, using: str = DEFAULT_DB_ALIAS, *, chunk: int = CATCH_UP_CHUNK) -> int:
        """Index the rows written since the last catch-up in a trailing FTS table (SQLite; elsewhere
        nothing to do), `chunk` rows a transaction, so that a writer waits at most one chunk. Returns
        how many rows it indexed."""
        connection = connections[using]
        if connection.vendor != "sqlite" or not self.trailing:
            return 0
        table, names = self.model._meta.db_table, ", ".join(self.columns)
        # Constant names from the model and the migration, never from a request; ids are parameters.
        watermark = f"SELECT indexed_to FROM {WATERMARKS} WHERE fts = %s"  # noqa: S608
        chunk_end = f"SELECT MAX(id) FROM (SELECT id FROM {table} WHERE id > %s ORDER BY id LIMIT %s)"  # noqa: S608
        fill = f"INSERT INTO {self.fts}(rowid, {names}) SELECT id, {names} FROM {table} WHERE id > %s AND id <= %s"  # noqa: S608
        moved = f"UPDATE {WATERMARKS} SET indexed_to = %s WHERE fts = %s"  # noqa: S608
        indexed = 0
        while True:
            # The settings begin every transaction on SQLite IMMEDIATE: the watermark read is the
            # one this transaction moves, and no row can be written in between.
            with transaction.atomic(using=using), connection.cursor() as cursor:
                cursor.execute(watermark, [self.fts])
                row = cursor.fetchone()
                if row is None:  # the migration has not made the table
                    return indexed
                cursor.execute(chunk_end, [row[0], chunk])
                end = cursor.fetchone()[0]
                if end is None:
                    return indexed
                cursor.execute(fill, [row[0], end])
                indexed += cursor.rowcount
                cursor.execute(moved, [end, self.fts])


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
