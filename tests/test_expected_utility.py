"""The expected-utility model (BDM / Scholz et al. 2011) against the public replications.

Reference trajectories are read in place from ``../shared/reference/bdm`` (fixture
``reference``); every position of every round must agree to 1e-9.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from accord.models import Inputs, get, run
from accord.models import expected_utility as eu
from accord.scenario.io import read

TOL = 1e-9
DATASETS = ("ExampleActors", "ChinaData", "HondurasCrisisData", "Sultan")

# reference variant -> (preset, params); dmasad's notebooks pass the range end points 10 and 4
VARIANTS = {
    "jmckib_scholz_code": ("scholz_code", {}),
    "jmckib_with_capitulation_fixed": ("scholz_code_fixed", {}),
    "dmasad_notebook_config": ("dmasad", {"scale_range": "6"}),
    "dmasad_range_corrected": ("dmasad", {}),
}


def _load(reference, name):
    folder = reference / "bdm"
    data = json.loads((folder / f"{name}.expected.json").read_text())
    return data, read(folder / f"{name}.csv").inputs()


def _cases():
    # no dmasad notebook ever ran on jmckib's Sultan data
    return [(ds, v) for ds in DATASETS for v in VARIANTS
            if (ds, v) != ("Sultan", "dmasad_notebook_config")]


def _params_for(variant_settings, preset, params):
    params = dict(params)
    if preset == "dmasad" and variant_settings.get("T") is not None:
        params["t"] = str(variant_settings["T"])
    return params


# ---------------------------------------------------------------------------------------------
# reproduction of the replications, round by round


@pytest.mark.parametrize("dataset,variant", _cases())
def test_every_position_of_every_round_matches_the_replication(reference, dataset, variant):
    data, inputs = _load(reference, dataset)
    ref = data["variants"][variant]
    preset, params = VARIANTS[variant]
    out, _ = run("bdm", inputs, preset=preset, rounds=10,
                 params=_params_for(ref["settings"], preset, params))
    names = inputs.actors
    assert out.positions.shape == (1, 11, len(names), 1)
    rounds = ref["rounds"]
    for t, rnd in enumerate(rounds):
        want = np.array([rnd["positions"][n] for n in names])
        np.testing.assert_allclose(out.positions[0, t, :, 0], want, rtol=0, atol=TOL,
                                   err_msg=f"{dataset}/{variant} round {t}")
        assert abs(out.forecast[0, t, 0] - rnd["weighted_median_cs"]) <= TOL
        rec = out.round_records[t]
        assert abs(rec["weighted_mean"]["issue"] - rnd["weighted_mean_cs"]) <= TOL
        if t == 0:
            continue
        for name, r in rnd["risk_exponents"].items():
            assert abs(rec["risk_exponents"][name]["issue"] - r) <= TOL
        got = [(m["actor"], m["kind"], m["toward"]) for m in rec["moves"]]
        assert got == [(m["actor"], m["kind"], m["toward"]) for m in rnd["moves"]], t
        for mine, theirs in zip(rec["moves"], rnd["moves"]):
            for key in ("new_position", "eu_i", "eu_j"):
                assert abs(mine[key] - theirs[key]) <= TOL, (t, key, mine, theirs)
    # rounds after the reference stopped (dmasad's crash) hold the state reached
    last = len(rounds) - 1
    for t in range(last + 1, 11):
        np.testing.assert_array_equal(out.positions[0, t], out.positions[0, last])
    if ref["stop_reason"]["reason"] == "exception":
        assert out.stop_reason[0] == "degenerate"
        assert out.rounds_run[0] == ref["stop_reason"]["rounds_completed"]
    else:
        assert out.stop_reason[0] in ("max_rounds", "cycle", "converged")
        assert out.rounds_run[0] == 10


@pytest.mark.parametrize("dataset,variant", _cases())
def test_accord_run_json_reproduces_the_replication(reference, dataset, variant):
    """The contract other tools use: ``accord run bdm FILE --preset P [--param K=V] --json``."""
    from typer.testing import CliRunner

    from accord.cli import app

    data, inputs = _load(reference, dataset)
    ref = data["variants"][variant]
    preset, params = VARIANTS[variant]
    args = ["run", "bdm", str(reference / "bdm" / f"{dataset}.csv"), "--preset", preset,
            "--rounds", "10", "--json"]
    for key, value in _params_for(ref["settings"], preset, params).items():
        args += ["--param", f"{key}={value}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["model"] == "bdm" and doc["preset"] == preset
    assert len(doc["rounds"]) == len(ref["rounds"])
    for mine, theirs in zip(doc["rounds"], ref["rounds"]):
        for name, x in theirs["positions"].items():
            assert abs(mine["positions"][name]["issue"] - x) <= TOL
        assert abs(mine["forecast"]["issue"] - theirs["weighted_median_cs"]) <= TOL
        assert [(m["actor"], m["kind"], m["toward"]) for m in mine["moves"]] == \
            [(m["actor"], m["kind"], m["toward"]) for m in theirs["moves"]]


@pytest.mark.parametrize("variant", ["jmckib_scholz_code", "dmasad_notebook_config"])
def test_round_one_internals_of_the_eu_case(reference, variant):
    data, inputs = _load(reference, "ExampleActors")
    ref = data["variants"][variant]["round1_internals"]
    preset, params = VARIANTS[variant]
    got = eu.internals(inputs, preset=preset, params=params)
    idx = {n: k for k, n in enumerate(inputs.actors)}

    def matrix(mine, theirs):
        for i, row in theirs.items():
            for j, v in row.items():
                assert abs(mine[idx[i], idx[j]] - v) <= TOL, (i, j, mine[idx[i], idx[j]], v)

    def vector(mine, theirs):
        for i, v in theirs.items():
            assert abs(mine[idx[i]] - v) <= TOL, (i, mine[idx[i]], v)

    vector(got["S"], ref["S"])
    vector(got["R"], ref["R"])
    vector(got["r"], ref["r"])
    matrix(got["EU1"], ref["EU_r1"])
    if variant.startswith("jmckib"):
        assert got["scale_range"] == ref["position_range"]
        matrix(got["P1"], ref["P_r1"])
        matrix(got["P2"], ref["P_pass2"])
        matrix(got["A"], ref["EU_pass2_own"])
        matrix(got["B"], ref["EU_pass2_other_as_seen_by_receiver"])
        for name, offer in ref["chosen_offer"].items():
            k = idx[name]
            if offer is None:
                assert got["kind"][k] == 0
            else:
                assert eu.KINDS[got["kind"][k]] == offer["kind"]
                assert inputs.actors[got["toward"][k]] == offer["toward"]
                assert abs(got["new_x"][k] - offer["new_position"]) <= TOL
    else:
        matrix(got["P1"], ref["P"])
        matrix(got["P2"], ref["P_pass2"])
        matrix(got["A"], ref["EU_pass2"])
        for name, offer in ref["chosen_offer"].items():
            k = idx[name]
            moved = offer is not None and offer["kind"] is not None
            assert (got["kind"][k] != 0) == moved, name
            if moved:
                assert eu.KINDS[got["kind"][k]] == offer["kind"]
                assert inputs.actors[got["toward"][k]] == offer["Sender"]


def test_dmasad_notebook_numbers(reference):
    """Every number dmasad's Testing.ipynb prints, from the dmasad preset."""
    data, inputs = _load(reference, "ExampleActors")
    nb = data["notebook_outputs_in_repository"]["Testing.ipynb"]
    got = eu.internals(inputs, preset="dmasad", params={"scale_range": 6})
    np.testing.assert_allclose(got["r"], nb["r_round1_in_input_order"], rtol=0, atol=TOL)
    idx = {n: k for k, n in enumerate(inputs.actors)}
    be, uk, lux, fr = idx["Belgium"], idx["UK"], idx["Luxembourg"], idx["France"]
    for name, v in nb["belgium_expected_utilities_pass2"].items():
        assert abs(got["A"][be, idx[name]] - v) <= TOL
    for name, v in nb["uk_expected_utilities_pass2"].items():
        assert abs(got["A"][uk, idx[name]] - v) <= TOL
    assert abs(got["A"][lux, fr] - nb["luxembourg_EU_of_challenging_france_pass2"]) <= TOL
    out, _ = run("bdm", inputs, preset="dmasad", rounds=1)
    assert out.forecast[0, 0, 0] == nb["vote_before"]
    assert out.forecast[0, 1, 0] == nb["vote_after_round1"]
    assert abs(out.extra["weighted_mean"][0, 0, 0] - nb["find_mean_before"]) <= TOL
    assert abs(out.extra["weighted_mean"][0, 1, 0] - nb["find_mean_after_round1"]) <= TOL


