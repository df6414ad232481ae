"""Reading, type conversion and validation of the clinical tables (SPEC §2)."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from mmresist.errors import InputError
from mmresist.vocab import CLINICAL_TABLES, CYTOGENETIC_ABNORMALITIES

SCHEMA_DIR = Path(str(resources.files("mmresist.io") / "schemas"))

# Cells that mean "no value"; NA is what R and many LIMS exports write.
EMPTY_CELLS = frozenset({"", "NA", "N/A", "na", "n/a"})

# Columns every table must have in its header even when a row may leave them empty;
# labs need `unit` as a column although the unitless FLC ratio leaves it blank.
EXTRA_REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {"labs": ("unit",)}

# Columns holding a fraction 0-1, where a trailing '%' is unambiguous and divided by 100.
FRACTION_COLUMNS = frozenset({("cytogenetics", "clone_fraction"), ("mrd", "value")})

DATE_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
INTEGER_PATTERN = re.compile(r"^[+-]?[0-9]+$")
POWER_OF_TEN = re.compile(r"^10\s*\^\s*(-?[0-9]+)$")

# Synonyms clinicians write for the SPEC test ids (keys: lower case, '_' for space/'-').
TEST_SYNONYMS = {
    "haemoglobin": "hemoglobin",
    "hb": "hemoglobin",
    "hgb": "hemoglobin",
    "b2m": "beta2_microglobulin",
    "beta2m": "beta2_microglobulin",
    "beta_2_microglobulin": "beta2_microglobulin",
    "b2_microglobulin": "beta2_microglobulin",
    "anc": "neutrophils",
    "plt": "platelets",
    "mprotein": "m_protein",
    "m_spike": "m_protein",
    "paraprotein": "m_protein",
    "sflc_ratio": "flc_ratio",
    "kappa_lambda_ratio": "flc_ratio",
}

# ISCN shorthand that means exactly one SPEC abnormality (keys: lower case, no spaces).
ABNORMALITY_SYNONYMS = {
    "17p-": "del(17p)",
    "del17p": "del(17p)",
    "1q+": "gain(1q)",
    "+1q": "gain(1q)",
}


_ABNORMALITIES_LOWER = {item.lower(): item for item in CYTOGENETIC_ABNORMALITIES}


# Accepted units per test: (canonical unit, {unit as labs write it: factor to canonical}).
# Lookups go through unit_key, so case, spaces, µ/μ/u and 10^9 notations do not matter.
# Only conversions that are pure unit arithmetic or a fixed molar mass are listed; any
# other unit is refused, because a guessed factor would silently mis-state a value.
_CELL_COUNT_UNITS = {
    "10^9/L": 1.0,
    "G/L": 1.0,  # giga per litre (French and German reports), not grams
    "/nL": 1.0,
    "10^3/µL": 1.0,
    "K/µL": 1.0,
    "10^3/mm3": 1.0,
    "/µL": 0.001,
    "cells/µL": 0.001,
    "/mm3": 0.001,
    "cells/mm3": 0.001,
}
LAB_UNITS: dict[str, tuple[str, dict[str, float]]] = {
    # Creatinine 113.12 g/mol: 1 mg/dL = 88.42 µmol/L.
    "creatinine": ("mg/dL", {"mg/dL": 1.0, "µmol/L": 1 / 88.42}),
    "egfr": ("mL/min/1.73m2", {"mL/min/1.73m2": 1.0}),
    # Haemoglobin in mmol/L (Dutch and Nordic labs) counts the 16,114.5 g/mol monomer.
    "hemoglobin": ("g/dL", {"g/dL": 1.0, "g/L": 0.1, "mmol/L": 1.61145}),
    # Calcium 40.08 g/mol: 1 mmol/L = 4.008 mg/dL.
    "calcium": ("mg/dL", {"mg/dL": 1.0, "mmol/L": 4.008}),
    "albumin": ("g/dL", {"g/dL": 1.0, "g/L": 0.1}),
    # nmol/L is not converted: it depends on a molar mass the curators have not fixed.
    "beta2_microglobulin": ("mg/L", {"mg/L": 1.0, "µg/mL": 1.0, "mg/dL": 10.0}),
    # 1 U = 1 µmol/min, so 1 µkat/L (1 µmol/s per litre) = 60 U/L.
    "ldh": ("U/L", {"U/L": 1.0, "IU/L": 1.0, "µkat/L": 60.0}),
    "igg": ("g/L", {"g/L": 1.0, "g/dL": 10.0, "mg/dL": 0.01}),
    "neutrophils": ("10^9/L", _CELL_COUNT_UNITS),
    "platelets": ("10^9/L", _CELL_COUNT_UNITS),
    "m_protein": ("g/dL", {"g/dL": 1.0, "g/L": 0.1, "mg/dL": 0.001}),
    "flc_ratio": ("ratio", {"": 1.0, "ratio": 1.0, "-": 1.0}),
}

_SUPERSCRIPTS = str.maketrans({digit: f"^{index}" for index, digit in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")})


def unit_key(unit: str | None) -> str:
    """Normalise a unit's spelling so that lookups ignore case, spaces and notation.

    ``µmol/L``, ``μmol/L`` (Greek mu) and ``umol/l`` become ``umol/l``; ``x10^9/L``,
    ``×10⁹/L``, ``10E9/L`` and ``10*9/L`` become ``10^9/l``; ``1,73 m²`` becomes ``1.73m2``.
    """
    if unit is None:
        return ""
    text = unit.translate(_SUPERSCRIPTS)
    text = text.replace("µ", "u").replace("μ", "u").replace("×", "x")
    text = "".join(text.split()).lower().replace(",", ".")
    text = re.sub(r"10(?:\^|\*\*|\*|e)(\d+)", r"10^\1", text)
    text = re.sub(r"^x(?=10\^)", "", text)
    return text.replace("m^2", "m2").replace("mm^3", "mm3")


def convert_lab(test: str, value: float, unit: str | None) -> tuple[float, str]:
    """Return ``value`` in the test's canonical unit and that unit.

    Raises ``KeyError`` for a unit not accepted for ``test``; ``read_table`` turns it
    into an ``InputError`` that lists the accepted units.
    """
    canonical = LAB_UNITS[test][0]
    factor = _unit_factors(test)[unit_key(unit)]
    # Six significant digits hide float noise (0.1 * 3) without losing lab precision.
    return float(f"{value * factor:.6g}"), canonical


@cache
def _unit_factors(test: str) -> dict[str, float]:
    return {unit_key(unit): factor for unit, factor in LAB_UNITS[test][1].items()}


def accepted_units(test: str) -> str:
    """Human-readable list of the units accepted for ``test``, canonical first."""
    if test == "flc_ratio":
        return "no unit (empty), 'ratio' or '-'"
    canonical, factors = LAB_UNITS[test]
    others = [unit for unit in factors if unit != canonical]
    return f"a unit for {test}: " + ", ".join([canonical, *others])


@cache
def load_schema(kind: str) -> dict[str, Any]:
    """The JSON schema of a clinical table, as shared with the Snakemake validation."""
    import yaml

    with open(SCHEMA_DIR / f"{kind}.schema.yaml", encoding="utf-8") as stream:
        return yaml.safe_load(stream)


@cache
def _validator(kind: str):
    # Imported here: jsonschema costs an import only when a table is actually read.
    import jsonschema

    return jsonschema.Draft202012Validator(
        load_schema(kind), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def read_table(path: str | Path, kind: str, *, patient_id: str | None = None) -> list[dict]:
    """Read, convert and validate a clinical table; return one dict per data row.

    ``kind`` is one of ``therapy_lines``, ``labs``, ``cytogenetics``, ``mrd``. Each row
    has every column of the table's schema (``None`` when the cell is empty), dates as
    ``datetime.date``, numbers as ``int``/``float``, enum values spelled canonically, and
    the bookkeeping keys ``_file`` and ``_line`` (header = line 1) that later errors cite.
    Labs rows also get ``value_canonical`` and ``unit_canonical``. Columns the schema does
    not name are dropped, so free text or identifiers never travel into a report.

    With ``patient_id`` only that patient's rows are converted and validated (the header
    always is); the workflow validates every row once before any job runs, and a
    per-patient job then neither pays for nor fails on other patients' rows.

    Any problem raises ``InputError`` naming the file, line, column, what was expected
    and what was found.
    """
    if kind not in CLINICAL_TABLES:
        raise ValueError(f"unknown clinical table kind {kind!r}; expected one of {CLINICAL_TABLES}")
    file = str(path)
    schema = load_schema(kind)
    properties: dict[str, dict[str, Any]] = schema["properties"]
    input_columns = [name for name in properties if not name.endswith("_canonical")]
    lines = _tsv_lines(file)
    first = next(lines, None)
    header = _header(first, file)
    header_line = first[0] if first else 1
    required = list(schema["required"]) + list(EXTRA_REQUIRED_COLUMNS.get(kind, ()))
    for column in required:
        if column not in header:
            raise InputError(
                f"missing required column '{column}'",
                file=file,
                line=header_line,
                field=column,
                expected="a header row with columns " + ", ".join(required),
                got="\t".join(name for name in header if name),
            )
    positions = {name: header.index(name) for name in input_columns if name in header}

    rows: list[dict] = []
    for number, cells in lines:
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            raise InputError(
                f"{len(cells)} cells but the header has {len(header)} columns",
                file=file,
                line=number,
                expected="one cell per header column, separated by tabs",
            )
        texts = {name: _cell(cells, index) for name, index in positions.items()}
        if patient_id is not None and texts.get("patient_id") != patient_id:
            continue
        row: dict[str, Any] = {name: None for name in input_columns}
        for name, text in texts.items():
            if text is not None:
                row[name] = _convert(kind, name, text, properties[name], file=file, line=number)
        _validate(kind, row, texts, header, file=file, line=number)
        if kind == "labs":
            _add_canonical_unit(row, file=file, line=number)
        elif kind == "therapy_lines":
            _check_therapy_dates(row, file=file, line=number)
        row["_file"] = file
        row["_line"] = number
        rows.append(row)
    if kind == "therapy_lines":
        _check_unique_lines(rows)
    return rows


def rows_for(rows: list[dict], patient_id: str) -> list[dict]:
    """The rows of one patient, in file order (so no patient sees another's data)."""
    return [row for row in rows if row.get("patient_id") == patient_id]


def _tsv_lines(file: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank, non-comment line; the header is line 1."""
    if not Path(file).is_file():
        raise InputError("file does not exist", file=file)
    with open(file, "rb") as probe:
        if probe.read(2) == b"\x1f\x8b":
            raise InputError(
                "the file is gzip-compressed", file=file, expected="a plain UTF-8 TSV file"
            )
    try:
        with open(file, encoding="utf-8-sig", newline="") as stream:
            # QUOTE_NONE keeps one record per physical line, so line numbers stay true
            # even when a free-text cell holds a stray quote.
            reader = csv.reader(stream, delimiter="\t", quoting=csv.QUOTE_NONE)
            for cells in reader:
                number = reader.line_num
                if not cells or not "".join(cells).strip():
                    continue
                if number > 1 and cells[0].lstrip().startswith("#"):
                    continue
                yield number, cells
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text ({error.reason} at byte {error.start})",
            file=file,
            expected="a UTF-8 TSV file",
        ) from None


def _header(first: tuple[int, list[str]] | None, file: str) -> list[str]:
    if first is None:
        raise InputError("empty file", file=file, expected="a tab-separated header row")
    number, cells = first
    # Column names are matched case-insensitively: Patient_ID is patient_id.
    header = [cell.strip().lower() for cell in cells]
    while header and not header[-1]:
        header.pop()  # a trailing tab after the last column name
    if len(header) == 1 and ("," in header[0] or " " in header[0]):
        raise InputError(
            "header is not tab-separated",
            file=file,
            line=number,
            expected="tab-separated column names",
            got=cells[0],
        )
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise InputError(
                "column appears twice in the header", file=file, line=number, field=name
            )
        seen.add(name)
    return header


def _cell(cells: list[str], index: int) -> str | None:
    if index >= len(cells):
        return None
    text = cells[index].strip()
    return None if text in EMPTY_CELLS else text


def _convert(
    kind: str, column: str, text: str, prop: dict[str, Any], *, file: str, line: int
) -> Any:
    """Turn one cell's text into the type its schema property declares."""

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
        return _number(
            text, refuse, percent=(kind, column) in FRACTION_COLUMNS, power=column == "sensitivity"
        )
    if column == "test":
        name = re.sub(r"[\s-]+", "_", text.lower())
        return TEST_SYNONYMS.get(name, name)
    if column == "abnormality":
        name = "".join(text.split()).lower()
        if name in ABNORMALITY_SYNONYMS:
            return ABNORMALITY_SYNONYMS[name]
        return _ABNORMALITIES_LOWER.get(name, text)
    if "enum" in prop:
        # Case-insensitive input, canonical spelling out (scr -> sCR, YES -> yes).
        canonical = {str(item).lower(): item for item in prop["enum"]}
        return canonical.get(text.lower(), text)
    return text


def _number(text: str, refuse, *, percent: bool, power: bool) -> float:
    raw = text
    divisor = 1.0
    if raw.endswith("%") and percent:
        raw, divisor = raw[:-1].strip(), 100.0
    exponent = POWER_OF_TEN.match(raw) if power else None
    if exponent:
        return 10.0 ** int(exponent.group(1))
    try:
        value = float(raw)
    except ValueError:
        hint = "; use a dot as the decimal separator" if re.match(r"^-?\d+,\d+$", raw) else ""
        raise refuse(f"a number{hint}") from None
    if not math.isfinite(value):
        raise refuse("a finite number")
    return value / divisor


def _validate(
    kind: str,
    row: dict[str, Any],
    texts: dict[str, str | None],
    header: list[str],
    *,
    file: str,
    line: int,
) -> None:
    """Validate the row as Snakemake will see it (dates as ISO text, empty cells absent).

    The first problem in header order becomes the error; it quotes the cell as written.
    """
    instance = {
        key: value.isoformat() if isinstance(value, date) else value
        for key, value in row.items()
        if value is not None
    }
    validator = _validator(kind)
    if validator.is_valid(instance):
        return
    schema = load_schema(kind)
    order = {name: index for index, name in enumerate(header)}
    problems = []
    for error in validator.iter_errors(instance):
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in instance]
            field = missing[0] if missing else None
        else:
            field = str(error.path[0]) if error.path else None
        problems.append((order.get(field, len(order)), str(field), error, field))
    _, _, error, field = min(problems, key=lambda item: item[:2])
    if error.validator == "required":
        if kind == "labs" and field == "unit" and row.get("test") in LAB_UNITS:
            expected = accepted_units(row["test"])
        else:
            expected = schema["properties"].get(field, {}).get("description", "").strip()
        raise InputError(
            "required value is missing",
            file=file,
            line=line,
            field=field,
            expected=expected or "a value",
            got="",
        )
    raise InputError(
        "invalid value",
        file=file,
        line=line,
        field=field,
        expected=_expected(error, schema["properties"].get(field, {})),
        got=texts.get(field) if field in texts else _original(row.get(field)),
    )


def _expected(error, prop: dict[str, Any]) -> str:
    validator, value = error.validator, error.validator_value
    if validator == "enum":
        return "one of " + ", ".join(map(str, value))
    if validator == "minimum":
        return f"a value ≥ {value}"
    if validator == "maximum":
        return f"a value ≤ {value}" + (" (a fraction 0-1)" if value == 1 else "")
    if validator == "exclusiveMinimum":
        return f"a value > {value}"
    if validator in ("pattern", "format"):
        return prop.get("description", "").strip() or f"text matching {value}"
    if validator == "type":
        return f"a {value}"
    if validator == "minLength":
        return "a non-empty value"
    return error.message


def _original(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _add_canonical_unit(row: dict[str, Any], *, file: str, line: int) -> None:
    test = row["test"]
    try:
        row["value_canonical"], row["unit_canonical"] = convert_lab(test, row["value"], row["unit"])
    except KeyError:
        raise InputError(
            f"unit not known for test '{test}'",
            file=file,
            line=line,
            field="unit",
            expected=accepted_units(test),
            got=row["unit"] or "",
        ) from None


def _check_therapy_dates(row: dict[str, Any], *, file: str, line: int) -> None:
    start = row["start_date"]
    for column in ("end_date", "progression_date"):
        if row[column] is not None and row[column] < start:
            raise InputError(
                f"{column} is before start_date",
                file=file,
                line=line,
                field=column,
                expected=f"a date on or after start_date {start.isoformat()}",
                got=row[column].isoformat(),
            )


def _check_unique_lines(rows: list[dict]) -> None:
    seen: dict[tuple[str, int], int] = {}
    for row in rows:
        key = (row["patient_id"], row["line"])
        if key in seen:
            raise InputError(
                f"line {row['line']} of patient {row['patient_id']} is listed twice "
                f"(first on line {seen[key]})",
                file=row["_file"],
                line=row["_line"],
                field="line",
                expected="one row per line of therapy",
                got=str(row["line"]),
            )
        seen[key] = row["_line"]
