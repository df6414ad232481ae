"""Therapy options: one scenario per ranking rule, then whole-patient scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmresist.interpret.options import (
    RULES,
    candidates,
    rule_class_switch,
    rule_infection_risk,
    rule_lab_cautions,
    rule_new_antigen,
    rule_pivotal_population,
    rule_refractory_class,
    rule_refractory_drug,
    rule_resistance_findings,
    rule_sensitivity_findings,
    rule_unexposed_class,
    rule_venetoclax_unselected,
    therapy_options,
)
from mmresist.knowledge.load import load_knowledge

ROOT = Path(__file__).resolve().parents[2]
K = load_knowledge(ROOT / "resources" / "knowledge")
BIOMARKERS = {b["id"]: b for b in K.biomarkers}


def finding(biomarker_id: str) -> dict:
    b = BIOMARKERS[biomarker_id]
    return {
        "biomarker_id": b["id"],
        "gene": b["gene"],
        "alteration": b.get("alteration_spec") or "",
        "implication": b["implication"],
        "drugs": list(b["drugs"]),
        "drug_classes": list(b["drug_classes"]),
        "evidence_level": b["evidence_level"],
        "sources": list(b["sources"]),
        "summary": b["summary"],
    }


def history(refractory=(), exposed=(), lines=3) -> dict:
    """A therapy history with ``lines`` prior lines (label checks count them)."""
    refractory = set(refractory)
    exposed = set(exposed) | refractory
    classes = lambda drugs: sorted({c for d in drugs for c in K.drug_classes(d)})  # noqa: E731
    return {
        "lines": [],
        "line_count": lines,
        "exposed_drugs": sorted(exposed),
        "exposed_classes": classes(exposed),
        "refractory_drugs": sorted(refractory),
        "refractory_classes": classes(refractory),
        "triple_class_refractory": False,
        "penta_refractory": False,
        "last_exposure": {},
    }


def candidate(abbreviation: str) -> dict:
    return next(c for c in candidates(K) if c["regimen"] == abbreviation)


def lab(test: str, value: float, unit: str, when: str = "2026-01-10") -> dict:
    return {"test": test, "date": when, "value": value, "unit": unit}


def options(h, findings=(), labs=None, max_options=100) -> list[dict]:
    return therapy_options(
        knowledge=K, therapy_history=h, findings=list(findings), labs=labs, max_options=max_options
    )


def by_regimen(result: list[dict]) -> dict[str, dict]:
    return {o["regimen"]: o for o in result}


def rules_of(option: dict) -> list[str]:
    return [item["rule"] for item in option["rationale"]]


# -- candidates and shape ---------------------------------------------------------------------


def test_candidates_are_relapse_regimens_with_pivotal_sources():
    names = {c["regimen"] for c in candidates(K)}
    assert {"Kd", "DPd", "talquetamab", "VRd"} <= names  # VRd is "both"
    assert not {"VMP", "D-VRd", "MPT"} & names  # NDMM only
    for c in candidates(K):
        assert c["rationale"][0]["rule"] == "pivotal_trial"
        assert c["rationale"][0]["sources"]


def test_no_history_is_unknown_not_empty():
    assert therapy_options(knowledge=K, therapy_history=None, findings=[]) is None


def test_output_shape_ranks_and_sources():
    result = options(history(exposed=["bortezomib", "lenalidomide"]), max_options=10)
    ranks = [o["rank"] for o in result]
    assert len(result) >= 10 and ranks[0] == 1 and ranks == sorted(ranks)
    # Each part (offered, off label, trial-only, never offered) keeps ten options plus ties.
    offered = [o for o in result if o["status"] in ("standard", "needs_assessment")]
    assert len(offered) <= 10 or all(o["rank"] == offered[9]["rank"] for o in offered[10:])
    for index, option in enumerate(result):
        # Competition ranking: options no rule separates share a rank, the next rank skips.
        if index and option["rank"] != result[index - 1]["rank"]:
            assert option["rank"] == index + 1
        elif index:
            assert option["score"] == result[index - 1]["score"]
    for o in result:
        assert set(o) >= {
            "approval",
            "benefit",
            "rank",
            "regimen",
            "drugs",
            "drug_classes",
            "rationale",
            "cautions",
            "evidence_level",
            "sources",
        }
        assert o["sources"]
        for item in o["rationale"]:
            assert item["rule"] in RULES and item["text"] and isinstance(item["sources"], list)


def test_ranking_is_deterministic_ties_by_abbreviation():
    h = history(exposed=["bortezomib"])
    first, second = options(h), options(h)
    assert first == second
    for a, b in zip(first, first[1:], strict=False):
        if a["rank"] == b["rank"]:
            assert a["regimen"].casefold() <= b["regimen"].casefold()
    # On-label options come before off-label, withdrawn and trial-only ones.
    groups = [o["status"] in ("off_label", "investigational") for o in first]
    assert groups == sorted(groups)


# -- rule 1: refractoriness -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("refractory", "regimen", "dropped"),
    [
        (["lenalidomide"], "DRd", True),
        (["lenalidomide"], "DPd", False),
        (["daratumumab"], "DKd", True),
        (["dexamethasone"], "Kd", False),  # glucocorticoid backbone exempt
        (["teclistamab"], "teclistamab", True),
    ],
)
def test_rule_refractory_drug(refractory, regimen, dropped):
    assert rule_refractory_drug(candidate(regimen), history(refractory)) is dropped


def test_rule_refractory_class_demotes_other_drug_of_class():
    option = candidate("IsaKd")
    rule_refractory_class(option, history(["daratumumab"]), K)
    assert option["score"] == -2
    assert "isatuximab" in option["rationale"][-1]["text"]
    option = candidate("Kd")
    rule_refractory_class(option, history(["bortezomib"]), K)  # the class switch applies
    assert option["score"] == 0 and rules_of(option) == ["pivotal_trial"]
    option = candidate("Vd")
    rule_refractory_class(option, history(["carfilzomib"]), K)  # no carfilzomib -> bortezomib path
    assert option["score"] == -2


# -- rule 2: class switch ----------------------------------------------------------------------

WEIGHTS = K.regimen_evidence["ranking"]["weights"]
CLASS_SWITCH_BONUS = WEIGHTS["class_switch_bonus"]


@pytest.mark.parametrize(
    ("refractory", "regimen", "noted", "delta"),
    [
        (["bortezomib"], "Kd", True, CLASS_SWITCH_BONUS),
        (["bortezomib"], "IRd", True, CLASS_SWITCH_BONUS),
        (["lenalidomide"], "DPd", True, CLASS_SWITCH_BONUS),
        (["lenalidomide", "pomalidomide"], "Mezi-dex", True, 2),
        (["lenalidomide"], "Mezi-dex", False, 0),
        (["carfilzomib"], "IRd", False, 0),
    ],
)
def test_rule_class_switch(refractory, regimen, noted, delta):
    option = candidate(regimen)
    rule_class_switch(option, history(refractory), K)
    assert ("class_switch" in rules_of(option)) is noted
    assert option["score"] == delta


def test_celmods_listed_as_trial_options_not_standard():
    result = options(history(["lenalidomide", "pomalidomide"]))
    mezi = by_regimen(result)["Mezi-dex"]
    assert mezi["status"] == "investigational" and mezi["evidence_level"] == "investigational"
    assert "DOI:10.1056/NEJMoa2303194" in mezi["sources"]
    last_standard = max(o["rank"] for o in result if o["status"] != "investigational")
    assert mezi["rank"] > last_standard


# -- rule 3: resistance findings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("biomarker", "regimen", "delta"),
    [
        ("BM-PSMB5-A108T", "Vd", -1),  # level D names bortezomib
        ("BM-PSMB5-A108T", "IRd", -1),  # class only: ixazomib not tested
        ("BM-PSMB5-A108T", "Kd", 0),  # carfilzomib retained activity
        ("BM-CRBN-LOF", "DPd", -2),  # level C
        ("BM-CRBN-LOF", "Mezi-dex", -1),  # CELMoDs reached by CRBN, class only
        ("BM-TNFRSF17-BIALLELIC-TCE", "teclistamab", -2),  # level C
        ("BM-GPRC5D-BIALLELIC-TCE", "talquetamab", -2),
        ("BM-NR3C1-BIALLELIC", "Kd", 0),  # note only
        ("BM-NRAS-HOTSPOT-BTZ", "Vd", -3),  # level B, names bortezomib
        ("BM-NRAS-HOTSPOT-BTZ", "Kd", 0),  # single-agent bortezomib only: carfilzomib spared
        ("BM-TNFRSF17-R27P", "teclistamab", -1),  # class-level claim: no drug tested
        ("BM-TNFRSF17-BIALLELIC-TCE", "talquetamab", None),  # untouched
    ],
)
def test_rule_resistance_findings(biomarker, regimen, delta):
    option = candidate(regimen)
    f = finding(biomarker)
    rule_resistance_findings(option, [f], K)
    if delta is None:
        assert rules_of(option) == ["pivotal_trial"]
        return
    assert option["score"] == delta
    item = option["rationale"][-1]
    assert item["rule"] == "resistance_finding"
    assert f["evidence_level"] in item["text"]
    assert set(f["sources"]) <= set(item["sources"])


def test_predicted_resistance_demotes_at_most_one_step():
    """A resistance finding for a class the patient never received predicts, it does not
    record, a failure: it is labelled so and weighs one step, not its level's three."""
    option = candidate("Vd")
    f = finding("BM-NRAS-HOTSPOT-BTZ")
    f["exposure"] = "predicted_not_exposed"
    rule_resistance_findings(option, [f], K)
    assert option["score"] == -1
    assert option["rationale"][-1]["text"].startswith("Predicted; not yet exposed")
    observed = candidate("Vd")
    f["exposure"] = "observed"
    rule_resistance_findings(observed, [f], K)
    assert observed["score"] == -3


