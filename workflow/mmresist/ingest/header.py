"""Open a VCF or BCF and read what its header says: build, FORMAT numbers, tumour column."""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Sequence
from typing import Any

from mmresist.errors import InputError

# Length of chromosome 1 tells the build apart even when ##reference says nothing.
CHR1_LENGTHS = {248956422: "GRCh38", 249250621: "GRCh37"}
_BUILD_WORDS = (
    (re.compile(r"GRCh38|hg38|\bb38\b|GCA_000001405\.15|assembly38", re.IGNORECASE), "GRCh38"),
    (re.compile(r"GRCh37|hg19|\bb37\b|hs37d5|g1k_v37|GCA_000001405\.1\b", re.IGNORECASE), "GRCh37"),
)

# The empty block bgzip writes last; a BGZF file without it was cut short (htslib only
# warns and reads what is there, which would make a partial file look complete).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

# ---------------------------------------------------------------------------
# Header facts
# ---------------------------------------------------------------------------


def header_value(raw_header: str, key: str) -> str | None:
    """Value of a ``##key=value`` header line (first one), stripped; None when absent."""
    prefix = f"##{key}="
    for line in raw_header.splitlines():
        if line.startswith(prefix):
            value = line[len(prefix) :].strip()
            return value or None
    return None


def genome_build_from_header(raw_header: str) -> str | None:
    """GRCh38 or GRCh37 from contig lengths, else from reference/assembly names."""
    names = []
    for line in raw_header.splitlines():
        if line.startswith("##contig=<"):
            identifier = re.search(r"[<,]ID=([^,>]+)", line)
            length = re.search(r"[<,]length=(\d+)", line)
            if identifier and length and identifier.group(1) in {"1", "chr1"}:
                build = CHR1_LENGTHS.get(int(length.group(1)))
                if build:
                    return build
            names.append(line)
        elif line.startswith(("##reference", "##assembly", "##VEP", "##SnpEff")):
            names.append(line)
    text = "\n".join(names)
    for pattern, build in _BUILD_WORDS:
        if pattern.search(text):
            return build
    return None


def header_formats(vcf: Any) -> dict[str, str]:
    """FORMAT id -> Number as declared in the header of ``vcf`` (a cyvcf2.VCF)."""
    formats = {}
    for record in vcf.header_iter():
        info = record.info()
        if info.get("HeaderType") == "FORMAT" and "ID" in info:
            formats[info["ID"]] = info.get("Number", ".")
    return formats


# ---------------------------------------------------------------------------
# Tumour column
# ---------------------------------------------------------------------------


def _column_list(samples: Sequence[str], shown: int = 12) -> str:
    if not samples:
        return "(none)"
    text = ", ".join(samples[:shown])
    if len(samples) > shown:
        text += f", ... ({len(samples)} columns in all)"
    return text


def is_tumour_only(samples: Sequence[str], raw_header: str) -> bool:
    """No matched normal: a single sample column and no ``##normal_sample=`` header line.

    Somatic callers run with a normal (Mutect2, Strelka2, VarDict paired) write the normal's
    column or name it in ``##normal_sample``; without either the caller could not subtract
    germline variants, so they are in the file.
    """
    return len(samples) <= 1 and header_value(raw_header, "normal_sample") is None


def choose_tumor_sample(
    *,
    samples: Sequence[str],
    header_tumor: str | None,
    requested: str | None,
    path: str,
) -> str:
    """The sample column to read: requested > ``##tumor_sample=`` > the only sample.

    Raises InputError naming ``path`` and the columns present when the choice is
    impossible or ambiguous.
    """
    samples = list(samples)
    columns = _column_list(samples)
    if not samples:
        raise InputError(
            "the VCF has no sample columns, so there is no tumour VAF or depth to read; "
            "use the caller's VCF with the tumour sample's FORMAT fields",
            file=str(path),
            field="tumor_sample",
        )
    if requested:
        if requested in samples:
            return requested
        raise InputError(
            f"tumor_sample {requested!r} (from samples.tsv) is not a sample column of this "
            f"VCF; its columns are {columns}",
            file=str(path),
            field="tumor_sample",
            expected=f"one of {columns}",
            got=requested,
        )
    if header_tumor and header_tumor in samples:
        return header_tumor
    if len(samples) == 1:
        return samples[0]
    detail = f"ambiguous tumour column; set tumor_sample in samples.tsv; columns are {columns}"
    if header_tumor:
        detail += f" (the header's ##tumor_sample={header_tumor} names none of them)"
    raise InputError(detail, file=str(path), field="tumor_sample")


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def is_htslib_failure(error: BaseException) -> bool:
    """Whether ``error`` is how cyvcf2/pysam report a file htslib cannot read.

    cyvcf2 raises a bare ``Exception`` for a record it cannot parse and an AssertionError
    for an index it cannot load; htslib I/O problems come as OSError or ValueError. Any
    other type (TypeError, KeyError, AttributeError, ...) is a programming error and must
    not be mistaken for a bad file.
    """
    return type(error) is Exception or isinstance(error, (OSError, ValueError, AssertionError))


