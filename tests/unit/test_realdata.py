"""Every VCF/BCF in ../shared/realdata: read as expected, or refused with a clear error.

The folder holds files written by other projects (see its README and MANIFEST.tsv); it
lives beside a developer's clone, so these tests skip when it is absent.
"""

from __future__ import annotations

import csv
import gzip
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cyvcf2 import VCF
from vcf_fixtures import vep_entry, vep_header

from mmresist.errors import AnnotationMissingError, InputError
from mmresist.ingest.annotation import detect_layout
from mmresist.ingest.vcf import allele_depths, header_formats, read_sample

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
ABSENT = (
    f"real-data folder {REALDATA} is absent (it sits beside a developer's clone, "
    "not in the project)"
)
pytestmark = pytest.mark.realdata

PANEL = frozenset(
    "TP53 KRAS NRAS BRAF CRBN TRAF3 XPO1 RB1 NF1 CREBBP DDX3X FCRL5 DIS3 FAM46C TENT5C PSMB5 "
    "TNFRSF17 NFKBIA IKZF1".split()
)

ANNOTATION_MISSING = "no INFO field holds a consequence annotation"
NO_SAMPLES = "no sample columns"
AMBIGUOUS = "ambiguous tumour column"


@dataclass(frozen=True)
class Expect:
    """The outcome of read_sample on one file.

    ``error``: the exception class expected (None: the file is read); ``match``: text the
    message must contain besides the file's path; ``layout``: the annotation kind
    detect_layout finds ("" none, None when htslib cannot open the header); ``calls``:
    (chrom, pos, alt, gene, protein_change, consequence, vaf, depth, alt_reads) tuples,
    exactly the calls read (checked when ``in_panel`` is given).
    """

    error: type[Exception] | None = None
    match: str = ""
    layout: str | None = ""
    tumor: str | None = None
    in_panel: int | None = None
    calls: tuple[tuple, ...] = ()
    warnings: tuple[str, ...] = ()
    build: str | None = field(default=None)


def missing(layout: str = "") -> Expect:
    return Expect(AnnotationMissingError, ANNOTATION_MISSING, layout)


def refused(match: str, layout: str | None = None) -> Expect:
    return Expect(InputError, match, layout)


def sites_only(layout: str) -> Expect:
    return Expect(InputError, NO_SAMPLES, layout)


def ambiguous(layout: str) -> Expect:
    return Expect(InputError, AMBIGUOUS, layout)


