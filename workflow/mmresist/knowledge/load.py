"""Curated knowledge tables: load, validate, compile to JSON, and look up genes, drugs, regimens.

The tables live in ``resources/knowledge/`` (genes, biomarkers, drugs, regimens as TSV; trials
and supportive-care/risk rules as YAML; a date-based ``VERSION``). Loading the folder validates
every table against its JSON schema in ``workflow/mmresist/knowledge/schemas/`` and cross-checks
references; ``Knowledge.to_json`` writes one compiled file that per-patient jobs load without
pandas or jsonschema.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path

from mmresist.errors import KnowledgeError
from mmresist.vocab import ALTERATION_TYPES, CYTOGENETIC_ABNORMALITIES, DRUG_CLASSES

FORMAT = "mmresist-knowledge/1"
TABLES = ("genes", "biomarkers", "drugs", "regimens", "gene_coordinates")
DOCUMENTS = ("trials", "rules")  # YAML files, each with a JSON schema of the same name
COLUMNS = {
    "genes": (
        "symbol",
        "hgnc_id",
        "ensembl_gene_id",
        "category",
        "role",
        "drug_classes",
        "mechanism",
        "aliases",
        "numbering_offset",
    ),
    "biomarkers": (
        "id",
        "gene",
        "alteration_type",
        "alteration_spec",
        "literature_alias",
        "implication",
        "drugs",
        "drug_classes",
        "evidence_level",
        "summary",
        "sources",
        "last_reviewed",
    ),
    "drugs": (
        "generic_name",
        "brand_names",
        "abbreviations",
        "drug_classes",
        "target",
        "route",
        "status",
        "renal_guidance",
        "notes",
    ),
    "regimens": ("abbreviation", "aliases", "components", "setting", "pivotal_trial", "sources"),
    "gene_coordinates": ("symbol", "genome_build", "chrom", "start", "end", "strand", "source"),
}
# Bases added on each side of a gene when reading an indexed VCF by region: VEP and snpEff
# name a gene for upstream/downstream variants up to 5 kb away by default, so a 10 kb
# margin keeps every record an annotator ties to a panel gene (see read_sample).
REGION_PADDING = 10_000
ROLES = ("driver", "therapy_selected", "immunotherapy_target", "drug_target")
SCHEMA_DIR = Path(str(resources.files("mmresist.knowledge") / "schemas"))
VERSION_PATTERN = re.compile(r"^\d{4}\.\d{2}\.\d{2}(\.\d+)?$")

# Trial and risk criteria (resources/knowledge/README.md, "Criterion types"): the parameters
# each type takes besides the common id, type, kind, text and verified.
CRITERION_PARAMS: dict[str, frozenset[str]] = {
    "prior_lines": frozenset({"min", "max"}),
    "exposed_class": frozenset({"class"}),
    "refractory_class": frozenset({"class"}),
    "not_refractory_class": frozenset({"class"}),
    "exposed_drug": frozenset({"drug"}),
    "refractory_drug": frozenset({"drug"}),
    "prior_target_therapy": frozenset({"target", "rule", "modalities"}),
    "biomarker": frozenset({"biomarker_id", "gene", "alteration_type", "spec"}),
    "lab": frozenset({"test", "op", "value", "unit"}),
    "age": frozenset({"min", "max"}),
    "ecog": frozenset({"max"}),
    "other": frozenset(),
    "any_of": frozenset({"criteria"}),
    "all_of": frozenset({"criteria"}),
}
CRITERION_TYPES = tuple(CRITERION_PARAMS)
CRITERION_COMMON = frozenset({"id", "type", "kind", "text", "verified"})
# Lab tests a criterion or rule may name, with their canonical unit: the clinical tests of
# mmresist.io.clinical.LAB_UNITS plus creatinine clearance, which the reasoning code derives.
DERIVED_LAB_UNITS = {"creatinine_clearance": "mL/min"}


class UnknownDrugError(KnowledgeError, KeyError):
    """A drug name that is neither a generic name, a brand name nor an abbreviation."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownRegimenError(KnowledgeError, ValueError):
    """A regimen text with a part that names no known drug or regimen."""


class SpecError(ValueError):
    """An alteration spec or literature alias that does not follow the grammar."""


