"""Therapy options: relapse regimens ranked against history, findings and labs (issue 4, item 2).

Options are decision support for the reviewing haematologist, not a treatment
recommendation. Candidates are the regimens of ``regimens.tsv`` whose setting is ``RRMM``
or ``both``. Each documented rule below is a small function that a test can run on its own;
it adds rationale items ``{rule, text, sources}`` (sources cited from the knowledge tables or
the finding), cautions, or a score change, or drops the candidate.

Rules (``RULES`` lists the ids in the order they run):

1. ``refractory_drug``: drop a regimen holding a drug the patient is refractory to.
   Glucocorticoids are exempt (every line carries dexamethasone; a note is added instead).
   ``refractory_class``: another drug of a class the patient is refractory to is demoted
   (``CLASS_REFRACTORY_PENALTY``) unless rule 2 applies.
2. ``class_switch``: the documented paths inside a class (facts F2) promote the regimen by
   ``CLASS_SWITCH_BONUS`` with a note: bortezomib-refractory -> carfilzomib or ixazomib;
   lenalidomide-refractory -> pomalidomide; lenalidomide- and pomalidomide-refractory ->
   CELMoD trials (promoted among investigational options, never ranked as standard).
   ``pivotal_population``: a regimen whose pivotal trial (a curated trial named in
   regimens.tsv) treated a population the patient is outside of — too few prior lines, a
   required exposure or refractoriness missing, an excluded refractoriness present — is
   demoted by ``POPULATION_PENALTY`` with the unmet criteria quoted.
3. ``resistance_finding``: a resistance finding naming a drug of the regimen demotes it by
   the finding's evidence level (``LEVEL_WEIGHT``); a class-only match demotes by 1. PSMB5
   spares carfilzomib (retained in-vitro activity, noted); CRBN findings reach CELMoDs;
   NR3C1 findings add a note on glucocorticoid backbones without a score change.
4. ``sensitivity_finding``: a sensitivity finding naming a drug of the regimen promotes it
   by evidence level. Venetoclax carries the BELLINI mortality and CANOVA missed-endpoint
   caution; without t(11;14) it is demoted (``venetoclax_unselected``). BRAF V600E (or
   another finding naming BRAF/MEK inhibitors) adds an off-label BRAF+MEK option.
5. ``new_antigen``: after BCMA-directed therapy, GPRC5D and FcRH5 agents go up and BCMA
   agents down; after GPRC5D-directed therapy, BCMA and FcRH5 agents go up and GPRC5D down.
6. ``unexposed_class``: +1 per drug class (glucocorticoids aside) the patient has never
   received, at most ``UNEXPOSED_CAP``.
7. ``lab_cautions`` and ``infection_risk``: creatinine above 1.2 mg/dL or eGFR below 60 ->
   renal note for drugs with renal guidance (lenalidomide above all); neutrophils below
   1.0 or platelets below 50 x 10^9/L -> cytopenia caution; T-cell-redirecting therapy
   (bispecifics, CAR-T) -> infection-risk caution. A missing lab gives no caution.

Ranking is deterministic: standard and off-label options first (off-label loses
``OFF_LABEL_PENALTY``), investigational (trial-only) options after them; within each tier by
score (high first), then regimen abbreviation. The list stops after ``max_options`` but
never inside a rank: options tied at the cut are all kept.
"""

from __future__ import annotations

import re

from mmresist.interpret.labs import canonical_value, latest_per_test
from mmresist.model import LabRow

__all__ = ["RULES", "therapy_options"]

RULES = (
    "pivotal_trial",
    "refractory_drug",
    "refractory_class",
    "class_switch",
    "pivotal_population",
    "resistance_finding",
    "sensitivity_finding",
    "venetoclax_unselected",
    "new_antigen",
    "unexposed_class",
    "lab_cautions",
    "infection_risk",
)

