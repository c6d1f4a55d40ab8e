"""What every importer shares: reading a cell, checking it with the model field's own validators,
the row's action, and the outcome (counts, preview, errors as "row N, column: message")."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models

from telephony.imports.columns import ColumnMap, match_header
from telephony.imports.reading import FileProblem
from telephony.models import ImportMode

PREVIEW_ROWS = 20
MAX_ERRORS = 50_000

CREATE, UPDATE, SKIP = "create", "update", "skip"
_ACTIONS = {
    "": "",
    "create": CREATE,
    "add": CREATE,
    "new": CREATE,
    "insert": CREATE,
    "update": UPDATE,
    "change": UPDATE,
    "modify": UPDATE,
    "upsert": "upsert",
    "createorupdate": "upsert",
    "skip": SKIP,
    "ignore": SKIP,
    "none": SKIP,
}
_TRUE = frozenset({"1", "y", "yes", "true", "t", "on", "x", "enabled", "oui", "ja", "si"})
_FALSE = frozenset({"", "0", "n", "no", "false", "f", "off", "disabled", "non", "nee", "nein"})
_FORMULA_START = ("=", "@")
_SIGNED_NUMBER = re.compile(r"^[+-][\d\s().]*$")
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
    error_total: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)

    def add_error(self, row: int, column: str, message: str) -> None:
        self.error_total += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append((row, column, message))

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


def describe_error(row: int, column: str, message: str) -> str:
    """The one way an error is shown: "row 7, email: Enter a valid email address."."""
    if not row:
        return f"{column}: {message}" if column else message
    return f"row {row}, {column}: {message}" if column else f"row {row}: {message}"


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
        if raw[0] in _FORMULA_START or (raw[0] in "+-" and not _SIGNED_NUMBER.match(raw)):
            raise RowInvalid(
                name,
                f"{_shorten(raw)!r} looks like a spreadsheet formula; formulas are not imported "
                "(start it with ' to keep it as text).",
            )
        return unescape(raw)


def ragged(cells: list[str], width: int) -> str:
    """A message when a row has more cells than the header (extra empty cells are fine)."""
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        return f"has {len(cells)} cells but the header has {width}; is a cell with the delimiter missing its quotes?"
    return ""


def resolve_action(cells: Cells, mode: str, exists: bool, *, key: str = "") -> str:
    """create / update / skip for one row, from its `action` cell or else the import mode. `key`
    names what the row was matched by ("username 'ada'"), for the messages."""
    word = cells.get("action")
    if word:
        word = re.sub(r"[^a-z]", "", word.lower())
    if word not in _ACTIONS:
        raise RowInvalid("action", f"{word!r} is not an action; use create, update or skip.")
    action = _ACTIONS[word] or {ImportMode.CREATE: CREATE, ImportMode.UPDATE: UPDATE}.get(mode, "upsert")
    if action == "upsert":
        return UPDATE if exists else CREATE
    if action == CREATE and exists:
        which = f" ({key})" if key else ""
        raise RowInvalid("", f"already exists{which}; use update mode (or action update) to change it.")
    if action == UPDATE and not exists:
        which = f" ({key})" if key else ""
        raise RowInvalid("", f"not found{which}: there is nothing to update.")
    return action


def parse_bool(column: str, value: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise RowInvalid(column, f"{_shorten(value)!r} is not yes or no.")


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
                raise RowInvalid(self.column, f"{_shorten(value)!r} is not a whole number.")
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
    progress_every = 2000

    def run(
        self,
        csv_file: Any,
        *,
        commit: bool = False,
        batch: Any = None,
        dispatch: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> Outcome:
        self.column_map = match_header(csv_file.header, self.columns)
        outcome = Outcome()
        self.prepare(csv_file, commit=commit)
        total = sum(1 for _ in csv_file.rows()) if progress else 0
        kept: list[Any] = []
        width = len(csv_file.header)
        for number, cells in csv_file.rows():
            outcome.rows += 1
            if progress and outcome.rows % self.progress_every == 0:
                progress(outcome.rows, total)
            try:
                if problem := ragged(cells, width):
                    raise RowInvalid("", problem)
                row = self.check(number, Cells(cells, self.column_map))
            except RowInvalid as refused:
                for column, message in refused.problems:
                    outcome.add_error(number, column, message)
                continue
            outcome.count(row.action)
            if len(outcome.preview) < PREVIEW_ROWS:
                outcome.add_preview(row.action, number, self.shown(row))
            if commit and row.action != SKIP:
                kept.append(row)
        if not outcome.rows:
            raise FileProblem("The file has a header row but no data rows.")
        self.finish(outcome)
        if commit and not outcome.error_total and kept:
            self.write(kept, batch=batch, dispatch=dispatch)
        return outcome

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
