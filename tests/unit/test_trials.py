"""Trial matching: each criterion type to met/unmet/unknown, the match states (closed for a
trial that no longer enrols) and the listing rule, the registry-status gate and resistance
findings against a trial's target, on the real curated trials where they carry the criterion
and on one-criterion trials otherwise."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from mmresist.interpret.matching import match_biomarkers
from mmresist.interpret.therapy import therapy_history
from mmresist.interpret.trials import MATCH_ORDER, match_trials
from mmresist.knowledge.load import load_knowledge
from mmresist.model import CopyNumberCall, VariantCall

REPO = Path(__file__).resolve().parents[2]
SAMPLE = "MM-T-REL"
KEYS = {
    "nct_id",
    "id",
    "nct_verified",
    "short_name",
    "title",
    "phase",
    "status",
    "status_checked",
    "status_date",
    "status_basis",
    "status_source",
    "status_as_seen",
    "match",
    "criteria_match",
    "met",
    "unmet",
    "unknown",
    "genomically_relevant",
    "relevance",
    "sources",
}


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge(REPO / "resources" / "knowledge")


# ---------------------------------------------------------------------------
# Patient builders
# ---------------------------------------------------------------------------
def line(number, regimen, start, end=None, progression=None, response="VGPR"):
    return {
        "patient_id": "P1",
        "line": number,
        "regimen": regimen,
        "start_date": start,
        "end_date": end,
        "progression_date": progression,
        "best_response": response,
    }


# Line 1 VRd, lenalidomide- and bortezomib-refractory; line 2 DRd, refractory (progression
# on therapy): triple-class refractory after 2 lines.
TCR_LINES = [
    line(1, "VRd", "2020-01-01", "2021-01-01", "2021-01-20"),
    line(2, "DRd", "2021-02-01", "2022-01-01", "2021-12-01"),
]
# Line 1 VRd, responded and relapsed late; nothing refractory.
SENSITIVE_LINES = [line(1, "VRd", "2020-01-01", "2020-09-01", "2022-06-01")]
BCMA_LINES = [
    *TCR_LINES,
    line(3, "Tec-Dara", "2022-02-01", "2023-01-01", "2022-12-01"),
]


def variant(gene, change, consequence="missense_variant"):
    position = int("".join(ch for ch in change[1:] if ch.isdigit()))
    return VariantCall(
        sample_id=SAMPLE,
        chrom="chr1",
        pos=1000,
        ref="C",
        alt="T",
        gene=gene,
        consequence=consequence,
        protein_change=change,
        protein_start=position,
        protein_end=position,
        vaf=0.3,
        depth=200,
    )


def cyto(abnormality, fraction=0.6):
    return {"abnormality": abnormality, "clone_fraction": fraction, "date": "2024-05-01"}


def lab(test, value, unit, when="2024-05-01"):
    return {"test": test, "value": value, "unit": unit, "date": when}


def run(knowledge, *, lines=None, variants=(), copy_number=(), cytogenetics=None, **extra):
    history = therapy_history(lines, knowledge) if lines else None
    cytos = list(cytogenetics) if cytogenetics is not None else None
    findings = match_biomarkers(
        knowledge=knowledge,
        variants=list(variants),
        copy_number=list(copy_number),
        cytogenetics=cytos or [],
    )
    return match_trials(
        knowledge=knowledge,
        therapy_history=history,
        findings=findings,
        variants=list(variants),
        copy_number=list(copy_number),
        cytogenetics=cytos,
        labs=extra.pop("labs", None),
        **extra,
    )


# A synthetic trial's registry status: recruiting, dated and checked the same month.
OPEN = {
    "status": "recruiting",
    "status_checked": "2026-01-01",
    "status_date": "2026-01-01",
    "status_basis": "registry",
    "status_source": "NCT99999999",
}


def by_id(rows, trial_id):
    found = [row for row in rows if row["id"] == trial_id]
    assert found, f"{trial_id} not listed"
    return found[0]


def single(knowledge, criterion, **patient):
    """Match one synthetic trial that carries only ``criterion``; returns its row."""
    trial = {
        "id": "TR-TEST",
        "nct_id": "NCT99999999",
        "short_name": "TEST",
        "title": "test trial",
        "phase": "2",
        **OPEN,
        "targets": [],
        "drug_classes": [],
        "criteria": [{"id": "c", "kind": "inclusion", "text": "CRIT", **criterion}],
        "sources": ["NCT99999999"],
    }
    local = copy.copy(knowledge)
    local.trials = [trial]
    rows = run(local, **patient)
    if not rows:
        return None
    return rows[0]


def criteria_only(row, state):
    """The row's sentences of one state without the registry-status line."""
    return [text for text in row[state] if not text.startswith("Registry status:")]


