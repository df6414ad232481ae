"""Assembling report.json and variants.tsv for one patient and writing them atomically."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from mmresist.io.files import atomic_write_text
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
from mmresist.vocab import DISCLAIMER, FILTER_REASONS, REASONING_SECTIONS, SCHEMA_VERSION

VARIANT_TSV_COLUMNS = (
    "patient_id",
    "sample_id",
    "timepoint",
    "collection_date",
    "gene",
    "category",
    "chrom",
    "pos",
    "ref",
    "alt",
    "consequence",
    "transcript",
    "hgvsc",
    "hgvsp",
    "protein_change",
    "vcf_filter",
    "vaf",
    "depth",
    "alt_reads",
    "status",
    "kept",
    "filter_reasons",
    "annotation_source",
    "population_af",
    "population_af_source",
    "germline_basis",
)


def _round(value: float | None) -> float | None:
    # Six decimals keeps JSON bytes stable across platforms' float formatting.
    return None if value is None else round(float(value), 6)


def variant_entry(
    call: VariantCall, *, timepoint: str, category: str | None, status: str, history: list[dict]
) -> dict:
    return {
        "sample_id": call.sample_id,
        "timepoint": timepoint,
        "gene": call.gene,
        "chrom": call.chrom,
        "pos": call.pos,
        "ref": call.ref,
        "alt": call.alt,
        "consequence": call.consequence,
        "hgvsc": call.hgvsc,
        "hgvsp": call.hgvsp,
        "protein_change": call.protein_change,
        "transcript": call.transcript,
        "vaf": _round(call.vaf),
        "depth": call.depth,
        "alt_reads": call.alt_reads,
        "category": category,
        "status": status,
        "filter_reasons": list(call.filter_reasons),
        "population_af": _round(call.population_af),
        "population_af_source": call.population_af_source or None,
        "germline_basis": call.germline_basis or None,
        "timepoints": [{**entry, "vaf": _round(entry["vaf"])} for entry in history],
    }


def copy_number_entry(call: CopyNumberCall, *, category: str | None) -> dict:
    return {
        "sample_id": call.sample_id,
        "gene": call.gene,
        "call": call.call,
        "copy_number": _round(call.copy_number),
        "log2": _round(call.log2),
        "category": category,
        "source": call.source,
    }


def qc_section(
    samples: Sequence[Sample], ingests: dict[str, SampleIngest], warnings: list[str]
) -> dict:
    """Counts that reconcile: records read = outside panel + in panel, per sample, and
    panel alleles = kept + filtered (a filtered allele is counted once per reason in
    ``filtered``)."""
    filtered = {reason: 0 for reason in FILTER_REASONS}
    per_sample = []
    for sample in samples:
        ingest = ingests[sample.sample_id]
        kept = sum(1 for call in ingest.calls if not call.filter_reasons)
        for call in ingest.calls:
            for reason in call.filter_reasons:
                filtered[reason] += 1
        per_sample.append(
            {
                "sample_id": sample.sample_id,
                "records_read": ingest.records_read,
                "records_outside_panel": ingest.records_read - ingest.records_in_panel,
                "records_in_panel": ingest.records_in_panel,
                "panel_alleles": len(ingest.calls),
                "panel_kept": kept,
                "panel_filtered": len(ingest.calls) - kept,
                "annotation": ingest.annotation,
                "tumor_sample": ingest.tumor_sample,
                "scan": ingest.scan,
            }
        )
    return {
        "records_read": sum(entry["records_read"] for entry in per_sample),
        "records_in_panel": sum(entry["records_in_panel"] for entry in per_sample),
        "filtered": filtered,
        "warnings": sorted(set(warnings)),
        "per_sample": per_sample,
    }


def build_report(
    *,
    patient_id: str,
    provenance: dict,
    samples: Sequence[Sample],
    ingests: dict[str, SampleIngest],
    variants: list[dict],
    copy_number: list[dict],
    cytogenetics: list[CytogeneticsRow] | None,
    findings: list[Finding],
    therapy_history: TherapyHistory | None,
    labs: list[dict] | None,
    not_provided: list[str],
    warnings: list[str],
    assessed: dict | None = None,
    patient: PatientInfo | None = None,
) -> dict:
    """The report.json document with every key present (docs/report.md).

    ``assessed`` maps each computed reasoning section to its value (``None`` when its inputs
    were not given); sections missing from it are ``null`` and listed in ``not_assessed``."""
    assessed = assessed or {}
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "patient_id": patient_id,
        "disclaimer": DISCLAIMER,
        "provenance": provenance,
        "samples": [
            {
                "sample_id": sample.sample_id,
                "timepoint": sample.timepoint,
                "collection_date": sample.collection_date,
                "tumor_sample": ingests[sample.sample_id].tumor_sample,
                "annotation": ingests[sample.sample_id].annotation,
                "vcf": sample.vcf,
                "cnv": sample.cnv,
                "purity": sample.purity,
                "tumour_only": ingests[sample.sample_id].tumour_only,
            }
            for sample in samples
        ],
        "variants": variants,
        "copy_number": copy_number,
        "cytogenetics": cytogenetics,
        "findings": findings,
        "therapy_history": therapy_history,
        "patient": patient,
        "labs": labs,
    }
    for section in REASONING_SECTIONS:
        report[section] = assessed.get(section)
    report["not_assessed"] = [s for s in REASONING_SECTIONS if s not in assessed]
    # Always assessed: a flag of null says nothing could be judged (interpret.relapse).
    report["aggressive_relapse"] = assessed.get("aggressive_relapse")
    report["not_provided"] = sorted(not_provided)
    report["qc"] = qc_section(samples, ingests, warnings)
    return report


def report_json(report: dict) -> str:
    """report.json text: one top-level key, or one list item, per line.

    ``json.dumps(indent=...)`` falls back to the pure-Python encoder (a third of a second on
    a few thousand variants); compact items use the C encoder and still diff per variant."""

    def compact(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))

    lines = []
    for key, value in report.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {compact(item)}" for item in value)
            lines.append(f"  {compact(key)}: [\n{items}\n  ]")
        else:
            lines.append(f"  {compact(key)}: {compact(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def variants_tsv(
    *,
    patient_id: str,
    samples: Sequence[Sample],
    ingests: dict[str, SampleIngest],
    status_of: dict[tuple, str],
    category_of: Callable[[str], str | None],
) -> str:
    """Every panel allele of every sample, kept or not, with its filter reasons."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(VARIANT_TSV_COLUMNS)
    for sample in samples:
        calls = sorted(
            ingests[sample.sample_id].calls,
            key=lambda call: (call.key[0], call.pos, call.ref, call.alt, call.gene),
        )
        for call in calls:
            writer.writerow(
                [
                    patient_id,
                    sample.sample_id,
                    sample.timepoint,
                    sample.collection_date,
                    call.gene,
                    category_of(call.gene),
                    call.chrom,
                    call.pos,
                    call.ref,
                    call.alt,
                    call.consequence,
                    call.transcript,
                    call.hgvsc,
                    call.hgvsp,
                    call.protein_change,
                    call.filter,
                    "" if call.vaf is None else f"{call.vaf:.6g}",
                    "" if call.depth is None else call.depth,
                    "" if call.alt_reads is None else call.alt_reads,
                    status_of.get((*call.key, call.gene), ""),
                    "no" if call.filter_reasons else "yes",
                    ";".join(call.filter_reasons),
                    call.annotation_source,
                    "" if call.population_af is None else f"{call.population_af:.6g}",
                    call.population_af_source,
                    call.germline_basis,
                ]
            )
    return buffer.getvalue()


def write_outputs(*, outdir: str, report: dict, variants_text: str, html: str | None) -> None:
    """Write variants.tsv, then report.html, and report.json last: report.json's presence
    marks a complete set."""
    atomic_write_text(f"{outdir}/variants.tsv", variants_text)
    if html is not None:
        atomic_write_text(f"{outdir}/report.html", html)
    atomic_write_text(f"{outdir}/report.json", report_json(report))
