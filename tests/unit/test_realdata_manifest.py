"""Every file in ../shared/realdata/MANIFEST.tsv is accounted for, exactly once.

Each listed file is either (a) a VCF/BCF with an expectation in test_realdata.EXPECTED,
(b) a copy-number file in COPY_NUMBER below (read with its cnv_format, or refused with a
given message), or (c) a file that is not an mmresist input (NOT_INPUTS, with the reason);
a file of class (c) given as a sample's VCF is refused with a message naming it. A new
MANIFEST row in none of the tables fails here, saying which file to classify.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from test_realdata import EXPECTED

from mmresist.errors import InputError
from mmresist.ingest.vcf import read_sample
from mmresist.io.copynumber import read_copy_number
from mmresist.knowledge.load import load_knowledge

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not REALDATA.is_dir(),
        reason=f"real-data folder {REALDATA} is absent (it sits beside a developer's clone only)",
    ),
]

READ = "read"


@dataclass(frozen=True)
class CopyNumber:
    """How read_copy_number treats one real copy-number file.

    ``outcome``: READ, or a fragment of the InputError message. When read, ``some_calls``
    says whether at least one panel gene gets a call (True) or none is covered and the
    file gives zero calls without error (False). ``build``: the configured genome build
    whose knowledge-base coordinates are passed as gene_regions (GRCh37 has none).
    ``tumor_sample``: the ID to read in a multi-sample SEG.
    """

    fmt: str
    outcome: str = READ
    some_calls: bool = True
    build: str = "GRCh38"
    tumor_sample: str | None = None


NO_COORDINATES = (
    "a segment table (cnv_format allele_segments) needs gene coordinates for the "
    "configured genome build (GRCh37)"
)

COPY_NUMBER: dict[str, CopyNumber] = {
    # CNVkit bins, segments, calls and segmetrics: gene columns name panel genes.
    **{
        f"cnvkit/test/formats/{name}": CopyNumber("cnvkit")
        for name in (
            "regression/p2-9_2.cnr",
            "regression/p2-9_2.cns",
            "regression/p2-9_2.call.cns",
            "tr95t.cns",
            "tr95t.segmetrics.cns",
            "nv3.cns",
            "cl_seq.cns",
            "amplicon.cnr",
            "amplicon.cns",
        )
    },
    # CNVkit's SEG exports hold many samples; samples.tsv names one with tumor_sample.
    "cnvkit/test/formats/acgh-log10.seg": CopyNumber("seg_log10", tumor_sample="TR_28_T"),
    "cnvkit/test/formats/cw-tr-log2.seg": CopyNumber("seg", tumor_sample="TR_01_T"),
    # An R warning before the header (skipped) and segments covering no panel gene.
    "cnvkit/test/formats/warning.seg": CopyNumber("seg", some_calls=False),
    # PURPLE gene tables (two column generations) and fitted somatic segments.
    "gpgr/inst/extdata/purple/purple.cnv.gene.tsv": CopyNumber("purple"),
    "gpgr/inst/extdata/purple/v2.39/purple.cnv.gene.tsv": CopyNumber("purple"),
    "gpgr/inst/extdata/purple/purple.cnv.somatic.tsv": CopyNumber("purple_segments"),
    # PURPLE's unfitted segmentation has no copyNumber column: not a copy-number call.
    "gpgr/inst/extdata/purple/v2.39/purple.segment.tsv": CopyNumber(
        "purple_segments", "missing column 'copyNumber' for cnv_format purple_segments"
    ),
    # PCGR allele-specific segments; GRCh37 ones cannot be mapped (no GRCh37 coordinates).
    "pcgr/examples/T001-COAD.grch38.cna.tsv": CopyNumber("allele_segments"),
    "pcgr/examples/T001-BRCA.grch38.cna.tsv": CopyNumber("allele_segments"),
    "pcgr/examples/T001-COAD.grch37.cna.tsv": CopyNumber(
        "allele_segments", NO_COORDINATES, build="GRCh37"
    ),
    "pcgr/examples/T001-BRCA.grch37.cna.tsv": CopyNumber(
        "allele_segments", NO_COORDINATES, build="GRCh37"
    ),
}

MAF = "MAF (vcf2maf output): variants already annotated and flattened, not a VCF"
NOT_INPUTS: dict[str, str] = {
    "vcf2maf/tests/test.maf": MAF,
    "vcf2maf/tests/test_b38_output.maf": MAF,
    "vcf2maf/tests/test_output.vep_isoforms.maf": MAF,
    "vcf2maf/data/TCGA-AB-2968-03.laml.maf": MAF,
    "vcf2maf/data/tcga_laml.maf": MAF,
    "vcf2maf/tests/test.tsv": "minimal MAF-like variant table (maf2vcf's input), not a VCF",
    "pcgr/examples/T001-COAD.grch37.vcf.gz.tbi": "tabix index of a VCF, not a file to read",
    "pcgr/examples/T001-COAD.grch38.vcf.gz.tbi": "tabix index of a VCF, not a file to read",
    "gpgr/inst/extdata/purple/purple.purity.tsv": (
        "PURPLE's purity/ploidy/sex summary: its values go to samples.tsv (purity, and the "
        "sample's ploidy and sex), it holds no gene or segment copy number"
    ),
    "gpgr/inst/extdata/purple/purple.version": "PURPLE's version stamp (version=2.51)",
}

CLASSES = {
    "test_realdata.EXPECTED (VCF/BCF)": EXPECTED,
    "COPY_NUMBER": COPY_NUMBER,
    "NOT_INPUTS": NOT_INPUTS,
}


@cache
def manifest_files() -> tuple[str, ...]:
    with (REALDATA / "MANIFEST.tsv").open(newline="", encoding="utf-8") as stream:
        return tuple(row["file"] for row in csv.DictReader(stream, delimiter="\t"))


@cache
def knowledge():
    return load_knowledge(REPO / "resources" / "knowledge")


def test_every_manifest_file_is_classified_exactly_once():
    problems = []
    for file in manifest_files():
        where = [name for name, table in CLASSES.items() if file in table]
        if not where:
            problems.append(
                f"{file}: not classified; add it to one of {', '.join(CLASSES)} "
                f"(in tests/unit/test_realdata.py or {Path(__file__).name})"
            )
        elif len(where) > 1:
            problems.append(f"{file}: classified more than once ({', '.join(where)})")
    listed = set(manifest_files())
    for name in ("COPY_NUMBER", "NOT_INPUTS"):
        problems.extend(
            f"{file}: in {name} but not in MANIFEST.tsv (stale)"
            for file in sorted(set(CLASSES[name]) - listed)
        )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("file", sorted(COPY_NUMBER))
def test_copy_number_file_outcome(file):
    expect = COPY_NUMBER[file]
    path = REALDATA / file
    base = knowledge()

    def read():
        return read_copy_number(
            path=path,
            fmt=expect.fmt,
            sample_id="S1",
            panel_genes=set(base.genes),
            aliases=base.gene_aliases,
            gene_regions=base.gene_regions(expect.build),
            tumor_sample=expect.tumor_sample,
            genome_build=expect.build,
            warnings=[],
        )

    if expect.outcome != READ:
        with pytest.raises(InputError) as caught:
            read()
        assert caught.value.file == str(path)
        assert expect.outcome in str(caught.value)
        return
    calls = read()
    assert all(call.sample_id == "S1" for call in calls)
    assert all(call.gene in base.genes for call in calls)
    if expect.some_calls:
        assert calls, f"{file}: no panel gene got a call"
    else:
        assert calls == []


@pytest.mark.parametrize("file", sorted(NOT_INPUTS))
def test_a_non_input_given_as_the_sample_vcf_is_refused_by_name(file):
    path = REALDATA / file
    with pytest.raises(InputError) as caught:
        read_sample(vcf_path=path, sample_id="S", tumor_sample=None, panel_genes={"KRAS"})
    message = str(caught.value)
    assert str(path) in message
    assert "not a readable VCF or BCF" in message
    if file.endswith((".maf", ".tsv")):
        assert "MAF or TSV table rather than a VCF" in message
