"""Rendering reports for people: report.html (jinja2), with its pictures from
mmresist.report.figures; the cohort page is mmresist.report.cohort's, and report.pdf, the
tumour-board summary, is laid out from report.json by mmresist.report.summary.

Everything rendered is self-contained: the CSS is inlined, pictures are inline SVG, nothing
refers to a remote or local resource, and a Content-Security-Policy forbids loading
anything but inline styles (the cohort page adds one inline script, allowed by its hash).
Text from inputs is autoescaped by jinja2 and never reaches an attribute that can load or
run anything. No timestamps are written, so the same report gives the same bytes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import jinja2.bccache
from markupsafe import Markup, escape

from mmresist import __version__
from mmresist.errors import MmresistError
from mmresist.report import figures
from mmresist.report.cards import alteration_cards
from mmresist.vocab import (
    COPY_NUMBER_CALLS,
    DISCLAIMER,
    DRUG_CLASS_LABELS,
    EVIDENCE_LEVEL_MEANING,
    EVIDENCE_LEVELS,
    FILTER_REASONS,
    IMPLICATIONS,
    REASONING_SECTIONS,
    VARIANT_STATUSES,
)

TEMPLATES = Path(str(resources.files("mmresist.report") / "templates"))

# default-src 'none' blocks scripts, fonts, frames, fetches and media; inline styles are the
# only thing a report needs (inline <svg> is part of the document, not a load, so img-src
# does not apply to it). base-uri and form-action are not covered by default-src.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)

NOTICE = "Decision support for review by a clinician; not a diagnosis or a treatment order."

# Order in which findings are shown: what changes the choice of drug comes first.
IMPLICATION_ORDER = ("resistance", "sensitivity", "eligibility", "prognostic")
STATUS_ORDER = ("acquired", "persistent", "single_timepoint", "lost")

LABELS = {
    **DRUG_CLASS_LABELS,
    # variant categories
    "cereblon_pathway": "cereblon pathway",
    "mapk_signalling": "MAPK signalling",
    "nfkb_signalling": "NF-\u03baB signalling",
    "tp53_dna_damage": "TP53 / DNA damage",
    # statuses and calls
    "single_timepoint": "single timepoint",
    "homozygous_deletion": "homozygous deletion",
    # filter reasons
    "not_pass": "VCF FILTER not PASS",
    "low_depth": "low depth",
    "low_alt_reads": "few ALT reads",
    "low_vaf": "low VAF",
    "no_protein_effect": "no effect on the protein (intronic, UTR, synonymous, flanking)",
    "likely_germline": "likely germline (common in the population)",
    # sections
    "therapy_options": "Therapy options",
    "trials": "Clinical trials",
    "supportive_care": "Supportive care",
    "mrd": "MRD",
    "risk": "Risk assessment",
    "therapy_lines": "therapy lines",
}


# ---------------------------------------------------------------- filters (text only)


def label(value: object) -> str:
    """A readable label for a vocabulary id; unknown ids are shown as they are."""
    if value is None:
        return "not given"
    text = str(value)
    return LABELS.get(text, text.replace("_", " "))


def percent(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage; ``None`` is unknown, never zero."""
    if value is None or isinstance(value, bool):
        return "unknown"
    try:
        return f"{float(value) * 100:.{digits}f}%"
    except (TypeError, ValueError):
        return str(value)


def number(value: object) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def text(value: object, empty: str = "\u2014") -> str:
    """Optional text: ``None`` and ``""`` show a dash rather than nothing."""
    if value is None or value == "":
        return empty
    return str(value)


def yes_no(value: object) -> str:
    if value is None:
        return "not assessed"
    return "yes" if value else "no"


def as_list(value: object) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def joined(values: object, *, labels: bool = False, empty: str = "\u2014") -> str:
    items = [label(item) if labels else str(item) for item in as_list(values)]
    return ", ".join(items) if items else empty


