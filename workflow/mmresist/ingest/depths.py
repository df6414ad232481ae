"""VAF, depth and ALT reads of one ALT in one sample, whichever caller wrote the FORMAT fields."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# htslib's in-memory markers for a missing value and for the end of a short vector.
_INT_MISSING = -2147483648
_INT_VECTOR_END = -2147483647
# Count fields some callers declare Type=String and write as "ref,alt".
_STRING_COUNTS = frozenset({"ADT", "ADC"})

# (VAF, depth, ALT reads); each None when the file does not say.
Depths = tuple[float | None, int | None, int | None]


def _sample_values(
    variant: Any, key: str, sample_index: int, header_formats: Mapping[str, str]
) -> list[Any] | None:
    """One sample's values of FORMAT ``key``; None when absent. Missing values are None."""
    if key not in header_formats:
        return None
    array = variant.format(key)
    if array is None:
        return None
    row = array[sample_index]
    if isinstance(row, str):
        return [None if row in {"", "."} else row]
    values: list[Any] = []
    for value in row.tolist():
        if isinstance(value, float):
            values.append(None if math.isnan(value) else value)
        elif isinstance(value, int):
            if value == _INT_VECTOR_END:
                break
            values.append(None if value == _INT_MISSING or value < 0 else value)
        else:
            values.append(None if value in {"", "."} else value)
    return values


def _first(values: list[Any] | None) -> Any:
    return values[0] if values else None


def _per_allele(values: list[Any] | None, number: str | None, alt_index: int, n_alts: int) -> Any:
    """The value for one ALT of a per-ALT (Number=A) or single-valued field."""
    if not values:
        return None
    if number == "R" or (number not in {"A", "1"} and len(values) == n_alts + 1):
        # One value per allele, REF first (RADIA's AF "fraction of reads supporting
        # alleles 0/1/2...", Number=.).
        return values[alt_index + 1] if alt_index + 1 < len(values) else None
    if number == "A" or len(values) == n_alts > 1:
        return values[alt_index] if alt_index < len(values) else None
    if n_alts == 1:
        return values[0]
    return None  # one value for several ALTs: not attributable to this one


