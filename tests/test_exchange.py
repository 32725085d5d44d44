"""The exchange model against decide-exchange-model's recorded trajectories, and its invariants.

The reference (``shared/reference/exchange``) holds decide's runs on its four shipped data
sets. ``deterministic_p0_tolerant`` is decide's logic with its rounding-noise comparisons
made exact; accord must follow it exchange by exchange.
"""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.models import Inputs, run
from accord.models.exchange import inputs_from_scenario, run_exchange, trades_frame
from accord.scenario.io import read

DATASETS = {
    "sample_data": "sample_data.txt",
    "copenhagen": "copenhagen.csv",
    "copenhagen_with_errors": "copenhagen_with_errors.csv",
    "cop21": "cop21.csv",
}
TOL = 1e-9


@lru_cache(maxsize=None)
def _expected(path: str) -> dict:
    return json.loads(Path(path).read_text())


def _load(reference: Path, name: str):
    ref = _expected(str(reference / "exchange" / f"{name}.expected.json"))
    sc = read(reference / "exchange" / DATASETS[name], lenient=True)
    return sc, ref


def _max_pos_diff(ours: dict, theirs: dict) -> float:
    assert set(ours) == set(theirs)
    worst = 0.0
    for actor, row in theirs.items():
        assert set(ours[actor]) == set(row), actor
        for issue, v in row.items():
            worst = max(worst, abs(ours[actor][issue] - v))
    return worst


def _max_iss_diff(ours: dict, theirs: dict) -> float:
    return max(abs(ours[i] - v) for i, v in theirs.items())


@pytest.mark.parametrize("name", list(DATASETS))
def test_cli_run_follows_decide_deterministic_trajectory_exchange_by_exchange(reference, name):
    """`accord run exchange FILE --preset decide_deterministic --rounds 10 --json` gives
    decide's (tolerant) trajectory: same exchanges in the same order, every preference
    and voting position in every round within 1e-9 in the issue's units."""
    from typer.testing import CliRunner

    from accord.cli import app

    path = reference / "exchange" / DATASETS[name]
    args = ["run", "exchange", str(path), "--preset", "decide_deterministic", "--rounds", "10",
            "--json"]
    if name == "copenhagen_with_errors":
        args.append("--lenient")
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    _, ref = _load(reference, name)
    assert doc["model"] == "exchange" and doc["preset"] == "decide_deterministic"
    assert doc["actors"] == ref["actors"]
    assert _max_iss_diff(doc["rounds"][0]["forecast"], ref["initial_mds"]) < TOL
    for ours, theirs in zip(doc["rounds"][1:], ref["deterministic_p0_tolerant"]["rounds"], strict=True):
        r = theirs["round"]
        got = [(e["i"], e["j"], tuple(e["issue_pair"])) for e in ours["exchanges"]]
        want = [(e["i"], e["j"], tuple(e["issue_pair"])) for e in theirs["exchanges"]]
        assert got == want, f"round {r}: exchange lists differ"
        for e, t in zip(ours["exchanges"], theirs["exchanges"]):
            assert abs(e["gain"] - t["gain"]) < TOL
            assert e["i_side"]["supply_issue"] == t["i_side"]["supply_issue"]
            assert abs(e["i_side"]["y"] - t["i_side"]["y"]) < TOL
            assert abs(e["j_side"]["y"] - t["j_side"]["y"]) < TOL
        assert _max_pos_diff(ours["preference_positions"], theirs["positions_start"]) < TOL
        assert _max_pos_diff(ours["voting_positions"], theirs["positions_voting"]) < TOL
        assert _max_pos_diff(ours["positions"], theirs["positions_voting"]) < TOL
        assert _max_pos_diff(ours["positions_after_update"], theirs["positions_end"]) < TOL
        assert _max_iss_diff(ours["mds_preference"], theirs["mds_preference"]) < TOL
        assert _max_iss_diff(ours["forecast"], theirs["mds_voting"]) < TOL
        assert _max_iss_diff(ours["mds_after_update"], theirs["mds_after_update"]) < TOL


