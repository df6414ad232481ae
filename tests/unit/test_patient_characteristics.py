"""Cockcroft-Gault creatinine clearance from patients.tsv, and regimens clinics write that
the knowledge base must resolve (Tal-Tec, DR, salvage chemotherapy)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mmresist.interpret.labs import creatinine_clearance
from mmresist.interpret.therapy import therapy_history
from mmresist.knowledge.load import load_knowledge

REPO = Path(__file__).resolve().parents[2]
PATIENT = {"patient_id": "P1", "age": 70, "sex": "male", "weight_kg": 72.0}


def creatinine(value, unit="mg/dL", day="2024-05-01", line=2):
    return {"patient_id": "P1", "date": day, "test": "creatinine", "value": value, "unit": unit,
            "_line": line}  # fmt: skip


def test_cockcroft_gault_for_a_man_and_a_woman():
    # (140 - 70) x 72 / (72 x 2.0) = 35.0 mL/min; women x 0.85.
    assert creatinine_clearance([creatinine(2.0)], PATIENT) == (35.0, date(2024, 5, 1))
    woman = {**PATIENT, "sex": "female"}
    assert creatinine_clearance([creatinine(2.0)], woman) == (29.8, date(2024, 5, 1))


def test_the_latest_creatinine_counts_in_any_accepted_unit():
    labs = [creatinine(1.0, day="2023-01-01"), creatinine(176.84, "µmol/L", "2024-05-01", 3)]
    assert creatinine_clearance(labs, PATIENT) == (35.0, date(2024, 5, 1))


@pytest.mark.parametrize("missing", ["age", "sex", "weight_kg"])
def test_an_unknown_input_gives_no_clearance(missing):
    assert creatinine_clearance([creatinine(1.0)], {**PATIENT, missing: None}) is None


def test_no_creatinine_or_no_patient_gives_no_clearance():
    assert creatinine_clearance([], PATIENT) is None
    assert creatinine_clearance([creatinine(1.0)], None) is None


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge(REPO / "resources" / "knowledge")


@pytest.mark.parametrize(
    ("regimen", "drugs"),
    [
        ("Tal-Tec", {"talquetamab", "teclistamab"}),
        ("DR", {"daratumumab", "lenalidomide"}),
        ("melflufen-dex", {"melphalan flufenamide", "dexamethasone"}),
        ("KCd", {"carfilzomib", "cyclophosphamide", "dexamethasone"}),
        ("DCEP", {"dexamethasone", "cyclophosphamide", "etoposide", "cisplatin"}),
        (
            "VDT-PACE",
            {"bortezomib", "dexamethasone", "thalidomide", "cisplatin", "doxorubicin",
             "cyclophosphamide", "etoposide"},
        ),
        ("SPd", {"selinexor", "pomalidomide", "dexamethasone"}),
        ("SKd", {"selinexor", "carfilzomib", "dexamethasone"}),
    ],
)  # fmt: skip
def test_regimens_clinics_write_resolve(knowledge, regimen, drugs):
    assert set(knowledge.resolve_regimen(regimen)) == drugs


def test_classes_of_the_new_drugs(knowledge):
    assert knowledge.drug_classes("melphalan flufenamide") == ["alkylator"]
    assert knowledge.drug_classes("selinexor") == ["xpo1_inhibitor"]
    assert knowledge.drug_classes("etoposide") == ["topoisomerase_inhibitor"]
    assert knowledge.drug_classes("cisplatin") == ["platinum"]


def test_perseus_line_in_one_row_spares_bortezomib_stopped_years_before(knowledge):
    row = {
        "patient_id": "P1",
        "line": 1,
        "regimen": "D-VRd+ASCT+D-VRd+DR",
        "start_date": date(2019, 1, 7),
        "end_date": None,
        "best_response": "sCR",
        "progression_date": date(2023, 9, 4),
        "refractory": "yes",
    }
    history = therapy_history([{**row, "refractory": None}], knowledge)
    assert history["refractory_drugs"] == ["daratumumab", "lenalidomide"]
    assert history["current_line"] is None
    # `yes` marks the anti-myeloma drugs of the row, never dexamethasone or melphalan.
    marked = therapy_history([row], knowledge)["refractory_drugs"]
    assert marked == ["bortezomib", "daratumumab", "lenalidomide"]
