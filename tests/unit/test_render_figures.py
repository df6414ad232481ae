"""Finding cards (one per alteration, ordered by clinical weight) and the report's inline
SVG pictures: each has its title and data table, escapes input text, draws what report.json
holds and uses the colour-blind-safe palette only."""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

from mmresist.report import figures, render
from mmresist.report.cards import alteration_cards

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_render import HOSTILE, Page, load_example, poison  # noqa: E402

BCMA_LOSS = "biallelic loss (homozygous deletion)"


def finding(biomarker_id, gene, alteration, implication, classes, level, **extra):
    return {
        "biomarker_id": biomarker_id,
        "gene": gene,
        "alteration": alteration,
        "implication": implication,
        "drugs": [],
        "drug_classes": classes,
        "evidence_level": level,
        "sources": ["PMID:33619368"],
        "summary": "",
        "evidence": {
            "kind": "copy_number",
            "sample_id": "S1",
            "status": None,
            "vaf": None,
            "detail": f"{gene} homozygous deletion",
        },  # fmt: skip
        "allele_state": {"state": "biallelic", "basis": "homozygous deletion"},
        "exposure": "observed",
        **extra,
    }


def bcma_report() -> dict:
    """The shape of demo MM-003: one TNFRSF17 loss matching four biomarker rows, R27P three,
    NRAS Q61K two; the top option is a proteasome-inhibitor regimen."""
    report = load_example()
    report["findings"] = [
        finding("BM-NRAS-C61", "NRAS", "p.Gln61Lys (Q61K)", "eligibility", ["mek_inhibitor"], "E"),
        finding("BM-BCMA-TCE", "TNFRSF17", BCMA_LOSS, "resistance", ["bcma_bispecific"], "C"),
        finding("BM-BCMA-ADC", "TNFRSF17", BCMA_LOSS, "resistance", ["bcma_adc"], "E"),
        finding("BM-BCMA-CART", "TNFRSF17", BCMA_LOSS, "resistance", ["bcma_car_t"], "C"),
        finding("BM-BCMA-ALT", "TNFRSF17", BCMA_LOSS, "eligibility", ["gprc5d_bispecific"], "B"),
        finding("BM-R27P", "TNFRSF17", "p.Arg27Pro (R27P)", "resistance", ["bcma_bispecific"], "C"),
        finding("BM-R27P-ADC", "TNFRSF17", "p.Arg27Pro (R27P)", "resistance", ["bcma_adc"], "E"),
        finding("BM-R27P-CART", "TNFRSF17", "p.Arg27Pro (R27P)", "resistance", ["bcma_car_t"], "E"),
        finding(
            "BM-NRAS-BTZ", "NRAS", "p.Gln61Lys (Q61K)", "resistance", ["proteasome_inhibitor"], "B"
        ),  # fmt: skip
        finding("BM-1Q", "gain(1q)", "gain(1q)", "prognostic", [], "A"),
    ]
    report["therapy_options"] = [
        {"rank": 1, "regimen": "Kd", "drug_classes": ["proteasome_inhibitor", "glucocorticoid"]},
        {"rank": 2, "regimen": "Tal", "drug_classes": ["gprc5d_bispecific"]},
    ]
    return report


def test_one_card_per_alteration_with_a_row_per_biomarker():
    report = bcma_report()
    cards = alteration_cards(report["findings"], report)
    names = [(card["gene"], card["alteration"]) for card in cards]
    assert len(names) == len(set(names)) == 4
    by_name = {(card["gene"], card["alteration"]): card for card in cards}
    loss = by_name[("TNFRSF17", BCMA_LOSS)]
    assert [row["finding"]["biomarker_id"] for row in loss["rows"]] == [
        "BM-BCMA-CART", "BM-BCMA-TCE", "BM-BCMA-ADC", "BM-BCMA-ALT",
    ]  # fmt: skip
    assert loss["allele_state"] == {"state": "biallelic", "basis": "homozygous deletion"}
    assert len(by_name[("TNFRSF17", "p.Arg27Pro (R27P)")]["rows"]) == 3


