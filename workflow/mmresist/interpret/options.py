"""Therapy options: relapse regimens ranked against therapy history, findings and labs.

Each rule is a small function; ``docs/therapy-options.md`` describes the rules, their weights
and the curated facts (``resources/knowledge/option_rules.yaml``) they reason with.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mmresist.interpret import option_ranking as ordering
from mmresist.interpret.labs import canonical_value, latest_per_test
from mmresist.model import Finding, LabRow, PatientInfo, TherapyHistory
from mmresist.vocab import DRUG_CLASS_LABELS

if TYPE_CHECKING:
    from mmresist.knowledge.load import Knowledge

__all__ = ["RULES", "therapy_options"]

RULES = (
    "pivotal_trial",
    "refractory_drug",
    "glucocorticoid_backbone",
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
    "approval",
    "evidence_tier",
    "benefit",
    "never_offer",
    "salvage_asct",
    "head_to_head",
)
# Rules that speak against an option for this patient; a brief summary shows them first.
AGAINST_RULES = frozenset(
    {
        "refractory_drug",
        "refractory_class",
        "pivotal_population",
        "resistance_finding",
        "venetoclax_unselected",
        "never_offer",
        "head_to_head",
    }
)

# Score weights (how much each rule moves an option) are ranking policy curated with their
# basis in resources/knowledge/option_ranking.yaml (``weights``), read through _weight.
EVIDENCE_ORDER = ("A", "B", "C", "D", "E")


def _weight(knowledge: Knowledge, name: str) -> int:
    return int(ordering.weights(knowledge)[name])


def _level_weight(knowledge: Knowledge, level: str) -> int:
    return int(ordering.weights(knowledge)["level"][level])


GLUCOCORTICOID = "glucocorticoid"


def _facts(knowledge: Knowledge) -> dict[str, Any]:
    """The resolved option_rules.yaml of a loaded ``Knowledge``."""
    return knowledge.option_rules


def _antigen_classes(knowledge: Knowledge, antigens: list[str] | str) -> set[str]:
    groups = _facts(knowledge)["antigen_classes"]
    names = [antigens] if isinstance(antigens, str) else antigens
    return set().union(*(groups[name] for name in names))


def _with_source(text: str, sources: list[str]) -> str:
    """A caution with its source, in the form drugs.tsv renal guidance uses."""
    return f"{text} Source: {'; '.join(sources)}"


def _lab_limit(knowledge: Knowledge, test: str) -> float:
    """The limit of ``test`` (canonical unit) that option_rules.yaml reads from rules.yaml."""
    limits = _facts(knowledge)["lab_limits"]
    return next(limit["value"] for limit in limits if limit["test"] == test)


def therapy_options(
    *,
    knowledge: Knowledge,
    therapy_history: TherapyHistory | None,
    findings: list[Finding],
    labs: list[LabRow] | None = None,
    max_options: int = 10,
    patient: PatientInfo | None = None,
    approval_region: str = "US",
) -> list[dict] | None:
    """Ranked relapse options, or ``None`` without a therapy history (unknown, not "none").

    ``knowledge`` is a loaded ``Knowledge``; ``therapy_history`` the dict of
    ``therapy.therapy_history``; ``findings`` the list ``matching`` returns; ``labs`` the
    labs rows of ``clinical.read_table``. Each option is ``{rank, regimen, drugs,
    drug_classes, status, score, rationale: [{rule, text, sources}], cautions,
    evidence_level, sources, approval, benefit}``; ``max_options`` of them, plus any tied
    with the last. ``patient`` holds the patients.tsv characteristics (None when not given;
    salvage transplant reads it); ``approval_region`` (US or EU) picks the approvals.tsv rows.
    """
    if therapy_history is None:
        return None
    findings = list(findings or [])
    latest = latest_labs(labs)
    options = []
    for candidate in candidates(knowledge):
        if rule_refractory_drug(candidate, therapy_history):
            continue
        ordering.apply_approval(candidate, therapy_history, knowledge, approval_region)
        ordering.apply_benefit(candidate, knowledge)
        if not ordering.salvage_asct(candidate, therapy_history, patient, knowledge):
            continue
        rule_refractory_class(candidate, therapy_history, knowledge)
        rule_class_switch(candidate, therapy_history, knowledge)
        rule_pivotal_population(candidate, therapy_history, knowledge)
        rule_resistance_findings(candidate, findings, knowledge)
        rule_sensitivity_findings(candidate, findings, knowledge)
        rule_venetoclax_unselected(candidate, findings, knowledge)
        rule_new_antigen(candidate, therapy_history, knowledge)
        rule_unexposed_class(candidate, therapy_history, knowledge)
        rule_lab_cautions(candidate, latest, knowledge)
        rule_infection_risk(candidate, knowledge)
        ordering.never_offer(candidate, therapy_history, knowledge)
        options.append(candidate)
    options.extend(braf_mek_options(findings, knowledge, therapy_history, latest))
    return ordering.rank(options, max_options, knowledge)


# -- candidates --------------------------------------------------------------------------------


def candidates(knowledge: Knowledge) -> list[dict]:
    """One working option per RRMM (or both-setting) regimen, with its pivotal-trial item."""
    result = []
    for abbreviation in sorted(knowledge.regimens):
        regimen = knowledge.regimens[abbreviation]
        if regimen["setting"] not in ("RRMM", "both"):
            continue
        drugs = list(regimen["components"])
        # The curated pivotal outcome (benefit.tsv) names the trial the ranking rests on;
        # without one the regimens.tsv pivotal trial is cited.
        outcome = ordering.benefit_row(knowledge, abbreviation)
        trial = outcome["trial"] if outcome else regimen["pivotal_trial"]
        option = _option(
            abbreviation,
            drugs,
            _classes_of(drugs, knowledge),
            _status(drugs, knowledge),
            {d: knowledge.drug_classes(d) for d in drugs},
            {
                "rule": "pivotal_trial",
                "text": f"Pivotal evidence: {trial}.",
                "sources": list(outcome["sources"] if outcome else regimen["sources"]),
            },
        )
        option["_pivotal"] = regimen["pivotal_trial"]
        _trial_only(option, knowledge)
        result.append(option)
    return result


# Registry statuses of a trial that has not reported: a combination resting only on such
# a trial is investigational even when each drug is approved on its own.
NOT_REPORTED = frozenset({"recruiting", "not_yet_recruiting"})


def _trial_only(option: dict, knowledge: Knowledge) -> None:
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


def _classes_of(drugs: list[str], knowledge: Knowledge) -> list[str]:
    classes: list[str] = []
    for drug in drugs:
        for drug_class in knowledge.drug_classes(drug):
            if drug_class not in classes:
                classes.append(drug_class)
    return classes


def _status(drugs: list[str], knowledge: Knowledge) -> str:
    """standard (all drugs approved), off_label or investigational (trial-only)."""
    status = "standard"
    for drug in drugs:
        if knowledge.drugs[drug]["status"] == "approved":
            continue
        if set(knowledge.drug_classes(drug)) <= set(
            _facts(knowledge)["off_label_classes"]["drug_classes"]
        ):
            status = "off_label" if status == "standard" else status
        else:
            status = "investigational"
    return status


def _note(
    option: dict,
    rule: str,
    text: str,
    sources: list[str],
    delta: int = 0,
    *,
    compromised: bool = False,
) -> None:
    """Add a rationale item and its score change; ``compromised``: the rule contraindicates
    the option for this patient (option_ranking.sort_key)."""
    if compromised:
        option["_compromised"] = True
    option["score"] += delta
    option["rationale"].append({"rule": rule, "text": text, "sources": list(sources)})


# -- rule 1: refractoriness --------------------------------------------------------------------


def rule_refractory_drug(option: dict, history: TherapyHistory) -> bool:
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
            "glucocorticoid_backbone",
            f"The patient is recorded refractory to {', '.join(steroids)} as part of an earlier "
            "line; the glucocorticoid backbone is kept (its own contribution is not separable).",
            option["rationale"][0]["sources"],
        )
    return False


def _is_glucocorticoid(drug: str) -> bool:
    return drug in {"dexamethasone", "prednisone", "prednisolone"}


def rule_refractory_class(option: dict, history: TherapyHistory, knowledge: Knowledge) -> None:
    """Demote a drug whose class the patient is refractory to (another drug of that class),
    unless a documented class switch (rule 2) applies."""
    refractory_drugs = set(history.get("refractory_drugs") or [])
    refractory_classes = set(history.get("refractory_classes") or []) - {GLUCOCORTICOID}
    switches = _facts(knowledge)["class_switches"]
    # Classes reached by a switch into a new class (CELMoDs): rule 2 decides about them.
    switch_classes = {c for path in switches for c in path.get("to_classes", [])}
    for drug in option["drugs"]:
        if drug in refractory_drugs:
            continue
        classes = _drug_class_map(option).get(drug, [])
        for drug_class in classes:
            if drug_class not in refractory_classes:
                continue
            if _switch_allowed(drug, refractory_drugs, switches):
                continue
            if drug_class in switch_classes:
                continue
            text = (
                f"Refractory to the {DRUG_CLASS_LABELS.get(drug_class, drug_class)} class; {drug} "
                "is another drug of that class without a documented switch path, so it follows "
                "the options this refractoriness does not touch."
            )
            sources = option["rationale"][0]["sources"]
            # A curated note (isatuximab after daratumumab) gives the specific reason. Either
            # way the option is compromised: a pivotal trial's benefit cannot be claimed for
            # disease already refractory to the class, unless a documented switch says so.
            for note in _facts(knowledge)["refractory_class_notes"]:
                if drug == note["drug"] and set(note["refractory"]) <= refractory_drugs:
                    text, sources = note["text"], note["source"]
                    break
            penalty = _weight(knowledge, "class_refractory_penalty")
            _note(option, "refractory_class", text, sources, -penalty, compromised=True)


def _drug_class_map(option: dict) -> dict[str, list[str]]:
    return option["_drug_classes"]


def _switch_allowed(drug: str, refractory_drugs: set[str], switches: list[dict]) -> bool:
    """Whether a documented switch path leads to ``drug`` from the patient's refractoriness."""
    return any(
        drug in path.get("to_drugs", []) and set(path["refractory"]) <= refractory_drugs
        for path in switches
    )


