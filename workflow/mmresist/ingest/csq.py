"""Built-in consequence annotation of one VCF: bcftools norm + csq, run through pysam."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO

from mmresist.errors import InputError

# How many GFF3 feature lines are read to check naming and Ensembl layout (an Ensembl
# GFF3 declares its first gene within a few lines).
_GFF_SCAN_LINES = 20_000


def csq_options(haplotypes: bool = False) -> list[str]:
    """bcftools csq options for a somatic tumour VCF: ``-s -`` (ignore genotypes) and, unless
    ``haplotypes``, ``--local-csq`` (each record on its own); docs/annotation.md says why."""
    options = ["-s", "-"]
    if not haplotypes:
        options.append("--local-csq")
    return options


@dataclass
class AnnotateResult:
    """What ``annotate`` wrote and what a report should know about it."""

    path: str  # bgzipped VCF with INFO/BCSQ
    index: str  # its .tbi
    renamed_contigs: dict[str, str] = field(default_factory=dict)  # VCF -> FASTA name
    warnings: list[str] = field(default_factory=list)
    provenance: str = ""  # the ##mmresist_annotation header value


# ---------------------------------------------------------------------------
# Running bcftools
# ---------------------------------------------------------------------------


class BcftoolsFailed(Exception):
    """A bcftools/samtools step exited with an error; ``str()`` holds its stderr."""


# Each step runs in a fresh Python process: bcftools keeps state in C static variables
# between in-process calls (a second ``csq`` in the same process fails with "The file is
# not sorted, 14:1270 comes before 14:200", a position left from the previous file), so
# in-process calls could also silently carry state from one patient to the next. A child
# process also returns the memory csq uses for a whole-genome GFF3.
_RUNNER = """
import sys
import pysam
import pysam.bcftools
from pysam.utils import SamtoolsError

suite, tool = sys.argv[1], sys.argv[2]
command = getattr(pysam.bcftools if suite == "bcftools" else pysam, tool)
try:
    # catch_stdout=False: with it, pysam would swallow -o and return the output.
    command(*sys.argv[3:], catch_stdout=False)
except SamtoolsError as error:
    sys.stderr.write(str(error))
    sys.exit(1)
