"""The summary: one object that concludes in words, rendered by every surface."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

import accord
from accord.analysis.summary import (DRAWS, SEED, ZONE_LABEL, add_months, deal_outlook_rows,
                                     summarize)
from accord.cli import app

runner = CliRunner()
FAST = ["compromise", "median", "nbs"]


@pytest.fixture(scope="module")
def eu():
    return summarize(accord.load("eu-emissions"), draws=50, models=FAST + ["bdm"],
                     dynamic_draws=10)


def test_each_issue_is_settled_in_words_with_its_unit_and_80_percent_interval(eu):
    x = eu.issues[0]
    assert x.unit == "years"
    assert x.anchor.startswith("a middle date")
    assert x.p10 <= x.median <= x.p90
    assert "years" in x.sentence and "80% interval" in x.sentence


def test_without_an_outlook_the_deal_part_is_labelled_a_share_not_a_probability():
    s = summarize(accord.load("ukraine-2025"), draws=40, models=FAST, levers=None, outlook=None)
    assert s.deal_source == "feasibility"
    assert all(d.label == ZONE_LABEL for d in s.deals)
    assert "not a probability" in s.headline[0]
    assert any("blocks" in h for h in s.headline)


def test_a_scenario_without_veto_players_says_feasibility_is_vacuous(eu):
    assert "No actor has a veto" in eu.headline[0]


def test_a_bdm_cycle_is_reported_as_a_cycle_with_its_range(eu):
    bdm = next(n for n in eu.explanations if n.model == "bdm")
    text = " ".join(bdm.sentences)
    assert "cycles instead of settling" in text and "between 7.0 years and 10.0 years" in text
    assert "last round" in text  # the rule that turns the cycle into one number


def test_a_model_that_returns_the_status_quo_says_why():
    s = summarize(accord.load("ukraine-2025"), draws=40, models=["nbs", "compromise"],
                  levers=None)
    nbs = next(n for n in s.explanations if n.model == "nbs")
    assert any("returns the status quo" in t and "both sides" in t for t in nbs.sentences)


def test_the_summary_is_deterministic_and_json_ready(eu):
    again = summarize(accord.load("eu-emissions"), draws=50, models=FAST + ["bdm"],
                      dynamic_draws=10)
    assert json.dumps(eu.to_json()) == json.dumps(again.to_json())
    doc = eu.to_json()
    assert doc["draws"] == 1 and doc["seed"] == SEED  # no ranges: one draw is exact


class _Outlook:
    def to_json(self):
        view = {"start": "2025-09", "cumulative": [0.1, 0.2, 0.3], "median_months": None,
                "p_holds_12m": 0.7}
        return {"scenario": "x", "horizon_months": 3, "seed": 0, "draws": 10,
                "deals": {"comprehensive": {"views": {"a": view}, "ensemble": view}}}


def test_the_outlook_hook_gives_a_dated_probability():
    rows = deal_outlook_rows(_Outlook())
    assert [(r.view, r.by, r.p_by_horizon) for r in rows] == [("a", "2025-12", 0.3),
                                                             ("ensemble", "2025-12", 0.3)]
    assert add_months("2025-11", 14) == "2027-01"
    s = summarize(accord.load("ukraine-2025"), draws=20, models=["compromise"], levers=None,
                  outlook=_Outlook())
    assert s.deal_source == "outlook"
    assert s.deals[0].label == "P(deal by 2025-12)" and s.deals[0].zone_share is not None
    assert "by 2025-12" in s.headline[0] and "comprehensive 30%" in s.headline[0]
    assert "P(it still holds a year later): comprehensive 70%" in s.headline[0]


def _lines(text: str) -> list[str]:
    return text.splitlines()


def test_forecast_fits_100_columns_and_leads_with_the_conclusion(monkeypatch):
    from accord import cli

    monkeypatch.setenv("COLUMNS", "100")
    # the console reads $COLUMNS once, when the CLI starts: start it again here (a test
    # worker may have imported the CLI under another width)
    monkeypatch.setattr(cli, "out", cli._console())
    r = runner.invoke(app, ["forecast", "ukraine-2025", "--draws", "200",
                            "--dynamic-draws", "20"])
    assert r.exit_code == 0, r.output
    lines = _lines(r.stdout)
    assert max(len(x) for x in lines) <= 100
    assert not any("…" in x for x in lines)
    head = "\n".join(lines[:25])
    assert "Conclusion" in head and "%" in head and "blocks" in head
    assert "200 draws per view" in lines[1] and "seed 0" in lines[1]
    full = runner.invoke(app, ["forecast", "ukraine-2025", "--draws", "50",
                               "--dynamic-draws", "10", "--full"])
    assert full.exit_code == 0 and len(_lines(full.stdout)) > len(lines)
    assert max(len(x) for x in _lines(full.stdout)) <= 100
    assert not any("…" in x for x in _lines(full.stdout))


def test_forecast_json_carries_the_summary_and_the_default_draws():
    r = runner.invoke(app, ["forecast", "eu-emissions", "--models", "compromise", "--json"])
    doc = json.loads(r.stdout)
    assert doc["summary"]["issues"][0]["issue"] == "emissions"
    assert doc["summary"]["seed"] == SEED
    assert DRAWS == 2_000


def test_scenarios_copy_gives_an_editable_copy_that_name_lookups_then_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["scenarios", "copy", "eu-emissions"])
    assert r.exit_code == 0, r.output
    copy = tmp_path / "scenarios" / "eu-emissions" / "scenario.yaml"
    text = copy.read_text()
    copy.write_text(text.replace("title: EC car-emission", "title: My edited EC car-emission"))
    r = runner.invoke(app, ["check", "eu-emissions"])
    assert r.exit_code == 0 and "scenarios/eu-emissions" in r.stdout
    assert "read scenarios/eu-emissions (the local copy" in r.output  # provenance on stderr
    assert accord.load("eu-emissions").title.startswith("My edited")
    again = runner.invoke(app, ["scenarios", "copy", "eu-emissions"])
    assert again.exit_code == 2 and "exists" in again.output
    assert copy.read_text().startswith(text[:20]) and "My edited" in copy.read_text()


def test_a_broken_levers_file_is_a_note_not_a_lost_forecast(tmp_path):
    import shutil

    d = tmp_path / "eu"
    shutil.copytree(accord.scenario.bundled("eu-emissions"), d)
    (d / "levers.yaml").write_text("levers:\n  - name: x\n    changes: {Atlantis: {capability: 2}}\n")
    s = summarize(accord.load(d), draws=20, models=["compromise"])
    assert s.levers == () and any("levers not run" in n for n in s.notes)
    assert s.issues[0].median == s.issues[0].median  # the forecast is there


def test_the_median_standard_error_matches_the_spread_of_medians_over_seeds():
    from accord.analysis.summary import _weighted_quantiles, median_se

    rng = np.random.default_rng(1)
    meds, ses = [], []
    for _ in range(300):  # a one-shot model (2,000 draws) pooled with a dynamic one (200)
        parts = [rng.normal(40, 10, 2_000), rng.gamma(2.0, 8.0, 200)]
        meds.append(float(_weighted_quantiles(parts, (0.5,))[0]))
        ses.append(median_se(parts))
    spread = float(np.std(meds))
    assert 0.7 * spread < float(np.mean(ses)) < 1.4 * spread


def test_a_probability_standard_error_bounds_the_spread_of_a_mean_of_probabilities():
    from accord.analysis.summary import proportion_se

    rng = np.random.default_rng(2)
    means = [rng.beta(0.5, 2.0, 1_000).mean() for _ in range(400)]
    p = float(np.mean(means))
    assert float(np.std(means)) <= proportion_se(p, 1_000)
    assert proportion_se(0.5, 10_000) == pytest.approx(0.005)
    assert proportion_se(None, 10) is None and proportion_se(0.3, 0) is None


def test_every_summary_states_its_monte_carlo_precision_against_the_bound():
    s = summarize(accord.load("eu-emissions"), draws=400, models=["compromise", "median"],
                  levers=None)
    assert s.precision.startswith("Monte-Carlo standard error: medians within ±")
    assert all(x.mc_se is not None and x.mc_se >= 0 for x in s.issues)
    assert all(d.mc_se is not None and d.mc_se <= 0.01 for d in s.deals)  # 10⁴ outlook draws
    few = summarize(accord.load("ukraine-2025"), draws=5, models=["compromise"], levers=None,
                    outlook=None)
    assert "ABOVE the bound: raise --draws" in few.precision


def test_the_levers_run_on_their_own_draws_and_their_precision_is_printed():
    s = summarize(accord.load("ukraine-2025"), draws=120, models=["compromise", "median"],
                  outlook=None, lever_draws=40)
    assert s.lever_draws == 40 and "40 draws per view" in s.bases["levers"]
    assert all(x.mc_se is not None and x.mc_se >= 0 for x in s.levers)
    assert "the lever's shift within ±" in s.precision
    assert "the lever's change of a deal's share within ±" in s.precision
    assert summarize(accord.load("ukraine-2025"), draws=30, models=["compromise"],
                     outlook=None).lever_draws == 30           # never more than --draws
    assert summarize(accord.load("eu-emissions"), draws=30, models=["compromise"],
                     levers=None, outlook=None).lever_draws is None


def test_a_single_models_wider_error_is_said_and_the_pooled_bound_still_holds():
    """A dynamic model's own median rests on its 100 draws per view: its standard error is
    printed (not hidden behind the pooled one), and it shrinks as --dynamic-draws grows."""
    sc = accord.load("ukraine-2025")
    few = summarize(sc, draws=400, models=["compromise", "bdm"], dynamic_draws=20,
                    outlook=None, levers=None)
    more = summarize(sc, draws=400, models=["compromise", "bdm"], dynamic_draws=80,
                     outlook=None, levers=None)
    assert set(few.model_mc_se) == {"compromise", "bdm"}
    assert few.model_mc_se["bdm"] > few.model_mc_se["compromise"]
    assert more.model_mc_se["bdm"] < few.model_mc_se["bdm"]
    assert "a single model's own median within ±" in few.precision
    assert "(largest: bdm; --dynamic-draws narrows it)" in few.precision
    one_shot = summarize(sc, draws=2_000, models=["compromise"], outlook=None, levers=None)
    assert one_shot.model_mc_se["compromise"] < 0.01
    assert "single model" not in one_shot.precision      # within the bound: nothing to add


def test_feasibility_and_levers_run_beside_the_models_with_the_same_bytes(monkeypatch):
    """On more than one core feasibility and the levers run on a thread of their own while
    the models run; the analysis is the same bytes as one step after the other
    (``ACCORD_THREADS=1``), and the progress callback never sees two steps at once."""
    import threading
    import time

    from accord.analysis import feasibility as F
    from accord.analysis import summary as S
    from accord.results import dumps

    sc = accord.load("eu-emissions")
    real = F.feasibility

    def run(threads: str):
        monkeypatch.setenv("ACCORD_THREADS", threads)
        where, steps, inside = [], [], []

        def spy(*a, **kw):
            where.append(threading.current_thread() is threading.main_thread())
            return real(*a, **kw)

        def progress(step):
            inside.append(step)
            assert len(inside) == 1, f"{step} reported while {inside[0]} was"
            time.sleep(0.01)  # widen the window a second caller would fall in
            steps.append((step, threading.current_thread() is threading.main_thread()))
            inside.pop()

        monkeypatch.setattr(F, "feasibility", spy)
        res = S.analyse(sc, draws=60, seed=3, models=FAST + ["bdm"], dynamic_draws=8,
                        progress=progress)
        return dumps({**res.forecast.to_json(), "summary": res.summary.to_json()}), where, steps

    one, where1, steps1 = run("1")
    two, where2, steps2 = run("2")
    assert one == two
    assert where1 == [True] and where2 == [False]        # beside the models on two cores
    assert ("feasibility", False) in steps2 and ("bdm", True) in steps2
    assert sorted(s for s, _ in steps1) == sorted(s for s, _ in steps2)  # every step said


def test_pooled_quantiles_sort_each_part_then_merge_as_one_stable_sort_would():
    """The pooled distribution sorts each part (model × view) before one stable sort merges
    them: the same values and weights, in the same order, as a stable sort of the raw
    draws, ties across parts included."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from accord.analysis.summary import _pooled_cdf

    def plain(parts):
        vals = [p[~np.isnan(p)] for p in parts]
        vals = [p for p in vals if len(p)]
        v = np.concatenate(vals)
        w = np.concatenate([np.full(len(p), 1.0 / len(p)) for p in vals])
        order = np.argsort(v, kind="stable")
        v, w = v[order], w[order]
        return v, (np.cumsum(w) - 0.5 * w) / w.sum()

    part = st.lists(st.sampled_from([0.0, -0.0, 1.0, 2.5, 7.0, np.nan]) | st.floats(-5, 5),
                    min_size=0, max_size=30).map(np.array)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(part, min_size=1, max_size=6))
    def check(parts):
        got = _pooled_cdf(parts)
        if all(np.isnan(p).all() for p in parts):
            assert got is None
            return
        want = plain(parts)
        assert got[0].tobytes() == want[0].tobytes() and got[1].tobytes() == want[1].tobytes()

    check()
