"""Supportive care: what the labs and the therapy history call for.

Thresholds, bands, drug notes and sources come from the ``supportive_care`` rules of the
knowledge base; this module decides which rule applies and says so with the value, unit,
date and threshold used. ``docs/reasoning.md`` ("Supportive care") gives the decisions
the rules do not make.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from mmresist.interpret import labs as lab_rules
from mmresist.interpret.labs import canonical_value, latest_per_test
from mmresist.io.tabular import as_date
from mmresist.model import LabRow, TherapyHistory, TherapyLine

__all__ = ["supportive_care"]

#: Rule severities (rules.yaml) mapped to the report's severities of supportive_care items.
SEVERITY = {"info": "info", "warning": "caution", "critical": "urgent"}
_SEVERITY_ORDER = {"urgent": 0, "caution": 1, "info": 2}

#: A result this many days older than the latest lab date may be stale: a data-quality
#: limit ("older than a year"), not a clinical threshold.
STALE_AFTER_DAYS = 365

#: The derived test every renal band is written in (rules.yaml).
CRCL = "creatinine_clearance"
CRCL_UNIT = "mL/min"

_LABELS = {
    "creatinine": "creatinine",
    "egfr": "eGFR",
    "hemoglobin": "haemoglobin",
    "calcium": "calcium",
    "igg": "IgG",
    "neutrophils": "neutrophils",
    "platelets": "platelets",
    CRCL: "creatinine clearance",
}
_OPS = {
    "<": (lambda a, b: a < b, "below"),
    "<=": (lambda a, b: a <= b, "at or below"),
    ">": (lambda a, b: a > b, "above"),
    ">=": (lambda a, b: a >= b, "at or above"),
}
# Topics whose drug rules also count exposure in earlier lines (at info severity).
_HISTORY_TOPICS = ("infection", "neuropathy")
# Topics whose drug rules end when the drug was stopped at progression: renal dosing and
# organ monitoring, filed under `other` (infection prophylaxis and screening outlast the drug).
_ENDS_WITH_THE_DRUG = ("renal", "other")


def _creatinine_clearance(
    labs: list[LabRow] | None, patient: Mapping[str, Any] | None
) -> tuple[float, date] | None:
    """Cockcroft-Gault creatinine clearance from ``interpret.labs.creatinine_clearance``
    (the one place it is computed); None without a patient record or a creatinine."""
    if patient is None or not labs:
        return None
    # Read through the module so that there is one implementation (and tests can swap it).
    result = lab_rules.creatinine_clearance(labs, patient)
    if result is None:
        return None
    value, when = result
    day = as_date(when)
    return (float(value), day) if day is not None else None


def supportive_care(
    *,
    labs: list[LabRow] | None,
    therapy_history: TherapyHistory | None,
    rules: dict | list[dict],
    age: int | None = None,
    sex: str | None = None,
    patient: Mapping[str, Any] | None = None,
) -> list[dict] | None:
    """Supportive-care items for one patient, or ``None`` when nothing was provided.

    ``labs`` are labs rows as ``clinical.read_table`` returns them (``test``, ``date``,
    ``value``, ``unit``, ``value_canonical``, ``unit_canonical``); ``therapy_history`` is
    the dict ``therapy.therapy_history`` returns; ``rules`` is the ``supportive_care`` list
    of the knowledge rules (a dict holding that key is accepted too). ``patient`` is the
    patients.tsv record (``PatientInfo``): with age, sex and weight the creatinine
    clearance is computed, so renal bands are chosen rather than listed. ``age`` and
    ``sex`` without a patient record are recorded in the creatinine-clearance note.

    Each item is ``{topic, severity, message, source, rule_id, status}`` with severity
    ``urgent``, ``caution`` or ``info``; items are sorted by severity (urgent first), topic,
    rule id and message. ``None`` means unknown (no labs and no therapy history), unlike
    ``[]``, which means nothing to flag.
    """
    if labs is None and therapy_history is None:
        return None
    rule_list = _rule_list(rules)
    latest = latest_per_test(labs)
    latest_date = max((_day(row) for row in latest.values()), default=None)
    if patient is not None:
        age, sex = patient.get("age"), patient.get("sex")
    crcl = _creatinine_clearance(labs, patient)
    if crcl is not None:
        latest[CRCL] = {
            "test": CRCL,
            "date": crcl[1],
            "value": crcl[0],
            "unit": CRCL_UNIT,
            "value_canonical": crcl[0],
            "unit_canonical": CRCL_UNIT,
        }
    items: list[dict] = []

    lab_rules = [r for r in rule_list if r.get("test") and not r.get("applies_to")]
    if labs is not None:
        for rule in lab_rules:
            if rule["test"] in latest:
                item = _lab_rule_item(rule, latest[rule["test"]], latest_date)
                if item:
                    items.append(item)
        items.append(
            _renal_function_item(latest, latest_date, rule_list, age=age, sex=sex, patient=patient)
        )
        items.extend(_stale_items(latest, latest_date, rule_list))
        missing = _missing_item(latest, rule_list)
        if missing:
            items.append(missing)
    else:
        items.append(_no_labs_item(rule_list))

    lines = (therapy_history.get("lines") if therapy_history else None) or []
    if lines:
        relevant = _relevant_line(lines)
        for rule in rule_list:
            found: dict | None = None
            if rule.get("applies_to"):
                found = _drug_rule_item(rule, lines, relevant, latest, latest_date, rule_list)
            elif rule.get("line_start_within_days"):
                found = _line_start_item(rule, relevant, latest_date)
            if found:
                items.append(found)
        items.append(_bone_reminder(lines))

    items.sort(
        key=lambda i: (_SEVERITY_ORDER[i["severity"]], i["topic"], i["rule_id"], i["message"])
    )
    return items


# -- labs -------------------------------------------------------------------------------------


def _rule_list(rules: dict | list) -> list[dict]:
    if isinstance(rules, dict):
        return list(rules.get("supportive_care") or [])
    return list(rules)


def _canonical(row: LabRow) -> tuple[float, str]:
    # A test without a known conversion is shown as reported.
    return canonical_value(row) or (float(row["value"]), row.get("unit") or "")


def _day(row: LabRow) -> date:
    # latest_per_test gives every row it returns a datetime.date (LabRow also allows text).
    day = row["date"]
    assert isinstance(day, date), day
    return day


def _num(value: float) -> str:
    return f"{value:g}"


def _describe(row: LabRow) -> str:
    """'haemoglobin 7.9 g/dL on 2024-03-01 (reported 79 g/L)'."""
    value, unit = _canonical(row)
    text = f"{_LABELS.get(row['test'], row['test'])} {_num(value)} {unit} on {row['date']}"
    reported = row.get("unit")
    if reported and reported != unit:
        text += f" (reported {_num(float(row['value']))} {reported})"
    return text


def _stale_note(row: LabRow, latest_date: date | None) -> str:
    if latest_date and (latest_date - _day(row)).days > STALE_AFTER_DAYS:
        return f" This result may be stale: the latest lab date is {latest_date}."
    return ""


def _band_text(band: dict, unit: str) -> str:
    lower, upper = band.get("lower"), band.get("upper")
    if lower is not None and upper is not None:
        text = f"≥ {_num(lower)} and < {_num(upper)} {unit}"
    elif lower is not None:
        text = f"≥ {_num(lower)} {unit}"
    elif upper is not None:
        text = f"< {_num(upper)} {unit}"
    else:
        text = "any value"
    if band.get("condition"):
        text += f" if {band['condition'].replace('_', ' ')}"
    return text


def _bands_matching(value: float, bands: list[dict]) -> list[dict]:
    """Bands (half-open: lower included, upper not) that hold ``value``."""
    return [
        band
        for band in bands
        if (band.get("lower") is None or value >= band["lower"])
        and (band.get("upper") is None or value < band["upper"])
    ]


def _item(rule: dict, severity: str, message: str, topic: str | None = None) -> dict:
    return {
        "topic": topic or rule["topic"],
        "severity": severity,
        "message": message,
        "source": list(rule.get("source") or []),
        "rule_id": rule["id"],
        "status": rule.get("status"),
    }


#: A value converted from another unit within this fraction of a limit counts as the limit
#: itself: the two units of one criterion agree only to rounding (177 µmol/L is 2.0018
#: mg/dL for "> 177 µmol/L (> 2 mg/dL)"; 2.75 mmol/L is 11.02 mg/dL for "> 11 mg/dL").
CONVERSION_TOLERANCE = 0.005


def _converted_to_limit(value: float, row: LabRow, limits: list[float]) -> float:
    """``value``, snapped to a limit it lies within CONVERSION_TOLERANCE of when it was
    converted from another unit; a value given in the rule's unit is compared as written."""
    if not row.get("unit") or row.get("unit") == row.get("unit_canonical"):
        return value
    for limit in limits:
        if limit is not None and abs(value - limit) <= CONVERSION_TOLERANCE * abs(limit):
            return float(limit)
    return value