def outcome(row):
    states = [state for state in ("met", "unmet", "unknown") if criteria_only(row, state)]
    assert len(states) == 1, row
    return states[0], criteria_only(row, states[0])[0]


# ---------------------------------------------------------------------------
# One scenario per criterion type and outcome
# ---------------------------------------------------------------------------
INCLUSION_SCENARIOS = [
    # prior_lines
    ({"type": "prior_lines", "min": 1, "max": 3}, {"lines": TCR_LINES}, "met", "2 prior lines"),
    ({"type": "prior_lines", "min": 3}, {"lines": TCR_LINES}, "unmet", "needs ≥3"),
    ({"type": "prior_lines", "max": 3}, {}, "unknown", "no therapy history"),
    # exposed_class
    (
        {"type": "exposed_class", "class": "anti_cd38"},
        {"lines": TCR_LINES},
        "met",
        "exposed to anti-CD38: yes (line 2 DRd)",
    ),
    ({"type": "exposed_class", "class": "anti_cd38"}, {"lines": SENSITIVE_LINES}, "unmet", "no"),
    ({"type": "exposed_class", "class": "anti_cd38"}, {}, "unknown", "no therapy history"),
    # refractory_class
    (
        {"type": "refractory_class", "class": "anti_cd38"},
        {"lines": TCR_LINES},
        "met",
        "refractory to anti-CD38: yes (line 2 DRd)",
    ),
    (
        {"type": "refractory_class", "class": "proteasome_inhibitor"},
        {"lines": SENSITIVE_LINES},
        "unmet",
        "refractory to proteasome inhibitor: no (exposed",
    ),
    ({"type": "refractory_class", "class": "imid"}, {}, "unknown", "no therapy history"),
    # not_refractory_class
    (
        {"type": "not_refractory_class", "class": "proteasome_inhibitor"},
        {"lines": SENSITIVE_LINES},
        "met",
        "no",
    ),
    (
        {"type": "not_refractory_class", "class": "proteasome_inhibitor"},
        {"lines": TCR_LINES},
        "unmet",
        "yes (line 1 VRd)",
    ),
    (
        {"type": "not_refractory_class", "class": "proteasome_inhibitor"},
        {},
        "unknown",
        "no therapy history",
    ),
    # exposed_drug / refractory_drug
    (
        {"type": "exposed_drug", "drug": "lenalidomide"},
        {"lines": SENSITIVE_LINES},
        "met",
        "line 1 VRd",
    ),
    ({"type": "exposed_drug", "drug": "pomalidomide"}, {"lines": TCR_LINES}, "unmet", "no"),
    (
        {"type": "refractory_drug", "drug": "lenalidomide"},
        {"lines": TCR_LINES},
        "met",
        "refractory to lenalidomide: yes (line 1 VRd, line 2 DRd)",
    ),
    (
        {"type": "refractory_drug", "drug": "lenalidomide"},
        {"lines": SENSITIVE_LINES},
        "unmet",
        "exposed, not refractory",
    ),
    ({"type": "refractory_drug", "drug": "lenalidomide"}, {}, "unknown", "no therapy history"),
    # prior_target_therapy (inclusion rules)
    (
        {"type": "prior_target_therapy", "target": "bcma", "rule": "required"},
        {"lines": BCMA_LINES},
        "met",
        "BCMA bispecific (line 3 Tec-Dara)",
    ),
    (
        {
            "type": "prior_target_therapy",
            "target": "bcma",
            "rule": "required",
            "modalities": ["car_t"],
        },
        {"lines": BCMA_LINES},
        "unmet",
        "(BCMA CAR-T): none recorded",
    ),
    (
        {"type": "prior_target_therapy", "target": "bcma", "rule": "required"},
        {},
        "unknown",
        "no therapy history",
    ),
    (
        {"type": "prior_target_therapy", "target": "bcma", "rule": "allowed"},
        {},
        "met",
        "allowed (not a restriction)",
    ),
    # biomarker: cytogenetic
    (
        {"type": "biomarker", "alteration_type": "cytogenetic", "spec": "t(11;14)"},
        {"cytogenetics": [cyto("t(11;14)")]},
        "met",
        "present (t(11;14) 60%",
    ),
    (
        {"type": "biomarker", "alteration_type": "cytogenetic", "spec": "t(11;14)"},
        {"cytogenetics": [cyto("t(4;14)")]},
        "unmet",
        "not reported (cytogenetics: t(4;14))",
    ),
    (
        {"type": "biomarker", "alteration_type": "cytogenetic", "spec": "t(11;14)"},
        {"cytogenetics": [cyto("t(11;14)", 0)]},
        "unmet",
        "no abnormality detected",
    ),
    (
        {"type": "biomarker", "alteration_type": "cytogenetic", "spec": "t(11;14)"},
        {},
        "unknown",
        "no cytogenetics in the inputs",
    ),
    (
        {"type": "biomarker", "alteration_type": "cytogenetic", "spec": "del(17p)>=0.2"},
        {"cytogenetics": [cyto("del(17p)", None)]},
        "unknown",
        "without a clone fraction",
    ),
    # biomarker: variant (curated row and inline spec)
    (
        {"type": "biomarker", "biomarker_id": "BM-KRAS-C12"},
        {"variants": [variant("KRAS", "G12D")]},
        "met",
        "KRAS codon 12: present (KRAS",
    ),
    (
        {"type": "biomarker", "biomarker_id": "BM-KRAS-C12"},
        {"variants": [variant("KRAS", "Q61H")]},
        "unmet",
        "KRAS is on the sequenced panel",
    ),
    (
        {"type": "biomarker", "gene": "TP53", "alteration_type": "nonsynonymous", "spec": "*"},
        {"variants": [variant("TP53", "R175H")]},
        "met",
        "TP53 protein-altering variant: present",
    ),
    # biomarker: copy number
    (
        {"type": "biomarker", "biomarker_id": "BM-CDKN2C-BIALLELIC-CDK46"},
        {"copy_number": [CopyNumberCall(SAMPLE, "CDKN2C", "homozygous_deletion")]},
        "met",
        "homozygous deletion",
    ),
    (
        {"type": "biomarker", "biomarker_id": "BM-CDKN2C-BIALLELIC-CDK46"},
        {},
        "unknown",
        "no copy-number calls in the inputs",
    ),
    (
        {"type": "biomarker", "biomarker_id": "BM-CDKN2C-BIALLELIC-CDK46"},
        {"copy_number": [CopyNumberCall(SAMPLE, "CDKN2C", "neutral")]},
        "unmet",
        "CDKN2C neutral",
    ),
    # lab
    (
        {"type": "lab", "test": "hemoglobin", "op": ">=", "value": 8, "unit": "g/dL"},
        {"labs": [lab("hemoglobin", 7.5, "g/dL", "2024-01-01"), lab("hemoglobin", 95, "g/L")]},
        "met",
        "hemoglobin 9.5 g/dL on 2024-05-01",
    ),
    (
        {"type": "lab", "test": "platelets", "op": ">=", "value": 75, "unit": "10^9/L"},
        {"labs": [lab("platelets", 50, "10^9/L")]},
        "unmet",
        "platelets 50 10^9/L",
    ),
    (
        {"type": "lab", "test": "platelets", "op": ">=", "value": 75, "unit": "10^9/L"},
        {},
        "unknown",
        "no labs in the inputs",
    ),
    (
        {"type": "lab", "test": "platelets", "op": ">=", "value": 75, "unit": "10^9/L"},
        {"labs": [lab("hemoglobin", 10, "g/dL")]},
        "unknown",
        "platelets: not in the labs",
    ),
    (
        {"type": "lab", "test": "creatinine_clearance", "op": ">=", "value": 30, "unit": "mL/min"},
        {"labs": [lab("creatinine", 1.0, "mg/dL")]},
        "unknown",
        "derived from weight, age and sex",
    ),
    (
        # Same day: the row later in the file is the value used, whatever its size.
        {"type": "lab", "test": "hemoglobin", "op": ">=", "value": 8, "unit": "g/dL"},
        {"labs": [lab("hemoglobin", 9.5, "g/dL"), lab("hemoglobin", 75, "g/L")]},
        "unmet",
        "hemoglobin 7.5 g/dL on 2024-05-01",
    ),
    # age, ecog, other
    ({"type": "age", "min": 18}, {"age": 67}, "met", "age 67 (needs ≥18)"),
    ({"type": "age", "max": 75}, {"age": 80}, "unmet", "age 80 (needs ≤75)"),
    ({"type": "age", "min": 18}, {}, "unknown", "age not in the inputs"),
    ({"type": "ecog", "max": 1}, {"lines": TCR_LINES, "age": 60}, "unknown", "ECOG not in the"),
    ({"type": "ecog", "max": 1}, {"patient": {"ecog": 1}}, "met", "ECOG 1 (needs ≤1)"),
    ({"type": "ecog", "max": 1}, {"patient": {"ecog": 2}}, "unmet", "ECOG 2 (needs ≤1)"),
    ({"type": "ecog", "max": 1}, {"patient": {"ecog": None}}, "unknown", "ECOG not in the"),
    ({"type": "age", "max": 75}, {"patient": {"age": 80}}, "unmet", "age 80 (needs ≤75)"),
    ({"type": "extramedullary"}, {"patient": {"extramedullary": True}}, "met", "yes"),
    ({"type": "extramedullary"}, {"patient": {"extramedullary": False}}, "unmet", "no"),
    ({"type": "extramedullary"}, {"patient": {"extramedullary": None}}, "unknown", "not recorded"),
    ({"type": "other"}, {"lines": TCR_LINES}, "unknown", "not assessable from the inputs"),
]


