"""Risk: IMS/IMWG high-risk criteria and ISS / R-ISS / R2-ISS (mmresist.interpret.risk)."""

from __future__ import annotations

import copy
import json
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from mmresist.interpret.risk import assess_risk
from mmresist.knowledge.load import load_knowledge
from mmresist.model import CopyNumberCall, VariantCall

KNOWLEDGE = Path(__file__).resolve().parents[2] / "resources" / "knowledge"


@cache
def _rules() -> dict:
    return load_knowledge(KNOWLEDGE).rules["risk"]


def rules() -> dict:
    return copy.deepcopy(_rules())


def cyto(abnormality: str, fraction: float | None = 0.5, day: str = "2024-01-01") -> dict:
    return {
        "patient_id": "P1",
        "date": date.fromisoformat(day),
        "abnormality": abnormality,
        "clone_fraction": fraction,
        "method": "FISH",
    }


UNIT = {"beta2_microglobulin": "mg/L", "creatinine": "mg/dL", "albumin": "g/dL"}


def lab(test: str, value: float, day: str = "2024-01-01", line: int = 2) -> dict:
    return {
        "patient_id": "P1",
        "date": date.fromisoformat(day),
        "test": test,
        "value": value,
        "unit": UNIT[test],
        "value_canonical": value,
        "unit_canonical": UNIT[test],
        "_line": line,
    }


def tp53(consequence: str = "missense_variant", reasons: list[str] | None = None) -> VariantCall:
    return VariantCall(
        sample_id="S1",
        chrom="17",
        pos=7675088,
        ref="C",
        alt="T",
        gene="TP53",
        consequence=consequence,
        protein_change="R175H",
        vaf=0.4,
        filter_reasons=reasons or [],
    )


def cn(gene: str, call: str) -> CopyNumberCall:
    return CopyNumberCall(sample_id="S1", gene=gene, call=call)


NORMAL_LABS = [lab("beta2_microglobulin", 2.0), lab("creatinine", 0.9), lab("albumin", 4.0)]
NO_HR_CYTO = [cyto("t(11;14)")]
CN_NEUTRAL = [cn("CDKN2C", "neutral")]


def assess(
    *, cytogenetics=NO_HR_CYTO, variants=(), copy_number=CN_NEUTRAL, labs=NORMAL_LABS, r=None
):
    return assess_risk(
        cytogenetics=cytogenetics,
        variants=list(variants),
        copy_number=list(copy_number),
        labs=labs,
        rules=r or rules(),
    )


def status(out: dict, criterion: str) -> str:
    return {c["id"]: c["status"] for c in out["criteria"]}[criterion]


# One scenario per criterion and status: (criterion id, status, inputs).
SCENARIOS = [
    ("cgs-17p-tp53", "met", {"cytogenetics": [cyto("del(17p)", 0.3)]}),
    ("cgs-17p-tp53", "met", {"variants": [tp53()]}),
    ("cgs-17p-tp53", "unmet", {"cytogenetics": [cyto("del(17p)", 0.1)]}),
    ("cgs-17p-tp53", "unmet", {"variants": [tp53(reasons=["low_vaf"])]}),
    ("cgs-17p-tp53", "unmet", {"variants": [tp53("synonymous_variant")]}),
    ("cgs-17p-tp53", "unknown", {"cytogenetics": None}),
    ("cgs-17p-tp53", "unknown", {"cytogenetics": [cyto("del(17p)", None)]}),
    ("cgs-igh-1q-1p", "met", {"cytogenetics": [cyto("t(4;14)"), cyto("gain(1q)")]}),
    ("cgs-igh-1q-1p", "met", {"cytogenetics": [cyto("t(14;16)"), cyto("amp(1q)")]}),
    ("cgs-igh-1q-1p", "met", {"cytogenetics": [cyto("t(14;20)"), cyto("del(1p32)")]}),
    ("cgs-igh-1q-1p", "unmet", {"cytogenetics": [cyto("t(4;14)")]}),
    ("cgs-igh-1q-1p", "unmet", {"cytogenetics": [cyto("gain(1q)"), cyto("t(11;14)")]}),
    ("cgs-igh-1q-1p", "unknown", {"cytogenetics": None}),
    ("cgs-1p-1q", "met", {"cytogenetics": [cyto("del(1p32)"), cyto("gain(1q)")]}),
    ("cgs-1p-1q", "unmet", {"cytogenetics": [cyto("del(1p32)")]}),
    ("cgs-1p-1q", "unknown", {"cytogenetics": []}),
    ("cgs-biallelic-1p", "met", {"copy_number": [cn("CDKN2C", "homozygous_deletion")]}),
    ("cgs-biallelic-1p", "unmet", {"copy_number": [cn("CDKN2C", "loss")]}),
    ("cgs-biallelic-1p", "unknown", {"copy_number": []}),
    (
        "cgs-b2m",
        "met",
        {"labs": [lab("beta2_microglobulin", 5.5), lab("creatinine", 1.1), lab("albumin", 3)]},
    ),
    ("cgs-b2m", "unmet", {"labs": [lab("beta2_microglobulin", 6.0), lab("creatinine", 1.2)]}),
    ("cgs-b2m", "unmet", {"labs": [lab("beta2_microglobulin", 5.4), lab("creatinine", 0.9)]}),
    ("cgs-b2m", "unmet", {"labs": [lab("beta2_microglobulin", 4.0)]}),  # creatinine moot
    ("cgs-b2m", "unknown", {"labs": None}),
    ("cgs-b2m", "unknown", {"labs": [lab("beta2_microglobulin", 6.0)]}),  # no creatinine
    ("cgs-b2m", "unknown", {"labs": [lab("creatinine", 0.9)]}),
]