def _lab_rule_item(rule: dict, row: LabRow, latest_date: date | None) -> dict | None:
    value, _ = _canonical(row)
    unit = rule.get("unit") or ""
    stale = _stale_note(row, latest_date)
    if "threshold" in rule:
        op = rule["threshold"]["op"]
        limit = rule["threshold"]["value"]
        compare, words = _OPS[op]
        value = _converted_to_limit(value, row, [limit])
        if not compare(value, limit):
            return None
        message = (
            f"{rule['title']}: {_describe(row)} is {words} the threshold "
            f"({op} {_num(limit)} {unit}). {rule['message']}"
        )
        if row["test"] == "igg":
            message += (
                " The myeloma isotype is not in the inputs: in IgG-type disease a total IgG"
                " includes the paraprotein, so check the uninvolved IgG."
            )
        return _item(rule, SEVERITY[rule["severity"]], message + stale)
    edges = [
        edge for band in rule.get("bands") or [] for edge in (band.get("lower"), band.get("upper"))
    ]
    value = _converted_to_limit(value, row, edges)
    matched = _bands_matching(value, rule.get("bands") or [])
    if not matched:
        return None
    band = matched[0]
    severity = SEVERITY[band.get("severity") or rule["severity"]]
    message = (
        f"{rule['title']}: {_describe(row)} falls in the band {_band_text(band, unit)}: "
        f"{band['guidance']}. {rule['message']}"
    )
    return _item(rule, severity, message + stale)


