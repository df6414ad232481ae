"""Trial matching: every criterion of every curated trial read against one patient.

Each criterion is met, unmet or unknown, with the data it used in words; missing data is
unknown, never met. A trial that no longer enrols is ``closed`` (evidence only), one whose
registry status is unknown or unconfirmed is at best ``possible``, and a resistance finding
against the trial's own target is an unmet criterion. ``docs/reasoning.md`` ("Trial
matching") gives the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mmresist.interpret.criteria import (
    GROUP_TYPES,
    MET,
    UNKNOWN,
    UNMET,
    Judgement,
    Status,
    evaluate,
    walk,
)
from mmresist.interpret.labs import canonical_value, latest_per_test
from mmresist.interpret.matching import cyto_records, match_biomarkers
from mmresist.interpret.therapy import FALLBACK_CLASSES
from mmresist.interpret.trial_gates import registry_status, target_findings
from mmresist.io.tabular import iso_text
from mmresist.knowledge.spec import parse_spec
from mmresist.model import (
    CopyNumberCall,
    Criterion,
    CytogeneticsRow,
    Finding,
    LabRow,
    PatientInfo,
    TherapyHistory,
    TherapyLine,
    VariantCall,
)
from mmresist.vocab import DRUG_CLASS_LABELS, IMPLICATIONS

if TYPE_CHECKING:
    from mmresist.knowledge.load import Knowledge

MATCH_ORDER = ("eligible", "possible", "ineligible", "closed")
THERAPY_TYPES = frozenset(
    {
        "prior_lines",
        "exposed_class",
        "refractory_class",
        "not_refractory_class",
        "exposed_drug",
        "refractory_drug",
        "prior_target_therapy",
    }
)
# Prior antigen-directed therapy: the drug classes of each target and modality.
TARGET_CLASSES = {
    "bcma": {"car_t": "bcma_car_t", "bispecific": "bcma_bispecific", "adc": "bcma_adc"},
    "gprc5d": {"car_t": "gprc5d_car_t", "bispecific": "gprc5d_bispecific"},
    "fcrh5": {"bispecific": "fcrh5_bispecific"},
}
ANTIGEN_NAMES = {"bcma": "BCMA", "gprc5d": "GPRC5D", "fcrh5": "FcRH5"}
CLASS_NAMES = DRUG_CLASS_LABELS
VARIANT_TYPES = frozenset(
    {"protein_change", "codon", "aa_range", "missense", "loss_of_function", "nonsynonymous"}
)
TYPE_WORDS = {
    "protein_change": "",
    "codon": "codon",
    "aa_range": "residues",
    "missense": "missense variant",
    "loss_of_function": "loss-of-function variant",
    "nonsynonymous": "protein-altering variant",
    "copy_loss": "copy loss",
    "biallelic_loss": "biallelic loss",
    "amplification": "amplification",
}
NO_THERAPY = "no therapy history in the inputs"


# ---------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------
def match_trials(
    *,
    knowledge: Knowledge,
    therapy_history: TherapyHistory | None,
    findings: list[Finding],
    variants: list[VariantCall],
    copy_number: list[CopyNumberCall],
    cytogenetics: list[CytogeneticsRow] | None,
    labs: list[LabRow] | None,
    age: int | None = None,
    patient: PatientInfo | None = None,
) -> list[dict]:
    """report.json ``trials`` rows for one patient: eligible and possible trials; ineligible
    ones that are genomically relevant; closed ones whose criteria the patient would have met
    (or that are relevant), as evidence only. Sorted by match, relevance, then registry id.
    ``patient``: patients.tsv characteristics (ECOG, extramedullary disease; its age is used
    when ``age`` is not given)."""
    if age is None and patient is not None:
        age = patient.get("age")
    policy = (knowledge.rules or {}).get("trial_status") or {}
    context = _Patient(
        knowledge=knowledge,
        history=therapy_history if therapy_history and therapy_history.get("lines") else None,
        findings=list(findings or []),
        variants=list(variants or []),
        copy_number=list(copy_number or []),
        cytogenetics=list(cytogenetics) if cytogenetics else None,
        labs=list(labs) if labs else None,
        age=age,
        info=patient,
        max_status_age=policy.get("recruiting_max_age_months"),
    )
    rows = []
    for trial in knowledge.trials:
        row = _match_trial(trial, context)
        if _listed(row):
            rows.append(row)
    rows.sort(
        key=lambda r: (
            MATCH_ORDER.index(r["match"]),
            not r["genomically_relevant"],
            r["nct_id"] or "",
            r["id"],
        )
    )
    return rows


def _listed(row: dict) -> bool:
    """Eligible and possible trials are always listed; an ineligible one only when it bears
    on the patient; a closed one when its criteria would have admitted the patient or it
    bears on the patient (it is evidence, not an option)."""
    if row["match"] in ("eligible", "possible"):
        return True
    if row["match"] == "closed" and row["criteria_match"] != "ineligible":
        return True
    return bool(row["genomically_relevant"])


# Criteria that say which treated population a trial's evidence comes from: a patient who
# fails one of these is outside that population (options.rule_pivotal_population).
POPULATION_TYPES = frozenset(
    {"prior_lines", "exposed_class", "exposed_drug", "refractory_class", "refractory_drug",
     "not_refractory_class", "prior_target_therapy"}
)  # fmt: skip


def population_gaps(
    trial: dict, *, knowledge: Knowledge, therapy_history: TherapyHistory
) -> list[str]:
    """Where a treated patient falls outside ``trial``'s population: the unmet sentences
    of its verified therapy criteria. A maximum number of prior lines is not a gap (more
    lines than a trial enrolled is how its regimen is used later), and criteria the
    history cannot judge are not gaps either."""
    patient = _Patient(
        knowledge=knowledge,
        history=therapy_history,
        findings=[],
        variants=[],
        copy_number=[],
        cytogenetics=None,
        labs=None,
        age=None,
    )
    gaps = []
    for criterion in trial.get("criteria") or []:
        population = _population_only(criterion)
        if population is None:
            continue
        outcome, text = _outcome(population, patient)
        if outcome == UNMET:
            gaps.append(text)
    return gaps


def _population_only(criterion: Criterion) -> Criterion | None:
    """``criterion`` as a population criterion (any maximum of prior lines dropped), or
    None when it, or any part of an any_of/all_of group, is something else or unverified."""
    if criterion.get("verified") is False:
        return None
    kind = criterion.get("type")
    if kind in GROUP_TYPES:
        children = [_population_only(child) for child in criterion.get("criteria") or []]
        if not children or any(child is None for child in children):
            return None
        return {**criterion, "criteria": children}
    if kind not in POPULATION_TYPES:
        return None
    if kind == "prior_lines":
        if criterion.get("min") is None:
            return None
        return {**criterion, "max": None}
    return criterion


@dataclass
class _Patient:
    """One patient's data as the trial criteria read it (a ``CriterionContext``)."""

    knowledge: Knowledge
    history: TherapyHistory | None
    findings: list[Finding]
    variants: list[VariantCall]
    copy_number: list[CopyNumberCall]
    cytogenetics: list[CytogeneticsRow] | None
    labs: list[LabRow] | None
    age: int | None
    info: PatientInfo | None = None
    max_status_age: int | None = None
    _biomarker_cache: dict[tuple, list[Finding]] = field(default_factory=dict)

    def judge(self, criterion: Criterion) -> Judgement:
        kind = criterion["type"]
        if kind in THERAPY_TYPES:
            if kind == "prior_target_therapy" and criterion["rule"] == "allowed":
                return _target_allowed(criterion, self)
            if self.history is None:
                return None, NO_THERAPY
        return _JUDGES[kind](criterion, self)

    def explain_group(
        self, criterion: Criterion, holds: bool | None, parts: list[tuple[Criterion, Judgement]]
    ) -> str:
        return _group_text(criterion, holds, parts, self.knowledge)

    def biomarker_hits(self, key: tuple, record: dict) -> list[Finding]:
        if key not in self._biomarker_cache:
            self._biomarker_cache[key] = match_biomarkers(
                knowledge=_OneBiomarker(self.knowledge, record),
                variants=self.variants,
                copy_number=self.copy_number,
                cytogenetics=self.cytogenetics or [],
            )
        return self._biomarker_cache[key]