# -- rule 2: class switch ----------------------------------------------------------------------


def rule_class_switch(option: dict, history: TherapyHistory, knowledge: Knowledge) -> None:
    """Note (and promote) the documented switch paths of option_rules.yaml that lead from
    the patient's refractoriness to a drug of this regimen."""
    refractory = set(history.get("refractory_drugs") or [])
    classes_of = _drug_class_map(option)
    for path in _facts(knowledge)["class_switches"]:
        if not set(path["refractory"]) <= refractory:
            continue
        to_classes = set(path.get("to_classes", []))
        reached = [
            d
            for d in option["drugs"]
            if d not in refractory
            and (d in path.get("to_drugs", []) or to_classes & set(classes_of.get(d, [])))
        ]
        if not reached:
            continue
        sources = option["rationale"][0]["sources"] if path.get("cite") else path["source"]
        bonus = _weight(knowledge, "celmod_switch_bonus" if to_classes else "class_switch_bonus")
        if "{drug}" in path["text"]:
            for drug in sorted(reached):
                _note(option, "class_switch", path["text"].format(drug=drug), sources, bonus)
        else:
            text = path["text"].format(drugs=", ".join(reached))
            _note(option, "class_switch", text, sources, bonus)


# -- rule 2b: the pivotal trial's population ---------------------------------------------------


