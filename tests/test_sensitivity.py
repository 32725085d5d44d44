"""Key actors, Sobol indices and who would have to move."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import accord
from accord.analysis.feasibility import weights
from accord.analysis.sensitivity import concessions, key_actors, needed_concession, sobol
from accord.models.base import Inputs

TINY = """
scenario: tiny
issues:
  x: {{question: Where?, scale: [0, 100], status_quo: 50}}
  y: {{question: When?, scale: [0, 10], status_quo: 5}}
actors:
  a:
    capability: {{value: 3, range: [2, 4]}}
    veto: true
    no_deal: {{value: {nd_a}, range: [{nd_a_lo}, {nd_a_hi}]}}
    stances:
      x: {{position: 0, salience: 1}}
      y: {{position: {{value: 2, range: [0, 4]}}, salience: 0.5}}
  b:
    capability: 1
    veto: true
    no_deal: {nd_b}
    stances:
      x: {{position: 100, salience: 1}}
  c:
    capability: 2
    stances:
      x: {{position: 60, salience: {{value: 0.5, range: [0.2, 0.8]}}}}
      y: {{position: 8, salience: 0.5}}
"""


def _tiny(tmp_path, nd_a=0.5, nd_b=0.5, spread=0.1):
    p = tmp_path / "tiny.yaml"
    p.write_text(TINY.format(nd_a=nd_a, nd_a_lo=max(0, nd_a - spread),
                             nd_a_hi=min(1, nd_a + spread), nd_b=nd_b))
    return accord.load(p)


def test_the_unweighted_mean_moves_one_nth_per_unit_of_position_and_ignores_clout(tmp_path):
    sc = _tiny(tmp_path)
    effects, ranking = key_actors(sc, ["mean"], draws=20, seed=1)
    e = effects.set_index(["actor", "field", "issue"])["effect"]
    # the mean of the positions on x (three actors) and y (two actors)
    assert e[("a", "position", "x")] == pytest.approx(1 / 3)
    assert e[("c", "position", "y")] == pytest.approx(1 / 2)
    assert e[("a", "capability", "x")] == 0 and e[("c", "salience", "x")] == 0
    r = ranking.set_index("actor")
    assert (r.capability == 0).all() and (r.salience == 0).all()


def test_the_compromise_pull_of_a_position_is_its_weight_share(tmp_path):
    sc = _tiny(tmp_path)
    effects, _ = key_actors(sc, ["compromise"], draws=30, seed=2)
    e = effects.set_index(["actor", "field", "issue"])["effect"]
    # weighted mean with weights capability × salience: d forecast / d position = share
    from accord.analysis.sweeps import sample_chunk, tables

    inp, _ = sample_chunk(tables(sc, "base"), 30, np.random.SeedSequence(2))
    w = inp.capability[:, :, None] * inp.salience
    share = w[:, 0, 0] / np.nansum(w[:, :, 0], axis=1)
    assert e[("a", "position", "x")] == pytest.approx(share.mean())


def test_key_actors_on_the_flagship_rank_every_actor():
    sc = accord.load("ukraine-2025")
    effects, ranking = key_actors(sc, ["compromise"], draws=20, seed=0)
    assert set(ranking.actor) == set(sc.actor_ids)
    assert (ranking.influence >= 0).all()
    assert ranking.influence.is_monotonic_decreasing
    assert ranking.iloc[0].influence > ranking.iloc[-1].influence


def test_sobol_finds_the_only_inputs_a_forecast_depends_on(tmp_path):
    sc = _tiny(tmp_path)
    res = sobol(sc, model="mean", n=64, seed=3, num_resamples=20)
    # the unweighted mean of y depends on a's position on y alone (capability, salience,
    # no-deal values do not enter it)
    y = res.indices[res.indices.output == "mean:y"].set_index("input")
    assert y.loc["a.y.position", "ST"] == pytest.approx(1.0, abs=0.05)
    assert y.drop("a.y.position").ST.abs().max() < 0.05
    assert any("mean:x" in n for n in res.notes)  # constant: nobody's x position is ranged
    slack = res.indices[res.indices.output == "slack:comprehensive"].set_index("input")
    assert slack.ST.idxmax() in ("a.no_deal", "a.y.position")


def test_sobol_on_the_flagship_names_no_deal_values_for_feasibility():
    sc = accord.load("ukraine-2025")
    res = sobol(sc, model="compromise", n=8, seed=0, num_resamples=10)
    assert res.evaluations == 8 * (len(res.inputs) + 2)
    top = res.top(3)
    assert set(top.output) >= {"compromise:territory", "slack:comprehensive"}


@settings(max_examples=25, deadline=None)
@given(st.floats(0.05, 0.95), st.floats(0.05, 0.95))
def test_the_concession_needed_between_two_rivals_is_exact(nd_a, nd_b):
    # one issue, A at 0 and B at 100: u_A(x) = 1 - x/100, u_B(x) = x/100. B accepts x >= 100 nd_b,
    # so A must accept u_A = 1 - nd_b: it must lower its no-deal value by nd_a - (1 - nd_b).
    inputs = Inputs.from_arrays([1.0, 1.0], [[0.0], [100.0]], [[1.0], [1.0]], [0.0], [100.0])
    w = weights(inputs.salience, inputs.position, inputs.low, inputs.high)
    c = 1 - np.array([[nd_a, nd_b]])
    need = needed_concession(w, inputs.position, c, np.ones((1, 2), bool), np.ones((1, 1), bool), 0)
    assert need[0] == pytest.approx(nd_a - (1 - nd_b), abs=1e-9)
    assert np.isfinite(need).all()


def test_concessions_on_a_scenario_where_nobody_can_agree(tmp_path):
    sc = _tiny(tmp_path, nd_a=0.8, nd_b=0.7, spread=0.05)
    c = concessions(sc, draws=50, seed=1).set_index(["deal", "actor"])
    # u_a(x) = 1 - (2/3) x/100 (y is set at a's ideal; b takes no part in it), u_b(x) = x/100:
    # b accepts x >= 70, where a gets 0.533, so a (no-deal ~0.8) must concede ~0.267; a accepts
    # x <= 30 (at no-deal 0.8), where b gets 0.3, so b must concede ~0.4
    row = c.loc[("comprehensive", "a")]
    assert row.p_needed == 1.0
    assert row.median_needed == pytest.approx(0.8 - (1 - 2 / 3 * 0.7), abs=0.02)
    assert c.loc[("comprehensive", "b"), "p_needed"] == 1.0
    assert c.loc[("comprehensive", "b"), "median_needed"] == pytest.approx(0.4, abs=0.03)
    assert (c.p_alone_insufficient == 0).all()


def test_cli_keyactors_and_sensitivity(tmp_path):
    from accord.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["keyactors", "ukraine-2025", "--draws", "10", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert {x["actor"] for x in doc["concessions"]} == {"russia", "ukraine", "usa"}
    r = runner.invoke(app, ["keyactors", "eu-emissions", "--models", "median"])
    assert r.exit_code == 0, r.output
    assert "no veto players" in r.output
    sc = _tiny(tmp_path)
    r = runner.invoke(app, ["sensitivity", str(tmp_path / "tiny.yaml"), "--model", "mean", "--n", "16"])
    assert r.exit_code == 0, r.output
    assert "a.y.position" in r.output
    r = runner.invoke(app, ["sensitivity", "eu-emissions"])
    assert r.exit_code == 2 and "no ranged inputs" in r.output
    r = runner.invoke(app, ["sensitivity", "eu-emissions", "--spread", "0.1", "--n", "16",
                            "--model", "compromise", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["spread"] == 0.1 and any("--spread" in n for n in doc["notes"])
    assert {x["input"] for x in doc["indices"]} >= {"UK.capability", "UK.emissions.position"}
    r = runner.invoke(app, ["sensitivity", "eu-emissions", "--n", "10"])
    assert r.exit_code == 2 and "power of 2" in r.output
