"""Supportive care: one scenario per rule and band edge, read from the knowledge rules."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import pytest

from mmresist.interpret.supportive import STALE_AFTER_DAYS, _bands_matching, supportive_care
from mmresist.io.clinical import read_table
from mmresist.knowledge.load import load_knowledge

ROOT = Path(__file__).resolve().parents[2]
RULES = load_knowledge(ROOT / "resources" / "knowledge").rules["supportive_care"]
BY_ID = {rule["id"]: rule for rule in RULES}
TOPICS = {
    "renal",
    "bone",
    "infection",
    "anemia",
    "thrombosis",
    "neuropathy",
    "other",
}
SEVERITY = {"info": "info", "warning": "caution", "critical": "urgent"}
DAY = date(2024, 6, 1)
EPS = 0.01

CLASSES = {
    "bortezomib": ["proteasome_inhibitor"],
    "carfilzomib": ["proteasome_inhibitor"],
    "ixazomib": ["proteasome_inhibitor"],
    "lenalidomide": ["imid"],
    "pomalidomide": ["imid"],
    "dexamethasone": ["glucocorticoid"],
    "daratumumab": ["anti_cd38"],
    "selinexor": ["xpo1_inhibitor"],
    "melphalan": ["alkylator"],
    "teclistamab": ["bcma_bispecific"],
    "talquetamab": ["gprc5d_bispecific"],
    "cevostamab": ["fcrh5_bispecific"],
    "ciltacabtagene autoleucel": ["bcma_car_t"],
    "arlocabtagene autoleucel": ["gprc5d_car_t"],
}
CLASS_DRUG = {classes[0]: drug for drug, classes in CLASSES.items()}


def lab(test, value, unit=None, when=DAY, canonical=None):
    """A labs row shaped like clinical.read_table's (canonical unit unless told)."""
    unit = unit or BY_TEST_UNIT[test]
    return {
        "test": test,
        "date": when,
        "value": value,
        "unit": unit,
        "value_canonical": value if canonical is None else canonical,
        "unit_canonical": BY_TEST_UNIT[test],
    }


BY_TEST_UNIT = {
    "creatinine": "mg/dL",
    "egfr": "mL/min/1.73m2",
    "hemoglobin": "g/dL",
    "calcium": "mg/dL",
    "igg": "g/L",
    "neutrophils": "10^9/L",
    "platelets": "10^9/L",
}


def line(number, drugs, *, end=None, regimen=None):
    return {
        "line": number,
        "regimen": regimen or "+".join(drugs),
        "drugs": sorted(drugs),
        "drug_classes": sorted({c for d in drugs for c in CLASSES[d]}),
        "start_date": f"20{10 + number}-01-01",
        "end_date": end,
    }


def history(*lines):
    return {"lines": list(lines)}


def ids(items):
    return [item["rule_id"] for item in items]


def find(items, rule_id):
    found = [item for item in items if item["rule_id"] == rule_id]
    assert len(found) == 1, (rule_id, ids(items))
    return found[0]


# -- inputs ----------------------------------------------------------------------------------


def test_no_inputs_is_unknown():
    assert supportive_care(labs=None, therapy_history=None, rules=RULES) is None


def test_empty_labs_is_assessed_and_lists_every_missing_test():
    items = supportive_care(labs=[], therapy_history=None, rules=RULES)
    assert items is not None
    missing = find(items, "SC-DATA-MISSING")["message"]
    for test in ("creatinine", "eGFR", "haemoglobin", "calcium", "IgG", "neutrophils"):
        assert test in missing
    assert "not normal" in missing
    assert "SC-DATA-CRCL-UNAVAILABLE" in ids(items)


def test_labs_only_gives_no_therapy_items():
    items = supportive_care(labs=[lab("hemoglobin", 9.0)], therapy_history=None, rules=RULES)
    assert "SC-ANAEMIA-HB" in ids(items)
    assert not [i for i in items if i["rule_id"] == "SC-BONE-BMA-REMINDER"]
    assert not [i for i in ids(items) if BY_ID.get(i, {}).get("applies_to")]


def test_therapy_only_says_labs_were_not_assessed():
    items = supportive_care(
        labs=None, therapy_history=history(line(1, ["bortezomib", "dexamethasone"])), rules=RULES
    )
    assert "no labs were provided" in find(items, "SC-DATA-MISSING")["message"].lower()
    assert "SC-BONE-BMA-REMINDER" in ids(items)
    assert "SC-NEUROPATHY-BTZ" in ids(items)
    assert "SC-DATA-CRCL-UNAVAILABLE" not in ids(items)


