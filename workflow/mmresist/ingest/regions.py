"""Faster reads of an indexed VCF or BCF: panel regions by index query, or contigs in workers."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mmresist.errors import InputError
from mmresist.ingest.header import is_bcf, is_bgzf, is_htslib_failure
from mmresist.ingest.records import Part, Setup, check_records_well_formed, scan_records

SCAN_WHOLE = "whole_file"
SCAN_REGIONS = "panel_regions"


class WholeReadNeeded(Exception):
    """A faster read failed for an expected reason (the file or its index, not the code).

    ``read_sample`` then reads the whole file in one pass, which gives the authoritative
    result or error, and keeps ``str(error)`` as a QC warning.
    """


@dataclass(frozen=True)
class PanelRegions:
    """The panel genes' padded regions for one genome build: chromosome (without 'chr')
    -> sorted, non-overlapping (start, end), 1-based inclusive (Knowledge.panel_regions)."""

    build: str
    by_chrom: Mapping[str, Sequence[tuple[int, int]]]


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# ---------------------------------------------------------------------------
# Indexes
# ---------------------------------------------------------------------------


def index_beside(path: str) -> str | None:
    """The .tbi/.csi index of a bgzipped VCF or BCF, when present and not older than it."""
    for suffix in (".csi", ".tbi"):
        candidate = path + suffix
        if os.path.isfile(candidate):
            # htslib only warns about an index older than its data; its offsets could
            # point anywhere, so such an index is not used.
            if os.path.getmtime(candidate) < os.path.getmtime(path):
                return None
            return candidate
    return None


def index_counts(path: str) -> list[tuple[str, int]]:
    """(contig, records) in index order from ``bcftools index --stats``.

    Raises WholeReadNeeded when the index holds no counts (tabix before htslib 1.0 wrote
    none) or cannot be read.
    """
    import pysam.bcftools
    from pysam.utils import SamtoolsError

    try:
        text = pysam.bcftools.index("-s", path)
    except (SamtoolsError, OSError) as error:
        raise WholeReadNeeded(
            f"its index gives no per-contig record counts ({_reason(error)})"
        ) from error
    counts = []
    for line in str(text).splitlines():
        fields = line.split("\t")
        if len(fields) != 3 or not fields[2].isdigit():
            raise WholeReadNeeded(f"its index gives no per-contig record counts ({line!r})")
        counts.append((fields[0], int(fields[2])))
    return counts


# ---------------------------------------------------------------------------
# Panel regions
# ---------------------------------------------------------------------------


@dataclass
class Queries:
    """Index queries covering the panel: (file contig, start, end) in the file's contig
    order, plus the index's record count for the whole file."""

    regions: list[tuple[str, int, int]]
    total: int


def bare_contig(name: str) -> str:
    bare = name[3:] if name[:3].lower() == "chr" else name
    return "MT" if bare == "M" else bare


PRIMARY_CONTIGS = frozenset({*(str(n) for n in range(1, 23)), "X", "Y", "MT"})
# Contigs that hold no panel gene in either naming style: unplaced, alternate, decoy,
# viral and HLA sequences of the GRCh37/GRCh38 analysis sets.
_NON_PRIMARY = re.compile(
    r"(_random|_alt|_decoy|_fix|_hap\d*|^(chr)?Un[_.]|^(chr)?Un$|^GL\d|^KI\d|^JH\d|^HLA-|"
    r"^(chr)?EBV$|^hs37d5$|^NC_007605)",
    re.IGNORECASE,
)


def names_understood(names: Iterable[str]) -> bool:
    """Whether every contig name is a primary chromosome (with or without 'chr') or a known
    non-primary sequence; RefSeq (NC_000012.12) or GenBank (CM000674.2) names are not, and
    the panel coordinates cannot be looked up in them."""
    return all(bare_contig(name) in PRIMARY_CONTIGS or _NON_PRIMARY.search(name) for name in names)


def region_queries(path: str, setup: Setup, regions: PanelRegions) -> Queries | None:
    """Queries for ``regions`` when ``path`` can be read by region; None otherwise.

    Needs a bgzipped VCF or BCF, an index beside it that is not older than the file and
    holds per-contig record counts, and a header that shows the regions' genome build:
    coordinates of one build looked up in a file of the other would miss genes silently.
    """
    if setup.genome_build != regions.build or not is_bgzf(path) or index_beside(path) is None:
        return None
    counts = index_counts(path)
    names = [name for name, _ in counts]
    if len(set(names)) != len(names):
        return None
    if not names_understood(name for name, count in counts if count > 0):
        return None  # read whole: the regions cannot be named in this file's contigs
    queries = []
    for name, count in counts:
        if count == 0:
            continue
        for start, end in regions.by_chrom.get(bare_contig(name), ()):
            queries.append((name, start, end))
    return Queries(regions=queries, total=sum(count for _, count in counts))


