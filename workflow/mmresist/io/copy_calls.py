"""Rules that turn copy numbers and log2 ratios into gene-level calls, shared by the
gene-level readers (copynumber.py) and the segment readers (segments.py)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from mmresist.errors import InputError
from mmresist.io.tabular import EMPTY_CELLS, Table

# One call per gene: when a gene's segments disagree, the most consequential one wins.
# Losing every copy is the strongest evidence (e.g. biallelic CRBN or TNFRSF17 loss),
# then high-level amplification, then single-copy changes; neutral only when nothing else.
SEVERITY = {"homozygous_deletion": 4, "amplification": 3, "loss": 2, "gain": 1, "neutral": 0}

# `cnvkit call -m threshold` defaults: log2 at or below each value gives 0, 1, 2, 3 copies
# (for a diploid reference); above the last, ceil(2 * 2**log2) copies.
CNVKIT_THRESHOLDS = (-1.1, -0.25, 0.2, 0.7)

# Amplification from this multiple of the sample's ploidy on (5 copies when diploid).
AMPLIFICATION_FACTOR = 2.5

SEX_CHROMOSOMES = frozenset({"x", "y"})

# A numeric cell with no estimate: the reader's empty cells plus what R and pandas write
# for a missing number.
MISSING_NUMBERS = EMPTY_CELLS | {"nan", "none", "null"}


@dataclass
class Candidate:
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
class Context:
    """What every format reader needs about the file and the sample."""

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
        return self.female and chromosome_key(chromosome) == "y"

    def expected(self, chromosome: str | None) -> int:
        if self.male and chromosome_key(chromosome) in SEX_CHROMOSOMES:
            return max(1, self.base // 2)
        return self.base

    def source(self, where: str) -> str:
        return f"{self.fmt} {self.name} {where}"


def gene_resolver(
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


def missing_column(column: str, table: Table, context: Context, *, hint: str) -> InputError:
    shown = {"mincopynumber": "minCopyNumber"}.get(column, column)
    return InputError(
        f"missing column '{shown}' for cnv_format {context.fmt}",
        file=context.file,
        line=table.header_line,
        field=shown,
        expected=hint,
        got="\t".join(table.header)[:200],
    )


def cell_text(cells: list[str], index: int | None) -> str:
    """A cell as written ("" when the row is shorter); the reader already stripped it."""
    if index is None or index >= len(cells):
        return ""
    return cells[index]


def numeric_cell(
    cells: list[str],
    index: int | None,
    column: str,
    line: int,
    context: Context,
    *,
    log_ratio: bool = False,
) -> float | None:
    """A numeric cell; None when empty/NA/NaN (unknown); InputError when not a number."""
    text = cell_text(cells, index)
    if text.lower() in MISSING_NUMBERS:
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


def round_half_up(value: float) -> int:
    # Python's round() rounds 2.5 to 2; copy numbers round half up (1.5 -> 2).
    return math.floor(value + 0.5)


def chromosome_key(chromosome: str | None) -> str:
    """A chromosome name compared without case or 'chr' prefix ("chrX" -> "x")."""
    if not chromosome:
        return ""
    name = chromosome.strip().lower()
    return name[3:] if name.startswith("chr") else name


def normalise_sex(sex: str | None, file: str) -> str | None:
    if sex is None or not str(sex).strip():
        return None
    key = str(sex).strip().lower()
    mapped = {"male": "male", "m": "male", "female": "female", "f": "female"}.get(key)
    if mapped is None:
        raise InputError(
            "unknown sex", file=file, field="sex", expected="male or female", got=str(sex)
        )
    return mapped
