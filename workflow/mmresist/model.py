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
    refractory: str | None
    _file: str
    _line: int


class TherapyLine(TypedDict):
    """One line of ``TherapyHistory.lines`` (dates as ISO text)."""

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
    last_exposure: dict[str, ClassExposure]


class Evidence(TypedDict):
    """The observation a finding rests on (report.json ``findings[].evidence``)."""

    kind: str  # variant | copy_number | cytogenetic
    sample_id: str | None
    status: str | None  # timeline status of a variant, else None
    vaf: float | None
    detail: str


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


# A criterion of trials.yaml or of the risk rules, as the knowledge loader parsed it
# (``type`` plus the keys of that type; ``any_of``/``all_of`` hold ``criteria``).
Criterion = Mapping[str, Any]