def _fraction(value: Any) -> float | None:
    """VarScan FREQ "12.5%" or a plain fraction."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100
        number = float(text)
    except ValueError:
        return None
    return number if number <= 1 else number / 100


def _ratio(numerator: int | None, denominator: int | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def allele_depths(
    variant: Any,
    sample_index: int,
    alt_index: int,
    header_formats: Mapping[str, str],
) -> Depths:
    """(VAF, depth, alt reads) of one ALT in one sample, each None when the file does not say.

    Understands FORMAT AF/FA + AD + DP (Mutect2, MuTect1, VarDict, MuSE, Pindel, generic),
    RADIA's per-allele AF (REF first), FreeBayes AO/RO, Strelka2 tier-1 {A,C,G,T}U (SNVs)
    and TAR/TIR (indels), VarScan2 FREQ/AD/RD, SomaticSniper DP4, and PCGR's DPT/ADT.
    A caller's own allele fraction wins over one computed from counts.
    """
    ref = variant.REF.upper()
    alts = variant.ALT
    n_alts = len(alts)
    alt = alts[alt_index].upper()

    def ints(key: str) -> list[Any] | None:
        values = _sample_values(variant, key, sample_index, header_formats)
        if values and len(values) == 1 and isinstance(values[0], str) and key in _STRING_COUNTS:
            # PCGR writes ADT/ADC as Type=String "21,8".
            values = [int(v) if v.strip().isdigit() else None for v in values[0].split(",")]
        return values

    def finish(vaf: float | None, depth: int | None, alt_reads: int | None) -> Depths:
        if vaf is not None:
            vaf = round(float(vaf), 6)
        return vaf, depth, alt_reads

    # Strelka2 SNVs: no AD, but per-base tier-1 counts; VAF = alt / (ref + alt) as the
    # Strelka2 documentation defines it, depth = all tier-1 bases used.
    if all(f"{base}U" in header_formats for base in "ACGT"):
        if len(ref) == 1 and len(alt) == 1 and ref in "ACGT" and alt in "ACGT":
            tiers = {base: _first(ints(f"{base}U")) for base in "ACGT"}
            if all(count is not None for count in tiers.values()):
                tier_alt = tiers[alt]
                vaf = _ratio(tier_alt, tiers[ref] + tier_alt)
                return finish(vaf, sum(tiers.values()), tier_alt)

    # Strelka2 indels: tier-1 reads strongly supporting the indel (TIR) or reference (TAR).
    if "TIR" in header_formats and "TAR" in header_formats:
        indel_reads, ref_reads = _first(ints("TIR")), _first(ints("TAR"))
        if indel_reads is not None and ref_reads is not None:
            depth = _first(ints("DP"))
            total = indel_reads + ref_reads
            return finish(
                _ratio(indel_reads, total), total if depth is None else depth, indel_reads
            )

    alt_reads: int | None = None
    counted_total: int | None = None
    # PCGR's one-column tumour/control layout: DPT/ADT are the tumour's DP/AD.
    pcgr = "AD" not in header_formats and "ADT" in header_formats
    depth_key = "DPT" if pcgr or ("DP" not in header_formats and "DPT" in header_formats) else "DP"
    allelic = ints("ADT" if pcgr else "AD")
    if allelic:
        number = "R" if pcgr else header_formats.get("AD")
        if number == "R" or len(allelic) == n_alts + 1:
            alt_reads = allelic[alt_index + 1] if alt_index + 1 < len(allelic) else None
            if all(count is not None for count in allelic):
                counted_total = sum(allelic)
        elif len(allelic) == n_alts and (number == "1" or "RD" in header_formats):
            # VarScan2 writes AD as the ALT count only (Number=1) with RD for REF. A lone
            # value of an AD declared otherwise (merged callers' files) says nothing sure.
            alt_reads = allelic[alt_index]
            ref_reads = _first(ints("RD"))
            if ref_reads is not None and all(count is not None for count in allelic):
                counted_total = ref_reads + sum(allelic)
    if alt_reads is None:
        # FreeBayes: AO per ALT, RO for REF.
        observed = ints("AO")
        if observed and alt_index < len(observed):
            alt_reads = observed[alt_index]
            ref_reads = _first(ints("RO"))
            if ref_reads is not None and all(count is not None for count in observed):
                counted_total = ref_reads + sum(observed)
    if alt_reads is None and n_alts == 1:
        alt_reads = _first(ints("VD"))  # VarDict's variant depth
    if alt_reads is None and n_alts == 1 and header_formats.get("DP4") == "4":
        # SomaticSniper, samtools: high-quality ref-fwd, ref-rev, alt-fwd, alt-rev.
        strands = ints("DP4")
        if strands and len(strands) == 4 and all(count is not None for count in strands):
            alt_reads = strands[2] + strands[3]
            counted_total = sum(strands)

    depth = _first(ints(depth_key))
    if depth is None:
        depth = counted_total

    vaf = None
    for key in ("AF", "FA"):  # FA: MuTect1
        if key in header_formats:
            vaf = _per_allele(ints(key), header_formats[key], alt_index, n_alts)
            if vaf is not None:
                break
    if vaf is None and "FREQ" in header_formats and n_alts == 1:
        vaf = _fraction(_first(ints("FREQ")))
    if vaf is None:
        vaf = _ratio(alt_reads, counted_total)
    if vaf is None:
        vaf = _ratio(alt_reads, depth)
        if vaf is not None and vaf > 1:
            vaf = None  # more ALT reads than the depth: the counts disagree, VAF unknown
    return finish(vaf, depth, alt_reads)
