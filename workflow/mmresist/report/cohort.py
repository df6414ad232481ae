"""The cohort page and cohort.tsv: one row per patient (a report or a failure record), an
oncoprint of recurrent alterations, and the failure records patient jobs leave behind.

A patient whose input was refused has no report.json; its job writes failure.json (the
error naming file, line and field) instead, and the cohort lists that patient as failed
with the reason, beside the others. The page opens from disk and fetches nothing; its one
inline script (sorting and filtering the table) is allowed by its sha256 in the page's
Content-Security-Policy, and nothing else may run.
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup

from mmresist.errors import InputError, MmresistError
from mmresist.io.files import atomic_write_text, make_dirs
from mmresist.report import figures, svg
from mmresist.report.render import TEMPLATES, _render, as_list, yes_no

FAILURE_NAME = "failure.json"
REPORT_NAME = "report.json"

COHORT_COLUMNS = (
    "patient_id",
    "status",
    "failure_reason",
    "samples",
    "variants_kept",
    "variants_filtered",
    "findings_resistance",
    "findings_sensitivity",
    "findings_eligibility",
    "findings_prognostic",
    "top_option",
    "triple_class_refractory",
    "penta_refractory",
    "high_risk",
    "mrd_latest",
    "tumour_only",
    "report_html",
    "report_pdf",
    "knowledge_version",
)

# Oncoprint rows: altered in at least this many patients ("recurrent"), at most MAX_ROWS.
RECURRENT = 2
MAX_ROWS = 40
IMPLICATION_MARK = ("resistance", "sensitivity", "eligibility", "prognostic")
CN_KINDS = {"homozygous_deletion": "0", "loss": "\u2212", "gain": "+", "amplification": "A"}


# ---------------------------------------------------------------- failure records


def failure_record(*, patient_id: str, error: MmresistError) -> dict[str, Any]:
    """What failure.json holds: the message and, for an input error, its file, line and
    field, so that the cohort page can say what to fix."""
    record: dict[str, Any] = {
        "patient_id": patient_id,
        "status": "failed",
        "error": str(error),
        "file": None,
        "line": None,
        "field": None,
    }
    if isinstance(error, InputError):
        record.update(file=error.file, line=error.line, field=error.field)
    return record


def write_failure(outdir: str | os.PathLike, record: Mapping[str, Any]) -> Path:
    path = Path(outdir) / FAILURE_NAME
    make_dirs(outdir)
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def clear_failure(outdir: str | os.PathLike) -> None:
    """A new attempt starts without the last attempt's failure record."""
    Path(outdir, FAILURE_NAME).unlink(missing_ok=True)


def load_entries(paths: Iterable[str | os.PathLike]) -> list[dict[str, Any]]:
    """Each path is a report.json, a failure.json or a patient folder (its report.json,
    else its failure.json, else a failure saying neither was written)."""
    entries = []
    for given in paths:
        path = Path(given)
        if path.name not in (REPORT_NAME, FAILURE_NAME):
            # A patient folder, which a job that failed early may never have made.
            folder = path
            path = folder / REPORT_NAME
            if not path.is_file():
                path = folder / FAILURE_NAME
            if not path.is_file():
                entries.append(
                    {
                        "patient_id": folder.name,
                        "status": "failed",
                        "error": (
                            f"no {REPORT_NAME} and no {FAILURE_NAME} in {folder}: the job"
                            " failed before it could say why, or did not run; see its logs"
                        ),
                    }
                )
                continue
        with open(path, encoding="utf-8") as stream:
            entries.append(json.load(stream))
    return entries


# ---------------------------------------------------------------- rows


def _top_option(report: Mapping[str, Any]) -> str:
    options = report.get("therapy_options")
    if options is None:
        return "not assessed"
    first = [str(o.get("regimen")) for o in as_list(options) if o.get("rank") == 1]
    return " / ".join(first) if first else "none ranked"


