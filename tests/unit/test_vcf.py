"""VCF ingest: tumour column, depths per caller, allele matching, prefilter, file errors."""

from __future__ import annotations

import gzip
import re

import pysam
import pytest
from cyvcf2 import VCF
from vcf_fixtures import (
    BCSQ_HEADER,
    EFF_HEADER,
    SNPEFF_HEADER,
    VEP_FIELDS,
    row,
    snpeff_entry,
    vcf_text,
    vep_entry,
    vep_header,
    write_vcf,
)

from mmresist.errors import AnnotationMissingError, InputError
from mmresist.ingest.annotation import AnnotationLayout
from mmresist.ingest.depths import allele_depths
from mmresist.ingest.header import choose_tumor_sample, genome_build_from_header, header_formats
from mmresist.ingest.records import allele_lookup, panel_prefilter
from mmresist.ingest.vcf import read_sample

PANEL = {"KRAS", "NRAS", "TP53", "PSMB5", "CRBN", "IKZF1"}
MUTECT2 = ("GT", "AD", "AF", "DP")


def kras_g12d(allele: str = "T", allele_num: str = "1") -> str:
    return vep_entry(
        Allele=allele, Consequence="missense_variant", IMPACT="MODERATE", SYMBOL="KRAS",
        Feature="ENST00000256078.10", BIOTYPE="protein_coding", CANONICAL="YES",
        MANE_SELECT="NM_004985.5", HGVSc="ENST00000256078.10:c.35G>A",
        HGVSp="ENSP00000256078.5:p.Gly12Asp", Protein_position="12", ALLELE_NUM=allele_num,
    )  # fmt: skip


def background(gene: str, allele: str = "A", **values: str) -> str:
    return vep_entry(
        Allele=allele, Consequence="intron_variant", IMPACT="MODIFIER", SYMBOL=gene,
        Feature="ENST00000999999", BIOTYPE="protein_coding", **values,
    )  # fmt: skip


def read(path, tumor_sample=None, panel=PANEL):
    return read_sample(vcf_path=path, sample_id="S1", tumor_sample=tumor_sample, panel_genes=panel)


def first_variant(path):
    vcf = VCF(str(path))
    variant = next(iter(vcf))
    return vcf, variant


# --- tumour column ------------------------------------------------------------------------


def test_requested_tumour_column_wins():
    chosen = choose_tumor_sample(
        samples=["NORMAL", "TUMOR"], header_tumor="NORMAL", requested="TUMOR", path="x.vcf"
    )
    assert chosen == "TUMOR"


def test_requested_column_must_exist():
    with pytest.raises(InputError) as caught:
        choose_tumor_sample(
            samples=["N1", "T1"], header_tumor=None, requested="T2", path="cohort/p1.vcf.gz"
        )
    message = str(caught.value)
    assert "cohort/p1.vcf.gz" in message
    assert "N1, T1" in message and "'T2'" in message


def test_header_tumour_sample_then_only_sample():
    assert (
        choose_tumor_sample(samples=["N", "T"], header_tumor="T", requested=None, path="x.vcf")
        == "T"
    )
    assert choose_tumor_sample(samples=["ONLY"], header_tumor=None, requested=None, path="x") == (
        "ONLY"
    )


def test_ambiguous_tumour_column():
    with pytest.raises(InputError) as caught:
        choose_tumor_sample(
            samples=["NORMAL", "TUMOR"], header_tumor=None, requested=None, path="p.vcf"
        )
    message = str(caught.value)
    assert "ambiguous tumour column" in message
    assert "set tumor_sample in samples.tsv" in message
    assert "NORMAL, TUMOR" in message and "p.vcf" in message


def test_header_naming_no_column_is_ambiguous_with_two_samples():
    with pytest.raises(InputError, match=r"##tumor_sample=T9"):
        choose_tumor_sample(samples=["N", "T"], header_tumor="T9", requested=None, path="p")


def test_no_sample_columns():
    with pytest.raises(InputError, match="no sample columns"):
        choose_tumor_sample(samples=[], header_tumor=None, requested=None, path="sites.vcf")


def test_tumour_column_from_header_in_a_file(tmp_path):
    text = vcf_text(
        info=[vep_header()], formats=MUTECT2, samples=["PT1_NORMAL", "PT1_TUMOUR"],
        extra=["##normal_sample=PT1_NORMAL", "##tumor_sample=PT1_TUMOUR"],
        records=[row("chr12", 25245350, "C", "T", f"CSQ={kras_g12d()}", "GT:AD:AF:DP",
                     "0/0:60,0:0.01:60", "0/1:70,30:0.3:100")],
    )  # fmt: skip
    ingest = read(write_vcf(tmp_path, "tn", text))
    assert ingest.tumor_sample == "PT1_TUMOUR"
    assert [call.vaf for call in ingest.calls] == [0.3]


# --- VAF, depth and alt reads per caller -------------------------------------------------


def depths_of(tmp_path, formats, fmt, sample, *, ref="C", alt="T", samples=("TUMOR",)):
    text = vcf_text(
        formats=formats,
        samples=list(samples),
        records=[row("chr12", 25245350, ref, alt, ".", fmt, *([sample] * len(samples)))],
    )
    vcf, variant = first_variant(write_vcf(tmp_path, "caller", text))
    try:
        return [
            allele_depths(variant, 0, index, header_formats(vcf))
            for index in range(len(variant.ALT))
        ]
    finally:
        vcf.close()


def test_mutect2_af_ad_dp(tmp_path):
    assert depths_of(tmp_path, MUTECT2, "GT:AD:AF:DP", "0/1:71,3:0.075:80") == [(0.075, 80, 3)]


def test_mutect2_multiallelic_per_alt(tmp_path):
    result = depths_of(tmp_path, MUTECT2, "GT:AD:AF:DP", "1/2:50,30,20:0.3,0.2:100", alt="T,G")
    assert result == [(0.3, 100, 30), (0.2, 100, 20)]


def test_counts_when_af_absent(tmp_path):
    assert depths_of(tmp_path, ("GT", "AD"), "GT:AD", "0/1:75,25") == [(0.25, 100, 25)]


def test_mutect1_fa(tmp_path):
    assert depths_of(tmp_path, ("GT", "AD", "FA", "DP"), "GT:AD:FA:DP", "0/1:11,3:0.214:14") == [
        (0.214, 14, 3)
    ]


def test_strelka2_snv_tier1_counts(tmp_path):
    formats = ("DP", "AU", "CU", "GU", "TU")
    # REF C, ALT A: tier-1 A=2, C=6 (tier 2 ignored); VAF = 2 / (6 + 2).
    result = depths_of(tmp_path, formats, "DP:AU:CU:GU:TU", "8:2,2:6,14:0,0:0,0", alt="A")
    assert result == [(0.25, 8, 2)]


def test_strelka2_indel_tir_tar(tmp_path):
    formats = ("DP", "TAR", "TIR")
    result = depths_of(tmp_path, formats, "DP:TAR:TIR", "135:1,2:121,125", ref="CCT", alt="C")
    assert result == [(round(121 / 122, 6), 135, 121)]