def test_china_notebook_positions_after_one_round(reference):
    data, inputs = _load(reference, "ChinaData")
    nb = data["notebook_outputs_in_repository"]["China Model.ipynb"]
    out, _ = run("bdm", inputs, preset="dmasad", rounds=1, params={"scale_range": 6})
    for k, name in enumerate(inputs.actors):
        want = nb["positions_after_round1_printed_12_significant_digits"][name]
        assert abs(out.positions[0, 1, k, 0] - want) <= 1e-11
    assert len(out.round_records[1]["moves"]) == len(nb["printed_moves_round1"])


def test_scholz_table_2_is_reproduced_by_the_scholz_code_preset(reference):
    """7 of Scholz's 8 published medians are the forecast truncated to one decimal.

    The exception, round 2 (published 9.9, computed 9.61), cannot come from any evaluation
    order of the vote (reference README); the means stay within 0.065 of the table.
    """
    data, inputs = _load(reference, "ExampleActors")
    pub = data["published_reference"]
    out, _ = run("bdm", inputs, preset="scholz_code", rounds=8)
    median = out.forecast[0, 1:, 0]
    trunc = np.floor(median * 10 + 1e-9) / 10
    agree = np.isclose(trunc, pub["scholz_table2_median_rounds_1_to_8"])
    assert agree.sum() == 7 and not agree[1]
    mean = out.extra["weighted_mean"][0, 1:, 0]
    assert np.abs(mean - pub["scholz_table2_mean_rounds_1_to_8"]).max() < 0.065