def _mrd(report: Mapping[str, Any]) -> str:
    mrd = report.get("mrd")
    if mrd is None:
        return "not provided"
    if not mrd.get("latest_result"):
        return "no measurement"
    return f"{mrd.get('latest_result')} ({mrd.get('latest_date') or 'date not given'})"


def _risk(report: Mapping[str, Any]) -> str:
    risk = report.get("risk")
    if risk is None:
        return "not assessed"
    high = risk.get("high_risk")
    return "unknown" if high is None else ("high" if high else "not high")


def cohort_row(entry: Mapping[str, Any], *, pdf: bool = True) -> dict[str, Any]:
    """The cohort table's row for one report.json or failure record; ``pdf`` says whether
    the run writes report.pdf."""
    patient_id = str(entry.get("patient_id"))
    if entry.get("status") == "failed" and "findings" not in entry:
        row: dict[str, Any] = {column: "" for column in COHORT_COLUMNS}
        row.update(patient_id=patient_id, status="failed", failure_reason=str(entry["error"]))
        return row
    report = entry
    findings = Counter(finding.get("implication") for finding in as_list(report["findings"]))
    variants = as_list(report["variants"])
    filtered = sum(1 for variant in variants if as_list(variant.get("filter_reasons")))
    history = report["therapy_history"]
    if history is None:
        triple = penta = "not provided"
    else:
        triple = yes_no(history.get("triple_class_refractory"))
        penta = yes_no(history.get("penta_refractory"))
    samples = as_list(report["samples"])
    return {
        "patient_id": patient_id,
        "status": "reported",
        "failure_reason": "",
        "samples": len(samples),
        "variants_kept": len(variants) - filtered,
        "variants_filtered": filtered,
        "findings_resistance": findings.get("resistance", 0),
        "findings_sensitivity": findings.get("sensitivity", 0),
        "findings_eligibility": findings.get("eligibility", 0),
        "findings_prognostic": findings.get("prognostic", 0),
        "top_option": _top_option(report),
        "triple_class_refractory": triple,
        "penta_refractory": penta,
        "high_risk": _risk(report),
        "mrd_latest": _mrd(report),
        "tumour_only": "yes" if any(s.get("tumour_only") for s in samples) else "no",
        "report_html": f"../{patient_id}/report.html",
        "report_pdf": f"../{patient_id}/report.pdf" if pdf else "",
        "knowledge_version": str((report["provenance"] or {}).get("knowledge_version", "")),
    }


def _tsv_cell(value: object) -> str:
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


def cohort_tsv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COHORT_COLUMNS)
    for row in rows:
        writer.writerow([_tsv_cell(row[column]) for column in COHORT_COLUMNS])
    return buffer.getvalue()


# ---------------------------------------------------------------- oncoprint


def patient_alterations(report: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) -> what the patient has there: kinds 'gene' (kept variants and
    non-neutral copy number of the latest sample that has copy number) and 'cytogenetics'
    (abnormalities reported); with the gene's category and the strongest implication of a
    finding on it."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}

    def cell(kind: str, name: str, category: object) -> dict[str, Any]:
        return cells.setdefault(
            (kind, name), {"marks": [], "category": category, "implication": None}
        )

    for variant in as_list(report.get("variants")):
        if as_list(variant.get("filter_reasons")) or not variant.get("gene"):
            continue
        if variant.get("status") == "lost":
            continue
        entry = cell("gene", str(variant["gene"]), variant.get("category"))
        if "M" not in entry["marks"]:
            entry["marks"].append("M")
    order = [s.get("sample_id") for s in as_list(report.get("samples"))]
    calls = [c for c in as_list(report.get("copy_number")) if c.get("call") in CN_KINDS]
    latest = max(
        (order.index(c.get("sample_id")) for c in calls if c.get("sample_id") in order),
        default=None,
    )
    for call in calls:
        if latest is not None and call.get("sample_id") != order[latest]:
            continue
        entry = cell("gene", str(call.get("gene")), call.get("category"))
        mark = CN_KINDS[call["call"]]
        if mark not in entry["marks"]:
            entry["marks"].append(mark)
    for row in as_list(report.get("cytogenetics")):
        if row.get("abnormality"):
            cell("cytogenetics", str(row["abnormality"]), None)["marks"] = ["C"]
    for finding in as_list(report.get("findings")):
        for key in (("gene", str(finding.get("gene"))), ("cytogenetics", str(finding.get("gene")))):
            if key in cells:
                current = cells[key]["implication"]
                new = finding.get("implication")
                if new in IMPLICATION_MARK and (
                    current is None or IMPLICATION_MARK.index(new) < IMPLICATION_MARK.index(current)
                ):
                    cells[key]["implication"] = new
    return cells


