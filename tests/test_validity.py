"""The validity table: each view's outlook against its author's quoted conclusion."""

from __future__ import annotations

from pathlib import Path

import pytest

import accord
from accord.analysis.validity import render, validity

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "scenarios" / "ukraine-2025"
DOC = ROOT / "docs" / "flagship-validity.md"


def _fake(views, p_cease, p_comp, holds=0.6):
    def curve(p12):
        return [min(1.0, p12 * (m + 1) / 12) for m in range(36)]
    return {"deals": {
        "ceasefire": {"views": {v: {"start": "2026-01", "cumulative": curve(p_cease),
                                    "median_months": 6, "p_holds_12m": holds} for v in views}},
        "comprehensive": {"views": {v: {"start": "2026-01", "cumulative": curve(p_comp),
                                        "median_months": None, "p_holds_12m": 0.8}
                                    for v in views}}}}


@pytest.fixture(scope="module")
def flagship():
    return accord.load(FOLDER)


def test_a_view_agrees_only_when_every_claim_of_its_author_holds(flagship):
    views = list(flagship.views)
    feas = {v: {"comprehensive": 0.5} for v in views}
    rows = {r.view: r for r in validity(flagship, outlook_json=_fake(views, 0.4, 0.05),
                                        feasible=feas)}
    masses = rows["masses-2026"]
    assert masses.conclusion.startswith("At this moment, the likelihood")
    assert masses.agree in {"yes", "partly"}
    rows = {r.view: r for r in validity(flagship, outlook_json=_fake(views, 0.01, 0.9),
                                        feasible=feas)}
    assert rows["masses-2026"].agree == "no" and rows["masses-2026"].mechanism


def test_every_conclusion_is_quoted_verbatim_from_the_views_source(flagship):
    from accord.evidence import find_quote, load_document

    rows = validity(flagship, outlook_json=_fake(list(flagship.views), 0.1, 0.1), feasible={})
    for r in rows:
        src = flagship.sources[r.source]
        doc = load_document(Path(flagship.corpus) / src.file, src.file)
        for part in r.conclusion.split(" [...] "):
            assert find_quote(part, doc, src.lines).found, (r.view, part)


def test_the_table_renders_one_row_per_view(flagship):
    rows = validity(flagship, outlook_json=_fake(list(flagship.views), 0.3, 0.05), feasible={})
    text = render(rows, flagship)
    assert text.count("\n| ") == len(flagship.views) + 1


def test_docs_flagship_validity_is_current(flagship):
    pytest.importorskip("accord.analysis.outlook")
    rows = validity(flagship)
    assert DOC.read_text(encoding="utf-8") == render(rows, flagship), (
        "docs/flagship-validity.md is stale: run `accord validity scenarios/ukraine-2025 "
        "--write docs/flagship-validity.md`")
