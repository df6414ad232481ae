"""Biomarker matching against the real curated table: one test per alteration type and more."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mmresist.interpret.alterations import three_letter, variant_effects
from mmresist.interpret.matching import match_biomarkers
from mmresist.knowledge.load import load_knowledge
from mmresist.model import CopyNumberCall, VariantCall
from mmresist.vocab import ALTERATION_TYPES, IMPLICATIONS

REPO = Path(__file__).resolve().parents[2]
KNOWLEDGE = REPO / "resources" / "knowledge"
SAMPLE = "MM-T-REL"


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge(KNOWLEDGE)


def variant(
    gene: str,
    change: str = "",
    consequence: str = "missense_variant",
    *,
    pos: int = 1000,
    vaf: float | None = 0.3,
    start: int | None = None,
    hgvsc: str = "",
) -> VariantCall:
    position = start
    if position is None and change:
        digits = "".join(ch for ch in change[1:] if ch.isdigit() or ch == "_").split("_")[0]
        position = int(digits) if digits else None
    return VariantCall(
        sample_id=SAMPLE,
        chrom="chr1",
        pos=pos,
        ref="C",
        alt="T",
        gene=gene,
        consequence=consequence,
        hgvsc=hgvsc,
        protein_change=change,
        protein_start=position,
        protein_end=position,
        vaf=vaf,
        depth=200,
    )


def cn(gene: str, call: str, copy_number: float | None = None) -> CopyNumberCall:
    return CopyNumberCall(sample_id=SAMPLE, gene=gene, call=call, copy_number=copy_number)


def cyto(abnormality: str, fraction: float | None = None, when: str = "2025-01-10") -> dict:
    return {"abnormality": abnormality, "clone_fraction": fraction, "date": when}


def run(knowledge, variants=(), copy_number=(), cytogenetics=(), **kwargs) -> list[dict]:
    return match_biomarkers(
        knowledge=knowledge,
        variants=list(variants),
        copy_number=list(copy_number),
        cytogenetics=list(cytogenetics),
        **kwargs,
    )


def ids(findings: list[dict]) -> set[str]:
    return {finding["biomarker_id"] for finding in findings}


def by_id(findings: list[dict], biomarker_id: str) -> dict:
    return next(f for f in findings if f["biomarker_id"] == biomarker_id)


# -- protein_change -------------------------------------------------------------------------
def test_protein_change_psmb5_precursor_numbering_with_literature_alias(knowledge):
    findings = run(knowledge, [variant("PSMB5", "A108T")])
    finding = by_id(findings, "BM-PSMB5-A108T")
    assert finding["alteration"] == "p.Ala108Thr (A108T; literature A49T)"
    assert finding["implication"] == "resistance"
    assert finding["drugs"] == ["bortezomib"]
    assert finding["drug_classes"] == ["proteasome_inhibitor"]
    assert finding["evidence_level"] == "D"
    assert "PMID:19426847" in " ".join(finding["sources"])
    assert finding["evidence"]["kind"] == "variant"
    assert finding["evidence"]["vaf"] == 0.3
    # The broader pocket-range row says the same thing more weakly and is dropped.
    assert "BM-PSMB5-POCKET" not in ids(findings)


def test_mature_numbering_in_the_vcf_does_not_match(knowledge):
    # A49T written in precursor coordinates would be a different residue: no false match.
    assert "BM-PSMB5-A108T" not in ids(run(knowledge, [variant("PSMB5", "A49T")]))


def test_protein_change_with_alternatives_reports_the_matching_alias(knowledge):
    finding = by_id(run(knowledge, [variant("PSMB5", "M104I")]), "BM-PSMB5-M104V")
    assert finding["alteration"] == "p.Met104Ile (M104I; literature M45I)"


def test_psmb5_c122f_reports_resistance_and_carfilzomib_activity(knowledge):
    findings = run(knowledge, [variant("PSMB5", "C122F")])
    assert {"BM-PSMB5-C122F", "BM-PSMB5-C122F-CFZ"} <= ids(findings)
    assert by_id(findings, "BM-PSMB5-C122F-CFZ")["drugs"] == ["carfilzomib"]
    assert by_id(findings, "BM-PSMB5-C122F")["alteration"].endswith("literature C63F)")


def test_psmb5_propeptide_variant_has_no_mature_numbering(knowledge):
    finding = by_id(run(knowledge, [variant("PSMB5", "R24C")]), "BM-PSMB5-R24C")
    assert "propeptide" in finding["alteration"]
    assert finding["evidence_level"] == "E"


def test_psmb5_other_pocket_missense_falls_to_the_range_row(knowledge):
    finding = by_id(run(knowledge, [variant("PSMB5", "G98S")]), "BM-PSMB5-POCKET")
    assert finding["alteration"] == "p.Gly98Ser (G98S; literature G39S)"
    assert finding["evidence_level"] == "E"


def test_protein_change_in_frame_deletion(knowledge):
    findings = run(knowledge, [variant("TNFRSF17", "S30del", "inframe_deletion")])
    finding = by_id(findings, "BM-TNFRSF17-S30DEL")
    assert finding["alteration"] == "p.Ser30del (S30del)"
    assert finding["drug_classes"] == ["bcma_bispecific"]
    # Same claim made more broadly by the ECD range row for T-cell engagers: dropped.
    assert "BM-TNFRSF17-ECD-TCE" not in ids(findings)
    # CAR-T and ADC rows make other claims and stay.
    assert {"BM-TNFRSF17-ECD-CART", "BM-TNFRSF17-ECD-ADC"} <= ids(findings)


def test_protein_change_stop_written_with_x(knowledge):
    findings = run(knowledge, [variant("TNFRSF17", "Q25X", "stop_gained")])
    assert "BM-TNFRSF17-Q25X" in ids(findings)
    assert by_id(findings, "BM-TNFRSF17-Q25X")["alteration"] == "p.Gln25Ter (Q25*)"


# -- codon ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("gene", "change", "expected"),
    [
        ("KRAS", "G12D", "BM-KRAS-C12"),
        ("KRAS", "G12V", "BM-KRAS-C12"),
        ("KRAS", "G13D", "BM-KRAS-C13"),
        ("KRAS", "Q61H", "BM-KRAS-C61"),
        ("NRAS", "Q61K", "BM-NRAS-C61"),
        ("NRAS", "G12D", "BM-NRAS-C12"),
        ("IDH2", "R140Q", "BM-IDH2-R140-R172"),
        ("FGFR3", "K650E", "BM-FGFR3-HOTSPOT"),
    ],
)
def test_codon_hotspots(knowledge, gene, change, expected):
    finding = by_id(run(knowledge, [variant(gene, change)]), expected)
    assert finding["implication"] == "eligibility"


def test_nras_hotspot_also_reports_bortezomib_row(knowledge):
    findings = run(knowledge, [variant("NRAS", "Q61R")])
    assert {"BM-NRAS-C61", "BM-NRAS-HOTSPOT-BTZ"} <= ids(findings)


def test_codon_rows_ignore_synonymous_and_truncating_changes(knowledge):
    assert ids(run(knowledge, [variant("KRAS", "G12=", "synonymous_variant")])) == set()
    assert "BM-KRAS-C12" not in ids(
        run(knowledge, [variant("KRAS", "G12Afs*5", "frameshift_variant")])
    )
    assert "BM-KRAS-C12" not in ids(run(knowledge, [variant("KRAS", "G14D")]))


# -- aa_range -------------------------------------------------------------------------------
def test_aa_range_nontruncating_ecd_change(knowledge):
    findings = run(knowledge, [variant("TNFRSF17", "T20M")])
    assert {"BM-TNFRSF17-ECD-TCE", "BM-TNFRSF17-ECD-CART", "BM-TNFRSF17-ECD-ADC"} <= ids(findings)


def test_aa_range_excludes_truncating_and_outside_changes(knowledge):
    truncating = ids(run(knowledge, [variant("TNFRSF17", "W40*", "stop_gained")]))
    assert "BM-TNFRSF17-ECD-TCE" not in truncating
    assert "BM-TNFRSF17-LOF" in truncating
    assert "BM-TNFRSF17-ECD-TCE" not in ids(run(knowledge, [variant("TNFRSF17", "A100V")]))


# -- missense -------------------------------------------------------------------------------
def test_gene_wide_missense_rows_are_gone(knowledge):
    """A gene-wide missense row catches germline polymorphisms (NR3C1 N363S); with no
    sourced domain, CRBN and NR3C1 missense changes make no finding."""
    assert not ids(run(knowledge, [variant("CRBN", "W386R")]))
    assert not ids(run(knowledge, [variant("NR3C1", "N363S")]))


# -- loss_of_function -----------------------------------------------------------------------
def test_loss_of_function_stop(knowledge):
    findings = run(knowledge, [variant("TRAF3", "R118*", "stop_gained")])
    assert "BM-TRAF3-LOF" in ids(findings)
    crbn = run(knowledge, [variant("CRBN", "Q99*", "stop_gained")])
    assert {"BM-CRBN-LOF", "BM-CRBN-LOF-CELMOD"} <= ids(crbn)


def test_loss_of_function_splice_without_protein_change(knowledge):
    call = variant("NR3C1", "", "splice_donor_variant&intron_variant", hgvsc="c.1234+1G>A")
    finding = by_id(run(knowledge, [call]), "BM-NR3C1-LOF")
    assert finding["alteration"] == "c.1234+1G>A (splice_donor_variant, intron_variant)"


def test_cop9_and_ube2g1_loss(knowledge):
    findings = run(
        knowledge,
        [
            variant("COPS7B", "R50*", "stop_gained", pos=1),
            variant("UBE2G1", "K20fs", "frameshift_variant", pos=2),
        ],
    )
    assert {"BM-COPS7B-LOF", "BM-UBE2G1-LOF"} <= ids(findings)


def test_gene_alias_in_the_vcf_is_matched(knowledge):
    findings = run(knowledge, [variant("BCMA", "R27P")])
    finding = by_id(findings, "BM-TNFRSF17-R27P")
    assert finding["gene"] == "TNFRSF17"
    # COPS1 is the old name of GPS1.
    assert "BM-GPS1-LOF" in ids(run(knowledge, [variant("COPS1", "E5*", "stop_gained")]))


# -- nonsynonymous --------------------------------------------------------------------------
def test_tp53_counts_only_pathogenic_changes(knowledge):
    """Truncating and DNA-binding-domain missense TP53 changes are level A (consensus high
    risk); anything else is a variant of uncertain significance at level E."""
    for call, row in (
        (variant("TP53", "R175H"), "BM-TP53-DBD"),
        (variant("TP53", "R273H"), "BM-TP53-DBD"),
        (variant("TP53", "R213*", "stop_gained"), "BM-TP53-TRUNC"),
    ):
        findings = run(knowledge, [call])
        finding = by_id(findings, row)
        assert finding["implication"] == "prognostic"
        assert finding["evidence_level"] == "A"
        assert "BM-TP53-VUS" not in ids(findings)
    for call in (
        variant("TP53", "P72R"),  # germline polymorphism outside the DNA-binding domain
        variant("TP53", "P47S"),
        variant("TP53", "K132del", "inframe_deletion"),
    ):
        findings = run(knowledge, [call])
        assert ids(findings) == {"BM-TP53-VUS"}, call.protein_change
        assert by_id(findings, "BM-TP53-VUS")["evidence_level"] == "E"
    assert ids(run(knowledge, [variant("TP53", "P72=", "synonymous_variant")])) == set()


# -- copy_loss ------------------------------------------------------------------------------
def test_copy_loss(knowledge):
    findings = run(knowledge, copy_number=[cn("CRBN", "loss", 1.1)])
    finding = by_id(findings, "BM-CRBN-COPYLOSS")
    assert finding["alteration"] == "copy loss"
    assert finding["evidence"] == {
        "kind": "copy_number",
        "sample_id": SAMPLE,
        "status": None,
        "vaf": None,
        "detail": "CRBN copy loss (copy number 1.1)",
    }
    assert "BM-CRBN-BIALLELIC" not in ids(findings)
    assert run(knowledge, copy_number=[cn("CRBN", "neutral"), cn("CRBN", "gain")]) == []


# -- biallelic_loss -------------------------------------------------------------------------
def test_biallelic_loss_by_homozygous_deletion(knowledge):
    findings = run(knowledge, copy_number=[cn("TNFRSF17", "homozygous_deletion", 0.1)])
    expected = {
        "BM-TNFRSF17-BIALLELIC-CART",
        "BM-TNFRSF17-BIALLELIC-TCE",
        "BM-TNFRSF17-BIALLELIC-ADC",
        "BM-TNFRSF17-BIALLELIC-ALT",
    }
    assert expected <= ids(findings)
    # The heterozygous-loss row is explained by the biallelic rows and is not repeated.
    assert "BM-TNFRSF17-COPYLOSS" not in ids(findings)
    alt = by_id(findings, "BM-TNFRSF17-BIALLELIC-ALT")
    assert alt["implication"] == "eligibility"
    assert "talquetamab" in alt["drugs"]
    assert by_id(findings, "BM-TNFRSF17-BIALLELIC-TCE")["alteration"] == (
        "biallelic loss (homozygous deletion)"
    )


def test_biallelic_loss_by_copy_loss_plus_truncating_variant(knowledge):
    findings = run(
        knowledge,
        [variant("CRBN", "Q99*", "stop_gained", vaf=0.41)],
        [cn("CRBN", "loss", 1.0)],
    )
    finding = by_id(findings, "BM-CRBN-BIALLELIC")
    assert finding["alteration"] == "biallelic loss (copy loss + p.Gln99Ter)"
    assert finding["evidence"]["kind"] == "copy_number"
    assert finding["evidence"]["vaf"] == 0.41
    # Single-hit and copy-loss rows with the same claim are folded into the biallelic one.
    assert "BM-CRBN-COPYLOSS" not in ids(findings)
    assert "BM-CRBN-LOF" not in ids(findings)
    assert "BM-CRBN-BIALLELIC-CELMOD" in ids(findings)


def test_biallelic_loss_by_two_truncating_variants(knowledge):
    findings = run(
        knowledge,
        [
            variant("NR3C1", "Q100*", "stop_gained", pos=10),
            variant("NR3C1", "E200Kfs*3", "frameshift_variant", pos=20),
        ],
    )
    finding = by_id(findings, "BM-NR3C1-BIALLELIC")
    assert finding["evidence"]["kind"] == "variant"
    assert "presumed on different alleles" in finding["evidence"]["detail"]
    assert "BM-NR3C1-LOF" not in ids(findings)


def test_single_hit_is_not_biallelic(knowledge):
    one = run(knowledge, [variant("GPRC5D", "W30*", "stop_gained", vaf=0.3)])
    assert "BM-GPRC5D-LOF" in ids(one) and "BM-GPRC5D-BIALLELIC-TCE" not in ids(one)
    monitor = by_id(one, "BM-GPRC5D-LOF")
    assert monitor["implication"] == "prognostic"
    assert monitor["summary"].startswith("Monitor; one allele")
    assert monitor["allele_state"]["state"] == "unknown"  # no copy number: cannot tell
    missense_and_loss = ids(run(knowledge, [variant("CRBN", "W386R")], [cn("CRBN", "loss")]))
    assert "BM-CRBN-BIALLELIC" not in missense_and_loss
    assert "BM-CRBN-COPYLOSS" in missense_and_loss


def test_single_copy_loss_is_monitor_and_homozygous_deletion_is_resistance(knowledge):
    single = run(knowledge, copy_number=[cn("TNFRSF17", "loss", 1.0)])
    assert {f["biomarker_id"] for f in single if f["gene"] == "TNFRSF17"} == {
        "BM-TNFRSF17-COPYLOSS"
    }
    finding = by_id(single, "BM-TNFRSF17-COPYLOSS")
    assert finding["implication"] == "prognostic"
    assert finding["allele_state"]["state"] == "monoallelic"
    assert "monitor; one allele" in finding["allele_state"]["basis"]
    homozygous = run(knowledge, copy_number=[cn("TNFRSF17", "homozygous_deletion", 0.0)])
    resistance = {f["biomarker_id"] for f in homozygous if f["implication"] == "resistance"}
    assert {"BM-TNFRSF17-BIALLELIC-CART", "BM-TNFRSF17-BIALLELIC-TCE"} <= resistance
    assert "BM-TNFRSF17-COPYLOSS" not in ids(homozygous)
    assert by_id(homozygous, "BM-TNFRSF17-BIALLELIC-CART")["allele_state"]["state"] == "biallelic"


def test_truncating_variant_at_loh_vaf_is_biallelic_given_purity(knowledge):
    """At purity 0.6 one of two alleles gives a VAF near 0.30; 0.58 means the other allele
    is gone. At 0.32 it stays a single hit."""
    call = variant("TNFRSF17", "Q25*", "stop_gained", vaf=0.58)
    high = run(knowledge, [call], purity=0.6)
    assert "BM-TNFRSF17-BIALLELIC-CART" in ids(high)
    assert "BM-TNFRSF17-Q25X" not in ids(high)  # the monitor row is explained away
    low = run(knowledge, [variant("TNFRSF17", "Q25*", "stop_gained", vaf=0.32)], purity=0.6)
    assert "BM-TNFRSF17-BIALLELIC-CART" not in ids(low)
    assert by_id(low, "BM-TNFRSF17-Q25X")["implication"] == "prognostic"


def test_copy_loss_plus_curated_ecd_change_is_biallelic(knowledge):
    findings = run(knowledge, [variant("TNFRSF17", "R27P", vaf=0.7)], [cn("TNFRSF17", "loss", 1.0)])
    assert "BM-TNFRSF17-BIALLELIC-TCE" in ids(findings)
    other = run(knowledge, [variant("TNFRSF17", "A40V")], [cn("TNFRSF17", "loss", 1.0)])
    assert "BM-TNFRSF17-BIALLELIC-TCE" not in ids(other)


def test_ecd_rows_list_no_untested_drug(knowledge):
    """The per-drug matrix of the BCMA extracellular-domain variants was not curated: the
    rows make a class-level claim and name no drug as tested."""
    for row in ("BM-TNFRSF17-R27P", "BM-TNFRSF17-S30DEL", "BM-TNFRSF17-P34DEL"):
        biomarker = next(b for b in knowledge.biomarkers if b["id"] == row)
        assert biomarker["drugs"] == [] and biomarker["drug_classes"] == ["bcma_bispecific"]
        assert biomarker["evidence_level"] == "C"


def test_exposure_labels_predicted_and_observed(knowledge):
    from mmresist.interpret.matching import annotate_exposure

    findings = run(knowledge, [variant("NRAS", "Q61R")])
    annotate_exposure(findings, {"exposed_drugs": ["lenalidomide"], "exposed_classes": ["imid"]})
    assert by_id(findings, "BM-NRAS-HOTSPOT-BTZ")["exposure"] == "predicted_not_exposed"
    annotate_exposure(findings, {"exposed_drugs": ["bortezomib"], "exposed_classes": []})
    assert by_id(findings, "BM-NRAS-HOTSPOT-BTZ")["exposure"] == "observed"
    annotate_exposure(findings, None)
    assert by_id(findings, "BM-NRAS-HOTSPOT-BTZ")["exposure"] == "unknown"
    assert by_id(findings, "BM-NRAS-C61")["exposure"] is None  # not a resistance finding


# -- amplification --------------------------------------------------------------------------
def test_amplification(knowledge):
    finding = by_id(run(knowledge, copy_number=[cn("PSMB5", "amplification", 6)]), "BM-PSMB5-AMP")
    assert finding["alteration"] == "amplification"
    assert finding["drugs"] == ["bortezomib"]
    assert finding["allele_state"] is None
    assert run(knowledge, copy_number=[cn("PSMB5", "gain", 3)]) == []


# -- cytogenetic ----------------------------------------------------------------------------
def test_cytogenetic_t1114_venetoclax(knowledge):
    findings = run(knowledge, cytogenetics=[cyto("t(11;14)", 0.9)])
    finding = by_id(findings, "BM-T1114-VEN")
    assert finding["implication"] == "sensitivity"
    assert finding["evidence_level"] == "B"
    assert "BELLINI" in finding["summary"] and "CANOVA" in finding["summary"]
    assert finding["evidence"]["kind"] == "cytogenetic"
    assert finding["evidence"]["detail"] == "t(11;14) 90% (2025-01-10)"


def test_cytogenetic_clone_fraction_threshold(knowledge):
    low = ids(run(knowledge, cytogenetics=[cyto("del(17p)", 0.1)]))
    assert "BM-DEL17P" in low and "BM-DEL17P-CGS" not in low
    high = ids(run(knowledge, cytogenetics=[cyto("del(17p)", 0.6)]))
    assert {"BM-DEL17P", "BM-DEL17P-CGS", "BM-DEL17P-CCF55"} <= high
    unknown = ids(run(knowledge, cytogenetics=[cyto("del(17p)", None)]))
    assert "BM-DEL17P" in unknown and "BM-DEL17P-CGS" not in unknown
    assert run(knowledge, cytogenetics=[cyto("del(17p)", 0.0)]) == []


def test_cytogenetic_combination_and_alternatives(knowledge):
    findings = run(
        knowledge,
        cytogenetics=[
            cyto("T(4;14)", 0.86, "2021-03-10"),
            cyto("amp(1q)", 0.61, "2024-05-20"),
        ],
    )
    combined = by_id(findings, "BM-T414-1Q")
    assert combined["alteration"] == "t(4;14) + amp(1q)"
    assert combined["evidence"]["detail"] == "t(4;14) 86% (2021-03-10) + amp(1q) 61% (2024-05-20)"
    assert {"BM-T414", "BM-AMP1Q", "BM-T414-FGFR"} <= ids(findings)
    assert "BM-T414-DEL1P32" not in ids(findings)
    alone = ids(run(knowledge, cytogenetics=[cyto("t(4;14)", 0.8)]))
    assert "BM-T414-1Q" not in alone and "BM-T414" in alone


def test_unlisted_abnormalities_are_ignored(knowledge):
    assert run(knowledge, cytogenetics=[cyto("t(8;14)", 0.5), cyto("monosomy 13", 0.5)]) == []


# -- the whole matcher ----------------------------------------------------------------------
def test_every_alteration_type_is_exercised_by_the_table(knowledge):
    # Gene-wide missense rows were retired (they catch polymorphisms); the type stays for
    # trial and risk criteria.
    assert {b["alteration_type"] for b in knowledge.biomarkers} == set(ALTERATION_TYPES) - {
        "missense"
    }


def demo_like_inputs():
    variants = [
        variant("PSMB5", "A108T", pos=1),
        variant("KRAS", "G12D", pos=2),
        variant("BRAF", "V600E", pos=3),
        variant("TRAF3", "R118*", "stop_gained", pos=4),
        variant("TNFRSF17", "P34del", "inframe_deletion", pos=5),
        variant("IKZF3", "Q147H", pos=6),
        variant("IDH1", "R132C", pos=7),
        variant("TP53", "R273H", pos=8),
        variant("FAM46C", "K10*", "stop_gained", pos=9),
    ]
    copy_number = [
        cn("CRBN", "homozygous_deletion", 0.0),
        cn("GPRC5D", "homozygous_deletion", 0.1),
        cn("CDKN2C", "homozygous_deletion", 0.2),
        cn("NR3C1", "loss", 1.0),
        cn("UBE2G1", "loss", 1.0),
    ]
    cytogenetics = [
        cyto("t(11;14)", 0.7),
        cyto("del(17p)", 0.45),
        cyto("gain(1q)", 0.5),
        cyto("del(1p32)", 0.3),
    ]
    return variants, copy_number, cytogenetics


def test_demo_like_patient_is_ordered_and_deterministic(knowledge):
    variants, copy_number, cytogenetics = demo_like_inputs()
    findings = run(knowledge, variants, copy_number, cytogenetics)
    expected = {
        "BM-PSMB5-A108T",
        "BM-KRAS-C12",
        "BM-BRAF-V600E",
        "BM-BRAF-V600E-PROG",
        "BM-TRAF3-LOF",
        "BM-TNFRSF17-P34DEL",
        "BM-IKZF3-Q147H",
        "BM-IDH1-R132",
        "BM-TP53-DBD",
        "BM-TENT5C-LOF",
        "BM-CRBN-BIALLELIC",
        "BM-GPRC5D-BIALLELIC-TCE",
        "BM-CDKN2C-BIALLELIC",
        "BM-NR3C1-COPYLOSS",
        "BM-UBE2G1-COPYLOSS",
        "BM-T1114-VEN",
        "BM-DEL17P-CGS",
        "BM-DEL1P32-1Q",
        "BM-GAIN1Q",
    }
    assert expected <= ids(findings)
    order = [
        (IMPLICATIONS.index(f["implication"]), f["evidence_level"], f["gene"], f["biomarker_id"])
        for f in findings
    ]
    assert order == sorted(order)
    for finding in findings:
        assert finding["sources"], finding["biomarker_id"]
        assert set(finding) == {
            "biomarker_id",
            "gene",
            "alteration",
            "implication",
            "drugs",
            "drug_classes",
            "evidence_level",
            "sources",
            "summary",
            "evidence",
            "allele_state",
            "exposure",
        }
    shuffled = [list(part) for part in (variants, copy_number, cytogenetics)]
    rng = random.Random(7)
    for part in shuffled:
        rng.shuffle(part)
    assert run(knowledge, *shuffled) == findings


def test_variant_status_is_carried_into_the_evidence(knowledge):
    call = variant("PSMB5", "A108T")
    findings = run(knowledge, [call], variant_status={(*call.key, "PSMB5"): "acquired"})
    evidence = by_id(findings, "BM-PSMB5-A108T")["evidence"]
    assert evidence["status"] == "acquired"
    assert evidence["detail"].endswith("; acquired")
    assert by_id(run(knowledge, [call]), "BM-PSMB5-A108T")["evidence"]["status"] is None


def test_variant_status_may_be_keyed_by_the_allele_alone(knowledge):
    call = variant("PSMB5", "A108T")
    findings = run(knowledge, [call], variant_status={call.key: "persistent"})
    assert by_id(findings, "BM-PSMB5-A108T")["evidence"]["status"] == "persistent"


def test_compiled_json_gives_the_same_findings(knowledge, tmp_path):
    compiled = tmp_path / "knowledge.json"
    knowledge.to_json(compiled)
    variants, copy_number, cytogenetics = demo_like_inputs()
    assert run(load_knowledge(compiled), variants, copy_number, cytogenetics) == run(
        knowledge, variants, copy_number, cytogenetics
    )


def test_nothing_matches_nothing(knowledge):
    assert run(knowledge) == []
    assert run(knowledge, [variant("DIS3", "", "intron_variant")]) == []


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ("A108T", "p.Ala108Thr"),
        ("Q25*", "p.Gln25Ter"),
        ("S30del", "p.Ser30del"),
        ("Q25Pfs*10", "p.Gln25ProfsTer10"),
        ("K5_L7del", "p.Lys5_Leu7del"),
        ("G12=", "p.Gly12="),
    ],
)
def test_three_letter(change, text):
    assert three_letter(change) == text


def test_effects_from_change_when_consequence_is_missing():
    assert "missense" in variant_effects(variant("KRAS", "G12D", ""))
    assert "lof" in variant_effects(variant("CRBN", "Q99*", ""))
    assert variant_effects(variant("KRAS", "G12=", "")) == set()


# -- rows added in knowledge 2026.11.27.1 ---------------------------------------------------
def test_new_rows_match_through_their_types(knowledge):
    findings = run(
        knowledge,
        [
            variant("XBP1", "L167I", pos=1),
            variant("PTPN11", "E76A", pos=2),
            variant("KRAS", "E62K", pos=3),
            variant("BRAF", "D594N", pos=4),
            variant("TENT5C", "K10fs", "frameshift_variant", pos=5),
            variant("DIS3", "R780K", pos=6),
        ],
        copy_number=[
            cn("CAND1", "homozygous_deletion", 0.0),
            cn("KPNB1", "loss", 1.0),
        ],
    )
    found = ids(findings)
    assert {
        "BM-XBP1-L167I",
        "BM-CAND1-BIALLELIC",
        "BM-KPNB1-COPYLOSS",
        "BM-PTPN11-HOTSPOT",
        "BM-KRAS-E62K",
        "BM-BRAF-CLASS3",
        "BM-TENT5C-LOF",
        "BM-DIS3-RNB",
    } <= found
    # DIS3 outside the curated exoribonuclease-domain hotspots is not a finding.
    assert not ids(run(knowledge, [variant("DIS3", "A100V")]))
    assert by_id(findings, "BM-CAND1-BIALLELIC")["evidence_level"] == "D"
    assert by_id(findings, "BM-XBP1-L167I")["evidence_level"] == "E"


def test_mdr1_alias_reports_abcb1(knowledge):
    # The ABCB1 amplification row was retired (no resolvable source); the alias still
    # resolves, and the call makes no finding.
    assert knowledge.canonical_gene("MDR1") == "ABCB1"
    assert run(knowledge, copy_number=[cn("MDR1", "amplification", 6)]) == []