def oncoprint(reports: Sequence[Mapping[str, Any]]) -> tuple[svg.Figure | None, str]:
    """Patients (columns) x recurrent alterations (rows). Returns the figure (None when no
    patient has an alteration) and a note on which rows are shown."""
    per_patient = {str(report["patient_id"]): patient_alterations(report) for report in reports}
    counts = Counter(key for cells in per_patient.values() for key in cells)
    if not counts:
        return None, "No patient has a kept variant, copy-number change or cytogenetic finding."
    recurrent = [key for key, count in counts.items() if count >= RECURRENT]
    note = f"Alterations found in at least {RECURRENT} patients"
    if not recurrent:
        recurrent = list(counts)
        note = f"No alteration recurs in {RECURRENT} or more patients; all are shown"
    recurrent.sort(key=lambda key: (-counts[key], key[0] != "gene", key[1]))
    if len(recurrent) > MAX_ROWS:
        note += f"; the {MAX_ROWS} most frequent of {len(recurrent)}"
        recurrent = recurrent[:MAX_ROWS]
    patients = sorted(per_patient, key=lambda p: (-len(per_patient[p]), p))
    return _oncoprint_svg(per_patient, patients, recurrent, counts), note + "."


def _oncoprint_svg(
    per_patient: Mapping[str, Mapping[tuple[str, str], dict[str, Any]]],
    patients: list[str],
    rows: list[tuple[str, str]],
    counts: Mapping[tuple[str, str], int],
) -> svg.Figure:
    left, top, cell, row_h = 170.0, 90.0, max(12.0, min(30.0, 820.0 / len(patients))), 22.0
    width = left + cell * len(patients) + 60
    height = top + row_h * len(rows) + 10
    title = "Recurrent alterations across the cohort"
    desc = (
        f"{len(rows)} alterations (rows) in {len(patients)} patients (columns). Fill: gene"
        " category (cytogenetics grey); letters: M mutation, + gain, A amplification,"
        " \u2212 loss, 0 homozygous deletion, C cytogenetic abnormality; a red corner marks a"
        " resistance finding, a black dot another finding."
    )
    writer = svg.SvgWriter(width, height, "fig-oncoprint", title, desc, natural_size=True)
    table = svg.Table(
        caption="Alterations per patient as drawn",
        headers=["Alteration", "Patients", *patients],
    )
    for column, patient in enumerate(patients):
        x = left + column * cell + cell / 2
        writer.column_label(patient, x=x, y=top - 6)
    for index, key in enumerate(rows):
        kind, name = key
        y = top + index * row_h
        label = name if kind == "gene" else f"{name} (cytogenetics)"
        writer.row_label(f"{label}  {counts[key]}", x=left - 6, y=y + 15)
        table_row = [label, str(counts[key])]
        for column, patient in enumerate(patients):
            x = left + column * cell
            entry = per_patient[patient].get(key)
            if entry is None:
                writer.add(
                    "rect", x=x + 1, y=y + 1, width=cell - 2, height=row_h - 2, fill="#f2f4f7"
                )
                table_row.append("")
                continue
            colour = figures.category_style(entry["category"])[0] if kind == "gene" else "#999999"
            marks = "/".join(entry["marks"])
            implication = entry["implication"]
            tip = f"{patient}: {label} {marks}" + (
                f"; {implication} finding" if implication else ""
            )
            writer.titled(
                "rect",
                tip,
                x=x + 1,
                y=y + 1,
                width=cell - 2,
                height=row_h - 2,
                fill=colour,
                fill_opacity=0.55,
            )
            writer.add(
                "text",
                marks,
                x=x + cell / 2,
                y=y + 15,
                font_size=10 if cell > 18 else 8,
                text_anchor="middle",
                fill="#000000",
            )
            if implication == "resistance":
                corner = [(x + cell - 9, y + 1), (x + cell - 1, y + 1), (x + cell - 1, y + 9)]
                writer.add("polygon", points=svg.points(corner), fill=svg.OKABE_ITO["vermillion"])
            elif implication:
                writer.add("circle", cx=x + cell - 5, cy=y + 5, r=2.5, fill="#000000")
            table_row.append(marks + (f" ({implication})" if implication else ""))
        table.rows.append(table_row)
    categories = sorted(
        {
            str(e["category"])
            for cells in per_patient.values()
            for k, e in cells.items()
            if k in rows and k[0] == "gene"
        }
    )
    legend = [("cell", figures.category_style(c)[0], svg.label(c)) for c in categories]
    legend += [
        ("cell", "#999999", "cytogenetics"),
        ("triangle", svg.OKABE_ITO["vermillion"], "resistance finding"),
        ("circle", "#000000", "sensitivity, eligibility or prognostic finding"),
    ]
    return svg.Figure("fig-oncoprint", title, desc, writer.markup(), table, legend)