class _OneBiomarker:
    """The knowledge base seen through one biomarker row, for match_biomarkers."""

    def __init__(self, knowledge: Knowledge, record: dict) -> None:
        self._knowledge = knowledge
        self.biomarkers = [record]
        self.genes = knowledge.genes

    def canonical_gene(self, name: str) -> str:
        return self._knowledge.canonical_gene(name)


# ---------------------------------------------------------------------------
# One trial
# ---------------------------------------------------------------------------
def _match_trial(trial: dict, patient: _Patient) -> dict:
    met: list[str] = []
    unmet: list[str] = []
    unknown: list[str] = []
    for criterion in trial["criteria"]:
        outcome, text = _outcome(criterion, patient)
        {MET: met, UNMET: unmet, UNKNOWN: unknown}[outcome].append(text)
    for outcome, text in target_findings(trial, patient.knowledge, patient.findings):
        {UNMET: unmet, UNKNOWN: unknown}[outcome].append(text)
    if unmet:
        criteria_match = "ineligible"
    elif unknown:
        criteria_match = "possible"
    else:
        criteria_match = "eligible"
    # The registry status leads the lists: it decides whether the rest can matter.
    enrolling, status_text = registry_status(trial, patient.max_status_age)
    match = criteria_match
    if enrolling is False:
        match = "closed"
        unmet.insert(0, status_text)
    elif enrolling is None:
        unknown.insert(0, status_text)
        if match == "eligible":
            match = "possible"
    else:
        met.insert(0, status_text)
    relevance = _relevance(trial, patient)
    registry = trial.get("nct_id") or next(iter(trial.get("other_ids") or []), None)
    return {
        "nct_id": registry,
        "id": trial["id"],
        "nct_verified": trial.get("nct_verified", True),
        "short_name": trial.get("short_name", ""),
        "title": trial.get("title", ""),
        "phase": trial.get("phase", "unknown"),
        "status": trial.get("status", "unknown"),
        "status_checked": trial.get("status_checked"),
        "status_date": trial.get("status_date"),
        "status_basis": trial.get("status_basis"),
        "status_source": trial.get("status_source"),
        "status_as_seen": trial.get("status_as_seen", ""),
        "match": match,
        "criteria_match": criteria_match,
        "met": met,
        "unmet": unmet,
        "unknown": unknown,
        "genomically_relevant": bool(relevance),
        "relevance": relevance,
        "sources": list(trial.get("sources") or []),
    }


