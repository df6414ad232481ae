"""report.pdf, the tumour-board summary: at most four A4 pages for every demo and scenario
patient and for a report far longer than any of them, every finding, option and trial of the
summary in the PDF's text, input text shown as text, same bytes for the same report.json."""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from mmresist.cli import main
from mmresist.pipeline import ClinicalPaths, run_patient
from mmresist.report import summary
from mmresist.vocab import CLINICAL_TABLES

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "demo"
SCENARIOS = REPO / "tests" / "cases" / "scenarios"
KNOWLEDGE = REPO / "resources" / "knowledge"
EXAMPLE = REPO / "tests" / "data" / "report_example.json"
MAX_PAGES = 4
needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed"
)


def pages(data: bytes) -> int:
    reader = pypdf.PdfReader(io.BytesIO(data))
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842), "not A4"
    return len(reader.pages)


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def squeezed(text: str) -> str:
    """Text without whitespace: a line break inside a long name must not fail a check."""
    return re.sub(r"\s+", "", text)


def _sheet_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream, delimiter="\t")
        return list(reader.fieldnames or []), list(reader)


def _write_sheet(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=fields, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _report(folder: Path, patient: str, sheet: Path, clinical: ClinicalPaths, out: Path) -> Path:
    run_patient(
        patient_id=patient,
        samples_path=str(sheet),
        knowledge_path=str(KNOWLEDGE),
        outdir=str(out),
        clinical=clinical,
        render=False,
    )
    return out / "report.json"


@pytest.fixture(scope="module")
def patient_reports(tmp_path_factory) -> dict[str, Path]:
    """report.json of every demo patient and every scenario, from the current code."""
    root = tmp_path_factory.mktemp("summaries")
    reports = {}
    fields, rows = _sheet_rows(DEMO / "samples.tsv")
    for row in rows:
        for column in ("vcf", "cnv"):
            if row.get(column):
                row[column] = str(REPO / row[column])
    sheet = root / "demo-samples.tsv"
    _write_sheet(sheet, fields, rows)
    demo_clinical = ClinicalPaths(**{kind: str(DEMO / f"{kind}.tsv") for kind in CLINICAL_TABLES})
    for patient in sorted({row["patient_id"] for row in rows}):
        reports[patient] = _report(DEMO, patient, sheet, demo_clinical, root / patient)
    for folder in sorted(path for path in SCENARIOS.iterdir() if path.is_dir()):
        fields, rows = _sheet_rows(folder / "samples.tsv")
        for row in rows:
            for column in ("vcf", "cnv"):
                if row.get(column) and not Path(row[column]).is_absolute():
                    # As in tests/test_scenarios.py: the scenario's folder, else the repository.
                    local = folder / row[column]
                    row[column] = str(local if local.exists() else REPO / row[column])
        sheet = root / f"{folder.name}-samples.tsv"
        _write_sheet(sheet, fields, rows)
        clinical = ClinicalPaths(
            **{
                kind: str(folder / f"{kind}.tsv")
                for kind in CLINICAL_TABLES
                if (folder / f"{kind}.tsv").is_file()
            }
        )
        (patient,) = {row["patient_id"] for row in rows}
        reports[folder.name] = _report(folder, patient, sheet, clinical, root / folder.name)
    return reports


def test_every_demo_and_scenario_summary_fits_four_a4_pages(patient_reports, tmp_path):
    assert len(patient_reports) >= 7 + 10
    counts = {}
    for name, report_path in patient_reports.items():
        pdf = tmp_path / f"{name}.pdf"
        summary.write_pdf(report_path=report_path, pdf_path=pdf)
        counts[name] = pages(pdf.read_bytes())
    assert max(counts.values()) <= MAX_PAGES, counts


@needs_pdftotext
def test_every_finding_option_and_trial_of_the_summary_reaches_the_pdf_text(
    patient_reports, tmp_path
):
    checked = 0
    for name, report_path in patient_reports.items():
        data = report_path.read_bytes()
        shown = summary.summary_data(json.loads(data), json_sha256=hashlib.sha256(data).hexdigest())
        pdf = tmp_path / f"{name}.pdf"
        summary.write_pdf(report_path=report_path, pdf_path=pdf)
        text = squeezed(pdf_text(pdf))
        expected = [shown["patient_id"], shown["json_sha256"], "report.html"]
        for line in shown["findings"]:
            expected.append(line["gene"])
            expected.extend(item["biomarker_id"] for item in line["implications"])
        expected.extend(option["regimen"] for option in shown["options"])
        expected.extend(trial["nct_id"] for trial in shown["trials"])
        missing = [item for item in expected if squeezed(item) not in text]
        assert missing == [], (name, missing)
        checked += len(expected)
    assert checked > 100


def test_findings_are_one_line_per_alteration_resistance_first():
    report = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    lines, left_out = summary.key_findings(report["findings"])
    assert left_out == 0
    keys = [(line["gene"], line["alteration"]) for line in lines]
    assert len(keys) == len(set(keys))
    ids = [item["biomarker_id"] for line in lines for item in line["implications"]]
    assert sorted(ids) == sorted(f["biomarker_id"] for f in report["findings"])
    implications = [line["implications"][0]["implication"] for line in lines]
    if "resistance" in implications:
        assert implications[0] == "resistance"


def option(regimen: str) -> dict:
    return {
        "rank": 1,
        "regimen": regimen,
        "drugs": ["talquetamab"],
        "drug_classes": ["gprc5d_bispecific"],
        "status": "standard",
        "rationale": [{"rule": "pivotal_trial", "text": "Pivotal.", "sources": ["NCT03399799"]}],
        "cautions": [],
        "evidence_level": "standard",
        "sources": ["NCT03399799"],
    }


def test_what_speaks_against_an_option_is_shown_before_the_cut():
    item = option("cilta-cel")
    item["rationale"] = [
        {"rule": rule, "text": f"{rule} text.", "sources": ["NCT04181827"]}
        for rule in ("pivotal_trial", "approval", "evidence_tier", "benefit")
    ] + [{"rule": "pivotal_population", "text": "Outside CARTITUDE-4.", "sources": []}]
    shown, _ = summary.top_options([item])
    assert shown[0]["rationale"][0]["text"] == "Outside CARTITUDE-4."
    assert shown[0]["more_rationale"] == 5 - summary.MAX_RATIONALE


def test_approval_and_benefit_lines_replace_their_items_and_keep_their_sources():
    item = option("cilta-cel")
    item["rationale"] = [
        {"rule": "pivotal_trial", "text": "Pivotal.", "sources": ["NCT04181827"]},
        {"rule": "approval", "text": "Approved.", "sources": ["NCT04181827", "FDA 2024"]},
        {"rule": "benefit", "text": "HR 0.26.", "sources": ["NCT04181827", "PMID:37272512"]},
        {"rule": "pivotal_population", "text": "Outside CARTITUDE-4.", "sources": []},
    ]
    item["approval"] = {"region": "US", "status": "approved", "label": "on_label"}
    item["benefit"] = {
        "trial": "CARTITUDE-4",
        "value_text": "PFS HR 0.26",
        "band": "large",
        "sources": ["NCT04181827", "PMID:37272512"],
    }
    shown = summary.top_options([item])[0][0]
    assert [r["text"] for r in shown["rationale"]] == ["Outside CARTITUDE-4."]
    assert shown["benefit"] == "PFS HR 0.26 (CARTITUDE-4; band large)"
    assert [s["text"] for s in shown["benefit_sources"]] == ["NCT04181827", "PMID:37272512"]
    assert [s["text"] for s in shown["approval_sources"]] == ["NCT04181827", "FDA 2024"]
    # Without a benefit record the items stay as they are.
    del item["benefit"]
    shown = summary.top_options([item])[0][0]
    assert "HR 0.26." in [r["text"] for r in shown["rationale"]]


def long_report() -> dict:
    """Longer than any patient: 40 alterations, 20 options with long rationale, 30 open
    trials, 8 urgent flags, 12 therapy lines."""
    report = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    finding = report["findings"][0]
    report["findings"] = [
        {**copy.deepcopy(finding), "biomarker_id": f"BM-LONG-{n}", "alteration": f"p.X{n}Y"}
        for n in range(40)
    ]
    text = "A long reason that a clinician reads before the board meets. " * 4
    report["therapy_options"] = [
        {
            "rank": n + 1,
            "regimen": f"regimen{n}",
            "drugs": ["drug"],
            "drug_classes": ["imid"],
            "status": "standard",
            "rationale": [{"rule": "r", "text": text, "sources": ["PMID:1"]}] * 6,
            "cautions": [text] * 4,
            "evidence_level": "B",
            "sources": ["PMID:1"],
        }
        for n in range(20)
    ]
    report["trials"] = [
        {
            "nct_id": f"NCT0{n:07d}",
            "short_name": f"TRIAL-{n}",
            "title": text,
            "phase": "2",
            "status": "recruiting",
            "status_checked": "2026-01-01",
            "match": "possible",
            "met": [],
            "unmet": [],
            "unknown": [text] * 5,
            "sources": [f"NCT0{n:07d}"],
        }
        for n in range(30)
    ]
    report["supportive_care"] = [
        {"topic": "renal", "severity": "urgent", "message": text, "source": ["PMID:2"]}
    ] * 8
    line = report["therapy_history"]["lines"][0] if report["therapy_history"]["lines"] else {}
    report["therapy_history"]["lines"] = [
        {
            **line,
            "line": n + 1,
            "regimen": f"regimen{n}",
            "start_date": f"{2010 + n}-01-01",
            "end_date": f"{2010 + n}-10-01",
            "progression_date": f"{2010 + n}-09-01",
            "best_response": "PR",
        }
        for n in range(12)
    ]
    return report


def test_a_report_longer_than_any_patient_still_fits_four_pages():
    data = json.dumps(long_report()).encode()
    assert pages(summary.pdf_bytes(data)) <= MAX_PAGES
    shown = summary.summary_data(json.loads(data), json_sha256="0" * 64)
    assert shown["more_findings"] == 40 - summary.MAX_ALTERATIONS
    assert shown["more_options"] == 20 - summary.MAX_OPTIONS
    assert shown["more_trials"] == 30 - summary.MAX_TRIALS
    assert len(shown["care"]["urgent"]) == 8, "urgent flags are never cut"


@needs_pdftotext
def test_text_from_report_json_is_shown_as_text_never_as_markup(tmp_path):
    report = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    hostile = '#panic("x") *bold* _em_ $x^2$ <lbl> @ref ] [ \\ // `raw` = head'
    report["patient_id"] = "P#1*"
    report["findings"][0]["gene"] = hostile
    report["therapy_options"] = [option("talquetamab")]
    report["therapy_options"][0]["rationale"][0]["text"] = hostile + ' #read("/etc/passwd")'
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    summary.write_pdf(report_path=path, pdf_path=tmp_path / "report.pdf")
    text = squeezed(pdf_text(tmp_path / "report.pdf"))
    assert squeezed(hostile) in text
    assert squeezed('#read("/etc/passwd")') in text
    assert "P#1*" in text
    assert "root:" not in text


def test_sections_not_computed_and_keys_of_later_versions(tmp_path):
    report = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    bare = {
        **report,
        "therapy_history": None,
        "therapy_options": None,
        "trials": None,
        "supportive_care": None,
        "mrd": None,
        "risk": None,
    }
    assert pages(summary.pdf_bytes(json.dumps(bare).encode())) >= 1
    shown = summary.summary_data(bare, json_sha256="0" * 64)
    assert shown["timeline"] is None and shown["care"] is None and shown["mrd"] is None

    # Keys other modules add are shown when present, and nothing depends on them.
    report["therapy_options"] = [option("talquetamab")]
    report["therapy_options"][0]["approval"] = {"region": "EU", "status": "approved"}
    report["therapy_options"][0]["benefit"] = {"trial": "NCT00000001", "endpoint": "PFS"}
    report["findings"][0]["allele_state"] = {"state": "biallelic", "basis": "copy number 0"}
    report["findings"][0]["exposure"] = "predicted_not_exposed"
    report["aggressive_relapse"] = {
        "flag": True,
        "message": "Needs rapid disease control: new plasmacytoma",
        "basis": [{"criterion": "extramedullary"}],
    }
    shown = summary.summary_data(report, json_sha256="0" * 64)
    assert shown["options"][0]["approval"] == "EU approved"
    assert shown["options"][0]["benefit"] == "(NCT00000001)"
    assert any("biallelic" in line["detail"] for line in shown["findings"])
    assert shown["aggressive_relapse"] == "Needs rapid disease control: new plasmacytoma"
    assert "predicted; not yet exposed" in [
        item["exposure"] for line in shown["findings"] for item in line["implications"]
    ]
    assert summary.pdf_bytes(json.dumps(report).encode()).startswith(b"%PDF-")


def test_timeline_places_lines_progressions_samples_and_mrd():
    report = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    report["therapy_history"]["lines"] = [
        {
            "line": 1,
            "regimen": "VRd",
            "drug_classes": ["proteasome_inhibitor"],
            "start_date": "2020-01-01",
            "end_date": "2021-01-01",
            "progression_date": "2021-01-01",
            "best_response": "VGPR",
        },
        {
            "line": 2,
            "regimen": "cilta-cel",
            "drug_classes": ["bcma_car_t"],
            "start_date": "2022-01-01",
            "end_date": None,
            "progression_date": None,
            "best_response": "CR",
        },
    ]
    report["samples"] = [
        {"sample_id": "S", "timepoint": "relapse", "collection_date": "2024-01-01"}
    ]
    report["mrd"] = {"measurements": [{"date": "2023-01-01", "result": "negative"}]}
    picture = summary.timeline(report)
    assert (picture["first"], picture["last"]) == ("2020-01-01", "2024-01-01")
    first, second = picture["rows"]
    assert first["bars"] == [{"x": 0.0, "width": 0.2505, "ongoing": False, "label": ""}]
    assert first["marks"] == [{"x": 0.2505, "kind": "progression"}]
    assert second["bars"][0]["ongoing"] and second["bars"][0]["x"] + second["bars"][0][
        "width"
    ] == pytest.approx(1.0)
    assert {"x": 0.5003, "kind": "car_t"} in second["marks"]
    assert {"x": 1.0, "kind": "sample"} in picture["events"]
    assert {"x": 0.7502, "kind": "mrd_negative"} in picture["events"]
    assert [year["label"] for year in picture["years"]] == ["2021", "2022", "2023", "2024"]
    assert [row["progression"] for row in picture["table"]] == ["2021-01-01", "none recorded"]


def test_sources_link_to_their_public_pages():
    assert summary.source_link("PMID:33619368") == "https://pubmed.ncbi.nlm.nih.gov/33619368/"
    assert summary.source_link("DOI:10.1200/JCO-24-01893") == (
        "https://doi.org/10.1200/JCO-24-01893"
    )
    assert summary.source_link("NCT03399799") == "https://clinicaltrials.gov/study/NCT03399799"
    assert summary.source_link("Palumbo 2015 J Clin Oncol") is None
    assert summary.source_link("PMID:abc") is None


def test_same_report_json_gives_the_same_bytes_in_any_process(tmp_path):
    script = (
        "import sys\n"
        "from mmresist.report.summary import write_pdf\n"
        "write_pdf(report_path=sys.argv[1], pdf_path=sys.argv[2])\n"
    )
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"{seed}.pdf"
        subprocess.run(
            [sys.executable, "-c", script, str(EXAMPLE), str(out)],
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": seed},
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert b"/CreationDate" not in outputs[0] and b"/ModDate" not in outputs[0]


def test_cli_pdf_writes_a_private_file_whatever_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        out = tmp_path / "new" / "report.pdf"
        assert main(["pdf", "--report", str(EXAMPLE), "--pdf", str(out)]) == 0
    finally:
        os.umask(previous)
    assert out.read_bytes().startswith(b"%PDF-")
    assert out.stat().st_mode & 0o777 == 0o640
    assert out.parent.stat().st_mode & 0o777 == 0o750
    assert sorted(path.name for path in out.parent.iterdir()) == ["report.pdf"]


def test_a_broken_report_json_is_an_error_naming_it(tmp_path, capsys):
    path = tmp_path / "report.json"
    path.write_text("{", encoding="utf-8")
    assert main(["pdf", "--report", str(path), "--pdf", str(tmp_path / "report.pdf")]) == 2
    assert "report.json is not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "report.pdf").exists()