#: Score change per CIViC evidence level of a finding (A validated ... E inferential).
LEVEL_WEIGHT = {"A": 3, "B": 3, "C": 2, "D": 1, "E": 1}
EVIDENCE_ORDER = ("A", "B", "C", "D", "E")
CLASS_REFRACTORY_PENALTY = 2
CLASS_ONLY_PENALTY = 1
CLASS_SWITCH_BONUS = 1
POPULATION_PENALTY = 2
CELMOD_SWITCH_BONUS = 2
VENETOCLAX_UNSELECTED_PENALTY = 2
NEW_ANTIGEN_BONUS = 2
SAME_ANTIGEN_PENALTY = 1
UNEXPOSED_CAP = 2
OFF_LABEL_PENALTY = 1

#: Lab limits in the canonical units of ``mmresist.io.clinical.LAB_UNITS``.
CREATININE_HIGH = 1.2  # mg/dL; the "normal creatinine" limit of IMS/IMWG CGS (Avet-Loiseau 2025)
EGFR_LOW = 60.0  # mL/min/1.73m2; below it renal function is at least moderately reduced
NEUTROPHILS_LOW = 1.0  # 10^9/L; CTCAE v5.0 grade 3 boundary (rules.yaml SC-NEUTROPENIA)
PLATELETS_LOW = 50.0  # 10^9/L; CTCAE v5.0 grade 3 boundary (rules.yaml SC-THROMBOCYTOPENIA)

GLUCOCORTICOID = "glucocorticoid"
BCMA_CLASSES = frozenset({"bcma_car_t", "bcma_bispecific", "bcma_adc"})
GPRC5D_CLASSES = frozenset({"gprc5d_bispecific", "gprc5d_car_t"})
FCRH5_CLASSES = frozenset({"fcrh5_bispecific"})
T_CELL_REDIRECTING = frozenset(
    {"bcma_car_t", "bcma_bispecific", "gprc5d_bispecific", "gprc5d_car_t", "fcrh5_bispecific"}
)
#: Drugs approved in other cancers but not in myeloma: off-label, not trial-only.
OFF_LABEL_CLASSES = frozenset({"bcl2_inhibitor", "braf_inhibitor", "mek_inhibitor"})

# Sources of the rule texts (facts F2, A, B, C, D).
PI_SWITCH_SOURCES = ["DOI:10.1371/journal.pone.0027996", "DOI:10.1016/j.str.2014.11.019"]
CELMOD_SOURCES = ["DOI:10.1056/NEJMoa2303194"]
BELLINI_SOURCES = ["NCT02755597", "PMID:40587991"]
CANOVA_SOURCES = ["NCT03539744"]
PRIOR_BCMA_SOURCES = ["NCT03399799", "PMID:40228504"]
PRIOR_GPRC5D_SOURCES = ["Lee 2023 Nat Med (antigen escape from BCMA/GPRC5D immunotherapies)"]
ISATUXIMAB_AFTER_DARA = "Gandhi 2019 Leukemia 33:2266 (MAMMOTH)"

#: Class-switch paths: refractory drug -> drugs of the same class that stay (facts F2).
SWITCH_PATHS = {
    "bortezomib": {"carfilzomib", "ixazomib"},
    "lenalidomide": {"pomalidomide"},
}


