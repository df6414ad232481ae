"""Plain data records passed between modules (ingest, matching, therapy, report)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypedDict

# Dates arrive as ``datetime.date`` from the clinical readers and as ISO text from JSON,
# tests and hand-built rows; ``mmresist.io.tabular.as_date``/``iso_text`` read both.
DateLike = date | str


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
    # Highest population allele frequency the annotation gives for this ALT (gnomAD, 1000
    # Genomes, dbNSFP or a configured field) and the field it came from; None when no source
    # gives one (unknown, never 0).
    population_af: float | None = None
    population_af_source: str = ""
    # Why the call is filtered as likely_germline: the population AF field and value, or
    # the curated polymorphism id; "" when it is not.
    germline_basis: str = ""

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
    # True when the VCF has one sample column and no ##normal_sample line (no matched
    # normal, so germline variants were not subtracted by the caller).
    tumour_only: bool | None = None


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


# ---------------------------------------------------------------------------
# Rows and records of the interpretation steps. TypedDicts, not dataclasses: these rows
# are written into report.json as they are, and their keys are the report's keys.
# ---------------------------------------------------------------------------
class LabRow(TypedDict, total=False):
    """One labs.tsv row as ``io.clinical.read_table`` returns it (tests may build fewer
    keys). ``value_canonical``/``unit_canonical`` hold the value in the test's canonical
    unit; ``_line`` is the file line, which breaks same-day ties (``interpret.labs``)."""

    patient_id: str
    date: DateLike
    test: str
    value: float
    unit: str | None
    value_canonical: float | None
    unit_canonical: str | None
    # The laboratory's upper limit of normal (optional column), as reported and canonical.
    upper_limit: float | None
    upper_limit_canonical: float | None
    _file: str
    _line: int


class CytogeneticsRow(TypedDict, total=False):
    """One cytogenetics.tsv row (``clone_fraction`` as a fraction of plasma cells)."""

    patient_id: str
    date: DateLike | None
    abnormality: str
    clone_fraction: float | str | None
    method: str | None


class CytoRecord(TypedDict):
    """A cytogenetics row normalised for matching: a known abnormality name, a fraction
    (None when not given; rows with 0 are dropped as tested negative) and ISO date text
    (``""`` when undated)."""

    abnormality: str
    clone_fraction: float | None
    date: str


class TherapyLineRow(TypedDict, total=False):
    """One therapy_lines.tsv row as ``io.clinical.read_table`` returns it."""

    patient_id: str
    line: int
    regimen: str
    start_date: DateLike | None
    end_date: DateLike | None
    best_response: str | None
    progression_date: DateLike | None
    refractory: str | None  # yes, no, or drugs joined by '+'
    phase: str | None  # induction, transplant, consolidation, maintenance, other
    stop_reason: str | None  # progression, toxicity, completed, patient_choice, other
    intolerant: str | None  # drugs joined by '+'
    _file: str
    _line: int


class TherapyPhase(TypedDict):
    """One row of a line (``TherapyLine.phases``), in start-date order."""

    phase: str | None
    regimen: str
    drugs: list[str]
    drug_classes: list[str]
    start_date: str
    end_date: str | None
    stop_reason: str | None


class CurrentLine(TypedDict):
    """The line still being given (``TherapyHistory.current_line``): its number and the
    regimen, drugs and start of the phase given now."""

    line: int
    regimen: str
    drugs: list[str]
    drug_classes: list[str]
    start_date: str


class CarTRelapse(TypedDict):
    """Progression after a one-time CAR-T infusion (``TherapyHistory.car_t_relapses``)."""

    drug: str
    infusion_date: str
    progression_date: str


class TherapyLine(TypedDict):
    """One line of ``TherapyHistory.lines`` (dates as ISO text); rows sharing a line number
    are its ``phases``."""

    line: int
    regimen: str
    drugs: list[str]
    drug_classes: list[str]
    start_date: str
    end_date: str | None
    best_response: str | None
    progression_date: str | None
    refractory_drugs: list[str]
    refractory_basis: str
    phases: list[TherapyPhase]


class ClassExposure(TypedDict):
    """The last exposure to one drug class (``TherapyHistory.last_exposure``)."""

    line: int
    last_dose_date: str | None
    ongoing: bool
    days_since_last_dose: int | None


class TherapyHistory(TypedDict):
    """What ``interpret.therapy.therapy_history`` returns (report.json ``therapy_history``
    plus ``last_exposure``)."""

    lines: list[TherapyLine]
    line_count: int
    exposed_drugs: list[str]
    exposed_classes: list[str]
    refractory_drugs: list[str]
    refractory_classes: list[str]
    triple_class_refractory: bool
    penta_refractory: bool
    intolerant_drugs: list[str]
    current_line: CurrentLine | None
    car_t_relapses: list[CarTRelapse]
    last_exposure: dict[str, ClassExposure]


class PatientInfo(TypedDict):
    """One patients.tsv row as ``io.clinical.patient_info`` gives it; None = unknown, never
    assumed. ``age`` comes from the age column or from birth_date at the latest sample."""

    patient_id: str
    age: int | None
    sex: str | None  # female | male
    ecog: int | None
    transplant_eligible: bool | None
    weight_kg: float | None
    height_cm: float | None
    isotype: str | None
    extramedullary: bool | None
    plasma_cell_leukaemia: bool | None
    first_remission_months: float | None


class Evidence(TypedDict):
    """The observation a finding rests on (report.json ``findings[].evidence``)."""

    kind: str  # variant | copy_number | cytogenetic
    sample_id: str | None
    status: str | None  # timeline status of a variant, else None
    vaf: float | None
    detail: str


class AlleleState(TypedDict):
    """How many alleles of a gene a finding's observation hits (``findings[].allele_state``)."""

    state: str  # biallelic | monoallelic | unknown
    basis: str  # the copy number, VAF and purity the state was read from


class Finding(TypedDict):
    """One matched biomarker (report.json ``findings[]``)."""

    biomarker_id: str
    gene: str
    alteration: str
    implication: str
    drugs: list[str]
    drug_classes: list[str]
    evidence_level: str
    sources: list[str]
    summary: str
    evidence: Evidence
    # None for amplifications and cytogenetic findings, where allele counting does not apply.
    allele_state: AlleleState | None
    # Resistance findings only (else None): observed | predicted_not_exposed | unknown.
    exposure: str | None


# A criterion of trials.yaml or of the risk rules, as the knowledge loader parsed it
# (``type`` plus the keys of that type; ``any_of``/``all_of`` hold ``criteria``).
Criterion = Mapping[str, Any]
