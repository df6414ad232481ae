"""Gene-level copy-number calls for panel genes: the gene-level formats (CNVkit, PURPLE,
gene tables), the dispatch to the segment formats, and structural deletions as losses.

How calls are made, format by format, is explained in docs/copy-number.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mmresist.errors import InputError
from mmresist.io.copy_calls import (
    MISSING_NUMBERS,
    SEVERITY,
    Candidate,
    Context,
    call_from_copies,
    cell_text,
    cnvkit_copies,
    gene_resolver,
    missing_column,
    normalise_sex,
    numeric_cell,
    round_half_up,
)
from mmresist.io.segments import R_MESSAGE, SEG_LOG_BASES, SEGMENT_FORMATS, read_seg, read_segments
from mmresist.io.tabular import Table, read_tsv
from mmresist.model import CopyNumberCall, VariantCall

# Re-exported: callers and tests take the calling rules from here.
__all__ = [
    "FORMATS",
    "SEVERITY",
    "call_from_copies",
    "cnvkit_copies",
    "deletions_as_copy_number",
    "is_symbolic_deletion",
    "merge_copy_number",
    "read_copy_number",
]

FORMATS = (
    "cnvkit",
    "purple",
    "gene_tsv",
    "seg",
    "seg_log10",
    "purple_segments",
    "allele_segments",
)

# Names CNVkit writes for bins and segments outside any target gene.
CNVKIT_NON_GENES = frozenset({"", "-", ".", "background", "antitarget"})

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

    ``fmt`` is one of ``FORMATS``. File gene names are matched to ``panel_genes`` directly,
    case-insensitively or through ``aliases`` (alias -> symbol); segment formats are mapped
    to genes through ``gene_regions`` (symbol -> (chromosome, start, end), 1-based, of
    ``genome_build``) and refused without them. A gene with several segments or rows gets
    the most severe call (``SEVERITY``); a gene the file says nothing about gets no call.
    ``purity``, ``ploidy`` and ``sex`` set the expected copies; R messages skipped before a
    SEG header are noted in ``warnings``. docs/copy-number.md explains each format.

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
    sex_key = normalise_sex(sex, file)
    base = max(1, round_half_up(ploidy if ploidy is not None else 2.0))
    context = Context(
        file=file,
        name=Path(file).name,
        fmt=fmt,
        resolve=gene_resolver(panel_genes, aliases or {}),
        purity=purity if purity is not None and purity < 1 else None,
        base=base,
        male=sex_key == "male",
        female=sex_key == "female",
    )
    seg = log_base is not None
    # Only generic gene tables and SEG files may be R-quoted; CNVkit and PURPLE never quote,
    # so a stray quote there must not merge cells. R messages before a SEG header are
    # skipped, and listed when the caller collects them.
    table = read_tsv(
        file,
        compressed=True,
        quoted=fmt in ("gene_tsv", "allele_segments") or seg,
        preamble=R_MESSAGE if seg else None,
        notes=warnings,
        extra_cells=True,
        file_field="cnv",
    )
    sample_ids = (sample_id, tumor_sample)
    if fmt in SEGMENT_FORMATS:
        candidates = read_segments(
            table, context, gene_regions=gene_regions or {}, sample_ids=sample_ids
        )
    elif log_base is not None:
        candidates = read_seg(
            table,
            context,
            log_base=log_base,
            gene_regions=gene_regions or {},
            sample_ids=sample_ids,
        )
    else:
        readers = {"cnvkit": _read_cnvkit, "purple": _read_purple, "gene_tsv": _read_gene_tsv}
        candidates = readers[fmt](table, context)
    calls = []
    for gene in sorted(candidates):
        best = max(candidates[gene], key=Candidate.rank)
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


def _read_cnvkit(table: Table, context: Context) -> dict[str, list[Candidate]]:
    header, rows = table.header, table.rows
    columns = _columns(table, ("gene", "log2"), context, hint="a CNVkit .cnr/.cns file")
    chromosome = table.column("chromosome")
    cn_column = table.column("cn")
    weight_column = table.column("weight")
    segments = "probes" in header
    candidates: dict[str, list[Candidate]] = {}
    bins: dict[str, _BinSummary] = {}
    for number, cells in rows:
        genes = []
        for token in re.split(r"[,;]", cell_text(cells, columns["gene"])):
            token = token.strip()
            if token.lower() in CNVKIT_NON_GENES:
                continue
            gene = context.resolve(token)
            if gene and gene not in genes:
                genes.append(gene)
        if not genes:
            continue
        log2 = numeric_cell(cells, columns["log2"], "log2", number, context)
        if log2 is None:
            continue  # no estimate for this bin/segment: unknown, never neutral
        cn = (
            numeric_cell(cells, cn_column, "cn", number, context) if cn_column is not None else None
        )
        chrom = cell_text(cells, chromosome) if chromosome is not None else None
        if context.ignored(chrom):
            continue
        if segments:
            expected = context.expected(chrom)
            copies = round_half_up(cn) if cn is not None else None
            if copies is None:
                copies = cnvkit_copies(log2, purity=context.purity, expected=expected)
            candidate = Candidate(
                call=call_from_copies(copies, expected=expected, base=context.base),
                copy_number=float(copies),
                log2=log2,
                source=context.source(f"line {number}"),
            )
            for gene in genes:
                candidates.setdefault(gene, []).append(candidate)
            continue
        weight = (
            numeric_cell(cells, weight_column, "weight", number, context)
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
            copies = round_half_up(cn)
        else:
            copies = cnvkit_copies(log2, purity=context.purity, expected=expected)
        lines = summary.lines
        candidates[gene] = [
            Candidate(
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


def _read_purple(table: Table, context: Context) -> dict[str, list[Candidate]]:
    rows = table.rows
    # Both column generations (minMinorAllelePloidy up to v2.39, minMinorAlleleCopyNumber
    # later; v3+ adds isCanonical) share these two columns.
    columns = _columns(
        table, ("gene", "mincopynumber"), context, hint="a PURPLE *.purple.cnv.gene.tsv table"
    )
    chromosome = table.column("chromosome")
    canonical = table.column("iscanonical")
    candidates: dict[str, list[Candidate]] = {}
    for number, cells in rows:
        gene = context.resolve(cell_text(cells, columns["gene"]))
        if gene is None:
            continue
        if canonical is not None and cell_text(cells, canonical).lower() in ("false", "0", "no"):
            continue
        copy_number = numeric_cell(
            cells, columns["mincopynumber"], "minCopyNumber", number, context
        )
        if copy_number is None:
            continue
        chrom = cell_text(cells, chromosome) if chromosome is not None else None
        if context.ignored(chrom):
            continue
        copies = max(0, round_half_up(copy_number))
        candidates.setdefault(gene, []).append(
            Candidate(
                call=call_from_copies(copies, expected=context.expected(chrom), base=context.base),
                copy_number=copy_number,
                log2=None,
                source=context.source(f"line {number}"),
            )
        )
    return candidates


def _read_gene_tsv(table: Table, context: Context) -> dict[str, list[Candidate]]:
    header, rows = table.header, table.rows
    found = {
        name: next((header.index(alias) for alias in aliases if alias in header), None)
        for name, aliases in GENE_TSV_COLUMNS.items()
    }
    if found["gene"] is None:
        raise missing_column(
            "gene", table, context, hint="a gene table (gene, copy_number or log2, call)"
        )
    if found["copy_number"] is None and found["log2"] is None and found["call"] is None:
        raise missing_column(
            "copy_number", table, context, hint="a column copy_number, log2 or call"
        )
    candidates: dict[str, list[Candidate]] = {}
    for number, cells in rows:
        gene = context.resolve(cell_text(cells, found["gene"]))
        if gene is None:
            continue
        chrom = cell_text(cells, found["chromosome"]) if found["chromosome"] is not None else None
        if context.ignored(chrom):
            continue
        expected = context.expected(chrom)
        copy_number = log2 = None
        if found["copy_number"] is not None:
            copy_number = numeric_cell(cells, found["copy_number"], "copy_number", number, context)
        if found["log2"] is not None:
            log2 = numeric_cell(cells, found["log2"], "log2", number, context)
        word = cell_text(cells, found["call"]) if found["call"] is not None else ""
        # "none" in a call column means "no change", unlike an empty or NA cell.
        if word.lower() not in MISSING_NUMBERS - {"none"}:
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
                max(0, round_half_up(copy_number)), expected=expected, base=context.base
            )
        elif log2 is not None:
            copies = cnvkit_copies(log2, purity=context.purity, expected=expected)
            call = call_from_copies(copies, expected=expected, base=context.base)
        else:
            continue  # nothing said about this gene on this row
        candidates.setdefault(gene, []).append(
            Candidate(
                call=call,
                copy_number=copy_number,
                log2=log2,
                source=context.source(f"line {number}"),
            )
        )
    return candidates


def _columns(
    table: Table, required: tuple[str, ...], context: Context, *, hint: str
) -> dict[str, int]:
    for column in required:
        if column not in table.header:
            raise missing_column(column, table, context, hint=hint)
    return {column: table.header.index(column) for column in required}


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
