"""Population allele frequencies an annotated VCF carries: which fields, per ALT, the highest.

Read from three places, every one optional:

- VEP CSQ subfields of the entry's allele (``VEP_FIELDS``: gnomAD exomes and genomes, the
  older combined gnomAD field, VEP's maximum over populations, 1000 Genomes);
- SnpSift ``dbNSFP_gnomAD*_AF`` INFO fields (overall and POPMAX frequencies);
- fields named in ``filters.population_af_fields``: an annotation subfield of that name, else
  an INFO field (``gnomAD_AF`` written by vcfanno or bcftools annotate).

A call carries the highest of the values found for its ALT and the field it came from; with
no value it stays None (unknown), which is never read as rare.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# VEP subfields, in the order a tie is attributed. "AF" is VEP's 1000 Genomes combined
# frequency (a CSQ subfield, never the caller's INFO/AF, which is the tumour VAF).
VEP_FIELDS = ("gnomADe_AF", "gnomADg_AF", "gnomAD_AF", "MAX_AF", "AF")

# INFO fields in which callers write the sample's own allele fraction (VarDict, FreeBayes,
# LoFreq INFO/AF): never read as a population frequency, even when configured.
CALLER_INFO = frozenset({"AF", "VAF"})

_DBNSFP = re.compile(r"^dbNSFP_gnomAD[\w.]*_AF$", flags=re.IGNORECASE)
# Single-population frequencies are not read from dbNSFP: a population of a few hundred
# alleles reaches 0.001 with one carrier (a clonal-haematopoiesis TP53 hotspot would then
# read as germline). Overall, POPMAX and subset (controls, non-cancer) frequencies are read.
_POPULATIONS = frozenset(
    {"afr", "amr", "asj", "eas", "fin", "nfe", "sas", "oth", "ami", "mid", "remaining"}
    | {"xx", "xy", "male", "female", "jpn", "kor", "oea", "bgr", "est", "nwe", "onf", "seu"}
    | {"swe"}
)

AfPairs = list[tuple[str, float]]


def af_value(text: object) -> float | None:
    """The highest frequency in one cell (``0.66``, ``7.6e-02&3.1e-04``, ``.``), or None.

    VEP joins the frequencies of co-located known variants with ``&``; taking the highest
    errs towards calling a variant germline, which keeps it out of findings but never out of
    variants.tsv. Values outside [0, 1] are not frequencies and are ignored.
    """
    if text is None:
        return None
    values = []
    for token in re.split(r"[&]", str(text)):
        token = token.strip()
        if not token or token == ".":
            continue
        try:
            value = float(token)
        except ValueError:
            continue
        if math.isnan(value) or not 0.0 <= value <= 1.0:
            continue
        values.append(value)
    return max(values) if values else None


def subfield_positions(index: Any, extra: Sequence[str] = ()) -> tuple[tuple[str, int], ...]:
    """(field name, position) of the frequency subfields an annotation layout has.

    ``index`` is ``AnnotationLayout.index``; ``extra`` are configured names. A position is
    listed once, under the first name that found it.
    """
    found: list[tuple[str, int]] = []
    seen: set[int] = set()
    for name in (*VEP_FIELDS, *extra):
        position = index(name)
        if position is not None and position not in seen:
            seen.add(position)
            found.append((name, position))
    return tuple(found)


def entry_afs(values: Sequence[str], positions: Iterable[tuple[str, int]]) -> AfPairs:
    """Frequencies of one annotation entry, from its split fields."""
    pairs: AfPairs = []
    for name, position in positions:
        if position < len(values):
            value = af_value(values[position])
            if value is not None:
                pairs.append((name, value))
    return pairs


def info_af_fields(
    declared: Mapping[str, str], configured: Sequence[str], subfields: Iterable[str]
) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """INFO fields to read, as (ID, Number), and a note per configured name found nowhere.

    ``declared``: INFO ID -> Number from the header; ``subfields``: the frequency subfields
    the annotation layout already reads.
    """
    fields: list[tuple[str, str]] = []
    for tag, number in declared.items():
        if _DBNSFP.match(tag) and not (set(tag.lower().split("_")[2:-1]) & _POPULATIONS):
            fields.append((tag, number))
    named = {tag for tag, _ in fields}
    notes: list[str] = []
    found_as_subfield = set(subfields)
    for name in configured:
        if name in found_as_subfield:
            continue  # read from the annotation entry of the allele
        if name in CALLER_INFO:
            notes.append(
                f"filters.population_af_fields names INFO/{name}, which callers use for the "
                "allele fraction in this sample, not a population frequency; it was not read"
            )
        elif name in declared:
            if name not in named:
                fields.append((name, declared[name]))
                named.add(name)
        else:
            notes.append(
                f"filters.population_af_fields names {name!r}, which is neither an INFO field "
                "of this VCF nor a field of its annotation; no frequency was read from it"
            )
    return tuple(fields), notes


def declared_info(vcf: Any) -> dict[str, str]:
    """INFO ID -> Number as declared in the header of ``vcf`` (a cyvcf2.VCF), first wins."""
    declared: dict[str, str] = {}
    for record in vcf.header_iter():
        info = record.info()
        if info.get("HeaderType") == "INFO" and "ID" in info:
            declared.setdefault(info["ID"], info.get("Number", "."))
    return declared


def _cells(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, (tuple, list)):
        return list(value)
    if isinstance(value, str):
        return list(value.split(","))
    return [value]


def info_afs(info: Any, fields: Sequence[tuple[str, str]], alt_count: int) -> list[AfPairs]:
    """Per ALT, the frequencies read from ``fields`` of one record's INFO (``variant.INFO``).

    Number=A gives one value per ALT and Number=R one per allele; a single-ALT record takes
    every value; a multi-allelic record whose field has neither one value per ALT nor per
    allele gives nothing, since the value cannot be tied to an ALT.
    """
    per_alt: list[AfPairs] = [[] for _ in range(alt_count)]
    for tag, number in fields:
        cells = _cells(info.get(tag))
        if not cells:
            continue
        if number == "R" and len(cells) == alt_count + 1:
            chosen = [[cell] for cell in cells[1:]]
        elif alt_count == 1:
            chosen = [cells]
        elif len(cells) == alt_count:
            chosen = [[cell] for cell in cells]
        else:
            continue
        for index, group in enumerate(chosen):
            values = [value for value in (af_value(cell) for cell in group) if value is not None]
            if values:
                per_alt[index].append((tag, max(values)))
    return per_alt


def highest(pairs: Iterable[tuple[str, float]]) -> tuple[float | None, str]:
    """The highest frequency and its field name (the first field on a tie); (None, "")."""
    best: tuple[float | None, str] = (None, "")
    for name, value in pairs:
        if best[0] is None or value > best[0]:
            best = (value, name)
    return best
