"""Curated knowledge: load the tables (validated) or their compiled JSON, and look things up.

The tables live in ``resources/knowledge/`` (genes, biomarkers, drugs, regimens as TSV; trials,
supportive-care/risk rules and therapy-option rules as YAML; a date-based ``VERSION``).
``validate.py`` checks them, ``spec.py`` parses alteration specs, and ``Knowledge.to_json``
writes one compiled file that per-patient jobs load without pandas or jsonschema.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmresist.errors import KnowledgeError
from mmresist.io.files import atomic_write_text
from mmresist.knowledge.option_rules import resolve_option_rules
from mmresist.knowledge.polymorphisms import polymorphism_record
from mmresist.knowledge.regimen_evidence import approval_record, benefit_record
from mmresist.knowledge.spec import parse_spec
from mmresist.knowledge.tables import read_documents, read_raw, split_list
from mmresist.knowledge.validate import validate_knowledge

FORMAT = "mmresist-knowledge/1"
# Bases added on each side of a gene when reading an indexed VCF by region: VEP and snpEff
# name a gene for upstream/downstream variants up to 5 kb away by default, so a 10 kb
# margin keeps every record an annotator ties to a panel gene (see read_sample).
REGION_PADDING = 10_000


class UnknownDrugError(KnowledgeError, KeyError):
    """A drug name that is neither a generic name, a brand name nor an abbreviation."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownRegimenError(KnowledgeError, ValueError):
    """A regimen text with a part that names no known drug or regimen."""