# ---------------------------------------------------------------- page


@functools.lru_cache(maxsize=1)
def cohort_script() -> tuple[Markup, str]:
    """The page's one script and its CSP source expression ('sha256-...'), which allows
    exactly this text and nothing else."""
    text = (TEMPLATES / "cohort.js").read_text(encoding="utf-8")
    if "</" in text:
        raise MmresistError(f"{TEMPLATES / 'cohort.js'}: must not contain '</'")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return Markup(text), f"'sha256-{digest}'"


def cohort_policy() -> str:
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src {cohort_script()[1]}; base-uri 'none'; form-action 'none'"
    )


def render_cohort(
    *,
    reports: list[dict],
    out_dir: str | os.PathLike,
    template_cache: str | os.PathLike | None = None,
    pdf: bool = True,
) -> tuple[Path, Path]:
    """Write ``index.html`` (linking ``../<patient_id>/report.html`` and ``report.pdf``)
    and ``cohort.tsv`` into ``out_dir``, one row per patient ordered by patient_id.
    ``reports`` holds report.json documents and failure records."""
    rows = sorted(
        (cohort_row(report, pdf=pdf) for report in reports), key=lambda row: row["patient_id"]
    )
    seen = Counter(row["patient_id"] for row in rows)
    duplicated = sorted(patient for patient, count in seen.items() if count > 1)
    if duplicated:
        raise MmresistError(
            f"cohort: patient {', '.join(duplicated)} appears in more than one report.json"
        )
    for row in rows:
        # '.' and '..' would link outside the report folder; they are never valid ids.
        row["linkable"] = row["patient_id"] not in ("", ".", "..")
    complete = [report for report in reports if "findings" in report]
    genome_builds = sorted(
        {str((report["provenance"] or {}).get("genome_build", "")) for report in complete}
    )
    knowledge_versions = sorted(
        {row["knowledge_version"] for row in rows if row["knowledge_version"]}
    )
    figure, note = oncoprint(complete)
    script, _ = cohort_script()
    html = _render(
        "cohort.html.j2",
        template_cache=template_cache,
        rows=rows,
        failed=[row for row in rows if row["status"] == "failed"],
        genome_builds=genome_builds,
        knowledge_versions=knowledge_versions,
        oncoprint=figure,
        oncoprint_note=note,
        script=script,
        policy=cohort_policy(),
    )
    out = Path(out_dir)
    make_dirs(out)
    index_path, tsv_path = out / "index.html", out / "cohort.tsv"
    atomic_write_text(tsv_path, cohort_tsv(rows))
    atomic_write_text(index_path, html)
    return index_path, tsv_path