def test_freebayes_ao_ro(tmp_path):
    formats = ("GT", "DP", "AO", "RO")
    result = depths_of(tmp_path, formats, "GT:DP:AO:RO", "0/1:45:2:43")
    assert result == [(round(2 / 45, 6), 45, 2)]
    multi = depths_of(tmp_path, formats, "GT:DP:AO:RO", "1/2:100:30,10:60", alt="T,G")
    assert multi == [(0.3, 100, 30), (0.1, 100, 10)]


def test_vardict_af_number_one(tmp_path):
    formats = ("GT", "DP", "VD", "AD", "AF1")
    result = depths_of(tmp_path, formats, "GT:DP:VD:AD:AF", "0/1:200:20:180,20:0.1")
    assert result == [(0.1, 200, 20)]


def test_varscan2_freq_percent(tmp_path):
    formats = ("GT", "DP", "RD", "AD1", "FREQ")
    result = depths_of(tmp_path, formats, "GT:DP:RD:AD:FREQ", "0/1:91:56:35:38.46%")
    assert result == [(0.3846, 91, 35)]


def test_missing_everything_is_unknown_never_zero(tmp_path):
    assert depths_of(tmp_path, ("GT",), "GT", "0/1") == [(None, None, None)]
    assert depths_of(tmp_path, MUTECT2, "GT:AD:AF:DP", "0/1:.:.:.") == [(None, None, None)]


def test_missing_ref_count_keeps_alt_reads(tmp_path):
    vaf, depth, alt_reads = depths_of(tmp_path, ("GT", "AD", "DP"), "GT:AD:DP", "0/1:.,5:40")[0]
    assert alt_reads == 5 and depth == 40
    assert vaf == 0.125  # from DP, since the AD total is unknown


# --- allele matching ----------------------------------------------------------------------


def test_unplaced_entries_go_to_alts_without_entries_and_are_reported(tmp_path):
    entries = ",".join([background("TP53", "G"), background("TP53", "AAA")])
    text = vcf_text(
        info=[vep_header()], formats=MUTECT2, samples=["TUMOR"],
        records=[row("chr17", 7675088, "C", "G,T", f"CSQ={entries}", "GT:AD:AF:DP",
                     "1/2:40,30,30:0.3,0.3:100")],
    )  # fmt: skip
    ingest = read(write_vcf(tmp_path, "unplaced", text))
    assert [call.alt for call in ingest.calls] == ["G", "T"]
    assert len(ingest.warnings) == 1
    assert "chr17:7675088" in ingest.warnings[0] and "assigned to ALT T" in ingest.warnings[0]


def test_vep_allele_spellings_map_to_alts():
    lookup = allele_lookup("CT", ["C", "CTT"])
    assert lookup["-"] == 0 and lookup["T"] == 1  # VEP removed the shared first base
    assert lookup["C"] == 0 and lookup["CTT"] == 1
    snv = allele_lookup("A", ["G", "T"])
    assert snv == {"G": 0, "T": 1}


# --- reading files ------------------------------------------------------------------------


def panel_vcf(tmp_path, kind="vcf"):
    records = [
        # KRAS G12D, real GRCh38 position, canonical + MANE entry second.
        row("chr12", 25245350, "C", "T",
            "CSQ=" + ",".join([background("KRAS", "T", ALLELE_NUM="1"), kras_g12d()]),
            "GT:AD:AF:DP", "0/0:50,0:0.01:50", "0/1:60,40:0.4:100"),
        # Not a panel gene, but "KRAS" appears in another field: must not count.
        row("chr12", 25300000, "G", "A",
            "CSQ=" + background("KRASP1", FLAGS="KRAS", Existing_variation="KRAS"),
            "GT:AD:AF:DP", "0/0:50,0:0.01:50", "0/1:60,40:0.4:100"),
        # A TP53 substring gene.
        row("chr17", 7600000, "A", "G", "CSQ=" + background("TP53TG1", "G"),
            "GT:AD:AF:DP", "0/0:50,0:0.01:50", "0/1:60,40:0.4:100"),
        # Multiallelic NRAS Q61P / Q61R (real GRCh38 position) with ALLELE_NUM, filtered.
        row("chr1", 114713908, "T", "G,C",
            "CSQ=" + ",".join([
                vep_entry(Allele="G", Consequence="missense_variant", IMPACT="MODERATE",
                          SYMBOL="NRAS", Feature="ENST00000369535.5", BIOTYPE="protein_coding",
                          CANONICAL="YES", HGVSp="ENSP00000358548.4:p.Gln61Pro",
                          ALLELE_NUM="1"),
                vep_entry(Allele="C", Consequence="missense_variant", IMPACT="MODERATE",
                          SYMBOL="NRAS", Feature="ENST00000369535.5", BIOTYPE="protein_coding",
                          CANONICAL="YES", HGVSp="ENSP00000358548.4:p.Gln61Arg",
                          ALLELE_NUM="2"),
            ]),
            "GT:AD:AF:DP", "0/0:50,0,0:0.01,0.0:50", "1/2:50,30,20:0.3,0.2:100",
            filt="weak_evidence"),
        # No annotation at all.
        row("chr3", 3150000, "G", "A", ".", "GT:AD:AF:DP", "0/0:5,0:0:5", "0/1:5,5:0.5:10"),
        # A record annotated with two panel genes (overlapping) and one other gene.
        row("chr14", 23035000, "G", "A",
            "CSQ=" + ",".join([background("PSMB5", "A"), background("CRBN", "A"),
                               background("OTHER1", "A")]),
            "GT:AD:AF:DP", "0/0:50,0:0.01:50", "0/1:90,10:0.1:100", filt="."),
    ]  # fmt: skip
    text = vcf_text(
        info=[vep_header()], formats=MUTECT2, samples=["NORMAL", "TUMOR"], records=records,
        extra=["##tumor_sample=TUMOR"],
    )  # fmt: skip
    return write_vcf(tmp_path, "panel", text, kind=kind)


def test_panel_prefilter_counts_and_calls(tmp_path):
    ingest = read(panel_vcf(tmp_path))
    assert ingest.records_read == 6
    assert ingest.records_in_panel == 3
    summary = [(call.gene, call.pos, call.alt, call.protein_change) for call in ingest.calls]
    assert summary == [
        ("KRAS", 25245350, "T", "G12D"),
        ("NRAS", 114713908, "G", "Q61P"),
        ("NRAS", 114713908, "C", "Q61R"),
        ("PSMB5", 23035000, "A", ""),
        ("CRBN", 23035000, "A", ""),
    ]
    assert ingest.annotation == "Ensembl VEP (INFO/CSQ)"
    assert ingest.genome_build == "GRCh38"
    assert ingest.warnings == []


def test_calls_carry_annotation_and_depths(tmp_path):
    kras = read(panel_vcf(tmp_path)).calls[0]
    assert kras.transcript == "ENST00000256078.10"  # MANE, although listed second
    assert kras.consequence == "missense_variant"
    assert kras.hgvsp == "ENSP00000256078.5:p.Gly12Asp"  # as written
    assert kras.hgvsc == "ENST00000256078.10:c.35G>A"
    assert (kras.protein_start, kras.protein_end) == (12, 12)
    assert (kras.vaf, kras.depth, kras.alt_reads) == (0.4, 100, 40)
    assert kras.filter == "PASS"
    assert kras.sample_id == "S1"
    assert kras.annotation_source == "Ensembl VEP (INFO/CSQ)"


