"""resources/knowledge/polymorphisms.tsv: the shipped table is valid and a bad row fails."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
import pytest

from mmresist.knowledge.polymorphisms import polymorphism_problems, polymorphism_record
from mmresist.knowledge.tables import COLUMNS, SCHEMA_DIR

KNOWLEDGE = Path(__file__).resolve().parents[2] / "resources" / "knowledge"


def _rows(name: str) -> list[dict]:
    with open(KNOWLEDGE / name, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE))


SYMBOLS = {row["symbol"] for row in _rows("genes.tsv")}
SHIPPED = _rows("polymorphisms.tsv")
SCHEMA = jsonschema.Draft202012Validator(
    json.loads((SCHEMA_DIR / "polymorphisms.schema.json").read_text(encoding="utf-8"))
)


def _schema_errors(row: dict) -> list[str]:
    return [error.message for error in SCHEMA.iter_errors(row)]


def test_shipped_table_is_valid_and_holds_the_named_polymorphisms():
    assert list(SHIPPED[0]) == list(COLUMNS["polymorphisms"])
    assert [error for row in SHIPPED for error in _schema_errors(row)] == []
    assert polymorphism_problems(SHIPPED, SYMBOLS) == []
    present = {(row["gene"], row["protein_change"], row["rsid"]) for row in SHIPPED}
    for expected in (
        ("TP53", "P72R", "rs1042522"),
        ("TP53", "P47S", "rs1800371"),
        ("NR3C1", "N363S", "rs56149945"),
        ("NR3C1", "R23K", "rs6190"),
    ):
        assert expected in present, expected


def test_a_frequency_not_read_is_never_written_as_one():
    for row in SHIPPED:
        record = polymorphism_record(row)
        if row["af_status"] == "not_read":
            assert record["gnomad_af"] is None, row["id"]
        else:
            assert 0 <= record["gnomad_af"] <= 1, row["id"]


GOOD = dict(SHIPPED[0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gene": "NOTAGENE1"}, "not a symbol in genes.tsv"),
        ({"protein_change": "Pro72Arg"}, "not a one-letter protein change"),
        ({"protein_change": "P72H"}, "is not the one-letter form of p.Pro72Arg"),
        ({"sources": "Smith 2020 Blood (abstract)"}, "no PMID or DOI"),
        ({"sources": "PMID:abc"}, "PMID must be numeric"),
        ({"gnomad_af": "0.5"}, "a value goes with af_status read"),
    ],
)
def test_a_bad_row_fails_validation(change, message):
    bad = {**GOOD, **change}
    problems = polymorphism_problems([bad], SYMBOLS)
    assert any(message in problem for problem in problems), problems


def test_a_duplicate_change_and_a_bad_rsid_fail():
    assert any("listed twice" in p for p in polymorphism_problems([GOOD, GOOD], SYMBOLS))
    assert _schema_errors({**GOOD, "rsid": "1042522"})
    assert _schema_errors({**GOOD, "gnomad_af": "0.66 approx"})
