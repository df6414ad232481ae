"""Finding cards for report.html: one card per observed alteration, with a row for each
drug class or implication it bears on, ordered by clinical weight.

A biomarker row of the knowledge base makes one claim (one alteration, one implication,
one set of drugs), so an alteration that bears on several classes matches several rows;
a reader needs the alteration once with everything it implies. Weight, highest first:
resistance to a class of the ongoing line or of a proposed option (the options the
tumour-board summary shows), other resistance, sensitivity, eligibility, prognostic;
then evidence level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mmresist.report.summary import MAX_OPTIONS
from mmresist.vocab import EVIDENCE_LEVELS

IMPLICATION_ORDER = ("resistance", "sensitivity", "eligibility", "prognostic")


def _rank(value: object, order: Sequence[str]) -> int:
    return order.index(value) if value in order else len(order)


def _names(values: object) -> list[str]:
    if not isinstance(values, (list, tuple)):
        return []
    return [str(value) for value in values]


def decision_classes(report: Mapping[str, Any]) -> dict[str, list[str]]:
    """Drug class -> what puts it on the table now: the ongoing line and the proposed
    options (regimen names), in that order."""
    reasons: dict[str, list[str]] = {}
    history = report.get("therapy_history") or {}
    current = history.get("current_line")
    if isinstance(current, Mapping):
        for drug_class in _names(current.get("drug_classes")):
            reasons.setdefault(drug_class, []).append(
                f"ongoing line {current.get('line')} ({current.get('regimen')})"
            )
    options = report.get("therapy_options") or []
    for option in [item for item in options if isinstance(item, Mapping)][:MAX_OPTIONS]:
        for drug_class in _names(option.get("drug_classes")):
            reasons.setdefault(drug_class, []).append(
                f"option {option.get('rank')} ({option.get('regimen')})"
            )
    return reasons


def _tier(finding: Mapping[str, Any], decisions: Mapping[str, list[str]]) -> int:
    implication = finding.get("implication")
    if implication == "resistance":
        hits = set(_names(finding.get("drug_classes"))) & set(decisions)
        return 0 if hits else 1
    return 1 + _rank(implication, IMPLICATION_ORDER)


def _bears_on(finding: Mapping[str, Any], decisions: Mapping[str, list[str]]) -> list[str]:
    if finding.get("implication") != "resistance":
        return []
    seen: list[str] = []
    for drug_class in _names(finding.get("drug_classes")):
        for reason in decisions.get(drug_class, []):
            if reason not in seen:
                seen.append(reason)
    return seen


def alteration_cards(
    findings: Iterable[Mapping[str, Any]], report: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The cards, heaviest first. Each card: gene, alteration, evidence (what was observed,
    from its first row), allele_state when its rows agree, weight (0 = resistance to the
    ongoing line or a proposed option) and rows (each finding with ``bears_on``)."""
    decisions = decision_classes(report)
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for finding in findings:
        key = (str(finding.get("gene") or ""), str(finding.get("alteration") or ""))
        groups.setdefault(key, []).append(finding)
    cards = []
    for (gene, alteration), entries in groups.items():
        entries.sort(
            key=lambda f: (
                _tier(f, decisions),
                _rank(f.get("evidence_level"), EVIDENCE_LEVELS),
                str(f.get("biomarker_id") or ""),
            )
        )
        states = {repr(entry.get("allele_state")) for entry in entries}
        rows = [{"finding": entry, "bears_on": _bears_on(entry, decisions)} for entry in entries]
        cards.append(
            {
                "gene": gene,
                "alteration": alteration,
                "evidence": entries[0].get("evidence") or {},
                "allele_state": entries[0].get("allele_state") if len(states) == 1 else None,
                "states_differ": len(states) > 1,
                "weight": _tier(entries[0], decisions),
                "implication": entries[0].get("implication"),
                "best_level": min(
                    _rank(entry.get("evidence_level"), EVIDENCE_LEVELS) for entry in entries
                ),
                "rows": rows,
            }
        )
    cards.sort(
        key=lambda card: (card["weight"], card["best_level"], card["gene"], card["alteration"])
    )
    return cards