def test_multiallelic_split_keeps_each_alt_depth_and_filter(tmp_path):
    calls = [call for call in read(panel_vcf(tmp_path)).calls if call.gene == "NRAS"]
    assert [(call.alt, call.vaf, call.alt_reads, call.depth) for call in calls] == [
        ("G", 0.3, 30, 100),
        ("C", 0.2, 20, 100),
    ]
    assert {call.filter for call in calls} == {"weak_evidence"}


def test_dot_filter_reads_as_pass(tmp_path):
    calls = [call for call in read(panel_vcf(tmp_path)).calls if call.gene == "CRBN"]
    assert calls[0].filter == "PASS"


@pytest.mark.parametrize("kind", ["vcf.gz", "bcf"])
def test_bgzipped_and_bcf_read_the_same(tmp_path, kind):
    plain = read(panel_vcf(tmp_path / "plain"))
    other = read(panel_vcf(tmp_path / kind, kind=kind))
    assert other.records_read == plain.records_read
    assert other.records_in_panel == plain.records_in_panel
    assert [vars(call) for call in other.calls] == [vars(call) for call in plain.calls]


def test_plain_gzip_is_read_too(tmp_path):
    source = panel_vcf(tmp_path)
    target = tmp_path / "panel.gzip.vcf.gz"
    target.write_bytes(gzip.compress(source.read_bytes()))
    assert read(target).records_in_panel == 3


def test_multiallelic_indels_without_allele_num(tmp_path):
    # VEP drops the first base shared by REF and every ALT: "-" for the deletion CAT>C,
    # "ATT" for the insertion CAT>CATT (not the minimal "T").
    fields = [name for name in VEP_FIELDS if name != "ALLELE_NUM"]
    entries = ",".join(
        [
            vep_entry(fields, Allele="-", Consequence="frameshift_variant", IMPACT="HIGH",
                      SYMBOL="TP53", Feature="ENST00000269305.9", BIOTYPE="protein_coding",
                      CANONICAL="YES", HGVSp="ENSP00000269305.4:p.Pro72ArgfsTer51"),
            vep_entry(fields, Allele="ATT", Consequence="frameshift_variant", IMPACT="HIGH",
                      SYMBOL="TP53", Feature="ENST00000269305.9", BIOTYPE="protein_coding",
                      CANONICAL="YES", HGVSp="ENSP00000269305.4:p.Pro72SerfsTer49"),
        ]
    )  # fmt: skip
    text = vcf_text(
        info=[vep_header(fields)], formats=MUTECT2, samples=["TUMOR"],
        records=[row("chr17", 7676153, "CAT", "C,CATT", f"CSQ={entries}", "GT:AD:AF:DP",
                     "1/2:40,30,30:0.3,0.3:100")],
    )  # fmt: skip
    ingest = read(write_vcf(tmp_path, "indels", text))
    calls = ingest.calls
    assert [(call.alt, call.protein_change) for call in calls] == [
        ("C", "P72fs"),
        ("CATT", "P72fs"),
    ]
    assert ingest.warnings == []  # every entry matched its ALT by VEP's own rule
    assert [call.hgvsp for call in calls] == [
        "ENSP00000269305.4:p.Pro72ArgfsTer51",
        "ENSP00000269305.4:p.Pro72SerfsTer49",
    ]


def test_snpeff_multiallelic_and_cancer_entries(tmp_path):
    entries = ",".join(
        [
            snpeff_entry("C", "missense_variant", "MODERATE", "IKZF1", "ENST00000331340.8",
                         hgvsp="p.Gly12Ala", aa="12/519"),
            snpeff_entry("G-C", "missense_variant", "MODERATE", "IKZF1", "ENST00000331340.8",
                         hgvsp="p.Ala12Arg", aa="12/519"),
            snpeff_entry("G", "missense_variant", "MODERATE", "IKZF1", "ENST00000331340.8",
                         hgvsp="p.Gly12Arg", aa="12/519"),
        ]
    )  # fmt: skip
    text = vcf_text(
        info=[SNPEFF_HEADER], formats=MUTECT2, samples=["TUMOR"],
        records=[row("chr12", 500000, "A", "C,G", f"ANN={entries}", "GT:AD:AF:DP",
                     "1/2:40,30,30:0.3,0.3:100")],
    )  # fmt: skip
    ingest = read(write_vcf(tmp_path, "snpeff", text))
    assert ingest.annotation == "snpEff ANN (INFO/ANN)"
    assert [(call.alt, call.protein_change) for call in ingest.calls] == [
        ("C", "G12A"),
        ("G", "G12R"),  # the entry against REF, not the "G-C" cancer comparison
    ]


def test_snpeff_fusion_names_both_genes(tmp_path):
    entry = snpeff_entry("<DUP>", "gene_fusion", "HIGH", "CRBN&IKZF1", "T1")
    text = vcf_text(
        info=[SNPEFF_HEADER], formats=MUTECT2, samples=["TUMOR"],
        records=[row("chr3", 3150000, "N", "<DUP>", f"ANN={entry}", "GT", "0/1")],
    )  # fmt: skip
    ingest = read(write_vcf(tmp_path, "fusion", text))
    assert ingest.records_in_panel == 1
    assert sorted(call.gene for call in ingest.calls) == ["CRBN", "IKZF1"]


def test_bcsq_alleles_and_compound_reference(tmp_path):
    records = [
        # Multiallelic: each entry's dna_change names its ALT.
        row("chr12", 25245347, "C", "A,T",
            "BCSQ=missense|KRAS|ENST00000256078|protein_coding|-|13G>13V|25245347C>A,"
            "missense|KRAS|ENST00000256078|protein_coding|-|13G>13D|25245347C>T",
            "GT:AD", "1/2:10,20,30"),
        # Two changes in codon 12 on one haplotype: the joint consequence is written at the
        # first position, the second record points to it.
        row("chr12", 25245350, "C", "A",
            "BCSQ=missense|KRAS|ENST00000256078|protein_coding|-|12G>12F|"
            "25245350C>A+25245351C>A", "GT:AD", "0/1:30,10"),
        row("chr12", 25245351, "C", "A", "BCSQ=@25245350", "GT:AD", "0/1:40,10"),
        # A compound outside the panel.
        row("chr12", 25300000, "C", "T", "BCSQ=@25299990", "GT:AD", "0/1:40,10"),
    ]  # fmt: skip
    text = vcf_text(info=[BCSQ_HEADER], formats=("GT", "AD"), samples=["TUMOR"], records=records)
    ingest = read(write_vcf(tmp_path, "bcsq", text))
    assert ingest.records_read == 4
    assert ingest.records_in_panel == 3
    assert [(call.pos, call.alt, call.protein_change, call.vaf) for call in ingest.calls] == [
        (25245347, "A", "G13V", round(20 / 60, 6)),
        (25245347, "T", "G13D", 0.5),
        (25245350, "A", "G12F", 0.25),
        (25245351, "A", "G12F", 0.2),
    ]
    assert {call.consequence for call in ingest.calls} == {"missense_variant"}
    assert {call.impact for call in ingest.calls} == {"MODERATE"}
    assert ingest.annotation == "bcftools csq (INFO/BCSQ)"


