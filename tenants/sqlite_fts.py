"""SQLite's index for substring search: an FTS5 table with the trigram tokenizer over some columns
of a table, kept by triggers (an update touches it only when one of those columns changes), for
the search migrations (tenants.text_search.SearchedColumns.fts names the table). Used by migrations:
what it writes must stay as it is. Every statement is built from the migrations' constant table and
column names, never from a value."""

# ruff: noqa: S608

from __future__ import annotations

from typing import Any


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
