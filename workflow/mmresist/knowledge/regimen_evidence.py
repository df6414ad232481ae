"""Approvals, pivotal-trial benefit and ranking policy of regimens: records and cross-checks.

``approvals.tsv`` holds each regimen's regulatory status and label requirements per region,
``benefit.tsv`` the outcome of the trial its evidence rests on, and ``option_ranking.yaml``
how options are ordered with them (resources/knowledge/README.md).
"""

from __future__ import annotations

import re

from mmresist.knowledge.spec import source_list_problems
from mmresist.knowledge.tables import split_list
from mmresist.vocab import DRUG_CLASSES

__all__ = [
    "REGIONS",
    "approval_record",
    "benefit_record",
    "parse_requirement",
    "regimen_evidence_problems",
]

REGIONS = ("US", "EU")
_REQUIREMENT = re.compile(r"^(exposed|refractory):([a-z0-9_ -]+?)(?:>=([0-9]+))?$")


def parse_requirement(token: str) -> dict:
    """``refractory:imid>=2`` -> ``{kind: refractory, target: imid, count: 2}``."""
    match = _REQUIREMENT.match(token.strip())
    if match is None:
        raise ValueError(f"'{token}' is not exposed:<id> or refractory:<id>[>=N]")
    return {
        "kind": match.group(1),
        "target": match.group(2).strip(),
        "count": int(match.group(3)) if match.group(3) else 1,
    }


def _lines(text: str) -> int | str | None:
    """A prior-line bound: a whole number, None (no bound) or 'unknown'."""
    if text == "unknown":
        return "unknown"
    return int(text) if text else None


def _requirements(text: str) -> list[dict] | str:
    return "unknown" if text == "unknown" else [parse_requirement(t) for t in split_list(text)]


def approval_record(row: dict) -> dict:
    return {
        "regimen": row["regimen"],
        "region": row["region"],
        "status": row["status"],
        "date": row["date"] or None,
        "min_prior_lines": _lines(row["min_prior_lines"]),
        "max_prior_lines": _lines(row["max_prior_lines"]),
        "required_prior": _requirements(row["required_prior"]),
        "excluded_prior": _requirements(row["excluded_prior"]),
        "sources": split_list(row["sources"]),
        "regulator_reference": row["regulator_reference"],
        "verified": row["verified"] == "yes",
        "note": row["note"],
    }


def benefit_record(row: dict) -> dict:
    return {
        "regimen": row["regimen"],
        "trial": row["trial"],
        "nct_id": row["nct_id"] or None,
        "design": row["design"],
        "comparator": row["comparator"] or None,
        "comparator_regimens": split_list(row["comparator_regimens"]),
        "endpoint": row["endpoint"],
        "value": float(row["value"]) if row["value"] else None,
        "primary_endpoint_met": {"yes": True, "no": False}.get(row["primary_endpoint_met"]),
        "value_text": row["value_text"],
        "population": row["population"],
        "excluded_prior": [parse_requirement(t) for t in split_list(row["excluded_prior"])],
        "sources": split_list(row["sources"]),
        "verified": row["verified"] == "yes",
        "note": row["note"],
    }


def _requirement_problems(text: str, generics: set[str], where: str) -> list[str]:
    """Requirement tokens (``exposed:<id>``, ``refractory:<id>[>=N]``) whose grammar or id
    is wrong: the id names a drug class or a generic drug."""
    problems: list[str] = []
    for token in split_list(text):
        try:
            target = parse_requirement(token)["target"]
        except ValueError as error:
            problems.append(f"{where}: {error}")
            continue
        if target not in DRUG_CLASSES and target not in generics:
            problems.append(
                f"{where}: '{target}' is neither a drug class id "
                "(mmresist.vocab.DRUG_CLASSES) nor a generic name in drugs.tsv"
            )
    return problems


