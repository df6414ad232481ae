"""One patient end to end: ingest every sample, interpret, and write the report files."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from mmresist import __version__
from mmresist.errors import InputError
from mmresist.interpret.filters import Filters, apply_filters, polymorphism_index
from mmresist.interpret.timeline import assign_status, order_samples
from mmresist.io.copynumber import is_symbolic_deletion
from mmresist.io.files import sha256_file
from mmresist.io.sheets import read_samples
from mmresist.model import (
    CopyNumberCall,
    CytogeneticsRow,
    Finding,
    PatientInfo,
    Sample,
    SampleIngest,
    TherapyHistory,
    VariantCall,
)
from mmresist.report.build import (
    build_report,
    copy_number_entry,
    variant_entry,
    variants_tsv,
    write_outputs,
)
from mmresist.vocab import CLINICAL_TABLES

if TYPE_CHECKING:
    from mmresist.knowledge.load import Knowledge

# Clinical rows as the schema-validated reader returns them; each step types the table it
# reads (LabRow, TherapyLineRow, CytogeneticsRow in mmresist.model).
ClinicalTables = dict[str, list[Any] | None]
_Row = TypeVar("_Row", bound=Mapping[str, Any])


@dataclass
class ClinicalPaths:
    therapy_lines: str | None = None
    labs: str | None = None
    cytogenetics: str | None = None
    mrd: str | None = None
    patients: str | None = None


def _software_versions() -> dict[str, str]:
    import cyvcf2
    import jinja2

    return {
        "mmresist": __version__,
        "cyvcf2": cyvcf2.__version__,
        "jinja2": jinja2.__version__,
        "python": platform.python_version(),
    }


def _canonical_gene(knowledge: Knowledge, gene: str) -> str:
    return knowledge.gene_aliases.get(gene, gene)


@dataclass(frozen=True)
class Annotation:
    """How VCFs get their annotation: ``auto`` reads what each file has; ``bcftools_csq``
    needs the copy ``mmresist annotate`` made of every file. ``records``: sample_id -> the
    annotation record of that copy, which is read instead of the user's file."""

    mode: str = "auto"
    records: Mapping[str, str] = field(default_factory=dict)


def _read_annotated(
    sample: Sample, record_path: str, **options: Any
) -> tuple[SampleIngest, list[str]]:
    """Read the annotated copy of ``sample``'s VCF; the ingest still names the user's file."""
    from mmresist.ingest.annotate import read_record
    from mmresist.ingest.vcf import SCAN_REGIONS, read_sample

    record = read_record(record_path)
    if record.source_sha256 != sha256_file(sample.vcf):
        raise InputError(
            f"the annotated copy {record.vcf} was made from another file ({record.source}, "
            "sha256 differs); annotate this VCF again (`mmresist annotate`)",
            file=sample.vcf,
        )
    ingest = read_sample(vcf_path=record.vcf, tumor_sample=sample.tumor_sample, **options)
    ingest.vcf = sample.vcf
    # The copy keeps only the tumour column; whether a normal was there is the user's file's.
    ingest.tumour_only = _tumour_only(sample.vcf)
    # qc.per_sample[].annotation then says how the file was annotated, tools and references.
    ingest.annotation = f"{ingest.annotation}, made by mmresist: {record.provenance}"
    notes = list(record.warnings)
    if record.regions:
        ingest.scan = SCAN_REGIONS
        notes.append(
            "annotated with bcftools csq in the panel genes' regions only, so records_read "
            "counts the records there"
        )
    return ingest, notes


def _tumour_only(path: str) -> bool:
    from mmresist.ingest.header import is_tumour_only, open_vcf

    vcf = open_vcf(path)
    try:
        return is_tumour_only(list(vcf.samples), vcf.raw_header)
    finally:
        vcf.close()


def ingest_samples(
    samples: list[Sample],
    knowledge: Knowledge,
    filters: Filters,
    genome_build: str | None = None,
    threads: int | None = None,
    annotation: Annotation | None = None,
) -> tuple[dict[str, SampleIngest], list[str]]:
    """Read each sample's VCF, map gene aliases to panel symbols and apply the filters.

    A VCF whose header shows the other genome build is refused: its coordinates would be
    compared across timepoints and reported as if they were of the configured build. A
    sample with an annotation record (``annotation.records``) is read from its annotated copy.
    """
    from mmresist.ingest.vcf import PanelRegions

    annotation = annotation or Annotation()
    by_chrom = knowledge.panel_regions(genome_build) if genome_build else None
    regions = PanelRegions(genome_build, by_chrom) if genome_build and by_chrom else None
    ingests: dict[str, SampleIngest] = {}
    warnings: list[str] = []
    polymorphisms = polymorphism_index(knowledge.polymorphisms)
    for sample in samples:
        ingest, notes = _ingest_one(
            sample, knowledge, annotation, regions, threads, filters.population_af_fields
        )
        _check_build(ingest, sample, genome_build)
        for call in ingest.calls:
            call.gene = _canonical_gene(knowledge, call.gene)
        apply_filters(ingest.calls, filters, polymorphisms)
        warnings.extend(f"{sample.sample_id}: {warning}" for warning in [*notes, *ingest.warnings])
        ingests[sample.sample_id] = ingest
    return ingests, warnings


