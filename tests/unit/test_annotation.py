"""Annotation layouts from headers, entry parsing, transcript choice and HGVSp forms."""

from __future__ import annotations

import pytest
from cyvcf2 import VCF
from vcf_fixtures import (
    BCSQ_HEADER,
    EFF_HEADER,
    OLD_BCFTOOLS_CSQ_HEADER,
    SNPEFF_HEADER,
    VEP_FIELDS,
    VEP_FIELDS_NO_ALLELE,
    vcf_text,
    vep_entry,
    vep_header,
    write_vcf,
)

from mmresist.errors import AnnotationMissingError, InputError
from mmresist.ingest.annotation import (
    AnnotationLayout,
    choose_transcript,
    classify_description,
    detect_layout,
    normalise_consequence,
    parse_entries,
)
from mmresist.ingest.hgvs import normalise_hgvsp, protein_change


def layout_of(tmp_path, *info: str) -> AnnotationLayout:
    path = write_vcf(tmp_path, "layout", vcf_text(info=info))
    vcf = VCF(str(path))
    try:
        return detect_layout(vcf, str(path))
    finally:
        vcf.close()


# --- layouts read from headers ------------------------------------------------------------


def test_vep_csq_with_allele_first(tmp_path):
    layout = layout_of(tmp_path, vep_header())
    assert (layout.tag, layout.kind) == ("CSQ", "vep")
    assert layout.fields == VEP_FIELDS
    assert layout.gene_field == "SYMBOL"
    assert layout.label == "Ensembl VEP (INFO/CSQ)"


def test_vep_without_allele_first(tmp_path):
    layout = layout_of(tmp_path, vep_header(VEP_FIELDS_NO_ALLELE))
    assert layout.kind == "vep"
    assert layout.fields[0] == "Consequence"
    assert layout.index("Allele") is None
    entry = parse_entries("missense_variant|gCc/gTc|A/V|ENSG1|KRAS|ENST1|2/5|||12|"
                          "protein_coding", layout)[0]  # fmt: skip
    assert entry["gene"] == "KRAS"
    assert entry["allele"] == ""
    assert protein_change(entry) == ("A12V", 12, 12)


def test_vep_under_ann_and_lower_case_vep_tags(tmp_path):
    assert layout_of(tmp_path, vep_header(tag="ANN")).kind == "vep"
    layout = layout_of(tmp_path, vep_header(tag="vep"))
    assert (layout.tag, layout.kind) == ("vep", "vep")


def test_snpeff_ann(tmp_path):
    layout = layout_of(tmp_path, SNPEFF_HEADER)
    assert (layout.tag, layout.kind) == ("ANN", "snpeff")
    assert layout.fields[:4] == ["Allele", "Annotation", "Annotation_Impact", "Gene_Name"]
    assert layout.gene_field == "Gene_Name"


def test_bcsq(tmp_path):
    layout = layout_of(tmp_path, BCSQ_HEADER)
    assert (layout.tag, layout.kind) == ("BCSQ", "bcsq")
    assert layout.fields == [
        "Consequence", "gene", "transcript", "biotype", "strand", "amino_acid_change",
        "dna_change",
    ]  # fmt: skip


def test_old_bcftools_csq_tag_is_not_taken_for_vep(tmp_path):
    layout = layout_of(tmp_path, OLD_BCFTOOLS_CSQ_HEADER)
    assert (layout.tag, layout.kind) == ("CSQ", "bcsq")
    assert layout.fields == [
        "consequence", "gene", "transcript", "biotype", "strand", "amino_acid_change",
        "dna_change",
    ]  # fmt: skip
    entry = parse_entries("inframe_deletion|SAMD11|ENST00000420190|protein_coding|+|74EDG>74D|"
                          "865683AGGATGG>A", layout)[0]  # fmt: skip
    assert entry["gene"] == "SAMD11"
    assert entry["consequence"] == "inframe_deletion"
    assert entry["allele"] == ""  # never the VEP Allele column


def test_legacy_eff(tmp_path):
    layout = layout_of(tmp_path, EFF_HEADER)
    assert (layout.tag, layout.kind) == ("EFF", "snpeff_eff")
    assert layout.fields[:3] == ["Effect", "Effect_Impact", "Functional_Class"]
    assert layout.fields[-3:] == ["Genotype_Number", "ERRORS", "WARNINGS"]


