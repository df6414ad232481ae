"""Read one tumour sample's panel-gene variants from a VCF or BCF with cyvcf2."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mmresist.errors import InputError
from mmresist.ingest.annotation import (
    AnnotationLayout,
    choose_transcript,
    detect_layout,
    parse_entries,
    protein_change,
)
from mmresist.model import SampleIngest, VariantCall

# Length of chromosome 1 tells the build apart even when ##reference says nothing.
CHR1_LENGTHS = {248956422: "GRCh38", 249250621: "GRCh37"}
_BUILD_WORDS = (
    (re.compile(r"GRCh38|hg38|\bb38\b|GCA_000001405\.15|assembly38", re.IGNORECASE), "GRCh38"),
    (re.compile(r"GRCh37|hg19|\bb37\b|hs37d5|g1k_v37|GCA_000001405\.1\b", re.IGNORECASE), "GRCh37"),
)

# The empty block bgzip writes last; a BGZF file without it was cut short (htslib only
# warns and reads what is there, which would make a partial file look complete).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

# htslib's in-memory markers for a missing value and for the end of a short vector.
_INT_MISSING = -2147483648
_INT_VECTOR_END = -2147483647
# Count fields some callers declare Type=String and write as "ref,alt".
_STRING_COUNTS = frozenset({"ADT", "ADC"})


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
# Allele depths
# ---------------------------------------------------------------------------


def _sample_values(
    variant: Any, key: str, sample_index: int, header_formats: Mapping[str, str]
) -> list[Any] | None:
    """One sample's values of FORMAT ``key``; None when absent. Missing values are None."""
    if key not in header_formats:
        return None
    array = variant.format(key)
    if array is None:
        return None
    row = array[sample_index]
    if isinstance(row, str):
        return [None if row in {"", "."} else row]
    values: list[Any] = []
    for value in row.tolist():
        if isinstance(value, float):
            values.append(None if math.isnan(value) else value)
        elif isinstance(value, int):
            if value == _INT_VECTOR_END:
                break
            values.append(None if value == _INT_MISSING or value < 0 else value)
        else:
            values.append(None if value in {"", "."} else value)
    return values


def _first(values: list[Any] | None) -> Any:
    return values[0] if values else None


def _per_allele(values: list[Any] | None, number: str | None, alt_index: int, n_alts: int) -> Any:
    """The value for one ALT of a per-ALT (Number=A) or single-valued field."""
    if not values:
        return None
    if number == "R" or (number not in {"A", "1"} and len(values) == n_alts + 1):
        # One value per allele, REF first (RADIA's AF "fraction of reads supporting
        # alleles 0/1/2...", Number=.).
        return values[alt_index + 1] if alt_index + 1 < len(values) else None
    if number == "A" or len(values) == n_alts > 1:
        return values[alt_index] if alt_index < len(values) else None
    if n_alts == 1:
        return values[0]
    return None  # one value for several ALTs: not attributable to this one