def test_monitor_row_never_demotes():
    option = candidate("teclistamab")
    rule_resistance_findings(option, [finding("BM-TNFRSF17-COPYLOSS")], K)
    assert rules_of(option) == ["pivotal_trial"]


def test_psmb5_carfilzomib_note_cites_in_vitro_sources():
    option = candidate("Kd")
    rule_resistance_findings(option, [finding("BM-PSMB5-A108T")], K)
    item = option["rationale"][-1]
    assert "carfilzomib kept its activity" in item["text"]
    assert "DOI:10.1371/journal.pone.0027996" in item["sources"]


def test_one_demotion_per_gene():
    option = candidate("Vd")
    rule_resistance_findings(option, [finding("BM-PSMB5-A108T"), finding("BM-PSMB5-A108V")], K)
    assert option["score"] == -1


# -- rule 4: sensitivity findings ----------------------------------------------------------------


def test_rule_sensitivity_t1114_promotes_venetoclax_with_trial_caution():
    option = candidate("VenVd")
    rule_sensitivity_findings(option, [finding("BM-T1114-VEN")], K)
    assert option["score"] == 3
    assert "NCT02755597" in option["rationale"][-1]["sources"]
    assert any("BELLINI" in c and "CANOVA" in c for c in option["cautions"])


def test_rule_venetoclax_unselected():
    option = candidate("Ven-dex")
    rule_venetoclax_unselected(option, [], K)
    assert option["score"] == -2 and option["cautions"]
    option = candidate("Ven-dex")
    rule_venetoclax_unselected(option, [finding("BM-T1114-VEN")], K)
    assert option["score"] == 0


