"""One sample's built-in annotation as its own job: whether it is needed, the job, its record."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mmresist.errors import AnnotationMissingError, InputError
from mmresist.ingest.annotation import detect_layout
from mmresist.ingest.csq import annotate
from mmresist.ingest.header import genome_build_from_header, open_vcf
from mmresist.io.files import atomic_write_text, sha256_file

RECORD_FORMAT = "mmresist-annotation-1"
MODES = ("auto", "bcftools_csq")


def needs_annotation(
    vcf: str | os.PathLike[str],
    *,
    mode: str = "auto",
    fasta: str | None = None,
    gff3: str | None = None,
) -> bool:
    """Whether the workflow plans an annotate job for ``vcf``.

    ``bcftools_csq``: always. ``auto``: when ``fasta`` and ``gff3`` are set and the header
    declares no annotation mmresist can read. A file whose header cannot be read gets no
    job: the patient job then reports what is wrong with it.
    """
    if mode not in MODES:
        raise InputError(
            "unknown annotation mode", field="annotation.mode", expected=" or ".join(MODES)
        )
    if mode == "bcftools_csq":
        return True
    if not (fasta and gff3):
        return False
    try:
        reader = open_vcf(vcf)
    except InputError:
        return False
    try:
        detect_layout(reader, os.fspath(vcf))
    except AnnotationMissingError:
        return True
    finally:
        reader.close()
    return False


def coordinate_regions(
    coordinates: str | os.PathLike[str], build: str, padding: int
) -> list[tuple[str, int, int]]:
    """(chromosome, start, end) of every gene of ``build`` in a knowledge folder's
    gene_coordinates.tsv, ``padding`` bases each side, overlaps merged; 1-based inclusive.

    Read from the one table rather than the compiled knowledge, so that editing any
    other knowledge table leaves annotated files as they are.
    """
    spans: dict[str, list[tuple[int, int]]] = {}
    with open(coordinates, newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream, delimiter="\t"):
            if row.get("genome_build") != build:
                continue
            try:
                start, end = int(row["start"]), int(row["end"])
            except (KeyError, TypeError, ValueError) as error:
                raise InputError(
                    f"a gene coordinate row has no integer start/end ({error})",
                    file=os.fspath(coordinates),
                ) from error
            spans.setdefault(row["chrom"], []).append((max(1, start - padding), end + padding))
    regions: list[tuple[str, int, int]] = []
    for chrom in sorted(spans):
        merged: list[list[int]] = []
        for start, end in sorted(spans[chrom]):
            if merged and start <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        regions.extend((chrom, start, end) for start, end in merged)
    return regions


@dataclass
class AnnotationRecord:
    """What ``annotate_sample`` made from which file; the patient job reads it."""

    source: str  # the user's VCF, as given
    source_sha256: str
    vcf: str  # the annotated copy (bgzipped, .tbi beside it)
    provenance: str  # the ##mmresist_annotation header value
    regions: bool  # annotated in the panel regions only
    warnings: list[str] = field(default_factory=list)


def annotate_sample(
    *,
    vcf: str | os.PathLike[str],
    out: str | os.PathLike[str],
    record: str | os.PathLike[str],
    fasta: str,
    gff3: str,
    tumor_sample: str | None = None,
    genome_build: str | None = None,
    regions: Iterable[tuple[str, int, int]] | None = None,
) -> AnnotationRecord:
    """Annotate ``vcf`` into ``out`` (+ .tbi) and write the JSON ``record`` of it.

    ``regions`` restrict annotation to the panel only when the header shows
    ``genome_build``: another build's coordinates would silently miss genes.
    """
    source = os.fspath(vcf)
    kept = None
    if regions is not None and genome_build:
        reader = open_vcf(source)
        try:
            header_build = genome_build_from_header(reader.raw_header)
        finally:
            reader.close()
        if header_build == genome_build:
            kept = list(regions)
    result = annotate(
        source, fasta=fasta, gff3=gff3, out_path=out, regions=kept, sample=tumor_sample
    )
    made = AnnotationRecord(
        source=source,
        source_sha256=sha256_file(source),
        vcf=result.path,
        provenance=result.provenance,
        regions=kept is not None,
        warnings=result.warnings,
    )
    text = {
        "format": RECORD_FORMAT,
        "source": made.source,
        "source_sha256": made.source_sha256,
        # Relative to the record, so a moved work folder still reads.
        "vcf": os.path.relpath(made.vcf, Path(record).resolve().parent),
        "provenance": made.provenance,
        "regions": made.regions,
        "warnings": made.warnings,
    }
    atomic_write_text(record, json.dumps(text, indent=1, sort_keys=True) + "\n")
    return made


def read_record(path: str | os.PathLike[str]) -> AnnotationRecord:
    """The record ``annotate_sample`` wrote; InputError when it is not one."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError) as error:
        raise InputError(f"not a readable annotation record ({error})", file=path) from error
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        raise InputError(
            "not an annotation record written by `mmresist annotate`",
            file=path,
            expected=f"format {RECORD_FORMAT}",
        )
    return AnnotationRecord(
        source=data["source"],
        source_sha256=data["source_sha256"],
        vcf=os.path.join(os.path.dirname(os.path.abspath(path)), data["vcf"]),
        provenance=data["provenance"],
        regions=bool(data["regions"]),
        warnings=list(data["warnings"]),
    )