EXPECTED: dict[str, Expect] = {
    # vcf2maf: callers' raw output, not annotated.
    **{
        f"vcf2maf/tests/{name}.vcf": missing()
        for name in (
            "test_mutect test_strelka test_varscan test_muse test_merged test_radia "
            "test_sniper test_pindel test_delly test_b37 test test_b38 test_grch38"
        ).split()
    },
    "vcf2maf/data/test_pindel.vep.vcf": Expect(layout="vep", tumor="TUMOR", in_panel=0),
    "vcf2maf/data/TCGA-AB-2968-03.laml.vcf": missing(),
    "vcf2maf/data/TCGA-B5-A0JV-01.ucec.vcf": missing(),
    "vcf2maf/data/TCGA-BH-A18P-01.brca.vcf": missing(),
    # PCGR inputs: DPT/ADT depths, but no consequence annotation.
    "pcgr/examples/T001-COAD.grch37.vcf.gz": missing(),
    "pcgr/examples/T001-COAD.grch38.vcf.gz": missing(),
    "pcgr/examples/T001-BRCA.grch37.vcf.gz": missing(),
    "pcgr/examples/T001-BRCA.grch38.vcf.gz": missing(),
    # CNVkit's VCF fixtures.
    "cnvkit/test/formats/strelka.vcf": missing(),
    "cnvkit/test/formats/blank.vcf": missing(),
    "cnvkit/test/formats/format-no-sample.vcf": refused("FORMAT column but no sample columns"),
    "cnvkit/test/formats/gatk-emptyalt.vcf": missing(),
    "cnvkit/test/formats/gt-nocall.vcf": missing(),
    "cnvkit/test/formats/gt-partial.vcf": missing(),
    "cnvkit/test/formats/nosample.vcf": missing(),
    "cnvkit/test/formats/vcf-het-no-altcount.vcf": missing(),
    # cyvcf2's fixtures: germline cohorts (several samples, no tumour named) and oddities.
    "cyvcf2/cyvcf2/tests/test.snpeff.vcf": ambiguous("snpeff_eff"),
    "cyvcf2/cyvcf2/tests/test.comp_het.3.vcf": ambiguous("snpeff_eff"),
    "cyvcf2/cyvcf2/tests/o.vcf.gz": ambiguous("snpeff_eff"),
    "cyvcf2/cyvcf2/tests/test.vcf.gz": ambiguous("vep"),  # ANN and CSQ: VEP preferred
    "cyvcf2/cyvcf2/tests/test_gt_alt_freqs.vcf": Expect(
        layout="snpeff", tumor="c-tumor2", in_panel=0, warnings=("no record carries INFO/ANN",)
    ),
    "cyvcf2/cyvcf2/tests/test_gt_bases.vcf.gz": Expect(
        layout="snpeff", tumor="c-tumor2", in_panel=0
    ),
    "cyvcf2/cyvcf2/tests/test-hemi.vcf": ambiguous("vep"),
    "cyvcf2/cyvcf2/tests/empty.vcf": refused("empty (0 bytes)"),
    "cyvcf2/cyvcf2/tests/test-invalid-header.vcf": refused("empty sample name"),
    "cyvcf2/cyvcf2/tests/test.warnings.vcf.gz": missing(),
    "cyvcf2/cyvcf2/tests/no-seq-names.vcf": missing(),
    # bcftools' split-vep fixtures are sites-only VEP/BCSQ output.
    "bcftools/test/split-vep.vcf": sites_only("vep"),
    "bcftools/test/split-vep.2.vcf": sites_only("vep"),
    "bcftools/test/split-vep.4.vcf": sites_only("bcsq"),
    "bcftools/test/split-vep.7.vcf": Expect(layout="vep", in_panel=0, build="GRCh38"),
    "bcftools/test/split-vep.8.vcf": sites_only("bcsq"),
    "bcftools/test/split-vep.9.vcf": sites_only("bcsq"),
    "bcftools/test/split-vep.select-tr-expr.vcf": sites_only("vep"),
    "bcftools/test/split-vep.filter.vcf": sites_only("vep"),
    "bcftools/test/split-vep.filter-missing-bt2098.vcf": sites_only("vep"),
    "bcftools/test/split-vep.types.vcf": sites_only("vep"),
    "bcftools/test/split-vep.gene-list.vcf": sites_only("vep"),
    "bcftools/test/split-vep.broken-LoF.vcf": sites_only("vep"),  # VEP under INFO/vep
    "bcftools/test/convert.gvcf.vcf": Expect(
        layout="vep", in_panel=0, warnings=("no record carries INFO/CSQ",)
    ),
    "bcftools/test/indel-stats.vcf": ambiguous("bcsq"),  # old bcftools csq under INFO/CSQ
    "bcftools/test/isec-miss.2.3.vcf": missing(),
    # snpEff examples: log output or no ##fileformat line before the header.
    "SnpEff/examples/cancer.ann.vcf": refused("a log message written into the file"),
    "SnpEff/examples/cancer.eff.vcf": refused("not ##fileformat=VCFv4.x"),
    "SnpEff/examples/cancer_pedigree.ann.vcf": refused("not ##fileformat=VCFv4.x"),
    "SnpEff/examples/test.ann.vcf": refused("not ##fileformat=VCFv4.x"),
    "SnpEff/tests/old/EML4-ALK_fusion.vcf": Expect(layout="snpeff", in_panel=34),
    "SnpEff/tests/integration/mixedVariants/mixed_chr12.vcf": sites_only("vep"),
    "SnpEff/tests/unity/vcf/test_vcf_ann_plus_sign.vcf": Expect(layout="snpeff", in_panel=0),
    "gpgr/inst/extdata/purple/purple.somatic.vcf.gz": Expect(
        layout="vep",
        in_panel=2,
        build="GRCh38",
        calls=(
            ("chr2", 61506772, "C", "XPO1", "", "intron_variant", 0.3084, 107, 33),
            ("chr2", 61509592, "G", "XPO1", "", "intron_variant", 0.1744, 86, 15),
        ),
    ),
    "gpgr/inst/extdata/umccrise/snv/somatic-ensemble-PASS.vcf.gz": missing(),
    **{
        f"nf-pcgr/assets/test_data/HCC1395T_vs_HCC1395N.{name}.vcf.gz": missing()
        for name in ("freebayes", "mutect2", "strelka.somatic_indels", "strelka.somatic_snvs")
    },
    "pVACtools/tests/test_data/input_file_converter/somatic.vcf.gz": Expect(
        layout="vep",
        in_panel=8,
        build="GRCh38",
        calls=(
            ("chr1", 157520391, "A", "FCRL5", "", "intron_variant", 0.333, 28, 9),
            ("chr13", 48479821, "A", "RB1", "", "intron_variant", 0.211, 71, 15),
            ("chr16", 3745300, "C", "CREBBP", "H1297Q", "missense_variant", 0.246, 66, 16),
            ("chr16", 3751904, "A", "CREBBP", "", "intron_variant", 0.297, 37, 11),
            ("chr16", 3792126, "A", "CREBBP", "", "intron_variant", 0.366, 83, 31),
            ("chr17", 7675088, "T", "TP53", "R175H", "missense_variant", 0.988, 87, 86),
            ("chrX", 41341424, "T", "DDX3X", "", "intron_variant", 1.0, 95, 95),
            ("chrX", 41344255, "C", "DDX3X", "R294T", "missense_variant", 0.983, 58, 57),
        ),
    ),
    "pVACtools/tests/test_data/pvacseq/input.vcf": Expect(layout="vep", in_panel=0),
    "pVACtools/tests/test_data/input_file_converter/input_tsl.vcf": Expect(
        layout="vep",
        in_panel=1,
        calls=(("chr1", 157520391, "A", "FCRL5", "", "intron_variant", 0.42857, 14, 6),),
    ),
    "pVACtools/tests/test_data/input_file_converter/input_dash_csq_allele.vcf": refused(
        "separates its columns with spaces, not tabs"
    ),
    "pVACtools/tests/test_data/input_file_converter/input_truncated_middle.vcf": refused(
        "a line cut short and joined with the next one", "vep"
    ),
    # htslib's fixtures: VCF 4.3/4.4 syntax, odd names, huge positions; none annotated.
    "htslib/test/vcf44_1.vcf": missing(),
    "htslib/test/bcf-sr/weird-chr-names.vcf": missing(),
    "htslib/test/noroundtrip.vcf": missing(),
    "htslib/test/noroundtrip-out.vcf": missing(),
    "htslib/test/formatcols.vcf": missing(),
    "htslib/test/formatmissing.vcf": missing(),
    "htslib/test/vcf_meta_meta.vcf": missing(),
    "htslib/test/tabix/large_chr.vcf": missing(),
    "htslib/test/test-vcf-hdr-in.vcf": missing(),
}


