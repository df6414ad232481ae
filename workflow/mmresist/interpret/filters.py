"""Variant filters from config, recording every reason a panel variant was not kept."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from mmresist.model import VariantCall
from mmresist.vocab import FILTER_REASONS, PROTEIN_EFFECT_CONSEQUENCES


@dataclass(frozen=True)
class Filters:
    """The variant filters and their defaults: the one place a default is named.

    The workflow passes only the keys a config sets (``filter_arguments``), so a key left out
    of the config takes the default given here.
    """

    pass_only: bool = True
    min_depth: int = 10
    min_alt_reads: int = 3
    min_vaf: float = 0.02
    protein_altering_only: bool = True


def filter_arguments(settings: Mapping[str, Any]) -> list[str]:
    """``mmresist patient`` options for the filter settings a config gives (others default)."""
    known = {field.name: field.type for field in fields(Filters)}
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ValueError(f"unknown filter setting(s) {unknown}; known: {sorted(known)}")
    arguments: list[str] = []
    for name, value in settings.items():
        option = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            arguments.append(option if value else "--no-" + option[2:])
        else:
            arguments.extend([option, str(value)])
    return arguments


def filter_reasons(call: VariantCall, filters: Filters) -> list[str]:
    """Return the reasons (in FILTER_REASONS order) that ``call`` fails the filters.

    An unknown depth, alt-read count or VAF is not evidence of a low one, so it never
    fails a threshold; the report shows it as unknown instead.
    """
    reasons: list[str] = []
    if filters.pass_only and call.filter not in ("PASS", "."):
        reasons.append("not_pass")
    if call.depth is not None and call.depth < filters.min_depth:
        reasons.append("low_depth")
    if call.alt_reads is not None and call.alt_reads < filters.min_alt_reads:
        reasons.append("low_alt_reads")
    if call.vaf is not None and call.vaf < filters.min_vaf:
        reasons.append("low_vaf")
    # A variant with no consequence at all is kept: unknown is not evidence of no effect.
    if (
        filters.protein_altering_only
        and call.consequence
        and not (call.consequences & PROTEIN_EFFECT_CONSEQUENCES)
    ):
        reasons.append("no_protein_effect")
    return reasons


def apply_filters(calls: Iterable[VariantCall], filters: Filters) -> Counter[str]:
    """Set ``filter_reasons`` on every call and return how often each reason occurred."""
    counts: Counter[str] = Counter({reason: 0 for reason in FILTER_REASONS})
    for call in calls:
        call.filter_reasons = filter_reasons(call, filters)
        counts.update(call.filter_reasons)
    return counts
