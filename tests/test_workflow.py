"""End to end: Snakemake on the demo cohort, report.json against the contract, determinism."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.workflow


def snakemake(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    # The common umask, under which files are world-readable unless the workflow says not.
    return subprocess.run(
        [str(BIN / "snakemake"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        umask=0o022,
    )


def modes(outdir: Path) -> dict[str, int]:
    """Permission bits of every folder and file under ``outdir``, itself included."""
    found = {".": outdir.stat().st_mode & 0o777}
    for path in outdir.rglob("*"):
        found[str(path.relative_to(outdir))] = path.stat().st_mode & 0o777
    return found


def demo_patients() -> list[str]:
    with open(REPO / "resources/demo/samples.tsv", encoding="utf-8") as stream:
        return sorted({row["patient_id"] for row in csv.DictReader(stream, delimiter="\t")})


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    outdir = tmp_path_factory.mktemp("demo") / "reports"
    result = snakemake("--cores", "2", "--config", f"outdir={outdir}")
    assert result.returncode == 0, result.stderr[-4000:]
    return outdir


def job_counts(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Jobs per rule from a dry run's "Job stats" table; {} when nothing is to be done."""
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    if "Job stats:" not in lines:
        return {}
    counts = {}
    for line in lines[lines.index("Job stats:") + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def test_dry_run_plans_one_report_and_pdf_per_patient(tmp_path):
    counts = job_counts(snakemake("--dry-run", "--config", f"outdir={tmp_path}/reports"))
    patients = len(demo_patients())
    # The shipped compiled knowledge is fresh, so no compile job is planned.
    assert counts == {
        "all": 1,
        "cohort_index": 1,
        "patient_pdf": patients,
        "patient_report": patients,
        "total": 2 + 2 * patients,
    }


def test_changed_knowledge_tables_are_compiled_before_the_reports(tmp_path):
    import shutil

    folder = tmp_path / "knowledge"
    shutil.copytree(REPO / "resources/knowledge", folder)
    with (folder / "drugs.tsv").open("a", encoding="utf-8") as stream:
        stream.write("")  # same bytes: still fresh
    fresh = snakemake(
        "--dry-run", "--config", f"outdir={tmp_path}/a", f"knowledge={folder}", "--quiet", "rules"
    )
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert "knowledge_compile" not in fresh.stdout
    version = folder / "VERSION"
    version.write_text(version.read_text().strip() + "9\n")
    stale = snakemake(
        "--dry-run", "--config", f"outdir={tmp_path}/b", f"knowledge={folder}", "--quiet", "rules"
    )
    assert stale.returncode == 0, stale.stderr[-3000:]
    assert "knowledge_compile" in stale.stdout


def test_every_report_meets_the_contract(demo_run):
    schema = yaml.safe_load(
        (REPO / "workflow/mmresist/report/schemas/report.schema.yaml").read_text()
    )
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for patient in demo_patients():
        folder = demo_run / patient
        report = json.loads((folder / "report.json").read_text())
        errors = [error.message for error in validator.iter_errors(report)]
        assert errors == [], (patient, errors[:5])
        assert report["patient_id"] == patient
        assert report["not_assessed"] == []
        if report["therapy_options"] is None:
            assert report["therapy_history"] is None
        else:
            for option in report["therapy_options"]:
                assert option["sources"], (patient, option["regimen"])
        assert isinstance(report["trials"], list)
        assert isinstance(report["risk"], dict)
        assert report["risk"]["high_risk"] in (True, False, None)
        for section, table in (("mrd", "mrd"), ("supportive_care", "supportive_care")):
            if report[section] is None:
                assert any(entry.startswith(table) for entry in report["not_provided"])
        assert "clinician" in report["disclaimer"]
        for name in ("report.html", "report.pdf", "variants.tsv"):
            assert (folder / name).stat().st_size > 0, (patient, name)
        assert (folder / "report.pdf").read_bytes().startswith(b"%PDF")


def test_nothing_is_lost_counts_reconcile(demo_run):
    for patient in demo_patients():
        folder = demo_run / patient
        report = json.loads((folder / "report.json").read_text())
        with open(folder / "variants.tsv", encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream, delimiter="\t"))
        qc = report["qc"]
        assert qc["records_read"] == sum(s["records_read"] for s in qc["per_sample"])
        for sample in qc["per_sample"]:
            assert (
                sample["records_read"]
                == sample["records_outside_panel"] + sample["records_in_panel"]
            )
            assert sample["panel_alleles"] == sample["panel_kept"] + sample["panel_filtered"]
            sample_rows = [row for row in rows if row["sample_id"] == sample["sample_id"]]
            assert len(sample_rows) == sample["panel_alleles"]
            assert sum(row["kept"] == "no" for row in sample_rows) == sample["panel_filtered"]
        for row in rows:
            assert (row["kept"] == "yes") == (row["filter_reasons"] == "")
            assert row["patient_id"] == patient
        reasons = {}
        for row in rows:
            for reason in filter(None, row["filter_reasons"].split(";")):
                reasons[reason] = reasons.get(reason, 0) + 1
        assert {k: v for k, v in qc["filtered"].items() if v} == reasons


