"""report.pdf: the tumour-board summary, laid out by Typst from report.json.

The summary is a selection of report.json (key findings, top options, eligible and possible
trials, urgent flags, risk, MRD and a therapy timeline), never a second reading of the
inputs, and it names the full report and the sha256 of the report.json it came from. Data
reaches Typst as one JSON string in ``sys.inputs`` that the template parses with
``json()``: text from report.json is only ever a string value, never markup, so no input
can act on the layout. Typst embeds its fonts and is told to ignore the system's, and the
document carries no date, so the same report.json gives the same bytes on every machine.
Lists are capped so that the summary stays within a few pages however long the report;
what is cut is counted and left to report.html.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from datetime import date
from importlib import resources
from typing import Any

from mmresist.errors import MmresistError
from mmresist.interpret.options import AGAINST_RULES
from mmresist.io.files import atomic_write_bytes
from mmresist.vocab import DRUG_CLASS_LABELS, EVIDENCE_LEVELS

TEMPLATE = "summary.typ"
HTML_NAME = "report.html"

# Caps that keep every summary within four A4 pages (tests/unit/test_summary.py counts
# them on every demo and scenario patient); the rest is counted and left to report.html.
MAX_ALTERATIONS = 16
MAX_OPTIONS = 5
MAX_RATIONALE = 3
MAX_CAUTIONS = 2
MAX_TRIALS = 8
MAX_UNKNOWN_CRITERIA = 2

# What changes the choice of drug comes first.
IMPLICATION_ORDER = ("resistance", "sensitivity", "eligibility", "prognostic")
SHOWN_MATCHES = ("eligible", "possible")
EXPOSURE_WORDS = {"observed": "exposed", "predicted_not_exposed": "predicted; not yet exposed"}
CAR_T_CLASSES = frozenset(name for name in DRUG_CLASS_LABELS if name.endswith("_car_t"))


class SummaryError(MmresistError):
    """report.json cannot be laid out (a broken file, or a Typst error in the template)."""


def source_link(source: str) -> str | None:
    """The public page of a PMID, DOI or NCT number; None for a citation in words."""
    text = source.strip()
    upper = text.upper()
    if upper.startswith("PMID:") and text[5:].strip().isdigit():
        return f"https://pubmed.ncbi.nlm.nih.gov/{text[5:].strip()}/"
    if upper.startswith("DOI:") and len(text) > 4:
        return f"https://doi.org/{text[4:].strip()}"
    if upper.startswith("NCT") and text[3:].isdigit() and len(text) == 11:
        return f"https://clinicaltrials.gov/study/{upper}"
    return None


def _sources(values: Iterable[Any] | None) -> list[dict[str, str | None]]:
    return [{"text": str(value), "url": source_link(str(value))} for value in values or ()]


def _classes(values: Iterable[str] | None) -> str:
    return ", ".join(DRUG_CLASS_LABELS.get(value, value) for value in values or ())


def _words(value: Any) -> str:
    """A compact reading of a value whose shape other modules own (approval, benefit...):
    mappings as `key: value` pairs, lists joined, None and empty left out."""
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        parts = []
        for key, item in value.items():
            text = _words(item)
            if text:
                parts.append(f"{str(key).replace('_', ' ')}: {text}")
        return "; ".join(parts)
    if isinstance(value, list | tuple):
        return ", ".join(text for text in (_words(item) for item in value) if text)
    return str(value)


def _state(allele_state: Any) -> str:
    """The allele state of a finding ({state, basis}); unknown is left out of a summary line."""
    if isinstance(allele_state, Mapping):
        allele_state = allele_state.get("state")
    return "" if allele_state in (None, "unknown") else _words(allele_state)


def _exposure(value: Any) -> str:
    text = _words(value)
    return EXPOSURE_WORDS.get(text, text)


def _headline(value: Any) -> str:
    """A section another module owns, in one line: its message, else its flag or status."""
    if isinstance(value, Mapping):
        for key in ("message", "flag", "status"):
            if value.get(key) is not None and value.get(key) != "":
                return _words(value[key])
        return ""
    return _words(value)


def _level_key(level: Any) -> int:
    return EVIDENCE_LEVELS.index(level) if level in EVIDENCE_LEVELS else len(EVIDENCE_LEVELS)


def _implication_key(implication: Any) -> int:
    if implication in IMPLICATION_ORDER:
        return IMPLICATION_ORDER.index(implication)
    return len(IMPLICATION_ORDER)


def key_findings(findings: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]], int]:
    """One line per observed alteration (gene + alteration), each with the implications it
    carries: level, drug classes, sources and the biomarker id. Alterations with a
    resistance implication come first, then by best evidence level. Returns the lines shown
    and how many alterations were left out."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for finding in findings or ():
        groups.setdefault((finding["gene"], finding["alteration"]), []).append(finding)
    keyed: list[tuple[tuple[int, int, str, str], dict[str, Any]]] = []
    for (gene, alteration), entries in groups.items():
        entries = sorted(
            entries,
            key=lambda f: (
                _implication_key(f["implication"]),
                _level_key(f["evidence_level"]),
                f["biomarker_id"],
            ),
        )
        evidence = entries[0].get("evidence") or {}
        detail = [
            _words(evidence.get("status")),
            f"VAF {evidence['vaf']:.2f}" if isinstance(evidence.get("vaf"), float) else "",
            _state(entries[0].get("allele_state")),
        ]
        key = (
            _implication_key(entries[0]["implication"]),
            min(_level_key(f["evidence_level"]) for f in entries),
            gene,
            alteration,
        )
        line: dict[str, Any] = {
            "gene": gene,
            "alteration": alteration,
            "detail": ", ".join(text for text in detail if text),
            "implications": [
                {
                    "biomarker_id": f["biomarker_id"],
                    "implication": f["implication"],
                    "classes": _classes(f.get("drug_classes")),
                    "level": f["evidence_level"],
                    "exposure": _exposure(f.get("exposure")),
                    "sources": _sources(f.get("sources")),
                }
                for f in entries
            ],
        }
        keyed.append((key, line))
    keyed.sort(key=lambda pair: pair[0])
    lines = [line for _, line in keyed]
    return lines[:MAX_ALTERATIONS], max(0, len(lines) - MAX_ALTERATIONS)