def test_the_issue_scale_changes_the_result_as_in_decide(reference):
    """decide compares gains in 0-100 units per issue: giving tol-hoogte (0.5-7) a 0-100
    scale changes the other issues' outcomes, and the reference follows the real scale."""
    sc, ref = _load(reference, "sample_data")
    inp = inputs_from_scenario(sc)
    out = run_exchange(inp, rounds=10, rng=0, random_ties=False, record=False)
    k = inp.issues.index("tol-hoogte")
    wide = dataclasses.replace(inp, low=np.where(np.arange(len(inp.issues)) == k, -50.0, inp.low),
                               high=np.where(np.arange(len(inp.issues)) == k, 50.0, inp.high))
    out2 = run_exchange(wide, rounds=10, rng=0, random_ties=False, record=False)
    last = ref["deterministic_p0_tolerant"]["rounds"][-1]["mds_voting"]
    assert max(abs(out.final[0, j] - last[i]) for j, i in enumerate(inp.issues)) < TOL
    others = [j for j in range(len(inp.issues)) if j != k]
    assert np.max(np.abs(out2.final[0, others] - out.final[0, others])) > 0.5


def _batch(inp: Inputs, n: int) -> Inputs:
    rep = {f: np.repeat(getattr(inp, f), n, axis=0) for f in ("capability", "position", "salience")}
    if getattr(inp, "power", None) is not None:
        rep["power"] = np.repeat(inp.power, n, axis=0)
    return dataclasses.replace(inp, **rep)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=-2**63 + 1, max_value=2**63 - 1),
       st.integers(min_value=1, max_value=1500))
def test_the_compiled_stream_is_pythons_random(seed, n):
    """decide flips its coins with ``random.random()``; accord's copy of the Mersenne Twister,
    seeded in compiled code, gives the same numbers for any int64 seed, across the 624-word
    refills."""
    import random

    from accord.models.exchange import _mt_random, python_stream

    state, theirs = python_stream(seed), random.Random(seed)
    assert [_mt_random(state) for _ in range(n)] == [theirs.random() for _ in range(n)]


# rounds before decide's Decimal rounding noise first decides a comparison, for seeds 1-20
# at p = 0 (seeded_p0_meta) and for seed 1 at p = 0.8 (randomized_p08_seed1)
REPLAYED_P0 = {"sample_data": 1, "copenhagen": 1, "copenhagen_with_errors": 1}
REPLAYED_P08 = {"sample_data": 1, "copenhagen": 3, "copenhagen_with_errors": 6}


def _same_rounds(out, k, inp, theirs, rounds):
    for r in range(rounds):
        ours = out.forecast[k, r + 1]
        assert max(abs(ours[j] - theirs[r][i]) for j, i in enumerate(inp.issues)) < TOL, r + 1


@pytest.mark.parametrize("name", list(REPLAYED_P0))
def test_python_seed_replays_decides_seeded_runs(reference, name):
    """``python_seed=s`` draws from Python's random stream after ``random.seed(s)``, as decide
    does, so each seeded run is decide's own run (same coin flips, same p > 0 draws) until
    decide's 28-digit rounding noise first decides a tie that exact arithmetic leaves to list
    order (README §4.2): on these sets never in round 1 for seeds 1-20, whose coin flips
    already give different round-1 outcomes."""
    sc, ref = _load(reference, name)
    inp = inputs_from_scenario(sc)
    n = REPLAYED_P0[name]
    out = run_exchange(_batch(inp, 20), rounds=n, rng=0, random_ties=True, record=False,
                       python_seed=1)
    for k in range(20):
        meta = ref["seeded_p0_meta"][f"seed_{k + 1}"]
        assert out.extra["n_exchanges"][k, 1:].tolist() == meta["exchanges_per_round"][:n]
        _same_rounds(out, k, inp, meta["mds_voting_per_round"], n)
    assert len({tuple(np.round(f, 9)) for f in out.forecast[:, 1]}) > 1
    n = REPLAYED_P08[name]
    out = run_exchange(inp, rounds=n, rng=0, random_ties=True, p=0.8, python_seed=1)
    rounds = ref["randomized_p08_seed1"]["rounds"]
    assert out.extra["n_exchanges"][0, 1:].tolist() == [r["n_exchanges"] for r in rounds[:n]]
    _same_rounds(out, 0, inp, [r["mds_voting"] for r in rounds], n)


