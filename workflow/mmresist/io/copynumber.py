"""Gene-level copy-number calls for panel genes from CNVkit, PURPLE, SEG, segment or gene
tables."""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mmresist.errors import InputError
from mmresist.model import CopyNumberCall, VariantCall

FORMATS = (
    "cnvkit",
    "purple",
    "gene_tsv",
    "seg",
    "seg_log10",
    "purple_segments",
    "allele_segments",
)
# SEG segment means are log ratios; the format name says the base, never the values.
SEG_LOG_BASES = {"seg": 2, "seg_log10": 10}
# Segment tables of absolute copy number: the format name says which columns hold it.
SEGMENT_FORMATS = frozenset({"purple_segments", "allele_segments"})

# One call per gene: when a gene's segments disagree, the most consequential one wins.
# Losing every copy is the strongest evidence (e.g. biallelic CRBN or TNFRSF17 loss),
# then high-level amplification, then single-copy changes; neutral only when nothing else.
SEVERITY = {"homozygous_deletion": 4, "amplification": 3, "loss": 2, "gain": 1, "neutral": 0}

# `cnvkit call -m threshold` defaults: log2 at or below each value gives 0, 1, 2, 3 copies
# (for a diploid reference); above the last, ceil(2 * 2**log2) copies.
CNVKIT_THRESHOLDS = (-1.1, -0.25, 0.2, 0.7)
# Names CNVkit writes for bins and segments outside any target gene.
CNVKIT_NON_GENES = frozenset({"", "-", ".", "background", "antitarget"})

# Amplification from this multiple of the sample's ploidy on (5 copies when diploid).
AMPLIFICATION_FACTOR = 2.5

SEX_CHROMOSOMES = frozenset({"x", "y"})
MISSING_CELLS = frozenset({"", "na", "nan", "n/a", "none", "null"})

# Words of a gene_tsv `call` column (lower case, '_' for spaces and '-'). A bare
# "deletion" is read as a single-copy loss: a homozygous deletion must say so.
CALL_WORDS = {
    "homozygous_deletion": "homozygous_deletion",
    "homdel": "homozygous_deletion",
    "hom_del": "homozygous_deletion",
    "deep_deletion": "homozygous_deletion",
    "deep_del": "homozygous_deletion",
    "biallelic_deletion": "homozygous_deletion",
    "biallelic_loss": "homozygous_deletion",
    "-2": "homozygous_deletion",
    "loss": "loss",
    "deletion": "loss",
    "del": "loss",
    "heterozygous_deletion": "loss",
    "het_del": "loss",
    "hetdel": "loss",
    "hetloss": "loss",
    "shallow_deletion": "loss",
    "single_copy_loss": "loss",
    "-1": "loss",
    "neutral": "neutral",
    "normal": "neutral",
    "diploid": "neutral",
    "no_change": "neutral",
    "none": "neutral",
    "0": "neutral",
    "gain": "gain",
    "copy_gain": "gain",
    "low_gain": "gain",
    "dup": "gain",
    "duplication": "gain",
    "1": "gain",
    "amplification": "amplification",
    "amp": "amplification",
    "amplified": "amplification",
    "high_level_amplification": "amplification",
    "2": "amplification",
}

GENE_TSV_COLUMNS = {
    "gene": ("gene", "gene_symbol", "symbol", "hugo_symbol"),
    "copy_number": ("copy_number", "copynumber", "cn"),
    "log2": ("log2", "log2_ratio", "log2ratio"),
    "call": ("call",),
    "chromosome": ("chromosome", "chrom", "chr"),
}


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


@dataclass
class _Candidate:
    """One segment, bin group or row saying something about one panel gene."""

    call: str
    copy_number: float | None
    log2: float | None
    source: str

    def rank(self) -> tuple[int, float]:
        # Within one call, the most extreme value wins (lowest copies for losses).
        value = self.copy_number if self.copy_number is not None else 0.0
        if self.call in ("homozygous_deletion", "loss"):
            return SEVERITY[self.call], -value
        if self.call in ("gain", "amplification"):
            return SEVERITY[self.call], value
        return SEVERITY[self.call], 0.0