# ---------------------------------------------------------------------------
# Knowledge
# ---------------------------------------------------------------------------
@dataclass
class Knowledge:
    """The curated tables in normalised form plus lookup indexes (see module docstring)."""

    version: str
    genes: dict[str, dict]
    biomarkers: list[dict]
    drugs: dict[str, dict]
    regimens: dict[str, dict]
    trials: list[dict] = field(default_factory=list)
    rules: dict = field(default_factory=dict)
    # option_rules.yaml with its references resolved (resolve_option_rules).
    option_rules: dict = field(default_factory=dict)
    # approvals.tsv, benefit.tsv and option_ranking.yaml (knowledge.regimen_evidence):
    # {"approvals": [...], "benefit": [...], "ranking": {...}}.
    regimen_evidence: dict = field(default_factory=dict)
    gene_coordinates: list[dict] = field(default_factory=list)
    # polymorphisms.tsv: common germline coding polymorphisms (likely_germline filter).
    polymorphisms: list[dict] = field(default_factory=list)
    # sha256 of the folder's table files it was built from (source_digest); "" if unknown.
    source_digest: str = ""
    gene_aliases: dict[str, str] = field(init=False)
    panel_genes: set[str] = field(init=False)
    _drug_exact: dict[str, str] = field(init=False, repr=False)
    _drug_folded: dict[str, set[str]] = field(init=False, repr=False)
    _regimen_folded: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.gene_aliases = {}
        for symbol, gene in self.genes.items():
            for alias in gene["aliases"]:
                self.gene_aliases[alias] = symbol
        self.panel_genes = set(self.genes) | set(self.gene_aliases)
        self._drug_exact = {}
        self._drug_folded = {}
        for generic, drug in self.drugs.items():
            for name in (generic, *drug["brand_names"], *drug["abbreviations"]):
                self._drug_exact.setdefault(name, generic)
                self._drug_folded.setdefault(name.casefold(), set()).add(generic)
        self._regimen_folded = {}
        for abbreviation, regimen in self.regimens.items():
            for name in (abbreviation, *regimen["aliases"]):
                self._regimen_folded.setdefault(name.casefold(), abbreviation)

    # -- genes ---------------------------------------------------------------
    def gene_regions(self, build: str) -> dict[str, tuple[str, int, int]]:
        """Panel symbol -> (chromosome without 'chr', start, end), 1-based inclusive, for
        ``build``; empty when the tables hold no coordinates for that build (validation
        makes sure a build present covers every panel gene)."""
        return {
            row["symbol"]: (row["chrom"], row["start"], row["end"])
            for row in self.gene_coordinates
            if row["genome_build"] == build
        }

    def panel_regions(
        self, build: str, padding: int = REGION_PADDING
    ) -> dict[str, list[tuple[int, int]]] | None:
        """Chromosome -> sorted, merged (start, end) intervals covering every panel gene of
        ``build`` with ``padding`` bases each side; None when the build has no coordinates,
        so a caller reads the whole file instead."""
        regions = self.gene_regions(build)
        if not regions or set(regions) != set(self.genes):
            return None
        by_chrom: dict[str, list[tuple[int, int]]] = {}
        for chrom, start, end in regions.values():
            by_chrom.setdefault(chrom, []).append((max(1, start - padding), end + padding))
        merged: dict[str, list[tuple[int, int]]] = {}
        for chrom, intervals in by_chrom.items():
            out: list[tuple[int, int]] = []
            for start, end in sorted(intervals):
                if out and start <= out[-1][1] + 1:
                    out[-1] = (out[-1][0], max(out[-1][1], end))
                else:
                    out.append((start, end))
            merged[chrom] = out
        return merged

    def canonical_gene(self, name: str) -> str:
        """Panel symbol for a symbol or alias (FAM46C → TENT5C); unknown names unchanged."""
        return self.gene_aliases.get(name, name)

    def category_of(self, symbol: str) -> str | None:
        """Category (``mmresist.vocab.CATEGORIES``) of a panel gene (aliases accepted); None
        for genes off the panel."""
        gene = self.genes.get(self.canonical_gene(symbol))
        return gene["category"] if gene else None

    # -- drugs ---------------------------------------------------------------
    def resolve_drug(self, name: str) -> str:
        """Generic name for a generic, brand or abbreviation (case-insensitive when unique)."""
        text = name.strip()
        if text in self._drug_exact:
            return self._drug_exact[text]
        candidates = self._drug_folded.get(text.casefold(), set())
        if len(candidates) == 1:
            return next(iter(candidates))
        if len(candidates) > 1:
            raise UnknownDrugError(
                f"drug '{name}' is ambiguous ({' or '.join(sorted(candidates))}); "
                "write the generic name or the exact-case abbreviation (e.g. D = daratumumab, "
                "d = dexamethasone)"
            )
        raise UnknownDrugError(
            f"unknown drug '{name}': use a generic name, brand name or abbreviation listed in "
            "resources/knowledge/drugs.tsv"
        )

    def drug_classes(self, drug: str) -> list[str]:
        """Drug-class ids (``mmresist.vocab.DRUG_CLASSES``) of a drug given by any of its names."""
        return list(self.drugs[self.resolve_drug(drug)]["drug_classes"])

    # -- regimens ------------------------------------------------------------
    def regimen_components(self, abbreviation: str) -> list[str] | None:
        key = self._regimen_folded.get(abbreviation.strip().casefold())
        return list(self.regimens[key]["components"]) if key else None

    def resolve_regimen(self, text: str) -> list[str]:
        """Generic drug names of a regimen: an abbreviation (VRd, DKd, Tec-Dara, ASCT) or
        drug/regimen names joined by '+', case-insensitive; ValueError names the bad part."""
        if not text or not text.strip():
            raise UnknownRegimenError("empty regimen: write drug names joined by '+'")
        whole = self.regimen_components(text)
        if whole is not None:
            return whole
        drugs: list[str] = []
        for part in text.split("+"):
            token = part.strip()
            if not token:
                raise UnknownRegimenError(f"empty part in regimen '{text}' (a stray '+')")
            found: list[str] | None
            try:
                found = [self.resolve_drug(token)]
            except UnknownDrugError as error:
                found = self.regimen_components(token)
                if found is None:
                    raise UnknownRegimenError(
                        f"unknown drug or regimen '{token}' in '{text}': {error}; regimen "
                        "abbreviations are listed in resources/knowledge/regimens.tsv"
                    ) from None
            for drug in found:
                if drug not in drugs:
                    drugs.append(drug)
        return drugs

    # -- serialisation -------------------------------------------------------
    def as_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": self.version,
            "genes": [self.genes[symbol] for symbol in self.genes],
            "biomarkers": self.biomarkers,
            "drugs": [self.drugs[generic] for generic in self.drugs],
            "regimens": [self.regimens[abbreviation] for abbreviation in self.regimens],
            "trials": self.trials,
            "rules": self.rules,
            "option_rules": self.option_rules,
            "regimen_evidence": self.regimen_evidence,
            "gene_coordinates": self.gene_coordinates,
            "polymorphisms": self.polymorphisms,
            "source_digest": self.source_digest,
        }

    def to_json(self, path: str | os.PathLike) -> None:
        """Write the compiled knowledge deterministically and atomically."""
        text = json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True, indent=1) + "\n"
        atomic_write_text(path, text)


# ---------------------------------------------------------------------------
# Normalising raw table rows
# ---------------------------------------------------------------------------
def _gene_record(row: dict) -> dict:
    offset = row["numbering_offset"]
    return {
        "symbol": row["symbol"],
        "hgnc_id": row["hgnc_id"],
        "ensembl_gene_id": row["ensembl_gene_id"],
        "category": row["category"],
        "role": row["role"],
        "drug_classes": split_list(row["drug_classes"]),
        "mechanism": row["mechanism"],
        "aliases": split_list(row["aliases"]),
        "numbering_offset": int(offset) if offset else None,
    }