def test_eff_file(tmp_path):
    eff = (
        "EFF=NON_SYNONYMOUS_CODING(MODERATE|MISSENSE|Cag/Aag|Q61K|189|NRAS|protein_coding|"
        "CODING|ENST00000369535|3|1)"
    )
    text = vcf_text(
        info=[EFF_HEADER], formats=MUTECT2, samples=["TUMOR"],
        records=[row("chr1", 114713909, "G", "T", eff, "GT:AD:AF:DP", "0/1:40,10:0.2:50")],
    )  # fmt: skip
    calls = read(write_vcf(tmp_path, "eff", text)).calls
    assert [(c.gene, c.consequence, c.protein_change, c.vaf) for c in calls] == [
        ("NRAS", "missense_variant", "Q61K", 0.2)
    ]


def test_prefilter_looks_only_at_the_gene_field():
    layout = AnnotationLayout(tag="CSQ", kind="vep", fields=["Allele", "Consequence",
                              "IMPACT", "SYMBOL", "Feature", "FLAGS"])  # fmt: skip
    matches = panel_prefilter(layout, {"KRAS", "TP53"})
    assert matches("T|missense_variant|MODERATE|KRAS|ENST1|")
    assert matches("T|intron_variant|MODIFIER|X1|ENST1|,T|missense_variant|MODERATE|TP53|E|")
    assert not matches("T|intron_variant|MODIFIER|KRASP1|ENST1|KRAS")
    assert not matches("T|intron_variant|MODIFIER|TP53TG1|KRAS|TP53")
    assert not matches("KRAS|TP53|KRAS||KRAS|")
    assert not panel_prefilter(layout, set())("T|missense_variant|MODERATE|KRAS|ENST1|")


# --- errors -------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found") as caught:
        read(tmp_path / "absent.vcf.gz")
    assert "absent.vcf.gz" in str(caught.value)