def read_copy_number(
    *,
    path: str | Path,
    fmt: str | None,
    sample_id: str,
    panel_genes: Iterable[str],
    aliases: Mapping[str, str] | None = None,
    purity: float | None = None,
    ploidy: float | None = None,
    sex: str | None = None,
    gene_regions: Mapping[str, tuple[str, int, int]] | None = None,
    tumor_sample: str | None = None,
    genome_build: str | None = None,
    warnings: list[str] | None = None,
) -> list[CopyNumberCall]:
    """Read one sample's copy-number file; one call per panel gene, sorted by gene.

    ``fmt`` is ``cnvkit`` (.cnr bins, .cns segments, .call.cns, segmetrics), ``purple``
    (PURPLE gene copy-number table, either column generation) or ``gene_tsv`` (gene with
    copy_number, log2 and/or call). File gene names are matched to ``panel_genes``
    directly, case-insensitively, or through ``aliases`` (alias -> symbol); other genes
    are not returned. A gene with several segments or rows gets the most severe call
    (homozygous_deletion > amplification > loss > gain > neutral; within a call the most
    extreme copy number); a gene the file says nothing about gets no call at all.

    Copy number to call, with P = round(``ploidy``, default 2) and E the expected copies
    (P; P/2 on chrX/chrY when ``sex`` is male): 0 copies homozygous_deletion, fewer than
    E loss, E neutral, from 2.5 x P (5 when diploid) amplification, otherwise gain.
    Without ``sex`` every chromosome is expected at P, so a male's chrX reads as loss;
    with ``sex`` female, chrY rows are ignored.

    - cnvkit: the ``cn`` column when present (CNVkit already applied purity); otherwise
      copies from log2 as ``cnvkit call -m threshold`` does (log2 <= -1.1, -0.25, 0.2,
      0.7 gives 0, 1, 2, 3 copies, above that ceil(2 * 2^log2)), after the purity
      rescaling of ``cnvkit call --purity``: n = (2 * 2^log2 - E * (1 - purity)) / purity,
      log2' = log2(n / 2). Bin files (.cnr, no ``probes`` column) are summarised per gene
      by the weight-weighted mean of log2 (and of cn), as ``cnvkit genemetrics`` does.
      log2 is relative to a diploid reference, so ``ploidy`` does not rescale it; chrX in
      a file made against a male reference (``-y``) needs the ``cn`` column.
    - purple: ``minCopyNumber`` (already purity- and ploidy-fitted by PURPLE) rounded to
      the nearest integer, so the whole gene must be lost for a loss; ``purity`` is not
      applied again. Where an ``isCanonical`` column exists only canonical rows count.
    - gene_tsv: a ``call`` word wins; else ``copy_number`` (taken as the tumour's absolute,
      purity-adjusted copy number) is rounded; else ``log2`` is read as in cnvkit.
    - seg / seg_log10: a segmented file (DNAcopy, CNVkit ``export seg``, IGV, GISTIC,
      PSCBS): sample ID, chromosome, start, end, optional marker count and segment mean,
      header names matched case-insensitively, quoted or not. ``seg`` reads the mean as a
      log2 ratio, ``seg_log10`` as a log10 ratio (converted to log2); the values are never
      used to guess the base, and a value column whose name says the other base (e.g.
      ``log10``) is refused. Copies then as for cnvkit segments (thresholds and purity).
      Segments are mapped to panel genes through ``gene_regions`` (symbol -> (chromosome
      without 'chr', start, end), 1-based inclusive, of the configured ``genome_build``;
      symbols resolved like file gene names): a gene gets a candidate from every segment
      overlapping it (start <= gene end and end >= gene start; chr prefix optional, DNAcopy
      chromosome 23/24 read as X/Y). Without ``gene_regions`` a SEG is refused. Rows are
      those whose ID equals ``sample_id``, else ``tumor_sample``, else the file's only ID;
      several IDs and none matching is an error listing them. R messages before the header
      (``WARNING: ...``, as Rscript writes when its output is redirected) are skipped and
      reported in ``warnings`` (a list the caller passes in and shows in the QC).
    - purple_segments: PURPLE's somatic segments (``*.purple.cnv.somatic.tsv``: chromosome,
      start, end, copyNumber, ..., minorAlleleCopyNumber, majorAlleleCopyNumber). copies =
      copyNumber rounded half up (at least 0); PURPLE has already fitted purity and ploidy,
      so ``purity`` is not applied again. ``purple.segment.tsv`` (the unfitted
      segmentation, no copyNumber column) is refused.
    - allele_segments: allele-specific absolute segments as PCGR's ``*.cna.tsv`` and ASCAT
      write them (Chromosome, Start, End, nMajor, nMinor; an optional sample column chosen
      as for SEG). copies = nMajor + nMinor rounded half up; ``purity`` is not applied
      (the caller already did); a negative allele count is an error.
      Both segment formats need a header naming their columns (matched as for SEG; the
      values never pick the format), map segments to genes through ``gene_regions`` exactly
      as SEG does (and are refused without them), and call the copies with the sample's
      ploidy and sex like the other absolute formats; the call keeps the raw copy number
      (PURPLE's float, or the integer sum). A segment whose minor allele rounds to 0 copies
      while copies remain is loss of heterozygosity, noted in the call's ``source`` ("LOH,
      minor allele copy number 0.02"); CopyNumberCall has no field for it. Coordinates
      must be of the configured build: PCGR ships GRCh37 and GRCh38 tables, and only
      GRCh38 coordinates are in the knowledge base, so a GRCh37 table is refused for lack
      of coordinates (with a GRCh38 build configured it would be mapped wrongly: the
      file's build cannot be checked).

    Raises ``InputError`` (file, line, column) for a missing file or column, a
    non-numeric value, an unknown call word or an unknown ``fmt``.
    """
    file = str(path)
    if fmt not in FORMATS:
        raise InputError(
            "unknown copy-number format",
            file=file,
            field="cnv_format",
            expected=", ".join(FORMATS),
            got=str(fmt),
        )
    if purity is not None and not 0 < purity <= 1:
        raise InputError(
            "purity out of range",
            file=file,
            field="purity",
            expected="0 < purity <= 1",
            got=str(purity),
        )
    if ploidy is not None and not 0 < ploidy <= 10:
        raise InputError(
            "ploidy out of range",
            file=file,
            field="ploidy",
            expected="0 < ploidy <= 10",
            got=str(ploidy),
        )
    log_base = SEG_LOG_BASES.get(fmt)
    if (log_base is not None or fmt in SEGMENT_FORMATS) and not gene_regions:
        build = f" ({genome_build})" if genome_build else ""
        kind = "a SEG file" if log_base is not None else f"a segment table (cnv_format {fmt})"
        raise InputError(
            f"{kind} needs gene coordinates for the configured genome build{build} to "
            "map its segments to genes, and none were given",
            file=file,
            field="cnv_format",
            expected="gene coordinates of the panel for that build (resources/knowledge/"
            "gene_coordinates.tsv), or a gene-level cnv_format (cnvkit, purple, gene_tsv)",
            got=fmt,
        )
    sex_key = _sex(sex, file)
    base = max(1, _round_half_up(ploidy if ploidy is not None else 2.0))
    context = _Context(
        file=file,
        name=Path(file).name,
        fmt=fmt,
        resolve=_gene_resolver(panel_genes, aliases or {}),
        purity=purity if purity is not None and purity < 1 else None,
        base=base,
        male=sex_key == "male",
        female=sex_key == "female",
    )
    # Only generic gene tables and SEG files may be R-quoted; CNVkit and PURPLE never quote,
    # so a stray quote there must not merge lines.
    seg = log_base is not None
    # R messages before a SEG header are skipped, and listed when the caller collects them.
    r_messages = (warnings if warnings is not None else []) if seg else None
    header, rows = _read_tsv(
        file,
        quoted=fmt in ("gene_tsv", "allele_segments") or seg,
        r_messages=r_messages,
    )
    if fmt in SEGMENT_FORMATS:
        candidates = _read_segments(
            header,
            rows,
            context,
            gene_regions=gene_regions or {},
            sample_ids=(sample_id, tumor_sample),
        )
    elif seg:
        candidates = _read_seg(
            header,
            rows,
            context,
            log_base=log_base,
            gene_regions=gene_regions or {},
            sample_ids=(sample_id, tumor_sample),
        )
    else:
        readers = {"cnvkit": _read_cnvkit, "purple": _read_purple, "gene_tsv": _read_gene_tsv}
        candidates = readers[fmt](header, rows, context)
    calls = []
    for gene in sorted(candidates):
        best = max(candidates[gene], key=_Candidate.rank)
        calls.append(
            CopyNumberCall(
                sample_id=sample_id,
                gene=gene,
                call=best.call,
                copy_number=best.copy_number,
                log2=best.log2,
                source=best.source,
            )
        )
    return calls


