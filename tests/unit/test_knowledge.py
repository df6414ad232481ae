"""The curated knowledge tables: validation, loading, compiled JSON and name resolution."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmresist.errors import KnowledgeError
from mmresist.knowledge.load import (
    UnknownDrugError,
    UnknownRegimenError,
    describe_gene,
    load_knowledge,
)
from mmresist.knowledge.spec import (
    SpecError,
    expected_literature_alias,
    is_identifier,
    parse_spec,
    source_problems,
)
from mmresist.knowledge.validate import CRITERION_TYPES, lab_test_units, validate_knowledge
from mmresist.vocab import CATEGORIES, DRUG_CLASSES

REPO = Path(__file__).resolve().parents[2]
KNOWLEDGE = REPO / "resources" / "knowledge"


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge(KNOWLEDGE)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A writable copy of the real tables to break one thing at a time."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _row(path: Path, key: str) -> list[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.split("\t")[0] == key:
            return line.split("\t")
    raise AssertionError(f"{key} not in {path.name}")


# -- the real tables -----------------------------------------------------------------------
def test_real_tables_are_valid():
    assert validate_knowledge(KNOWLEDGE) == []


def test_counts_and_version(knowledge):
    assert len(knowledge.genes) >= 90
    assert len(knowledge.biomarkers) >= 130
    assert len(knowledge.regimens) >= 40
    assert len(knowledge.drugs) >= 40
    assert len(knowledge.trials) >= 35
    assert knowledge.version == (KNOWLEDGE / "VERSION").read_text().strip()
    assert re.fullmatch(r"\d{4}\.\d{2}\.\d{2}(\.\d+)?", knowledge.version)


def test_issue_gene_list_is_covered(knowledge):
    required = (
        "PSMB5 PSMB6 PSMB7 PSMB8 PSMB9 PSMC1 PSMC2 PSMC3 PSMC4 PSMC5 PSMC6 PSMD1 PSMD2 PSMD5 "
        "PSMG2 XBP1 ERN1 CRBN IKZF1 IKZF3 GPS1 COPS2 COPS3 COPS4 COPS5 COPS6 COPS7A COPS7B "
        "COPS8 CUL4A CUL4B DDB1 RBX1 UBE2G1 UBE2D3 UBE2M CAND1 KPNB1 KRAS NRAS BRAF PTPN11 NF1 "
        "FGFR3 TRAF3 TRAF2 CYLD NFKBIA NFKB1 NFKB2 MAP3K14 BIRC2 BIRC3 LTB TP53 ATM ATR CDKN2C "
        "CCND1 CCND2 CCND3 RB1 CDKN1B BCL2 MCL1 BCL2L1 TNFRSF17 GPRC5D FCRL5 CD38 SLAMF7 NR3C1 "
        "XPO1 DIS3 TENT5C IRF4 PRDM1 IDH1 IDH2 SF3B1 HUWE1 UBR5 KMT2C"
    ).split()
    missing = [gene for gene in required if gene not in knowledge.genes]
    assert missing == []
    assert {gene["category"] for gene in knowledge.genes.values()} == set(CATEGORIES)


def test_gene_ids_and_aliases(knowledge):
    assert knowledge.genes["PSMB5"]["hgnc_id"] == "HGNC:9542"
    assert knowledge.genes["TP53"]["ensembl_gene_id"] == "ENSG00000141510"
    assert knowledge.gene_aliases["FAM46C"] == "TENT5C"
    assert knowledge.gene_aliases["WHSC1"] == "NSD2"
    assert knowledge.gene_aliases["MMSET"] == "NSD2"
    assert knowledge.gene_aliases["COPS1"] == "GPS1"
    assert {"FAM46C", "TENT5C", "BCMA", "TNFRSF17"} <= knowledge.panel_genes
    assert knowledge.category_of("FAM46C") == "other_driver"
    assert knowledge.category_of("CRBN") == "cereblon_pathway"
    assert knowledge.category_of("NOT_A_GENE") is None
    assert knowledge.genes["PSMB5"]["numbering_offset"] == 59


def test_every_class_and_required_biomarker_present(knowledge):
    used = {cls for b in knowledge.biomarkers for cls in b["drug_classes"]}
    # Classes without a validated genomic marker in myeloma have no biomarker row (yet).
    assert set(DRUG_CLASSES) - used == {
        "alkylator",
        "anthracycline",
        "hdac_inhibitor",
        "xpo1_inhibitor",
        "platinum",
        "topoisomerase_inhibitor",
        # CD38 and SLAMF7 loss rows were retired: no source documents genomic escape.
        "anti_cd38",
        "anti_slamf7",
    }
    ids = {b["id"] for b in knowledge.biomarkers}
    for wanted in (
        "BM-PSMB5-A108T",
        "BM-CRBN-LOF",
        "BM-CRBN-BIALLELIC",
        "BM-CRBN-COPYLOSS",
        "BM-IKZF3-Q147H",
        "BM-UBE2G1-LOF",
        "BM-COPS7B-LOF",
        "BM-TNFRSF17-BIALLELIC-TCE",
        "BM-TNFRSF17-ECD-TCE",
        "BM-GPRC5D-BIALLELIC-TCE",
        "BM-NR3C1-LOF",
        "BM-T1114-VEN",
        "BM-BRAF-V600E",
        "BM-KRAS-C12",
        "BM-NRAS-C61",
        "BM-T414-FGFR",
        "BM-IDH2-R140-R172",
        "BM-CDKN2C-BIALLELIC",
        "BM-TP53-TRUNC",
        "BM-TP53-DBD",
        "BM-TP53-VUS",
        "BM-TENT5C-LOF",
        "BM-PTPN11-HOTSPOT",
        "BM-KRAS-E62K",
        "BM-DEL17P-CGS",
        "BM-T1416",
        "BM-T1420",
        "BM-GAIN1Q",
        "BM-AMP1Q",
        "BM-DEL1P32",
    ):
        assert wanted in ids, wanted


def test_venetoclax_row_names_bellini_and_canova(knowledge):
    row = next(b for b in knowledge.biomarkers if b["id"] == "BM-T1114-VEN")
    assert "BELLINI" in row["summary"] and "CANOVA" in row["summary"]
    assert "NCT02755597" in row["sources"] and "NCT03539744" in row["sources"]


def test_psmb5_rows_carry_both_numberings(knowledge):
    rows = {b["id"]: b for b in knowledge.biomarkers if b["gene"] == "PSMB5"}
    assert rows["BM-PSMB5-A108T"]["alteration_spec"] == "A108T"
    assert rows["BM-PSMB5-A108T"]["literature_alias"] == "A49T"
    assert rows["BM-PSMB5-A108V"]["literature_alias"] == "A49V"
    assert rows["BM-PSMB5-A109V"]["literature_alias"] == "A50V"
    assert rows["BM-PSMB5-C122F"]["literature_alias"] == "C63F"
    assert rows["BM-PSMB5-T80A"]["literature_alias"] == "T21A"
    assert rows["BM-PSMB5-M104V"]["literature_alias"] == "M45V,M45I"
    # R24C sits in the 59-residue propeptide: no mature numbering exists.
    assert rows["BM-PSMB5-R24C"]["literature_alias"] == ""


# -- literature numbering ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "spec", "alias"),
    [
        ("protein_change", "A108T", "A49T"),
        ("protein_change", "A108T,A108V", "A49T,A49V"),
        ("protein_change", "C122F", "C63F"),
        ("protein_change", "M104I", "M45I"),
        ("protein_change", "R24C", ""),
        ("protein_change", "K80_L82del", "K21_L23del"),
        ("codon", "108,109", "49,50"),
        ("aa_range", "79-122:missense", "20-63"),
    ],
)
def test_expected_literature_alias(kind, spec, alias):
    assert expected_literature_alias(kind, spec, 59) == alias


# -- spec grammar --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("protein_change", "A108T"),
        ("protein_change", "Q25*"),
        ("protein_change", "S30del"),
        ("protein_change", "G152S,G152R"),
        ("protein_change", "K5_L7del"),
        ("protein_change", "Q25fs"),
        ("codon", "12,13,61"),
        ("aa_range", "1-54"),
        ("aa_range", "1-54:nontruncating"),
        ("aa_range", "79-122:lof"),
        ("missense", "*"),
        ("biallelic_loss", "*"),
        ("cytogenetic", "del(17p)>=0.2"),
        ("cytogenetic", "t(4;14)&gain(1q)|amp(1q)"),
    ],
)
def test_parse_spec_accepts(kind, spec):
    parse_spec(kind, spec)


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("protein_change", "p.Ala108Thr"),
        ("protein_change", "A108"),
        ("protein_change", "A108T,A108T"),
        ("protein_change", "a108t"),
        ("codon", "G12"),
        ("codon", "0"),
        ("aa_range", "54-1"),
        ("aa_range", "1-54:frameshift"),
        ("missense", "any"),
        ("copy_loss", ""),
        ("cytogenetic", "del(17q)"),
        ("cytogenetic", "del(17p)>=1.5"),
        ("cytogenetic", "del(17p)>0.2"),
        ("gain", "*"),
    ],
)
def test_parse_spec_rejects(kind, spec):
    with pytest.raises(SpecError):
        parse_spec(kind, spec)


def test_parsed_cytogenetic_structure():
    parsed = parse_spec("cytogenetic", "t(4;14)&gain(1q)|amp(1q)>=0.3")
    assert parsed == {
        "terms": [
            [{"abnormality": "t(4;14)", "min_fraction": None}],
            [
                {"abnormality": "gain(1q)", "min_fraction": None},
                {"abnormality": "amp(1q)", "min_fraction": 0.3},
            ],
        ]
    }


@pytest.mark.parametrize(
    ("token", "ok"),
    [
        ("PMID:19426847", True),
        ("DOI:10.1038/s41375-020-0989-4", True),
        ("NCT02755597", True),
        ("Lü 2009 Exp Hematol (PMID:19426847)", True),
        ("Kortüm 2016 Blood 128:1226", True),
        ("group abstract (year unverified)", True),
        ("PMID:1942684x", False),
        ("NCT1234", False),
        ("DOI:abc", False),
        ("some paper", False),
        ("Lü 2009 Exp Hematol (PMID:abc)", False),
        # What is left of "Lee 2023 (antigen escape; DOI:...)" after splitting on ';'.
        ("Lee 2023 Nat Med 29:2295 (antigen escape", False),
        (" DOI:10.1038/s41591-023-02491-5)", False),
    ],
)
def test_source_problems(token, ok):
    assert (source_problems(token) == []) is ok


# -- broken copies -------------------------------------------------------------------------
def test_missing_source_is_reported(broken):
    path = broken / "biomarkers.tsv"
    row = _row(path, "BM-PSMB5-A108T")
    fixed = row.copy()
    fixed[_column(path, "sources")] = ""
    _edit(path, "\t".join(row), "\t".join(fixed))
    problems = validate_knowledge(broken)
    assert any("biomarkers.tsv line" in p and "'sources'" in p for p in problems), problems
    with pytest.raises(KnowledgeError, match="sources"):
        load_knowledge(broken)


def _column(path: Path, name: str) -> int:
    return path.read_text(encoding="utf-8").splitlines()[0].split("\t").index(name)


def test_source_without_a_resolvable_identifier_is_reported(broken):
    """A citation with a year but no PMID, DOI or NCT id passes the format check, yet a
    reader cannot resolve it: validation names the row's sources cell."""
    path = broken / "biomarkers.tsv"
    row = _row(path, "BM-PSMB5-A108V")
    fixed = row.copy()
    fixed[_column(path, "sources")] = "Lü 2009 Exp Hematol 37:831"
    _edit(path, "\t".join(row), "\t".join(fixed))
    problems = validate_knowledge(broken)
    assert any(
        "biomarkers.tsv line" in p and "'sources'" in p and "PMID, DOI or NCT" in p
        for p in problems
    ), problems
    with pytest.raises(KnowledgeError, match="PMID, DOI or NCT"):
        load_knowledge(broken)


