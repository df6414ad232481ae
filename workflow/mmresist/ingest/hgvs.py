"""Protein changes in one-letter form from the HGVSp (or BCSQ change) an annotator wrote."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

AMINO_ACIDS = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Sec": "U",
    "Pyl": "O", "Ter": "*", "Xaa": "X", "Asx": "B", "Glx": "Z",
}  # fmt: skip
_THREE = "|".join(AMINO_ACIDS)
_THREE_RE = re.compile(_THREE)
# One residue: three-letter code, or one letter (X and * both mean a stop codon).
_AA = rf"(?:{_THREE}|[A-Z*])"


def _one(code: str) -> str:
    """One-letter residue for a three- or one-letter code; X and Ter become *."""
    if code in AMINO_ACIDS:
        return AMINO_ACIDS[code]
    return "*" if code == "X" else code


def _residues(text: str) -> str:
    return "".join(_one(code) for code in re.findall(rf"{_THREE}|[A-Z*]", text))


_SUBSTITUTION = re.compile(rf"({_AA})(\d+)({_AA}|=|\?)")
_RANGE_EDIT = re.compile(rf"({_AA})(\d+)(?:_({_AA})(\d+))?(delins|del|dup|ins)((?:{_AA})*)")
_FRAMESHIFT = re.compile(rf"({_AA})(\d+)(?:{_AA})?fs.*")
_EXTENSION = re.compile(rf"({_AA})(\d+)({_AA})?ext(.*)")
_BCSQ_CHANGE = re.compile(r"(\d+)([A-Z*]+)(?:>(\d+)([A-Z*]+))?")


def _bcsq_change(match: re.Match[str]) -> tuple[str, int | None, int | None]:
    position = int(match.group(1))
    ref = match.group(2)
    if match.group(3) is None:
        # "60S": a synonymous change at residue 60; longer strings have no alt to show.
        if len(ref) == 1:
            return f"{ref}{position}=", position, position
        return "", position, position + len(ref) - 1
    alt_start, alt = int(match.group(3)), match.group(4)
    if ref == alt:
        return f"{ref[0]}{position}=", position, position + len(ref) - 1
    if len(ref) == 1 and len(alt) == 1:
        return f"{ref}{position}{alt}", position, position
    # Trim residues shared by both ends so "74EDG>74D" reads as a deletion.
    prefix = 0
    while prefix < min(len(ref), len(alt)) and ref[prefix] == alt[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(ref), len(alt)) - prefix
        and ref[len(ref) - 1 - suffix] == alt[len(alt) - 1 - suffix]
    ):
        suffix += 1
    core_ref = ref[prefix : len(ref) - suffix]
    core_alt = alt[prefix : len(alt) - suffix]
    start = max(position, alt_start) + prefix
    if not core_ref:
        # An insertion between two kept residues.
        left = ref[prefix - 1] if prefix else ""
        right = ref[len(ref) - suffix] if suffix else ""
        if left and right:
            return f"{left}{start - 1}_{right}{start}ins{core_alt}", start - 1, start
        return f"{ref[0]}{position}ins{core_alt}", position, position
    end = start + len(core_ref) - 1
    span = f"{core_ref[0]}{start}" + (f"_{core_ref[-1]}{end}" if end > start else "")
    if not core_alt:
        return f"{span}del", start, end
    if len(core_ref) == 1 and len(core_alt) == 1:
        return f"{core_ref}{start}{core_alt}", start, end
    return f"{span}delins{core_alt}", start, end


def normalise_hgvsp(hgvsp: str) -> tuple[str, int | None, int | None]:
    """Bare one-letter protein change and its first and last residue.

    Accepts what VEP, snpEff and bcftools csq write: transcript-prefixed or bare,
    three- or one-letter, ``%3D``-escaped, predicted ``p.(...)``, and BCSQ's
    ``108A>108T``. Unknown or absent changes give ``("", None, None)``.
    """
    text = unquote((hgvsp or "").strip())
    if ":" in text:
        text = text.rsplit(":", 1)[1]
    if text.startswith("p."):
        text = text[2:]
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    if text in {"", "?", "0", "=", "0?"}:
        return "", None, None

    match = _BCSQ_CHANGE.fullmatch(text)
    if match and not text[0].isalpha():
        return _bcsq_change(match)

    match = _FRAMESHIFT.fullmatch(text)
    if match:
        position = int(match.group(2))
        return f"{_one(match.group(1))}{position}fs", position, position

    match = _EXTENSION.fullmatch(text)
    if match:
        position = int(match.group(2))
        new = _one(match.group(3)) if match.group(3) else ""
        tail = _THREE_RE.sub(lambda m: AMINO_ACIDS[m.group(0)], match.group(4))
        return f"{_one(match.group(1))}{position}{new}ext{tail}", position, position

    match = _RANGE_EDIT.fullmatch(text)
    if match:
        first, start, last, end, edit, inserted = match.groups()
        start_number = int(start)
        end_number = int(end) if end else start_number
        change = f"{_one(first)}{start_number}"
        if last:
            change += f"_{_one(last)}{end_number}"
        change += edit + (_residues(inserted) if edit in {"ins", "delins"} else "")
        return change, start_number, end_number

    match = _SUBSTITUTION.fullmatch(text)
    if match:
        ref, position_text, alt = match.groups()
        position = int(position_text)
        ref_one, alt_one = _one(ref), _one(alt)
        # snpEff spells synonymous changes p.Leu10Leu; HGVS (and VEP) say p.Leu10=.
        if alt_one == ref_one:
            alt_one = "="
        return f"{ref_one}{position}{alt_one}", position, position

    numbers = [int(number) for number in re.findall(r"\d+", text)]
    if not numbers:
        return "", None, None
    return _THREE_RE.sub(lambda m: AMINO_ACIDS[m.group(0)], text), numbers[0], numbers[-1]


def protein_change(entry: dict[str, Any]) -> tuple[str, int | None, int | None]:
    """Protein change of one entry: from HGVSp, else VEP Amino_acids + Protein_position."""
    change, start, end = normalise_hgvsp(entry.get("hgvsp", ""))
    if change or start is not None:
        # bcftools csq writes a frameshift as the residues it changes up to the new stop
        # ("31P>31LSVS*"); the one-letter form of a frameshift is "P31fs" whatever the tail.
        if (
            start is not None
            and "frameshift_variant" in entry.get("consequence", "")
            and not change.endswith("fs")
        ):
            ref = re.match(r"\d+([A-Z*])", entry.get("hgvsp", ""))
            if ref:
                change = f"{ref.group(1)}{start}fs"
        return change, start, end
    # VEP run without --hgvs still writes Amino_acids ("R/H") and Protein_position ("175").
    amino_acids = entry.get("amino_acids", "")
    positions = re.findall(r"\d+", entry.get("protein_position", ""))
    if not amino_acids or not positions:
        return "", None, None
    start = int(positions[0])
    end = int(positions[-1])
    consequence = entry.get("consequence", "")
    ref, _, alt = amino_acids.partition("/")
    ref = ref.replace("X", "*")
    alt = alt.replace("X", "*")
    if "frameshift_variant" in consequence and ref and ref != "-":
        return f"{ref[0]}{start}fs", start, start
    if not alt:
        # Synonymous: VEP writes a single residue.
        return (f"{ref}{start}=", start, end) if len(ref) == 1 else ("", start, end)
    if len(ref) == 1 and len(alt) == 1 and ref != "-" and alt != "-":
        return f"{ref}{start}{alt}", start, end
    if alt == "-" and ref != "-":
        span = f"{ref[0]}{start}" + (f"_{ref[-1]}{end}" if end > start else "")
        return f"{span}del", start, end
    return "", start, end
