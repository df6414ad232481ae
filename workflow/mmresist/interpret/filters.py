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
    # A population allele frequency at or above this marks a variant likely_germline.
    max_population_af: float = 0.001
    # Further annotation subfields or INFO fields holding a population frequency.
    population_af_fields: tuple[str, ...] = ()


def filter_arguments(settings: Mapping[str, Any]) -> list[str]:
    """``mmresist patient`` options for the filter settings a config gives (others default)."""
    known = {field.name: field.type for field in fields(Filters)}
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ValueError(f"unknown filter setting(s) {unknown}; known: {sorted(known)}")
    arguments: list[str] = []
    for name, value in settings.items():
        option = "--" + name.replace("_", "-")
        if isinstance(value, (list, tuple)):
            # Field names hold no commas (VCF INFO ids, VEP subfield names).
            arguments.extend([option, ",".join(str(item) for item in value)])
        elif isinstance(value, bool):
            arguments.append(option if value else "--no-" + option[2:])
        else:
            arguments.extend([option, str(value)])
    return arguments


Polymorphisms = Mapping[tuple[str, str], Mapping[str, Any]]


def polymorphism_index(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Mapping]:
    """(gene, protein_change) -> curated polymorphism row (``Knowledge.polymorphisms``)."""
    return {(row["gene"], row["protein_change"]): row for row in rows}


def germline_basis(
    call: VariantCall, filters: Filters, polymorphisms: Polymorphisms | None = None
) -> str:
    """Why ``call`` is likely germline, or "" when nothing says so.

    The population frequency the annotation gives decides when there is one; only a call
    without one (bcftools csq, VEP without frequencies) is looked up in the curated table of
    common polymorphisms, so a known rare allele at a polymorphic codon is never overruled.
    """
    if call.population_af is not None:
        if call.population_af >= filters.max_population_af:
            return (
                f"population allele frequency {call.population_af_source or 'annotation'} "
                f"{call.population_af:g} >= {filters.max_population_af:g}"
            )
        return ""
    if polymorphisms and call.protein_change:
        row = polymorphisms.get((call.gene, call.protein_change))
        if row is not None:
            rsid = f" ({row['rsid']})" if row.get("rsid") else ""
            return f"curated common polymorphism {row['id']}{rsid}"
    return ""


def filter_reasons(
    call: VariantCall, filters: Filters, polymorphisms: Polymorphisms | None = None
) -> list[str]:
    """Return the reasons (in FILTER_REASONS order) that ``call`` fails the filters.

    An unknown depth, alt-read count or VAF is not evidence of a low one, so it never
    fails a threshold; the report shows it as unknown instead. An unknown population
    frequency is not evidence of a rare variant either: then the curated polymorphisms decide.
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
    if germline_basis(call, filters, polymorphisms):
        reasons.append("likely_germline")
    return reasons


def apply_filters(
    calls: Iterable[VariantCall],
    filters: Filters,
    polymorphisms: Polymorphisms | None = None,
) -> Counter[str]:
    """Set ``filter_reasons`` (and ``germline_basis``) on every call and return how often
    each reason occurred. ``polymorphisms``: ``polymorphism_index`` of the curated table."""
    counts: Counter[str] = Counter({reason: 0 for reason in FILTER_REASONS})
    for call in calls:
        call.filter_reasons = filter_reasons(call, filters, polymorphisms)
        call.germline_basis = germline_basis(call, filters, polymorphisms)
        counts.update(call.filter_reasons)
    return counts