def manifest_rows() -> list[dict[str, str]]:
    with (REALDATA / "MANIFEST.tsv").open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream, delimiter="\t"))


def vcf_rows() -> list[dict[str, str]]:
    """MANIFEST rows of VCF/BCF files (those with a format column)."""
    return [row for row in manifest_rows() if row["format"]]


def vcf_params() -> list:
    if not REALDATA.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=ABSENT), id="realdata-absent")]
    return [pytest.param(row, id=row["file"]) for row in vcf_rows()]


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(ABSENT)
    return REALDATA


def test_every_manifest_vcf_has_an_expectation(realdata):
    listed = {row["file"] for row in vcf_rows()}
    assert listed == set(EXPECTED), (
        f"unlisted: {sorted(listed - set(EXPECTED))}; stale: {sorted(set(EXPECTED) - listed)}"
    )


@pytest.mark.parametrize("row", vcf_params())
def test_manifest_vcf_outcome(row):
    path = REALDATA / row["file"]
    expect = EXPECTED[row["file"]]

    if expect.layout is not None:
        vcf = VCF(str(path))
        try:
            try:
                kind = detect_layout(vcf, str(path)).kind
            except AnnotationMissingError:
                kind = ""
        finally:
            vcf.close()
        assert kind == expect.layout

    def read():
        return read_sample(
            vcf_path=path, sample_id="S1", tumor_sample=expect.tumor, panel_genes=PANEL
        )

    if expect.error is not None:
        with pytest.raises(expect.error) as caught:
            read()
        if expect.error is InputError:
            assert not isinstance(caught.value, AnnotationMissingError), str(caught.value)
        message = str(caught.value)
        assert str(path) in message
        assert expect.match in message
        return

    ingest = read()
    assert ingest.records_read == int(row["records"])
    if expect.in_panel is not None:
        assert ingest.records_in_panel == expect.in_panel
    if expect.calls:
        got = {
            (c.chrom, c.pos, c.alt, c.gene, c.protein_change, c.consequence, c.vaf, c.depth,
             c.alt_reads)
            for c in ingest.calls
        }  # fmt: skip
        assert set(expect.calls) <= got
        if expect.in_panel == len(expect.calls):
            assert got == set(expect.calls)
    for text in expect.warnings:
        assert any(text in warning for warning in ingest.warnings), ingest.warnings
    if not expect.warnings:
        assert ingest.warnings == []
    if expect.build:
        assert ingest.genome_build == expect.build


