"""What every importer shares: reading a cell, checking it with the model field's own validators,
the row's action, and the outcome (counts, preview, errors as "row N, column: message")."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.imports.columns import ColumnMap, match_header
from telephony.imports.reading import FileProblem
from telephony.models import ImportMode

PREVIEW_ROWS = 20
MAX_ERRORS = 50_000
PROGRESS_CHUNK = 2000  # rows between two progress reports of a commit

# The steps of a commit, in order, as the progress bar names them.
PROGRESS_STEPS = {
    "check": gettext_lazy("Checking every row again"),
    "rows": gettext_lazy("Saving the rows"),
    "history": gettext_lazy("Writing the change history"),
    "jobs": gettext_lazy("Planning the pushes to the PBX"),
}

CREATE, UPDATE, SKIP = "create", "update", "skip"
_ACTIONS = {
    "": "",
    "create": CREATE,
    "add": CREATE,
    "new": CREATE,
    "insert": CREATE,
    "update": UPDATE,
    "edit": UPDATE,
    "change": UPDATE,
    "modify": UPDATE,
    "upsert": "upsert",
    "createorupdate": "upsert",
    "skip": SKIP,
    "ignore": SKIP,
    "none": SKIP,
}
_TRUE = frozenset({"1", "y", "yes", "true", "t", "on", "x", "enabled", "enable", "active", "oui", "ja", "si"})
_FALSE = frozenset({"", "0", "n", "no", "false", "f", "off", "disabled", "disable", "inactive", "non", "nee", "nein"})
_FORMULA_START = ("=", "@")
_SIGNED_NUMBER = re.compile(r"^[+-][\d\s().]*$")
# A phone number cell: +31 20 123-4567, +31 (0)20 …, several separated by ; , or line breaks.
_NUMBER_CELL = re.compile(r"^\+[\d\s().+\-/;,\u00a0]*$")
NUMBER_COLUMNS = frozenset({"ddi", "mobile_number", "forward_always", "forward_busy", "forward_no_answer", "number"})
ESCAPE_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_UNKNOWN = object()
_SPACE = " \t\r\n\x0b\x0c\xa0"
_LOOK_CLOSER = frozenset("=@+-'" + _SPACE)  # a cell starting with one of these is checked closely


class RowInvalid(Exception):
    """A row is refused: `problems` lists (column, message) of each refused cell."""

    def __init__(self, column: str, message: str, *, more: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.column = column
        self.message = message
        self.problems = [(column, message), *(more or [])]

    @classmethod
    def of(cls, problems: list[tuple[str, str]]) -> RowInvalid:
        return cls(*problems[0], more=problems[1:])


@dataclass
class Outcome:
    """What an import would do (the preview) or did (after commit)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    error_values: list[str] = field(default_factory=list)  # the cell each error is about, as written
    error_total: int = 0
    file_errors: int = 0  # errors about the file as a whole (row 0: licences, server room): never skipped
    failed_rows: int = 0  # rows with at least one error
    preview: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passing(self) -> int:
        """Rows that would be written (created or updated)."""
        return self.created + self.updated

    def add_error(self, row: int, column: str, message: str, value: str = "") -> None:
        self.error_total += 1
        if not row:
            self.file_errors += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append((row, column, message))
            self.error_values.append(value)

    def add_preview(self, action: str, row: int, values: dict[str, Any]) -> None:
        if len(self.preview) < PREVIEW_ROWS:
            self.preview.append({"row": row, "action": action, **values})

    def count(self, action: str) -> None:
        if action == CREATE:
            self.created += 1
        elif action == UPDATE:
            self.updated += 1
        else:
            self.skipped += 1


def describe_error(row: int, column: str, message: str, value: str = "") -> str:
    """The one way an error is shown: "row 7, email 'ann@@x': Enter a valid email address." —
    where, the value as the file has it (never a secret's), and what is wrong or to do."""
    where = f"{column} {_shorten(value)!r}" if column and value else column
    if not row:
        return f"{where}: {message}" if where else message
    if where:
        return _("row %(row)s, %(where)s: %(message)s") % {"row": row, "where": where, "message": message}
    return _("row %(row)s: %(message)s") % {"row": row, "message": message}


def unescape(cell: str) -> str:
    """Undo the export's formula escaping ('=… → =…) and trim the cell."""
    cell = cell.strip()
    if len(cell) > 1 and cell[0] == "'" and cell[1] in ESCAPE_TRIGGERS:
        return cell[1:]
    return cell


