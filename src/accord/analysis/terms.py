"""A view's deal terms and time inputs as sampling tables: red lines, delivery vetoes, pins,
durability, beliefs that a deal holds, renewal costs, monthly costs and trends.

Kept apart from the utility inputs (:mod:`.sweeps`) and drawn from their own random stream, so
that adding an outlook input to a scenario never changes the draws of positions, saliences or
no-deal values, nor any number that depends only on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .feasibility import COMPREHENSIVE, P_HOLDS, SETTLEMENT_BREAKDOWN_RATIO, Terms
from .montecarlo import _draw, _Table, _table

TERMS_STREAM = 2**31 - 1
"""Spawn-key component of the terms' random stream (distinct from every draw chunk's)."""


@dataclass(frozen=True)
class TermTables:
    """One view's terms: fixed arrays and sampling tables (plain arrays: pickles to workers)."""

    red_low: np.ndarray
    red_high: np.ndarray
    delivers: np.ndarray
    pins: Mapping[str, np.ndarray]
    durability: _Table
    """``[i]`` breakdown hazard ratio at the top of each scale (NaN: not a durability term)."""
    p_holds: _Table
    renewal: _Table
    cost: _Table
    cap_trend: _Table
    trend: _Table
    kind_ratio: Mapping[str, float]

    @property
    def any(self) -> bool:
        """True when the view codes anything beyond utilities (else results stay as before)."""
        return bool(np.isfinite(self.red_low).any() or np.isfinite(self.red_high).any()
                    or self.delivers.any() or self.pins
                    or np.isfinite(self.durability.value).any()
                    or np.isfinite(self.p_holds.value).any()
                    or np.isfinite(self.renewal.value).any())


def term_tables(sc, settlement_ratio: float = SETTLEMENT_BREAKDOWN_RATIO) -> TermTables:
    """The terms of a resolved scenario (a view, or the base)."""
    a, i = len(sc.actors), len(sc.issues)
    ii = {x: k for k, x in enumerate(sc.issue_ids)}
    red_low, red_high = np.full((a, i), np.nan), np.full((a, i), np.nan)
    delivers = np.zeros((a, i), bool)
    for k, actor in enumerate(sc.actors):
        for issue, rl in actor.red_lines.items():
            red_low[k, ii[issue]] = np.nan if rl.low is None else rl.low
            red_high[k, ii[issue]] = np.nan if rl.high is None else rl.high
        if actor.delivers is not None:
            delivers[k, [ii[x] for x in actor.delivers.issues]] = True
    pins = {}
    for deal, values in sc.deal_pins.items():
        arr = np.full(i, np.nan)
        for issue, v in values.items():
            arr[ii[issue]] = v
        pins[deal] = arr
    return TermTables(red_low, red_high, delivers, pins,
                      _table([sc.durability.get(x) for x in sc.issue_ids], (i,)),
                      _table([x.p_holds for x in sc.actors], (a,)),
                      _table([x.renewal_cost for x in sc.actors], (a,)),
                      _table([x.cost for x in sc.actors], (a,)),
                      _table([x.capability_trend for x in sc.actors], (a,)),
                      _table([x.trend for x in sc.issues], (i,)),
                      {COMPREHENSIVE: settlement_ratio})


@dataclass(frozen=True)
class TermDraws:
    """``n`` draws of a view's terms and time inputs."""

    terms: Terms
    cost: np.ndarray
    """``[n, a]`` utility per month (0 where not coded)."""
    trend: np.ndarray
    """``[n, i]`` scale units per month (0 where not coded)."""
    cap_trend: np.ndarray


def sample_terms(t: TermTables, n: int, seed: np.random.SeedSequence) -> TermDraws:
    """Draw every ranged term; uncoded beliefs take the documented defaults."""
    rng = np.random.default_rng(seed)
    a, i = t.red_low.shape

    def draw(tab: _Table, k: int) -> np.ndarray:
        return _draw(tab, rng.random((n, k)))

    dur = draw(t.durability, i)
    ph = draw(t.p_holds, a)
    ren = draw(t.renewal, a)
    cost = draw(t.cost, a)
    cap = draw(t.cap_trend, a)
    trend = draw(t.trend, i)
    # a view silent on commitment (no belief, renewal cost or durability term) is valued on
    # utilities alone, as before the outlook existed; the outlook still reports the base rate
    coded = not (np.isnan(dur).all() and np.isnan(ph).all() and np.isnan(ren).all())
    terms = Terms(t.red_low, t.red_high, t.delivers, t.pins,
                  None if np.isnan(dur).all() else dur,
                  np.where(np.isnan(ph), P_HOLDS, ph) if coded else None, np.nan_to_num(ren),
                  t.kind_ratio if coded else {})
    return TermDraws(terms, np.nan_to_num(cost), np.nan_to_num(trend), np.nan_to_num(cap))