@pytest.mark.parametrize("row", vcf_params())
def test_every_record_gives_depths_or_a_clear_parse_error(row):
    """Depths of every sample and ALT of every record, whatever the caller; no crash."""
    path = REALDATA / row["file"]
    try:
        vcf = VCF(str(path), lazy=True)
    except Exception:  # unopenable headers are the outcome test's business
        pytest.skip("htslib cannot open the header (see test_manifest_vcf_outcome)")
    try:
        formats = header_formats(vcf)
        samples = len(vcf.samples)
        count = 0
        try:
            for variant in vcf:
                count += 1
                for sample in range(samples):
                    for alt in range(len(variant.ALT)):
                        vaf, depth, alt_reads = allele_depths(variant, sample, alt, formats)
                        assert vaf is None or 0 <= vaf <= 1
                        assert depth is None or depth >= 0
                        assert alt_reads is None or alt_reads >= 0
        except Exception as error:
            assert row["file"] == "htslib/test/vcf44_1.vcf", error  # VCF 4.4 phasing
            return
        assert count == int(row["records"])
    finally:
        vcf.close()


# --- VAF per caller, read straight from the callers' own files ----------------------------


@pytest.mark.parametrize(
    ("relative", "tumour", "position", "expected"),
    [
        # MuTect1: FA is the caller's fraction.
        ("vcf2maf/tests/test_mutect.vcf", "TUMOR", 2453125, (0.146, 206, 30)),
        # MuSE: AD (Number=.) and DP, no fraction: 2 / 11.
        ("vcf2maf/tests/test_muse.vcf", "TUMOR", 1289197, (round(2 / 11, 6), 11, 2)),
        # RADIA: AF per allele with REF first (0.9,0.1): the ALT's is 0.1.
        ("vcf2maf/tests/test_radia.vcf", "DNA_TUMOR", 29651735, (0.1, 106, 11)),
        ("vcf2maf/tests/test_radia.vcf", "RNA_TUMOR", 29651735, (0.15, 190, 29)),
        # SomaticSniper: DP4 ref-fwd, ref-rev, alt-fwd, alt-rev = 0,3,0,4.
        ("vcf2maf/tests/test_sniper.vcf", "TUMOR", 1233886, (round(4 / 7, 6), 7, 4)),
        # Pindel: AD 43,4 with DP 47.
        ("vcf2maf/tests/test_pindel.vcf", "TUMOR", 16890971, (round(4 / 47, 6), 47, 4)),
        # VarScan2: FREQ "38.46%", AD = ALT count only, RD = REF count.
        ("vcf2maf/tests/test_varscan.vcf", "TUMOR", 1991014, (0.3846, 91, 35)),
        # Strelka (tier-1 counts, no GT): C>T with TU 57.
        ("vcf2maf/tests/test_strelka.vcf", "TUMOR", 12170228, (1.0, 57, 57)),
        ("nf-pcgr/assets/test_data/HCC1395T_vs_HCC1395N.strelka.somatic_snvs.vcf.gz", "TUMOR",
         727791, (0.25, 8, 2)),
        ("nf-pcgr/assets/test_data/HCC1395T_vs_HCC1395N.strelka.somatic_indels.vcf.gz",
         "TUMOR", 939570, (1.0, 38, 33)),
        # FreeBayes: AO/RO; an ALT with no reads in the tumour is 0, not unknown.
        ("nf-pcgr/assets/test_data/HCC1395T_vs_HCC1395N.freebayes.vcf.gz", "HCC1395_HCC1395T",
         65999, (0.0, 36, 0)),
        ("nf-pcgr/assets/test_data/HCC1395T_vs_HCC1395N.mutect2.vcf.gz", "HCC1395_HCC1395T",
         182785, (0.075, 74, 3)),
        # PCGR: one column with tumour DPT/ADT ("21,8", Type=String) and control DPC/ADC.
        ("pcgr/examples/T001-COAD.grch38.vcf.gz", None, 1042010, (round(8 / 29, 6), 29, 8)),
    ],
)  # fmt: skip
def test_caller_vaf(realdata, relative, tumour, position, expected):
    vcf = VCF(str(realdata / relative))
    try:
        formats = header_formats(vcf)
        index = list(vcf.samples).index(tumour) if tumour else 0
        variant = next(v for v in vcf if v.POS == position)
        assert allele_depths(variant, index, 0, formats) == expected
    finally:
        vcf.close()


