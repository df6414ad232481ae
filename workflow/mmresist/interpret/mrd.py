"""Minimal residual disease: ordered measurements, latest result and trend (issue 4, item 5).

``summarize_mrd`` takes the patient's mrd.tsv rows as ``clinical.read_table`` returns them
(``date`` a ``datetime.date``, ``sensitivity``/``value`` floats, ``method`` NGS|NGF, ``result``
negative|positive) and returns the ``report.json`` ``mrd`` section, or ``None`` when the
table was not provided for this patient.

Trend rules (latest measurement compared with the run that precedes it):

- ``single_measurement``: only one measurement.
- ``sustained_negative``: the last two or more measurements are negative; the explanation
  gives the span in months from the first negative of that run to the latest.
- ``converted_to_negative``: latest negative, the one before positive.
- ``converted_to_positive``: latest positive, the one before negative.
- Latest and previous both positive, levels compared as a fold change of ``value``:
  ``rising`` when latest >= previous x FOLD_CHANGE, ``falling`` when latest <= previous /
  FOLD_CHANGE, else ``stable_positive``. FOLD_CHANGE is one log (10-fold): MRD levels are
  reported on a log scale and near the limit of detection replicate NGS/NGF measurements
  commonly differ by a few-fold, so a smaller change is not read as a trend.
- ``persistent_positive``: both positive but a level is missing (or zero), so the change
  cannot be judged.

When the compared measurements differ in method or sensitivity the explanation says so
and ``comparable`` is false: the comparison is less reliable.
"""

from __future__ import annotations

from datetime import date
from typing import Any

FOLD_CHANGE = 10.0
TRENDS = (
    "single_measurement",
    "sustained_negative",
    "converted_to_negative",
    "converted_to_positive",
    "rising",
    "falling",
    "stable_positive",
    "persistent_positive",
)
DAYS_PER_MONTH = 365.25 / 12


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _num(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _fmt_fraction(value: float | None) -> str:
    return "not given" if value is None else f"{value:.3g} ({value * 100:.3g}%)"


def _fmt_sensitivity(value: float | None) -> str:
    return "unknown sensitivity" if value is None else f"sensitivity {value:.0e}"


def _months(start: str, end: str) -> float:
    days = (date.fromisoformat(end) - date.fromisoformat(start)).days
    return round(days / DAYS_PER_MONTH, 1)


def _comparability(compared: list[dict]) -> str:
    """'' when method and sensitivity agree across ``compared``, else a caution."""
    methods = sorted({m["method"] or "unknown" for m in compared})
    sensitivities = sorted({m["sensitivity"] for m in compared if m["sensitivity"] is not None})
    parts = []
    if len(methods) > 1:
        parts.append(f"methods differ ({', '.join(methods)})")
    if len(sensitivities) > 1:
        parts.append("sensitivities differ (" + ", ".join(f"{s:.0e}" for s in sensitivities) + ")")
    if not parts:
        return ""
    return "; ".join(parts) + ": the comparison is less reliable"


def _trend(measurements: list[dict]) -> tuple[str, str, list[dict]]:
    """(trend, explanation, measurements compared)."""
    latest = measurements[-1]
    if len(measurements) == 1:
        return (
            "single_measurement",
            f"One measurement ({latest['date']}, {latest['result']}); no trend can be given.",
            [latest],
        )
    previous = measurements[-2]
    if latest["result"] == "negative":
        run = []
        for item in reversed(measurements):
            if item["result"] != "negative":
                break
            run.append(item)
        run.reverse()
        if len(run) >= 2:
            months = _months(run[0]["date"], latest["date"])
            return (
                "sustained_negative",
                f"{len(run)} consecutive negative measurements from {run[0]['date']} to "
                f"{latest['date']} ({months:g} months).",
                run,
            )
        return (
            "converted_to_negative",
            f"Negative on {latest['date']} after positive on {previous['date']} "
            f"(level {_fmt_fraction(previous['value'])}).",
            [previous, latest],
        )
    if previous["result"] == "negative":
        return (
            "converted_to_positive",
            f"Positive on {latest['date']} (level {_fmt_fraction(latest['value'])}) after "
            f"negative on {previous['date']}.",
            [previous, latest],
        )
    old, new = previous["value"], latest["value"]
    if not old or not new:
        return (
            "persistent_positive",
            f"Positive on {previous['date']} and {latest['date']}; a level is not given, so "
            "its change cannot be judged.",
            [previous, latest],
        )
    ratio = new / old
    change = (
        f"{_fmt_fraction(old)} on {previous['date']} to {_fmt_fraction(new)} on {latest['date']}"
    )
    if ratio >= FOLD_CHANGE:
        return "rising", f"Level rose {ratio:.3g}-fold, {change}.", [previous, latest]
    if ratio <= 1 / FOLD_CHANGE:
        return "falling", f"Level fell {1 / ratio:.3g}-fold, {change}.", [previous, latest]
    return (
        "stable_positive",
        f"Level changed {ratio:.3g}-fold ({change}), less than the {FOLD_CHANGE:g}-fold "
        "(one log) change read as rising or falling.",
        [previous, latest],
    )


def summarize_mrd(rows: list[dict] | None) -> dict | None:
    """The report.json ``mrd`` section from the patient's mrd.tsv rows; None without rows."""
    if not rows:
        return None
    ordered = sorted(
        rows,
        key=lambda row: (_iso(row.get("date")) or "", row.get("_line") or 0),
    )
    measurements = [
        {
            "date": _iso(row.get("date")),
            "method": row.get("method"),
            "sensitivity": _num(row.get("sensitivity")),
            "result": row.get("result"),
            "value": _num(row.get("value")),
        }
        for row in ordered
    ]
    trend, explanation, compared = _trend(measurements)
    caution = _comparability(compared)
    if caution:
        explanation = f"{explanation} Caution: {caution}."
    latest = measurements[-1]
    return {
        "measurements": measurements,
        "latest_result": latest["result"],
        "latest_date": latest["date"],
        "latest_method": latest["method"],
        "latest_sensitivity": latest["sensitivity"],
        "latest_value": latest["value"],
        "trend": trend,
        "trend_explanation": explanation,
        "comparable": not caution,
        "rule": f"rising/falling: a change of at least {FOLD_CHANGE:g}-fold between the last "
        "two positive levels",
    }