def test_belgium_quadrant_chart_matches_bdm_1994_by_eye(reference):
    data, inputs = _load(reference, "ExampleActors")
    chart = data["published_reference"]["bdm1994_belgium_quadrant_chart_by_eye"]
    frame = eu.quadrant(inputs, "Belgium")
    assert list(frame.columns) == ["position", "eu_self", "eu_other", "region"]
    assert "Belgium" not in frame.index and len(frame) == 9
    for name, x in chart["belgium_EU_x_axis"].items():
        assert abs(frame.loc[name, "eu_self"] - x) < 0.03, name
    others = frame.drop(["Ireland", "Greece"])["eu_other"]
    assert np.all(np.abs(others - 0.25) < 0.03)
    same_place = frame.loc[["Ireland", "Greece"], ["eu_self", "eu_other"]].to_numpy()
    assert np.all(np.abs(same_place) < 1e-12)
    assert frame.loc["Luxembourg", "region"] == "conflict_win"
    assert frame.loc["France", "region"] == "compromise"


def test_quadrant_figure_draws_every_other_actor(reference):
    from matplotlib.figure import Figure

    _, inputs = _load(reference, "ExampleActors")
    fig = eu.quadrant_figure(inputs, "Belgium", round=1)
    assert isinstance(fig, Figure)
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert labels == set(inputs.actors) - {"Belgium"}


# ---------------------------------------------------------------------------------------------
# stopping