# --- malformed files made readable enough to reach their records --------------------------


def with_annotation(source: Path, target: Path, rewrite=None) -> Path:
    """Copy ``source`` with a VEP CSQ header added (and its lines rewritten), uncompressed."""
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as stream:
        lines = stream.read().splitlines()
    lines.insert(1, vep_header())
    if rewrite:
        lines = [rewrite(line) for line in lines]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def tp53_entry(allele: str) -> str:
    return vep_entry(
        Allele=allele, Consequence="missense_variant", IMPACT="MODERATE", SYMBOL="TP53",
        Feature="ENST00000269305.9", BIOTYPE="protein_coding", CANONICAL="YES",
        HGVSp="ENSP00000269305.4:p.Arg175His",
    )  # fmt: skip


def test_vcf44_phasing_prefix_is_refused_naming_file_and_version(realdata, tmp_path):
    path = with_annotation(realdata / "htslib/test/vcf44_1.vcf", tmp_path / "v44.vcf")
    with pytest.raises(InputError) as caught:
        read_sample(vcf_path=path, sample_id="S1", tumor_sample="HG00096", panel_genes=PANEL)
    message = str(caught.value)
    assert str(path) in message
    assert "cannot parse record" in message and "VCFv4.4" in message


def test_non_ascii_sample_names(realdata, tmp_path):
    def annotate(line: str) -> str:
        if line.startswith("1\t100\t"):
            fields = line.split("\t")
            fields[7] = f"CSQ={tp53_entry('T')}"
            return "\t".join(fields)
        return line

    path = with_annotation(realdata / "htslib/test/formatcols.vcf", tmp_path / "fc.vcf", annotate)
    with pytest.raises(InputError) as caught:
        read_sample(vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL)
    assert "S1, S², S3" in str(caught.value) and str(path) in str(caught.value)
    ingest = read_sample(vcf_path=path, sample_id="S1", tumor_sample="S²", panel_genes=PANEL)
    assert ingest.tumor_sample == "S²"
    assert [(c.gene, c.protein_change, c.vaf) for c in ingest.calls] == [("TP53", "R175H", None)]


def test_positions_near_2_to_the_31(realdata, tmp_path):
    def add_sample(line: str) -> str:
        if line.startswith("#CHROM"):
            return line + "\tFORMAT\tTUMOR"
        if line.startswith("#"):
            return line
        fields = line.split("\t")
        if fields[1] == "2147483647":
            fields[7] = f"CSQ={tp53_entry('T')}"
        return "\t".join(fields + ["GT:AD:DP", "0/1:20,10:30"])

    source = realdata / "htslib/test/tabix/large_chr.vcf"
    lines = ['##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
             '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">']  # fmt: skip
    path = with_annotation(source, tmp_path / "large.vcf", add_sample)
    text = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([text[0], *lines, *text[1:]]) + "\n", encoding="utf-8")
    ingest = read_sample(vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL)
    assert ingest.records_read == 12
    assert [(c.chrom, c.pos, c.gene, c.vaf, c.depth) for c in ingest.calls] == [
        ("chr20", 2147483647, "TP53", round(10 / 30, 6), 30)
    ]


def test_indexed_real_file_reads_the_same_in_parallel(realdata, tmp_path, monkeypatch):
    """pcgr's bgzipped, tabix-indexed VCF: per-contig workers give the one-pass result."""
    import mmresist.ingest.vcf as vcf_module

    source = realdata / "pVACtools/tests/test_data/input_file_converter/somatic.vcf.gz"
    copy = tmp_path / "somatic.vcf.gz"
    shutil.copyfile(source, copy)
    import pysam

    pysam.tabix_index(str(copy), preset="vcf", force=True)
    monkeypatch.setattr(vcf_module, "PARALLEL_MIN_RECORDS", 0)
    one = read_sample(vcf_path=copy, sample_id="S1", tumor_sample=None, panel_genes=PANEL,
                      threads=1)  # fmt: skip
    assert vcf_module._contig_plan(str(copy), 2) is not None
    two = read_sample(vcf_path=copy, sample_id="S1", tumor_sample=None, panel_genes=PANEL,
                      threads=2)  # fmt: skip
    assert two == one
    assert one.records_read == 2734