def test_preference_vep_then_snpeff_then_bcsq_then_eff(tmp_path):
    all_four = (EFF_HEADER, BCSQ_HEADER, SNPEFF_HEADER, vep_header(tag="CSQ"))
    assert layout_of(tmp_path, *all_four).kind == "vep"
    assert layout_of(tmp_path, EFF_HEADER, BCSQ_HEADER, SNPEFF_HEADER).kind == "snpeff"
    assert layout_of(tmp_path, EFF_HEADER, BCSQ_HEADER).kind == "bcsq"
    # The old bcftools CSQ next to real snpEff ANN: ANN wins, CSQ is not read as VEP.
    assert layout_of(tmp_path, OLD_BCFTOOLS_CSQ_HEADER, SNPEFF_HEADER).kind == "snpeff"


def test_tag_name_alone_decides_nothing():
    described = "Consequence annotations from Ensembl VEP. Format: Allele|Consequence|SYMBOL"
    assert classify_description("ANYTHING", described).kind == "vep"
    assert classify_description("CSQ", "Some other tool's consequences") is None
    # A Format string with a Consequence column but neither VEP's name nor its columns.
    assert classify_description("CSQ", "Custom tool. Format: Consequence|gene|score") is None


def test_missing_annotation_names_the_file_and_how_to_fix(tmp_path):
    info = '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">'
    with pytest.raises(AnnotationMissingError) as caught:
        layout_of(tmp_path, info)
    message = str(caught.value)
    assert "layout.vcf" in message
    assert "VEP" in message and "snpEff" in message and "bcftools csq" in message
    assert isinstance(caught.value, InputError)


def test_declared_but_unreadable_csq_is_reported(tmp_path):
    info = '##INFO=<ID=CSQ,Number=.,Type=String,Description="Custom consequences">'
    with pytest.raises(AnnotationMissingError, match=r"INFO/CSQ is declared"):
        layout_of(tmp_path, info)


# --- entries ------------------------------------------------------------------------------


def vep_layout(fields=VEP_FIELDS) -> AnnotationLayout:
    return AnnotationLayout(tag="CSQ", kind="vep", fields=list(fields))


def test_vep_entries_keep_every_key():
    raw = ",".join(
        [
            vep_entry(Allele="T", Consequence="missense_variant", IMPACT="MODERATE",
                      SYMBOL="KRAS", Feature="ENST00000256078.10", BIOTYPE="protein_coding",
                      HGVSc="ENST00000256078.10:c.35G>A", HGVSp="ENSP00000256078.5:p.Gly12Asp",
                      Protein_position="12", Amino_acids="G/D", ALLELE_NUM="1",
                      CANONICAL="YES", MANE_SELECT="NM_004985.5"),
            vep_entry(Allele="T", Consequence="intron_variant&NMD_transcript_variant",
                      IMPACT="MODIFIER", SYMBOL="KRAS", Feature="ENST00000557334.5",
                      BIOTYPE="nonsense_mediated_decay", ALLELE_NUM="1"),
        ]
    )  # fmt: skip
    first, second = parse_entries(raw, vep_layout())
    assert first["allele"] == "T"
    assert first["gene"] == "KRAS"
    assert first["consequence"] == "missense_variant"
    assert first["impact"] == "MODERATE"
    assert first["transcript"] == "ENST00000256078.10"
    assert first["biotype"] == "protein_coding"
    assert first["canonical"] is True and first["mane"] is True
    assert first["hgvsc"] == "ENST00000256078.10:c.35G>A"
    assert first["hgvsp"] == "ENSP00000256078.5:p.Gly12Asp"
    assert first["protein_position"] == "12"
    assert first["allele_num"] == 1
    assert second["consequence"] == "intron_variant&NMD_transcript_variant"
    assert second["canonical"] is False and second["mane"] is False


def test_vep_mane_column_of_older_releases():
    fields = ["Allele", "Consequence", "SYMBOL", "Feature", "BIOTYPE", "MANE"]
    layout = vep_layout(fields)
    select, plus = parse_entries(
        "A|missense_variant|TP53|ENST1|protein_coding|NM_000546.6,"
        "A|missense_variant|TP53|ENST2|protein_coding|MANE_Plus_Clinical",
        layout,
    )
    assert select["mane"] is True
    assert plus["mane"] is False


