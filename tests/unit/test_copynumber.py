"""Copy number: CNVkit, PURPLE, SEG and gene tables, real files from ../shared/realdata included."""

from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path

import pytest

from mmresist.errors import InputError
from mmresist.io.copynumber import call_from_copies, cnvkit_copies, read_copy_number

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


def read(path, fmt, panel=PANEL, sample_id="S1", **options):
    calls = read_copy_number(path=path, fmt=fmt, sample_id=sample_id, panel_genes=panel, **options)
    assert all(call.sample_id == sample_id for call in calls)
    return {call.gene: call for call in calls}


def write(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


REPO = Path(__file__).resolve().parents[2]
COORDINATES = REPO / "resources" / "knowledge" / "gene_coordinates.tsv"


def grch38_regions() -> dict[str, tuple[str, int, int]]:
    """The knowledge base's GRCh38 gene coordinates, as the workflow passes them."""
    with open(COORDINATES) as stream:
        return {
            row["symbol"]: (row["chrom"], int(row["start"]), int(row["end"]))
            for row in csv.DictReader(stream, delimiter="\t")
            if row["genome_build"] == "GRCh38"
        }


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


@realdata
def test_real_log2_seg_needs_the_sample_and_reads_one_of_41():
    path = CNVKIT / "cw-tr-log2.seg"
    regions = grch38_regions()
    with pytest.raises(InputError) as caught:
        read(path, "seg", set(regions), gene_regions=regions)
    error = caught.value
    assert (error.file, error.line, error.field) == (str(path), None, "id")
    assert "holds 41 samples and none is sample_id 'S1'" in str(error)
    assert "TR_01_T, TR_02_T" in str(error) and "(41 in all)" in str(error)
    # The sheet's tumor_sample names the file's ID when sample_id does not.
    calls = read(path, "seg", set(regions), gene_regions=regions, tumor_sample="TR_01_T")
    # The premise from the file itself: its line 21 is a chr13 segment at log2 2.6111,
    # about 12 copies, over CUL4A's (GRCh38) coordinates. (The file's own build is not
    # stated; this checks the reading, not the biology.)
    line = path.read_text().splitlines()[20].split("\t")
    assert line[:2] == ["TR_01_T", "13"] and float(line[5]) == 2.6111
    chrom, start, end = regions["CUL4A"]
    assert chrom == "13" and int(line[2]) <= end and int(line[3]) >= start
    assert calls["CUL4A"].call == "amplification" and calls["CUL4A"].copy_number == 13.0
    assert calls["CUL4A"].source == "seg cw-tr-log2.seg line 21 (TR_01_T)"
    assert {call.call for gene, call in calls.items() if gene != "CUL4A"} == {"neutral"}
    assert len(calls) == 110  # every panel gene on chr1-22/X is covered by a segment


@realdata
def test_real_log10_seg_is_read_only_as_log10():
    path = CNVKIT / "acgh-log10.seg"
    regions = grch38_regions()
    as_log10 = read(path, "seg_log10", set(regions), gene_regions=regions, sample_id="TR_28_T")
    as_log2 = read(path, "seg", set(regions), gene_regions=regions, sample_id="TR_28_T")
    assert set(as_log10) == set(as_log2) and len(as_log10) == 106  # no X/Y segments
    # IRF4 sits in a log10 0.111 segment: log2 0.3687, three copies; read as log2 it
    # would be neutral (0.111 <= 0.2).
    assert as_log10["IRF4"].call == "gain" and as_log10["IRF4"].log2 == pytest.approx(0.368734)
    assert as_log2["IRF4"].call == "neutral"
    assert {call.call for gene, call in as_log10.items() if gene != "IRF4"} == {"neutral"}


@realdata
def test_real_seg_with_an_r_warning_line_and_quoted_header_is_read_with_a_warning():
    path = CNVKIT / "warning.seg"
    assert path.read_text().startswith("WARNING: ignoring environment value of R_HOME\n")
    warnings: list[str] = []
    # Its 11 segments cover chr1:10400-269437, where no panel gene lies ...
    assert read(path, "seg", gene_regions=grch38_regions(), warnings=warnings) == {}
    assert warnings == [
        f"{path}: line 1: skipped an R message written before the header: "
        "'WARNING: ignoring environment value of R_HOME'"
    ]
    # ... so a made-up gene over lines 6 (log2 -0.44, one copy) and 7 (-0.18, two copies)
    # shows the segments are read; the only ID, MySample, is taken for S1.
    calls = read(path, "seg", {"GENE1"}, gene_regions={"GENE1": ("1", 150000, 160000)})
    assert (calls["GENE1"].call, calls["GENE1"].copy_number) == ("loss", 1.0)
    assert calls["GENE1"].log2 == pytest.approx(-0.440204)
    assert calls["GENE1"].source == "seg warning.seg line 6 (MySample)"


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
    from mmresist.io.copynumber import deletions_as_copy_number, merge_copy_number
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


# ---- SEG ----------------------------------------------------------------------------

# Small made-up coordinates (1-based, inclusive), on the chromosome names SEG files use.
REGIONS = {
    "CRBN": ("3", 1000, 2000),
    "TP53": ("17", 5000, 6000),
    "MYC": ("8", 100, 200),
    "KDM6A": ("X", 300, 400),
    "FAM46C": ("1", 700, 800),  # an alias of the panel's TENT5C
    "EGFR": ("7", 1, 10_000),  # not a panel gene
}
SEG_HEADER = "ID\tchrom\tloc.start\tloc.end\tnum.mark\tseg.mean"


def seg(tmp_path, *rows, header=SEG_HEADER, name="s.seg"):
    return write(tmp_path, name, header, *rows)


def read_seg(path, fmt="seg", **options):
    options.setdefault("gene_regions", REGIONS)
    return read(path, fmt, PANEL | {"KDM6A"}, aliases={"FAM46C": "TENT5C"}, **options)


def test_seg_segments_map_to_genes_by_overlap_and_the_most_severe_wins(tmp_path):
    path = seg(
        tmp_path,
        "S1\t3\t1\t999\t10\t-2.0",  # ends one base before CRBN: no overlap
        "S1\t3\t1000\t1500\t10\t-0.5",  # CRBN, 1 copy: loss
        "S1\t3\t1501\t3000\t10\t-1.5",  # CRBN, 0 copies: wins
        "S1\tchr17\t5500\t5500\t1\t1.5",  # one base inside TP53; chr prefix is fine
        "S1\t17\t6000\t9000\t5\t-0.3",  # TP53 loss, less severe than amplification
        "S1\t8\t1\t99\t5\t3.0",  # before MYC
        "S1\t7\t1\t10000\t5\t3.0",  # EGFR is not on the panel
        "S1\t1\t750\t750\t1\t0.1",  # FAM46C -> TENT5C, neutral
        "S1\t2\t1\t100000\t5\t-3",  # no gene on chr2
    )
    calls = read_seg(path)
    assert {gene: (call.call, call.copy_number) for gene, call in calls.items()} == {
        "CRBN": ("homozygous_deletion", 0.0),
        "TENT5C": ("neutral", 2.0),
        "TP53": ("amplification", 6.0),  # ceil(2 * 2^1.5) = 6
    }
    assert calls["CRBN"].source == "seg s.seg line 4 (S1)" and calls["CRBN"].log2 == -1.5
    assert "MYC" not in calls  # no segment over it: no call, never neutral


def test_seg_log2_and_log10_and_purity_use_the_cnvkit_rules(tmp_path):
    path = seg(tmp_path, "S1\t3\t1\t5000\t10\t-0.2")
    # log2 -0.2: 2 copies; as log10, log2 = -0.2 / log10(2) = -0.664: 1 copy.
    assert read_seg(path)["CRBN"].call == "neutral"
    log10 = read_seg(path, "seg_log10")["CRBN"]
    assert (log10.call, log10.copy_number) == ("loss", 1.0)
    assert log10.log2 == pytest.approx(-0.664386, abs=1e-6)
    # Purity 0.5: n = (2 * 2^-0.2 - 1) / 0.5 = 1.48 -> log2(0.74) = -0.43: 1 copy.
    assert read_seg(path, purity=0.5)["CRBN"].call == "loss"


def test_seg_header_spellings_quotes_and_r_positions(tmp_path):
    path = seg(
        tmp_path,
        '"TUMOUR"\t"chr3"\t1e+03\t2e+03\t4\t-1.2',  # R writes 1000 as 1e+03
        header='"Sample"\t"Chromosome"\t"Start Position"\t"End Position"\t"Num_Probes"'
        '\t"Segment_Mean"',
    )
    assert read_seg(path)["CRBN"].call == "homozygous_deletion"
    gistic = seg(
        tmp_path,
        "S1\t3\t1000\t2000\t0.9",  # no marker column
        header="sampleName\tchromosome\tstart\tend\tmean",
        name="pscbs.seg",
    )
    calls = read_seg(gistic)
    assert (calls["CRBN"].call, calls["CRBN"].copy_number) == ("gain", 4.0)  # ceil(3.73)


def test_seg_sample_choice(tmp_path):
    path = seg(
        tmp_path,
        "NORMAL\t3\t1000\t2000\t10\t0.0",
        "S1\t3\t1000\t2000\t10\t-0.5",
        "PT1-T\t3\t1000\t2000\t10\t-1.5",
    )
    assert read_seg(path)["CRBN"].call == "loss"  # the sample_id
    by_tumour = read_seg(path, sample_id="S9", tumor_sample="PT1-T")
    assert by_tumour["CRBN"].call == "homozygous_deletion"
    assert read_seg(path, tumor_sample="PT1-T")["CRBN"].call == "loss"  # sample_id first
    with pytest.raises(InputError) as caught:
        read_seg(path, sample_id="S9", tumor_sample="T9")
    error = caught.value
    assert (error.file, error.field) == (str(path), "id")
    assert "holds 3 samples and none is sample_id 'S9' or tumor_sample 'T9'" in str(error)
    assert error.got == "NORMAL, PT1-T, S1"
    only = seg(tmp_path, "OTHER\t3\t1000\t2000\t10\t-0.5", name="one.seg")
    assert read_seg(only, sample_id="S9")["CRBN"].source == "seg one.seg line 2 (OTHER)"
    assert read_seg(seg(tmp_path, name="empty.seg")) == {}  # a header only: no calls


def test_seg_sex_chromosomes_numbered_23_and_24(tmp_path):
    path = seg(tmp_path, "S1\t23\t1\t1000\t10\t-1.0", "S1\t24\t1\t1000\t10\t-3")
    regions = {**REGIONS, "KDM5D": ("Y", 10, 20)}
    panel = {"KDM6A", "KDM5D"}
    assert read(path, "seg", panel, gene_regions=regions)["KDM6A"].call == "loss"
    male = read(path, "seg", panel, gene_regions=regions, sex="male")
    assert (male["KDM6A"].call, male["KDM5D"].call) == ("neutral", "homozygous_deletion")
    assert list(read(path, "seg", panel, gene_regions=regions, sex="female")) == ["KDM6A"]


@pytest.mark.parametrize("regions", [None, {}])
def test_seg_without_gene_coordinates_is_refused(tmp_path, regions):
    path = seg(tmp_path, "S1\t3\t1000\t2000\t10\t-0.5")
    with pytest.raises(InputError) as caught:
        read_seg(path, gene_regions=regions, genome_build="GRCh37")
    error = caught.value
    assert (error.file, error.field, error.got) == (str(path), "cnv_format", "seg")
    assert "SEG file needs gene coordinates for the configured genome build (GRCh37)" in str(error)


@pytest.mark.parametrize(
    ("header", "rows", "fmt", "line", "field", "fragment"),
    [
        ("ID\tchrom\tloc.start\tloc.end\tnum.mark", [], "seg", 1, "seg.mean", "SEG file"),
        ("ID\tchrom\tloc.end\tseg.mean", [], "seg", 1, "loc.start", "missing column"),
        ("chrom\tloc.start\tloc.end\tseg.mean", [], "seg", 1, "ID", "missing column"),
        ("ID\tchrom\tstart\tend\tlog10", [], "seg", 1, "log10", "says log10"),
        ("ID\tchrom\tstart\tend\tlog2", [], "seg_log10", 1, "log2", "says log2"),
        (SEG_HEADER, ["S1\t3\t1000\t2000\t1\t-0.1", "S1\t3\tx\t9\t1\t1"], "seg", 3,
         "loc.start", "whole number"),
        (SEG_HEADER, ["S1\t3\t1000.5\t2000\t1\t0"], "seg", 2, "loc.start", "whole number"),
        (SEG_HEADER, ["S1\t3\t2000\t1000\t1\t0"], "seg", 2, "loc.end", "end before"),
        (SEG_HEADER, ["S1\t3\t1000\t2000\t1\tlow"], "seg", 2, "seg.mean", "a number"),
        (SEG_HEADER, ["S1\t3\t1000\t2000\t1\tinf"], "seg", 2, "seg.mean", "finite"),
        ("WARNING: something", [SEG_HEADER], "cnvkit", 1, None, "not tab-separated"),
        ("Error in library(DNAcopy)", [SEG_HEADER], "seg", 1, None, "not tab-separated"),
    ],
)  # fmt: skip
def test_malformed_seg_files(tmp_path, header, rows, fmt, line, field, fragment):
    path = seg(tmp_path, *rows, header=header)
    with pytest.raises(InputError) as caught:
        read_seg(path, fmt)
    error = caught.value
    assert (error.file, error.line, error.field) == (str(path), line, field)
    assert fragment in str(error)


def test_seg_missing_values_and_minus_infinity(tmp_path):
    path = seg(
        tmp_path,
        "S1\t3\t1000\t2000\t0\tNA",  # no estimate: no call, never neutral
        "S1\t17\t5000\t6000\t0\t-Inf",  # no reads at all: no copies
    )
    calls = read_seg(path)
    assert list(calls) == ["TP53"] and calls["TP53"].call == "homozygous_deletion"


def test_r_warning_lines_are_skipped_with_a_warning_in_seg_only(tmp_path):
    path = seg(
        tmp_path,
        "S1\t3\t1000\t2000\t1\t-0.5",
        header="WARNING: ignoring environment value of R_HOME\nWarning message:\n" + SEG_HEADER,
    )
    warnings: list[str] = []
    calls = read_seg(path, warnings=warnings)
    assert calls["CRBN"].source == "seg s.seg line 4 (S1)"
    assert [warning.split(": line ")[1][:1] for warning in warnings] == ["1", "2"]
    assert read_seg(path)["CRBN"].call == "loss"  # skipped even when nobody collects them
    with pytest.raises(InputError, match="not tab-separated"):
        read(path, "gene_tsv")


def test_patient_job_maps_a_seg_file_to_genes_with_the_knowledge_coordinates(tmp_path):
    """CRBN lies at GRCh38 chr3:3,149,633-3,179,717 (resources/knowledge/gene_coordinates)."""
    from pathlib import Path

    from mmresist.pipeline import run_patient

    repo = Path(__file__).resolve().parents[2]
    seg = tmp_path / "P1.seg"
    seg.write_text(
        "ID\tchrom\tloc.start\tloc.end\tnum.mark\tseg.mean\n"
        "P1-RL\tchr3\t3000000\t3200000\t40\t-1.6\n"
        "P1-RL\tchr3\t3200001\t9000000\t400\t0.01\n"
    )
    vcf = repo / "resources/demo/vcf/MM-002_relapse.vcf.gz"
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "patient_id\tsample_id\ttimepoint\tcollection_date\tvcf\ttumor_sample\tcnv\tcnv_format\n"
        f"P1\tP1-RL\trelapse\t2024-06-01\t{vcf}\tTUMOR\t{seg}\tseg\n"
    )
    report = run_patient(
        patient_id="P1",
        samples_path=str(sheet),
        knowledge_path=str(repo / "resources/knowledge"),
        outdir=str(tmp_path / "out"),
        render=False,
    )
    calls = {entry["gene"]: entry["call"] for entry in report["copy_number"]}
    assert calls["CRBN"] == "homozygous_deletion"
    assert "CRBN" in {finding["gene"] for finding in report["findings"]}