def test_level_b_row_without_a_reason_is_reported(broken):
    path = broken / "biomarkers.tsv"
    row = _row(path, "BM-NRAS-HOTSPOT-BTZ")
    assert row[_column(path, "evidence_level")] == "B"
    fixed = row.copy()
    fixed[_column(path, "level_reason")] = ""
    _edit(path, "\t".join(row), "\t".join(fixed))
    problems = validate_knowledge(broken)
    assert any("'level_reason'" in p and "level B" in p for p in problems), problems


def test_every_biomarker_row_resolves_and_strong_rows_say_why(knowledge):
    for row in knowledge.biomarkers:
        assert any(is_identifier(source) for source in row["sources"]), row["id"]
        if row["evidence_level"] in ("A", "B"):
            assert row["level_reason"].strip(), row["id"]


def test_bad_pmid_is_reported(broken):
    _edit(broken / "biomarkers.tsv", "(PMID:19426847)", "(PMID:19426847a)")
    problems = validate_knowledge(broken)
    assert any("PMID must be numeric" in p for p in problems), problems


def test_bad_nct_is_reported(broken):
    _edit(broken / "regimens.tsv", "NCT02136134", "NCT0213613")
    problems = validate_knowledge(broken)
    assert any("regimens.tsv line" in p and "NCT id" in p for p in problems), problems