def pivotal_trials(option: dict, knowledge: Knowledge) -> list[dict]:
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


def rule_pivotal_population(option: dict, history: TherapyHistory, knowledge: Knowledge) -> None:
    """Demote a regimen when the patient is outside the treated population of the trial
    its evidence comes from: too few prior lines, a required exposure or refractoriness
    missing, or an excluded refractoriness present (trials.population_gaps of a curated
    trial), else a prior therapy its benefit.tsv row says the trial excluded. Once per
    regimen; the first curated pivotal trial with gaps is cited."""
    from mmresist.interpret.trials import population_gaps

    if not history.get("lines"):
        return
    for trial in pivotal_trials(option, knowledge):
        gaps = population_gaps(trial, knowledge=knowledge, therapy_history=history)
        if gaps:
            registry = trial.get("nct_id") or trial["id"]
            sources = [registry, *[s for s in trial.get("sources") or [] if s != registry]]
            _population_note(option, knowledge, trial["short_name"], registry, gaps, sources)
            return
    row = ordering.benefit_row(knowledge, option["regimen"])
    if row is None:
        return
    gaps = [
        f"it excluded patients {ordering.requirement_text(requirement)}"
        for requirement in row["excluded_prior"]
        if ordering.requirement_met(requirement, history, knowledge)
    ]
    if gaps:
        registry = row["nct_id"] or row["trial"]
        _population_note(option, knowledge, row["trial"], registry, gaps, row["sources"])


def _population_note(
    option: dict,
    knowledge: Knowledge,
    trial: str,
    registry: str,
    gaps: list[str],
    sources: list[str],
) -> None:
    _note(
        option,
        "pivotal_population",
        f"Outside the population of {trial} ({registry}), the trial its evidence comes "
        f"from: {'; '.join(gaps)}.",
        sources,
        -_weight(knowledge, "population_penalty"),
        compromised=True,
    )


# -- rules 3 and 4: findings -------------------------------------------------------------------


def _level(finding: Finding) -> str:
    level = str(finding.get("evidence_level") or "E").upper()
    return level if level in EVIDENCE_ORDER else "E"


