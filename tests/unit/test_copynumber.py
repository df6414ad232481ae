"""Copy number: CNVkit, PURPLE and gene tables, real files from ../shared/realdata included."""

from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path

import pytest

from mmresist.copynumber import call_from_copies, cnvkit_copies, read_copy_number
from mmresist.errors import InputError

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
PURPLE = REALDATA / "gpgr" / "inst" / "extdata" / "purple"
CNVKIT = REALDATA / "cnvkit" / "test" / "formats"

_skip_without_realdata = pytest.mark.skipif(
    not REALDATA.is_dir(),
    reason=f"real-data folder {REALDATA} is absent (it sits beside a developer's clone only)",
)


def realdata(test):
    """Mark a test as reading ../shared/realdata and skip it cleanly when that is absent."""
    return pytest.mark.realdata(_skip_without_realdata(test))


PANEL = {"CRBN", "TP53", "NRAS", "KRAS", "BRAF", "RB1", "MYC", "MCL1", "TENT5C", "KDM6A"}
CNVKIT_HEADER = "chromosome\tstart\tend\tgene\tlog2\tdepth\tprobes\tweight"


def read(path, fmt, panel=PANEL, **options):
    calls = read_copy_number(path=path, fmt=fmt, sample_id="S1", panel_genes=panel, **options)
    assert all(call.sample_id == "S1" for call in calls)
    return {call.gene: call for call in calls}