def _coordinate_record(row: dict) -> dict:
    return {
        "symbol": row["symbol"],
        "genome_build": row["genome_build"],
        "chrom": row["chrom"],
        "start": int(row["start"]),
        "end": int(row["end"]),
        "strand": row["strand"],
        "source": row["source"],
    }


def _biomarker_record(row: dict) -> dict:
    return {
        "id": row["id"],
        "gene": row["gene"],
        "alteration_type": row["alteration_type"],
        "alteration_spec": row["alteration_spec"],
        "literature_alias": row["literature_alias"],
        "implication": row["implication"],
        "drugs": split_list(row["drugs"]),
        "drug_classes": split_list(row["drug_classes"]),
        "evidence_level": row["evidence_level"],
        "level_reason": row["level_reason"],
        "summary": row["summary"],
        "sources": split_list(row["sources"]),
        "last_reviewed": row["last_reviewed"],
        "parsed": parse_spec(row["alteration_type"], row["alteration_spec"]),
    }


def _drug_record(row: dict) -> dict:
    return {
        "generic_name": row["generic_name"],
        "brand_names": split_list(row["brand_names"]),
        "abbreviations": split_list(row["abbreviations"]),
        "drug_classes": split_list(row["drug_classes"]),
        "target": row["target"],
        "route": split_list(row["route"]),
        "status": row["status"],
        "renal_guidance": row["renal_guidance"],
        "notes": row["notes"],
    }


def _regimen_record(row: dict) -> dict:
    return {
        "abbreviation": row["abbreviation"],
        "aliases": split_list(row["aliases"]),
        "components": split_list(row["components"], "+"),
        "setting": row["setting"],
        "pivotal_trial": row["pivotal_trial"],
        "sources": split_list(row["sources"]),
    }


def _trial_record(trial: dict) -> dict:
    """A trial with its optional fields filled in, so every record has the same keys."""
    record = dict(trial)
    record.setdefault("nct_verified", True)
    for key in ("other_ids", "comparator_agents", "other_agents"):
        record.setdefault(key, [])
    for key in ("status_as_seen", "note"):
        record.setdefault(key, "")
    return record


def _build(version: str, tables: dict) -> Knowledge:
    return Knowledge(
        version=version,
        genes={row["symbol"]: row for row in tables["genes"]},
        biomarkers=tables["biomarkers"],
        drugs={row["generic_name"]: row for row in tables["drugs"]},
        regimens={row["abbreviation"]: row for row in tables["regimens"]},
        trials=tables.get("trials", []),
        rules=tables.get("rules", {}),
        option_rules=tables.get("option_rules", {}),
        regimen_evidence=tables.get("regimen_evidence", {}),
        gene_coordinates=tables.get("gene_coordinates", []),
        polymorphisms=tables.get("polymorphisms", []),
    )


def source_files(path: str | os.PathLike) -> list[Path]:
    """The files of a knowledge folder that a compiled JSON is made from, sorted."""
    folder = Path(path)
    return sorted(
        item
        for item in folder.iterdir()
        if item.is_file() and (item.suffix in (".tsv", ".yaml") or item.name == "VERSION")
    )


def source_digest(path: str | os.PathLike) -> str:
    """sha256 over the compiled format and every source file's name and bytes: a compiled
    JSON that records the folder's current digest was made from exactly these tables."""
    import hashlib

    digest = hashlib.sha256(FORMAT.encode())
    for item in source_files(path):
        digest.update(b"\0" + item.name.encode() + b"\0" + item.read_bytes())
    return digest.hexdigest()


