"""A patient's therapy history: lines and their phases, exposure, IMWG refractoriness per
drug and class, intolerance, the line being given now and relapses after CAR-T."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, cast

from mmresist.errors import InputError, KnowledgeError
from mmresist.io.tabular import as_date
from mmresist.model import (
    CarTRelapse,
    ClassExposure,
    CurrentLine,
    TherapyHistory,
    TherapyLine,
    TherapyLineRow,
    TherapyPhase,
)
from mmresist.vocab import DRUG_CLASSES

# IMWG (Rajkumar 2011): refractory = no response (less than MR) or progression on therapy
# or within 60 days of the last dose.
REFRACTORY_WINDOW_DAYS = 60
NO_RESPONSE = frozenset({"SD", "PD"})
# Best response first; a line's best response is the best of its phases'.
RESPONSE_ORDER = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")

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

# A CAR-T product is infused once; its row's end date, when empty, is the infusion day.
CAR_T_CLASSES = frozenset({"bcma_car_t", "gprc5d_car_t"})
# `refractory=yes` speaks of the anti-myeloma drugs of a row, never of the steroid given
# with them or of transplant conditioning.
NOT_MARKED_BY_YES = frozenset({"glucocorticoid"})

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


@dataclass
class _Phase:
    """One row of a line: its drugs in the order given (``segments``: parts of the row that
    follow each other, split at a transplant), dates and the clinician's columns."""

    row: TherapyLineRow
    phase: str | None
    segments: list[list[str]]
    conditioning: set[str]
    start: date
    end: date | None
    progression: date | None
    verdict: str | None  # "yes", "no", "list" or None
    listed: set[str] = field(default_factory=set)
    intolerant: list[str] = field(default_factory=list)

    @property
    def drugs(self) -> list[str]:
        return sorted({drug for segment in self.segments for drug in segment})


