"""report.html and the cohort index in headless Chromium: hostile input text shows as
text, nothing runs, nothing is requested but the file itself."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mmresist.report import cohort, render

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_render import HOSTILE, hostile_report, load_example  # noqa: E402

pytestmark = pytest.mark.browser

ACTIVE_ELEMENTS = "script, img, iframe, object, embed, link, base, form, video, audio"
# Inline SVG is allowed only as report.figures draws it: shapes and text, never an element
# that loads or runs something.
FOREIGN_SVG = "svg:not(.figure-svg), svg image, svg use, svg foreignObject, svg script, svg a"


def write(path: Path, html: str) -> Path:
    path.write_text(html, encoding="utf-8")
    return path


def assert_inert(watched, url: str, *, scripts: int = 0) -> None:
    assert watched.dialogs == []
    assert watched.page.evaluate("() => window.__pwned === undefined")
    assert watched.requests == [url]
    assert watched.blocked == []
    assert watched.page_errors == []
    assert watched.page.locator(ACTIVE_ELEMENTS).count() == scripts
    assert watched.page.locator("script").count() == scripts
    assert watched.page.locator(FOREIGN_SVG).count() == 0


def test_hostile_report_is_inert_and_readable(watched, tmp_path):
    report = hostile_report()
    path = write(tmp_path / "report.html", render.render_html(report))
    url = watched.open(path)
    assert_inert(watched, url)
    # Content-Security-Policy violations would be logged as console errors.
    assert watched.console_errors == []
    body = watched.page.inner_text("body")
    assert body.count(HOSTILE) > 20
    for value in (report["patient_id"], report["samples"][0]["sample_id"],
                  report["variants"][0]["hgvsp"], report["qc"]["warnings"][0]):  # fmt: skip
        assert value in body
    assert report["patient_id"] in watched.page.title()
    screenshot = tmp_path / "hostile.png"
    watched.page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG")


def test_example_report_renders_without_errors(watched, tmp_path):
    path = write(tmp_path / "report.html", render.render_html(load_example()))
    url = watched.open(path)
    assert_inert(watched, url)
    assert watched.console_errors == []
    page = watched.page
    assert page.locator("h1").inner_text() == "Patient MM-EX-001"
    assert render.NOTICE in page.locator(".notice").inner_text()
    # The notice is visible without scrolling.
    box = page.locator(".notice").bounding_box()
    assert box is not None and box["y"] + box["height"] < 900
    # Every data table has column headers with a scope.
    assert page.locator("table").count() == page.locator("table thead").count()
    assert page.locator("th:not([scope])").count() == 0
    screenshot = tmp_path / "report.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000


def test_hostile_cohort_index_is_inert(watched, tmp_path):
    index, _ = cohort.render_cohort(
        reports=[hostile_report(), load_example()], out_dir=tmp_path / "cohort"
    )
    url = watched.open(index)
    # Exactly one script: the page's own sorting and filtering, allowed by its hash.
    assert_inert(watched, url, scripts=1)
    assert watched.console_errors == []
    assert HOSTILE in watched.page.inner_text("body")
    hrefs = watched.page.eval_on_selector_all("a", "links => links.map(a => a.href)")
    base = (tmp_path / "MM-EX-001" / "report.html").resolve().as_uri()
    assert base in hrefs
    assert all(href.startswith(tmp_path.resolve().as_uri()) for href in hrefs)