# Where a reader resolves each kind of identifier. These are links a reader may follow,
# never loads: the page fetches nothing (no src, no stylesheet, a CSP of default-src 'none').
SOURCE_LINKS = {
    "pmid": "https://pubmed.ncbi.nlm.nih.gov/{}/",
    "doi": "https://doi.org/{}",
    "nct": "https://clinicaltrials.gov/study/{}",
}
_SOURCE_ID = re.compile(
    r"PMID:\s*(?P<pmid>\d+)|\b(?P<nct>NCT\d{8})\b|DOI:\s*(?P<doi>10\.\d{4,9}/[^\s;]+)"
)


def _doi_text(doi: str) -> str:
    """A DOI without the ')' that closes a citation around it (DOIs may hold balanced ())."""
    while doi.endswith(")") and doi.count(")") > doi.count("("):
        doi = doi[:-1]
    return doi.rstrip(".,")


def source_links(source: object) -> Markup:
    """One source with each PMID, DOI and NCT id as a link to PubMed, doi.org or
    ClinicalTrials.gov; everything else escaped text."""
    text = str(source)
    parts: list[Markup] = []
    position = 0
    for match in _SOURCE_ID.finditer(text):
        kind = next(name for name in ("pmid", "nct", "doi") if match[name])
        value = _doi_text(match["doi"]) if kind == "doi" else match[kind]
        end = match.start(kind) + len(value)
        shown = text[match.start() : end]
        parts.append(escape(text[position : match.start()]))
        url = SOURCE_LINKS[kind].format(quote(value, safe="/()._-:;"))
        parts.append(Markup('<a href="{}" class="source-link">{}</a>').format(url, shown))
        position = end
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


def source_texts(sources: object) -> list[str]:
    """Sources as text (a structured source as 'key: value' pairs); the template links the
    identifiers in them with ``source_links``."""
    result = []
    for source in as_list(sources):
        if isinstance(source, Mapping):
            parts = [f"{key}: {value}" for key, value in source.items() if value not in (None, "")]
            result.append("; ".join(parts))
        else:
            result.append(str(source))
    return result


def level_meaning(level: object) -> str:
    return EVIDENCE_LEVEL_MEANING.get(str(level), "level not recognised")


def level_class(level: object) -> str:
    # Class names come from the vocabulary only, never from input text.
    return f"level-{str(level).lower()}" if level in EVIDENCE_LEVELS else "level-unknown"


def implication_class(implication: object) -> str:
    return f"imp-{implication}" if implication in IMPLICATIONS else "imp-unknown"


def status_class(status: object) -> str:
    return f"status-{status}" if status in VARIANT_STATUSES else "status-unknown"


def call_class(call: object) -> str:
    return f"cn-{call}" if call in COPY_NUMBER_CALLS else "cn-unknown"


def keep_together(value: object, limit: int = 24) -> str:
    """The class that stops a short value (a date, a position) from wrapping; long input
    text may wrap so that it cannot stretch the page."""
    return "nowrap" if len(str(value)) <= limit else ""


_BREAK_AFTER = re.compile(r"(?<=[:._/,>|])")


def breakable(value: object, run: int = 20) -> Markup:
    """Escaped text with <wbr> break opportunities after HGVS punctuation and inside long
    runs, so an ENSP-prefixed HGVSp or a long allele wraps instead of widening a table."""
    pieces: list[str] = []
    for part in _BREAK_AFTER.split("" if value is None else str(value)):
        pieces.extend(part[start : start + run] for start in range(0, len(part), run))
    # Each piece is escaped; only the <wbr> separators are markup.
    return Markup("<wbr>").join(escape(piece) for piece in pieces)


def href_segment(value: object) -> str:
    """One path segment of a relative link: every reserved character is percent-encoded."""
    return quote(str(value), safe="")


# ---------------------------------------------------------------- view model


def _order(value: object, order: Iterable[str]) -> int:
    order = tuple(order)
    return order.index(value) if value in order else len(order)