sys.stderr.write(command.get_messages() or "")
"""


def run_bcftools(tool: str, *args: str, suite: str = "bcftools") -> str:
    """Run ``bcftools <tool> args`` (pysam's) in a child process; its stderr.

    Raises BcftoolsFailed with bcftools' stderr when the step fails.
    """
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, suite, tool, *args],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    if done.returncode != 0:
        raise BcftoolsFailed(done.stderr or f"exit status {done.returncode}")
    return done.stderr


def stderr_of(error: Exception) -> str:
    """bcftools' own words from a pysam SamtoolsError."""
    text = str(error)
    match = re.search(r"stderr=(.*)$", text, re.DOTALL)
    text = match.group(1) if match else text
    text = text.strip().strip("'\"").replace("\\n", "\n").replace("\\'", "'")
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _run(tool: str, *args: str, file: str) -> str:
    try:
        return run_bcftools(tool, *args)
    except BcftoolsFailed as error:
        raise InputError(
            f"bcftools {tool} failed: {stderr_of(error) or 'no message'}", file=file
        ) from error


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------


def _readable(path: str, what: str) -> str:
    path = os.fspath(path)
    if not path:
        raise InputError(f"no {what} given (set annotation.{what.split()[0].lower()})")
    if not os.path.exists(path):
        raise InputError(f"{what} not found", file=path)
    if os.path.isdir(path):
        raise InputError(f"expected a {what} file, found a directory", file=path)
    try:
        with open(path, "rb") as stream:
            stream.read(1)
    except OSError as error:
        raise InputError(f"{what} is not readable: {error.strerror}", file=path) from error
    return path


def compression(path: str) -> str:
    """'bgzf', 'gzip' or 'plain'."""
    with open(path, "rb") as stream:
        head = stream.read(16)
    if head[:2] != b"\x1f\x8b":
        return "plain"
    if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC":
        return "bgzf"
    return "gzip"


def _fasta_index(fasta: str, work: str, warnings: list[str]) -> str:
    """Path bcftools should use for ``fasta``: itself when indexed, else an indexed link.

    htslib looks for ``FASTA.fai`` (and ``FASTA.gzi`` when bgzipped) beside the FASTA.
    When they are missing, the FASTA is linked into the private work folder and indexed
    there, never beside the user's file (which may be read-only or shared); indexing it
    once with ``samtools faidx`` (``mmresist resources download`` does) saves that time.
    """
    kind = compression(fasta)
    if kind == "gzip":
        raise InputError(
            "the FASTA is gzip-compressed but not with bgzip, so it cannot be indexed; "
            "recompress it (`gunzip -c genome.fa.gz | bgzip > genome.bgz.fa.gz`) or "
            "decompress it",
            file=fasta,
        )
    needed = [fasta + ".fai"] + ([fasta + ".gzi"] if kind == "bgzf" else [])
    if all(os.path.exists(path) for path in needed):
        return fasta
    link = os.path.join(work, "reference" + (".fa.gz" if kind == "bgzf" else ".fa"))
    try:
        os.symlink(os.path.abspath(fasta), link)
    except OSError:
        shutil.copyfile(fasta, link)
    try:
        run_bcftools("faidx", link, suite="samtools")
    except BcftoolsFailed as error:
        raise InputError(
            f"cannot index the FASTA: {stderr_of(error)}; expected a FASTA file "
            "(plain or bgzip-compressed)",
            file=fasta,
        ) from error
    warnings.append(
        f"{os.path.basename(fasta)} has no .fai index beside it; indexed a link to it in "
        "the work folder for this run (run `samtools faidx` on it once to save the time)"
    )
    return link


def _fasta_contigs(fasta: str) -> list[str]:
    with open(fasta + ".fai", encoding="utf-8") as stream:
        return [line.split("\t", 1)[0] for line in stream if line.strip()]


def _open_text(path: str) -> IO[str]:
    if compression(path) == "plain":
        return open(path, encoding="utf-8", errors="replace")
    return gzip.open(path, "rt", encoding="utf-8", errors="replace")


def gff3_facts(gff3: str) -> tuple[set[str], str | None]:
    """Sequence names of a GFF3 (from its header and first features) and a problem.

    bcftools csq reads Ensembl GFF3 only: genes ``ID=gene:...``, transcripts
    ``ID=transcript:...`` with ``Parent=gene:...`` and ``biotype=``. Other layouts
    (GENCODE, RefSeq) parse without error but give records no gene name, which would
    hide every panel variant; so they are refused here.
    """
    seqids: set[str] = set()
    features = 0
    gene = transcript = biotype = False
    example = ""
    try:
        with _open_text(gff3) as stream:
            for line in stream:
                if line.startswith("##sequence-region"):
                    parts = line.split()
                    if len(parts) > 1:
                        seqids.add(parts[1])
                    continue
                if line.startswith("#") or not line.strip():
                    continue
                columns = line.rstrip("\n").split("\t")
                if len(columns) != 9:
                    return seqids, (
                        f"line {features + 1} of the features is not a 9-column GFF3 line"
                    )
                features += 1
                seqids.add(columns[0])
                attributes = columns[8]
                if columns[2] == "gene" and not example:
                    example = attributes[:80]
                gene = gene or "ID=gene:" in attributes
                transcript = transcript or (
                    "ID=transcript:" in attributes and "Parent=gene:" in attributes
                )
                biotype = biotype or "biotype=" in attributes
                if (gene and transcript and biotype) or features >= _GFF_SCAN_LINES:
                    break
    except (OSError, EOFError, UnicodeError) as error:
        return seqids, f"cannot read it ({error})"
    if features == 0:
        return seqids, "it holds no GFF3 feature lines"
    if not (gene and transcript and biotype):
        missing = [
            name
            for name, seen in (
                ("ID=gene:", gene),
                ("ID=transcript: with Parent=gene:", transcript),
                ("biotype=", biotype),
            )
            if not seen
        ]
        got = f"; its first gene line reads {example!r}" if example else ""
        return seqids, (
            f"it is not an Ensembl GFF3 (no {', '.join(missing)} in the first "
            f"{features} features{got}); bcftools csq needs the Ensembl layout "
            "(GENCODE or RefSeq GFF3 would annotate no gene names): use "
            "`mmresist resources download` or Homo_sapiens.<build>.<release>.gff3.gz "
            "from ftp.ensembl.org"
        )
    return seqids, None


def _vcf_facts(path: str) -> tuple[list[str], list[str]]:
    """Contig names (header, else the first record's) and sample names of a VCF."""
    import pysam

    try:
        with pysam.VariantFile(path) as vcf:
            contigs = [contig.name for contig in vcf.header.contigs.values()]
            samples = list(vcf.header.samples)
            if not contigs:
                for record in vcf:
                    contigs = [record.chrom]
                    break
    except (OSError, ValueError) as error:
        raise InputError(
            f"not a readable VCF or BCF ({error}); expected a VCF 4.x file, plain, "
            "bgzip-compressed or BCF",
            file=path,
        ) from error
    return contigs, samples


def _toggle(name: str) -> str:
    """The other naming style of a contig: chr14 <-> 14, chrM <-> MT."""
    if name.lower().startswith("chr"):
        bare = name[3:]
        return "MT" if bare in {"M", "m"} else bare
    return "chrM" if name == "MT" else f"chr{name}"


def _style(names: Iterable[str]) -> str:
    shown = ", ".join(list(names)[:3])
    return shown or "(none)"


def contig_map(
    vcf_contigs: Sequence[str], fasta_contigs: Sequence[str], *, vcf: str, fasta: str
) -> dict[str, str]:
    """VCF contig -> FASTA contig where the styles differ (chr14 vs 14); {} if they agree.

    Raises InputError naming both styles when neither the names nor their chr/no-chr
    counterparts match.
    """
    known = set(fasta_contigs)
    if not vcf_contigs:
        return {}
    direct = [name for name in vcf_contigs if name in known]
    toggled = {name: _toggle(name) for name in vcf_contigs if name not in known}
    toggled = {name: other for name, other in toggled.items() if other in known}
    if not direct and not toggled:
        raise InputError(
            f"the VCF's contigs ({_style(vcf_contigs)}) match none of the FASTA's "
            f"({_style(fasta_contigs)}) {os.path.basename(fasta)}, even with 'chr' added or "
            "removed; use a FASTA and GFF3 of the VCF's genome build and naming",
            file=vcf,
        )
    if len(toggled) > len(direct):
        return toggled
    return {}


def _check_gff_names(seqids: set[str], fasta_contigs: Sequence[str], gff3: str, fasta: str):
    if seqids and not seqids & set(fasta_contigs):
        raise InputError(
            f"the GFF3's sequence names ({_style(sorted(seqids))}) match none of the "
            f"FASTA's ({_style(fasta_contigs)}) {os.path.basename(fasta)}; the two must use "
            "the same naming (both Ensembl: 1..22, X, Y, MT)",
            file=gff3,
        )


_MISMATCH = re.compile(r"mismatch at (\S+?):(\d+) \.\. REF_SEQ:'(\w*)' vs VCF:'(\w*)'")
_NO_SEQUENCE = re.compile(r"faidx_fetch_seq failed at (\S+?):(\d+)")


def _norm_error(message: str, *, vcf: str, fasta: str, back: dict[str, str]) -> InputError:
    match = _MISMATCH.search(message)
    if match:
        chrom = back.get(match.group(1), match.group(1))
        position = int(match.group(2))
        return InputError(
            f"REF does not match the FASTA at {chrom}:{position}: the VCF says "
            f"'{match.group(4)}', {os.path.basename(fasta)} has '{match.group(3)}'; the VCF "
            "was called against another reference or genome build (or the record is "
            f"corrupt) (bcftools: {message})",
            file=vcf,
            line=f"record {chrom}:{position}",
            field="REF",
            expected=f"the FASTA base(s) {match.group(3)!r}",
            got=match.group(4),
        )
    match = _NO_SEQUENCE.search(message)
    if match:
        chrom = back.get(match.group(1), match.group(1))
        return InputError(
            f"contig {chrom!r} (record at {chrom}:{match.group(2)}) is not in the FASTA "
            f"{os.path.basename(fasta)} or the position is beyond its end; restrict the "
            f"VCF to the panel regions or use the matching FASTA (bcftools: {message})",
            file=vcf,
        )
    return InputError(f"bcftools norm failed: {message}", file=vcf)


# ---------------------------------------------------------------------------
# annotate
# ---------------------------------------------------------------------------


def _regions_file(
    regions: Iterable[tuple[str, int, int]], vcf_contigs: Sequence[str], path: str
) -> None:
    """bcftools regions file (CHROM, 1-based START, END) in the VCF's contig naming."""
    present = set(vcf_contigs)
    rows = set()
    for chrom, start, end in regions:
        chrom = str(chrom)
        if chrom not in present and _toggle(chrom) in present:
            chrom = _toggle(chrom)
        start, end = int(start), int(end)
        if start < 1 or end < start:
            raise InputError(f"bad region {chrom}:{start}-{end} (1-based, start <= end)")
        rows.add((chrom, start, end))
    with open(path, "w", encoding="utf-8") as stream:
        for chrom, start, end in sorted(rows):
            stream.write(f"{chrom}\t{start}\t{end}\n")


def _provenance(fasta: str, gff3: str, haplotypes: bool, regions: bool) -> str:
    import pysam

    version = getattr(pysam.version, "__bcftools_version__", "?")
    steps = [
        "view -T panel_regions" if regions else "",
        "norm -m- -c e",
        "csq " + " ".join(csq_options(haplotypes)),
    ]
    return (
        f"bcftools {version} (pysam {pysam.__version__}): "
        + "; ".join(step for step in steps if step)
        + f"; fasta={os.path.basename(fasta)}; gff3={os.path.basename(gff3)}"
    )


def check_annotation_settings(
    mode: str = "auto", fasta: str | None = None, gff3: str | None = None
) -> None:
    """Refuse, before any job runs, annotation settings that cannot work: a FASTA or GFF3
    that is not there, or mode bcftools_csq without both."""
    for key, path in (("fasta", fasta), ("gff3", gff3)):
        if path and not os.path.isfile(path):
            raise InputError(
                "the file does not exist; fetch Ensembl's with `snakemake --cores 1 "
                "reference_download` or point the setting at your own file",
                file=path,
                field=f"annotation.{key}",
            )
    if mode == "bcftools_csq" and not (fasta and gff3):
        raise InputError(
            "annotation.mode bcftools_csq needs annotation.fasta and annotation.gff3 "
            "(`snakemake --cores 1 reference_download` fetches Ensembl's)",
            field="annotation.mode",
        )


def annotate(
    vcf_path: str | os.PathLike[str],
    *,
    fasta: str | os.PathLike[str],
    gff3: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    regions: Iterable[tuple[str, int, int]] | None = None,
    sample: str | None = None,
    haplotypes: bool = False,
) -> AnnotateResult:
    """Normalise and annotate ``vcf_path`` with bcftools csq; write ``out_path`` (+ .tbi).

    ``regions``: (chrom, start, end), 1-based inclusive, in either contig naming; only
    records overlapping them are kept (the input is streamed, so it needs no index).
    ``sample``: keep only this sample column (checked against the header). ``out_path``
    (``.vcf.gz``) is written atomically; intermediate files go to a private folder beside
    it and are removed. Raises InputError for a missing or unreadable FASTA/GFF3/VCF, a
    non-Ensembl GFF3, contig naming that cannot be matched, and a REF that disagrees
    with the FASTA.
    """
    vcf = _readable(os.fspath(vcf_path), "VCF")
    fasta = _readable(os.fspath(fasta), "fasta (FASTA)")
    gff3 = _readable(os.fspath(gff3), "gff3 (GFF3)")
    out = os.fspath(out_path)
    out_dir = os.path.dirname(os.path.abspath(out))
    os.makedirs(out_dir, exist_ok=True)

    seqids, problem = gff3_facts(gff3)
    if problem:
        raise InputError(f"unusable GFF3: {problem}", file=gff3)
    vcf_contigs, samples = _vcf_facts(vcf)
    if sample is not None and sample not in samples:
        raise InputError(
            f"sample {sample!r} is not a column of the VCF (columns: {', '.join(samples)})",
            file=vcf,
        )

    warnings: list[str] = []
    work = tempfile.mkdtemp(prefix=".csq-", dir=out_dir)
    try:
        reference = _fasta_index(fasta, work, warnings)
        fasta_contigs = _fasta_contigs(reference)
        _check_gff_names(seqids, fasta_contigs, gff3, fasta)
        renames = contig_map(vcf_contigs, fasta_contigs, vcf=vcf, fasta=fasta)
        back = {new: old for old, new in renames.items()}
        provenance = _provenance(fasta, gff3, haplotypes, regions is not None)

        # 1. panel regions (streamed) and sample
        current = vcf
        view = ["--no-version", "-Ou", "-o", os.path.join(work, "1.bcf")]
        if regions is not None:
            regions_path = os.path.join(work, "regions.tsv")
            _regions_file(regions, vcf_contigs, regions_path)
            view += ["-T", regions_path, "--targets-overlap", "1"]
        if sample is not None:
            view += ["-s", sample, "-I"]
        _run("view", *view, current, file=vcf)
        current = os.path.join(work, "1.bcf")

        # 2. provenance header, contig names in the FASTA's style
        header = ["-H", f"##mmresist_annotation={provenance}"]
        if renames:
            rename_path = os.path.join(work, "to_fasta.tsv")
            _write_map(renames, rename_path)
            header += ["--rename-chrs", rename_path]
        _run("annotate", "--no-version", *header, "-Ou", "-o", f"{work}/2.bcf", current, file=vcf)
        current = f"{work}/2.bcf"

        # 3. split multiallelics, left-align, REF must match the FASTA
        normalised = f"{work}/3.bcf"
        try:
            run_bcftools(
                "norm", "--no-version", "-m-", "-f", reference, "-c", "e",
                "-Ou", "-o", normalised, current,
            )  # fmt: skip
        except BcftoolsFailed as error:
            raise _norm_error(stderr_of(error), vcf=vcf, fasta=fasta, back=back) from error
        current = normalised

        # 4. consequences
        annotated = f"{work}/4.bcf" if renames else f"{work}/out.vcf.gz"
        try:
            messages = run_bcftools(
                "csq", "--no-version", "-f", reference, "-g", gff3,
                *csq_options(haplotypes),
                "-Ou" if renames else "-Oz", "-o", annotated, current,
            )  # fmt: skip
        except BcftoolsFailed as error:
            message = stderr_of(error)
            if "not sorted" in message:
                raise InputError(
                    f"the VCF is not sorted by position (bcftools csq: {message}); sort it "
                    "(`bcftools sort`) and retry",
                    file=vcf,
                ) from error
            raise InputError(
                f"bcftools csq failed: {message}; it needs an Ensembl GFF3 (ID=gene:..., "
                "ID=transcript:..., biotype=...) and FASTA of the VCF's build",
                file=gff3,
            ) from error
        if re.search(r"Indexed 0 transcripts", messages):
            raise InputError(
                f"bcftools csq found no transcripts in the GFF3 "
                f"({' '.join(messages.split())[:300]}); expected an Ensembl GFF3",
                file=gff3,
            )
        warnings += _csq_warnings(messages)

        # 5. the VCF's own contig names again
        if renames:
            back_path = os.path.join(work, "to_vcf.tsv")
            _write_map(back, back_path)
            final = f"{work}/out.vcf.gz"
            _run(
                "annotate", "--no-version", "--rename-chrs", back_path,
                "-Oz", "-o", final, annotated, file=vcf,
            )  # fmt: skip
            annotated = final
        _run("index", "-t", "-f", annotated, file=vcf)
        os.replace(annotated + ".tbi", out + ".tbi")
        os.replace(annotated, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return AnnotateResult(
        path=out,
        index=out + ".tbi",
        renamed_contigs=renames,
        warnings=warnings,
        provenance=provenance,
    )


def _write_map(mapping: dict[str, str], path: str) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        for old, new in sorted(mapping.items()):
            stream.write(f"{old}\t{new}\n")


def _csq_warnings(messages: str) -> list[str]:
    """bcftools csq warnings worth a line in the report's QC (not the GFF3 chatter)."""
    kept = []
    for line in messages.splitlines():
        line = line.strip()
        if line.startswith("Warning:") and "GFF" not in line and "suppressed" not in line:
            kept.append(f"bcftools csq: {line[len('Warning:') :].strip()}")
    return kept
