"""report.json text: valid JSON, the same data, one list item per line, stable bytes."""

from __future__ import annotations

import json

from mmresist.report.build import report_json


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
