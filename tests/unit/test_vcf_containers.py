"""The same calls from bgzipped, plain-gzipped and uncompressed copies of one demo VCF."""

from __future__ import annotations

import gzip
from pathlib import Path

from mmresist.ingest.vcf import read_sample

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources/demo/vcf/MM-005_relapse.vcf.gz"
PANEL = {"BRAF", "CCND1", "KRAS", "TP53", "NRAS", "DIS3", "TENT5C", "CYLD"}


def _calls(path: Path) -> tuple[int, int, list[tuple]]:
    ingest = read_sample(vcf_path=path, sample_id="S", tumor_sample=None, panel_genes=PANEL)
    calls = [(c.gene, c.pos, c.alt, c.protein_change, c.vaf, c.depth) for c in ingest.calls]
    return ingest.records_read, ingest.records_in_panel, calls


def test_plain_gzip_and_uncompressed_give_the_bgzip_result(tmp_path):
    text = gzip.decompress(DEMO.read_bytes())
    plain = tmp_path / "plain.vcf"
    plain.write_bytes(text)
    gzipped = tmp_path / "gzipped.vcf.gz"
    gzipped.write_bytes(gzip.compress(text, mtime=0))
    expected = _calls(DEMO)
    assert expected[2], "the demo file has panel calls"
    assert _calls(plain) == expected
    assert _calls(gzipped) == expected