@pytest.mark.parametrize(("criterion", "patient", "expected", "words"), INCLUSION_SCENARIOS)
def test_inclusion_criterion(knowledge, criterion, patient, expected, words):
    row = single(knowledge, criterion, **patient)
    if expected == "unmet":
        # An ineligible trial without genomic relevance is not listed: judge it through a
        # trial that is relevant by its biomarker-free drug class instead.
        assert row is None or row["match"] == "ineligible"
        row = _relevant_single(knowledge, criterion, patient)
    state, text = outcome(row)
    assert state == expected, text
    assert text.startswith("CRIT: ")
    assert words in text, text
    assert row["match"] == {"met": "eligible", "unmet": "ineligible", "unknown": "possible"}[state]


def _relevant_single(knowledge, criterion, patient):
    """The same one-criterion trial, made relevant by a KRAS G12D finding (MEK inhibitor)."""
    trial = {
        "id": "TR-TEST",
        "nct_id": "NCT99999999",
        "title": "test trial",
        **OPEN,
        "drug_classes": ["mek_inhibitor"],
        "criteria": [{"id": "c", "kind": "inclusion", "text": "CRIT", **criterion}],
    }
    local = copy.copy(knowledge)
    local.trials = [trial]
    patient = dict(patient)
    patient["variants"] = [*patient.get("variants", []), variant("KRAS", "G12D")]
    rows = run(local, **patient)
    assert len(rows) == 1 and rows[0]["genomically_relevant"], rows
    return rows[0]