# Measured by us with ``python bench/exchange_seeded.py --tolerant`` (decide 2022.1.28 with the
# reference README's T1-T4, random.seed(s), 10 rounds): the last-round voting outcome of two
# runs in which a candidate listed twice is executed and then recomputed against itself, so
# that the candidates after it in decide's sweep see its new voting positions.
SELF_RECOMPUTED = {
    ("copenhagen", 18, 0.0): {"Newtreaty": 58.756874917981186, "DevlopC2020": 72.6437853128848,
                              "Domestred": 35.07484382755855, "MRVdecrease": 42.90953464502971,
                              "Commitments": 12.717258673418069, "Control": 73.42119471997023,
                              "Extra": 94.4736633326292},
    ("copenhagen_with_errors", 7, 0.8): {
        "Newtreaty": 60.915845951350086, "DevlopC2020": 71.14760508845188,
        "Domestred": 40.524387709278706, "MRVdecrease": 45.104131489675076,
        "Commitments": 14.430444464385438, "Control": 77.5292283983949,
        "Extra": 95.79211338520604},
}


@pytest.mark.parametrize("case", list(SELF_RECOMPUTED))
def test_a_deal_recomputed_against_itself_changes_what_later_candidates_see(reference, case):
    """decide's tie duplication can leave an executed candidate listed; the sweep then
    recomputes it against itself and every later candidate reads its new voting positions,
    while the earlier ones keep the old (accord: overrides of the shared private tables)."""
    name, seed, p = case
    sc, _ = _load(reference, name)
    inp = inputs_from_scenario(sc)
    out = run_exchange(inp, rounds=10, rng=0, random_ties=True, p=p, python_seed=seed,
                       record=False)
    want = SELF_RECOMPUTED[case]
    assert max(abs(out.final[0, j] - want[i]) for j, i in enumerate(inp.issues)) < TOL


def test_override_tables_grow_keeping_live_entries_and_copies():
    from accord.models.exchange import _grown

    ovi, ovf = np.arange(40).reshape(8, 5), np.arange(8.0)
    ovi2, ovf2 = _grown(ovi, ovf)
    assert ovi2.shape == (32, 5) and ovf2.shape == (32,)
    np.testing.assert_array_equal(ovi2[:4], ovi[:4])       # live entries in front
    np.testing.assert_array_equal(ovi2[16:20], ovi[4:])    # copies in the new second half
    np.testing.assert_array_equal(ovf2[16:20], ovf[4:])
    assert not ovi2[4:16].any() and not ovi2[20:].any()


SEEDED_DRAWS = {"sample_data": 200, "copenhagen": 200, "copenhagen_with_errors": 200, "cop21": 60}


def test_seeded_runs_have_decides_seeded_distribution(reference):
    """Beyond the replayed rounds decide's rounding noise and accord's exact comparisons take
    different tie paths, so the last-round outcomes are compared in distribution: accord's
    runs with python seeds 1..n against decide's 20 (``seeded_p0``), every issue's mean
    difference within 4 combined standard errors (33 issues: Bonferroni at 0.2 %) and the
    sum of squared z-scores below chi2(33)'s 99.9th percentile.

    The issue's literal "within two standard errors of the reference's mean on every issue"
    is not a test a correct implementation can pass reliably: decide itself fails it on
    other seeds. ``python bench/exchange_seeded.py --seeds 80`` runs decide on seeds 21-100
    in blocks of 20: 12 of the 16 blocks miss the reference's mean by 2 or more standard
    errors on some issue (sample_data's kleine-of-grote-ring by +2.5 to +4.6 in all four)."""
    zs = []
    for name, n in SEEDED_DRAWS.items():
        sc, ref = _load(reference, name)
        inp = inputs_from_scenario(sc)
        out = run_exchange(_batch(inp, n), rounds=10, rng=0, random_ties=True, record=False,
                           python_seed=1)
        theirs = np.array([[v[i] for i in inp.issues] for v in ref["seeded_p0"].values()])
        ours = out.final
        se = np.sqrt(theirs.var(0, ddof=1) / len(theirs) + ours.var(0, ddof=1) / len(ours))
        z = (ours.mean(0) - theirs.mean(0)) / np.maximum(se, 1e-9)
        assert np.all(np.abs(z) < 4.0), f"{name}: z = {np.round(z, 2)}"
        zs.extend(z)
    assert float(np.sum(np.square(zs))) < 63.9


def test_batched_draws_equal_a_loop_over_draws_with_random_ties(reference):
    sc, _ = _load(reference, "copenhagen")
    inp = inputs_from_scenario(sc)
    rng = np.random.default_rng(3)
    big = _batch(inp, 3)
    noise = rng.uniform(-5, 5, size=big.position.shape)
    big = dataclasses.replace(big, position=np.clip(big.position + noise, 0, 100))
    batched = run_exchange(big, rounds=3, rng=np.random.default_rng(11), random_ties=True,
                           p=0.5, record=False)
    g = np.random.default_rng(11)
    for k in range(3):
        one = run_exchange(big.draw(k), rounds=3, rng=g, random_ties=True, p=0.5, record=False)
        np.testing.assert_array_equal(one.positions[0], batched.positions[k])
        np.testing.assert_array_equal(one.forecast[0], batched.forecast[k])


