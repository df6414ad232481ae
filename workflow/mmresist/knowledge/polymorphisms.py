"""polymorphisms.tsv: common germline coding polymorphisms, their checks and their records."""

from __future__ import annotations

import re

from mmresist.ingest.hgvs import normalise_hgvsp
from mmresist.knowledge.spec import SpecError, parse_protein_change, source_problems
from mmresist.knowledge.tables import split_list

_PMID_OR_DOI = re.compile(r"PMID:\d+|DOI:10\.\d{4,9}/\S+")


def polymorphism_problems(rows: list[dict], symbols: set[str]) -> list[str]:
    """Cross-row checks the schema cannot make: panel genes, a parseable one-letter change
    that agrees with hgvsp, unique ids and changes, gnomad_af present exactly when read,
    and at least one PMID or DOI among well-formed sources."""
    problems: list[str] = []
    ids: set[str] = set()
    changes: set[tuple[str, str]] = set()
    for index, row in enumerate(rows):

        def where(column: str, line: int = index + 2) -> str:
            return f"polymorphisms.tsv line {line}, column '{column}'"

        if row["id"] in ids:
            problems.append(f"{where('id')}: duplicate id {row['id']}")
        ids.add(row["id"])
        if row["gene"] not in symbols:
            problems.append(f"{where('gene')}: '{row['gene']}' is not a symbol in genes.tsv")
        try:
            parse_protein_change(row["protein_change"])
        except SpecError as error:
            problems.append(f"{where('protein_change')}: {error}")
        else:
            from_hgvsp, _, _ = normalise_hgvsp(row["hgvsp"])
            if from_hgvsp != row["protein_change"]:
                problems.append(
                    f"{where('protein_change')}: '{row['protein_change']}' is not the one-letter "
                    f"form of {row['hgvsp']} ('{from_hgvsp}')"
                )
        key = (row["gene"], row["protein_change"])
        if key in changes:
            problems.append(f"{where('protein_change')}: {key[0]} {key[1]} is listed twice")
        changes.add(key)
        if (row["af_status"] == "read") != bool(row["gnomad_af"]):
            problems.append(
                f"{where('gnomad_af')}: a value goes with af_status read, a blank with not_read"
            )
        tokens = split_list(row["sources"])
        for token in tokens:
            problems += [f"{where('sources')}: {problem}" for problem in source_problems(token)]
        if not any(_PMID_OR_DOI.search(token) for token in tokens):
            problems.append(f"{where('sources')}: no PMID or DOI that a reader can resolve")
    return problems


def polymorphism_record(row: dict) -> dict:
    """A row of polymorphisms.tsv in the form Knowledge and the compiled JSON hold."""
    return {
        "id": row["id"],
        "gene": row["gene"],
        "hgvsp": row["hgvsp"],
        "protein_change": row["protein_change"],
        "rsid": row["rsid"],
        "gnomad_af": float(row["gnomad_af"]) if row["gnomad_af"] else None,
        "af_status": row["af_status"],
        "sources": split_list(row["sources"]),
        "note": row["note"],
        "last_reviewed": row["last_reviewed"],
    }