# ---- absolute segment tables: purple_segments, allele_segments ----------------------

PURPLE_SEGMENT_HEADER = (
    "chromosome\tstart\tend\tcopyNumber\tbafCount\tobservedBAF\tbaf\tsegmentStartSupport\t"
    "segmentEndSupport\tmethod\tdepthWindowCount\tgcContent\tminStart\tmaxStart\t"
    "minorAlleleCopyNumber\tmajorAlleleCopyNumber"
)
ALLELE_HEADER = "Chromosome\tStart\tEnd\tnMajor\tnMinor"


def purple_segment(chrom, start, end, copies, minor, major):
    return (
        f"{chrom}\t{start}\t{end}\t{copies}\t10\t0.5\t0.5\tNONE\tNONE\tBAF_WEIGHTED\t10\t0.4\t"
        f"{start}\t{start}\t{minor}\t{major}"
    )


def test_purple_segments_round_copy_number_half_up_and_note_loh(tmp_path):
    path = write(
        tmp_path,
        "t.purple.cnv.somatic.tsv",
        PURPLE_SEGMENT_HEADER,
        purple_segment("chr3", 1, 999, 0.1, 0.0, 0.1),  # ends before CRBN
        purple_segment("chr3", 1000, 1500, 1.4999, 0.02, 1.48),  # 1 copy, LOH: loss
        purple_segment("chr3", 1501, 3000, 1.5, 0.5, 1.0),  # 2 copies (half up): neutral
        purple_segment("chr17", 5500, 5500, -0.03, 0.0, -0.03),  # TP53: 0 copies
        purple_segment("chr8", 1, 150, 4.5, 1.0, 3.5),  # MYC: 5 copies, amplification
        purple_segment("chr1", 700, 800, 2.4, 0.3, 2.1),  # TENT5C via FAM46C: 2, LOH
        purple_segment("chr7", 1, 10000, 9, 1, 8),  # EGFR, not a panel gene
        purple_segment("chr1", 801, 900, "NaN", "NaN", "NaN"),  # no estimate, no gene
    )
    calls = read_seg(path, "purple_segments", purity=0.3)  # purity is not applied again
    assert {gene: (call.call, call.copy_number) for gene, call in calls.items()} == {
        "CRBN": ("loss", 1.4999),
        "MYC": ("amplification", 4.5),
        "TENT5C": ("neutral", 2.4),
        "TP53": ("homozygous_deletion", -0.03),
    }
    source = "purple_segments t.purple.cnv.somatic.tsv line {}"
    assert calls["CRBN"].source == source.format("3, LOH, minor allele copy number 0.02")
    assert calls["MYC"].source == source.format(6)
    # copy-neutral LOH: still neutral, the LOH is in the source
    assert calls["TENT5C"].source == source.format("7, LOH, minor allele copy number 0.3")
    # 0 copies is not LOH: nothing is left
    assert calls["TP53"].source == source.format(5)
    assert all(call.log2 is None for call in calls.values())
    # A triploid sample: 4.5 copies round to 5, below 2.5 x 3; 1 and 2 copies are losses.
    triploid = read_seg(path, "purple_segments", ploidy=3)
    assert (triploid["MYC"].call, triploid["TENT5C"].call) == ("gain", "loss")