def call_from_copies(copies: int, *, expected: int = 2, base: int = 2) -> str:
    """The call for an integer copy number given the expected copies and sample ploidy."""
    if copies <= 0:
        return "homozygous_deletion"
    if copies < expected:
        return "loss"
    if copies == expected:
        return "neutral"
    if copies >= math.ceil(AMPLIFICATION_FACTOR * base):
        return "amplification"
    return "gain"


def cnvkit_copies(log2: float, *, purity: float | None = None, expected: int = 2) -> int:
    """Integer copies from a CNVkit log2 ratio, as ``cnvkit call -m threshold [--purity]``.

    Purity rescaling (CNVkit ``call._log2_ratio_to_absolute``) for a diploid reference:
    n = (2 * 2^log2 - expected * (1 - purity)) / purity; the thresholds then apply to
    log2(n / 2). A non-positive n means no copies left in the tumour cells.
    """
    if purity is not None and purity < 1:
        absolute = (2 * 2**log2 - expected * (1 - purity)) / purity
        if absolute <= 0:
            return 0
        log2 = math.log2(absolute / 2)
    for copies, threshold in enumerate(CNVKIT_THRESHOLDS):
        if log2 <= threshold:
            return copies
    return math.ceil(2 * 2**log2)


@dataclass
class _Context:
    file: str
    name: str
    fmt: str
    resolve: Callable[[str], str | None]
    purity: float | None
    base: int
    male: bool
    female: bool

    def ignored(self, chromosome: str | None) -> bool:
        """A female sample has no chrY: whatever a file says there is not a call."""
        return self.female and _chromosome_key(chromosome) == "y"

    def expected(self, chromosome: str | None) -> int:
        if self.male and _chromosome_key(chromosome) in SEX_CHROMOSOMES:
            return max(1, self.base // 2)
        return self.base

    def source(self, where: str) -> str:
        return f"{self.fmt} {self.name} {where}"


def _read_cnvkit(
    header: list[str], rows: Iterator[tuple[int, list[str]]], context: _Context
) -> dict[str, list[_Candidate]]:
    columns = _columns(header, ("gene", "log2"), context, hint="a CNVkit .cnr/.cns file")
    chromosome = _optional(header, "chromosome")
    cn_column = _optional(header, "cn")
    weight_column = _optional(header, "weight")
    segments = "probes" in header
    candidates: dict[str, list[_Candidate]] = {}
    bins: dict[str, _BinSummary] = {}
    for number, cells in rows:
        genes = []
        for token in re.split(r"[,;]", _cell(cells, columns["gene"])):
            token = token.strip()
            if token.lower() in CNVKIT_NON_GENES:
                continue
            gene = context.resolve(token)
            if gene and gene not in genes:
                genes.append(gene)
        if not genes:
            continue
        log2 = _number(cells, columns["log2"], "log2", number, context)
        if log2 is None:
            continue  # no estimate for this bin/segment: unknown, never neutral
        cn = _number(cells, cn_column, "cn", number, context) if cn_column is not None else None
        chrom = _cell(cells, chromosome) if chromosome is not None else None
        if context.ignored(chrom):
            continue
        if segments:
            expected = context.expected(chrom)
            copies = _round_half_up(cn) if cn is not None else None
            if copies is None:
                copies = cnvkit_copies(log2, purity=context.purity, expected=expected)
            candidate = _Candidate(
                call=call_from_copies(copies, expected=expected, base=context.base),
                copy_number=float(copies),
                log2=log2,
                source=context.source(f"line {number}"),
            )
            for gene in genes:
                candidates.setdefault(gene, []).append(candidate)
            continue
        weight = (
            _number(cells, weight_column, "weight", number, context)
            if weight_column is not None
            else None
        )
        for gene in genes:
            bins.setdefault(gene, _BinSummary(chromosome=chrom)).add(
                line=number, log2=log2, cn=cn, weight=weight
            )
    for gene, summary in bins.items():
        expected = context.expected(summary.chromosome)
        log2 = summary.mean_log2()
        cn = summary.mean_cn()
        if cn is not None:
            copies = _round_half_up(cn)
        else:
            copies = cnvkit_copies(log2, purity=context.purity, expected=expected)
        lines = summary.lines
        candidates[gene] = [
            _Candidate(
                call=call_from_copies(copies, expected=expected, base=context.base),
                copy_number=float(copies),
                log2=round(log2, 6),
                source=context.source(f"lines {lines[0]}-{lines[-1]} ({len(lines)} bins)"),
            )
        ]
    return candidates


@dataclass
class _BinSummary:
    """Running sums over one gene's bins, for CNVkit's segment mean.

    As ``cnvkit.segmetrics.segment_mean``: the weight-weighted mean when the bins carry
    weights (not all zero), otherwise the plain mean; the same for ``cn`` when present.
    """

    chromosome: str | None
    lines: list[int] = field(default_factory=list)
    log2_sum: float = 0.0
    log2_weighted: float = 0.0
    weight_sum: float = 0.0
    cn_values: list[tuple[float, float]] = field(default_factory=list)

    def add(self, *, line: int, log2: float, cn: float | None, weight: float | None) -> None:
        weight = max(weight or 0.0, 0.0)
        self.lines.append(line)
        self.log2_sum += log2
        self.log2_weighted += weight * log2
        self.weight_sum += weight
        if cn is not None:
            self.cn_values.append((cn, weight))

    def mean_log2(self) -> float:
        if self.weight_sum > 0:
            return self.log2_weighted / self.weight_sum
        return self.log2_sum / len(self.lines)

    def mean_cn(self) -> float | None:
        if not self.cn_values:
            return None
        weights = sum(weight for _, weight in self.cn_values)
        if weights > 0:
            return sum(cn * weight for cn, weight in self.cn_values) / weights
        return sum(cn for cn, _ in self.cn_values) / len(self.cn_values)


def _read_purple(
    header: list[str], rows: Iterator[tuple[int, list[str]]], context: _Context
) -> dict[str, list[_Candidate]]:
    # Both column generations (minMinorAllelePloidy up to v2.39, minMinorAlleleCopyNumber
    # later; v3+ adds isCanonical) share these two columns.
    columns = _columns(
        header, ("gene", "mincopynumber"), context, hint="a PURPLE *.purple.cnv.gene.tsv table"
    )
    chromosome = _optional(header, "chromosome")
    canonical = _optional(header, "iscanonical")
    candidates: dict[str, list[_Candidate]] = {}
    for number, cells in rows:
        gene = context.resolve(_cell(cells, columns["gene"]))
        if gene is None:
            continue
        if canonical is not None and _cell(cells, canonical).lower() in ("false", "0", "no"):
            continue
        copy_number = _number(cells, columns["mincopynumber"], "minCopyNumber", number, context)
        if copy_number is None:
            continue
        chrom = _cell(cells, chromosome) if chromosome is not None else None
        if context.ignored(chrom):
            continue
        copies = max(0, _round_half_up(copy_number))
        candidates.setdefault(gene, []).append(
            _Candidate(
                call=call_from_copies(copies, expected=context.expected(chrom), base=context.base),
                copy_number=copy_number,
                log2=None,
                source=context.source(f"line {number}"),
            )
        )
    return candidates


def _read_gene_tsv(
    header: list[str], rows: Iterator[tuple[int, list[str]]], context: _Context
) -> dict[str, list[_Candidate]]:
    found = {
        name: next((header.index(alias) for alias in aliases if alias in header), None)
        for name, aliases in GENE_TSV_COLUMNS.items()
    }
    if found["gene"] is None:
        raise _missing_column(
            "gene", header, context, hint="a gene table (gene, copy_number or log2, call)"
        )
    if found["copy_number"] is None and found["log2"] is None and found["call"] is None:
        raise _missing_column(
            "copy_number", header, context, hint="a column copy_number, log2 or call"
        )
    candidates: dict[str, list[_Candidate]] = {}
    for number, cells in rows:
        gene = context.resolve(_cell(cells, found["gene"]))
        if gene is None:
            continue
        chrom = _cell(cells, found["chromosome"]) if found["chromosome"] is not None else None
        if context.ignored(chrom):
            continue
        expected = context.expected(chrom)
        copy_number = log2 = None
        if found["copy_number"] is not None:
            copy_number = _number(cells, found["copy_number"], "copy_number", number, context)
        if found["log2"] is not None:
            log2 = _number(cells, found["log2"], "log2", number, context)
        word = _cell(cells, found["call"]) if found["call"] is not None else ""
        # "none" in a call column means "no change", unlike an empty or NA cell.
        if word.lower() not in MISSING_CELLS - {"none"}:
            key = word.lower()
            if not re.fullmatch(r"-?[0-9]", key):
                key = re.sub(r"[\s-]+", "_", key)
            if key not in CALL_WORDS:
                raise InputError(
                    "unknown copy-number call",
                    file=context.file,
                    line=number,
                    field="call",
                    expected="homozygous_deletion/homdel, loss/deletion, neutral, gain, "
                    "amplification/amp (or GISTIC -2..2)",
                    got=word,
                )
            call = CALL_WORDS[key]
        elif copy_number is not None:
            call = call_from_copies(
                max(0, _round_half_up(copy_number)), expected=expected, base=context.base
            )
        elif log2 is not None:
            copies = cnvkit_copies(log2, purity=context.purity, expected=expected)
            call = call_from_copies(copies, expected=expected, base=context.base)
        else:
            continue  # nothing said about this gene on this row
        candidates.setdefault(gene, []).append(
            _Candidate(
                call=call,
                copy_number=copy_number,
                log2=log2,
                source=context.source(f"line {number}"),
            )
        )
    return candidates


def _read_seg(
    header: list[str],
    rows: Iterator[tuple[int, list[str]]],
    context: _Context,
    *,
    log_base: int,
    gene_regions: Mapping[str, tuple[str, int, int]],
    sample_ids: tuple[str, str | None],
) -> dict[str, list[_Candidate]]:
    keys = [re.sub(r"[^a-z0-9]", "", name) for name in header]
    found: dict[str, int] = {}
    for name, spellings in SEG_COLUMNS.items():
        index = next((keys.index(key) for key in spellings if key in keys), None)
        if index is None:
            raise _missing_column(SEG_SHOWN[name], header, context, hint=SEG_HINT)
        found[name] = index
    value_name = header[found["value"]]
    said = 10 if "log10" in keys[found["value"]] else 2 if "log2" in keys[found["value"]] else None
    if said is not None and said != log_base:
        raise InputError(
            f"the segment value column '{value_name}' says log{said} but cnv_format "
            f"{context.fmt} reads log{log_base}",
            file=context.file,
            line=1,
            field=value_name,
            expected="cnv_format seg for log2 ratios, seg_log10 for log10 ratios",
            got=context.fmt,
        )

    by_sample: dict[str, list[tuple[int, list[str]]]] = {}
    for number, cells in rows:
        by_sample.setdefault(_cell(cells, found["sample"]), []).append((number, cells))
    chosen = _seg_sample(by_sample, sample_ids, header[found["sample"]], context)
    if chosen is None:
        return {}

    regions = _regions_by_chromosome(gene_regions, context)
    candidates: dict[str, list[_Candidate]] = {}
    for number, cells in by_sample[chosen]:
        chrom = _seg_chromosome(_cell(cells, found["chromosome"]))
        genes = regions.get(chrom)
        if not genes or context.ignored(chrom):
            continue
        start, end = _segment_bounds(cells, found, header, number, context)
        value = _number(cells, found["value"], value_name, number, context, log_ratio=True)
        if value is None:
            continue  # no estimate for this segment: unknown, never neutral
        log2 = value / math.log10(2) if log_base == 10 else value
        expected = context.expected(chrom)
        copies = cnvkit_copies(log2, purity=context.purity, expected=expected)
        candidate = _Candidate(
            call=call_from_copies(copies, expected=expected, base=context.base),
            copy_number=float(copies),
            log2=round(log2, 6) if math.isfinite(log2) else log2,
            source=context.source(f"line {number} ({chosen})"),
        )
        for gene in _overlapping(genes, start, end):
            candidates.setdefault(gene, []).append(candidate)
    return candidates


def _regions_by_chromosome(
    gene_regions: Mapping[str, tuple[str, int, int]], context: _Context
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
    cells: list[str], found: Mapping[str, int], header: list[str], line: int, context: _Context
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
            got=_cell(cells, found["end"]),
        )
    return start, end


def _read_segments(
    header: list[str],
    rows: Iterator[tuple[int, list[str]]],
    context: _Context,
    *,
    gene_regions: Mapping[str, tuple[str, int, int]],
    sample_ids: tuple[str, str | None],
) -> dict[str, list[_Candidate]]:
    """purple_segments / allele_segments: absolute copies per segment, mapped to genes."""
    purple = context.fmt == "purple_segments"
    keys = [re.sub(r"[^a-z0-9]", "", name) for name in header]
    spellings = {name: SEG_COLUMNS[name] for name in ("chromosome", "start", "end")}
    spellings.update(PURPLE_SEGMENT_COLUMNS if purple else ALLELE_SEGMENT_COLUMNS)
    found: dict[str, int] = {}
    for name, names in spellings.items():
        index = next((keys.index(key) for key in names if key in keys), None)
        if index is not None:
            found[name] = index
        elif name != "minor" or not purple:  # PURPLE's minor allele column is optional
            raise _missing_column(
                SEGMENT_SHOWN[name], header, context, hint=SEGMENT_HINTS[context.fmt]
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
            by_sample.setdefault(_cell(cells, sample), []).append((number, cells))
        chosen = _seg_sample(by_sample, sample_ids, header[sample], context, kind="segment table")
        if chosen is None:
            return {}
        selected, where = by_sample[chosen], f" ({chosen})"

    regions = _regions_by_chromosome(gene_regions, context)
    candidates: dict[str, list[_Candidate]] = {}
    for number, cells in selected:
        chrom = _seg_chromosome(_cell(cells, found["chromosome"]))
        genes = regions.get(chrom)
        if not genes or context.ignored(chrom):
            continue
        start, end = _segment_bounds(cells, found, header, number, context)
        overlapped = _overlapping(genes, start, end)
        if not overlapped:
            continue
        minor_name = "minorAlleleCopyNumber" if purple else "nMinor"
        minor = _number(cells, found.get("minor"), minor_name, number, context)
        if purple:
            copy_number = _number(cells, found["copy_number"], "copyNumber", number, context)
            if copy_number is None:
                continue  # no estimate for this segment: unknown, never neutral
            copies = max(0, _round_half_up(copy_number))
        else:
            major = _number(cells, found["major"], "nMajor", number, context)
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
                        got=_cell(cells, found["major" if column == "nMajor" else "minor"]),
                    )
            copies = _round_half_up(major + minor)
            copy_number = float(copies)
        note = ""
        if minor is not None and copies > 0 and _round_half_up(minor) <= 0:
            note = f", LOH, minor allele copy number {_cell(cells, found['minor'])}"
        expected = context.expected(chrom)
        candidate = _Candidate(
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
    context: _Context,
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
    key = _chromosome_key(chromosome)
    return SEG_NUMBERED_CHROMOSOMES.get(key, key)


def _position(cells: list[str], index: int, column: str, line: int, context: _Context) -> int:
    """A 1-based position; R writes 1e+05 for 100000, so integral floats are accepted."""
    text = _cell(cells, index)
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


def _gene_resolver(
    panel_genes: Iterable[str], aliases: Mapping[str, str]
) -> Callable[[str], str | None]:
    """Map a file's gene name to a panel symbol: exact, then case-insensitive, then alias."""
    panel = set(panel_genes)
    upper = {gene.upper(): gene for gene in panel}
    alias_upper = {alias.upper(): symbol for alias, symbol in aliases.items() if symbol in panel}

    def resolve(name: str) -> str | None:
        name = name.strip()
        if name in panel:
            return name
        key = name.upper()
        return upper.get(key) or alias_upper.get(key)

    return resolve


def _read_tsv(
    file: str, *, quoted: bool, r_messages: list[str] | None = None
) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Lower-cased header and an iterator of (line number, cells); gzip read transparently.

    With ``r_messages`` (a list, possibly shared with the caller), lines before the header
    that are an R session's warnings are skipped, each noted in that list.
    """
    source = Path(file)
    if not source.is_file():
        raise InputError("file does not exist", file=file, field="cnv")
    with open(source, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    try:
        raw = gzip.open(source, "rb") if gzipped else open(source, "rb")
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(
            text, delimiter="\t", quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
        )
        first = next(reader, None)
        while (
            r_messages is not None
            and first is not None
            and len(first) == 1
            and R_MESSAGE.match(first[0])
        ):
            r_messages.append(
                f"{file}: line {reader.line_num}: skipped an R message written before the "
                f"header: {first[0].strip()[:120]!r}"
            )
            first = next(reader, None)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(
            f"cannot read the file ({error})", file=file, expected="a tab-separated text table"
        ) from None
    header_line = reader.line_num or 1
    if first is None or not "".join(first).strip():
        text.close()
        raise InputError(
            "empty file", file=file, line=header_line, expected="a tab-separated header row"
        )
    header = [cell.strip().lower() for cell in first]
    if len(header) == 1:
        text.close()
        raise InputError(
            "header is not tab-separated",
            file=file,
            line=header_line,
            expected="tab-separated column names",
            got=first[0][:80],
        )

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            with text:
                for cells in reader:
                    if not cells or not "".join(cells).strip() or cells[0].startswith("#"):
                        continue
                    yield reader.line_num, cells
        except EOFError:
            raise InputError(
                "the gzip-compressed file is cut short (an incomplete copy or download?)",
                file=file,
                line=reader.line_num,
                expected="a complete gzip file",
            ) from None
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise InputError(
                f"cannot read the file ({error})", file=file, line=reader.line_num
            ) from None

    return header, rows()


def _columns(
    header: list[str], required: tuple[str, ...], context: _Context, *, hint: str
) -> dict[str, int]:
    for column in required:
        if column not in header:
            raise _missing_column(column, header, context, hint=hint)
    return {column: header.index(column) for column in required}


def _missing_column(column: str, header: list[str], context: _Context, *, hint: str) -> InputError:
    shown = {"mincopynumber": "minCopyNumber"}.get(column, column)
    return InputError(
        f"missing column '{shown}' for cnv_format {context.fmt}",
        file=context.file,
        line=1,
        field=shown,
        expected=hint,
        got="\t".join(header)[:200],
    )


def _optional(header: list[str], column: str) -> int | None:
    return header.index(column) if column in header else None


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def _number(
    cells: list[str],
    index: int | None,
    column: str,
    line: int,
    context: _Context,
    *,
    log_ratio: bool = False,
) -> float | None:
    """A numeric cell; None when empty/NA/NaN (unknown); InputError when not a number."""
    text = _cell(cells, index)
    if text.lower() in MISSING_CELLS:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            "not a number",
            file=context.file,
            line=line,
            field=column,
            expected="a number",
            got=text,
        ) from None
    if math.isnan(value):
        return None
    if math.isinf(value) and not ((log_ratio or column == "log2") and value < 0):
        # log2 -inf is a legitimate zero-depth segment; +inf or inf copies is not.
        raise InputError(
            "not a finite number", file=context.file, line=line, field=column, got=text
        )
    return value


def _round_half_up(value: float) -> int:
    # Python's round() rounds 2.5 to 2; copy numbers round half up (1.5 -> 2).
    return math.floor(value + 0.5)


def _chromosome_key(chromosome: str | None) -> str:
    if not chromosome:
        return ""
    name = chromosome.strip().lower()
    return name[3:] if name.startswith("chr") else name


def _sex(sex: str | None, file: str) -> str | None:
    if sex is None or not str(sex).strip():
        return None
    key = str(sex).strip().lower()
    mapped = {"male": "male", "m": "male", "female": "female", "f": "female"}.get(key)
    if mapped is None:
        raise InputError(
            "unknown sex", file=file, field="sex", expected="male or female", got=str(sex)
        )
    return mapped


def is_symbolic_deletion(alt: str) -> bool:
    """``<DEL>`` and its subtypes (``<DEL:ME:ALU>``): a structural deletion allele."""
    return alt.upper().startswith("<DEL")


def deletions_as_copy_number(calls: Iterable[VariantCall]) -> list[CopyNumberCall]:
    """Gene-level ``loss`` calls for kept symbolic deletions in an SV VCF.

    A ``<DEL>`` annotated to a panel gene removes at least one copy of it, so it is seen by
    the copy-loss and biallelic-loss matchers as well as by the loss-of-function ones.
    Whether both copies are gone is not known from the allele alone, so the call is
    ``loss``, never ``homozygous_deletion``. One call per sample and gene.
    """
    result: dict[tuple[str, str], CopyNumberCall] = {}
    for call in calls:
        if call.filter_reasons or not is_symbolic_deletion(call.alt):
            continue
        key = (call.sample_id, call.gene)
        if key not in result:
            result[key] = CopyNumberCall(
                sample_id=call.sample_id,
                gene=call.gene,
                call="loss",
                source=f"structural deletion {call.alt} at {call.chrom}:{call.pos}",
            )
    return [result[key] for key in sorted(result)]


def merge_copy_number(
    file_calls: Iterable[CopyNumberCall], extra_calls: Iterable[CopyNumberCall]
) -> list[CopyNumberCall]:
    """One call per gene: the copy-number file's, unless an extra call is more severe."""
    merged = {call.gene: call for call in file_calls}
    for call in extra_calls:
        current = merged.get(call.gene)
        if current is None or SEVERITY[call.call] > SEVERITY[current.call]:
            merged[call.gene] = call
    return [merged[gene] for gene in sorted(merged)]
