"""Resolve the references of option_rules.yaml: lab limits and sources curated in other tables."""

from __future__ import annotations

import copy

from mmresist.knowledge.spec import source_list_problems
from mmresist.vocab import DRUG_CLASSES

__all__ = [
    "lab_limit",
    "option_rule_problems",
    "referenced_sources",
    "resolve_option_rules",
]


def lab_limit(reference: dict, test: str, op: str, rules: dict) -> float | None:
    """The limit a ``lab_limits`` entry points at in rules.yaml, or None when the reference
    does not lead to a limit of ``test`` (validation reports that).

    A supportive-care rule gives its threshold (same direction as ``op``), or the outermost
    bound of its bands on the side ``op`` looks at (the highest ``upper`` for ``<``, the
    lowest ``lower`` for ``>``); a risk section gives the lab criterion of ``test`` inside its
    criterion ``reference['criterion']``."""
    for rule in rules.get("supportive_care", []):
        if rule["id"] != reference["rule"]:
            continue
        if "criterion" in reference or rule.get("test") != test:
            return None
        if "threshold" in rule:
            threshold = rule["threshold"]
            return threshold["value"] if threshold["op"].startswith(op) else None
        side = "upper" if op == "<" else "lower"
        bounds = [band[side] for band in rule.get("bands", []) if band[side] is not None]
        if not bounds:
            return None
        return max(bounds) if op == "<" else min(bounds)
    for section in rules.get("risk", {}).values():
        if section.get("id") != reference["rule"]:
            continue
        for criterion in section.get("criteria", []):
            if criterion.get("id") == reference.get("criterion"):
                return _lab_value(criterion, test)
    return None


def _lab_value(criterion: dict, test: str) -> float | None:
    if criterion.get("type") == "lab" and criterion.get("test") == test:
        return criterion["value"]
    for part in criterion.get("criteria", []):
        value = _lab_value(part, test)
        if value is not None:
            return value
    return None


def referenced_sources(
    entry: dict, rules: dict, biomarker_sources: dict[str, list[str]]
) -> list[str] | None:
    """An entry's own ``source``, or the sources of the rule or biomarker row it names;
    None when the named rule or row does not exist."""
    if "source" in entry:
        return list(entry["source"])
    if "source_rule" in entry:
        for rule in rules.get("supportive_care", []):
            if rule["id"] == entry["source_rule"]:
                return list(rule["source"])
        return None
    if "source_biomarker" in entry:
        found = biomarker_sources.get(entry["source_biomarker"])
        return list(found) if found is not None else None
    return None


def resolve_option_rules(
    document: dict, rules: dict, biomarker_sources: dict[str, list[str]]
) -> dict:
    """The validated document without ``format``, with every caution's ``source`` and every
    lab limit's ``value`` and ``source`` filled in from the tables they point at, so the
    compiled JSON and the reasoning code need no second lookup."""
    resolved = copy.deepcopy({key: value for key, value in document.items() if key != "format"})
    for caution in resolved["cautions"]:
        caution["source"] = referenced_sources(caution, rules, biomarker_sources)
    for limit in resolved["lab_limits"]:
        limit["value"] = lab_limit(limit["from"], limit["test"], limit["op"], rules)
        limit["source"] = _rule_sources(limit["from"]["rule"], rules)
    return resolved


def _rule_sources(rule_id: str, rules: dict) -> list[str]:
    for rule in rules.get("supportive_care", []):
        if rule["id"] == rule_id:
            return list(rule["source"])
    for section in rules.get("risk", {}).values():
        if section.get("id") == rule_id:
            return list(section["source"])
    return []