def test_purple_segments_without_minor_allele_column_and_sex_chromosomes(tmp_path):
    path = write(
        tmp_path,
        "old.tsv",
        "chromosome\tstart\tend\tcopyNumber",
        "chrX\t1\t1000\t1.1",
        "chrY\t1\t1000\t0",
    )
    regions = {**REGIONS, "KDM5D": ("Y", 10, 20)}
    panel = {"KDM6A", "KDM5D"}
    calls = read(path, "purple_segments", panel, gene_regions=regions)
    assert (calls["KDM6A"].call, calls["KDM5D"].call) == ("loss", "homozygous_deletion")
    assert calls["KDM6A"].source == "purple_segments old.tsv line 2"
    male = read(path, "purple_segments", panel, gene_regions=regions, sex="male")
    assert male["KDM6A"].call == "neutral"
    female = read(path, "purple_segments", panel, gene_regions=regions, sex="female")
    assert list(female) == ["KDM6A"]


def test_allele_segments_add_major_and_minor(tmp_path):
    path = write(
        tmp_path,
        "t.cna.tsv",
        ALLELE_HEADER,
        "3\t1\t1200\t1\t1",  # CRBN neutral ...
        "3\t1201\t5000\t1\t0",  # ... and a one-copy LOH segment: loss wins
        "chr17\t5000\t6000\t2\t0",  # TP53: copy-neutral LOH
        "8\t1\t100\t4\t2",  # MYC: 6 copies
        "1\t1\t1000\t0\t0",  # TENT5C (FAM46C): 0 copies
        "X\t1\t1000\t1\t0",  # KDM6A
        "7\t1\t10000\t8\t8",  # EGFR, not a panel gene
        "2\t1\t100\tNA\tNA",  # unknown, no gene anyway
    )
    calls = read_seg(path, "allele_segments", purity=0.5)
    assert {gene: (call.call, call.copy_number) for gene, call in calls.items()} == {
        "CRBN": ("loss", 1.0),
        "KDM6A": ("loss", 1.0),
        "MYC": ("amplification", 6.0),
        "TENT5C": ("homozygous_deletion", 0.0),
        "TP53": ("neutral", 2.0),
    }
    assert (
        calls["CRBN"].source == "allele_segments t.cna.tsv line 3, LOH, minor allele copy number 0"
    )
    assert (
        calls["TP53"].source == "allele_segments t.cna.tsv line 4, LOH, minor allele copy number 0"
    )
    assert calls["MYC"].source == "allele_segments t.cna.tsv line 5"
    assert read_seg(path, "allele_segments", sex="male")["KDM6A"].call == "neutral"


