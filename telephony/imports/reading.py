"""Reading an uploaded CSV file: refuse what is not one, detect its encoding and delimiter, and
hand out its rows numbered as a spreadsheet shows them (the header is row 1).

Only what the file *is* is judged here; what its cells *mean* is judged by the importers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16")
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
MAX_CELL_CHARS = 10_000
MAX_HEADER_CHARS = 65_536
SNIFF_LINES = 50

# A valid UTF-8 sequence of two to four bytes: finding one in a file that does not decode means
# the file is UTF-8 with damaged bytes, not a Windows (cp1252) file.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xef][\x80-\xbf]{2}|\xf0[\x90-\xbf][\x80-\xbf]{2}"
)
_SIGNATURES = {
    b"PK\x03\x04": gettext_lazy("a ZIP archive (an Excel .xlsx or OpenDocument workbook?)"),
    b"\xd0\xcf\x11\xe0": gettext_lazy("an old Excel .xls workbook"),
    b"%PDF": gettext_lazy("a PDF document"),
    b"\x89PNG": gettext_lazy("a PNG image"),
    b"\xff\xd8\xff": gettext_lazy("a JPEG image"),
    b"\x1f\x8b": gettext_lazy("a gzip archive"),
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class FileProblem(Exception):
    """The file as a whole cannot be read as CSV; the message says why and what to do."""


@dataclass
class CsvFile:
    """A decoded CSV text with what was learnt about it."""

    text: str
    encoding: str
    delimiter: str
    header: list[str]

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(spreadsheet row number, cells) of every data row; blank lines are left out.

        A cell longer than MAX_CELL_CHARS raises FileProblem naming its row."""
        reader = csv.reader(io.StringIO(self.text), delimiter=self.delimiter, strict=False)
        number = 0
        previous = csv.field_size_limit(MAX_CELL_CHARS)
        try:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    raise FileProblem(
                        _("Row %(row)s cannot be read: %(problem)s (line %(line)s of the file).")
                        % {"row": number + 1, "problem": _plain_csv_error(error), "line": reader.line_num}
                    ) from None
                number += 1
                if number == 1 or not any(cell.strip() for cell in cells):
                    continue
                yield number, cells
        finally:
            csv.field_size_limit(previous)


def read_csv(data: bytes, *, encoding: str = "") -> CsvFile:
    """Decode and sniff `data`; raise FileProblem with a plain message when it is not a CSV file."""
    if not data or not data.strip(b" \t\r\n\x00"):
        raise FileProblem(_("The file is empty."))
    text, encoding = decode(data, encoding)
    control = _CONTROL.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise FileProblem(
            _(
                "This is not a text file: line %(line)s holds the control character %(character)s. "
                "Save the spreadsheet as CSV and upload that."
            )
            % {"line": line, "character": repr(control.group())}
        )
    first_line_end = _first_line_end(text)
    if first_line_end > MAX_HEADER_CHARS:
        raise FileProblem(
            _(
                "The first line is %(length)s characters long: this does not look like a CSV file "
                "with a header row (a header is at most %(limit)s characters)."
            )
            % {"length": f"{first_line_end:,}", "limit": f"{MAX_HEADER_CHARS:,}"}
        )
    delimiter = sniff_delimiter(text)
    try:
        header_row = next(csv.reader(io.StringIO(text[: first_line_end + 1]), delimiter=delimiter))
    except (csv.Error, StopIteration):
        raise FileProblem(_("The first line is not a CSV header row.")) from None
    header = [cell.strip() for cell in header_row]
    while header and not header[-1]:
        header.pop()
    if not any(header):
        raise FileProblem(_("The first line is empty: the file needs a header row naming its columns."))
    return CsvFile(text=text, encoding=encoding, delimiter=delimiter, header=header)


def decode(data: bytes, encoding: str = "") -> tuple[str, str]:
    """(text, encoding name). Without an `encoding`: UTF-8 (with or without BOM), UTF-16 with a
    BOM, else Windows-1252, else Latin-1 (which decodes anything)."""
    for signature, what in _SIGNATURES.items():
        if data.startswith(signature):
            raise FileProblem(
                _("This is %(what)s, not a CSV file. Save it as CSV (comma separated values) first.") % {"what": what}
            )
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as error:
            raise FileProblem(
                _("The file cannot be read as %(encoding)s: %(problem)s")
                % {"encoding": encoding, "problem": _plain_decode_error(data, error)}
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as error:
            raise FileProblem(
                _("The file is not valid UTF-16: %(problem)s") % {"problem": _plain_decode_error(data, error)}
            ) from None
    if b"\x00" in data[:100_000]:
        raise FileProblem(_("This is a binary file (it holds NUL bytes), not a CSV text file."))
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as error:
            raise FileProblem(
                _("The file is not valid UTF-8: %(problem)s") % {"problem": _plain_decode_error(data, error)}
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        if _UTF8_MULTIBYTE.search(data):
            raise FileProblem(
                _(
                    "The file is not valid UTF-8: %(problem)s Save it again as UTF-8, "
                    "or choose its encoding on the upload form."
                )
                % {"problem": _plain_decode_error(data, error)}
            ) from None
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def sniff_delimiter(text: str) -> str:
    """The delimiter among , ; tab | that splits the first lines into the same number of cells
    (more than one); a comma when none does (a one-column file)."""
    sample = text[: 64 * 1024]
    lines = sample.splitlines()
    if len(sample) < len(text) and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut sample may be cut too
    lines = [line for line in lines if line.strip()][:SNIFF_LINES]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        agreeing = sum(1 for count in counts if count == counts[0]) / len(counts)
        score = (agreeing, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _first_line_end(text: str) -> int:
    end = text.find("\n")
    return len(text) if end < 0 else end


def _plain_decode_error(data: bytes, error: Exception) -> str:
    position = getattr(error, "start", None)
    if position is None:
        return str(error)
    line = data.count(b"\n", 0, position) + 1
    column = position - (data.rfind(b"\n", 0, position) + 1) + 1
    return _("byte %(byte)s on line %(line)s, position %(position)s, is not a character of that encoding.") % {
        "byte": f"0x{data[position]:02x}",
        "line": line,
        "position": column,
    }


def _plain_csv_error(error: csv.Error) -> str:
    text = str(error)
    if "field larger than field limit" in text:
        return _("a cell is longer than %(limit)s characters") % {"limit": f"{MAX_CELL_CHARS:,}"}
    return text