# Rationale items the summary's own Approval and Benefit lines already say (rule -> line).
SUMMARISED_BY = {
    "pivotal_trial": "benefit",
    "evidence_tier": "benefit",
    "benefit": "benefit",
    "approval": "approval",
}


def _approval_line(approval: Any) -> str:
    """``US approved 2016-01-21, on label`` (with the reasons when off label or unknown)."""
    if not isinstance(approval, Mapping):
        return _words(approval)
    status = _words(approval.get("status")).replace("_", " ")
    date_text = f" {approval['date']}" if approval.get("date") else ""
    label = _words(approval.get("label")).replace("_", " ")
    text = f"{_words(approval.get('region'))} {status}{date_text}".strip()
    if label:
        text += f", {label}"
    reasons = _words(approval.get("reasons"))
    if reasons and label != "on label":
        text += f" ({reasons})"
    if approval.get("verified") is False:
        text += "; curation unverified"
    return text


def _benefit_line(benefit: Any) -> str:
    """``PFS HR 0.53 ... (ENDEAVOR versus Vd; band moderate)``."""
    if not isinstance(benefit, Mapping):
        return _words(benefit)
    where = _words(benefit.get("trial"))
    if benefit.get("comparator"):
        where += f" versus {_words(benefit['comparator'])}"
    band = _words(benefit.get("band")).replace("_", " ")
    detail = "; ".join(part for part in (where, f"band {band}" if band else "") if part)
    text = _words(benefit.get("value_text"))
    return f"{text} ({detail})".strip() if detail else text


def top_options(options: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]], int]:
    """The first MAX_OPTIONS ranked options, each with its rationale in brief: what speaks
    against it first, then the other patient-specific reasons; approval and pivotal benefit
    get one line each instead of their rationale items."""
    shown = []
    for option in (options or [])[:MAX_OPTIONS]:
        kept: list[dict[str, Any]] = []
        approval_sources: list[Any] = []
        for item in option.get("rationale") or []:
            line = SUMMARISED_BY.get(item.get("rule") or "")
            if not line or not option.get(line):
                kept.append(item)
            elif line == "approval":
                approval_sources += item.get("sources") or []
        # What speaks against an option comes first: a brief summary must not cut it off.
        rationale = sorted(kept, key=lambda item: item.get("rule") not in AGAINST_RULES)
        # The benefit line cites the trial's own sources; the ranking-policy citations of
        # its folded items stay in report.html.
        benefit = option.get("benefit")
        benefit_sources = benefit.get("sources") if isinstance(benefit, Mapping) else None
        cautions = option.get("cautions") or []
        shown.append(
            {
                "rank": str(option.get("rank", "")),
                "regimen": option["regimen"],
                "status": _words(option.get("status")).replace("_", "-"),
                "level": _words(option.get("evidence_level")),
                "classes": _classes(option.get("drug_classes")),
                "rationale": [
                    {"text": _words(item.get("text")), "sources": _sources(item.get("sources"))}
                    for item in rationale[:MAX_RATIONALE]
                ],
                "more_rationale": max(0, len(rationale) - MAX_RATIONALE),
                "cautions": [_words(caution) for caution in cautions[:MAX_CAUTIONS]],
                "more_cautions": max(0, len(cautions) - MAX_CAUTIONS),
                "approval": _approval_line(option.get("approval")),
                "approval_sources": _sources(dict.fromkeys(approval_sources)),
                "benefit": _benefit_line(benefit),
                "benefit_sources": _sources(benefit_sources),
                "exposure": _words(option.get("exposure")),
                "sources": _sources(option.get("sources")),
            }
        )
    return shown, max(0, len(options or []) - len(shown))