def test_snpeff_entries_cancer_alleles_and_plus_joined_effects():
    layout = AnnotationLayout(
        tag="ANN", kind="snpeff", fields=[name.strip() for name in
        "Allele|Annotation|Annotation_Impact|Gene_Name|Gene_ID|Feature_Type|Feature_ID|"
        "Transcript_BioType|Rank|HGVS.c|HGVS.p|cDNA.pos / cDNA.length|CDS.pos / CDS.length|"
        "AA.pos / AA.length|Distance|ERRORS / WARNINGS / INFO".split("|")]
    )  # fmt: skip
    raw = (
        "G|start_lost|HIGH|OR4F5|ENSG00000186092|transcript|ENST00000335137|protein_coding|1/1|"
        "c.1A>G|p.Met1?|1/918|1/918|1/305||,"
        "G-C|start_lost|HIGH|OR4F5|ENSG00000186092|transcript|ENST00000335137|protein_coding|"
        "1/1|c.1A>G|p.Leu1?|1/918|1/918|1/305||WARNING_REF_DOES_NOT_MATCH_GENOME,"
        "|5_prime_UTR_truncation+exon_loss_variant|MODERATE|GENE1|GENE1|transcript|T01|Coding|"
        "1/1|c.-6_-1delTTACCC||||||"
    )
    plain, cancer, plus = parse_entries(raw, layout)
    assert (plain["allele"], plain["reference_allele"]) == ("G", "")
    assert (cancer["allele"], cancer["reference_allele"]) == ("G", "C")
    assert plain["protein_position"] == "1"
    assert plain["hgvsp"] == "p.Met1?"
    assert plus["consequence"] == "5_prime_UTR_truncation&exon_loss_variant"
    assert plus["biotype"] == "protein_coding"  # snpEff's "Coding"
    assert plus["allele"] == ""


def test_bcsq_words_become_sequence_ontology_terms():
    layout = AnnotationLayout(
        tag="BCSQ", kind="bcsq",
        fields=["Consequence", "gene", "transcript", "biotype", "strand", "amino_acid_change",
                "dna_change"],
    )  # fmt: skip
    raw = (
        "missense|KRAS|ENST00000256078|protein_coding|-|12G>12D|25245350C>T,"
        "*missense&inframe_altering|KRAS|ENST00000311936|protein_coding|-|12G>12D|25245350C>T,"
        "@25245347,"
        "splice_acceptor|TP53|ENST00000269305|protein_coding|-||7675237C>T"
    )
    missense, starred, compound, splice = parse_entries(raw, layout)
    assert missense["consequence"] == "missense_variant"
    assert missense["impact"] == "MODERATE"
    assert missense["hgvsp"] == "12G>12D"
    assert missense["protein_position"] == "12"
    assert missense["dna_change"] == "25245350C>T"
    assert starred["consequence"] == "missense_variant&protein_altering_variant"
    assert compound["compound_position"] == 25245347 and compound["gene"] == ""
    assert splice["consequence"] == "splice_acceptor_variant"
    assert splice["impact"] == "HIGH"


@pytest.mark.parametrize(
    ("word", "term"),
    [
        ("missense", "missense_variant"),
        ("stop_gained", "stop_gained"),
        ("frameshift", "frameshift_variant"),
        ("splice_acceptor", "splice_acceptor_variant"),
        ("splice_donor", "splice_donor_variant"),
        ("inframe_deletion", "inframe_deletion"),
        ("*missense", "missense_variant"),
        ("synonymous", "synonymous_variant"),
        ("5_prime_utr", "5_prime_UTR_variant"),
        ("start_lost&splice_region", "start_lost&splice_region_variant"),
    ],
)
def test_bcsq_consequence_table(word, term):
    assert normalise_consequence(word, "bcsq") == term


