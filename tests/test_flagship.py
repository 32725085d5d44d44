"""The flagship through accord itself: load, check every quote, forecast every view and the ensemble."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import accord
from accord.analysis.ensemble import ENSEMBLE, forecast
from accord.cli import app

FOLDER = Path(__file__).resolve().parents[1] / "scenarios" / "ukraine-2025"
runner = CliRunner()


@pytest.fixture(scope="module")
def flagship():
    return accord.load("ukraine-2025")


@pytest.fixture(scope="module")
def small_forecast(flagship):
    return forecast(flagship, ["compromise", "median", "nbs"], draws=400, seed=1)


def test_the_flagship_loads_with_zero_errors_by_name(flagship):
    r = runner.invoke(app, ["check", "ukraine-2025"])
    assert r.exit_code == 0, r.output
    assert len(flagship.views) == 6 and len(flagship.issues) == 15
    assert {"russia", "ukraine", "usa", "china", "india"} <= set(flagship.actor_ids)


def test_every_quote_is_found_in_its_own_analysis(corpus):
    r = runner.invoke(app, ["evidence", "check", "ukraine-2025", "--corpus",
                            str(corpus / "ukraine-2025")])
    assert r.exit_code == 0, r.output
    assert " 0 problems" in r.stdout


def test_one_changed_character_fails_the_check_naming_file_and_line(corpus, tmp_path):
    copy = tmp_path / "ukraine"
    shutil.copytree(FOLDER, copy)
    view = copy / "views" / "fazi-2025.yaml"
    lines = view.read_text(encoding="utf-8").split("\n")
    k = next(i for i, ln in enumerate(lines) if "quote:" in ln and '"' in ln)
    start = lines[k].index('"') + 1
    lines[k] = lines[k][:start] + ("X" if lines[k][start] != "X" else "Y") + lines[k][start + 1:]
    view.write_text("\n".join(lines), encoding="utf-8")
    r = runner.invoke(app, ["evidence", "check", str(copy), "--corpus", str(corpus / "ukraine-2025")])
    assert r.exit_code == 2
    assert f"fazi-2025.yaml:{k + 1}" in r.output, r.output
    assert "closest passage" in r.output


def test_a_range_that_misses_its_value_is_located(tmp_path):
    copy = tmp_path / "ukraine"
    shutil.copytree(FOLDER, copy)
    view = copy / "views" / "usip-2022.yaml"
    text = view.read_text(encoding="utf-8")
    import re

    m = re.search(r"range: \[(\d+(?:\.\d+)?), (\d+(?:\.\d+)?)\]", text)
    bad = text[:m.start()] + "range: [999, 1000]" + text[m.end():]
    view.write_text(bad, encoding="utf-8")
    line = bad[:m.start()].count("\n") + 1
    r = runner.invoke(app, ["check", str(copy)])
    assert r.exit_code == 2
    assert f"usip-2022.yaml:{line}" in r.output, r.output


def test_every_view_covers_every_actor_and_issue_with_inherited_cells_marked(flagship):
    base_present = ~np.isnan(flagship.position)
    for vid, v in flagship.views.items():
        resolved = flagship.view(vid)
        assert resolved.actor_ids == flagship.actor_ids and resolved.issue_ids == flagship.issue_ids
        own = {k for k, st in v.stances.items() if st is not None}
        for a, actor in enumerate(flagship.actor_ids):
            for i, issue in enumerate(flagship.issue_ids):
                if np.isnan(resolved.position[a, i]):
                    continue
                assert resolved.inherited[a, i] == ((actor, issue) not in own), (vid, actor, issue)
        df = resolved.stances_frame()
        assert df["inherited"].sum() == int(resolved.inherited.sum())
        assert (~resolved.inherited & ~np.isnan(resolved.position)).sum() == len(own)
        assert base_present.sum() > 0


def test_the_forecast_covers_every_view_the_ensemble_and_the_timeline(small_forecast, flagship):
    s = small_forecast.summary
    assert set(s.view) == set(flagship.views) | {ENSEMBLE}
    assert set(s.issue) == set(flagship.issue_ids)
    # an issue no actor of a view's time spoke to (US resources claims in 2022) has no forecast
    assert s[s["median"].isna()].issue.unique().tolist() in ([], ["resources"])
    s = s.dropna(subset=["median"])
    assert (s.p10 <= s["median"]).all() and (s["median"] <= s.p90).all()
    assert s["median"].between(0, 100).all()
    dates = small_forecast.timeline.drop_duplicates("view")["date"].tolist()
    assert dates == sorted(dates) and dates[0].startswith("2022")
    d = small_forecast.disagreement
    assert len(d) and set(d.view) <= set(flagship.views)
    assert d.forecast_shift.abs().is_monotonic_decreasing


def test_views_differ_and_the_ensemble_lies_among_them(small_forecast):
    s = small_forecast.summary
    comp = s[s.model == "compromise"].pivot(index="view", columns="issue", values="median")
    views = comp.drop(index=ENSEMBLE)
    assert (views.max() - views.min()).max() > 5  # the analyses really disagree somewhere
    assert ((comp.loc[ENSEMBLE] >= views.min() - 1e-9) & (comp.loc[ENSEMBLE] <= views.max() + 1e-9)).all()


def test_the_forecast_is_deterministic_for_a_seed(flagship):
    a = forecast(flagship, ["compromise"], draws=200, seed=7).to_json()
    b = forecast(flagship, ["compromise"], draws=200, seed=7).to_json()
    c = forecast(flagship, ["compromise"], draws=200, seed=8).to_json()
    from accord.results import dumps

    assert dumps(a) == dumps(b)
    assert a["forecasts"] != c["forecasts"]


def test_forecast_json_from_the_cli(flagship):
    r = runner.invoke(app, ["forecast", "ukraine-2025", "--models", "compromise,median",
                            "--draws", "300", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["scenario"] == "ukraine-2025" and doc["draws"] == 300
    assert [v["id"] for v in doc["views"]][0] == "usip-2022"
    assert all(v["inherited_cells"] > 0 for v in doc["views"])
    assert {"forecasts", "disagreement", "timeline"} <= set(doc)


# ---- dated bases and coding checks (issue 15) ---------------------------------------------

def test_no_view_inherits_from_a_later_base(flagship):
    """Each view resolves over a base of its own time: no cell of a base dated after the view
    (the January 2026 coding above all) reaches it, and no dated base quotes a later text."""
    from accord.scenario.bases import base_of, later_cells

    for vid, v in flagship.views.items():
        bid, as_of = base_of(flagship, vid)
        assert as_of is not None and as_of <= v.date, (vid, bid, as_of)
        assert later_cells(flagship, vid) == [], vid
    dates = {s: src.date for s, src in flagship.sources.items()}
    for b in flagship.bases.values():
        for (actor, issue), st in b.cells.stances.items():
            for ev in () if st is None else st.position.evidence:
                assert ev.source is None or dates[ev.source] <= b.as_of, (b.id, actor, issue)


def test_a_2022_view_is_coded_on_2022_ground(flagship):
    v = flagship.view("usip-2022")
    k = v.actor_ids.index("usa")
    i = v.issue_ids.index("resources")
    assert np.isnan(v.position[k, i])                      # no Trump-era resources demand
    assert v.position[k, v.issue_ids.index("sanctions")] <= 10   # Biden's sanctions coalition
    assert v.status_quo[v.issue_ids.index("nato")] == 25        # accession aim in the constitution


def test_the_flagship_passes_every_coding_check_without_a_warning(flagship):
    from accord.evidence import check

    rep = check(flagship)
    assert rep.ok and not rep.warnings, [str(p) for p in rep.problems + rep.warnings][:5]