EXCLUSION_SCENARIOS = [
    ({"type": "exposed_class", "class": "bcl2_inhibitor"}, {"lines": TCR_LINES}, "met"),
    (
        {"type": "exposed_class", "class": "bcl2_inhibitor"},
        {"lines": [line(1, "Ven-dex", "2021-01-01", "2021-06-01")]},
        "unmet",
    ),
    ({"type": "exposed_class", "class": "bcl2_inhibitor"}, {}, "unknown"),
    ({"type": "refractory_drug", "drug": "bortezomib"}, {"lines": SENSITIVE_LINES}, "met"),
    ({"type": "refractory_drug", "drug": "bortezomib"}, {"lines": TCR_LINES}, "unmet"),
    (
        {"type": "prior_target_therapy", "target": "bcma", "rule": "excluded"},
        {"lines": TCR_LINES},
        "met",
    ),
    (
        {"type": "prior_target_therapy", "target": "bcma", "rule": "excluded"},
        {"lines": BCMA_LINES},
        "unmet",
    ),
    (
        {
            "type": "prior_target_therapy",
            "target": "gprc5d",
            "rule": "excluded",
            "modalities": ["bispecific"],
        },
        {"lines": BCMA_LINES},
        "met",
    ),
    ({"type": "other"}, {"lines": TCR_LINES}, "unknown"),
]


