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


def decision_classes(report: Mapping[str, Any]) -> dict[str, list[tuple[str, frozenset[str]]]]:
    """Drug class -> what puts it on the table now, with that regimen's drugs: the ongoing
    line and the proposed options (regimen names), in that order."""
    reasons: dict[str, list[tuple[str, frozenset[str]]]] = {}
    history = report.get("therapy_history") or {}
    current = history.get("current_line")
    if isinstance(current, Mapping):
        drugs = frozenset(_names(current.get("drugs")))
        for drug_class in _names(current.get("drug_classes")):
            reasons.setdefault(drug_class, []).append(
                (f"ongoing line {current.get('line')} ({current.get('regimen')})", drugs)
            )
    options = report.get("therapy_options") or []
    for option in [item for item in options if isinstance(item, Mapping)][:MAX_OPTIONS]:
        drugs = frozenset(_names(option.get("drugs")))
        for drug_class in _names(option.get("drug_classes")):
            reasons.setdefault(drug_class, []).append(
                (f"option {option.get('rank')} ({option.get('regimen')})", drugs)
            )
    return reasons


def _bears_on(
    finding: Mapping[str, Any], decisions: Mapping[str, list[tuple[str, frozenset[str]]]]
) -> list[str]:
    """The ongoing line and proposed options a resistance finding argues against: those
    sharing one of its drugs, or one of its classes when the finding names no drug (a row
    about single-agent bortezomib does not bear on a carfilzomib regimen)."""
    if finding.get("implication") != "resistance":
        return []
    named = set(_names(finding.get("drugs")))
    seen: list[str] = []
    for drug_class in _names(finding.get("drug_classes")):
        for reason, drugs in decisions.get(drug_class, []):
            if (not named or named & drugs) and reason not in seen:
                seen.append(reason)
    return seen


def _tier(
    finding: Mapping[str, Any], decisions: Mapping[str, list[tuple[str, frozenset[str]]]]
) -> int:
    implication = finding.get("implication")
    if implication == "resistance":
        return 0 if _bears_on(finding, decisions) else 1
    return 1 + _rank(implication, IMPLICATION_ORDER)


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
