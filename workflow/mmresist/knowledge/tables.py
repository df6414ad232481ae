"""The knowledge folder's layout and its raw reading: TSV rows as strings, YAML documents."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

TABLES = (
    "genes",
    "biomarkers",
    "drugs",
    "regimens",
    "gene_coordinates",
    "approvals",
    "benefit",
    "polymorphisms",
)
# YAML, each with a JSON schema of that name
DOCUMENTS = ("trials", "rules", "option_rules", "option_ranking")
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
        "level_reason",
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
    "polymorphisms": (
        "id",
        "gene",
        "hgvsp",
        "protein_change",
        "rsid",
        "gnomad_af",
        "af_status",
        "sources",
        "note",
        "last_reviewed",
    ),
    "approvals": (
        "regimen",
        "region",
        "status",
        "date",
        "min_prior_lines",
        "max_prior_lines",
        "required_prior",
        "excluded_prior",
        "sources",
        "regulator_reference",
        "verified",
        "note",
    ),
    "benefit": (
        "regimen",
        "trial",
        "nct_id",
        "design",
        "comparator",
        "comparator_regimens",
        "endpoint",
        "value",
        "primary_endpoint_met",
        "value_text",
        "population",
        "excluded_prior",
        "sources",
        "verified",
        "note",
    ),
}
SCHEMA_DIR = Path(str(resources.files("mmresist.knowledge") / "schemas"))
VERSION_PATTERN = re.compile(r"^\d{4}\.\d{2}\.\d{2}(\.\d+)?$")


def split_list(text: str, sep: str = ";") -> list[str]:
    return [part.strip() for part in text.split(sep) if part.strip()] if text else []


def read_raw(directory: Path) -> tuple[str | None, dict[str, list[dict]], list[str]]:
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


def read_documents(directory: Path) -> tuple[dict[str, dict | None], list[str]]:
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
