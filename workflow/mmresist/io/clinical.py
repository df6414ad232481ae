"""Reading, type conversion and validation of the clinical tables (therapy lines, labs,
cytogenetics, MRD)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from mmresist.errors import InputError
from mmresist.io.tabular import cell, convert_cell, load_schema, read_tsv, validate_row
from mmresist.vocab import CLINICAL_TABLES, CYTOGENETIC_ABNORMALITIES

__all__ = ["LAB_UNITS", "accepted_units", "convert_lab", "load_schema", "read_table", "rows_for"]

# Columns every table must have in its header even when a row may leave them empty;
# labs need `unit` as a column although the unitless FLC ratio leaves it blank.
EXTRA_REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {"labs": ("unit",)}

# Columns holding a fraction 0-1, where a trailing '%' is unambiguous and divided by 100.
FRACTION_COLUMNS = frozenset({("cytogenetics", "clone_fraction"), ("mrd", "value")})

# Synonyms clinicians write for the labs schema's test ids (keys: lower case, '_' for
# space and '-').
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

# ISCN shorthand that means exactly one of vocab.CYTOGENETIC_ABNORMALITIES (keys: lower
# case, no spaces).
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


def read_table(path: str | Path, kind: str, *, patient_id: str | None = None) -> list[dict]:
    """Read, convert and validate a clinical table; return one dict per data row.

    ``kind`` is one of ``vocab.CLINICAL_TABLES``. Each row has every column of the table's
    schema (``None`` when the cell is empty), dates as ``datetime.date``, numbers as
    ``int``/``float``, enum values spelled canonically, and the bookkeeping keys ``_file``
    and ``_line`` (header = line 1) that later errors cite. Labs rows also get
    ``value_canonical`` and ``unit_canonical``. Columns the schema does not name are
    dropped, so free text or identifiers never travel into a report. Therapy lines are
    checked for dates before start_date and for a line number given twice per patient.

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
    table = read_tsv(file)
    table.require(list(schema["required"]) + list(EXTRA_REQUIRED_COLUMNS.get(kind, ())))
    positions = {name: index for name in input_columns if (index := table.column(name)) is not None}

    rows: list[dict] = []
    for number, cells in table.rows:
        texts = {name: cell(cells, index) for name, index in positions.items()}
        if patient_id is not None and texts.get("patient_id") != patient_id:
            continue
        row: dict[str, Any] = {name: None for name in input_columns}
        for name, text in texts.items():
            if text is not None:
                row[name] = _convert(kind, name, text, properties[name], file=file, line=number)
        validate_row(
            kind,
            row,
            file=file,
            line=number,
            texts=texts,
            order=table.header,
            missing=_accepted_units_if(kind, row),
        )
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


def _convert(
    kind: str, column: str, text: str, prop: dict[str, Any], *, file: str, line: int
) -> Any:
    """Turn one cell's text into the type its schema property declares, spelled canonically."""
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
    return convert_cell(
        text,
        prop,
        file=file,
        line=line,
        column=column,
        percent=(kind, column) in FRACTION_COLUMNS,
        power_of_ten=column == "sensitivity",
    )


def _accepted_units_if(kind: str, row: dict[str, Any]) -> Callable[[str], str | None] | None:
    """For a labs row missing its unit, the units accepted for its test."""
    if kind != "labs" or row.get("test") not in LAB_UNITS:
        return None
    test = row["test"]
    return lambda column: accepted_units(test) if column == "unit" else None


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
