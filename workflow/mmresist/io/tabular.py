"""The one TSV reader, schema validation and typed cells shared by every tabular input."""

from __future__ import annotations

import codecs
import gzip
import math
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

from mmresist.errors import InputError

SCHEMA_DIR = Path(str(resources.files("mmresist.io") / "schemas"))

# Cells that mean "no value", compared case-insensitively: NA and N/A are what R, Excel
# and many LIMS exports write for an empty field.
EMPTY_CELLS = frozenset({"", "na", "n/a"})

DATE_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
INTEGER_PATTERN = re.compile(r"^[+-]?[0-9]+$")

_BLOCK = 1 << 16
_NEWLINE = re.compile(r"\r\n|\r|\n")
_SPACE = re.compile(r"[^\S\t]")  # any white space but the separator


@dataclass
class Table:
    """A TSV's header and its data rows, read lazily so a large file is never held whole.

    ``header`` holds the column names stripped and lower-cased (column names are matched
    case-insensitively everywhere); ``rows`` yields (line number, cells stripped of
    surrounding spaces) for every line that is neither blank nor a comment, the first line
    of the file being line 1.
    """

    file: str
    header: list[str]
    header_line: int
    rows: Iterator[tuple[int, list[str]]]

    def column(self, name: str) -> int | None:
        return self.header.index(name) if name in self.header else None

    def require(self, names: Sequence[str], *, expected: str | None = None) -> dict[str, int]:
        """Positions of ``names``; the first one absent is an InputError on the header."""
        for name in names:
            if name not in self.header:
                raise InputError(
                    f"missing required column '{name}'",
                    file=self.file,
                    line=self.header_line,
                    field=name,
                    expected=expected or "a header row with columns " + ", ".join(names),
                    got="\t".join(name for name in self.header if name)[:200],
                )
        return {name: self.header.index(name) for name in names}


