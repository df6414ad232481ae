"""One alteration on its own: protein-change forms, its effects, and how many alleles it hits.

Shared by biomarker matching, risk and trials; the allele state weighs copy number, VAF and
purity together (docs/reasoning.md).
"""

from __future__ import annotations

import re

from mmresist.model import AlleleState, CopyNumberCall, Evidence, VariantCall
from mmresist.vocab import (
    INFRAME_CONSEQUENCES,
    LOF_CONSEQUENCES,
    MISSENSE_CONSEQUENCES,
    NONSYNONYMOUS_CONSEQUENCES,
)

NONTRUNCATING_CONSEQUENCES = (
    MISSENSE_CONSEQUENCES
    | INFRAME_CONSEQUENCES
    | frozenset(
        {
            "disruptive_inframe_deletion",
            "disruptive_inframe_insertion",
            "conservative_inframe_deletion",
            "conservative_inframe_insertion",
        }
    )
)
THREE_LETTER = {
    "A": "Ala",
    "C": "Cys",
    "D": "Asp",
    "E": "Glu",
    "F": "Phe",
    "G": "Gly",
    "H": "His",
    "I": "Ile",
    "K": "Lys",
    "L": "Leu",
    "M": "Met",
    "N": "Asn",
    "P": "Pro",
    "Q": "Gln",
    "R": "Arg",
    "S": "Ser",
    "T": "Thr",
    "V": "Val",
    "W": "Trp",
    "Y": "Tyr",
    "*": "Ter",
}
CHANGE_PATTERN = re.compile(r"^(?P<ref>[A-Z*])(?P<pos>\d+)(?P<rest>.*)$")
SUBSTITUTION_PATTERN = re.compile(r"^[A-Z]\d+[A-Z]$")


# ---------------------------------------------------------------------------
# Variant helpers
# ---------------------------------------------------------------------------
def format_value(value: float | None, digits: int = 3) -> str:
    return "unknown" if value is None else f"{value:.{digits}f}"


def canonical_change(change: str) -> str:
    """Bare one-letter change in a comparable form: no 'p.', upper case, trailing X as '*'."""
    text = change.strip()
    if text.startswith("p."):
        text = text[2:]
    text = text.upper()
    if re.fullmatch(r"[A-Z]\d+X", text):
        text = text[:-1] + "*"
    return text


def display_change(change: str) -> str:
    """The one-letter change as written, without 'p.' and with a trailing X shown as '*'."""
    text = change.strip().removeprefix("p.")
    return text[:-1] + "*" if re.fullmatch(r"[A-Z]\d+X", text) else text


def variant_positions(call: VariantCall) -> tuple[int, int] | None:
    """Protein start/end of a call, from the annotation or parsed from the protein change."""
    if call.protein_start is not None:
        end = call.protein_end if call.protein_end is not None else call.protein_start
        return call.protein_start, end
    match = (
        CHANGE_PATTERN.match(canonical_change(call.protein_change)) if call.protein_change else None
    )
    if match:
        start = int(match["pos"])
        span = re.search(r"_[A-Z](\d+)", match["rest"])
        return start, int(span[1]) if span else start
    return None


def variant_effects(call: VariantCall) -> set[str]:
    """Effect groups of a call: 'missense', 'inframe', 'lof', 'nonsynonymous'."""
    terms = call.consequences
    effects = set()
    if terms & MISSENSE_CONSEQUENCES:
        effects.add("missense")
    if terms & (NONTRUNCATING_CONSEQUENCES - MISSENSE_CONSEQUENCES):
        effects.add("inframe")
    if terms & LOF_CONSEQUENCES:
        effects.add("lof")
    if not terms and call.protein_change:
        # No consequence terms: read the effect from the one-letter change itself.
        change = canonical_change(call.protein_change)
        if change.endswith("*") or "FS" in change:
            effects.add("lof")
        elif SUBSTITUTION_PATTERN.match(change) and change[0] != change[-1]:
            effects.add("missense")
        elif any(word in change for word in ("DEL", "INS", "DUP")):
            effects.add("inframe")
    if effects or terms & NONSYNONYMOUS_CONSEQUENCES:
        effects.add("nonsynonymous")
    return effects