def test_unknown_drug_class_is_reported(broken):
    _edit(broken / "biomarkers.tsv", "\tbortezomib\tproteasome_inhibitor\t", "\tbortezomib\tpi\t")
    problems = validate_knowledge(broken)
    assert any("biomarkers.tsv line" in p and "drug_classes" in p for p in problems), problems


def test_unparseable_spec_is_reported(broken):
    _edit(broken / "biomarkers.tsv", "\tprotein_change\tA108T\t", "\tprotein_change\tAla108Thr\t")
    problems = validate_knowledge(broken)
    assert any("alteration_spec" in p and "Ala108Thr" in p for p in problems), problems


def test_unknown_drug_in_biomarker_is_reported(broken):
    _edit(
        broken / "biomarkers.tsv",
        "\tvenetoclax\tbcl2_inhibitor\tB\t",
        "\tvenclexta\tbcl2_inhibitor\tB\t",
    )
    problems = validate_knowledge(broken)
    assert any("'venclexta' is not a generic name" in p for p in problems), problems


def test_unknown_regimen_component_is_reported(broken):
    _edit(
        broken / "regimens.tsv",
        "bortezomib+lenalidomide+dexamethasone\t",
        "bortezomib+lenalidomid+dexamethasone\t",
    )
    problems = validate_knowledge(broken)
    assert any("'lenalidomid' is not a generic name" in p for p in problems), problems


def test_duplicate_id_and_wrong_alias_are_reported(broken):
    path = broken / "biomarkers.tsv"
    _edit(path, "BM-PSMB5-A108V\t", "BM-PSMB5-A108T\t")
    _edit(path, "\tC122F\tC63F\t", "\tC122F\tC122F\t")
    problems = validate_knowledge(broken)
    assert any("duplicate id BM-PSMB5-A108T" in p for p in problems), problems
    assert any("expected 'C63F'" in p for p in problems), problems


def test_schema_violation_names_file_line_column(broken):
    _edit(
        broken / "genes.tsv",
        "\tproteasome\ttherapy_selected\t",
        "\tproteasomes\ttherapy_selected\t",
    )
    problems = validate_knowledge(broken)
    assert any(p.startswith("genes.tsv line 2, column 'category'") for p in problems), problems