def read_panel_regions(vcf: Any, setup: Setup, regions: PanelRegions) -> Part | None:
    """The panel regions of ``vcf`` read by index query; None when a region read does not
    apply (another build, not bgzipped, contig names the regions cannot be named in).

    A bgzipped file of the right build without a fresh index is indexed in a private
    temporary folder first. Raises WholeReadNeeded when a region read was tried and failed.
    """
    queries = region_queries(setup.path, setup, regions)
    if queries is not None:
        return _read_regions(vcf, setup, queries)
    if _indexable_for(vcf, setup, regions):
        return _read_regions_indexed_here(setup, regions)
    return None


def _indexable_for(vcf: Any, setup: Setup, regions: PanelRegions) -> bool:
    """A bgzipped VCF or BCF of the regions' build, with no fresh index beside it, whose
    header contigs the regions can be named in: indexing costs a pass over the file, so
    it is only made when the region read can then use it."""
    return (
        setup.genome_build == regions.build
        and is_bgzf(setup.path)
        and index_beside(setup.path) is None
        and names_understood(vcf.seqnames)
    )


def _read_regions_indexed_here(setup: Setup, regions: PanelRegions) -> Part | None:
    """Index the file in a private temporary folder (a link to it with the index beside
    the link; nothing is written beside the user's file) and read its panel regions."""
    import tempfile

    import pysam.bcftools
    from cyvcf2 import VCF
    from pysam.utils import SamtoolsError

    with tempfile.TemporaryDirectory(prefix="mmresist-index-") as work:
        link = os.path.join(work, os.path.basename(setup.path))
        try:
            os.symlink(os.path.abspath(setup.path), link)
            pysam.bcftools.index("-c" if is_bcf(setup.path) else "-t", link)
        except (SamtoolsError, OSError) as error:  # unsorted, malformed, or no symlinks
            raise WholeReadNeeded(
                f"it has no index and could not be indexed ({_reason(error)})"
            ) from error
        queries = region_queries(link, setup, regions)
        if queries is None:
            return None
        vcf = VCF(link, lazy=True)
        try:
            return _read_regions(vcf, setup, queries)
        finally:
            vcf.close()


def region(contig: str) -> str:
    # Braces make htslib take the whole string as a contig name, even "HLA-A*01:01".
    return "{" + contig + "}"


def region_records(vcf: Any, queries: Queries) -> Iterable[Any]:
    """Records of every query in order, each record once: a record that starts before
    the previous region of its contig ends overlapped that region and came with it."""
    contig = None
    previous_end = 0
    for name, start, end in queries.regions:
        if name != contig:
            contig, previous_end = name, 0
        for variant in vcf(f"{region(name)}:{start}-{end}"):
            if variant.start < previous_end:  # 0-based start within the previous region
                continue
            yield variant
        previous_end = end


def _read_regions(vcf: Any, setup: Setup, queries: Queries) -> Part:
    """One Part for the panel regions with the file's record count.

    A record htslib cannot parse or an index it cannot use raises WholeReadNeeded: the
    whole read then gives the error with the record's number in the file.
    """
    try:
        part = scan_records(region_records(vcf, queries), setup)
        check_records_well_formed(vcf, setup)
    except InputError as error:
        raise WholeReadNeeded(f"the panel regions could not be read ({error})") from error
    part.records_read = queries.total
    if not part.annotated:
        # The regions alone cannot say whether the file is annotated: bcftools csq leaves
        # non-coding records bare by design, and a region may hold none. Decide from the
        # start of the file, as a whole read would (VEP and snpEff annotate every record).
        part.annotated = (
            queries.total if setup.layout.kind == "bcsq" else _annotated_at_start(setup)
        )
    return part


def _annotated_at_start(setup: Setup, limit: int = 1000) -> int:
    """How many of the file's first ``limit`` records carry the annotation tag."""
    from cyvcf2 import VCF

    vcf = VCF(setup.path, lazy=True)
    try:
        count = 0
        for number, variant in enumerate(vcf, start=1):
            count += variant.INFO.get(setup.layout.tag) is not None
            if number >= limit:
                break
        return count
    finally:
        vcf.close()


# ---------------------------------------------------------------------------
# Contigs in worker processes
# ---------------------------------------------------------------------------