def test_a_two_cycle_is_detected_and_continued_exactly(reference):
    data, inputs = _load(reference, "HondurasCrisisData")
    out, _ = run("bdm", inputs, preset="scholz_code", rounds=10)
    assert out.stop_reason[0] == "cycle" and out.summary["cycle_period"]["issue"] == 2
    assert out.summary["stopped_at_round"]["issue"] == 2 and out.rounds_run[0] == 10
    lo, hi = out.summary["forecast_interval"]["issue"]
    assert lo < hi and lo == out.forecast[0, 2:, 0].min() and hi == out.forecast[0, 2:, 0].max()
    ref = data["variants"]["jmckib_scholz_code"]["rounds"]
    final = np.array([ref[10]["positions"][n] for n in inputs.actors])
    np.testing.assert_allclose(out.positions[0, 10, :, 0], final, atol=TOL, rtol=0)
    assert np.all(out.extra["forecast_low"][0, 3:, 0] == lo)
    plain, _ = run("bdm", inputs, preset="scholz_code", rounds=10, params={"max_period": 0})
    assert plain.stop_reason[0] == "max_rounds" and plain.rounds_run[0] == 10
    np.testing.assert_array_equal(plain.positions, out.positions)


def test_a_model_without_moves_converges_at_once(reference):
    _, inputs = _load(reference, "Sultan")
    out, _ = run("bdm", inputs, preset="scholz_code", rounds=10)
    assert out.stop_reason[0] == "converged" and out.summary["stopped_at_round"]["issue"] == 1
    assert all(rec["moves"] == [] for rec in out.round_records)


def test_forecast_tolerance_stops_and_freezes(reference):
    _, inputs = _load(reference, "ExampleActors")
    out, _ = run("bdm", inputs, preset="scholz_code", rounds=10, params={"tolerance": "0.1"})
    # the forecast 9.962 repeats from round 3 to 4, so the lane stops at round 4
    assert out.stop_reason[0] == "tolerance" and out.rounds_run[0] == 4
    assert np.all(out.positions[0, 5:] == out.positions[0, 4])
    assert all(rec["moves"] == [] for rec in out.round_records[5:])


# ---------------------------------------------------------------------------------------------
# degenerate cases: defined, never NaN, never an exception


def _inputs(c, x, s, **kw):
    x = np.asarray(x, float)
    if x.ndim == 1:
        x = x[:, None]
    s = np.asarray(s, float)
    if s.ndim == 1:
        s = s[:, None]
    return Inputs.from_arrays(np.asarray(c, float), x, s, **kw)


@pytest.mark.parametrize("preset", list(eu.PRESETS))
def test_all_actors_at_one_position_is_a_fixed_point(preset):
    inp = _inputs([1, 2, 3], [5, 5, 5], [0.5, 0.6, 0.7])
    out, _ = run("bdm", inp, preset=preset, rounds=5)
    assert np.all(out.positions == 5.0) and np.all(out.forecast == 5.0)
    assert out.stop_reason[0] in ("converged", "degenerate")
    assert not np.isnan(out.extra["weighted_mean"]).any()


@pytest.mark.parametrize("preset", list(eu.PRESETS))
def test_equal_danger_levels_give_risk_neutral_actors(preset):
    # two mirror-image actors: every danger level is equal, so R is 0/0
    inp = _inputs([1, 1], [0, 1], [0.5, 0.5])
    got = eu.internals(inp, preset=preset)
    assert got["degenerate"] and np.all(got["r"] == 1.0)
    out, _ = run("bdm", inp, preset=preset, rounds=3)
    assert not np.isnan(out.positions).any() and not np.isnan(out.forecast).any()


