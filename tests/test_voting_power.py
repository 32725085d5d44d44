"""Council voting power: published values, a game worked by hand, and the index's invariants."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.analysis import voting_power as vp
from accord.analysis.voting_power import (CouncilRule, banzhaf, council_power, council_rule,
                                          shapley_shubik, swings)

EU15 = [10, 10, 10, 10, 8, 5, 5, 5, 5, 4, 4, 3, 3, 3, 2]


def _gf_ssi(weights, quota, **kw):
    """The generating-function path even where powerindex would be used."""
    rule = CouncilRule("g", tuple(map(str, range(len(weights)))), tuple(weights), quota, **kw)
    piv, _ = vp._pivots(rule)
    n = len(weights)
    coef = np.array([float(Fraction(1, n) / Fraction(__import__("math").comb(n - 1, k)))
                     for k in range(n)])
    return piv @ coef


def test_eec6_straffin_1993():
    # Straffin (1993), Game Theory and Strategy, the EEC-6 Council of 1958: SSI 7/30 for
    # France, Germany, Italy (4 votes), 3/20 for Belgium, Netherlands (2), 0 for Luxembourg (1)
    expect = [7 / 30] * 3 + [3 / 20] * 2 + [0.0]
    assert shapley_shubik([4, 4, 4, 2, 2, 1], 12) == pytest.approx(expect, abs=1e-12)
    assert _gf_ssi([4, 4, 4, 2, 2, 1], 12) == pytest.approx(expect, abs=1e-12)
    # normalised Banzhaf 5/21, 5/21, 5/21, 1/7, 1/7, 0 (powerindex 0.2.0 documentation)
    assert banzhaf([4, 4, 4, 2, 2, 1], 12) == pytest.approx([5 / 21] * 3 + [1 / 7] * 2 + [0], abs=1e-12)


def test_eu15_qualified_majority_62_of_87():
    # Exact values of the EU-15 game (Amsterdam weights, quota 62), as computed by four
    # independent codes (research note deu.md §3): SSI 7/60 for a 10-vote member, 860/9009
    # for Spain ... 932/45045 for Luxembourg; Banzhaf swings 1849 ... 375 of 16,565.
    ssi = shapley_shubik(EU15, 62)
    exact = {10: Fraction(7, 60), 8: Fraction(860, 9009), 5: Fraction(19883, 360360),
             4: Fraction(743, 16380), 3: Fraction(1588, 45045), 2: Fraction(932, 45045)}
    for w, value in zip(EU15, ssi):
        assert value == pytest.approx(float(exact[w]), abs=1e-12)
    rule = council_rule(dt.date(2000, 6, 1), "QMV")
    s = dict(zip(rule.members, swings(rule)))
    assert (s["de"], s["es"], s["nl"], s["at"], s["dk"], s["lu"]) == (1849, 1531, 973, 793, 595, 375)
    assert sum(s.values()) == 16565
    assert banzhaf(EU15, 62, normalised=False)[0] == pytest.approx(1849 / 2 ** 14)


def test_eu27_nice_votes_only_swings():
    # EU-27 Nice, 255 of 345, votes only (deu.md §3): a 29-vote member swings 2,193,664
    # coalitions, a 3-vote member (Malta) 265,568; total 28,186,428.
    w = list(vp._NICE[m] for m in vp._NICE if m != "cr")
    rule = CouncilRule("nice27", tuple(map(str, range(27))), tuple(w), 255)
    s = swings(rule)
    assert s[w.index(29)] == 2_193_664 and s[w.index(3)] == 265_568
    assert s.sum() == 28_186_428


def test_a_small_game_worked_by_hand():
    # weights 3, 2, 1, 1, quota 4. A (3) is pivotal after any one other (3 coalitions x 1!2!
    # orders) and after any two others weighing 2-3 ({B,C}, {B,D}, {C,D}: 3 x 2!1!): 12 of
    # 24 orders, 1/2. B is pivotal after {A} or {C,D}: 4 of 24. Swings: A 6, B, C, D 2 each.
    assert shapley_shubik([3, 2, 1, 1], 4) == pytest.approx([1 / 2, 1 / 6, 1 / 6, 1 / 6])
    assert banzhaf([3, 2, 1, 1], 4, normalised=False) == pytest.approx([6 / 8, 2 / 8, 2 / 8, 2 / 8])
    # a member clause (at least 3 members) makes every 3-member set winning and every pair
    # losing: the weights no longer matter, power is equal
    assert shapley_shubik([3, 2, 1, 1], 4, min_members=3) == pytest.approx([0.25] * 4)


def test_unanimity_gives_every_member_an_equal_veto():
    p = council_power(dt.date(2009, 3, 1), "Unan")
    assert len(p) == 27 and all(v == pytest.approx(1 / 27) for v in p.values())


def test_the_rule_follows_the_date():
    assert council_rule(dt.date(2004, 4, 30), "QMV").quota == 62
    assert council_rule(dt.date(2004, 5, 1), "QMV").quota == 88
    assert sum(council_rule(dt.date(2004, 5, 1), "QMV").weights) == 124
    nice25 = council_rule(dt.date(2005, 1, 1), "QMV")
    assert (nice25.quota, sum(nice25.weights), nice25.min_members) == (232, 321, 13)
    nice27 = council_rule(dt.date(2007, 1, 1), "QMV")
    assert (nice27.quota, sum(nice27.weights), nice27.min_members) == (255, 345, 14)
    assert council_rule(dt.date(2007, 1, 1), "QMV(10)").min_members == 18
    assert sum(council_rule(dt.date(2014, 1, 1), "QMV").weights) == 352
    lisbon = council_rule(dt.date(2016, 1, 1), "QMV")
    assert (lisbon.min_members, lisbon.enough_members, len(lisbon.members)) == (16, 25, 28)
    with pytest.raises(ValueError, match="no Council period"):
        council_rule(dt.date(1990, 1, 1), "QMV")
    with pytest.raises(ValueError, match="voting rule"):
        council_rule(dt.date(2000, 1, 1), "majority")


def test_lisbon_gives_the_largest_states_more_than_nice_did():
    nice, lisbon = council_power(dt.date(2013, 1, 1), "QMV"), council_power(dt.date(2016, 1, 1), "QMV")
    assert lisbon["de"] > nice["de"] and lisbon["mt"] < lisbon["lu"] < lisbon["cy"]
    assert sum(lisbon.values()) == pytest.approx(1.0)
    assert council_power(dt.date(2016, 1, 1), "QMV", "banzhaf")["de"] < lisbon["de"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=2, max_size=8), st.floats(0.5, 0.95),
       st.integers(0, 8))
def test_indices_are_shares_ordered_by_weight_and_agree_with_powerindex(weights, share, members):
    quota = max(1, int(share * sum(weights)))
    ssi = shapley_shubik(weights, quota)
    assert ssi.sum() == pytest.approx(1.0)
    order = np.argsort(weights, kind="stable")
    assert np.all(np.diff(ssi[order]) >= -1e-12)  # more votes never means less power
    assert _gf_ssi(weights, quota) == pytest.approx(ssi, abs=1e-12)  # two methods, one answer
    composite = shapley_shubik(weights, quota, min_members=min(members, len(weights)))
    assert composite.sum() == pytest.approx(1.0)