def test_full_rules_mapping_is_accepted():
    full = {"supportive_care": RULES}
    labs = [lab("hemoglobin", 7.0)]
    assert supportive_care(labs=labs, therapy_history=None, rules=full) == supportive_care(
        labs=labs, therapy_history=None, rules=RULES
    )


# -- lab bands and thresholds, generated from the rules ----------------------------------------


def _lab_cases():
    """(rule id, value, expected severity or None) at every band edge and threshold."""
    for rule in RULES:
        if rule.get("applies_to") or rule.get("test") not in BY_TEST_UNIT:
            continue
        if "threshold" in rule:
            limit, op = rule["threshold"]["value"], rule["threshold"]["op"]
            fires = SEVERITY[rule["severity"]]
            yield rule["id"], limit, fires if op in ("<=", ">=") else None
            yield rule["id"], limit - EPS, fires if op.startswith("<") else None
            yield rule["id"], limit + EPS, fires if op.startswith(">") else None
        for band in rule.get("bands") or []:
            severity = SEVERITY[band.get("severity") or rule["severity"]]
            if band.get("lower") is not None:
                yield rule["id"], band["lower"], severity
            if band.get("upper") is not None:
                yield rule["id"], band["upper"] - EPS, severity
        uppers = [b["upper"] for b in rule.get("bands") or [] if b.get("upper") is not None]
        if uppers:
            yield rule["id"], max(uppers), None  # upper excluded: outside every band


@pytest.mark.parametrize(("rule_id", "value", "expected"), list(_lab_cases()))
def test_lab_rule_edges(rule_id, value, expected):
    rule = BY_ID[rule_id]
    value = round(value, 6)
    items = supportive_care(labs=[lab(rule["test"], value)], therapy_history=None, rules=RULES)
    hits = [item for item in items if item["rule_id"] == rule_id]
    if expected is None:
        assert hits == []
        return
    (item,) = hits
    assert item["severity"] == expected
    assert item["topic"] == rule["topic"]
    assert item["source"] == rule["source"]
    assert item["status"] == rule["status"]
    assert f"{value:g} {rule['unit']}" in item["message"]
    assert str(DAY) in item["message"]


def test_every_lab_rule_has_a_scenario():
    covered = {case[0] for case in _lab_cases()}
    expected = {r["id"] for r in RULES if r.get("test") in BY_TEST_UNIT and not r.get("applies_to")}
    assert covered == expected
    assert {"SC-ANAEMIA-HB", "SC-CALCIUM-HIGH", "SC-IGG-LOW"} <= covered


def test_igg_message_warns_about_paraprotein():
    items = supportive_care(labs=[lab("igg", 2.0)], therapy_history=None, rules=RULES)
    assert "paraprotein" in find(items, "SC-IGG-LOW")["message"]


def test_value_in_range_gives_no_normal_message():
    labs = [lab(t, v) for t, v in (("hemoglobin", 13), ("calcium", 9.5), ("igg", 9))]
    items = supportive_care(labs=labs, therapy_history=None, rules=RULES)
    assert not {"SC-ANAEMIA-HB", "SC-CALCIUM-HIGH", "SC-IGG-LOW"} & set(ids(items))
    assert all("normal" not in i["message"].replace("not normal", "") for i in items)


# -- which value is used ------------------------------------------------------------------------


def test_only_the_latest_value_is_used():
    labs = [
        lab("hemoglobin", 7.0, when=date(2024, 1, 1)),
        lab("hemoglobin", 12.5, when=date(2024, 5, 1)),
    ]
    items = supportive_care(labs=labs, therapy_history=None, rules=RULES)
    assert "SC-ANAEMIA-HB" not in ids(items)
    items = supportive_care(labs=labs[::-1], therapy_history=None, rules=RULES)
    assert "SC-ANAEMIA-HB" not in ids(items)


def test_same_day_values_use_the_later_row():
    labs = [lab("hemoglobin", 7.0), lab("hemoglobin", 12.5)]
    items = supportive_care(labs=labs, therapy_history=None, rules=RULES)
    assert "SC-ANAEMIA-HB" not in ids(items)
    items = supportive_care(labs=labs[::-1], therapy_history=None, rules=RULES)
    assert "SC-ANAEMIA-HB" in ids(items)


def test_stale_value_gets_an_extra_caution():
    old = date(2022, 1, 1)
    labs = [lab("calcium", 12.0, when=old), lab("hemoglobin", 13.0, when=DAY)]
    assert (DAY - old).days > STALE_AFTER_DAYS
    items = supportive_care(labs=labs, therapy_history=None, rules=RULES)
    stale = find(items, "SC-DATA-STALE")
    assert stale["severity"] == "caution" and stale["topic"] == "bone"
    assert str(old) in stale["message"] and str(DAY) in stale["message"]
    assert "stale" in find(items, "SC-CALCIUM-HIGH")["message"]