def _finding_label(finding: Finding) -> str:
    alteration = finding.get("alteration")
    gene = finding.get("gene") or ""
    return f"{gene} {alteration}".strip() if alteration else gene or finding["biomarker_id"]


def _seen(option: dict, rule: str, key: str) -> bool:
    seen = option.setdefault("_seen", set())
    if (rule, key) in seen:
        return True
    seen.add((rule, key))
    return False


def rule_resistance_findings(option: dict, findings: list[Finding], knowledge: Knowledge) -> None:
    """Demote what a resistance finding compromises (one change per gene and regimen)."""
    classes_of = _drug_class_map(option)
    facts = _facts(knowledge)
    for finding in findings:
        if finding.get("implication") != "resistance":
            continue
        gene = finding.get("gene") or ""
        level = _level(finding)
        named = [d for d in option["drugs"] if d in (finding.get("drugs") or [])]
        finding_classes = set(finding.get("drug_classes") or [])
        for extension in facts["resistance_class_extensions"]:
            if extension["gene"] == gene:
                finding_classes |= set(extension["drug_classes"])
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
        spared = next(
            (
                s
                for s in facts["resistance_spared"]
                if s["gene"] == gene and set(by_class) <= set(s["drugs"])
            ),
            None,
        )
        if named:
            delta = -_level_weight(knowledge, level)
            option["_compromised"] = True
            text = f"{label} (evidence {level}) compromises {', '.join(named)}."
        elif spared is not None:
            delta = 0
            text = spared["text"].format(finding=label, level=level)
            sources = sources + [s for s in spared["source"] if s not in sources]
        else:
            delta = -_weight(knowledge, "class_only_penalty")
            text = (
                f"{label} (evidence {level}) affects the class of {', '.join(by_class)}; "
                "the drug itself was not tested, so the regimen is demoted by one."
            )
        if finding.get("exposure") == "predicted_not_exposed" and delta < 0:
            # Predicted, not observed: the patient never received the class, so the finding
            # weighs on the choice by at most the class-only step instead of its level.
            delta = max(delta, -_weight(knowledge, "class_only_penalty"))
            text = f"Predicted; not yet exposed: {text}"
        option["levels"].append(level)
        _note(option, "resistance_finding", text, sources, delta)


def rule_sensitivity_findings(option: dict, findings: list[Finding], knowledge: Knowledge) -> None:
    """Promote what a sensitivity finding supports; a drug with trial caveats (venetoclax)
    carries them as a caution."""
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
            _level_weight(knowledge, level),
        )
        for caution in _facts(knowledge)["sensitivity_cautions"]:
            if caution["drug"] in named:
                option["cautions"].append(_with_source(caution["text"], caution["source"]))


def _selected(drug: str, findings: list[Finding]) -> bool:
    """Whether a sensitivity finding names ``drug`` (t(11;14) for venetoclax)."""
    return any(
        f.get("implication") == "sensitivity" and drug in (f.get("drugs") or []) for f in findings
    )


def rule_venetoclax_unselected(option: dict, findings: list[Finding], knowledge: Knowledge) -> None:
    """Without the finding that selects for it (t(11;14) for venetoclax), demote a regimen
    holding a drug listed under ``unselected`` in option_rules.yaml."""
    for fact in _facts(knowledge)["unselected"]:
        if fact["drug"] not in option["drugs"] or _selected(fact["drug"], findings):
            continue
        _note(
            option,
            "venetoclax_unselected",
            fact["text"],
            fact["source"],
            -_weight(knowledge, "venetoclax_unselected_penalty"),
        )
        option["cautions"].append(_with_source(fact["caution"], fact["source"]))


def braf_mek_options(
    findings: list[Finding], knowledge: Knowledge, history: TherapyHistory, latest: dict
) -> list[dict]:
    """An off-label BRAF+MEK option for a sensitivity finding naming BRAF/MEK inhibitors."""
    result: list[dict] = []
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
        option["score"] += _level_weight(knowledge, level)
        option["levels"].append(level)
        for caution in _facts(knowledge)["cautions"]:
            if caution["applies_to"] == "off_label_targeted":
                option["cautions"].append(_with_source(caution["text"], caution["source"]))
        _not_approved(option, knowledge)
        rule_unexposed_class(option, history, knowledge)
        rule_lab_cautions(option, latest, knowledge)
        result.append(option)
    return result


