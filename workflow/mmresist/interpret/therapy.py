"""A patient's therapy history: exposure and IMWG refractoriness per drug and class."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from mmresist.errors import InputError, KnowledgeError
from mmresist.io.tabular import as_date
from mmresist.model import ClassExposure, TherapyHistory, TherapyLine, TherapyLineRow
from mmresist.vocab import DRUG_CLASSES

# IMWG (Rajkumar 2011): refractory = no response (less than MR) or progression on therapy
# or within 60 days of the last dose.
REFRACTORY_WINDOW_DAYS = 60
NO_RESPONSE = frozenset({"SD", "PD"})

# Autologous transplant is conditioned with high-dose melphalan, so it counts as an
# exposure to melphalan (an alkylator); therapy_lines.tsv writes it `ASCT`. Keys: lower
# case, no spaces.
TRANSPLANT_TOKENS = frozenset(
    {"asct", "auto-sct", "autosct", "hdm", "hdm-asct", "hdm/asct", "mel200", "mel140"}
)
TRANSPLANT_DRUG = "melphalan"

# Used only when the knowledge base gives no class for these drugs, so that an ASCT line
# or dexamethasone is never silently classless (glucocorticoids are a drug class).
FALLBACK_CLASSES = {
    "melphalan": ["alkylator"],
    "dexamethasone": ["glucocorticoid"],
    "prednisone": ["glucocorticoid"],
    "prednisolone": ["glucocorticoid"],
    "methylprednisolone": ["glucocorticoid"],
}

# MAMMOTH (Gandhi 2019) penta-refractory: an anti-CD38 antibody plus these four drugs.
PENTA_DRUGS = frozenset({"bortezomib", "carfilzomib", "lenalidomide", "pomalidomide"})
TRIPLE_CLASSES = ("imid", "proteasome_inhibitor", "anti_cd38")

REGIMEN_EXPECTED = (
    "generic drug names joined by '+', a brand name, a known abbreviation (e.g. VRd, DKd) or ASCT"
)


class RegimenKnowledge(Protocol):
    """What therapy_history needs from the knowledge base."""

    def resolve_regimen(self, text: str) -> list[str]:
        """Generic drug names of a regimen; ValueError naming an unknown token."""
        ...

    def drug_classes(self, drug: str) -> list[str]:
        """Drug-class ids (``vocab.DRUG_CLASSES``) of a generic drug name."""
        ...


def therapy_history(
    lines: list[TherapyLineRow],
    knowledge: RegimenKnowledge,
    *,
    reference_date: date | str | None = None,
) -> TherapyHistory:
    """Exposure and refractoriness of one patient from their validated therapy_lines rows.

    ``lines`` are rows of one patient as ``clinical.read_table`` returns them (dates as
    ``date`` or ISO text; ``_file``/``_line`` are cited in errors). A drug of a line is
    refractory when the ``refractory`` column says yes (``no`` overrides the rule), else
    by IMWG: progression on therapy (progression with no end date, or on or before it),
    progression within 60 days of the last dose, or no response (best response SD or PD).
    Refractoriness is per drug across lines: refractory in any line means refractory,
    even if a later line with the same drug responded (the MAMMOTH convention).

    Returns the report.json ``therapy_history`` keys (lists sorted, dates as ISO text) plus
    ``last_exposure``: per exposed class, the last dose date, whether the line is still
    ongoing, and the days from that dose to ``reference_date`` (``None`` without one;
    0 while ongoing or when the reference date falls before the last dose).
    """
    reference = _as_date(reference_date, None, "reference_date") if reference_date else None
    _check_one_patient(lines)
    ordered = sorted(lines, key=lambda row: int(row["line"]))

    entries: list[TherapyLine] = []
    classes_of: dict[str, list[str]] = {}
    refractory_drugs: set[str] = set()
    for row in ordered:
        drugs, continued = _resolve(row, knowledge)
        for drug in drugs:
            if drug not in classes_of:
                classes_of[drug] = _classes(drug, knowledge)
        start = _as_date(row.get("start_date"), row, "start_date")
        end = _as_date(row.get("end_date"), row, "end_date")
        progression = _as_date(row.get("progression_date"), row, "progression_date")
        if start is None:
            raise InputError(
                "required value is missing",
                file=row.get("_file"),
                line=row.get("_line"),
                field="start_date",
                expected="an ISO 8601 date YYYY-MM-DD",
                got="",
            )
        for column, value in (("end_date", end), ("progression_date", progression)):
            if value is not None and value < start:
                raise InputError(
                    f"{column} is before start_date",
                    file=row.get("_file"),
                    line=row.get("_line"),
                    field=column,
                    expected=f"a date on or after {start.isoformat()}",
                    got=value.isoformat(),
                )
        refractory, basis = refractory_decision(
            end_date=end,
            progression_date=progression,
            best_response=row.get("best_response"),
            refractory=str(row["refractory"]).strip().lower() if row.get("refractory") else None,
        )
        # Progression on or soon after the last dose speaks only of the drugs still given
        # at the end of the line: after a transplant, the maintenance drugs (or melphalan
        # when nothing follows). Induction drugs stopped before the transplant were
        # exposed, but their last dose is not in the table.
        by_progression = refractory and basis.startswith("progression")
        line_refractory = sorted(continued) if by_progression else (drugs if refractory else [])
        if by_progression and set(continued) != set(drugs):
            stopped = ", ".join(sorted(set(drugs) - set(continued)))
            basis += f"; applies to the drugs given after the transplant, not to {stopped}"
        refractory_drugs.update(line_refractory)
        entries.append(
            {
                "line": int(row["line"]),
                "regimen": row["regimen"],
                "drugs": drugs,
                "drug_classes": sorted({c for drug in drugs for c in classes_of[drug]}),
                "start_date": start.isoformat(),
                "end_date": end.isoformat() if end else None,
                "best_response": row.get("best_response"),
                "progression_date": progression.isoformat() if progression else None,
                "refractory_drugs": list(line_refractory),
                "refractory_basis": basis,
            }
        )

    exposed_drugs = sorted({drug for entry in entries for drug in entry["drugs"]})
    exposed_classes = sorted({c for drug in exposed_drugs for c in classes_of[drug]})
    refractory_classes = sorted({c for drug in refractory_drugs for c in classes_of[drug]})
    return {
        "lines": entries,
        "line_count": len(entries),
        "exposed_drugs": exposed_drugs,
        "exposed_classes": exposed_classes,
        "refractory_drugs": sorted(refractory_drugs),
        "refractory_classes": refractory_classes,
        "triple_class_refractory": all(c in refractory_classes for c in TRIPLE_CLASSES),
        "penta_refractory": "anti_cd38" in refractory_classes and PENTA_DRUGS <= refractory_drugs,
        "last_exposure": _last_exposure(entries, classes_of, reference),
    }


def refractory_decision(
    *,
    end_date: date | None,
    progression_date: date | None,
    best_response: str | None,
    refractory: str | None,
) -> tuple[bool, str]:
    """Whether a line's drugs are refractory, and the basis in words for the report."""
    if refractory == "yes":
        return True, "recorded as refractory (refractory column: yes)"
    if refractory == "no":
        return False, "recorded as not refractory (refractory column: no, overrides the rule)"
    gap = None
    if progression_date is not None:
        if end_date is None:
            return True, "progression on therapy (progression recorded, line not ended)"
        if progression_date <= end_date:
            return True, "progression on therapy (progression on or before the last dose)"
        gap = (progression_date - end_date).days
        if gap <= REFRACTORY_WINDOW_DAYS:
            return True, (
                f"progression {gap} days after the last dose "
                f"(within {REFRACTORY_WINDOW_DAYS} days, IMWG)"
            )
    if best_response in NO_RESPONSE:
        return True, f"no response (best response {best_response}, less than MR, IMWG)"
    if gap is not None:
        return False, (
            f"not refractory: progression {gap} days after the last dose "
            f"(more than {REFRACTORY_WINDOW_DAYS} days)"
        )
    response = f"; best response {best_response}" if best_response else ""
    return False, (
        f"not refractory: no progression recorded on therapy or within "
        f"{REFRACTORY_WINDOW_DAYS} days of the last dose{response}"
    )