# ---------------------------------------------------------------------------
# Alteration spec grammar
# ---------------------------------------------------------------------------
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


def spec_positions(alteration_type: str, parsed: dict) -> list[int]:
    """Residue positions a parsed spec names (empty for types without positions)."""
    if alteration_type == "protein_change":
        return [change["start"] for change in parsed["changes"]]
    if alteration_type == "codon":
        return list(parsed["codons"])
    if alteration_type == "aa_range":
        return [parsed["start"], parsed["end"]]
    return []


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


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------
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


def split_list(text: str, sep: str = ";") -> list[str]:
    return [part.strip() for part in text.split(sep) if part.strip()] if text else []


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
    gene_coordinates: list[dict] = field(default_factory=list)
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
        """SPEC category of a panel gene (aliases accepted); None for genes off the panel."""
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
        """SPEC drug-class ids of a drug given by any of its names."""
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
            "gene_coordinates": self.gene_coordinates,
            "source_digest": self.source_digest,
        }

    def to_json(self, path: str | os.PathLike) -> None:
        """Write the compiled knowledge deterministically and atomically."""
        text = json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True, indent=1) + "\n"
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".knowledge.", dir=target.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)  # mkstemp creates 0600
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


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
        gene_coordinates=tables.get("gene_coordinates", []),
    )


# ---------------------------------------------------------------------------
# Reading and validating the folder
# ---------------------------------------------------------------------------
def _read_raw(directory: Path) -> tuple[str | None, dict[str, list[dict]], list[str]]:
    """Version text and raw string rows per table, plus problems reading them."""
    import pandas as pd

    problems: list[str] = []
    version = None
    version_path = directory / "VERSION"
    if not version_path.is_file():
        problems.append(f"{version_path}: missing (a date-based version such as 2026.11.27)")
    else:
        version = version_path.read_text(encoding="utf-8").strip()
        if not VERSION_PATTERN.match(version):
            problems.append(f"{version_path}: '{version}' is not a date-based YYYY.MM.DD version")
    raw: dict[str, list[dict]] = {}
    for table in TABLES:
        path = directory / f"{table}.tsv"
        raw[table] = []
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        try:
            frame = pd.read_csv(
                path,
                sep="\t",
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                quoting=3,  # csv.QUOTE_NONE: quotes are text in curated summaries
                encoding="utf-8",
            )
        except (ValueError, pd.errors.ParserError) as error:
            problems.append(f"{path}: not a readable TSV ({error})")
            continue
        expected = list(COLUMNS[table])
        if list(frame.columns) != expected:
            problems.append(
                f"{path}: columns {list(frame.columns)} differ from the expected {expected}"
            )
            continue
        raw[table] = frame.to_dict("records")
    return version, raw, problems


def _schema_problems(table: str, rows: list[dict], path: Path) -> list[str]:
    import jsonschema

    schema_path = SCHEMA_DIR / f"{table}.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for number, row in enumerate(rows, start=2):
        for error in sorted(validator.iter_errors(row), key=lambda e: list(e.path)):
            column = error.path[0] if error.path else "(row)"
            problems.append(f"{path.name} line {number}, column '{column}': {error.message}")
    return problems