def test_allele_segments_with_a_sample_column_read_the_sample(tmp_path):
    # ASCAT's segments: sample, chr, startpos, endpos, nMajor, nMinor
    path = write(
        tmp_path,
        "ascat.tsv",
        "sample\tchr\tstartpos\tendpos\tnMajor\tnMinor",
        "S1\t3\t1000\t2000\t1\t0",
        "S2\t3\t1000\t2000\t3\t2",
    )
    assert read_seg(path, "allele_segments")["CRBN"].call == "loss"
    calls = read_seg(path, "allele_segments", sample_id="X", tumor_sample="S2")
    assert calls["CRBN"].call == "amplification"
    assert calls["CRBN"].source == "allele_segments ascat.tsv line 3 (S2)"
    with pytest.raises(InputError, match="the segment table holds 2 samples and none is"):
        read_seg(path, "allele_segments", sample_id="X")


@pytest.mark.parametrize("fmt", ["purple_segments", "allele_segments"])
@pytest.mark.parametrize("regions", [None, {}])
def test_segment_tables_without_gene_coordinates_are_refused(tmp_path, fmt, regions):
    path = write(tmp_path, "t.tsv", ALLELE_HEADER, "3\t1000\t2000\t1\t0")
    with pytest.raises(InputError) as caught:
        read_seg(path, fmt, gene_regions=regions, genome_build="GRCh37")
    error = caught.value
    assert (error.file, error.field, error.got) == (str(path), "cnv_format", fmt)
    assert (
        f"a segment table (cnv_format {fmt}) needs gene coordinates for the configured "
        "genome build (GRCh37)" in str(error)
    )


