"""report.html and the cohort index: content, escaping, self-containment,
null-versus-empty sections, unknown VAF and byte-identical output (report.pdf, the
tumour-board summary, is tested in test_summary.py)."""

from __future__ import annotations

import copy
import csv
import datetime
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from markupsafe import escape

from mmresist.errors import MmresistError
from mmresist.report import cohort, render

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "report_example.json"

# Markup that would run or load something if it reached the page unescaped; each payload
# sets window.__pwned so the browser test can tell, and {{ 7*7 }} catches template injection.
HOSTILE = (
    "<script>window.__pwned=1;alert(1)</script>"
    '"><img src=x onerror="window.__pwned=1;alert(1)">'
    '\'><svg onload="window.__pwned=1">'
    "</style><script>alert(1)</script>"
    "{{ 7*7 }}"
)

# Tags a report may contain; anything else (script, img, svg, iframe, link, base, form,
# object, embed, meta refresh tricks) means markup escaped from the data.
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "footer", "main", "nav",
    "aside", "section", "h1", "h2", "h3", "p", "dl", "dt", "dd", "div", "span", "strong",
    "em", "br", "wbr", "ol", "ul", "li", "a", "table", "caption", "thead", "tbody", "tr", "th",
    "td", "figure", "figcaption", "details", "summary",
}  # fmt: skip
# Inline SVG drawn by report.figures: shapes and text only (no <image>, <use>, <foreignObject>
# or <script>, which could load or run something).
SVG_TAGS = {"svg", "desc", "line", "text", "rect", "circle", "polygon", "polyline"}
# The cohort page adds its sort buttons, the filter box and its one hashed script.
COHORT_TAGS = {"button", "label", "input", "script"}
LOADING_ATTRIBUTES = {"src", "srcset", "action", "formaction", "poster", "data", "background"}


def load_example() -> dict:
    with open(EXAMPLE, encoding="utf-8") as stream:
        return json.load(stream)


def poison(value, payload: str = HOSTILE):
    """Append ``payload`` to every string of a report (values, list items, and the keys of
    the free-form maps), so every place that prints input text is exercised."""
    if isinstance(value, str):
        return value + payload
    if isinstance(value, list):
        return [poison(item, payload) for item in value]
    if isinstance(value, dict):
        return {key: poison(item, payload) for key, item in value.items()}
    return value


def hostile_report() -> dict:
    report = poison(load_example())
    report["provenance"]["software"][HOSTILE] = HOSTILE
    report["qc"]["filtered"][HOSTILE] = 1
    return report