def test_resistance_to_a_proposed_class_comes_first():
    report = bcma_report()
    cards = alteration_cards(report["findings"], report)
    # NRAS Q61K argues against bortezomib, the class of option 1 (Kd): it leads, although
    # its other row is an eligibility finding and BCMA loss has more resistance rows.
    assert (cards[0]["gene"], cards[0]["weight"]) == ("NRAS", 0)
    assert cards[0]["rows"][0]["bears_on"] == ["option 1 (Kd)"]
    assert [card["gene"] for card in cards[1:3]] == ["TNFRSF17", "TNFRSF17"]
    assert cards[-1]["gene"] == "gain(1q)"
    # Without options or an ongoing line nothing is on the table: resistance by level.
    report["therapy_options"] = None
    cards = alteration_cards(report["findings"], report)
    assert cards[0]["gene"] == "NRAS" and cards[0]["weight"] == 1
    report["therapy_history"]["current_line"] = {
        "line": 4, "regimen": "Tec", "drug_classes": ["bcma_bispecific"],
    }  # fmt: skip
    cards = alteration_cards(report["findings"], report)
    assert cards[0]["alteration"] == BCMA_LOSS
    rows = cards[0]["rows"]
    assert rows[0]["finding"]["biomarker_id"] == "BM-BCMA-TCE"
    assert rows[0]["bears_on"] == ["ongoing line 4 (Tec)"]
    assert rows[1]["bears_on"] == []  # CAR-T is not the ongoing class


def test_a_finding_about_one_drug_bears_only_on_regimens_with_that_drug():
    report = bcma_report()
    nras = finding(
        "BM-NRAS-BTZ", "NRAS", "p.Gln61Lys (Q61K)", "resistance", ["proteasome_inhibitor"], "B"
    )
    nras["drugs"] = ["bortezomib"]
    report["findings"] = [nras]
    report["therapy_options"] = [
        {"rank": 1, "regimen": "Kd", "drugs": ["carfilzomib", "dexamethasone"],
         "drug_classes": ["proteasome_inhibitor", "glucocorticoid"]},
        {"rank": 2, "regimen": "Vd", "drugs": ["bortezomib", "dexamethasone"],
         "drug_classes": ["proteasome_inhibitor", "glucocorticoid"]},
    ]  # fmt: skip
    [card] = alteration_cards(report["findings"], report)
    assert card["rows"][0]["bears_on"] == ["option 2 (Vd)"]
    report["therapy_options"] = report["therapy_options"][:1]
    [card] = alteration_cards(report["findings"], report)
    assert card["rows"][0]["bears_on"] == [] and card["weight"] == 1


def test_report_shows_each_alteration_once():
    html = render.render_html(bcma_report())
    cards = re.findall(r'<li class="finding-card[^"]*">.*?</li>', html, re.S)
    titles = [Page(re.search(r'class="finding-title">(.*?)</span>\s*(?:<span|</p>)', card, re.S)
                   .group(1)).text for card in cards]  # fmt: skip
    assert len(titles) == 4 and titles.count(f"TNFRSF17 {BCMA_LOSS}") == 1
    assert "bears on the current or proposed treatment" in cards[0]


def test_figures_have_a_title_a_description_and_their_table():
    report = load_example()
    html = render.render_html(report)
    svgs = re.findall(r"<svg .*?</svg>", html, re.S)
    assert len(svgs) >= 3  # timeline, VAF, copy number (the example has no labs)
    for svg in svgs:
        title = re.search(r'<svg [^>]*aria-labelledby="(\S+)-title \S+-desc"', svg)
        assert title, svg[:200]
        assert f'<title id="{title.group(1)}-title">' in svg
        figure = re.search(
            rf'<figure class="figure" id="{title.group(1)}".*?</figure>', html, re.S
        ).group(0)
        assert '<table class="figure-table">' in figure and "<tbody>" in figure


def test_figures_use_the_okabe_ito_palette_only():
    html = render.render_html(bcma_report())
    svg_colours = set()
    for svg in re.findall(r"<svg .*?</svg>", html, re.S):
        svg_colours |= {c.upper() for c in re.findall(r'(?:fill|stroke)="(#[0-9a-fA-F]{6})"', svg)}
    data = {c.upper() for c in figures.OKABE_ITO.values()} | {
        c.upper() for c in figures.CN_COLOURS.values()
    }
    # Everything else is ink, greys of the page and white.
    neutral = {"#FFFFFF", "#17202B", "#5A6473", "#D5DBE3", "#AAB4C2", "#EDEDED", "#F2F4F7"}
    assert svg_colours - neutral <= data
    assert svg_colours & data