def test_missing_version_and_table(broken):
    (broken / "VERSION").unlink()
    (broken / "drugs.tsv").unlink()
    problems = validate_knowledge(broken)
    assert any("VERSION" in p for p in problems)
    assert any("drugs.tsv: missing" in p for p in problems)


# -- compiled JSON -------------------------------------------------------------------------
def test_json_round_trip_is_deterministic(knowledge, tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    knowledge.to_json(first)
    load_knowledge(first).to_json(second)
    assert first.read_bytes() == second.read_bytes()
    reloaded = load_knowledge(first)
    assert reloaded.version == knowledge.version
    assert reloaded.biomarkers == knowledge.biomarkers
    assert reloaded.gene_aliases == knowledge.gene_aliases
    assert reloaded.resolve_regimen("DKd") == knowledge.resolve_regimen("DKd")
    assert reloaded.trials == knowledge.trials
    assert reloaded.rules == knowledge.rules


def test_json_load_does_not_import_pandas(knowledge, tmp_path):
    compiled = tmp_path / "knowledge.json"
    knowledge.to_json(compiled)
    code = (
        "import sys\n"
        "from mmresist.knowledge.load import load_knowledge\n"
        f"k = load_knowledge({str(compiled)!r})\n"
        "assert 'pandas' not in sys.modules and 'jsonschema' not in sys.modules\n"
        "print(len(k.biomarkers))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(knowledge.biomarkers)


def test_bad_json_is_a_knowledge_error(tmp_path):
    path = tmp_path / "k.json"
    path.write_text('{"format": "other"}')
    with pytest.raises(KnowledgeError, match="compile"):
        load_knowledge(path)
    with pytest.raises(KnowledgeError):
        load_knowledge(tmp_path / "absent")


# -- drugs and regimens --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "generic"),
    [
        ("bortezomib", "bortezomib"),
        ("Velcade", "bortezomib"),
        ("btz", "bortezomib"),
        ("V", "bortezomib"),
        ("LEN", "lenalidomide"),
        ("Revlimid", "lenalidomide"),
        ("d", "dexamethasone"),
        ("Dex", "dexamethasone"),
        ("D", "daratumumab"),
        ("dara", "daratumumab"),
        ("Darzalex Faspro", "daratumumab"),
        ("cilta-cel", "ciltacabtagene autoleucel"),
        ("Carvykti", "ciltacabtagene autoleucel"),
        ("arlo-cel", "arlocabtagene autoleucel"),
        ("Xpovio", "selinexor"),
        ("melflufen", "melphalan flufenamide"),
    ],
)
def test_resolve_drug(knowledge, name, generic):
    assert knowledge.resolve_drug(name) == generic


def test_unknown_drug_is_a_key_error_with_the_name(knowledge):
    with pytest.raises(KeyError) as caught:
        knowledge.resolve_drug("aspirin")
    assert isinstance(caught.value, UnknownDrugError)
    assert "unknown drug 'aspirin'" in str(caught.value)


def test_drug_classes(knowledge):
    assert knowledge.drug_classes("Dara") == ["anti_cd38"]
    assert knowledge.drug_classes("Talvey") == ["gprc5d_bispecific"]
    assert knowledge.drug_classes("ramantamig") == ["bcma_bispecific", "gprc5d_bispecific"]
    assert knowledge.drugs["iberdomide"]["drug_classes"] == ["celmod"]
    assert knowledge.drugs["venetoclax"]["status"] == "investigational"
    assert "10 mg daily" in knowledge.drugs["lenalidomide"]["renal_guidance"]


@pytest.mark.parametrize(
    ("text", "drugs"),
    [
        ("VRd", ["bortezomib", "lenalidomide", "dexamethasone"]),
        ("vrd", ["bortezomib", "lenalidomide", "dexamethasone"]),
        ("RVd", ["bortezomib", "lenalidomide", "dexamethasone"]),
        ("DKd", ["daratumumab", "carfilzomib", "dexamethasone"]),
        ("KdD", ["daratumumab", "carfilzomib", "dexamethasone"]),
        ("Tec-Dara", ["teclistamab", "daratumumab"]),
        ("ASCT", ["melphalan"]),
        ("melphalan+ASCT", ["melphalan"]),
        ("CyBorD", ["bortezomib", "cyclophosphamide", "dexamethasone"]),
        ("Ven-dex", ["venetoclax", "dexamethasone"]),
        ("ide-cel", ["idecabtagene vicleucel"]),
        ("lenalidomide+dexamethasone", ["lenalidomide", "dexamethasone"]),
        ("Lenalidomide + Dexamethasone", ["lenalidomide", "dexamethasone"]),
        ("D+R+d", ["daratumumab", "lenalidomide", "dexamethasone"]),
        ("Rd+daratumumab", ["lenalidomide", "dexamethasone", "daratumumab"]),
        ("teclistamab", ["teclistamab"]),
    ],
)
def test_resolve_regimen(knowledge, text, drugs):
    assert knowledge.resolve_regimen(text) == drugs


@pytest.mark.parametrize(
    ("text", "named"),
    [("VRd+foo", "'foo'"), ("len++dex", "stray"), ("", "empty"), ("KCRd-X", "'KCRd-X'")],
)
def test_resolve_regimen_rejects(knowledge, text, named):
    with pytest.raises(ValueError, match=named) as caught:
        knowledge.resolve_regimen(text)
    assert isinstance(caught.value, UnknownRegimenError)


def test_every_regimen_resolves_to_known_drugs(knowledge):
    for abbreviation, regimen in knowledge.regimens.items():
        drugs = knowledge.resolve_regimen(abbreviation)
        assert drugs and set(drugs) <= set(knowledge.drugs), abbreviation
        assert regimen["sources"]


def test_describe_gene(knowledge):
    text = describe_gene(knowledge, "FAM46C")
    assert text.startswith("TENT5C (HGNC:24712")
    text = describe_gene(knowledge, "psmb5")
    assert "BM-PSMB5-A108T" in text and "literature A49T" in text
    assert "BM-T1114-VEN" in describe_gene(knowledge, "t(11;14)")
    with pytest.raises(KnowledgeError):
        describe_gene(knowledge, "NOPE1")


# -- trials.yaml and rules.yaml ------------------------------------------------------------
def _criteria(criteria):
    for criterion in criteria:
        yield criterion
        yield from _criteria(criterion.get("criteria", []))


def test_trials_are_well_formed(knowledge):
    ids = [trial["id"] for trial in knowledge.trials]
    assert len(ids) == len(set(ids))
    ncts = [trial["nct_id"] for trial in knowledge.trials if trial["nct_id"]]
    assert len(ncts) == len(set(ncts)) and len(ncts) >= 35
    units = lab_test_units()
    types_used = set()
    for trial in knowledge.trials:
        assert trial["sources"], trial["id"]
        assert trial["nct_id"] or trial["other_ids"], trial["id"]
        if trial["status_checked"] is None:
            assert trial["status"] == "unknown", trial["id"]
        else:
            assert isinstance(trial["status_checked"], str)  # YAML dates stay text
        for drug in trial["agents"] + trial["comparator_agents"]:
            assert drug in knowledge.drugs, (trial["id"], drug)
        for criterion in trial["criteria"]:
            assert criterion["kind"] in ("inclusion", "exclusion") and criterion["text"]
        for criterion in _criteria(trial["criteria"]):
            types_used.add(criterion["type"])
            assert criterion["type"] in CRITERION_TYPES
            if criterion["type"] == "lab":
                assert units[criterion["test"]] == criterion["unit"]
    # the facts support no age or lab criterion for these trials; the rest are all in use
    assert set(CRITERION_TYPES) - types_used <= {"age", "lab"}


def test_key_trials_carry_their_criteria(knowledge):
    trials = {trial["short_name"]: trial for trial in knowledge.trials}
    canova = {c["id"]: c for c in trials["CANOVA"]["criteria"]}
    assert canova["t11-14"]["spec"] == "t(11;14)" and canova["t11-14"]["kind"] == "inclusion"
    assert canova["lines"]["min"] == 2
    assert canova["len-refractory"] == {
        "id": "len-refractory",
        "type": "refractory_drug",
        "kind": "inclusion",
        "drug": "lenalidomide",
        "text": "Lenalidomide-refractory",
    }
    majestec = {c["id"]: c for c in trials["MajesTEC-3"]["criteria"]}
    assert majestec["no-bcma"]["rule"] == "excluded"
    assert (majestec["lines"]["min"], majestec["lines"]["max"]) == (1, 3)
    assert trials["LINKER-MM3"]["status"] == "recruiting"
    assert trials["LINKER-MM3"]["status_date"] == "2024-04-30"
    assert trials["LINKER-MM3"]["status_basis"] == "registry"
    assert trials["SUCCESSOR-1"]["nct_verified"] is False
    assert trials["MonumenTAL-1"]["other_ids"] == ["NCT04634552"]
    cevostamab = next(t for t in knowledge.trials if t["id"] == "TR-NCI-2023-05384")
    assert cevostamab["nct_id"] is None
    assert cevostamab["criteria"][0]["modalities"] == ["car_t"]


def test_rules_carry_sources_and_thresholds(knowledge):
    rules = knowledge.rules
    by_id = {rule["id"]: rule for rule in rules["supportive_care"]}
    for rule in rules["supportive_care"]:
        assert rule["source"] and rule["status"] in ("confirmed", "partly", "unconfirmed")
        if rule["status"] != "confirmed":
            assert rule["note"], rule["id"]
    eu = by_id["SC-RENAL-LEN-EU"]
    assert eu["status"] == "confirmed" and eu["test"] == "creatinine_clearance"
    assert [(b["lower"], b["upper"]) for b in eu["bands"]] == [(30, 50), (None, 30), (None, None)]
    assert "5 mg" in eu["bands"][2]["guidance"] and eu["bands"][2]["condition"] == "on_dialysis"
    assert by_id["SC-RENAL-LEN-US"]["bands"][0]["upper"] == 60
    assert by_id["SC-IGG-LOW"]["threshold"] == {"op": "<", "value": 4}
    assert by_id["SC-IGG-LOW"]["status"] == "partly"
    assert by_id["SC-CALCIUM-HIGH"]["unit"] == "mg/dL"
    topics = {rule["topic"] for rule in rules["supportive_care"]}
    assert {"renal", "bone", "infection", "anemia", "thrombosis", "neuropathy"} <= topics
    cgs = {c["id"]: c for c in rules["risk"]["high_risk"]["criteria"]}
    assert cgs["cgs-17p-tp53"]["criteria"][0]["spec"] == "del(17p)>=0.2"
    b2m, creatinine = cgs["cgs-b2m"]["criteria"]
    assert (b2m["op"], b2m["value"], b2m["unit"]) == (">=", 5.5, "mg/L")
    assert (creatinine["op"], creatinine["value"], creatinine["unit"]) == ("<", 1.2, "mg/dL")
    points = {p["factor"]: p["points"] for p in rules["risk"]["r2_iss"]["points"]}
    assert points == {
        "iss_ii": 1,
        "iss_iii": 1.5,
        "del17p": 1,
        "ldh_high": 1,
        "t4_14": 1,
        "gain_1q": 0.5,
    }
    groups = [(g["group"], g["min"], g["max"]) for g in rules["risk"]["r2_iss"]["groups"]]
    assert groups == [("I", 0, 0), ("II", 0.5, 1), ("III", 1.5, 2.5), ("IV", 3, 5)]
    assert rules["risk"]["r_iss"]["high_risk_cytogenetics"] == "del(17p)|t(4;14)|t(14;16)"


def _problems_after(broken: Path, name: str, old: str, new: str) -> list[str]:
    _edit(broken / name, old, new)
    return validate_knowledge(broken)


def test_trial_with_bad_nct_is_reported(broken):
    problems = _problems_after(broken, "trials.yaml", "nct_id: NCT03539744", "nct_id: NCT0353974")
    assert any("trials.yaml trials[1:TR-CANOVA].nct_id" in p for p in problems), problems


def test_trial_with_unknown_drug_is_reported(broken):
    problems = _problems_after(
        broken, "trials.yaml", "agents: [venetoclax, dexamethasone]", "agents: [venclexta]"
    )
    assert any("'venclexta' is not a generic name" in p for p in problems), problems
    with pytest.raises(KnowledgeError, match="venclexta"):
        load_knowledge(broken)


def test_trial_with_unknown_criterion_type_is_reported(broken):
    problems = _problems_after(
        broken, "trials.yaml", "type: prior_lines, kind: inclusion, min: 2,", "type: lines, min: 2,"
    )
    assert any("TR-CANOVA" in p and "criteria[1:lines].type" in p for p in problems), problems


def test_trial_criterion_with_wrong_parameters_is_reported(broken):
    problems = _problems_after(
        broken,
        "trials.yaml",
        "type: exposed_class, kind: exclusion, class: bcl2_inhibitor,",
        "type: exposed_class, kind: exclusion, class: bcl2i,",
    )
    assert any("criteria[5:no-bcl2i].class" in p for p in problems), problems


def test_trial_with_unparseable_biomarker_spec_is_reported(broken):
    problems = _problems_after(
        broken,
        "trials.yaml",
        'spec: "t(11;14)", text: "t(11;14) by central FISH"',
        'spec: "t11;14", text: "t(11;14) by central FISH"',
    )
    assert any("TR-CANOVA" in p and ".spec:" in p and "t11;14" in p for p in problems), problems


def test_trial_with_unknown_biomarker_id_is_reported(broken):
    problems = _problems_after(broken, "trials.yaml", "BM-KRAS-C12}", "BM-KRAS-C99}")
    assert any("'BM-KRAS-C99' is not in biomarkers.tsv" in p for p in problems), problems


def test_trial_without_source_is_reported(broken):
    problems = _problems_after(
        broken,
        "trials.yaml",
        "sources: [NCT03539744, Mateos 2025 J Clin Oncol (CANOVA)]",
        "sources: []",
    )
    assert any("TR-CANOVA" in p and "sources" in p for p in problems), problems


def test_trial_status_without_date_is_reported(broken):
    problems = _problems_after(
        broken,
        "trials.yaml",
        'status_checked: "2026-12-06"\n    status_date: "2024-04-30"',
        'status_checked: null\n    status_date: "2024-04-30"',
    )
    assert any("TR-LINKER-MM3].status" in p and "status: unknown" in p for p in problems), problems


def test_known_trial_status_without_its_basis_is_reported(broken):
    problems = _problems_after(
        broken, "trials.yaml", '    status_date: "2024-04-30"\n    status_basis: registry\n', ""
    )
    assert any("TR-LINKER-MM3].status_basis" in p for p in problems), problems


def test_duplicate_trial_id_is_reported(broken):
    problems = _problems_after(broken, "trials.yaml", "id: TR-BELLINI", "id: TR-CANOVA")
    assert any("duplicate trial id TR-CANOVA" in p for p in problems), problems


def test_lab_criterion_test_and_unit_are_checked(broken):
    lab = (
        '{id: crcl, type: lab, kind: inclusion, test: creatinine_clearance, op: ">=", '
        'value: 30, unit: mL/min, text: "CrCl at least 30 mL/min"}'
    )
    anchor = "      - {id: no-pom, type: exposed_drug, kind: exclusion, drug: pomalidomide,"
    _edit(broken / "trials.yaml", anchor, f"      - {lab}\n{anchor}")
    assert validate_knowledge(broken) == []
    problems = _problems_after(
        broken, "trials.yaml", "unit: mL/min, text", "unit: ml/min/1.73m2, text"
    )
    assert any("is not the canonical unit of creatinine_clearance" in p for p in problems)
    problems = _problems_after(broken, "trials.yaml", "test: creatinine_clearance", "test: crcl")
    assert any("unknown lab test 'crcl'" in p for p in problems), problems


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'source: ["Revlimid US prescribing information (edition unverified)", '
            '"DOI:10.1177/0091270007309563", "Chen 2007 J Clin Pharmacol (lenalidomide '
            "pharmacokinetics in renal impairment and haemodialysis; starting-dose "
            'recommendations)"]',
            "source: []",
            "supportive_care[1:SC-RENAL-LEN-US].source",
        ),
        ("test: igg\n    unit: g/L", "test: igg\n    unit: mg/dL", "SC-IGG-LOW].unit"),
        ("{lower: 30, upper: 60,", "{lower: 60, upper: 30,", "lower 60 is not below upper 30"),
        ('spec: "del(1p32)&gain(1q)|amp(1q)"', 'spec: "del(1p)"', "'del(1p)' in 'del(1p)'"),
        ("status: confirmed", "status: checked", "supportive_care[0:SC-RENAL-LEN-EU].status"),
        ("applies_to: {drugs: [lenalidomide]}", "applies_to: {drugs: [revlimid]}", "'revlimid'"),
        ('threshold: {op: ">", value: 11}', 'threshold: {op: "=", value: 11}', ".op"),
        (
            '    source: ["DOI:10.1038/s41408',
            '    sources: ["DOI:10.1038/s41408',
            "SC-RENAL-LEN-PRE1003",
        ),
    ],
)
def test_malformed_rules_are_reported(broken, old, new, expected):
    problems = _problems_after(broken, "rules.yaml", old, new)
    assert any(p.startswith("rules.yaml") and expected in p for p in problems), problems