def write(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def segment(gene, log2, chrom="chr1", start=1000, extra=""):
    return f"{chrom}\t{start}\t{start + 1000}\t{gene}\t{log2}\t100\t10\t5{extra}"


# ---- real files -------------------------------------------------------------------


@realdata
@pytest.mark.parametrize("generation", ["purple.cnv.gene.tsv", "v2.39/purple.cnv.gene.tsv"])
def test_purple_both_column_generations_show_the_crbn_loss(generation):
    path = PURPLE / generation
    # Verify the premise from the file itself, not from the README: CRBN's whole gene sits
    # at about one copy in this diploid-ish (ploidy 1.87) tumour.
    with open(path) as stream:
        rows = {row["gene"]: row for row in csv.DictReader(stream, delimiter="\t")}
    assert float(rows["CRBN"]["minCopyNumber"]) < 1.5
    calls = read(path, "purple")
    assert list(calls) == ["CRBN"]  # only panel genes; TP53 etc. are not in this excerpt
    assert calls["CRBN"].call == "loss"
    assert calls["CRBN"].copy_number == pytest.approx(1.0268)
    assert calls["CRBN"].source == "purple purple.cnv.gene.tsv line 31"


@realdata
def test_purple_generations_differ_only_in_the_renamed_last_column():
    old = (PURPLE / "v2.39" / "purple.cnv.gene.tsv").read_text().splitlines()
    new = (PURPLE / "purple.cnv.gene.tsv").read_text().splitlines()
    assert old[0].split("\t")[-1] == "minMinorAllelePloidy"
    assert new[0].split("\t")[-1] == "minMinorAlleleCopyNumber"
    panel = {line.split("\t")[3] for line in new[1:]}
    first = read(PURPLE / "purple.cnv.gene.tsv", "purple", panel)
    second = read(PURPLE / "v2.39" / "purple.cnv.gene.tsv", "purple", panel)
    assert len(first) == len(new) - 1 == 240
    assert first == second


@realdata
def test_purple_male_chrx_at_one_copy_is_neutral_only_when_sex_is_given():
    # The PURPLE purity file of this sample says MALE; CRLF2 sits on chrX at ~1 copy.
    assert "MALE" in (PURPLE / "purple.purity.tsv").read_text()
    path = PURPLE / "purple.cnv.gene.tsv"
    assert read(path, "purple", {"CRLF2"})["CRLF2"].call == "loss"
    assert read(path, "purple", {"CRLF2", "CRBN"}, sex="male")["CRLF2"].call == "neutral"
    assert read(path, "purple", {"CRBN"}, sex="male")["CRBN"].call == "loss"


def _file_genes(path: Path) -> set[str]:
    genes = set()
    with open(path) as stream:
        for row in csv.DictReader(stream, delimiter="\t"):
            genes.update(re.split(r"[,;]", row["gene"]))
    return genes - {"-", "Background", ""}


@realdata
def test_cnvkit_log2_calls_match_cnvkits_own_cn_column_on_autosomes():
    """p2-9_2.cns and p2-9_2.call.cns hold the same segments; the latter adds CNVkit's cn."""
    segments = CNVKIT / "regression" / "p2-9_2.cns"
    called = CNVKIT / "regression" / "p2-9_2.call.cns"
    panel = _file_genes(called)
    from_log2 = read(segments, "cnvkit", panel)
    from_cn = read(called, "cnvkit", panel)
    assert len(from_cn) > 100 and set(from_log2) == set(from_cn)
    autosomal = [gene for gene, call in from_cn.items() if "chrX" not in _chrom_of(called, call)]
    assert len(autosomal) > 100
    mismatches = {
        gene: (from_log2[gene].call, from_cn[gene].call)
        for gene in autosomal
        if from_log2[gene].call != from_cn[gene].call
    }
    assert mismatches == {}
    assert from_cn["NRAS"].call == "loss" and from_cn["NRAS"].copy_number == 1
    assert from_cn["RB1"].call == "gain" and from_cn["TP53"].call == "neutral"


def _chrom_of(path: Path, call) -> str:
    line = int(call.source.rsplit("line ", 1)[1])
    return path.read_text().splitlines()[line - 1].split("\t")[0]


@realdata
def test_cnvkit_chrx_against_a_male_reference_needs_the_cn_column():
    # This sample was called with a haploid-X (male) reference: CNVkit's cn says 3 copies
    # of KDM6A where reading log2 against a diploid reference gives 5. Documented limit.
    called = read(CNVKIT / "regression" / "p2-9_2.call.cns", "cnvkit")
    assert (called["KDM6A"].call, called["KDM6A"].copy_number) == ("gain", 3.0)
    assert read(CNVKIT / "regression" / "p2-9_2.cns", "cnvkit")["KDM6A"].copy_number == 5.0


@realdata
def test_cnvkit_amplicon_segments_pick_the_most_severe_per_gene():
    calls = read(CNVKIT / "amplicon.cns", "cnvkit")
    assert calls["RB1"].call == "homozygous_deletion"
    assert calls["MYC"].call == "homozygous_deletion"
    # BRAF spans three segments: losses either side of a two-bin log2 2.71 amplicon.
    assert calls["BRAF"].call == "amplification" and calls["BRAF"].log2 == pytest.approx(2.70742)
    assert calls["KRAS"].call == "gain"
    assert calls["TP53"].call == "neutral"


@realdata
def test_cnvkit_bins_are_summarised_per_gene_and_background_ignored():
    calls = read(CNVKIT / "regression" / "p2-9_2.cnr", "cnvkit", PANEL | {"Background"})
    assert "Background" not in calls
    assert calls["NRAS"].call == "loss"
    assert "(7 bins)" in calls["NRAS"].source
    # Weighted mean of NRAS's seven bins, read back from the file.
    with open(CNVKIT / "regression" / "p2-9_2.cnr") as stream:
        bins = [r for r in csv.DictReader(stream, delimiter="\t") if r["gene"] == "NRAS"]
    mean = sum(float(r["log2"]) * float(r["weight"]) for r in bins) / sum(
        float(r["weight"]) for r in bins
    )
    assert calls["NRAS"].log2 == pytest.approx(mean, abs=1e-6)


@realdata
def test_cnvkit_gene_aliases_and_semicolon_joined_names():
    calls = read(CNVKIT / "nv3.cns", "cnvkit", aliases={"FAM46C": "TENT5C"})
    assert calls["TENT5C"].call == "neutral"  # written FAM46C in the file
    assert calls["TP53"].call == "loss"


@realdata
@pytest.mark.parametrize(
    "name",
    ["amplicon.cnr", "amplicon.cns", "cl_seq.cns", "nv3.cns", "tr95t.cns", "tr95t.segmetrics.cns"],
)
def test_every_real_cnvkit_file_is_read(name):
    calls = read(CNVKIT / name, "cnvkit")
    assert calls and list(calls) == sorted(calls)
    assert {call.call for call in calls.values()} <= {
        "homozygous_deletion",
        "loss",
        "neutral",
        "gain",
        "amplification",
    }


@realdata
def test_a_seg_file_is_not_a_cnvkit_gene_file():
    with pytest.raises(InputError) as caught:
        read(CNVKIT / "cw-tr-log2.seg", "cnvkit")
    assert caught.value.line == 1 and caught.value.field == "gene"


# ---- the rules, on small synthetic files -------------------------------------------


@pytest.mark.parametrize(
    ("log2", "copies"),
    [
        (-1.1, 0),
        (-1.09, 1),
        (-0.25, 1),
        (-0.24, 2),
        (0.2, 2),
        (0.21, 3),
        (0.7, 3),
        (1.0, 4),
        (1.01, 5),
    ],
)
def test_cnvkit_default_thresholds(log2, copies):
    assert cnvkit_copies(log2) == copies


def test_cnvkit_purity_rescaling_formula():
    # n = (2 * 2^log2 - 2 * (1 - p)) / p, then thresholds on log2(n / 2).
    assert cnvkit_copies(-0.4) == 1
    assert cnvkit_copies(-0.4, purity=0.3) == 0  # n = (1.516 - 1.4) / 0.3 = 0.39
    assert cnvkit_copies(-0.2, purity=0.5) == 1  # n = (1.741 - 1) / 0.5 = 1.48
    assert cnvkit_copies(-0.2) == 2
    assert cnvkit_copies(0.3, purity=0.4) == 3  # n = (2.462 - 1.2) / 0.4 = 3.16 -> log2 0.66
    assert cnvkit_copies(0.5, purity=0.4) == 5  # n = (2.828 - 1.2) / 0.4 = 4.07 -> ceil
    assert cnvkit_copies(0.5) == 3
    assert cnvkit_copies(0.1, purity=1.0) == cnvkit_copies(0.1)


def test_purity_changes_the_call_of_a_cnvkit_segment(tmp_path):
    path = write(tmp_path, "s.cns", CNVKIT_HEADER, segment("CRBN", -0.4))
    assert read(path, "cnvkit")["CRBN"].call == "loss"
    assert read(path, "cnvkit", purity=0.3)["CRBN"].call == "homozygous_deletion"


@pytest.mark.parametrize(
    ("copies", "expected", "base", "call"),
    [
        (0, 2, 2, "homozygous_deletion"),
        (1, 2, 2, "loss"),
        (2, 2, 2, "neutral"),
        (4, 2, 2, "gain"),
        (5, 2, 2, "amplification"),
        (1, 1, 2, "neutral"),  # male chrX
        (3, 4, 4, "loss"),  # tetraploid tumour
        (9, 4, 4, "gain"),
        (10, 4, 4, "amplification"),
    ],
)
def test_call_from_copies(copies, expected, base, call):
    assert call_from_copies(copies, expected=expected, base=base) == call


def test_overlapping_segments_most_severe_wins_and_cn_column_beats_log2(tmp_path):
    path = write(
        tmp_path,
        "s.call.cns",
        "chromosome\tstart\tend\tgene\tlog2\tcn\tprobes",
        "chr3\t1\t100\tCRBN,TRNT1\t-0.5\t1\t4",
        "chr3\t100\t200\tCRBN\t-0.6\t0\t4",  # CNVkit's cn (purity-aware) says 0
        "chr17\t1\t100\tTP53\t1.5\t5\t4",
        "chr17\t100\t200\tTP53\t-0.5\t1\t4",
        "chr12\t1\t100\tBackground\t3.0\t12\t4",
    )
    calls = read(path, "cnvkit")
    assert (calls["CRBN"].call, calls["CRBN"].copy_number) == ("homozygous_deletion", 0.0)
    assert calls["CRBN"].source.endswith("line 3")
    assert calls["TP53"].call == "amplification"
    assert set(calls) == {"CRBN", "TP53"}


def test_cnvkit_bins_use_weights_like_cnvkit_segment_mean(tmp_path):
    header = "chromosome\tstart\tend\tgene\tlog2\tdepth\tweight"
    path = write(
        tmp_path,
        "s.cnr",
        header,
        "chr3\t1\t2\tCRBN\t-1.0\t50\t0.9",
        "chr3\t2\t3\tCRBN\t0.5\t50\t0.1",
        "chr3\t3\t4\tAntitarget\t-3\t50\t1",
        "chr17\t1\t2\tTP53\t-1.0\t50\t0",  # all weights zero: the plain mean
        "chr17\t2\t3\tTP53\t0.2\t50\t0",
    )
    calls = read(path, "cnvkit")
    assert calls["CRBN"].log2 == pytest.approx(-0.85)  # 0.9 * -1 + 0.1 * 0.5
    assert calls["CRBN"].call == "loss"
    assert calls["TP53"].log2 == pytest.approx(-0.4)
    assert calls["CRBN"].source == "cnvkit s.cnr lines 2-3 (2 bins)"


def test_female_chry_is_ignored_and_male_chrx_is_haploid(tmp_path):
    path = write(
        tmp_path,
        "s.cns",
        CNVKIT_HEADER,
        segment("KDM5D", -3.0, chrom="chrY"),
        segment("KDM6A", -1.0, chrom="chrX"),
    )
    panel = {"KDM5D", "KDM6A"}
    assert list(read(path, "cnvkit", panel, sex="female")) == ["KDM6A"]
    assert read(path, "cnvkit", panel)["KDM5D"].call == "homozygous_deletion"
    assert read(path, "cnvkit", panel)["KDM6A"].call == "loss"
    assert read(path, "cnvkit", panel, sex="M")["KDM6A"].call == "neutral"
    with pytest.raises(InputError, match="sex"):
        read(path, "cnvkit", panel, sex="unknown")


def test_cnvkit_gzip_file_is_read(tmp_path):
    path = tmp_path / "s.cns.gz"
    with gzip.open(path, "wt") as stream:
        stream.write(CNVKIT_HEADER + "\n" + segment("MYC", 1.6, chrom="chr8") + "\n")
    assert read(path, "cnvkit")["MYC"].call == "amplification"


@pytest.mark.parametrize(
    ("minimum", "call"),
    [
        (0.49, "homozygous_deletion"),
        (0.5, "loss"),
        (1.49, "loss"),
        (1.5, "neutral"),
        (2.6, "gain"),
        (4.49, "gain"),
        (4.5, "amplification"),
        (-0.03, "homozygous_deletion"),
    ],
)
def test_purple_thresholds_on_min_copy_number(tmp_path, minimum, call):
    path = write(
        tmp_path,
        "p.purple.cnv.gene.tsv",
        "chromosome\tstart\tend\tgene\tminCopyNumber\tmaxCopyNumber",
        f"chr3\t3150011\t3179710\tCRBN\t{minimum}\t{max(minimum, 2.0)}",
    )
    assert read(path, "purple")["CRBN"].call == call


def test_purple_ploidy_sets_the_neutral_level(tmp_path):
    path = write(
        tmp_path,
        "p.tsv",
        "chromosome\tstart\tend\tgene\tminCopyNumber\tmaxCopyNumber",
        "chr3\t1\t2\tCRBN\t2.9\t3.0",
    )
    assert read(path, "purple")["CRBN"].call == "gain"
    assert read(path, "purple", ploidy=3.1)["CRBN"].call == "neutral"
    assert read(path, "purple", ploidy=3.9)["CRBN"].call == "loss"


def test_purple_v3_layout_counts_canonical_transcripts_only(tmp_path):
    path = write(
        tmp_path,
        "p.tsv",
        "chromosome\tstart\tend\tgene\tminCopyNumber\tmaxCopyNumber\tsomaticRegions"
        "\ttranscriptId\tisCanonical\tminMinorAlleleCopyNumber",
        "chr17\t1\t2\tTP53\t1.9\t2.1\t1\tENST00000269305\ttrue\t0.9",
        "chr17\t1\t2\tTP53\t0.1\t2.1\t1\tENST00000999999\tfalse\t0.0",
    )
    assert read(path, "purple")["TP53"].call == "neutral"


@pytest.mark.parametrize(
    ("word", "call"),
    [
        ("HomDel", "homozygous_deletion"),
        ("deep deletion", "homozygous_deletion"),
        ("-2", "homozygous_deletion"),
        ("deletion", "loss"),
        ("Loss", "loss"),
        ("none", "neutral"),
        ("GAIN", "gain"),
        ("amp", "amplification"),
        ("2", "amplification"),
    ],
)
def test_gene_tsv_call_words_are_normalised(tmp_path, word, call):
    path = write(tmp_path, "g.tsv", "gene\tcopy_number\tcall", f"CRBN\t2\t{word}")
    assert read(path, "gene_tsv")["CRBN"].call == call


def test_gene_tsv_without_call_uses_copy_number_or_log2(tmp_path):
    path = write(
        tmp_path,
        "g.tsv",
        '"gene"\t"copy_number"\t"log2"\t"call"',  # R's write.table quotes
        '"CRBN"\t0.2\t\t',
        '"FAM46C"\t\t-0.6\tNA',
        '"MCL1"\t6\t\t',
        '"EGFR"\t0\t\t',  # not a panel gene
        '"NRAS"\t\t\t',  # says nothing: no call, never "neutral"
    )
    calls = read(path, "gene_tsv", aliases={"FAM46C": "TENT5C"})
    assert {gene: call.call for gene, call in calls.items()} == {
        "CRBN": "homozygous_deletion",
        "MCL1": "amplification",
        "TENT5C": "loss",
    }
    assert list(calls) == sorted(calls)


def test_gene_tsv_male_chrx(tmp_path):
    path = write(tmp_path, "g.tsv", "gene\tchromosome\tcopy_number", "KDM6A\tX\t1")
    assert read(path, "gene_tsv")["KDM6A"].call == "loss"
    assert read(path, "gene_tsv", sex="male")["KDM6A"].call == "neutral"


@pytest.mark.parametrize(
    ("fmt", "lines", "line", "field", "fragment"),
    [
        (
            "cnvkit",
            ["chromosome\tstart\tend\tgene\tdepth", "chr1\t1\t2\tNRAS\t3"],
            1,
            "log2",
            "missing column",
        ),
        (
            "cnvkit",
            [CNVKIT_HEADER, segment("NRAS", 0.1), segment("KRAS", "abc")],
            3,
            "log2",
            "not a number",
        ),
        ("cnvkit", [CNVKIT_HEADER, segment("NRAS", "inf")], 2, "log2", "finite"),
        ("purple", [CNVKIT_HEADER, segment("NRAS", 0.1)], 1, "minCopyNumber", "PURPLE"),
        (
            "purple",
            ["gene\tminCopyNumber", "CRBN\t1.0", "CRBN\tone"],
            3,
            "minCopyNumber",
            "not a number",
        ),
        ("gene_tsv", ["symbol\tvalue", "CRBN\t1"], 1, "copy_number", "copy_number, log2 or call"),
        ("gene_tsv", ["copy_number\tcall", "1\tloss"], 1, "gene", "missing column"),
        (
            "gene_tsv",
            ["gene\tcall", "CRBN\tloss", "TP53\tweird"],
            3,
            "call",
            "unknown copy-number call",
        ),
        ("cnvkit", ["chromosome start end gene log2"], 1, None, "not tab-separated"),
    ],
)
def test_malformed_files_name_file_line_and_column(tmp_path, fmt, lines, line, field, fragment):
    path = write(tmp_path, "bad.tsv", *lines)
    with pytest.raises(InputError) as caught:
        read(path, fmt, PANEL | {"CRBN"})
    error = caught.value
    assert (error.file, error.line, error.field) == (str(path), line, field)
    assert fragment in str(error) and str(path) in str(error)


def test_unknown_format_missing_and_empty_files(tmp_path):
    path = write(tmp_path, "s.cns", CNVKIT_HEADER)
    with pytest.raises(InputError) as caught:
        read(path, "facets")
    assert caught.value.field == "cnv_format" and "cnvkit, purple, gene_tsv" in str(caught.value)
    with pytest.raises(InputError, match="does not exist"):
        read(tmp_path / "absent.cns", "cnvkit")
    (tmp_path / "empty.cns").write_text("")
    with pytest.raises(InputError, match="empty file"):
        read(tmp_path / "empty.cns", "cnvkit")
    with pytest.raises(InputError, match="purity"):
        read(path, "cnvkit", purity=0)
    assert read(path, "cnvkit") == {}


def test_structural_deletions_become_gene_level_losses_merged_by_severity():
    from mmresist.copynumber import deletions_as_copy_number, merge_copy_number
    from mmresist.model import CopyNumberCall, VariantCall

    calls = [
        VariantCall("S", "chr16", 11950000, "N", "<DEL>", "TNFRSF17", "transcript_ablation"),
        VariantCall("S", "chr3", 3150000, "N", "<DEL:ME>", "CRBN", "feature_truncation"),
        VariantCall("S", "chr12", 12950000, "C", "T", "GPRC5D", "stop_gained"),
        VariantCall("S", "chr5", 143300000, "N", "<DEL>", "NR3C1", filter_reasons=["low_vaf"]),
    ]
    deletions = deletions_as_copy_number(calls)
    assert [(c.gene, c.call) for c in deletions] == [("CRBN", "loss"), ("TNFRSF17", "loss")]
    assert deletions[1].source == "structural deletion <DEL> at chr16:11950000"
    from_file = [
        CopyNumberCall("S", "TNFRSF17", "homozygous_deletion", copy_number=0),
        CopyNumberCall("S", "CRBN", "neutral", copy_number=2),
        CopyNumberCall("S", "KRAS", "gain", copy_number=3),
    ]
    merged = {c.gene: c.call for c in merge_copy_number(from_file, deletions)}
    assert merged == {"CRBN": "loss", "KRAS": "gain", "TNFRSF17": "homozygous_deletion"}