def test_value_within_a_year_is_not_stale():
    labs = [lab("calcium", 9.0, when=date(2023, 6, 2)), lab("hemoglobin", 13.0, when=DAY)]
    items = supportive_care(labs=labs, therapy_history=None, rules=RULES)
    assert "SC-DATA-STALE" not in ids(items)


def test_units_converted_by_read_table(tmp_path):
    path = tmp_path / "labs.tsv"
    path.write_text(
        "patient_id\tdate\ttest\tvalue\tunit\n"
        "P1\t2024-02-03\tcreatinine\t176.84\tµmol/L\n"
        "P1\t2024-02-03\themoglobin\t75\tg/L\n"
        "P1\t2024-02-03\tcalcium\t3.0\tmmol/L\n",
        encoding="utf-8",
    )
    labs = read_table(path, "labs")
    items = supportive_care(labs=labs, therapy_history=None, rules=RULES)
    anaemia = find(items, "SC-ANAEMIA-HB")
    assert anaemia["severity"] == "urgent"
    assert "7.5 g/dL on 2024-02-03 (reported 75 g/L)" in anaemia["message"]
    assert "12.024 mg/dL" in find(items, "SC-CALCIUM-HIGH")["message"]
    renal = find(items, "SC-DATA-CRCL-UNAVAILABLE")["message"]
    assert "creatinine 2 mg/dL on 2024-02-03 (reported 176.84 µmol/L)" in renal


# -- renal -------------------------------------------------------------------------------------


def test_crcl_is_never_computed_and_egfr_is_not_used_as_crcl():
    labs = [lab("creatinine", 2.5), lab("egfr", 25)]
    items = supportive_care(labs=labs, therapy_history=None, rules=RULES, age=70, sex="female")
    renal = find(items, "SC-DATA-CRCL-UNAVAILABLE")
    assert renal["severity"] == "info" and renal["topic"] == "renal"
    assert "could not be computed" in renal["message"]
    assert "2.5 mg/dL" in renal["message"] and "25 mL/min/1.73m2" in renal["message"]
    assert "SC-RENAL-CRAB" in renal["message"] and "< 40 mL/min" in renal["message"]
    assert "SC-RENAL-CRAB" not in ids(items)


@pytest.mark.parametrize(
    ("drug", "expected"),
    [
        ("lenalidomide", {"SC-RENAL-LEN-EU", "SC-RENAL-LEN-US", "SC-RENAL-LEN-PRE1003"}),
        ("pomalidomide", {"SC-RENAL-POM"}),
        ("bortezomib", {"SC-RENAL-BTZ"}),
        ("carfilzomib", {"SC-RENAL-CFZ"}),
        ("ixazomib", {"SC-RENAL-IXA"}),
        ("selinexor", {"SC-RENAL-SELINEXOR"}),
        ("melphalan", {"SC-RENAL-MELPHALAN"}),
        ("daratumumab", {"SC-RENAL-MAB-TCE"}),
        ("teclistamab", {"SC-RENAL-MAB-TCE"}),
        # CAR-T has a renal dose through its lymphodepletion, never "no adjustment".
        ("ciltacabtagene autoleucel", {"SC-RENAL-CART-FLUDARABINE"}),
    ],
)
def test_renal_drug_notes_for_the_current_line(drug, expected):
    hist = history(line(1, ["bortezomib", "dexamethasone"], end="2012-06-01"), line(2, [drug]))
    items = supportive_care(labs=[lab("creatinine", 1.8)], therapy_history=hist, rules=RULES)
    renal = {i["rule_id"] for i in items if i["topic"] == "renal" and i["rule_id"] in BY_ID}
    assert renal == expected
    for rule_id in expected:
        item = find(items, rule_id)
        rule = BY_ID[rule_id]
        assert item["severity"] == SEVERITY[rule["severity"]]
        assert "current line" in item["message"]
        for band in rule.get("bands") or []:
            assert band["guidance"] in item["message"]
            assert "band cannot be chosen" in item["message"]
            assert "1.8 mg/dL" in item["message"]


def test_renal_notes_fall_back_to_the_last_line_when_none_is_ongoing():
    hist = history(
        line(1, ["lenalidomide"], end="2012-01-01"), line(2, ["pomalidomide"], end="2013-01-01")
    )
    items = supportive_care(labs=None, therapy_history=hist, rules=RULES)
    assert "SC-RENAL-POM" in ids(items) and "SC-RENAL-LEN-EU" not in ids(items)
    assert "last line, ended 2013-01-01" in find(items, "SC-RENAL-POM")["message"]


