import pytest

from mmresist.errors import InputError
from mmresist.io.sheets import read_samples

HEADER = (
    "patient_id\tsample_id\ttimepoint\tcollection_date\tvcf\ttumor_sample\tcnv\tcnv_format\tpurity"
)


@pytest.fixture
def vcf(tmp_path):
    path = tmp_path / "a.vcf"
    path.write_text("##fileformat=VCFv4.2\n")
    return path


def write(tmp_path, *rows, header=HEADER):
    path = tmp_path / "samples.tsv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


def test_valid_sheet_is_read_with_types(tmp_path, vcf):
    path = write(tmp_path, f"P1\tS1\trelapse\t2024-01-02\t{vcf}\tTUMOR\t\t\t0.6")
    (sample,) = read_samples(path)
    assert (sample.patient_id, sample.tumor_sample, sample.purity, sample.cnv) == (
        "P1",
        "TUMOR",
        0.6,
        None,
    )


@pytest.mark.parametrize(
    ("row", "line", "field", "fragment"),
    [
        ("P1\tS1\trelapse\t2024-13-02\t{vcf}", 2, "collection_date", "ISO 8601"),
        ("P1\tS1\tremission\t2024-01-02\t{vcf}", 2, "timepoint", "one of diagnosis"),
        ("../x\tS1\trelapse\t2024-01-02\t{vcf}", 2, "patient_id", "matching"),
        ("..\tS1\trelapse\t2024-01-02\t{vcf}", 2, "patient_id", "reserved"),
        ("P1\tS1\trelapse\t2024-01-02\t/no/such.vcf", 2, "vcf", "does not exist"),
        ("P1\tS1\trelapse\t2024-01-02\t{vcf}\t\t\t\t1.5", 2, "purity", "≤ 1"),
        ("P1\tS1\trelapse\t2024-01-02\t{vcf}\t\t{vcf}", 2, "cnv_format", "needs its format"),
        ("P1\tS1\trelapse\t2024-01-02", 2, "vcf", "missing"),
    ],
)
def test_errors_name_file_line_and_column(tmp_path, vcf, row, line, field, fragment):
    path = write(tmp_path, row.format(vcf=vcf))
    with pytest.raises(InputError) as caught:
        read_samples(path)
    error = caught.value
    assert (error.file, error.line, error.field) == (path, line, field)
    assert fragment in str(error)
    assert path in str(error) and f"line {line}" in str(error)


def test_duplicate_sample_id_names_both_lines(tmp_path, vcf):
    path = write(
        tmp_path,
        f"P1\tS1\tdiagnosis\t2020-01-02\t{vcf}",
        f"P1\tS1\trelapse\t2024-01-02\t{vcf}",
    )
    with pytest.raises(InputError, match="duplicate sample_id.*line 2") as caught:
        read_samples(path)
    assert caught.value.line == 3


def test_missing_column_and_missing_file(tmp_path):
    path = write(tmp_path, "P1\tS1", header="patient_id\tsample_id")
    with pytest.raises(InputError, match="missing required column") as caught:
        read_samples(path)
    assert caught.value.field == "timepoint"
    with pytest.raises(InputError, match="does not exist"):
        read_samples(str(tmp_path / "nope.tsv"))


def test_comma_separated_sheet_is_refused_clearly(tmp_path):
    path = write(tmp_path, "P1,S1", header="patient_id,sample_id,timepoint")
    with pytest.raises(InputError, match="not tab-separated"):
        read_samples(path)


@pytest.mark.parametrize(
    "fmt",
    ["cnvkit", "purple", "gene_tsv", "seg", "seg_log10", "purple_segments", "allele_segments"],
)
def test_every_copy_number_format_is_accepted(tmp_path, vcf, fmt):
    path = write(tmp_path, f"P1\tS1\trelapse\t2024-01-02\t{vcf}\t\t{vcf}\t{fmt}")
    assert read_samples(path)[0].cnv_format == fmt


def test_a_seg_file_needs_its_format_named_never_inferred(tmp_path, vcf):
    seg = tmp_path / "S1.seg"
    seg.write_text("ID\tchrom\tloc.start\tloc.end\tnum.mark\tseg.mean\n")
    path = write(tmp_path, f"P1\tS1\trelapse\t2024-01-02\t{vcf}\t\t{seg}")
    with pytest.raises(InputError) as caught:
        read_samples(path)
    assert caught.value.field == "cnv_format"
    assert "seg, seg_log10 (seg: log2 segment means, seg_log10: log10)" in str(caught.value)
    path = write(tmp_path, f"P1\tS1\trelapse\t2024-01-02\t{vcf}\t\t{seg}\tigv")
    with pytest.raises(InputError, match="one of cnvkit, purple, gene_tsv, seg, seg_log10"):
        read_samples(path)


def test_gzipped_or_binary_sheets_are_refused_clearly(tmp_path):
    import gzip

    path = tmp_path / "samples.tsv.gz"
    path.write_bytes(gzip.compress(HEADER.encode()))
    with pytest.raises(InputError, match="gzip-compressed.*plain UTF-8 TSV"):
        read_samples(str(path))
    path = tmp_path / "samples.tsv"
    path.write_bytes(b"patient_id\t\xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8 text .* at byte 11"):
        read_samples(str(path))


def test_a_patient_job_validates_only_its_own_rows_but_all_sample_ids(tmp_path):
    vcf = tmp_path / "a.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n")
    sheet = tmp_path / "samples.tsv"
    header = "patient_id\tsample_id\ttimepoint\tcollection_date\tvcf\n"
    sheet.write_text(
        header
        + f"P1\tP1-RL\trelapse\t2024-01-01\t{vcf}\n"
        + f"P2\tP2-RL\trelapse\t2024-13-01\t{tmp_path / 'missing.vcf'}\n"
    )
    assert [s.sample_id for s in read_samples(str(sheet), patient_id="P1")] == ["P1-RL"]
    assert read_samples(str(sheet), patient_id="P3") == []
    with pytest.raises(InputError) as error:
        read_samples(str(sheet))
    assert error.value.line == 3
    sheet.write_text(
        header
        + f"P1\tP1-RL\trelapse\t2024-01-01\t{vcf}\n"
        + f"P2\tP1-RL\trelapse\t2024-01-01\t{vcf}\n"
    )
    with pytest.raises(InputError, match="duplicate sample_id") as duplicate:
        read_samples(str(sheet), patient_id="P1")
    assert duplicate.value.line == 3
