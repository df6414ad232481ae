"""A small SVG writer for the report's pictures: the Okabe-Ito palette, escaped elements and
marks, and the Figure record (an SVG with its title, legend and data table).

Every text and attribute value is escaped (markupsafe) as it is written, numbers have fixed
decimals so the same data gives the same bytes, and nothing written can refer to a
resource. Okabe-Ito colours stay distinct under the common colour-vision deficiencies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from mmresist.vocab import DRUG_CLASS_LABELS

# Okabe & Ito, "Color Universal Design" (2008): distinguishable with any colour vision.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
    "grey": "#999999",
}
SERIES_COLOURS = ("blue", "orange", "green", "purple", "vermillion", "sky_blue", "black")
SHAPES = ("circle", "square", "triangle", "diamond")
CN_COLOURS = {
    "homozygous_deletion": OKABE_ITO["blue"],
    "loss": OKABE_ITO["sky_blue"],
    "neutral": "#EDEDED",
    "gain": OKABE_ITO["orange"],
    "amplification": OKABE_ITO["vermillion"],
}
FONT = "font-family:Liberation Sans,Arial,sans-serif"


@dataclass
class Table:
    """The data a figure was drawn from, shown beside it as its text alternative."""

    caption: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Figure:
    figure_id: str
    title: str
    description: str
    svg: Markup
    table: Table
    # (shape, colour, text): shape is one of SHAPES, "bar" or "cell"; colours are ours.
    legend: list[tuple[str, str, str]] = field(default_factory=list)


def coordinate(value: float) -> str:
    """A coordinate with one decimal and no '-0.0': same report, same bytes."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


class SvgWriter:
    """Appends SVG elements; attribute values and text are escaped here, once."""

    def __init__(
        self,
        width: float,
        height: float,
        figure_id: str,
        title: str,
        desc: str,
        *,
        natural_size: bool = False,
    ):
        box = f"0 0 {coordinate(width)} {coordinate(height)}"
        # Figures of a report fill the column; a cohort picture keeps its own size (it
        # grows with the cohort and scrolls) instead of magnifying a small cohort.
        size = f"{coordinate(width)}" if natural_size else "100%"
        self.parts: list[str] = [
            f'<svg viewBox="{box}"'
            f' width="{size}" role="img" class="figure-svg" style="{FONT}"'
            f' aria-labelledby="{figure_id}-title {figure_id}-desc">',
            f'<title id="{figure_id}-title">{escape(title)}</title>',
            f'<desc id="{figure_id}-desc">{escape(desc)}</desc>',
        ]

    def add(self, tag: str, text: str | None = None, **attributes: object) -> None:
        if text is None:
            self.parts.append(f"<{tag}{_attributes(attributes)}/>")
        else:
            self.parts.append(f"<{tag}{_attributes(attributes)}>{escape(text)}</{tag}>")

    def row_label(
        self, text: str, *, x: float, y: float, font_size: int = 11, fill: str = "#17202b"
    ) -> None:
        """Text ending at ``x``: a row's name left of a chart, or an axis tick."""
        self.add("text", text, x=x, y=y, font_size=font_size, text_anchor="end", fill=fill)

    def column_label(self, text: str, *, x: float, y: float) -> None:
        """A column's name above a grid, slanted so that long names fit."""
        self.add(
            "text",
            text,
            x=x,
            y=y,
            font_size=10,
            fill="#17202b",
            transform=f"rotate(-60 {coordinate(x)} {coordinate(y)})",
        )

    def titled(self, tag: str, tooltip: str, **attributes: object) -> None:
        """An element with a <title> child: the tooltip a pointer shows and a screen reader
        reads."""
        self.parts.append(
            f"<{tag}{_attributes(attributes)}><title>{escape(tooltip)}</title></{tag}>"
        )

    def marker(
        self,
        shape: str,
        x: float,
        y: float,
        size: float,
        colour: str,
        *,
        filled: bool = True,
        tooltip: str = "",
    ) -> None:
        """A mark of one of SHAPES; open (white fill) when not ``filled``."""
        style: dict[str, object] = {
            "fill": colour if filled else "#ffffff",
            "stroke": colour,
            "stroke_width": 1.5,
        }
        if shape == "circle":
            self.titled("circle", tooltip, cx=x, cy=y, r=size, **style)
        elif shape == "square":
            side = 2 * size
            self.titled("rect", tooltip, x=x - size, y=y - size, width=side, height=side, **style)
        else:
            if shape == "triangle":
                corners = [(x, y - size), (x + size, y + size), (x - size, y + size)]
            else:
                corners = [(x, y - size), (x + size, y), (x, y + size), (x - size, y)]
            self.titled("polygon", tooltip, points=points(corners), **style)

    def markup(self) -> Markup:
        # Every piece above was escaped as it was added.
        return Markup("".join(self.parts) + "</svg>")


def _attributes(attributes: Mapping[str, object]) -> str:
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(_attr(value))}"'
        for name, value in attributes.items()
        if value is not None
    )


def points(corners: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{coordinate(x)},{coordinate(y)}" for x, y in corners)


def _attr(value: object) -> str:
    return coordinate(value) if isinstance(value, float) else str(value)


def label(value: object) -> str:
    text = "" if value is None else str(value)
    return DRUG_CLASS_LABELS.get(text, text.replace("_", " "))
