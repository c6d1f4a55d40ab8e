"""SQLite's index for substring search: an FTS5 table with the trigram tokenizer over some columns
of a table, kept by triggers (an update touches it only when one of those columns changes), for
the search migrations (tenants.text_search.SearchedColumns.fts names the table). Used by migrations:
what it writes must stay as it is. Every statement is built from the migrations' constant table and
column names, never from a value."""

# ruff: noqa: S608

from __future__ import annotations

from typing import Any

from django.db import migrations


def create_fts(cursor: Any, table: str, fts: str, columns: tuple[str, ...]) -> None:
    """The FTS5 table `fts` over `columns` of `table` (rowid = the row's id), filled from the table."""
    names = ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    added = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    removed = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    cursor.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', content_rowid='id', tokenize='trigram')"
    )
    cursor.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {added} END")
    cursor.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {removed} END")
    # An update that writes one of the columns without changing it (the engine saves a job's last
    # error with its state) leaves the index alone.
    changed = " OR ".join(f"old.{column} IS NOT new.{column}" for column in columns)
    cursor.execute(
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {names} ON {table} WHEN {changed} BEGIN {removed} {added} END"
    )
    cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def drop_fts(cursor: Any, fts: str) -> None:
    for trigger in ("insert", "delete", "update"):
        cursor.execute(f"DROP TRIGGER IF EXISTS {fts}_{trigger}")
    cursor.execute(f"DROP TABLE IF EXISTS {fts}")


# The rows up to which each trailing FTS table holds its table (tenants.text_search catches them up).
WATERMARKS = "search_watermark"


def create_trailing_fts(cursor: Any, table: str, fts: str, columns: tuple[str, ...]) -> None:
    """The FTS5 table `fts` over `columns` of `table`, filled not as rows are written but afterwards,
    in chunks, up to a watermark of ids (tenants.text_search.SearchedColumns.catch_up): a bulk write
    pays nothing for it. Triggers keep the rows already indexed: a change of one of the columns, a
    row removed. Empty when made: the first catch-up fills it."""
    names = ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    added = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    removed = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    indexed = f"old.id <= (SELECT indexed_to FROM {WATERMARKS} WHERE fts = '{fts}')"
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {WATERMARKS} (fts TEXT PRIMARY KEY, indexed_to INTEGER NOT NULL)")
    cursor.execute(f"INSERT INTO {WATERMARKS} (fts, indexed_to) VALUES ('{fts}', 0)")
    cursor.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', content_rowid='id', tokenize='trigram')"
    )
    cursor.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} WHEN {indexed} BEGIN {removed} END")
    changed = " OR ".join(f"old.{column} IS NOT new.{column}" for column in columns)
    cursor.execute(
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {names} ON {table} WHEN ({changed}) AND {indexed} "
        f"BEGIN {removed} {added} END"
    )


def drop_trailing_fts(cursor: Any, fts: str) -> None:
    drop_fts(cursor, fts)
    cursor.execute(f"DELETE FROM {WATERMARKS} WHERE fts = '{fts}'")


def trailing_fts_operation(table: str, fts: str, columns: tuple[str, ...]) -> migrations.RunPython:
    """A migration's operation that makes (and, reversed, drops) a trailing FTS table on SQLite."""

    def create(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "sqlite":
            with schema_editor.connection.cursor() as cursor:
                create_trailing_fts(cursor, table, fts, columns)

    def drop(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "sqlite":
            with schema_editor.connection.cursor() as cursor:
                drop_trailing_fts(cursor, fts)

    return migrations.RunPython(create, drop)
