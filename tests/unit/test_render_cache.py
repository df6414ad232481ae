"""Cheaper rendering without different output: the on-disk cache of compiled templates
(render_html / render_cohort ``template_cache``) and the fixed table layout of the print
stylesheet."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from mmresist.report import cohort, render

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "report_example.json"


def load_example() -> dict:
    with open(EXAMPLE, encoding="utf-8") as stream:
        return json.load(stream)


@pytest.fixture
def fresh_environments():
    """Forget the environments of earlier tests, as a new process would."""
    render._cached_environment.cache_clear()
    yield
    render._cached_environment.cache_clear()


@pytest.fixture
def count_compiles(monkeypatch):
    compiled: list[str | None] = []
    original = jinja2.Environment.compile

    def counting(self, source, name=None, *args, **kwargs):
        compiled.append(name)
        return original(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return compiled


def cache_files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


# ---------------------------------------------------------------- template cache


def test_cached_html_is_identical_and_skips_compiling(tmp_path, fresh_environments, count_compiles):
    report = load_example()
    plain = render.render_html(report)
    cache = tmp_path / "nested" / "jinja"
    assert not cache.exists()

    cold = render.render_html(report, template_cache=cache)
    assert cache.is_dir(), "the cache directory is created when missing"
    files = cache_files(cache)
    # report.html.j2 and the figure macros it imports.
    assert len(files) == 2 and all(name.endswith(".cache") for name in files), files
    assert all(f"-{jinja2.__version__}-" in name for name in files), (
        "a jinja2 upgrade must not reuse bytecode"
    )

    render._cached_environment.cache_clear()  # as a new process
    count_compiles.clear()
    warm = render.render_html(report, template_cache=str(cache))
    assert "report.html.j2" not in count_compiles, "the cached bytecode was not used"
    assert plain == cold == warm


def test_cache_keeps_autoescape_and_strict_undefined(tmp_path, fresh_environments):
    report = load_example()
    report["patient_id"] = "<script>alert(1)</script>"
    for _ in range(2):  # cold, then from the cache
        html = render.render_html(report, template_cache=tmp_path)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        render._cached_environment.cache_clear()
    broken = load_example()
    del broken["schema_version"]
    with pytest.raises(jinja2.UndefinedError):
        render.render_html(broken, template_cache=tmp_path)


def test_unreadable_cache_file_is_ignored(tmp_path, fresh_environments):
    report = load_example()
    plain = render.render_html(report)
    render.render_html(report, template_cache=tmp_path)
    for name in cache_files(tmp_path):
        data = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(data[: len(data) // 2])  # a torn file
    render._cached_environment.cache_clear()
    assert render.render_html(report, template_cache=tmp_path) == plain


def test_changed_template_is_not_served_from_the_cache(tmp_path, monkeypatch):
    templates = tmp_path / "templates"
    shutil.copytree(render.TEMPLATES, templates)
    monkeypatch.setattr(render, "TEMPLATES", templates)
    render._cached_environment.cache_clear()
    render._stylesheet.cache_clear()
    try:
        report = load_example()
        cache = tmp_path / "cache"
        before = render.render_html(report, template_cache=cache)
        source = (templates / "report.html.j2").read_text(encoding="utf-8")
        (templates / "report.html.j2").write_text(
            source.replace("<main>", "<main>\n<p>changed template</p>"), encoding="utf-8"
        )
        render._cached_environment.cache_clear()
        after = render.render_html(report, template_cache=cache)
        assert "changed template" not in before
        assert "changed template" in after
    finally:
        render._cached_environment.cache_clear()
        render._stylesheet.cache_clear()


def test_cohort_uses_the_cache_with_the_same_output(tmp_path, fresh_environments):
    reports = [load_example()]
    plain_index, _ = cohort.render_cohort(reports=reports, out_dir=tmp_path / "plain")
    cache = tmp_path / "cache"
    cached_index, _ = cohort.render_cohort(
        reports=reports, out_dir=tmp_path / "cached", template_cache=cache
    )
    assert plain_index.read_bytes() == cached_index.read_bytes()
    assert any(name.endswith(".cache") for name in cache_files(cache))


_RENDER_MANY = """
import json, sys
from mmresist.report import render
report = json.load(open(sys.argv[1], encoding="utf-8"))
for _ in range(int(sys.argv[3])):
    render._cached_environment.cache_clear()  # compile or load, and write, every time
    html = render.render_html(report, template_cache=sys.argv[2])
sys.stdout.write(html)
"""


def test_processes_rendering_at_once_share_one_cache_safely(tmp_path):
    """Several processes compiling into, and loading from, one directory at the same time:
    each gets the same bytes, and no temporary or torn file is left behind."""
    cache = tmp_path / "cache"
    expected = render.render_html(load_example())
    command = [sys.executable, "-c", _RENDER_MANY, str(EXAMPLE), str(cache), "8"]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)
    ]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
        assert out.decode("utf-8") == expected
    files = cache_files(cache)
    assert len(files) == 2 and all(name.endswith(".cache") for name in files), files


# ---------------------------------------------------------------- print layout


def _print_css() -> str:
    css = render._stylesheet()
    start = css.index("@media print")
    return css[start:]


MAIN_TABLES = ("card-table", "variants-table", "filtered-table")


def test_print_stylesheet_lays_out_tables_with_fixed_widths():
    css = _print_css()
    assert re.search(r"(^|[\s,}])table\s*\{[^}]*table-layout:\s*fixed", css), css[:400]
    for table in MAIN_TABLES + ("options-table",):
        assert re.search(rf"\.{table} th:nth-child\(1\)\s*\{{\s*width:\s*\d+(\.\d+)?%", css), table
    # Trials print as labelled blocks, not as a table.
    assert re.search(r"\.trials-table thead\s*\{\s*display:\s*none", css)
    assert 'content: attr(data-label) ": "' in css
    # Screen keeps the automatic layout: only the print stylesheet fixes widths.
    screen = render._stylesheet()[: render._stylesheet().index("@media print")]
    assert "table-layout: fixed" not in screen.replace(
        ".copy-number-table {\n  width: 75%;\n  table-layout: fixed;", ""
    )
