"""Settlement feasibility: the exact max-min solver and the properties the issue names."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from typer.testing import CliRunner

import accord
from accord.analysis.feasibility import (COMPREHENSIVE, TOL, deal_issues, evaluate, feasibility,
                                         maxmin, utility, weights)
from accord.models.base import Inputs
from accord.results import dumps

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw, n_max=6, a_max=5, i_max=5):
    """A random batch of negotiations with veto players and no-deal values."""
    n = draw(st.integers(1, n_max))
    a = draw(st.integers(1, a_max))
    i = draw(st.integers(1, i_max))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pos = np.round(rng.uniform(0, 100, (n, a, i)), draw(st.sampled_from([0, 3])))
    pos[rng.random((n, a, i)) < 0.15] = np.nan  # some actors take no part in some issues
    sal = np.round(rng.uniform(0.05, 1, (n, a, i)), 2)
    veto = rng.random(a) < 0.7
    veto[0] = True
    nd = np.round(rng.uniform(0, 1, (n, a)), draw(st.sampled_from([1, 4])))
    inputs = Inputs.from_arrays(rng.uniform(1, 10, (n, a)), pos, sal, np.zeros(i),
                                np.full(i, 100.0), np.full(i, 50.0), veto)
    return inputs, nd


def _lp_value(w, p, c, veto, move):
    """max t s.t. t + sum_j w_aj e_aj <= c_a, e_aj >= |x_j - p_aj| (scipy HiGHS), one problem."""
    a, i = p.shape
    J = np.flatnonzero(move)
    pairs = [(k, j) for k in np.flatnonzero(veto) for j in J if w[k, j] > 0 and not np.isnan(p[k, j])]
    nv = 1 + len(J) + len(pairs)
    A, b = [], []
    col = {j: 1 + t for t, j in enumerate(J)}
    for e, (k, j) in enumerate(pairs):
        for sign in (1, -1):
            r = np.zeros(nv)
            r[col[j]] = sign
            r[1 + len(J) + e] = -1
            A.append(r)
            b.append(sign * p[k, j])
    for k in np.flatnonzero(veto):
        r = np.zeros(nv)
        r[0] = 1
        for e, (kk, j) in enumerate(pairs):
            if kk == k:
                r[1 + len(J) + e] = w[k, j]
        A.append(r)
        b.append(c[k])
    obj = np.zeros(nv)
    obj[0] = -1
    bounds = [(None, 10)] + [(0, 100)] * len(J) + [(0, None)] * len(pairs)
    res = linprog(obj, A_ub=np.array(A), b_ub=np.array(b), bounds=bounds, method="highs")
    assert res.status == 0
    return -res.fun


@FAST
@given(problems(), st.data())
def test_the_compiled_solver_finds_the_linear_programme_optimum(prob, data):
    inputs, nd = prob
    n, a, i = inputs.shape
    move = np.array(data.draw(st.lists(st.booleans(), min_size=i, max_size=i)))
    w = weights(inputs.salience, inputs.position, inputs.low, inputs.high)
    c = 1 - nd
    veto = np.broadcast_to(inputs.veto, (n, a))
    value, x = maxmin(w, inputs.position, c, veto, np.broadcast_to(move, (n, i)))
    for d in range(n):
        assert value[d] == pytest.approx(_lp_value(w[d], inputs.position[d], c[d], inputs.veto,
                                                   move), abs=1e-7)
        # the package attains the value: every veto player's slack there is at least it
        xx = np.where(np.isnan(x[d]), 50.0, x[d])
        loss = np.where(move & (w[d] > 0), w[d] * np.abs(xx - np.nan_to_num(inputs.position[d])), 0)
        slack = c[d] - loss.sum(-1)
        assert slack[inputs.veto].min() == pytest.approx(value[d], abs=1e-7)


def test_utility_is_one_at_the_ideal_and_zero_at_the_far_end_of_every_scale():
    pos = np.array([[[0.0, 100.0]]])
    sal = np.array([[[0.3, 0.9]]])
    w = weights(sal, pos, np.zeros(2), np.full(2, 100.0))
    assert utility(np.array([[0.0, 100.0]]), pos, w)[0, 0] == pytest.approx(1.0)
    assert utility(np.array([[100.0, 0.0]]), pos, w)[0, 0] == pytest.approx(0.0)
    # salience-weighted: missing the more salient issue by half its scale costs 0.9 / 1.2 / 2
    assert utility(np.array([[0.0, 50.0]]), pos, w)[0, 0] == pytest.approx(1 - 0.75 / 2)


def test_two_rivals_whose_reservations_leave_no_overlap_cannot_agree():
    # u_A(x) = 1 - x/100, u_B(x) = x/100: both demand 0.7, so A needs x <= 30 and B x >= 70
    inputs = Inputs.from_arrays([1.0, 1.0], [[0.0], [100.0]], [[1.0], [1.0]], [0.0], [100.0],
                                [50.0], [True, True])
    res = evaluate(inputs, np.array([[0.7, 0.7]]), {COMPREHENSIVE: np.array([True])})
    r = res[COMPREHENSIVE]
    assert not r.feasible[0]
    assert r.value[0] == pytest.approx(-0.2)
    assert r.package[0, 0] == pytest.approx(50.0)
    assert r.spoiler[0].tolist() == [True, True]
    assert r.shortfall[0] == pytest.approx([0.2, 0.2])
    # with modest demands there is a zone of agreement
    assert evaluate(inputs, np.array([[0.4, 0.4]]), {COMPREHENSIVE: np.array([True])})[
        COMPREHENSIVE].feasible[0]


@FAST
@given(problems(), st.data())
def test_feasibility_never_falls_when_a_veto_players_no_deal_value_worsens(prob, data):
    inputs, nd = prob
    n, a, i = inputs.shape
    k = data.draw(st.sampled_from(list(np.flatnonzero(inputs.veto))))
    drop = data.draw(st.floats(0, 1))
    worse = nd.copy()
    worse[:, k] = np.clip(worse[:, k] - drop, 0, 1)
    deals = deal_issues({"narrow": inputs.issues[:1]}, inputs.issues)
    for mode in ("reserved", "status_quo"):
        before = evaluate(inputs, nd, deals, unsettled=mode)
        after = evaluate(inputs, worse, deals, unsettled=mode)
        for name in deals:
            assert (after[name].value >= before[name].value - 1e-12).all()
            assert (after[name].feasible | ~before[name].feasible).all()


@FAST
@given(problems(), st.data())
def test_a_veto_player_whose_no_deal_value_is_the_worst_possible_never_blocks(prob, data):
    inputs, nd = prob
    n, a, i = inputs.shape
    k = data.draw(st.sampled_from(list(np.flatnonzero(inputs.veto))))
    nd = nd.copy()
    nd[:, k] = 0.0
    deals = deal_issues({"narrow": inputs.issues[-1:]}, inputs.issues)
    without = inputs.veto.copy()
    without[k] = False
    for mode in ("reserved", "status_quo"):
        res = evaluate(inputs, nd, deals, unsettled=mode)
        ref = evaluate(inputs, nd, deals, veto=without, unsettled=mode)
        for name in deals:
            assert not res[name].spoiler[:, k].any()
            assert (res[name].slack[:, k] >= -TOL).all()
            assert (res[name].feasible == ref[name].feasible).all()


@FAST
@given(problems(), st.data())
def test_a_narrow_deal_is_feasible_whenever_the_comprehensive_one_is(prob, data):
    inputs, nd = prob
    i = inputs.shape[2]
    wide = data.draw(st.lists(st.booleans(), min_size=i, max_size=i))
    narrow = [w and data.draw(st.booleans()) for w in wide]
    deals = {COMPREHENSIVE: np.ones(i, bool), "wide": np.array(wide), "narrow": np.array(narrow)}
    res = evaluate(inputs, nd, deals, unsettled="reserved")
    # reserved reading: fewer settled issues, fewer concessions
    assert (res["narrow"].feasible | ~res["wide"].feasible).all()
    assert (res["wide"].feasible | ~res[COMPREHENSIVE].feasible).all()
    assert (res["narrow"].value >= res["wide"].value - 1e-12).all()
    # status-quo reading: a narrow deal is the wide one with issues pinned, so it implies it
    sq = evaluate(inputs, nd, deals, unsettled="status_quo")
    assert (sq["wide"].feasible | ~sq["narrow"].feasible).all()
    assert (sq[COMPREHENSIVE].feasible | ~sq["wide"].feasible).all()


def test_flagship_feasibility_per_view_and_ensemble():
    sc = accord.load("ukraine-2025")
    f = feasibility(sc, draws=100, seed=3)
    views = set(f.summary.view)
    assert views == set(sc.views) | {"ensemble"}
    assert set(f.summary.deal) == {COMPREHENSIVE, "ceasefire", "framework"}
    assert f.summary.p_feasible.between(0, 1).all()
    assert (f.summary.p_low <= f.summary.p_feasible).all()
    assert (f.summary.p_feasible <= f.summary.p_high).all()
    ens = f.summary[f.summary.view == "ensemble"].set_index("deal")
    # the flagship's narrow deals pin nothing a red line constrains, so (status-quo reading)
    # a narrow deal is feasible in a draw only where the comprehensive one is
    assert ens.loc["ceasefire", "p_feasible"] <= ens.loc[COMPREHENSIVE, "p_feasible"] or \
        any(a.red_lines for a in sc.actors)
    assert set(f.spoilers.actor) >= {"russia", "ukraine", "usa"}
    pk = f.packages[(f.packages.deal == "ceasefire") & ~f.packages.settled
                    & f.packages.view.isin(list(sc.views))]
    pins = sc.deal_pins.get("ceasefire", {})
    # unsettled issues stay at the status quo of the view's own time (its dated base), pinned
    # ones at the pin
    want = [pins.get(r.issue, sc.view(r.view).issue(r.issue).status_quo) for r in pk.itertuples()]
    assert (pk["median"].to_numpy() == want).all()
    assert f.notes == []
    again = feasibility(sc, draws=100, seed=3)
    assert dumps(f.to_json()) == dumps(again.to_json())


def test_without_veto_players_the_output_says_so():
    f = feasibility(accord.load("eu-emissions"), draws=10)
    assert f.summary.p_feasible.tolist() == [1.0]
    assert any("no actor has a veto" in n for n in f.notes)


def test_a_veto_player_without_a_no_deal_value_is_reported(tmp_path):
    text = """
