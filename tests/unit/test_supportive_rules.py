"""Supportive care: the prophylaxis, screening, monitoring and renal-dosing rules, and renal
bands chosen from a computed creatinine clearance."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from mmresist.interpret import labs as lab_module
from mmresist.interpret.supportive import supportive_care

ROOT = Path(__file__).resolve().parents[2]
# The rules as curated, read straight from the YAML (validation has its own tests).
RULES = yaml.safe_load((ROOT / "resources" / "knowledge" / "rules.yaml").read_text())[
    "supportive_care"
]
BY_ID = {rule["id"]: rule for rule in RULES}
DAY = date(2024, 6, 1)

CLASSES = {
    "bortezomib": ["proteasome_inhibitor"],
    "carfilzomib": ["proteasome_inhibitor"],
    "daratumumab": ["anti_cd38"],
    "isatuximab": ["anti_cd38"],
    "dexamethasone": ["glucocorticoid"],
    "lenalidomide": ["imid"],
    "pomalidomide": ["imid"],
    "teclistamab": ["bcma_bispecific"],
    "talquetamab": ["gprc5d_bispecific"],
    "idecabtagene vicleucel": ["bcma_car_t"],
    "venetoclax": ["bcl2_inhibitor"],
    "belantamab mafodotin": ["bcma_adc"],
}


def line(number, drugs, *, start="2024-01-01", end=None):
    return {
        "line": number,
        "regimen": "+".join(drugs),
        "drugs": sorted(drugs),
        "drug_classes": sorted({c for d in drugs for c in CLASSES[d]}),
        "start_date": start,
        "end_date": end,
    }


def creatinine(value, when=DAY):
    return {
        "test": "creatinine",
        "date": when,
        "value": value,
        "unit": "mg/dL",
        "value_canonical": value,
        "unit_canonical": "mg/dL",
    }


def ids(items):
    return [item["rule_id"] for item in items]


def find(items, rule_id):
    found = [item for item in items if item["rule_id"] == rule_id]
    assert len(found) == 1, (rule_id, ids(items))
    return found[0]


def care(drugs, labs=None, **kwargs):
    return supportive_care(
        labs=labs, therapy_history={"lines": [line(1, drugs)]}, rules=RULES, **kwargs
    )


@pytest.mark.parametrize(
    ("drugs", "rule_id", "words"),
    [
        (["bortezomib", "dexamethasone"], "SC-VZV-PI", ["aciclovir"]),
        (["carfilzomib", "dexamethasone"], "SC-VZV-PI", ["aciclovir"]),
        (["daratumumab", "lenalidomide"], "SC-VZV-CD38", ["3 months"]),
        (["isatuximab", "pomalidomide"], "SC-HBV-SCREEN", ["HBsAg", "anti-HBc"]),
        (["teclistamab"], "SC-HBV-SCREEN", ["HBV"]),
        (["idecabtagene vicleucel"], "SC-HBV-SCREEN", ["HBV"]),
        (["teclistamab"], "SC-CRS-BISPECIFIC-STEPUP", ["step-up", "tocilizumab"]),
        (["talquetamab"], "SC-CRS-BISPECIFIC-STEPUP", ["48 hours"]),
        (["idecabtagene vicleucel"], "SC-CRS-CART-MONITOR", ["ICANS"]),
        (["venetoclax", "dexamethasone"], "SC-TLS-VENETOCLAX", ["uric-acid", "LDH"]),
        (["belantamab mafodotin"], "SC-OCULAR-BELANTAMAB", ["slit lamp"]),
        (["carfilzomib", "dexamethasone"], "SC-CARDIAC-CARFILZOMIB", ["heart failure"]),
        (["talquetamab"], "SC-GPRC5D-ORAL-SKIN-NAIL", ["weight", "nail"]),
        (["teclistamab"], "SC-GCSF-TCE-CART", ["G-CSF"]),
    ],
)
def test_drug_rules_fire_on_the_line_being_given(drugs, rule_id, words):
    item = find(care(drugs), rule_id)
    rule = BY_ID[rule_id]
    assert item["topic"] == rule["topic"] and item["source"] == rule["source"]
    assert item["status"] == rule["status"]
    assert all(word in item["message"] for word in words), item["message"]


@pytest.mark.parametrize(
    ("drugs", "absent"),
    [
        (["lenalidomide", "dexamethasone"], ["SC-VZV-PI", "SC-VZV-CD38", "SC-HBV-SCREEN"]),
        (["teclistamab"], ["SC-GPRC5D-ORAL-SKIN-NAIL", "SC-CRS-CART-MONITOR"]),
        (["talquetamab"], ["SC-CRS-CART-MONITOR", "SC-OCULAR-BELANTAMAB"]),
        (["bortezomib"], ["SC-CARDIAC-CARFILZOMIB", "SC-TLS-VENETOCLAX"]),
    ],
)
def test_drug_rules_stay_silent_without_their_drug(drugs, absent):
    assert not set(absent) & set(ids(care(drugs)))


def test_car_t_is_never_given_no_renal_adjustment():
    items = care(["idecabtagene vicleucel"], labs=[creatinine(2.4)])
    renal = [i for i in items if i["topic"] == "renal" and i["rule_id"].startswith("SC-RENAL")]
    assert "SC-RENAL-CART-FLUDARABINE" in ids(renal)
    assert all("no renal dose adjustment" not in i["message"] for i in renal)
    item = find(items, "SC-RENAL-CART-FLUDARABINE")
    assert "fludarabine" in item["message"] and "band cannot be chosen" in item["message"]


def _fake_crcl(value):
    def compute(labs, patient):
        assert patient["weight_kg"] == 70
        return (value, DAY)

    return compute


PATIENT = {"age": 70, "sex": "male", "weight_kg": 70}


@pytest.mark.parametrize(
    ("crcl", "guidance", "severity"),
    [
        (85, "full lymphodepletion dose", "caution"),
        (60, "80%", "caution"),
        (35, "60%", "caution"),
        (24, "not to give it below 30", "urgent"),
    ],
)
def test_fludarabine_band_is_chosen_from_creatinine_clearance(
    monkeypatch, crcl, guidance, severity
):
    monkeypatch.setattr(lab_module, "creatinine_clearance", _fake_crcl(crcl), raising=False)
    items = care(["idecabtagene vicleucel"], labs=[creatinine(2.4)], patient=PATIENT)
    item = find(items, "SC-RENAL-CART-FLUDARABINE")
    assert guidance in item["message"] and "cannot be chosen" not in item["message"]
    assert item["severity"] == severity
    assert find(items, "SC-DATA-CRCL")["message"].startswith(f"Creatinine clearance {crcl}")


@pytest.mark.parametrize(
    ("crcl", "guidance"),
    [(65, "4 mg"), (55, "3.5 mg"), (45, "3.3 mg"), (32, "3.0 mg"), (25, "denosumab")],
)
def test_zoledronic_acid_band_by_creatinine_clearance(monkeypatch, crcl, guidance):
    monkeypatch.setattr(lab_module, "creatinine_clearance", _fake_crcl(crcl), raising=False)
    items = supportive_care(
        labs=[creatinine(1.5)], therapy_history=None, rules=RULES, patient=PATIENT
    )
    item = find(items, "SC-BONE-ZOLEDRONIC-RENAL")
    assert f"zoledronic acid {guidance}" in item["message"] or guidance in item["message"]
    assert item["severity"] == ("caution" if crcl < 30 else "info")


def test_without_creatinine_clearance_the_bands_are_listed_and_why(monkeypatch):
    monkeypatch.setattr(lab_module, "creatinine_clearance", lambda labs, p: None, raising=False)
    items = supportive_care(
        labs=[creatinine(1.5)],
        therapy_history=None,
        rules=RULES,
        patient={"age": 70, "sex": "male", "weight_kg": None},
    )
    assert "SC-BONE-ZOLEDRONIC-RENAL" not in ids(items)
    note = find(items, "SC-DATA-CRCL-UNAVAILABLE")["message"]
    assert "patients.tsv lacks weight" in note and "SC-BONE-ZOLEDRONIC-RENAL" in note


@pytest.mark.parametrize(
    ("number", "start", "expected"),
    [(1, "2024-04-01", "caution"), (1, "2024-02-01", None), (3, "2024-05-01", "info")],
)
def test_levofloxacin_in_the_first_12_weeks_of_a_line(number, start, expected):
    hist = {"lines": [line(number, ["daratumumab", "lenalidomide"], start=start)]}
    items = supportive_care(labs=[creatinine(1.0)], therapy_history=hist, rules=RULES)
    if expected is None:
        assert "SC-INFECTION-LEVOFLOXACIN" not in ids(items)
    else:
        item = find(items, "SC-INFECTION-LEVOFLOXACIN")
        assert item["severity"] == expected and "TEAMM" in item["message"]
        assert "PMID:31668592" in item["source"]


def test_no_levofloxacin_note_for_a_finished_line():
    hist = {"lines": [line(1, ["lenalidomide"], start="2024-05-01", end="2024-05-20")]}
    items = supportive_care(labs=[creatinine(1.0)], therapy_history=hist, rules=RULES)
    assert "SC-INFECTION-LEVOFLOXACIN" not in ids(items)


def test_monitoring_ends_when_the_drug_was_stopped_at_progression():
    stopped = line(2, ["carfilzomib", "daratumumab"], end="2024-05-01")
    stopped["refractory_drugs"] = ["carfilzomib", "daratumumab"]
    items = supportive_care(labs=None, therapy_history={"lines": [stopped]}, rules=RULES)
    assert "SC-CARDIAC-CARFILZOMIB" not in ids(items)
    # Zoster prophylaxis and HBV monitoring outlast the antibody.
    assert {"SC-VZV-CD38", "SC-HBV-SCREEN"} <= set(ids(items))


def test_real_cockcroft_gault_chooses_the_fludarabine_band():
    # (140 - 70) x 70 / (72 x 2.4) = 28.4 mL/min: below 30, fludarabine is not to be given.
    items = care(["idecabtagene vicleucel"], labs=[creatinine(2.4)], patient=PATIENT)
    item = find(items, "SC-RENAL-CART-FLUDARABINE")
    assert item["severity"] == "urgent" and "not to give it below 30" in item["message"]
    assert "28.4 mL/min" in find(items, "SC-DATA-CRCL")["message"]