def _fraction(value: Any) -> float | None:
    """VarScan FREQ "12.5%" or a plain fraction."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100
        number = float(text)
    except ValueError:
        return None
    return number if number <= 1 else number / 100


def _ratio(numerator: int | None, denominator: int | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def allele_depths(
    variant: Any,
    sample_index: int,
    alt_index: int,
    header_formats: Mapping[str, str],
) -> tuple[float | None, int | None, int | None]:
    """(VAF, depth, alt reads) of one ALT in one sample, each None when the file does not say.

    Understands FORMAT AF/FA + AD + DP (Mutect2, MuTect1, VarDict, MuSE, Pindel, generic),
    RADIA's per-allele AF (REF first), FreeBayes AO/RO, Strelka2 tier-1 {A,C,G,T}U (SNVs)
    and TAR/TIR (indels), VarScan2 FREQ/AD/RD, SomaticSniper DP4, and PCGR's DPT/ADT.
    A caller's own allele fraction wins over one computed from counts.
    """
    ref = variant.REF.upper()
    alts = variant.ALT
    n_alts = len(alts)
    alt = alts[alt_index].upper()

    def ints(key: str) -> list[Any] | None:
        values = _sample_values(variant, key, sample_index, header_formats)
        if values and len(values) == 1 and isinstance(values[0], str) and key in _STRING_COUNTS:
            # PCGR writes ADT/ADC as Type=String "21,8".
            values = [int(v) if v.strip().isdigit() else None for v in values[0].split(",")]
        return values

    def finish(vaf: float | None, depth: int | None, alt_reads: int | None):
        if vaf is not None:
            vaf = round(float(vaf), 6)
        return vaf, depth, alt_reads

    # Strelka2 SNVs: no AD, but per-base tier-1 counts; VAF = alt / (ref + alt) as the
    # Strelka2 documentation defines it, depth = all tier-1 bases used.
    if all(f"{base}U" in header_formats for base in "ACGT"):
        if len(ref) == 1 and len(alt) == 1 and ref in "ACGT" and alt in "ACGT":
            tiers = {base: _first(ints(f"{base}U")) for base in "ACGT"}
            if all(count is not None for count in tiers.values()):
                alt_reads = tiers[alt]
                vaf = _ratio(alt_reads, tiers[ref] + alt_reads)
                return finish(vaf, sum(tiers.values()), alt_reads)

    # Strelka2 indels: tier-1 reads strongly supporting the indel (TIR) or reference (TAR).
    if "TIR" in header_formats and "TAR" in header_formats:
        indel_reads, ref_reads = _first(ints("TIR")), _first(ints("TAR"))
        if indel_reads is not None and ref_reads is not None:
            depth = _first(ints("DP"))
            total = indel_reads + ref_reads
            return finish(
                _ratio(indel_reads, total), total if depth is None else depth, indel_reads
            )

    alt_reads: int | None = None
    counted_total: int | None = None
    # PCGR's one-column tumour/control layout: DPT/ADT are the tumour's DP/AD.
    pcgr = "AD" not in header_formats and "ADT" in header_formats
    depth_key = "DPT" if pcgr or ("DP" not in header_formats and "DPT" in header_formats) else "DP"
    allelic = ints("ADT" if pcgr else "AD")
    if allelic:
        number = "R" if pcgr else header_formats.get("AD")
        if number == "R" or len(allelic) == n_alts + 1:
            alt_reads = allelic[alt_index + 1] if alt_index + 1 < len(allelic) else None
            if all(count is not None for count in allelic):
                counted_total = sum(allelic)
        elif len(allelic) == n_alts and (number == "1" or "RD" in header_formats):
            # VarScan2 writes AD as the ALT count only (Number=1) with RD for REF. A lone
            # value of an AD declared otherwise (merged callers' files) says nothing sure.
            alt_reads = allelic[alt_index]
            ref_reads = _first(ints("RD"))
            if ref_reads is not None and all(count is not None for count in allelic):
                counted_total = ref_reads + sum(allelic)
    if alt_reads is None:
        # FreeBayes: AO per ALT, RO for REF.
        observed = ints("AO")
        if observed and alt_index < len(observed):
            alt_reads = observed[alt_index]
            ref_reads = _first(ints("RO"))
            if ref_reads is not None and all(count is not None for count in observed):
                counted_total = ref_reads + sum(observed)
    if alt_reads is None and n_alts == 1:
        alt_reads = _first(ints("VD"))  # VarDict's variant depth
    if alt_reads is None and n_alts == 1 and header_formats.get("DP4") == "4":
        # SomaticSniper, samtools: high-quality ref-fwd, ref-rev, alt-fwd, alt-rev.
        strands = ints("DP4")
        if strands and len(strands) == 4 and all(count is not None for count in strands):
            alt_reads = strands[2] + strands[3]
            counted_total = sum(strands)

    depth = _first(ints(depth_key))
    if depth is None:
        depth = counted_total

    vaf = None
    for key in ("AF", "FA"):  # FA: MuTect1
        if key in header_formats:
            vaf = _per_allele(ints(key), header_formats[key], alt_index, n_alts)
            if vaf is not None:
                break
    if vaf is None and "FREQ" in header_formats and n_alts == 1:
        vaf = _fraction(_first(ints("FREQ")))
    if vaf is None:
        vaf = _ratio(alt_reads, counted_total)
    if vaf is None:
        vaf = _ratio(alt_reads, depth)
        if vaf is not None and vaf > 1:
            vaf = None  # more ALT reads than the depth: the counts disagree, VAF unknown
    return finish(vaf, depth, alt_reads)


# ---------------------------------------------------------------------------
# Panel prefilter
# ---------------------------------------------------------------------------


def _alternation(words: Iterable[str]) -> str:
    """A regex matching exactly ``words``, written as a trie.

    Python's re tries alternatives one by one; sharing prefixes makes a miss cost one
    character comparison per branch point instead of one per gene.
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for character in word:
            node = node.setdefault(character, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        ends_here = "" in node
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        if len(branches) == 1 and not ends_here:
            return branches[0]
        body = "(?:" + "|".join(branches) + ")"
        return body + "?" if ends_here else body

    return build(trie)


@dataclass(frozen=True)
class PanelPrefilter:
    """Does a raw annotation string name a panel gene in its gene field?

    Two compiled patterns, one for the first entry (anchored) and one for every later
    entry (starting at the ``,`` between entries). Starting each attempt only at an
    entry boundary and skipping straight to the gene field lets re scan for a single
    literal character, which is what keeps ingest near bcftools' own read speed; the
    pattern mirrors how parse_entries splits entries and fields, so it never skips a
    record that parsing would have assigned to a panel gene.
    """

    first_entry: Callable[[str], Any]
    later_entries: Callable[[str], Any]

    def __call__(self, raw: str) -> bool:
        return self.first_entry(raw) is not None or self.later_entries(raw) is not None


def panel_prefilter(layout: AnnotationLayout, panel_genes: Collection[str]) -> PanelPrefilter:
    """Prefilter for ``layout``'s gene field and the symbols in ``panel_genes``."""
    genes = sorted({gene for gene in panel_genes if gene})
    gene_index = layout.gene_index
    if not genes or gene_index is None:
        never = re.compile(r"(?!)")
        return PanelPrefilter(never.match, never.search)
    if layout.kind == "snpeff_eff":
        # EFFECT(impact|class|...|gene|...): fields are counted inside the parentheses.
        entry_start = r"[^(,]*\("
        skip = gene_index - 1
    else:
        entry_start = ""
        skip = gene_index
    # Possessive quantifiers: a field skipped is never re-scanned on a miss.
    fields = rf"(?:[^|,]*+\|){{{skip}}}" if skip else ""
    token = rf"(?:{_alternation(genes)})(?=[|,&)]|$)"
    if layout.kind in {"snpeff", "snpeff_eff"}:
        # snpEff joins the two genes of a fusion with & in Gene_Name.
        token = r"(?:[^|,&]*+&)*+" + token
    first = re.compile(entry_start + fields + token)
    later = re.compile("," + entry_start + fields + token)
    return PanelPrefilter(first.match, later.search)


# ---------------------------------------------------------------------------
# Allele matching
# ---------------------------------------------------------------------------


def _trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Minimal representation: drop shared trailing, then leading, bases."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while ref and alt and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def allele_lookup(ref: str, alts: Sequence[str]) -> dict[str, int]:
    """Annotation allele string -> ALT index, for VEP, snpEff and EFF spellings.

    Exact ALT first (snpEff, VEP for SNVs); then VEP's rule of removing a first base
    shared by REF and every ALT (``-`` when nothing is left); then each ALT trimmed
    against REF on its own (VEP ``--minimal``). An earlier spelling is never overridden.
    """
    lookup: dict[str, int] = {}
    upper_alts = [alt.upper() for alt in alts]
    upper_ref = ref.upper()
    for index, alt in enumerate(upper_alts):
        lookup.setdefault(alt, index)
    alleles = [upper_ref, *upper_alts]
    if len({allele[:1] for allele in alleles}) == 1 and any(
        len(allele) != len(upper_ref) for allele in upper_alts
    ):
        for index, alt in enumerate(upper_alts):
            lookup.setdefault(alt[1:] or "-", index)
    for index, alt in enumerate(upper_alts):
        if alt.startswith("<") or alt == "*":
            continue
        _, _, trimmed = _trim(0, upper_ref, alt)
        lookup.setdefault(trimmed or "-", index)
    return lookup


_DNA_CHANGE = re.compile(r"(\d+)([A-Za-z]+)>([A-Za-z]*)")


def _bcsq_alt_index(dna_change: str, pos: int, ref: str, alts: Sequence[str]) -> int | None:
    """ALT index of a BCSQ entry from its dna_change ("69428T>G", compound "a+b")."""
    wanted = {}
    for index, alt in enumerate(alts):
        wanted[_trim(pos, ref.upper(), alt.upper())] = index
    for part in dna_change.split("+"):
        match = _DNA_CHANGE.fullmatch(part.strip())
        if not match:
            continue
        key = _trim(int(match.group(1)), match.group(2).upper(), match.group(3).upper())
        if key in wanted:
            return wanted[key]
    return None


def _entry_alt_index(
    entry: dict[str, Any],
    layout: AnnotationLayout,
    lookup: dict[str, int],
    pos: int,
    ref: str,
    alts: Sequence[str],
) -> int | None:
    number = entry.get("allele_num")
    if number is not None and 1 <= number <= len(alts):
        return number - 1
    if layout.kind == "bcsq":
        index = _bcsq_alt_index(entry.get("dna_change", ""), pos, ref, alts)
    else:
        index = lookup.get(entry.get("allele", "").upper())
    if index is None and len(alts) == 1:
        return 0
    return index


def _genes_of(entry: dict[str, Any]) -> list[str]:
    gene = entry.get("gene", "")
    return gene.split("&") if "&" in gene else [gene]


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def open_vcf(path: str | os.PathLike[str]) -> Any:
    """A cyvcf2 reader for ``path``, or an InputError that says what is wrong with it."""
    return _open(os.fspath(path))


def _open(path: str) -> Any:
    from cyvcf2 import VCF

    if not os.path.exists(path):
        raise InputError("VCF file not found", file=path)
    if os.path.isdir(path):
        raise InputError("expected a VCF or BCF file, found a directory", file=path)
    if os.path.getsize(path) == 0:
        raise InputError("the file is empty (0 bytes), not a VCF", file=path)
    with open(path, "rb") as stream:
        head = stream.read(16)
        if _bgzf_magic(head):
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
    except Exception as error:  # cyvcf2 raises bare Exception/OSError for bad headers
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
    import gzip

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


@dataclass
class _Record:
    """What a panel record contributes, kept until BCSQ compound references resolve."""

    ordinal: int
    chrom: str
    pos: int
    ref: str
    alts: list[str]
    filter: str
    depths: list[tuple[float | None, int | None, int | None]]


class _SampleReader:
    """State of one read_sample call: layout, panel, counters, calls and warnings."""

    def __init__(self, *, layout: AnnotationLayout, panel: frozenset[str], sample_id: str) -> None:
        self.layout = layout
        self.panel = panel
        self.sample_id = sample_id
        self.calls: list[tuple[int, int, VariantCall]] = []
        self.records_in_panel = 0
        self.warnings: list[str] = []
        # BCSQ compound consequences: (chrom, pos) -> panel entries written there, and
        # records that point to them with "@pos".
        self.compound_entries: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.compound_pending: list[tuple[_Record, list[int]]] = []

    def panel_entries(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        panel = self.panel
        chosen = []
        for entry in entries:
            gene = entry["gene"]
            if gene in panel:
                chosen.append(entry)
            elif "&" in gene:
                for part in gene.split("&"):
                    if part in panel:
                        chosen.append(dict(entry, gene=part))
        return chosen

    def add_record(self, record: _Record, entries: list[dict[str, Any]]) -> None:
        """Calls for one record's panel entries: one per ALT x panel gene."""
        layout = self.layout
        lookup = allele_lookup(record.ref, record.alts)
        by_alt: dict[int, list[dict[str, Any]]] = {}
        unplaced: list[dict[str, Any]] = []
        for entry in entries:
            index = _entry_alt_index(entry, layout, lookup, record.pos, record.ref, record.alts)
            if index is None:
                unplaced.append(entry)
            else:
                by_alt.setdefault(index, []).append(entry)
        if unplaced:
            # Entries whose allele matches no ALT (unusual trimming): give them to the
            # ALTs that got nothing, rather than lose a panel-gene record.
            empty = [i for i in range(len(record.alts)) if i not in by_alt]
            for index in empty:
                by_alt[index] = list(unplaced)
            genes = ", ".join(sorted({entry["gene"] for entry in unplaced}))
            where = f"{record.chrom}:{record.pos}"
            if empty:
                self.warnings.append(
                    f"{where}: {len(unplaced)} {genes} annotation entr"
                    f"{'y' if len(unplaced) == 1 else 'ies'} name no ALT allele; assigned to "
                    f"ALT {', '.join(record.alts[i] for i in empty)}"
                )
            else:
                self.warnings.append(
                    f"{where}: {len(unplaced)} {genes} annotation entries name no ALT allele "
                    "and were not used"
                )
        for alt_index in sorted(by_alt):
            alt = record.alts[alt_index]
            if alt == "*":
                continue  # an upstream deletion's allele, reported at its own record
            genes: dict[str, list[dict[str, Any]]] = {}
            for entry in by_alt[alt_index]:
                genes.setdefault(entry["gene"], []).append(entry)
            for gene, gene_entries in genes.items():
                # snpEff -cancer adds entries relative to the germline allele; the ones
                # relative to REF describe what the VCF row says.
                against_ref = [entry for entry in gene_entries if not entry["reference_allele"]]
                chosen = choose_transcript(against_ref or gene_entries)
                if chosen is None:
                    continue
                change, start, end = protein_change(chosen)
                vaf, depth, alt_reads = record.depths[alt_index]
                call = VariantCall(
                    sample_id=self.sample_id,
                    chrom=record.chrom,
                    pos=record.pos,
                    ref=record.ref,
                    alt=alt,
                    gene=gene,
                    consequence=chosen["consequence"],
                    hgvsc=chosen["hgvsc"],
                    hgvsp=chosen["hgvsp"],
                    protein_change=change,
                    protein_start=start,
                    protein_end=end,
                    transcript=chosen["transcript"],
                    impact=chosen["impact"],
                    filter=record.filter,
                    vaf=vaf,
                    depth=depth,
                    alt_reads=alt_reads,
                    annotation_source=layout.label,
                )
                self.calls.append((record.ordinal, alt_index, call))

    def resolve_compounds(self) -> None:
        """Give records that point to a BCSQ compound the panel entries written there."""
        for record, positions in self.compound_pending:
            entries: list[dict[str, Any]] = []
            for position in positions:
                for entry in self.compound_entries.get((record.chrom, position), []):
                    # The compound's entry describes the haplotype; this record's ALT
                    # is part of it, so the entry belongs to this record's ALT(s).
                    entries.append(dict(entry, allele="", allele_num=None, dna_change=""))
            if entries:
                self.records_in_panel += 1
                self.add_record(record, entries)


def _record_of(
    variant: Any,
    ordinal: int,
    sample_index: int,
    header_formats: Mapping[str, str],
) -> _Record:
    alts = list(variant.ALT)
    return _Record(
        ordinal=ordinal,
        chrom=variant.CHROM,
        pos=variant.POS,
        ref=variant.REF,
        alts=alts,
        # cyvcf2 gives None for both PASS and "." (not filtered); the contract says PASS.
        filter=variant.FILTER or "PASS",
        depths=[
            allele_depths(variant, sample_index, index, header_formats)
            for index in range(len(alts))
        ],
    )


# Files with fewer indexed records than this are read in one pass: forking workers costs
# more than it saves on an exome-sized VCF (cohort runs read hundreds of those).
PARALLEL_MIN_RECORDS = 100_000


@dataclass
class _Setup:
    """Header facts every part of one read shares (picklable: sent to worker processes)."""

    path: str
    sample_id: str
    tumour: str
    sample_index: int
    layout: AnnotationLayout
    formats: dict[str, str]
    panel: frozenset[str]
    genome_build: str | None
    declared: frozenset[tuple[str, str]] = frozenset()
    vcf_version: tuple[int, int] | None = None


@dataclass
class _Part:
    """What one pass over some records (a whole file, or a run of whole contigs) found."""

    records_read: int = 0
    annotated: int = 0
    records_in_panel: int = 0
    calls: list[VariantCall] = field(default_factory=list)
    record_warnings: list[str] = field(default_factory=list)
    compound_warnings: list[str] = field(default_factory=list)


SCAN_WHOLE = "whole_file"
SCAN_REGIONS = "panel_regions"


@dataclass(frozen=True)
class PanelRegions:
    """The panel genes' padded regions for one genome build: chromosome (without 'chr')
    -> sorted, non-overlapping (start, end), 1-based inclusive (Knowledge.panel_regions)."""

    build: str
    by_chrom: Mapping[str, Sequence[tuple[int, int]]]


def read_sample(
    *,
    vcf_path: str | os.PathLike[str],
    sample_id: str,
    tumor_sample: str | None,
    panel_genes: Collection[str],
    threads: int | None = None,
    regions: PanelRegions | None = None,
) -> SampleIngest:
    """Every panel-gene call of one tumour sample, with record counts for QC.

    Iterates the file with cyvcf2 (VCF, bgzipped VCF or BCF). A record's raw annotation
    string is checked for a panel gene before it is split, so records outside the panel
    cost one pattern scan. Multiallelic records give one call per ALT and panel gene.

    ``threads`` (default: 2 when the machine has them): a bgzipped VCF or BCF with an
    up-to-date index beside it (.tbi/.csi with record counts; never created here) and at
    least PARALLEL_MIN_RECORDS records is read by that many forked worker processes, each
    taking a run of consecutive whole contigs balanced by the index's record counts. The
    result is the same as one pass (calls in file order, counts summed, warnings in the
    same order); when a worker fails or its count disagrees with the index, the file is
    read again in one pass, which gives the authoritative result or error. Otherwise one
    pass, with htslib decompressing in a second thread.

    ``regions`` (the panel genes' padded coordinates for one genome build): when the file
    is a bgzipped VCF or BCF whose header shows that same build (contig lengths,
    ##reference or annotation lines), only the records in those regions are read, by index
    queries: with its own up-to-date index, or else with one made in a private temporary
    folder (never beside the user's file; a file that cannot be indexed is read whole).
    ``records_read`` is then the index's record count and every record outside the
    regions counts as outside the panel; ``scan`` says which way the file was read. Any
    failure reading by region falls back to reading the whole file, which gives the
    authoritative result or error.
    """
    path = os.fspath(vcf_path)
    if threads is None:
        threads = min(2, os.cpu_count() or 1)
    threads = max(1, int(threads))
    # Opened without htslib threads: a process that started a thread pool (even one
    # closed again) makes the workers forked from it run at half speed.
    vcf = _open(path)
    try:
        setup = _prepare(vcf, path, sample_id, tumor_sample, frozenset(panel_genes))
        queries = _region_queries(path, setup, regions) if regions is not None else None
        if queries is not None:
            part = _read_regions(vcf, setup, queries)
            if part is not None:
                return _finish(setup, [part], scan=SCAN_REGIONS)
            vcf.close()
            vcf = _open(path)  # an iterator that failed part-way is not reused
        elif regions is not None and _indexable_for(vcf, path, setup, regions):
            part = _read_regions_indexed_here(setup, regions)
            if part is not None:
                return _finish(setup, [part], scan=SCAN_REGIONS)
        plan = _contig_plan(vcf, path, threads) if threads > 1 else None
        if plan is None:
            return _one_pass(vcf, setup, threads)
    finally:
        vcf.close()
    parts = _read_parallel(setup, plan)
    if parts is None:
        # A worker failed (a malformed record, a crash) or the counts disagree with the
        # index: one pass gives the authoritative result or error message.
        vcf = _open(path)
        try:
            return _one_pass(vcf, setup, threads)
        finally:
            vcf.close()
    return _finish(setup, parts)


def _one_pass(vcf: Any, setup: _Setup, threads: int) -> SampleIngest:
    if threads > 1:
        vcf.set_threads(threads)  # htslib decompresses in a second thread
    part = _scan(vcf, setup)
    _check_records_well_formed(vcf, setup)
    return _finish(setup, [part])


def _prepare(
    vcf: Any, path: str, sample_id: str, tumor_sample: str | None, panel: frozenset[str]
) -> _Setup:
    # Annotation first: a file without one cannot be used whatever its sample columns.
    layout = detect_layout(vcf, path)
    raw_header = vcf.raw_header
    samples = list(vcf.samples)
    tumour = choose_tumor_sample(
        samples=samples,
        header_tumor=header_value(raw_header, "tumor_sample"),
        requested=tumor_sample,
        path=path,
    )
    return _Setup(
        path=path,
        sample_id=sample_id,
        tumour=tumour,
        sample_index=samples.index(tumour),
        layout=layout,
        formats=header_formats(vcf),
        panel=panel,
        genome_build=genome_build_from_header(raw_header),
        declared=_declared_tags(vcf),
        vcf_version=_vcf_version(raw_header),
    )


def _vcf_version(raw_header: str) -> tuple[int, int] | None:
    match = re.match(r"##fileformat=VCFv(\d+)\.(\d+)", raw_header)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _declared_tags(vcf: Any) -> frozenset[tuple[str, str]]:
    tags = set()
    for record in vcf.header_iter():
        info = record.info()
        if info.get("HeaderType") in {"INFO", "FORMAT"} and "ID" in info:
            tags.add((info["HeaderType"], info["ID"]))
    return frozenset(tags)


_TAG_NAME = re.compile(r"[A-Za-z_][0-9A-Za-z_.]*|1000G[0-9A-Za-z_.]*")


def _check_records_well_formed(vcf: Any, setup: _Setup) -> None:
    """Refuse a file whose records named INFO/FORMAT keys that cannot be keys.

    htslib adds a key it meets in a record but not in the header, and only warns. A
    number or other non-identifier there means the columns were shifted: typically a
    line cut short and joined with the next one, which silently loses a record.
    """
    for kind, tag in sorted(_declared_tags(vcf) - setup.declared):
        if not _TAG_NAME.fullmatch(tag):
            raise InputError(
                f"a record's {kind} column holds {tag!r}, which is not a {kind} key: its "
                "columns are shifted, typically a line cut short and joined with the next "
                "one (a truncated copy?); the file cannot be read reliably",
                file=setup.path,
            )


def _scan(records: Iterable[Any], setup: _Setup) -> _Part:
    """One pass over ``records`` (cyvcf2 Variants); the hot loop of ingest."""
    layout = setup.layout
    reader = _SampleReader(layout=layout, panel=setup.panel, sample_id=setup.sample_id)
    prefilter = panel_prefilter(layout, setup.panel)
    first_entry = prefilter.first_entry
    later_entries = prefilter.later_entries
    sample_index = setup.sample_index
    formats = setup.formats
    tag = layout.tag
    compound = layout.kind == "bcsq"
    records_read = 0
    annotated = 0

    iterator = iter(records)
    while True:
        try:
            variant = next(iterator)
        except StopIteration:
            break
        except Exception as error:  # htslib parse errors surface as bare Exception
            detail = "the file is malformed or truncated"
            if setup.vcf_version and setup.vcf_version >= (4, 4):
                detail += (
                    f", or uses VCFv{setup.vcf_version[0]}.{setup.vcf_version[1]} syntax "
                    "(e.g. a phasing prefix on the first allele) that this htslib cannot read; "
                    "write it as VCFv4.2 (bcftools view) and retry"
                )
            raise InputError(
                f"cannot parse record {records_read + 1} (after {records_read} readable "
                f"records): {error}; {detail}",
                file=setup.path,
            ) from error
        records_read += 1
        raw = variant.INFO.get(tag)
        if raw is None:
            continue
        annotated += 1
        # The hot path: most records name no panel gene and stop here, unsplit.
        if first_entry(raw) is None and later_entries(raw) is None:
            if not (compound and "@" in raw):
                continue
        entries = parse_entries(raw, layout)
        chosen = reader.panel_entries(entries)
        positions = [
            entry["compound_position"]
            for entry in entries
            if entry["compound_position"] is not None
        ]
        if not chosen and not positions:
            continue
        record = _record_of(variant, records_read, sample_index, formats)
        if chosen:
            reader.records_in_panel += 1
            reader.add_record(record, chosen)
            if compound:
                reader.compound_entries[(record.chrom, record.pos)] = chosen
        elif positions:
            reader.compound_pending.append((record, positions))

    record_warnings = len(reader.warnings)
    # BCSQ "@pos" references point to a record on the same contig, so a part that holds
    # whole contigs resolves its own.
    reader.resolve_compounds()
    reader.calls.sort(key=lambda item: (item[0], item[1]))
    return _Part(
        records_read=records_read,
        annotated=annotated,
        records_in_panel=reader.records_in_panel,
        calls=[call for _, _, call in reader.calls],
        record_warnings=reader.warnings[:record_warnings],
        compound_warnings=reader.warnings[record_warnings:],
    )


def _finish(setup: _Setup, parts: Sequence[_Part], scan: str = SCAN_WHOLE) -> SampleIngest:
    """One SampleIngest from parts given in file order, as one pass would have made it."""
    layout = setup.layout
    warnings: list[str] = []
    if not layout.gene_is_symbol:
        warnings.append(
            f"{layout.label} has no gene symbol field (field {layout.gene_field!r} holds "
            "Ensembl ids), so no record can match the panel; re-run VEP with --symbol"
        )
    for part in parts:
        warnings.extend(part.record_warnings)
    for part in parts:
        warnings.extend(part.compound_warnings)
    records_read = sum(part.records_read for part in parts)
    if records_read and not any(part.annotated for part in parts):
        warnings.append(
            f"no record carries INFO/{layout.tag} although the header declares it; "
            "the annotation step may have failed"
        )
    return SampleIngest(
        sample_id=setup.sample_id,
        vcf=setup.path,
        tumor_sample=setup.tumour,
        records_read=records_read,
        records_in_panel=sum(part.records_in_panel for part in parts),
        calls=[call for part in parts for call in part.calls],
        annotation=layout.label,
        genome_build=setup.genome_build,
        warnings=warnings,
        scan=scan,
    )


# A VCF at least this large (bytes on disk) read whole is worth a second core: about
# PARALLEL_MIN_RECORDS annotated records, bgzipped.
TWO_THREAD_MIN_BYTES = 8 << 20


def ingest_threads(paths: Iterable[str | os.PathLike[str]], *, regions_known: bool) -> int:
    """Cores worth giving to one patient's ingest (1 or 2), decided before it runs.

    A file read by region (bgzipped, with panel coordinates for the build) or a small one
    needs one core; a large file read whole uses a second one (worker processes for an
    indexed file, a decompression thread otherwise). Cohort runs of exome-sized files so
    run two patients at once on two cores instead of one after the other.
    """
    for path in paths:
        name = os.fspath(path)
        try:
            size = os.path.getsize(name)
        except OSError:
            continue  # a missing file is the patient job's error to report
        if size < TWO_THREAD_MIN_BYTES:
            continue
        if regions_known and _is_bgzf(name):
            continue  # read by region (indexed in a work folder when it has no index)
        return 2
    return 1


# ---------------------------------------------------------------------------
# Reading the panel regions of indexed files
# ---------------------------------------------------------------------------


@dataclass
class _Queries:
    """Index queries covering the panel: (file contig, start, end) in the file's contig
    order, plus the index's record count for the whole file."""

    regions: list[tuple[str, int, int]]
    total: int


def _bare_contig(name: str) -> str:
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


def _names_understood(names: Iterable[str]) -> bool:
    """Whether every contig name is a primary chromosome (with or without 'chr') or a known
    non-primary sequence; RefSeq (NC_000012.12) or GenBank (CM000674.2) names are not, and
    the panel coordinates cannot be looked up in them."""
    return all(_bare_contig(name) in PRIMARY_CONTIGS or _NON_PRIMARY.search(name) for name in names)


def _region_queries(path: str, setup: _Setup, regions: PanelRegions) -> _Queries | None:
    """Queries for ``regions`` when ``path`` can be read by region; None otherwise.

    Needs a bgzipped VCF or BCF, an index beside it that is not older than the file and
    holds per-contig record counts, and a header that shows the regions' genome build:
    coordinates of one build looked up in a file of the other would miss genes silently.
    """
    if setup.genome_build != regions.build:
        return None
    if not _is_bgzf(path):
        return None
    if _index_beside(path) is None:
        return None
    counts = _index_counts(path)
    if counts is None:
        return None
    names = [name for name, _ in counts]
    if len(set(names)) != len(names):
        return None
    if not _names_understood(name for name, count in counts if count > 0):
        return None  # read whole: the regions cannot be named in this file's contigs
    queries = []
    for name, count in counts:
        if count == 0:
            continue
        for start, end in regions.by_chrom.get(_bare_contig(name), ()):
            queries.append((name, start, end))
    return _Queries(regions=queries, total=sum(count for _, count in counts))


def _indexable_for(vcf: Any, path: str, setup: _Setup, regions: PanelRegions) -> bool:
    """A bgzipped VCF or BCF of the regions' build, with no fresh index beside it, whose
    header contigs the regions can be named in: indexing costs a pass over the file, so
    it is only made when the region read can then use it."""
    return (
        setup.genome_build == regions.build
        and _is_bgzf(path)
        and _index_beside(path) is None
        and _names_understood(vcf.seqnames)
    )


def _read_regions_indexed_here(setup: _Setup, regions: PanelRegions) -> _Part | None:
    """Index the file in a private temporary folder (a link to it with the index beside
    the link; nothing is written beside the user's file) and read its panel regions.
    None when it cannot be indexed (unsorted records, say): the caller reads it whole,
    which gives the authoritative result or error."""
    import tempfile

    import pysam.bcftools
    from cyvcf2 import VCF

    with tempfile.TemporaryDirectory(prefix="mmresist-index-") as work:
        link = os.path.join(work, os.path.basename(setup.path))
        try:
            os.symlink(os.path.abspath(setup.path), link)
            kind = "-c" if _is_bcf(setup.path) else "-t"
            pysam.bcftools.index(kind, link)
        except Exception:  # unsorted, malformed, or no symlinks here: read it whole
            return None
        queries = _region_queries(link, setup, regions)
        if queries is None:
            return None
        vcf = VCF(link, lazy=True)
        try:
            return _read_regions(vcf, setup, queries)
        finally:
            vcf.close()


def _bgzf_magic(head: bytes) -> bool:
    """Whether the first 16 bytes of a file start a BGZF block (bgzipped VCF or BCF)."""
    return head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def _is_bgzf(path: str) -> bool:
    try:
        with open(path, "rb") as stream:
            return _bgzf_magic(stream.read(16))
    except OSError:
        return False


def _is_bcf(path: str) -> bool:
    import gzip

    try:
        with gzip.open(path, "rb") as stream:
            return stream.read(3) == b"BCF"
    except OSError:
        return False


def _region_records(vcf: Any, queries: _Queries) -> Iterable[Any]:
    """Records of every query in order, each record once: a record that starts before
    the previous region of its contig ends overlapped that region and came with it."""
    contig = None
    previous_end = 0
    for name, start, end in queries.regions:
        if name != contig:
            contig, previous_end = name, 0
        for variant in vcf(f"{_region(name)}:{start}-{end}"):
            if variant.start < previous_end:  # 0-based start within the previous region
                continue
            yield variant
        previous_end = end


def _read_regions(vcf: Any, setup: _Setup, queries: _Queries) -> _Part | None:
    """One _Part for the panel regions with the file's record count; None on any error."""
    try:
        part = _scan(_region_records(vcf, queries), setup)
        _check_records_well_formed(vcf, setup)
    except Exception:  # read the whole file instead: it gives the authoritative error
        return None
    part.records_read = queries.total
    if not part.annotated:
        # The regions alone cannot say whether the file is annotated: bcftools csq leaves
        # non-coding records bare by design, and a region may hold none. Decide from the
        # start of the file, as a whole read would (VEP and snpEff annotate every record).
        part.annotated = (
            queries.total if setup.layout.kind == "bcsq" else _annotated_at_start(setup)
        )
    return part


def _annotated_at_start(setup: _Setup, limit: int = 1000) -> int:
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
# Parallel reading of indexed files
# ---------------------------------------------------------------------------


@dataclass
class _Plan:
    """How workers share a file: each reads one run of consecutive contigs."""

    runs: list[list[str]]  # contiguous runs in file (index) order, one per worker
    counts: dict[str, int]  # records per contig, from the index


def _index_beside(path: str) -> str | None:
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


def _index_counts(path: str) -> list[tuple[str, int]] | None:
    """(contig, records) in index order from ``bcftools index --stats``; None when absent."""
    try:
        import pysam.bcftools

        text = pysam.bcftools.index("-s", path)
    except Exception:  # index without stats, pysam without bcftools, unreadable index
        return None
    counts = []
    for line in str(text).splitlines():
        fields = line.split("\t")
        if len(fields) != 3 or not fields[2].isdigit():
            return None
        counts.append((fields[0], int(fields[2])))
    return counts


def _runs(weights: Sequence[tuple[str, int]], workers: int) -> list[list[str]]:
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


def _contig_plan(vcf: Any, path: str, threads: int) -> _Plan | None:
    """How to split ``path`` between ``threads`` workers; None for one pass.

    Needs a bgzipped VCF or BCF with an index beside it that is not older than the file
    and that holds record counts per contig (every htslib-written .tbi/.csi does): the
    counts balance the work and prove afterwards that each worker read exactly its
    contigs' records.
    """
    if not _is_bgzf(path):
        return None  # plain or plain-gzipped: not indexable, read in one pass
    if _index_beside(path) is None:
        return None
    counts = _index_counts(path)
    if counts is None:
        return None
    weights = [(name, count) for name, count in counts if count > 0]
    if sum(count for _, count in weights) < PARALLEL_MIN_RECORDS or len(weights) < 2:
        return None
    if len({name for name, _ in weights}) != len(weights):
        return None
    runs = _runs(weights, threads)
    if len(runs) < 2:
        return None
    return _Plan(runs=runs, counts=dict(weights))


def _region(contig: str) -> str:
    # Braces make htslib take the whole string as a contig name, even "HLA-A*01:01".
    return "{" + contig + "}"


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


def _read_run(setup: _Setup, run: list[str], first: bool) -> _Part | str:
    """Worker: one _Part for a run of consecutive contigs, or the error text.

    The first run is read from the start of the file. Any other starts with an index
    query for its first contig, after which htslib's file position is that contig's
    last record, so reading simply goes on into the next contigs: only the first contig
    pays the (slower) query path. The parent checks the record count against the index.
    """
    from itertools import chain

    from cyvcf2 import VCF

    try:
        vcf = VCF(setup.path, lazy=True)
        try:
            records = vcf if first else chain(vcf(_region(run[0])), vcf)
            part = _scan(_run_records(records, run), setup)
            _check_records_well_formed(vcf, setup)
            return part
        finally:
            vcf.close()
    except Exception as error:  # reported to the parent, which reads in one pass
        return f"{type(error).__name__}: {error}"


def _read_parallel(setup: _Setup, plan: _Plan) -> list[_Part] | None:
    """Parts in file order, one worker process per run; None when anything failed."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    parts: list[_Part] = []
    try:
        with ProcessPoolExecutor(max_workers=len(plan.runs), mp_context=context) as pool:
            futures = [
                pool.submit(_read_run, setup, run, index == 0)
                for index, run in enumerate(plan.runs)
            ]
            for run, future in zip(plan.runs, futures, strict=True):
                part = future.result()
                if isinstance(part, str):
                    return None
                if part.records_read != sum(plan.counts[contig] for contig in run):
                    return None  # the index and the file disagree: trust one pass
                parts.append(part)
    except Exception:  # a worker died (BrokenProcessPool) or could not start
        return None
    return parts