@pytest.mark.parametrize(("criterion", "patient", "expected"), EXCLUSION_SCENARIOS)
def test_exclusion_criterion(knowledge, criterion, patient, expected):
    criterion = {**criterion, "kind": "exclusion"}
    patient = {**patient, "variants": [variant("KRAS", "G12D")]}
    trial = {
        "id": "TR-TEST",
        "nct_id": "NCT99999999",
        "title": "test",
        **OPEN,
        "drug_classes": ["mek_inhibitor"],
        "criteria": [{"id": "c", "text": "NOT X", **criterion}],
    }
    local = copy.copy(knowledge)
    local.trials = [trial]
    (row,) = run(local, **patient)
    state, text = outcome(row)
    assert state == expected, text
    if state == "unmet":
        assert text.startswith("NOT X: excluded, "), text


def test_unverified_failure_is_unknown(knowledge):
    criterion = {"type": "prior_lines", "min": 4, "verified": False}
    row = single(knowledge, criterion, lines=TCR_LINES)
    state, text = outcome(row)
    assert state == "unknown" and row["match"] == "possible"
    assert "2 prior lines" in text and "unverified" in text
    # An unverified criterion that holds is still met.
    row = single(knowledge, {"type": "prior_lines", "min": 1, "verified": False}, lines=TCR_LINES)
    assert outcome(row)[0] == "met"


# ---------------------------------------------------------------------------
# any_of / all_of
# ---------------------------------------------------------------------------
LINES_3 = {"type": "prior_lines", "min": 3}  # TCR patient: 2 lines -> fails
CD38 = {"type": "refractory_class", "class": "anti_cd38"}  # TCR patient: holds
ECOG = {"type": "ecog", "max": 1}  # always unknown


@pytest.mark.parametrize(
    ("kind", "parts", "expected"),
    [
        ("any_of", [LINES_3, CD38], "met"),
        ("any_of", [LINES_3, LINES_3], "unmet"),
        ("any_of", [LINES_3, ECOG], "unknown"),
        ("all_of", [CD38, CD38], "met"),
        ("all_of", [CD38, LINES_3], "unmet"),
        ("all_of", [CD38, ECOG], "unknown"),
        ("all_of", [LINES_3, ECOG], "unmet"),
        ("any_of", [{"type": "all_of", "criteria": [CD38, ECOG]}, LINES_3], "unknown"),
    ],
)
def test_groups(knowledge, kind, parts, expected):
    criterion = {"type": kind, "criteria": parts}
    trial = {
        "id": "TR-TEST",
        "nct_id": "NCT99999999",
        "title": "test",
        **OPEN,
        "drug_classes": ["mek_inhibitor"],
        "criteria": [{"id": "c", "kind": "inclusion", "text": "GROUP", **criterion}],
    }
    local = copy.copy(knowledge)
    local.trials = [trial]
    (row,) = run(local, lines=TCR_LINES, variants=[variant("KRAS", "G12D")])
    state, text = outcome(row)
    assert state == expected, text


def test_linker_mm1_triple_class_refractory_fits_but_is_closed(knowledge):
    rows = run(knowledge, lines=TCR_LINES)
    row = by_id(rows, "TR-LINKER-MM1")
    # Every criterion holds, but the trial no longer enrols: evidence only, never eligible.
    assert row["match"] == "closed" and row["criteria_match"] == "eligible"
    assert row["unmet"] == [
        "Registry status: active, not recruiting (regulator of 2025-07-02, checked "
        "2026-12-06): not enrolling, listed as evidence only"
    ]
    assert any("refractory to anti-CD38: yes (line 2 DRd)" in text for text in row["met"])
    # Without the therapy table the same any_of cannot be judged.
    row = by_id(run(knowledge), "TR-LINKER-MM1")
    assert row["criteria_match"] == "possible" and "no therapy history" in row["unknown"][0]


