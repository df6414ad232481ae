"""Aggressive relapse: whether the labs, cytogenetics and patient table show a relapse that
needs rapid disease control, and on what basis.

The criteria (tests, limits, which clones count as high risk) come from the
``aggressive_relapse`` section of the knowledge rules; this module only evaluates them and
quotes the evidence. ``docs/reasoning.md`` ("Aggressive relapse") gives the decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from mmresist.interpret.labs import canonical_value
from mmresist.io.tabular import as_date
from mmresist.model import LabRow

__all__ = ["aggressive_relapse"]

_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_LABELS = {"ldh": "LDH", "calcium": "calcium", "hemoglobin": "haemoglobin"}


def _series(labs: list[LabRow] | None, test: str) -> list[tuple[date, float, LabRow]]:
    """Dated canonical values of one test, oldest first (same day: file order)."""
    out = []
    for position, row in enumerate(labs or []):
        when = as_date(row.get("date"))
        if row.get("test") != test or when is None or row.get("value") is None:
            continue
        converted = canonical_value(row)
        if converted is None:
            continue
        out.append((when, row.get("_line") or 0, position, converted[0], row))
    out.sort(key=lambda item: item[:3])
    return [(when, value, row) for when, _line, _pos, value, row in out]


def _label(test: str) -> str:
    return _LABELS.get(test, test)


def _lab_source(row: LabRow) -> str:
    line = row.get("_line")
    return f"labs.tsv line {line}" if line else "labs.tsv"


def _above_upper_limit(criterion: dict, labs: list[LabRow] | None) -> tuple[bool | None, dict]:
    series = _series(labs, criterion["test"])
    if not series:
        return None, {}
    when, value, row = series[-1]
    given = row.get("upper_limit_canonical")
    if given is None and row.get("upper_limit") is not None and not row.get("unit"):
        given = row.get("upper_limit")
    if given is not None:
        limit, whose = float(given), "the laboratory's upper limit"
    else:
        limit = float(criterion["default_upper_limit"])
        whose = "the curated default upper limit (labs.tsv gives none)"
    times = f", {value / limit:.2g} times it" if value > limit else ""
    evidence = (
        f"{_label(criterion['test'])} {value:g} {criterion['unit']} on {when}; "
        f"{whose} {limit:g} {criterion['unit']}{times}"
    )
    return value > limit, {"evidence": evidence, "date": str(when), "source": _lab_source(row)}


def _threshold(criterion: dict, labs: list[LabRow] | None) -> tuple[bool | None, dict]:
    series = _series(labs, criterion["test"])
    if not series:
        return None, {}
    when, value, row = series[-1]
    met = _OPS[criterion["op"]](value, criterion["value"])
    evidence = (
        f"{_label(criterion['test'])} {value:g} {criterion['unit']} on {when} "
        f"(criterion {criterion['op']} {criterion['value']:g} {criterion['unit']})"
    )
    return met, {"evidence": evidence, "date": str(when), "source": _lab_source(row)}


def _new_cytopenia(criterion: dict, labs: list[LabRow] | None) -> tuple[bool | None, dict]:
    """Met when the latest value is below the limit and an earlier one was not, or (with
    ``fall_by``) when it fell by at least that much from the highest earlier value. One
    value alone cannot show that a cytopenia is new: unknown."""
    series = _series(labs, criterion["test"])
    if len(series) < 2:
        return None, {}
    when, value, row = series[-1]
    earlier = series[:-1]
    unit, below = criterion["unit"], criterion["below"]
    name = _label(criterion["test"])
    above_before = [(d, v) for d, v, _ in earlier if v >= below]
    base = {"date": str(when), "source": _lab_source(row)}
    if value < below and above_before:
        d, v = above_before[-1]
        return True, {
            **base,
            "evidence": f"{name} {value:g} {unit} on {when}, below {below:g}; it was {v:g} on {d}",
        }
    fall_by = criterion.get("fall_by")
    if fall_by:
        top_date, top, _ = max(earlier, key=lambda item: item[1])
        if top - value >= fall_by:
            return True, {
                **base,
                "evidence": f"{name} fell from {top:g} {unit} on {top_date} to {value:g} on "
                f"{when} (by {top - value:.3g}, criterion {fall_by:g})",
            }
    return False, {**base, "evidence": f"{name} {value:g} {unit} on {when}"}


def _clone_fraction(row: Mapping[str, Any]) -> float | None:
    value = row.get("clone_fraction")
    if value is None or value == "":
        return None
    return float(value)


def _rising_clone(criterion: dict, cytogenetics: list[dict] | None) -> tuple[bool | None, dict]:
    """Met when a listed abnormality is newly detected (earlier test 0) or its clone fraction
    rose by ``min_rise`` or more between two dated results. Unknown without two dated
    results of a listed abnormality."""
    wanted = set(criterion["abnormalities"])
    by_abnormality: dict[str, list[tuple[date, float, Mapping[str, Any]]]] = {}
    for row in cytogenetics or []:
        when, fraction = as_date(row.get("date")), _clone_fraction(row)
        if row.get("abnormality") in wanted and when is not None and fraction is not None:
            by_abnormality.setdefault(row["abnormality"], []).append((when, fraction, row))
    assessable = {k: sorted(v, key=lambda x: x[0]) for k, v in by_abnormality.items() if len(v) > 1}
    if not assessable:
        return None, {}
    best: tuple[float, dict] | None = None
    for abnormality, series in sorted(assessable.items()):
        (d0, f0, _first), (d1, f1, last) = series[0], series[-1]
        rise = f1 - f0
        if rise >= criterion["min_rise"] and f1 > 0:
            detail = {
                "evidence": f"{abnormality} clone fraction {f0:.0%} on {d0} to {f1:.0%} on {d1} "
                f"(rise {rise * 100:.0f} points, criterion {criterion['min_rise'] * 100:g})",
                "date": str(d1),
                "source": f"cytogenetics.tsv line {last.get('_line')}"
                if last.get("_line")
                else "cytogenetics.tsv",
            }
            if best is None or rise > best[0]:
                best = (rise, detail)
    if best:
        return True, best[1]
    return False, {}


def _patient_flag(criterion: dict, patient: Mapping[str, Any] | None) -> tuple[bool | None, dict]:
    value = (patient or {}).get(criterion["field"])
    if value is None:
        return None, {}
    detail = {"evidence": f"patients.tsv: {criterion['field']} = {'yes' if value else 'no'}"}
    return bool(value), {**detail, "date": None, "source": "patients.tsv"}


def aggressive_relapse(
    *,
    labs: list[LabRow] | None,
    cytogenetics: list[dict] | None,
    patient: Mapping[str, Any] | None,
    rule: dict | None,
) -> dict[str, Any]:
    """report.json ``aggressive_relapse``: ``{flag, message, basis, not_assessed, rule_id,
    source, status}``.

    ``flag`` is True when any criterion of ``rule`` (the knowledge rules'
    ``aggressive_relapse`` section) is met, False when at least one could be assessed and
    none is met, None when none could be assessed (unknown, never read as "not
    aggressive"). ``basis`` lists each met criterion as ``{criterion, evidence, date,
    source}``; ``not_assessed`` names the criteria the inputs could not judge.
    """
    if not rule:
        return {"flag": None, "message": None, "basis": [], "not_assessed": [], "rule_id": None}
    basis: list[dict] = []
    not_assessed: list[str] = []
    assessed = 0
    for criterion in rule["criteria"]:
        kind = criterion["kind"]
        if kind == "lab_above_upper_limit":
            met, detail = _above_upper_limit(criterion, labs)
        elif kind == "lab_threshold":
            met, detail = _threshold(criterion, labs)
        elif kind == "new_cytopenia":
            met, detail = _new_cytopenia(criterion, labs)
        elif kind == "rising_clone":
            met, detail = _rising_clone(criterion, cytogenetics)
        else:
            met, detail = _patient_flag(criterion, patient)
        if met is None:
            not_assessed.append(criterion["text"])
            continue
        assessed += 1
        if met:
            basis.append({"criterion": criterion["text"], **detail})
    flag = True if basis else (False if assessed else None)
    message = None
    if flag:
        message = "Needs rapid disease control: " + "; ".join(b["criterion"] for b in basis) + "."
    return {
        "flag": flag,
        "message": message,
        "basis": basis,
        "not_assessed": not_assessed,
        "rule_id": rule["id"],
        "source": list(rule.get("source") or []),
        "status": rule.get("status"),
    }
