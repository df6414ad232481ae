"""Clinical tables: type conversion, schema validation errors and lab unit conversion."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mmresist.errors import InputError
from mmresist.io.clinical import LAB_UNITS, convert_lab, load_schema, read_table, rows_for, unit_key
from mmresist.vocab import CLINICAL_TABLES, CYTOGENETIC_ABNORMALITIES

HEADERS = {
    "therapy_lines": "patient_id\tline\tregimen\tstart_date\tend_date\tbest_response"
    "\tprogression_date\trefractory",
    "labs": "patient_id\tdate\ttest\tvalue\tunit",
    "cytogenetics": "patient_id\tdate\tabnormality\tclone_fraction\tmethod",
    "mrd": "patient_id\tdate\tmethod\tsensitivity\tresult\tvalue",
    "patients": "patient_id\tbirth_date\tage\tsex\tecog\ttransplant_eligible\tweight_kg"
    "\theight_cm\tisotype\textramedullary\tplasma_cell_leukaemia\tfirst_remission_months",
}
VALID = {
    "therapy_lines": "P1\t1\tVRd\t2020-01-01\t2020-06-01\tVGPR\t2021-01-01\t",
    "labs": "P1\t2024-01-02\tcreatinine\t1.1\tmg/dL",
    "cytogenetics": "P1\t2024-01-02\tt(4;14)\t0.8\tFISH",
    "mrd": "P1\t2024-01-02\tNGS\t1e-5\tnegative\t",
    "patients": "P1\t1960-03-01\t\tF\t1\tyes\t64.5\t165\tigg kappa\tno\tno\t30",
}


def write(tmp_path: Path, kind: str, *rows: str, header: str | None = None) -> str:
    path = tmp_path / f"{kind}.tsv"
    path.write_text("\n".join([HEADERS[kind] if header is None else header, *rows]) + "\n")
    return str(path)


def test_therapy_rows_are_typed_and_canonical(tmp_path):
    path = write(
        tmp_path,
        "therapy_lines",
        " P1 \t1\tVRd\t2020-01-01\t2020-06-01\tvgpr\t2021-01-01\t",
        "P1\t2\tDKd\t2021-02-01\tNA\tPR\t\tYES",
    )
    first, second = read_table(path, "therapy_lines")
    assert first == {
        "patient_id": "P1",
        "line": 1,
        "regimen": "VRd",
        "start_date": date(2020, 1, 1),
        "end_date": date(2020, 6, 1),
        "best_response": "VGPR",
        "progression_date": date(2021, 1, 1),
        "refractory": None,
        "phase": None,
        "stop_reason": None,
        "intolerant": None,
        "_file": path,
        "_line": 2,
    }
    assert (second["end_date"], second["refractory"], second["_line"]) == (None, "yes", 3)


def test_unknown_columns_are_dropped_and_missing_optional_columns_are_none(tmp_path):
    path = write(
        tmp_path,
        "cytogenetics",
        "P1\t2024-01-02\tDel(17p)\tJane Doe",
        header="patient_id\tdate\tabnormality\tpatient_name",
    )
    (row,) = read_table(path, "cytogenetics")
    assert "patient_name" not in row
    assert (row["abnormality"], row["clone_fraction"], row["method"]) == ("del(17p)", None, None)


def test_header_is_case_insensitive_and_comments_keep_line_numbers(tmp_path):
    path = write(
        tmp_path,
        "labs",
        "# exported from the LIMS",
        "",
        "P1\t2024-01-02\tHaemoglobin\t95\tg/L",
        header="Patient_ID\tDate\tTest\tValue\tUnit",
    )
    (row,) = read_table(path, "labs")
    assert (row["test"], row["_line"]) == ("hemoglobin", 4)


@pytest.mark.parametrize(
    ("kind", "row", "field", "fragment", "got"),
    [
        ("therapy_lines", "P1\t1\tVRd\t2020-13-01", "start_date", "ISO 8601", "2020-13-01"),
        ("therapy_lines", "P1\t1\tVRd\t2021-02-30", "start_date", "calendar", "2021-02-30"),
        ("therapy_lines", "P1\t1\tVRd\t01/02/2020", "start_date", "YYYY-MM-DD", "01/02/2020"),
        ("therapy_lines", "P1\tfirst\tVRd\t2020-01-01", "line", "whole number", "first"),
        ("therapy_lines", "P1\t0\tVRd\t2020-01-01", "line", "≥ 1", "0"),
        ("therapy_lines", "P1\t1\t\t2020-01-01", "regimen", "required value is missing", ""),
        ("therapy_lines", "P1\t1\tVRd\t2020-01-01\t\tnCR", "best_response", "one of sCR", "nCR"),
        (
            "therapy_lines",
            "P1\t2\tVRd\t2021-01-01\t\t\t\tlenalidomide+",
            "refractory",
            "joined by '+' mark those drugs",
            "lenalidomide+",
        ),
        (
            "therapy_lines",
            "P1\t1\tVRd\t2020-01-01\t2019-12-01",
            "end_date",
            "before start_date",
            "2019-12-01",
        ),
        (
            "therapy_lines",
            "P1\t1\tVRd\t2020-01-01\t\t\t2019-12-01",
            "progression_date",
            "before start_date",
            "2019-12-01",
        ),
        ("therapy_lines", "../P1\t1\tVRd\t2020-01-01", "patient_id", "patient identifier", "../P1"),
        ("labs", "P1\t2024-01-02\tsodium\t140\tmmol/L", "test", "one of creatinine", "sodium"),
        ("labs", "P1\t2024-01-02\tcreatinine\thigh\tmg/dL", "value", "a number", "high"),
        ("labs", "P1\t2024-01-02\tcreatinine\t1,1\tmg/dL", "value", "decimal separator", "1,1"),
        ("labs", "P1\t2024-01-02\tcreatinine\t-1\tmg/dL", "value", "≥ 0", "-1"),
        ("labs", "P1\t2024-01-02\tcreatinine\t1.1\tmmol/L", "unit", "mg/dL, µmol/L", "mmol/L"),
        ("labs", "P1\t2024-01-02\themoglobin\t9.5\t", "unit", "g/dL, g/L, mmol/L", ""),
        ("labs", "P1\t2024-02-30\tldh\t200\tU/L", "date", "calendar", "2024-02-30"),
        ("cytogenetics", "P1\t2024-01-02\tt(8;14)", "abnormality", "one of t(4;14)", "t(8;14)"),
        ("cytogenetics", "P1\t2024-01-02\tt(4;14)\t145", "clone_fraction", "up to 100", "145"),
        ("cytogenetics", "P1\t2024-01-02\tt(4;14)\t120%", "clone_fraction", "up to 100", "120%"),
        ("mrd", "P1\t2024-01-02\tPCR\t1e-5\tnegative", "method", "one of NGS, NGF", "PCR"),
        ("mrd", "P1\t2024-01-02\tNGS\t5\tnegative", "sensitivity", "≤ 0.01", "5"),
        ("mrd", "P1\t2024-01-02\tNGS\t1e-5\tequivocal", "result", "one of negative", "equivocal"),
        ("mrd", "P1\t2024-01-02\tNGS\t1e-5\tpositive\t2", "value", "≤ 1", "2"),
        ("mrd", "P1\t2024-01-02\tNGS\t\tpositive", "sensitivity", "required value", ""),
    ],
)
def test_each_violation_names_file_line_column_expected_and_found(
    tmp_path, kind, row, field, fragment, got
):
    # The bad row is the second data row (line 3): line numbers must not be off by one.
    path = write(tmp_path, kind, VALID[kind], row)
    with pytest.raises(InputError) as caught:
        read_table(path, kind)
    error = caught.value
    assert (error.file, error.line, error.field) == (path, 3, field)
    assert error.got == got
    message = str(error)
    assert path in message and "line 3" in message and f"'{field}'" in message
    assert fragment in message


@pytest.mark.parametrize("kind", CLINICAL_TABLES)
def test_missing_required_column_is_named_on_line_1(tmp_path, kind):
    required = load_schema(kind)["required"]
    dropped = required[-1]
    header = "\t".join(c for c in HEADERS[kind].split("\t") if c != dropped)
    path = write(tmp_path, kind, header=header)
    with pytest.raises(InputError) as caught:
        read_table(path, kind)
    assert (caught.value.line, caught.value.field) == (1, dropped)
    assert f"missing required column '{dropped}'" in str(caught.value)


def test_labs_need_a_unit_column_even_though_flc_ratio_has_none(tmp_path):
    path = write(tmp_path, "labs", header="patient_id\tdate\ttest\tvalue")
    with pytest.raises(InputError) as caught:
        read_table(path, "labs")
    assert caught.value.field == "unit"


def test_rows_sharing_a_line_number_are_its_phases(tmp_path):
    header = HEADERS["therapy_lines"] + "\tphase\tstop_reason\tintolerant"
    path = write(
        tmp_path,
        "therapy_lines",
        "P1\t1\tlenalidomide\t2020-09-01\t\t\t2023-05-02\t\tMaintenance\t\t",
        "P2\t1\tRd\t2020-01-01\t\t\t\t\t\t\t",
        "P1\t1\tVRd\t2020-01-06\t2020-04-20\tVGPR\t\t\tinduction\ttoxicity\tbortezomib",
        "P1\t1\tASCT\t2020-06-01\t2020-06-01\t\t\t\ttransplant\t\t",
        header=header,
    )
    rows = read_table(path, "therapy_lines")
    assert [row["phase"] for row in rows] == ["maintenance", None, "induction", "transplant"]
    assert rows[2]["stop_reason"] == "toxicity" and rows[2]["intolerant"] == "bortezomib"


def test_phases_starting_on_the_same_day_name_both_lines(tmp_path):
    path = write(
        tmp_path,
        "therapy_lines",
        "P1\t1\tVRd\t2020-01-01",
        "P2\t1\tRd\t2020-01-01",
        "P1\t1\tDKd\t2020-01-01",
    )
    with pytest.raises(InputError) as caught:
        read_table(path, "therapy_lines")
    assert (caught.value.line, caught.value.field) == (4, "start_date")
    assert "the other row is on line 2" in str(caught.value)


def test_patients_rows_are_typed_and_a_second_row_is_refused(tmp_path):
    from mmresist.io.clinical import patient_info

    (row,) = read_table(write(tmp_path, "patients", VALID["patients"]), "patients")
    assert (row["sex"], row["isotype"], row["ecog"]) == ("female", "IgG kappa", 1)
    info = patient_info(row, reference_date="2024-02-29")
    assert info["age"] == 63 and info["transplant_eligible"] is True
    assert info["extramedullary"] is False and info["weight_kg"] == 64.5
    sparse = read_table(write(tmp_path, "patients", "P2\t\t71\t\t\t\t\t\t\t\t\t"), "patients")
    unknown = patient_info(sparse[0], reference_date="2024-02-29")
    assert unknown["age"] == 71
    # Nothing given, nothing assumed.
    assert {key for key, value in unknown.items() if value is None} == set(unknown) - {
        "patient_id",
        "age",
    }
    with pytest.raises(InputError) as caught:
        read_table(write(tmp_path, "patients", VALID["patients"], VALID["patients"]), "patients")
    assert (caught.value.line, caught.value.field) == (3, "patient_id")
    assert "first on line 2" in str(caught.value)


def test_more_cells_than_columns_is_refused(tmp_path):
    path = write(tmp_path, "labs", "P1\t2024-01-02\tldh\t200\tU/L\tstray")
    with pytest.raises(InputError) as caught:
        read_table(path, "labs")
    assert caught.value.line == 2 and "header has 5 columns" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("", "empty file"),
        ("patient_id,date,test\n", "not tab"),
        (b"\x1f\x8b\x08\x00", "gzip-compressed"),
        (b"patient_id\t\xff\n", "not UTF-8 text (invalid start byte at byte 11)"),
    ],
)
def test_unreadable_files_are_refused(tmp_path, content, fragment):
    path = tmp_path / "labs.tsv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as caught:
        read_table(path, "labs")
    assert fragment in str(caught.value) and str(path) in str(caught.value)


def test_unknown_kind_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="unknown clinical table kind"):
        read_table(write(tmp_path, "labs"), "vitals")


@pytest.mark.parametrize(
    ("test", "value", "unit", "canonical_value", "canonical_unit"),
    [
        ("creatinine", 88.42, "µmol/L", 1.0, "mg/dL"),  # micro sign U+00B5
        ("creatinine", 176.84, "μmol/L", 2.0, "mg/dL"),  # Greek mu U+03BC
        ("creatinine", 176.84, "umol/l", 2.0, "mg/dL"),
        ("creatinine", 1.3, "mg/dl", 1.3, "mg/dL"),
        ("egfr", 45, "mL/min/1.73 m²", 45.0, "mL/min/1.73m2"),
        ("egfr", 45, "ml/min/1,73m2", 45.0, "mL/min/1.73m2"),
        ("hemoglobin", 95, "g/L", 9.5, "g/dL"),
        ("hemoglobin", 6.2, "mmol/L", 9.99099, "g/dL"),
        ("calcium", 2.5, "mmol/L", 10.02, "mg/dL"),
        ("albumin", 35, "g/L", 3.5, "g/dL"),
        ("beta2_microglobulin", 3.5, "µg/mL", 3.5, "mg/L"),
        ("beta2_microglobulin", 0.55, "mg/dL", 5.5, "mg/L"),
        ("ldh", 4, "µkat/L", 240.0, "U/L"),
        ("ldh", 250, "IU/L", 250.0, "U/L"),
        ("igg", 1500, "mg/dL", 15.0, "g/L"),
        ("igg", 1.5, "g/dL", 15.0, "g/L"),
        ("neutrophils", 1500, "cells/µL", 1.5, "10^9/L"),
        ("neutrophils", 1.5, "G/L", 1.5, "10^9/L"),
        ("neutrophils", 1.5, "10^3/uL", 1.5, "10^9/L"),
        ("platelets", 150, "x10^9/L", 150.0, "10^9/L"),
        ("platelets", 150, "×10⁹/L", 150.0, "10^9/L"),
        ("platelets", 150, "10E9/L", 150.0, "10^9/L"),
        ("platelets", 150, "10*9/l", 150.0, "10^9/L"),
        ("platelets", 150000, "/mm3", 150.0, "10^9/L"),
        ("m_protein", 25, "g/L", 2.5, "g/dL"),
        ("m_protein", 0.3, "g/dL", 0.3, "g/dL"),
        ("flc_ratio", 12.5, None, 12.5, "ratio"),
        ("flc_ratio", 12.5, "ratio", 12.5, "ratio"),
        ("flc_ratio", 12.5, "-", 12.5, "ratio"),
    ],
)
def test_unit_conversion_to_canonical(test, value, unit, canonical_value, canonical_unit):
    assert convert_lab(test, value, unit) == (pytest.approx(canonical_value), canonical_unit)


@pytest.mark.parametrize(
    ("test", "unit"),
    [
        ("creatinine", "mmol/L"),  # a factor-1000 slip of µmol/L; never guessed
        ("beta2_microglobulin", "nmol/L"),
        ("egfr", "mL/min"),  # creatinine clearance, not eGFR
        ("hemoglobin", "mg/dL"),
        ("platelets", "g/dL"),
        ("flc_ratio", "mg/L"),
    ],
)
def test_unknown_units_are_refused_never_guessed(test, unit):
    with pytest.raises(KeyError):
        convert_lab(test, 1.0, unit)


def test_read_labs_keep_original_and_add_canonical(tmp_path):
    path = write(
        tmp_path,
        "labs",
        "P1\t2024-01-02\tcreatinine\t176.84\tµmol/L",
        "P1\t2024-01-02\tflc_ratio\t0.9\t",
    )
    creatinine, ratio = read_table(path, "labs")
    assert (creatinine["value"], creatinine["unit"]) == (176.84, "µmol/L")
    assert (creatinine["value_canonical"], creatinine["unit_canonical"]) == (2.0, "mg/dL")
    assert (ratio["unit"], ratio["value_canonical"], ratio["unit_canonical"]) == (
        None,
        0.9,
        "ratio",
    )


def test_every_lab_test_of_the_schema_has_units_and_vice_versa():
    assert set(load_schema("labs")["properties"]["test"]["enum"]) == set(LAB_UNITS)
    for _test, (canonical, factors) in LAB_UNITS.items():
        assert factors.get(canonical) == 1.0


def test_unit_key_normalises_notation():
    assert unit_key("x10⁹/L") == unit_key("10^9/l") == unit_key("× 10E9 / L")
    assert unit_key("μmol/L") == unit_key("µmol/L") == "umol/l"


def test_fractions_and_sensitivity_notations(tmp_path):
    cyto = write(tmp_path, "cytogenetics", "P1\t2024-01-02\t1q+\t45%\tFISH")
    (row,) = read_table(cyto, "cytogenetics")
    assert (row["abnormality"], row["clone_fraction"]) == ("gain(1q)", pytest.approx(0.45))
    mrd = write(tmp_path, "mrd", "P1\t2024-01-02\tngf\t10^-5\tPOSITIVE\t0.01%")
    (row,) = read_table(mrd, "mrd")
    assert (row["method"], row["sensitivity"], row["result"]) == ("NGF", 1e-5, "positive")
    assert row["value"] == pytest.approx(1e-4)


def test_percent_is_not_accepted_for_lab_values(tmp_path):
    path = write(tmp_path, "labs", "P1\t2024-01-02\tldh\t20%\tU/L")
    with pytest.raises(InputError) as caught:
        read_table(path, "labs")
    assert caught.value.field == "value"


def test_rows_for_and_patient_filter_keep_patients_apart(tmp_path):
    path = write(
        tmp_path,
        "labs",
        "P1\t2024-01-02\tldh\t200\tU/L",
        "P2\t2024-01-02\tldh\tbad\tU/L",
        "P1\t2024-02-02\tldh\t210\tU/L",
    )
    with pytest.raises(InputError):
        read_table(path, "labs")  # the whole table is validated by default
    mine = read_table(path, "labs", patient_id="P1")
    assert [row["_line"] for row in mine] == [2, 4]
    assert all(row["patient_id"] == "P1" for row in mine)
    assert rows_for(mine, "P2") == []


def test_cytogenetic_enum_matches_constants():
    enum = load_schema("cytogenetics")["properties"]["abnormality"]["enum"]
    assert tuple(enum) == CYTOGENETIC_ABNORMALITIES


@pytest.mark.parametrize("kind", [*CLINICAL_TABLES, "samples"])
def test_schemas_are_valid_and_describe_every_column(kind):
    import jsonschema

    schema = load_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"]
    for name, prop in schema["properties"].items():
        assert prop.get("description"), f"{kind}.{name} has no description"


@pytest.mark.parametrize("kind", CLINICAL_TABLES)
def test_rows_as_read_hold_exactly_the_schema_columns_and_validate(tmp_path, kind):
    """Every value a row carries is one the schema describes, and the row as read (dates as
    ISO text, empty cells left out) is valid against it, so the schema documents the rows."""
    import jsonschema

    more = {
        "therapy_lines": "P1\t2\tDKd\t2021-02-01\t\tPR\t\tyes",
        "labs": "P1\t2024-01-02\tflc_ratio\t12.5\t",
        "cytogenetics": "P1\t2024-01-02\tgain(1q)\t\t",
        "mrd": "P2\t2024-01-02\tNGF\t2e-6\tpositive\t0.0001",
        "patients": "P2\t\t80\tmale\t\tno\t\t\t\t\t\t",
    }
    schema = load_schema(kind)
    rows = read_table(write(tmp_path, kind, VALID[kind], more[kind]), kind)
    assert len(rows) == 2
    for row in rows:
        public = {key: value for key, value in row.items() if not key.startswith("_")}
        assert set(public) == set(schema["properties"])
        instance = {
            key: value.isoformat() if isinstance(value, date) else value
            for key, value in public.items()
            if value is not None
        }
        jsonschema.Draft202012Validator(schema).validate(instance)


@pytest.mark.parametrize("cell", ["0.7", "70%", "70", "70 %"])
def test_clone_fraction_reads_fraction_percent_and_bare_percentage_alike(tmp_path, cell):
    """FISH reports write 70 for 70% of nuclei: a bare number above 1 can only be a
    percentage, so all forms read 0.70; only the bare one leaves a QC note."""
    path = write(tmp_path, "cytogenetics", f"P1\t2024-01-02\tdel(17p)\t{cell}\tFISH")
    (row,) = read_table(path, "cytogenetics")
    assert row["clone_fraction"] == pytest.approx(0.70)
    notes = row.get("_notes", [])
    if cell == "70":
        assert len(notes) == 1 and "line 2" in notes[0] and "70%" in notes[0]
    else:
        assert notes == []


def test_clone_fraction_of_one_is_whole_clone_with_a_note(tmp_path):
    path = write(tmp_path, "cytogenetics", "P1\t2024-01-02\tdel(17p)\t1\tFISH")
    (row,) = read_table(path, "cytogenetics")
    assert row["clone_fraction"] == 1.0
    assert "1%" in row["_notes"][0]


@pytest.mark.parametrize(
    ("cell", "canonical"),
    [
        ("biallelic del(1p32)", "biallelic_del(1p32)"),
        ("del(1p32) biallelic", "biallelic_del(1p32)"),
        ("MYC rearrangement", "MYC_rearrangement"),
        ("myc_rearrangement", "MYC_rearrangement"),
    ],
)
def test_biallelic_1p32_and_myc_rearrangement_are_vocabulary(tmp_path, cell, canonical):
    path = write(tmp_path, "cytogenetics", f"P1\t2024-01-02\t{cell}\t0.4\tFISH")
    (row,) = read_table(path, "cytogenetics")
    assert row["abnormality"] == canonical