def _renal_function_item(
    latest: dict[str, LabRow],
    latest_date: date | None,
    rules: list[dict],
    *,
    age: int | None,
    sex: str | None,
    patient: Mapping[str, Any] | None = None,
) -> dict:
    if CRCL in latest:
        return _crcl_known_item(latest, latest_date, patient)
    known = ", ".join(
        f"{name} {'given' if value is not None else 'not given'}"
        for name, value in (("age", age), ("sex", sex))
    )
    if patient is None:
        why = f"the inputs carry no patients table ({known})"
    else:
        missing = [
            name
            for name, key in (("age", "age"), ("sex", "sex"), ("weight", "weight_kg"))
            if patient.get(key) is None
        ]
        why = f"patients.tsv lacks {', '.join(missing)}" if missing else "there is no creatinine"
    parts = [
        "Creatinine clearance could not be computed: Cockcroft-Gault needs age, sex, body "
        f"weight and a creatinine, and {why}."
    ]
    if "creatinine" in latest:
        row = latest["creatinine"]
        parts.append(f"Latest {_describe(row)}.{_stale_note(row, latest_date)}")
    else:
        parts.append("No creatinine result.")
    if "egfr" in latest:
        row = latest["egfr"]
        parts.append(
            f"Latest {_describe(row)} is shown for reference; it is not compared with the "
            f"creatinine-clearance bands, which the rules give in {CRCL_UNIT} only."
            f"{_stale_note(row, latest_date)}"
        )
    else:
        parts.append("No eGFR result.")
    crcl_rules = [r for r in rules if r.get("test") == CRCL and not r.get("applies_to")]
    if crcl_rules:
        parts.append(
            "Not assessed: " + "; ".join(f"{r['id']} ({_rule_limits(r)})" for r in crcl_rules) + "."
        )
    return {
        "topic": "renal",
        "severity": "info",
        "message": " ".join(parts),
        "source": [],
        "rule_id": "SC-DATA-CRCL-UNAVAILABLE",
        "status": None,
    }


def _crcl_known_item(
    latest: dict[str, LabRow], latest_date: date | None, patient: Mapping[str, Any] | None
) -> dict:
    """The computed creatinine clearance; the rules in mL/min are judged against it (their
    bands chosen, not listed)."""
    row = latest[CRCL]
    who = ", ".join(
        f"{name} {(patient or {}).get(key)}"
        for name, key in (("age", "age"), ("sex", "sex"), ("weight kg", "weight_kg"))
    )
    parts = [
        f"Creatinine clearance {_num(round(float(row['value']), 1))} {CRCL_UNIT} "
        f"(Cockcroft-Gault; {who}; creatinine of {row['date']}); renal bands are chosen by "
        f"this value.{_stale_note(row, latest_date)}"
    ]
    if "egfr" in latest:
        parts.append(f"Latest {_describe(latest['egfr'])} is shown for reference.")
    return {
        "topic": "renal",
        "severity": "info",
        "message": " ".join(parts),
        "source": [],
        "rule_id": "SC-DATA-CRCL",
        "status": None,
    }