def _position(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _sort_text(value: object) -> str:
    return "" if value is None else str(value)


def _table_name(entry: object) -> str:
    # not_provided entries may carry a note: "therapy_lines (no rows for this patient)".
    words = str(entry).split()
    return words[0] if words else ""


def _vaf_cells(variant: Mapping, samples: list[Mapping]) -> list[dict]:
    """One cell per sample of the patient: VAF, 'not detected', or 'unknown'."""
    by_sample = {}
    for entry in as_list(variant.get("timepoints")):
        if isinstance(entry, Mapping):
            by_sample[entry.get("sample_id")] = entry
    if not by_sample:
        by_sample[variant.get("sample_id")] = {
            "vaf": variant.get("vaf"),
            "depth": variant.get("depth"),
            "present": True,
        }
    cells = []
    for sample in samples:
        entry = by_sample.get(sample.get("sample_id"))
        if entry is None:
            cells.append({"text": "\u2014", "note": "no call recorded", "kind": "none"})
        elif entry.get("present") is False:
            cells.append({"text": "not detected", "note": _depth_note(entry), "kind": "absent"})
        elif entry.get("vaf") is None:
            cells.append({"text": "unknown", "note": _depth_note(entry), "kind": "unknown"})
        else:
            cells.append({"text": percent(entry["vaf"]), "note": _depth_note(entry), "kind": "vaf"})
    return cells


# Most filtered variants listed in the report; the rest are counted and in variants.tsv.
MAX_FILTERED_ROWS = 200


def _depth_note(entry: Mapping) -> str:
    depth = entry.get("depth")
    return "" if depth is None else f"depth {number(depth)}"


def _filter_reason_text(reason: object, filters: Mapping, variant: Mapping | None = None) -> str:
    thresholds = {
        "low_depth": ("min_depth", "depth below {}"),
        "low_alt_reads": ("min_alt_reads", "ALT reads below {}"),
        "low_vaf": ("min_vaf", "VAF below {}"),
    }
    if reason == "not_pass":
        return "VCF FILTER not PASS"
    if reason == "likely_germline" and variant and variant.get("germline_basis"):
        return f"likely germline: {variant['germline_basis']}"
    if reason in thresholds:
        key, template = thresholds[reason]
        if filters.get(key) is not None:
            value = filters[key]
            shown = percent(value) if key == "min_vaf" else number(value)
            return template.format(shown)
    return label(reason)


def _section_state(report: Mapping, name: str, not_provided: set[str]) -> str:
    """'not_assessed', 'not_provided', 'none_found' (an empty list) or 'present'."""
    value = report.get(name)
    if value is None:
        not_assessed = report.get("not_assessed")
        not_assessed = REASONING_SECTIONS if not_assessed is None else as_list(not_assessed)
        if name not in not_assessed and name in not_provided:
            return "not_provided"
        return "not_assessed"
    if isinstance(value, (list, tuple)) and not value:
        return "none_found"
    return "present"


def report_view(report: Mapping) -> dict:
    """What the template shows beyond lookups (orders, groups, counts); the template never
    sorts or counts by itself."""
    samples = [sample for sample in as_list(report["samples"]) if isinstance(sample, Mapping)]
    sample_rank = {sample.get("sample_id"): index for index, sample in enumerate(samples)}
    provenance = report["provenance"] or {}
    filters = provenance.get("filters") or {}
    not_provided_entries = [str(entry) for entry in as_list(report.get("not_provided"))]
    not_provided = {_table_name(entry) for entry in not_provided_entries}

    findings = sorted(
        as_list(report["findings"]),
        key=lambda finding: (
            _order(finding.get("implication"), IMPLICATION_ORDER),
            _order(finding.get("evidence_level"), EVIDENCE_LEVELS),
            _sort_text(finding.get("gene")),
            _sort_text(finding.get("biomarker_id")),
        ),
    )
    implication_counts = Counter(finding.get("implication") for finding in findings)

    variants = as_list(report["variants"])
    kept = [variant for variant in variants if not as_list(variant.get("filter_reasons"))]
    filtered = [variant for variant in variants if as_list(variant.get("filter_reasons"))]
    kept.sort(
        key=lambda variant: (
            _order(variant.get("status"), STATUS_ORDER),
            _sort_text(variant.get("gene")),
            _sort_text(variant.get("chrom")),
            _position(variant.get("pos")),
        )
    )
    filtered.sort(
        key=lambda variant: (
            sample_rank.get(variant.get("sample_id"), len(samples)),
            _sort_text(variant.get("gene")),
            _sort_text(variant.get("chrom")),
            _position(variant.get("pos")),
        )
    )
    kept_rows = [{"variant": variant, "cells": _vaf_cells(variant, samples)} for variant in kept]
    # Variants that cannot change the protein (intronic, UTR, synonymous) and rows past
    # the cap are counted, not listed: a WGS sample has thousands of them, and every one
    # is in variants.tsv with its reasons.
    listable = [
        variant
        for variant in filtered
        if "no_protein_effect" not in as_list(variant.get("filter_reasons"))
    ]
    filtered_rows = [
        {
            "variant": variant,
            "reasons": [
                _filter_reason_text(reason, filters, variant)
                for reason in as_list(variant.get("filter_reasons"))
            ],
        }
        for variant in listable[:MAX_FILTERED_ROWS]
    ]
    filtered_unlisted = {
        "no_protein_effect": len(filtered) - len(listable),
        "over_cap": max(0, len(listable) - MAX_FILTERED_ROWS),
    }

    copy_number_groups = []
    copy_number = [call for call in as_list(report["copy_number"]) if isinstance(call, Mapping)]
    group_ids = [sample.get("sample_id") for sample in samples]
    group_ids += sorted(
        {_sort_text(call.get("sample_id")) for call in copy_number} - set(map(str, group_ids))
    )
    for sample_id in group_ids:
        calls = [call for call in copy_number if call.get("sample_id") == sample_id]
        if not calls:
            continue
        altered = sorted(
            (call for call in calls if call.get("call") != "neutral"),
            key=lambda call: (
                _order(call.get("call"), COPY_NUMBER_CALLS),
                _sort_text(call.get("gene")),
            ),
        )
        neutral = sorted(
            _sort_text(call.get("gene")) for call in calls if call.get("call") == "neutral"
        )
        sample = samples[sample_rank[sample_id]] if sample_id in sample_rank else {}
        copy_number_groups.append(
            {
                "sample_id": sample_id,
                "timepoint": sample.get("timepoint"),
                "altered": altered,
                "neutral": neutral,
            }
        )

    sections = {name: _section_state(report, name, not_provided) for name in REASONING_SECTIONS}
    history = report["therapy_history"]
    qc = report["qc"] or {}
    filtered_counts = qc.get("filtered") or {}
    reasons = [reason for reason in FILTER_REASONS if reason in filtered_counts]
    reasons += sorted(str(reason) for reason in filtered_counts if reason not in FILTER_REASONS)
    implication_rows = [
        (implication, implication_counts.get(implication, 0)) for implication in IMPLICATION_ORDER
    ]
    other_findings = len(findings) - sum(count for _, count in implication_rows)
    if other_findings:
        implication_rows.append(("other", other_findings))
    pictures = [
        figures.therapy_timeline(report),
        figures.vaf_figure(kept, samples),
        figures.copy_number_strip(copy_number, samples),
        figures.lab_trends(as_list(report.get("labs"))),
    ]
    return {
        "samples": samples,
        "latest_sample": samples[-1] if samples else None,
        "findings": findings,
        "cards": alteration_cards(findings, report),
        "figures": {figure.figure_id: figure for figure in pictures if figure is not None},
        "implication_counts": implication_rows,
        "kept_rows": kept_rows,
        "filtered_rows": filtered_rows,
        "filtered_total": len(filtered),
        "filtered_unlisted": filtered_unlisted,
        "status_counts": Counter(row["variant"].get("status") for row in kept_rows),
        "copy_number_groups": copy_number_groups,
        # A sample's "cnv" names its copy-number file; none given means "not provided".
        "copy_number_given": any(sample.get("cnv") for sample in samples),
        "cytogenetics_provided": "cytogenetics" not in not_provided,
        "therapy_provided": history is not None,
        "therapy_lines_note": next(
            (entry for entry in not_provided_entries if _table_name(entry) == "therapy_lines"),
            None,
        ),
        "labs_state": (
            None
            if "labs" not in report
            else "not_provided"
            if report["labs"] is None
            else "none_found"
            if not report["labs"]
            else "present"
        ),
        "not_provided_entries": not_provided_entries,
        "sections": sections,
        "filter_reasons": [
            {
                "reason": reason,
                "text": _filter_reason_text(reason, filters),
                "count": filtered_counts[reason],
            }
            for reason in reasons
        ],
        "filters": filters,
        "software": sorted((str(k), v) for k, v in (provenance.get("software") or {}).items()),
    }


# ---------------------------------------------------------------- HTML


class TemplateBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept on disk, so a new process skips compiling report.html.j2
    (about 0.2 s); the directory is created if missing.

    A changed template, Python or jinja2 changes the checksum, header or file name, so a
    stale entry is never used; unreadable bytecode is ignored and compiled again. Writes
    go through a temporary file and ``os.replace``, so a concurrent reader sees no file
    or a whole one.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        version = re.sub(r"[^0-9A-Za-z.]", "_", jinja2.__version__)
        super().__init__(str(directory), pattern=f"mmresist-jinja2-{version}-%s.cache")

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        # Our own atomic write rather than relying on the jinja2 version at hand.
        name = Path(self._get_cache_filename(bucket))
        handle, temporary = tempfile.mkstemp(dir=name.parent, prefix=name.name, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                bucket.write_bytecode(stream)
            os.replace(temporary, name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise


def _cache_key(template_cache: str | os.PathLike | None) -> str | None:
    return None if template_cache is None else os.path.abspath(os.fspath(template_cache))


def _environment(template_cache: str | os.PathLike | None = None) -> jinja2.Environment:
    """The jinja2 environment, one per process and cache directory."""
    return _cached_environment(_cache_key(template_cache))


@functools.lru_cache(maxsize=4)
def _cached_environment(template_cache: str | None) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=None if template_cache is None else TemplateBytecodeCache(template_cache),
    )
    environment.filters.update(
        label=label,
        percent=percent,
        number=number,
        text=text,
        yes_no=yes_no,
        as_list=as_list,
        joined=joined,
        source_texts=source_texts,
        source_links=source_links,
        level_meaning=level_meaning,
        level_class=level_class,
        implication_class=implication_class,
        status_class=status_class,
        call_class=call_class,
        href_segment=href_segment,
        keep_together=keep_together,
        breakable=breakable,
    )
    environment.globals.update(
        EVIDENCE_LEVEL_MEANING=EVIDENCE_LEVEL_MEANING,
        EVIDENCE_LEVELS=EVIDENCE_LEVELS,
        CONTENT_SECURITY_POLICY=CONTENT_SECURITY_POLICY,
        NOTICE=NOTICE,
        DISCLAIMER=DISCLAIMER,
        mmresist_version=__version__,
    )
    return environment


@functools.lru_cache(maxsize=1)
def _stylesheet() -> str:
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    # Comments are for developers; readers of the page get the rules only.
    css = re.sub(r"/\*.*?\*/\n*", "", css, flags=re.S).strip()
    if "</" in css:
        # A closing tag inside <style> would end the element early.
        raise MmresistError(f"{TEMPLATES / 'report.css'}: must not contain '</'")
    return css


def _render(
    template: str, *, template_cache: str | os.PathLike | None = None, **context: object
) -> str:
    # The stylesheet is ours, not input text; Markup keeps its quotes intact.
    return (
        _environment(template_cache)
        .get_template(template)
        .render(stylesheet=Markup(_stylesheet()), **context)
    )


def render_html(report: dict, *, template_cache: str | os.PathLike | None = None) -> str:
    """The self-contained report.html of one patient's report.json document.

    A key missing from ``report`` raises (StrictUndefined) instead of rendering blank.
    ``template_cache`` names a directory (created if missing) where the compiled template
    is kept for the next process; the output is the same with or without it.
    """
    return _render(
        "report.html.j2", template_cache=template_cache, report=report, view=report_view(report)
    )