@pytest.mark.parametrize(
    ("fmt", "header", "row", "field", "fragment"),
    [
        ("purple_segments", ALLELE_HEADER, "3\t1000\t2000\t1\t0", "copyNumber", "PURPLE"),
        ("allele_segments", PURPLE_SEGMENT_HEADER, "", "nMajor", "nMajor, nMinor"),
        ("allele_segments", "Chromosome\tStart\tEnd\tnMajor", "", "nMinor", "missing column"),
        ("allele_segments", "chrom\tend\tnMajor\tnMinor", "", "start", "missing column"),
        ("allele_segments", ALLELE_HEADER, "3\t1000\t2000\t-1\t0", "nMajor", "negative"),
        ("allele_segments", ALLELE_HEADER, "3\t1000\t2000\t1\tx", "nMinor", "not a number"),
        ("allele_segments", ALLELE_HEADER, "3\t2000\t1000\t1\t1", "end", "end before"),
        # 5e3 is a position (R writes 5e+03); "one" is no copy number
        (
            "purple_segments",
            "chromosome\tstart\tend\tcopyNumber",
            "3\t1\t5e3\tone",
            "copyNumber",
            "not a number",
        ),
    ],
)
def test_segment_table_errors_name_the_column(tmp_path, fmt, header, row, field, fragment):
    path = write(tmp_path, "bad.tsv", header, *([row] if row else []))
    with pytest.raises(InputError) as caught:
        read_seg(path, fmt)
    assert caught.value.file == str(path)
    assert caught.value.field == field
    assert fragment in str(caught.value)