def three_letter(change: str) -> str:
    """'A108T' → 'p.Ala108Thr'; 'Q25*' → 'p.Gln25Ter'; 'S30del' → 'p.Ser30del'."""
    text = canonical_change(change)
    match = re.match(r"^([A-Z*])(\d+)(?:_([A-Z])(\d+))?(.*)$", text)
    if not match or match[1] not in THREE_LETTER:
        return f"p.{change}"
    head = f"{THREE_LETTER[match[1]]}{match[2]}"
    if match[3]:
        head += f"_{THREE_LETTER.get(match[3], match[3])}{match[4]}"
    rest = match[5]
    frameshift = re.match(r"^([A-Z])?FS(?:\*(\d*))?$", rest)
    if rest in THREE_LETTER:
        tail = THREE_LETTER[rest]
    elif rest in ("=", "DEL", "DUP"):
        tail = rest.lower()
    elif frameshift:
        new = THREE_LETTER.get(frameshift[1], "") if frameshift[1] else ""
        tail = f"{new}fs" + (f"Ter{frameshift[2]}" if frameshift[2] is not None else "")
    elif rest.startswith(("DELINS", "INS")):
        word = "delins" if rest.startswith("DELINS") else "ins"
        letters = rest[len(word) :]
        tail = word + "".join(THREE_LETTER.get(letter, letter) for letter in letters)
    else:
        tail = rest
    return f"p.{head}{tail}"


# ---------------------------------------------------------------------------
# Copy number and biallelic loss
# ---------------------------------------------------------------------------
CN_WORDS = {
    "homozygous_deletion": "homozygous deletion",
    "loss": "copy loss",
    "neutral": "copy neutral",
    "gain": "copy gain",
    "amplification": "amplification",
}


def cn_detail(call: CopyNumberCall, gene: str) -> str:
    extras = []
    if call.copy_number is not None:
        extras.append(f"copy number {call.copy_number:g}")
    if call.log2 is not None:
        extras.append(f"log2 {call.log2:.2f}")
    text = f"{gene} {CN_WORDS.get(call.call, call.call)}"
    return f"{text} ({', '.join(extras)})" if extras else text


def variant_label(call: VariantCall) -> str:
    if call.protein_change:
        return three_letter(call.protein_change)
    return call.hgvsc or f"{call.chrom}:{call.pos} {call.ref}>{call.alt}"


# A VAF must exceed what one of two alleles gives by this much before it is read as loss
# of the other allele (sampling noise at usual panel depths is of this order).
LOH_MARGIN = 0.10
# Without a purity, a VAF this high is above what one of two alleles gives at any purity.
LOH_VAF_WITHOUT_PURITY = 0.75


def loh_from_vaf(vaf: float | None, purity: float | None, cn_call: str | None = None) -> str | None:
    """Why a VAF shows the other allele lost (loss of heterozygosity), else None.

    With purity p a heterozygous variant in two copies gives a VAF of about p/2, and the
    same variant with the other allele lost gives p/(2-p) (one copy left) up to p
    (copy-neutral LOH). The VAF must pass the midpoint of those two and p/2 plus a margin;
    at low purity the two are too close to tell apart, and nothing is inferred. A gained or
    amplified gene is never read this way: extra mutant copies raise the VAF too."""
    if vaf is None or cn_call in ("gain", "amplification"):
        return None
    if purity is None:
        if vaf >= LOH_VAF_WITHOUT_PURITY:
            return (
                f"VAF {vaf:.2f} is above what one of two alleles gives at any purity "
                f"(purity not given)"
            )
        return None
    one_allele = purity / 2
    other_lost = purity / (2 - purity)
    threshold = max((one_allele + other_lost) / 2, one_allele + LOH_MARGIN)
    if vaf >= threshold:
        return (
            f"VAF {vaf:.2f} at purity {purity:.2f} implies loss of the other allele "
            f"(one of two alleles gives about {one_allele:.2f}; threshold {threshold:.2f})"
        )
    return None