def test_patients_outputs_stay_apart(demo_run):
    patients = demo_patients()
    with open(REPO / "resources/demo/samples.tsv", encoding="utf-8") as stream:
        sample_owner = {
            row["sample_id"]: row["patient_id"] for row in csv.DictReader(stream, delimiter="\t")
        }
    for patient in patients:
        text = (demo_run / patient / "report.json").read_text()
        html = (demo_run / patient / "report.html").read_text()
        for sample_id, owner in sample_owner.items():
            if owner != patient:
                assert f'"{sample_id}"' not in text
                assert f">{sample_id}<" not in html


def test_cohort_index_links_every_patient(demo_run):
    index = (demo_run / "cohort" / "index.html").read_text()
    with open(demo_run / "cohort" / "cohort.tsv", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t"))
    assert [row["patient_id"] for row in rows] == demo_patients()
    for patient in demo_patients():
        assert f"../{patient}/report.html" in index


def test_same_inputs_give_the_same_bytes(demo_run, tmp_path):
    outdir = tmp_path / "again"
    result = snakemake("--cores", "2", "--config", f"outdir={outdir}")
    assert result.returncode == 0, result.stderr[-4000:]
    for patient in demo_patients():
        for name in ("report.json", "variants.tsv", "report.html", "report.pdf"):
            first = (demo_run / patient / name).read_bytes()
            second = (outdir / patient / name).read_bytes()
            assert first == second, (patient, name)
    for name in ("index.html", "cohort.tsv"):
        assert (demo_run / "cohort" / name).read_bytes() == (outdir / "cohort" / name).read_bytes()


def test_no_output_is_open_to_other_users(demo_run):
    """Reports and logs name patients: under umask 022 every folder is 0750 and every file
    0640 (a cache file made by mkstemp may be stricter), logs included."""
    found = modes(demo_run)
    for patient in demo_patients():
        for name in ("report.json", "variants.tsv", "report.html", "report.pdf"):
            assert found[f"{patient}/{name}"] == 0o640, (patient, name)
        for log in (demo_run / patient / "logs").iterdir():
            assert found[f"{patient}/logs/{log.name}"] == 0o640, log
        assert found[patient] == found[f"{patient}/logs"] == 0o750, patient
    assert found["cohort/index.html"] == found["logs/cohort_index.log"] == 0o640
    for path, mode in found.items():
        is_dir = (demo_run / path).is_dir()
        assert mode & 0o027 == 0, (path, oct(mode))
        assert mode == 0o750 if is_dir else mode in (0o640, 0o600), (path, oct(mode))


def test_output_permissions_follow_the_config(tmp_path):
    lines = (REPO / "resources/demo/samples.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    rows = [line.split("\t") for line in lines[1:]]
    keep = [cells for cells in rows if cells[header.index("patient_id")] == "MM-006"]
    for cells in keep:
        for column in ("vcf", "cnv"):
            if cells[header.index(column)]:
                cells[header.index(column)] = str(REPO / cells[header.index(column)])
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("\n".join([lines[0], *("\t".join(cells) for cells in keep)]) + "\n")
    outdir = tmp_path / "reports"
    config = tmp_path / "config.yaml"
    config.write_text(
        f'samples: {sheet}\noutdir: {outdir}\noutput_permissions: {{dirs: "0700", files: "0600"}}\n'
    )
    result = snakemake("--cores", "1", "--configfile", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    found = modes(outdir)
    assert found["MM-006/report.pdf"] == found["MM-006/logs/report.log"] == 0o600
    assert found["MM-006"] == found["."] == 0o700
    assert {mode for path, mode in found.items() if not (outdir / path).is_dir()} == {0o600}

    config.write_text(f"samples: {sheet}\noutdir: {outdir}\noutput_permissions: {{dirs: 750}}\n")
    refused = snakemake("--dry-run", "--configfile", str(config))
    assert refused.returncode != 0
    assert "output_permissions" in refused.stdout + refused.stderr


def test_bad_sheet_stops_before_any_job_with_a_precise_message(tmp_path):
    sheet = (REPO / "resources/demo/samples.tsv").read_text().splitlines()
    header = sheet[0].split("\t")
    cells = sheet[1].split("\t")
    cells[header.index("collection_date")] = "2024-02-30"
    bad = tmp_path / "samples.tsv"
    bad.write_text("\n".join([sheet[0], "\t".join(cells), *sheet[2:]]) + "\n")
    outdir = tmp_path / "reports"
    result = snakemake("--cores", "1", "--config", f"samples={bad}", f"outdir={outdir}")
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert f"{bad}, line 2, field 'collection_date'" in message
    assert "Traceback" not in message
    assert not outdir.exists()


EXPECTED = yaml.safe_load((REPO / "tests/cases/demo/expected.yaml").read_text())


@pytest.mark.parametrize("patient", sorted(EXPECTED))
def test_demo_patient_shows_its_events(demo_run, patient):
    expected = EXPECTED[patient]
    report = json.loads((demo_run / patient / "report.json").read_text())
    kept = {
        (v["gene"], v["protein_change"], v["status"])
        for v in report["variants"]
        if not v["filter_reasons"]
    }
    for gene, change, status in expected["variants"]:
        assert (gene, change, status) in kept, (patient, gene, change, sorted(kept))
    calls = {(c["gene"], c["call"]) for c in report["copy_number"]}
    for gene, call in expected.get("copy_number", []):
        assert (gene, call) in calls
    found = {finding["biomarker_id"]: finding for finding in report["findings"]}
    for biomarker in expected["findings"]:
        assert biomarker in found, (patient, biomarker, sorted(found))
        assert found[biomarker]["sources"], biomarker
        assert found[biomarker]["evidence_level"] in "ABCDE"
    history = report["therapy_history"]
    if expected["therapy"] is None:
        assert history is None
        assert any(entry.startswith("therapy_lines") for entry in report["not_provided"])
    else:
        assert set(expected["therapy"]["refractory_includes"]) <= set(history["refractory_classes"])
        assert history["triple_class_refractory"] is expected["therapy"]["triple_class_refractory"]
        assert history["penta_refractory"] is expected["therapy"]["penta_refractory"]
    first = [o for o in report["therapy_options"] or [] if o["rank"] == 1]
    for regimen in expected.get("first_rank_includes", []):
        assert regimen in [o["regimen"] for o in first], (patient, first)
    if "first_rank_excludes_class" in expected:
        assert first and all(
            expected["first_rank_excludes_class"] not in o["drug_classes"] for o in first
        )
    if "high_risk" in expected:
        assert report["risk"]["high_risk"] is expected["high_risk"]
    if "mrd_trend" in expected:
        trend = report["mrd"]["trend"] if report["mrd"] else None
        assert trend == expected["mrd_trend"]


def test_demo_covers_the_required_event_classes(demo_run):
    categories = set()
    for patient in demo_patients():
        report = json.loads((demo_run / patient / "report.json").read_text())
        categories |= {f["gene"] for f in report["findings"]}
        categories |= {v["category"] for v in report["variants"] if not v["filter_reasons"]}
    for category in (
        "proteasome",
        "cereblon_pathway",
        "mapk_signalling",
        "nfkb_signalling",
        "immunotherapy_target",
    ):
        assert category in categories


def test_one_patients_bad_vcf_does_not_stop_the_others(tmp_path):
    lines = (REPO / "resources/demo/samples.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    broken = tmp_path / "broken.vcf.gz"
    broken.write_bytes((REPO / "resources/demo/vcf/MM-005_relapse.vcf.gz").read_bytes()[:3000])
    rows = []
    for line in lines[1:]:
        cells = line.split("\t")
        if cells[header.index("patient_id")] == "MM-005":
            cells[header.index("vcf")] = str(broken)
        else:
            for column in ("vcf", "cnv"):
                if cells[header.index(column)]:
                    cells[header.index(column)] = str(REPO / cells[header.index(column)])
        rows.append("\t".join(cells))
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("\n".join([lines[0], *rows]) + "\n")
    outdir = tmp_path / "reports"
    config = tmp_path / "config.yaml"
    config.write_text(f"samples: {sheet}\noutdir: {outdir}\nreport:\n  pdf: false\n")
    result = snakemake("--cores", "2", "--configfile", str(config))
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "MM-005" in message and str(broken) in message
    assert "Traceback" not in (outdir / "MM-005" / "logs" / "report.log").read_text()
    assert not (outdir / "MM-005" / "report.json").exists()
    assert not (outdir / "MM-005" / "report.html").exists()
    for patient in demo_patients():
        if patient != "MM-005":
            assert (outdir / patient / "report.json").is_file(), patient
    # The refused patient leaves a failure record naming the file; the cohort page and
    # cohort.tsv are written after the failure and list it as failed beside the others.
    failure = json.loads((outdir / "MM-005" / "failure.json").read_text())
    assert failure["status"] == "failed" and failure["file"] == str(broken)
    with open(outdir / "cohort" / "cohort.tsv", encoding="utf-8") as stream:
        rows = {row["patient_id"]: row for row in csv.DictReader(stream, delimiter="\t")}
    assert sorted(rows) == demo_patients()
    assert rows["MM-005"]["status"] == "failed"
    assert str(broken) in rows["MM-005"]["failure_reason"]
    assert all(rows[p]["status"] == "reported" for p in rows if p != "MM-005")
    index = (outdir / "cohort" / "index.html").read_text()
    assert "Patients without a report" in index and str(broken) in index
    assert "../MM-005/report.html" not in index and "../MM-001/report.html" in index
    # Nothing the failed run wrote is open to other users.
    for path, mode in modes(outdir).items():
        assert mode & 0o027 == 0, (path, oct(mode))
    # Fixed input: the next run reports the patient and drops the stale failure record.
    sheet.write_text(
        sheet.read_text().replace(
            str(broken), str(REPO / "resources/demo/vcf/MM-005_relapse.vcf.gz")
        )
    )
    result = snakemake("--cores", "2", "--configfile", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (outdir / "MM-005" / "failure.json").exists()
    assert "Patients without a report" not in (outdir / "cohort" / "index.html").read_text()


def test_snakemake_report_holds_every_patients_report(demo_run, tmp_path):
    import zipfile

    archive = tmp_path / "workflow-report.zip"
    result = snakemake("--cores", "1", "--config", f"outdir={demo_run}", "--report", str(archive))
    assert result.returncode == 0, result.stderr[-3000:]
    with zipfile.ZipFile(archive) as bundle:
        names = bundle.namelist()
        for patient in demo_patients():
            html = (demo_run / patient / "report.html").read_bytes()
            pdf = (demo_run / patient / "report.pdf").read_bytes()
            held = [bundle.read(n) for n in names if n.endswith(("/report.html", "/report.pdf"))]
            assert html in held and pdf in held, patient
        assert any(
            name.endswith("/cohort/index.html") or name.endswith("/index.html") for name in names
        )
        main = bundle.read(next(n for n in names if n.endswith("workflow-report/report.html")))
    assert b"decision support" in main.lower()
    assert archive.stat().st_mode & 0o027 == 0, oct(archive.stat().st_mode)


def test_annotate_runs_once_per_unannotated_sample_and_survives_knowledge_edits(tmp_path):
    import shutil

    sys.path.insert(0, str(REPO / "tests" / "unit"))
    from vcf_fixtures import Genome, fasta_text, genome_pos, gff3_text, unannotated_vcf_text

    genome = Genome()
    (tmp_path / "genome.fa").write_text(fasta_text(genome))
    (tmp_path / "genes.gff3").write_text(gff3_text())
    position = genome_pos(27)  # PSMB5 codon 10
    alt = "A" if genome.base(position) != "A" else "C"
    bare = tmp_path / "P1_relapse.vcf"
    bare.write_text(unannotated_vcf_text([(position, genome.base(position), alt)]))
    annotated = REPO / "resources/demo/vcf/MM-005_relapse.vcf.gz"
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "patient_id\tsample_id\ttimepoint\tcollection_date\tvcf\n"
        f"P1\tP1-RL\trelapse\t2024-06-01\t{bare}\n"
        f"P2\tP2-RL\trelapse\t2024-06-01\t{annotated}\n"
    )
    knowledge = tmp_path / "knowledge"
    shutil.copytree(REPO / "resources/knowledge", knowledge)
    outdir = tmp_path / "reports"

    def configured(mode: str) -> list[str]:
        config = tmp_path / f"{mode}.yaml"
        config.write_text(
            f"samples: {sheet}\noutdir: {outdir}\nknowledge: {knowledge}\n"
            f"annotation:\n  mode: {mode}\n  fasta: {tmp_path / 'genome.fa'}\n"
            f"  gff3: {tmp_path / 'genes.gff3'}\nreport:\n  pdf: false\n"
        )
        return ["--configfile", str(config)]

    auto = configured("auto")
    assert job_counts(snakemake("--dry-run", *auto)) == {
        "all": 1,
        "annotate": 1,  # P1 only: P2's VCF is annotated with VEP
        "cohort_index": 1,
        "patient_report": 2,
        "total": 5,
    }
    assert job_counts(snakemake("--dry-run", *configured("bcftools_csq")))["annotate"] == 2

    run = snakemake("--cores", "2", *auto)
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads((outdir / "P1" / "report.json").read_text())
    (sample,) = report["qc"]["per_sample"]
    assert "made by mmresist: bcftools" in sample["annotation"]
    assert [item["path"] for item in report["provenance"]["inputs"]][1] == str(bare)
    assert {v["gene"] for v in report["variants"]} == {"PSMB5"}
    assert job_counts(snakemake("--dry-run", *auto)) == {}

    # A knowledge edit re-plans the reports, not the annotation.
    version = knowledge / "VERSION"
    version.write_text(version.read_text().strip() + "9\n")
    counts = job_counts(snakemake("--dry-run", *auto))
    assert counts.get("knowledge_compile") == 1 and counts.get("patient_report") == 2
    assert "annotate" not in counts
    # The gene coordinates decide the annotated regions: editing them re-annotates.
    coordinates = knowledge / "gene_coordinates.tsv"
    header, first, *rows = coordinates.read_text().splitlines()
    cells = first.split("\t")
    cells[4] = str(int(cells[4]) + 1)  # one base more at the first gene's end
    coordinates.write_text("\n".join([header, "\t".join(cells), *rows]) + "\n")
    assert job_counts(snakemake("--dry-run", *auto)).get("annotate") == 1