def test_same_seed_same_bytes_and_deterministic_preset_ignores_the_seed(reference):
    sc, _ = _load(reference, "sample_data")
    inp = inputs_from_scenario(sc)
    a, _ = run("exchange", inp, preset="decide", rounds=4, seed=5)
    b, _ = run("exchange", inp, preset="decide", rounds=4, seed=5)
    assert a.positions.tobytes() == b.positions.tobytes()
    c, _ = run("exchange", inp, preset="decide_deterministic", rounds=4, seed=1)
    d, _ = run("exchange", inp, preset="decide_deterministic", rounds=4, seed=2)
    assert c.positions.tobytes() == d.positions.tobytes()


def test_randomized_variant_stays_in_scale_and_near_decides_p08_run(reference):
    """p = 0.8 (Dijkstra et al. 2018): positions stay on their scales, and decide's one
    recorded p = 0.8 run lies within 4 sd of accord's 30 seeded draws on every issue."""
    for name in ("copenhagen", "sample_data"):
        sc, ref = _load(reference, name)
        inp = inputs_from_scenario(sc)
        out = run_exchange(_batch(inp, 30), rounds=10, rng=np.random.default_rng(8), p=0.8,
                           random_ties=True, record=False)
        lo, hi = inp.low, inp.high
        pos = out.positions
        ok = np.isnan(pos) | ((pos >= lo - 1e-9) & (pos <= hi + 1e-9))
        assert ok.all()
        theirs = ref["randomized_p08_seed1"]["rounds"][-1]["mds_voting"]
        for j, issue in enumerate(inp.issues):
            mean, sd = out.final[:, j].mean(), out.final[:, j].std()
            assert abs(theirs[issue] - mean) <= 4 * sd + 1.0, (name, issue)


def test_trades_frame_lists_package_deals_most_valuable_first(reference):
    sc, ref = _load(reference, "copenhagen")
    out = run_exchange(inputs_from_scenario(sc), rounds=10, rng=0, random_ties=False)
    df = trades_frame(out)
    n = sum(len(r["exchanges"]) for r in ref["deterministic_p0_tolerant"]["rounds"])
    assert df["exchanges"].sum() == n
    assert list(df["total_gain"]) == sorted(df["total_gain"], reverse=True)
    assert not df.duplicated(["issue_p", "issue_q", "actor_1", "actor_2"]).any()
    top = df.iloc[0]
    rows = [e for r in ref["deterministic_p0_tolerant"]["rounds"] for e in r["exchanges"]
            if e["issue_pair"] == [top.issue_p, top.issue_q]
            and sorted([e["i"], e["j"]]) == [top.actor_1, top.actor_2]]
    assert abs(sum(e["gain"] for e in rows) - top.total_gain) < 1e-9
    rounds1 = trades_frame(out, rounds=1)
    assert rounds1["exchanges"].sum() == len(ref["deterministic_p0_tolerant"]["rounds"][0]["exchanges"])


# ---- properties -----------------------------------------------------------------------

@st.composite
def negotiations(draw, alone=False, zero=False):
    a = draw(st.integers(3, 6))
    i = draw(st.integers(2, 4))
    grid = st.integers(0, 20).map(lambda v: v * 5.0)
    pos = np.array(draw(st.lists(grid, min_size=a * i, max_size=a * i))).reshape(a, i)
    sal = np.array(draw(st.lists(st.integers(0 if zero else 1, 10).map(lambda v: v / 10),
                                 min_size=a * i,
                                 max_size=a * i))).reshape(a, i)
    cap = np.array(draw(st.lists(st.integers(1, 20).map(float), min_size=a, max_size=a)))
    lo = np.array(draw(st.lists(st.sampled_from([0.0, -10.0, 1.0]), min_size=i, max_size=i)))
    pos = lo + pos / 100 * 50          # every issue spans [lo, lo + 50]
    if alone:
        who = draw(st.integers(0, a - 1))
        pos[:, 0] = np.nan
        sal[:, 0] = np.nan
        pos[who, 0] = lo[0] + 25
        sal[who, 0] = 1.0
    return Inputs.from_arrays(cap, pos, sal, low=lo, high=lo + 50)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(negotiations(alone=True), st.booleans())
