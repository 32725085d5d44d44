"""Baseline models: known numbers on the EU case and the invariants every model must keep."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import accord
from accord.models import Inputs, available, run
from accord.models.baselines import weighted_median

BASELINES = ["status_quo", "mean", "compromise", "median", "nbs"]


def test_the_eu_case_gives_the_published_mean_and_median():
    # dmasad's notebook prints the c·s-weighted mean 7.389955686853767 and the "vote" 7.0;
    # Scholz et al. (2011) Table 2 round 0 is the same data.
    inputs = accord.load("eu-emissions").inputs()
    assert run("compromise", inputs)[0].final[0, 0] == pytest.approx(7.389955686853767, abs=1e-12)
    assert run("median", inputs)[0].final[0, 0] == 7.0
    assert run("mean", inputs)[0].final[0, 0] == pytest.approx(6.7)


def test_every_baseline_is_registered():
    assert set(BASELINES) <= set(available())


def test_lower_upper_and_midpoint_medians_differ_only_on_an_exact_tie():
    pos = np.array([[[1.0], [3.0]]])
    w = np.array([[[1.0], [1.0]]])
    assert weighted_median(pos, w, "lower")[0, 0] == 1.0
    assert weighted_median(pos, w, "upper")[0, 0] == 3.0
    assert weighted_median(pos, w, "midpoint")[0, 0] == 2.0


def test_an_actor_without_a_stance_takes_no_part():
    pos = np.array([[10.0, 20.0], [np.nan, 80.0], [30.0, 20.0]])
    sal = np.where(np.isnan(pos), np.nan, 1.0)
    inputs = Inputs.from_arrays([1.0, 5.0, 1.0], pos, sal, [0, 0], [100, 100])
    assert run("compromise", inputs)[0].final[0, 0] == pytest.approx(20.0)
    assert run("mean", inputs)[0].final[0, 0] == pytest.approx(20.0)
    assert run("median", inputs)[0].final[0, 0] == 10.0


def test_nash_bargaining_stays_at_the_status_quo_when_someone_loses_from_every_move():
    pos = np.array([[20.0], [80.0]])
    inputs = Inputs.from_arrays([1.0, 1.0], pos, np.ones((2, 1)), [0], [100], status_quo=[50])
    assert run("nbs", inputs)[0].final[0, 0] == 50.0


def test_nash_bargaining_splits_the_gain_when_both_prefer_to_move():
    # Both ideal points above the status quo at 0; quadratic gains, equal weights: the
    # maximiser of log(g1) + log(g2) lies between the ideal points.
    pos = np.array([[60.0], [80.0]])
    inputs = Inputs.from_arrays([1.0, 1.0], pos, np.ones((2, 1)), [0], [100], status_quo=[0])
    x = run("nbs", inputs)[0].final[0, 0]
    assert 60 < x < 80
    g = lambda y: np.log(60**2 - (y - 60) ** 2) + np.log(80**2 - (y - 80) ** 2)
    assert g(x) >= max(g(x - 0.01), g(x + 0.01))


# ---- properties -----------------------------------------------------------------------------

@st.composite
def negotiations(draw, max_actors=8, max_issues=3, max_draws=3):
    d = draw(st.integers(1, max_draws))
    a = draw(st.integers(1, max_actors))
    i = draw(st.integers(1, max_issues))
    pos = draw(hnp.arrays(float, (d, a, i), elements=st.floats(0, 100, allow_subnormal=False)))
    sal = draw(hnp.arrays(float, (d, a, i), elements=st.floats(0.01, 1)))
    cap = draw(hnp.arrays(float, (d, a), elements=st.floats(0.1, 100)))
    sq = draw(hnp.arrays(float, (i,), elements=st.floats(0, 100)))
    return Inputs.from_arrays(cap, pos, sal, np.zeros(i), np.full(i, 100.0), sq)


MODELS = ["mean", "compromise", "median", "nbs"]


@settings(max_examples=60, deadline=None)
@given(negotiations(), st.data())
def test_permuting_actors_changes_no_forecast(inputs, data):
    perm = data.draw(st.permutations(range(inputs.shape[1])))
    permuted = Inputs.from_arrays(inputs.capability[:, perm], inputs.position[:, perm],
                                  inputs.salience[:, perm], inputs.low, inputs.high,
                                  inputs.status_quo)
    for m in MODELS:
        np.testing.assert_allclose(run(m, permuted)[0].final, run(m, inputs)[0].final,
                                   rtol=1e-9, atol=1e-9, err_msg=m)


@settings(max_examples=60, deadline=None)
@given(negotiations(), st.floats(0, 100))
def test_identical_positions_give_that_position(inputs, x):
    same = Inputs.from_arrays(inputs.capability, np.full(inputs.shape, x), inputs.salience,
                              inputs.low, inputs.high, inputs.status_quo)
    for m in MODELS:
        np.testing.assert_allclose(run(m, same)[0].final, x, atol=1e-7, err_msg=m)


@settings(max_examples=60, deadline=None)
@given(negotiations())
def test_forecasts_stay_within_the_scale(inputs):
    for m in BASELINES:
        f = run(m, inputs)[0].final
        assert np.all((f >= 0) & (f <= 100)), m


@settings(max_examples=60, deadline=None)
@given(negotiations(), st.floats(0.01, 1000))
def test_scaling_all_capabilities_changes_nothing(inputs, k):
    scaled = Inputs.from_arrays(inputs.capability * k, inputs.position, inputs.salience,
                                inputs.low, inputs.high, inputs.status_quo)
    for m in MODELS:
        np.testing.assert_allclose(run(m, scaled)[0].final, run(m, inputs)[0].final,
                                   rtol=1e-7, atol=1e-7, err_msg=m)


@settings(max_examples=40, deadline=None)
@given(negotiations(max_draws=5))
def test_a_batch_equals_a_loop_over_its_draws(inputs):
    for m in BASELINES:
        batch = run(m, inputs)[0]
        for k in range(inputs.shape[0]):
            one = run(m, inputs.draw(k))[0]
            np.testing.assert_array_equal(batch.positions[k], one.positions[0], err_msg=m)
            np.testing.assert_array_equal(batch.forecast[k], one.forecast[0], err_msg=m)


def test_a_mean_of_identical_positions_is_that_position_exactly():
    """Σ w·x / Σ w rounds past 100 for these weights (found by hypothesis): held to the range."""
    inp = Inputs.from_arrays([0.93249866, 0.25, 0.25, 0.25], [[100.0]] * 4, [[0.15625]] * 4,
                             low=[0.0], high=[100.0], status_quo=[0.0])
    for m in ("mean", "compromise", "median"):
        assert run(m, inp)[0].final[0, 0] == 100.0, m
