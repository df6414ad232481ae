"""report.json: its text layout (valid JSON, one list item per line, stable bytes) and the
schema shipped with the package."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from mmresist.model import Sample, SampleIngest
from mmresist.report.build import build_report, report_json


def test_report_json_round_trips_with_one_item_per_line():
    report = {
        "schema_version": "1",
        "patient_id": "P1",
        "variants": [{"gene": "KRAS", "vaf": 0.25}, {"gene": "TP53", "hgvsp": "p.Arg175His ü"}],
        "findings": [],
        "risk": {"high_risk": None, "criteria": []},
    }
    text = report_json(report)
    assert json.loads(text) == report
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    assert '    {"gene": "KRAS", "vaf": 0.25},' in lines
    assert '  "findings": [],' in lines
    assert "ü" in text  # UTF-8, not \\u escapes
    assert report_json(report) == text


# ---------------------------------------------------------------- the shipped schema

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "report_example.json"


def report_schema() -> dict:
    text = (resources.files("mmresist.report") / "schemas" / "report.schema.yaml").read_text(
        encoding="utf-8"
    )
    return yaml.safe_load(text)


def validator() -> jsonschema.Draft202012Validator:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def minimal_report() -> dict:
    """A patient with one sample, nothing found and no clinical table, as build_report
    writes it: every section present, the reasoning sections null or empty."""
    sample = Sample(
        patient_id="P1",
        sample_id="P1-RL",
        timepoint="relapse",
        collection_date="2024-01-25",
        vcf="p1.vcf.gz",
    )
    ingest = SampleIngest(sample_id="P1-RL", vcf="p1.vcf.gz", tumor_sample="T", records_read=3)
    report = build_report(
        patient_id="P1",
        provenance={
            "pipeline_version": "0",
            "knowledge_version": "0",
            "genome_build": "GRCh38",
            "inputs": [{"path": "p1.vcf.gz", "sha256": "0" * 64}],
        },
        samples=[sample],
        ingests={"P1-RL": ingest},
        variants=[],
        copy_number=[],
        cytogenetics=None,
        findings=[],
        therapy_history=None,
        labs=None,
        not_provided=["therapy_lines", "labs"],
        warnings=[],
        assessed={"trials": [], "therapy_options": None, "supportive_care": None, "mrd": None},
    )
    return json.loads(report_json(report))


def test_schema_describes_and_requires_every_key_build_report_writes():
    schema = report_schema()
    undescribed = [key for key, spec in schema["properties"].items() if not spec.get("description")]
    assert undescribed == []
    report = minimal_report()
    assert set(schema["required"]) == set(report) == set(schema["properties"])
    assert [error.message for error in validator().iter_errors(report)] == []
    assert report["not_assessed"] == ["risk"] and report["risk"] is None


def test_example_report_meets_the_schema():
    report = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert [error.message for error in validator().iter_errors(report)] == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda report: report.pop("not_provided"), []),
        (lambda report: report["variants"][0].update(status="new"), ["variants", 0, "status"]),
        (lambda report: report["findings"][0].update(sources=[]), ["findings", 0, "sources"]),
        (lambda report: report["samples"][0].update(collection_date="2024-02-30"), None),
        (lambda report: report["qc"]["filtered"].update(low_vaf=-1), None),
    ],
)
def test_schema_rejects_a_broken_report(change, path):
    report = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert report["variants"] and report["findings"]
    change(report)
    errors = list(validator().iter_errors(report))
    assert errors
    if path is not None:
        assert [list(error.absolute_path) for error in errors] == [path]