def _outcome(criterion: Criterion, patient: _Patient) -> tuple[Status, str]:
    """(met | unmet | unknown, sentence) for one top-level criterion: an inclusion needs
    its condition to hold, an exclusion needs it not to, and an unverified criterion that
    fails is unknown."""
    holds, evidence = evaluate(criterion, patient)
    label = criterion.get("text") or _label(criterion, patient.knowledge)
    label = " ".join(str(label).split())
    exclusion = criterion.get("kind") == "exclusion"
    outcome: Status
    if holds is None:
        outcome = UNKNOWN
    elif exclusion:
        outcome = UNMET if holds else MET
    else:
        outcome = MET if holds else UNMET
    if exclusion and holds:
        evidence = f"excluded, {evidence}"
    if outcome == UNMET and criterion.get("verified") is False:
        outcome = UNKNOWN
        evidence += " (criterion unverified, so not counted as a mismatch)"
    return outcome, f"{label}: {evidence}"


# ---------------------------------------------------------------------------
# Therapy criteria
# ---------------------------------------------------------------------------
def _history(patient: _Patient) -> TherapyHistory:
    # _Patient.judge sends therapy criteria here only when a history was given.
    assert patient.history is not None
    return patient.history


def _class_name(cls: str) -> str:
    return CLASS_NAMES.get(cls, cls.replace("_", " "))


