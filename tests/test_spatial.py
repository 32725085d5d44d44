"""KTAB's Spatial Model of Politics: KTAB's own trajectories, reproduced turn by turn, and
the properties any spatial bargaining model should have."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from accord import models
from accord.models import Inputs
from accord.models.spatial import PARAMS, simulate
from accord.scenario import io

# (data set, turns checked in the default run: None = all of them)
DATASETS = [("dummyData_3Dim", None), ("SOE-Pol-Comp", None), ("SOE-Policy", None),
            ("dummyData_6Dim", None), ("SOE-Competitive", None), ("dummyData-a040", None),
            ("dummyData-a080", None), ("dummyData-a160", 3)]
KTAB_NAMES = ("VictoryProbModel", "PCEModel", "StateTransitions", "VotingRule", "BigRAdjust",
              "BigRRange", "ThirdPartyCommit", "InterVecBrgn", "BargnModel")


def load(reference, name):
    ref = json.loads((reference / "ktab" / f"{name}.expected.json").read_text())
    sc = io.read(reference / "ktab" / f"{name}.csv")
    return ref, sc


def check_against_ktab(ref, sc, out, turns):
    """README §7: positions and ideals |Δ| <= 1e-6 (0-100), probabilities and fractional
    change |Δ| <= 1e-9, the same number of turns and stop reason."""
    names = [a["name"] for a in ref["actors"]]
    assert list(sc.actor_ids) == names
    if turns is None:
        assert int(out.rounds_run[0]) == ref["n_turns"]
        assert out.stop_reason[0] == ref["stop_reason"] == "converged"
    for t in range(turns + 1 if turns is not None else ref["n_states"]):
        want = ref["turns"][t]
        pos = np.array([want["positions"][n] for n in names])
        ideal = np.array([want["ideals"][n] for n in names])
        np.testing.assert_allclose(out.positions[0, t], pos, rtol=0, atol=1e-6,
                                   err_msg=f"turn {t}")
        np.testing.assert_allclose(out.positions[0, t], ideal, rtol=0, atol=1e-6)
        if t > 0:  # on the 0.01 grid: two decimals agree exactly
            np.testing.assert_array_equal(np.round(out.positions[0, t], 2), np.round(pos, 2))
        prob = np.array([want["probabilities"][n] for n in names])
        np.testing.assert_allclose(out.extra["probability"][0, t], prob, rtol=0, atol=1e-9,
                                   err_msg=f"turn {t}")
        if t > 0:
            assert out.extra["fractional_change"][0, t] == pytest.approx(
                want["fractional_change"], abs=1e-9)


@pytest.mark.parametrize("name, turns", DATASETS)
def test_ktab_positions_and_probabilities_are_reproduced_every_turn(reference, name, turns):
    ref, sc = load(reference, name)
    rounds = 100 if turns is None else turns
    out, prm = models.run("smp", sc.inputs(), preset="ktab", rounds=rounds)
    assert {k: prm[k] for k in KTAB_NAMES} == ref["parameters"]
    check_against_ktab(ref, sc, out, turns)


@pytest.mark.slow
def test_the_160_actor_set_is_reproduced_to_the_end(reference):
    ref, sc = load(reference, "dummyData-a160")
    out, _ = models.run("smp", sc.inputs(), preset="ktab")
    check_against_ktab(ref, sc, out, None)


def test_accord_run_smp_json_reproduces_ktab(reference):
    ref, _ = load(reference, "SOE-Pol-Comp")
    path = reference / "ktab" / "SOE-Pol-Comp.csv"
    r = CliRunner().invoke(models_app(), ["run", "smp", str(path), "--preset", "ktab", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["model"] == "smp" and doc["preset"] == "ktab"
    assert doc["stop_reason"] == "converged"
    assert len(doc["rounds"]) == ref["n_states"]
    for t, turn in enumerate(ref["turns"]):
        got = doc["rounds"][t]
        for actor, xs in turn["positions"].items():
            assert [got["positions"][actor][d] for d in doc["issues"]] == pytest.approx(
                xs, abs=1e-6)
            assert got["probabilities"][actor] == pytest.approx(
                turn["probabilities"][actor], abs=1e-9)
    # who challenged whom and whose bargain each actor took, per turn
    assert set(doc["rounds"][1]["targets"]) == set(doc["actors"])
    assert doc["rounds"][1]["fractional_change"] == pytest.approx(
        ref["turns"][1]["fractional_change"], abs=1e-9)


def models_app():
    from accord.cli import app

    return app


def test_the_nine_ktab_parameters_are_exposed_with_ktab_defaults():
    spec = models.get("smp")
    names = [p.name for p in spec.params]
    assert names[:9] == list(KTAB_NAMES)
    values = spec.resolve("ktab", None)
    assert values["VotingRule"] == "Prop" and values["PCEModel"] == "Conditional"
    assert values["BargnModel"] == "InitOnlyInterp" and values["InterVecBrgn"] == "S2P2"
    with pytest.raises(ValueError):
        spec.resolve("ktab", {"VotingRule": "Loud"})


@pytest.mark.parametrize("param", PARAMS[:9], ids=lambda p: p.name)
def test_every_parameter_value_runs_and_stays_on_the_scale(reference, param):
    _, sc = load(reference, "dummyData_3Dim")
    for value in param.choices:
        out, _ = models.run("smp", sc.inputs(), params={param.name: value}, seed=3, rounds=12)
        assert np.all((out.positions >= 0) & (out.positions <= 100)), (param.name, value)
        p = out.extra["probability"]
        assert np.all((p >= 0) & (p <= 1 + 1e-12)), (param.name, value)


def test_turn_counts_of_two_non_default_runs_match_ktab_research_notes(reference):
    """research/ktab.md §3.4: SOE-Pol-Comp takes 53 states with Cubic voting and 8 with
    InitRcvrInterp (which builds the receiver's bargain from j's estimated gain)."""
    _, sc = load(reference, "SOE-Pol-Comp")
    cubic, _ = models.run("smp", sc.inputs(), params={"VotingRule": "Cubic"})
    assert int(cubic.rounds_run[0]) + 1 == 53
    rcvr, _ = models.run("smp", sc.inputs(), params={"BargnModel": "InitRcvrInterp"})
    assert int(rcvr.rounds_run[0]) + 1 == 8


def test_stochastic_transitions_are_reproducible_for_a_seed(reference):
    _, sc = load(reference, "dummyData_3Dim")
    prm = {"StateTransitions": "Stochastic"}
    a, _ = models.run("smp", sc.inputs(), params=prm, seed=11)
    b, _ = models.run("smp", sc.inputs(), params=prm, seed=11)
    np.testing.assert_array_equal(a.positions, b.positions)
    runs = {models.run("smp", sc.inputs(), params=prm, seed=s)[0].positions[0, -1].tobytes()
            for s in range(4)}
    assert len(runs) > 1


def test_saliences_over_one_are_rescaled_and_reported_or_refused():
    inp = Inputs.from_arrays([10, 20, 30], [[10, 90], [50, 50], [90, 10]],
                             [[0.8, 0.7], [0.5, 0.5], [0.2, 0.3]], low=[0, 0], high=[100, 100],
                             actors=["a", "b", "c"])
    out, _ = models.run("smp", inp, rounds=3)
    assert out.summary["salience_rescaled"] == ["a"]
    with pytest.raises(ValueError, match="at most 1"):
        models.run("smp", inp, params={"SalienceSum": "Reject"})


def test_an_actor_without_a_stance_is_neither_moved_nor_pulls():
    pos = np.array([[10.0, 30], [80, np.nan], [50, 70], [20, 90]])
    sal = np.array([[0.4, 0.4], [0.6, np.nan], [0.3, 0.3], [0.5, 0.2]])
    inp = Inputs.from_arrays([10, 40, 20, 15], pos, sal, low=[0, 0], high=[100, 100])
    out, _ = models.run("smp", inp, rounds=6)
    assert np.isnan(out.positions[0, :, 1, 1]).all()
    assert np.isfinite(out.positions[0, :, [0, 2, 3]]).all()


# ---- properties ----------------------------------------------------------------------------

@st.composite
def scenarios(draw, max_actors=6, max_dims=3):
    n = draw(st.integers(3, max_actors))
    k = draw(st.integers(1, max_dims))
    # positions on the 0.01 grid of 0-100, as in KTAB's files; distinct actors
    grid = st.integers(0, 10000).map(lambda v: v / 100)
    rows = draw(st.lists(st.lists(grid, min_size=k, max_size=k), min_size=n, max_size=n,
                         unique_by=tuple))
    sal = draw(st.lists(st.lists(st.integers(1, 100), min_size=k, max_size=k),
                        min_size=n, max_size=n))
    sal = np.array(sal, float)
    sal = sal / sal.sum(axis=1, keepdims=True) * np.array(
        draw(st.lists(st.floats(0.3, 1.0), min_size=n, max_size=n)))[:, None]
    # distinct capabilities: KTAB breaks exact ties by actor index, so perfectly
    # symmetric actors are the one case where order (not only content) decides
    cap = draw(st.lists(st.integers(100, 20000), min_size=n, max_size=n, unique=True))
    return np.array(rows), sal, np.array(cap) / 100


PROPS = settings(max_examples=25, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(scenarios(), st.randoms(use_true_random=False))
def test_permuting_actors_permutes_the_trajectory(sc, rnd):
    pos, sal, cap = sc
    perm = np.array(rnd.sample(range(len(cap)), len(cap)))
    a = simulate(pos[None] / 100, sal[None], cap[None], rounds=6)
    b = simulate(pos[perm][None] / 100, sal[perm][None], cap[perm][None], rounds=6)
    assert a["rounds_run"][0] == b["rounds_run"][0]
    np.testing.assert_allclose(b["positions"][0], a["positions"][0][:, perm], rtol=0, atol=1e-9)
    # KTAB merges positions closer than 1e-3 greedily in actor order (not transitively), so
    # the probabilities are order-free only where no two distinct positions are that close
    for t in range(int(a["rounds_run"][0]) + 1):
        x = a["positions"][0, t]
        gap = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
        if np.all((gap < 1e-12) | (gap > 2e-3)):
            np.testing.assert_allclose(b["prob"][0, t], a["prob"][0, t][perm], rtol=0, atol=1e-9)


@PROPS
@given(scenarios(), st.data())
def test_an_actor_with_zero_salience_on_a_dimension_never_pulls_anyone_on_it(sc, data):
    pos, sal, cap = sc
    n, k = sal.shape
    z = data.draw(st.integers(0, n - 1))
    dim = data.draw(st.integers(0, k - 1))
    sal = sal.copy()
    sal[z, dim] = 0.0
    r = simulate(pos[None] / 100, sal[None], cap[None], rounds=8)
    x, partner = r["positions"][0], r["partner"][0]
    for t in range(1, int(r["rounds_run"][0]) + 1):
        took_z = partner[t] == z
        moved = np.abs(x[t, took_z, dim] - x[t - 1, took_z, dim])
        assert np.all(moved < 1e-12), (t, moved)


@PROPS
@given(scenarios(), st.floats(-50, 50), st.floats(1, 500))
def test_positions_stay_on_the_issue_scale(sc, low, width):
    pos, sal, cap = sc
    k = pos.shape[1]
    lo, hi = np.full(k, low), np.full(k, low + width)
    inp = Inputs.from_arrays(cap, lo + pos / 100 * width, sal, low=lo, high=hi)
    out, _ = models.run("smp", inp, rounds=8)
    assert np.all(out.positions >= lo - 1e-9) and np.all(out.positions <= hi + 1e-9)
    assert np.all(out.forecast >= lo - 1e-9) and np.all(out.forecast <= hi + 1e-9)
    zero_hundred = simulate(pos[None] / 100, sal[None], cap[None], rounds=8)["positions"] * 100
    assert np.all((zero_hundred >= 0) & (zero_hundred <= 100))


@settings(max_examples=8, deadline=None, derandomize=True)
@given(scenarios(max_actors=5, max_dims=2), st.integers(2, 4))
def test_a_batch_of_draws_equals_a_loop_over_the_draws(sc, d):
    pos, sal, cap = sc
    rng = np.random.default_rng(0)
    cap_d = cap[None] * rng.uniform(0.5, 1.5, (d, len(cap)))
    pos_d = np.clip(pos[None] + rng.uniform(-5, 5, (d,) + pos.shape), 0, 100)
    inp = Inputs.from_arrays(cap_d, pos_d, np.broadcast_to(sal, pos_d.shape),
                             low=np.zeros(pos.shape[1]), high=np.full(pos.shape[1], 100.0))
    batch, _ = models.run("smp", inp, rounds=10)
    for k in range(d):
        one, _ = models.run("smp", inp.draw(k), rounds=10)
        r = int(one.rounds_run[0])
        assert batch.rounds_run[k] == r and batch.stop_reason[k] == one.stop_reason[0]
        np.testing.assert_array_equal(batch.positions[k, :r + 1], one.positions[0, :r + 1])


def test_the_fast_all_pairs_challenge_equals_ktabs_literal_formula(reference):
    """The hot path regroups KTAB's third-party arithmetic; it must agree with the
    term-by-term version (used for the receiver's view) to rounding."""
    from accord.models import spatial as sp

    _, sc = load(reference, "dummyData_6Dim")
    inp = sc.inputs()
    x, sal, cap = inp.position / 100, inp.salience, inp.capability
    for commit in ("SemiCommit", "NoCommit", "FullCommit"):
        for rule in ("Prop", "Cubic", "ASymProsp"):
            prm = {p.name: p.default for p in sp.PARAMS} | {"ThirdPartyCommit": commit,
                                                          "VotingRule": rule}
            state = sp._State(x, x, sal, cap, prm)
            fast_p, fast_gain = sp._challenge_all(state, sal.sum(-1), cap, prm)
            n = cap.shape[1]
            ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
            ii, jj = ii.reshape(1, -1), jj.reshape(1, -1)
            p, gain = sp._challenge(state, ii, ii, jj, ii, sal.sum(-1), cap, prm)
            off = ~np.eye(n, dtype=bool)
            np.testing.assert_allclose(fast_p[0][off], p.reshape(n, n)[off], rtol=0, atol=1e-12)
            np.testing.assert_allclose(fast_gain[0][off], gain.reshape(n, n)[off], rtol=0,
                                       atol=1e-12)


def _both_paths(*args, **kw):
    """``simulate`` on the array path and on the compiled one (smp_kernel)."""
    import os
    from unittest import mock

    out = []
    for arrays in ("1", "0"):
        with mock.patch.dict(os.environ, {"ACCORD_SMP_ARRAYS": arrays}):
            out.append(simulate(*args, **kw))
    return out


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 14), st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**31),
       st.sampled_from(["grid", "uniform", "silent actor", "accommodation"]))