# -- option_rules.yaml --------------------------------------------------------------------------
def test_option_rules_are_loaded_with_their_references_resolved(knowledge):
    """Lab limits come from rules.yaml (not repeated), cautions carry the sources they point
    at, and every printed text has a source or cites the regimen."""
    facts = knowledge.option_rules
    limits = {limit["test"]: limit["value"] for limit in facts["lab_limits"]}
    supportive = {rule["id"]: rule for rule in knowledge.rules["supportive_care"]}
    assert limits["neutrophils"] == max(
        band["upper"] for band in supportive["SC-NEUTROPENIA"]["bands"]
    )
    assert limits["platelets"] == 50 and limits["egfr"] == 60 and limits["creatinine"] == 1.2
    infection = next(c for c in facts["cautions"] if c["applies_to"] == "t_cell_redirecting")
    assert infection["source"] == supportive["SC-INFECTION-TCE-CART"]["source"]
    for section in ("class_switches", "sensitivity_cautions", "unselected", "antigen_switches"):
        for entry in facts[section]:
            assert entry.get("source") or entry.get("cite") == "regimen", entry["id"]
    venetoclax = next(c for c in facts["sensitivity_cautions"] if c["drug"] == "venetoclax")
    assert {"NCT02755597", "PMID:40587991", "NCT03539744"} <= set(venetoclax["source"])