def test_braf_v600e_adds_off_label_braf_mek_option():
    result = options(history(["lenalidomide"]), [finding("BM-BRAF-V600E")])
    braf = by_regimen(result)["BRAF+MEK inhibitor (off-label)"]
    assert braf["status"] == "off_label" and braf["evidence_level"] == "C"
    assert {"braf_inhibitor", "mek_inhibitor"} <= set(braf["drug_classes"])
    assert braf["sources"] and any("Off-label" in c for c in braf["cautions"])


# -- rule 5: new antigen ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exposed", "regimen", "delta"),
    [
        (["teclistamab"], "talquetamab", 2),
        (["ciltacabtagene autoleucel"], "cevostamab", 2),
        (["teclistamab"], "elranatamab", -1),
        (["talquetamab"], "teclistamab", 2),
        (["talquetamab"], "talquetamab", -1),
        (["daratumumab"], "talquetamab", 0),
    ],
)
def test_rule_new_antigen(exposed, regimen, delta):
    option = candidate(regimen)
    rule_new_antigen(option, history(exposed=exposed), K)
    assert option["score"] == delta


# -- rule 6: unexposed classes --------------------------------------------------------------------


def test_rule_unexposed_class():
    h = history(exposed=["bortezomib", "lenalidomide", "daratumumab", "dexamethasone"])
    option = candidate("EPd")  # imid exposed, anti_slamf7 new
    rule_unexposed_class(option, h, K)
    assert option["score"] == 1 and "anti-SLAMF7" in option["rationale"][-1]["text"]
    option = candidate("DRd")
    rule_unexposed_class(option, h, K)
    assert option["score"] == 0
    option = candidate("SVd")  # xpo1 new only
    rule_unexposed_class(option, history(exposed=["lenalidomide"]), K)
    assert option["score"] == 2  # proteasome_inhibitor and xpo1_inhibitor, capped at 2