def therapy_options(
    *,
    knowledge,
    therapy_history: dict | None,
    findings: list[dict],
    labs: list[dict] | None = None,
    max_options: int = 10,
) -> list[dict] | None:
    """Ranked relapse options, or ``None`` without a therapy history (unknown, not "none").

    ``knowledge`` is a loaded ``Knowledge``; ``therapy_history`` the dict of
    ``therapy.therapy_history``; ``findings`` the list ``matching`` returns; ``labs`` the
    labs rows of ``clinical.read_table``. Each option is ``{rank, regimen, drugs,
    drug_classes, status, score, rationale: [{rule, text, sources}], cautions,
    evidence_level, sources}``; ``max_options`` of them, plus any tied with the last.
    """
    if therapy_history is None:
        return None
    findings = list(findings or [])
    latest = latest_labs(labs)
    options = []
    for candidate in candidates(knowledge):
        if rule_refractory_drug(candidate, therapy_history):
            continue
        rule_refractory_class(candidate, therapy_history)
        rule_class_switch(candidate, therapy_history)
        rule_pivotal_population(candidate, therapy_history, knowledge)
        rule_resistance_findings(candidate, findings)
        rule_sensitivity_findings(candidate, findings)
        rule_venetoclax_unselected(candidate, findings)
        rule_new_antigen(candidate, therapy_history)
        rule_unexposed_class(candidate, therapy_history)
        rule_lab_cautions(candidate, latest, knowledge)
        rule_infection_risk(candidate)
        options.append(candidate)
    options.extend(braf_mek_options(findings, knowledge, therapy_history, latest))
    return rank(options, max_options)


# -- candidates --------------------------------------------------------------------------------


def candidates(knowledge) -> list[dict]:
    """One working option per RRMM (or both-setting) regimen, with its pivotal-trial item."""
    result = []
    for abbreviation in sorted(knowledge.regimens):
        regimen = knowledge.regimens[abbreviation]
        if regimen["setting"] not in ("RRMM", "both"):
            continue
        drugs = list(regimen["components"])
        option = _option(
            abbreviation,
            drugs,
            _classes_of(drugs, knowledge),
            _status(drugs, knowledge),
            {d: knowledge.drug_classes(d) for d in drugs},
            {
                "rule": "pivotal_trial",
                "text": f"Pivotal evidence: {regimen['pivotal_trial']}.",
                "sources": list(regimen["sources"]),
            },
        )
        option["_pivotal"] = regimen["pivotal_trial"]
        _trial_only(option, knowledge)
        result.append(option)
    return result


# Registry statuses of a trial that has not reported: a combination resting only on such
# a trial is investigational even when each drug is approved on its own.
NOT_REPORTED = frozenset({"recruiting", "not_yet_recruiting"})


def _trial_only(option: dict, knowledge) -> None:
    trials = pivotal_trials(option, knowledge)
    if option["status"] != "standard" or not trials:
        return
    if all(trial.get("status") in NOT_REPORTED for trial in trials):
        option["status"] = "investigational"
        names = ", ".join(
            f"{t['short_name']} ({t.get('nct_id') or t['id']}, {t['status'].replace('_', ' ')})"
            for t in trials
        )
        option["rationale"].append(
            {
                "rule": "pivotal_trial",
                "text": f"The combination rests on a trial that has not reported: {names}; "
                "a trial option, not a standard regimen, although each drug is approved.",
                "sources": [t.get("nct_id") or t["id"] for t in trials],
            }
        )


def _option(
    regimen: str,
    drugs: list[str],
    classes: list[str],
    status: str,
    per_drug: dict[str, list[str]],
    first: dict,
) -> dict:
    return {
        "regimen": regimen,
        "_drug_classes": per_drug,
        "drugs": drugs,
        "drug_classes": classes,
        "status": status,
        "score": 0,
        "rationale": [first],
        "cautions": [],
        "levels": [],
    }


def _classes_of(drugs: list[str], knowledge) -> list[str]:
    classes: list[str] = []
    for drug in drugs:
        for drug_class in knowledge.drug_classes(drug):
            if drug_class not in classes:
                classes.append(drug_class)
    return classes


def _status(drugs: list[str], knowledge) -> str:
    """standard (all drugs approved), off_label or investigational (trial-only)."""
    status = "standard"
    for drug in drugs:
        if knowledge.drugs[drug]["status"] == "approved":
            continue
        if set(knowledge.drug_classes(drug)) <= OFF_LABEL_CLASSES:
            status = "off_label" if status == "standard" else status
        else:
            status = "investigational"
    return status


def _note(option: dict, rule: str, text: str, sources: list[str], delta: int = 0) -> None:
    option["score"] += delta
    option["rationale"].append({"rule": rule, "text": text, "sources": list(sources)})