def _classes_of(knowledge: Knowledge, drug: str) -> list[str]:
    try:
        return knowledge.drug_classes(drug)
    except (KeyError, ValueError):
        return FALLBACK_CLASSES.get(drug, [])


def _lines_where(history: TherapyHistory, test: Callable[[TherapyLine], object]) -> str:
    cited = [f"line {line['line']} {line['regimen']}" for line in history["lines"] if test(line)]
    return f" ({', '.join(cited)})" if cited else ""


def _prior_lines(criterion: Criterion, patient: _Patient) -> Judgement:
    history = _history(patient)
    count = int(history["line_count"])
    low, high = criterion.get("min"), criterion.get("max")
    holds = (low is None or count >= low) and (high is None or count <= high)
    return holds, f"{count} prior lines ({_range_words(low, high)})"


def _range_words(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"needs {low:g}–{high:g}"
    if low is not None:
        return f"needs ≥{low:g}"
    return f"needs ≤{high:g}"


def _exposed_class(criterion: Criterion, patient: _Patient) -> Judgement:
    history = _history(patient)
    cls = criterion["class"]
    name = _class_name(cls)
    if cls in history["exposed_classes"]:
        cite = _lines_where(history, lambda line: cls in line["drug_classes"])
        return True, f"exposed to {name}: yes{cite}"
    return False, f"exposed to {name}: no ({history['line_count']} lines recorded)"


def _refractory_lines(patient: _Patient, cls: str) -> str:
    def refractory_to_class(line: TherapyLine) -> bool:
        drugs = line.get("refractory_drugs") or []
        return any(cls in _classes_of(patient.knowledge, drug) for drug in drugs)

    return _lines_where(_history(patient), refractory_to_class)


def _refractory_class(criterion: Criterion, patient: _Patient) -> Judgement:
    history = _history(patient)
    cls = criterion["class"]
    name = _class_name(cls)
    if cls in history["refractory_classes"]:
        return True, f"refractory to {name}: yes{_refractory_lines(patient, cls)}"
    exposed = "exposed, " if cls in history["exposed_classes"] else "never exposed, "
    return False, f"refractory to {name}: no ({exposed}not refractory by IMWG)"


def _not_refractory_class(criterion: Criterion, patient: _Patient) -> Judgement:
    holds, evidence = _refractory_class(criterion, patient)
    return (not holds), evidence


def _exposed_drug(criterion: Criterion, patient: _Patient) -> Judgement:
    history = _history(patient)
    drug = criterion["drug"]
    if drug in history["exposed_drugs"]:
        cite = _lines_where(history, lambda line: drug in line["drugs"])
        return True, f"exposed to {drug}: yes{cite}"
    return False, f"exposed to {drug}: no ({history['line_count']} lines recorded)"


def _refractory_drug(criterion: Criterion, patient: _Patient) -> Judgement:
    history = _history(patient)
    drug = criterion["drug"]
    if drug in history["refractory_drugs"]:
        cite = _lines_where(history, lambda line: drug in (line["refractory_drugs"] or []))
        return True, f"refractory to {drug}: yes{cite}"
    state = "exposed" if drug in history["exposed_drugs"] else "never exposed"
    return False, f"refractory to {drug}: no ({state}, not refractory by IMWG)"


def _target_classes(criterion: Criterion) -> list[str]:
    by_modality = TARGET_CLASSES[criterion["target"]]
    modalities = criterion.get("modalities") or sorted(by_modality)
    return [by_modality[m] for m in modalities if m in by_modality]


def _target_allowed(criterion: Criterion, patient: _Patient) -> Judgement:
    antigen = ANTIGEN_NAMES[criterion["target"]]
    return True, f"prior {antigen}-directed therapy allowed (not a restriction)"


def _prior_target(criterion: Criterion, patient: _Patient) -> Judgement:
    history = _history(patient)
    classes = _target_classes(criterion)
    antigen = ANTIGEN_NAMES[criterion["target"]]
    words = " or ".join(_class_name(c) for c in classes)
    received = [c for c in classes if c in history["exposed_classes"]]
    if received:
        cite = _lines_where(history, lambda line: set(received) & set(line["drug_classes"]))
        names = ", ".join(_class_name(c) for c in received)
        return True, f"prior {antigen}-directed therapy: yes, {names}{cite}"
    return False, f"prior {antigen}-directed therapy ({words}): none recorded"


# ---------------------------------------------------------------------------
# Biomarker criteria
# ---------------------------------------------------------------------------
def _biomarker_record(criterion: Criterion, knowledge: Knowledge) -> dict | None:
    if "biomarker_id" in criterion:
        for row in knowledge.biomarkers:
            if row["id"] == criterion["biomarker_id"]:
                return row
        return None
    kind, spec = criterion["alteration_type"], criterion["spec"]
    gene = criterion.get("gene")
    return {
        "id": f"criterion:{gene or ''}:{kind}:{spec}",
        "gene": knowledge.canonical_gene(gene) if gene else spec,
        "alteration_type": kind,
        "alteration_spec": spec,
        "literature_alias": "",
        "implication": "eligibility",
        "drugs": [],
        "drug_classes": [],
        "evidence_level": "E",
        "summary": "",
        "sources": [],
        "parsed": parse_spec(kind, spec),
    }


def _biomarker_words(record: dict) -> str:
    kind, spec = record["alteration_type"], record["alteration_spec"]
    if kind == "cytogenetic":
        return spec
    words = TYPE_WORDS.get(kind, kind)
    shown = "" if spec == "*" else spec
    return " ".join(part for part in (record["gene"], words, shown) if part)


def _biomarker(criterion: Criterion, patient: _Patient) -> Judgement:
    knowledge = patient.knowledge
    record = _biomarker_record(criterion, knowledge)
    if record is None:
        return None, f"biomarker {criterion.get('biomarker_id')} is not in the knowledge base"
    words = _biomarker_words(record)
    kind, gene = record["alteration_type"], record["gene"]
    if kind == "cytogenetic" and not patient.cytogenetics:
        return None, f"{words}: no cytogenetics in the inputs"
    hits = patient.biomarker_hits((record["id"], kind, record["alteration_spec"]), record)
    if hits:
        details = "; ".join(dict.fromkeys(hit["evidence"]["detail"] for hit in hits))
        return True, f"{words}: present ({details})"
    if kind == "cytogenetic":
        return _cyto_absent(record, patient, words)
    on_panel = gene in knowledge.genes
    if kind in VARIANT_TYPES:
        if not on_panel:
            return None, f"{words}: {gene} is not on the sequenced panel"
        return False, f"{words}: not found ({gene} is on the sequenced panel; no matching variant)"
    if not patient.copy_number:
        return None, f"{words}: no copy-number calls in the inputs"
    if not on_panel:
        return None, f"{words}: {gene} is not on the panel"
    calls = sorted(
        {c.call for c in patient.copy_number if knowledge.canonical_gene(c.gene) == gene}
    )
    seen = f"{gene} {', '.join(calls)}" if calls else f"no {gene} copy-number change called"
    return False, f"{words}: not found ({seen}; {gene} is on the panel)"


def _cyto_absent(record: dict, patient: _Patient, words: str) -> Judgement:
    records = cyto_records(patient.cytogenetics or [])
    wanted = {alt["abnormality"] for term in record["parsed"]["terms"] for alt in term}
    unknown_fraction = [
        r["abnormality"]
        for r in records
        if r["abnormality"] in wanted and r["clone_fraction"] is None
        for term in record["parsed"]["terms"]
        for alt in term
        if alt["abnormality"] == r["abnormality"] and alt["min_fraction"] is not None
    ]
    if unknown_fraction:
        shown = ", ".join(sorted(set(unknown_fraction)))
        return None, f"{words}: {shown} reported without a clone fraction"
    reported = sorted({r["abnormality"] for r in records})
    seen = ", ".join(reported) if reported else "no abnormality detected"
    return False, f"{words}: not reported (cytogenetics: {seen})"


# ---------------------------------------------------------------------------
# Labs, age, ECOG, other
# ---------------------------------------------------------------------------
def _compare(value: float, op: str, threshold: float) -> bool:
    return {
        ">=": value >= threshold,
        "<=": value <= threshold,
        ">": value > threshold,
        "<": value < threshold,
    }[op]


def _lab(criterion: Criterion, patient: _Patient) -> Judgement:
    test, op, threshold, unit = (criterion[k] for k in ("test", "op", "value", "unit"))
    need = f"needs {op} {threshold:g} {unit}"
    if not patient.labs:
        return None, f"{test}: no labs in the inputs ({need})"
    row = latest_per_test(patient.labs).get(test)
    if row is None:
        extra = " (derived from weight, age and sex, not in the inputs)"
        note = extra if test == "creatinine_clearance" else ""
        return None, f"{test}: not in the labs{note} ({need})"
    # A test without a known conversion is compared as reported, when in the same unit.
    value, row_unit = canonical_value(row) or (float(row["value"]), row.get("unit") or unit)
    if row_unit != unit:
        return None, f"{test}: latest value in {row_unit}, cannot compare ({need})"
    dated = f" on {iso_text(row['date'])}"
    return _compare(value, op, threshold), f"{test} {value:g} {unit}{dated} ({need})"


def _age(criterion: Criterion, patient: _Patient) -> Judgement:
    low, high = criterion.get("min"), criterion.get("max")
    if patient.age is None:
        return None, f"age not in the inputs ({_range_words(low, high)})"
    holds = (low is None or patient.age >= low) and (high is None or patient.age <= high)
    return holds, f"age {patient.age} ({_range_words(low, high)})"


def _ecog(criterion: Criterion, patient: _Patient) -> Judgement:
    limit = criterion["max"]
    ecog = patient.info.get("ecog") if patient.info else None
    if ecog is None:
        return None, f"ECOG not in the inputs (needs ≤{limit})"
    return ecog <= limit, f"ECOG {ecog} (needs ≤{limit})"


def _extramedullary(criterion: Criterion, patient: _Patient) -> Judgement:
    present = patient.info.get("extramedullary") if patient.info else None
    if present is None:
        return None, "extramedullary disease not recorded in the inputs"
    return present, f"extramedullary disease: {'yes' if present else 'no'} (patients table)"


def _other(criterion: Criterion, patient: _Patient) -> Judgement:
    return None, "not assessable from the inputs"


# ---------------------------------------------------------------------------
# any_of / all_of
# ---------------------------------------------------------------------------
def _group_text(
    criterion: Criterion,
    holds: bool | None,
    parts: list[tuple[Criterion, Judgement]],
    knowledge: Knowledge,
) -> str:
    """Which parts decided an any_of/all_of group, each with its label and evidence."""
    shown_parts = []
    for child, (child_holds, evidence) in parts:
        label = child.get("text") or _label(child, knowledge)
        shown_parts.append((child_holds, f"{' '.join(str(label).split())} — {evidence}"))
    results = [child_holds for child_holds, _ in shown_parts]
    if criterion["type"] == "any_of":
        if holds:
            shown = "; ".join(text for child_holds, text in shown_parts if child_holds)
            return f"one alternative holds: {shown}"
        if holds is False:
            return "no alternative holds: " + "; ".join(text for _, text in shown_parts)
        shown = "; ".join(text for child_holds, text in shown_parts if child_holds is None)
        failed = results.count(False)
        return f"undecided ({failed} of {len(parts)} alternatives fail); unknown: {shown}"
    if holds is False:
        shown = "; ".join(text for child_holds, text in shown_parts if child_holds is False)
        return f"not all hold: {shown}"
    if holds:
        return "all hold: " + "; ".join(text for _, text in shown_parts)
    shown = "; ".join(text for child_holds, text in shown_parts if child_holds is None)
    return f"undecided; unknown: {shown}"


_JUDGES = {
    "prior_lines": _prior_lines,
    "exposed_class": _exposed_class,
    "refractory_class": _refractory_class,
    "not_refractory_class": _not_refractory_class,
    "exposed_drug": _exposed_drug,
    "refractory_drug": _refractory_drug,
    "prior_target_therapy": _prior_target,
    "biomarker": _biomarker,
    "lab": _lab,
    "age": _age,
    "ecog": _ecog,
    "extramedullary": _extramedullary,
    "other": _other,
}


def _label(criterion: Criterion, knowledge: Knowledge) -> str:
    """Words for a criterion without its own ``text`` (nested criteria)."""
    kind = criterion["type"]
    if kind in ("prior_lines", "age"):
        noun = "prior lines" if kind == "prior_lines" else "age"
        return f"{noun} {_range_words(criterion.get('min'), criterion.get('max'))[6:]}"
    if kind == "exposed_class":
        return f"{_class_name(criterion['class'])}-exposed"
    if kind == "refractory_class":
        return f"{_class_name(criterion['class'])}-refractory"
    if kind == "not_refractory_class":
        return f"not {_class_name(criterion['class'])}-refractory"
    if kind == "exposed_drug":
        return f"{criterion['drug']}-exposed"
    if kind == "refractory_drug":
        return f"{criterion['drug']}-refractory"
    if kind == "prior_target_therapy":
        return f"prior {ANTIGEN_NAMES[criterion['target']]}-directed therapy {criterion['rule']}"
    if kind == "biomarker":
        record = _biomarker_record(criterion, knowledge)
        return _biomarker_words(record) if record else str(criterion.get("biomarker_id"))
    if kind == "lab":
        return f"{criterion['test']} {criterion['op']} {criterion['value']:g} {criterion['unit']}"
    if kind == "ecog":
        return f"ECOG ≤{criterion['max']}"
    if kind == "extramedullary":
        return "extramedullary disease"
    if kind in GROUP_TYPES:
        return "any of" if kind == "any_of" else "all of"
    return "other"


# ---------------------------------------------------------------------------
# Genomic relevance
# ---------------------------------------------------------------------------
def _relevance(trial: dict, patient: _Patient) -> list[str]:
    """Why a trial bears on this patient's genomics or antigen history (empty: it does not).

    - a biomarker criterion the patient's calls satisfy, or whose gene/abnormality is the
      gene of one of the patient's findings;
    - a sensitivity or eligibility finding naming a drug class the trial gives (a resistance
      finding argues against that class, so it never makes the trial relevant);
    - a prior-antigen criterion (required or excluded) or a trial target naming an antigen
      the patient has already received (BCMA, GPRC5D, FcRH5).
    """
    knowledge = patient.knowledge
    reasons: list[str] = []
    finding_genes = {f["gene"] for f in patient.findings}
    for criterion in walk(trial["criteria"]):
        if criterion["type"] != "biomarker":
            continue
        record = _biomarker_record(criterion, knowledge)
        if record is None:
            continue
        words = _biomarker_words(record)
        holds, _ = _biomarker(criterion, patient)
        if holds:
            reasons.append(f"patient has {words}, named in the criteria")
        elif record["gene"] in finding_genes:
            reasons.append(f"criteria name {words}; patient has a {record['gene']} finding")
    trial_classes = set(trial.get("drug_classes") or [])
    for finding in patient.findings:
        if finding.get("implication") not in IMPLICATIONS or finding["implication"] in (
            "prognostic",
            "resistance",
        ):
            continue
        shared = sorted(trial_classes & set(finding.get("drug_classes") or []))
        if shared:
            classes = ", ".join(_class_name(c) for c in shared)
            gene, alteration = finding["gene"], finding["alteration"]
            shown = alteration if alteration.startswith(gene) else f"{gene} {alteration}"
            reasons.append(
                f"{finding['implication']} finding {finding['biomarker_id']} ({shown}) "
                f"bears on {classes}"
            )
    if patient.history is not None:
        exposed = set(patient.history["exposed_classes"])
        received = {target for target, by in TARGET_CLASSES.items() if exposed & set(by.values())}
        named = {
            c["target"]
            for c in walk(trial["criteria"])
            if c["type"] == "prior_target_therapy" and c["rule"] != "allowed"
        }
        for target in sorted(received & (named | set(trial.get("targets") or []))):
            reasons.append(f"patient has received {ANTIGEN_NAMES[target]}-directed therapy")
    return list(dict.fromkeys(reasons))