def biallelic_evidence(
    gene: str,
    cn_calls: list[CopyNumberCall],
    lof_calls: list[VariantCall],
    *,
    second_hits: list[VariantCall] | None = None,
    purity: float | None = None,
) -> tuple[str, Evidence, frozenset] | None:
    """(alteration, evidence, anchors) when both copies of ``gene`` are hit, else None:
    a homozygous deletion; a copy loss plus a loss-of-function variant or a curated
    ``second_hits`` change (e.g. a BCMA extracellular-domain change); two
    loss-of-function variants; or one loss-of-function variant at a VAF that implies loss
    of the other allele given ``purity`` (``loh_from_vaf``). The first of each list is
    cited. Shared by biomarker matching and the risk criteria."""
    for call in cn_calls:
        if call.call == "homozygous_deletion":
            return (
                "biallelic loss (homozygous deletion)",
                {
                    "kind": "copy_number",
                    "sample_id": call.sample_id,
                    "status": None,
                    "vaf": None,
                    "detail": cn_detail(call, gene),
                },
                frozenset({("cn", gene, call.sample_id)}),
            )
    losses = [call for call in cn_calls if call.call == "loss"]
    hits = list(lof_calls) + [c for c in second_hits or [] if c not in lof_calls]
    if losses and hits:
        loss, hit = losses[0], hits[0]
        return (
            f"biallelic loss (copy loss + {variant_label(hit)})",
            {
                "kind": "copy_number",
                "sample_id": loss.sample_id,
                "status": None,
                "vaf": hit.vaf,
                "detail": f"{cn_detail(loss, gene)}; second hit "
                f"{variant_label(hit)} (VAF {format_value(hit.vaf)})",
            },
            frozenset({("cn", gene, loss.sample_id), ("variant", hit.key)}),
        )
    if len(lof_calls) >= 2:
        first, second = lof_calls[0], lof_calls[1]
        return (
            f"biallelic loss ({variant_label(first)} + {variant_label(second)})",
            {
                "kind": "variant",
                "sample_id": first.sample_id,
                "status": None,
                "vaf": first.vaf,
                "detail": f"two loss-of-function variants, presumed on different alleles: "
                f"{variant_label(first)} (VAF {format_value(first.vaf)}), "
                f"{variant_label(second)} (VAF {format_value(second.vaf)})",
            },
            frozenset({("variant", first.key), ("variant", second.key)}),
        )
    cn_state = cn_calls[0].call if cn_calls else None
    for hit in lof_calls:
        reason = loh_from_vaf(hit.vaf, purity, cn_state)
        if reason:
            return (
                f"biallelic loss ({variant_label(hit)} with loss of the other allele)",
                {
                    "kind": "variant",
                    "sample_id": hit.sample_id,
                    "status": None,
                    "vaf": hit.vaf,
                    "detail": f"{gene} {variant_label(hit)}: {reason}",
                },
                frozenset({("variant", hit.key)}),
            )
    return None


def allele_state(
    gene: str,
    *,
    call: VariantCall | None,
    cn_calls: list[CopyNumberCall],
    biallelic: tuple[str, Evidence, frozenset] | None,
    purity: float | None,
    gene_calls: list[VariantCall] | None = None,
) -> AlleleState:
    """How many alleles of ``gene`` the observation hits (a variant ``call``, or the gene's
    copy number when ``call`` is None), with the copy number, VAF and purity it rests on."""
    anchor = ("variant", call.key) if call is not None else None
    cn = cn_calls[0] if cn_calls else None
    if biallelic is not None and (anchor is None or anchor in biallelic[2]):
        return {"state": "biallelic", "basis": f"{biallelic[0]}: {biallelic[1]['detail']}"}
    if call is None:
        if cn is None:
            return {"state": "unknown", "basis": f"no copy-number call for {gene}"}
        if cn.call == "homozygous_deletion":
            return {"state": "biallelic", "basis": cn_detail(cn, gene)}
        altered = [c for c in gene_calls or [] if "nonsynonymous" in variant_effects(c)]
        if altered:
            return {
                "state": "biallelic",
                "basis": f"{cn_detail(cn, gene)} with {variant_label(altered[0])} on the "
                "remaining copy: no unaltered copy left",
            }
        return {
            "state": "monoallelic",
            "basis": f"{cn_detail(cn, gene)}; no second hit among the kept variants; "
            "monitor; one allele",
        }
    vaf = f"VAF {format_value(call.vaf, 2)}" + (f" at purity {purity:.2f}" if purity else "")
    if cn is not None and cn.call in ("loss", "homozygous_deletion"):
        return {
            "state": "biallelic",
            "basis": f"{variant_label(call)} ({vaf}) with {cn_detail(cn, gene)}: "
            "no unaltered copy left",
        }
    if cn is not None and cn.call == "neutral":
        return {
            "state": "monoallelic",
            "basis": f"{variant_label(call)} ({vaf}); {cn_detail(cn, gene)}; the VAF does "
            "not show loss of the other allele; monitor; one allele",
        }
    if cn is not None:
        return {
            "state": "unknown",
            "basis": f"{variant_label(call)} ({vaf}); {cn_detail(cn, gene)}: extra copies "
            "make the allele count unreadable from the VAF",
        }
    return {
        "state": "unknown",
        "basis": f"{variant_label(call)} ({vaf}); no copy-number call for {gene}, and the "
        "VAF alone does not show loss of the other allele",
    }
