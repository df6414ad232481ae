"""Pictures for report.html as inline SVG: therapy timeline, VAF across timepoints, a
copy-number strip and lab trends, each with its title and the table it was drawn from.

A small string writer rather than a plotting library: a report draws four small figures,
which costs well under a millisecond here and nothing to import. Every text from
report.json is escaped (markupsafe), numbers are written with fixed decimals so the same
report gives the same bytes, nothing refers to a resource, and colours come from the
Okabe-Ito palette, which stays distinct under the common colour-vision deficiencies;
shapes and labels repeat what colour says, so no picture depends on colour alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup

from mmresist.report.svg import (
    CN_COLOURS,
    OKABE_ITO,
    SERIES_COLOURS,
    SHAPES,
    Figure,
    SvgWriter,
    Table,
    coordinate,
    label,
)
from mmresist.vocab import CATEGORIES, COPY_NUMBER_CALLS, DRUG_CLASS_LABELS

__all__ = ["CN_COLOURS", "OKABE_ITO", "Figure", "Table", "category_style", "therapy_timeline",
           "vaf_figure", "copy_number_strip", "lab_trends"]  # fmt: skip

CN_GLYPHS = {"homozygous_deletion": "0", "loss": "\u2212", "gain": "+", "amplification": "A"}
# Labs a tumour board follows at relapse, in the order they are drawn.
TREND_TESTS = ("m_protein", "flc_ratio", "creatinine", "egfr", "hemoglobin", "platelets")
TEST_LABELS = {
    "m_protein": "M-protein",
    "flc_ratio": "FLC ratio",
    "creatinine": "Creatinine",
    "egfr": "eGFR",
    "hemoglobin": "Haemoglobin",
    "platelets": "Platelets",
}
CAR_T_CLASSES = frozenset(name for name in DRUG_CLASS_LABELS if name.endswith("_car_t"))


def _date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _text(value: object) -> str:
    return "\u2014" if value is None or value == "" else str(value)


def _mapping_list(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value or () if isinstance(item, Mapping)]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- therapy timeline

WIDTH = 1000.0
LEFT = 150.0
RIGHT = 20.0


class _TimeAxis:
    def __init__(self, dates: Iterable[date]) -> None:
        known = sorted(dates)
        start, end = known[0], known[-1]
        # A margin of a few weeks so marks at the ends are not cut.
        self.start = start.toordinal() - 30
        self.end = max(end.toordinal() + 30, self.start + 120)

    def x(self, day: date) -> float:
        span = self.end - self.start
        return LEFT + (day.toordinal() - self.start) / span * (WIDTH - LEFT - RIGHT)

    def years(self) -> list[date]:
        first = date.fromordinal(self.start).year + 1
        last = date.fromordinal(self.end).year
        return [date(year, 1, 1) for year in range(first, last + 1)]


def _label_place(start: float, end: float, label: str) -> tuple[float, str]:
    """Where a lane's label goes: after its last mark, else before its first, else inside
    the bar; about 6.2 px per character at 11 px."""
    width = 6.2 * len(label)
    if end + 10 + width <= WIDTH - RIGHT:
        return end + 10, "start"
    if start - 10 - width >= LEFT:
        return start - 10, "end"
    return max(start, LEFT) + 4, "start"


def therapy_timeline(report: Mapping[str, Any], figure_id: str = "fig-timeline") -> Figure | None:
    """Swimmer lane: each therapy line's phases as bars (regimen, best response),
    progression marks, CAR-T infusions, sample collections and MRD results. None when no
    event has a date."""
    history = report.get("therapy_history") or {}
    lines = _mapping_list(history.get("lines"))
    samples = _mapping_list(report.get("samples"))
    measurements = _mapping_list((report.get("mrd") or {}).get("measurements"))
    events: list[date] = []
    for line in lines:
        for key in ("start_date", "end_date", "progression_date"):
            if _date(line.get(key)):
                events.append(_date(line.get(key)))  # type: ignore[arg-type]
        for phase in _mapping_list(line.get("phases")):
            for key in ("start_date", "end_date"):
                if _date(phase.get(key)):
                    events.append(_date(phase.get(key)))  # type: ignore[arg-type]
    for item in samples:
        if _date(item.get("collection_date")):
            events.append(_date(item.get("collection_date")))  # type: ignore[arg-type]
    for item in measurements:
        if _date(item.get("date")):
            events.append(_date(item.get("date")))  # type: ignore[arg-type]
    if not events:
        return None
    axis = _TimeAxis(events)
    last_day = date.fromordinal(axis.end - 30)
    lane_height = 34.0
    top = 16.0
    lanes = len(lines) + (1 if samples else 0) + (1 if measurements else 0)
    height = top + lanes * lane_height + 40
    title = f"Therapy timeline of patient {report.get('patient_id')}"
    desc = (
        f"{len(lines)} therapy lines, {len(samples)} samples and {len(measurements)} MRD"
        " results on one time axis; bars are treatment phases, diamonds progression,"
        " triangles CAR-T infusions."
    )
    svg = SvgWriter(WIDTH, height, figure_id, title, desc)
    for year in axis.years():
        x = axis.x(year)
        svg.add("line", x1=x, y1=top - 6, x2=x, y2=height - 30, stroke="#d5dbe3")
        svg.add(
            "text",
            str(year.year),
            x=x,
            y=height - 14,
            font_size=11,
            text_anchor="middle",
            fill="#5a6473",
        )
    table = Table(
        caption="Events drawn in the therapy timeline",
        headers=["Lane", "Event", "Start or date", "End", "Detail"],
    )
    y = top
    car_t_dates = {
        (_text(item.get("drug")), _text(item.get("infusion_date")))
        for item in _mapping_list(history.get("car_t_relapses"))
    }
    for line in lines:
        name = f"Line {_text(line.get('line'))}"
        mid = y + lane_height / 2
        svg.add("text", name, x=8, y=mid + 4, font_size=12, font_weight="bold", fill="#17202b")
        phases = _mapping_list(line.get("phases")) or [line]
        for index, phase in enumerate(phases):
            start = _date(phase.get("start_date"))
            if start is None:
                continue
            end = _date(phase.get("end_date"))
            ongoing = end is None
            x1 = axis.x(start)
            x2 = axis.x(end or last_day)
            colour = OKABE_ITO[("blue", "sky_blue", "green", "orange")[index % 4]]
            regimen = _text(phase.get("regimen"))
            phase_name = _text(phase.get("phase")) if phase.get("phase") else "whole line"
            tip = f"{name} {regimen} ({phase_name}): {start} to {end or 'ongoing'}"
            svg.titled(
                "rect",
                tip,
                x=x1,
                y=mid - 9,
                width=max(x2 - x1, 3.0),
                height=18,
                rx=3,
                fill=colour,
                fill_opacity=0.35,
                stroke=colour,
                stroke_dasharray="4 3" if ongoing else "none",
            )
            car_t = CAR_T_CLASSES.intersection(phase.get("drug_classes") or ())
            if car_t:
                svg.marker(
                    "triangle",
                    x1,
                    mid - 14,
                    6,
                    OKABE_ITO["purple"],
                    tooltip=f"CAR-T infusion {start}",
                )
            table.rows.append(
                [
                    name,
                    f"{regimen} ({phase_name})",
                    str(start),
                    str(end) if end else "ongoing or not given",
                    "CAR-T infusion" if car_t else "",
                ]
            )
        lane_label = f"{_text(line.get('regimen'))}"
        if line.get("best_response"):
            lane_label += f" \u00b7 {line['best_response']}"
        starts = [d for d in (_date(p.get("start_date")) for p in phases) if d is not None]
        if starts:
            ends = [_date(p.get("end_date")) or last_day for p in phases]
            ends.append(_date(line.get("progression_date")) or min(starts))
            x_text, anchor = _label_place(axis.x(min(starts)), axis.x(max(ends)), lane_label)
            svg.add(
                "text",
                lane_label,
                x=x_text,
                y=mid + 4,
                font_size=11,
                fill="#17202b",
                text_anchor=anchor,
            )
        progression = _date(line.get("progression_date"))
        if progression is not None:
            svg.marker(
                "diamond",
                axis.x(progression),
                mid,
                6,
                OKABE_ITO["vermillion"],
                tooltip=f"{name}: progression {progression}",
            )
            table.rows.append([name, "progression", str(progression), "", ""])
        if line.get("best_response"):
            table.rows.append([name, "best response", "", "", str(line["best_response"])])
        y += lane_height
    for drug, infusion in sorted(car_t_dates):
        table.rows.append(["CAR-T", f"relapse after {drug}", infusion, "", "infusion date"])
    if samples:
        mid = y + lane_height / 2
        svg.add("text", "Samples", x=8, y=mid + 4, font_size=12, font_weight="bold", fill="#17202b")
        for item in samples:
            day = _date(item.get("collection_date"))
            if day is None:
                continue
            tip = f"sample {_text(item.get('sample_id'))} ({label(item.get('timepoint'))}) {day}"
            svg.marker("circle", axis.x(day), mid, 6, OKABE_ITO["black"], tooltip=tip)
            table.rows.append(
                [
                    "Samples",
                    _text(item.get("sample_id")),
                    str(day),
                    "",
                    label(item.get("timepoint")),
                ]
            )
        y += lane_height
    if measurements:
        mid = y + lane_height / 2
        svg.add("text", "MRD", x=8, y=mid + 4, font_size=12, font_weight="bold", fill="#17202b")
        for item in measurements:
            day = _date(item.get("date"))
            if day is None:
                continue
            result = _text(item.get("result"))
            negative = result == "negative"
            colour = OKABE_ITO["green"] if negative else OKABE_ITO["vermillion"]
            method, sensitivity = _text(item.get("method")), _text(item.get("sensitivity"))
            detail = f"{result} ({method}, sensitivity {sensitivity})"
            svg.marker(
                "square" if negative else "circle",
                axis.x(day),
                mid,
                6,
                colour,
                filled=negative,
                tooltip=f"MRD {day}: {detail}",
            )
            table.rows.append(["MRD", "MRD " + result, str(day), "", detail])
    legend = [
        ("bar", OKABE_ITO["blue"], "treatment phase (dashed outline: ongoing)"),
        ("diamond", OKABE_ITO["vermillion"], "progression"),
        ("triangle", OKABE_ITO["purple"], "CAR-T infusion"),
        ("circle", OKABE_ITO["black"], "sample collected"),
        ("square", OKABE_ITO["green"], "MRD negative"),
        ("circle-open", OKABE_ITO["vermillion"], "MRD positive"),
    ]
    return Figure(figure_id, title, desc, svg.markup(), table, legend)


# ---------------------------------------------------------------- VAF


def category_style(category: object) -> tuple[str, str]:
    index = CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)
    colour = OKABE_ITO[SERIES_COLOURS[index % len(SERIES_COLOURS)]]
    return colour, SHAPES[(index // len(SERIES_COLOURS)) % len(SHAPES)]


def _variant_name(variant: Mapping[str, Any]) -> str:
    change = (
        variant.get("protein_change")
        or variant.get("hgvsc")
        or (f"{_text(variant.get('chrom'))}:{_text(variant.get('pos'))}")
    )
    return f"{_text(variant.get('gene'))} {change}"


def vaf_figure(
    kept: Sequence[Mapping[str, Any]],
    samples: Sequence[Mapping[str, Any]],
    figure_id: str = "fig-vaf",
) -> Figure | None:
    """VAF of each kept variant per sample in collection order, coloured by category: lines
    across timepoints, or bars when the patient has one sample. Unknown VAF is not drawn
    (and says so in the table); 'not detected' is drawn at zero as an open mark."""
    if not kept or not samples:
        return None
    sample_ids = [item.get("sample_id") for item in samples]
    series = []
    for variant in kept:
        by_sample = {
            entry.get("sample_id"): entry for entry in _mapping_list(variant.get("timepoints"))
        }
        if not by_sample:
            by_sample[variant.get("sample_id")] = {"vaf": variant.get("vaf"), "present": True}
        points: list[tuple[int, float | None, bool]] = []
        for index, sample_id in enumerate(sample_ids):
            entry = by_sample.get(sample_id)
            if entry is None:
                continue
            present = entry.get("present") is not False
            vaf = entry.get("vaf") if present else 0.0
            points.append((index, float(vaf) if isinstance(vaf, (int, float)) else None, present))
        series.append((variant, points))
    categories = sorted(
        {str(v.get("category")) for v, _ in series},
        key=lambda c: CATEGORIES.index(c) if c in CATEGORIES else 99,
    )
    title = "Variant allele fraction of kept variants" + (
        " across timepoints" if len(samples) > 1 else f" in sample {sample_ids[0]}"
    )
    desc = f"{len(series)} variants, coloured by category ({', '.join(map(label, categories))})."
    headers = ["Variant", "Category"] + [
        f"{label(item.get('timepoint'))} {_text(item.get('sample_id'))}" for item in samples
    ]
    table = Table(caption="VAF per sample as drawn", headers=headers)
    for variant, points in series:
        cells = {index: vaf for index, vaf, _ in points}
        detected = {index: flag for index, _, flag in points}
        row = [_variant_name(variant), label(variant.get("category"))]
        for index in range(len(samples)):
            if index not in cells:
                row.append("no call recorded")
            elif not detected[index]:
                row.append("not detected")
            elif cells[index] is None:
                row.append("unknown (not drawn)")
            else:
                row.append(f"{cells[index] * 100:.1f}%")  # type: ignore[operator]
        table.rows.append(row)
    legend = [(category_style(c)[1], category_style(c)[0], label(c)) for c in categories]
    if len(samples) == 1:
        svg = _vaf_bars(series, figure_id, title, desc)
    else:
        svg = _vaf_lines(series, samples, figure_id, title, desc)
    return Figure(figure_id, title, desc, svg, table, legend)


def _vaf_bars(series: list, figure_id: str, title: str, desc: str) -> Markup:
    row = 20.0
    height = 30 + row * len(series) + 24
    left = 220.0
    svg = SvgWriter(WIDTH, height, figure_id, title, desc)
    scale = (WIDTH - left - 60) / 1.0
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * scale
        svg.add("line", x1=x, y1=20, x2=x, y2=height - 24, stroke="#d5dbe3")
        svg.add(
            "text",
            f"{tick * 100:.0f}%",
            x=x,
            y=height - 8,
            font_size=11,
            text_anchor="middle",
            fill="#5a6473",
        )
    for index, (variant, points) in enumerate(series):
        y = 24 + index * row
        colour, _ = category_style(variant.get("category"))
        svg.row_label(_variant_name(variant), x=left - 8, y=y + 11)
        vaf = points[0][1] if points else None
        if vaf is None:
            svg.add("text", "VAF unknown", x=left + 4, y=y + 11, font_size=11, fill="#5a6473")
            continue
        width = max(vaf * scale, 1.0)
        tip = f"{_variant_name(variant)}: VAF {vaf * 100:.1f}%"
        svg.titled("rect", tip, x=left, y=y, width=width, height=14, fill=colour)
        svg.add(
            "text", f"{vaf * 100:.1f}%", x=left + width + 4, y=y + 11, font_size=11, fill="#17202b"
        )
    return svg.markup()


def _vaf_lines(
    series: list, samples: Sequence[Mapping[str, Any]], figure_id: str, title: str, desc: str
) -> Markup:
    height = 280.0
    left, top, bottom, right = 60.0, 16.0, 50.0, 230.0
    svg = SvgWriter(WIDTH, height, figure_id, title, desc)
    plot_w = WIDTH - left - right
    plot_h = height - top - bottom
    maximum = max([vaf for _, points in series for _, vaf, _ in points if vaf] + [0.1])
    ceiling = min(1.0, (int(maximum * 10) + 1) / 10)

    def x_of(index: int) -> float:
        return left + (index / max(len(samples) - 1, 1)) * plot_w

    def y_of(vaf: float) -> float:
        return top + plot_h - vaf / ceiling * plot_h

    for step in range(0, 5):
        tick = ceiling * step / 4
        svg.add("line", x1=left, y1=y_of(tick), x2=left + plot_w, y2=y_of(tick), stroke="#d5dbe3")
        svg.row_label(f"{tick * 100:.0f}%", x=left - 6, y=y_of(tick) + 4, fill="#5a6473")
    for index, item in enumerate(samples):
        svg.add(
            "text",
            f"{label(item.get('timepoint'))} {_text(item.get('collection_date'))}",
            x=x_of(index),
            y=height - bottom + 18,
            font_size=11,
            text_anchor="middle",
            fill="#17202b",
        )
    labels: list[tuple[float, str, str]] = []
    for variant, points in series:
        colour, shape = category_style(variant.get("category"))
        drawn = [(i, vaf, flag) for i, vaf, flag in points if vaf is not None]
        name = _variant_name(variant)
        for (i1, v1, _), (i2, v2, _) in itertools.pairwise(drawn):
            svg.add(
                "line",
                x1=x_of(i1),
                y1=y_of(v1),
                x2=x_of(i2),
                y2=y_of(v2),
                stroke=colour,
                stroke_width=2,
            )
        for index, vaf, present in drawn:
            state = f"{vaf * 100:.1f}%" if present else "not detected"
            svg.marker(
                shape, x_of(index), y_of(vaf), 5, colour, filled=present, tooltip=f"{name}: {state}"
            )
        if drawn:
            index, vaf, _ = drawn[-1]
            labels.append((y_of(vaf), name, colour))
    # Labels at the right edge, pushed apart so that they never overlap.
    labels.sort()
    placed = top
    for y, name, colour in labels:
        y = max(y, placed)
        placed = y + 13
        svg.add("text", name, x=left + plot_w + 10, y=y + 4, font_size=11, fill=colour)
    return svg.markup()


# ---------------------------------------------------------------- copy number


def copy_number_strip(
    copy_number: Sequence[Mapping[str, Any]],
    samples: Sequence[Mapping[str, Any]],
    figure_id: str = "fig-copy-number",
) -> Figure | None:
    """One row of cells per sample, one cell per panel gene with a call, coloured and
    marked by the call."""
    calls = [call for call in copy_number if call.get("gene")]
    if not calls:
        return None
    order = [item.get("sample_id") for item in samples]
    sample_ids = [s for s in order if any(c.get("sample_id") == s for c in calls)]
    sample_ids += sorted({str(c.get("sample_id")) for c in calls} - {str(s) for s in order})
    genes = sorted({str(call.get("gene")) for call in calls})
    by_key = {(call.get("sample_id"), str(call.get("gene"))): call for call in calls}
    left, top = 120.0, 70.0
    cell = min(28.0, (WIDTH - left - 10) / len(genes))
    height = top + 26 * len(sample_ids) + 10
    title = "Copy-number calls of the panel genes"
    altered = sum(1 for call in calls if call.get("call") not in ("neutral", None))
    desc = (
        f"{len(genes)} genes in {len(sample_ids)} samples; {altered} calls differ from"
        " neutral. Cell marks: 0 homozygous deletion, \u2212 loss, + gain, A amplification."
    )
    svg = SvgWriter(WIDTH, height, figure_id, title, desc)
    for column, gene in enumerate(genes):
        x = left + column * cell + cell / 2
        svg.column_label(gene, x=x, y=top - 6)
    table = Table(
        caption="Copy-number calls as drawn",
        headers=["Sample", "Gene", "Call", "Copy number", "log2 ratio"],
    )
    for row, sample_id in enumerate(sample_ids):
        y = top + row * 26
        svg.row_label(_text(sample_id), x=left - 8, y=y + 16)
        for column, gene in enumerate(genes):
            call = by_key.get((sample_id, gene))
            x = left + column * cell
            kind = call.get("call") if call else None
            colour = CN_COLOURS.get(str(kind), "#ffffff")
            tip = f"{gene} in {sample_id}: {label(kind) if call else 'no call'}"
            svg.titled(
                "rect", tip, x=x + 1, y=y, width=cell - 2, height=22, fill=colour, stroke="#aab4c2"
            )
            glyph = CN_GLYPHS.get(str(kind))
            if glyph:
                text_colour = (
                    "#ffffff" if kind in ("homozygous_deletion", "amplification") else "#000000"
                )
                svg.add(
                    "text",
                    glyph,
                    x=x + cell / 2,
                    y=y + 15,
                    font_size=11,
                    text_anchor="middle",
                    fill=text_colour,
                )
            if call and kind != "neutral":
                table.rows.append(
                    [
                        _text(sample_id),
                        gene,
                        label(kind),
                        _text(call.get("copy_number")),
                        _text(call.get("log2")),
                    ]
                )
    neutral = len(calls) - len(table.rows)
    if neutral:
        table.rows.append(["all samples", f"{neutral} other calls", "neutral", "", ""])
    legend = [("cell", CN_COLOURS[kind], label(kind)) for kind in COPY_NUMBER_CALLS]
    return Figure(figure_id, title, desc, svg.markup(), table, legend)


# ---------------------------------------------------------------- labs


@dataclass(frozen=True)
class _Frame:
    """One lab panel's plot area and the dates and values it spans (span 0: one day)."""

    x: float
    y: float
    width: float
    height: float
    low: float
    high: float
    first: int
    span: int

    def xy(self, day: date, value: float) -> tuple[float, float]:
        if self.span:
            x = self.x + (day.toordinal() - self.first) / self.span * self.width
        else:
            x = self.x + self.width / 2
        return x, self.y + self.height - (value - self.low) / (self.high - self.low) * self.height


