"""The record loop of ingest: panel prefilter, allele matching, one call per ALT and gene."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mmresist.errors import InputError
from mmresist.ingest.annotation import AnnotationLayout, choose_transcript, parse_entries
from mmresist.ingest.depths import Depths, allele_depths
from mmresist.ingest.header import declared_tags, is_htslib_failure
from mmresist.ingest.hgvs import protein_change
from mmresist.ingest.population import AfPairs, highest, info_afs
from mmresist.model import VariantCall

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


@dataclass
class _Record:
    """What a panel record contributes, kept until BCSQ compound references resolve."""

    ordinal: int
    chrom: str
    pos: int
    ref: str
    alts: list[str]
    filter: str
    depths: list[Depths]
    # Per ALT, population frequencies read from INFO fields (ingest.population).
    population_af: list[AfPairs] = field(default_factory=list)


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
            by_gene: dict[str, list[dict[str, Any]]] = {}
            for entry in by_alt[alt_index]:
                by_gene.setdefault(entry["gene"], []).append(entry)
            # A population frequency belongs to the allele, whatever gene or transcript
            # an entry describes.
            af_pairs = list(record.population_af[alt_index]) if record.population_af else []
            for entry in by_alt[alt_index]:
                af_pairs.extend(entry.get("population_af") or [])
            population_af, population_af_source = highest(af_pairs)
            for gene, gene_entries in by_gene.items():
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
                    population_af=population_af,
                    population_af_source=population_af_source,
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
                    entries.append(
                        dict(entry, allele="", allele_num=None, dna_change="", population_af=[])
                    )
            if entries:
                self.records_in_panel += 1
                self.add_record(record, entries)


def _record_of(
    variant: Any,
    ordinal: int,
    sample_index: int,
    header_formats: Mapping[str, str],
    af_fields: Sequence[tuple[str, str]] = (),
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
        population_af=info_afs(variant.INFO, af_fields, len(alts)) if af_fields else [],
    )


@dataclass
class Setup:
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
    # INFO fields holding population frequencies, as (ID, Number); ingest.population.
    af_info_fields: tuple[tuple[str, str], ...] = ()
    # One sample column and no ##normal_sample line; None when not worked out.
    tumour_only: bool | None = None
    # Notes about the header that go to the sample's warnings.
    notes: tuple[str, ...] = ()


@dataclass
class Part:
    """What one pass over some records (a whole file, or a run of whole contigs) found."""

    records_read: int = 0
    annotated: int = 0
    records_in_panel: int = 0
    calls: list[VariantCall] = field(default_factory=list)
    record_warnings: list[str] = field(default_factory=list)
    compound_warnings: list[str] = field(default_factory=list)


_TAG_NAME = re.compile(r"[A-Za-z_][0-9A-Za-z_.]*|1000G[0-9A-Za-z_.]*")


def check_records_well_formed(vcf: Any, setup: Setup) -> None:
    """Refuse a file whose records named INFO/FORMAT keys that cannot be keys.

    htslib adds a key it meets in a record but not in the header, and only warns. A
    number or other non-identifier there means the columns were shifted: typically a
    line cut short and joined with the next one, which silently loses a record.
    """
    for kind, tag in sorted(declared_tags(vcf) - setup.declared):
        if not _TAG_NAME.fullmatch(tag):
            raise InputError(
                f"a record's {kind} column holds {tag!r}, which is not a {kind} key: its "
                "columns are shifted, typically a line cut short and joined with the next "
                "one (a truncated copy?); the file cannot be read reliably",
                file=setup.path,
            )


def scan_records(records: Iterable[Any], setup: Setup) -> Part:
    """One pass over ``records`` (cyvcf2 Variants); the hot loop of ingest."""
    layout = setup.layout
    reader = _SampleReader(layout=layout, panel=setup.panel, sample_id=setup.sample_id)
    prefilter = panel_prefilter(layout, setup.panel)
    first_entry = prefilter.first_entry
    later_entries = prefilter.later_entries
    sample_index = setup.sample_index
    formats = setup.formats
    af_fields = setup.af_info_fields
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
        except Exception as error:
            if not is_htslib_failure(error):
                raise
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
        record = _record_of(variant, records_read, sample_index, formats, af_fields)
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
    return Part(
        records_read=records_read,
        annotated=annotated,
        records_in_panel=reader.records_in_panel,
        calls=[call for _, _, call in reader.calls],
        record_warnings=reader.warnings[:record_warnings],
        compound_warnings=reader.warnings[record_warnings:],
    )
