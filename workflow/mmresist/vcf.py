"""Read one tumour sample's panel-gene variants from a VCF or BCF with cyvcf2."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .annotation import (
    AnnotationLayout,
    choose_transcript,
    detect_layout,
    parse_entries,
    protein_change,
)
from .errors import InputError
from .model import SampleIngest, VariantCall

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

    Understands FORMAT AF/FA + AD + DP (Mutect2, MuTect1, VarDict, generic), FreeBayes
    AO/RO, Strelka2 tier-1 {A,C,G,T}U (SNVs) and TAR/TIR (indels), and VarScan2
    FREQ/AD/RD. A caller's own allele fraction wins over one computed from counts.
    """
    ref = variant.REF.upper()
    alts = variant.ALT
    n_alts = len(alts)
    alt = alts[alt_index].upper()

    def ints(key: str) -> list[Any] | None:
        return _sample_values(variant, key, sample_index, header_formats)

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
    allelic = ints("AD")
    if allelic:
        number = header_formats.get("AD")
        if number == "R" or len(allelic) == n_alts + 1:
            alt_reads = allelic[alt_index + 1] if alt_index + 1 < len(allelic) else None
            if all(count is not None for count in allelic):
                counted_total = sum(allelic)
        elif len(allelic) == n_alts:
            # VarScan2 writes AD as the ALT count only (Number=1) with RD for REF.
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

    depth = _first(ints("DP"))
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


def _open(path: str, threads: int) -> Any:
    from cyvcf2 import VCF

    if not os.path.exists(path):
        raise InputError("VCF file not found", file=path)
    if os.path.isdir(path):
        raise InputError("expected a VCF or BCF file, found a directory", file=path)
    if os.path.getsize(path) == 0:
        raise InputError("the file is empty (0 bytes), not a VCF", file=path)
    with open(path, "rb") as stream:
        head = stream.read(16)
        is_bgzf = head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"
        if is_bgzf:
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
        if threads > 1:
            return VCF(path, lazy=True, threads=threads)
        return VCF(path, lazy=True)
    except Exception as error:  # cyvcf2 raises bare Exception/OSError for bad headers
        reason = str(error).replace(path, "").strip(" :") or type(error).__name__
        raise InputError(
            f"not a readable VCF or BCF (htslib: {reason}); expected a VCF 4.x file, plain, "
            "gzip/bgzip-compressed or BCF, that starts with ##fileformat and has a "
            "tab-separated #CHROM line",
            file=path,
        ) from error


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


def read_sample(
    *,
    vcf_path: str | os.PathLike[str],
    sample_id: str,
    tumor_sample: str | None,
    panel_genes: Collection[str],
    threads: int | None = None,
) -> SampleIngest:
    """Every panel-gene call of one tumour sample, with record counts for QC.

    Iterates the file once with cyvcf2 (VCF, bgzipped VCF or BCF). A record's raw
    annotation string is checked for a panel gene before it is split, so records
    outside the panel cost one pattern scan. Multiallelic records give one call per
    ALT and panel gene. ``threads`` (default: 2 when the machine has them) lets htslib
    decompress in a second thread.
    """
    path = os.fspath(vcf_path)
    if threads is None:
        threads = min(2, os.cpu_count() or 1)
    vcf = _open(path, threads)
    try:
        return _read(vcf, path, sample_id, tumor_sample, frozenset(panel_genes))
    finally:
        vcf.close()


def _read(
    vcf: Any, path: str, sample_id: str, tumor_sample: str | None, panel: frozenset[str]
) -> SampleIngest:
    raw_header = vcf.raw_header
    samples = list(vcf.samples)
    tumour = choose_tumor_sample(
        samples=samples,
        header_tumor=header_value(raw_header, "tumor_sample"),
        requested=tumor_sample,
        path=path,
    )
    sample_index = samples.index(tumour)
    layout = detect_layout(vcf, path)
    formats = header_formats(vcf)
    reader = _SampleReader(layout=layout, panel=panel, sample_id=sample_id)
    if not layout.gene_is_symbol:
        reader.warnings.append(
            f"{layout.label} has no gene symbol field (field {layout.gene_field!r} holds "
            "Ensembl ids), so no record can match the panel; re-run VEP with --symbol"
        )

    prefilter = panel_prefilter(layout, panel)
    first_entry = prefilter.first_entry
    later_entries = prefilter.later_entries
    tag = layout.tag
    compound = layout.kind == "bcsq"
    records_read = 0
    annotated = 0

    iterator = iter(vcf)
    while True:
        try:
            variant = next(iterator)
        except StopIteration:
            break
        except Exception as error:  # htslib parse errors surface as bare Exception
            raise InputError(
                f"cannot parse record {records_read + 1} (after {records_read} readable "
                f"records): {error}; the file is malformed or truncated",
                file=path,
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

    reader.resolve_compounds()
    if records_read and not annotated:
        reader.warnings.append(
            f"no record carries INFO/{tag} although the header declares it; "
            "the annotation step may have failed"
        )
    reader.calls.sort(key=lambda item: (item[0], item[1]))
    return SampleIngest(
        sample_id=sample_id,
        vcf=path,
        tumor_sample=tumour,
        records_read=records_read,
        records_in_panel=reader.records_in_panel,
        calls=[call for _, _, call in reader.calls],
        annotation=layout.label,
        genome_build=genome_build_from_header(raw_header),
        warnings=reader.warnings,
    )
