"""The cohort page and cohort.tsv: failed patients beside reported ones, the new columns,
the oncoprint of recurrent alterations, and the one script allowed by its hash."""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import json
import re
import sys
from html import unescape
from pathlib import Path

from mmresist import cli
from mmresist.errors import InputError
from mmresist.report import cohort

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_render import load_example  # noqa: E402

REFUSED = InputError(
    "expected an integer", file="MM-9.vcf", line=12, field="POS", expected="integer", got="x"
)


def reports() -> list[dict]:
    first = load_example()
    second = copy.deepcopy(first)
    second["patient_id"] = "MM-EX-002"
    second["therapy_options"] = [{"rank": 1, "regimen": "Kd"}, {"rank": 2, "regimen": "Pd"}]
    second["risk"] = {"high_risk": None}
    second["mrd"] = {"latest_result": "negative", "latest_date": "2024-02-01"}
    second["samples"][0]["tumour_only"] = True
    return [first, second]


def read_tsv(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open(encoding="utf-8"), delimiter="\t"))


def test_failed_patient_is_listed_with_its_reason(tmp_path):
    failure = cohort.failure_record(patient_id="MM-EX-000", error=REFUSED)
    assert (failure["file"], failure["line"], failure["field"]) == ("MM-9.vcf", 12, "POS")
    index, tsv = cohort.render_cohort(reports=[*reports(), failure], out_dir=tmp_path)
    rows = read_tsv(tsv)
    assert [(row["patient_id"], row["status"]) for row in rows] == [
        ("MM-EX-000", "failed"), ("MM-EX-001", "reported"), ("MM-EX-002", "reported"),
    ]  # fmt: skip
    assert rows[0]["failure_reason"] == str(REFUSED)
    assert "MM-9.vcf, line 12, field 'POS'" in rows[0]["failure_reason"]
    assert rows[0]["report_html"] == rows[0]["top_option"] == ""
    html = index.read_text(encoding="utf-8")
    assert "Patients without a report" in html and "MM-9.vcf, line 12, field &#39;POS&#39;" in html
    # No link to a report that was never written.
    assert "../MM-EX-000/report.html" not in html


def test_new_columns(tmp_path):
    _, tsv = cohort.render_cohort(reports=reports(), out_dir=tmp_path, pdf=False)
    example, second = read_tsv(tsv)
    assert second["top_option"] == "Kd" and example["top_option"] == "not assessed"
    assert second["high_risk"] == "unknown" and example["high_risk"] == "not assessed"
    assert second["mrd_latest"] == "negative (2024-02-01)"
    assert example["mrd_latest"] == "not provided"
    assert (example["tumour_only"], second["tumour_only"]) == ("no", "yes")
    assert example["report_html"] == "../MM-EX-001/report.html"
    assert example["report_pdf"] == ""  # the run wrote no PDF
    assert "report.pdf" not in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_script_is_the_only_one_and_its_hash_is_in_the_policy(tmp_path):
    index, _ = cohort.render_cohort(reports=reports(), out_dir=tmp_path)
    html = index.read_text(encoding="utf-8")
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1 and html.count("<script") == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    policy = unescape(
        re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    )
    assert f"script-src 'sha256-{digest}'" in policy
    assert policy.startswith("default-src 'none'")
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


def test_oncoprint_shows_recurrent_alterations_only():
    first, second = reports()
    shared = {"gene": "KRAS", "category": "mapk_signalling", "filter_reasons": [],
              "status": "acquired"}  # fmt: skip
    first["variants"] = [dict(shared), {**shared, "gene": "TP53", "category": "tp53_dna_damage"}]
    second["variants"] = [dict(shared)]
    first["copy_number"] = second["copy_number"] = []
    first["cytogenetics"] = second["cytogenetics"] = []
    first["findings"] = [{"gene": "KRAS", "implication": "resistance"}]
    second["findings"] = []
    figure, note = cohort.oncoprint([first, second])
    assert figure is not None and note.startswith("Alterations found in at least 2")
    assert [row[0] for row in figure.table.rows] == ["KRAS"]
    assert figure.table.rows[0][1:] == ["2", "M (resistance)", "M"]
    assert "<title" in figure.svg


def test_load_entries_reads_reports_failures_and_silent_failures(tmp_path):
    good, bad, silent = tmp_path / "A", tmp_path / "B", tmp_path / "C"
    good.mkdir()
    (good / "report.json").write_text(json.dumps(load_example()))
    cohort.write_failure(bad, cohort.failure_record(patient_id="B", error=REFUSED))
    entries = cohort.load_entries([good, bad, silent])
    assert entries[0]["patient_id"] == "MM-EX-001"
    assert entries[1]["status"] == "failed" and entries[1]["line"] == 12
    assert entries[2]["patient_id"] == "C" and "no report.json" in entries[2]["error"]


def test_patient_job_writes_a_failure_record_and_still_fails(tmp_path, capsys):
    sheet = tmp_path / "samples.tsv"
    vcf = tmp_path / "broken.vcf.gz"
    vcf.write_bytes(b"\x1f\x8b\x08\x04not really gzip")
    sheet.write_text(
        "patient_id\tsample_id\ttimepoint\tcollection_date\tvcf\n"
        f"P1\tP1-RL\trelapse\t2024-01-01\t{vcf}\n"
    )
    outdir = tmp_path / "P1"
    knowledge = Path(__file__).resolve().parents[2] / "resources" / "knowledge"
    args = ["patient", "--patient", "P1", "--samples", str(sheet), "--knowledge",
            str(knowledge), "--outdir", str(outdir)]  # fmt: skip
    assert cli.main(args) == 2
    record = json.loads((outdir / "failure.json").read_text())
    assert record["patient_id"] == "P1" and record["status"] == "failed"
    assert str(vcf) in record["error"]
    assert not (outdir / "report.json").exists()
    assert "mmresist: error:" in capsys.readouterr().err