def _not_approved(option: dict, knowledge: Knowledge) -> None:
    """The off-label BRAF+MEK option: not approved for myeloma in any region."""
    reason = "BRAF and MEK inhibitors are not approved for myeloma in any region"
    option["approval"] = {
        "region": None,
        "status": "not_approved",
        "date": None,
        "label": "off_label",
        "reasons": [reason],
        "verified": True,
    }
    option["benefit"] = None
    option["_group"] = "off_label"
    # Its evidence (a finding's case series or phase 2) is early-phase; no number is curated.
    policy = ordering.ranking(knowledge)
    option["_tier"] = policy["evidence_tiers"]["order"].index("phase1_2")
    option["_band"] = policy["benefit_bands"]["order"].index("not_curated")
    option["rationale"].append(
        {
            "rule": "approval",
            "text": f"Approval: {reason}; off label. Ranked after every on-label option.",
            "sources": list(_facts(knowledge)["off_label_classes"]["source"]),
        }
    )


# -- rule 5: new antigen -----------------------------------------------------------------------


def rule_new_antigen(option: dict, history: TherapyHistory, knowledge: Knowledge) -> None:
    """After antigen-directed therapy, prefer a new antigen over the one already targeted."""
    exposed = set(history.get("exposed_classes") or [])
    classes = set(option["drug_classes"])
    for switch in _facts(knowledge)["antigen_switches"]:
        if not exposed & _antigen_classes(knowledge, switch["after"]):
            continue
        if not classes & _antigen_classes(knowledge, switch["to"]):
            continue
        same = switch["after"] in switch["to"]
        if same:
            option["_compromised"] = True
        delta = (
            -_weight(knowledge, "same_antigen_penalty")
            if same
            else _weight(knowledge, "new_antigen_bonus")
        )
        _note(option, "new_antigen", switch["text"], switch["source"], delta)


# -- rule 6: unexposed classes -----------------------------------------------------------------


def rule_unexposed_class(option: dict, history: TherapyHistory, knowledge: Knowledge) -> None:
    """+1 per drug class the patient has never received (glucocorticoids aside), capped."""
    exposed = set(history.get("exposed_classes") or [])
    new = [c for c in option["drug_classes"] if c != GLUCOCORTICOID and c not in exposed]
    if not new:
        return
    _note(
        option,
        "unexposed_class",
        f"Class(es) not yet received: {', '.join(DRUG_CLASS_LABELS.get(c, c) for c in new)}.",
        option["rationale"][0]["sources"],
        min(len(new), _weight(knowledge, "unexposed_cap")),
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


def rule_lab_cautions(option: dict, latest: dict, knowledge: Knowledge) -> None:
    """Renal and cytopenia cautions from the latest labs; a missing lab gives none."""
    renal = []
    creatinine_high = _lab_limit(knowledge, "creatinine")
    egfr_low = _lab_limit(knowledge, "egfr")
    if "creatinine" in latest and latest["creatinine"][0] > creatinine_high:
        value, unit, when = latest["creatinine"]
        renal.append(f"creatinine {value:g} {unit} on {when} (above {creatinine_high:g})")
    if "egfr" in latest and latest["egfr"][0] < egfr_low:
        value, unit, when = latest["egfr"]
        renal.append(f"eGFR {value:g} {unit} on {when} (below {egfr_low:g})")
    if renal:
        for drug in option["drugs"]:
            guidance = (knowledge.drugs.get(drug) or {}).get("renal_guidance")
            if guidance:
                option["cautions"].append(
                    f"Renal: {'; '.join(renal)}. Compute creatinine clearance; {drug}: {guidance}"
                )
    for test, limit, label in (
        ("neutrophils", _lab_limit(knowledge, "neutrophils"), "neutrophils"),
        ("platelets", _lab_limit(knowledge, "platelets"), "platelets"),
    ):
        if test in latest and latest[test][0] < limit:
            value, unit, when = latest[test]
            option["cautions"].append(
                f"Cytopenia: {label} {value:g} {unit} on {when} (below {limit:g}); check the "
                "regimen's dose-hold rules before starting (CTCAE v5.0 grade 3 or worse)."
            )


def rule_infection_risk(option: dict, knowledge: Knowledge) -> None:
    """T-cell-redirecting therapy (bispecifics, CAR-T) carries an infection-risk caution;
    salvage high-dose melphalan carries a transplant-eligibility caution."""
    facts = _facts(knowledge)
    t_cell_redirecting = set(facts["t_cell_redirecting"])
    for caution in facts["cautions"]:
        applies = caution["applies_to"]
        if (applies == "ASCT" and option["regimen"] == "ASCT") or (
            applies == "t_cell_redirecting" and set(option["drug_classes"]) & t_cell_redirecting
        ):
            option["cautions"].append(_with_source(caution["text"], caution["source"]))