def regimen_evidence_problems(
    approvals: list[dict], benefit: list[dict], regimens: set[str], generics: set[str]
) -> list[str]:
    """Cross-references of approvals.tsv and benefit.tsv (raw string rows) the schemas
    cannot check: known regimens, one row per regimen and region (per regimen for benefit),
    requirement ids that name a drug or a drug class, sources, and a verified row's date."""
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for index, row in enumerate(approvals):
        where = f"approvals.tsv line {index + 2}"
        key = (row["regimen"], row["region"])
        if row["regimen"] not in regimens:
            problems.append(f"{where}, column 'regimen': '{row['regimen']}' is not in regimens.tsv")
        if key in seen:
            problems.append(f"{where}: a second {row['region']} row for {row['regimen']}")
        seen.add(key)
        for column in ("required_prior", "excluded_prior"):
            if row[column] != "unknown":
                place = f"{where}, column '{column}'"
                problems += _requirement_problems(row[column], generics, place)
        low, high = row["min_prior_lines"], row["max_prior_lines"]
        if low.isdigit() and high.isdigit() and int(low) > int(high):
            problems.append(f"{where}: min_prior_lines {low} is above max_prior_lines {high}")
        if row["verified"] == "yes" and row["status"] == "approved" and not row["date"]:
            problems.append(f"{where}, column 'date': a verified approval gives its date")
        problems += source_list_problems(split_list(row["sources"]), f"{where}, column 'sources'")
    trials: set[str] = set()
    for index, row in enumerate(benefit):
        where = f"benefit.tsv line {index + 2}"
        if row["regimen"] not in regimens:
            problems.append(f"{where}, column 'regimen': '{row['regimen']}' is not in regimens.tsv")
        if row["regimen"] in trials:
            problems.append(f"{where}: a second row for {row['regimen']} (one pivotal outcome)")
        trials.add(row["regimen"])
        randomised = row["design"].startswith("randomised")
        if randomised and not row["comparator"]:
            problems.append(
                f"{where}, column 'comparator': a randomised trial names its comparator"
            )
        problems += _requirement_problems(
            row["excluded_prior"], generics, f"{where}, column 'excluded_prior'"
        )
        for name in split_list(row["comparator_regimens"]):
            if name not in regimens or name == row["regimen"]:
                problems.append(
                    f"{where}, column 'comparator_regimens': '{name}' is not another regimen "
                    "of regimens.tsv"
                )
        if row["comparator_regimens"] and not randomised:
            problems.append(
                f"{where}, column 'comparator_regimens': a single-arm trial has no comparator"
            )
        met = row["primary_endpoint_met"]
        if randomised and row["verified"] == "yes" and not met:
            problems.append(
                f"{where}, column 'primary_endpoint_met': a verified randomised result says "
                "whether the trial met its primary endpoint (yes or no)"
            )
        if not randomised and met:
            problems.append(
                f"{where}, column 'primary_endpoint_met': only a randomised trial has one to "
                "meet; leave it empty for a single-arm trial"
            )
        problems += source_list_problems(split_list(row["sources"]), f"{where}, column 'sources'")
    return problems


def ranking_problems(ranking: dict) -> list[str]:
    """option_ranking.yaml: sources of every part (the schema checks the shape)."""
    problems: list[str] = []
    for key in ("evidence_tiers", "benefit_bands", "approval_groups", "weights"):
        problems += source_list_problems(ranking[key]["source"], f"option_ranking.yaml {key}")
    for index, entry in enumerate(ranking["never_offer"]):
        where = f"option_ranking.yaml never_offer[{index}:{entry['id']}].source"
        problems += source_list_problems(entry["source"], where)
    salvage = ranking["salvage_asct"]
    for key in ("source", "randomised_evidence"):
        problems += source_list_problems(salvage[key], f"option_ranking.yaml salvage_asct.{key}")
    for key in ("months_without_maintenance", "months_with_maintenance"):
        if salvage[key] <= 0:
            problems.append(f"option_ranking.yaml salvage_asct.{key}: must be positive")
    return problems
