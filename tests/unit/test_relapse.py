"""Aggressive relapse: each criterion, its evidence, and unknown kept apart from "no"."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from mmresist.interpret.relapse import aggressive_relapse

ROOT = Path(__file__).resolve().parents[2]
# The rule as curated (read straight from the YAML, so the test does not depend on the rest
# of the knowledge base loading).
RULE = yaml.safe_load((ROOT / "resources" / "knowledge" / "rules.yaml").read_text())[
    "aggressive_relapse"
]
UNITS = {
    "ldh": "U/L",
    "calcium": "mg/dL",
    "hemoglobin": "g/dL",
    "platelets": "10^9/L",
    "neutrophils": "10^9/L",
}


def lab(test, value, day, upper_limit=None):
    row = {
        "test": test,
        "date": date.fromisoformat(day),
        "value": value,
        "unit": UNITS[test],
        "value_canonical": value,
        "unit_canonical": UNITS[test],
    }
    if upper_limit is not None:
        row["upper_limit"] = upper_limit
        row["upper_limit_canonical"] = upper_limit
    return row


def cyto(abnormality, fraction, day):
    return {"abnormality": abnormality, "clone_fraction": fraction, "date": day, "method": "FISH"}


def judge(labs=None, cytogenetics=None, patient=None):
    return aggressive_relapse(labs=labs, cytogenetics=cytogenetics, patient=patient, rule=RULE)


def criteria(result):
    return [b["criterion"] for b in result["basis"]]


def test_nothing_assessable_is_unknown_not_no():
    result = judge()
    assert result["flag"] is None and result["basis"] == [] and result["message"] is None
    assert len(result["not_assessed"]) == len(RULE["criteria"])


def test_assessed_and_nothing_met_is_false():
    labs = [lab("ldh", 180, "2024-01-01", upper_limit=225), lab("calcium", 9.5, "2024-01-01")]
    result = judge(labs=labs)
    assert result["flag"] is False and result["basis"] == []
    assert "Extramedullary disease" in result["not_assessed"]


def test_ldh_uses_the_laboratory_limit_when_given():
    result = judge(labs=[lab("ldh", 240, "2024-01-01", upper_limit=225)])
    assert result["flag"] is True
    (basis,) = result["basis"]
    assert "laboratory's upper limit 225" in basis["evidence"]
    assert basis["date"] == "2024-01-01"


def test_ldh_falls_back_to_the_curated_default_and_says_so():
    default = RULE["criteria"][0]["default_upper_limit"]
    below = judge(labs=[lab("ldh", default - 10, "2024-01-01")])
    assert below["flag"] is False
    above = judge(labs=[lab("ldh", default + 10, "2024-01-01")])
    assert "curated default upper limit" in above["basis"][0]["evidence"]


@pytest.mark.parametrize(("calcium", "met"), [(11.5, True), (11.4, False), (12.1, True)])
def test_hypercalcaemia_at_the_imwg_relapse_threshold(calcium, met):
    result = judge(labs=[lab("calcium", calcium, "2024-01-01")])
    assert (result["flag"] is True) == met


def test_falling_platelets_are_a_new_cytopenia():
    labs = [lab("platelets", 180, "2024-03-01"), lab("platelets", 60, "2024-09-01")]
    result = judge(labs=labs)
    assert result["flag"] is True
    (basis,) = result["basis"]
    assert "Platelets" in basis["criterion"] and "60" in basis["evidence"]
    assert "180" in basis["evidence"] and basis["date"] == "2024-09-01"


def test_a_single_low_count_cannot_show_a_new_cytopenia():
    result = judge(labs=[lab("platelets", 40, "2024-09-01")])
    assert result["flag"] is None


def test_a_long_standing_cytopenia_is_not_new():
    labs = [lab("platelets", 60, "2024-03-01"), lab("platelets", 55, "2024-09-01")]
    assert judge(labs=labs)["flag"] is False


@pytest.mark.parametrize(
    ("before", "after", "met"),
    [(12.5, 10.4, True), (11.8, 10.6, False), (11.0, 9.6, True), (9.5, 9.2, False)],
)
def test_haemoglobin_new_below_10_or_fallen_by_2(before, after, met):
    labs = [lab("hemoglobin", before, "2024-03-01"), lab("hemoglobin", after, "2024-09-01")]
    assert (judge(labs=labs)["flag"] is True) == met


def test_rising_del17p_clone():
    cytogenetics = [cyto("del(17p)", 0.20, "2021-01-11"), cyto("del(17p)", 0.65, "2024-09-02")]
    result = judge(cytogenetics=cytogenetics)
    assert result["flag"] is True
    evidence = result["basis"][0]["evidence"]
    assert "del(17p)" in evidence and "20%" in evidence and "65%" in evidence


def test_a_stable_clone_or_a_standard_risk_clone_does_not_count():
    stable = [cyto("del(17p)", 0.40, "2021-01-11"), cyto("del(17p)", 0.45, "2024-09-02")]
    assert judge(cytogenetics=stable)["flag"] is False
    standard = [cyto("hyperdiploidy", 0.2, "2021-01-11"), cyto("hyperdiploidy", 0.8, "2024-09-02")]
    assert judge(cytogenetics=standard)["flag"] is None


def test_newly_detected_high_risk_clone_counts():
    cytogenetics = [cyto("t(4;14)", 0.0, "2021-01-11"), cyto("t(4;14)", 0.3, "2024-09-02")]
    assert judge(cytogenetics=cytogenetics)["flag"] is True


@pytest.mark.parametrize("field", ["extramedullary", "plasma_cell_leukaemia"])
def test_patient_table_flags(field):
    yes = judge(patient={field: True})
    assert yes["flag"] is True and yes["basis"][0]["source"] == "patients.tsv"
    assert judge(patient={field: False})["flag"] is False
    assert judge(patient={field: None})["flag"] is None


def test_message_puts_rapid_disease_control_first_and_cites():
    labs = [lab("calcium", 12.0, "2024-01-01")]
    result = judge(labs=labs, patient={"extramedullary": True})
    assert result["message"].startswith("Needs rapid disease control:")
    assert len(result["basis"]) == 2
    assert result["source"] and result["rule_id"] == RULE["id"]