# -- rule 1: refractoriness --------------------------------------------------------------------


def rule_refractory_drug(option: dict, history: dict) -> bool:
    """True when the option is dropped: it holds a drug the patient is refractory to.

    Glucocorticoids are exempt: a refractory line marks its dexamethasone refractory too,
    which says little about the backbone; a note is added instead."""
    refractory = set(history.get("refractory_drugs") or [])
    hit = [d for d in option["drugs"] if d in refractory and not _is_glucocorticoid(d)]
    if hit:
        return True
    steroids = [d for d in option["drugs"] if d in refractory]
    if steroids:
        _note(
            option,
            "refractory_drug",
            f"The patient is recorded refractory to {', '.join(steroids)} as part of an earlier "
            "line; the glucocorticoid backbone is kept (its own contribution is not separable).",
            option["rationale"][0]["sources"],
        )
    return False


def _is_glucocorticoid(drug: str) -> bool:
    return drug in {"dexamethasone", "prednisone", "prednisolone"}


def rule_refractory_class(option: dict, history: dict) -> None:
    """Demote a drug whose class the patient is refractory to (another drug of that class),
    unless a documented class switch (rule 2) applies."""
    refractory_drugs = set(history.get("refractory_drugs") or [])
    refractory_classes = set(history.get("refractory_classes") or []) - {GLUCOCORTICOID}
    for drug in option["drugs"]:
        if drug in refractory_drugs:
            continue
        classes = _drug_class_map(option).get(drug, [])
        for drug_class in classes:
            if drug_class not in refractory_classes:
                continue
            if _switch_allowed(drug, refractory_drugs):
                continue
            if drug_class == "celmod":
                continue  # CELMoDs: rule 2 decides
            text = (
                f"Refractory to the {drug_class.replace('_', ' ')} class; {drug} is another "
                "drug of that class without a documented switch path (facts F2)."
            )
            sources = option["rationale"][0]["sources"]
            if drug == "isatuximab" and "daratumumab" in refractory_drugs:
                text = (
                    "Daratumumab-refractory: isatuximab is generally not considered active "
                    "after daratumumab failure (unverified)."
                )
                sources = [ISATUXIMAB_AFTER_DARA]
            _note(option, "refractory_class", text, sources, -CLASS_REFRACTORY_PENALTY)


def _drug_class_map(option: dict) -> dict[str, list[str]]:
    return option["_drug_classes"]


def _switch_allowed(drug: str, refractory_drugs: set[str]) -> bool:
    same_class_refractory = [r for r, targets in SWITCH_PATHS.items() if drug in targets]
    if not same_class_refractory:
        return False
    # The switch must be the only refractoriness in the class along the path.
    return any(r in refractory_drugs for r in same_class_refractory)


# -- rule 2: class switch ----------------------------------------------------------------------


def rule_class_switch(option: dict, history: dict) -> None:
    """Note (and keep) the documented within-class switches of facts F2."""
    refractory = set(history.get("refractory_drugs") or [])
    drugs = set(option["drugs"])
    if "bortezomib" in refractory:
        for drug in sorted(drugs & SWITCH_PATHS["bortezomib"]):
            if drug in refractory:
                continue
            _note(
                option,
                "class_switch",
                f"Bortezomib-refractory: switch inside the PI class to {drug} is a documented "
                "path; bortezomib-resistant clones often stay carfilzomib-sensitive in vitro. "
                "No validated genomic marker selects the next PI.",
                PI_SWITCH_SOURCES,
                CLASS_SWITCH_BONUS,
            )
    if (
        "lenalidomide" in refractory
        and "pomalidomide" in drugs
        and "pomalidomide" not in refractory
    ):
        _note(
            option,
            "class_switch",
            "Lenalidomide-refractory: pomalidomide-based therapy is the documented next IMiD "
            "step; its pivotal trial enrolled lenalidomide-exposed patients.",
            option["rationale"][0]["sources"],
            CLASS_SWITCH_BONUS,
        )
    celmods = [d for d in option["drugs"] if "celmod" in _drug_class_map(option).get(d, [])]
    if celmods and {"lenalidomide", "pomalidomide"} <= refractory:
        _note(
            option,
            "class_switch",
            f"Lenalidomide- and pomalidomide-refractory: CELMoD ({', '.join(celmods)}) trials "
            "are the documented path; CELMoDs stay active in IMiD-resistant models and "
            "mezigdomide-dexamethasone gave ORR 41% in triple-class-refractory disease. "
            "Investigational: a trial option, not a standard regimen.",
            CELMOD_SOURCES,
            CELMOD_SWITCH_BONUS,
        )