def read_tsv(
    path: str | Path,
    *,
    compressed: bool = False,
    quoted: bool = False,
    preamble: re.Pattern[str] | None = None,
    notes: list[str] | None = None,
    extra_cells: bool = False,
    file_field: str | None = None,
) -> Table:
    """Open a tab-separated UTF-8 table (a BOM and CRLF or CR line ends are accepted).

    The header is the first non-blank line; after it, blank lines and lines whose first
    cell starts with '#' are skipped, their numbers still counted. Per-format options:

    - ``compressed``: a gzip file is read transparently (tool outputs); otherwise it is
      refused, because a user-edited sheet is never meant to be compressed.
    - ``quoted``: cells may be quoted as R's ``write.table`` does; otherwise a quote is an
      ordinary character, so a stray one in free text cannot swallow the lines after it.
    - ``preamble``: lines before the header that match (an R session's warnings written
      into a redirected output) are skipped, each noted in ``notes``.
    - ``extra_cells``: cells beyond the header are ignored instead of refused.
    - ``file_field``: the samples.tsv column that named the file, cited when it is absent.

    Every problem is an InputError naming the file and, where known, the line.
    """
    file = str(path)
    source = Path(path)
    if not source.is_file():
        raise InputError("file does not exist", file=file, field=file_field)
    with open(source, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped and not compressed:
        raise InputError(
            "the file is gzip-compressed", file=file, expected="a plain UTF-8 TSV file"
        )
    expected = (
        "a UTF-8 TSV file, plain or gzip-compressed" if compressed else ("a plain UTF-8 TSV file")
    )
    stream: BinaryIO = gzip.open(source, "rb") if gzipped else open(source, "rb")  # type: ignore[assignment]
    lines = _numbered_lines(stream, file, expected)
    split = _quoted_cells if quoted else _plain_cells
    try:
        for number, text in lines:
            if not text.strip():
                continue
            if preamble is not None and "\t" not in text and preamble.match(text):
                if notes is not None:
                    notes.append(
                        f"{file}: line {number}: skipped an R message written before the "
                        f"header: {text.strip()[:120]!r}"
                    )
                continue
            header = _header(split(text), file, number)
            break
        else:
            raise InputError("empty file", file=file, expected="a tab-separated header row")
    except BaseException:
        stream.close()
        raise
    return Table(file, header, number, _rows(lines, stream, split, header, file, extra_cells))


def _rows(
    lines: Iterator[tuple[int, str]],
    stream: BinaryIO,
    split: Callable[[str], list[str]],
    header: list[str],
    file: str,
    extra_cells: bool,
) -> Iterator[tuple[int, list[str]]]:
    with stream:
        for number, text in lines:
            stripped = text.lstrip()
            if not stripped or stripped[0] == "#":
                continue
            cells = split(text)
            if len(cells) > len(header):
                if not extra_cells and any(cells[len(header) :]):
                    raise InputError(
                        f"{len(cells)} cells but the header has {len(header)} columns",
                        file=file,
                        line=number,
                        expected="one cell per header column, separated by tabs",
                    )
                del cells[len(header) :]
            yield number, cells


def _numbered_lines(stream: BinaryIO, file: str, expected: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line; decoding errors name the byte they are at."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    consumed = 0
    number = 0
    pending = ""
    while True:
        try:
            # read1: a truncated gzip's last good bytes arrive before its EOFError does.
            block = stream.read1(_BLOCK)  # type: ignore[attr-defined]
        except EOFError:
            raise InputError(
                "the gzip-compressed file is cut short (an incomplete copy or download?)",
                file=file,
                line=number,
                expected="a complete gzip file",
            ) from None
        except (OSError, zlib.error) as error:
            raise InputError(
                f"cannot read the file ({error})", file=file, line=number or None
            ) from None
        buffered = len(decoder.getstate()[0])
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as error:
            # The position is the byte in the (decompressed) file, which a hex viewer shows.
            offset = consumed - buffered + error.start
            raise InputError(
                f"not UTF-8 text ({error.reason} at byte {offset})", file=file, expected=expected
            ) from None
        if consumed == 0 and text.startswith("\ufeff"):
            text = text[1:]
        consumed += len(block)
        pending += text
        if block and pending.endswith("\r"):
            # The '\n' of a CRLF may come with the next block.
            complete, pending = pending[:-1], "\r"
        else:
            complete, pending = pending, ""
        parts = _NEWLINE.split(complete)
        if block:
            pending = parts.pop() + pending
        elif parts and parts[-1] == "":
            parts.pop()
        for part in parts:
            number += 1
            yield number, part
        if not block:
            return


def _plain_cells(text: str) -> list[str]:
    cells = text.split("\t")
    # Most lines have no space to strip; looking first keeps large bin files fast.
    return [cell.strip() for cell in cells] if _SPACE.search(text) else cells


def _quoted_cells(text: str) -> list[str]:
    if '"' not in text:
        return _plain_cells(text)
    import csv

    return [cell.strip() for cell in next(csv.reader([text], delimiter="\t"))]


def _header(cells: list[str], file: str, line: int) -> list[str]:
    header = [cell.lower() for cell in cells]
    while header and not header[-1]:
        header.pop()  # a trailing tab after the last column name
    if len(header) == 1 and any(mark in header[0] for mark in ", ;"):
        raise InputError(
            "header is not tab-separated",
            file=file,
            line=line,
            expected="tab-separated column names",
            got=cells[0][:80],
        )
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise InputError("column appears twice in the header", file=file, line=line, field=name)
        seen.add(name)
    return header


def is_empty(text: str | None) -> bool:
    """Whether a cell holds no value ("", NA, N/A in any case)."""
    return text is None or text.strip().lower() in EMPTY_CELLS


def cell(cells: Sequence[str], index: int | None) -> str | None:
    """The text of a cell, or None when the column or the value is absent."""
    if index is None or index >= len(cells):
        return None
    text = cells[index]
    return None if is_empty(text) else text


def row_values(header: Sequence[str], cells: Sequence[str]) -> dict[str, str]:
    """Column name -> text of the row's non-empty cells."""
    return {
        name: text for name, text in zip(header, cells, strict=False) if name and not is_empty(text)
    }


def as_date(value: date | str | None) -> date | None:
    """A date from a reader's typed value or from ISO text; None for no value.

    ValueError for text that is not an ISO 8601 calendar date.
    """
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    return date.fromisoformat(text) if text else None


def iso_text(value: Any) -> Any:
    """A date as ISO text (as it is written in JSON and TSV outputs); anything else as is."""
    return value.isoformat() if isinstance(value, date) else value


def convert_cell(
    text: str,
    prop: Mapping[str, Any],
    *,
    file: str,
    line: int,
    column: str,
    percent: bool = False,
    power_of_ten: bool = False,
) -> Any:
    """One cell as the type its schema property declares: ``date`` for a date format,
    ``int`` for an integer, ``float`` for a number (a trailing '%' divided by 100 when
    ``percent``; ``10^-5`` notation when ``power_of_ten``); other text unchanged."""

    def refuse(expected: str) -> InputError:
        return InputError(
            "invalid value", file=file, line=line, field=column, expected=expected, got=text
        )

    if prop.get("format") == "date":
        if not DATE_PATTERN.match(text):
            raise refuse("an ISO 8601 date YYYY-MM-DD")
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise refuse("an ISO 8601 date YYYY-MM-DD that exists in the calendar") from None
    declared = prop.get("type")
    if declared == "integer":
        if not INTEGER_PATTERN.match(text):
            raise refuse("a whole number")
        return int(text)
    if declared == "number":
        raw, divisor = text, 1.0
        if percent and raw.endswith("%"):
            raw, divisor = raw[:-1].strip(), 100.0
        exponent = re.match(r"^10\s*\^\s*(-?[0-9]+)$", raw) if power_of_ten else None
        if exponent:
            return 10.0 ** int(exponent.group(1))
        try:
            value = float(raw)
        except ValueError:
            comma = re.match(r"^-?\d+,\d+$", raw)
            hint = "; use a dot as the decimal separator" if comma else ""
            raise refuse(f"a number{hint}") from None
        if not math.isfinite(value):
            raise refuse("a finite number")
        return value / divisor
    return text


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON schema ``<name>.schema.yaml`` of a tabular input (samples, clinical tables)."""
    import yaml

    with open(SCHEMA_DIR / f"{name}.schema.yaml", encoding="utf-8") as stream:
        schema: dict[str, Any] = yaml.safe_load(stream)
    return schema


@cache
def validator(name: str) -> Any:
    """One validator per schema, built once: building one is far slower than using it."""
    # Imported here: jsonschema costs an import only when a table is actually read.
    import jsonschema

    return jsonschema.Draft202012Validator(
        load_schema(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def validate_row(
    name: str,
    row: Mapping[str, Any],
    *,
    file: str,
    line: int,
    texts: Mapping[str, str | None] | None = None,
    order: Sequence[str] = (),
    missing: Callable[[str], str | None] | None = None,
) -> None:
    """Validate one row against schema ``name``; the first problem becomes an InputError.

    ``row`` holds typed values (dates as ``date``; None or absent for empty cells);
    ``texts`` the cells as written, quoted back in the error; ``order`` the header, so
    the first problem in reading order is reported; ``missing(column)`` may describe what
    a missing required value should be when the schema's description does not say it.
    """
    instance = {key: iso_text(value) for key, value in row.items() if value is not None}
    checker = validator(name)
    if checker.is_valid(instance):
        return
    position = {column: index for index, column in enumerate(order)}
    problems = []
    field: str | None
    for error in checker.iter_errors(instance):
        if error.validator == "required":
            absent = [column for column in error.validator_value if column not in instance]
            field = absent[0] if absent else None
        else:
            field = str(error.path[0]) if error.path else None
        rank = position.get(field, len(position)) if field is not None else len(position)
        problems.append((rank, str(field), field, error))
    _, _, field, error = min(problems, key=lambda item: item[:2])
    written = texts or {}
    if field is None:
        got = None
    else:
        got = written[field] if field in written else iso_text(row.get(field))
    raise schema_error(
        error,
        load_schema(name),
        file=file,
        line=line,
        field=field,
        got=got,
        missing=missing,
    )


def schema_error(
    error: Any,
    schema: Mapping[str, Any],
    *,
    file: str,
    line: int,
    field: str | None,
    got: Any = None,
    missing: Callable[[str], str | None] | None = None,
) -> InputError:
    """An InputError naming file, line and column for a jsonschema validation error, with
    what was expected in words (the column's schema description added)."""
    description = " ".join(
        str(schema.get("properties", {}).get(field, {}).get("description", "")).split()
    )
    if error.validator == "required":
        expected = (missing(field) if missing and field else None) or description or "a value"
        return InputError(
            "required value is missing",
            file=file,
            line=line,
            field=field,
            expected=expected,
            got="",
        )
    expected = _expected(error)
    if description and description not in expected:
        expected = f"{expected} ({description})"
    return InputError(
        "invalid value",
        file=file,
        line=line,
        field=field,
        expected=expected,
        got=None if got is None else str(got),
    )


def _expected(error: Any) -> str:
    kind, value = error.validator, error.validator_value
    if kind == "enum":
        return "one of " + ", ".join(map(str, value))
    if kind == "pattern":
        return f"text matching {value}"
    if kind == "format":
        return f"a valid {value}"
    if kind == "minimum":
        return f"a value ≥ {value}"
    if kind == "maximum":
        return f"a value ≤ {value}"
    if kind == "exclusiveMinimum":
        return f"a value > {value}"
    if kind == "exclusiveMaximum":
        return f"a value < {value}"
    if kind == "type":
        return f"a {value}"
    if kind == "minLength":
        return "a non-empty value"
    if kind == "not" and isinstance(value, Mapping) and "enum" in value:
        return "not a reserved name (" + ", ".join(map(str, value["enum"])) + ")"
    return str(error.message)