def _rule_limits(rule: dict) -> str:
    unit = rule.get("unit") or ""
    if "threshold" in rule:
        return f"{_LABELS.get(rule['test'], rule['test'])} {rule['threshold']['op']} " + (
            f"{_num(rule['threshold']['value'])} {unit}"
        )
    return "; ".join(_band_text(band, unit) for band in rule.get("bands") or [])


def _rule_topic_for_test(test: str, rules: list[dict]) -> str:
    if test in ("creatinine", "egfr", CRCL):
        return "renal"
    for rule in rules:
        if rule.get("test") == test:
            return rule["topic"]
    return "other"


def _stale_items(latest: dict[str, LabRow], latest_date: date | None, rules: list[dict]) -> list:
    used = {r["test"] for r in rules if r.get("test")} | {"creatinine", "egfr"}
    items: list[dict] = []
    for test in sorted(used & latest.keys()):
        row = latest[test]
        age_days = (latest_date - _day(row)).days if latest_date else 0
        if age_days > STALE_AFTER_DAYS:
            items.append(
                {
                    "topic": _rule_topic_for_test(test, rules),
                    "severity": "caution",
                    "message": (
                        f"The latest {_describe(row)} is {age_days} days older than the "
                        f"latest lab result ({latest_date}; limit {STALE_AFTER_DAYS} days) and "
                        "may be stale; repeat it before acting on it."
                    ),
                    "source": [],
                    "rule_id": "SC-DATA-STALE",
                    "status": None,
                }
            )
    return items


def _missing_item(latest: dict[str, LabRow], rules: list[dict]) -> dict | None:
    needed: dict[str, list[str]] = {}
    for rule in rules:
        test = rule.get("test")
        if test and test != CRCL and not rule.get("applies_to"):
            needed.setdefault(test, []).append(rule["id"])
    for test in ("creatinine", "egfr"):
        needed.setdefault(test, [])
    missing = sorted(test for test in needed if test not in latest)
    if not missing:
        return None
    listed = "; ".join(
        _LABELS.get(t, t) + (f" ({', '.join(needed[t])})" if needed[t] else "") for t in missing
    )
    return {
        "topic": "other",
        "severity": "info",
        "message": f"Not assessed, no result in the labs: {listed}. A missing value is unknown, "
        "not normal.",
        "source": [],
        "rule_id": "SC-DATA-MISSING",
        "status": None,
    }


def _no_labs_item(rules: list[dict]) -> dict:
    ids = sorted(r["id"] for r in rules if r.get("test") and not r.get("applies_to"))
    return {
        "topic": "other",
        "severity": "info",
        "message": "No labs were provided: lab-based checks were not assessed ("
        + ", ".join(ids)
        + "), and creatinine clearance is unknown.",
        "source": [],
        "rule_id": "SC-DATA-MISSING",
        "status": None,
    }


# -- therapy ----------------------------------------------------------------------------------


def _relevant_line(lines: list[TherapyLine]) -> TherapyLine:
    """The latest ongoing line (no end date), else the last line given."""
    ongoing = [line for line in lines if not line.get("end_date")]
    return max(ongoing or lines, key=lambda line: int(line["line"]))


def _line_text(line: TherapyLine) -> str:
    if line.get("end_date"):
        when = f"last line, ended {line['end_date']}"
    else:
        when = f"current line, ongoing since {line.get('start_date')}"
    return f"line {line['line']} {line.get('regimen')} ({when})"


def _matches(rule: dict, line: TherapyLine) -> list[str]:
    applies = rule["applies_to"]
    hits = sorted(set(applies.get("drugs") or []) & set(line.get("drugs") or []))
    hits += sorted(set(applies.get("drug_classes") or []) & set(line.get("drug_classes") or []))
    return hits