# -- rule 2b: the pivotal trial's population ---------------------------------------------------


def pivotal_trials(option: dict, knowledge) -> list[dict]:
    """Curated trials (trials.yaml) named as the regimen's pivotal trial. The text may
    list several (';'-separated); a part naming a trial where the regimen was only the
    comparator ("OPTIMISMM; comparator in CARTITUDE-4") does not count."""
    parts = (option.get("_pivotal") or "").split(";")
    text = ";".join(part for part in parts if "comparator" not in part.casefold())
    found = []
    for trial in knowledge.trials:
        name = trial.get("short_name") or ""
        if name and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
            found.append(trial)
    return found


def rule_pivotal_population(option: dict, history: dict, knowledge) -> None:
    """Demote a regimen when the patient is outside the treated population of the trial
    its evidence comes from: too few prior lines, a required exposure or refractoriness
    missing, or an excluded refractoriness present (trials.population_gaps). Once per
    regimen; the first curated pivotal trial with gaps is cited."""
    from mmresist.interpret.trials import population_gaps

    if not history.get("lines"):
        return
    for trial in pivotal_trials(option, knowledge):
        gaps = population_gaps(trial, knowledge=knowledge, therapy_history=history)
        if not gaps:
            continue
        registry = trial.get("nct_id") or trial["id"]
        _note(
            option,
            "pivotal_population",
            f"Outside the population of {trial['short_name']} ({registry}), the trial its "
            f"evidence comes from: {'; '.join(gaps)}.",
            [registry, *[s for s in trial.get("sources") or [] if s != registry]],
            -POPULATION_PENALTY,
        )
        return


# -- rules 3 and 4: findings -------------------------------------------------------------------


def _level(finding: dict) -> str:
    level = str(finding.get("evidence_level") or "E").upper()
    return level if level in LEVEL_WEIGHT else "E"


def _finding_label(finding: dict) -> str:
    alteration = finding.get("alteration")
    gene = finding.get("gene") or ""
    return f"{gene} {alteration}".strip() if alteration else gene or finding["biomarker_id"]


def _seen(option: dict, rule: str, key: str) -> bool:
    seen = option.setdefault("_seen", set())
    if (rule, key) in seen:
        return True
    seen.add((rule, key))
    return False


