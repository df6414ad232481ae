"""Validation of the knowledge folder: JSON schemas, then the cross-references they cannot check."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mmresist.knowledge.option_rules import option_rule_problems
from mmresist.knowledge.polymorphisms import polymorphism_problems
from mmresist.knowledge.spec import (
    SpecError,
    expected_literature_alias,
    is_identifier,
    parse_spec,
    source_list_problems,
    source_problems,
)
from mmresist.knowledge.tables import (
    DOCUMENTS,
    SCHEMA_DIR,
    TABLES,
    read_documents,
    read_raw,
    split_list,
)
from mmresist.vocab import CYTOGENETIC_ABNORMALITIES, DRUG_CLASSES

__all__ = ["CRITERION_TYPES", "identifier_problems", "lab_test_units", "validate_knowledge"]

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
    "extramedullary": frozenset(),
    "other": frozenset(),
    "any_of": frozenset({"criteria"}),
    "all_of": frozenset({"criteria"}),
}
CRITERION_TYPES = tuple(CRITERION_PARAMS)
CRITERION_COMMON = frozenset({"id", "type", "kind", "text", "verified"})
# Lab tests a criterion or rule may name, with their canonical unit: the clinical tests of
# mmresist.io.clinical.LAB_UNITS plus creatinine clearance, which the reasoning code derives.
DERIVED_LAB_UNITS = {"creatinine_clearance": "mL/min"}


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
    version, raw, problems = read_raw(folder)
    for table in TABLES:
        problems += _schema_problems(table, raw[table], folder / f"{table}.tsv")
    documents, document_problems = read_documents(folder)
    problems += document_problems
    for name in DOCUMENTS:
        document = documents[name]
        if document is not None:
            problems += _document_schema_problems(name, document)
    if problems:
        return problems
    problems = _reference_problems(raw)
    problems += polymorphism_problems(raw["polymorphisms"], {row["symbol"] for row in raw["genes"]})
    problems += _document_problems(raw, documents)
    problems += identifier_problems(documents)
    if documents["option_ranking"] is not None:
        problems += _regimen_evidence_problems(raw, documents["option_ranking"])
    return problems


def identifier_problems(documents: dict) -> list[str]:
    """Every supportive-care rule, option fact and ranking entry puts a sentence into reports, so
    each must cite at least one PMID, DOI or NCT id; free text may stand beside it. An entry
    marked ``policy: true`` encodes a choice of this tool rather than a clinical claim and is
    exempt (resources/knowledge/README.md, "Sources of rules, option facts and ranking")."""
    cited: list[tuple[str, dict]] = []
    rules = documents.get("rules") or {}
    for index, rule in enumerate(rules.get("supportive_care", [])):
        cited.append((f"rules.yaml supportive_care[{index}:{rule['id']}]", rule))
    facts = documents.get("option_rules") or {}
    if "off_label_classes" in facts:
        cited.append(("option_rules.yaml off_label_classes", facts["off_label_classes"]))
    for section, entries in facts.items():
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                if isinstance(entry, dict) and "source" in entry:
                    cited.append((f"option_rules.yaml {section}[{index}:{entry['id']}]", entry))
    ranking = documents.get("option_ranking") or {}
    for part in ("evidence_tiers", "benefit_bands", "approval_groups", "weights", "salvage_asct"):
        if part in ranking:
            cited.append((f"option_ranking.yaml {part}", ranking[part]))
    for index, entry in enumerate(ranking.get("never_offer", [])):
        cited.append((f"option_ranking.yaml never_offer[{index}:{entry['id']}]", entry))
    return [
        f"{where}.source: no PMID, DOI or NCT id (cite one, or mark a choice of this tool "
        "'policy: true')"
        for where, entry in cited
        if not entry.get("policy") and not any(is_identifier(s) for s in entry["source"])
    ]


def _regimen_evidence_problems(raw: dict[str, list[dict]], ranking: dict) -> list[str]:
    """approvals.tsv, benefit.tsv and option_ranking.yaml (knowledge.regimen_evidence)."""
    from mmresist.knowledge.regimen_evidence import ranking_problems, regimen_evidence_problems

    regimens = {row["abbreviation"] for row in raw["regimens"]}
    problems = regimen_evidence_problems(
        raw["approvals"], raw["benefit"], regimens, {row["generic_name"] for row in raw["drugs"]}
    )
    problems += ranking_problems(ranking)
    if ranking["salvage_asct"]["regimen"] not in regimens:
        problems.append("option_ranking.yaml salvage_asct.regimen: not in regimens.tsv")
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


# Evidence levels whose rows must say why they hold that level (biomarkers.tsv level_reason).
STRONG_LEVELS = ("A", "B")


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
        # A class-level claim (the drugs tested were not curated) names only its classes.
        if row["implication"] in ("resistance", "sensitivity", "eligibility") and not (
            split_list(row["drugs"]) or row_classes
        ):
            problems.append(
                f"{_where('biomarkers', i, 'drugs')}: a {row['implication']} row names its drugs "
                "(or, for a class-level claim, its drug classes)"
            )
        problems += _sources_problems(row["sources"], _where("biomarkers", i, "sources"))
        if not any(is_identifier(token) for token in split_list(row["sources"])):
            problems.append(
                f"{_where('biomarkers', i, 'sources')}: no PMID, DOI or NCT id that a reader "
                "can resolve (a citation may stay beside one)"
            )
        if row["evidence_level"] in STRONG_LEVELS and not row["level_reason"].strip():
            problems.append(
                f"{_where('biomarkers', i, 'level_reason')}: level {row['evidence_level']} "
                "needs a short reason (the evidence behind the level)"
            )
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
    problems = _trial_problems(documents["trials"]["trials"], context)
    problems += _rule_problems(documents["rules"], context)
    problems += option_rule_problems(
        documents["option_rules"],
        documents["rules"],
        generics={
            row["generic_name"]: {
                "drug_classes": set(split_list(row["drug_classes"])),
                "status": row["status"],
                "target": row["target"],
            }
            for row in raw["drugs"]
        },
        symbols=context.symbols,
        biomarker_sources={row["id"]: split_list(row["sources"]) for row in raw["biomarkers"]},
        lab_units=context.lab_units,
    )
    return problems


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
        problems += source_list_problems(trial["sources"], f"{where}.sources")
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
    problems = []
    for key in ("status_checked", "status_date", "registry_last_update"):
        value = trial.get(key)
        if value is None:
            continue
        full = {4: f"{value}-01-01", 7: f"{value}-01"}.get(len(value), value)
        try:
            date.fromisoformat(full)
        except ValueError:
            problems.append(f"{where}.{key}: '{value}' is not a real date")
    if trial["status"] != "unknown":
        # A known status says how it was determined and where, so it can be checked again.
        for key in ("status_basis", "status_source"):
            if not trial.get(key):
                problems.append(f"{where}.{key}: a status other than unknown needs {key}")
    if trial.get("status_date") and trial["status_date"] > checked:
        problems.append(f"{where}.status_date: later than status_checked {checked}")
    return problems


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
        problems += source_list_problems(rule["source"], f"{where}.source")
    risk = rules["risk"]
    for key, section in risk.items():
        where = f"rules.yaml risk.{key}"
        if section["id"] in ids:
            problems.append(f"{where}.id: duplicate rule id {section['id']}")
        ids.add(section["id"])
        problems += source_list_problems(section["source"], f"{where}.source")
    for key in ("high_risk", "double_hit"):
        if key in risk:
            problems += _criteria_problems(
                risk[key]["criteria"], f"rules.yaml risk.{key}.criteria", context, top=False
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
    problems += _relapse_problems(rules, ids, context)
    return problems


def _relapse_problems(rules: dict, ids: set[str], context: _Context) -> list[str]:
    """The mrd and aggressive_relapse sections: unique ids, sources, canonical lab units and
    known cytogenetic abnormalities."""
    problems: list[str] = []
    for key in ("mrd", "aggressive_relapse"):
        section = rules.get(key)
        if not section:
            continue
        where = f"rules.yaml {key}"
        if section["id"] in ids:
            problems.append(f"{where}.id: duplicate rule id {section['id']}")
        ids.add(section["id"])
        problems += source_list_problems(section["source"], f"{where}.source")
    seen: set[str] = set()
    for number, criterion in enumerate((rules.get("aggressive_relapse") or {}).get("criteria", [])):
        where = f"rules.yaml aggressive_relapse.criteria[{number}:{criterion['id']}]"
        if criterion["id"] in seen:
            problems.append(f"{where}.id: duplicate criterion id")
        seen.add(criterion["id"])
        if "test" in criterion:
            problems += _lab_problems(criterion["test"], criterion["unit"], where, context)
        for abnormality in criterion.get("abnormalities", []):
            if abnormality not in CYTOGENETIC_ABNORMALITIES:
                problems.append(f"{where}.abnormalities: unknown abnormality '{abnormality}'")
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