@pytest.mark.parametrize(
    ("rule_id", "value", "guidance_index"),
    [
        ("SC-RENAL-LEN-EU", 50, None),
        ("SC-RENAL-LEN-EU", 49.9, 0),
        ("SC-RENAL-LEN-EU", 30, 0),
        ("SC-RENAL-LEN-EU", 29.9, 1),
        ("SC-RENAL-LEN-US", 60, None),
        ("SC-RENAL-LEN-US", 30, 0),
        ("SC-RENAL-LEN-US", 29.9, None),
        ("SC-RENAL-LEN-PRE1003", 30, 0),
        ("SC-RENAL-LEN-PRE1003", 29.9, 1),
        ("SC-RENAL-IXA", 30, None),
        ("SC-RENAL-IXA", 29.9, 0),
        ("SC-RENAL-SELINEXOR", 15, 0),
        ("SC-RENAL-SELINEXOR", 14.9, None),
    ],
)
def test_crcl_band_edges(rule_id, value, guidance_index):
    """Band selection for creatinine clearance, ready for when a CrCl becomes available."""
    bands = BY_ID[rule_id]["bands"]
    unconditional = [b for b in _bands_matching(value, bands) if not b.get("condition")]
    conditional = [b for b in _bands_matching(value, bands) if b.get("condition")]
    if guidance_index is None:
        assert unconditional == [] and not [b for b in conditional if b.get("upper")]
    else:
        assert bands[guidance_index] in unconditional + conditional
    assert all(b.get("condition") for b in conditional)


# -- infection, thrombosis, neuropathy, bone ----------------------------------------------------


@pytest.mark.parametrize("drug_class", BY_ID["SC-INFECTION-TCE-CART"]["applies_to"]["drug_classes"])
def test_infection_prophylaxis_for_each_t_cell_redirecting_class(drug_class):
    drug = CLASS_DRUG[drug_class]
    items = supportive_care(labs=None, therapy_history=history(line(1, [drug])), rules=RULES)
    item = find(items, "SC-INFECTION-TCE-CART")
    assert item["severity"] == "caution" and item["topic"] == "infection"
    assert drug_class in item["message"]

    earlier = history(line(1, [drug], end="2012-01-01"), line(2, ["pomalidomide"]))
    items = supportive_care(labs=None, therapy_history=earlier, rules=RULES)
    item = find(items, "SC-INFECTION-TCE-CART")
    assert item["severity"] == "info" and "earlier exposure" in item["message"]


def test_no_infection_prophylaxis_without_exposure():
    items = supportive_care(
        labs=None, therapy_history=history(line(1, ["lenalidomide"])), rules=RULES
    )
    assert "SC-INFECTION-TCE-CART" not in ids(items)


@pytest.mark.parametrize(
    ("platelets", "expected"),
    [(None, "No platelet count"), (200, "200 10^9/L"), (30, "SC-THROMBOCYTOPENIA")],
)
def test_vte_prophylaxis_on_imid_considers_platelets(platelets, expected):
    labs = [lab("platelets", platelets)] if platelets is not None else []
    hist = history(line(1, ["lenalidomide", "dexamethasone"]))
    item = find(supportive_care(labs=labs, therapy_history=hist, rules=RULES), "SC-VTE-IMID")
    assert item["topic"] == "thrombosis" and item["severity"] == "caution"
    assert expected in item["message"]
    if platelets == 200:
        assert "SC-THROMBOCYTOPENIA" not in item["message"]


def test_no_vte_note_when_the_imid_was_in_an_earlier_line():
    hist = history(line(1, ["lenalidomide"], end="2012-01-01"), line(2, ["carfilzomib"]))
    assert "SC-VTE-IMID" not in ids(supportive_care(labs=None, therapy_history=hist, rules=RULES))


def test_neuropathy_with_bortezomib_current_and_earlier():
    current = supportive_care(
        labs=None, therapy_history=history(line(1, ["bortezomib"])), rules=RULES
    )
    assert find(current, "SC-NEUROPATHY-BTZ")["severity"] == "caution"
    earlier = history(line(1, ["bortezomib"], end="2012-01-01"), line(2, ["carfilzomib"]))
    item = find(
        supportive_care(labs=None, therapy_history=earlier, rules=RULES), "SC-NEUROPATHY-BTZ"
    )
    assert item["severity"] == "info" and "line 1" in item["message"]
    none = supportive_care(
        labs=None, therapy_history=history(line(1, ["carfilzomib"])), rules=RULES
    )
    assert "SC-NEUROPATHY-BTZ" not in ids(none)


