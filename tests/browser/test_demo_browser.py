"""Every demo report and the cohort page in headless Chromium at 1280 px, as the workflow
writes them: no console error, nothing requested but the file, every picture with its
text alternative (an SVG <title> and the table it was drawn from), and a cohort table that
sorts when a header is clicked."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]


def demo_patients() -> list[str]:
    with open(REPO / "resources/demo/samples.tsv", encoding="utf-8") as stream:
        return sorted({row["patient_id"] for row in csv.DictReader(stream, delimiter="\t")})


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory, chromium_path) -> Path:
    """The demo cohort run by Snakemake (after the browser is known to be there)."""
    outdir = tmp_path_factory.mktemp("demo") / "reports"
    binary = Path(sys.executable).parent / "snakemake"
    env = dict(os.environ, PATH=f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(
        [str(binary), "--cores", "2", "--config", f"outdir={outdir}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return outdir


def assert_clean(watched, url: str) -> None:
    assert watched.console_errors == [], watched.console_errors
    assert watched.page_errors == []
    assert watched.requests == [url] and watched.blocked == []


def assert_pictures_have_text_alternatives(page) -> int:
    svgs = page.locator("svg")
    for index in range(svgs.count()):
        svg = svgs.nth(index)
        title = svg.locator(":scope > title")
        assert title.count() == 1 and (title.text_content() or "").strip(), index
        labelled = svg.get_attribute("aria-labelledby") or ""
        assert title.get_attribute("id") in labelled.split()
        # The table it was drawn from, in the same figure.
        figure = svg.locator("xpath=ancestor::figure[1]")
        assert figure.count() == 1
        table = figure.locator("table.figure-table")
        assert table.count() == 1 and table.locator("tbody tr").count() >= 1
        box = svg.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 20
    return svgs.count()


@pytest.mark.parametrize("patient", demo_patients())
def test_demo_report_opens_clean_with_its_pictures(watched, demo_reports, patient):
    url = watched.open(demo_reports / patient / "report.html")
    assert_clean(watched, url)
    page = watched.page
    assert page.locator("script").count() == 0
    pictures = assert_pictures_have_text_alternatives(page)
    assert pictures >= 2, pictures  # every demo patient has a timeline or samples and VAF
    # One card per observed alteration.
    titles = page.locator(".finding-card .finding-title").all_inner_texts()
    assert len(titles) == len(set(titles)), titles
    # The page fits the 1280 px window: no horizontal scroll of the whole page.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280


def test_cohort_page_sorts_and_filters(watched, demo_reports):
    url = watched.open(demo_reports / "cohort" / "index.html")
    assert_clean(watched, url)
    page = watched.page
    assert page.locator("script").count() == 1
    assert assert_pictures_have_text_alternatives(page) == 1  # the oncoprint

    def column(index: int) -> list[str]:
        return page.locator(
            f"#cohort-table tbody tr:not([hidden]) > :nth-child({index})"
        ).all_inner_texts()

    patients = column(1)
    assert patients == demo_patients()
    header = page.locator("#cohort-table thead th", has_text="Patient").first
    header.locator("button").click()
    assert column(1) == sorted(demo_patients(), reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    # A numeric column sorts as numbers.
    numbers = page.locator("#cohort-table thead th", has_text="Variants kept").first
    numbers.locator("button").click()
    index = 1 + page.locator("#cohort-table thead th").all_inner_texts().index("Variants kept")
    values = [int(value) for value in column(index)]
    assert values == sorted(values)
    numbers.locator("button").click()
    assert [int(value) for value in column(index)] == sorted(values, reverse=True)
    # Filtering hides the rows that do not match.
    page.fill("#cohort-filter", demo_patients()[0])
    assert column(1) == [demo_patients()[0]]
    assert "1 of" in page.locator("#cohort-count").inner_text()
    # Links reach each patient's HTML and PDF next to the cohort folder.
    hrefs = page.eval_on_selector_all("#cohort-table a", "links => links.map(a => a.href)")
    for patient in demo_patients():
        for name in ("report.html", "report.pdf"):
            target = (demo_reports / patient / name).resolve()
            assert target.as_uri() in hrefs and target.is_file()