def test_not_a_vcf(tmp_path):
    path = tmp_path / "notes.vcf"
    path.write_text("sample\tgene\nP1\tKRAS\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read(path)
    assert "notes.vcf" in str(caught.value)
    assert "not a readable VCF" in str(caught.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.vcf"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read(path)


@pytest.mark.parametrize("kind", ["vcf.gz", "bcf"])
def test_truncated_bgzf_is_rejected(tmp_path, kind):
    path = panel_vcf(tmp_path, kind=kind)
    path.write_bytes(path.read_bytes()[:-28])  # drop the BGZF end-of-file block
    with pytest.raises(InputError, match="cut short") as caught:
        read(path)
    assert path.name in str(caught.value)


def test_malformed_record_is_an_input_error(tmp_path):
    text = vcf_text(
        info=[vep_header()], formats=MUTECT2, samples=["TUMOR"],
        records=[row("chr12", 25245350, "C", "T", f"CSQ={kras_g12d()}", "GT:AD:AF:DP",
                     "0/1:60,40:0.4:100"),
                 "chr12\tnot_a_position\t.\tC\tT\t.\tPASS\t.\tGT\t0/1"],
    )  # fmt: skip
    with pytest.raises(InputError) as caught:
        read(write_vcf(tmp_path, "broken", text))
    assert "broken.vcf" in str(caught.value)


def test_unannotated_vcf_says_how_to_annotate(tmp_path):
    text = vcf_text(
        formats=MUTECT2, samples=["TUMOR"],
        records=[row("chr12", 25245350, "C", "T", ".", "GT:AD:AF:DP", "0/1:60,40:0.4:100")],
    )  # fmt: skip
    with pytest.raises(AnnotationMissingError) as caught:
        read(write_vcf(tmp_path, "raw", text))
    assert "raw.vcf" in str(caught.value) and "bcftools csq" in str(caught.value)


def test_requested_tumour_sample_absent_from_file(tmp_path):
    with pytest.raises(InputError) as caught:
        read(panel_vcf(tmp_path), tumor_sample="TUMOUR_1")
    assert "NORMAL, TUMOR" in str(caught.value)


def test_genome_build_from_header():
    assert genome_build_from_header("##contig=<ID=1,length=249250621>\n") == "GRCh37"
    assert genome_build_from_header("##contig=<ID=chr1,length=248956422>\n") == "GRCh38"
    assert genome_build_from_header("##reference=file:///ref/hs37d5.fa\n") == "GRCh37"
    assert genome_build_from_header("##fileformat=VCFv4.2\n") is None


# --- real files ---------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_vep_tp53_r175h(realdata):
    path = realdata / "pVACtools/tests/test_data/input_file_converter/somatic.vcf.gz"
    ingest = read(path, panel={"TP53", "KRAS", "NRAS"})
    assert ingest.records_read == 2734
    assert ingest.records_in_panel == 1
    (call,) = ingest.calls
    assert (call.chrom, call.pos, call.ref, call.alt) == ("chr17", 7675088, "C", "T")
    assert call.gene == "TP53"
    assert call.consequence == "missense_variant"
    assert call.protein_change == "R175H"  # VEP without --hgvs: from Amino_acids R/H
    assert call.transcript == "ENST00000269305.8"
    assert (call.vaf, call.depth, call.alt_reads) == (0.988, 87, 86)
    assert ingest.genome_build == "GRCh38"


@pytest.mark.realdata
def test_real_snpeff_braf_deletion(realdata):
    ingest = read(realdata / "SnpEff/tests/old/EML4-ALK_fusion.vcf", panel={"BRAF"})
    assert ingest.records_read == 117
    assert ingest.records_in_panel == 1
    (call,) = ingest.calls
    assert (call.chrom, call.pos, call.alt) == ("chr7", 140452920, "<DEL>")
    assert call.protein_change == "D587fs"
    assert call.transcript == "NM_004333.4"


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("relative", "tumour", "position", "expected"),
    [
        ("nf-pcgr/assets/test_data/HCC1395T_vs_HCC1395N.mutect2.vcf.gz", "HCC1395_HCC1395T",
         182785, (0.075, 74, 3)),
        ("nf-pcgr/assets/test_data/HCC1395T_vs_HCC1395N.strelka.somatic_snvs.vcf.gz", "TUMOR",
         727791, (0.25, 8, 2)),
        ("nf-pcgr/assets/test_data/HCC1395T_vs_HCC1395N.strelka.somatic_indels.vcf.gz", "TUMOR",
         939570, (1.0, 38, 33)),
        ("nf-pcgr/assets/test_data/HCC1395T_vs_HCC1395N.freebayes.vcf.gz", "HCC1395_HCC1395T",
         65999, (0.0, 36, 0)),
        ("vcf2maf/tests/test_varscan.vcf", "TUMOR", 1991014, (0.3846, 91, 35)),
        ("vcf2maf/tests/test_mutect.vcf", "TUMOR", 2453125, (0.146, 206, 30)),
    ],
)  # fmt: skip
def test_real_caller_depths(realdata, relative, tumour, position, expected):
    path = realdata / relative
    vcf = VCF(str(path))
    try:
        formats = header_formats(vcf)
        index = list(vcf.samples).index(tumour)
        variant = next(v for v in vcf if v.POS == position)
        assert allele_depths(variant, index, 0, formats) == expected
    finally:
        vcf.close()


@pytest.mark.realdata
def test_real_files_that_are_not_vcfs_are_rejected(realdata):
    for relative in ("cyvcf2/cyvcf2/tests/empty.vcf", "SnpEff/examples/cancer.ann.vcf"):
        with pytest.raises(InputError) as caught:
            read(realdata / relative)
        assert relative.rsplit("/", 1)[1] in str(caught.value)


# --- parallel reading of indexed files ----------------------------------------------------


def several_contigs_vep() -> str:
    tp53 = ",".join([background("TP53", "G"), background("TP53", "AAA")])  # names no ALT
    nras = ",".join([background("NRAS", "G"), background("NRAS", "CCC")])
    records = [
        row("chr1", 1000, "A", "C", f"CSQ={background('OR4F5', 'C')}", "GT:AD:AF:DP",
            "0/1:50,50:0.5:100"),
        row("chr1", 114713909, "C", "G,T", f"CSQ={nras}", "GT:AD:AF:DP",
            "1/2:40,30,30:0.3,0.3:100", filt="weak_evidence"),
        row("chr1", 114713950, "C", "T", ".", "GT:AD:AF:DP", "0/1:40,10:0.2:50"),
        row("chr3", 5000, "G", "A", f"CSQ={background('GENE3', 'A')}", "GT:AD:AF:DP",
            "0/1:50,50:0.5:100"),
        row("chr12", 25245350, "C", "T", f"CSQ={kras_g12d()}", "GT:AD:AF:DP",
            "0/1:70,30:0.3:100"),
        row("chr12", 25245351, "C", "A,T",
            f"CSQ={kras_g12d('A', '1')},{kras_g12d('T', '2')}", "GT:AD:AF:DP",
            "1/2:50,25,25:0.25,0.25:100"),
        row("chr14", 7000, "T", "C", f"CSQ={background('GENE14', 'C')}", "GT:AD:AF:DP",
            "0/1:50,50:0.5:100"),
        row("chr17", 7675088, "C", "G,T", f"CSQ={tp53}", "GT:AD:AF:DP",
            "1/2:40,30,30:0.3,0.3:100"),
        row("chr17", 7675100, "C", "T", f"CSQ={background('TP53', 'T')}", "GT:AD:AF:DP",
            "0/1:.,5:.:40"),
    ]  # fmt: skip
    return vcf_text(info=[vep_header()], formats=MUTECT2, samples=["TUMOR"], records=records)


def several_contigs_bcsq() -> str:
    def bcsq(gene: str, change: str, dna: str) -> str:
        return f"missense|{gene}|ENST_{gene}|protein_coding|-|{change}|{dna}"

    records = [
        row("chr1", 114713908, "T", "G",
            "BCSQ=" + bcsq("NRAS", "61Q>61P", "114713908T>G+114713909C>A"), "GT:AD", "0/1:30,10"),
        row("chr1", 114713909, "C", "A,G", "BCSQ=@114713908", "GT:AD", "1/2:30,10,5"),
        row("chr3", 100, "C", "T", "BCSQ=" + bcsq("GENE3", "1A>1V", "100C>T"), "GT:AD", "0/1:1,1"),
        row("chr12", 25245350, "C", "A",
            "BCSQ=" + bcsq("KRAS", "12G>12F", "25245350C>A+25245351C>A"), "GT:AD", "0/1:30,10"),
        row("chr12", 25245351, "C", "A,T", "BCSQ=@25245350", "GT:AD", "1/2:40,10,3"),
        row("chr17", 7675088, "C", "G,T", "BCSQ=" + bcsq("TP53", "175R>175X", "1C>G"),
            "GT:AD", "1/2:40,30,30"),
    ]  # fmt: skip
    return vcf_text(info=[BCSQ_HEADER], formats=("GT", "AD"), samples=["TUMOR"], records=records)


def index_file(path):
    import pysam
    import pysam.bcftools

    if path.suffix == ".bcf":
        pysam.bcftools.index(str(path))
    elif not path.with_name(path.name + ".tbi").exists():
        pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


@pytest.fixture
def parallel_always(monkeypatch):
    """Read every indexed file in parallel however small, and record whether it was."""
    import mmresist.ingest.vcf as vcf_module
    from mmresist.ingest.regions import WholeReadNeeded

    monkeypatch.setattr(vcf_module, "PARALLEL_MIN_RECORDS", 0)
    used: list[bool] = []
    original = vcf_module.read_parallel

    def spy(setup, plan):
        try:
            parts = original(setup, plan)
        except WholeReadNeeded:
            used.append(False)
            raise
        used.append(True)
        return parts

    monkeypatch.setattr(vcf_module, "read_parallel", spy)
    return used


@pytest.mark.parametrize("kind", ["vcf.gz", "bcf"])
@pytest.mark.parametrize("make", [several_contigs_vep, several_contigs_bcsq])
def test_parallel_read_equals_one_pass(tmp_path, parallel_always, kind, make):
    path = index_file(write_vcf(tmp_path, "multi", make(), kind=kind))
    one_pass = read_sample(
        vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL, threads=1
    )
    assert parallel_always == []
    assert one_pass.records_in_panel >= 3 and len(one_pass.warnings) >= 2
    assert len({call.chrom for call in one_pass.calls}) == 3
    for threads in (2, 3, 8):
        parallel = read_sample(
            vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL, threads=threads
        )
        assert parallel == one_pass
    assert parallel_always == [True, True, True]


def test_parallel_read_counts(tmp_path, parallel_always):
    path = index_file(write_vcf(tmp_path, "multi", several_contigs_vep(), kind="vcf.gz"))
    ingest = read_sample(
        vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL, threads=2
    )
    assert parallel_always == [True]
    assert (ingest.records_read, ingest.records_in_panel) == (9, 5)
    assert [(c.chrom, c.pos, c.alt, c.gene) for c in ingest.calls] == [
        ("chr1", 114713909, "G", "NRAS"),
        ("chr1", 114713909, "T", "NRAS"),
        ("chr12", 25245350, "T", "KRAS"),
        ("chr12", 25245351, "A", "KRAS"),
        ("chr12", 25245351, "T", "KRAS"),
        ("chr17", 7675088, "G", "TP53"),
        ("chr17", 7675088, "T", "TP53"),
        ("chr17", 7675100, "T", "TP53"),
    ]
    assert [warning.split(":")[0] for warning in ingest.warnings] == ["chr1", "chr17"]


def test_small_or_unindexed_files_are_read_in_one_pass(tmp_path, parallel_always, monkeypatch):
    import mmresist.ingest.vcf as vcf_module

    plain = write_vcf(tmp_path, "plain", several_contigs_vep())
    read_sample(vcf_path=plain, sample_id="S1", tumor_sample=None, panel_genes=PANEL, threads=2)
    unindexed = write_vcf(tmp_path / "u", "unindexed", several_contigs_vep(), kind="bcf")
    read_sample(vcf_path=unindexed, sample_id="S1", tumor_sample=None, panel_genes=PANEL)
    assert parallel_always == []
    assert not unindexed.with_name(unindexed.name + ".csi").exists()  # never indexed here
    monkeypatch.setattr(vcf_module, "PARALLEL_MIN_RECORDS", 10)
    small = index_file(write_vcf(tmp_path / "s", "small", several_contigs_vep(), kind="vcf.gz"))
    read_sample(vcf_path=small, sample_id="S1", tumor_sample=None, panel_genes=PANEL, threads=2)
    assert parallel_always == []


def test_stale_index_is_not_used(tmp_path, parallel_always):
    import os

    path = index_file(write_vcf(tmp_path, "stale", several_contigs_vep(), kind="vcf.gz"))
    index = path.with_name(path.name + ".tbi")
    os.utime(index, (path.stat().st_mtime - 60, path.stat().st_mtime - 60))
    ingest = read_sample(
        vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL, threads=2
    )
    assert parallel_always == []
    assert ingest.records_read == 9


def test_parallel_worker_error_gives_the_one_pass_message(tmp_path, parallel_always):
    text = several_contigs_vep().replace("chr14\t7000\t", "chr14\t7000x\t")
    path = index_file(write_vcf(tmp_path, "bad", text, kind="vcf.gz"))
    with pytest.raises(InputError) as one_pass:
        read_sample(vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL, threads=1)
    with pytest.raises(InputError) as parallel:
        read_sample(vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL, threads=2)
    assert str(parallel.value) == str(one_pass.value)
    assert "bad.vcf.gz" in str(parallel.value)


# --- more callers, and what real files got wrong --------------------------------------------

RADIA_AF = '##FORMAT=<ID=AF,Number=.,Type=Float,Description="Fraction of reads supporting alleles">'
AD_ANY = '##FORMAT=<ID=AD,Number=.,Type=Integer,Description="Depth of reads supporting alleles">'
DP4 = (
    '##FORMAT=<ID=DP4,Number=4,Type=Integer,Description="ref-forward, ref-reverse, '
    'alt-forward and alt-reverse bases">'
)
PCGR = (
    '##FORMAT=<ID=DPT,Number=1,Type=Integer,Description="Depth (tumor)">',
    '##FORMAT=<ID=DPC,Number=1,Type=Integer,Description="Depth (control)">',
    '##FORMAT=<ID=ADT,Number=.,Type=String,Description="Allelic depths (tumor)">',
    '##FORMAT=<ID=ADC,Number=.,Type=String,Description="Allelic depths (control)">',
)


def test_radia_af_lists_ref_first(tmp_path):
    got = depths_of(
        tmp_path, ("GT", "DP", AD_ANY, RADIA_AF), "GT:DP:AD:AF", "0/1:106:95,11:0.9,0.1"
    )
    assert got == [(0.1, 106, 11)]


def test_somaticsniper_dp4(tmp_path):
    got = depths_of(tmp_path, ("GT", "DP", DP4), "GT:DP:DP4", "0/1:7:0,3,0,4")
    assert got == [(round(4 / 7, 6), 7, 4)]


def test_pcgr_tumour_depths_in_one_column(tmp_path):
    got = depths_of(tmp_path, ("GT", *PCGR), "GT:DPC:DPT:ADC:ADT", "0/1:26:29:.,.:21,8")
    assert got == [(round(8 / 29, 6), 29, 8)]


def test_lone_ad_value_is_not_an_alt_count_and_vaf_never_exceeds_one(tmp_path):
    # A merged callers' file: AD (Number=.) holds one value, not the ALT count.
    assert depths_of(tmp_path, ("GT", "DP", AD_ANY), "GT:DP:AD", "0/1:76:77") == [(None, 76, None)]
    assert depths_of(tmp_path, ("GT", "AD", "DP"), "GT:AD:DP", "0/1:.,50:40") == [(None, 40, 50)]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("12:00:01 INFO starting\n##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER"
         "\tINFO\n", "a log message written into the file"),
        ("##source=x\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n",
         "not ##fileformat=VCFv4.x"),
        ("##fileformat=VCFv4.2\n#CHROM POS ID REF ALT QUAL FILTER INFO\n",
         "separates its columns with spaces, not tabs"),
        ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\n",
         "FORMAT column but no sample columns"),
        ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT\t\n",
         "empty sample name"),
    ],
)  # fmt: skip
def test_unreadable_headers_say_what_is_wrong(tmp_path, header, problem):
    path = tmp_path / "bad.vcf"
    path.write_text(header, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read(path)
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)


