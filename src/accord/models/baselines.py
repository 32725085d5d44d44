"""The literature's honest bars: status quo, mean, compromise, weighted median, Nash bargaining.

Every dynamic model is shown beside these. All are one-shot and work on ``[d, a, i]`` arrays
in one pass; an actor without a stance on an issue (NaN) takes no part in it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numba import njit

from .base import Inputs, ModelSpec, Outcome, Param, cells, frozen, one_shot


def _weights(inputs: Inputs, use_salience: bool = True) -> np.ndarray:
    """``[d, a, i]`` c·s weights, 0 where an actor has no stance."""
    w = inputs.capability[:, :, None] * (inputs.salience if use_salience else 1.0)
    return np.where(np.isnan(inputs.position) | np.isnan(w), 0.0, w)


_BLOCK = 4096
"""Draws per block in the rules below: each cell depends on its own draw only, so blocks give
the same bytes as one pass, and the peak memory is one block's temporaries (tens of MB)
instead of a dozen ``[d, a, i]`` arrays at once (about 0.5 GB at 6 x 10^4 draws)."""


def _blocks(d: int) -> list[slice]:
    """Near-equal blocks of at least _BLOCK/2 draws (never a block of one: numpy then picks
    another loop order for its sums); one block when d <= _BLOCK."""
    n = -(-d // _BLOCK)
    if n <= 1:
        return [slice(0, d)]
    edges = np.linspace(0, d, n + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def _by_blocks(fn, *arrays, **kw):
    """``fn(*arrays, **kw)`` on blocks of the leading (draw) axis of ``[d, a, i]`` arrays."""
    if arrays[0].ndim != 3 or len(_blocks(arrays[0].shape[0])) == 1:
        return fn(*arrays, **kw)
    d = arrays[0].shape[0]
    full = [np.broadcast_to(x, arrays[0].shape) for x in arrays]
    return np.concatenate([fn(*[x[sl] for x in full], **kw) for sl in _blocks(d)])


def status_quo(inputs: Inputs, *, rounds: int = 1, rng=None) -> Outcome:
    """Nothing changes: the forecast is the issue's status quo (null where none is given)."""
    d = inputs.shape[0]
    forecast = np.broadcast_to(inputs.status_quo, (d, inputs.shape[2])).copy()
    reason = "one_shot" if not np.isnan(inputs.status_quo).any() else "no_status_quo"
    return one_shot(inputs, forecast, reason)


def mean(inputs: Inputs, *, rounds: int = 1, rng=None) -> Outcome:
    """Unweighted mean of the positions of the actors with a stance."""
    return one_shot(inputs, weighted_mean(inputs.position, inputs.present.astype(float)))