scenario: tiny
issues:
  x: {question: Where?, scale: [0, 10], status_quo: 5}
actors:
  a: {capability: 1, veto: true, no_deal: 0.9, stances: {x: {position: 0, salience: 1}}}
  b: {capability: 1, veto: true, stances: {x: {position: 10, salience: 1}}}
"""
    (tmp_path / "s.yaml").write_text(text)
    f = feasibility(accord.load(tmp_path / "s.yaml"), draws=5)
    assert any("b" in n and "treated as 0" in n for n in f.notes)
    assert f.summary.p_feasible.tolist() == [1.0]


def test_cli_feasibility_json_is_deterministic():
    from accord.cli import app

    runner = CliRunner()
    args = ["feasibility", "ukraine-2025", "--draws", "30", "--seed", "5", "--json"]
    a = runner.invoke(app, args)
    b = runner.invoke(app, args)
    assert a.exit_code == 0, a.output
    assert a.output == b.output
    doc = json.loads(a.stdout)
    assert doc["seed"] == 5 and doc["unsettled"] == "status_quo"
    assert {r["deal"] for r in doc["feasibility"]} == {COMPREHENSIVE, "ceasefire", "framework"}
    table = runner.invoke(app, ["feasibility", "ukraine-2025", "--draws", "30"])
    assert table.exit_code == 0 and "ensemble" in table.output and "ceasefire" in table.output
    bad = runner.invoke(app, ["feasibility", "ukraine-2025", "--deals", "nope"])
    assert bad.exit_code == 2 and "unknown deal" in bad.output