def lab_trends(
    labs: Sequence[Mapping[str, Any]] | None, figure_id: str = "fig-labs"
) -> Figure | None:
    """Small multiples of the labs a relapse is followed by, where given: value over time
    in the canonical unit of report.json, the latest value written beside each panel."""
    series: dict[str, list[tuple[date, float, str]]] = {}
    for row in labs or ():
        test = row.get("test")
        day = _date(row.get("date"))
        value = row.get("value_canonical", row.get("value"))
        if test not in TREND_TESTS or day is None or not isinstance(value, (int, float)):
            continue
        unit = str(row.get("unit_canonical") or row.get("unit") or "")
        series.setdefault(str(test), []).append((day, float(value), unit))
    tests = [test for test in TREND_TESTS if test in series]
    if not tests:
        return None
    columns = 3
    panel_w, panel_h = WIDTH / columns, 130.0
    rows_n = (len(tests) + columns - 1) // columns
    height = rows_n * panel_h + 4
    all_days = [day for test in tests for day, _, _ in series[test]]
    first, last = min(all_days).toordinal(), max(all_days).toordinal()
    span = max(last - first, 1)
    title = "Laboratory trends"
    desc = "Small panels, one per test: " + ", ".join(TEST_LABELS[t] for t in tests) + "."
    svg = SvgWriter(WIDTH, height, figure_id, title, desc)
    table = Table(caption="Laboratory values drawn", headers=["Test", "Date", "Value", "Unit"])
    for position, test in enumerate(tests):
        points = sorted(series[test])
        ox = (position % columns) * panel_w
        oy = (position // columns) * panel_h
        px, py, pw, ph = ox + 46, oy + 26, panel_w - 70, panel_h - 56
        unit = points[-1][2]
        svg.add(
            "text",
            f"{TEST_LABELS[test]} ({unit})",
            x=ox + 8,
            y=oy + 16,
            font_size=12,
            font_weight="bold",
            fill="#17202b",
        )
        low = min(value for _, value, _ in points)
        high = max(value for _, value, _ in points)
        if high == low:
            low, high = low * 0.9, high * 1.1 if high else 1.0
        svg.add("rect", x=px, y=py, width=pw, height=ph, fill="none", stroke="#d5dbe3")

        frame = _Frame(px, py, pw, ph, low, high, first, span if last > first else 0)
        xy = frame.xy
        for value in (low, high) if len(points) > 1 else ():
            svg.row_label(
                f"{value:g}",
                x=px - 4,
                y=xy(points[0][0], value)[1] + 4,
                font_size=10,
                fill="#5a6473",
            )
        coords = [xy(day, value) for day, value, _ in points]
        if len(coords) > 1:
            svg.add(
                "polyline",
                points=" ".join(f"{coordinate(x)},{coordinate(y)}" for x, y in coords),
                fill="none",
                stroke=OKABE_ITO["blue"],
                stroke_width=2,
            )
        for (day, value, unit_of), (x, y) in zip(points, coords, strict=True):
            svg.marker(
                "circle",
                x,
                y,
                3.5,
                OKABE_ITO["blue"],
                tooltip=f"{TEST_LABELS[test]} {value:g} {unit_of} on {day}",
            )
            table.rows.append([TEST_LABELS[test], str(day), f"{value:g}", unit_of])
        # The latest value is written out: it is what the reader looks for first.
        last_x, last_y = coords[-1]
        svg.add(
            "text",
            f"{points[-1][1]:g}",
            x=last_x,
            y=last_y - 7 if last_y > py + 12 else last_y + 16,
            font_size=11,
            font_weight="bold",
            text_anchor="middle",
            fill=OKABE_ITO["blue"],
        )
        svg.add("text", f"{points[0][0]}", x=px, y=py + ph + 14, font_size=10, fill="#5a6473")
        if len(points) > 1:
            svg.row_label(
                f"{points[-1][0]}", x=px + pw, y=py + ph + 14, font_size=10, fill="#5a6473"
            )
    return Figure(figure_id, title, desc, svg.markup(), table)