def test_timeline_draws_lines_progression_car_t_samples_and_mrd():
    report = load_example()
    history = report["therapy_history"]
    history["lines"].append(
        {
            "line": 3, "regimen": "cilta-cel", "best_response": "sCR",
            "start_date": "2024-01-10", "end_date": "2024-01-10",
            "progression_date": "2024-09-01",
            "phases": [{"phase": None, "regimen": "cilta-cel", "drug_classes": ["bcma_car_t"],
                        "start_date": "2024-01-10", "end_date": "2024-01-10"}],
        }
    )  # fmt: skip
    report["mrd"] = {"measurements": [
        {"date": "2023-05-01", "method": "NGS", "sensitivity": 1e-5, "result": "negative"},
        {"date": "2024-08-01", "method": "NGS", "sensitivity": 1e-5, "result": "positive"},
    ]}  # fmt: skip
    figure = figures.therapy_timeline(report)
    assert figure is not None
    events = [(row[0], row[1]) for row in figure.table.rows]
    assert ("Line 3", "cilta-cel (whole line)") in events
    assert ("Line 3", "progression") in events
    assert ("MRD", "MRD negative") in events and ("MRD", "MRD positive") in events
    assert any(row[0] == "Samples" for row in figure.table.rows)
    assert any(row[4] == "CAR-T infusion" for row in figure.table.rows)
    assert "CAR-T infusion 2024-01-10" in figure.svg
    assert "sCR" in figure.svg


def test_unknown_vaf_is_not_drawn_and_not_detected_is():
    samples = [
        {"sample_id": "A", "timepoint": "diagnosis", "collection_date": "2020-01-01"},
        {"sample_id": "B", "timepoint": "relapse", "collection_date": "2022-01-01"},
    ]
    variant = {"gene": "KRAS", "protein_change": "G12D", "category": "mapk_signalling",
               "timepoints": [{"sample_id": "A", "present": False, "vaf": None},
                              {"sample_id": "B", "present": True, "vaf": None}]}  # fmt: skip
    figure = figures.vaf_figure([variant], samples)
    assert figure is not None
    assert figure.table.rows == [["KRAS G12D", "mapk signalling", "not detected",
                                  "unknown (not drawn)"]]  # fmt: skip
    assert "KRAS G12D: not detected" in figure.svg
    assert figure.svg.count("<title") == 1 + 1  # the figure's and the one drawn mark's


def test_lab_trends_draw_the_followed_tests_in_canonical_units():
    labs = [
        {"date": "2024-01-01", "test": "m_protein", "value": 12.0, "unit": "g/L",
         "value_canonical": 1.2, "unit_canonical": "g/dL"},
        {"date": "2024-03-01", "test": "m_protein", "value": 25.0, "unit": "g/L",
         "value_canonical": 2.5, "unit_canonical": "g/dL"},
        {"date": "2024-03-01", "test": "ldh", "value": 300.0, "unit": "U/L"},
    ]  # fmt: skip
    figure = figures.lab_trends(labs)
    assert figure is not None
    assert figure.table.rows == [["M-protein", "2024-01-01", "1.2", "g/dL"],
                                 ["M-protein", "2024-03-01", "2.5", "g/dL"]]  # fmt: skip
    assert "M-protein (g/dL)" in figure.svg and "<polyline" in figure.svg
    assert figures.lab_trends([labs[2]]) is None


def test_hostile_text_in_pictures_is_escaped():
    report = poison(copy.deepcopy(load_example()))
    html = render.render_html(report)
    for svg in re.findall(r"<svg .*?</svg>", html, re.S):
        assert "<script" not in svg and "<img" not in svg and "<svg onload" not in svg
    assert HOSTILE in Page(html).text


def test_same_report_same_pictures():
    report = json.loads(json.dumps(bcma_report()))
    assert render.render_html(report) == render.render_html(copy.deepcopy(report))
