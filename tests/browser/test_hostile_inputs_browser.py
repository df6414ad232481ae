"""Hostile text in the inputs (sample names, INFO annotation, free-text columns) goes
through the whole patient job and shows in Chromium as inert text."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from mmresist.pipeline import ClinicalPaths, run_patient

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
DEMO_VCF = REPO / "resources/demo/vcf/MM-005_relapse.vcf.gz"
# No spaces, commas, semicolons, '=' or '|': it must survive as one VCF/INFO token.
PAYLOAD = "<script>window.__pwned=1</script><img/src/onerror=alert(1)>"
SAMPLE_ID = 'S1"><svg onload=alert(2)>'
METHOD = "<iframe src=https://example.invalid></iframe>"


def _hostile_inputs(folder: Path) -> tuple[Path, Path]:
    text = gzip.decompress(DEMO_VCF.read_bytes()).decode()
    tumour = f"T{PAYLOAD}"
    text = text.replace("MM-005-RL-T", tumour)
    # The HGVSp written by the annotator, as free text from the INFO column.
    text = text.replace("ENSP00000493543.1:p.Val600Glu", f"ENSP00000493543.1:p.Val600Glu{PAYLOAD}")
    vcf = folder / "hostile.vcf"
    vcf.write_text(text)
    sheet = folder / "samples.tsv"
    sheet.write_text(
        "patient_id\tsample_id\ttimepoint\tcollection_date\tvcf\ttumor_sample\n"
        f"P1\t{SAMPLE_ID}\trelapse\t2024-08-07\t{vcf}\t{tumour}\n"
    )
    cytogenetics = folder / "cytogenetics.tsv"
    cytogenetics.write_text(
        "patient_id\tdate\tabnormality\tclone_fraction\tmethod\n"
        f"P1\t2024-08-01\tt(11;14)\t0.8\t{METHOD}\n"
    )
    return sheet, cytogenetics


def test_hostile_input_text_is_escaped_through_the_whole_patient_job(watched, tmp_path):
    sheet, cytogenetics = _hostile_inputs(tmp_path)
    outdir = tmp_path / "P1"
    report = run_patient(
        patient_id="P1",
        samples_path=str(sheet),
        knowledge_path=str(REPO / "resources/knowledge"),
        outdir=str(outdir),
        clinical=ClinicalPaths(cytogenetics=str(cytogenetics)),
    )
    assert report["samples"][0]["sample_id"] == SAMPLE_ID
    assert any(PAYLOAD in v["hgvsp"] for v in report["variants"])
    html = (outdir / "report.html").read_text()
    assert "<script>window.__pwned" not in html and "<svg onload" not in html
    url = watched.open(outdir / "report.html")
    assert watched.dialogs == []
    assert watched.page.evaluate("() => window.__pwned === undefined")
    assert watched.requests == [url] and watched.blocked == []
    assert watched.page.locator("script, img, iframe, svg:not(.figure-svg)").count() == 0
    assert watched.page.locator("svg image, svg use, svg foreignObject, svg script").count() == 0
    body = watched.page.inner_text("body")
    for text in (SAMPLE_ID, PAYLOAD, METHOD):
        assert text in body.replace("\u200b", "")