def test_an_actor_alone_on_an_issue_never_trades_on_it(inp, ties):
    out = run_exchange(inp, rounds=3, rng=1, random_ties=ties)
    issue = inp.issues[0]
    for rec in out.round_records:
        for e in rec["exchanges"]:
            assert issue not in e["issue_pair"]
    alone = ~np.isnan(inp.position[0, :, 0])
    np.testing.assert_array_equal(out.positions[0, :, alone, 0],
                                  np.broadcast_to(inp.position[0, alone, 0], (4, 1)).T)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(negotiations(zero=True), st.sampled_from([0.0, 0.8]), st.booleans())
def test_zero_salience_supplies_nothing_and_a_weightless_issue_is_refused(inp, p, ties):
    """decide divides by zero on a zero salience (quirk 7). An actor without weight on an
    issue cannot shift its outcome, so it never supplies there; an issue nobody weighs has
    no outcome, and the model says so instead of inventing one."""
    weight = np.nansum(inp.salience[0] * inp.capability[0][:, None], axis=0)
    if (weight <= 0).any():
        with pytest.raises(ValueError, match="has no weight"):
            run_exchange(inp, rounds=2, rng=1, p=p, random_ties=ties)
        return
    out = run_exchange(inp, rounds=3, rng=1, p=p, random_ties=ties)
    zero = inp.salience[0] == 0
    for rec in out.round_records:
        for e in rec["exchanges"]:
            for side in (e["i_side"], e["j_side"]):
                k, j = inp.actors.index(side["actor"]), inp.issues.index(side["supply_issue"])
                assert not zero[k, j]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(negotiations(), st.sampled_from([0.0, 0.5, 1.0]), st.booleans())
def test_trades_never_move_a_position_outside_its_scale(inp, p, ties):
    out = run_exchange(inp, rounds=4, rng=2, p=p, random_ties=ties)
    for arr in (out.positions, out.extra["positions_after_update"]):
        ok = np.isnan(arr) | ((arr >= inp.low - 1e-9) & (arr <= inp.high + 1e-9))
        assert ok.all()
    assert np.all((out.forecast >= inp.low - 1e-9) & (out.forecast <= inp.high + 1e-9))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(negotiations(), st.booleans())
def test_batched_draws_equal_a_loop_over_draws(inp, ties):
    rng = np.random.default_rng(0)
    d = 3
    shift = rng.integers(-2, 3, size=(d,) + inp.position.shape[1:]) * 5.0
    pos = np.clip(inp.position + shift, inp.low, inp.high)
    big = dataclasses.replace(inp, position=pos, capability=np.repeat(inp.capability, d, 0),
                              salience=np.repeat(inp.salience, d, 0))
    batched = run_exchange(big, rounds=3, rng=np.random.default_rng(4), random_ties=ties,
                           record=False)
    g = np.random.default_rng(4)
    for k in range(d):
        one = run_exchange(big.draw(k), rounds=3, rng=g, random_ties=ties, record=False)
        np.testing.assert_array_equal(one.positions[0], batched.positions[k])
        np.testing.assert_array_equal(one.extra["positions_after_update"][0],
                                      batched.extra["positions_after_update"][k])


def test_two_actors_trade_their_low_salience_issues_fully():
    """Stokman's textbook case: each cares about a different issue, so each concedes fully
    where it cares little and the outcome lands on the carer's position on both issues."""
    inp = Inputs.from_arrays([1, 1], [[0, 100], [100, 0]], [[0.9, 0.2], [0.2, 0.9]],
                             low=[0, 0], high=[100, 100])
    out = run_exchange(inp, rounds=1, rng=0, random_ties=False)
    (e,) = out.round_records[1]["exchanges"]
    assert e["gain"] > 0
    np.testing.assert_allclose(out.final[0], [0.0, 0.0], atol=1e-12)
    assert (e["i"], e["j"]) == ("A0", "A1")
    assert abs(e["i_side"]["move_norm"]) == pytest.approx(100.0)


def test_docstring_example_runs():
    import doctest

    import accord.models.exchange as mod

    assert doctest.testmod(mod, verbose=False).failed == 0


