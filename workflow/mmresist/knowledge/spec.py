"""The grammars of curated cells: alteration specs (strict parsing, renumbering) and sources."""

from __future__ import annotations

import re

from mmresist.vocab import ALTERATION_TYPES, CYTOGENETIC_ABNORMALITIES

__all__ = [
    "RANGE_SCOPES",
    "STAR_TYPES",
    "SpecError",
    "expected_literature_alias",
    "parse_protein_change",
    "parse_spec",
    "shift_protein_change",
    "source_list_problems",
    "source_problems",
]


class SpecError(ValueError):
    """An alteration spec or literature alias that does not follow the grammar."""


_AA = "ACDEFGHIKLMNPQRSTVWY"
_SINGLE = re.compile(
    rf"^(?P<ref>[{_AA}*])(?P<pos>[1-9]\d*)"
    rf"(?P<kind>[{_AA}*]|=|del|dup|fs|fs\*\d+|fs[{_AA}]\*?\d*|delins[{_AA}]+)$"
)
_SPAN = re.compile(
    rf"^(?P<ref>[{_AA}])(?P<pos>[1-9]\d*)_(?P<ref2>[{_AA}])(?P<pos2>[1-9]\d*)"
    rf"(?P<kind>del|dup|ins[{_AA}]+|delins[{_AA}]+)$"
)
_CODONS = re.compile(r"^[1-9]\d*(,[1-9]\d*)*$")
_RANGE = re.compile(r"^(?P<start>[1-9]\d*)-(?P<end>[1-9]\d*)(?::(?P<scope>[a-z]+))?$")
_CYTO_ALT = re.compile(r"^(?P<abn>[^&|<>=]+?)(?:>=(?P<fraction>\d+(?:\.\d+)?))?$")
RANGE_SCOPES = ("any", "missense", "nontruncating", "lof")
STAR_TYPES = (
    "missense",
    "loss_of_function",
    "nonsynonymous",
    "copy_loss",
    "biallelic_loss",
    "amplification",
)


def parse_protein_change(text: str) -> dict:
    """``A108T`` / ``S30del`` / ``K5_L7del`` → ``{change, ref, start, end}`` (strict)."""
    match = _SINGLE.match(text)
    if match:
        pos = int(match["pos"])
        return {"change": text, "ref": match["ref"], "start": pos, "end": pos}
    match = _SPAN.match(text)
    if match:
        start, end = int(match["pos"]), int(match["pos2"])
        if end <= start:
            raise SpecError(f"'{text}': the second position must follow the first")
        return {"change": text, "ref": match["ref"], "start": start, "end": end}
    raise SpecError(
        f"'{text}' is not a one-letter protein change (expected e.g. A108T, Q25*, S30del, K5_L7del)"
    )


def parse_spec(alteration_type: str, spec: str) -> dict:
    """Parse one biomarker ``alteration_spec`` for its ``alteration_type``; SpecError if bad.

    Returns a JSON-able dict whose keys depend on the type (see resources/knowledge/README.md).
    """
    if alteration_type not in ALTERATION_TYPES:
        raise SpecError(f"unknown alteration_type '{alteration_type}'")
    if spec != spec.strip() or not spec:
        raise SpecError(f"empty or padded spec '{spec}'")
    if alteration_type == "protein_change":
        changes = [parse_protein_change(part) for part in spec.split(",")]
        names = [change["change"] for change in changes]
        if len(set(names)) != len(names):
            raise SpecError(f"'{spec}' lists a change twice")
        return {"changes": changes}
    if alteration_type == "codon":
        if not _CODONS.match(spec):
            raise SpecError(f"'{spec}' is not a codon or comma-separated codons (e.g. 12,13,61)")
        codons = [int(part) for part in spec.split(",")]
        if len(set(codons)) != len(codons):
            raise SpecError(f"'{spec}' lists a codon twice")
        return {"codons": codons}
    if alteration_type == "aa_range":
        match = _RANGE.match(spec)
        if not match:
            raise SpecError(f"'{spec}' is not START-END[:scope] (e.g. 1-54:nontruncating)")
        start, end = int(match["start"]), int(match["end"])
        scope = match["scope"] or "any"
        if end < start:
            raise SpecError(f"'{spec}': END is before START")
        if scope not in RANGE_SCOPES:
            raise SpecError(f"'{spec}': scope must be one of {', '.join(RANGE_SCOPES)}")
        return {"start": start, "end": end, "scope": scope}
    if alteration_type == "biallelic_loss" and spec.startswith("*+"):
        # '*+R27P,S30del': these curated changes also count as the second hit beside a
        # copy loss (README, biallelic_loss).
        changes = [parse_protein_change(part) for part in spec[2:].split(",")]
        return {"second_hits": [change["change"] for change in changes]}
    if alteration_type in STAR_TYPES:
        if spec != "*":
            raise SpecError(f"'{alteration_type}' takes the spec '*' (got '{spec}')")
        return {}
    # cytogenetic: terms joined by '&' (all required), alternatives by '|' (any one)
    terms = []
    for term_text in spec.split("&"):
        alternatives = []
        for alt_text in term_text.split("|"):
            match = _CYTO_ALT.match(alt_text)
            if not match or match["abn"] not in CYTOGENETIC_ABNORMALITIES:
                raise SpecError(
                    f"'{alt_text}' in '{spec}' is not a known abnormality "
                    f"({', '.join(CYTOGENETIC_ABNORMALITIES)}) with optional '>=fraction'"
                )
            fraction = float(match["fraction"]) if match["fraction"] else None
            if fraction is not None and not 0 < fraction <= 1:
                raise SpecError(f"'{alt_text}': the clone-fraction threshold must be in (0, 1]")
            alternatives.append({"abnormality": match["abn"], "min_fraction": fraction})
        terms.append(alternatives)
    return {"terms": terms}