def _ingest_one(
    sample: Sample,
    knowledge: Any,
    annotation: Annotation,
    regions: Any,
    threads: int | None,
    population_af_fields: tuple[str, ...] = (),
) -> tuple[SampleIngest, list[str]]:
    from mmresist.ingest.vcf import read_sample

    options = {
        "sample_id": sample.sample_id,
        "panel_genes": knowledge.panel_genes,
        "threads": threads,
        "population_af_fields": population_af_fields,
    }
    record = annotation.records.get(sample.sample_id)
    if record:
        return _read_annotated(sample, record, **options)
    if annotation.mode == "bcftools_csq":
        raise InputError(
            f"annotation.mode bcftools_csq reads the copy `mmresist annotate` makes of each "
            f"VCF, and none was given for sample {sample.sample_id} (--annotated); making "
            "one needs annotation.fasta and annotation.gff3",
            file=sample.vcf,
            field="annotation.mode",
        )
    ingest = read_sample(
        vcf_path=sample.vcf, tumor_sample=sample.tumor_sample, regions=regions, **options
    )
    return ingest, []


def _check_build(ingest: SampleIngest, sample: Sample, genome_build: str | None) -> None:
    if genome_build and ingest.genome_build and ingest.genome_build != genome_build:
        raise InputError(
            f"the VCF is {ingest.genome_build} (from its header) but the configuration "
            f"says genome_build: {genome_build}",
            file=sample.vcf,
            field="genome_build",
            expected=genome_build,
            got=ingest.genome_build,
        )


def read_copy_numbers(
    samples: list[Sample],
    knowledge: Knowledge,
    genome_build: str | None = None,
    warnings: list[str] | None = None,
) -> dict[str, list[CopyNumberCall]]:
    """Each sample's gene-level copy number; segment files are mapped to genes with the
    knowledge base's coordinates for ``genome_build``. Notes go to ``warnings``."""
    from mmresist.io.copynumber import read_copy_number

    gene_regions = knowledge.gene_regions(genome_build) if genome_build else {}
    calls: dict[str, list[CopyNumberCall]] = {}
    for sample in samples:
        if not sample.cnv:
            continue
        notes: list[str] = []
        calls[sample.sample_id] = read_copy_number(
            path=sample.cnv,
            fmt=sample.cnv_format,
            sample_id=sample.sample_id,
            panel_genes=set(knowledge.genes),
            aliases=knowledge.gene_aliases,
            purity=sample.purity,
            gene_regions=gene_regions,
            tumor_sample=sample.tumor_sample,
            genome_build=genome_build,
            warnings=notes,
        )
        if warnings is not None:
            warnings.extend(f"{sample.sample_id}: {note}" for note in notes)
    return calls


def add_structural_deletions(
    copy_numbers: dict[str, list[CopyNumberCall]], ingests: dict[str, SampleIngest]
) -> None:
    """Fold kept ``<DEL>`` records of each sample's VCF into its gene-level copy number."""
    from mmresist.io.copynumber import deletions_as_copy_number, merge_copy_number

    for sample_id, ingest in ingests.items():
        deletions = deletions_as_copy_number(ingest.calls)
        if deletions:
            copy_numbers[sample_id] = merge_copy_number(copy_numbers.get(sample_id, []), deletions)


def read_clinical(patient_id: str, paths: ClinicalPaths) -> tuple[ClinicalTables, list[str]]:
    """Rows of this patient only from each clinical table given; which were not given."""
    from mmresist.io.clinical import read_table, rows_for

    tables: ClinicalTables = {}
    not_provided = []
    for kind in CLINICAL_TABLES:
        path = getattr(paths, kind)
        if path is None:
            tables[kind] = None
            not_provided.append(kind)
            continue
        tables[kind] = rows_for(read_table(path, kind, patient_id=patient_id), patient_id)
    return tables, not_provided


def _public(row: _Row) -> _Row:
    """Drop bookkeeping keys (file/line) and make dates JSON text."""
    result: dict[str, Any] = {}
    for key, value in row.items():
        if key.startswith("_"):
            continue
        result[key] = value.isoformat() if hasattr(value, "isoformat") else value
    # The same row type: its keys less bookkeeping ones, dates as text (model.DateLike).
    return cast(_Row, result)