@pytest.mark.parametrize("name", list(DATASETS))
def test_randomized_deal_rebuilds_decides_recorded_deals_from_its_draws(reference, name):
    """Dijkstra et al.'s randomized equal gain, checked deal by deal: for the first exchange
    of every round of decide's p = 0.8 run, accord's candidate code, given decide's u, v, z,
    gives decide's equal gain, maximum utilities and voting positions."""
    from accord.models import exchange as ex

    sc, ref = _load(reference, name)
    actors, issues = list(sc.actor_ids), list(sc.issue_ids)
    na, ni = len(actors), len(issues)
    s = np.zeros((na, ni))
    c = np.zeros((na, ni))
    pres = np.zeros((na, ni), bool)
    for r in ref["actor_issues_used"]:
        a, e = actors.index(r["actor"]), issues.index(r["issue"])
        s[a, e], c[a, e], pres[a, e] = r["salience"], r["power"], True
    checked = 0
    for rnd in ref["randomized_p08_seed1"]["rounds"]:
        if not rnd["exchanges"]:
            continue
        x = np.zeros((na, ni))
        for a, row in rnd["positions_start_norm"].items():
            for e, v in row.items():
                x[actors.index(a), issues.index(e)] = v
        cs = np.where(pres, c * s, 0.0)
        W, N = cs.sum(0), (cs * x).sum(0)
        G = (np.zeros((na, ni, na)), np.zeros((na, ni, na), bool), np.zeros((na, ni)),
             np.zeros((64, 5), np.int64), np.zeros(64), np.zeros(1, np.int64))
        e0 = rnd["exchanges"][0]
        cint = np.zeros((ex.NI, 1), np.int32)
        cf = np.zeros((ex.NF, 1))
        cint[ex.C_I, 0], cint[ex.C_J, 0] = actors.index(e0["i"]), actors.index(e0["j"])
        cint[ex.C_P, 0], cint[ex.C_Q, 0] = (issues.index(v) for v in e0["issue_pair"])
        cint[ex.C_VALID, 0] = cint[ex.C_MULT, 0] = 1
        cf[ex.F_XI, 0] = x[cint[ex.C_I, 0], cint[ex.C_Q, 0]]
        cf[ex.F_XJ, 0] = x[cint[ex.C_J, 0], cint[ex.C_P, 0]]
        args = (cf, cint, x, s, cs, N, W, G)
        ex._calculate(0, np.array([0.0]), ex.python_stream(0), *args)
        assert cf[ex.F_GAIN, 0] == pytest.approx(e0["gain"], abs=1e-9)
        si, sj = e0["i_side"], e0["j_side"]
        assert cf[ex.F_YEGI, 0] == pytest.approx(si["y_equal_gain_norm"], abs=1e-9)
        assert cf[ex.F_YEGJ, 0] == pytest.approx(sj["y_equal_gain_norm"], abs=1e-9)
        cf[ex.F_U, 0], cf[ex.F_V, 0], cf[ex.F_Z, 0] = si["u"], si["v"], si["z"]
        ex._max_utility(0, *args)
        ex._randomized_gain(0, 0 if si["u"] < 0.5 else 1, 0.8, *args)
        chosen = si if si["u"] < 0.5 else sj
        col = ex.F_EUMI if si["u"] < 0.5 else ex.F_EUMJ
        assert cf[col, 0] == pytest.approx(chosen["eu_max"], abs=1e-9)
        assert cf[ex.F_YI, 0] == pytest.approx(si["y_norm"], abs=1e-9)
        assert cf[ex.F_YJ, 0] == pytest.approx(sj["y_norm"], abs=1e-9)
        assert cint[ex.C_VALID, 0] == 1
        checked += 1
    assert checked >= 5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.5, 0.5 + 1e-12, 1.0, 2.0, 3.5]), min_size=0,
                max_size=70), st.integers(0, 2**31))
def test_the_in_place_list_sort_is_a_stable_sort_by_gain(gains, seed):
    """Entries by gain, highest first; gains within GAIN_TOL (rule T1) are a tie that the
    older list position wins. Values here are tied exactly or far apart (T1 is transitive)."""
    from accord.models.exchange import _sort_entries

    n = len(gains)
    gain = np.array(gains + [9.0])                 # one candidate that is not listed
    rng = np.random.default_rng(seed)
    ent = rng.permutation(n).astype(np.int64)
    pos = rng.permutation(n).astype(np.int64) * 3
    a, pa = ent.copy(), pos.copy()
    _sort_entries(a, pa, n, gain, np.empty(n, np.int64), np.empty(n, np.int64))
    want = sorted(range(n), key=lambda t: (-round(gain[ent[t]], 6), pos[t]))
    assert a.tolist() == ent[want].tolist()
    assert pa.tolist() == pos[want].tolist()
