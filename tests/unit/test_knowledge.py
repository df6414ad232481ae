"""The curated knowledge tables: validation, loading, compiled JSON and name resolution."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmresist.constants import CATEGORIES, DRUG_CLASSES
from mmresist.errors import KnowledgeError
from mmresist.knowledge import (
    SpecError,
    UnknownDrugError,
    UnknownRegimenError,
    describe_gene,
    expected_literature_alias,
    load_knowledge,
    parse_spec,
    source_problems,
    validate_knowledge,
)

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
    assert len(knowledge.biomarkers) >= 140
    assert len(knowledge.regimens) >= 40
    assert len(knowledge.drugs) >= 40
    assert knowledge.version == (KNOWLEDGE / "VERSION").read_text().strip()
    assert knowledge.version.count(".") == 2


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
        "BM-TP53-MUT",
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
    ],
)
def test_source_problems(token, ok):
    assert (source_problems(token) == []) is ok


# -- broken copies -------------------------------------------------------------------------
def test_missing_source_is_reported(broken):
    path = broken / "biomarkers.tsv"
    row = _row(path, "BM-PSMB5-A108T")
    fixed = row.copy()
    fixed[10] = ""
    _edit(path, "\t".join(row), "\t".join(fixed))
    problems = validate_knowledge(broken)
    assert any("biomarkers.tsv line" in p and "'sources'" in p for p in problems), problems
    with pytest.raises(KnowledgeError, match="sources"):
        load_knowledge(broken)


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


def test_json_load_does_not_import_pandas(knowledge, tmp_path):
    compiled = tmp_path / "knowledge.json"
    knowledge.to_json(compiled)
    code = (
        "import sys\n"
        "from mmresist.knowledge import load_knowledge\n"
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
