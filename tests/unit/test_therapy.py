"""Therapy history: regimen resolution, the IMWG refractory rule, triple/penta-refractory."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mmresist.errors import InputError, KnowledgeError
from mmresist.interpret.therapy import refractory_decision, therapy_history

CLASSES = {
    "bortezomib": ["proteasome_inhibitor"],
    "carfilzomib": ["proteasome_inhibitor"],
    "ixazomib": ["proteasome_inhibitor"],
    "lenalidomide": ["imid"],
    "pomalidomide": ["imid"],
    "thalidomide": ["imid"],
    "daratumumab": ["anti_cd38"],
    "isatuximab": ["anti_cd38"],
    "elotuzumab": ["anti_slamf7"],
    "dexamethasone": ["glucocorticoid"],
    "cyclophosphamide": ["alkylator"],
    "teclistamab": ["bcma_bispecific"],
}
ABBREVIATIONS = {
    "rd": ["lenalidomide", "dexamethasone"],
    "r": ["lenalidomide"],
    "vrd": ["bortezomib", "lenalidomide", "dexamethasone"],
    "dkd": ["daratumumab", "carfilzomib", "dexamethasone"],
    "dpd": ["daratumumab", "pomalidomide", "dexamethasone"],
    "isapd": ["isatuximab", "pomalidomide", "dexamethasone"],
    "kd": ["carfilzomib", "dexamethasone"],
    "pd": ["pomalidomide", "dexamethasone"],
    "dvd": ["daratumumab", "bortezomib", "dexamethasone"],
    "dara": ["daratumumab"],
    "dex": ["dexamethasone"],
    "revlimid": ["lenalidomide"],
}


class FakeKnowledge:
    """The two knowledge-base calls therapy_history relies on, over a small table."""

    def __init__(self, classes=None):
        self.classes = CLASSES if classes is None else classes
        self.calls: list[str] = []

    def resolve_regimen(self, text: str) -> list[str]:
        self.calls.append(text)
        drugs: list[str] = []
        for token in text.split("+"):
            key = token.strip().lower()
            if key in ABBREVIATIONS:
                drugs.extend(ABBREVIATIONS[key])
            elif key in self.classes:
                drugs.append(key)
            else:
                raise ValueError(f"unknown drug or regimen token '{token.strip()}'")
        return drugs

    def drug_classes(self, drug: str) -> list[str]:
        if drug not in self.classes:
            raise KeyError(drug)
        return self.classes[drug]


KNOWLEDGE = FakeKnowledge()
START = date(2020, 1, 1)
END = date(2020, 7, 1)


def line(
    number, regimen, *, start=START, end=None, response=None, progression=None, refractory=None
):
    return {
        "patient_id": "P1",
        "line": number,
        "regimen": regimen,
        "start_date": start,
        "end_date": end,
        "best_response": response,
        "progression_date": progression,
        "refractory": refractory,
        "_file": "therapy_lines.tsv",
        "_line": number + 1,
    }


def test_output_has_exactly_the_contract_keys_and_iso_dates():
    history = therapy_history(
        [line(1, "VRd", end=END, response="VGPR", progression=END + timedelta(days=400))],
        KNOWLEDGE,
    )
    assert set(history) == {
        "lines",
        "line_count",
        "exposed_drugs",
        "exposed_classes",
        "refractory_drugs",
        "refractory_classes",
        "triple_class_refractory",
        "penta_refractory",
        "intolerant_drugs",
        "current_line",
        "car_t_relapses",
        "last_exposure",
    }
    (entry,) = history["lines"]
    assert list(entry) == [
        "line",
        "regimen",
        "drugs",
        "drug_classes",
        "start_date",
        "end_date",
        "best_response",
        "progression_date",
        "refractory_drugs",
        "refractory_basis",
        "phases",
    ]
    assert (entry["start_date"], entry["end_date"]) == ("2020-01-01", "2020-07-01")
    assert entry["progression_date"] == "2021-08-05"
    assert history["line_count"] == 1


@pytest.mark.parametrize(("days", "refractory"), [(59, True), (60, True), (61, False)])
def test_imwg_60_day_window_after_the_last_dose(days, refractory):
    history = therapy_history(
        [line(1, "Rd", end=END, response="VGPR", progression=END + timedelta(days=days))],
        KNOWLEDGE,
    )
    expected = ["dexamethasone", "lenalidomide"] if refractory else []
    assert history["refractory_drugs"] == expected
    assert history["lines"][0]["refractory_drugs"] == expected
    basis = history["lines"][0]["refractory_basis"]
    assert f"{days} days after the last dose" in basis
    assert basis.startswith("not refractory") is not refractory


@pytest.mark.parametrize(
    ("end", "progression"),
    [
        (None, date(2020, 3, 1)),  # line still running when the disease progressed
        (END, date(2020, 3, 1)),  # progression before the last dose
        (END, END),  # progression on the day of the last dose
    ],
)
def test_progression_on_therapy_is_refractory(end, progression):
    history = therapy_history(
        [line(1, "Rd", end=end, response="PR", progression=progression)], KNOWLEDGE
    )
    assert history["refractory_drugs"] == ["dexamethasone", "lenalidomide"]
    assert "progression on therapy" in history["lines"][0]["refractory_basis"]


@pytest.mark.parametrize(("response", "refractory"), [("SD", True), ("PD", True), ("MR", False)])
def test_no_response_is_refractory_without_progression(response, refractory):
    history = therapy_history([line(1, "Kd", end=END, response=response)], KNOWLEDGE)
    assert bool(history["refractory_drugs"]) is refractory
    basis = history["lines"][0]["refractory_basis"]
    assert ("no response" in basis) is refractory
    assert response in basis


def test_explicit_yes_and_no_override_the_rule():
    history = therapy_history(
        [
            # Responded, no progression: the rule says not refractory, the clinician says yes.
            line(1, "VRd", end=END, response="CR", refractory="yes"),
            # Progressed on therapy: the rule says refractory, the clinician says no.
            line(2, "DPd", start=END, progression=date(2021, 1, 1), refractory="no"),
        ],
        KNOWLEDGE,
    )
    first, second = history["lines"]
    # `yes` marks the anti-myeloma drugs, never the steroid given with them.
    assert first["refractory_drugs"] == ["bortezomib", "lenalidomide"]
    assert "refractory column: yes" in first["refractory_basis"]
    assert second["refractory_drugs"] == []
    assert "refractory column: no" in second["refractory_basis"]
    assert "pomalidomide" not in history["refractory_drugs"]
    assert "daratumumab" not in history["refractory_drugs"]


def test_refractory_in_any_line_stays_refractory():
    history = therapy_history(
        [
            line(1, "Rd", end=END, progression=END + timedelta(days=10)),
            line(2, "Rd", start=date(2021, 1, 1), end=date(2021, 6, 1), response="VGPR"),
        ],
        KNOWLEDGE,
    )
    assert "lenalidomide" in history["refractory_drugs"]
    assert history["lines"][1]["refractory_drugs"] == []


def test_decision_function_explains_a_late_relapse():
    refractory, basis = refractory_decision(
        end_date=END,
        progression_date=END + timedelta(days=200),
        best_response="VGPR",
        refractory=None,
    )
    assert not refractory and "200 days" in basis and "more than 60" in basis


def _progressed(number, regimen, start):
    return line(number, regimen, start=start, progression=start + timedelta(days=90))


def test_triple_class_refractory_needs_imid_pi_and_anti_cd38():
    lines = [_progressed(1, "VRd", date(2018, 1, 1)), _progressed(2, "DPd", date(2019, 1, 1))]
    history = therapy_history(lines, KNOWLEDGE)
    assert history["triple_class_refractory"] is True
    assert history["penta_refractory"] is False  # carfilzomib not yet refractory
    assert history["refractory_classes"] == [
        "anti_cd38",
        "glucocorticoid",
        "imid",
        "proteasome_inhibitor",
    ]

    exposed_only = [
        _progressed(1, "VRd", date(2018, 1, 1)),
        line(2, "DPd", start=date(2019, 1, 1), end=date(2019, 9, 1), response="VGPR"),
    ]
    history = therapy_history(exposed_only, KNOWLEDGE)
    assert "anti_cd38" in history["exposed_classes"]
    assert history["triple_class_refractory"] is False


def test_penta_refractory_per_mammoth():
    lines = [
        _progressed(1, "VRd", date(2017, 1, 1)),
        _progressed(2, "Kd", date(2018, 1, 1)),
        _progressed(3, "IsaPd", date(2019, 1, 1)),
    ]
    history = therapy_history(lines, KNOWLEDGE)
    assert history["penta_refractory"] is True
    assert history["triple_class_refractory"] is True
    # Without any anti-CD38 refractoriness there is no penta-refractoriness.
    lines[2] = _progressed(3, "Pd", date(2019, 1, 1))
    history = therapy_history(lines, KNOWLEDGE)
    assert history["penta_refractory"] is False
    assert history["triple_class_refractory"] is False


def test_regimen_abbreviations_and_brand_names_resolve():
    history = therapy_history(
        [
            line(1, "vrd", end=END, response="CR"),
            line(2, "Dara + Revlimid + dex", start=date(2021, 1, 1), response="PR"),
        ],
        KNOWLEDGE,
    )
    assert history["lines"][0]["drugs"] == ["bortezomib", "dexamethasone", "lenalidomide"]
    assert history["lines"][1]["drugs"] == ["daratumumab", "dexamethasone", "lenalidomide"]
    assert history["lines"][1]["drug_classes"] == ["anti_cd38", "glucocorticoid", "imid"]
    assert history["exposed_drugs"] == [
        "bortezomib",
        "daratumumab",
        "dexamethasone",
        "lenalidomide",
    ]


def test_asct_counts_as_melphalan_an_alkylator():
    # The fake knowledge base knows neither ASCT nor melphalan: both come from therapy.py.
    history = therapy_history([line(1, "VRd+ASCT+R", end=END, response="VGPR")], FakeKnowledge())
    assert "melphalan" in history["lines"][0]["drugs"]
    assert "alkylator" in history["exposed_classes"]
    assert "glucocorticoid" in history["exposed_classes"]


def test_unknown_regimen_names_file_line_and_column():
    with pytest.raises(InputError) as caught:
        therapy_history([line(1, "VRd"), line(3, "VRd+Xyz")], KNOWLEDGE)
    error = caught.value
    assert (error.file, error.line, error.field, error.got) == (
        "therapy_lines.tsv",
        4,
        "regimen",
        "Xyz",
    )
    assert "unknown drug or regimen token 'Xyz'" in str(error)


def test_empty_drug_in_regimen_is_refused():
    with pytest.raises(InputError) as caught:
        therapy_history([line(1, "VRd++R")], KNOWLEDGE)
    assert caught.value.field == "regimen"


def test_rows_of_two_patients_are_refused():
    with pytest.raises(InputError) as caught:
        therapy_history([line(1, "VRd"), {**line(2, "Kd"), "patient_id": "P2"}], KNOWLEDGE)
    assert caught.value.field == "patient_id"


def test_class_outside_the_drug_class_vocabulary_is_a_knowledge_error():
    knowledge = FakeKnowledge({**CLASSES, "lenalidomide": ["immunomodulator"]})
    with pytest.raises(KnowledgeError, match="immunomodulator"):
        therapy_history([line(1, "Rd")], knowledge)


def test_lines_are_sorted_by_number():
    history = therapy_history(
        [line(2, "Kd", start=date(2021, 1, 1)), line(1, "VRd", end=END)], KNOWLEDGE
    )
    assert [entry["line"] for entry in history["lines"]] == [1, 2]


def test_last_exposure_per_class_against_a_reference_date():
    lines = [
        line(1, "VRd", end=date(2021, 1, 1), response="VGPR"),
        line(2, "Kd", start=date(2022, 1, 1), end=date(2022, 6, 30), response="PR"),
        line(3, "Dara", start=date(2023, 1, 1)),  # ongoing
    ]
    history = therapy_history(lines, KNOWLEDGE, reference_date="2023-03-01")
    last = history["last_exposure"]
    assert last["imid"] == {
        "line": 1,
        "last_dose_date": "2021-01-01",
        "ongoing": False,
        "days_since_last_dose": 789,
    }
    assert last["proteasome_inhibitor"]["days_since_last_dose"] == 244
    assert last["anti_cd38"]["ongoing"] is True
    assert last["anti_cd38"]["days_since_last_dose"] == 0
    no_reference = therapy_history(lines, KNOWLEDGE)["last_exposure"]
    assert no_reference["imid"]["days_since_last_dose"] is None


def test_rows_read_from_a_file_flow_through(tmp_path):
    from mmresist.io.clinical import read_table

    path = tmp_path / "therapy_lines.tsv"
    path.write_text(
        "patient_id\tline\tregimen\tstart_date\tend_date\tbest_response\tprogression_date\n"
        "P1\t1\tVRd+ASCT\t2019-01-01\t2019-12-01\tCR\t2021-01-01\n"
        "P1\t2\tDKd\t2021-02-01\t\tPR\t2022-02-01\n"
        "P1\t3\tTeclistamab\t2022-03-01\t\t\t\n"
    )
    history = therapy_history(read_table(path, "therapy_lines"), KNOWLEDGE)
    assert history["refractory_drugs"] == ["carfilzomib", "daratumumab", "dexamethasone"]
    assert history["exposed_classes"] == [
        "alkylator",
        "anti_cd38",
        "bcma_bispecific",
        "glucocorticoid",
        "imid",
        "proteasome_inhibitor",
    ]
    broken = tmp_path / "broken.tsv"
    broken.write_text(path.read_text().replace("DKd", "DKx"))
    with pytest.raises(InputError) as caught:
        therapy_history(read_table(broken, "therapy_lines"), KNOWLEDGE)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(broken), 3, "regimen")


def test_progression_on_maintenance_makes_only_the_maintenance_drugs_refractory():
    row = line(1, "VRd+ASCT+lenalidomide", end=END, response="VGPR", progression=date(2020, 6, 1))
    history = therapy_history([row], KNOWLEDGE)
    assert history["refractory_drugs"] == ["lenalidomide"]
    assert "bortezomib" in history["exposed_drugs"]
    assert "proteasome_inhibitor" not in history["refractory_classes"]
    basis = history["lines"][0]["refractory_basis"]
    assert basis.startswith("lenalidomide: progression")
    assert "bortezomib, dexamethasone, melphalan: not refractory: given in an earlier part" in basis


def test_progression_soon_after_a_transplant_without_maintenance_points_at_melphalan():
    row = line(1, "VRd+ASCT", end=END, response="VGPR", progression=date(2020, 8, 1))
    history = therapy_history([row], KNOWLEDGE)
    assert history["refractory_drugs"] == ["melphalan"]


def test_no_response_and_explicit_yes_still_cover_every_drug_of_a_transplant_line():
    no_response = therapy_history([line(1, "VRd+ASCT", end=END, response="SD")], KNOWLEDGE)
    assert "bortezomib" in no_response["refractory_drugs"]
    explicit = therapy_history(
        [line(1, "VRd+ASCT+lenalidomide", end=END, response="CR", refractory="yes")], KNOWLEDGE
    )
    # `yes` spares transplant conditioning and the steroid.
    assert explicit["refractory_drugs"] == ["bortezomib", "lenalidomide"]


# -- lines written as phases, refractory lists, intolerance, current line, CAR-T ---------


def phase(number, regimen, name, start, end=None, *, response=None, progression=None):
    row = line(number, regimen, start=start, end=end, response=response, progression=progression)
    return {**row, "phase": name}


def _three_phases(progression=date(2023, 5, 2)):
    return [
        {
            **phase(1, "lenalidomide", "maintenance", date(2020, 9, 1), progression=progression),
            "_line": 4,
        },
        {
            **phase(1, "VRd", "induction", date(2020, 1, 6), date(2020, 4, 20), response="VGPR"),
            "_line": 2,
        },
        {**phase(1, "ASCT", "transplant", date(2020, 6, 1), date(2020, 6, 1)), "_line": 3},
    ]


def test_phases_of_one_line_are_one_line_in_start_order():
    history = therapy_history(_three_phases(), FakeKnowledge())
    assert history["line_count"] == 1
    (entry,) = history["lines"]
    assert [p["phase"] for p in entry["phases"]] == ["induction", "transplant", "maintenance"]
    assert entry["regimen"] == "VRd → ASCT → lenalidomide"
    assert entry["best_response"] == "VGPR"
    assert entry["progression_date"] == "2023-05-02"
    assert entry["end_date"] is None


def test_progression_on_maintenance_spares_induction_drugs_and_conditioning():
    history = therapy_history(_three_phases(), FakeKnowledge())
    assert history["refractory_drugs"] == ["lenalidomide"]
    assert {"bortezomib", "dexamethasone", "melphalan"} <= set(history["exposed_drugs"])
    basis = history["lines"][0]["refractory_basis"]
    assert "lenalidomide: progression on therapy" in basis
    # Lenalidomide was also in the induction: its last phase decides.
    assert "bortezomib, dexamethasone: not refractory: progression" in basis


def test_earlier_phase_without_end_date_is_bounded_by_the_next_phase():
    rows = [
        phase(1, "VRd", "induction", date(2020, 1, 6)),
        {
            **phase(1, "R", "maintenance", date(2020, 7, 1), progression=date(2022, 1, 3)),
            "_line": 5,
        },
    ]
    history = therapy_history(rows, KNOWLEDGE)
    assert history["refractory_drugs"] == ["lenalidomide"]
    assert "ended by 2020-07-01" in history["lines"][0]["refractory_basis"]


def test_one_row_perseus_regimen_reads_consolidation_then_maintenance():
    # D-VRd induction, ASCT, D-VRd consolidation, then DR maintenance on which it progressed.
    knowledge = FakeKnowledge()
    ABBREVIATIONS_EXTRA = {
        "d-vrd": ["daratumumab", "bortezomib", "lenalidomide", "dexamethasone"],
        "dr": ["daratumumab", "lenalidomide"],
    }
    original = knowledge.resolve_regimen

    def resolve(text):
        key = text.strip().lower()
        return list(ABBREVIATIONS_EXTRA[key]) if key in ABBREVIATIONS_EXTRA else original(text)

    knowledge.resolve_regimen = resolve
    row = line(1, "D-VRd+ASCT+D-VRd+DR", start=date(2019, 1, 1), progression=date(2023, 6, 1))
    history = therapy_history([row], knowledge)
    assert history["refractory_drugs"] == ["daratumumab", "lenalidomide"]
    assert "bortezomib" in history["exposed_drugs"]


def test_refractory_list_marks_those_drugs_and_clears_the_other_anti_myeloma_drugs():
    row = line(1, "DKd", end=END, response="PR", refractory="carfilzomib")
    history = therapy_history([row], KNOWLEDGE)
    assert history["refractory_drugs"] == ["carfilzomib"]
    progressed = line(1, "DKd", progression=date(2020, 3, 1), refractory="daratumumab")
    # The steroid keeps the rule's verdict; carfilzomib is cleared by the list.
    assert therapy_history([progressed], KNOWLEDGE)["refractory_drugs"] == [
        "daratumumab",
        "dexamethasone",
    ]


def test_refractory_list_naming_a_drug_not_in_the_row_is_refused():
    with pytest.raises(InputError) as caught:
        therapy_history([line(1, "Kd", refractory="pomalidomide")], KNOWLEDGE)
    assert (caught.value.field, caught.value.got) == ("refractory", "pomalidomide")


def test_intolerance_is_recorded_only_for_the_drugs_named():
    rows = [
        {**line(1, "VRd", end=END, response="VGPR"), "stop_reason": "toxicity"},
        {
            **line(2, "DKd", start=date(2021, 1, 1), end=date(2021, 2, 1), response="SD"),
            "stop_reason": "toxicity",
            "intolerant": "carfilzomib",
        },
    ]
    history = therapy_history(rows, KNOWLEDGE)
    # Toxicity on VRd names no drug: nothing is guessed.
    assert history["intolerant_drugs"] == ["carfilzomib"]
    assert history["lines"][1]["phases"][0]["stop_reason"] == "toxicity"
    with pytest.raises(InputError) as caught:
        therapy_history([{**rows[1], "intolerant": "bortezomib"}], KNOWLEDGE)
    assert caught.value.field == "intolerant"


def test_current_line_is_the_one_still_given():
    rows = [
        line(1, "VRd", end=END, response="VGPR", progression=date(2021, 1, 1)),
        line(2, "Kd", start=date(2021, 2, 1)),
    ]
    history = therapy_history(rows, KNOWLEDGE, reference_date="2021-06-01")
    assert history["current_line"] == {
        "line": 2,
        "regimen": "Kd",
        "drugs": ["carfilzomib", "dexamethasone"],
        "drug_classes": ["glucocorticoid", "proteasome_inhibitor"],
        "start_date": "2021-02-01",
    }
    rows[1]["progression_date"] = date(2021, 5, 1)
    assert therapy_history(rows, KNOWLEDGE)["current_line"] is None


def test_relapse_after_car_t_is_recorded_whatever_the_interval():
    classes = {**CLASSES, "idecabtagene vicleucel": ["bcma_car_t"]}
    rows = [
        line(1, "idecabtagene vicleucel", start=date(2022, 8, 15), progression=date(2023, 4, 17))
    ]
    history = therapy_history(rows, FakeKnowledge(classes), reference_date="2023-05-01")
    assert history["car_t_relapses"] == [
        {
            "drug": "idecabtagene vicleucel",
            "infusion_date": "2022-08-15",
            "progression_date": "2023-04-17",
        }
    ]
    # A one-time infusion: not refractory by IMWG (245 days), not "ongoing", not current.
    assert history["refractory_drugs"] == []
    assert history["current_line"] is None
    assert history["last_exposure"]["bcma_car_t"]["ongoing"] is False


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [
                phase(1, "VRd", "induction", START),
                {**phase(1, "R", "maintenance", START), "_line": 9},
            ],
            "start on the same day",
        ),
        (
            [
                phase(1, "VRd", "induction", START, date(2020, 6, 1)),
                {**phase(1, "R", "maintenance", date(2020, 5, 1)), "_line": 9},
            ],
            "starts before the previous one ended",
        ),
        (
            [
                phase(1, "VRd", "induction", START, date(2020, 6, 1), progression=date(2020, 6, 1)),
                {**phase(1, "R", "maintenance", date(2020, 7, 1)), "_line": 9},
            ],
            "next line",
        ),
    ],
)
def test_conflicting_phases_are_refused(rows, message):
    with pytest.raises(InputError, match=message) as caught:
        therapy_history(rows, KNOWLEDGE)
    assert caught.value.line == 9
