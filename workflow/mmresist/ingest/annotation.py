"""Consequence annotations (VEP CSQ, snpEff ANN/EFF, bcftools BCSQ): layout, entries, transcript."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mmresist.errors import AnnotationMissingError
from mmresist.ingest.hgvs import normalise_hgvsp
from mmresist.ingest.population import entry_afs, subfield_positions

# Preference when a file carries several usable annotations: VEP is the richest (MANE,
# canonical flags, HGVS), snpEff ANN next, BCSQ has no HGVS, legacy EFF the least.
KINDS = ("vep", "snpeff", "bcsq", "snpeff_eff")
KIND_LABELS = {
    "vep": "Ensembl VEP",
    "snpeff": "snpEff ANN",
    "bcsq": "bcftools csq",
    "snpeff_eff": "snpEff EFF (legacy)",
}

HOW_TO_ANNOTATE = (
    "annotate the VCF with Ensembl VEP (`vep --vcf --symbol --hgvs --canonical --mane`), "
    "snpEff (`snpEff ann`) or `bcftools csq -f genome.fa -g genes.gff3` and point samples.tsv "
    "at the annotated file, or let mmresist run bcftools csq: set annotation.fasta and "
    "annotation.gff3 in the config (`snakemake reference_download` fetches Ensembl's)"
)

# bcftools csq writes its own short consequence words; map them to Sequence Ontology terms
# so that matchers and reports see one vocabulary whatever the annotator.
BCSQ_TERMS = {
    "missense": "missense_variant",
    "synonymous": "synonymous_variant",
    "stop_gained": "stop_gained",
    "stop_lost": "stop_lost",
    "stop_retained": "stop_retained_variant",
    "start_lost": "start_lost",
    "start_retained": "start_retained_variant",
    "frameshift": "frameshift_variant",
    "inframe_deletion": "inframe_deletion",
    "inframe_insertion": "inframe_insertion",
    "inframe_altering": "protein_altering_variant",
    "splice_acceptor": "splice_acceptor_variant",
    "splice_donor": "splice_donor_variant",
    "splice_region": "splice_region_variant",
    "intron": "intron_variant",
    "5_prime_utr": "5_prime_UTR_variant",
    "3_prime_utr": "3_prime_UTR_variant",
    "non_coding": "non_coding_transcript_variant",
    "coding_sequence": "coding_sequence_variant",
    "feature_elongation": "feature_elongation",
    "intergenic": "intergenic_variant",
}

# Legacy snpEff EFF effect names (before snpEff 4.1 switched to SO terms).
EFF_TERMS = {
    "NON_SYNONYMOUS_CODING": "missense_variant",
    "SYNONYMOUS_CODING": "synonymous_variant",
    "STOP_GAINED": "stop_gained",
    "STOP_LOST": "stop_lost",
    "START_LOST": "start_lost",
    "START_GAINED": "5_prime_UTR_premature_start_codon_gain_variant",
    "NON_SYNONYMOUS_START": "initiator_codon_variant",
    "SYNONYMOUS_START": "start_retained_variant",
    "SYNONYMOUS_STOP": "stop_retained_variant",
    "NON_SYNONYMOUS_STOP": "stop_lost",
    "FRAME_SHIFT": "frameshift_variant",
    "CODON_CHANGE": "coding_sequence_variant",
    "CODON_INSERTION": "inframe_insertion",
    "CODON_DELETION": "inframe_deletion",
    "CODON_CHANGE_PLUS_CODON_INSERTION": "disruptive_inframe_insertion",
    "CODON_CHANGE_PLUS_CODON_DELETION": "disruptive_inframe_deletion",
    "SPLICE_SITE_ACCEPTOR": "splice_acceptor_variant",
    "SPLICE_SITE_DONOR": "splice_donor_variant",
    "SPLICE_SITE_REGION": "splice_region_variant",
    "SPLICE_SITE_BRANCH": "splice_region_variant",
    "SPLICE_SITE_BRANCH_U12": "splice_region_variant",
    "EXON_DELETED": "exon_loss_variant",
    "EXON": "non_coding_transcript_exon_variant",
    "INTRON": "intron_variant",
    "INTRON_CONSERVED": "conserved_intron_variant",
    "UTR_5_PRIME": "5_prime_UTR_variant",
    "UTR_3_PRIME": "3_prime_UTR_variant",
    "UTR_5_DELETED": "5_prime_UTR_truncation",
    "UTR_3_DELETED": "3_prime_UTR_truncation",
    "UPSTREAM": "upstream_gene_variant",
    "DOWNSTREAM": "downstream_gene_variant",
    "INTERGENIC": "intergenic_region",
    "INTERGENIC_CONSERVED": "conserved_intergenic_variant",
    "INTRAGENIC": "intragenic_variant",
    "TRANSCRIPT": "transcript_variant",
    "GENE": "gene_variant",
    "REGULATION": "regulatory_region_variant",
    "MICRO_RNA": "miRNA",
    "RARE_AMINO_ACID": "rare_amino_acid_variant",
    "CHROMOSOME_LARGE_DELETION": "chromosome_number_variation",
}

# Older snpEff releases wrote a few non-SO spellings inside ANN as well.
SNPEFF_TERMS = {
    "non_coding_exon_variant": "non_coding_transcript_exon_variant",
    "start_codon_lost": "start_lost",
}

# Impact for annotators that do not write one (BCSQ), VEP's own grouping of SO terms.
TERM_IMPACT = {
    "transcript_ablation": "HIGH",
    "splice_acceptor_variant": "HIGH",
    "splice_donor_variant": "HIGH",
    "stop_gained": "HIGH",
    "frameshift_variant": "HIGH",
    "stop_lost": "HIGH",
    "start_lost": "HIGH",
    "exon_loss_variant": "HIGH",
    "inframe_insertion": "MODERATE",
    "inframe_deletion": "MODERATE",
    "disruptive_inframe_insertion": "MODERATE",
    "disruptive_inframe_deletion": "MODERATE",
    "missense_variant": "MODERATE",
    "protein_altering_variant": "MODERATE",
    "splice_region_variant": "LOW",
    "start_retained_variant": "LOW",
    "stop_retained_variant": "LOW",
    "synonymous_variant": "LOW",
    "initiator_codon_variant": "LOW",
    "coding_sequence_variant": "MODIFIER",
}
IMPACT_ORDER = ("HIGH", "MODERATE", "LOW", "MODIFIER")


@dataclass
class AnnotationLayout:
    """Which INFO tag carries the annotation, which annotator wrote it, its field names."""

    tag: str
    kind: str  # one of KINDS
    fields: list[str]
    description: str = ""
    # Configured names of further population-frequency subfields (filters.population_af_fields).
    extra_af_fields: tuple[str, ...] = ()
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _found: dict[tuple[str, ...], int | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown annotation kind {self.kind!r}; expected one of {KINDS}")
        # Field names differ in case and punctuation between versions (Amino_Acid_change,
        # Amino_Acid_Change); look them up by a folded name.
        self._index = {}
        for position, name in enumerate(self.fields):
            self._index.setdefault(_fold(name), position)
        # parse_entries asks for the same columns for every panel record; answer once.
        self._found = {}

    @property
    def label(self) -> str:
        """Human-readable source, e.g. ``Ensembl VEP (INFO/CSQ)``, for reports and QC."""
        return f"{KIND_LABELS[self.kind]} (INFO/{self.tag})"

    def index(self, *names: str) -> int | None:
        """Position of the first of ``names`` present in the layout, else None."""
        if names in self._found:
            return self._found[names]
        found = None
        for name in names:
            found = self._index.get(_fold(name))
            if found is not None:
                break
        self._found[names] = found
        return found

    def af_positions(self) -> tuple[tuple[str, int], ...]:
        """(name, position) of the population-frequency subfields (VEP only; ingest.population)."""
        if self.kind != "vep":
            return ()
        return subfield_positions(self.index, self.extra_af_fields)

    @property
    def gene_field(self) -> str | None:
        """Name of the field parse_entries reads the gene symbol from."""
        position = self.gene_index
        return None if position is None else self.fields[position]

    @property
    def gene_index(self) -> int | None:
        if self.kind == "vep":
            # SYMBOL needs `vep --symbol`; VEP before v73 called it HGNC; Gene is the
            # Ensembl id, the last resort (it never matches a panel of symbols).
            return self.index("SYMBOL", "HGNC", "Gene")
        if self.kind == "snpeff":
            return self.index("Gene_Name")
        if self.kind == "bcsq":
            return self.index("gene")
        return self.index("Gene_Name")

    @property
    def gene_is_symbol(self) -> bool:
        """False when genes are only Ensembl ids (VEP run without --symbol)."""
        name = self.gene_field
        if name is None:
            return False
        return not (self.kind == "vep" and _fold(name) == "gene")


def _fold(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# ---------------------------------------------------------------------------
# Layout detection
# ---------------------------------------------------------------------------


def _description_format(description: str) -> str | None:
    """The text after ``Format:`` in an INFO description, quotes stripped."""
    match = re.search(r"Format\s*:\s*(.*)$", description, flags=re.IGNORECASE | re.DOTALL)
    if not match:
        return None
    text = match.group(1).strip().strip("\"' ").strip()
    return text or None


def classify_description(tag: str, description: str) -> AnnotationLayout | None:
    """Layout for one INFO header, or None when it is not an annotation we can read.

    Only the description decides: the same tag name is used by different tools (``CSQ``
    by VEP and by old bcftools csq, ``ANN`` by snpEff and by VEP ``--vcf_info_field ANN``).
    """
    text = description.strip().strip('"')
    format_text = _description_format(text)

    if re.search(r"bcftools/csq", text, flags=re.IGNORECASE):
        if not format_text:
            return None
        # Old releases wrote "'[*]consequence|gene|transcript|biotype[|strand|...]'".
        cleaned = format_text.replace("[*]", "").replace("[", "").replace("]", "")
        fields = [name.strip() for name in cleaned.split("|") if name.strip()]
        names = {_fold(name) for name in fields}
        if "consequence" in names and "gene" in names:
            return AnnotationLayout(tag=tag, kind="bcsq", fields=fields, description=text)
        return None

    eff = re.search(r"'?\s*Effect\s*\((.*)\)", text)
    if eff and re.search(r"Effect_?Impact", eff.group(1), flags=re.IGNORECASE):
        inner = eff.group(1)
        # "[ | ERRORS | WARNINGS ]" marks trailing optional fields; keep their names.
        inner = inner.replace("[", "").replace("]", "")
        fields = ["Effect"] + [name.strip() for name in inner.split("|") if name.strip()]
        return AnnotationLayout(tag=tag, kind="snpeff_eff", fields=fields, description=text)

    if re.search(r"Functional annotations", text, flags=re.IGNORECASE):
        quoted = re.search(r"'([^']*)'", text)
        body = quoted.group(1) if quoted else (text.split(":", 1)[1] if ":" in text else "")
        fields = [name.strip() for name in body.split("|") if name.strip()]
        names = {_fold(name) for name in fields}
        if {"allele", "annotation", "genename"} <= names:
            return AnnotationLayout(tag=tag, kind="snpeff", fields=fields, description=text)
        return None

    if format_text:
        fields = [name.strip() for name in format_text.split("|")]
        names = {_fold(name) for name in fields}
        says_vep = re.search(r"\bVEP\b", text) is not None
        looks_vep = "consequence" in names and ({"feature", "symbol"} & names)
        if (says_vep and "consequence" in names) or (looks_vep and "allele" in names):
            layout = AnnotationLayout(tag=tag, kind="vep", fields=fields, description=text)
            if layout.gene_index is not None:
                return layout
    return None


def detect_layout(vcf: Any, path: str) -> AnnotationLayout:
    """Find the consequence annotation of ``vcf`` (a cyvcf2.VCF) from its INFO headers.

    Raises AnnotationMissingError, naming ``path``, when no INFO field holds an
    annotation mmresist can read.
    """
    candidates: list[AnnotationLayout] = []
    seen: set[str] = set()
    unreadable: list[str] = []
    for record in vcf.header_iter():
        info = record.info()
        if info.get("HeaderType") != "INFO":
            continue
        tag = info.get("ID", "")
        # A tag declared twice (snpEff re-run on its own output) is read once, as
        # htslib keeps the first declaration.
        if tag in seen:
            continue
        seen.add(tag)
        layout = classify_description(tag, info.get("Description", ""))
        if layout is not None:
            candidates.append(layout)
        elif tag.upper() in {"CSQ", "ANN", "BCSQ", "EFF", "VEP"}:
            unreadable.append(tag)
    if not candidates:
        detail = "no INFO field holds a consequence annotation mmresist can read"
        if unreadable:
            detail += (
                f" (INFO/{', INFO/'.join(unreadable)} is declared, but its header "
                "description is not a VEP, snpEff or bcftools csq Format string)"
            )
        raise AnnotationMissingError(f"{detail}; {HOW_TO_ANNOTATE}", file=str(path))
    candidates.sort(key=lambda layout: KINDS.index(layout.kind))
    return candidates[0]


# ---------------------------------------------------------------------------
# Entries
# ---------------------------------------------------------------------------


def normalise_consequence(text: str, kind: str) -> str:
    """Sequence Ontology terms joined by ``&``, whatever the annotator's spelling."""
    terms: list[str] = []
    for raw in re.split(r"[&+]", text):
        term = raw.strip()
        if not term:
            continue
        if kind == "bcsq":
            # "*missense" marks a consequence shared through a compound (haplotype)
            # change; the term itself is what matters here.
            term = term.lstrip("*")
            term = BCSQ_TERMS.get(term.lower(), term)
        elif kind == "snpeff_eff":
            if term.upper() in EFF_TERMS:
                term = EFF_TERMS[term.upper()]
            elif term.isupper():
                term = term.lower()
        elif kind == "snpeff":
            term = SNPEFF_TERMS.get(term, term)
        if term not in terms:
            terms.append(term)
    return "&".join(terms)


