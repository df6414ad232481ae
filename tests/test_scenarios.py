"""Whole-patient scenarios: one folder per scenario under tests/cases/scenarios/.

Each folder holds the patient's inputs (samples.tsv and whichever clinical tables apply) and
an ``expected.yaml`` that states what a haematologist expects the report to contain. Every
top-level key of expected.yaml (every sub-key, for the section keys in ``SECTIONS``) becomes
one test item, so a disagreement is reported precisely and can be marked on its own:
``xfail_reason: {"options.include": "why"}`` turns exactly that check into a strict xfail.
An unknown key fails, so a typo cannot pass silently. The vocabulary is in
tests/cases/scenarios/README.md.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from mmresist.pipeline import ClinicalPaths, run_patient

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "tests" / "cases" / "scenarios"
KNOWLEDGE = REPO / "resources" / "knowledge"
CLINICAL_TABLES = ("therapy_lines", "labs", "cytogenetics", "mrd", "patients")

# Keys whose value is a mapping checked sub-key by sub-key (null: the section must be null).
SECTIONS = {
    "therapy_history": {
        "refractory_classes_include",
        "refractory_classes_exclude",
        "refractory_drugs_include",
        "refractory_drugs_exclude",
        "exposed_classes_include",
        "triple_class_refractory",
        "penta_refractory",
        "line_count",
        "intolerant_drugs_include",
        "intolerant_drugs_exclude",
        "car_t_relapses_include",
        "current_line_drugs",
    },
    "options": {
        "first_rank_excludes_drug_classes",
        "first_rank_excludes_drugs",
        "first_rank_includes_any_drug",
        "first_rank_includes_any_drug_class",
        "excludes_drugs",
        "include",
        "ranks_above",
        "regimen_ranks_above",
        "options_with_drug_have_rule",
        "options_with_drug_class_lack_rule",
    },
    "trials": {
        "eligible_include",
        "eligible_or_possible_include",
        "ineligible_include",
        "ineligible_with_reason_include",
        "closed_include",
        "not_enrollable_with_reason_include",
        "unmet_excludes",
        "relevant_exclude",
        "match_not_in",
    },
    "supportive_care": {"topics_include", "include"},
    "risk": {
        "high_risk",
        "criteria_met_include",
        "criteria_unmet_include",
        "criteria_unknown_include",
        "criteria_evidence_mentions",
        "double_hit",
    },
    "mrd": {
        "latest_result",
        "trend",
        "sustained_status",
        "sensitivity_flags_count",
        "sensitivity_flags_mention",
    },
    "aggressive_relapse": {"flag", "basis_include", "basis_exclude"},
}
PLAIN = {
    "variants_include",
    "filtered_variants_include",
    "tumour_only_samples",
    "copy_number_include",
    "findings_include",
    "findings_exclude",
    "not_provided_include",
    "sections_null",
}
META = {"description", "xfail_reason"}
FINDING_KEYS = {
    "biomarker_id",
    "gene",
    "implication",
    "evidence_level",
    "evidence_level_in",
    "drugs_include",
    "drug_classes_include",
    "allele_state",
    "exposure",
}
OPTION_KEYS = {
    "regimen",
    "drugs_include",
    "drug_classes_include",
    "status",
    "rationale_rules_include",
    "cautions_mention",
    "max_rank",
    "approval_status",
    "approval_label",
}
CARE_KEYS = {"topic", "rule_id", "severity_in", "message_mentions"}


def _scenario_dirs() -> list[Path]:
    return sorted(p for p in SCENARIOS.iterdir() if (p / "expected.yaml").is_file())


def _expected(folder: Path) -> dict:
    return yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8")) or {}


def _item_ids(check: str, value) -> str | list[str]:
    """A list of mappings (findings, options, trials, care items) gives one check per item,
    ``key[0]``, ``key[1]``, so one disagreeing item can be marked without hiding the rest."""
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return [f"{check}[{index}]" for index in range(len(value))]
    return check


def _checks() -> list:
    params = []
    for folder in _scenario_dirs():
        expected = _expected(folder)
        reasons = expected.get("xfail_reason") or {}
        ids = ["invariants"]
        for key, value in expected.items():
            if key in META:
                continue
            if key in SECTIONS and isinstance(value, dict):
                ids.extend(_item_ids(f"{key}.{sub}", item) for sub, item in value.items())
            else:
                ids.append(_item_ids(key, value))
        ids = [one for group in ids for one in ([group] if isinstance(group, str) else group)]
        for reason_key in reasons:
            if reason_key not in ids:
                ids.append(f"xfail_reason:{reason_key}")  # fails: names no check
        for check in ids:
            marks = []
            if check in reasons:
                marks.append(pytest.mark.xfail(strict=True, reason=str(reasons[check])))
            ident = f"{folder.name}:{check}"
            params.append(pytest.param(folder.name, check, marks=marks, id=ident))
    return params


# -- running a scenario ------------------------------------------------------------------------

_REPORTS: dict[str, dict] = {}


def _resolve(folder: Path, value: str) -> str:
    """A relative path names a file of the scenario folder, else one of the repository."""
    if not value or Path(value).is_absolute():
        return value
    for base in (folder, REPO):
        if (base / value).exists():
            return str(base / value)
    raise AssertionError(f"{folder.name}/samples.tsv: {value} found neither there nor in {REPO}")


def _run(name: str, tmp_root: Path) -> dict:
    if name in _REPORTS:
        return _REPORTS[name]
    folder = SCENARIOS / name
    with open(folder / "samples.tsv", encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream, delimiter="\t")
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    patients = {row["patient_id"] for row in rows}
    assert len(patients) == 1, f"{name}: one patient per scenario, got {sorted(patients)}"
    for row in rows:
        for column in ("vcf", "cnv"):
            if row.get(column):
                row[column] = _resolve(folder, row[column])
    work = tmp_root / name
    work.mkdir(parents=True, exist_ok=True)
    sheet = work / "samples.tsv"
    with open(sheet, "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=fields, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    clinical = ClinicalPaths(
        **{
            kind: str(folder / f"{kind}.tsv")
            for kind in CLINICAL_TABLES
            if (folder / f"{kind}.tsv").is_file()
        }
    )
    # settings.yaml (optional): run settings a config would give, e.g. approval_region.
    settings_path = folder / "settings.yaml"
    settings = (
        yaml.safe_load(settings_path.read_text(encoding="utf-8")) if settings_path.is_file() else {}
    )
    assert set(settings or {}) <= {"approval_region"}, f"{name}: unknown settings {settings}"
    report = run_patient(
        patient_id=patients.pop(),
        samples_path=str(sheet),
        knowledge_path=str(KNOWLEDGE),
        outdir=str(work / "report"),
        clinical=clinical,
        render=False,
        approval_region=(settings or {}).get("approval_region", "US"),
    )
    _REPORTS[name] = report
    return report


@pytest.fixture(scope="session")
def scenario_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("scenarios")


# -- matchers ----------------------------------------------------------------------------------


def _unknown(spec: dict, allowed: set[str], what: str) -> None:
    extra = set(spec) - allowed
    assert not extra, f"unknown {what} key(s) {sorted(extra)}; allowed: {sorted(allowed)}"


def _finding_matches(finding: dict, spec: dict) -> bool:
    _unknown(spec, FINDING_KEYS, "finding")
    for key in ("biomarker_id", "gene", "implication", "evidence_level"):
        if key in spec and finding.get(key) != spec[key]:
            return False
    levels = spec.get("evidence_level_in")
    if levels is not None and finding.get("evidence_level") not in levels:
        return False
    if (
        "allele_state" in spec
        and (finding.get("allele_state") or {}).get("state") != spec["allele_state"]
    ):
        return False
    if "exposure" in spec and finding.get("exposure") != spec["exposure"]:
        return False
    if not set(spec.get("drugs_include", [])) <= set(finding.get("drugs") or []):
        return False
    return set(spec.get("drug_classes_include", [])) <= set(finding.get("drug_classes") or [])


def _option_matches(option: dict, spec: dict) -> bool:
    _unknown(spec, OPTION_KEYS, "option")
    if "regimen" in spec and option["regimen"] != spec["regimen"]:
        return False
    if "status" in spec and option["status"] != spec["status"]:
        return False
    if "max_rank" in spec and option["rank"] > spec["max_rank"]:
        return False
    approval = option.get("approval") or {}
    if "approval_status" in spec and approval.get("status") != spec["approval_status"]:
        return False
    if "approval_label" in spec and approval.get("label") != spec["approval_label"]:
        return False
    if not set(spec.get("drugs_include", [])) <= set(option["drugs"]):
        return False
    if not set(spec.get("drug_classes_include", [])) <= set(option["drug_classes"]):
        return False
    rules = {item["rule"] for item in option["rationale"]}
    if not set(spec.get("rationale_rules_include", [])) <= rules:
        return False
    cautions = " ".join(option["cautions"]).casefold()
    return all(word.casefold() in cautions for word in spec.get("cautions_mention", []))


def _care_matches(item: dict, spec: dict) -> bool:
    _unknown(spec, CARE_KEYS, "supportive_care item")
    if "topic" in spec and item["topic"] != spec["topic"]:
        return False
    if "rule_id" in spec and item.get("rule_id") != spec["rule_id"]:
        return False
    if "severity_in" in spec and item["severity"] not in spec["severity_in"]:
        return False
    message = item["message"].casefold()
    return all(word.casefold() in message for word in spec.get("message_mentions", []))


def _trial(report: dict, name: str) -> dict:
    for trial in report["trials"]:
        if name in (trial.get("id"), trial.get("nct_id"), trial.get("short_name")):
            return trial
    raise AssertionError(f"trial {name!r} is not in the report")


def _brief_options(options: list[dict]) -> list:
    return [(o["rank"], o["regimen"], o["status"]) for o in options]


# -- checks ------------------------------------------------------------------------------------


def check_invariants(report: dict) -> None:
    """What holds for every scenario: evidence behind every claim, null never read as none."""
    for finding in report["findings"]:
        assert finding["evidence_level"], finding["biomarker_id"]
        assert finding["sources"], finding["biomarker_id"]
    for option in report["therapy_options"] or []:
        assert option["sources"], option["regimen"]
        assert option["evidence_level"], option["regimen"]
    for section, table in (
        ("therapy_history", "therapy_lines"),
        ("cytogenetics", "cytogenetics"),
        ("mrd", "mrd"),
    ):
        if report[section] is None:
            assert any(entry.startswith(table) for entry in report["not_provided"]), section
    if report["therapy_history"] is None:
        assert report["therapy_options"] is None
    assert report["not_assessed"] == []


def check_plain(key: str, expected, report: dict) -> None:
    if key == "variants_include":
        kept = {
            (v["gene"], v["protein_change"], v["status"])
            for v in report["variants"]
            if not v["filter_reasons"]
        }
        for gene, change, status in expected:
            assert (gene, change, status) in kept, (gene, change, status, sorted(kept))
    elif key == "filtered_variants_include":
        # [gene, protein_change, reason]: the variant is in the report (so in variants.tsv),
        # not kept, and that reason is among its filter reasons.
        filtered = {
            (v["gene"], v["protein_change"], reason)
            for v in report["variants"]
            for reason in v["filter_reasons"]
        }
        for gene, change, reason in expected:
            assert (gene, change, reason) in filtered, (gene, change, reason, sorted(filtered))
    elif key == "tumour_only_samples":
        # Exactly these samples are labelled tumour-only; every other one is labelled not.
        labelled = {s["sample_id"]: s["tumour_only"] for s in report["samples"]}
        assert {name for name, flag in labelled.items() if flag is True} == set(expected), labelled
        assert all(flag is False for name, flag in labelled.items() if name not in expected), (
            labelled
        )
    elif key == "copy_number_include":
        calls = {(c["gene"], c["call"]) for c in report["copy_number"]}
        for gene, call in expected:
            assert (gene, call) in calls, (gene, call, sorted(calls))
    elif key == "findings_include":
        for spec in expected:
            assert any(_finding_matches(f, spec) for f in report["findings"]), (
                spec,
                [(f["biomarker_id"], f["implication"]) for f in report["findings"]],
            )
    elif key == "findings_exclude":
        for spec in expected:
            hits = [f["biomarker_id"] for f in report["findings"] if _finding_matches(f, spec)]
            assert not hits, (spec, hits)
    elif key == "not_provided_include":
        names = {entry.split(" ")[0] for entry in report["not_provided"]}
        for table in expected:
            assert table in names, (table, report["not_provided"])
    elif key == "sections_null":
        for section in expected:
            assert section in report, section
            assert report[section] is None, (section, report[section])
    else:  # pragma: no cover - guarded by the caller
        raise AssertionError(key)


def check_therapy_history(sub: str, expected, history: dict) -> None:
    if sub == "car_t_relapses_include":
        # CAR-T products (generic names) with a relapse recorded after their infusion.
        relapsed = {entry["drug"] for entry in history["car_t_relapses"]}
        assert set(expected) <= relapsed, (sub, history["car_t_relapses"])
    elif sub == "current_line_drugs":
        # The drugs of the line still being given (null: none is).
        current = history["current_line"]
        _equal(current and current["drugs"], expected, (sub, current))
    elif sub.endswith(("_include", "_exclude")):
        actual = set(history[sub.rsplit("_", 1)[0]])
        if sub.endswith("_include"):
            assert set(expected) <= actual, (sub, sorted(set(expected) - actual), sorted(actual))
        else:
            assert not set(expected) & actual, (sub, sorted(set(expected) & actual))
    else:
        assert history[sub] == expected, (sub, history[sub], expected)


def check_options(sub: str, expected, options: list[dict]) -> None:
    first = [o for o in options if o["rank"] == 1]
    listing = _brief_options(options)
    if sub == "first_rank_excludes_drug_classes":
        bad = [o["regimen"] for o in first if set(o["drug_classes"]) & set(expected)]
        assert not bad, (bad, listing)
    elif sub == "first_rank_excludes_drugs":
        bad = [o["regimen"] for o in first if set(o["drugs"]) & set(expected)]
        assert not bad, (bad, listing)
    elif sub == "first_rank_includes_any_drug":
        assert any(set(o["drugs"]) & set(expected) for o in first), listing
    elif sub == "first_rank_includes_any_drug_class":
        assert any(set(o["drug_classes"]) & set(expected) for o in first), listing
    elif sub == "excludes_drugs":
        bad = [o["regimen"] for o in options if set(o["drugs"]) & set(expected)]
        assert not bad, (bad, listing)
    elif sub == "include":
        for spec in expected:
            assert any(_option_matches(o, spec) for o in options), (spec, listing)
    elif sub == "ranks_above":
        # [better, worse]: the best-ranked option holding a class of `better` ranks strictly
        # above every option holding a class of `worse` (an unlisted `worse` counts as below).
        for better, worse in expected:
            better = {better} if isinstance(better, str) else set(better)
            worse = {worse} if isinstance(worse, str) else set(worse)
            best = [o["rank"] for o in options if set(o["drug_classes"]) & better]
            assert best, (f"no option of {sorted(better)}", listing)
            rival = [o["rank"] for o in options if set(o["drug_classes"]) & worse]
            assert not rival or min(best) < min(rival), (sorted(better), sorted(worse), listing)
    elif sub == "regimen_ranks_above":
        # [better, worse]: both regimens are listed and `better` ranks strictly above `worse`.
        ranks = {o["regimen"]: o["rank"] for o in options}
        for better, worse in expected:
            assert better in ranks and worse in ranks, (better, worse, listing)
            assert ranks[better] < ranks[worse], (better, worse, listing)
    elif sub == "options_with_drug_have_rule":
        for drug, rules in expected.items():
            for option in options:
                if drug in option["drugs"]:
                    have = {item["rule"] for item in option["rationale"]}
                    assert have & set(rules), (option["regimen"], drug, sorted(have), rules)
    elif sub == "options_with_drug_class_lack_rule":
        for drug_class, rules in expected.items():
            holding = [o for o in options if drug_class in o["drug_classes"]]
            assert holding, (f"no option of {drug_class}", listing)
            for option in holding:
                have = {item["rule"] for item in option["rationale"]}
                assert not have & set(rules), (option["regimen"], drug_class, sorted(have))


def check_trials(sub: str, expected, report: dict) -> None:
    if sub == "eligible_include":
        for name in expected:
            assert _trial(report, name)["match"] == "eligible", (name, _trial(report, name))
    elif sub == "eligible_or_possible_include":
        for name in expected:
            trial = _trial(report, name)
            assert trial["match"] in ("eligible", "possible"), (name, trial["unmet"])
    elif sub == "ineligible_include":
        for name in expected:
            assert _trial(report, name)["match"] == "ineligible", (name, _trial(report, name))
    elif sub == "ineligible_with_reason_include":
        for spec in expected:
            _unknown(spec, {"trial", "unmet_mentions"}, "ineligible_with_reason")
            trial = _trial(report, spec["trial"])
            assert trial["match"] == "ineligible", (spec, trial["match"], trial["unknown"])
            unmet = " ".join(trial["unmet"]).casefold()
            assert spec["unmet_mentions"].casefold() in unmet, (spec, trial["unmet"])
    elif sub == "closed_include":
        # Not enrolling: listed as evidence only, never eligible.
        for name in expected:
            assert _trial(report, name)["match"] == "closed", (name, _trial(report, name))
    elif sub == "not_enrollable_with_reason_include":
        # Ineligible or closed, with this reason among the unmet criteria.
        for spec in expected:
            _unknown(spec, {"trial", "unmet_mentions"}, "not_enrollable_with_reason")
            trial = _trial(report, spec["trial"])
            assert trial["match"] in ("ineligible", "closed"), (spec, trial["match"])
            unmet = " ".join(trial["unmet"]).casefold()
            assert spec["unmet_mentions"].casefold() in unmet, (spec, trial["unmet"])
    elif sub == "unmet_excludes":
        # The trial is listed and none of its unmet criteria mentions the text.
        for spec in expected:
            _unknown(spec, {"trial", "mentions"}, "unmet_excludes")
            trial = _trial(report, spec["trial"])
            unmet = " ".join(trial["unmet"]).casefold()
            assert spec["mentions"].casefold() not in unmet, (spec, trial["unmet"])
    elif sub == "relevant_exclude":
        # None of these trials is listed as genomically relevant.
        for name in expected:
            hits = [t for t in report["trials"] if name in (t["id"], t["nct_id"], t["short_name"])]
            assert not any(t["genomically_relevant"] for t in hits), (name, hits)
    elif sub == "match_not_in":
        bad = [(t["short_name"], t["match"]) for t in report["trials"] if t["match"] in expected]
        assert not bad, bad


def check_supportive_care(sub: str, expected, items: list[dict]) -> None:
    listing = [(i["topic"], i["severity"], i.get("rule_id")) for i in items]
    if sub == "topics_include":
        topics = {item["topic"] for item in items}
        assert set(expected) <= topics, (sorted(set(expected) - topics), listing)
    elif sub == "include":
        for spec in expected:
            assert any(_care_matches(item, spec) for item in items), (spec, listing)


def check_risk(sub: str, expected, risk: dict) -> None:
    status = {c["id"]: c["status"] for c in risk["criteria"]}
    if sub == "high_risk":
        assert risk["high_risk"] == expected, (risk["high_risk"], risk.get("basis"), status)
    elif sub == "double_hit":
        _equal((risk.get("double_hit") or {}).get("status"), expected, risk.get("double_hit"))
    elif sub == "criteria_evidence_mentions":
        evidence = {c["id"]: c["evidence"] for c in risk["criteria"]}
        for criterion, words in expected.items():
            for word in words:
                assert word in evidence.get(criterion, ""), (criterion, word, evidence)
    else:
        wanted = sub.split("_")[1]  # met, unmet, unknown
        for criterion in expected:
            assert status.get(criterion) == wanted, (criterion, status)


def check_mrd(sub: str, expected, mrd: dict) -> None:
    if sub == "sustained_status":
        _equal(mrd["sustained"]["status"], expected, (sub, mrd["sustained"]["basis"]))
    elif sub == "sensitivity_flags_count":
        _equal(len(mrd["sensitivity_flags"]), expected, (sub, mrd["sensitivity_flags"]))
    elif sub == "sensitivity_flags_mention":
        text = " ".join(mrd["sensitivity_flags"])
        assert all(word in text for word in expected), (expected, mrd["sensitivity_flags"])
    else:
        _equal(mrd[sub], expected, sub)


def check_aggressive_relapse(sub: str, expected, section: dict) -> None:
    """``basis_include`` items ``{criterion_mentions, evidence_mentions}`` must each match a
    basis entry; ``basis_exclude`` words must appear in no basis criterion."""
    basis = section["basis"]
    listing = [(b["criterion"], b["evidence"]) for b in basis]
    if sub == "flag":
        _equal(section["flag"], expected, ("flag", listing, section["not_assessed"]))
    elif sub == "basis_include":
        for spec in expected:
            _unknown(spec, {"criterion_mentions", "evidence_mentions"}, "basis_include")
            assert any(
                spec["criterion_mentions"].casefold() in b["criterion"].casefold()
                and all(word in b["evidence"] for word in spec.get("evidence_mentions", []))
                for b in basis
            ), (spec, listing)
    elif sub == "basis_exclude":
        bad = [
            b["criterion"]
            for b in basis
            for w in expected
            if w.casefold() in b["criterion"].casefold()
        ]
        assert not bad, (bad, listing)


SECTION_CHECKS = {
    "therapy_history": lambda sub, exp, rep: check_therapy_history(
        sub, exp, rep["therapy_history"]
    ),
    "options": lambda sub, exp, rep: check_options(sub, exp, rep["therapy_options"]),
    "trials": check_trials,
    "supportive_care": lambda sub, exp, rep: check_supportive_care(
        sub, exp, rep["supportive_care"]
    ),
    "risk": lambda sub, exp, rep: check_risk(sub, exp, rep["risk"]),
    "mrd": lambda sub, exp, rep: check_mrd(sub, exp, rep["mrd"]),
    "aggressive_relapse": lambda sub, exp, rep: check_aggressive_relapse(
        sub, exp, rep["aggressive_relapse"]
    ),
}
REPORT_KEY = {"options": "therapy_options"}


def _equal(actual, expected, what: str) -> None:
    assert actual == expected, (what, actual, expected)


@pytest.mark.parametrize(("scenario", "check"), _checks())
def test_scenario(scenario: str, check: str, scenario_tmp: Path) -> None:
    expected = _expected(SCENARIOS / scenario)
    assert not check.startswith("xfail_reason:"), f"xfail_reason names no check: {check}"
    unknown = set(expected) - set(SECTIONS) - PLAIN - META
    assert not unknown, f"unknown expected.yaml key(s) {sorted(unknown)}"
    assert expected.get("description"), "expected.yaml needs a description"
    report = _run(scenario, scenario_tmp)
    if check == "invariants":
        check_invariants(report)
        return
    check, _, index = check.partition("[")
    key, _, sub = check.partition(".")
    value = expected[key]
    if index:
        item = (value[sub] if sub else value)[int(index.rstrip("]"))]
        if sub:
            value = {**value, sub: [item]}
        else:
            value = [item]
    if key in PLAIN:
        check_plain(key, value, report)
        return
    section = report[REPORT_KEY.get(key, key)] if key != "trials" else report["trials"]
    if value is None:
        assert section is None, f"{key} should be null (not provided), got {section!r}"
        return
    assert isinstance(value, dict), f"{key}: expected a mapping or null"
    assert sub in SECTIONS[key], f"unknown {key} key {sub!r}; allowed: {sorted(SECTIONS[key])}"
    assert section is not None, f"{key} is null but expectations were given"
    SECTION_CHECKS[key](sub, value[sub], report)


def test_every_scenario_folder_has_expectations() -> None:
    folders = [p for p in SCENARIOS.iterdir() if p.is_dir()]
    missing = [p.name for p in folders if not (p / "expected.yaml").is_file()]
    assert not missing, missing
    assert len(folders) >= 8