def test_eff_entries():
    layout = AnnotationLayout(
        tag="EFF", kind="snpeff_eff",
        fields=["Effect", "Effect_Impact", "Functional_Class", "Codon_Change",
                "Amino_Acid_Change", "Amino_Acid_length", "Gene_Name", "Transcript_BioType",
                "Gene_Coding", "Transcript_ID", "Exon_Rank", "Genotype_Number", "ERRORS",
                "WARNINGS"],
    )  # fmt: skip
    raw = (
        "NON_SYNONYMOUS_CODING(MODERATE|MISSENSE|gGt/gAt|G12D|189|KRAS|protein_coding|CODING|"
        "ENST00000256078|2|1),"
        "STOP_GAINED(HIGH|NONSENSE|Cag/Tag|p.Gln25Ter/c.73C>T|305|OR4F5|protein_coding|CODING|"
        "ENST00000335137|1|G-C|WARNING_REF_DOES_NOT_MATCH_GENOME),"
        "splice_region_variant+intron_variant(LOW|||||TP53|protein_coding|CODING|ENST1|3|T)"
    )
    missense, stop, splice = parse_entries(raw, layout)
    assert missense["consequence"] == "missense_variant"
    assert missense["gene"] == "KRAS"
    assert missense["hgvsp"] == "G12D"
    assert missense["protein_position"] == "12"
    assert missense["allele_num"] == 1
    assert stop["consequence"] == "stop_gained"
    assert (stop["hgvsp"], stop["hgvsc"]) == ("p.Gln25Ter", "c.73C>T")
    assert (stop["allele"], stop["reference_allele"]) == ("G", "C")
    assert normalise_hgvsp(stop["hgvsp"]) == ("Q25*", 25, 25)
    assert splice["consequence"] == "splice_region_variant&intron_variant"
    assert splice["allele"] == "T"


# --- transcript choice --------------------------------------------------------------------


def entry(transcript, *, mane=False, canonical=False, biotype="protein_coding"):
    return {"transcript": transcript, "mane": mane, "canonical": canonical, "biotype": biotype}


def test_mane_select_first():
    entries = [entry("A", canonical=True), entry("B", mane=True), entry("C")]
    assert choose_transcript(entries)["transcript"] == "B"


def test_canonical_when_no_mane():
    entries = [entry("A"), entry("B", canonical=True), entry("C")]
    assert choose_transcript(entries)["transcript"] == "B"


def test_first_protein_coding_when_no_flags():
    entries = [entry("A", biotype="retained_intron"), entry("B"), entry("C")]
    assert choose_transcript(entries)["transcript"] == "B"


def test_first_when_nothing_is_coding_and_none_when_empty():
    entries = [entry("A", biotype="lncRNA"), entry("B", biotype="retained_intron")]
    assert choose_transcript(entries)["transcript"] == "A"
    assert choose_transcript([]) is None


# --- protein changes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hgvsp", "expected"),
    [
        ("ENSP00000290541.7:p.Ala108Thr", ("A108T", 108, 108)),
        ("p.Gln25Ter", ("Q25*", 25, 25)),
        ("p.Gln25*", ("Q25*", 25, 25)),
        ("p.Q25X", ("Q25*", 25, 25)),
        ("p.Ser30del", ("S30del", 30, 30)),
        ("p.Pro34_Ser35del", ("P34_S35del", 34, 35)),
        ("p.Leu10fs", ("L10fs", 10, 10)),
        ("p.Leu10ProfsTer5", ("L10fs", 10, 10)),
        ("p.L10Pfs*5", ("L10fs", 10, 10)),
        ("p.Ala20%3D", ("A20=", 20, 20)),
        ("ENSP00000256078.5:p.Gly12%3D", ("G12=", 12, 12)),
        ("p.Leu10Leu", ("L10=", 10, 10)),
        ("p.A108T", ("A108T", 108, 108)),
        ("A108T", ("A108T", 108, 108)),
        ("108A>108T", ("A108T", 108, 108)),
        ("60S", ("S60=", 60, 60)),
        ("p.Met1?", ("M1?", 1, 1)),
        ("p.Lys10_Leu11insGlnSer", ("K10_L11insQS", 10, 11)),
        ("p.Cys28delinsTrpVal", ("C28delinsWV", 28, 28)),
        ("p.Gly12_Gly13dup", ("G12_G13dup", 12, 13)),
        ("p.Ter100GlnextTer5", ("*100Qext*5", 100, 100)),
        ("p.(Arg175His)", ("R175H", 175, 175)),
        ("?", ("", None, None)),
        ("", ("", None, None)),
        ("p.?", ("", None, None)),
    ],
)
def test_normalise_hgvsp(hgvsp, expected):
    assert normalise_hgvsp(hgvsp) == expected


def test_bcsq_multi_residue_changes():
    assert normalise_hgvsp("74EDG>74D") == ("E74_G76delinsD", 74, 76)
    assert normalise_hgvsp("10KL>10K") == ("L11del", 11, 11)