def option_rule_problems(
    document: dict,
    rules: dict,
    *,
    generics: dict[str, dict],
    symbols: set[str],
    biomarker_sources: dict[str, list[str]],
    lab_units: dict[str, str],
) -> list[str]:
    """Cross-references of option_rules.yaml the schema cannot check. ``generics`` maps each
    generic name of drugs.tsv to ``{drug_classes: set, status, target}``."""
    problems: list[str] = []
    drugs_of: dict[str, list[str]] = {}
    for generic, drug in generics.items():
        for drug_class in drug["drug_classes"]:
            drugs_of.setdefault(drug_class, []).append(generic)

    def where(path: str) -> str:
        return f"option_rules.yaml {path}"

    def check_classes(classes: list[str], path: str) -> None:
        for drug_class in classes:
            if drug_class not in DRUG_CLASSES:
                problems.append(
                    f"{where(path)}: unknown drug class '{drug_class}' (the class ids are "
                    "mmresist.vocab.DRUG_CLASSES)"
                )

    def check_drugs(names: list[str], path: str) -> None:
        for name in names:
            if name not in generics:
                problems.append(f"{where(path)}: '{name}' is not a generic name in drugs.tsv")

    off_label = document["off_label_classes"]
    check_classes(off_label["drug_classes"], "off_label_classes.drug_classes")
    for drug_class in off_label["drug_classes"]:
        for generic in drugs_of.get(drug_class, []):
            if generics[generic]["status"] == "approved":
                problems.append(
                    f"{where('off_label_classes')}: {generic} ({drug_class}) is approved for "
                    "myeloma in drugs.tsv, so its class cannot be off-label"
                )
    problems += source_list_problems(off_label["source"], where("off_label_classes.source"))
    antigens = document["antigen_classes"]
    for antigen, classes in antigens.items():
        check_classes(classes, f"antigen_classes.{antigen}")
        for drug_class in classes:
            for generic in drugs_of.get(drug_class, []):
                if antigen.casefold() not in generics[generic]["target"].casefold():
                    problems.append(
                        f"{where(f'antigen_classes.{antigen}')}: the drugs.tsv target of "
                        f"{generic} ({drug_class}) does not name {antigen.upper()}"
                    )
    check_classes(document["t_cell_redirecting"], "t_cell_redirecting")
    for drug_class in document["t_cell_redirecting"]:
        for generic in drugs_of.get(drug_class, []):
            target = generics[generic]["target"]
            if "T-cell engager" not in target and "CAR-T" not in target:
                problems.append(
                    f"{where('t_cell_redirecting')}: the drugs.tsv target of {generic} "
                    f"({drug_class}) names neither a T-cell engager nor a CAR-T"
                )
    ids: set[str] = set()
    for section in (
        "class_switches",
        "refractory_class_notes",
        "resistance_class_extensions",
        "resistance_spared",
        "sensitivity_cautions",
        "unselected",
        "antigen_switches",
        "cautions",
        "lab_limits",
    ):
        for index, entry in enumerate(document[section]):
            path = f"{section}[{index}:{entry['id']}]"
            if entry["id"] in ids:
                problems.append(f"{where(path)}.id: duplicate id {entry['id']}")
            ids.add(entry["id"])
            check_drugs(entry.get("refractory", []), f"{path}.refractory")
            check_drugs(entry.get("to_drugs", []), f"{path}.to_drugs")
            check_drugs(entry.get("drugs", []), f"{path}.drugs")
            if "drug" in entry:
                check_drugs([entry["drug"]], f"{path}.drug")
            check_classes(entry.get("to_classes", []), f"{path}.to_classes")
            check_classes(entry.get("drug_classes", []), f"{path}.drug_classes")
            if "gene" in entry and entry["gene"] not in symbols:
                problems.append(f"{where(path)}.gene: '{entry['gene']}' is not in genes.tsv")
            for key in ("after", "to"):
                values = entry.get(key, [])
                for antigen in [values] if isinstance(values, str) else values:
                    if antigen not in antigens:
                        problems.append(
                            f"{where(path)}.{key}: '{antigen}' is not an antigen of "
                            f"antigen_classes ({', '.join(antigens)})"
                        )
            for key in ("text", "caution"):
                if key in entry:
                    problems += _template_problems(entry[key], f"{path}.{key}", where)
            if "source" in entry:
                problems += source_list_problems(entry["source"], where(f"{path}.source"))
            elif section == "cautions" and (
                referenced_sources(entry, rules, biomarker_sources) is None
            ):
                named = entry.get("source_rule") or entry.get("source_biomarker")
                problems.append(
                    f"{where(path)}: '{named}' is neither a supportive_care rule of rules.yaml "
                    "nor a biomarkers.tsv id"
                )
            if section == "lab_limits":
                problems += _limit_problems(entry, rules, lab_units, where(path))
    return problems


# Placeholders a text template may use; the reasoning code fills them in.
TEMPLATE_FIELDS = frozenset({"drug", "drugs", "finding", "level"})


def _template_problems(text: str, path: str, where) -> list[str]:
    import string

    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as error:
        return [f"{where(path)}: not a valid text template ({error})"]
    unknown = sorted(fields - TEMPLATE_FIELDS)
    if unknown:
        return [
            f"{where(path)}: unknown placeholder(s) {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(TEMPLATE_FIELDS))})"
        ]
    return []


def _limit_problems(entry: dict, rules: dict, lab_units: dict[str, str], where: str) -> list[str]:
    if entry["test"] not in lab_units:
        known = ", ".join(sorted(lab_units))
        return [f"{where}.test: unknown lab test '{entry['test']}' ({known})"]
    if lab_limit(entry["from"], entry["test"], entry["op"], rules) is None:
        return [
            f"{where}.from: {entry['from']} gives no {entry['test']} limit for '{entry['op']}' "
            "(a supportive_care rule of that test with a threshold in the same direction or "
            "bands, or a risk section id with the criterion holding that lab)"
        ]
    return []