@dataclass
class RiskData:
    """What the risk section reads from every sample (not only the latest one)."""

    variants: list[VariantCall]
    copy_number: list[CopyNumberCall]
    sample_dates: dict[str, str]
    purity: dict[str, float | None]


def assess_sections(
    *,
    knowledge: Knowledge,
    tables: ClinicalTables,
    history: TherapyHistory | None,
    findings: list[Finding],
    current_calls: list[VariantCall],
    current_copy_number: list[CopyNumberCall],
    cytogenetics: list[CytogeneticsRow] | None,
    patient: PatientInfo | None = None,
    risk_data: RiskData | None = None,
    approval_region: str = "US",
) -> tuple[dict[str, Any], list[str]]:
    """The reasoning sections (therapy options, trials, supportive care, MRD, risk) and,
    for each that had none of its inputs, an entry for ``not_provided``. ``patient``: the
    patients.tsv characteristics (None when not given; a field None is unknown)."""
    from mmresist.interpret.mrd import summarize_mrd
    from mmresist.interpret.options import therapy_options
    from mmresist.interpret.relapse import aggressive_relapse
    from mmresist.interpret.risk import assess_risk
    from mmresist.interpret.supportive import supportive_care
    from mmresist.interpret.trials import match_trials

    assessed = {
        "therapy_options": therapy_options(
            knowledge=knowledge,
            therapy_history=history,
            findings=findings,
            labs=tables["labs"],
            patient=patient,
            approval_region=approval_region,
        ),
        "mrd": summarize_mrd(tables["mrd"], knowledge.rules.get("mrd")),
        "aggressive_relapse": aggressive_relapse(
            labs=tables["labs"],
            cytogenetics=tables["cytogenetics"],
            patient=patient,
            rule=knowledge.rules.get("aggressive_relapse"),
        ),
        "risk": assess_risk(
            cytogenetics=tables["cytogenetics"],
            variants=risk_data.variants if risk_data else current_calls,
            copy_number=risk_data.copy_number if risk_data else current_copy_number,
            labs=tables["labs"],
            rules=knowledge.rules["risk"],
            sample_dates=risk_data.sample_dates if risk_data else None,
            purity=risk_data.purity if risk_data else None,
        ),
        "supportive_care": supportive_care(
            labs=tables["labs"],
            therapy_history=history,
            rules=knowledge.rules["supportive_care"],
            patient=patient,
        ),
        "trials": match_trials(
            knowledge=knowledge,
            therapy_history=history,
            findings=findings,
            variants=current_calls,
            copy_number=current_copy_number,
            cytogenetics=cytogenetics,
            labs=tables["labs"],
            patient=patient,
        ),
    }
    gaps = []
    if assessed["therapy_options"] is None:
        gaps.append("therapy_options (needs therapy lines)")
    if assessed["supportive_care"] is None:
        gaps.append("supportive_care (needs labs or therapy lines)")
    return assessed, gaps


