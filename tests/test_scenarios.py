"""Whole-patient scenarios (issue 4): one folder per scenario under tests/cases/scenarios/.

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
CLINICAL_TABLES = ("therapy_lines", "labs", "cytogenetics", "mrd")

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
    },
    "options": {
        "first_rank_excludes_drug_classes",
        "first_rank_excludes_drugs",
        "first_rank_includes_any_drug",
        "first_rank_includes_any_drug_class",
        "excludes_drugs",
        "include",
        "ranks_above",
        "options_with_drug_have_rule",
    },
    "trials": {
        "eligible_include",
        "eligible_or_possible_include",
        "ineligible_include",
        "ineligible_with_reason_include",
        "match_not_in",
    },
    "supportive_care": {"topics_include", "include"},
    "risk": {
        "high_risk",
        "criteria_met_include",
        "criteria_unmet_include",
        "criteria_unknown_include",
    },
    "mrd": {"latest_result", "trend"},
}
PLAIN = {
    "variants_include",
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
}
OPTION_KEYS = {
    "regimen",
    "drugs_include",
    "drug_classes_include",
    "status",
    "rationale_rules_include",
    "cautions_mention",
    "max_rank",
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
    report = run_patient(
        patient_id=patients.pop(),
        samples_path=str(sheet),
        knowledge_path=str(KNOWLEDGE),
        outdir=str(work / "report"),
        clinical=clinical,
        render=False,
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
    if sub.endswith(("_include", "_exclude")):
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
    elif sub == "options_with_drug_have_rule":
        for drug, rules in expected.items():
            for option in options:
                if drug in option["drugs"]:
                    have = {item["rule"] for item in option["rationale"]}
                    assert have & set(rules), (option["regimen"], drug, sorted(have), rules)


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
    else:
        wanted = sub.split("_")[1]  # met, unmet, unknown
        for criterion in expected:
            assert status.get(criterion) == wanted, (criterion, status)


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
    "mrd": lambda sub, exp, rep: _equal(rep["mrd"][sub], exp, sub),
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