def _impact_from_terms(consequence: str) -> str:
    impacts = {TERM_IMPACT.get(term, "MODIFIER") for term in consequence.split("&") if term}
    for impact in IMPACT_ORDER:
        if impact in impacts:
            return impact
    return ""


def _empty_entry() -> dict[str, Any]:
    return {
        "allele": "",
        "gene": "",
        "consequence": "",
        "impact": "",
        "transcript": "",
        "biotype": "",
        "canonical": False,
        "mane": False,
        "hgvsc": "",
        "hgvsp": "",
        "protein_position": "",
        "allele_num": None,
        "amino_acids": "",
        "reference_allele": "",
        "dna_change": "",
        "compound_position": None,
        "population_af": [],
    }


def _getter(values: list[str]):
    def get(position: int | None) -> str:
        if position is None or position >= len(values):
            return ""
        return values[position].strip()

    return get


def _biotype(value: str) -> str:
    # snpEff databases built from RefSeq GTFs say "Coding" where Ensembl says protein_coding.
    return "protein_coding" if value.lower() == "coding" else value


def _parse_vep(raw: str, layout: AnnotationLayout) -> list[dict[str, Any]]:
    index = layout.index
    allele_at = index("Allele")
    gene_at = layout.gene_index
    consequence_at = index("Consequence")
    impact_at = index("IMPACT")
    feature_at = index("Feature")
    biotype_at = index("BIOTYPE")
    canonical_at = index("CANONICAL")
    mane_select_at = index("MANE_SELECT")
    mane_at = index("MANE")
    hgvsc_at = index("HGVSc")
    hgvsp_at = index("HGVSp")
    protein_at = index("Protein_position")
    allele_num_at = index("ALLELE_NUM")
    amino_at = index("Amino_acids")
    af_at = layout.af_positions()
    entries = []
    for text in raw.split(","):
        if not text:
            continue
        values = text.split("|")
        get = _getter(values)
        entry = _empty_entry()
        entry["population_af"] = entry_afs(values, af_at)
        entry["allele"] = get(allele_at)
        entry["gene"] = get(gene_at)
        entry["consequence"] = normalise_consequence(get(consequence_at), "vep")
        entry["impact"] = get(impact_at) or _impact_from_terms(entry["consequence"])
        entry["transcript"] = get(feature_at)
        entry["biotype"] = get(biotype_at)
        entry["canonical"] = get(canonical_at).upper() == "YES"
        # VEP 104+ writes MANE_SELECT (the RefSeq id); VEP 103 wrote MANE with that id;
        # some releases write MANE=MANE_Select / MANE_Plus_Clinical.
        mane = get(mane_at)
        entry["mane"] = bool(get(mane_select_at)) or (bool(mane) and "plus" not in mane.lower())
        entry["hgvsc"] = get(hgvsc_at)
        entry["hgvsp"] = get(hgvsp_at)
        entry["protein_position"] = get(protein_at)
        entry["amino_acids"] = get(amino_at)
        number = get(allele_num_at)
        entry["allele_num"] = int(number) if number.isdigit() else None
        entries.append(entry)
    return entries