class Page(HTMLParser):
    """Tags, attributes and visible text of an HTML document."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text_parts: list[str] = []
        self._skip = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "title"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def attributes(self, name: str) -> list[str]:
        return [attrs[name] for _, attrs in self.tags if attrs.get(name) is not None]


def section_states(html: str) -> dict[str, str]:
    """Section name -> the state sentence under its heading, or 'Shown.' when the section
    shows content instead."""
    part = section(html, "not-assessed")
    headings = re.findall(r'<h3 id="section-[a-z_]+">(.*?)</h3>\s*(<p class="state[^"]*">.*?</p>)?',
                          part, re.S)  # fmt: skip
    return {
        Page(name).text.strip(): Page(state).text.strip() if state else "Shown."
        for name, state in headings
    }


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}".*?</section>', html, flags=re.S)
    assert match, f"no section {section_id}"
    return match.group(0)


@pytest.fixture(scope="module")
def example_html() -> str:
    return render.render_html(load_example())


# ---------------------------------------------------------------- content


def test_example_follows_the_documented_report_structure():
    report = load_example()
    for key in (
        "schema_version", "patient_id", "provenance", "samples", "variants", "copy_number",
        "cytogenetics", "findings", "therapy_history", "therapy_options", "trials",
        "supportive_care", "mrd", "risk", "qc", "not_assessed", "not_provided",
    ):  # fmt: skip
        assert key in report, key
    for section_name in report["not_assessed"]:
        assert report[section_name] is None
    statuses = {variant["status"] for variant in report["variants"]}
    assert {"acquired", "persistent", "lost"} <= statuses
    assert any(variant["filter_reasons"] for variant in report["variants"])
    assert report["therapy_history"]["triple_class_refractory"] is True


def test_header_notice_and_sections_in_order(example_html):
    page = Page(example_html)
    assert "MM-EX-001" in page.text
    assert "GRCh38" in page.text and "2025.1" in page.text
    assert render.NOTICE in page.text
    assert "not a diagnosis or a treatment order" in page.text
    order = [
        "summary", "samples", "findings", "variants", "copy-number", "cytogenetics",
        "therapy", "not-assessed", "filtered", "qc", "provenance",
    ]  # fmt: skip
    positions = [example_html.index(f'<section id="{name}"') for name in order]
    assert positions == sorted(positions)
    # The notice comes before any finding.
    assert example_html.index(render.NOTICE) < example_html.index('<section id="summary"')


def test_report_carries_no_generation_date(example_html):
    today = datetime.date.today()
    assert today.isoformat() not in example_html
    assert today.strftime("%d %B %Y") not in example_html


def test_key_findings_resistance_first_with_level_and_sources(example_html):
    view = render.report_view(load_example())
    assert [finding["implication"] for finding in view["findings"]] == [
        "resistance", "resistance", "eligibility", "prognostic",
    ]  # fmt: skip
    findings = section(example_html, "findings")
    assert findings.index("PSMB5") < findings.index("KRAS")
    assert findings.index("CRBN") < findings.index("KRAS")
    text = Page(findings).text
    assert "Level D" in text and "preclinical evidence" in text
    assert "Level C" in text and "case study" in text
    assert "PMID:19426847" in text and "NCT03732703" in text
    summary = Page(section(example_html, "summary")).text
    assert "triple-class refractory: yes" in summary
    assert "4 observed alterations" in summary


def test_findings_table_shows_every_column_and_level_meaning(example_html):
    findings = Page(section(example_html, "findings")).text
    for expected in (
        "PSMB5_A108T", "p.Ala108Thr", "bortezomib", "proteasome inhibitor", "Level D",
        "CRBN_BIALLELIC_LOSS", "homozygous deletion", "IMiD", "MEK inhibitor",
        "t(4;14)", "PMID:40489728",
    ):  # fmt: skip
        assert expected in findings, expected
    for level, meaning in render.EVIDENCE_LEVEL_MEANING.items():
        assert f"{level} {meaning}" in findings


LINK_PREFIXES = (
    "#",
    "https://pubmed.ncbi.nlm.nih.gov/",
    "https://doi.org/",
    "https://clinicaltrials.gov/study/",
)


def test_source_identifiers_are_links_never_loads(example_html):
    """PMID, DOI and NCT ids link to PubMed, doi.org and ClinicalTrials.gov; nothing else
    is a link, and a link is not a load (no src, no stylesheet)."""
    page = Page(example_html)
    hrefs = page.attributes("href")
    assert all(href.startswith(LINK_PREFIXES) for href in hrefs), hrefs
    assert "https://pubmed.ncbi.nlm.nih.gov/40489728/" in hrefs
    assert not page.attributes("src")


def test_source_links_escape_text_and_link_each_identifier():
    html = str(
        render.source_links(
            "Lü 2009 <b>x</b> (PMID:19426847);DOI:10.1016/S1470-2045(20)30525-8;NCT02755597"
        )
    )
    assert '<a href="https://pubmed.ncbi.nlm.nih.gov/19426847/"' in html
    assert '<a href="https://doi.org/10.1016/S1470-2045(20)30525-8"' in html
    assert '<a href="https://clinicaltrials.gov/study/NCT02755597"' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    closing = str(render.source_links("Kumar 2020 (DOI:10.1016/S1470-2045(20)30525-8)"))
    assert closing.endswith("30525-8</a>)")


def test_variants_kept_with_status_and_vaf_per_timepoint(example_html):
    variants = section(example_html, "variants")
    text = Page(variants).text
    for expected in ("A108T", "acquired", "G12D", "persistent", "Q61R", "lost"):
        assert expected in text, expected
    # Filtered variants are not in the kept table.
    assert "R738Q" not in text and "A161T" not in text
    psmb5 = re.search(
        r"<tr>\s*<th scope=\"row\"><span class=\"gene\">PSMB5.*?</tr>", variants, re.S
    )
    assert psmb5 and "not detected" in psmb5.group(0) and "23.1%" in psmb5.group(0)


def test_unknown_vaf_is_shown_as_unknown_never_zero(example_html):
    view = render.report_view(load_example())
    tp53 = next(row for row in view["kept_rows"] if row["variant"]["gene"] == "TP53")
    assert [cell["text"] for cell in tp53["cells"]] == ["unknown", "11.8%"]
    row = re.search(
        r"<tr>\s*<th scope=\"row\"><span class=\"gene\">TP53.*?</tr>",
        section(example_html, "variants"),
        re.S,
    ).group(0)
    assert "unknown" in row
    assert "0.0%" not in row and ">0%" not in row
    assert render.percent(None) == "unknown"
    assert render.percent(0.0) == "0.0%"


def test_variant_without_timepoints_uses_its_own_vaf():
    report = load_example()
    variant = report["variants"][0]
    variant["timepoints"] = []
    variant["vaf"] = None
    cells = render.report_view(report)["kept_rows"][0]["cells"]
    assert [cell["text"] for cell in cells] == ["\u2014", "unknown"]


def test_copy_number_and_cytogenetics(example_html):
    copy_number = Page(section(example_html, "copy-number")).text
    assert "homozygous deletion" in copy_number and "amplification" in copy_number
    assert "Copy-number neutral (3): GPRC5D, TNFRSF17, TP53." in copy_number
    cytogenetics = Page(section(example_html, "cytogenetics")).text
    assert "t(4;14)" in cytogenetics and "86%" in cytogenetics and "FISH" in cytogenetics


def test_copy_number_absent_versus_empty():
    report = load_example()
    report["copy_number"] = []
    assert "None found" in Page(section(render.render_html(report), "copy-number")).text
    for sample in report["samples"]:
        sample["cnv"] = None
    assert "Not provided" in Page(section(render.render_html(report), "copy-number")).text


def test_therapy_history_flags_and_lines(example_html):
    therapy = Page(section(example_html, "therapy")).text
    assert "Triple-class refractory" in therapy
    assert "daratumumab+carfilzomib+dexamethasone" in therapy
    assert "anti-CD38" in therapy and "VGPR" in therapy


def test_null_sections_say_not_assessed_and_empty_lists_say_none_found(example_html):
    assert section_states(example_html) == {
        "Therapy options": "Not assessed in this version.",
        "Clinical trials": "Not assessed in this version.",
        "Supportive care": "Not assessed in this version.",
        "MRD": "Not assessed in this version.",
        "Risk assessment": "Not assessed in this version.",
    }
    report = load_example()
    report["trials"] = []
    report["supportive_care"] = []
    report["not_assessed"] = ["therapy_options", "mrd", "risk"]
    states = section_states(render.render_html(report))
    assert states["Clinical trials"].startswith("None found")
    assert states["Supportive care"].startswith("None found")
    assert states["MRD"] == "Not assessed in this version."


def test_not_provided_tables_are_named_and_sections_say_so():
    report = load_example()
    report["therapy_history"] = None
    report["cytogenetics"] = []
    report["not_provided"] = ["cytogenetics", "labs", "mrd", "therapy_lines"]
    html = render.render_html(report)
    line = re.search(r'<p class="not-provided-line".*?</p>', html, re.S).group(0)
    assert "cytogenetics, labs, MRD, therapy lines" in Page(line).text
    assert "Not provided" in Page(section(html, "therapy")).text
    assert "Not provided" in Page(section(html, "cytogenetics")).text
    assert "history not provided" in Page(section(html, "summary")).text


def test_provided_but_empty_cytogenetics_reads_none_found():
    report = load_example()
    report["cytogenetics"] = []
    text = Page(section(render.render_html(report), "cytogenetics")).text
    assert "None found" in text and "Not provided" not in text


def test_no_findings_is_stated_not_left_blank():
    report = load_example()
    report["findings"] = []
    text = Page(section(render.render_html(report), "findings")).text
    assert "None found" in text and "2025.1" in text


def test_filtered_variants_with_reasons_and_thresholds(example_html):
    filtered = Page(section(example_html, "filtered")).text
    for expected in (
        "R738Q", "VCF FILTER not PASS", "depth below 10", "ALT reads below 3", "A161T",
        "VAF below 2.0%", "CRBN",
    ):  # fmt: skip
        assert expected in filtered, expected


def test_qc_and_provenance(example_html):
    qc = Page(section(example_html, "qc")).text
    assert "96,418" in qc and "1,873" in qc
    assert "FORMAT has neither AD nor AF" in qc
    provenance = Page(section(example_html, "provenance")).text
    for item in load_example()["provenance"]["inputs"]:
        assert item["path"] in provenance and item["sha256"] in provenance
    assert "weasyprint" in provenance and "mmresist 0.1.0" in provenance


def test_future_sections_render_when_present():
    report = load_example()
    report["therapy_options"] = [
        {"rank": 1, "regimen": "Kd", "drugs": ["carfilzomib"], "rationale": "why",
         "cautions": []}
    ]  # fmt: skip
    report["risk"] = {"high_risk": True, "criteria": ["t(4;14) with 1q+"]}
    report["not_assessed"] = ["trials", "supportive_care", "mrd"]
    html = render.render_html(report)
    text = Page(section(html, "not-assessed")).text
    assert "Kd" in text and "t(4;14) with 1q+" in text
    states = section_states(html)
    assert states["Therapy options"] == states["Risk assessment"] == "Shown."
    assert states["Clinical trials"] == "Not assessed in this version."


def test_missing_keys_fail_loudly_instead_of_rendering_blank():
    report = load_example()
    del report["qc"]["records_read"]
    with pytest.raises(jinja2.UndefinedError):
        render.render_html(report)
    report = load_example()
    del report["findings"]
    with pytest.raises(KeyError):
        render.render_html(report)


# ---------------------------------------------------------------- safety


def test_page_loads_nothing(example_html):
    page = Page(example_html)
    csp = [
        attrs for tag, attrs in page.tags if attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp and csp[0]["content"].startswith(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS | SVG_TAGS
    for name in LOADING_ATTRIBUTES:
        assert not page.attributes(name), name
    assert all(href.startswith(LINK_PREFIXES) for href in page.attributes("href"))
    lowered = example_html.lower()
    assert "url(" not in lowered and "@import" not in lowered and "@font-face" not in lowered
    # The only URLs are source links in href attributes, never in anything that loads.
    assert "http://" not in lowered
    assert lowered.count("https://") == len(
        [href for href in page.attributes("href") if href.startswith("https://")]
    )


def test_hostile_text_is_escaped_everywhere():
    report = hostile_report()
    html = render.render_html(report)
    page = Page(html)
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS | SVG_TAGS
    assert not [name for _, attrs in page.tags for name in attrs if name.startswith("on")]
    for name in LOADING_ATTRIBUTES:
        assert not page.attributes(name), name
    assert all(href.startswith(LINK_PREFIXES) for href in page.attributes("href"))
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "<svg onload" not in html.lower()
    assert "&lt;script&gt;window.__pwned=1;alert(1)&lt;/script&gt;" in html
    # Shown to the reader as the text it is, in every kind of field.
    assert page.text.count(HOSTILE) > 50
    for value in (
        report["patient_id"], report["samples"][0]["sample_id"], report["variants"][0]["gene"],
        report["variants"][0]["hgvsp"], report["variants"][0]["hgvsc"],
        report["findings"][0]["summary"], report["qc"]["warnings"][0],
        report["therapy_history"]["lines"][0]["regimen"], report["cytogenetics"][0]["abnormality"],
        report["provenance"]["inputs"][0]["path"], report["findings"][0]["sources"][0],
    ):  # fmt: skip
        assert value in page.text, value
    # The stylesheet is closed exactly once, by us.
    assert html.count("</style>") == 1
    # Data is never evaluated as a template.
    assert "{{ 7*7 }}" in page.text


def test_hostile_text_is_escaped_in_the_cohort_index(tmp_path):
    report = hostile_report()
    index, tsv = cohort.render_cohort(reports=[report], out_dir=tmp_path)
    html = index.read_text(encoding="utf-8")
    page = Page(html)
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS | SVG_TAGS | COHORT_TAGS
    assert not [name for _, attrs in page.tags for name in attrs if name.startswith("on")]
    # The one script is ours (its hash is in the CSP); input text never opens another.
    assert html.lower().count("<script") == 1
    assert report["patient_id"] in page.text
    hrefs = page.attributes("href")
    assert [href.rsplit("/", 1)[1] for href in hrefs] == ["report.html", "report.pdf"]
    for href in hrefs:
        assert href.startswith("../") and href.count("/") == 2
        assert "<" not in href and '"' not in href
    rows = list(csv.reader(tsv.open(encoding="utf-8"), delimiter="\t"))
    assert len(rows) == 2 and rows[1][0] == report["patient_id"]


def test_breakable_escapes_and_only_adds_break_points():
    html = str(render.breakable('ENSP00000355325.6:p.Ala108Thr<img src=x onerror="y">'))
    assert "<img" not in html and "&lt;img" in html
    assert html.replace("<wbr>", "") == str(
        escape('ENSP00000355325.6:p.Ala108Thr<img src=x onerror="y">')
    )
    assert "ENSP00000355325.<wbr>6:<wbr>p.<wbr>Ala108Thr" in html
    assert max(len(piece) for piece in str(render.breakable("A" * 95)).split("<wbr>")) == 20
    assert str(render.breakable(None)) == ""


def test_unknown_vocabulary_values_never_become_class_names():
    assert render.level_class('x" onmouseover="alert(1)') == "level-unknown"
    assert render.implication_class("<b>") == "imp-unknown"
    assert render.status_class(None) == "status-unknown"
    assert render.call_class("gain") == "cn-gain"
    assert render.href_segment("../x y/<z>") == "..%2Fx%20y%2F%3Cz%3E"


# ---------------------------------------------------------------- determinism


def test_html_bytes_are_reproducible(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        (folder / "report.html").write_text(render.render_html(load_example()), encoding="utf-8")
    assert (first / "report.html").read_bytes() == (second / "report.html").read_bytes()
    # The render is a pure function of the report: input order of dict keys does not matter.
    shuffled = json.loads(json.dumps(load_example(), sort_keys=True))
    assert render.render_html(shuffled) == (first / "report.html").read_text(encoding="utf-8")


def test_bytes_do_not_depend_on_the_process(tmp_path):
    """Each patient renders in its own Snakemake job: hash seeds must not change bytes."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from mmresist.report import render\n"
        "out = Path(sys.argv[2])\n"
        "report = json.loads(Path(sys.argv[1]).read_text(encoding='utf-8'))\n"
        "(out / 'report.html').write_text(render.render_html(report), encoding='utf-8')\n"
    )
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        out.mkdir()
        subprocess.run(
            [sys.executable, "-c", script, str(EXAMPLE), str(out)],
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        outputs.append(out)
    assert (outputs[0] / "report.html").read_bytes() == (outputs[1] / "report.html").read_bytes()


# ---------------------------------------------------------------- cohort


def cohort_reports() -> list[dict]:
    second = load_example()
    second["patient_id"] = "MM-EX-000"
    second["findings"] = second["findings"][2:]
    second["therapy_history"] = None
    third = copy.deepcopy(second)
    third["patient_id"] = "MM-EX-002"
    third["therapy_history"] = copy.deepcopy(load_example()["therapy_history"])
    third["therapy_history"]["triple_class_refractory"] = False
    return [load_example(), third, second]


def test_cohort_index_and_tsv(tmp_path):
    index, tsv = cohort.render_cohort(reports=cohort_reports(), out_dir=tmp_path / "cohort")
    assert index == tmp_path / "cohort" / "index.html" and tsv.name == "cohort.tsv"
    rows = list(csv.DictReader(tsv.open(encoding="utf-8"), delimiter="\t"))
    assert list(rows[0]) == list(cohort.COHORT_COLUMNS)
    assert [row["patient_id"] for row in rows] == ["MM-EX-000", "MM-EX-001", "MM-EX-002"]
    example = rows[1]
    assert example["samples"] == "2"
    assert example["variants_kept"] == "4" and example["variants_filtered"] == "3"
    assert example["findings_resistance"] == "2" and example["findings_eligibility"] == "1"
    assert example["findings_sensitivity"] == "0" and example["findings_prognostic"] == "1"
    assert example["triple_class_refractory"] == "yes"
    assert rows[0]["triple_class_refractory"] == "not provided"
    assert rows[2]["triple_class_refractory"] == "no"

    page = Page(index.read_text(encoding="utf-8"))
    assert page.attributes("href") == [
        f"../{patient}/report.{kind}"
        for patient in ("MM-EX-000", "MM-EX-001", "MM-EX-002")
        for kind in ("html", "pdf")
    ]
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS | SVG_TAGS | COHORT_TAGS
    assert render.NOTICE in page.text
    assert sorted(path.name for path in (tmp_path / "cohort").iterdir()) == [
        "cohort.tsv", "index.html",
    ]  # fmt: skip


def test_cohort_output_is_reproducible_and_order_independent(tmp_path):
    reports = cohort_reports()
    cohort.render_cohort(reports=reports, out_dir=tmp_path / "a")
    cohort.render_cohort(reports=list(reversed(reports)), out_dir=tmp_path / "b")
    for name in ("index.html", "cohort.tsv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_cohort_refuses_a_patient_twice(tmp_path):
    with pytest.raises(MmresistError, match="MM-EX-001"):
        cohort.render_cohort(reports=[load_example(), load_example()], out_dir=tmp_path)
    assert not list(tmp_path.iterdir())


def test_cohort_never_links_outside_the_report_folder(tmp_path):
    report = load_example()
    report["patient_id"] = ".."
    index, _ = cohort.render_cohort(reports=[report], out_dir=tmp_path)
    assert Page(index.read_text(encoding="utf-8")).attributes("href") == []


def test_filtered_variants_without_protein_effect_and_past_the_cap_are_counted_not_listed():
    report = json.loads(EXAMPLE.read_text())
    template = next(v for v in report["variants"] if v["filter_reasons"])
    extra = []
    for index in range(250):
        extra.append(dict(template, pos=10_000 + index, filter_reasons=["low_vaf"]))
    for index in range(300):
        extra.append(dict(template, pos=20_000 + index, filter_reasons=["no_protein_effect"]))
    report["variants"] = report["variants"] + extra
    view = render.report_view(report)
    listed = len(view["filtered_rows"])
    assert listed == render.MAX_FILTERED_ROWS
    assert view["filtered_unlisted"]["no_protein_effect"] == 300
    total_listable = sum(
        1
        for v in report["variants"]
        if v["filter_reasons"] and "no_protein_effect" not in v["filter_reasons"]
    )
    assert view["filtered_unlisted"]["over_cap"] == total_listable - listed
    html = render.render_html(report)
    assert "300 filtered variants without an effect on the protein" in html
    assert f"{total_listable - listed} further filtered variants" in html