def rule_resistance_findings(option: dict, findings: list[dict]) -> None:
    """Demote what a resistance finding compromises (one change per gene and regimen)."""
    classes_of = _drug_class_map(option)
    for finding in findings:
        if finding.get("implication") != "resistance":
            continue
        gene = finding.get("gene") or ""
        level = _level(finding)
        named = [d for d in option["drugs"] if d in (finding.get("drugs") or [])]
        finding_classes = set(finding.get("drug_classes") or [])
        if gene == "CRBN":
            finding_classes |= {"imid", "celmod"}
        by_class = [
            d
            for d in option["drugs"]
            if d not in named and finding_classes & set(classes_of.get(d, []))
        ]
        if not named and not by_class:
            continue
        if _seen(option, "resistance_gene", gene):
            continue  # one change per gene and regimen; the strongest finding comes first
        label = _finding_label(finding)
        sources = list(finding.get("sources") or [])
        if finding_classes == {GLUCOCORTICOID}:
            _note(
                option,
                "resistance_finding",
                f"{label} (evidence {level}): glucocorticoid-receptor loss may blunt the "
                "dexamethasone backbone (inferred in myeloma); weigh steroid toxicity against "
                "benefit. No score change.",
                sources,
            )
            option["levels"].append(level)
            continue
        if named:
            delta = -LEVEL_WEIGHT[level]
            text = f"{label} (evidence {level}) compromises {', '.join(named)}."
        elif gene == "PSMB5" and by_class == ["carfilzomib"]:
            delta = 0
            text = (
                f"{label} (evidence {level}) is a bortezomib-resistance change; carfilzomib "
                "kept its activity in bortezomib-resistant PSMB5-mutant models (in vitro), so "
                "the regimen is not demoted."
            )
            sources = sources + [s for s in PI_SWITCH_SOURCES if s not in sources]
        else:
            delta = -CLASS_ONLY_PENALTY
            text = (
                f"{label} (evidence {level}) affects the class of {', '.join(by_class)}; "
                "the drug itself was not tested, so the regimen is demoted by one."
            )
        option["levels"].append(level)
        _note(option, "resistance_finding", text, sources, delta)


def rule_sensitivity_findings(option: dict, findings: list[dict]) -> None:
    """Promote what a sensitivity finding supports; venetoclax carries its trial caveats."""
    for finding in findings:
        if finding.get("implication") != "sensitivity":
            continue
        named = [d for d in option["drugs"] if d in (finding.get("drugs") or [])]
        if not named:
            continue
        gene = finding.get("gene") or ""
        if _seen(option, "sensitivity_gene", gene):
            continue
        level = _level(finding)
        option["levels"].append(level)
        _note(
            option,
            "sensitivity_finding",
            f"{_finding_label(finding)} (evidence {level}) supports {', '.join(named)}: "
            f"{finding.get('summary') or ''}".strip(),
            list(finding.get("sources") or []),
            LEVEL_WEIGHT[level],
        )
        if "venetoclax" in named:
            option["cautions"].append(
                "Venetoclax: BELLINI showed higher mortality with venetoclax-Vd (21% vs 11%); "
                "CANOVA (ven-dex vs pom-dex in t(11;14)) missed its PFS primary endpoint. "
                "Not approved for myeloma."
            )


def _has_t1114(findings: list[dict]) -> bool:
    return any(
        f.get("implication") == "sensitivity" and "venetoclax" in (f.get("drugs") or [])
        for f in findings
    )


def rule_venetoclax_unselected(option: dict, findings: list[dict]) -> None:
    """Without t(11;14) (no venetoclax sensitivity finding), demote venetoclax regimens."""
    if "venetoclax" not in option["drugs"] or _has_t1114(findings):
        return
    _note(
        option,
        "venetoclax_unselected",
        "No t(11;14) or BCL2 sensitivity finding: BELLINI saw higher mortality in unselected "
        "patients and its authors advise against venetoclax there.",
        BELLINI_SOURCES,
        -VENETOCLAX_UNSELECTED_PENALTY,
    )
    option["cautions"].append(
        "Venetoclax without t(11;14): excess mortality in unselected patients (BELLINI)."
    )