def _parse_snpeff(raw: str, layout: AnnotationLayout) -> list[dict[str, Any]]:
    index = layout.index
    allele_at = index("Allele")
    gene_at = layout.gene_index
    consequence_at = index("Annotation")
    impact_at = index("Annotation_Impact")
    feature_at = index("Feature_ID")
    biotype_at = index("Transcript_BioType")
    hgvsc_at = index("HGVS.c")
    hgvsp_at = index("HGVS.p")
    protein_at = index("AA.pos / AA.length", "AA.pos")
    entries = []
    for text in raw.split(","):
        if not text:
            continue
        get = _getter(text.split("|"))
        entry = _empty_entry()
        allele = get(allele_at)
        # snpEff -cancer writes "G-C": allele G compared with C (the germline allele)
        # instead of REF; keep the comparison so ingest can prefer entries against REF.
        cancer = re.fullmatch(r"([A-Za-z*]+)-([A-Za-z*]+)", allele)
        if cancer:
            allele, entry["reference_allele"] = cancer.group(1), cancer.group(2)
        entry["allele"] = allele
        entry["gene"] = get(gene_at)
        entry["consequence"] = normalise_consequence(get(consequence_at), "snpeff")
        entry["impact"] = get(impact_at) or _impact_from_terms(entry["consequence"])
        entry["transcript"] = get(feature_at)
        entry["biotype"] = _biotype(get(biotype_at))
        entry["hgvsc"] = get(hgvsc_at)
        entry["hgvsp"] = get(hgvsp_at)
        entry["protein_position"] = get(protein_at).split("/")[0].strip()
        entries.append(entry)
    return entries


