"""Key actors and sensitivity: who moves the forecast, which inputs matter, who must move.

* :func:`key_actors` — per actor, how far each model's forecast moves per unit of its
  capability (+10 %), salience (+0.1) and position (+1 scale unit): forward differences
  averaged over Monte-Carlo draws, every variant of every draw in one batch per model.
* :func:`sobol` — Sobol first-order and total indices (SALib: Saltelli/Sobol' sampling,
  Jansen estimators) of every uncertain input (capabilities, positions, saliences, no-deal
  values) for each issue's forecast and each deal's max-min slack. SALib's unit-cube sample is
  pushed through each input's own distribution (uniform, triangular or PERT), as the Monte
  Carlo does.
* :func:`concessions` — who would have to move, and how far, for a deal to become feasible:
  per veto player, the smallest fall of its no-deal value that alone makes the deal feasible
  (negative: how much more it could demand before it blocks; ``inf``: the others block even
  if it accepts anything). Exact bisection on the batched max-min solver.
"""

from __future__ import annotations

import warnings

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import models as _models
from ..models.base import Inputs
from .feasibility import deal_issues, maxmin, weights
from .montecarlo import _draw, _table

CAP_STEP = 0.10
"""Relative capability step (+10 %)."""
SAL_STEP = 0.10
"""Absolute salience step."""
POS_STEP = 0.05
"""Position step as a share of the issue's scale (reported per scale unit)."""


def _scenario_for(scenario, view: str | None):
    return scenario.view(view) if view else scenario


def _sample(scenario, draws: int, seed: int | None) -> tuple[Inputs, np.ndarray]:
    from .sweeps import sample_chunk, tables

    t = tables(scenario, "base")
    d = draws if t.uncertain else 1
    return sample_chunk(t, d, np.random.SeedSequence(seed))


# ---- key actors -----------------------------------------------------------------------------