def escape(value: Any) -> str:
    """A cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(ESCAPE_TRIGGERS) else text


class Cells:
    """The cells of one row, by column name, trimmed and unescaped; a formula is refused."""

    __slots__ = ("_cells", "_map")

    def __init__(self, cells: list[str], column_map: ColumnMap):
        self._cells = cells
        self._map = column_map.index

    def has(self, name: str) -> bool:
        return name in self._map

    def get(self, name: str) -> str:
        position = self._map.get(name)
        if position is None or position >= len(self._cells):
            return ""
        raw = self._cells[position]
        if raw and (raw[0] in _LOOK_CLOSER or raw[-1] in _SPACE):
            return self._careful(name, raw)
        return raw

    def secret(self, name: str) -> str:
        """A write-only value, trimmed and otherwise taken as written: it is never exported (so
        never read by a spreadsheet as a formula) and never repeated in a message."""
        position = self._map.get(name)
        if position is None or position >= len(self._cells):
            return ""
        return self._cells[position].strip()

    def _careful(self, name: str, raw: str) -> str:
        raw = raw.strip()
        if not raw:
            return raw
        if raw[0] in _FORMULA_START or (
            raw[0] in "+-"
            and not _SIGNED_NUMBER.match(raw)
            and not (name in NUMBER_COLUMNS and _NUMBER_CELL.match(raw))
        ):
            raise RowInvalid(
                name,
                _(
                    "%(value)s looks like a spreadsheet formula; formulas are not imported "
                    "(start it with ' to keep it as text)."
                )
                % {"value": repr(_shorten(raw))},
            )
        return unescape(raw)


def ragged(cells: list[str], width: int) -> str:
    """A message when a row has more cells than the header (extra empty cells are fine)."""
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        return _(
            "has %(cells)s cells but the header has %(width)s; is a cell with the delimiter missing its quotes?"
        ) % {"cells": len(cells), "width": width}
    return ""


def resolve_action(cells: Cells, mode: str, exists: bool, *, key: str = "") -> str:
    """create / update / skip for one row, from its `action` cell or else the import mode. `key`
    names what the row was matched by ("username 'ada'"), for the messages."""
    word = cells.get("action")
    if word:
        word = re.sub(r"[^a-z]", "", word.lower())
    if word not in _ACTIONS:
        raise RowInvalid("action", _("%(word)s is not an action; use create, update or skip.") % {"word": repr(word)})
    action = _ACTIONS[word] or {ImportMode.CREATE: CREATE, ImportMode.UPDATE: UPDATE}.get(mode, "upsert")
    if action == "upsert":
        return UPDATE if exists else CREATE
    if action == CREATE and exists:
        if key:
            raise RowInvalid(
                "", _("already exists (%(key)s); use update mode (or action update) to change it.") % {"key": key}
            )
        raise RowInvalid("", _("already exists; use update mode (or action update) to change it."))
    if action == UPDATE and not exists:
        if key:
            raise RowInvalid("", _("not found (%(key)s): there is nothing to update.") % {"key": key})
        raise RowInvalid("", _("not found: there is nothing to update."))
    return action


def parse_bool(column: str, value: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise RowInvalid(
        column,
        _("%(value)s is not yes or no: write yes or no (also 1/0, true/false, on/off).")
        % {"value": repr(_shorten(value))},
    )


class FieldCheck:
    """A model field's own rules (blank, max length, validators) applied to one cell, cheaply:
    the same validators `full_clean` runs, without building a model instance per cell."""

    def __init__(self, model: type[models.Model], name: str, *, column: str | None = None):
        self.field = model._meta.get_field(name)
        self.column = column or name
        self.validators: list[Callable[[Any], None]] = [_fast(v) for v in self.field.validators]
        self.integer = isinstance(self.field, models.IntegerField)
        self._known: dict[str, Any] = {}  # values seen before (templates, yes/no, timeouts repeat a lot)

    def __call__(self, value: str) -> Any:
        known = self._known.get(value, _UNKNOWN)
        if known is not _UNKNOWN:
            return known
        checked = self._check(value)
        if len(self._known) < 256:
            self._known[value] = checked
        return checked

    def _check(self, value: str) -> Any:
        if value == "":
            if self.integer:
                default = self.field.get_default()
                if default is None and not self.field.null:
                    raise RowInvalid(self.column, str(self.field.error_messages["blank"]))
                return default
            if not self.field.blank:  # the model's own words, as a single write says them
                raise RowInvalid(self.column, str(self.field.error_messages["blank"]))
            return value
        if self.integer:
            if not re.fullmatch(r"[+-]?\d{1,9}", value):
                raise RowInvalid(
                    self.column,
                    _("%(value)s is not a whole number; write digits only.") % {"value": repr(_shorten(value))},
                )
            value = int(value)
        for validator in self.validators:
            try:
                validator(value)
            except ValidationError as error:
                raise RowInvalid(self.column, " ".join(error.messages)) from None
        return value


class Importer:
    """The loop every import shares: match the header, load what rows refer to (`prepare`), check
    each row (`check`), then the whole file (`finish`), and with `commit` write it (`write`) unless
    one row failed. Subclasses set `columns` and implement the four steps."""

    columns: tuple = ()
    kind = ""  # the vocabularies of other tools that apply (see vocabularies.py)
    progress_every = 2000

    def run(
        self,
        csv_file: Any,
        *,
        commit: bool = False,
        batch: Any = None,
        dispatch: bool = True,
        progress: Callable[..., None] | None = None,
        skip_invalid: bool = False,
        refused: list | None = None,
        expected_rows: int = 0,
    ) -> Outcome:
        """Check every row; with `commit`, write the rows that pass when none failed — or, with
        `skip_invalid`, the rows that pass whatever the others did (an error about the file as a
        whole still stops everything). `refused` collects (row number, cells, problems) of each
        refused row; `progress(done, total, step=…)` hears how far the check and the writing are."""
        self.column_map = match_header(csv_file.header, self.columns, kind=self.kind)
        self._progress = progress if commit else None
        outcome = Outcome()
        self.prepare(csv_file, commit=commit)
        total = (expected_rows or sum(1 for _ in csv_file.rows())) if progress else 0
        self._progress_total = total
        kept: list[Any] = []
        width = len(csv_file.header)
        every = PROGRESS_CHUNK if commit else self.progress_every
        if progress and commit:
            progress(0, total, step="check")
        for number, cells in csv_file.rows():
            outcome.rows += 1
            if progress and outcome.rows % every == 0:
                progress(outcome.rows, total, step="check")
            try:
                if problem := ragged(cells, width):
                    raise RowInvalid("", problem)
                row = self.check(number, Cells(cells, self.column_map))
            except RowInvalid as refusal:
                outcome.failed_rows += 1
                for column, message in refusal.problems:
                    outcome.add_error(number, column, message, self._shown_value(cells, column))
                if refused is not None and len(refused) < MAX_ERRORS:  # the skipped-rows file holds as many
                    refused.append((number, cells, refusal.problems))
                continue
            outcome.count(row.action)
            if len(outcome.preview) < PREVIEW_ROWS:
                outcome.add_preview(row.action, number, self.shown(row))
            if commit and row.action != SKIP:
                kept.append(row)
        if not outcome.rows:
            raise FileProblem(_("The file has a header row but no data rows."))
        self.finish(outcome)
        may_write = not outcome.error_total or (skip_invalid and not outcome.file_errors)
        if commit and may_write and kept:
            self.write(kept, batch=batch, dispatch=dispatch)
        return outcome

    def _shown_value(self, cells: list[str], column: str) -> str:
        """The cell an error is about, as written, for the message; never a secret's."""
        position = self.column_map.index.get(column)
        if position is None or position >= len(cells) or column in self.secret_columns:
            return ""
        return cells[position].strip()

    @property
    def secret_columns(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns if c.write_only or (not c.exported and c.in_template))

    def counted(self, rows: Iterable[Any], step: str, *, start: int = 0) -> Iterator[Any]:
        """`rows` as they are, telling the commit's progress every PROGRESS_CHUNK of them (a
        generator layer and a counter: nothing a 100,000-row write would notice)."""
        progress = getattr(self, "_progress", None)
        if progress is None:
            yield from rows
            return
        total = self._progress_total
        done = start
        progress(done, total, step=step)
        for done, row in enumerate(rows, start + 1):
            yield row
            if done % PROGRESS_CHUNK == 0:
                progress(done, total, step=step)
        progress(done, total, step=step)

    def prepare(self, csv_file: Any, *, commit: bool) -> None:
        raise NotImplementedError

    def check(self, number: int, cells: Cells) -> Any:
        raise NotImplementedError

    def shown(self, row: Any) -> dict[str, Any]:
        raise NotImplementedError

    def finish(self, outcome: Outcome) -> None:
        """File-wide rules (licences, capacity); add errors with row 0."""

    def write(self, rows: list[Any], *, batch: Any, dispatch: bool) -> None:
        raise NotImplementedError

    def referenced(self, csv_file: Any, *names: str) -> dict[str, set[str]]:
        """The values of some columns over the whole file (a cheap first pass, so that what they
        name is loaded at once)."""
        found: dict[str, set[str]] = {name: set() for name in names}
        positions = {name: self.column_map.index[name] for name in names if name in self.column_map.index}
        if positions:
            for _number, cells in csv_file.rows():
                for name, position in positions.items():
                    if position < len(cells) and cells[position].strip():
                        found[name].add(unescape(cells[position]))
        return found


def _fast(validator: Callable[[Any], None]) -> Callable[[Any], None]:
    """The same validator with a quick path for values that pass: Django's regular expressions are
    compiled lazily behind a proxy that costs more than the match. A value that fails is handed
    to the original validator, so the message is exactly Django's."""
    if type(validator) is RegexValidator:
        pattern = re.compile(validator.regex.pattern, validator.regex.flags)
        inverse = validator.inverse_match

        def check(value: Any) -> None:
            if (pattern.search(str(value)) is None) == inverse:
                return
            validator(value)

        return check
    if type(validator) is MaxLengthValidator and isinstance(validator.limit_value, int):
        limit = validator.limit_value

        def check_length(value: Any) -> None:
            if len(value) > limit:
                validator(value)

        return check_length
    return validator


def first_error(error: ValidationError) -> tuple[str, str]:
    """(field, message) of a model's ValidationError."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            return ("" if name == "__all__" else name), " ".join(messages)
    return "", " ".join(error.messages)


def _shorten(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