# ---------------------------------------------------------------------------
# Whole trials from trials.yaml
# ---------------------------------------------------------------------------
def test_t11_14_patient_and_venetoclax_trials(knowledge):
    rows = run(knowledge, lines=TCR_LINES, cytogenetics=[cyto("t(11;14)", 0.8)])
    canova = by_id(rows, "TR-CANOVA")
    assert canova["match"] == "closed"
    assert canova["criteria_match"] == "possible"  # the 'progression' criterion is free text
    assert (
        "Progression on or within 60 days of the last line: not assessable from the inputs"
        in (canova["unknown"])
    )
    assert any(text.startswith("t(11;14) by central FISH: ") for text in canova["met"])
    assert canova["genomically_relevant"]
    assert any("BM-T1114-VEN" in reason for reason in canova["relevance"])
    sonro = by_id(rows, "TR-SONROTOCLAX")
    # Every criterion holds, but its enrolling status is dated more than 24 months before it
    # was checked, so recruitment is unconfirmed and the trial is possible at best.
    assert sonro["match"] == "possible" and sonro["criteria_match"] == "eligible"
    assert sonro["genomically_relevant"]
    assert any("so recruitment is unconfirmed" in text for text in sonro["unknown"])
    mydrug = by_id(rows, "TR-MYDRUG")
    assert mydrug["match"] == "possible"
    assert any("one alternative holds: t(11;14)" in text for text in mydrug["met"])
    # BELLINI (completed) fails on PI-refractoriness but is listed: t(11;14) bears on
    # venetoclax.
    bellini = by_id(rows, "TR-BELLINI")
    assert bellini["match"] == "closed" and bellini["criteria_match"] == "ineligible"
    assert bellini["genomically_relevant"]
    assert any("refractory to proteasome inhibitor: yes" in text for text in bellini["unmet"])


def test_t11_14_with_prior_pomalidomide_is_ineligible_for_canova(knowledge):
    lines = [*TCR_LINES, line(3, "DPd", "2022-02-01", "2022-10-01", "2022-09-01")]
    canova = by_id(run(knowledge, lines=lines, cytogenetics=[cyto("t(11;14)")]), "TR-CANOVA")
    assert canova["criteria_match"] == "ineligible"
    assert criteria_only(canova, "unmet") == [
        "No prior pomalidomide: excluded, exposed to pomalidomide: yes (line 3 DPd)"
    ]


def test_without_cytogenetics_a_t11_14_trial_is_possible(knowledge):
    sonro = by_id(run(knowledge, lines=TCR_LINES), "TR-SONROTOCLAX")
    assert sonro["match"] == "possible"
    assert any("no cytogenetics in the inputs" in text for text in sonro["unknown"])


def test_bcma_exposed_patient_and_bcma_naive_trial(knowledge):
    rows = run(knowledge, lines=BCMA_LINES)
    majestec = by_id(rows, "TR-MAJESTEC-3")
    assert majestec["match"] == "closed" and majestec["criteria_match"] == "ineligible"
    assert majestec["genomically_relevant"]
    assert "patient has received BCMA-directed therapy" in majestec["relevance"]
    assert (
        "No prior BCMA-directed therapy: excluded, prior BCMA-directed therapy: yes, "
        "BCMA bispecific (line 3 Tec-Dara)"
    ) in majestec["unmet"]
    # A verified BCMA-naive exclusion is unmet...
    cartitude = by_id(rows, "TR-CARTITUDE-4")
    assert any(
        text.startswith("No prior BCMA-directed or CAR-T therapy") for text in cartitude["unmet"]
    )
    # ...while a verified:false one is reported unknown, not as a mismatch.
    dreamm8 = by_id(rows, "TR-DREAMM-8")
    assert any(
        text.startswith("No prior BCMA-directed therapy (exclusion not verified")
        and "criterion unverified" in text
        for text in dreamm8["unknown"]
    )
    # A GPRC5D trial that allowed prior BCMA therapy fits this patient (3 lines, triple-class
    # exposed; 'allowed' is informational and met) but no longer enrols.
    monumental = by_id(rows, "TR-MONUMENTAL-1")
    assert monumental["match"] == "closed" and monumental["criteria_match"] != "ineligible"
    assert any("allowed (not a restriction)" in text for text in monumental["met"])


