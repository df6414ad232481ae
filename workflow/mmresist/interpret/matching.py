"""Biomarker matching: join a patient's variant, copy-number and cytogenetic calls to the table.

Each curated biomarker (``resources/knowledge/biomarkers.tsv``) is tested against the current
calls; every hit becomes a report.json ``findings`` row carrying the evidence that produced it. When
one observation matches several rows that say the same thing (same gene and implication,
overlapping drug classes), only the most specific row is kept unless a broader row carries
stronger evidence; README in resources/knowledge explains the order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mmresist.interpret.alterations import (
    CHANGE_PATTERN,
    CN_WORDS,
    allele_state,
    biallelic_evidence,
    canonical_change,
    cn_detail,
    display_change,
    format_value,
    three_letter,
    variant_effects,
    variant_positions,
)
from mmresist.io.tabular import iso_text
from mmresist.model import (
    AlleleState,
    CopyNumberCall,
    CytogeneticsRow,
    CytoRecord,
    Evidence,
    Finding,
    VariantCall,
)
from mmresist.vocab import (
    CYTOGENETIC_ABNORMALITIES,
    EVIDENCE_LEVELS,
    IMPLICATIONS,
)

# Lower is more specific; used to drop broader rows that repeat a narrower one.
SPECIFICITY = {
    "protein_change": 0,
    "codon": 1,
    "aa_range": 2,
    "missense": 3,
    "loss_of_function": 3,
    "nonsynonymous": 4,
    "biallelic_loss": 0,
    "copy_loss": 1,
    "amplification": 0,
    "cytogenetic": 0,
}
_CYTO_KEYS = {name.casefold().replace(" ", ""): name for name in CYTOGENETIC_ABNORMALITIES}


class BiomarkerKnowledge(Protocol):
    """What matching reads of the knowledge: the rows to test, the panel genes (numbering
    offsets) and the alias lookup. A loaded ``Knowledge`` is one; trial matching passes a
    view that holds one biomarker row."""

    @property
    def biomarkers(self) -> list[dict[str, Any]]: ...

    @property
    def genes(self) -> dict[str, dict[str, Any]]: ...

    def canonical_gene(self, name: str) -> str: ...


@dataclass
class _Match:
    biomarker: dict
    gene: str
    alteration: str
    evidence: Evidence
    anchors: frozenset  # the observations this match rests on
    covers: frozenset = field(default_factory=frozenset)  # observations a biallelic hit explains
    allele: AlleleState | None = None


def _literature_note(biomarker: dict, change: str, knowledge: BiomarkerKnowledge) -> str:
    """'; literature A49T' for numbering-offset genes (or the row's alias), else ''."""
    gene = knowledge.genes.get(biomarker["gene"]) or {}
    offset = gene.get("numbering_offset")
    if offset:
        match = CHANGE_PATTERN.match(canonical_change(change))
        if match and int(match["pos"]) > offset:
            shifted = f"{match['ref']}{int(match['pos']) - offset}{match['rest']}"
            return f"; literature {shifted}"
        if match:
            return "; propeptide, no literature (mature) numbering"
    if biomarker["literature_alias"] and biomarker["alteration_type"] == "protein_change":
        changes = [c["change"].upper() for c in biomarker["parsed"]["changes"]]
        aliases = biomarker["literature_alias"].split(",")
        if canonical_change(change) in changes and len(aliases) == len(changes):
            return f"; literature {aliases[changes.index(canonical_change(change))]}"
    return ""


def _variant_alteration(biomarker: dict, call: VariantCall, knowledge: BiomarkerKnowledge) -> str:
    if call.protein_change:
        change = call.protein_change
        note = _literature_note(biomarker, change, knowledge)
        return f"{three_letter(change)} ({display_change(change)}{note})"
    consequence = call.consequence.replace("&", ", ") or "variant"
    return f"{call.hgvsc or f'{call.chrom}:{call.pos} {call.ref}>{call.alt}'} ({consequence})"


def _variant_detail(call: VariantCall, status: str | None) -> str:
    shown = call.hgvsp or (f"p.{call.protein_change}" if call.protein_change else call.hgvsc)
    parts = [f"{call.gene} {shown or f'{call.chrom}:{call.pos} {call.ref}>{call.alt}'}"]
    if call.consequence:
        parts.append(call.consequence.replace("&", ", "))
    parts.append(f"VAF {format_value(call.vaf)}")
    if call.depth is not None:
        parts.append(f"depth {call.depth}")
    if status:
        parts.append(status.replace("_", " "))
    return "; ".join(parts)


def variant_matches(biomarker: Mapping, call: VariantCall) -> bool:
    kind = biomarker["alteration_type"]
    parsed = biomarker["parsed"]
    effects = variant_effects(call)
    if kind == "protein_change":
        if not call.protein_change:
            return False
        observed = canonical_change(call.protein_change)
        for change in parsed["changes"]:
            wanted = canonical_change(change["change"])
            if wanted == observed:
                return True
            # A bare 'fs' spec (e.g. Q25fs) matches any frameshift starting at that residue.
            if wanted.endswith("FS") and observed.startswith(wanted[:-2]) and "FS" in observed:
                return True
        return False
    if kind in ("codon", "aa_range"):
        positions = variant_positions(call)
        if positions is None:
            return False
        start, end = positions
        if kind == "codon":
            if not effects & {"missense", "inframe"}:
                return False
            return any(start <= codon <= end for codon in parsed["codons"])
        if end < parsed["start"] or start > parsed["end"]:
            return False
        scope = parsed["scope"]
        wanted_effects = {
            "any": {"nonsynonymous"},
            "missense": {"missense"},
            "nontruncating": {"missense", "inframe"},
            "lof": {"lof"},
        }[scope]
        if scope == "nontruncating" and "lof" in effects:
            return False
        return bool(effects & wanted_effects)
    if kind == "missense":
        return "missense" in effects
    if kind == "loss_of_function":
        return "lof" in effects
    if kind == "nonsynonymous":
        return "nonsynonymous" in effects
    return False


# ---------------------------------------------------------------------------
# Cytogenetics
# ---------------------------------------------------------------------------
def cyto_records(cytogenetics: Iterable[CytogeneticsRow]) -> list[CytoRecord]:
    """Cytogenetics rows with a known abnormality, normalised for matching; a clone
    fraction of 0 means tested and not found, so the row is dropped."""
    records: list[CytoRecord] = []
    for row in cytogenetics:
        name = str(row.get("abnormality") or "").casefold().replace(" ", "")
        canonical = _CYTO_KEYS.get(name)
        if canonical is None:
            continue
        fraction = row.get("clone_fraction")
        fraction = None if fraction in (None, "") else float(fraction)
        if fraction == 0:
            continue  # tested and not found
        when = iso_text(row.get("date")) or ""
        records.append({"abnormality": canonical, "clone_fraction": fraction, "date": when})
    return records


def _satisfies(record: CytoRecord, alternative: dict) -> bool:
    if record["abnormality"] != alternative["abnormality"]:
        return False
    threshold = alternative["min_fraction"]
    if threshold is None:
        return True
    return record["clone_fraction"] is not None and record["clone_fraction"] >= threshold


def _cyto_match(parsed: dict, records: list[CytoRecord]) -> list[CytoRecord] | None:
    """The record chosen for each term when every term is met, else None."""
    chosen = []
    for alternatives in parsed["terms"]:
        candidates = [r for r in records if any(_satisfies(r, alt) for alt in alternatives)]
        if not candidates:
            return None
        best = max(
            candidates,
            key=lambda r: (
                r["clone_fraction"] if r["clone_fraction"] is not None else -1.0,
                r["date"],
                r["abnormality"],
            ),
        )
        chosen.append(best)
    return chosen


def cyto_text(record: CytoRecord) -> str:
    """'del(17p) 60% (2024-03-01)': abnormality, clone fraction and date as given."""
    fraction = record["clone_fraction"]
    parts = [record["abnormality"]]
    if fraction is not None:
        parts.append(f"{fraction * 100:g}%")
    if record["date"]:
        parts.append(f"({record['date']})")
    return " ".join(parts)


# ---------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------
def match_biomarkers(
    *,
    knowledge: BiomarkerKnowledge,
    variants: Iterable[VariantCall],
    copy_number: Iterable[CopyNumberCall],
    cytogenetics: Iterable[CytogeneticsRow],
    variant_status: Mapping[tuple, str] | None = None,
    purity: float | None = None,
) -> list[Finding]:
    """report.json ``findings`` for the current calls of one patient, in a deterministic
    order.

    ``variants`` are kept calls of the current sample; ``variant_status`` optionally maps
    ``(*call.key, gene)`` (gene as the panel symbol) or ``call.key`` to the timeline
    status shown in the evidence; a call it does not name has no status. ``purity`` (of
    the current sample) lets a VAF show loss of the other allele (``loh_from_vaf``).
    Every finding carries ``exposure`` None; ``annotate_exposure`` fills it in.
    """
    status_of: Mapping[tuple, str] = variant_status or {}
    by_gene: dict[str, list[VariantCall]] = {}
    seen: set = set()
    for call in variants:
        gene = knowledge.canonical_gene(call.gene)
        if (call.key, gene) in seen:
            continue
        seen.add((call.key, gene))
        by_gene.setdefault(gene, []).append(call)
    cn_by_gene: dict[str, list[CopyNumberCall]] = {}
    for cn_call in copy_number:
        cn_by_gene.setdefault(knowledge.canonical_gene(cn_call.gene), []).append(cn_call)
    for calls in cn_by_gene.values():
        calls.sort(key=lambda c: (c.sample_id, c.call))
    records = cyto_records(cytogenetics)

    def status(call: VariantCall, gene: str) -> str | None:
        return status_of.get((*call.key, gene), status_of.get(call.key)) or None

    def lof_of(gene: str) -> list[VariantCall]:
        return sorted(
            (c for c in by_gene.get(gene, []) if "lof" in variant_effects(c)),
            key=lambda c: (c.key, c.sample_id),
        )

    def gene_biallelic(gene: str, biomarker: dict | None = None) -> tuple | None:
        wanted = {
            canonical_change(w)
            for w in ((biomarker or {}).get("parsed") or {}).get("second_hits") or []
        }
        second = [
            c
            for c in by_gene.get(gene, [])
            if c.protein_change and canonical_change(c.protein_change) in wanted
        ]
        return biallelic_evidence(
            gene, cn_by_gene.get(gene, []), lof_of(gene), second_hits=second, purity=purity
        )

    matches: list[_Match] = []
    for biomarker in knowledge.biomarkers:
        kind = biomarker["alteration_type"]
        gene = biomarker["gene"]
        if kind == "cytogenetic":
            chosen = _cyto_match(biomarker["parsed"], records)
            if chosen is not None:
                text = " + ".join(dict.fromkeys(cyto_text(r) for r in chosen))
                matches.append(
                    _Match(
                        biomarker,
                        gene,
                        " + ".join(dict.fromkeys(r["abnormality"] for r in chosen)),
                        {
                            "kind": "cytogenetic",
                            "sample_id": None,
                            "status": None,
                            "vaf": None,
                            "detail": text,
                        },
                        frozenset({("cyto", biomarker["id"])}),
                    )
                )
            continue
        if kind in ("copy_loss", "amplification"):
            wanted = ("loss", "homozygous_deletion") if kind == "copy_loss" else ("amplification",)
            for cn_call in cn_by_gene.get(gene, []):
                if cn_call.call in wanted:
                    matches.append(
                        _Match(
                            biomarker,
                            gene,
                            CN_WORDS[cn_call.call],
                            {
                                "kind": "copy_number",
                                "sample_id": cn_call.sample_id,
                                "status": None,
                                "vaf": None,
                                "detail": cn_detail(cn_call, gene),
                            },
                            frozenset({("cn", gene, cn_call.sample_id)}),
                            allele=None
                            if kind == "amplification"
                            else allele_state(
                                gene,
                                call=None,
                                cn_calls=cn_by_gene.get(gene, []),
                                biallelic=gene_biallelic(gene),
                                purity=purity,
                                gene_calls=by_gene.get(gene, []),
                            ),
                        )
                    )
            continue
        if kind == "biallelic_loss":
            found = gene_biallelic(gene, biomarker)
            if found is not None:
                alteration, evidence, covers = found
                state: AlleleState = {
                    "state": "biallelic",
                    "basis": f"{alteration}: {evidence['detail']}",
                }
                matches.append(
                    _Match(biomarker, gene, alteration, evidence, frozenset(), covers, state)
                )
            continue
        for call in by_gene.get(gene, []):
            if variant_matches(biomarker, call):
                call_status = status(call, gene)
                matches.append(
                    _Match(
                        biomarker,
                        gene,
                        _variant_alteration(biomarker, call, knowledge),
                        {
                            "kind": "variant",
                            "sample_id": call.sample_id,
                            "status": call_status,
                            "vaf": call.vaf,
                            "detail": _variant_detail(call, call_status),
                        },
                        frozenset({("variant", call.key)}),
                        allele=allele_state(
                            gene,
                            call=call,
                            cn_calls=cn_by_gene.get(gene, []),
                            biallelic=gene_biallelic(gene),
                            purity=purity,
                        ),
                    )
                )
    kept = _drop_repeats(matches)
    findings = [_finding(match) for match in kept]
    findings.sort(key=_order)
    return findings


def _level(match: _Match) -> int:
    return EVIDENCE_LEVELS.index(match.biomarker["evidence_level"])


def _same_claim(a: _Match, b: _Match) -> bool:
    """Same gene and implication, and the drug classes overlap (or both have none)."""
    if a.gene != b.gene or a.biomarker["implication"] != b.biomarker["implication"]:
        return False
    classes_a, classes_b = set(a.biomarker["drug_classes"]), set(b.biomarker["drug_classes"])
    return bool(classes_a & classes_b) or (not classes_a and not classes_b)


def _drop_repeats(matches: list[_Match]) -> list[_Match]:
    """Drop a match when a more specific match of the same observation makes the same claim
    at least as strongly (e.g. PSMB5 A108T makes the pocket-range row redundant, and a
    biallelic-loss row the copy-loss and single-hit rows it explains)."""
    kept = []
    for match in matches:
        kind = match.biomarker["alteration_type"]
        redundant = False
        for other in matches:
            if other is not match and _monitor_explained(match, other):
                redundant = True
                break
            if other is match or not _same_claim(match, other):
                continue
            other_kind = other.biomarker["alteration_type"]
            if _level(other) > _level(match):
                continue
            if other_kind == "biallelic_loss" and kind != "biallelic_loss":
                redundant = bool(match.anchors & other.covers) and kind in (
                    "copy_loss",
                    "loss_of_function",
                    "nonsynonymous",
                    "missense",
                )
            elif (
                match.anchors
                and match.anchors == other.anchors
                and kind not in ("cytogenetic", "copy_loss", "amplification")
                and SPECIFICITY[other_kind] < SPECIFICITY[kind]
            ):
                redundant = True
            if redundant:
                break
        if not redundant:
            kept.append(match)
    return kept


def _monitor_explained(match: _Match, other: _Match) -> bool:
    """A one-allele 'monitor' row (prognostic, naming the drug classes to watch) says
    nothing once a biallelic row of the same gene and classes explains its observation."""
    return (
        other.biomarker["alteration_type"] == "biallelic_loss"
        and match.biomarker["alteration_type"] != "biallelic_loss"
        and match.gene == other.gene
        and match.biomarker["implication"] == "prognostic"
        and bool(set(match.biomarker["drug_classes"]) & set(other.biomarker["drug_classes"]))
        and bool(match.anchors & other.covers)
    )


def annotate_exposure(
    findings: list[Finding],
    history: Mapping | None,
    antigen_classes: Mapping[str, list[str]] | None = None,
) -> None:
    """Set ``exposure`` of each resistance finding: ``observed`` when the patient received
    one of its drugs or classes, ``predicted_not_exposed`` when the therapy history shows
    none of them (the finding predicts resistance to a class not yet given), ``unknown``
    without a therapy history. Other findings keep None.

    ``antigen_classes`` (option_rules.yaml: antigen → classes) makes the classes of one
    antigen one exposure: antigen loss that followed a BCMA engager was observed under BCMA
    pressure, so it is observed for BCMA CAR-T as well."""
    same_antigen = [set(classes) for classes in (antigen_classes or {}).values()]
    for finding in findings:
        if finding["implication"] != "resistance":
            finding["exposure"] = None
        elif history is None:
            finding["exposure"] = "unknown"
        else:
            drugs = set(history.get("exposed_drugs") or [])
            classes = set(history.get("exposed_classes") or [])
            wanted = set(finding["drug_classes"])
            for group in same_antigen:
                if wanted & group:
                    wanted |= group
            seen = drugs & set(finding["drugs"]) or classes & wanted
            finding["exposure"] = "observed" if seen else "predicted_not_exposed"


def _finding(match: _Match) -> Finding:
    biomarker = match.biomarker
    return {
        "biomarker_id": biomarker["id"],
        "gene": match.gene,
        "alteration": match.alteration,
        "implication": biomarker["implication"],
        "drugs": list(biomarker["drugs"]),
        "drug_classes": list(biomarker["drug_classes"]),
        "evidence_level": biomarker["evidence_level"],
        "sources": list(biomarker["sources"]),
        "summary": biomarker["summary"],
        "evidence": Evidence(**match.evidence),
        "allele_state": match.allele,
        "exposure": None,
    }


def _order(finding: Finding) -> tuple:
    return (
        IMPLICATIONS.index(finding["implication"]),
        EVIDENCE_LEVELS.index(finding["evidence_level"]),
        finding["gene"],
        finding["biomarker_id"],
        finding["alteration"],
        finding["evidence"]["sample_id"] or "",
    )