def _drug_rule_item(
    rule: dict,
    lines: list[TherapyLine],
    relevant: TherapyLine,
    latest: dict[str, LabRow],
    latest_date: date | None,
    rules: list[dict],
) -> dict | None:
    hits = _matches(rule, relevant)
    severity = SEVERITY[rule["severity"]]
    stopped = set(relevant.get("refractory_drugs") or []) if relevant.get("end_date") else set()
    if hits and rule["topic"] in _ENDS_WITH_THE_DRUG and set(hits) <= stopped:
        # Dosing or organ monitoring of a drug stopped at progression (refractory) has
        # nothing left to dose or watch.
        return None
    if hits:
        exposure = f"{', '.join(hits)} in {_line_text(relevant)}"
    elif rule["topic"] in _HISTORY_TOPICS:
        earlier = [
            (line, _matches(rule, line))
            for line in sorted(lines, key=lambda x: int(x["line"]))
            if _matches(rule, line)
        ]
        if not earlier:
            return None
        exposure = "earlier exposure: " + "; ".join(
            f"{', '.join(h)} in line {line['line']} {line.get('regimen')}"
            + (f" (ended {line['end_date']})" if line.get("end_date") else "")
            for line, h in earlier
        )
        severity = "info"
    else:
        return None
    parts = [f"{rule['title']}: {exposure}. {rule['message']}"]
    if rule.get("test") == CRCL and rule.get("bands"):
        unit = rule.get("unit") or CRCL_UNIT
        chosen = (
            _bands_matching(float(latest[CRCL]["value"]), rule["bands"]) if CRCL in latest else []
        )
        if chosen:
            band = chosen[0]
            parts.append(
                f"{_describe(latest[CRCL])} falls in the band {_band_text(band, unit)}: "
                f"{band['guidance']}."
            )
            if band.get("severity"):
                band_severity = SEVERITY[band["severity"]]
                if _SEVERITY_ORDER[band_severity] < _SEVERITY_ORDER[severity]:
                    severity = band_severity
        else:
            why = (
                "no band holds it"
                if CRCL in latest
                else "creatinine clearance is not available (it needs age, sex, body weight "
                "and a creatinine)"
            )
            parts.append(
                f"The band cannot be chosen: {why}; bands: "
                + "; ".join(f"{_band_text(b, unit)}: {b['guidance']}" for b in rule["bands"])
                + "."
            )
            if "creatinine" in latest:
                parts.append(f"Latest {_describe(latest['creatinine'])}.")
            if "egfr" in latest:
                parts.append(
                    f"Latest {_describe(latest['egfr'])}: eGFR is not creatinine clearance, "
                    "and a low value calls for computing it before the dose is set."
                )
    if rule["topic"] == "thrombosis":
        parts.append(_platelet_note(latest, latest_date, rules))
    return _item(rule, severity, " ".join(parts))


def _line_start_item(rule: dict, relevant: TherapyLine, latest_date: date | None) -> dict | None:
    """A rule for the first weeks of a line (antibacterial prophylaxis): it applies to a
    line still being given that started at most ``line_start_within_days`` before the
    latest lab date. Line 1 is the population the evidence comes from; a later line is
    reported at info severity because the evidence is extrapolated."""
    if relevant.get("end_date") or not relevant.get("start_date"):
        return None
    start = as_date(relevant["start_date"])
    if start is None:
        return None
    reference = latest_date or start
    days = (reference - start).days
    window = int(rule["line_start_within_days"])
    if days < 0 or days > window:
        return None
    severity = SEVERITY[rule["severity"]] if int(relevant["line"]) == 1 else "info"
    message = (
        f"{rule['title']}: {_line_text(relevant)}, day {days} of the first {window} days "
        f"(counted to {reference}). {rule['message']}"
    )
    return _item(rule, severity, message)


def _platelet_note(latest: dict[str, LabRow], latest_date: date | None, rules: list[dict]) -> str:
    if "platelets" not in latest:
        return "No platelet count: check it before choosing the prophylaxis."
    row = latest["platelets"]
    text = f"Latest {_describe(row)}"
    for rule in rules:
        if rule.get("test") == "platelets" and rule.get("bands"):
            value, _ = _canonical(row)
            matched = _bands_matching(value, rule["bands"])
            if matched:
                band = _band_text(matched[0], rule.get("unit") or "")
                text += f", in the band {band} of {rule['id']}: weigh bleeding risk"
    return text + "." + _stale_note(row, latest_date)


def _bone_reminder(lines: list[TherapyLine]) -> dict:
    return {
        "topic": "bone",
        "severity": "info",
        "message": (
            f"{len(lines)} therapy line(s) recorded: check that a bone-modifying agent "
            "(bisphosphonate or denosumab) is given or its omission documented. A reminder "
            "without a curated rule in the knowledge base."
        ),
        "source": [],
        "rule_id": "SC-BONE-BMA-REMINDER",
        "status": None,
    }
