"""The one TSV reader and schema-error helper under every tabular input."""

from __future__ import annotations

import gzip
import re
from datetime import date
from pathlib import Path

import pytest

from mmresist.errors import InputError
from mmresist.io import tabular
from mmresist.io.tabular import as_date, cell, read_tsv, row_values, validate_row


def rows_of(path: Path, **options) -> tuple[list[str], list[tuple[int, list[str]]]]:
    table = read_tsv(path, **options)
    return table.header, list(table.rows)


def test_bom_crlf_lone_cr_comments_and_blank_lines_keep_true_line_numbers(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_bytes(
        b"\xef\xbb\xbf\r\n Patient_ID\tValue \r\n  # a comment\r\n\r\nP1\t 1 \rP2\tNA\nP3\tn/a\n"
    )
    header, rows = rows_of(path)
    assert header == ["patient_id", "value"]
    assert rows == [(5, ["P1", "1"]), (6, ["P2", "NA"]), (7, ["P3", "n/a"])]
    assert [cell(cells, 1) for _, cells in rows] == ["1", None, None]
    assert row_values(header, rows[1][1]) == {"patient_id": "P2"}


def test_crlf_split_across_read_blocks_is_one_line_end(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "_BLOCK", 7)
    path = tmp_path / "t.tsv"
    path.write_bytes(b"a\tb\r\n" + b"".join(b"x%d\ty\r\n" % i for i in range(40)))
    header, rows = rows_of(path)
    assert header == ["a", "b"]
    assert [number for number, _ in rows] == list(range(2, 42))
    assert rows[-1][1] == ["x39", "y"]


def test_a_bad_byte_deep_in_the_file_is_located_exactly(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "_BLOCK", 16)
    data = b"a\tb\n" + b"row\t1\n" * 50
    path = tmp_path / "t.tsv"
    path.write_bytes(data + b"caf\xe9\t2\n")
    with pytest.raises(InputError, match=f"invalid continuation byte at byte {len(data) + 3}"):
        rows_of(path)


def test_gzip_is_read_only_where_allowed(tmp_path):
    path = tmp_path / "t.tsv.gz"
    path.write_bytes(gzip.compress(b"a\tb\n1\t2\n"))
    assert rows_of(path, compressed=True) == (["a", "b"], [(2, ["1", "2"])])
    with pytest.raises(InputError, match="gzip-compressed.*plain UTF-8 TSV file"):
        read_tsv(path)


def test_header_faults_are_refused_on_their_line(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("\n\na\tb\tA\n")
    with pytest.raises(InputError) as caught:
        read_tsv(path)
    assert (caught.value.line, caught.value.field) == (3, "a")
    path.write_text("a;b;c\n")
    with pytest.raises(InputError, match="not tab-separated"):
        read_tsv(path)
    path.write_text("\n  \n")
    with pytest.raises(InputError, match="empty file"):
        read_tsv(path)


def test_extra_cells_are_refused_unless_the_format_allows_them(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n1\t2\t3\n1\t2\t\n")
    with pytest.raises(InputError) as caught:
        rows_of(path)
    assert caught.value.line == 2 and "header has 2 columns" in str(caught.value)
    assert rows_of(path, extra_cells=True)[1] == [(2, ["1", "2"]), (3, ["1", "2"])]


def test_quoting_only_where_asked_and_r_messages_noted(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text('Warning message:\n"a"\t"b"\n"x\ty"\t2\n')
    notes: list[str] = []
    header, rows = rows_of(path, quoted=True, preamble=re.compile("warning", re.I), notes=notes)
    assert (header, rows) == (["a", "b"], [(3, ["x\ty", "2"])])
    assert notes and "line 1" in notes[0]
    path.write_text('"a"\t"b"\n"x\t2\n')
    assert rows_of(path)[1] == [(2, ['"x', "2"])]


def test_the_schema_validator_is_built_once():
    assert tabular.validator("labs") is tabular.validator("labs")


def test_schema_errors_name_column_expectation_and_the_cell_as_written():
    with pytest.raises(InputError) as caught:
        validate_row(
            "samples",
            {"patient_id": "P1", "sample_id": "S1", "timepoint": "later", "vcf": "a.vcf",
             "collection_date": date(2024, 1, 2), "purity": 1.5},
            file="s.tsv",
            line=4,
            texts={"timepoint": "later", "purity": "150e-2"},
            order=["patient_id", "sample_id", "timepoint", "collection_date", "vcf", "purity"],
        )  # fmt: skip
    error = caught.value
    assert (error.file, error.line, error.field, error.got) == ("s.tsv", 4, "timepoint", "later")
    assert "one of diagnosis, baseline, relapse, progression" in str(error)
    with pytest.raises(InputError) as caught:
        validate_row("samples", {"patient_id": "P1"}, file="s.tsv", line=2, order=["sample_id"])
    assert (caught.value.field, caught.value.detail) == ("sample_id", "required value is missing")


def test_as_date_takes_typed_or_iso_values():
    assert as_date(date(2024, 1, 2)) == as_date("2024-01-02") == date(2024, 1, 2)
    assert as_date(None) is None and as_date("") is None
    with pytest.raises(ValueError):
        as_date("02/01/2024")
