"""The latest value of each lab test, chosen by one rule and read in its canonical unit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from mmresist.io.clinical import LAB_UNITS, convert_lab
from mmresist.io.tabular import as_date
from mmresist.model import LabRow

__all__ = ["canonical_value", "creatinine_clearance", "latest_per_test"]

# Cockcroft-Gault (Cockcroft & Gault 1976, Nephron 16:31, PMID:1244564): creatinine
# clearance in mL/min = (140 - age) x weight kg / (72 x serum creatinine mg/dL), x 0.85 for
# women. Drug labels state their renal bands in this clearance.
COCKCROFT_GAULT_SOURCE = "PMID:1244564"


def latest_per_test(labs: Iterable[LabRow] | None) -> dict[str, LabRow]:
    """The latest row of each test, with its ``date`` as a ``datetime.date``.

    Only rows with a test, a date and a value count. The latest date wins; on the same
    date the row that comes later in the file wins (higher ``_line``; rows without one in
    the order given), so a corrected result appended below the first one is the one used.
    Date text that is not ISO 8601 raises ValueError.
    """
    best: dict[str, tuple[tuple, LabRow]] = {}
    for position, row in enumerate(labs or []):
        test, when = row.get("test"), as_date(row.get("date"))
        if not test or when is None or row.get("value") is None:
            continue
        key = (when, row.get("_line") or 0, position)
        if test not in best or key >= best[test][0]:
            best[test] = (key, row if row.get("date") == when else {**row, "date": when})
    return {test: row for test, (_key, row) in best.items()}


def canonical_value(row: LabRow) -> tuple[float, str] | None:
    """(value, unit) of ``row`` in its test's canonical unit (``io.clinical.LAB_UNITS``).

    The reader's ``value_canonical``/``unit_canonical`` when present, else converted with
    ``convert_lab``; None when the test or its unit has no known conversion.
    """
    value, unit = row.get("value_canonical"), row.get("unit_canonical")
    if value is not None and unit:
        return float(value), unit
    test = row.get("test")
    if test not in LAB_UNITS or row.get("value") is None:
        return None
    try:
        return convert_lab(test, float(row["value"]), row.get("unit"))
    except (KeyError, ValueError):
        return None


def creatinine_clearance(
    labs: Iterable[LabRow] | None, patient: Mapping[str, Any] | None
) -> tuple[float, date] | None:
    """Cockcroft-Gault creatinine clearance (mL/min, one decimal) from the latest
    creatinine and the patient's age, sex and weight, with the creatinine's date.

    None when any input is unknown (no creatinine, or age, sex or weight not given), never
    an estimate from assumed values. ``patient`` is a ``model.PatientInfo``.
    """
    if not patient:
        return None
    age, sex, weight = patient.get("age"), patient.get("sex"), patient.get("weight_kg")
    if age is None or weight is None or sex not in ("female", "male"):
        return None
    row = latest_per_test(labs).get("creatinine")
    measured = canonical_value(row) if row is not None else None
    if row is None or measured is None or measured[0] <= 0:
        return None
    value = (140 - int(age)) * float(weight) / (72 * measured[0])
    if sex == "female":
        value *= 0.85
    when = as_date(row["date"])
    if when is None:
        return None
    return round(max(value, 0.0), 1), when