def test_option_rule_limit_follows_rules_yaml(broken):
    """Moving the neutropenia band in rules.yaml moves the option caution's limit with it."""
    _edit(
        broken / "rules.yaml",
        "{lower: 0.5, upper: 1.0, severity: warning,",
        "{lower: 0.5, upper: 1.5, severity: warning,",
    )
    loaded = load_knowledge(broken)
    limits = {limit["test"]: limit["value"] for limit in loaded.option_rules["lab_limits"]}
    assert limits["neutrophils"] == 1.5


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "to_drugs: [carfilzomib, ixazomib]",
            "to_drugs: [kyprolis]",
            "'kyprolis' is not a generic",
        ),
        ("to_classes: [celmod]", "to_classes: [cereblon]", "unknown drug class 'cereblon'"),
        ("gene: CRBN", "gene: CRBN1", "'CRBN1' is not in genes.tsv"),
        ('source: [NCT02755597, "PMID:40587991"]', "source: [NCT0275559]", "NCT id must be"),
        ("source_rule: SC-INFECTION-TCE-CART", "source_rule: SC-NONE", "'SC-NONE' is neither"),
        ("source_biomarker: BM-BRAF-V600E", "source_biomarker: BM-NONE", "'BM-NONE'"),
        (
            "from: {rule: SC-NEUTROPENIA}",
            "from: {rule: SC-THROMBOCYTOPENIA}",
            "gives no neutrophils",
        ),
        ("test: platelets", "test: thrombocytes", "unknown lab test 'thrombocytes'"),
        (
            "after: gprc5d\n    to: [gprc5d]",
            "after: cd19\n    to: [gprc5d]",
            "'cd19' is not an antigen",
        ),
        (
            "bcma: [bcma_car_t, bcma_bispecific, bcma_adc]",
            "bcma: [bcma_car_t, anti_cd38]",
            "daratumumab",
        ),
        (
            "drug_classes: [bcl2_inhibitor, braf_inhibitor",
            "drug_classes: [imid, braf_inhibitor",
            "lenalidomide",
        ),
        ("class to {drug} is a", "class to {regimen} is a", "unknown placeholder"),
        ("id: OPT-SWITCH-LENALIDOMIDE", "id: OPT-SWITCH-BORTEZOMIB", "duplicate id"),
        ("    cite: regimen\n", "", "OPT-SWITCH-LENALIDOMIDE"),
    ],
)
def test_malformed_option_rules_are_reported(broken, old, new, expected):
    problems = _problems_after(broken, "option_rules.yaml", old, new)
    assert any(p.startswith("option_rules.yaml") and expected in p for p in problems), problems