def open_trials(trials: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]], int]:
    """Eligible, then possible trials (a closed or ineligible one is not shown here)."""
    chosen = [trial for trial in trials or () if trial.get("match") in SHOWN_MATCHES]
    chosen.sort(key=lambda trial: SHOWN_MATCHES.index(trial["match"]))
    shown = []
    for trial in chosen[:MAX_TRIALS]:
        unknown = trial.get("unknown") or []
        checked = trial.get("status_checked")
        shown.append(
            {
                "nct_id": trial["nct_id"],
                "url": source_link(trial["nct_id"]),
                "name": _words(trial.get("short_name")),
                "title": _words(trial.get("title")),
                "phase": _words(trial.get("phase")),
                "status": _words(trial.get("status"))
                + (f" (checked {checked})" if checked else " (never checked)"),
                "match": trial["match"],
                "unknown": [_words(item) for item in unknown[:MAX_UNKNOWN_CRITERIA]],
                "more_unknown": max(0, len(unknown) - MAX_UNKNOWN_CRITERIA),
            }
        )
    return shown, max(0, len(chosen) - len(shown))


def care_flags(flags: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    if flags is None:
        return None
    urgent = [flag for flag in flags if flag.get("severity") == "urgent"]
    return {
        "urgent": [
            {
                "topic": _words(flag.get("topic")),
                "message": _words(flag.get("message")),
                "sources": _sources(flag.get("source")),
            }
            for flag in urgent
        ],
        "others": len(flags) - len(urgent),
    }


def risk_summary(risk: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not risk:
        return None
    high = risk.get("high_risk")
    verdict = "high risk" if high is True else "not high risk" if high is False else "unknown"
    criteria = risk.get("criteria") or []
    staging = []
    for key, name in (("iss", "ISS"), ("r_iss", "R-ISS"), ("r2_iss", "R2-ISS")):
        stage = (risk.get("staging") or {}).get(key)
        if stage is None:
            continue
        if stage.get("stage"):
            staging.append(f"{name} {stage['stage']}")
        else:
            staging.append(f"{name} {_words(stage.get('reason')) or 'not computable'}")
    return {
        "verdict": verdict,
        "met": [_words(c.get("label")) for c in criteria if c.get("status") == "met"],
        "unknown": sum(1 for c in criteria if c.get("status") == "unknown"),
        "staging": staging,
    }


def mrd_summary(mrd: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not mrd or not mrd.get("latest_result"):
        return None
    sensitivity = mrd.get("latest_sensitivity")
    method = _words(mrd.get("latest_method"))
    if isinstance(sensitivity, float | int):
        method = f"{method}, sensitivity {sensitivity:g}"
    return {
        "latest": f"{mrd['latest_result']} on {_words(mrd.get('latest_date'))} ({method})",
        "trend": _words(mrd.get("trend")).replace("_", " "),
        "explanation": _words(mrd.get("trend_explanation")),
    }


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def timeline(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """The therapy swimmer lane: one row per line (bars for the line or its phases) with
    progression and CAR-T marks, and a row of sample collections and MRD results. Positions
    are fractions of the span from the first to the last date, rounded so that the layout
    is reproducible."""
    history = report.get("therapy_history") or {}
    lines = history.get("lines") or []
    samples = report.get("samples") or []
    measurements = (report.get("mrd") or {}).get("measurements") or []
    days = [
        day
        for day in (
            *(_day(line.get(key)) for line in lines for key in ("start_date", "end_date")),
            *(_day(line.get("progression_date")) for line in lines),
            *(_day(sample.get("collection_date")) for sample in samples),
            *(_day(measurement.get("date")) for measurement in measurements),
        )
        if day
    ]
    if not lines or not days:
        return None
    first, last = min(days), max(days)
    span = max((last - first).days, 1)

    def at(value: Any) -> float | None:
        day = _day(value)
        return None if day is None else round((day - first).days / span, 4)

    rows = []
    for line in lines:
        phases = line.get("phases") or [line]
        bars = []
        for phase in phases:
            start = at(phase.get("start_date"))
            end = at(phase.get("end_date"))
            if start is None:
                continue
            bars.append(
                {
                    "x": start,
                    "width": round(max((1.0 if end is None else end) - start, 0.004), 4),
                    "ongoing": end is None,
                    "label": _words(phase.get("phase")) if phase is not line else "",
                }
            )
        marks = []
        progression = at(line.get("progression_date"))
        if progression is not None:
            marks.append({"x": progression, "kind": "progression"})
        if CAR_T_CLASSES & set(line.get("drug_classes") or ()):
            start = at(line.get("start_date"))
            if start is not None:
                marks.append({"x": start, "kind": "car_t"})
        rows.append(
            {
                "label": f"L{line.get('line')} {_words(line.get('regimen'))}",
                "response": _words(line.get("best_response")),
                "bars": bars,
                "marks": marks,
            }
        )
    events = [
        {"x": x, "kind": "sample"}
        for x in (at(sample.get("collection_date")) for sample in samples)
        if x is not None
    ]
    for measurement in measurements:
        x = at(measurement.get("date"))
        if x is not None:
            kind = "mrd_negative" if measurement.get("result") == "negative" else "mrd_positive"
            events.append({"x": x, "kind": kind})
    years = [
        {"x": at(f"{year}-01-01"), "label": str(year)}
        for year in range(first.year + 1, last.year + 1)
    ]
    return {
        "first": first.isoformat(),
        "last": last.isoformat(),
        "rows": rows,
        "events": events,
        "years": years,
        "table": [
            {
                "line": str(line.get("line", "")),
                "regimen": _words(line.get("regimen")),
                "dates": f"{_words(line.get('start_date'))} to "
                f"{_words(line.get('end_date')) or 'ongoing'}",
                "response": _words(line.get("best_response")) or "unknown",
                "progression": _words(line.get("progression_date")) or "none recorded",
            }
            for line in lines
        ],
    }


def therapy_summary(history: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not history:
        return None
    refractory = []
    if history.get("triple_class_refractory"):
        refractory.append("triple-class refractory")
    if history.get("penta_refractory"):
        refractory.append("penta-refractory")
    return {
        "lines": str(history.get("line_count", "")),
        "status": ", ".join(refractory),
        "refractory": _classes(history.get("refractory_classes")) or "none",
    }


def summary_data(
    report: Mapping[str, Any], *, json_sha256: str, html_name: str = HTML_NAME
) -> dict[str, Any]:
    """Everything the template shows, as plain strings, numbers and lists."""
    findings, more_findings = key_findings(report.get("findings"))
    options, more_options = top_options(report.get("therapy_options"))
    trials, more_trials = open_trials(report.get("trials"))
    provenance = report.get("provenance") or {}
    return {
        "patient_id": report["patient_id"],
        "disclaimer": report.get("disclaimer") or "",
        "html_name": html_name,
        "json_sha256": json_sha256,
        "versions": f"mmresist {_words(provenance.get('pipeline_version'))}, knowledge "
        f"{_words(provenance.get('knowledge_version'))}, "
        f"{_words(provenance.get('genome_build'))}",
        "samples": [
            f"{_words(s.get('sample_id'))} ({_words(s.get('timepoint'))}, "
            f"{_words(s.get('collection_date'))})"
            for s in report.get("samples") or ()
        ],
        "therapy": therapy_summary(report.get("therapy_history")),
        "aggressive_relapse": _headline(report.get("aggressive_relapse")),
        "findings": findings,
        "more_findings": more_findings,
        "options": options,
        "more_options": more_options,
        "trials": trials,
        "more_trials": more_trials,
        "trials_given": report.get("trials") is not None,
        "care": care_flags(report.get("supportive_care")),
        "risk": risk_summary(report.get("risk")),
        "mrd": mrd_summary(report.get("mrd")),
        "timeline": timeline(report),
        "not_provided": [_words(item) for item in report.get("not_provided") or ()],
        "qc_warnings": len((report.get("qc") or {}).get("warnings") or ()),
    }


def _template() -> bytes:
    return (resources.files("mmresist.report") / "templates" / TEMPLATE).read_bytes()


def pdf_bytes(report_json: bytes, *, html_name: str = HTML_NAME) -> bytes:
    """The summary PDF of one report.json's bytes; the same bytes give the same PDF."""
    import typst

    try:
        report = json.loads(report_json)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SummaryError(f"report.json is not valid JSON: {error}") from None
    data = summary_data(
        report, json_sha256=hashlib.sha256(report_json).hexdigest(), html_name=html_name
    )
    try:
        # No system fonts: Typst's embedded ones look the same on every machine.
        return typst.compile(
            _template(),
            sys_inputs={"data": json.dumps(data, sort_keys=True, ensure_ascii=False)},
            ignore_system_fonts=True,
            font_paths=[],
            format="pdf",
        )
    except typst.TypstError as error:
        raise SummaryError(f"report.pdf layout failed: {error.message}") from None


def write_pdf(*, report_path: str | os.PathLike, pdf_path: str | os.PathLike) -> None:
    """Write report.pdf, the tumour-board summary of report.json (at most four A4 pages)."""
    with open(report_path, "rb") as stream:
        data = stream.read()
    atomic_write_bytes(pdf_path, pdf_bytes(data))