def test_bone_reminder_needs_a_therapy_line():
    assert "SC-BONE-BMA-REMINDER" not in ids(
        supportive_care(labs=None, therapy_history={"lines": []}, rules=RULES)
    )
    item = find(
        supportive_care(labs=None, therapy_history=history(line(1, ["carfilzomib"])), rules=RULES),
        "SC-BONE-BMA-REMINDER",
    )
    assert item["topic"] == "bone" and item["source"] == [] and item["status"] is None


# -- shape, order, determinism ------------------------------------------------------------------


def _patient():
    labs = [
        lab("hemoglobin", 7.5, when=date(2024, 5, 1)),
        lab("calcium", 11.5, when=date(2022, 5, 1)),
        lab("igg", 3.0, when=date(2024, 5, 2)),
        lab("neutrophils", 0.8, when=date(2024, 5, 3)),
        lab("platelets", 20, when=date(2024, 5, 4)),
        lab("creatinine", 2.2, when=date(2024, 5, 5)),
    ]
    hist = history(
        line(1, ["bortezomib", "lenalidomide", "dexamethasone"], end="2012-01-01"),
        line(2, ["teclistamab", "lenalidomide"]),
    )
    return labs, hist


def test_shape_order_and_determinism():
    labs, hist = _patient()
    first = supportive_care(labs=labs, therapy_history=hist, rules=RULES, age=70, sex="male")
    shuffled = labs[:]
    random.Random(4).shuffle(shuffled)
    second = supportive_care(labs=shuffled, therapy_history=hist, rules=RULES, age=70, sex="male")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    order = {"urgent": 0, "caution": 1, "info": 2}
    keys = [(order[i["severity"]], i["topic"], i["rule_id"]) for i in first]
    assert keys == sorted(keys)
    assert first[0]["severity"] == "urgent"
    for item in first:
        assert set(item) == {"topic", "severity", "message", "source", "rule_id", "status"}
        assert item["topic"] in TOPICS
        assert item["severity"] in order
        assert isinstance(item["source"], list)
        if item["rule_id"] in BY_ID:
            assert item["status"] == BY_ID[item["rule_id"]]["status"]
    topics = {i["topic"] for i in first}
    assert topics == {
        "renal",
        "bone",
        "infection",
        "anemia",
        "thrombosis",
        "neuropathy",
        "other",
    }


def test_no_dose_table_for_a_drug_stopped_at_progression():
    stopped = line(2, ["pomalidomide"], end="2013-01-01")
    stopped["refractory_drugs"] = ["pomalidomide"]
    items = supportive_care(labs=None, therapy_history=history(stopped), rules=RULES)
    assert "SC-RENAL-POM" not in ids(items)
    ongoing = line(2, ["pomalidomide"])
    ongoing["refractory_drugs"] = ["pomalidomide"]  # still on it: the dose table applies
    items = supportive_care(labs=None, therapy_history=history(ongoing), rules=RULES)
    assert "SC-RENAL-POM" in ids(items)


def test_creatinine_above_2_mg_dl_meets_the_renal_crab_criterion_without_crcl():
    items = supportive_care(labs=[lab("creatinine", 2.8)], therapy_history=None, rules=RULES)
    item = find(items, "SC-RENAL-CRAB-CREATININE")
    assert item["severity"] == "caution" and "2.8 mg/dL" in item["message"]
    assert "SC-RENAL-CRAB-CREATININE" not in ids(
        supportive_care(labs=[lab("creatinine", 1.9)], therapy_history=None, rules=RULES)
    )


def test_a_converted_value_equal_to_the_limit_in_its_own_unit_does_not_cross_it():
    # 177 µmol/L is the IMWG limit itself (> 177 µmol/L, > 2 mg/dL): 2.0018 mg/dL after
    # conversion must not flag; 180 µmol/L (2.04 mg/dL) must.
    def creatinine(umol):
        return lab("creatinine", umol, unit="µmol/L", canonical=umol / 88.42)

    quiet = supportive_care(labs=[creatinine(177)], therapy_history=None, rules=RULES)
    assert "SC-RENAL-CRAB-CREATININE" not in ids(quiet)
    loud = supportive_care(labs=[creatinine(180)], therapy_history=None, rules=RULES)
    assert "SC-RENAL-CRAB-CREATININE" in ids(loud)
    # Entered in mg/dL, the value is compared as written.
    assert "SC-RENAL-CRAB-CREATININE" in ids(
        supportive_care(labs=[lab("creatinine", 2.004)], therapy_history=None, rules=RULES)
    )