def test_line_cut_short_and_joined_with_the_next_is_refused(tmp_path):
    good = row(
        "chr12", 25245350, "C", "T", f"CSQ={kras_g12d()}", "GT:AD:AF:DP", "0/1:60,40:0.4:100"
    )
    cut = good[: good.index("|MODERATE")]  # the record breaks off inside its CSQ ...
    joined = cut + row("chr12", 25245999, "G", "A", ".", "GT:AD:AF:DP", "0/1:60,40:0.4:100")
    text = vcf_text(info=[vep_header()], formats=MUTECT2, samples=["TUMOR"], records=[joined])
    with pytest.raises(InputError, match="cut short and joined") as caught:
        read(write_vcf(tmp_path, "joined", text))
    assert "joined.vcf" in str(caught.value)


def test_missing_annotation_is_reported_before_the_tumour_column(tmp_path):
    text = vcf_text(formats=MUTECT2, samples=["NORMAL", "TUMOR"],
                    records=[row("chr12", 25245350, "C", "T", ".", "GT:AD:AF:DP",
                                 "0/0:60,0:0:60", "0/1:60,40:0.4:100")])  # fmt: skip
    with pytest.raises(AnnotationMissingError):
        read(write_vcf(tmp_path, "plain", text))


def test_counts_that_disagree_with_the_index_fall_back_to_one_pass(tmp_path, parallel_always,
                                                                   monkeypatch):  # fmt: skip
    import dataclasses

    import mmresist.ingest.regions as regions_module
    from mmresist.ingest.regions import WholeReadNeeded

    path = index_file(write_vcf(tmp_path, "multi", several_contigs_vep(), kind="vcf.gz"))
    one_pass = read_sample(
        vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL, threads=1
    )
    real = regions_module.index_counts
    monkeypatch.setattr(
        regions_module, "index_counts", lambda p: [(name, n + 1) for name, n in real(p)]
    )
    again = read_sample(
        vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL, threads=2
    )
    assert parallel_always == [False]
    # The same result as one pass, plus a QC warning that says why one pass was needed.
    (note,) = [warning for warning in again.warnings if warning not in one_pass.warnings]
    assert note.startswith("not read by contig in worker processes, read in one pass:")
    assert re.search(r"the index promised \d+ records in contigs? \S+, a worker read \d+", note)
    assert dataclasses.replace(again, warnings=one_pass.warnings) == one_pass

    def no_counts(path):
        raise WholeReadNeeded("its index gives no per-contig record counts")

    monkeypatch.setattr(regions_module, "index_counts", no_counts)
    plain = read_sample(
        vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL, threads=2
    )
    assert parallel_always == [False]
    assert dataclasses.replace(plain, warnings=one_pass.warnings) == one_pass
    assert any("gives no per-contig record counts" in warning for warning in plain.warnings)


def test_a_programming_error_in_a_worker_is_not_read_as_a_bad_file(
    tmp_path, parallel_always, monkeypatch
):
    import mmresist.ingest.regions as regions_module

    path = index_file(write_vcf(tmp_path, "multi", several_contigs_vep(), kind="vcf.gz"))

    def bug(records, run):
        raise TypeError("a bug in the worker")

    monkeypatch.setattr(regions_module, "_run_records", bug)
    with pytest.raises(TypeError, match="a bug in the worker"):
        read_sample(vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL, threads=2)