def braf_mek_options(findings: list[dict], knowledge, history: dict, latest: dict) -> list[dict]:
    """An off-label BRAF+MEK option for a sensitivity finding naming BRAF/MEK inhibitors."""
    result = []
    for finding in findings:
        if finding.get("implication") != "sensitivity":
            continue
        classes = set(finding.get("drug_classes") or [])
        if not {"braf_inhibitor", "mek_inhibitor"} & classes:
            continue
        if result:
            break  # one such option, from the strongest finding (findings come ordered)
        drugs = list(finding.get("drugs") or [])
        level = _level(finding)
        option = _option(
            "BRAF+MEK inhibitor (off-label)",
            drugs,
            _classes_of(drugs, knowledge),
            "off_label",
            {d: knowledge.drug_classes(d) for d in drugs},
            {
                "rule": "sensitivity_finding",
                "text": f"{_finding_label(finding)} (evidence {level}): "
                f"{finding.get('summary') or ''} Choose one BRAF plus one MEK inhibitor "
                "(e.g. encorafenib-binimetinib); off-label, no regimen in regimens.tsv.",
                "sources": list(finding.get("sources") or []),
            },
        )
        option["score"] += LEVEL_WEIGHT[level]
        option["levels"].append(level)
        option["cautions"].append(
            "Off-label targeted therapy: not approved for myeloma; spatially divergent "
            "BRAF-wild-type clones can escape."
        )
        rule_unexposed_class(option, history)
        rule_lab_cautions(option, latest, knowledge)
        result.append(option)
    return result


# -- rule 5: new antigen -----------------------------------------------------------------------


def rule_new_antigen(option: dict, history: dict) -> None:
    """After antigen-directed therapy, prefer a new antigen over the one already targeted."""
    exposed = set(history.get("exposed_classes") or [])
    classes = set(option["drug_classes"])
    if exposed & BCMA_CLASSES:
        if classes & (GPRC5D_CLASSES | FCRH5_CLASSES):
            _note(
                option,
                "new_antigen",
                "Prior BCMA-directed therapy: a new antigen (GPRC5D or FcRH5) does not "
                "cross-resist; talquetamab responded in 72% after CAR-T and 44% after a "
                "bispecific.",
                PRIOR_BCMA_SOURCES,
                NEW_ANTIGEN_BONUS,
            )
        if classes & BCMA_CLASSES:
            _note(
                option,
                "new_antigen",
                "Prior BCMA-directed therapy: BCMA retreatment only if BCMA is retained; "
                "genotype TNFRSF17 (copy number and extracellular-domain variants) first.",
                PRIOR_GPRC5D_SOURCES,
                -SAME_ANTIGEN_PENALTY,
            )
    if exposed & GPRC5D_CLASSES:
        if classes & (BCMA_CLASSES | FCRH5_CLASSES):
            _note(
                option,
                "new_antigen",
                "Prior GPRC5D-directed therapy: BCMA- or FcRH5-directed agents target a new "
                "antigen (clinical data limited).",
                PRIOR_GPRC5D_SOURCES,
                NEW_ANTIGEN_BONUS,
            )
        if classes & GPRC5D_CLASSES:
            _note(
                option,
                "new_antigen",
                "Prior GPRC5D-directed therapy: biallelic GPRC5D loss is reported at relapse; "
                "retreat only if GPRC5D is retained.",
                PRIOR_GPRC5D_SOURCES,
                -SAME_ANTIGEN_PENALTY,
            )


# -- rule 6: unexposed classes -----------------------------------------------------------------


def rule_unexposed_class(option: dict, history: dict) -> None:
    """+1 per drug class the patient has never received (glucocorticoids aside), capped."""
    exposed = set(history.get("exposed_classes") or [])
    new = [c for c in option["drug_classes"] if c != GLUCOCORTICOID and c not in exposed]
    if not new:
        return
    _note(
        option,
        "unexposed_class",
        f"Class(es) not yet received: {', '.join(new)}.",
        option["rationale"][0]["sources"],
        min(len(new), UNEXPOSED_CAP),
    )


# -- rule 7: labs and infection risk -----------------------------------------------------------


def latest_labs(labs: list[LabRow] | None) -> dict[str, tuple[float, str, str]]:
    """Latest value per test (``labs.latest_per_test``) in its canonical unit:
    ``{test: (value, unit, ISO date)}``; a test whose latest value has no known
    conversion is left out."""
    latest: dict[str, tuple[float, str, str]] = {}
    for test, row in latest_per_test(labs).items():
        converted = canonical_value(row)
        if converted is not None:
            latest[test] = (converted[0], converted[1], str(row["date"]))
    return latest