# -- rule 7: labs and infection risk ----------------------------------------------------------


def test_rule_lab_cautions_renal_for_lenalidomide():
    from mmresist.interpret.options import latest_labs

    latest = latest_labs(
        [lab("creatinine", 1.0, "mg/dL", "2025-01-01"), lab("creatinine", 221, "µmol/L")]
    )
    option = candidate("DRd")
    rule_lab_cautions(option, latest, K)
    assert any("lenalidomide" in c and "creatinine 2.49" in c for c in option["cautions"])
    option = candidate("Kd")
    rule_lab_cautions(option, latest, K)
    assert option["cautions"] == []  # no renal guidance curated for carfilzomib


def test_rule_lab_cautions_cytopenia_and_missing_labs():
    from mmresist.interpret.options import latest_labs

    option = candidate("Kd")
    rule_lab_cautions(option, latest_labs([lab("neutrophils", 0.8, "10^9/L")]), K)
    assert any("neutrophils 0.8" in c for c in option["cautions"])
    option = candidate("Kd")
    rule_lab_cautions(option, latest_labs([lab("platelets", 40, "10^9/L")]), K)
    assert any("platelets 40" in c for c in option["cautions"])
    option = candidate("DRd")
    rule_lab_cautions(option, latest_labs(None), K)
    assert option["cautions"] == []


@pytest.mark.parametrize(
    ("regimen", "caution"),
    [("teclistamab", True), ("cilta-cel", True), ("talquetamab", True), ("Kd", False)],
)
def test_rule_infection_risk(regimen, caution):
    option = candidate(regimen)
    rule_infection_risk(option, K)
    assert any("Infection risk" in c for c in option["cautions"]) is caution


# -- whole-patient scenarios ----------------------------------------------------------------------


def test_patient_pi_refractory_with_psmb5():
    h = history(["bortezomib", "dexamethasone"], exposed=["lenalidomide", "daratumumab"])
    result = by_regimen(options(h, [finding("BM-PSMB5-A108T")]))
    assert not {"Vd", "VRd", "DVd", "SVd", "PVd", "BVd"} & set(result)
    assert "class_switch" in rules_of(result["Kd"]) and result["Kd"]["score"] >= 0
    assert "resistance_finding" in rules_of(result["IRd"])
    assert result["Kd"]["rank"] < result["IRd"]["rank"]


def test_patient_imid_refractory_with_crbn_loss():
    h = history(["lenalidomide", "dexamethasone"], exposed=["bortezomib", "daratumumab"])
    result = by_regimen(options(h, [finding("BM-CRBN-LOF"), finding("BM-CRBN-LOF-CELMOD")]))
    assert "DRd" not in result and "Rd" not in result
    dpd = result["DPd"]
    assert "class_switch" in rules_of(dpd) and "resistance_finding" in rules_of(dpd)
    assert dpd["rank"] > result["Kd"]["rank"]
    assert "resistance_finding" in rules_of(result["Mezi-dex"])


def test_patient_bcma_escape_after_bispecific():
    h = history(
        ["teclistamab", "daratumumab", "lenalidomide", "bortezomib"],
        exposed=["pomalidomide", "carfilzomib"],
        lines=4,
    )
    fs = [finding("BM-TNFRSF17-BIALLELIC-TCE"), finding("BM-TNFRSF17-BIALLELIC-ALT")]
    ranked = options(h, fs)
    result = by_regimen(ranked)
    assert "teclistamab" not in result
    assert result["talquetamab"]["rank"] < result["elranatamab"]["rank"]
    assert result["talquetamab"]["rank"] < result["cilta-cel"]["rank"]
    assert "new_antigen" in rules_of(result["talquetamab"])
    # Evidence tier comes before benefit (randomised phase 3 first), so on-label Pd
    # (MM-003) precedes single-arm talquetamab; talquetamab leads every antigen-directed option.
    antigen_classes = set().union(*K.option_rules["antigen_classes"].values())
    antigen = [o["regimen"] for o in ranked if antigen_classes & set(o["drug_classes"])]
    assert antigen[0] == "talquetamab"


