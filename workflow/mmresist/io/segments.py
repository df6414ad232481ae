"""Segment files (SEG log ratios, PURPLE somatic segments, allele-specific segments) mapped
to panel genes through the genes' coordinates, giving candidate calls per gene."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from mmresist.errors import InputError
from mmresist.io.copy_calls import (
    Candidate,
    Context,
    call_from_copies,
    cell_text,
    chromosome_key,
    cnvkit_copies,
    missing_column,
    numeric_cell,
    round_half_up,
)
from mmresist.io.tabular import Table

# SEG segment means are log ratios; the format name says the base, never the values.
SEG_LOG_BASES = {"seg": 2, "seg_log10": 10}
# Segment tables of absolute copy number: the format name says which columns hold it.
SEGMENT_FORMATS = frozenset({"purple_segments", "allele_segments"})

# SEG header spellings (DNAcopy/CNVkit export, IGV, GISTIC, TCGA, PSCBS), compared after
# lower-casing and dropping everything but letters and digits ("loc.start" -> "locstart").
SEG_COLUMNS = {
    "sample": ("id", "sample", "sampleid", "samplename", "name", "track", "trackname"),
    "chromosome": ("chrom", "chromosome", "chr", "contig", "seqnames", "seqname"),
    "start": ("locstart", "start", "startposition", "startpos", "chromstart", "segstart"),
    "end": ("locend", "end", "endposition", "endpos", "chromend", "segend"),
    "value": (
        "segmean",
        "segmentmean",
        "mean",
        "segcn",
        "log2",
        "log2ratio",
        "segmeanlog2",
        "log10",
        "log10ratio",
        "segmeanlog10",
    ),
}
SEG_SHOWN = {
    "sample": "ID",
    "chromosome": "chrom",
    "start": "loc.start",
    "end": "loc.end",
    "value": "seg.mean",
}
SEG_HINT = "a SEG file: ID, chrom, loc.start, loc.end, [num.mark,] seg.mean"

# Absolute segment tables, header names compared as for SEG. PURPLE's somatic copy-number
# segments (*.purple.cnv.somatic.tsv; minor/majorAllelePloidy before v2.4x renamed them);
# allele-specific segments as PCGR takes them and ASCAT writes them (sample column optional).
PURPLE_SEGMENT_COLUMNS = {
    "copy_number": ("copynumber",),
    "minor": ("minorallelecopynumber", "minorallelecn", "minoralleleploidy"),
}
ALLELE_SEGMENT_COLUMNS = {
    "major": ("nmajor", "majorcn", "cnmajor"),
    "minor": ("nminor", "minorcn", "cnminor"),
}
SEGMENT_SHOWN = {
    "chromosome": "chromosome",
    "start": "start",
    "end": "end",
    "copy_number": "copyNumber",
    "major": "nMajor",
    "minor": "nMinor",
}
SEGMENT_HINTS = {
    "purple_segments": "a PURPLE *.purple.cnv.somatic.tsv: chromosome, start, end, copyNumber "
    "(not purple.segment.tsv, PURPLE's unfitted segmentation)",
    "allele_segments": "allele-specific segments: Chromosome, Start, End, nMajor, nMinor",
}
# DNAcopy and GISTIC number the sex chromosomes.
SEG_NUMBERED_CHROMOSOMES = {"23": "x", "24": "y"}
# An R session's message written into the file before the header (Rscript ... > file).
R_MESSAGE = re.compile(r"^\s*(warning|warning message|in addition)\b", re.IGNORECASE)


def read_seg(
    table: Table,
    context: Context,
    *,
    log_base: int,
    gene_regions: Mapping[str, tuple[str, int, int]],
    sample_ids: tuple[str, str | None],
) -> dict[str, list[Candidate]]:
    """seg / seg_log10: log ratios per segment, called as CNVkit segments, mapped to genes."""
    header, rows = table.header, table.rows
    keys = [re.sub(r"[^a-z0-9]", "", name) for name in header]
    found: dict[str, int] = {}
    for name, spellings in SEG_COLUMNS.items():
        index = next((keys.index(key) for key in spellings if key in keys), None)
        if index is None:
            raise missing_column(SEG_SHOWN[name], table, context, hint=SEG_HINT)
        found[name] = index
    value_name = header[found["value"]]
    said = 10 if "log10" in keys[found["value"]] else 2 if "log2" in keys[found["value"]] else None
    if said is not None and said != log_base:
        raise InputError(
            f"the segment value column '{value_name}' says log{said} but cnv_format "
            f"{context.fmt} reads log{log_base}",
            file=context.file,
            line=table.header_line,
            field=value_name,
            expected="cnv_format seg for log2 ratios, seg_log10 for log10 ratios",
            got=context.fmt,
        )

    by_sample: dict[str, list[tuple[int, list[str]]]] = {}
    for number, cells in rows:
        by_sample.setdefault(cell_text(cells, found["sample"]), []).append((number, cells))
    chosen = _seg_sample(by_sample, sample_ids, header[found["sample"]], context)
    if chosen is None:
        return {}

    regions = _regions_by_chromosome(gene_regions, context)
    candidates: dict[str, list[Candidate]] = {}
    for number, cells in by_sample[chosen]:
        chrom = _seg_chromosome(cell_text(cells, found["chromosome"]))
        genes = regions.get(chrom)
        if not genes or context.ignored(chrom):
            continue
        start, end = _segment_bounds(cells, found, header, number, context)
        value = numeric_cell(cells, found["value"], value_name, number, context, log_ratio=True)
        if value is None:
            continue  # no estimate for this segment: unknown, never neutral
        log2 = value / math.log10(2) if log_base == 10 else value
        expected = context.expected(chrom)
        copies = cnvkit_copies(log2, purity=context.purity, expected=expected)
        candidate = Candidate(
            call=call_from_copies(copies, expected=expected, base=context.base),
            copy_number=float(copies),
            log2=round(log2, 6) if math.isfinite(log2) else log2,
            source=context.source(f"line {number} ({chosen})"),
        )
        for gene in _overlapping(genes, start, end):
            candidates.setdefault(gene, []).append(candidate)
    return candidates


def _regions_by_chromosome(
    gene_regions: Mapping[str, tuple[str, int, int]], context: Context
) -> dict[str, list[tuple[str, int, int]]]:
    """Chromosome key -> (panel gene, start, end) for the panel genes with coordinates."""
    regions: dict[str, list[tuple[str, int, int]]] = {}
    for symbol, (chrom, start, end) in gene_regions.items():
        gene = context.resolve(symbol)
        if gene is not None:
            regions.setdefault(_seg_chromosome(chrom), []).append((gene, int(start), int(end)))
    return regions


def _overlapping(genes: list[tuple[str, int, int]], start: int, end: int) -> list[str]:
    """The genes a segment [start, end] overlaps (1-based inclusive on both sides)."""
    return [gene for gene, gene_start, gene_end in genes if start <= gene_end and end >= gene_start]


def _segment_bounds(
    cells: list[str], found: Mapping[str, int], header: list[str], line: int, context: Context
) -> tuple[int, int]:
    start = _position(cells, found["start"], header[found["start"]], line, context)
    end = _position(cells, found["end"], header[found["end"]], line, context)
    if end < start:
        raise InputError(
            "segment end before its start",
            file=context.file,
            line=line,
            field=header[found["end"]],
            expected=f"a position >= start {start}",
            got=cell_text(cells, found["end"]),
        )
    return start, end


def read_segments(
    table: Table,
    context: Context,
    *,
    gene_regions: Mapping[str, tuple[str, int, int]],
    sample_ids: tuple[str, str | None],
) -> dict[str, list[Candidate]]:
    """purple_segments / allele_segments: absolute copies per segment, mapped to genes."""
    purple = context.fmt == "purple_segments"
    header, rows = table.header, table.rows
    keys = [re.sub(r"[^a-z0-9]", "", name) for name in header]
    spellings = {name: SEG_COLUMNS[name] for name in ("chromosome", "start", "end")}
    spellings.update(PURPLE_SEGMENT_COLUMNS if purple else ALLELE_SEGMENT_COLUMNS)
    found: dict[str, int] = {}
    for name, names in spellings.items():
        index = next((keys.index(key) for key in names if key in keys), None)
        if index is not None:
            found[name] = index
        elif name != "minor" or not purple:  # PURPLE's minor allele column is optional
            raise missing_column(
                SEGMENT_SHOWN[name], table, context, hint=SEGMENT_HINTS[context.fmt]
            )
    sample = (
        None
        if purple
        else next((keys.index(key) for key in SEG_COLUMNS["sample"] if key in keys), None)
    )

    selected: Iterable[tuple[int, list[str]]] = rows
    where = ""
    if sample is not None:
        by_sample: dict[str, list[tuple[int, list[str]]]] = {}
        for number, cells in rows:
            by_sample.setdefault(cell_text(cells, sample), []).append((number, cells))
        chosen = _seg_sample(by_sample, sample_ids, header[sample], context, kind="segment table")
        if chosen is None:
            return {}
        selected, where = by_sample[chosen], f" ({chosen})"

    regions = _regions_by_chromosome(gene_regions, context)
    candidates: dict[str, list[Candidate]] = {}
    for number, cells in selected:
        chrom = _seg_chromosome(cell_text(cells, found["chromosome"]))
        genes = regions.get(chrom)
        if not genes or context.ignored(chrom):
            continue
        start, end = _segment_bounds(cells, found, header, number, context)
        overlapped = _overlapping(genes, start, end)
        if not overlapped:
            continue
        minor_name = "minorAlleleCopyNumber" if purple else "nMinor"
        minor = numeric_cell(cells, found.get("minor"), minor_name, number, context)
        if purple:
            copy_number = numeric_cell(cells, found["copy_number"], "copyNumber", number, context)
            if copy_number is None:
                continue  # no estimate for this segment: unknown, never neutral
            copies = max(0, round_half_up(copy_number))
        else:
            major = numeric_cell(cells, found["major"], "nMajor", number, context)
            if major is None or minor is None:
                continue
            for value, column in ((major, "nMajor"), (minor, "nMinor")):
                if value < 0:
                    raise InputError(
                        "negative allele copy number",
                        file=context.file,
                        line=number,
                        field=column,
                        expected="a copy number >= 0",
                        got=cell_text(cells, found["major" if column == "nMajor" else "minor"]),
                    )
            copies = round_half_up(major + minor)
            copy_number = float(copies)
        note = ""
        if minor is not None and copies > 0 and round_half_up(minor) <= 0:
            note = f", LOH, minor allele copy number {cell_text(cells, found['minor'])}"
        expected = context.expected(chrom)
        candidate = Candidate(
            call=call_from_copies(copies, expected=expected, base=context.base),
            copy_number=copy_number,
            log2=None,
            source=context.source(f"line {number}{where}{note}"),
        )
        for gene in overlapped:
            candidates.setdefault(gene, []).append(candidate)
    return candidates


def _seg_sample(
    by_sample: dict[str, list[tuple[int, list[str]]]],
    sample_ids: tuple[str, str | None],
    column: str,
    context: Context,
    *,
    kind: str = "SEG file",
) -> str | None:
    """The file's ID to read: sample_id, else tumor_sample, else the only ID."""
    if not by_sample:
        return None
    for wanted in sample_ids:
        if wanted and wanted in by_sample:
            return wanted
    if len(by_sample) == 1:
        return next(iter(by_sample))
    ids = sorted(by_sample)
    shown = ", ".join(ids[:20]) + (f", ... ({len(ids)} in all)" if len(ids) > 20 else "")
    sample_id, tumor_sample = sample_ids
    names = f"sample_id '{sample_id}'" + (
        f" or tumor_sample '{tumor_sample}'" if tumor_sample else ""
    )
    raise InputError(
        f"the {kind} holds {len(ids)} samples and none is {names}",
        file=context.file,
        field=column,
        expected="an ID in the file equal to sample_id, or tumor_sample set to one of "
        "the IDs in samples.tsv",
        got=shown,
    )


def _seg_chromosome(chromosome: str) -> str:
    key = chromosome_key(chromosome)
    return SEG_NUMBERED_CHROMOSOMES.get(key, key)


def _position(cells: list[str], index: int, column: str, line: int, context: Context) -> int:
    """A 1-based position; R writes 1e+05 for 100000, so integral floats are accepted."""
    text = cell_text(cells, index)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value != int(value) or value < 0:
        raise InputError(
            "not a genomic position",
            file=context.file,
            line=line,
            field=column,
            expected="a whole number",
            got=text,
        )
    return int(value)