@pytest.mark.parametrize(
    ("criterion", "expected", "inputs"),
    SCENARIOS,
    ids=[f"{c}-{s}-{i}" for i, (c, s, _) in enumerate(SCENARIOS)],
)
def test_each_criterion(criterion, expected, inputs):
    out = assess(**inputs)
    assert status(out, criterion) == expected
    entry = next(c for c in out["criteria"] if c["id"] == criterion)
    assert entry["label"] and entry["evidence"] and entry["source"]


def test_all_unmet_is_not_high_risk():
    out = assess()
    assert {c["status"] for c in out["criteria"]} == {"unmet"}
    assert out["high_risk"] is False


def test_any_met_is_high_risk_even_with_unknowns():
    out = assess(variants=[tp53()], cytogenetics=None, labs=None, copy_number=[])
    assert out["high_risk"] is True
    assert "cgs-17p-tp53" in out["basis"]


def test_missing_inputs_give_unknown_never_unmet():
    out = assess(cytogenetics=None, labs=None, copy_number=[])
    assert out["high_risk"] is None
    by_id = {c["id"]: c["status"] for c in out["criteria"]}
    assert by_id["cgs-17p-tp53"] == "unknown"  # TP53 unmet but del(17p) unknown
    assert by_id["cgs-b2m"] == "unknown"
    assert by_id["cgs-biallelic-1p"] == "unknown"
    staging = out["staging"]
    for key in ("iss", "r_iss", "r2_iss"):
        assert staging[key]["stage"] is None
        assert staging[key]["reason"].startswith("not computable")
    assert "diagnosis" in staging["note"]


def test_latest_lab_is_used_and_dated():
    labs = [
        lab("beta2_microglobulin", 8.0, "2020-01-01", line=2),
        lab("beta2_microglobulin", 2.0, "2024-03-01", line=3),
        lab("creatinine", 0.9, "2024-03-01", line=4),
    ]
    out = assess(labs=labs)
    entry = next(c for c in out["criteria"] if c["id"] == "cgs-b2m")
    assert entry["status"] == "unmet"
    assert "beta2_microglobulin 2 mg/L on 2024-03-01" in entry["evidence"]


def test_same_day_labs_use_the_later_file_line():
    # The corrected result sits below the first one in labs.tsv; input order must not matter.
    labs = [
        lab("beta2_microglobulin", 2.0, "2024-03-01", line=5),
        lab("beta2_microglobulin", 8.0, "2024-03-01", line=3),
    ]
    entry = next(c for c in assess(labs=labs)["criteria"] if c["id"] == "cgs-b2m")
    assert "beta2_microglobulin 2 mg/L on 2024-03-01" in entry["evidence"]
    assert entry["status"] == "unmet"


def test_unit_converted_threshold():
    # creatinine in µmol/L canonicalised by clinical.read_table: row carries mg/dL already;
    # here the rule threshold is stated in another unit and must be converted.
    r = rules()
    for part in r["high_risk"]["criteria"][-1]["criteria"]:
        if part["test"] == "creatinine":
            part.update(value=106.1, unit="µmol/L")  # 1.2 mg/dL
    labs = [lab("beta2_microglobulin", 6.0), lab("creatinine", 1.1)]
    assert status(assess(labs=labs, r=r), "cgs-b2m") == "met"