def test_patient_gprc5d_escape():
    h = history(["talquetamab", "daratumumab"], exposed=["lenalidomide", "bortezomib"])
    result = by_regimen(options(h, [finding("BM-GPRC5D-BIALLELIC-TCE")]))
    assert "talquetamab" not in result
    assert "new_antigen" in rules_of(result["teclistamab"])
    assert result["teclistamab"]["score"] > 0


def test_patient_t1114():
    h = history(["lenalidomide", "dexamethasone"], exposed=["bortezomib", "daratumumab"])
    with_t = by_regimen(options(h, [finding("BM-T1114-VEN")]))
    without = by_regimen(options(h, []))
    # Not approved in myeloma: off label either way; the finding raises its score (and its
    # place among off-label options of the same evidence tier and benefit band).
    assert with_t["VenVd"]["score"] > without["VenVd"]["score"]
    assert with_t["VenVd"]["rank"] <= without["VenVd"]["rank"]
    assert with_t["VenVd"]["status"] == "off_label"
    assert with_t["VenVd"]["evidence_level"] == "B"
    assert any("BELLINI" in c for c in with_t["VenVd"]["cautions"])


def test_patient_braf_v600e():
    h = history(["lenalidomide", "bortezomib", "daratumumab"])
    result = options(h, [finding("BM-BRAF-V600E"), finding("BM-BRAF-V600E-PROG")])
    names = [o["regimen"] for o in result]
    assert "BRAF+MEK inhibitor (off-label)" in names


def test_patient_without_therapy_table():
    assert (
        therapy_options(knowledge=K, therapy_history=None, findings=[finding("BM-T1114-VEN")])
        is None
    )


def test_patient_penta_refractory_with_labs():
    h = history(
        ["daratumumab", "bortezomib", "carfilzomib", "lenalidomide", "pomalidomide"], lines=5
    )
    h["penta_refractory"] = h["triple_class_refractory"] = True
    labs = [lab("neutrophils", 0.9, "10^9/L"), lab("creatinine", 1.0, "mg/dL")]
    ranked = options(h, [], labs=labs, max_options=10)
    assert len(ranked) >= 10
    spent = {"daratumumab", "bortezomib", "carfilzomib", "lenalidomide", "pomalidomide"}
    for o in ranked:
        assert not spent & set(o["drugs"])
        assert any("neutrophils 0.9" in c for c in o["cautions"])
        assert not any(c.startswith("Renal") for c in o["cautions"])
    top = {o["regimen"] for o in ranked[:5]}
    assert top & {"teclistamab", "elranatamab", "talquetamab", "linvoseltamab"}
    # Withdrawn monotherapy is never standard and ranks after every on-label option.
    belantamab = by_regimen(options(h, [], labs=labs))["belantamab"]
    assert belantamab["status"] == "off_label" and belantamab["approval"]["status"] == "withdrawn"
    assert "ASCT" not in by_regimen(options(h, []))  # no salvage transplant when refractory
    investigational = [o for o in ranked if o["status"] == "investigational"]
    assert all(
        o["rank"] > r["rank"] for o in investigational for r in ranked if r not in investigational
    )


# -- rule 2b: the pivotal trial's population ---------------------------------------------------


def treated(lines: list[tuple[str, list[str], list[str]]]) -> dict:
    """A history with numbered lines: (regimen, drugs, refractory drugs) per line."""
    refractory = sorted({d for _, _, r in lines for d in r})
    exposed = sorted({d for _, drugs, _ in lines for d in drugs})
    base = history(refractory=refractory, exposed=exposed)
    base["lines"] = [
        {
            "line": number,
            "regimen": regimen,
            "drugs": drugs,
            "drug_classes": sorted({c for d in drugs for c in K.drug_classes(d)}),
            "refractory_drugs": refractory_drugs,
        }
        for number, (regimen, drugs, refractory_drugs) in enumerate(lines, start=1)
    ]
    base["line_count"] = len(lines)
    return base