def run_patient(
    *,
    patient_id: str,
    samples_path: str,
    knowledge_path: str,
    outdir: str,
    genome_build: str = "GRCh38",
    filters: Filters | None = None,
    clinical: ClinicalPaths | None = None,
    render: bool = True,
    annotation_mode: str = "auto",
    threads: int | None = None,
    annotated: Mapping[str, str] | None = None,
    template_cache: str | None = None,
    approval_region: str = "US",
) -> dict:
    """Build and write report.json, variants.tsv and report.html for ``patient_id``.

    ``annotated``: sample_id -> annotation record written by ``mmresist annotate``;
    ``approval_region``: whose approvals and labels apply to therapy options (US or EU).
    """
    from mmresist.interpret.matching import annotate_exposure, match_biomarkers
    from mmresist.interpret.therapy import therapy_history
    from mmresist.io.clinical import patient_info
    from mmresist.knowledge.load import load_knowledge

    if annotation_mode not in ("auto", "bcftools_csq"):
        raise InputError(
            f"unknown annotation mode '{annotation_mode}'",
            field="annotation.mode",
            expected="auto or bcftools_csq",
            got=annotation_mode,
        )
    annotation = Annotation(annotation_mode, dict(annotated or {}))
    filters = filters or Filters()
    clinical = clinical or ClinicalPaths()
    samples = read_samples(samples_path, patient_id=patient_id)
    if not samples:
        raise InputError(
            f"no sample of patient '{patient_id}'", file=samples_path, field="patient_id"
        )
    samples = order_samples(samples)
    knowledge = load_knowledge(knowledge_path)

    ingests, warnings = ingest_samples(
        samples, knowledge, filters, genome_build, threads, annotation
    )
    copy_numbers = read_copy_numbers(samples, knowledge, genome_build, warnings)
    add_structural_deletions(copy_numbers, ingests)
    tables, not_provided = read_clinical(patient_id, clinical)
    # Reading notes of the clinical tables (a bare clone fraction read as a percentage).
    warnings.extend(
        note for rows in tables.values() for row in rows or [] for note in row.get("_notes", [])
    )
    # A table without rows for this patient says nothing about the patient: its sections
    # stay unknown (null), never empty ones that read as "none".
    for kind in CLINICAL_TABLES:
        if tables[kind] is not None and not tables[kind]:
            not_provided.append(f"{kind} (no rows for this patient)")
            tables[kind] = None

    rows = assign_status(samples, ingests)
    timepoint_of = {sample.sample_id: sample.timepoint for sample in samples}
    variants = [
        variant_entry(
            call,
            timepoint=timepoint_of[call.sample_id],
            category=knowledge.category_of(call.gene),
            status=status,
            history=history,
        )
        for call, status, history in rows
    ]
    status_of = {(*call.key, call.gene): status for call, status, _ in rows}

    latest = samples[-1].sample_id
    # Structural deletions are matched as copy loss (add_structural_deletions), not also
    # as a variant: one deletion counted twice would read as a biallelic loss.
    current_calls = [
        call
        for call, status, _ in rows
        if call.sample_id == latest
        and status != "lost"
        and not call.filter_reasons
        and not is_symbolic_deletion(call.alt)
    ]
    # Copy number of the latest sample that has a copy-number file.
    current_copy_number: list[CopyNumberCall] = []
    for sample in reversed(samples):
        if sample.sample_id in copy_numbers:
            current_copy_number = copy_numbers[sample.sample_id]
            break
    cytogenetics_rows: list[CytogeneticsRow] | None = tables["cytogenetics"]
    cytogenetics = (
        [_public(row) for row in cytogenetics_rows] if cytogenetics_rows is not None else None
    )
    findings = match_biomarkers(
        knowledge=knowledge,
        variants=current_calls,
        copy_number=current_copy_number,
        cytogenetics=cytogenetics or [],
        variant_status=status_of,
        purity=samples[-1].purity,
    )
    history: TherapyHistory | None = None
    if tables["therapy_lines"]:
        history = therapy_history(
            tables["therapy_lines"], knowledge, reference_date=samples[-1].collection_date
        )
    annotate_exposure(findings, history, knowledge.option_rules.get("antigen_classes"))
    patient: PatientInfo | None = None
    if tables["patients"]:
        # One row per patient (the reader refuses a second); ages count at the latest sample.
        patient = patient_info(tables["patients"][0], reference_date=samples[-1].collection_date)

    assessed, section_gaps = assess_sections(
        knowledge=knowledge,
        tables=tables,
        history=history,
        findings=findings,
        current_calls=current_calls,
        current_copy_number=current_copy_number,
        cytogenetics=cytogenetics,
        patient=patient,
        approval_region=approval_region,
        risk_data=RiskData(
            # Risk reads every timepoint: a TP53 mutation seen only at diagnosis still counts.
            variants=[
                call
                for call, _status, _ in rows
                if not call.filter_reasons and not is_symbolic_deletion(call.alt)
            ],
            copy_number=[c for s in samples for c in copy_numbers.get(s.sample_id, [])],
            sample_dates={s.sample_id: s.collection_date for s in samples},
            purity={s.sample_id: s.purity for s in samples},
        ),
    )
    not_provided.extend(section_gaps)

    inputs = [samples_path]
    for sample in samples:
        inputs.append(sample.vcf)
        if sample.cnv:
            inputs.append(sample.cnv)
    inputs.extend(path for path in vars(clinical).values() if path)
    provenance = {
        "pipeline_version": __version__,
        "knowledge_version": knowledge.version,
        "genome_build": genome_build,
        "inputs": [{"path": path, "sha256": sha256_file(path)} for path in inputs],
        "software": _software_versions(),
        "filters": vars(filters).copy(),
    }
    copy_number_entries = [
        copy_number_entry(call, category=knowledge.category_of(call.gene))
        for sample in samples
        for call in copy_numbers.get(sample.sample_id, [])
    ]
    report = build_report(
        patient_id=patient_id,
        provenance=provenance,
        samples=samples,
        ingests=ingests,
        variants=variants,
        copy_number=copy_number_entries,
        cytogenetics=cytogenetics,
        findings=findings,
        therapy_history=history,
        patient=patient,
        labs=[_public(row) for row in tables["labs"]] if tables["labs"] is not None else None,
        not_provided=not_provided,
        warnings=warnings,
        assessed=assessed,
    )
    text = variants_tsv(
        patient_id=patient_id,
        samples=samples,
        ingests=ingests,
        status_of=status_of,
        category_of=knowledge.category_of,
    )
    html = None
    if render:
        from mmresist.report.render import render_html

        html = render_html(report, template_cache=template_cache)
    Path(outdir).mkdir(parents=True, exist_ok=True)
    write_outputs(outdir=outdir, report=report, variants_text=text, html=html)
    return report