def test_thresholds_come_from_rules():
    r = rules()
    r["high_risk"]["criteria"][0]["criteria"][0]["spec"] = "del(17p)>=0.5"
    assert status(assess(cytogenetics=[cyto("del(17p)", 0.3)]), "cgs-17p-tp53") == "met"
    assert status(assess(cytogenetics=[cyto("del(17p)", 0.3)], r=r), "cgs-17p-tp53") == "unmet"


def test_biallelic_by_copy_loss_and_lof_variant():
    hit = VariantCall(
        sample_id="S1",
        chrom="1",
        pos=51000000,
        ref="C",
        alt="T",
        gene="CDKN2C",
        consequence="stop_gained",
        protein_change="Q50*",
    )
    out = assess(copy_number=[cn("CDKN2C", "loss")], variants=[hit])
    assert status(out, "cgs-biallelic-1p") == "met"


ISS_CASES = [
    ([lab("beta2_microglobulin", 3.0), lab("albumin", 3.5)], "I"),
    ([lab("beta2_microglobulin", 3.0), lab("albumin", 3.0)], "II"),
    ([lab("beta2_microglobulin", 4.0)], "II"),  # albumin moot
    ([lab("beta2_microglobulin", 5.5)], "III"),
    ([lab("beta2_microglobulin", 3.0)], None),  # I or II: albumin needed
    ([lab("albumin", 4.0)], None),
]


@pytest.mark.parametrize(("labs", "stage"), ISS_CASES)
def test_iss(labs, stage):
    iss = assess(labs=labs)["staging"]["iss"]
    assert iss["stage"] == stage
    assert (iss["reason"] is None) == (stage is not None)


def test_r_iss_where_computable():
    iss3 = [lab("beta2_microglobulin", 6.0)]
    iss2 = [lab("beta2_microglobulin", 4.0)]
    iss1 = [lab("beta2_microglobulin", 3.0), lab("albumin", 4.0)]
    hr = [cyto("t(4;14)", 0.9)]
    r_iss = lambda **kw: assess(**kw)["staging"]["r_iss"]  # noqa: E731
    assert r_iss(labs=iss3, cytogenetics=hr)["stage"] == "III"
    assert r_iss(labs=iss2, cytogenetics=NO_HR_CYTO)["stage"] == "II"
    assert r_iss(labs=iss2, cytogenetics=None)["stage"] == "II"  # any ISS II is R-ISS II
    # ISS I needs normal LDH, which labs.tsv cannot show; ISS III without HR needs LDH.
    assert r_iss(labs=iss1, cytogenetics=NO_HR_CYTO)["stage"] is None
    assert "LDH" in r_iss(labs=iss3, cytogenetics=NO_HR_CYTO)["reason"]
    assert r_iss(labs=iss1, cytogenetics=hr)["stage"] == "II"


def test_r2_iss_group_when_every_possibility_agrees():
    # ISS III (1.5) + del(17p) (1) = 2.5 or 3.5 with LDH: groups III/IV → not computable.
    out = assess(labs=[lab("beta2_microglobulin", 6.0)], cytogenetics=[cyto("del(17p)", 0.5)])
    assert out["staging"]["r2_iss"]["stage"] is None
    assert "III, IV" in out["staging"]["r2_iss"]["reason"]
    # ISS II (1) + 1q+ (0.5) = 1.5 or 2.5 with LDH: both group III.
    out = assess(labs=[lab("beta2_microglobulin", 4.0)], cytogenetics=[cyto("gain(1q)")])
    r2 = out["staging"]["r2_iss"]
    assert (r2["stage"], r2["label"], r2["points_range"]) == (
        "III",
        "intermediate-high",
        [1.5, 2.5],
    )
    # ISS III + t(4;14) + 1q+ = 3 or 4: group IV.
    labs = [lab("beta2_microglobulin", 6.0)]
    out = assess(labs=labs, cytogenetics=[cyto("t(4;14)"), cyto("amp(1q)")])
    assert out["staging"]["r2_iss"]["stage"] == "IV"


def test_deterministic_and_json_serialisable():
    kw = dict(
        cytogenetics=[cyto("gain(1q)"), cyto("t(4;14)")],
        variants=[tp53()],
        labs=[lab("beta2_microglobulin", 6.0), lab("creatinine", 0.8)],
    )
    first = json.dumps(assess(**kw), sort_keys=True)
    kw["cytogenetics"] = list(reversed(kw["cytogenetics"]))
    kw["labs"] = list(reversed(kw["labs"]))
    assert json.dumps(assess(**kw), sort_keys=True) == first