def weighted_mean(position: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Σ w·x / Σ w over the actor axis (-2); the unweighted mean where all weights are 0."""
    return _by_blocks(_weighted_mean, position, weight)


def _weighted_mean(position: np.ndarray, weight: np.ndarray) -> np.ndarray:
    shape = np.broadcast_shapes(position.shape, weight.shape)
    return _wmean_cells(cells(position, shape), cells(weight, shape)).reshape(
        shape[:-2] + shape[-1:])


@njit(cache=True, nogil=True, error_model="numpy")
def _wmean_cells(x, weight):  # pragma: no cover - compiled
    """Per ``[d, i]`` cell, actors in order (the order of numpy's sums over that axis):
    Σ w·x / Σ w over the present actors, their plain mean where the weights sum to 0, NaN
    where nobody is present. One pass, no ``[d, a, i]`` temporaries. A mean lies within
    what it averages (the weighted positions, an absent one as 0), but Σ w·x / Σ w can round
    past them (four actors at 100 gave 100.00000000000001, off the scale): it is held to
    their range."""
    d, a, n = x.shape
    out = np.empty((d, n))
    for k in range(d):
        for j in range(n):
            total = 0.0
            wx = 0.0
            plain = 0.0
            count = 0
            wlo, whi, plo, phi = np.inf, -np.inf, np.inf, -np.inf
            for b in range(a):
                v = x[k, b, j]
                wb = weight[k, b, j]
                total += wb
                if wb > 0:  # what the weighted mean averages (an absent actor as 0)
                    u = 0.0 if np.isnan(v) else v
                    wlo, whi = min(wlo, u), max(whi, u)
                if np.isnan(v):
                    continue
                wx += wb * v
                plain += v
                count += 1
                plo, phi = min(plo, v), max(phi, v)
            if total > 0:
                out[k, j] = min(max(wx / total, wlo), whi)
            elif count > 0:
                out[k, j] = min(max(plain / count, plo), phi)
            else:
                out[k, j] = np.nan
    return out


def compromise(inputs: Inputs, *, rounds: int = 1, rng=None) -> Outcome:
    """Capability × salience weighted mean (Achen 2006, "the compromise model")."""
    return one_shot(inputs, weighted_mean(inputs.position, _weights(inputs)))


def weighted_median(position: np.ndarray, weight: np.ndarray, rule: str = "lower") -> np.ndarray:
    """Weighted median over the actor axis (-2) of ``[..., a, i]`` arrays.

    ``lower``: the smallest position whose cumulative weight (positions ascending) reaches
    half the total; ``upper``: the largest position whose weight from above reaches half;
    ``midpoint``: their average. Cumulative weights within a relative 1e-12 of half count as
    reaching it, so rescaling the weights cannot flip an exact tie. NaN positions take no part; zero total weight falls back to
    equal weights among the actors present.
    """
    return _by_blocks(_weighted_median, position, weight, rule=rule)


_RULES = {"lower": 0, "upper": 1, "midpoint": 2}


def _weighted_median(position: np.ndarray, weight: np.ndarray, rule: str = "lower") -> np.ndarray:
    if rule not in _RULES:
        raise ValueError(f"rule: expected one of {', '.join(_RULES)}, got {rule!r}")
    shape = np.broadcast_shapes(position.shape, weight.shape)
    return _wmedian_cells(cells(position, shape), cells(weight, shape), _RULES[rule]).reshape(
        shape[:-2] + shape[-1:])


@njit(cache=True, nogil=True)
def _wmedian_cells(x, weight, rule):  # pragma: no cover - compiled
    """Per ``[d, i]`` cell: a stable insertion sort of the present actors' positions, the
    running sum of their weights (in that order, as ``np.cumsum``) and the first position
    where it reaches half the total (the last from above for ``upper``). A cell at a time,
    with a dozen actors, instead of argsorts and gathers of ``[d, a, i]`` arrays."""
    d, a, n = x.shape
    out = np.empty((d, n))
    xs = np.empty(a)
    ws = np.empty(a)
    cum = np.empty(a)
    for k in range(d):
        for j in range(n):
            m = 0
            total = 0.0
            for b in range(a):
                if not np.isnan(x[k, b, j]):
                    m += 1
                    total += weight[k, b, j]
            if m == 0:
                out[k, j] = np.nan
                continue
            # present actors first, in actor order, then stable insertion by position
            c = 0
            for b in range(a):
                v = x[k, b, j]
                if np.isnan(v):
                    continue
                wv = weight[k, b, j] if total > 0 else 1.0
                q = c
                while q > 0 and xs[q - 1] > v:
                    xs[q] = xs[q - 1]
                    ws[q] = ws[q - 1]
                    q -= 1
                xs[q] = v
                ws[q] = wv
                c += 1
            run = 0.0
            for q in range(m):
                run += ws[q]
                cum[q] = run
            # absent actors sort last (at +inf) with weight 0: they never move the sums
            half = cum[m - 1] / 2.0 * (1.0 - 1e-12)  # an exact half-weight tie survives rounding
            lo = 0
            for q in range(m):
                if cum[q] >= half:
                    lo = q
                    break
            hi = -1
            for q in range(m - 1, -1, -1):
                if cum[m - 1] - cum[q] + ws[q] >= half:
                    hi = q
                    break
            # no position from above reaches half: numpy's argmax of all-False picks the last
            # actor, an absent one at +inf when some are absent
            upper = xs[hi] if hi >= 0 else (xs[m - 1] if m == a else np.inf)
            if rule == 0:
                out[k, j] = xs[lo]
            elif rule == 1:
                out[k, j] = upper
            else:
                out[k, j] = (xs[lo] + upper) / 2.0
    return out


def median(inputs: Inputs, *, rounds: int = 1, rng=None, rule: str = "lower") -> Outcome:
    """c·s-weighted median position (Black 1948's median voter with weights; the forecast
    rule of Bueno de Mesquita 1994)."""
    return one_shot(inputs, weighted_median(inputs.position, _weights(inputs), rule))


@njit(cache=True, nogil=True, error_model="numpy")
def _nbs_cells(pos, cap, sal, sq, use_worst, quadratic, scale_low,
               scale_high):  # pragma: no cover - compiled
    """Maximise Σ_a w_a·log g_a(x) per ``[d, i]`` cell over the set where every g_a > 0.

    g_a(x) = r_a² − (x − p_a)² (quadratic) or r_a − |x − p_a| (linear), r_a = distance from
    the ideal point to the disagreement point (the status quo, or where ``use_worst`` the
    actor's worst end of the scale); w_a = c_a for the actors with a stance and a positive
    salience, else 0. The objective is concave there, so its slope falls monotonically:
    safeguarded Newton steps inside a shrinking bracket find the root. Compiled because the
    iteration count differs per cell.
    """
    d, a, n = pos.shape
    x = np.zeros((d, n))
    feasible = np.zeros((d, n), np.bool_)
    p = np.zeros(a)
    w = np.zeros(a)
    r = np.zeros(a)
    for k in range(d):
        for j in range(n):
            lo, hi, active = scale_low[j], scale_high[j], 0
            for m in range(a):
                v = pos[k, m, j]
                c = cap[k, m]
                w[m] = c if (not np.isnan(v) and sal[k, m, j] > 0 and not np.isnan(c)) else 0.0
                p[m] = 0.0 if np.isnan(v) else v
                if np.isnan(v):
                    r[m] = 0.0
                elif use_worst[j]:
                    far = scale_low[j] if abs(v - scale_low[j]) >= abs(v - scale_high[j]) \
                        else scale_high[j]
                    r[m] = abs(far - v)
                else:
                    r[m] = abs(sq[j] - v)
            for m in range(a):
                if w[m] > 0:
                    active += 1
                    lo = max(lo, p[m] - r[m])
                    hi = min(hi, p[m] + r[m])
            if active == 0 or not lo < hi:
                continue
            feasible[k, j] = True
            a_, b_ = lo, hi
            t = 0.5 * (lo + hi)
            for _ in range(200):
                g1, g2, edge = 0.0, 0.0, 0.0
                for m in range(a):
                    wm = w[m]
                    if wm <= 0:
                        continue
                    dx = t - p[m]
                    rm = r[m]
                    den = rm * rm - dx * dx if quadratic else rm - abs(dx)
                    if den <= 0:  # on the edge of this actor's acceptable set (rounding)
                        edge = -dx
                        continue
                    if quadratic:
                        g1 += wm * (-2.0 * dx) / den
                        g2 += wm * (-2.0 * den - 4.0 * dx * dx) / (den * den)
                    else:
                        g1 += wm * (-np.sign(dx)) / den
                        g2 += -wm / (den * den)
                if edge != 0.0:
                    g1, g2 = edge, 0.0
                if g1 > 0:
                    a_ = t
                else:
                    b_ = t
                if b_ - a_ <= 1e-13 * (hi - lo) or g1 == 0.0:
                    break
                step = t - g1 / g2 if g2 < 0 else 0.5 * (a_ + b_)
                t = step if a_ < step < b_ else 0.5 * (a_ + b_)
            x[k, j] = t
    return x, feasible


def nbs(inputs: Inputs, *, rounds: int = 1, rng=None, utility: str = "quadratic",
        disagreement: str = "status_quo") -> Outcome:
    """Asymmetric Nash bargaining solution (Nash 1950; Roth 1979), issue by issue.

    Maximises Π_a (U_a(x) − U_a(d))^(c_a) over the settlements every actor prefers to the
    disagreement point d, with U_a(x) = −s_a (x − p_a)² (``utility=quadratic``, Achen 2006) or
    −s_a |x − p_a| (``linear``). ``disagreement=status_quo`` takes d = the issue's status quo:
    where some actor gains from no move away from it (ideal points on both sides of it), the
    solution is the status quo itself, which is the unanimity logic of the model.
    ``disagreement=worst`` takes each actor's worst point of the scale; issues with no status
    quo use it too, and the summary says so.
    """
    parts = [_nbs(replace(inputs, capability=inputs.capability[sl],
                          position=inputs.position[sl], salience=inputs.salience[sl],
                          power=None), utility, disagreement)
             for sl in _blocks(inputs.shape[0])]          # blocks of draws: same bytes
    forecast = np.concatenate([f for f, _, _ in parts])
    feasible = np.concatenate([g for _, g, _ in parts])
    return one_shot(inputs, forecast, summary=parts[0][2],
                    extra={"nbs_gain_possible": feasible[:, None, :]})


def _nbs(inputs: Inputs, utility: str, disagreement: str):
    d, a, i = inputs.shape
    sq = inputs.status_quo
    use_worst = np.full(i, disagreement == "worst") | np.isnan(sq)
    p = inputs.position
    c = frozen
    x, feasible = _nbs_cells(c(p), c(inputs.capability), c(np.broadcast_to(inputs.salience, p.shape)),
                             c(np.nan_to_num(sq)), c(use_worst, np.bool_),
                             utility == "quadratic", c(inputs.low), c(inputs.high))
    forecast = np.where(feasible, x, np.where(use_worst, np.nan, sq))
    # nobody present: NaN; nobody gains from moving: the disagreement point
    everyone_at_d = ~feasible & ~use_worst
    forecast = np.where(everyone_at_d, sq, forecast)
    stuck = ~feasible & use_worst
    if stuck.any():  # all ideal points coincide with the worst point: stay there
        forecast = np.where(stuck, np.nanmean(np.where(inputs.present, p, np.nan), axis=1), forecast)
    summary = {"nbs_disagreement": {iss: ("worst" if use_worst[k] else "status_quo")
                                    for k, iss in enumerate(inputs.issues)}}
    return forecast, feasible, summary


def _memory_limit(draws: int, actors: int, issues: int) -> str | None:
    """Refuse batches whose temporaries would not fit: about 16 arrays of d·a·i doubles."""
    need = 16 * 8 * draws * actors * issues
    budget = _available_memory() // 2
    if need > budget:
        return (f"{draws} draws × {actors} actors × {issues} issues needs about "
                f"{need / 2**30:.1f} GiB for the baselines (limit {budget / 2**30:.1f} GiB, "
                "half the free memory); use fewer draws or run in chunks (--backend dask)")
    return None


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


_ACHEN = ("Achen, C. H. (2006). Evaluating political decision-making models. In Thomson, "
          "Stokman, Achen & König (eds.), The European Union Decides, Cambridge UP, 264-298.")

SPECS = (
    ModelSpec("status_quo", "Status quo", "The reference point of each issue (no change).",
              status_quo, doc="Forecast: the issue's status quo; null where the scenario gives none.\n\n"
              ">>> import accord\n>>> sc = accord.load('eu-emissions')\n"
              ">>> accord.models.run('status_quo', sc.inputs())[0].stop_reason[0]\n'no_status_quo'"),
    ModelSpec("mean", "Mean", "Unweighted mean of positions.", mean,
              doc=">>> import accord\n>>> out, _ = accord.models.run('mean', accord.load('eu-emissions').inputs())\n"
              ">>> round(float(out.final[0, 0]), 3)\n6.7"),
    ModelSpec("compromise", "Compromise (c·s-weighted mean)", _ACHEN, compromise,
              doc=">>> import accord\n>>> out, _ = accord.models.run('compromise', accord.load('eu-emissions').inputs())\n"
              ">>> round(float(out.final[0, 0]), 4)\n7.39"),
    ModelSpec("median", "Weighted median (c·s weights)",
              "Black, D. (1948). On the rationale of group decision-making. J. Political Economy 56; "
              "Bueno de Mesquita (1994).", median,
              params=(Param("rule", "lower", "tie rule: the lower, upper or midpoint weighted median",
                            str, ("lower", "upper", "midpoint")),),
              doc=">>> import accord\n>>> out, _ = accord.models.run('median', accord.load('eu-emissions').inputs())\n"
              ">>> float(out.final[0, 0])\n7.0"),
    ModelSpec("nbs", "Nash bargaining solution",
              "Nash, J. (1950). The bargaining problem. Econometrica 18; Roth, A. (1979). Axiomatic "
              "Models of Bargaining; utility as in " + _ACHEN, nbs,
              params=(Param("utility", "quadratic", "actor utility: −s(x−p)² or −s|x−p|", str,
                            ("quadratic", "linear")),
                      Param("disagreement", "status_quo",
                            "disagreement point: the issue's status quo, or each actor's worst "
                            "point of the scale (used where no status quo is given)", str,
                            ("status_quo", "worst"))),
              doc=">>> import accord\n>>> out, _ = accord.models.run('nbs', accord.load('eu-emissions').inputs())\n"
              ">>> 4 <= float(out.final[0, 0]) <= 10\nTrue"),
)

SPECS = tuple(replace(spec, max_size=_memory_limit) for spec in SPECS)