PCGR = REALDATA / "pcgr" / "examples"


@realdata
def test_purple_somatic_segments_show_the_crbn_loss_with_loh():
    path = PURPLE / "purple.cnv.somatic.tsv"
    regions = grch38_regions()
    # Premise from the file: chr3:1-92214015 (line 10) holds CRBN (chr3:3149633-3179717)
    # at copyNumber 1.0268, minor allele 0.0176; chr12:1-35977329 (KRAS) at 1.9962 and
    # chr17:1-24849829 (TP53) at 1.9680, both with a minor allele near 1.
    with open(path) as stream:
        rows = list(csv.DictReader(stream, delimiter="\t"))
    assert rows[8]["chromosome"] == "chr3" and int(rows[8]["end"]) >= regions["CRBN"][2]
    calls = read(path, "purple_segments", set(regions), gene_regions=regions, purity=0.75)
    assert len(calls) == len(regions)  # the segments cover the genome: every panel gene
    assert (calls["CRBN"].call, calls["CRBN"].copy_number) == ("loss", pytest.approx(1.0268))
    assert calls["CRBN"].source == (
        "purple_segments purple.cnv.somatic.tsv line 10, LOH, minor allele copy number 0.0176"
    )
    assert (calls["KRAS"].call, calls["KRAS"].copy_number) == ("neutral", pytest.approx(1.9962))
    assert calls["KRAS"].source == "purple_segments purple.cnv.somatic.tsv line 33"
    assert (calls["TP53"].call, calls["TP53"].copy_number) == ("neutral", pytest.approx(1.968))
    # chr13 lost with LOH (line 37): RB1 and DIS3
    assert calls["RB1"].call == calls["DIS3"].call == "loss"
    # chrX at one copy (line 57): a loss unless the sample is known to be male (it is:
    # purple.purity.tsv says MALE)
    assert calls["KDM6A"].call == "loss"
    male = read(path, "purple_segments", {"KDM6A"}, gene_regions=regions, sex="male")
    assert male["KDM6A"].call == "neutral"