@pytest.mark.parametrize("preset", list(eu.PRESETS))
@pytest.mark.parametrize("case", ["zero_salience", "zero_capability", "one_actor"])
def test_weightless_and_lonely_cases_are_defined(preset, case):
    c, x, s = [1.0, 2.0, 3.0], [0.0, 0.4, 1.0], [0.5, 0.2, 0.9]
    if case == "zero_salience":
        s = [0.0, 0.0, 0.0]
    elif case == "zero_capability":
        c = [0.0, 0.0, 0.0]
    else:
        c, x, s = [1.0], [0.3], [0.5]
    with np.errstate(all="raise"):
        out, _ = run("bdm", _inputs(c, x, s), preset=preset, rounds=4)
    assert np.isfinite(out.positions).all() and np.isfinite(out.forecast).all()
    assert np.isfinite(out.extra["weighted_mean"]).all()


def test_an_actor_without_a_stance_takes_no_part():
    rng = np.random.default_rng(3)
    c = rng.uniform(0.1, 1, 6)
    x = rng.uniform(0, 10, (6, 2))
    s = rng.uniform(0.2, 1, (6, 2))
    x[2, 1] = np.nan
    s[2, 1] = np.nan
    both = _inputs(c, x, s, low=[0, 0], high=[10, 10])
    out, _ = run("bdm", both, preset="scholz_code", rounds=6)
    assert np.isnan(out.positions[0, :, 2, 1]).all()
    assert not np.isnan(np.delete(out.positions[0, :, :, 1], 2, axis=1)).any()
    # issue by issue: each issue alone, and issue 1 without the absent actor
    first, _ = run("bdm", both.subset_issues([0]), preset="scholz_code", rounds=6)
    np.testing.assert_allclose(out.positions[..., 0], first.positions[..., 0], atol=TOL, rtol=0)
    keep = [0, 1, 3, 4, 5]
    alone = _inputs(c[keep], x[keep, 1], s[keep, 1], low=[0], high=[10])
    second, _ = run("bdm", alone, preset="scholz_code", rounds=6)
    np.testing.assert_allclose(out.positions[0, :, keep, 1].T, second.positions[0, :, :, 0],
                               atol=TOL, rtol=0)
    np.testing.assert_allclose(out.forecast[0, :, 1], second.forecast[0, :, 0], atol=TOL)


def test_bad_parameters_and_inputs_are_refused_with_a_reason():
    inp = _inputs([1, 1, 1], [0, 5, 10], [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="scale_range=4 is narrower than the initial "
                                         "positions on issue 'I0' \\(spread 10\\)"):
        run("bdm", inp, params={"scale_range": "4"})
    with pytest.raises(ValueError, match="parameter q: expected a probability"):
        run("bdm", inp, params={"q": "1.5"})
    with pytest.raises(ValueError, match="parameter offer_choice"):
        run("bdm", inp, params={"offer_choice": "best"})
    bad = _inputs([1, 1, 1], [0, 5, 10], [0.5, 1.5, 0.5])
    with pytest.raises(ValueError, match="actor 'A1', issue 'I0': salience must be in"):
        run("bdm", bad)
    bad = _inputs([1, 1, 1], [0, np.inf, 10], [0.5, 0.5, 0.5], low=[0], high=[10])
    with pytest.raises(ValueError, match="actor 'A1', issue 'I0': position must be finite"):
        run("bdm", bad)


def test_an_issue_nobody_takes_a_stance_on_keeps_its_status_quo():
    x = np.array([[0.2, np.nan], [0.8, np.nan]])
    inp = _inputs([1, 1], x, np.where(np.isnan(x), np.nan, 0.5), low=[0, 0], high=[1, 1],
                  status_quo=[0.5, 0.3])
    out, _ = run("bdm", inp, rounds=3)
    assert np.all(out.forecast[0, :, 1] == 0.3) and np.isnan(out.positions[..., 1]).all()


def test_every_ambiguity_is_a_named_parameter_and_every_preset_resolves():
    spec = get("bdm")
    names = {p.name for p in spec.params}
    for needed in ("range_rule", "scale_range", "median_rule", "p_numerator", "p_denominator",
                   "perspective", "qt_term", "risk_normalisation", "conflict", "capitulation",
                   "offer_choice", "equal_positions", "degenerate", "tolerance", "max_period"):
        assert needed in names
    assert set(spec.presets) == {"scholz_code", "scholz_code_fixed", "dmasad", "paper"}
    for preset in spec.presets:
        assert isinstance(eu.config(preset), eu.Config)
    assert eu.config("scholz_code_fixed").capitulation and not eu.config().capitulation


@pytest.mark.parametrize("preset", list(eu.PRESETS))
@pytest.mark.parametrize("q", [1.0, 0.6])
def test_every_preset_runs_with_and_without_the_status_quo_term(preset, q):
    rng = np.random.default_rng(7)
    inp = _inputs(rng.uniform(0.1, 1, 8), rng.uniform(0, 100, 8), rng.uniform(0.1, 1, 8),
                  low=[0], high=[100])
    out, _ = run("bdm", inp, preset=preset, rounds=6, params={"q": q})
    assert np.isfinite(out.positions).all()
    assert out.round_records[0]["risk_exponents"] is None
    json.dumps(out.round_records)
    json.dumps(out.summary)


# ---------------------------------------------------------------------------------------------
# properties


def _random_inputs(seed: int, a: int, d: int = 1):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.05, 1.0, (d, a))
    x = rng.uniform(0.0, 10.0, (d, a, 1))
    s = rng.uniform(0.05, 1.0, (d, a, 1))
    return Inputs.from_arrays(c, x, s, low=[0.0], high=[10.0])