def _resolve(row: TherapyLineRow, knowledge: RegimenKnowledge) -> tuple[list[str], list[str]]:
    """Sorted generic drug names of a line's regimen (ASCT counts as melphalan), and those
    given up to the end of the line: every drug without a transplant, else the drugs
    written after the last ASCT (maintenance), or melphalan when nothing follows it."""
    regimen = str(row.get("regimen") or "")
    tokens = [token.strip() for token in regimen.split("+")]
    if not regimen.strip() or any(not token for token in tokens):
        raise InputError(
            "empty drug name in regimen",
            file=row.get("_file"),
            line=row.get("_line"),
            field="regimen",
            expected=REGIMEN_EXPECTED,
            got=regimen,
        )
    drugs: set[str] = set()
    after_transplant: set[str] | None = None
    for token in tokens:
        if "".join(token.split()).lower() in TRANSPLANT_TOKENS:
            drugs.add(TRANSPLANT_DRUG)
            after_transplant = set()
            continue
        try:
            resolved = knowledge.resolve_regimen(token)
        except ValueError as error:
            raise InputError(
                f"unknown drug or regimen in '{regimen}': {error}",
                file=row.get("_file"),
                line=row.get("_line"),
                field="regimen",
                expected=REGIMEN_EXPECTED,
                got=token,
            ) from None
        names = {drug.strip().lower() for drug in resolved}
        drugs.update(names)
        if after_transplant is not None:
            after_transplant.update(names)
    if after_transplant is None:
        return sorted(drugs), sorted(drugs)
    return sorted(drugs), sorted(after_transplant or {TRANSPLANT_DRUG})