@dataclass
class Plan:
    """How workers share a file: each reads one run of consecutive contigs."""

    runs: list[list[str]]  # contiguous runs in file (index) order, one per worker
    counts: dict[str, int]  # records per contig, from the index


def runs_of(weights: Sequence[tuple[str, int]], workers: int) -> list[list[str]]:
    """Contigs (in file order) cut into at most ``workers`` consecutive runs of similar
    record counts."""
    total = sum(weight for _, weight in weights)
    runs: list[list[str]] = []
    current: list[str] = []
    done = 0
    for name, weight in weights:
        target = total * (len(runs) + 1) / workers
        if current and len(runs) < workers - 1 and done - target >= -(done + weight - target):
            # Closing the run here ends nearer its share than taking this contig too.
            runs.append(current)
            current = []
        current.append(name)
        done += weight
    runs.append(current)
    return runs


def contig_plan(path: str, threads: int, *, min_records: int) -> Plan | None:
    """How to split ``path`` between ``threads`` workers; None for one pass.

    Needs a bgzipped VCF or BCF with a fresh index beside it and at least ``min_records``
    records: the index's per-contig counts balance the work and prove afterwards that
    each worker read exactly its contigs' records. Raises WholeReadNeeded when the index
    gives no counts.
    """
    if not is_bgzf(path) or index_beside(path) is None:
        return None  # plain, plain-gzipped or unindexed: read in one pass
    weights = [(name, count) for name, count in index_counts(path) if count > 0]
    if sum(count for _, count in weights) < min_records or len(weights) < 2:
        return None
    if len({name for name, _ in weights}) != len(weights):
        return None
    runs = runs_of(weights, threads)
    if len(runs) < 2:
        return None
    return Plan(runs=runs, counts=dict(weights))


class _OrderError(Exception):
    """The file's contigs are not in the order (or blocks) its index promised."""


def _run_records(records: Iterable[Any], run: list[str]) -> Iterable[Any]:
    """The records of ``run``'s contigs from ``records``, which must start with the first
    of them and hold them in this order; stops at the first record of any other contig."""
    expected = iter(run)
    current = next(expected)
    for variant in records:
        chrom = variant.CHROM
        if chrom != current:
            upcoming = next(expected, None)
            if upcoming is None:
                return
            if chrom != upcoming:
                raise _OrderError(f"{chrom} where the index promised {upcoming}")
            current = upcoming
        yield variant


def read_run(setup: Setup, run: list[str], first: bool) -> Part | str:
    """Worker: one Part for a run of consecutive contigs, or why the file defeated it.

    The first run is read from the start of the file. Any other starts with an index
    query for its first contig, after which htslib's file position is that contig's
    last record, so reading simply goes on into the next contigs: only the first contig
    pays the (slower) query path. The parent checks the record count against the index.
    A programming error is not caught: it reaches the parent through the future.
    """
    from itertools import chain

    from cyvcf2 import VCF

    try:
        vcf = VCF(setup.path, lazy=True)
        try:
            records = vcf if first else chain(vcf(region(run[0])), vcf)
            part = scan_records(_run_records(records, run), setup)
            check_records_well_formed(vcf, setup)
            return part
        finally:
            vcf.close()
    except (InputError, _OrderError) as error:
        return _reason(error)
    except Exception as error:
        if not is_htslib_failure(error):
            raise
        return _reason(error)


def read_parallel(setup: Setup, plan: Plan) -> list[Part]:
    """Parts in file order, one worker process per run.

    Raises WholeReadNeeded when a worker could not read its run, died, or read another
    number of records than the index promised.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    parts: list[Part] = []
    try:
        with ProcessPoolExecutor(max_workers=len(plan.runs), mp_context=context) as pool:
            futures = [
                pool.submit(read_run, setup, run, index == 0) for index, run in enumerate(plan.runs)
            ]
            for run, future in zip(plan.runs, futures, strict=True):
                part = future.result()
                where = f"contigs {run[0]}..{run[-1]}" if len(run) > 1 else f"contig {run[0]}"
                if isinstance(part, str):
                    raise WholeReadNeeded(f"a worker could not read {where} ({part})")
                expected = sum(plan.counts[contig] for contig in run)
                if part.records_read != expected:
                    raise WholeReadNeeded(
                        f"the index promised {expected} records in {where}, a worker read "
                        f"{part.records_read}"
                    )
                parts.append(part)
    except (BrokenProcessPool, OSError) as error:  # a worker died or could not start
        raise WholeReadNeeded(f"the worker processes failed ({_reason(error)})") from error
    return parts
