"""The HTML report: one self-contained file, the same bytes for the same seed, every number
with its evidence, and figures that render in headless Chromium with the network off."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

import accord

REPO = Path(__file__).resolve().parents[1]
FLAGSHIP = REPO / "scenarios" / "ukraine-2025"
MODELS = ["mean", "compromise", "median", "bdm", "smp"]  # one-shot and dynamic, quick to run



@pytest.fixture(scope="module")
def copied_flagship(tmp_path_factory) -> Path:
    """The flagship in a folder of its own: its corpus (../../../shared/...) does not resolve."""
    d = tmp_path_factory.mktemp("data") / "ukraine-2025"
    shutil.copytree(FLAGSHIP, d)
    return d


@pytest.fixture(scope="module")
def flagship_report(copied_flagship, tmp_path_factory) -> tuple[Path, str]:
    from accord.report import render, write

    sc = accord.load(str(copied_flagship))
    html = render(sc, models=MODELS, draws=300, dynamic_draws=10, seed=7, generated="2026-01-20")
    path = write(tmp_path_factory.mktemp("report") / "ukraine.html", html)
    return path, html


def test_the_report_is_self_contained(flagship_report):
    _, html = flagship_report
    assert html.count("<script") == html.count("</script>")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", html)
    figures = len(re.findall(r'<div id="fig-\d+"', html))
    assert figures > 0 and html.count('Plotly.newPlot("fig-') == figures
    assert len(re.findall(r"plotly\.js v\d+\.\d+\.\d+", html)) == 1  # the bundle, inlined once


def test_the_report_records_its_provenance(flagship_report, copied_flagship):
    _, html = flagship_report
    sc = accord.load(str(copied_flagship))
    assert sc.sha256 in html
    assert f"<th>accord version</th><td>{accord.__version__}</td>" in html
    assert "<th>seed</th><td>7</td>" in html
    assert "<th>generated</th><td>2026-01-20</td>" in html
    assert "<th>Monte-Carlo draws per view</th><td>300</td>" in html
    assert "<th>draws per view: dynamic models, levers (paired)</th><td>10, 300</td>" in html
    assert "10 for dynamic models, 300 for the levers" in html


def test_the_report_shows_every_issue_with_its_figures(flagship_report):
    _, html = flagship_report
    sc = accord.load("ukraine-2025")
    for issue in sc.issues:
        assert f'id="issue-{issue.id}"' in html
    # the settlement overview; per issue: forecasts by view and model, the distribution,
    # positions over rounds and BDM's quadrant chart; then the disagreement map and the timeline
    assert len(re.findall(r'<div id="fig-\d+"', html)) == 1 + 4 * len(sc.issues) + 2
    assert "E(U) quadrants (BDM)" in html
    assert "positions over rounds" in html
    assert "Disagreement map" in html


def test_the_report_shows_each_view_against_its_authors_conclusion(flagship_report,
                                                                   copied_flagship):
    from accord.analysis.validity import validity

    _, html = flagship_report
    table = html[html.index('id="validity-table"'):]
    table = table[:table.index("</table>")]
    rows = validity(accord.load(str(copied_flagship)), seed=7)
    assert table.count("<tr>") == 1 + len(rows) == 7
    for r in rows:  # the same verdicts as `accord validity` with the report's seed
        row = table[table.index(f"<td>{r.view}<br>"):]
        assert f"<strong>{r.agree}</strong>" in row[:row.index("</tr>")]


def test_the_evidence_table_says_when_the_corpus_is_missing(flagship_report):
    _, html = flagship_report
    assert "corpus not found" in html
    assert "Crimea, plus the four annexed eastern and southern oblasts" in html
    assert "views/fazi-2025.yaml:" in html  # where each number was written


def test_with_the_corpus_every_quote_cites_its_document_line(corpus):
    from accord.report.html import ReportOptions, _evidence

    sc = accord.load("ukraine-2025")
    ev = _evidence(sc, ReportOptions(corpus_dir=corpus / "ukraine-2025"))
    assert ev["ok"], ev["status"]
    assert ev["n_quotes"] > 100 and ev["n_verified"] == ev["n_quotes"]
    row = next(r for r in ev["rows"] if r["field"] == "actors.russia.capability")
    assert any(re.fullmatch(r"000_654a741a8dc74a69\.txt:\d+", e["where"]) for e in row["items"])


def test_the_same_seed_gives_the_same_bytes():
    from accord.report import render

    sc = accord.load("eu-emissions")
    kw = dict(models=["compromise", "median", "bdm"], draws=200, dynamic_draws=5, seed=3,
              generated="2026-01-01")
    a, b = render(sc, **kw), render(sc, **kw)
    assert a == b
    assert render(sc, **{**kw, "seed": 4}) != a


def test_the_command_writes_the_report_and_refuses_to_overwrite(tmp_path):
    from typer.testing import CliRunner

    from accord.cli import app

    out = tmp_path / "eu.html"
    args = ["report", "eu-emissions", "-o", str(out), "--models", "compromise,median",
            "--draws", "100", "--date", "2026-01-01"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    first = out.read_bytes()
    assert first.startswith(b"<!DOCTYPE html>") and len(first) > 1_000_000
    r = CliRunner().invoke(app, args + ["--seed", "5"])
    assert r.exit_code == 2 and "exists" in r.output
    assert out.read_bytes() == first
    r = CliRunner().invoke(app, args + ["--seed", "5", "--force"])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() != first


def test_the_report_renders_in_chromium_with_the_network_off(flagship_report, tmp_path,
                                                               launch_chromium):
    from playwright.sync_api import sync_playwright

    path, html = flagship_report
    n_figures = len(re.findall(r'<div id="fig-\d+"', html))
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r):
                if r.request.url.startswith("file:"):
                    r.continue_()
                else:
                    requests.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(path.as_uri(), wait_until="load", timeout=90_000)
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot').length >= {n_figures}",
                timeout=90_000)
            plots = page.evaluate("document.querySelectorAll('.js-plotly-plot .main-svg').length")
            points = page.evaluate("document.querySelectorAll('.js-plotly-plot .point, "
                                   ".js-plotly-plot .js-line, .js-plotly-plot .hm').length")
            page.screenshot(path=str(tmp_path / "report.png"))
        finally:
            browser.close()
    assert plots >= n_figures  # every figure drew its SVG
    assert points > n_figures  # and put data in it
    assert errors == []
    assert requests == []


def _open(path: Path, launch_chromium, p, width: int = 1400, height: int = 900):
    browser = launch_chromium(p)
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelectorAll('.main-svg').length > 0")
    return browser, page


def test_the_first_screen_is_the_conclusion_and_one_figure(flagship_report, launch_chromium):
    from playwright.sync_api import sync_playwright

    path, _ = flagship_report
    with sync_playwright() as p:
        browser, page = _open(path, launch_chromium, p)
        try:
            first = page.locator(".conclusion li").first
            box = first.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 900
            assert "Chance of an agreement by" in first.inner_text()  # dated, from the outlook
            fig = page.locator("#summary .plotly-graph-div").first.bounding_box()
            assert fig is not None and fig["y"] < 900 and fig["width"] > 300
            summary = json.loads(page.locator("#accord-summary").inner_text())
            assert summary["draws"] == 300 and summary["seed"] == 7
        finally:
            browser.close()


def test_the_report_is_short_with_the_evidence_collapsed_and_searchable(flagship_report,
                                                                          launch_chromium):
    from playwright.sync_api import sync_playwright

    path, _ = flagship_report
    with sync_playwright() as p:
        browser, page = _open(path, launch_chromium, p)
        try:
            screens = page.evaluate("document.documentElement.scrollHeight") / 900
            assert screens <= 25, screens
            assert not page.locator("#evidence-details").evaluate("d => d.open")
            page.fill("#evidence-filter", "Crimea, plus the four annexed")
            assert page.locator("#evidence-details").evaluate("d => d.open")
            shown = page.locator("#evidence-table tr:visible").count()
            assert 2 <= shown <= 6  # the header and the rows that quote it
        finally:
            browser.close()


OVERFLOW = """() => {
  const bad = [];
  document.querySelectorAll('.plotly-graph-div').forEach(g => {
    const r = g.getBoundingClientRect();
    g.querySelectorAll('svg text').forEach(t => {
      const q = t.getBoundingClientRect();
      if (!t.textContent.trim() || q.width === 0) return;
      if (q.left < r.left - 2 || q.right > r.right + 2 || q.top < r.top - 2 || q.bottom > r.bottom + 2)
        bad.push(g.id + ': ' + t.textContent.slice(0, 40));
    });
  });
  return bad;
}"""


def test_no_figure_overflows_its_box_when_every_section_is_open(flagship_report,
                                                                  launch_chromium):
    from playwright.sync_api import sync_playwright

    path, _ = flagship_report
    with sync_playwright() as p:
        browser, page = _open(path, launch_chromium, p)
        try:
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            page.wait_for_timeout(2500)  # the toggle handlers resize every figure
            assert page.evaluate(OVERFLOW) == []
        finally:
            browser.close()