def compiled_is_fresh(folder: str | os.PathLike, compiled: str | os.PathLike) -> bool:
    """Whether ``compiled`` (a JSON written by ``to_json``) was made from ``folder`` as it
    is now; a shipped compiled file saves every run a compile job while the tables are
    unchanged, and is ignored the moment one changes."""
    try:
        data = json.loads(Path(compiled).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return (
        isinstance(data, dict)
        and data.get("format") == FORMAT
        and data.get("source_digest") == source_digest(folder)
    )


def builds_with_coordinates(path: str | os.PathLike) -> set[str]:
    """Genome builds that gene_coordinates.tsv of a knowledge folder has rows for, read
    without validating the folder (cheap enough for planning jobs before any runs)."""
    import csv

    table = Path(path) / "gene_coordinates.tsv"
    if not table.is_file():
        return set()
    with table.open(newline="", encoding="utf-8") as stream:
        return {row.get("genome_build", "") for row in csv.DictReader(stream, delimiter="\t")}


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------
def load_knowledge(path: str | os.PathLike) -> Knowledge:
    """Load a knowledge folder (validated) or a compiled JSON written by ``to_json``."""
    source = Path(path)
    if source.is_dir():
        problems = validate_knowledge(source)
        if problems:
            shown = "\n  ".join(problems[:20])
            more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise KnowledgeError(
                f"knowledge in {source} is invalid ({len(problems)} problems):\n  {shown}{more}"
            )
        version, raw, _ = read_raw(source)
        assert version is not None
        tables: dict[str, Any] = {
            "genes": [_gene_record(row) for row in raw["genes"]],
            "biomarkers": [_biomarker_record(row) for row in raw["biomarkers"]],
            "drugs": [_drug_record(row) for row in raw["drugs"]],
            "regimens": [_regimen_record(row) for row in raw["regimens"]],
            "gene_coordinates": [_coordinate_record(row) for row in raw["gene_coordinates"]],
            "polymorphisms": [polymorphism_record(row) for row in raw["polymorphisms"]],
        }
        documents, _ = read_documents(source)
        trials, rules = documents["trials"], documents["rules"]
        option_rules = documents["option_rules"]
        assert trials is not None and rules is not None and option_rules is not None
        tables["trials"] = [_trial_record(trial) for trial in trials["trials"]]
        tables["rules"] = {key: value for key, value in rules.items() if key != "format"}
        # trials.yaml's status policy travels with the rules (knowledge.rules["trial_status"]).
        tables["rules"]["trial_status"] = trials.get("status_policy") or {}
        tables["option_rules"] = resolve_option_rules(
            option_rules,
            rules,
            {row["id"]: row["sources"] for row in tables["biomarkers"]},
        )
        ranking = documents["option_ranking"]
        assert ranking is not None
        tables["regimen_evidence"] = {
            "approvals": [approval_record(row) for row in raw["approvals"]],
            "benefit": [benefit_record(row) for row in raw["benefit"]],
            "ranking": {key: value for key, value in ranking.items() if key != "format"},
        }
        knowledge = _build(version, tables)
        knowledge.source_digest = source_digest(source)
        return knowledge
    if source.is_file():
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise KnowledgeError(f"{source}: not a compiled knowledge JSON ({error})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise KnowledgeError(
                f"{source}: not a compiled knowledge file of format {FORMAT}; "
                "run 'mmresist knowledge compile'"
            )
        for biomarker in data["biomarkers"]:
            biomarker["parsed"] = parse_spec(
                biomarker["alteration_type"], biomarker["alteration_spec"]
            )
        knowledge = _build(data["version"], data)
        knowledge.source_digest = data.get("source_digest", "")
        return knowledge
    raise KnowledgeError(f"{source}: no knowledge folder or compiled JSON there")


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------
def describe_gene(knowledge: Knowledge, name: str) -> str:
    """Plain-text summary of what the tables say about a gene (``mmresist knowledge show``)."""
    symbol = knowledge.canonical_gene(name.strip())
    gene = knowledge.genes.get(symbol)
    rows = [b for b in knowledge.biomarkers if b["gene"] == symbol]
    if gene is None and not rows:
        upper = {s.upper(): s for s in knowledge.genes}
        if name.strip().upper() in upper:
            return describe_gene(knowledge, upper[name.strip().upper()])
        raise KnowledgeError(f"'{name}' is neither a panel gene, an alias nor a biomarker gene")
    lines = []
    if gene is not None:
        lines += [
            f"{symbol} ({gene['hgnc_id'] or 'HGNC id not curated'}, "
            f"{gene['ensembl_gene_id'] or 'Ensembl id not curated'})",
            f"  category: {gene['category']}; role: {gene['role']}",
            f"  drug classes: {', '.join(gene['drug_classes']) or '-'}",
            f"  aliases: {', '.join(gene['aliases']) or '-'}",
            f"  mechanism: {gene['mechanism']}",
        ]
        if gene["numbering_offset"]:
            lines.append(
                f"  numbering: literature position + {gene['numbering_offset']} = HGVS position"
            )
    else:
        lines.append(symbol)
    lines.append(f"  biomarkers ({len(rows)}; knowledge {knowledge.version}):")
    for row in rows:
        alias = f" [literature {row['literature_alias']}]" if row["literature_alias"] else ""
        drugs = ", ".join(row["drugs"]) or "-"
        lines.append(
            f"    {row['id']}: {row['alteration_type']} {row['alteration_spec']}{alias} -> "
            f"{row['implication']} ({drugs}); level {row['evidence_level']}; "
            f"{'; '.join(row['sources'])}"
        )
    return "\n".join(lines)


__all__ = [
    "FORMAT",
    "REGION_PADDING",
    "Knowledge",
    "UnknownDrugError",
    "UnknownRegimenError",
    "builds_with_coordinates",
    "compiled_is_fresh",
    "describe_gene",
    "load_knowledge",
    "source_digest",
]