def test_protein_change_falls_back_to_vep_amino_acids():
    base = {"hgvsp": "", "consequence": "missense_variant"}
    assert protein_change(dict(base, amino_acids="R/H", protein_position="175")) == (
        "R175H", 175, 175,
    )  # fmt: skip
    assert protein_change(dict(base, amino_acids="Q/*", protein_position="25")) == (
        "Q25*", 25, 25,
    )  # fmt: skip
    synonymous = dict(base, consequence="synonymous_variant", amino_acids="L",
                      protein_position="10")  # fmt: skip
    assert protein_change(synonymous) == ("L10=", 10, 10)
    frameshift = dict(base, consequence="frameshift_variant", amino_acids="L/X",
                      protein_position="10")  # fmt: skip
    assert protein_change(frameshift) == ("L10fs", 10, 10)
    assert protein_change(dict(base, amino_acids="", protein_position="")) == ("", None, None)


def test_bcsq_frameshift_without_alt_residues():
    assert protein_change({"hgvsp": "333LPPAQA", "consequence": "frameshift_variant"}) == (
        "L333fs", 333, 338,
    )  # fmt: skip


# --- real files ---------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("relative", "tag", "kind"),
    [
        ("bcftools/test/split-vep.vcf", "CSQ", "vep"),
        ("bcftools/test/split-vep.7.vcf", "ANN", "vep"),
        ("bcftools/test/split-vep.broken-LoF.vcf", "vep", "vep"),
        ("bcftools/test/split-vep.4.vcf", "BCSQ", "bcsq"),
        ("bcftools/test/split-vep.2.vcf", "CSQ", "vep"),  # VEP preferred to its BCSQ
        ("bcftools/test/indel-stats.vcf", "CSQ", "bcsq"),  # old bcftools csq under CSQ
        ("cyvcf2/cyvcf2/tests/test_gt_alt_freqs.vcf", "ANN", "snpeff"),  # ANN declared twice
        ("cyvcf2/cyvcf2/tests/test.vcf.gz", "CSQ", "vep"),  # snpEff ANN and VEP CSQ
        ("cyvcf2/cyvcf2/tests/test-hemi.vcf", "CSQ", "vep"),  # VEP without Allele
        ("cyvcf2/cyvcf2/tests/o.vcf.gz", "EFF", "snpeff_eff"),
        ("SnpEff/tests/old/EML4-ALK_fusion.vcf", "ANN", "snpeff"),
    ],
)
def test_real_layouts(realdata, relative, tag, kind):
    path = realdata / relative
    vcf = VCF(str(path))
    try:
        layout = detect_layout(vcf, str(path))
    finally:
        vcf.close()
    assert (layout.tag, layout.kind) == (tag, kind)


@pytest.mark.realdata
def test_real_bcsq_entries(realdata):
    path = realdata / "bcftools/test/split-vep.8.vcf"
    vcf = VCF(str(path))
    layout = detect_layout(vcf, str(path))
    records = {variant.POS: variant.INFO.get("BCSQ") for variant in vcf}
    vcf.close()
    entries = parse_entries(records[48822646], layout)
    assert [entry["transcript"] for entry in entries] == [
        "ENST00000376477", "ENST00000218176", "ENST00000419374",
    ]  # fmt: skip
    assert {entry["consequence"] for entry in entries} == {"missense_variant"}
    assert [normalise_hgvsp(entry["hgvsp"])[0] for entry in entries] == [
        "T135P", "T512P", "T83P",
    ]  # fmt: skip


@pytest.mark.realdata
def test_real_vep_hgvsp_and_mane(realdata):
    path = realdata / "bcftools/test/split-vep.select-tr-expr.vcf"
    vcf = VCF(str(path))
    layout = detect_layout(vcf, str(path))
    records = {variant.POS: variant.INFO.get("CSQ") for variant in vcf}
    vcf.close()
    entries = parse_entries(records[1804496], layout)
    assert len(entries) == 26
    chosen = choose_transcript([entry for entry in entries if entry["gene"] == "GNB1"])
    assert chosen is not None and chosen["mane"] is True
    assert chosen["transcript"] == "ENST00000378609"
    assert normalise_hgvsp(chosen["hgvsp"])[0] == "D118G"


def test_bcsq_frameshift_with_its_new_tail_reads_as_fs():
    # bcftools csq writes the residues a frameshift changes up to the new stop.
    entry = {"hgvsp": "31P>31LSVS*", "consequence": "frameshift_variant"}
    change, start, _ = protein_change(entry)
    assert (change, start) == ("P31fs", 31)
    missense = {"hgvsp": "31P>31L", "consequence": "missense_variant"}
    assert protein_change(missense)[0] == "P31L"