def test_no_therapy_table_means_possible_never_eligible(knowledge):
    rows = run(knowledge)
    assert rows and all(row["match"] in ("possible", "closed") for row in rows)
    assert all(row["criteria_match"] == "possible" for row in rows)
    assert len(rows) == len(knowledge.trials)
    bellini = by_id(rows, "TR-BELLINI")
    assert criteria_only(bellini, "met") == []
    unknown = criteria_only(bellini, "unknown")
    assert [text for text in unknown if "no therapy history" not in text] == [
        "ECOG performance status 0-2: ECOG not in the inputs (needs ≤2)"
    ]


def test_ineligible_without_relevance_is_not_listed(knowledge):
    rows = run(knowledge, lines=TCR_LINES)
    assert "TR-BELLINI" not in {row["id"] for row in rows}  # PI-refractory, no findings
    assert all(row["genomically_relevant"] for row in rows if row["criteria_match"] == "ineligible")


def test_kras_finding_makes_mydrug_relevant(knowledge):
    rows = run(knowledge, lines=TCR_LINES, variants=[variant("KRAS", "G12D")])
    mydrug = by_id(rows, "TR-MYDRUG")
    assert mydrug["genomically_relevant"]
    assert any("KRAS codon 12" in reason for reason in mydrug["relevance"])


def test_output_shape_order_and_determinism(knowledge):
    kwargs = {
        "lines": BCMA_LINES,
        "cytogenetics": [cyto("t(11;14)")],
        "variants": [variant("KRAS", "G12D")],
    }
    rows = run(knowledge, **kwargs)
    assert rows == run(knowledge, **kwargs)
    for row in rows:
        assert set(row) == KEYS
        assert row["nct_id"]
        assert row["match"] in MATCH_ORDER
        assert row["genomically_relevant"] == bool(row["relevance"])
    keys = [(MATCH_ORDER.index(r["match"]), not r["genomically_relevant"]) for r in rows]
    assert keys == sorted(keys)
    # A trial registered outside ClinicalTrials.gov carries its registry id.
    no_history = run(knowledge)
    assert by_id(no_history, "TR-NCI-2023-05384")["nct_id"] == "NCI-2023-05384"


# ---------------------------------------------------------------------------
# Registry status: closed, unknown, stale
# ---------------------------------------------------------------------------
def _one(knowledge, status_fields, **patient):
    trial = {
        "id": "TR-TEST",
        "nct_id": "NCT99999999",
        "short_name": "TEST",
        "title": "test trial",
        "drug_classes": ["mek_inhibitor"],
        "criteria": [{"id": "c", "kind": "inclusion", "text": "CRIT", "type": "age", "min": 18}],
        **status_fields,
    }
    local = copy.copy(knowledge)
    local.trials = [trial]
    (row,) = run(local, age=60, **patient)
    return row


@pytest.mark.parametrize(
    ("fields", "match", "state", "words"),
    [
        (OPEN, "eligible", "met", "recruiting (registry record of 2026-01-01, checked 2026-01-01)"),
        (
            {**OPEN, "status": "completed"},
            "closed",
            "unmet",
            "completed (registry record of 2026-01-01, checked 2026-01-01): not enrolling",
        ),
        (
            {**OPEN, "status": "active_not_recruiting", "status_date": None},
            "closed",
            "unmet",
            "active, not recruiting (undated registry record",
        ),
        ({"status": "unknown", "status_checked": None}, "possible", "unknown", "status unknown"),
        (
            {**OPEN, "status_date": "2023-05-23"},
            "possible",
            "unknown",
            "31 months old when checked (more than 24), so recruitment is unconfirmed",
        ),
        ({**OPEN, "status_date": None}, "possible", "unknown", "undated, so recruitment is"),
        ({**OPEN, "status_date": "2024-01"}, "eligible", "met", "registry record of 2024-01"),
    ],
)
def test_registry_status_gate(knowledge, fields, match, state, words):
    row = _one(knowledge, fields)
    assert row["match"] == match
    assert row["criteria_match"] == "eligible"
    status_line = row[state][0]
    assert status_line.startswith("Registry status: ") and words in status_line, status_line


