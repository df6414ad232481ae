"""Variant filters from config, recording every reason a panel variant was not kept."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from mmresist.model import VariantCall
from mmresist.vocab import FILTER_REASONS, PROTEIN_EFFECT_CONSEQUENCES


def filter_reasons(
    call: VariantCall,
    *,
    pass_only: bool,
    min_depth: int,
    min_alt_reads: int,
    min_vaf: float,
    protein_altering_only: bool = True,
) -> list[str]:
    """Return the reasons (in FILTER_REASONS order) that ``call`` fails the filters.

    An unknown depth, alt-read count or VAF is not evidence of a low one, so it never
    fails a threshold; the report shows it as unknown instead.
    """
    reasons: list[str] = []
    if pass_only and call.filter not in ("PASS", "."):
        reasons.append("not_pass")
    if call.depth is not None and call.depth < min_depth:
        reasons.append("low_depth")
    if call.alt_reads is not None and call.alt_reads < min_alt_reads:
        reasons.append("low_alt_reads")
    if call.vaf is not None and call.vaf < min_vaf:
        reasons.append("low_vaf")
    # A variant with no consequence at all is kept: unknown is not evidence of no effect.
    if (
        protein_altering_only
        and call.consequence
        and not (call.consequences & PROTEIN_EFFECT_CONSEQUENCES)
    ):
        reasons.append("no_protein_effect")
    return reasons


def apply_filters(
    calls: Iterable[VariantCall],
    *,
    pass_only: bool,
    min_depth: int,
    min_alt_reads: int,
    min_vaf: float,
    protein_altering_only: bool = True,
) -> Counter[str]:
    """Set ``filter_reasons`` on every call and return how often each reason occurred."""
    counts: Counter[str] = Counter({reason: 0 for reason in FILTER_REASONS})
    for call in calls:
        call.filter_reasons = filter_reasons(
            call,
            pass_only=pass_only,
            min_depth=min_depth,
            min_alt_reads=min_alt_reads,
            min_vaf=min_vaf,
            protein_altering_only=protein_altering_only,
        )
        counts.update(call.filter_reasons)
    return counts
