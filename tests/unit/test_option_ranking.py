"""Option order: approval and label per region, evidence tier and benefit, never-offer
demotions and salvage transplant (interpret.option_ranking), and the tables behind them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmresist.interpret.options import therapy_options
from mmresist.knowledge.load import load_knowledge
from mmresist.knowledge.regimen_evidence import parse_requirement, regimen_evidence_problems

ROOT = Path(__file__).resolve().parents[2]
K = load_knowledge(ROOT / "resources" / "knowledge")


def line(number: int, regimen: str, drugs: list[str], phases: list[dict] | None = None, **kw):
    entry = {
        "line": number,
        "regimen": regimen,
        "drugs": drugs,
        "drug_classes": sorted({c for d in drugs for c in K.drug_classes(d)}),
        "start_date": kw.get("start", "2020-01-01"),
        "end_date": kw.get("end"),
        "progression_date": kw.get("progression"),
        "phases": phases or [],
        "refractory_drugs": [],
        "refractory_basis": "",
    }
    return entry


def history(lines: list[dict], refractory=(), **extra) -> dict:
    exposed = sorted({d for entry in lines for d in entry["drugs"]})
    classes = lambda drugs: sorted({c for d in drugs for c in K.drug_classes(d)})  # noqa: E731
    result = {
        "lines": lines,
        "line_count": len({entry["line"] for entry in lines}),
        "exposed_drugs": exposed,
        "exposed_classes": classes(exposed),
        "refractory_drugs": sorted(refractory),
        "refractory_classes": classes(refractory),
        "triple_class_refractory": False,
        "penta_refractory": False,
        "last_exposure": {},
        "intolerant_drugs": [],
        "current_line": None,
        "car_t_relapses": [],
    }
    result.update(extra)
    return result


VRD = ["bortezomib", "lenalidomide", "dexamethasone"]
DRD = ["daratumumab", "lenalidomide", "dexamethasone"]
TWO_LINES = [line(1, "VRd", VRD), line(2, "DRd", DRD)]


def ranked(h: dict, region: str = "US", patient: dict | None = None) -> dict[str, dict]:
    result = therapy_options(
        knowledge=K,
        therapy_history=h,
        findings=[],
        max_options=100,
        approval_region=region,
        patient=patient,  # type: ignore[arg-type]
    )
    assert result is not None
    return {o["regimen"]: o for o in result}


def test_belantamab_regimens_by_region():
    h = history(TWO_LINES, refractory=["lenalidomide", "daratumumab"])
    us, eu = ranked(h, "US"), ranked(h, "EU")
    for options in (us, eu):
        bela = options["belantamab"]
        assert bela["approval"]["status"] == "withdrawn" and bela["status"] != "standard"
        assert bela["approval"]["label"] == "off_label"
        assert options["BVd"]["approval"]["label"] == "on_label"
        assert options["BVd"]["status"] == "standard"
        assert options["BVd"]["rank"] < bela["rank"]
    assert us["BPd"]["approval"]["status"] == "not_approved" and us["BPd"]["status"] == "off_label"
    assert eu["BPd"]["approval"]["label"] == "on_label"
    assert us["BVd"]["approval"]["region"] == "US" and eu["BVd"]["approval"]["region"] == "EU"


def test_bvd_us_label_needs_two_prior_lines_with_pi_and_imid():
    one = ranked(history([line(1, "VRd", VRD)]))["BVd"]
    assert one["approval"]["label"] == "off_label" and one["status"] == "off_label"
    assert any("at least 2 prior lines" in r for r in one["approval"]["reasons"])
    no_pi = ranked(history([line(1, "Rd", ["lenalidomide"]), line(2, "DRd", DRD)]))["BVd"]
    assert any("proteasome inhibitor" in r for r in no_pi["approval"]["reasons"])


@pytest.mark.parametrize("regimen", ["teclistamab", "elranatamab", "talquetamab", "Sd"])
def test_late_line_labels_are_not_standard_after_two_lines(regimen):
    option = ranked(history(TWO_LINES))[regimen]
    assert option["approval"]["label"] == "off_label" and option["status"] == "off_label"


def test_linvoseltamab_needs_four_lines_in_us_three_in_eu():
    three = [*TWO_LINES, line(3, "DPd", ["daratumumab", "pomalidomide", "dexamethasone"])]
    h = history(three)
    assert ranked(h, "US")["linvoseltamab"]["approval"]["label"] == "off_label"
    assert ranked(h, "EU")["linvoseltamab"]["approval"]["label"] == "on_label"


def test_withdrawn_panobinostat_and_unapproved_venetoclax_rank_after_on_label():
    options = ranked(history(TWO_LINES))
    on_label = [o["rank"] for o in options.values() if o["approval"]["label"] == "on_label"]
    for regimen in ("PanoVd", "VenVd", "Ven-dex"):
        assert options[regimen]["status"] == "off_label"
        assert options[regimen]["rank"] > max(on_label)
    assert options["PanoVd"]["approval"]["status"] == "withdrawn"


def test_evidence_tier_and_benefit_are_in_the_rationale():
    option = ranked(history(TWO_LINES))["BVd"]
    rules = [item["rule"] for item in option["rationale"]]
    assert {"approval", "evidence_tier", "benefit"} <= set(rules)
    assert option["benefit"]["design"] == "randomised_phase3"
    assert option["benefit"]["band"] == "large" and option["benefit"]["verified"]


def test_unverified_benefit_never_ranks_above_verified_in_its_tier(monkeypatch):
    h = history(TWO_LINES, refractory=["lenalidomide"])

    def plain_options() -> list[dict]:
        return [
            o
            for o in ranked(h).values()
            if o["status"] == "standard"
            and o["approval"]["label"] == "on_label"
            and o["benefit"]
            and o["benefit"]["design"] == "randomised_phase3"
            and not {"refractory_class", "resistance_finding", "pivotal_population", "head_to_head"}
            & {i["rule"] for i in o["rationale"]}
        ]

    # The curated table may hold no unverified phase 3 row at all, so the best-ranked
    # verified one is marked unverified here: it must then fall behind every verified one.
    best = min(plain_options(), key=lambda o: o["rank"])["regimen"]
    rows = [
        {**row, "verified": False} if row["regimen"] == best else row
        for row in K.regimen_evidence["benefit"]
    ]
    monkeypatch.setitem(K.regimen_evidence, "benefit", rows)
    plain = plain_options()
    assert best in [o["regimen"] for o in plain if not o["benefit"]["verified"]]
    verified = [o["rank"] for o in plain if o["benefit"]["verified"]]
    unverified = [o["rank"] for o in plain if not o["benefit"]["verified"]]
    assert verified and unverified
    assert max(verified) < min(unverified)


def test_a_trial_that_missed_its_primary_endpoint_ranks_after_unverified_results(monkeypatch):
    h = history(TWO_LINES, refractory=["lenalidomide"])
    plain = [
        o
        for o in ranked(h).values()
        if o["approval"]["label"] == "on_label"
        and o["benefit"]
        and o["benefit"]["design"] == "randomised_phase3"
        and not {"refractory_class", "resistance_finding", "pivotal_population", "head_to_head"}
        & {i["rule"] for i in o["rationale"]}
    ]
    best, second = sorted(plain, key=lambda o: o["rank"])[:2]
    # The best-ranked result is marked as a missed primary endpoint and the next one as
    # unverified: the missed one now ranks after both the unverified and every verified one.
    rows = [
        {**row, "primary_endpoint_met": False}
        if row["regimen"] == best["regimen"]
        else {**row, "verified": False}
        if row["regimen"] == second["regimen"]
        else row
        for row in K.regimen_evidence["benefit"]
    ]
    monkeypatch.setitem(K.regimen_evidence, "benefit", rows)
    options = ranked(h)
    missed = options[best["regimen"]]
    assert missed["benefit"]["band"] == "not_shown"
    assert "missed its primary endpoint" in str(missed["rationale"])
    assert missed["rank"] > options[second["regimen"]]["rank"]
    others = [
        options[o["regimen"]]["rank"] for o in plain if o is not best and o["status"] == "standard"
    ]
    assert missed["rank"] > max(others)


def test_current_line_is_demoted_with_its_reason():
    krd = ["carfilzomib", "lenalidomide", "dexamethasone"]
    h = history(
        [*TWO_LINES, line(3, "KRd", krd)],
        current_line={"line": 3, "regimen": "KRd", "drugs": krd, "start_date": "2024-02-05"},
    )
    options = ranked(h)
    krd_option = options["KRd"]
    offered = [o["rank"] for o in options.values() if "never_offer" not in str(o["rationale"])]
    assert krd_option["rank"] > max(offered)
    item = next(i for i in krd_option["rationale"] if i["rule"] == "never_offer")
    assert "receiving now" in item["text"] and item["sources"]
    assert "never_offer" in [i["rule"] for i in options["Kd"]["rationale"]]


def test_intolerant_drug_and_car_t_relapse_are_demoted():
    h = history(
        [*TWO_LINES, line(3, "ide-cel", ["idecabtagene vicleucel"])],
        intolerant_drugs=["carfilzomib"],
        car_t_relapses=[
            {
                "drug": "idecabtagene vicleucel",
                "infusion_date": "2022-08-15",
                "progression_date": "2023-05-22",
            }
        ],
    )
    options = ranked(h)
    last = max(o["rank"] for o in options.values())
    for regimen in ("Kd", "DKd", "IsaKd", "ide-cel"):
        assert options[regimen]["rank"] >= last - 10
        assert "never_offer" in [i["rule"] for i in options[regimen]["rationale"]]
    clean = [o["rank"] for o in options.values() if "never_offer" not in str(o["rationale"])]
    assert max(clean) < min(options[r]["rank"] for r in ("Kd", "ide-cel"))


ASCT_LINE = line(
    1,
    "VRd+ASCT+R",
    [*VRD, "melphalan"],
    phases=[
        {"phase": "induction", "start_date": "2018-01-01"},
        {"phase": "transplant", "start_date": "2018-06-01"},
        {"phase": "maintenance", "start_date": "2018-09-01"},
    ],
    progression="2021-10-01",
)


def test_salvage_asct_candidate_needs_eligibility_and_a_long_first_remission():
    h = history([ASCT_LINE])
    eligible = {"transplant_eligible": True, "first_remission_months": 40}
    asct = ranked(h, patient=eligible)["ASCT"]
    assert asct["status"] == "standard"
    item = next(i for i in asct["rationale"] if i["rule"] == "salvage_asct")
    assert "PMID:26428082" in item["sources"] and "IFM 2009" not in str(asct["rationale"])
    short = {"transplant_eligible": True, "first_remission_months": 14}
    assert "ASCT" not in ranked(h, patient=short)
    unknown = ranked(h, patient=None)["ASCT"]
    assert unknown["status"] == "needs_assessment"
    # 40 months from the transplant to progression, read from the history when not given.
    derived = ranked(h, patient={"transplant_eligible": True, "first_remission_months": None})
    assert derived["ASCT"]["status"] == "standard"
    refractory = history([ASCT_LINE], triple_class_refractory=True)
    assert "ASCT" not in ranked(refractory, patient=eligible)


def test_requirement_grammar_and_cross_checks():
    assert parse_requirement("refractory:imid>=2") == {
        "kind": "refractory",
        "target": "imid",
        "count": 2,
    }
    with pytest.raises(ValueError):
        parse_requirement("treated:imid")
    row = {
        "regimen": "NoSuch",
        "region": "US",
        "status": "approved",
        "date": "",
        "min_prior_lines": "3",
        "max_prior_lines": "1",
        "required_prior": "exposed:not_a_class",
        "excluded_prior": "",
        "sources": "NCT04246047",
        "regulator_reference": "notice 2025",
        "verified": "yes",
        "note": "",
    }
    problems = regimen_evidence_problems([row], [], {"BVd"}, {"bortezomib"})
    text = "\n".join(problems)
    assert "not in regimens.tsv" in text and "not_a_class" in text
    assert "above max_prior_lines" in text and "gives its date" in text


def test_benefit_rows_say_whether_a_randomised_trial_met_its_primary_endpoint():
    row = {
        "regimen": "BVd",
        "trial": "DREAMM-7",
        "nct_id": "NCT04246047",
        "design": "randomised_phase3",
        "comparator": "DVd",
        "comparator_regimens": "DVd",
        "endpoint": "pfs_hr",
        "value": "0.41",
        "primary_endpoint_met": "",
        "value_text": "PFS HR 0.41",
        "population": "at least one prior line",
        "excluded_prior": "",
        "sources": "NCT04246047",
        "verified": "yes",
        "note": "",
    }
    single_arm = {**row, "regimen": "Sd", "design": "single_arm_registrational"}
    single_arm.update(comparator="", primary_endpoint_met="yes", excluded_prior="exposed:nothing")
    single_arm["comparator_regimens"] = "Sd"
    problems = "\n".join(regimen_evidence_problems([], [row, single_arm], {"BVd", "Sd"}, set()))
    assert "line 3, column 'excluded_prior': 'nothing' is neither a drug class" in problems
    assert "line 3, column 'comparator_regimens': 'Sd' is not another regimen" in problems
    assert "line 3, column 'comparator_regimens': a single-arm trial has no comparator" in problems
    assert "line 2, column 'primary_endpoint_met': a verified randomised result" in problems
    assert "line 3, column 'primary_endpoint_met': only a randomised trial" in problems
    assert not regimen_evidence_problems(
        [], [{**row, "primary_endpoint_met": "no"}], {"BVd", "DVd"}, set()
    )


def test_a_prior_therapy_the_pivotal_trial_excluded_puts_the_patient_outside_it():
    # MajesTEC-1 enrolled BCMA-naive patients: after ide-cel, teclistamab's hazard ratio
    # and response rate are not this patient's, so the option says so and is compromised.
    four_lines = [
        *TWO_LINES,
        line(3, "Kd", ["carfilzomib", "dexamethasone"]),
        line(4, "Pd", ["pomalidomide", "dexamethasone"]),
    ]
    refractory = ["lenalidomide", "daratumumab", "carfilzomib", "pomalidomide"]
    ide_cel = line(5, "ide-cel", ["idecabtagene vicleucel"])
    h = history([*four_lines, ide_cel], refractory=refractory)
    options = ranked(h)
    teclistamab = options["teclistamab"]
    items = [i for i in teclistamab["rationale"] if i["rule"] == "pivotal_population"]
    assert items and "MajesTEC-1" in items[0]["text"]
    assert "excluded patients exposed to BCMA CAR-T" in items[0]["text"]
    naive = ranked(history(four_lines, refractory=refractory))
    assert "pivotal_population" not in {i["rule"] for i in naive["teclistamab"]["rationale"]}


def test_an_option_beaten_head_to_head_ranks_right_after_the_winner(monkeypatch):
    # One prior line, lenalidomide-refractory: Kd beat Vd in ENDEAVOR, so Vd ranks after Kd
    # even when both sit in the same tier and band, and says why.
    h = history([line(1, "VRd", VRD)], refractory=["lenalidomide"])
    options = ranked(h)
    assert options["Vd"]["rank"] > options["Kd"]["rank"]
    items = [i for i in options["Vd"]["rationale"] if i["rule"] == "head_to_head"]
    assert any("ENDEAVOR" in i["text"] and "Vd ranks after Kd" in i["text"] for i in items)
    # Without the winner's verified, positive result the correction does not apply.
    rows = [
        {**row, "primary_endpoint_met": None} if row["regimen"] in ("Kd", "SVd", "DVd") else row
        for row in K.regimen_evidence["benefit"]
    ]
    monkeypatch.setitem(K.regimen_evidence, "benefit", rows)
    again = ranked(h)
    assert "ENDEAVOR" not in str(again["Vd"]["rationale"])
    assert again["Vd"]["rank"] <= again["Kd"]["rank"]