def test_missing_trials_file_is_reported(broken):
    (broken / "trials.yaml").unlink()
    assert any("trials.yaml: missing" in p for p in validate_knowledge(broken))


def test_shipped_compiled_knowledge_is_current(tmp_path):
    """resources/knowledge/compiled/knowledge.json must be what `make knowledge` writes now:
    the workflow uses it instead of a compile job while it records the tables' digest."""
    from mmresist.knowledge.load import compiled_is_fresh

    folder = Path("resources/knowledge")
    shipped = folder / "compiled" / "knowledge.json"
    fresh = tmp_path / "knowledge.json"
    load_knowledge(folder).to_json(fresh)
    assert compiled_is_fresh(folder, shipped), "run `make knowledge` after editing the tables"
    assert shipped.read_bytes() == fresh.read_bytes(), "run `make knowledge`"


def test_a_changed_table_makes_the_compiled_file_stale(tmp_path):
    import shutil

    from mmresist.knowledge.load import compiled_is_fresh

    folder = tmp_path / "knowledge"
    shutil.copytree("resources/knowledge", folder)
    compiled = tmp_path / "compiled.json"
    load_knowledge(folder).to_json(compiled)
    assert compiled_is_fresh(folder, compiled)
    genes = folder / "genes.tsv"
    genes.write_text(genes.read_text(encoding="utf-8").replace("Catalytic", "Catalytic "))
    assert not compiled_is_fresh(folder, compiled)
    assert not compiled_is_fresh(folder, tmp_path / "missing.json")


