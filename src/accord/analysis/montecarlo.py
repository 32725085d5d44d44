"""Monte Carlo over every ranged input: one seeded batch ``[d, a, i]``, never a loop over draws.

Each Quantity with a range is drawn from its named distribution (uniform; triangular or
PERT with the point value as mode). Capabilities, positions and saliences are drawn
independently. Quantities without a range stay at their value in every draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.base import Inputs
from ..scenario.model import Quantity, Scenario

_CODES = {"uniform": 0, "triangular": 1, "pert": 2}


@dataclass(frozen=True)
class _Table:
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    dist: np.ndarray


def _table(quantities: list[Quantity | None], shape: tuple[int, ...]) -> _Table:
    value = np.full(len(quantities), np.nan)
    low, high = value.copy(), value.copy()
    dist = np.zeros(len(quantities), int)
    for k, q in enumerate(quantities):
        if q is None:
            continue
        lo, hi = q.bounds()
        value[k], low[k], high[k], dist[k] = q.value, lo, hi, _CODES.get(q.dist, 0)
    return _Table(value.reshape(shape), low.reshape(shape), high.reshape(shape),
                  dist.reshape(shape))


def _draw(t: _Table, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF transform of uniforms ``u [d, ...]`` for every cell at once.

    Uniform cells are one fused expression; triangular and PERT cells, usually few, are
    transformed only where they occur.
    """
    lo, hi, mode = t.low, t.high, t.value
    width = hi - lo
    out = u * width
    out += lo
    tri = t.dist == 1
    if tri.any():
        c = np.where(width > 0, (mode - lo) / np.where(width > 0, width, 1.0), 0.5)
        uu = u[:, tri]
        lo_t, hi_t, m_t, w_t, c_t = lo[tri], hi[tri], mode[tri], width[tri], c[tri]
        out[:, tri] = np.where(uu < c_t, lo_t + np.sqrt(uu * w_t * (m_t - lo_t)),
                               hi_t - np.sqrt((1 - uu) * w_t * (hi_t - m_t)))
    pert = t.dist == 2
    if pert.any():
        w_p = width[pert]
        c = np.where(w_p > 0, (mode[pert] - lo[pert]) / np.where(w_p > 0, w_p, 1.0), 0.5)
        from scipy import stats  # heavy import, only when a PERT range occurs

        out[:, pert] = lo[pert] + w_p * stats.beta.ppf(u[:, pert], 1 + 4 * c, 1 + 4 * (1 - c))
    fixed = ~(width > 0)
    if fixed.any():
        out[:, fixed] = mode[fixed]
    return out


def uncertain(scenario: Scenario) -> bool:
    """True when any number of the scenario has a range."""
    if any(a.capability.uncertain for a in scenario.actors):
        return True
    return any(st.position.uncertain or st.salience.uncertain for st in scenario.stances.values())


def sample(scenario: Scenario, draws: int, seed: int | np.random.Generator | None = 0) -> Inputs:
    """``draws`` joint draws of the scenario's uncertain inputs as one batched Inputs."""
    if draws < 1:
        raise ValueError("draws must be at least 1")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    a, i = len(scenario.actors), len(scenario.issues)
    cap = _table([x.capability for x in scenario.actors], (a,))
    cells = [scenario.stances.get((x, y)) for x in scenario.actor_ids for y in scenario.issue_ids]
    pos = _table([c.position if c else None for c in cells], (a, i))
    sal = _table([c.salience if c else None for c in cells], (a, i))
    u = rng.random((draws, a + 2 * a * i))
    capability = _draw(cap, u[:, :a])
    position = _draw(pos, u[:, a:a + a * i].reshape(draws, a, i))
    salience = _draw(sal, u[:, a + a * i:].reshape(draws, a, i))
    salience = np.where(np.isnan(position), np.nan, salience)
    return Inputs.from_arrays(capability, position, salience, scenario.low, scenario.high,
                              scenario.status_quo, scenario.veto, scenario.actor_ids,
                              scenario.issue_ids)


def stack(batches: list[Inputs]) -> Inputs:
    """Concatenate batches over the same actors and issues along the draw axis."""
    first = batches[0]
    return Inputs(np.concatenate([b.capability for b in batches]),
                  np.concatenate([b.position for b in batches]),
                  np.concatenate([b.salience for b in batches]),
                  first.low, first.high, first.status_quo, first.veto, first.actors, first.issues)