@realdata
@pytest.mark.parametrize("tumour", ["COAD", "BRCA"])
def test_pcgr_grch38_allele_segments(tumour):
    # The two example tables are byte-identical (PCGR ships one CNA profile twice).
    path = PCGR / f"T001-{tumour}.grch38.cna.tsv"
    regions = grch38_regions()
    calls = read(path, "allele_segments", set(regions), gene_regions=regions)
    # Premise, read from the file: line 11 is 1:114430211-116197573 nMajor 23 nMinor 1
    # (NRAS, 114704469-114716771); line 34 is 3:1033342-21546098 2/0 (CRBN); line 163 is
    # 12:9783092-79977033 1/1 (KRAS); line 217 is 17:2045307-8701177 2/0 (TP53).
    expected = {
        "NRAS": ("amplification", 24.0, "line 11"),
        "CRBN": ("neutral", 2.0, "line 34, LOH, minor allele copy number 0"),
        "KRAS": ("neutral", 2.0, "line 163"),
        "TP53": ("neutral", 2.0, "line 217, LOH, minor allele copy number 0"),
        "TENT5C": ("amplification", 7.0, "line 12"),  # 1:116197921-120179960 6/1
        "RB1": ("loss", 1.0, "line 172, LOH, minor allele copy number 0"),
    }
    for gene, (call, copies, where) in expected.items():
        assert (calls[gene].call, calls[gene].copy_number) == (call, copies), gene
        assert calls[gene].source == f"allele_segments {path.name} {where}"
    # The last chr19 segment ends at 58533199, before UBE2M (19:58555712-58558611): a gene
    # no segment covers gets no call rather than a guess. Every other panel gene has one.
    assert set(calls) == set(regions) - {"UBE2M"}


@realdata
@pytest.mark.parametrize("tumour", ["COAD", "BRCA"])
def test_pcgr_grch37_allele_segments_are_refused_without_grch37_coordinates(tumour):
    # The knowledge base has GRCh38 coordinates only; what a GRCh37 run gets is no regions.
    path = PCGR / f"T001-{tumour}.grch37.cna.tsv"
    with pytest.raises(InputError) as caught:
        read(path, "allele_segments", set(grch38_regions()), gene_regions={}, genome_build="GRCh37")
    assert caught.value.file == str(path)
    assert (
        "a segment table (cnv_format allele_segments) needs gene coordinates for the "
        "configured genome build (GRCh37)" in str(caught.value)
    )


@realdata
def test_purple_unfitted_segmentation_is_refused_as_purple_segments():
    path = PURPLE / "v2.39" / "purple.segment.tsv"
    with pytest.raises(InputError) as caught:
        read(path, "purple_segments", gene_regions=grch38_regions())
    assert (caught.value.file, caught.value.field) == (str(path), "copyNumber")
    assert "missing column 'copyNumber' for cnv_format purple_segments" in str(caught.value)
    assert "not purple.segment.tsv" in str(caught.value)