VRD = ("VRd", ["bortezomib", "lenalidomide", "dexamethasone"], [])
DVD_REFRACTORY = (
    "DVd",
    ["daratumumab", "bortezomib", "dexamethasone"],
    ["daratumumab", "bortezomib"],
)
RD_REFRACTORY = ("Rd", ["lenalidomide", "dexamethasone"], ["lenalidomide"])
TEC_REFRACTORY = ("teclistamab", ["teclistamab"], ["teclistamab"])


@pytest.mark.parametrize(
    ("regimen", "lines", "demoted", "cited"),
    [
        # MajesTEC-3 excluded anti-CD38-refractory patients.
        ("Tec-Dara", [VRD, DVD_REFRACTORY], True, "NCT05083169"),
        # CARTITUDE-4 enrolled lenalidomide-refractory patients only.
        ("cilta-cel", [VRD, DVD_REFRACTORY], True, "NCT04181827"),
        # More prior lines than the trial enrolled is not a gap.
        ("cilta-cel", [VRD, DVD_REFRACTORY, RD_REFRACTORY, RD_REFRACTORY], False, None),
        # DREAMM-8 excluded bortezomib-refractory patients.
        ("BPd", [VRD, DVD_REFRACTORY], True, "NCT04484623"),
        # MonumenTAL-1 needed three prior lines.
        ("talquetamab", [VRD, DVD_REFRACTORY], True, "NCT03399799"),
        ("talquetamab", [VRD, DVD_REFRACTORY, RD_REFRACTORY], False, None),
        # LINKER-MM1: triple-class exposed with three lines, or triple-class refractory
        # (an any_of group of population criteria).
        ("linvoseltamab", [VRD, DVD_REFRACTORY], True, "NCT03761108"),
        ("linvoseltamab", [VRD, DVD_REFRACTORY, RD_REFRACTORY], False, None),
        # ENDEAVOR is not a curated trial: nothing to compare with.
        ("Kd", [VRD], False, None),
        # CARTITUDE-4 excluded prior BCMA-directed therapy: after teclistamab the patient is
        # outside the population its hazard ratio comes from.
        ("cilta-cel", [VRD, RD_REFRACTORY, TEC_REFRACTORY], True, "NCT04181827"),
    ],
)
def test_rule_pivotal_population(regimen, lines, demoted, cited):
    option = candidate(regimen)
    rule_pivotal_population(option, treated(lines), K)
    assert ("pivotal_population" in rules_of(option)) is demoted
    assert option["score"] == (-WEIGHTS["population_penalty"] if demoted else 0)
    if cited:
        item = next(i for i in option["rationale"] if i["rule"] == "pivotal_population")
        assert item["sources"][0] == cited and "Outside the population" in item["text"]


def test_pivotal_population_needs_a_treatment_history():
    option = candidate("Tec-Dara")
    rule_pivotal_population(option, history(refractory=["daratumumab"]), K)
    assert option["score"] == 0


def test_a_combination_whose_pivotal_trial_is_still_recruiting_is_investigational():
    # MagnetisMM-5 (elranatamab + daratumumab) is recruiting in trials.yaml; MajesTEC-3
    # (Tec-Dara) has reported, so Tec-Dara stays a standard regimen.
    options_by_name = {o["regimen"]: o for o in candidates(K)}
    elra_dara = options_by_name["Elra-Dara"]
    assert elra_dara["status"] == "investigational"
    assert any("has not reported" in item["text"] for item in elra_dara["rationale"])
    assert options_by_name["Tec-Dara"]["status"] == "standard"


def test_a_trial_where_the_regimen_was_only_the_comparator_is_not_its_pivotal_trial():
    from mmresist.interpret.options import pivotal_trials

    by_name = {o["regimen"]: o for o in candidates(K)}
    assert pivotal_trials(by_name["PVd"], K) == []  # OPTIMISMM; comparator in CARTITUDE-4
    assert pivotal_trials(by_name["Vd"], K) == []  # comparator arm of ... DREAMM-7
    assert [t["short_name"] for t in pivotal_trials(by_name["ide-cel"], K)] == [
        "KarMMa-3",
        "KarMMa",
    ]
    option = by_name["PVd"]
    rule_pivotal_population(option, treated([VRD]), K)
    assert option["score"] == 0