PRESET = st.sampled_from(sorted(eu.PRESETS))
SEED = st.integers(0, 2**32 - 1)
SIZE = st.integers(2, 12)


@settings(max_examples=25, deadline=None)
@given(seed=SEED, a=SIZE, preset=PRESET, data=st.data())
def test_permuting_actors_permutes_positions(seed, a, preset, data):
    inp = _random_inputs(seed, a)
    perm = np.array(data.draw(st.permutations(range(a))))
    shuffled = Inputs.from_arrays(inp.capability[:, perm], inp.position[:, perm],
                                  inp.salience[:, perm], low=inp.low, high=inp.high)
    base, _ = run("bdm", inp, preset=preset, rounds=6)
    other, _ = run("bdm", shuffled, preset=preset, rounds=6)
    np.testing.assert_allclose(other.positions, base.positions[:, :, perm], atol=TOL, rtol=0)
    np.testing.assert_allclose(other.forecast, base.forecast, atol=TOL, rtol=0)


@settings(max_examples=25, deadline=None)
@given(seed=SEED, a=SIZE, preset=PRESET, k=st.floats(0.01, 100.0))
def test_multiplying_capabilities_changes_nothing(seed, a, preset, k):
    inp = _random_inputs(seed, a)
    scaled = Inputs.from_arrays(inp.capability * k, inp.position, inp.salience,
                                low=inp.low, high=inp.high)
    base, _ = run("bdm", inp, preset=preset, rounds=6)
    other, _ = run("bdm", scaled, preset=preset, rounds=6)
    np.testing.assert_allclose(other.positions, base.positions, atol=TOL, rtol=0)


@settings(max_examples=15, deadline=None)
@given(seed=SEED, a=SIZE, preset=PRESET, d=st.integers(2, 6))
def test_a_batch_of_copies_gives_identical_trajectories(seed, a, preset, d):
    one = _random_inputs(seed, a)
    many = Inputs.from_arrays(np.repeat(one.capability, d, 0), np.repeat(one.position, d, 0),
                              np.repeat(one.salience, d, 0), low=one.low, high=one.high)
    base, _ = run("bdm", one, preset=preset, rounds=6)
    batch, _ = run("bdm", many, preset=preset, rounds=6)
    for k in range(d):
        np.testing.assert_array_equal(batch.positions[k], base.positions[0])
        np.testing.assert_array_equal(batch.forecast[k], base.forecast[0])
    assert list(batch.stop_reason) == [base.stop_reason[0]] * d


