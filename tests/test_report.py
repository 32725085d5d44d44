"""The HTML report: one self-contained file, the same bytes for the same seed, every number
with its evidence, and figures that render in headless Chromium with the network off."""

from __future__ import annotations

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


def test_the_report_shows_every_issue_with_its_figures(flagship_report):
    _, html = flagship_report
    sc = accord.load("ukraine-2025")
    for issue in sc.issues:
        assert f'id="issue-{issue.id}"' in html
    # per issue: forecasts by view and model, the distribution, positions over rounds and
    # BDM's quadrant chart; then the disagreement map and the timeline
    assert len(re.findall(r'<div id="fig-\d+"', html)) == 4 * len(sc.issues) + 2
    assert "E(U) quadrants (BDM)" in html
    assert "positions over rounds" in html
    assert "Disagreement map" in html


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