def _parse_bcsq(raw: str, layout: AnnotationLayout) -> list[dict[str, Any]]:
    index = layout.index
    consequence_at = index("Consequence")
    gene_at = layout.gene_index
    transcript_at = index("transcript")
    biotype_at = index("biotype")
    protein_at = index("amino_acid_change")
    dna_at = index("dna_change")
    entries = []
    for text in raw.split(","):
        if not text:
            continue
        entry = _empty_entry()
        if text.startswith("@"):
            # A compound (haplotype) consequence written once at another record's POS.
            position = text[1:]
            entry["compound_position"] = int(position) if position.isdigit() else None
            entries.append(entry)
            continue
        get = _getter(text.split("|"))
        entry["gene"] = get(gene_at)
        entry["consequence"] = normalise_consequence(get(consequence_at), "bcsq")
        entry["impact"] = _impact_from_terms(entry["consequence"])
        entry["transcript"] = get(transcript_at)
        entry["biotype"] = get(biotype_at)
        entry["hgvsp"] = get(protein_at)
        entry["dna_change"] = get(dna_at)
        digits = re.match(r"\d+", entry["hgvsp"])
        entry["protein_position"] = digits.group(0) if digits else ""
        entries.append(entry)
    return entries


_EFF_ENTRY = re.compile(r"\s*([^(]+)\((.*)\)\s*$")