def key_actors(scenario, models: Sequence[str] | None = None, draws: int = 200,
               seed: int | None = 0, view: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast shift per unit of each actor's capability, salience and position.

    Returns (effects, ranking). ``effects``: one row per actor × field × issue × model with
    ``effect`` (forecast units per unit: per +10 % capability, per +0.1 salience, per +1
    position unit) averaged over draws. ``ranking``: per actor and model, the mean absolute
    shift of the forecast as a share of each scale (in %) for the three steps, and their sum.
    """
    sc = _scenario_for(scenario, view)
    names = list(models) if models is not None else \
        [n for n, s in _models.available().items() if not s.dynamic]
    base, _ = _sample(sc, draws, seed)
    n, a, i = base.shape
    width = base.high - base.low
    has = ~np.isnan(sc.position)
    variants = [("capability", k, -1) for k in range(a)]
    variants += [("salience", k, j) for k in range(a) for j in range(i) if has[k, j]]
    variants += [("position", k, j) for k in range(a) for j in range(i) if has[k, j]]
    V = len(variants)
    cap = np.repeat(base.capability[None], V + 1, axis=0)
    pos = np.repeat(base.position[None], V + 1, axis=0)
    sal = np.repeat(base.salience[None], V + 1, axis=0)
    step = np.zeros((V, n))
    fld = np.array([v[0] for v in variants])
    ak = np.array([v[1] for v in variants])
    jk = np.array([v[2] for v in variants])
    vi = np.arange(1, V + 1)
    c_m, s_m, p_m = fld == "capability", fld == "salience", fld == "position"
    cap[vi[c_m], :, ak[c_m]] *= 1 + CAP_STEP
    step[c_m] = 1.0
    s0 = sal[vi[s_m], :, ak[s_m], jk[s_m]]
    ds = np.where(s0 + SAL_STEP <= 1.0, SAL_STEP, -SAL_STEP)
    sal[vi[s_m], :, ak[s_m], jk[s_m]] = s0 + ds
    step[s_m] = ds / SAL_STEP
    p0 = pos[vi[p_m], :, ak[p_m], jk[p_m]]
    h = POS_STEP * width[jk[p_m]][:, None]
    dp = np.where(p0 + h <= base.high[jk[p_m]][:, None], h, -h)
    pos[vi[p_m], :, ak[p_m], jk[p_m]] = p0 + dp
    step[p_m] = dp
    batch = Inputs.from_arrays(cap.reshape((V + 1) * n, a), pos.reshape((V + 1) * n, a, i),
                               sal.reshape((V + 1) * n, a, i), base.low, base.high,
                               base.status_quo, base.veto, base.actors, base.issues)
    rows, rank = [], []
    for name in names:  # a handful of models
        try:
            final = _models.run(name, batch, seed=seed)[0].final.reshape(V + 1, n, i)
        except ValueError:
            continue
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: no stance there
            diff = (final[1:] - final[:1]) / step[..., None]  # [V, n, i]
            eff = np.nanmean(diff, axis=1) if np.isnan(diff).any() else diff.mean(axis=1)
        share = np.abs(eff) / np.where(width > 0, width, 1.0) * 100  # % of scale per step
        # per-step shares: capability per +10 %, salience per +0.1, position per 5 % of scale
        per_step = np.where(p_m[:, None], share * (POS_STEP * width), share)
        for k, (f, aa, jj) in enumerate(variants):
            for j in range(i):
                if f != "capability" and j != jj:
                    continue
                rows.append({"actor": sc.actor_ids[aa], "field": f, "issue": sc.issue_ids[j],
                             "model": name, "effect": float(eff[k, j])})
        for aa in range(a):
            def total(f):
                m = (fld == f) & (ak == aa)
                if not m.any():
                    return 0.0
                v = per_step[m]
                return float(np.nansum(v) / i) if f == "capability" else \
                    float(np.nansum(v[np.arange(m.sum()), jk[m]]) / i)
            c, s, p = total("capability"), total("salience"), total("position")
            rank.append({"actor": sc.actor_ids[aa], "model": name, "capability": c,
                         "salience": s, "position": p, "influence": c + s + p})
    effects = pd.DataFrame(rows, columns=["actor", "field", "issue", "model", "effect"])
    ranking = pd.DataFrame(rank, columns=["actor", "model", "capability", "salience",
                                          "position", "influence"])
    ranking = ranking.sort_values(["model", "influence", "actor"], ascending=[True, False, True],
                                  kind="stable").reset_index(drop=True)
    return effects, ranking


# ---- Sobol indices --------------------------------------------------------------------------

@dataclass
class Sobol:
    """Sobol indices; ``indices`` has one row per output × input."""

    n: int
    inputs: list[str]
    indices: pd.DataFrame
    evaluations: int
    notes: list[str] = field(default_factory=list)

    def top(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` inputs with the largest total index for each output."""
        df = self.indices.sort_values(["output", "ST", "input"], ascending=[True, False, True],
                                      kind="stable")
        return df.groupby("output", sort=False).head(k).reset_index(drop=True)


def _spread(q, spread: float | None, lo: float, hi: float, relative: float | None = None):
    """``q`` itself when ranged; with ``spread``, a point value gets a uniform range of
    ``± spread`` (times ``relative`` when given), kept in [lo, hi]."""
    if q.uncertain or spread is None:
        return q
    half = spread * (abs(q.value) if relative is None else relative)
    from dataclasses import replace as _replace

    low, high = max(lo, q.value - half), min(hi, q.value + half)
    return _replace(q, low=low, high=high, dist="uniform") if high > low else q


def _uncertain_cells(sc, spread: float | None = None) -> list[tuple[str, str, int, int, Any]]:
    out = []
    inf = float("inf")
    for k, a in enumerate(sc.actors):
        q = _spread(a.capability, spread, 0.0, inf)
        if q.uncertain:
            out.append((f"{a.id}.capability", "capability", k, -1, q))
        if a.no_deal is not None:
            q = _spread(a.no_deal, spread, 0.0, 1.0, 1.0)
            if q.uncertain:
                out.append((f"{a.id}.no_deal", "no_deal", k, -1, q))
    for k, a in enumerate(sc.actor_ids):
        for j, iss in enumerate(sc.issue_ids):
            st = sc.stances.get((a, iss))
            if st is None:
                continue
            x = sc.issues[j]
            q = _spread(st.position, spread, x.low, x.high, x.high - x.low)
            if q.uncertain:
                out.append((f"{a}.{iss}.position", "position", k, j, q))
            q = _spread(st.salience, spread, 0.0, 1.0, 1.0)
            if q.uncertain:
                out.append((f"{a}.{iss}.salience", "salience", k, j, q))
    return out


def sobol(scenario, model: str = "compromise", n: int = 256, seed: int | None = 0,
          view: str | None = None, deals: Sequence[str] | None = None,
          num_resamples: int = 100, chunk: int = 20_000, backend: str = "local",
          scheduler: str | None = None, client=None, spread: float | None = None) -> Sobol:
    """Sobol indices of every uncertain input for each issue's forecast and each deal's slack.

    ``n`` is SALib's base sample size (a power of 2); ``n · (D + 2)`` evaluations for D inputs,
    in batches of ``chunk`` rows (tasks, run here or on Dask with identical results).
    ``spread`` (opt-in, stated in the output) gives every point value a uniform range:
    capability ± spread × value, position ± spread × scale, salience and no-deal ± spread.
    """
    from SALib.analyze import sobol as sa
    from SALib.sample import sobol as ss

    _models.get(model)
    sc = _scenario_for(scenario, view)
    if spread is not None and not 0 < spread <= 1:
        raise ValueError(f"spread: expected a number in (0, 1], got {spread!r}")
    cells = _uncertain_cells(sc, spread)
    if not cells:
        raise ValueError(f"scenario {sc.id!r} has no ranged inputs: nothing to analyse "
                         "(give ranges to capabilities, positions, saliences or no-deal values, "
                         "or ask for a uniform --spread)")
    names = [c[0] for c in cells]
    D = len(cells)
    problem = {"num_vars": D, "names": names, "bounds": [[0.0, 1.0]] * D}
    u = ss.sample(problem, n, calc_second_order=False, seed=seed)
    m = u.shape[0]
    t = _table([c[4] for c in cells], (D,))
    vals = _draw(t, u)  # [m, D] through each input's own distribution
    base = sc.inputs()
    a, i = len(sc.actors), len(sc.issues)
    cap = np.repeat(base.capability, m, axis=0)
    pos = np.repeat(base.position, m, axis=0)
    sal = np.repeat(base.salience, m, axis=0)
    nd = np.tile(np.array([np.nan if x.no_deal is None else x.no_deal.value
                           for x in sc.actors]), (m, 1))
    kind = np.array([c[1] for c in cells])
    ak = np.array([c[2] for c in cells])
    jk = np.array([c[3] for c in cells])
    rows_ = np.arange(m)[:, None]
    for f, arr in (("capability", cap), ("no_deal", nd)):
        sel = np.flatnonzero(kind == f)
        arr[rows_, ak[sel][None, :]] = vals[:, sel]
    for f, arr in (("position", pos), ("salience", sal)):
        sel = np.flatnonzero(kind == f)
        arr[rows_, ak[sel][None, :], jk[sel][None, :]] = vals[:, sel]
    masks = deal_issues(sc.deals, sc.issue_ids)
    if deals is not None:
        masks = {k: v for k, v in masks.items() if k in deals}
    notes = []
    if spread is not None:
        notes.append(f"point values given a uniform ±{spread:g} range (--spread): capability "
                     "relative, position as a share of its scale, salience and no-deal absolute")
    if not sc.veto.any():
        masks = {}
        notes.append("no veto players: feasibility outputs left out")
    from .sweeps import map_tasks

    entropy = int(np.random.SeedSequence(seed).entropy)
    tasks = [_SobolTask(k, entropy, model, cap[lo:lo + chunk], pos[lo:lo + chunk],
                        sal[lo:lo + chunk], nd[lo:lo + chunk], base.low, base.high,
                        base.status_quo, base.veto, base.actors, base.issues, masks)
             for k, lo in enumerate(range(0, m, chunk))]
    parts = map_tasks(_sobol_task, tasks, backend, scheduler, client)
    outputs: dict[str, np.ndarray] = {}
    final = np.concatenate([p["final"] for p in parts])
    for j, iss in enumerate(sc.issue_ids):
        outputs[f"{model}:{iss}"] = final[:, j]
    for deal in masks:
        outputs[f"slack:{deal}"] = np.concatenate([p[deal] for p in parts])
    rows = []
    for out_name, y in outputs.items():  # a handful of outputs
        if not np.isfinite(y).all() or np.ptp(y) == 0:
            notes.append(f"{out_name}: constant or undefined over the sample; no indices")
            continue
        r = sa.analyze(problem, y, calc_second_order=False, num_resamples=num_resamples,
                       seed=seed, print_to_console=False)
        for k, nm in enumerate(names):
            rows.append({"output": out_name, "input": nm, "S1": float(r["S1"][k]),
                         "S1_conf": float(r["S1_conf"][k]), "ST": float(r["ST"][k]),
                         "ST_conf": float(r["ST_conf"][k])})
    df = pd.DataFrame(rows, columns=["output", "input", "S1", "S1_conf", "ST", "ST_conf"])
    return Sobol(n, names, df, m, notes)


@dataclass(frozen=True)
class _SobolTask:
    index: int
    entropy: int
    model: str
    capability: np.ndarray
    position: np.ndarray
    salience: np.ndarray
    no_deal: np.ndarray
    low: np.ndarray
    high: np.ndarray
    status_quo: np.ndarray
    veto: np.ndarray
    actors: tuple[str, ...]
    issues: tuple[str, ...]
    masks: dict


def _sobol_task(t: _SobolTask) -> dict[str, np.ndarray]:
    """One chunk of SALib's sample: the model's forecast and every deal's max-min slack."""
    batch = Inputs.from_arrays(t.capability, t.position, t.salience, t.low, t.high,
                               t.status_quo, t.veto, t.actors, t.issues)
    rng = np.random.default_rng(np.random.SeedSequence(t.entropy, spawn_key=(t.index,)))
    out = {"final": _models.run(t.model, batch, seed=rng)[0].final}
    m, a, i = batch.shape
    if t.masks:
        w = weights(batch.salience, batch.position, batch.low, batch.high)
        c = 1.0 - np.nan_to_num(t.no_deal, nan=0.0)
        for deal, mask in t.masks.items():
            out[deal] = maxmin(w, batch.position, c, np.broadcast_to(t.veto, (m, a)),
                               np.broadcast_to(mask, (m, i)))[0]
    return out


# ---- who would have to move -----------------------------------------------------------------

def needed_concession(w, position, c, veto, move, actor: int, iterations: int = 40) -> np.ndarray:
    """``[n]`` the smallest ``delta`` such that raising ``c[:, actor]`` by ``delta`` (lowering
    its no-deal value) makes the deal feasible; ``inf`` if the other veto players block anyway.

    Bisection on [-1, 1] (``max-min`` is non-decreasing in ``c``), all problems at once.
    """
    n = position.shape[0]
    lo, hi = np.full(n, -1.0), np.full(n, 1.0)

    def ok(delta):
        cc = c.copy()
        cc[:, actor] += delta
        v, _ = maxmin(w, position, cc, veto, move)
        return v >= 0.0  # the exact threshold, so the root is the exact concession

    reach = ok(hi)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        good = ok(mid)
        hi = np.where(good, mid, hi)
        lo = np.where(good, lo, mid)
    return np.where(reach, hi, np.inf)


def concessions(scenario, draws: int = 500, seed: int | None = 0, view: str | None = None,
                deals: Sequence[str] | None = None) -> pd.DataFrame:
    """Per deal and veto player: how far its no-deal value must fall for a deal to be feasible.

    Columns: ``p_needed`` (share of draws where it must concede something), ``median_needed``
    and ``p90_needed`` (over those draws, utility on [0, 1]), ``p_alone_insufficient`` (the
    others block even if it accepts anything), ``median_margin`` (over draws where it need not
    concede: how much more it could demand before it blocks).
    """
    sc = _scenario_for(scenario, view)
    inp, nd = _sample(sc, draws, seed)
    n, a, i = inp.shape
    w = weights(inp.salience, inp.position, inp.low, inp.high)
    c = 1.0 - np.nan_to_num(nd, nan=0.0)
    veto = np.broadcast_to(sc.veto, (n, a))
    masks = deal_issues(sc.deals, sc.issue_ids)
    if deals is not None:
        masks = {k: v for k, v in masks.items() if k in deals}
    rows = []
    for deal, mask in masks.items():
        move = np.broadcast_to(mask, (n, i))
        for k in np.flatnonzero(sc.veto):  # a handful of veto players
            need = needed_concession(w, inp.position, c, veto, move, int(k))
            fin = np.isfinite(need)
            pos_need = fin & (need > 1e-9)
            rows.append({"deal": deal, "actor": sc.actor_ids[k], "no_deal": float(np.nanmedian(nd[:, k]))
                         if not np.isnan(nd[:, k]).all() else float("nan"),
                         "p_needed": float(pos_need.mean()),
                         "median_needed": float(np.median(need[pos_need])) if pos_need.any() else 0.0,
                         "p90_needed": float(np.quantile(need[pos_need], 0.9)) if pos_need.any() else 0.0,
                         "p_alone_insufficient": float((~fin).mean()),
                         "median_margin": float(np.median(-need[fin & ~pos_need]))
                         if (fin & ~pos_need).any() else 0.0,
                         "draws": n})
    return pd.DataFrame(rows, columns=["deal", "actor", "no_deal", "p_needed", "median_needed",
                                       "p90_needed", "p_alone_insufficient", "median_margin",
                                       "draws"])
