"""Reading, type conversion and validation of the clinical tables (therapy lines, labs,
cytogenetics, MRD, patient characteristics)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from mmresist.errors import InputError
from mmresist.io.tabular import as_date, cell, convert_cell, load_schema, read_tsv, validate_row
from mmresist.model import DateLike, PatientInfo
from mmresist.vocab import CLINICAL_TABLES, CYTOGENETIC_ABNORMALITIES

__all__ = [
    "LAB_UNITS",
    "accepted_units",
    "check_line_phases",
    "convert_lab",
    "load_schema",
    "patient_info",
    "read_table",
    "rows_for",
]

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
    "biallelicdel(1p32)": "biallelic_del(1p32)",
    "del(1p32)biallelic": "biallelic_del(1p32)",
    "homozygousdel(1p32)": "biallelic_del(1p32)",
    "mycrearrangement": "MYC_rearrangement",
    "myc-r": "MYC_rearrangement",
    "mycr": "MYC_rearrangement",
}


_ABNORMALITIES_LOWER = {item.lower(): item for item in CYTOGENETIC_ABNORMALITIES}

# How patients.tsv may write sex (keys: lower case).
SEX_SYNONYMS = {"f": "female", "m": "male", "woman": "female", "man": "male"}


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
    checked for dates before start_date and, where rows share a line number (the phases
    of that line), by ``check_line_phases``; patients.tsv for a patient given twice.

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
        if kind == "cytogenetics" and row["clone_fraction"] is not None:
            row["clone_fraction"], note = read_clone_fraction(
                row["clone_fraction"], texts["clone_fraction"] or "", file=file, line=number
            )
            if note:
                row["_notes"] = [note]
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
        check_line_phases(rows)
    elif kind == "patients":
        _check_unique_patients(rows)
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
    if column == "refractory" and text.lower() in ("yes", "no"):
        return text.lower()
    if column == "sex":
        text = SEX_SYNONYMS.get(text.strip().lower(), text)
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


def read_clone_fraction(
    value: float, text: str, *, file: str, line: int
) -> tuple[float, str | None]:
    """A clone fraction as 0-1, and a QC note when a bare number was read as a percentage.

    FISH reports write "70" for 70% of nuclei: a bare number above 1 can only be a
    percentage, so it is divided by 100 and noted; "0.7" and "70%" need no note. Anything
    above 100% is an error naming the file, line and column."""
    if value > 1 and not text.endswith("%") and value <= 100:
        return value / 100, (
            f"{file} line {line}: clone_fraction '{text}' read as {value:g}% "
            f"({value / 100:g}); write 0.7 or 70% to say so"
        )
    if value == 1 and not text.endswith("%"):
        # '1' is a whole clone as a fraction, but could be 1% to a FISH reader: say which.
        return value, (
            f"{file} line {line}: clone_fraction '{text}' read as 1.0 (100%); write 1% if one "
            "percent was meant"
        )
    if value > 1:
        raise InputError(
            "clone fraction above 100%",
            file=file,
            line=line,
            field="clone_fraction",
            expected="a fraction 0-1, a percentage like 70%, or a bare percentage up to 100",
            got=text,
        )
    return value, None


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
        limit = row.get("upper_limit")
        row["upper_limit_canonical"] = (
            None if limit is None else convert_lab(test, limit, row["unit"])[0]
        )
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


def check_line_phases(rows: list[Any]) -> None:
    """Rows sharing a patient and line number are the phases of that line (induction,
    transplant, consolidation, maintenance), given one after the other. Refused, as
    conflicts no order can settle: two phases starting on the same day, a phase starting
    before the previous one ended (drugs given together belong in one row's regimen), and
    a phase starting after a progression recorded on an earlier phase of the line (a
    therapy started after progression is the next line). Two rows may name the same phase:
    an induction changed for toxicity stays one line (IMWG)."""
    groups: dict[tuple[str, int], list[Any]] = {}
    for row in rows:
        groups.setdefault((str(row.get("patient_id")), int(row["line"])), []).append(row)
    for (patient, number), phases in groups.items():
        if len(phases) < 2:
            continue
        ordered = sorted(phases, key=lambda row: (_day(row, "start_date"), row.get("_line") or 0))
        for before, row in zip(ordered, ordered[1:], strict=False):
            start = _day(row, "start_date")
            where = f"line {number} of patient {patient}"
            if start == _day(before, "start_date"):
                _phase_conflict(row, before, f"two phases of {where} start on the same day", start)
            end = _day(before, "end_date")
            if end is not None and start is not None and start < end:
                _phase_conflict(
                    row, before, f"a phase of {where} starts before the previous one ended", start
                )
            earlier = ordered[: ordered.index(row)]
            first = min(
                (day for r in earlier if (day := _day(r, "progression_date")) is not None),
                default=None,
            )
            if first is not None and start is not None and start > first:
                raise InputError(
                    f"a phase of {where} starts after the progression recorded on an earlier "
                    f"phase ({first.isoformat()}); a therapy started after progression is the "
                    "next line",
                    file=row.get("_file"),
                    line=row.get("_line"),
                    field="line",
                    expected="the next line number, or the progression date on the last phase",
                    got=str(row["line"]),
                )


def _day(row: Any, column: str) -> date | None:
    value: DateLike | None = row.get(column)
    try:
        return as_date(value)
    except ValueError:
        return None


def _phase_conflict(row: Any, before: Any, message: str, start: date | None) -> None:
    raise InputError(
        f"{message} (the other row is on line {before.get('_line')})",
        file=row.get("_file"),
        line=row.get("_line"),
        field="start_date",
        expected="phases of one line one after the other, each with its own start date; "
        "drugs given together belong in one row's regimen (joined by '+')",
        got=start.isoformat() if start else "",
    )


def _check_unique_patients(rows: list[dict]) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        if row["patient_id"] in seen:
            raise InputError(
                f"patient {row['patient_id']} is listed twice (first on line "
                f"{seen[row['patient_id']]})",
                file=row["_file"],
                line=row["_line"],
                field="patient_id",
                expected="one row per patient",
                got=row["patient_id"],
            )
        seen[row["patient_id"]] = row["_line"]


def patient_info(row: dict[str, Any], *, reference_date: DateLike | None = None) -> PatientInfo:
    """A patients.tsv row as the interpretation uses it; an empty cell stays None (unknown).

    ``age`` is the age in whole years at ``reference_date`` (the latest sample) when
    ``birth_date`` is given, else the ``age`` column.
    """
    age = row.get("age")
    born = as_date(row.get("birth_date"))
    reference = as_date(reference_date)
    if born is not None and reference is not None:
        age = (
            reference.year - born.year - ((reference.month, reference.day) < (born.month, born.day))
        )

    def flag(column: str) -> bool | None:
        value = row.get(column)
        return None if value is None else value == "yes"

    def number(column: str) -> float | None:
        value = row.get(column)
        return None if value is None else float(value)

    return {
        "patient_id": str(row["patient_id"]),
        "age": int(age) if age is not None else None,
        "sex": row.get("sex"),
        "ecog": row.get("ecog"),
        "transplant_eligible": flag("transplant_eligible"),
        "weight_kg": number("weight_kg"),
        "height_cm": number("height_cm"),
        "isotype": row.get("isotype"),
        "extramedullary": flag("extramedullary"),
        "plasma_cell_leukaemia": flag("plasma_cell_leukaemia"),
        "first_remission_months": number("first_remission_months"),
    }
