"""Plain data records passed between modules (ingest, matching, therapy, report)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class VariantCall:
    """One ALT allele of one VCF record, in one panel gene, in one tumour sample.

    Produced by ``mmresist.ingest.vcf.read_sample``; multiallelic records give one call per ALT.
    ``consequence`` holds Sequence Ontology terms joined by ``&`` (normalised from VEP,
    snpEff or BCSQ wording). ``hgvsp`` is kept as the annotator wrote it (may be
    transcript-prefixed, three-letter, ``%3D``); ``protein_change`` is the bare one-letter
    form (``A108T``, ``Q25*``, ``S30del``, ``G12=``) or ``""`` when there is none.
    ``vaf``/``depth``/``alt_reads`` are ``None`` when the file does not say (unknown is
    never zero).
    """

    sample_id: str
    chrom: str
    pos: int
    ref: str
    alt: str
    gene: str
    consequence: str = ""
    hgvsc: str = ""
    hgvsp: str = ""
    protein_change: str = ""
    protein_start: int | None = None
    protein_end: int | None = None
    transcript: str = ""
    impact: str = ""
    filter: str = "PASS"
    vaf: float | None = None
    depth: int | None = None
    alt_reads: int | None = None
    annotation_source: str = ""
    filter_reasons: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, int, str, str]:
        """Identity across timepoints: contig without 'chr', position, ref, alt."""
        chrom = self.chrom[3:] if self.chrom.lower().startswith("chr") else self.chrom
        return (chrom, self.pos, self.ref, self.alt)

    @property
    def consequences(self) -> set[str]:
        return {term for term in self.consequence.split("&") if term}


@dataclass
class SampleIngest:
    """What ingest read from one sample's VCF: calls in panel genes plus counts for QC."""

    sample_id: str
    vcf: str
    tumor_sample: str
    records_read: int = 0
    records_in_panel: int = 0
    calls: list[VariantCall] = field(default_factory=list)
    annotation: str = ""
    genome_build: str | None = None
    warnings: list[str] = field(default_factory=list)
    # How the file was read: "whole_file", or "panel_regions" (index queries on the panel
    # genes' coordinates; records_read then comes from the index).
    scan: str = "whole_file"


@dataclass
class CopyNumberCall:
    """A gene-level copy-number call for one sample (genes of the panel only)."""

    sample_id: str
    gene: str
    call: str  # one of constants.COPY_NUMBER_CALLS
    copy_number: float | None = None
    log2: float | None = None
    source: str = ""


@dataclass
class Sample:
    """One row of samples.tsv."""

    patient_id: str
    sample_id: str
    timepoint: str
    collection_date: str
    vcf: str
    tumor_sample: str | None = None
    cnv: str | None = None
    cnv_format: str | None = None
    purity: float | None = None