def _classes(drug: str, knowledge: RegimenKnowledge) -> list[str]:
    try:
        classes = list(knowledge.drug_classes(drug))
    except (KeyError, ValueError):
        classes = []
    if not classes:
        classes = FALLBACK_CLASSES.get(drug, [])
    unknown = [c for c in classes if c not in DRUG_CLASSES]
    if unknown:
        # A class outside the vocabulary would silently miss every class rule.
        raise KnowledgeError(
            f"drug '{drug}' has class ids not in the drug-class vocabulary: {', '.join(unknown)}; "
            f"valid ids (mmresist.vocab.DRUG_CLASSES): {', '.join(DRUG_CLASSES)}"
        )
    return sorted(set(classes))


def _last_exposure(
    entries: list[TherapyLine], classes_of: dict[str, list[str]], reference: date | None
) -> dict[str, ClassExposure]:
    """Per class: last dose date of the latest line using it, and days to ``reference``.

    A line without end_date is ongoing only when it is the patient's latest line; an
    earlier line without end_date has an unknown last dose (never guessed).
    """
    latest_line = entries[-1]["line"] if entries else None
    result: dict[str, ClassExposure] = {}
    classes = sorted({c for entry in entries for drug in entry["drugs"] for c in classes_of[drug]})
    for drug_class in classes:
        entry = [e for e in entries if drug_class in e["drug_classes"]][-1]
        ongoing = entry["end_date"] is None and entry["line"] == latest_line
        last = entry["end_date"]
        days = None
        if reference is not None and ongoing:
            days = 0
        elif reference is not None and last is not None:
            days = max(0, (reference - date.fromisoformat(last)).days)
        result[drug_class] = {
            "line": entry["line"],
            "last_dose_date": last,
            "ongoing": ongoing,
            "days_since_last_dose": days,
        }
    return result


def _as_date(value: Any, row: TherapyLineRow | None, column: str) -> date | None:
    """``as_date`` with an InputError naming the row and column instead of a ValueError."""
    try:
        return as_date(value)
    except ValueError:
        raise InputError(
            "invalid date",
            file=row.get("_file") if row else None,
            line=row.get("_line") if row else None,
            field=column,
            expected="an ISO 8601 date YYYY-MM-DD",
            got=str(value),
        ) from None


def _check_one_patient(lines: list[TherapyLineRow]) -> None:
    patients = sorted({str(row.get("patient_id")) for row in lines})
    if len(patients) > 1:
        row = next(row for row in lines if str(row.get("patient_id")) != patients[0])
        raise InputError(
            "therapy lines of more than one patient passed together: " + ", ".join(patients),
            file=row.get("_file"),
            line=row.get("_line"),
            field="patient_id",
            expected=f"rows of patient {patients[0]} only",
            got=str(row.get("patient_id")),
        )
