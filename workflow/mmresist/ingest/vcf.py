"""Read one tumour sample's panel-gene variants from a VCF or BCF with cyvcf2."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from mmresist.ingest.annotation import detect_layout
from mmresist.ingest.depths import allele_depths
from mmresist.ingest.header import (
    choose_tumor_sample,
    declared_tags,
    genome_build_from_header,
    header_formats,
    header_value,
    is_bgzf,
    is_tumour_only,
    open_vcf,
    vcf_version,
)
from mmresist.ingest.population import declared_info, info_af_fields
from mmresist.ingest.records import (
    Part,
    Setup,
    allele_lookup,
    check_records_well_formed,
    panel_prefilter,
    scan_records,
)
from mmresist.ingest.regions import (
    SCAN_REGIONS,
    SCAN_WHOLE,
    PanelRegions,
    Plan,
    WholeReadNeeded,
    contig_plan,
    read_panel_regions,
    read_parallel,
)
from mmresist.model import SampleIngest

# Names other modules and tests import from here; each is defined in its own module.
__all__ = [
    "SCAN_REGIONS",
    "SCAN_WHOLE",
    "PanelRegions",
    "allele_depths",
    "allele_lookup",
    "choose_tumor_sample",
    "genome_build_from_header",
    "header_formats",
    "ingest_threads",
    "open_vcf",
    "panel_prefilter",
    "read_sample",
]

# Files with fewer indexed records than this are read in one pass: forking workers costs
# more than it saves on an exome-sized VCF (cohort runs read hundreds of those).
PARALLEL_MIN_RECORDS = 100_000

# A VCF at least this large (bytes on disk) read whole is worth a second core: about
# PARALLEL_MIN_RECORDS annotated records, bgzipped.
TWO_THREAD_MIN_BYTES = 8 << 20


def read_sample(
    *,
    vcf_path: str | os.PathLike[str],
    sample_id: str,
    tumor_sample: str | None,
    panel_genes: Collection[str],
    threads: int | None = None,
    regions: PanelRegions | None = None,
    population_af_fields: Sequence[str] = (),
) -> SampleIngest:
    """Every panel-gene call of one tumour sample, with record counts for QC.

    ``population_af_fields``: further annotation subfields or INFO fields holding a
    population allele frequency (``filters.population_af_fields``; ingest.population).

    With ``regions`` (panel coordinates of one build) a bgzipped file of that build is
    read by index query; with ``threads`` > 1 a large indexed file is read by contig in
    worker processes; otherwise in one pass. A faster read that fails for a reason of the
    file is replaced by one pass and the reason kept in ``warnings``; ``scan`` says which
    read was used (docs/annotation.md, "How a VCF is read").
    """
    path = os.fspath(vcf_path)
    if threads is None:
        threads = min(2, os.cpu_count() or 1)
    threads = max(1, int(threads))
    notes: list[str] = []
    # Opened without htslib threads: a process that started a thread pool (even one
    # closed again) makes the workers forked from it run at half speed.
    vcf = open_vcf(path)
    try:
        setup = _prepare(
            vcf, path, sample_id, tumor_sample, frozenset(panel_genes), population_af_fields
        )
        if regions is not None:
            try:
                part = read_panel_regions(vcf, setup, regions)
            except WholeReadNeeded as reason:
                notes.append(f"not read by panel region, read whole instead: {reason}")
                part = None
                vcf.close()
                vcf = open_vcf(path)  # an iterator that failed part-way is not reused
            if part is not None:
                return _finish(setup, [part], notes, scan=SCAN_REGIONS)
        plan = None
        if threads > 1:
            try:
                plan = _contig_plan(path, threads)
            except WholeReadNeeded as reason:
                notes.append(f"not read by contig in worker processes: {reason}")
        if plan is None:
            return _one_pass(vcf, setup, threads, notes)
    finally:
        vcf.close()
    try:
        parts = read_parallel(setup, plan)
    except WholeReadNeeded as reason:
        notes.append(f"not read by contig in worker processes, read in one pass: {reason}")
        vcf = open_vcf(path)
        try:
            return _one_pass(vcf, setup, threads, notes)
        finally:
            vcf.close()
    return _finish(setup, parts, notes)


def _contig_plan(path: str, threads: int) -> Plan | None:
    return contig_plan(path, threads, min_records=PARALLEL_MIN_RECORDS)


def _one_pass(vcf: Any, setup: Setup, threads: int, notes: list[str]) -> SampleIngest:
    if threads > 1:
        vcf.set_threads(threads)  # htslib decompresses in a second thread
    part = scan_records(vcf, setup)
    check_records_well_formed(vcf, setup)
    return _finish(setup, [part], notes)


def _prepare(
    vcf: Any,
    path: str,
    sample_id: str,
    tumor_sample: str | None,
    panel: frozenset[str],
    population_af_fields: Sequence[str] = (),
) -> Setup:
    # Annotation first: a file without one cannot be used whatever its sample columns.
    layout = detect_layout(vcf, path)
    layout.extra_af_fields = tuple(population_af_fields)
    af_fields, af_notes = info_af_fields(
        declared_info(vcf),
        population_af_fields,
        [name for name, _ in layout.af_positions()],
    )
    raw_header = vcf.raw_header
    samples = list(vcf.samples)
    tumour = choose_tumor_sample(
        samples=samples,
        header_tumor=header_value(raw_header, "tumor_sample"),
        requested=tumor_sample,
        path=path,
    )
    return Setup(
        path=path,
        sample_id=sample_id,
        tumour=tumour,
        sample_index=samples.index(tumour),
        layout=layout,
        formats=header_formats(vcf),
        panel=panel,
        genome_build=genome_build_from_header(raw_header),
        declared=declared_tags(vcf),
        vcf_version=vcf_version(raw_header),
        af_info_fields=af_fields,
        tumour_only=is_tumour_only(samples, raw_header),
        notes=tuple(af_notes),
    )


def _finish(
    setup: Setup, parts: Sequence[Part], notes: Sequence[str], scan: str = SCAN_WHOLE
) -> SampleIngest:
    """One SampleIngest from parts given in file order, as one pass would have made it."""
    layout = setup.layout
    warnings: list[str] = [*setup.notes, *notes]
    if not layout.gene_is_symbol:
        warnings.append(
            f"{layout.label} has no gene symbol field (field {layout.gene_field!r} holds "
            "Ensembl ids), so no record can match the panel; re-run VEP with --symbol"
        )
    for part in parts:
        warnings.extend(part.record_warnings)
    for part in parts:
        warnings.extend(part.compound_warnings)
    records_read = sum(part.records_read for part in parts)
    if records_read and not any(part.annotated for part in parts):
        warnings.append(
            f"no record carries INFO/{layout.tag} although the header declares it; "
            "the annotation step may have failed"
        )
    return SampleIngest(
        sample_id=setup.sample_id,
        vcf=setup.path,
        tumor_sample=setup.tumour,
        records_read=records_read,
        records_in_panel=sum(part.records_in_panel for part in parts),
        calls=[call for part in parts for call in part.calls],
        annotation=layout.label,
        genome_build=setup.genome_build,
        warnings=warnings,
        scan=scan,
        tumour_only=setup.tumour_only,
    )


def ingest_threads(paths: Iterable[str | os.PathLike[str]], *, regions_known: bool) -> int:
    """Cores worth giving to one patient's ingest (1 or 2), decided before it runs.

    A file read by region (bgzipped, with panel coordinates for the build) or a small one
    needs one core; a large file read whole uses a second one (worker processes for an
    indexed file, a decompression thread otherwise).
    """
    for path in paths:
        name = os.fspath(path)
        try:
            size = os.path.getsize(name)
        except OSError:
            continue  # a missing file is the patient job's error to report
        if size < TWO_THREAD_MIN_BYTES:
            continue
        if regions_known and is_bgzf(name):
            continue  # read by region (indexed in a work folder when it has no index)
        return 2
    return 1