def rule_lab_cautions(option: dict, latest: dict, knowledge) -> None:
    """Renal and cytopenia cautions from the latest labs; a missing lab gives none."""
    renal = []
    if "creatinine" in latest and latest["creatinine"][0] > CREATININE_HIGH:
        value, unit, when = latest["creatinine"]
        renal.append(f"creatinine {value:g} {unit} on {when} (above {CREATININE_HIGH:g})")
    if "egfr" in latest and latest["egfr"][0] < EGFR_LOW:
        value, unit, when = latest["egfr"]
        renal.append(f"eGFR {value:g} {unit} on {when} (below {EGFR_LOW:g})")
    if renal:
        for drug in option["drugs"]:
            guidance = (knowledge.drugs.get(drug) or {}).get("renal_guidance")
            if guidance:
                option["cautions"].append(
                    f"Renal: {'; '.join(renal)}. Compute creatinine clearance; {drug}: {guidance}"
                )
    for test, limit, label in (
        ("neutrophils", NEUTROPHILS_LOW, "neutrophils"),
        ("platelets", PLATELETS_LOW, "platelets"),
    ):
        if test in latest and latest[test][0] < limit:
            value, unit, when = latest[test]
            option["cautions"].append(
                f"Cytopenia: {label} {value:g} {unit} on {when} (below {limit:g}); check the "
                "regimen's dose-hold rules before starting (CTCAE v5.0 grade 3 or worse)."
            )


def rule_infection_risk(option: dict) -> None:
    """T-cell-redirecting therapy (bispecifics, CAR-T) carries an infection-risk caution;
    salvage high-dose melphalan carries a transplant-eligibility caution."""
    if option["regimen"] == "ASCT":
        option["cautions"].append(
            "Salvage autologous transplant: only for a transplant-eligible patient, usually "
            "after a durable response to a first transplant."
        )
    if set(option["drug_classes"]) & T_CELL_REDIRECTING:
        option["cautions"].append(
            "Infection risk on T-cell-redirecting therapy: check IgG (replacement if low), "
            "give antiviral and Pneumocystis prophylaxis per local protocol; CRS/ICANS "
            "monitoring."
        )


# -- ranking -----------------------------------------------------------------------------------


def rank(options: list[dict], max_options: int = 10) -> list[dict]:
    """Sort by tier, then score (high first), then regimen, and finish the shape.

    Options that no rule separates (same tier and score) share a rank ("1, 1, 3"): the
    alphabetical order inside a rank is only for stable output, not a preference."""
    for option in options:
        if option["status"] == "off_label":
            option["score"] -= OFF_LABEL_PENALTY
    options.sort(
        key=lambda o: (o["status"] == "investigational", -o["score"], o["regimen"].casefold())
    )
    result = []
    previous_key = None
    shared_rank = 0
    for index, option in enumerate(options, start=1):
        key = (option["status"] == "investigational", option["score"])
        if key != previous_key:
            if index > max(0, max_options):
                break  # the cut falls between ranks, never inside one
            shared_rank, previous_key = index, key
        sources: list[str] = []
        for item in option["rationale"]:
            for source in item["sources"]:
                if source not in sources:
                    sources.append(source)
        result.append(
            {
                "rank": shared_rank,
                "regimen": option["regimen"],
                "drugs": option["drugs"],
                "drug_classes": option["drug_classes"],
                "status": option["status"],
                "score": option["score"],
                "rationale": option["rationale"],
                "cautions": list(dict.fromkeys(option["cautions"])),
                "evidence_level": _evidence_level(option),
                "sources": sources,
            }
        )
    return result


def _evidence_level(option: dict) -> str:
    """'standard' for an approved regimen resting on its pivotal trial, else the best CIViC
    level among finding-based items, else 'investigational'."""
    if option["status"] == "standard":
        return "standard"
    levels = sorted(option["levels"], key=EVIDENCE_ORDER.index)
    return levels[0] if levels else "investigational"