@settings(max_examples=10, deadline=None)
@given(seed=SEED, a=SIZE, preset=PRESET)
def test_a_batch_of_different_draws_equals_each_draw_alone(seed, a, preset):
    many = _random_inputs(seed, a, d=5)
    batch, _ = run("bdm", many, preset=preset, rounds=5)
    for k in range(5):
        alone, _ = run("bdm", many.draw(k), preset=preset, rounds=5)
        np.testing.assert_array_equal(batch.positions[k], alone.positions[0])
        assert batch.stop_reason[k] == alone.stop_reason[0]


@settings(max_examples=25, deadline=None)
@given(seed=SEED, a=SIZE, preset=PRESET, grid=st.booleans())
def test_positions_stay_in_range_and_the_forecast_is_a_weighted_median(seed, a, preset, grid):
    inp = _random_inputs(seed, a)
    if grid:  # ties everywhere, as in real coded data
        inp = Inputs.from_arrays(inp.capability, np.round(inp.position / 2.5) * 2.5,
                                 np.round(inp.salience, 1).clip(0.1, 1.0), low=inp.low,
                                 high=inp.high)
    out, _ = run("bdm", inp, preset=preset, rounds=8)
    x0 = inp.position[0, :, 0]
    pos = out.positions[0, :, :, 0]
    assert pos.min() >= x0.min() and pos.max() <= x0.max()
    w = inp.capability[0] * inp.salience[0, :, 0]
    for t in range(pos.shape[0]):
        f = out.forecast[0, t, 0]
        assert np.any(pos[t] == f)
        assert w[pos[t] < f].sum() < w.sum() / 2 <= w[pos[t] <= f].sum() * (1 + 1e-12)


def test_the_weighted_median_takes_the_lower_median_at_an_exact_half():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([0.1, 0.2, 0.3, 0.0]) * 3
    assert eu.weighted_median(x, w) == 2.0  # cumulative 0.9 of 1.8 reaches half at 2
    assert eu.weighted_median(np.array([np.nan, 5.0]), np.array([1.0, 1.0])) == 5.0
    assert np.isnan(eu.weighted_median(np.array([np.nan]), np.array([1.0])))


def test_prefix_sum_support_equals_the_direct_voter_sum():
    """The O(a^2 log a) support equals the textbook sum over voters (any voter exponents)."""
    rng = np.random.default_rng(11)
    L, a = 4, 30
    x = np.round(rng.uniform(0, 10, (L, a)), 1)  # with ties
    w = rng.uniform(0, 1, (L, a))
    r = rng.uniform(0.5, 2, (L, a))
    g = eu._Geometry(x, np.full(L, 10.0))
    u = g.d ** r[:, :, None]  # u[l, k, b] = (|x_k - x_b| / Rg) ** r_k
    fast = eu._support(np.power(g.d, r[:, None, :]), w, g)
    delta = u[:, :, None, :] - u[:, :, :, None]  # [l, k, i, j] = u_kj - u_ki
    slow = (w[:, :, None, None] * np.maximum(delta, 0)).sum(axis=1)
    np.testing.assert_allclose(fast, slow, atol=1e-12, rtol=0)


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_paper_preset_does_not_depend_on_the_order_of_actors(reference, dataset):
    """Scholz's prose breaks equal moves by expected utility, not by the table's order."""
    _, inp = _load(reference, dataset)
    base, _ = run("bdm", inp, preset="paper", rounds=10)
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(len(inp.actors))
        shuffled = Inputs.from_arrays(inp.capability[:, perm], inp.position[:, perm],
                                      inp.salience[:, perm], low=inp.low, high=inp.high)
        out, _ = run("bdm", shuffled, preset="paper", rounds=10)
        np.testing.assert_allclose(out.positions, base.positions[:, :, perm], atol=TOL, rtol=0)