def shift_protein_change(change: str, offset: int) -> str:
    """Renumber a one-letter change by ``-offset`` (precursor → mature): A108T, 59 → A49T."""
    parsed = parse_protein_change(change)
    if parsed["start"] - offset < 1:
        raise SpecError(f"'{change}' lies in the first {offset} residues (propeptide)")
    match = _SINGLE.match(change)
    if match:
        return f"{match['ref']}{int(match['pos']) - offset}{match['kind']}"
    match = _SPAN.match(change)
    assert match is not None
    return (
        f"{match['ref']}{int(match['pos']) - offset}_{match['ref2']}"
        f"{int(match['pos2']) - offset}{match['kind']}"
    )


def expected_literature_alias(alteration_type: str, spec: str, offset: int) -> str:
    """The literature (mature) numbering of a precursor spec, '' when it has none."""
    parsed = parse_spec(alteration_type, spec)
    if alteration_type == "protein_change":
        if any(change["start"] <= offset for change in parsed["changes"]):
            return ""
        return ",".join(shift_protein_change(c["change"], offset) for c in parsed["changes"])
    if alteration_type == "codon":
        if any(codon <= offset for codon in parsed["codons"]):
            return ""
        return ",".join(str(codon - offset) for codon in parsed["codons"])
    if alteration_type == "aa_range":
        if parsed["start"] <= offset:
            return ""
        return f"{parsed['start'] - offset}-{parsed['end'] - offset}"
    return ""


_PMID = re.compile(r"PMID:\s*(\S*?)(?=[)\s,;]|$)")
_NCT = re.compile(r"\bNCT[0-9A-Za-z]*")
_DOI = re.compile(r"^DOI:10\.\d{4,9}/\S+$")
_YEAR = re.compile(r"\b(19|20)\d{2}\b")


def source_problems(token: str) -> list[str]:
    """Problems with one source: PMID:digits, DOI:10.x/y, NCT + 8 digits, or a citation.

    A free-text citation must carry a year or an identifier, or say 'unverified' when the
    curator could not confirm it; identifiers inside it are checked like bare ones.
    """
    problems = []
    if not token:
        return ["empty source"]
    if token.count("(") != token.count(")"):
        # Sources are split on ';', so a ';' inside parentheses cuts one citation in two.
        problems.append(f"unbalanced parentheses in '{token}' (a ';' inside a citation?)")
    for pmid in _PMID.findall(token):
        if not pmid.isdigit():
            problems.append(f"PMID must be numeric (got 'PMID:{pmid}')")
    for nct in _NCT.findall(token):
        if not re.fullmatch(r"NCT\d{8}", nct):
            problems.append(f"NCT id must be 'NCT' and 8 digits (got '{nct}')")
    if token.upper().startswith("DOI") and not _DOI.match(token):
        problems.append(f"DOI must look like DOI:10.1234/suffix (got '{token}')")
    is_identifier = (
        re.fullmatch(r"PMID:\d+", token) or re.fullmatch(r"NCT\d{8}", token) or _DOI.match(token)
    )
    names_identifier = _PMID.search(token) or _NCT.search(token) or "DOI:10." in token
    if not is_identifier and not names_identifier and not problems:
        if not _YEAR.search(token) and "unverified" not in token.lower():
            problems.append(
                f"citation '{token}' needs a year (or 'unverified'), or use PMID:/DOI:/NCT ids"
            )
    return problems


_RESOLVABLE = re.compile(r"PMID:\d+|\bNCT\d{8}\b|DOI:10\.\d{4,9}/[^\s;)]+")


def identifiers(token: str) -> list[str]:
    """The PMID, DOI and NCT ids a source names (bare or inside a citation), in order."""
    return _RESOLVABLE.findall(token)


def is_identifier(token: str) -> bool:
    """True when a source names at least one id a reader can resolve (PMID, DOI, NCT)."""
    return bool(_RESOLVABLE.search(token))


def source_list_problems(sources: list[str], where: str) -> list[str]:
    if not sources:
        return [f"{where}: no source"]
    return [f"{where}: {problem}" for token in sources for problem in source_problems(token)]