def _yaml_loader():
    """A safe YAML loader that keeps dates as strings (the schemas check their format)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def _read_documents(directory: Path) -> tuple[dict[str, dict | None], list[str]]:
    """The parsed YAML documents (None when missing or unreadable) and problems reading them."""
    import yaml

    documents: dict[str, dict | None] = {}
    problems: list[str] = []
    for name in DOCUMENTS:
        path = directory / f"{name}.yaml"
        documents[name] = None
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_yaml_loader())  # noqa: S506
        except (UnicodeDecodeError, yaml.YAMLError) as error:
            problems.append(f"{path}: not readable YAML ({error})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{path}: expected a mapping with 'format' at the top")
            continue
        documents[name] = data
    return documents, problems


def _document_schema_problems(name: str, data: dict) -> list[str]:
    import jsonschema

    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path]):
        problems.append(
            f"{name}.yaml {_yaml_path(data, list(error.absolute_path))}: {error.message}"
        )
    return problems


def _yaml_path(data: object, path: list) -> str:
    """``trials[3].criteria[1].kind`` with the id of each list item that has one."""
    text = ""
    node = data
    for step in path:
        if isinstance(step, int):
            label = str(step)
            if isinstance(node, list) and step < len(node) and isinstance(node[step], dict):
                item_id = node[step].get("id")
                if isinstance(item_id, str):
                    label = f"{step}:{item_id}"
            text += f"[{label}]"
        else:
            text += f".{step}" if text else str(step)
        try:
            node = node[step]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            node = None
    return text or "(top)"


def validate_knowledge(directory: str | os.PathLike) -> list[str]:
    """Every problem in the knowledge folder; an empty list means valid."""
    folder = Path(directory)
    if not folder.is_dir():
        return [f"{folder}: not a directory"]
    version, raw, problems = _read_raw(folder)
    for table in TABLES:
        problems += _schema_problems(table, raw[table], folder / f"{table}.tsv")
    documents, document_problems = _read_documents(folder)
    problems += document_problems
    for name in DOCUMENTS:
        if documents[name] is not None:
            problems += _document_schema_problems(name, documents[name])
    if problems:
        return problems
    problems = _reference_problems(raw)
    problems += _document_problems(raw, documents)
    return problems


def _coordinate_problems(rows: list[dict], symbols: dict[str, int]) -> list[str]:
    """gene_coordinates.tsv: panel symbols only, one row per gene and build, start <= end,
    and a build that is present covers every panel gene (region reading relies on it)."""
    problems: list[str] = []
    seen: dict[str, set[str]] = {}
    for i, row in enumerate(rows):
        where = _where("gene_coordinates", i, "symbol")
        if row["symbol"] not in symbols:
            problems.append(f"{where}: '{row['symbol']}' is not a symbol in genes.tsv")
        genes = seen.setdefault(row["genome_build"], set())
        if row["symbol"] in genes:
            problems.append(f"{where}: a second {row['genome_build']} row for {row['symbol']}")
        genes.add(row["symbol"])
        if int(row["start"]) > int(row["end"]):
            problems.append(
                f"{_where('gene_coordinates', i, 'end')}: end {row['end']} is before "
                f"start {row['start']}"
            )
    for build, genes in sorted(seen.items()):
        missing = sorted(set(symbols) - genes)
        if missing:
            problems.append(
                f"gene_coordinates.tsv: {build} has no row for {', '.join(missing)}; a build "
                "must cover every panel gene or none"
            )
    return problems


def _where(table: str, index: int, column: str) -> str:
    return f"{table}.tsv line {index + 2}, column '{column}'"


def _reference_problems(raw: dict[str, list[dict]]) -> list[str]:
    problems: list[str] = []
    # genes: unique symbols and aliases that point one way only
    symbols: dict[str, int] = {}
    for i, row in enumerate(raw["genes"]):
        if row["symbol"] in symbols:
            problems.append(f"{_where('genes', i, 'symbol')}: duplicate symbol {row['symbol']}")
        symbols[row["symbol"]] = i
        problems += _class_problems(row["drug_classes"], _where("genes", i, "drug_classes"))
    alias_owner: dict[str, str] = {}
    for i, row in enumerate(raw["genes"]):
        for alias in split_list(row["aliases"]):
            if alias in symbols:
                problems.append(f"{_where('genes', i, 'aliases')}: '{alias}' is a panel symbol")
            elif alias in alias_owner and alias_owner[alias] != row["symbol"]:
                problems.append(
                    f"{_where('genes', i, 'aliases')}: '{alias}' is also an alias of "
                    f"{alias_owner[alias]}"
                )
            alias_owner[alias] = row["symbol"]
    offsets = {
        row["symbol"]: int(row["numbering_offset"])
        for row in raw["genes"]
        if row["numbering_offset"]
    }
    problems += _coordinate_problems(raw["gene_coordinates"], symbols)
    # drugs: names that resolve one way only
    generics: set[str] = set()
    exact_names: dict[str, str] = {}
    for i, row in enumerate(raw["drugs"]):
        generic = row["generic_name"]
        if generic in generics:
            problems.append(f"{_where('drugs', i, 'generic_name')}: duplicate drug {generic}")
        generics.add(generic)
        problems += _class_problems(row["drug_classes"], _where("drugs", i, "drug_classes"))
        if not split_list(row["drug_classes"]):
            problems.append(f"{_where('drugs', i, 'drug_classes')}: a drug needs a class")
        names = [generic, *split_list(row["brand_names"]), *split_list(row["abbreviations"])]
        for name in names:
            owner = exact_names.get(name)
            if owner is not None and owner != generic:
                problems.append(
                    f"{_where('drugs', i, 'abbreviations')}: '{name}' already names {owner}"
                )
            exact_names[name] = generic
    drug_classes = {
        row["generic_name"]: set(split_list(row["drug_classes"])) for row in raw["drugs"]
    }
    # biomarkers
    ids: set[str] = set()
    for i, row in enumerate(raw["biomarkers"]):
        if row["id"] in ids:
            problems.append(f"{_where('biomarkers', i, 'id')}: duplicate id {row['id']}")
        ids.add(row["id"])
        try:
            parse_spec(row["alteration_type"], row["alteration_spec"])
        except SpecError as error:
            problems.append(f"{_where('biomarkers', i, 'alteration_spec')}: {error}")
            continue
        gene = row["gene"]
        if row["alteration_type"] == "cytogenetic":
            if gene not in symbols and gene not in CYTOGENETIC_ABNORMALITIES:
                problems.append(
                    f"{_where('biomarkers', i, 'gene')}: '{gene}' is neither a panel gene nor a "
                    "cytogenetic abnormality"
                )
        elif gene not in symbols:
            problems.append(f"{_where('biomarkers', i, 'gene')}: '{gene}' is not in genes.tsv")
        if gene in offsets:
            problems += _alias_problems(
                row, offsets[gene], _where("biomarkers", i, "literature_alias")
            )
        row_classes = split_list(row["drug_classes"])
        problems += _class_problems(row["drug_classes"], _where("biomarkers", i, "drug_classes"))
        for drug in split_list(row["drugs"]):
            if drug not in generics:
                problems.append(
                    f"{_where('biomarkers', i, 'drugs')}: '{drug}' is not a generic name in "
                    "drugs.tsv"
                )
            elif not drug_classes[drug] & set(row_classes):
                problems.append(
                    f"{_where('biomarkers', i, 'drug_classes')}: none of {row_classes} is a "
                    f"class of {drug} ({sorted(drug_classes[drug])})"
                )
        if row["implication"] in ("resistance", "sensitivity", "eligibility") and not split_list(
            row["drugs"]
        ):
            problems.append(
                f"{_where('biomarkers', i, 'drugs')}: a {row['implication']} row names its drugs"
            )
        problems += _sources_problems(row["sources"], _where("biomarkers", i, "sources"))
        try:
            date.fromisoformat(row["last_reviewed"])
        except ValueError:
            problems.append(f"{_where('biomarkers', i, 'last_reviewed')}: not an ISO date")
    # regimens
    regimen_names: dict[str, str] = {}
    for i, row in enumerate(raw["regimens"]):
        for name in (row["abbreviation"], *split_list(row["aliases"])):
            owner = regimen_names.get(name.casefold())
            if owner is not None and owner != row["abbreviation"]:
                problems.append(
                    f"{_where('regimens', i, 'aliases')}: '{name}' already names regimen {owner}"
                )
            regimen_names[name.casefold()] = row["abbreviation"]
        components = split_list(row["components"], "+")
        for component in components:
            if component not in generics:
                problems.append(
                    f"{_where('regimens', i, 'components')}: '{component}' is not a generic "
                    "name in drugs.tsv"
                )
        for name in (row["abbreviation"], *split_list(row["aliases"])):
            same = {exact_names[n] for n in exact_names if n.casefold() == name.casefold()}
            if same and sorted(same) != sorted(set(components)):
                problems.append(
                    f"{_where('regimens', i, 'aliases')}: '{name}' is also a drug name "
                    f"({', '.join(sorted(same))}) with other components"
                )
        problems += _sources_problems(row["sources"], _where("regimens", i, "sources"))
    return problems


# ---------------------------------------------------------------------------
# Trials and rules: cross-references the schemas cannot check
# ---------------------------------------------------------------------------
@dataclass
class _Context:
    """What criteria and rules may refer to: drugs, genes, biomarker ids, lab tests."""

    generics: set[str]
    drug_classes: dict[str, set[str]]
    symbols: set[str]
    biomarker_ids: set[str]
    lab_units: dict[str, str]


def lab_test_units() -> dict[str, str]:
    """Lab tests a criterion or rule may name → canonical unit (clinical tests + CrCl)."""
    from mmresist.io.clinical import LAB_UNITS

    units = {test: canonical for test, (canonical, _) in LAB_UNITS.items()}
    units.update(DERIVED_LAB_UNITS)
    return units


def _document_problems(raw: dict[str, list[dict]], documents: dict) -> list[str]:
    context = _Context(
        generics={row["generic_name"] for row in raw["drugs"]},
        drug_classes={
            row["generic_name"]: set(split_list(row["drug_classes"])) for row in raw["drugs"]
        },
        symbols={row["symbol"] for row in raw["genes"]},
        biomarker_ids={row["id"] for row in raw["biomarkers"]},
        lab_units=lab_test_units(),
    )
    return _trial_problems(documents["trials"]["trials"], context) + _rule_problems(
        documents["rules"], context
    )


def _trial_problems(trials: list[dict], context: _Context) -> list[str]:
    problems: list[str] = []
    seen_ids: set[str] = set()
    seen_registry: dict[str, str] = {}
    for index, trial in enumerate(trials):
        where = f"trials.yaml trials[{index}:{trial['id']}]"
        if trial["id"] in seen_ids:
            problems.append(f"{where}.id: duplicate trial id {trial['id']}")
        seen_ids.add(trial["id"])
        registry_ids = [trial["nct_id"]] if trial["nct_id"] else []
        registry_ids += trial.get("other_ids", [])
        if not registry_ids:
            problems.append(f"{where}.nct_id: a trial without an NCT id needs other_ids")
        for registry_id in registry_ids:
            owner = seen_registry.get(registry_id)
            if owner is not None and owner != trial["id"]:
                problems.append(f"{where}: registry id {registry_id} also names {owner}")
            seen_registry[registry_id] = trial["id"]
            if registry_id.upper().startswith("NCT") and not re.fullmatch(r"NCT\d{8}", registry_id):
                problems.append(
                    f"{where}.other_ids: NCT id must be 'NCT' and 8 digits (got '{registry_id}')"
                )
        problems += _status_problems(trial, where)
        for key in ("agents", "comparator_agents"):
            for drug in trial.get(key, []):
                if drug not in context.generics:
                    problems.append(f"{where}.{key}: '{drug}' is not a generic name in drugs.tsv")
        if not trial["agents"] and not trial.get("other_agents"):
            problems.append(f"{where}.agents: a trial names its agents (or other_agents)")
        if not trial.get("other_agents"):
            held = set().union(*(context.drug_classes.get(d, set()) for d in trial["agents"]))
            for drug_class in trial["drug_classes"]:
                if drug_class not in held:
                    problems.append(
                        f"{where}.drug_classes: no agent of the trial is a {drug_class}"
                    )
        problems += _source_list_problems(trial["sources"], f"{where}.sources")
        try:
            date.fromisoformat(trial["last_reviewed"])
        except ValueError:
            problems.append(f"{where}.last_reviewed: not an ISO date")
        problems += _criteria_problems(trial["criteria"], f"{where}.criteria", context, top=True)
    return problems


def _status_problems(trial: dict, where: str) -> list[str]:
    checked = trial["status_checked"]
    if checked is None:
        if trial["status"] != "unknown":
            return [
                f"{where}.status: '{trial['status']}' needs the date it was seen in "
                "status_checked; without a date write status: unknown (and the wording seen "
                "in status_as_seen)"
            ]
        return []
    try:
        date.fromisoformat(checked if len(checked) == 10 else f"{checked}-01")
    except ValueError:
        return [f"{where}.status_checked: '{checked}' is not a real date"]
    return []


def _source_list_problems(sources: list[str], where: str) -> list[str]:
    if not sources:
        return [f"{where}: no source"]
    return [f"{where}: {problem}" for token in sources for problem in source_problems(token)]


def _criteria_problems(
    criteria: list[dict], where: str, context: _Context, *, top: bool
) -> list[str]:
    problems: list[str] = []
    ids: set[str] = set()
    for index, criterion in enumerate(criteria):
        label = f"{where}[{index}:{criterion['id']}]" if "id" in criterion else f"{where}[{index}]"
        if "id" in criterion:
            if criterion["id"] in ids:
                problems.append(f"{label}.id: duplicate criterion id")
            ids.add(criterion["id"])
        problems += _criterion_problems(criterion, label, context, top=top)
    return problems


def _criterion_problems(criterion: dict, where: str, context: _Context, *, top: bool) -> list[str]:
    kind = criterion["type"]
    problems: list[str] = []
    if kind not in CRITERION_PARAMS:
        return [f"{where}.type: unknown criterion type '{kind}' ({', '.join(CRITERION_TYPES)})"]
    extra = set(criterion) - CRITERION_COMMON - CRITERION_PARAMS[kind]
    if extra:
        problems.append(f"{where}: '{kind}' takes no {', '.join(sorted(extra))}")
    if not top and "kind" in criterion:
        problems.append(f"{where}.kind: only top-level criteria say inclusion or exclusion")
    if kind in ("prior_lines", "age"):
        low, high = criterion.get("min"), criterion.get("max")
        if low is not None and high is not None and low > high:
            problems.append(f"{where}: min {low} is above max {high}")
        if kind == "prior_lines" and any(v is not None and v != int(v) for v in (low, high)):
            problems.append(f"{where}: prior lines are whole numbers")
    elif kind in ("exposed_drug", "refractory_drug"):
        if criterion["drug"] not in context.generics:
            problems.append(
                f"{where}.drug: '{criterion['drug']}' is not a generic name in drugs.tsv"
            )
    elif kind == "not_refractory_class":
        if criterion.get("kind") == "exclusion":
            problems.append(
                f"{where}.kind: not_refractory_class is an inclusion; write refractory_class "
                "as an inclusion instead of a double negative"
            )
    elif kind == "prior_target_therapy":
        expected = "exclusion" if criterion["rule"] == "excluded" else "inclusion"
        if "kind" in criterion and criterion["kind"] != expected:
            problems.append(f"{where}.kind: rule '{criterion['rule']}' goes with kind '{expected}'")
    elif kind == "biomarker":
        problems += _biomarker_criterion_problems(criterion, where, context)
    elif kind == "lab":
        problems += _lab_problems(criterion["test"], criterion["unit"], where, context)
    elif kind in ("any_of", "all_of"):
        problems += _criteria_problems(
            criterion["criteria"], f"{where}.criteria", context, top=False
        )
    return problems


def _biomarker_criterion_problems(criterion: dict, where: str, context: _Context) -> list[str]:
    if "biomarker_id" in criterion:
        if set(criterion) & {"gene", "alteration_type", "spec"}:
            return [f"{where}: give either biomarker_id or alteration_type and spec, not both"]
        if criterion["biomarker_id"] not in context.biomarker_ids:
            return [f"{where}.biomarker_id: '{criterion['biomarker_id']}' is not in biomarkers.tsv"]
        return []
    problems = []
    try:
        parse_spec(criterion["alteration_type"], criterion["spec"])
    except SpecError as error:
        problems.append(f"{where}.spec: {error}")
    gene = criterion.get("gene")
    if criterion["alteration_type"] != "cytogenetic" and gene is None:
        problems.append(f"{where}.gene: a {criterion['alteration_type']} criterion names its gene")
    if gene is not None and gene not in context.symbols:
        problems.append(f"{where}.gene: '{gene}' is not a symbol in genes.tsv")
    return problems


def _lab_problems(test: str, unit: str, where: str, context: _Context) -> list[str]:
    if test not in context.lab_units:
        return [f"{where}.test: unknown lab test '{test}' ({', '.join(sorted(context.lab_units))})"]
    if unit != context.lab_units[test]:
        return [
            f"{where}.unit: '{unit}' is not the canonical unit of {test} "
            f"('{context.lab_units[test]}')"
        ]
    return []


def _rule_problems(rules: dict, context: _Context) -> list[str]:
    problems: list[str] = []
    ids: set[str] = set()
    for index, rule in enumerate(rules["supportive_care"]):
        where = f"rules.yaml supportive_care[{index}:{rule['id']}]"
        if rule["id"] in ids:
            problems.append(f"{where}.id: duplicate rule id {rule['id']}")
        ids.add(rule["id"])
        for drug in rule.get("applies_to", {}).get("drugs", []):
            if drug not in context.generics:
                problems.append(f"{where}.applies_to: '{drug}' is not a generic name in drugs.tsv")
        if "test" in rule:
            problems += _lab_problems(rule["test"], rule["unit"], where, context)
        for number, band in enumerate(rule.get("bands", [])):
            low, high = band["lower"], band["upper"]
            if low is not None and high is not None and low >= high:
                problems.append(f"{where}.bands[{number}]: lower {low} is not below upper {high}")
        problems += _source_list_problems(rule["source"], f"{where}.source")
    risk = rules["risk"]
    for key, section in risk.items():
        where = f"rules.yaml risk.{key}"
        if section["id"] in ids:
            problems.append(f"{where}.id: duplicate rule id {section['id']}")
        ids.add(section["id"])
        problems += _source_list_problems(section["source"], f"{where}.source")
    high_risk = risk["high_risk"]
    problems += _criteria_problems(
        high_risk["criteria"], "rules.yaml risk.high_risk.criteria", context, top=False
    )
    for key in ("iss", "r_iss"):
        for number, stage in enumerate(risk[key]["stages"]):
            problems += _criteria_problems(
                stage.get("criteria", []),
                f"rules.yaml risk.{key}.stages[{number}].criteria",
                context,
                top=False,
            )
    cyto_specs = [("risk.r_iss.high_risk_cytogenetics", risk["r_iss"]["high_risk_cytogenetics"])]
    cyto_specs += [
        (f"risk.r2_iss.points[{number}].spec", item["spec"])
        for number, item in enumerate(risk["r2_iss"]["points"])
        if "spec" in item
    ]
    for where, spec in cyto_specs:
        try:
            parse_spec("cytogenetic", spec)
        except SpecError as error:
            problems.append(f"rules.yaml {where}: {error}")
    for number, group in enumerate(risk["r2_iss"]["groups"]):
        if group["min"] > group["max"]:
            problems.append(f"rules.yaml risk.r2_iss.groups[{number}]: min is above max")
    return problems


def _class_problems(text: str, where: str) -> list[str]:
    return [
        f"{where}: unknown drug class '{value}'"
        for value in split_list(text)
        if value not in DRUG_CLASSES
    ]


def _sources_problems(text: str, where: str) -> list[str]:
    tokens = split_list(text)
    if not tokens:
        return [f"{where}: no source"]
    return [f"{where}: {problem}" for token in tokens for problem in source_problems(token)]


def _alias_problems(row: dict, offset: int, where: str) -> list[str]:
    kind = row["alteration_type"]
    if kind not in ("protein_change", "codon", "aa_range"):
        return []
    expected = expected_literature_alias(kind, row["alteration_spec"], offset)
    if row["literature_alias"] != expected:
        return [
            f"{where}: '{row['literature_alias']}' does not match the spec "
            f"'{row['alteration_spec']}' minus the numbering offset {offset} "
            f"(expected '{expected}')"
        ]
    return []


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
        version, raw, _ = _read_raw(source)
        assert version is not None
        tables = {
            "genes": [_gene_record(row) for row in raw["genes"]],
            "biomarkers": [_biomarker_record(row) for row in raw["biomarkers"]],
            "drugs": [_drug_record(row) for row in raw["drugs"]],
            "regimens": [_regimen_record(row) for row in raw["regimens"]],
            "gene_coordinates": [_coordinate_record(row) for row in raw["gene_coordinates"]],
        }
        documents, _ = _read_documents(source)
        trials, rules = documents["trials"], documents["rules"]
        assert trials is not None and rules is not None
        tables["trials"] = [_trial_record(trial) for trial in trials["trials"]]
        tables["rules"] = {key: value for key, value in rules.items() if key != "format"}
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
    "CRITERION_TYPES",
    "Knowledge",
    "ROLES",
    "SpecError",
    "UnknownDrugError",
    "UnknownRegimenError",
    "describe_gene",
    "expected_literature_alias",
    "lab_test_units",
    "load_knowledge",
    "parse_spec",
    "source_problems",
    "validate_knowledge",
]