def test_the_compiled_turn_gives_the_array_paths_bytes(n, k, d, seed, kind):
    """Same algorithm, same bytes: every trajectory, probability, risk attitude, target and
    stop, on ties (positions on a grid), an actor without salience and KTAB's ideal
    adjustment."""
    rng = np.random.default_rng(seed)
    x = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], (d, n, k)) if kind == "grid" else \
        rng.random((d, n, k))
    sal = rng.random((d, n, k))
    sal /= sal.sum(-1, keepdims=True) * rng.uniform(1, 2)
    if kind == "silent actor":
        sal[:, 0] = 0.0
    cap = rng.uniform(0.1, 100, (d, n))
    acc = None
    if kind == "accommodation":
        acc = rng.random((n, n))
        acc /= acc.sum(-1, keepdims=True) * 1.5
    arrays, compiled = _both_paths(x, sal, cap, rounds=25, accommodation=acc)
    for key in arrays.keys() - {"turn_seconds"}:
        np.testing.assert_array_equal(compiled[key], arrays[key], err_msg=key)


def test_the_compiled_sums_are_numpys_pairwise_sums():
    """Bytes depend on the order of every sum: 8 accumulators, then halves past 128."""
    from accord.models._reduce import _pwsum

    rng = np.random.default_rng(5)
    for n in list(range(0, 40)) + [127, 128, 129, 200, 257, 1000]:
        a = rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n)
        assert _pwsum(a, n) == np.sum(a), n


def test_only_the_rules_the_kernel_computes_are_compiled(monkeypatch):
    from accord.models import spatial as sp

    prm = {p.name: p.default for p in PARAMS}
    assert sp._steps(prm)[0] is sp._CompiledState
    for name, other in (("VotingRule", "Cubic"), ("PCEModel", "MarkovUniform"),
                        ("StateTransitions", "Stochastic"), ("BargnModel", "PWCompInterp")):
        assert sp._steps(prm | {name: other})[0] is sp._State, name
    monkeypatch.setenv("ACCORD_SMP_ARRAYS", "1")
    assert sp._steps(prm)[0] is sp._State


def test_the_docstring_example_runs():
    import doctest

    from accord.models import spatial

    assert doctest.testmod(spatial, verbose=False).failed == 0
