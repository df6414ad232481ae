"""`mmresist trials refresh` and `mmresist trials status`: statuses from a saved
ClinicalTrials.gov API v2 export (tests/data/ctgov_export_fixture.json, synthetic), written
into trials.yaml line by line so comments, order and every other line stay as they were."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from mmresist.cli import main
from mmresist.errors import InputError
from mmresist.knowledge.trial_status import read_export, refresh_trials, set_trial_fields

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "data" / "ctgov_export_fixture.json"
SCHEMA = REPO / "workflow" / "mmresist" / "knowledge" / "schemas" / "trials.schema.json"
CHECKED = "2026-12-06"


@pytest.fixture
def knowledge_dir(tmp_path):
    shutil.copy(REPO / "resources" / "knowledge" / "trials.yaml", tmp_path / "trials.yaml")
    return tmp_path


def _trials(text):
    return {trial["id"]: trial for trial in yaml.safe_load(text)["trials"]}


def test_refresh_updates_the_exported_trials_only(knowledge_dir):
    before = (knowledge_dir / "trials.yaml").read_text(encoding="utf-8")
    result = refresh_trials(knowledge_dir, read_export(FIXTURE), checked=CHECKED)
    after = _trials(result.text)
    dreamm = after["TR-DREAMM-7"]
    assert dreamm["status"] == "completed"
    assert (dreamm["status_checked"], dreamm["status_date"]) == (CHECKED, "2026-11")
    assert dreamm["registry_last_update"] == "2026-11-20"
    assert (dreamm["status_basis"], dreamm["status_source"]) == ("registry", "NCT04246047")
    linker = after["TR-LINKER-MM3"]
    assert (linker["status"], linker["status_date"]) == ("recruiting", "2026-10")
    # Everything else of every trial is as it was.
    old = _trials(before)
    for trial_id, trial in after.items():
        if trial_id not in ("TR-DREAMM-7", "TR-LINKER-MM3"):
            assert trial == old[trial_id], trial_id
        else:
            for key in set(trial) | set(old[trial_id]):
                if not key.startswith(("status", "registry_last_update")):
                    assert trial.get(key) == old[trial_id].get(key), (trial_id, key)
    assert [line for line in result.changed if "TR-DREAMM-7" in line] == [
        "TR-DREAMM-7 (NCT04246047): active_not_recruiting -> completed "
        "(verified 2026-11, last update 2026-11-20)"
    ]
    assert len(result.changed) == 2
    assert result.not_curated == ["NCT99999901"]
    assert any(line.startswith("TR-APEX (NCT00048230)") for line in result.not_in_export)
    assert any("no NCT id" in line for line in result.not_in_export)


def test_refresh_keeps_comments_and_touches_only_status_lines(knowledge_dir):
    before = (knowledge_dir / "trials.yaml").read_text(encoding="utf-8").split("\n")
    after = refresh_trials(knowledge_dir, read_export(FIXTURE), checked=CHECKED).text.split("\n")
    assert [line for line in after if line.lstrip().startswith("#")] == [
        line for line in before if line.lstrip().startswith("#")
    ]
    removed = [line for line in before if line not in after]
    added = [line for line in after if line not in before]
    assert added and all(
        line.startswith(("    status", "    registry_last_update")) for line in added + removed
    ), (added, removed)


def test_refresh_is_deterministic_and_idempotent(knowledge_dir):
    export = read_export(FIXTURE)
    first = refresh_trials(knowledge_dir, export, checked=CHECKED)
    assert first.text == refresh_trials(knowledge_dir, export, checked=CHECKED).text
    (knowledge_dir / "trials.yaml").write_text(first.text, encoding="utf-8")
    second = refresh_trials(knowledge_dir, export, checked=CHECKED)
    assert second.text == first.text
    assert second.changed == [] and len(second.unchanged) == 2


def test_refreshed_file_still_matches_the_schema(knowledge_dir):
    text = refresh_trials(knowledge_dir, read_export(FIXTURE), checked=CHECKED).text
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(yaml.safe_load(text), schema)


def test_cli_refresh_writes_and_status_counts(knowledge_dir, capsys):
    code = main(
        [
            "trials",
            "refresh",
            "--from",
            str(FIXTURE),
            "--knowledge-dir",
            str(knowledge_dir),
            "--checked",
            CHECKED,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "changed (2):" in out and "in the export but not curated (1):" in out
    assert _trials((knowledge_dir / "trials.yaml").read_text())["TR-DREAMM-7"]["status"] == (
        "completed"
    )
    assert main(["trials", "status", "--knowledge-dir", str(knowledge_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("41 trials; registry status known for ")
    assert "status unknown: " in out


def test_cli_dry_run_writes_nothing(knowledge_dir, capsys):
    before = (knowledge_dir / "trials.yaml").read_bytes()
    args = ["trials", "refresh", "--from", str(FIXTURE), "--knowledge-dir", str(knowledge_dir)]
    assert main([*args, "--checked", CHECKED, "--dry-run"]) == 0
    assert (knowledge_dir / "trials.yaml").read_bytes() == before


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("not json", "not a readable ClinicalTrials.gov JSON export"),
        ('{"studies": {}}', "expected an object with a 'studies' list"),
        ('{"studies": [{"protocolSection": {}}]}', "nctId missing"),
        (
            '{"studies": [{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"},'
            ' "statusModule": {"overallStatus": "AVAILABLE"}}}]}',
            "overall status 'AVAILABLE' is not one trials.yaml takes",
        ),
        (
            '{"studies": [{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"},'
            ' "statusModule": {"overallStatus": "RECRUITING",'
            ' "statusVerifiedDate": "May 2026"}}}]}',
            "is not YYYY-MM or YYYY-MM-DD",
        ),
    ],
)
def test_malformed_export_is_an_input_error(tmp_path, content, words):
    path = tmp_path / "export.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=words):
        read_export(path)


def test_set_trial_fields_inserts_missing_lines_in_order():
    text = "trials:\n  - id: TR-A\n    status: unknown\n    status_checked: null\n    agents: []\n"
    new = set_trial_fields(
        text, "TR-A", {"status": "completed", "status_date": "2026-01", "status_source": "x y z"}
    )
    assert new.split("\n")[2:7] == [
        "    status: completed",
        "    status_checked: null",
        '    status_date: "2026-01"',
        '    status_source: "x y z"',
        "    agents: []",
    ]
    with pytest.raises(KeyError):
        set_trial_fields(text, "TR-B", {"status": "completed"})