def therapy_history(
    lines: list[TherapyLineRow],
    knowledge: RegimenKnowledge,
    *,
    reference_date: date | str | None = None,
) -> TherapyHistory:
    """Exposure, refractoriness and intolerance of one patient from their therapy_lines rows.

    ``lines`` are rows of one patient as ``clinical.read_table`` returns them (dates as
    ``date`` or ISO text; ``_file``/``_line`` are cited in errors). Rows sharing a line
    number are that line's phases, ordered by start date. A drug's refractoriness in a line
    is decided by the last phase that gave it: that row's ``refractory`` verdict when it
    gives one (``yes`` marks its anti-myeloma drugs, never a steroid or transplant
    conditioning; a ``+``-joined list marks those drugs and clears the row's other
    anti-myeloma drugs; ``no`` clears every drug of the row), else IMWG: progression on
    the drug or within 60 days of its last dose, or no response (SD/PD) in a phase that
    gave it. Refractory in any line means refractory (the MAMMOTH convention).

    Returns the report.json ``therapy_history`` keys (lists sorted, dates as ISO text) plus
    ``last_exposure``: per exposed class, the last dose date, whether it is still being
    given, and the days from that dose to ``reference_date`` (``None`` without one; 0 while
    ongoing or when the reference date falls before the last dose).
    """
    from mmresist.io.clinical import check_line_phases

    reference = _as_date(reference_date, None, "reference_date") if reference_date else None
    _check_one_patient(lines)
    check_line_phases(lines)
    grouped: dict[int, list[TherapyLineRow]] = {}
    for row in lines:
        grouped.setdefault(int(row["line"]), []).append(row)

    classes_of: dict[str, list[str]] = {}
    entries: list[TherapyLine] = []
    phases_of: dict[int, list[_Phase]] = {}
    for number in sorted(grouped):
        rows = sorted(grouped[number], key=lambda r: (_start(r), r.get("_line") or 0))
        phases = [_phase(row, knowledge) for row in rows]
        for phase in phases:
            for drug in phase.drugs:
                if drug not in classes_of:
                    classes_of[drug] = _classes(drug, knowledge)
        _one_time_car_t(phases, classes_of)
        phases_of[number] = phases
        entries.append(_line_entry(number, phases, classes_of))

    exposed_drugs = sorted({drug for entry in entries for drug in entry["drugs"]})
    refractory_drugs = sorted({drug for entry in entries for drug in entry["refractory_drugs"]})
    exposed_classes = sorted({c for drug in exposed_drugs for c in classes_of[drug]})
    refractory_classes = sorted({c for drug in refractory_drugs for c in classes_of[drug]})
    intolerant = sorted(
        {drug for phases in phases_of.values() for phase in phases for drug in phase.intolerant}
    )
    return {
        "lines": entries,
        "line_count": len(entries),
        "exposed_drugs": exposed_drugs,
        "exposed_classes": exposed_classes,
        "refractory_drugs": refractory_drugs,
        "refractory_classes": refractory_classes,
        "triple_class_refractory": all(c in refractory_classes for c in TRIPLE_CLASSES),
        "penta_refractory": "anti_cd38" in refractory_classes
        and PENTA_DRUGS <= set(refractory_drugs),
        "intolerant_drugs": intolerant,
        "current_line": _current_line(phases_of, classes_of, reference),
        "car_t_relapses": _car_t_relapses(phases_of, classes_of),
        "last_exposure": _last_exposure(phases_of, classes_of, reference),
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


# -- one line ----------------------------------------------------------------------------


def _line_entry(number: int, phases: list[_Phase], classes_of: dict[str, list[str]]) -> TherapyLine:
    """The report entry of one line: its phases, and per drug whether it is refractory."""
    progression = min((p.progression for p in phases if p.progression), default=None)
    responses = [p.row.get("best_response") for p in phases if p.row.get("best_response")]
    best = min(responses, key=_response_rank) if responses else None
    drugs = sorted({drug for phase in phases for drug in phase.drugs})
    reasons: dict[str, tuple[bool, str]] = {
        drug: _drug_decision(drug, phases, progression, classes_of) for drug in drugs
    }
    refractory = sorted(drug for drug, (yes, _) in reasons.items() if yes)
    last = phases[-1]
    return {
        "line": number,
        "regimen": " → ".join(str(p.row["regimen"]) for p in phases),
        "drugs": drugs,
        "drug_classes": sorted({c for drug in drugs for c in classes_of[drug]}),
        "start_date": phases[0].start.isoformat(),
        "end_date": last.end.isoformat() if last.end else None,
        "best_response": best,
        "progression_date": progression.isoformat() if progression else None,
        "refractory_drugs": refractory,
        "refractory_basis": _basis(reasons),
        "phases": [_phase_entry(p, classes_of) for p in phases],
    }


def _drug_decision(
    drug: str, phases: list[_Phase], progression: date | None, classes_of: dict[str, list[str]]
) -> tuple[bool, str]:
    """Refractory or not, and why, for one drug of one line (see ``therapy_history``)."""
    given = [p for p in phases if drug in p.drugs]
    deciding = given[-1]
    verdict = _verdict(deciding, drug, classes_of)
    if verdict is not None:
        return refractory_decision(
            end_date=None, progression_date=None, best_response=None, refractory=verdict
        )
    if any(_verdict(p, drug, classes_of) == "yes" for p in given[:-1]):
        return refractory_decision(
            end_date=None, progression_date=None, best_response=None, refractory="yes"
        )
    decision = _by_dates(drug, deciding, phases, progression)
    if decision[0]:
        return decision
    for phase in given:
        response = phase.row.get("best_response")
        if response in NO_RESPONSE:
            return refractory_decision(
                end_date=None, progression_date=None, best_response=response, refractory=None
            )
    return decision


def _by_dates(
    drug: str, phase: _Phase, phases: list[_Phase], progression: date | None
) -> tuple[bool, str]:
    """The IMWG date rule for ``drug`` given last in ``phase``."""
    if drug not in phase.segments[-1]:
        # A part of the row before a transplant (or before a later regimen after it):
        # stopped before the row's end, on a day the table does not give.
        return False, (
            "not refractory: given in an earlier part of the row (before the transplant or "
            "the regimen that followed it), so its last dose is not recorded"
        )
    if phase.end is None and phase is not phases[-1]:
        # An earlier phase without end date ended, at the latest, when the next one began.
        following = phases[phases.index(phase) + 1].start
        if progression is not None and (progression - following).days > REFRACTORY_WINDOW_DAYS:
            gap = (progression - following).days
            return False, (
                f"not refractory: its phase ended by {following.isoformat()}, more than "
                f"{gap} days before progression (more than {REFRACTORY_WINDOW_DAYS} days)"
            )
        return False, (
            "not refractory by the rule: its phase has no end_date, so the last dose is not known"
        )
    return refractory_decision(
        end_date=phase.end,
        progression_date=progression,
        best_response=phase.row.get("best_response"),
        refractory=None,
    )


def _verdict(phase: _Phase, drug: str, classes_of: dict[str, list[str]]) -> str | None:
    """The row's refractory column for ``drug``: 'yes', 'no' or None (the rule decides)."""
    spared = drug in phase.conditioning or bool(NOT_MARKED_BY_YES & set(classes_of[drug]))
    if phase.verdict == "no":
        return "no"
    if phase.verdict == "yes":
        return None if spared else "yes"
    if phase.verdict == "list":
        if drug in phase.listed:
            return "yes"
        return None if spared else "no"
    return None


def _basis(reasons: dict[str, tuple[bool, str]]) -> str:
    """One reason when every drug of the line shares it, else the drugs of each reason."""
    texts = sorted({reason for _, reason in reasons.values()})
    if len(texts) == 1:
        return texts[0]
    groups: dict[tuple[bool, str], list[str]] = {}
    for drug, decision in reasons.items():
        groups.setdefault(decision, []).append(drug)
    ordered = sorted(groups.items(), key=lambda item: (not item[0][0], item[0][1]))
    return "; ".join(f"{', '.join(sorted(drugs))}: {reason}" for (_, reason), drugs in ordered)


def _phase_entry(phase: _Phase, classes_of: dict[str, list[str]]) -> TherapyPhase:
    drugs = phase.drugs
    return {
        "phase": phase.phase,
        "regimen": str(phase.row["regimen"]),
        "drugs": drugs,
        "drug_classes": sorted({c for drug in drugs for c in classes_of[drug]}),
        "start_date": phase.start.isoformat(),
        "end_date": phase.end.isoformat() if phase.end else None,
        "stop_reason": phase.row.get("stop_reason"),
    }


# -- reading one row ---------------------------------------------------------------------


def _phase(row: TherapyLineRow, knowledge: RegimenKnowledge) -> _Phase:
    segments, transplanted = _segments(row, knowledge)
    start = _start(row)
    end = _as_date(row.get("end_date"), row, "end_date")
    progression = _as_date(row.get("progression_date"), row, "progression_date")
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
    drugs = {drug for segment in segments for drug in segment}
    phase = row.get("phase") or None
    if phase is None and segments == [[TRANSPLANT_DRUG]] and transplanted:
        phase = "transplant"
    conditioning = set(drugs) if phase == "transplant" else set()
    if transplanted:
        conditioning.add(TRANSPLANT_DRUG)
    verdict, listed = _refractory_column(row, knowledge, drugs)
    intolerant = _drug_list(row, "intolerant", knowledge, drugs)
    return _Phase(
        row=row,
        phase=phase,
        segments=segments,
        conditioning=conditioning,
        start=start,
        end=end,
        progression=progression,
        verdict=verdict,
        listed=set(listed),
        intolerant=intolerant,
    )


def _segments(row: TherapyLineRow, knowledge: RegimenKnowledge) -> tuple[list[list[str]], bool]:
    """The parts of a row's regimen that follow each other, and whether it holds a
    transplant. Only a transplant separates parts: before it, every token is one
    combination; after it, each multi-drug regimen abbreviation (``D-VRd``, ``DR``) is a
    part of its own (consolidation, then maintenance), since the regimens written after a
    transplant are given one after the other."""
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
    segments: list[list[str]] = [[]]
    transplanted = False
    closed = False  # the current part ended with a regimen abbreviation
    for token in tokens:
        if "".join(token.split()).lower() in TRANSPLANT_TOKENS:
            segments.append([TRANSPLANT_DRUG])
            segments.append([])
            transplanted = True
            closed = False
            continue
        names = _resolve_token(token, regimen, row, knowledge)
        if transplanted and (len(names) > 1 or closed):
            segments.append([])
        segments[-1].extend(name for name in names if name not in segments[-1])
        closed = transplanted and len(names) > 1
    return [sorted(set(segment)) for segment in segments if segment], transplanted


def _resolve_token(
    token: str,
    regimen: str,
    row: TherapyLineRow,
    knowledge: RegimenKnowledge,
    column: str = "regimen",
) -> list[str]:
    try:
        resolved = knowledge.resolve_regimen(token)
    except ValueError as error:
        raise InputError(
            f"unknown drug or regimen in '{regimen}': {error}",
            file=row.get("_file"),
            line=row.get("_line"),
            field=column,
            expected=REGIMEN_EXPECTED,
            got=token,
        ) from None
    return [drug.strip().lower() for drug in resolved]


def _drug_list(
    row: TherapyLineRow, column: str, knowledge: RegimenKnowledge, drugs: set[str]
) -> list[str]:
    """Drugs a column names (joined by '+'), each one a drug of the row."""
    text = str(cast(Mapping[str, Any], row).get(column) or "").strip()
    if not text:
        return []
    names: list[str] = []
    for token in (part.strip() for part in text.split("+")):
        if not token:
            raise InputError(
                f"empty drug name in {column}",
                file=row.get("_file"),
                line=row.get("_line"),
                field=column,
                expected="drug names of this row's regimen joined by '+'",
                got=text,
            )
        if "".join(token.split()).lower() in TRANSPLANT_TOKENS:
            found = [TRANSPLANT_DRUG]
        else:
            found = _resolve_token(token, text, row, knowledge, column)
        for name in found:
            if name not in drugs:
                raise InputError(
                    f"{column} names {name}, which is not a drug of this row's regimen",
                    file=row.get("_file"),
                    line=row.get("_line"),
                    field=column,
                    expected="drugs of " + ", ".join(sorted(drugs)),
                    got=token,
                )
            if name not in names:
                names.append(name)
    return sorted(names)


def _refractory_column(
    row: TherapyLineRow, knowledge: RegimenKnowledge, drugs: set[str]
) -> tuple[str | None, list[str]]:
    text = str(row.get("refractory") or "").strip().lower()
    if not text:
        return None, []
    if text in ("yes", "no"):
        return text, []
    return "list", _drug_list(row, "refractory", knowledge, drugs)


def _one_time_car_t(phases: list[_Phase], classes_of: dict[str, list[str]]) -> None:
    """A row of CAR-T products only, without end date, ended on its infusion day."""
    for phase in phases:
        if phase.end is None and all(CAR_T_CLASSES & set(classes_of[drug]) for drug in phase.drugs):
            phase.end = phase.start


def _start(row: TherapyLineRow) -> date:
    start = _as_date(row.get("start_date"), row, "start_date")
    if start is None:
        raise InputError(
            "required value is missing",
            file=row.get("_file"),
            line=row.get("_line"),
            field="start_date",
            expected="an ISO 8601 date YYYY-MM-DD",
            got="",
        )
    return start


def _response_rank(response: Any) -> int:
    return RESPONSE_ORDER.index(response) if response in RESPONSE_ORDER else len(RESPONSE_ORDER)


# -- whole history -----------------------------------------------------------------------


def _current_line(
    phases_of: dict[int, list[_Phase]], classes_of: dict[str, list[str]], reference: date | None
) -> CurrentLine | None:
    """The line still being given: its last phase has no end date and the line no
    progression, or it ended after the reference date without progression before it.
    Its regimen and drugs are those of that last phase (what the patient receives now)."""
    for number in sorted(phases_of, reverse=True):
        phases = phases_of[number]
        last = phases[-1]
        progression = min((p.progression for p in phases if p.progression), default=None)
        open_ended = last.end is None and progression is None
        beyond = (
            reference is not None
            and last.end is not None
            and last.end > reference
            and (progression is None or progression > reference)
        )
        if open_ended or beyond:
            drugs = last.drugs
            return {
                "line": number,
                "regimen": str(last.row["regimen"]),
                "drugs": drugs,
                "drug_classes": sorted({c for drug in drugs for c in classes_of[drug]}),
                "start_date": last.start.isoformat(),
            }
    return None


def _car_t_relapses(
    phases_of: dict[int, list[_Phase]], classes_of: dict[str, list[str]]
) -> list[CarTRelapse]:
    """Progression recorded after a CAR-T infusion, whatever the interval."""
    relapses: list[CarTRelapse] = []
    for phases in phases_of.values():
        progression = min((p.progression for p in phases if p.progression), default=None)
        for phase in phases:
            infusion = phase.end or phase.start
            for drug in phase.drugs:
                if not CAR_T_CLASSES & set(classes_of[drug]):
                    continue
                if progression is not None and progression >= phase.start:
                    relapses.append(
                        {
                            "drug": drug,
                            "infusion_date": infusion.isoformat(),
                            "progression_date": progression.isoformat(),
                        }
                    )
    return sorted(relapses, key=lambda r: (r["infusion_date"], r["drug"]))


def _last_exposure(
    phases_of: dict[int, list[_Phase]], classes_of: dict[str, list[str]], reference: date | None
) -> dict[str, ClassExposure]:
    """Per class: last dose date of the latest phase using it, and days to ``reference``.

    A phase without end date is ongoing only when it is the last phase of the patient's
    latest line; an earlier one without end date has an unknown last dose (never guessed).
    """
    latest = max(phases_of) if phases_of else None
    result: dict[str, ClassExposure] = {}
    found: dict[str, tuple[int, _Phase]] = {}
    for number in sorted(phases_of):
        for phase in phases_of[number]:
            for drug in phase.drugs:
                for drug_class in classes_of[drug]:
                    found[drug_class] = (number, phase)
    for drug_class in sorted(found):
        number, phase = found[drug_class]
        ongoing = phase.end is None and number == latest and phase is phases_of[number][-1]
        last = phase.end.isoformat() if phase.end else None
        days = None
        if reference is not None and ongoing:
            days = 0
        elif reference is not None and phase.end is not None:
            days = max(0, (reference - phase.end).days)
        result[drug_class] = {
            "line": number,
            "last_dose_date": last,
            "ongoing": ongoing,
            "days_since_last_dose": days,
        }
    return result


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
