"""Report vocabularies (the ids report.json uses), kept in one place so every module agrees."""

SCHEMA_VERSION = "1"

TIMEPOINTS = ("diagnosis", "baseline", "relapse", "progression")

VARIANT_STATUSES = ("acquired", "persistent", "lost", "single_timepoint")

CATEGORIES = (
    "proteasome",
    "cereblon_pathway",
    "mapk_signalling",
    "nfkb_signalling",
    "other_signalling",
    "immunotherapy_target",
    "glucocorticoid_pathway",
    "tp53_dna_damage",
    "cell_cycle",
    "apoptosis",
    "nuclear_export",
    "other_driver",
)

IMPLICATIONS = ("resistance", "sensitivity", "prognostic", "eligibility")

EVIDENCE_LEVELS = ("A", "B", "C", "D", "E")
EVIDENCE_LEVEL_MEANING = {
    "A": "validated association or guideline",
    "B": "clinical evidence",
    "C": "case study",
    "D": "preclinical evidence",
    "E": "inferential association",
}

DRUG_CLASSES = (
    "proteasome_inhibitor",
    "imid",
    "celmod",
    "anti_cd38",
    "anti_slamf7",
    "bcma_car_t",
    "bcma_bispecific",
    "bcma_adc",
    "gprc5d_bispecific",
    "gprc5d_car_t",
    "fcrh5_bispecific",
    "xpo1_inhibitor",
    "bcl2_inhibitor",
    "glucocorticoid",
    "alkylator",
    "anthracycline",
    "hdac_inhibitor",
    "mek_inhibitor",
    "braf_inhibitor",
    "fgfr_inhibitor",
    "cdk46_inhibitor",
    "idh_inhibitor",
    # Salvage chemotherapy (DCEP, VDT-PACE): cisplatin and etoposide.
    "platinum",
    "topoisomerase_inhibitor",
)

DRUG_CLASS_IDS_PLAIN = ("glucocorticoid", "alkylator", "anthracycline")

# How drug classes are named to a reader (report, trial criteria, options).
DRUG_CLASS_LABELS = {
    "proteasome_inhibitor": "proteasome inhibitor",
    "imid": "IMiD",
    "celmod": "CELMoD",
    "anti_cd38": "anti-CD38",
    "anti_slamf7": "anti-SLAMF7",
    "bcma_car_t": "BCMA CAR-T",
    "bcma_bispecific": "BCMA bispecific",
    "bcma_adc": "BCMA ADC",
    "gprc5d_bispecific": "GPRC5D bispecific",
    "gprc5d_car_t": "GPRC5D CAR-T",
    "fcrh5_bispecific": "FcRH5 bispecific",
    "xpo1_inhibitor": "XPO1 inhibitor",
    "bcl2_inhibitor": "BCL2 inhibitor",
    "hdac_inhibitor": "HDAC inhibitor",
    "mek_inhibitor": "MEK inhibitor",
    "braf_inhibitor": "BRAF inhibitor",
    "fgfr_inhibitor": "FGFR inhibitor",
    "cdk46_inhibitor": "CDK4/6 inhibitor",
    "idh_inhibitor": "IDH inhibitor",
    "platinum": "platinum agent",
    "topoisomerase_inhibitor": "topoisomerase II inhibitor",
}
# Glucocorticoid, alkylator and anthracycline read well as they are.
DRUG_CLASS_LABELS.update({name: name for name in DRUG_CLASS_IDS_PLAIN})

TRIAL_MATCHES = ("eligible", "possible", "ineligible")

SUPPORTIVE_TOPICS = ("renal", "bone", "infection", "anemia", "thrombosis", "neuropathy", "other")

BEST_RESPONSES = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")

CYTOGENETIC_ABNORMALITIES = (
    "t(4;14)",
    "t(11;14)",
    "t(14;16)",
    "t(14;20)",
    "t(6;14)",
    "del(17p)",
    "gain(1q)",
    "amp(1q)",
    "del(1p32)",
    # Both copies of 1p32 lost: high risk on its own under IMS/IMWG consensus staging.
    "biallelic_del(1p32)",
    "del(13q)",
    # MYC (8q24) rearrangement by FISH or sequencing, any partner.
    "MYC_rearrangement",
    "hyperdiploidy",
)

# Gene-level copy-number calls, in order of copy number (severity order: copynumber.SEVERITY).
COPY_NUMBER_CALLS = ("homozygous_deletion", "loss", "neutral", "gain", "amplification")

# Filter reasons written to variants.tsv and counted in qc.filtered.
FILTER_REASONS = (
    "not_pass",
    "low_depth",
    "low_alt_reads",
    "low_vaf",
    "no_protein_effect",
    "likely_germline",
)

# Biomarker alteration (matcher) types: those a variant matches, then the others.
VARIANT_ALTERATION_TYPES = (
    "protein_change",
    "codon",
    "aa_range",
    "missense",
    "loss_of_function",
    "nonsynonymous",
)
ALTERATION_TYPES = (
    *VARIANT_ALTERATION_TYPES,
    "copy_loss",
    "biallelic_loss",
    "amplification",
    "cytogenetic",
)

# Sequence Ontology consequence groups used by matchers and the report.
LOF_CONSEQUENCES = frozenset(
    {
        "stop_gained",
        "frameshift_variant",
        "splice_acceptor_variant",
        "splice_donor_variant",
        "start_lost",
        "transcript_ablation",
    }
)
MISSENSE_CONSEQUENCES = frozenset({"missense_variant"})
INFRAME_CONSEQUENCES = frozenset(
    {"inframe_insertion", "inframe_deletion", "protein_altering_variant"}
)
NONSYNONYMOUS_CONSEQUENCES = (
    LOF_CONSEQUENCES
    | MISSENSE_CONSEQUENCES
    | INFRAME_CONSEQUENCES
    | frozenset(
        {
            "stop_lost",
            "initiator_codon_variant",
            "disruptive_inframe_deletion",
            "disruptive_inframe_insertion",
            "conservative_inframe_deletion",
            "conservative_inframe_insertion",
            "exon_loss_variant",
        }
    )
)

DISCLAIMER = (
    "Decision support for review by a clinician. This report is not a diagnosis or a "
    "treatment order: every finding and option must be weighed by the treating "
    "haematologist against the full clinical picture."
)

# The reasoning sections of report.json. One a version does not compute is null and listed
# in `not_assessed`; one whose inputs were not given is null and listed in `not_provided`.
REASONING_SECTIONS = ("therapy_options", "trials", "supportive_care", "mrd", "risk")

CLINICAL_TABLES = ("therapy_lines", "labs", "cytogenetics", "mrd", "patients")

# Consequences that count as a possible effect on the protein for the
# `protein_altering_only` filter: non-synonymous changes plus splice-region changes,
# which can alter splicing without touching a canonical site.
PROTEIN_EFFECT_CONSEQUENCES = NONSYNONYMOUS_CONSEQUENCES | frozenset(
    {
        "splice_region_variant",
        "splice_donor_5th_base_variant",
        "splice_donor_region_variant",
        "splice_polypyrimidine_tract_variant",
        "feature_truncation",
        "feature_elongation",
        "coding_sequence_variant",
        "incomplete_terminal_codon_variant",
        "rare_amino_acid_variant",
        "gene_fusion",
        "bidirectional_gene_fusion",
        "structural_interaction_variant",
    }
)