def test_runs_are_consecutive_and_balanced():
    from mmresist.ingest.regions import runs_of as _runs

    weights = [("chr1", 80), ("chr2", 80), ("chr3", 65), ("chr4", 63), ("chr5", 60), ("chrX", 52)]
    assert _runs(weights, 2) == [["chr1", "chr2", "chr3"], ["chr4", "chr5", "chrX"]]
    assert _runs(weights, 3) == [["chr1", "chr2"], ["chr3", "chr4"], ["chr5", "chrX"]]
    assert _runs([("chr1", 5), ("chr2", 1000)], 2) == [["chr1"], ["chr2"]]
    assert _runs([("chr1", 1000), ("chr2", 5)], 4) == [["chr1"], ["chr2"]]


# --- reading only the panel regions of indexed files -----------------------------------


@pytest.fixture(scope="module")
def grch38_regions():
    from mmresist.ingest.vcf import PanelRegions
    from mmresist.knowledge.load import load_knowledge

    knowledge = load_knowledge("resources/knowledge")
    return PanelRegions("GRCh38", knowledge.panel_regions("GRCh38"))


def read_with(path, regions, panel=PANEL):
    return read_sample(
        vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=panel, regions=regions
    )


@pytest.mark.parametrize("kind", ["vcf.gz", "bcf"])
@pytest.mark.parametrize("make", [several_contigs_vep, several_contigs_bcsq])
def test_region_read_finds_what_the_whole_file_read_finds(tmp_path, grch38_regions, kind, make):
    import dataclasses

    path = index_file(write_vcf(tmp_path, "multi", make(), kind=kind))
    whole = read_with(path, None)
    by_region = read_with(path, grch38_regions)
    assert (whole.scan, by_region.scan) == ("whole_file", "panel_regions")
    assert by_region.calls and by_region.records_in_panel >= 3
    assert dataclasses.replace(by_region, scan="whole_file") == whole


def test_region_read_counts_records_from_the_index_and_skips_far_ones(tmp_path, grch38_regions):
    # A record that names KRAS 20 Mb away from KRAS is outside the panel regions: a region
    # read counts it (from the index) as outside the panel; a whole-file read takes it.
    records = [
        row("chr12", 5_000_000, "C", "T", f"CSQ={kras_g12d()}", "GT:AD:AF:DP",
            "0/1:70,30:0.3:100"),
        row("chr12", 25245350, "C", "T", f"CSQ={kras_g12d()}", "GT:AD:AF:DP",
            "0/1:70,30:0.3:100"),
        row("chr12", 60_000_000, "G", "A", f"CSQ={background('OTHER', 'A')}", "GT:AD:AF:DP",
            "0/1:70,30:0.3:100"),
    ]  # fmt: skip
    text = vcf_text(info=[vep_header()], formats=MUTECT2, samples=["TUMOR"], records=records)
    path = index_file(write_vcf(tmp_path, "far", text, kind="vcf.gz"))
    whole = read_with(path, None)
    by_region = read_with(path, grch38_regions)
    assert (whole.records_read, whole.records_in_panel) == (3, 2)
    assert (by_region.records_read, by_region.records_in_panel) == (3, 1)
    assert [call.pos for call in by_region.calls] == [25245350]


def test_a_record_spanning_two_regions_is_read_once(tmp_path):
    from mmresist.ingest.vcf import PanelRegions

    deletion = vep_entry(
        Allele="deletion",
        Consequence="feature_truncation",
        SYMBOL="KRAS",
        Feature="ENST00000256078",
        BIOTYPE="protein_coding",
        CANONICAL="YES",
    )
    records = [
        row("chr12", 150, "N", "<DEL>", f"END=350;SVTYPE=DEL;CSQ={deletion}", "GT:AD:AF:DP",
            "0/1:70,30:0.3:100"),
        row("chr12", 320, "C", "T", f"CSQ={kras_g12d()}", "GT:AD:AF:DP", "0/1:70,30:0.3:100"),
    ]  # fmt: skip
    text = vcf_text(
        info=[vep_header(), '##INFO=<ID=END,Number=1,Type=Integer,Description="End">',
              '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="SV type">',
              '##ALT=<ID=DEL,Description="Deletion">'],
        formats=MUTECT2, samples=["TUMOR"], records=records,
    )  # fmt: skip
    path = index_file(write_vcf(tmp_path, "sv", text, kind="vcf.gz"))
    regions = PanelRegions("GRCh38", {"12": [(100, 200), (300, 400)]})
    by_region = read_with(path, regions)
    assert by_region.scan == "panel_regions"
    assert [(call.pos, call.alt) for call in by_region.calls] == [(150, "<DEL>"), (320, "T")]
    assert by_region.records_in_panel == 2


@pytest.mark.parametrize(
    ("case", "scan"),
    [
        ("plain_vcf", "whole_file"),
        ("build_unknown", "whole_file"),
        ("other_build", "whole_file"),
        ("stale_index", "panel_regions"),
        ("no_index", "panel_regions"),
        ("bcf_no_index", "panel_regions"),
    ],
)
def test_region_read_is_only_used_when_it_is_safe(tmp_path, grch38_regions, case, scan):
    """Only for the regions' build; an unindexed (or stale-indexed) bgzipped VCF or BCF is
    indexed in a private temporary folder, never beside the user's file."""
    import os

    contigs = None
    if case == "build_unknown":
        contigs = {"chr12": 1_000_000_000}  # no length of either build
    elif case == "other_build":
        contigs = {"chr12": 133851895}  # GRCh37's chr12
    records = [row("chr12", 25245350, "C", "T", f"CSQ={kras_g12d()}", "GT:AD:AF:DP",
                   "0/1:70,30:0.3:100")]  # fmt: skip
    text = vcf_text(
        info=[vep_header()], formats=MUTECT2, samples=["TUMOR"], records=records, contigs=contigs
    )
    kind = {"plain_vcf": "vcf", "bcf_no_index": "bcf"}.get(case, "vcf.gz")
    path = write_vcf(tmp_path, "case", text, kind=kind)
    index = path.with_name(path.name + ".tbi")
    if case == "no_index":
        index.unlink()
    elif case == "stale_index":
        stamp = os.path.getmtime(path)
        os.utime(index, (stamp - 100, stamp - 100))
    before = sorted(os.listdir(tmp_path))
    ingest = read_with(path, grch38_regions)
    assert ingest.scan == scan
    assert [call.pos for call in ingest.calls] == [25245350]
    assert ingest.records_read == 1
    assert sorted(os.listdir(tmp_path)) == before


def test_an_unsorted_unindexed_file_is_read_whole(tmp_path, grch38_regions):
    records = [
        row("chr12", 25245350, "C", "T", f"CSQ={kras_g12d()}", "GT:AD:AF:DP",
            "0/1:70,30:0.3:100"),
        row("chr1", 114713909, "C", "G", f"CSQ={background('NRAS', 'G')}", "GT:AD:AF:DP",
            "0/1:70,30:0.3:100"),
        row("chr12", 25245300, "C", "T", f"CSQ={kras_g12d()}", "GT:AD:AF:DP",
            "0/1:70,30:0.3:100"),
    ]  # fmt: skip
    text = vcf_text(info=[vep_header()], formats=MUTECT2, samples=["TUMOR"], records=records)
    plain = write_vcf(tmp_path, "unsorted", text, kind="vcf")
    path = tmp_path / "unsorted.vcf.gz"
    pysam.tabix_compress(str(plain), str(path), force=True)
    ingest = read_with(path, grch38_regions)
    assert ingest.scan == "whole_file"
    assert ingest.records_read == 3
    # Why the whole file was read is in the QC warnings.
    assert any(
        warning.startswith("not read by panel region") and "could not be indexed" in warning
        for warning in ingest.warnings
    )