def open_vcf(path: str | os.PathLike[str]) -> Any:
    """A cyvcf2 reader for ``path``, or an InputError that says what is wrong with it."""
    from cyvcf2 import VCF

    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError("VCF file not found", file=path)
    if os.path.isdir(path):
        raise InputError("expected a VCF or BCF file, found a directory", file=path)
    if os.path.getsize(path) == 0:
        raise InputError("the file is empty (0 bytes), not a VCF", file=path)
    with open(path, "rb") as stream:
        head = stream.read(16)
        if bgzf_magic(head):
            stream.seek(-len(BGZF_EOF), os.SEEK_END)
            if stream.read() != BGZF_EOF:
                raise InputError(
                    "the bgzip/BCF file has no end-of-file marker, so it was cut short "
                    "(an interrupted copy or download?); copy or re-create it",
                    file=path,
                )
    try:
        # lazy: htslib unpacks INFO/FORMAT only when asked, which most records never
        # are. In lazy mode cyvcf2 0.35 crashes on Variant.FORMAT, so ingest only uses
        # CHROM, POS, REF, ALT, FILTER, INFO.get and format(key) (tested on VCF and BCF).
        return VCF(path, lazy=True)
    except Exception as error:
        if not is_htslib_failure(error):
            raise
        reason = str(error).replace(path, "").strip(" :") or type(error).__name__
        problem = _header_problem(path)
        raise InputError(
            f"not a readable VCF or BCF: {problem or 'htslib cannot read it'} "
            f"(htslib: {reason}); expected a VCF 4.x file, plain, gzip/bgzip-compressed or "
            "BCF, that starts with ##fileformat and has a tab-separated #CHROM line",
            file=path,
        ) from error


def _header_problem(path: str, limit: int = 4 << 20) -> str | None:
    """What is wrong with a text VCF header htslib refused, in words; None if unclear."""
    try:
        with open(path, "rb") as stream:
            gzipped = stream.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rb") as stream:
            lines = stream.read(limit).split(b"\n")
    except (OSError, EOFError):
        return None
    if not lines or not lines[0].strip():
        return "line 1 is empty; a VCF starts with ##fileformat=VCFv4.x"
    first = lines[0].decode("utf-8", "replace").rstrip("\r")
    shown = first if len(first) <= 80 else first[:77] + "..."
    if not first.startswith("##fileformat="):
        cells = first.split("\t")
        if len(cells) >= 8 and cells[1].isdigit():
            return (
                f"line 1 is not a VCF header line but a record ({shown!r}): the header is "
                "missing; a VCF starts with ##fileformat=VCFv4.x"
            )
        if not first.startswith("#") and len(cells) >= 4:
            return (
                f"line 1 is a table header or row ({shown!r}), not a VCF header: is this a "
                "MAF or TSV table rather than a VCF? a VCF starts with ##fileformat=VCFv4.x"
            )
        if not first.startswith("#"):
            return (
                f"line 1 is not a VCF header line but {shown!r} (a log message written into "
                "the file?); a VCF starts with ##fileformat=VCFv4.x"
            )
        if first.startswith("#version"):
            return (
                f"line 1 is {shown!r}, the first line of a MAF file: is this a MAF or TSV "
                "table rather than a VCF? a VCF starts with ##fileformat=VCFv4.x"
            )
        return f"line 1 is {shown!r}, not ##fileformat=VCFv4.x"
    for number, raw in enumerate(lines, start=1):
        if raw.startswith(b"##"):
            continue
        line = raw.decode("utf-8", "replace").rstrip("\r")
        if not line.startswith("#CHROM"):
            return f"line {number} comes before any #CHROM header line: {line[:60]!r}"
        columns = line.split("\t")
        if len(columns) < 8:
            if " " in line:
                return (
                    f"the #CHROM line (line {number}) separates its columns with spaces, not tabs"
                )
            return f"the #CHROM line (line {number}) has {len(columns)} columns, not 8 or more"
        if len(columns) == 9 and columns[8] == "FORMAT":
            return f"the #CHROM line (line {number}) has a FORMAT column but no sample columns"
        if any(not name.strip() for name in columns[9:]):
            return (
                f"the #CHROM line (line {number}) has an empty sample name "
                "(a trailing tab or space?)"
            )
        if any(" " in name for name in columns[:9]):
            return f"the #CHROM line (line {number}) mixes spaces into its tab-separated columns"
        seen: set[str] = set()
        for name in columns[9:]:
            if name in seen:
                return (
                    f"the #CHROM line (line {number}) has a duplicate sample name {name!r}; "
                    "each sample column needs its own name"
                )
            seen.add(name)
        return None
    return "no #CHROM header line"


def bgzf_magic(head: bytes) -> bool:
    """Whether the first 16 bytes of a file start a BGZF block (bgzipped VCF or BCF)."""
    return head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def is_bgzf(path: str) -> bool:
    try:
        with open(path, "rb") as stream:
            return bgzf_magic(stream.read(16))
    except OSError:
        return False


def is_bcf(path: str) -> bool:
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read(3) == b"BCF"
    except OSError:
        return False


def vcf_version(raw_header: str) -> tuple[int, int] | None:
    match = re.match(r"##fileformat=VCFv(\d+)\.(\d+)", raw_header)
    return (int(match.group(1)), int(match.group(2))) if match else None


def declared_tags(vcf: Any) -> frozenset[tuple[str, str]]:
    tags = set()
    for record in vcf.header_iter():
        info = record.info()
        if info.get("HeaderType") in {"INFO", "FORMAT"} and "ID" in info:
            tags.add((info["HeaderType"], info["ID"]))
    return frozenset(tags)