# -- every sentence that reaches a report cites a resolvable source --------------------------
VTE_SOURCE = (
    'source: ["DOI:10.1038/sj.leu.2405062", "Palumbo 2008 Leukemia 22:414 (IMWG thrombosis '
    'prevention with thalidomide and lenalidomide)"]'
)


def test_supportive_rule_without_identifier_is_reported(broken):
    problems = _problems_after(
        broken, "rules.yaml", VTE_SOURCE, 'source: ["Palumbo 2008 Leukemia 22:414 (IMWG)"]'
    )
    assert any(
        p.startswith("rules.yaml supportive_care[")
        and "SC-VTE-IMID].source: no PMID, DOI or NCT" in p
        for p in problems
    ), problems


def test_policy_rule_is_exempt_but_nothing_else(broken):
    _edit(broken / "rules.yaml", VTE_SOURCE, 'source: ["Palumbo 2008 Leukemia 22:414 (IMWG)"]')
    _edit(
        broken / "rules.yaml",
        "    applies_to: {drug_classes: [imid]}\n",
        "    applies_to: {drug_classes: [imid]}\n    policy: true\n",
    )
    assert validate_knowledge(broken) == []
    # policy must be a boolean: a string does not pass the schema
    _edit(
        broken / "rules.yaml",
        "    applies_to: {drug_classes: [imid]}\n    policy: true\n",
        "    applies_to: {drug_classes: [imid]}\n    policy: yes-ish\n",
    )
    assert any("policy" in p for p in validate_knowledge(broken))


def test_option_fact_and_ranking_entry_without_identifier_are_reported(broken):
    _edit(
        broken / "option_rules.yaml",
        '"PMID:30858549", "DOI:10.1038/s41375-019-0435-7", NCT02514668]',
        "]",
    )
    _edit(
        broken / "option_ranking.yaml",
        'source: ["DOI:10.1038/s41591-021-01245-5", "Lee 2023',
        'source: ["Lee 2023',
    )
    problems = validate_knowledge(broken)
    assert any(
        "option_rules.yaml refractory_class_notes[0:OPT-ISATUXIMAB-AFTER-DARATUMUMAB].source: "
        "no PMID, DOI or NCT id" in p
        for p in problems
    ), problems
    assert any(
        "option_ranking.yaml never_offer[2:RANK-CAR-T-RELAPSE].source: no PMID, DOI or NCT id" in p
        for p in problems
    ), problems


def test_real_cited_entries_carry_an_identifier_or_are_policy(knowledge):
    from mmresist.knowledge.spec import is_identifier

    ranking = knowledge.regimen_evidence["ranking"]
    assert ranking["approval_groups"]["policy"] is True
    assert "design choice, not a clinical claim" in ranking["approval_groups"]["source"][0]
    for rule in knowledge.rules["supportive_care"]:
        assert rule.get("policy") or any(is_identifier(s) for s in rule["source"]), rule["id"]
