"""Every malformed input of the list, in one table: each through the entry point that meets
it, each refused with an InputError that names the file, the line (where there is one),
the field and what was expected.

The entry points are those the workflow calls: ``sheets.read_samples`` and
``clinical.read_table`` before any job runs, then per patient ``vcf.read_sample`` (with the
genome-build check of ``patient.ingest_samples``), ``copynumber.read_copy_number`` and, for
regimens, ``therapy.therapy_history``.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from vcf_fixtures import row, vcf_text, vep_entry, vep_header, write_vcf

from mmresist.errors import InputError
from mmresist.ingest.vcf import read_sample
from mmresist.interpret.filters import Filters
from mmresist.interpret.therapy import therapy_history
from mmresist.io.clinical import read_table
from mmresist.io.copynumber import read_copy_number
from mmresist.io.sheets import read_samples
from mmresist.knowledge.load import load_knowledge
from mmresist.model import Sample
from mmresist.pipeline import ingest_samples

REPO = Path(__file__).resolve().parents[2]
SAMPLES_HEADER = "patient_id\tsample_id\ttimepoint\tcollection_date\tvcf\ttumor_sample"
LABS_HEADER = "patient_id\tdate\ttest\tvalue\tunit"
THERAPY_HEADER = "patient_id\tline\tregimen\tstart_date\tend_date\tbest_response"
CNS_HEADER = "chromosome\tstart\tend\tgene\tlog2\tprobes"
GARBAGE = bytes(range(256)) * 4
MUTECT2 = ("GT", "AD", "AF", "DP")
VCF_EXPECTED = "a VCF 4.x file"  # what every unreadable-VCF message says was expected


@cache
def knowledge():
    return load_knowledge(REPO / "resources" / "knowledge")


def kras_record(*samples: str, chrom: str = "chr12", pos: int = 25245350) -> str:
    entry = vep_entry(
        Allele="T", Consequence="missense_variant", IMPACT="MODERATE", SYMBOL="KRAS",
        HGVSp="ENSP00000256078.5:p.Gly12Asp",
    )  # fmt: skip
    return row(chrom, pos, "C", "T", f"CSQ={entry}", "GT:AD:AF:DP", *samples)


def tumour_vcf(samples=("TUMOR",), **options) -> str:
    calls = ["0/0:60,0:0:60", "0/1:60,40:0.4:100"][-len(samples) :]
    return vcf_text(
        info=[vep_header()], formats=MUTECT2, samples=list(samples),
        records=[kras_record(*calls, chrom=options.pop("chrom", "chr12"))], **options,
    )  # fmt: skip


def spaced_chrom_line() -> str:
    lines = tumour_vcf().splitlines(keepends=True)
    (index,) = [i for i, line in enumerate(lines) if line.startswith("#CHROM")]
    lines[index] = lines[index].replace("\t", " ")
    return "".join(lines)


# --- the four entry points, each returning what it read (the test expects it never does) --


def vcf(path: Path, tumor_sample: str | None = None):
    return read_sample(
        vcf_path=path, sample_id="S1", tumor_sample=tumor_sample, panel_genes={"KRAS"}
    )


def cnv(path: Path, fmt: str = "cnvkit"):
    return read_copy_number(path=path, fmt=fmt, sample_id="S1", panel_genes={"KRAS"})


def labs(path: Path):
    return read_table(path, "labs")


def put(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def sheet(tmp: Path, *rows: str, header: str = SAMPLES_HEADER) -> Path:
    """A samples.tsv whose rows may use {vcf}: an existing, valid one-sample VCF."""
    good = write_vcf(tmp, "tumour", tumour_vcf())
    lines = [header, *(text.format(vcf=good) for text in rows)]
    return put(tmp / "samples.tsv", "\n".join(lines) + "\n")


def samples(path: Path):
    return read_samples(str(path))


# --- the inputs: each builder writes the file and returns (entry point call, the file) -----


def truncated_gzip_vcf(tmp: Path):
    records = [kras_record(f"0/1:60,{i % 97}:0.4:100", pos=25245350 + i) for i in range(2000)]
    text = vcf_text(info=[vep_header()], formats=MUTECT2, samples=["TUMOR"], records=records)
    data = gzip.compress(text.encode(), mtime=0)
    path = put(tmp / "cut.vcf.gz", data[: len(data) // 2])
    return lambda: vcf(path), path


def truncated_bgzf_vcf(tmp: Path):
    path = write_vcf(tmp, "cut", tumour_vcf(), kind="vcf.gz")
    path.write_bytes(path.read_bytes()[:-28])  # the BGZF end-of-file block is gone
    return lambda: vcf(path), path


def truncated_gzip_cnv(tmp: Path):
    lines = [CNS_HEADER] + [f"chr12\t{i}\t{i + 1}\tKRAS\t{i % 7 / 10}\t3" for i in range(3000)]
    data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    path = put(tmp / "cut.cns.gz", data[:-4])  # the gzip trailer's size field is gone
    return lambda: cnv(path), path


def garbage(name: str, entry: Callable[[Path], object]):
    def make(tmp: Path):
        path = put(tmp / name, GARBAGE)
        return lambda: entry(path), path

    return make


def written(name: str, content: str | bytes, entry: Callable[[Path], object]):
    def make(tmp: Path):
        path = put(tmp / name, content)
        return lambda: entry(path), path

    return make


def sheet_rows(*rows: str, header: str = SAMPLES_HEADER):
    def make(tmp: Path):
        path = sheet(tmp, *rows, header=header)
        return lambda: samples(path), path

    return make


def vcf_file(text: str, tumor_sample: str | None = None):
    def make(tmp: Path):
        path = put(tmp / "input.vcf", text)
        return lambda: vcf(path, tumor_sample), path

    return make


def wrong_build(tmp: Path):
    grch37 = {"1": 249250621, "12": 133851895}
    path = write_vcf(tmp, "grch37", tumour_vcf(contigs=grch37, chrom="12"))
    sample = Sample("P1", "S1", "relapse", "2024-01-02", str(path))
    return lambda: ingest_samples([sample], knowledge(), Filters(), "GRCh38"), path


def unknown_drug(tmp: Path):
    path = put(
        tmp / "therapy_lines.tsv",
        f"{THERAPY_HEADER}\nP1\t1\tVRd\t2020-01-01\t2020-06-01\tVGPR\n"
        "P1\t2\tVelcadex+dex\t2021-01-01\t\tPR\n",
    )
    return lambda: therapy_history(read_table(path, "therapy_lines"), knowledge()), path


def absent(entry: Callable[[Path], object], name: str):
    def make(tmp: Path):
        path = tmp / "nowhere" / name
        return lambda: entry(path), path

    return make


def vcf_listed_but_absent(tmp: Path):
    path = sheet(tmp, "P1\tS1\trelapse\t2024-01-02\t/no/such/dir/S1.vcf.gz")
    return lambda: samples(path), path


def escaping_patient(patient_id: str, kind: str = "samples"):
    def make(tmp: Path):
        if kind == "samples":
            path = sheet(tmp, f"{patient_id}\tS1\trelapse\t2024-01-02\t{{vcf}}")
            return lambda: samples(path), path
        path = put(tmp / "labs.tsv", f"{LABS_HEADER}\n{patient_id}\t2024-01-02\tldh\t200\tU/L\n")
        return lambda: labs(path), path

    return make


@dataclass(frozen=True)
class Bad:
    """One malformed input and the InputError it must give.

    ``line``/``field``: the error's structured line and field (None: the error has none);
    ``fragments``: text the message must hold besides the file's path, saying what is wrong
    and what was expected.
    """

    make: Callable[[Path], tuple[Callable[[], object], Path]]
    line: int | None
    field: str | None
    fragments: tuple[str, ...]


CASES = {
    # -- truncated gzip ---------------------------------------------------------------------
    "truncated plain gzip VCF -> read_sample": Bad(
        truncated_gzip_vcf, None, None, ("cannot parse record", "malformed or truncated")
    ),
    "truncated bgzip VCF -> read_sample": Bad(truncated_bgzf_vcf, None, None, ("cut short",)),
    "truncated gzip copy number -> read_copy_number": Bad(
        truncated_gzip_cnv, 3001, None, ("cut short", "expected a complete gzip file")
    ),
    "gzipped samples sheet -> read_samples": Bad(
        written("samples.tsv.gz", gzip.compress(b"patient_id\n"), samples),
        None,
        None,
        ("gzip-compressed", "expected a plain UTF-8 TSV file"),
    ),
    # -- garbage bytes ----------------------------------------------------------------------
    "garbage VCF -> read_sample": Bad(
        garbage("garbage.vcf", vcf), None, None, ("not a readable VCF", VCF_EXPECTED)
    ),
    "garbage samples sheet -> read_samples": Bad(
        garbage("samples.tsv", samples), None, None, ("not UTF-8", "expected a plain UTF-8 TSV")
    ),
    "garbage labs -> read_table": Bad(
        garbage("labs.tsv", labs), None, None, ("not UTF-8", "expected a plain UTF-8 TSV")
    ),
    "garbage copy number -> read_copy_number": Bad(
        garbage("s.cns", cnv),
        None,
        None,
        ("not UTF-8", "expected a UTF-8 TSV file, plain or gzip-compressed"),
    ),
    # -- no header --------------------------------------------------------------------------
    "VCF without any header -> read_sample": Bad(
        vcf_file(kras_record("0/1:60,40:0.4:100") + "\n"),
        None,
        None,
        ("line 1 is not a VCF header line", "starts with ##fileformat"),
    ),
    "VCF without #CHROM line -> read_sample": Bad(
        vcf_file("##fileformat=VCFv4.2\n" + kras_record("0/1:60,40:0.4:100") + "\n"),
        None,
        None,
        ("line 2 comes before any #CHROM header line", VCF_EXPECTED),
    ),
    "samples sheet without header -> read_samples": Bad(
        sheet_rows(
            "P1\tS1\trelapse\t2024-01-02\t{vcf}", header="P0\tS0\tdiagnosis\t2020-01-01\tS0.vcf"
        ),
        1,
        "patient_id",
        ("missing required column", "expected a header row with columns patient_id"),
    ),
    "labs without header -> read_table": Bad(
        written("labs.tsv", "P1\t2024-01-02\tldh\t200\tU/L\n", labs),
        1,
        "patient_id",
        ("missing required column 'patient_id'", "expected a header row with columns"),
    ),
    "copy number without header -> read_copy_number": Bad(
        written("s.cns", "chr12\t1\t2\tKRAS\t0.1\t3\n", cnv),
        1,
        "gene",
        ("missing column 'gene'", "expected a CNVkit .cnr/.cns file"),
    ),
    # -- VCF header faults ------------------------------------------------------------------
    "spaces in #CHROM -> read_sample": Bad(
        vcf_file(spaced_chrom_line()),
        None,
        None,
        (
            "the #CHROM line (line 14)",
            "separates its columns with spaces, not tabs",
            "tab-separated #CHROM line",
        ),
    ),
    "log line before the header -> read_sample": Bad(
        vcf_file("12:00:01 INFO Mutect2 starting\n" + tumour_vcf()),
        None,
        None,
        ("line 1 is not a VCF header line", "a log message", "starts with ##fileformat"),
    ),
    "FORMAT without samples -> read_sample": Bad(
        vcf_file("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\n"),
        None,
        None,
        ("has a FORMAT column but no sample columns", VCF_EXPECTED),
    ),
    # -- genome build -----------------------------------------------------------------------
    "GRCh37 VCF, GRCh38 configured -> ingest_samples": Bad(
        wrong_build,
        None,
        "genome_build",
        ("the VCF is GRCh37", "says genome_build: GRCh38", "expected GRCh38"),
    ),
    # -- missing column ---------------------------------------------------------------------
    "samples sheet without vcf column -> read_samples": Bad(
        sheet_rows(
            "P1\tS1\trelapse\t2024-01-02",
            header="patient_id\tsample_id\ttimepoint\tcollection_date",
        ),
        1,
        "vcf",
        ("missing required column", "columns patient_id, sample_id"),
    ),
    "labs without unit column -> read_table": Bad(
        written("labs.tsv", "patient_id\tdate\ttest\tvalue\nP1\t2024-01-02\tldh\t200\n", labs),
        1,
        "unit",
        ("missing required column 'unit'", "columns patient_id, date, test, value, unit"),
    ),
    "copy number without log2 column -> read_copy_number": Bad(
        written("s.cns", "chromosome\tstart\tend\tgene\nchr12\t1\t2\tKRAS\n", cnv),
        1,
        "log2",
        ("missing column 'log2' for cnv_format cnvkit", "expected a CNVkit"),
    ),
    # -- bad date ---------------------------------------------------------------------------
    "samples sheet, impossible date -> read_samples": Bad(
        sheet_rows("P1\tS1\trelapse\t2024-02-30\t{vcf}"),
        2,
        "collection_date",
        ("invalid value", "ISO 8601 date YYYY-MM-DD", "calendar", "'2024-02-30'"),
    ),
    "labs, day-first date -> read_table": Bad(
        written("labs.tsv", f"{LABS_HEADER}\nP1\t02/01/2024\tldh\t200\tU/L\n", labs),
        2,
        "date",
        ("invalid value", "expected an ISO 8601 date YYYY-MM-DD", "'02/01/2024'"),
    ),
    # -- duplicate sample -------------------------------------------------------------------
    "sample_id twice in the sheet -> read_samples": Bad(
        sheet_rows("P1\tS1\tdiagnosis\t2020-01-02\t{vcf}", "P1\tS1\trelapse\t2024-01-02\t{vcf}"),
        3,
        "sample_id",
        ("duplicate sample_id (first on line 2)", "'S1'"),
    ),
    "sample column twice in a VCF -> read_sample": Bad(
        vcf_file(tumour_vcf(("TUMOR", "TUMOR")), tumor_sample="TUMOR"),
        None,
        None,
        ("duplicate", "TUMOR"),
    ),
    # -- unknown drug or unit ---------------------------------------------------------------
    "unknown drug in a regimen -> therapy_history": Bad(
        unknown_drug,
        3,
        "regimen",
        ("unknown drug 'Velcadex'", "expected generic drug names joined by '+'"),
    ),
    "unknown lab unit -> read_table": Bad(
        written("labs.tsv", f"{LABS_HEADER}\nP1\t2024-01-02\tcreatinine\t1.1\tmmol/L\n", labs),
        2,
        "unit",
        ("unit not known for test 'creatinine'", "expected a unit for creatinine: mg/dL"),
    ),
    # -- tumour column ----------------------------------------------------------------------
    "ambiguous tumour column -> read_sample": Bad(
        vcf_file(tumour_vcf(("NORMAL", "TUMOR"))),
        None,
        "tumor_sample",
        ("ambiguous tumour column", "set tumor_sample in samples.tsv", "NORMAL, TUMOR"),
    ),
    "tumour sample not in the file -> read_sample": Bad(
        vcf_file(tumour_vcf(("NORMAL", "TUMOR")), tumor_sample="PT1_TUMOUR"),
        None,
        "tumor_sample",
        ("'PT1_TUMOUR' (from samples.tsv) is not a sample column", "expected one of NORMAL"),
    ),
    # -- a path that does not exist ---------------------------------------------------------
    "VCF listed in the sheet but absent -> read_samples": Bad(
        vcf_listed_but_absent, 2, "vcf", ("file does not exist", "/no/such/dir/S1.vcf.gz")
    ),
    "absent samples sheet -> read_samples": Bad(
        absent(samples, "samples.tsv"), None, None, ("file does not exist",)
    ),
    "absent labs -> read_table": Bad(absent(labs, "labs.tsv"), None, None, ("does not exist",)),
    "absent VCF -> read_sample": Bad(absent(vcf, "S1.vcf.gz"), None, None, ("not found",)),
    "absent copy number -> read_copy_number": Bad(
        absent(cnv, "S1.cns"), None, "cnv", ("file does not exist",)
    ),
    # -- patient_id escaping the output folder ----------------------------------------------
    "patient_id ../x in the sheet -> read_samples": Bad(
        escaping_patient("../x"), 2, "patient_id", ("invalid value", "[A-Za-z0-9._-]", "'../x'")
    ),
    "patient_id .. in the sheet -> read_samples": Bad(
        escaping_patient(".."), 2, "patient_id", ("not a reserved name", "'..'")
    ),
    "patient_id /etc/x in labs -> read_table": Bad(
        escaping_patient("/etc/x", kind="labs"),
        2,
        "patient_id",
        ("invalid value", "patient identifier", "'/etc/x'"),
    ),
}

XFAIL: dict[str, str] = {}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=XFAIL[name]))
        if name in XFAIL
        else name
        for name in CASES
    ],
)
def test_malformed_input_is_refused_naming_file_line_field_and_expectation(tmp_path, name):
    bad = CASES[name]
    call, path = bad.make(tmp_path)
    with pytest.raises(InputError) as caught:
        call()
    error = caught.value
    message = str(error)
    assert (error.file, error.line, error.field) == (str(path), bad.line, bad.field), message
    assert message.startswith(str(path)), message
    if bad.line is not None:
        assert f"line {bad.line}" in message
    if bad.field is not None:
        assert f"field '{bad.field}'" in message
    for fragment in bad.fragments:
        assert fragment in message