def test_the_status_quo_term_matters_only_below_q_one(reference):
    _, inp = _load(reference, "ExampleActors")

    def positions(q, term):
        return run("bdm", inp, preset="dmasad", rounds=10,
                   params={"q": q, "qt_term": term})[0].positions

    at_one = positions(1.0, "omitted")
    for term in ("global", "global_inverted", "per_dyad"):
        np.testing.assert_array_equal(positions(1.0, term), at_one)
    below = {term: positions(0.5, term) for term in ("omitted", "global", "global_inverted")}
    assert not np.array_equal(below["global"], below["omitted"])
    # dmasad's inverted sign is a different model once Q < 1
    assert not np.array_equal(below["global"], below["global_inverted"])


def test_blocks_computed_on_threads_equal_draws_computed_alone():
    many = _random_inputs(5, 30, d=160)  # 72 lanes per block at 30 actors: three blocks
    batch, _ = run("bdm", many, preset="scholz_code", rounds=4)
    for k in (0, 71, 72, 159):
        alone, _ = run("bdm", many.draw(k), preset="scholz_code", rounds=4)
        np.testing.assert_array_equal(batch.positions[k], alone.positions[0])
    again, _ = run("bdm", many, preset="scholz_code", rounds=4)
    np.testing.assert_array_equal(again.positions, batch.positions)


def _both_paths(inp, **kw):
    """The model on the array path and on the compiled round (bdm_kernel)."""
    import os
    from unittest import mock

    out = []
    for arrays in ("1", "0"):
        with mock.patch.dict(os.environ, {"ACCORD_BDM_ARRAYS": arrays}):
            out.append(run("bdm", inp, **kw)[0])
    return out


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(2, 30), st.integers(1, 3), st.integers(1, 4), st.integers(0, 2**31),
       st.sampled_from(["grid", "uniform", "absent actors"]),
       st.sampled_from(["scholz_code", "scholz_code_fixed"]), st.sampled_from([1.0, 0.6]))
def test_the_compiled_round_gives_the_array_paths_bytes(a, i, d, seed, kind, preset, q):
    """Same algorithm, same bytes: positions, forecasts, risk exponents, stops and the round
    records, with ties (a grid), absent actors, more than 24 actors (the other midpoint count)
    and more than 128 pairs (numpy's pairwise sum splits)."""
    rng = np.random.default_rng(seed)
    pos = rng.choice([0.0, 25.0, 50.0, 75.0, 100.0], (d, a, i)) if kind == "grid" else \
        rng.uniform(0, 100, (d, a, i))
    if kind == "absent actors":
        pos[rng.random((d, a, i)) < 0.25] = np.nan
    inp = Inputs.from_arrays(rng.uniform(1, 100, (d, a)), pos, rng.uniform(0, 1, (d, a, i)),
                             low=np.zeros(i), high=np.full(i, 100.0))
    arrays, compiled = _both_paths(inp, preset=preset, rounds=12, params={"q": q})
    np.testing.assert_array_equal(compiled.positions, arrays.positions)
    np.testing.assert_array_equal(compiled.forecast, arrays.forecast)
    assert list(compiled.stop_reason) == list(arrays.stop_reason)
    assert compiled.round_records == arrays.round_records
    for key in arrays.extra:
        np.testing.assert_array_equal(compiled.extra[key], arrays.extra[key], err_msg=key)


def test_only_scholz_codes_rules_are_compiled(monkeypatch):
    assert eu._round_step(eu.config("scholz_code")) is eu._step_compiled
    assert eu._round_step(eu.config("scholz_code_fixed", conflict="off")) is eu._step_compiled
    for preset in ("paper", "dmasad"):
        assert eu._round_step(eu.config(preset)) is eu._step
    assert eu._round_step(eu.config("scholz_code", offer_choice="least_move")) is eu._step
    monkeypatch.setenv("ACCORD_BDM_ARRAYS", "1")
    assert eu._round_step(eu.config("scholz_code")) is eu._step