def test_a_failing_region_read_falls_back_to_the_whole_file(tmp_path, grch38_regions, monkeypatch):
    import dataclasses

    import mmresist.ingest.regions as regions_module

    path = index_file(write_vcf(tmp_path, "multi", several_contigs_vep(), kind="vcf.gz"))
    expected = read_with(path, None)

    def broken(vcf, queries):
        yield from ()
        raise OSError("htslib could not seek")

    monkeypatch.setattr(regions_module, "region_records", broken)
    got = read_with(path, grch38_regions)
    assert got.scan == "whole_file"
    (note,) = got.warnings[: len(got.warnings) - len(expected.warnings)]
    assert note.startswith("not read by panel region, read whole instead:")
    assert "htslib could not seek" in note
    assert dataclasses.replace(got, warnings=expected.warnings) == expected


def test_a_programming_error_in_a_region_read_is_not_hidden(tmp_path, grch38_regions, monkeypatch):
    import mmresist.ingest.regions as regions_module

    path = index_file(write_vcf(tmp_path, "multi", several_contigs_vep(), kind="vcf.gz"))

    def bug(vcf, queries):
        yield from ()
        raise TypeError("a bug in the region reader")

    monkeypatch.setattr(regions_module, "region_records", bug)
    with pytest.raises(TypeError, match="a bug in the region reader"):
        read_with(path, grch38_regions)
    monkeypatch.setattr(regions_module, "index_counts", lambda path: {}["no such key"])
    with pytest.raises(KeyError):
        read_with(path, grch38_regions)


def test_panel_regions_cover_every_gene_padded_and_merged(grch38_regions):
    from mmresist.knowledge.load import REGION_PADDING, load_knowledge

    knowledge = load_knowledge("resources/knowledge")
    genes = knowledge.gene_regions("GRCh38")
    assert set(genes) == set(knowledge.genes)
    assert genes["KRAS"] == ("12", 25205246, 25250929)  # Ensembl/NCBI GRCh38 extent
    for chrom, start, end in genes.values():
        covering = [
            (low, high) for low, high in grch38_regions.by_chrom[chrom]
            if low <= start - REGION_PADDING and high >= end + REGION_PADDING
        ]  # fmt: skip
        assert len(covering) == 1
    for intervals in grch38_regions.by_chrom.values():
        assert all(a[1] < b[0] for a, b in zip(intervals, intervals[1:], strict=False))
    assert knowledge.panel_regions("GRCh37") is None


def test_ingest_threads_gives_a_second_core_only_to_large_files_read_whole(tmp_path, monkeypatch):
    import mmresist.ingest.vcf as vcf_module
    from mmresist.ingest.vcf import ingest_threads

    small = index_file(write_vcf(tmp_path, "small", several_contigs_vep(), kind="vcf.gz"))
    assert ingest_threads([small], regions_known=False) == 1
    monkeypatch.setattr(vcf_module, "TWO_THREAD_MIN_BYTES", 1)
    assert ingest_threads([small], regions_known=True) == 1  # bgzipped: read by region
    assert ingest_threads([small], regions_known=False) == 2
    plain = write_vcf(tmp_path, "plain", several_contigs_vep(), kind="vcf")
    assert ingest_threads([plain], regions_known=True) == 2  # cannot be queried by region
    assert ingest_threads([tmp_path / "missing.vcf.gz"], regions_known=True) == 1


def test_refseq_contig_names_are_read_whole_not_by_region(tmp_path, grch38_regions):
    # The panel coordinates cannot be named in NC_ contigs: a region read would find
    # nothing and say nothing.
    records = [row("NC_000012.12", 25245350, "C", "T", f"CSQ={kras_g12d()}", "GT:AD:AF:DP",
                   "0/1:70,30:0.3:100")]  # fmt: skip
    text = vcf_text(
        info=[vep_header(), '##VEP="v110" assembly="GRCh38.p14"'],
        formats=MUTECT2,
        samples=["TUMOR"],
        records=records,
        contigs={"NC_000012.12": 133275309},
    )
    path = write_vcf(tmp_path, "refseq", text, kind="vcf.gz")
    ingest = read_with(path, grch38_regions)
    assert ingest.scan == "whole_file"
    assert [call.pos for call in ingest.calls] == [25245350]


def test_unannotated_records_in_the_regions_do_not_make_a_region_read_cry_wolf(
    tmp_path, grch38_regions
):
    def bcsq(gene: str, change: str, dna: str) -> str:
        return f"missense|{gene}|ENST_{gene}|protein_coding|-|{change}|{dna}"

    records = [
        row("chr1", 5_000_000, "C", "T", "BCSQ=" + bcsq("GENE1", "5A>5V", "5000000C>T"),
            "GT:AD", "0/1:30,10"),
        row("chr12", 25_200_000, "C", "T", ".", "GT:AD", "0/1:30,10"),  # KRAS padding
    ]  # fmt: skip
    text = vcf_text(info=[BCSQ_HEADER], formats=("GT", "AD"), samples=["TUMOR"], records=records)
    path = index_file(write_vcf(tmp_path, "sparse", text, kind="vcf.gz"))
    whole, by_region = read_with(path, None), read_with(path, grch38_regions)
    assert by_region.scan == "panel_regions"
    assert whole.warnings == by_region.warnings == []
    # A VEP file whose records carry no CSQ at all is still flagged by a region read.
    records = [row("chr12", 25245350, "C", "T", ".", "GT:AD:AF:DP", "0/1:70,30:0.3:100")]
    text = vcf_text(info=[vep_header()], formats=MUTECT2, samples=["TUMOR"], records=records)
    path = index_file(write_vcf(tmp_path, "bare", text, kind="vcf.gz"))
    flagged = read_with(path, grch38_regions)
    assert flagged.scan == "panel_regions"
    assert any("no record carries INFO/CSQ" in warning for warning in flagged.warnings)


def test_no_index_is_made_for_a_file_a_region_read_could_not_use(
    tmp_path, grch38_regions, monkeypatch
):
    import pysam.bcftools

    calls = []
    monkeypatch.setattr(pysam.bcftools, "index", lambda *args: calls.append(args))
    records = [row("NC_000012.12", 25245350, "C", "T", f"CSQ={kras_g12d()}", "GT:AD:AF:DP",
                   "0/1:70,30:0.3:100")]  # fmt: skip
    text = vcf_text(
        info=[vep_header(), '##VEP="v110" assembly="GRCh38.p14"'],
        formats=MUTECT2,
        samples=["TUMOR"],
        records=records,
        contigs={"NC_000012.12": 133275309},
    )
    path = write_vcf(tmp_path, "refseq", text, kind="vcf.gz")
    path.with_name(path.name + ".tbi").unlink()
    ingest = read_with(path, grch38_regions)
    assert ingest.scan == "whole_file" and [c.pos for c in ingest.calls] == [25245350]
    assert calls == []