def _parse_eff(raw: str, layout: AnnotationLayout) -> list[dict[str, Any]]:
    # EFF field positions count from the first field inside the parentheses.
    index = layout.index

    def inner(*names: str) -> int | None:
        position = index(*names)
        return None if position is None or position == 0 else position - 1

    impact_at = inner("Effect_Impact")
    change_at = inner("Amino_Acid_Change")
    gene_at = inner("Gene_Name")
    biotype_at = inner("Transcript_BioType", "Gene_BioType")
    transcript_at = inner("Transcript_ID", "Transcript")
    genotype_at = inner("Genotype_Number", "GenotypeNum", "Genotype")
    entries = []
    for text in raw.split(","):
        match = _EFF_ENTRY.match(text)
        if not match:
            continue
        get = _getter(match.group(2).split("|"))
        entry = _empty_entry()
        entry["consequence"] = normalise_consequence(match.group(1), "snpeff_eff")
        entry["impact"] = get(impact_at) or _impact_from_terms(entry["consequence"])
        entry["gene"] = get(gene_at)
        entry["biotype"] = _biotype(get(biotype_at))
        entry["transcript"] = get(transcript_at)
        # snpEff 4.0 with -formatEff writes "p.Ala108Thr/c.322G>A".
        change = get(change_at)
        if "/" in change:
            protein, _, coding = change.partition("/")
            entry["hgvsp"], entry["hgvsc"] = protein, coding
        else:
            entry["hgvsp"] = change
        _, start, _ = normalise_hgvsp(entry["hgvsp"])
        entry["protein_position"] = "" if start is None else str(start)
        genotype = get(genotype_at)
        if genotype.isdigit():
            entry["allele_num"] = int(genotype)
        else:
            cancer = re.fullmatch(r"([A-Za-z*]+)-([A-Za-z*]+)", genotype)
            if cancer:
                genotype, entry["reference_allele"] = cancer.group(1), cancer.group(2)
            entry["allele"] = genotype
        entries.append(entry)
    return entries


_PARSERS = {
    "vep": _parse_vep,
    "snpeff": _parse_snpeff,
    "bcsq": _parse_bcsq,
    "snpeff_eff": _parse_eff,
}


def parse_entries(raw: str, layout: AnnotationLayout) -> list[dict[str, Any]]:
    """Split one record's raw annotation string into one dict per entry.

    Keys: ``allele, gene, consequence, impact, transcript, biotype, canonical, mane,
    hgvsc, hgvsp, protein_position`` plus helpers for allele matching (``allele_num``,
    ``reference_allele``, ``dna_change``, ``compound_position``), ``amino_acids`` and
    ``population_af`` (``[(field, frequency)]`` of the entry's allele; VEP only).
    """
    if not raw:
        return []
    return _PARSERS[layout.kind](raw, layout)


def choose_transcript(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """MANE Select, else canonical, else the first protein-coding entry, else the first."""
    if not entries:
        return None
    for entry in entries:
        if entry.get("mane"):
            return entry
    for entry in entries:
        if entry.get("canonical"):
            return entry
    for entry in entries:
        if entry.get("biotype") == "protein_coding":
            return entry
    return entries[0]