def test_the_curated_policy_is_what_the_gate_reads(knowledge):
    assert knowledge.rules["trial_status"]["recruiting_max_age_months"] == 24


def test_no_curated_trial_is_eligible_without_a_current_enrolling_status(knowledge):
    rows = run(knowledge, lines=BCMA_LINES, cytogenetics=[cyto("t(11;14)")])
    statuses = {trial["id"]: trial["status"] for trial in knowledge.trials}
    for row in rows:
        if row["match"] == "eligible":
            assert statuses[row["id"]] in ("recruiting", "not_yet_recruiting"), row["id"]
        if statuses[row["id"]] in ("completed", "active_not_recruiting", "terminated"):
            assert row["match"] == "closed", row["id"]


# ---------------------------------------------------------------------------
# Resistance findings against the trial's target
# ---------------------------------------------------------------------------
def _target_trial(knowledge, classes, **patient):
    trial = {
        "id": "TR-TEST",
        "nct_id": "NCT99999999",
        "short_name": "TEST",
        "title": "test trial",
        **OPEN,
        "targets": sorted({cls.split("_")[0] for cls in classes}),
        "drug_classes": classes,
        "criteria": [{"id": "c", "kind": "inclusion", "text": "CRIT", "type": "age", "min": 18}],
    }
    local = copy.copy(knowledge)
    local.trials = [trial]
    rows = run(local, age=60, **patient)
    return rows[0] if rows else None


def test_bcma_loss_is_unmet_for_a_bcma_trial_and_quoted(knowledge):
    deletion = [CopyNumberCall(SAMPLE, "TNFRSF17", "homozygous_deletion")]
    row = _target_trial(knowledge, ["bcma_bispecific"], copy_number=deletion, lines=BCMA_LINES)
    assert row is not None and row["match"] == "ineligible"
    (text,) = row["unmet"]
    assert text.startswith("No resistance finding against the trial's target (BCMA bispecific)")
    assert "TNFRSF17" in text and "BM-TNFRSF17-BIALLELIC-TCE" in text and "both alleles" in text


def test_bcma_loss_leaves_a_gprc5d_trial_alone(knowledge):
    deletion = [CopyNumberCall(SAMPLE, "TNFRSF17", "homozygous_deletion")]
    row = _target_trial(knowledge, ["gprc5d_bispecific"], copy_number=deletion)
    assert row is not None and row["match"] == "eligible"
    assert not any("TNFRSF17" in text for text in row["unmet"] + row["unknown"])


def test_target_finding_strength_decides_unmet_or_unknown(knowledge):
    # BCMA p.Arg27Pro: level C against BCMA bispecifics (engager binding lost), so unmet;
    # only inferred (level E, one allele) against CAR-T, so unknown: confirm expression.
    r27p = [variant("TNFRSF17", "R27P")]
    row = _target_trial(knowledge, ["bcma_bispecific"], variants=r27p, lines=BCMA_LINES)
    assert row is not None and row["match"] == "ineligible"
    assert any("BM-TNFRSF17-R27P" in text for text in row["unmet"])
    row = _target_trial(knowledge, ["bcma_car_t"], variants=r27p)
    assert row is not None and row["match"] == "possible"
    assert any(
        "BM-TNFRSF17-ECD-CART" in text and "confirm target expression" in text
        for text in row["unknown"]
    )


def test_a_resistance_finding_never_makes_its_class_relevant(knowledge):
    # NRAS Q61 argues against bortezomib: proteasome-inhibitor trials are not "relevant".
    rows = run(knowledge, lines=TCR_LINES, variants=[variant("NRAS", "Q61R")])
    for trial_id in ("TR-APEX", "TR-NCT03170882"):
        listed = [row for row in rows if row["id"] == trial_id]
        assert not any(row["genomically_relevant"] for row in listed), listed
    # NRAS is not the proteasome: the finding adds no criterion to a PI trial either.
    row = _target_trial(
        knowledge, ["proteasome_inhibitor"], variants=[variant("NRAS", "Q61R")], lines=TCR_LINES
    )
    assert row is not None and row["match"] == "eligible"
