"""Minimal residual disease: ordered measurements, latest result and trend.

``summarize_mrd`` turns the patient's mrd.tsv rows into the report.json ``mrd`` section;
``docs/reasoning.md`` ("MRD") gives the trend rules and why a change must be ten-fold. What
a negative result must reach (the IMWG minimum sensitivity, one year between the negatives
of a sustained run) comes from the ``mrd`` section of the knowledge rules.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from mmresist.io.tabular import iso_text

# One log: MRD levels are reported on a log scale, and near the limit of detection
# replicate NGS/NGF measurements differ by a few-fold, so less is not read as a trend.
FOLD_CHANGE = 10.0
DAYS_PER_MONTH = 365.25 / 12


def _num(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _fmt_fraction(value: float | None) -> str:
    return "not given" if value is None else f"{value:.3g} ({value * 100:.3g}%)"


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
                "consecutive_negative",
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


def _days(start: str, end: str) -> int:
    return (date.fromisoformat(end) - date.fromisoformat(start)).days


def _insufficient(item: dict, min_sensitivity: float) -> bool | None:
    """True when a result is less sensitive than the minimum (a larger number), None when
    its sensitivity is not given."""
    if item["sensitivity"] is None:
        return None
    return item["sensitivity"] > min_sensitivity


def _sustained(measurements: list[dict], rule: dict) -> dict[str, Any]:
    """IMWG sustained MRD negativity of the latest run of negatives: two negative results
    at the minimum sensitivity, at least ``sustained_min_days`` apart, with no positive
    between them. ``status`` is ``sustained``, ``not_sustained`` or ``unknown`` (a
    negative of unknown sensitivity would decide it)."""
    min_sens, min_days = rule["min_sensitivity"], rule["sustained_min_days"]
    run: list[dict] = []
    for item in reversed(measurements):
        if item["result"] != "negative":
            break
        run.append(item)
    run.reverse()
    base = {
        "rule_id": rule["id"],
        "min_sensitivity": min_sens,
        "min_days": min_days,
        "source": list(rule.get("source") or []),
    }
    if not run:
        return {**base, "status": "not_sustained", "basis": "The latest result is not negative."}
    known = [m for m in run if _insufficient(m, min_sens) is False]
    unknown = [m for m in run if _insufficient(m, min_sens) is None]
    span = _days(known[0]["date"], known[-1]["date"]) if known else 0
    imaging = " Imaging negativity, which IMWG also requires, is not in the inputs."
    if len(known) >= 2 and span >= min_days:
        return {
            **base,
            "status": "sustained",
            "basis": f"Negative at {min_sens:.0e} or better on {known[0]['date']} and "
            f"{known[-1]['date']} ({span} days apart, at least {min_days}), no positive "
            f"result between them.{imaging}",
        }
    whole = _days(run[0]["date"], run[-1]["date"])
    if unknown and len(run) >= 2 and whole >= min_days:
        return {
            **base,
            "status": "unknown",
            "basis": f"Negative results span {whole} days, but the sensitivity of "
            + ", ".join(m["date"] for m in unknown)
            + f" is not given, so whether they reach {min_sens:.0e} is unknown.{imaging}",
        }
    if len(known) >= 2:
        why = f"the negatives at {min_sens:.0e} or better are {span} days apart (needs {min_days})"
    elif len(run) >= 2:
        why = f"fewer than two negatives reach {min_sens:.0e}"
    else:
        why = "there is one negative result"
    return {**base, "status": "not_sustained", "basis": f"Not sustained: {why}."}


def _sensitivity_flags(measurements: list[dict], min_sensitivity: float) -> list[str]:
    flags = []
    for item in measurements:
        if item["result"] == "negative" and _insufficient(item, min_sensitivity):
            flags.append(
                f"The negative result of {item['date']} ({item['method'] or 'method not given'}, "
                f"sensitivity {item['sensitivity']:.0e}) is less sensitive than "
                f"{min_sensitivity:.0e}: it does not meet IMWG MRD negativity."
            )
        elif item["result"] == "negative" and item["sensitivity"] is None:
            flags.append(
                f"The negative result of {item['date']} gives no sensitivity: whether it "
                f"reaches {min_sensitivity:.0e} is unknown."
            )
    return flags


def summarize_mrd(
    rows: list[dict[str, Any]] | None, rule: dict | None = None
) -> dict[str, Any] | None:
    """The report.json ``mrd`` section from the patient's mrd.tsv rows (as
    ``io.clinical.read_table`` returns them), or None without rows.

    Measurements are ordered by date, then file line; the trend compares the latest with
    the run before it (``docs/reasoning.md``, "MRD"). ``rule`` is the knowledge rules'
    ``mrd`` section; with it the summary adds ``sustained`` (IMWG sustained negativity)
    and ``sensitivity_flags`` (negatives less sensitive than the IMWG minimum).
    """
    if not rows:
        return None
    ordered = sorted(
        rows,
        key=lambda row: (iso_text(row.get("date")) or "", row.get("_line") or 0),
    )
    measurements = [
        {
            "date": iso_text(row.get("date")),
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
    extra: dict[str, Any] = {}
    if rule:
        extra["sustained"] = _sustained(measurements, rule)
        extra["sensitivity_flags"] = _sensitivity_flags(measurements, rule["min_sensitivity"])
    return {
        **extra,
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
