"""Is any agreement possible? Settlements every veto player prefers to no deal.

Utility (docs/analysis.md, docs/scenario-format.md): an actor's utility of a settlement ``x`` is

    u_a(x) = 1 - sum_i s_ai |x_i - p_ai| / (high_i - low_i) / sum_i s_ai

over the issues it has a stance on (salience-weighted city-block distance normalised by each
scale; Achen 2006; Stokman & Van Oosten 1994), so 1 is its ideal and 0 the far end of every
scale. ``x`` is *acceptable* to ``a`` when ``u_a(x) >= no_deal_a``; a deal is *feasible* when
some ``x`` is acceptable to every veto player.

Per draw we solve exactly ``V = max_x min_a (u_a(x) - no_deal_a)`` over the veto players: the
deal is feasible iff ``V >= 0``; the maximiser is the *closest-to-feasible package* and the
veto players whose slack is negative there are the *spoilers* (shortfall ``-slack``). Because
the weighted city-block loss is separable and convex, ``V`` equals the value of a small linear
programme over mixtures of the veto players' positions on each issue (the inner minimum of
the Lagrangian is a weighted median, which is one of those positions); the programme has one
row per veto player plus one per issue and is solved exactly by a compiled simplex (Bland's
rule, so it always terminates), one problem after another inside numba: no Python loop over
draws.

Narrow deals (docs/analysis.md, "Deals") are data: the issues a deal settles, the ones it
pins (a ceasefire pins sequencing at "ceasefire first") and the rest, which stay at the
status quo. Two readings of "the rest stay at the status quo":

* ``unsettled="status_quo"`` (default): the status quo on the other issues is part of the
  deal's outcome, so a deal is compared with no deal over the same issues. Then, with the same
  durability and no red line on a pinned issue, the narrow deal is the comprehensive one with
  some issues fixed: ``V_narrow <= V_comprehensive``, so a narrow deal is feasible only if the
  comprehensive one is. What makes a narrow deal feasible alone is a red line on an issue it
  leaves open (nobody crosses a red line by leaving the issue unresolved) or a longer
  expected life.
* ``unsettled="reserved"``: the other issues stay unresolved and nobody's loss on them counts.
  Then a narrow deal is feasible whenever the comprehensive one is (dropping issues only
  removes losses): narrow deals are feasible almost by construction. Kept for comparison.

Red lines (per actor and issue, an interval of acceptable settlements) are hard constraints
for the players whose consent a deal needs: the LP runs over the box they leave, with the
candidate settlements clipped to it (still exact: over a box the weighted-median inner problem
is solved at a clipped position). A red-line pair that no settlement meets makes the deal
infeasible (value ``-inf``) and names both actors. A *delivery veto* makes an actor's consent
necessary for any deal that touches the terms it must deliver. Durability: a deal's value to an
actor is ``P(holds)·u(deal) + (1 - P(holds))·(no_deal - renewal_cost)``, i.e. the same LP with
weights ``P·w`` and constant ``P·c - (1 - P)·r``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numba
import numpy as np
import pandas as pd

from .._threads import blocks_of, map_ordered
from ..models.base import Inputs, cells, frozen

TOL = 1e-9
"""A deal is feasible when the max-min slack is at least ``-TOL`` (LP round-off)."""
COMPREHENSIVE = "comprehensive"
MODES = ("reserved", "status_quo")


def weights(salience: np.ndarray, position: np.ndarray, low: np.ndarray,
            high: np.ndarray) -> np.ndarray:
    """``w[..., a, i] = s_ai / (high_i - low_i) / sum_i s_ai``; 0 where no stance."""
    shape = np.broadcast_shapes(np.shape(salience), np.shape(position))
    width = cells(np.asarray(high, float) - np.asarray(low, float), shape[-1:], tail=1)[0]
    return _weights(cells(salience, shape), cells(position, shape), width).reshape(shape)


@numba.njit(cache=True, nogil=True)
def _weights(sal, pos, width):  # pragma: no cover - compiled
    n, a_n, i_n = sal.shape
    w = np.zeros((n, a_n, i_n))
    for d in range(n):
        for a in range(a_n):
            total = 0.0
            for j in range(i_n):
                if not (np.isnan(pos[d, a, j]) or np.isnan(sal[d, a, j])):
                    total += sal[d, a, j]
            if not total > 0:
                continue
            for j in range(i_n):
                if width[j] > 0 and not (np.isnan(pos[d, a, j]) or np.isnan(sal[d, a, j])):
                    w[d, a, j] = sal[d, a, j] / total / width[j]
    return w


def nan0(x: np.ndarray) -> np.ndarray:
    """``x`` with NaN as 0 (positions, saliences and no-deal values are finite or NaN, so
    this is ``np.nan_to_num`` without its two passes for infinities)."""
    return np.where(np.isnan(x), 0.0, x)


def utility(x: np.ndarray, position: np.ndarray, w: np.ndarray,
            issues: np.ndarray | None = None, p0: np.ndarray | None = None) -> np.ndarray:
    """``u[..., a]`` of settlements ``x[..., i]`` (only the issues in the boolean ``issues``
    mask count when given: the reserved reading of a narrow deal). ``p0``: ``nan0(position)``
    when the caller already has it."""
    count = np.ones(w.shape[-1], bool) if issues is None else np.asarray(issues, bool)
    return 1.0 - loss(w, nan0(position) if p0 is None else p0, x, count)


def loss(w: np.ndarray, p0: np.ndarray, x: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``[..., a]`` ``sum_{i in count, w > 0} w_ai |x_i - p0_ai|`` for settlements
    ``x [..., i]`` (broadcast over actors), in one compiled pass: no ``[n, a, i]``
    temporaries, which in a what-if batch of 10^4 draws × levers are the cost."""
    shape = np.broadcast_shapes(w.shape, p0.shape, x.shape[:-1] + (1, x.shape[-1]))
    xs = shape[:-2] + shape[-1:]
    out = _loss(cells(w, shape), cells(p0, shape), cells(x, xs, tail=1), frozen(count, np.bool_))
    return out.reshape(shape[:-1])


@numba.njit(cache=True, nogil=True)
def _loss(w, p0, x, count):  # pragma: no cover - compiled
    n, a_n, i_n = w.shape
    out = np.zeros((n, a_n))
    for d in range(n):
        for a in range(a_n):
            t = 0.0
            for j in range(i_n):
                if count[j] and w[d, a, j] > 0:
                    t += w[d, a, j] * abs(x[d, j] - p0[d, a, j])
            out[d, a] = t
    return out


# ---- the exact max-min solver ---------------------------------------------------------------

PIVOT_TOL = 1e-9
"""The smallest pivot the warm start (:func:`_rewarm`) takes; below it a cold solve is safer."""


@numba.njit(cache=True, nogil=True, _nrt=False)
def _pivot(T, z, basis, m, n_col, leave, e):  # pragma: no cover - compiled
    """One simplex pivot on row ``leave``, column ``e`` of the tableau and reduced costs."""
    piv = T[leave, e]
    for q in range(n_col + 1):
        T[leave, q] /= piv
    for r in range(m):
        if r != leave:
            f = T[r, e]
            if f != 0.0:
                for q in range(n_col + 1):
                    T[r, q] -= f * T[leave, q]
    f = z[e]
    for q in range(n_col):
        z[q] -= f * T[leave, q]
    basis[leave] = e


@numba.njit(cache=True, nogil=True, _nrt=False)
def _start_rhs(w, p, cq, c, act, k, cand_actor, issue_rows, start_col, rhs0):  # pragma: no cover - compiled
    """The start package's value t_lo (returned) and the veto rows' right-hand side once the
    start candidates are in the basis, B0^-1 b, into ``rhs0[:k]``: c_a - t_lo - the loss of
    actor a at the start package, round-off below 0 cleaned."""
    i_n = w.shape[1]
    t_lo = np.inf
    for r in range(k):
        a = act[r]
        v = c[a]
        for j in range(i_n):
            if start_col[j] >= 0 and w[a, j] > 0:
                v -= w[a, j] * abs(cq[cand_actor[start_col[j]], j] - p[a, j])
        if v < t_lo:
            t_lo = v
    for r in range(k):
        rhs0[r] = c[act[r]] - t_lo
    for j in range(i_n):
        if issue_rows[j] >= 0:
            b = cand_actor[start_col[j]]
            for r in range(k):
                a = act[r]
                f = w[a, j] * abs(cq[b, j] - p[a, j]) if w[a, j] > 0 else 0.0
                if f != 0.0:
                    rhs0[r] -= f * 1.0
    for r in range(k):
        if rhs0[r] < 0.0:
            rhs0[r] = 0.0
    return t_lo


@numba.njit(cache=True, nogil=True)
def _maxmin_one(w, p, cq, c, veto, move, eps, decide, x, act, cand_issue, cand_actor,
                issue_rows, start_col, c_lo, c_hi, T, basis, z, mu, sums, dims,
                rhs0):  # pragma: no cover - compiled
    """One problem: w, p [a, i]; cq [a, i] the candidate settlements (positions clipped to the
    red lines); c [a]; veto [a]; move [i]. Writes the package into ``x`` [i]; returns (value,
    ok). ``decide`` (NaN: solve): return as soon as a bound puts the value on one side of it
    (see :func:`maxmin`). The other arguments are work arrays sized for the batch
    (:func:`_maxmin_batch` allocates them once); ``dims`` receives the final tableau's sizes
    (veto players, candidates, rows, and 1 when the tableau is optimal) for :func:`_rewarm`."""
    a_n, i_n = w.shape
    dims[3] = 0
    k = 0
    for a in range(a_n):
        if veto[a]:
            act[k] = a
            k += 1
    x[:] = np.nan
    if k == 0:
        return np.inf, True
    if not np.isnan(decide):
        # the value is at most each veto player's best case, its own (clipped) position on
        # every issue it holds a stance on: one short of ``decide`` settles it
        upper = np.inf
        for r in range(k):
            a = act[r]
            v = c[a]
            for j in range(i_n):
                if move[j] and w[a, j] > 0 and not np.isnan(p[a, j]):
                    v -= w[a, j] * abs(cq[a, j] - p[a, j])
            if v < upper:
                upper = v
        if upper < decide:
            return upper, True
    # candidate columns: (issue, veto player with a stance there)
    issue_rows[:] = -1
    start_col[:] = -1
    n_c = 0
    n_rows_issue = 0
    for j in range(i_n):
        if not move[j]:
            continue
        first = n_c
        for r in range(k):
            b = act[r]
            if not np.isnan(p[b, j]):
                cand_issue[n_c] = j
                cand_actor[n_c] = b
                n_c += 1
        c_lo[j], c_hi[j] = first, n_c  # the issue's candidates are columns first .. n_c - 1
        if n_c > first:
            issue_rows[j] = k + n_rows_issue
            n_rows_issue += 1
            # start at the candidate with the least total loss (uniform weights)
            best, best_loss = first, np.inf
            for cc in range(first, n_c):
                loss = 0.0
                for r in range(k):
                    a = act[r]
                    if w[a, j] > 0:
                        loss += w[a, j] * abs(cq[cand_actor[cc], j] - p[a, j])
                if loss < best_loss:
                    best, best_loss = cc, loss
            start_col[j] = best
    m = k + n_rows_issue
    n_col = 1 + n_c + k  # tau, mu, slacks
    T[:m, :n_col + 1] = 0.0
    # D[row r, cand] = w_a j |p_b j - p_a j|
    for r in range(k):
        a = act[r]
        T[r, 0] = 1.0
        for cc in range(n_c):
            j = cand_issue[cc]
            if w[a, j] > 0:
                T[r, 1 + cc] = w[a, j] * abs(cq[cand_actor[cc], j] - p[a, j])
        T[r, 1 + n_c + r] = 1.0
    for cc in range(n_c):
        T[issue_rows[cand_issue[cc]], 1 + cc] = 1.0
    for j in range(i_n):
        if issue_rows[j] >= 0:
            T[issue_rows[j], n_col] = 1.0
    # tau = t_lo + tau'; t_lo = the value at the start point (so tau' >= 0 is feasible)
    t_lo = _start_rhs(w, p, cq, c, act, k, cand_actor, issue_rows, start_col, rhs0)
    if not np.isnan(decide) and t_lo >= decide:  # the start package already reaches it
        for j in range(i_n):
            if start_col[j] >= 0:
                x[j] = cq[cand_actor[start_col[j]], j]
        return t_lo, True
    for r in range(k):
        T[r, n_col] = rhs0[r]
        basis[r] = 1 + n_c + r
    for j in range(i_n):
        if issue_rows[j] >= 0:
            row = issue_rows[j]
            col = 1 + start_col[j]
            basis[row] = col
            for r in range(k):  # the issue's row is 1 on its candidates (and the RHS: above)
                f = T[r, col]
                if f != 0.0:
                    for cc in range(c_lo[j], c_hi[j]):
                        T[r, 1 + cc] -= f * T[row, 1 + cc]
    # reduced costs of max tau': z[q] = cost_q - c_B B^-1 A_q; basis costs are all 0 at start
    z[:n_col] = 0.0
    z[0] = 1.0
    ok = True
    it = 0
    tau_row = -1  # the row where tau' is basic (-1: nonbasic, tau' = 0)
    while True:
        it += 1
        if it > 50_000:
            ok = False
            break
        e = -1
        if it <= 200:  # Dantzig's rule first (few pivots), then Bland's (never cycles)
            best_z = eps
            for q in range(n_col):
                if z[q] > best_z:
                    best_z = z[q]
                    e = q
        else:
            for q in range(n_col):
                if z[q] > eps:
                    e = q
                    break
        if e < 0:
            break
        leave = -1
        best = np.inf
        for r in range(m):
            if T[r, e] > eps:
                ratio = T[r, n_col] / T[r, e]
                if ratio < best - 1e-15 or (abs(ratio - best) <= 1e-15 and leave >= 0
                                             and basis[r] < basis[leave]):
                    best = ratio
                    leave = r
        if leave < 0:
            ok = False  # unbounded: cannot happen with a veto player
            break
        _pivot(T, z, basis, m, n_col, leave, e)
        if e == 0:
            tau_row = leave
        elif leave == tau_row:
            tau_row = -1
        # the primal simplex only raises tau': once it reaches ``decide``, so does the optimum
        if tau_row >= 0 and not np.isnan(decide) and t_lo + T[tau_row, n_col] >= decide:
            break
    # read the mixture and the package
    mu[:n_c] = 0.0
    for r in range(m):
        col = basis[r]
        if 1 <= col <= n_c:
            mu[col - 1] = max(T[r, n_col], 0.0)
    sums[:] = 0.0
    for cc in range(n_c):
        j = cand_issue[cc]
        if np.isnan(x[j]):
            x[j] = 0.0
        x[j] += mu[cc] * cq[cand_actor[cc], j]
        sums[j] += mu[cc]
    for j in range(i_n):
        if sums[j] > 0:
            x[j] /= sums[j]
    value = t_lo
    for r in range(m):
        if basis[r] == 0:
            value = t_lo + T[r, n_col]
    dims[0], dims[1], dims[2], dims[3] = k, n_c, m, 1 if ok else 0
    return value, ok


@numba.njit(cache=True, nogil=True)
def _rewarm(w, p, cq, c, eps, act, cand_issue, cand_actor, issue_rows, start_col, T, basis,
            z, dims, rhs0, rhs):  # pragma: no cover - compiled
    """The value of the problem just solved by :func:`_maxmin_one` for other constants ``c``
    [a], from its optimal basis (dual simplex); NaN when that does not finish (then solve
    afresh).

    Only the right-hand side depends on ``c``, so the basis stays dual feasible (its reduced
    costs do not change): B^-1 b' >= 0 makes it optimal, and otherwise a few dual simplex
    pivots restore that. The final tableau holds B^-1 B0 in the columns of the start basis
    B0 (the slacks and the start candidates), and B0^-1 b' comes from :func:`_start_rhs`, as
    in :func:`_maxmin_one`. The tableau is left optimal for ``c``.
    """
    if dims[3] == 0:
        return np.nan
    k, n_c, m = dims[0], dims[1], dims[2]
    i_n = w.shape[1]
    t_lo = _start_rhs(w, p, cq, c, act, k, cand_actor, issue_rows, start_col, rhs0)
    for j in range(i_n):
        if issue_rows[j] >= 0:
            rhs0[issue_rows[j]] = 1.0
    n_col = 1 + n_c + k
    for i in range(m):
        t = 0.0
        for r in range(k):                     # B0's slack columns
            t += T[i, 1 + n_c + r] * rhs0[r]
        for j in range(i_n):                   # and its start candidates
            if issue_rows[j] >= 0:
                t += T[i, 1 + start_col[j]] * rhs0[issue_rows[j]]
        rhs[i] = t
    for i in range(m):
        T[i, n_col] = rhs[i]
    for _ in range(50):
        leave, worst = -1, -eps                # the most infeasible row leaves
        for i in range(m):
            if T[i, n_col] < worst:
                worst = T[i, n_col]
                leave = i
        if leave < 0:
            break
        # the entering column keeps z <= 0 (least ratio); among near-equal ratios the largest
        # pivot, and none below PIVOT_TOL, which keeps round-off from growing
        e, best, size = -1, np.inf, 0.0
        for q in range(n_col):
            t = T[leave, q]
            if t < -PIVOT_TOL:
                ratio = min(z[q], 0.0) / t
                if ratio < best - 1e-12 or (ratio <= best + 1e-12 and -t > size):
                    best, size, e = min(ratio, best), -t, q
        if e < 0:
            dims[3] = 0                        # cannot happen: the LP is feasible
            return np.nan
        _pivot(T, z, basis, m, n_col, leave, e)
    else:
        dims[3] = 0
        return np.nan
    # a check that costs one pass: each issue's mixture sums to 1 and no reduced cost turned
    # positive; a tableau that round-off has bent gets a cold solve instead
    for j in range(i_n):
        rhs[j] = 0.0
    value = t_lo
    for i in range(m):
        col = basis[i]
        if 1 <= col <= n_c:
            rhs[cand_issue[col - 1]] += T[i, n_col]
        elif col == 0:
            value = t_lo + max(T[i, n_col], 0.0)
    for j in range(i_n):
        if issue_rows[j] >= 0 and abs(rhs[j] - 1.0) > 1e-9:
            dims[3] = 0
            return np.nan
    for q in range(n_col):
        if z[q] > 1e-9:
            dims[3] = 0
            return np.nan
    return value


@numba.njit(cache=True, nogil=True)
def _maxmin_batch(w, p, lo, hi, scale, c, veto, move, eps, decide):  # pragma: no cover - compiled
    """``c [n, K, a]``: each problem at K sets of constants; the first is solved, the others
    start from the basis of the one before (:func:`_rewarm`) and are solved afresh only when
    it is not feasible for them. The package is the first's."""
    n, a_n, i_n = w.shape
    n_k = c.shape[1]
    values = np.empty((n, n_k))
    xs = np.empty((n, i_n))
    xk = np.empty(i_n)
    rhs0 = np.empty(a_n + i_n)
    rhs = np.empty(a_n + i_n)
    ok = np.empty(n, np.bool_)
    # work arrays for the largest problem (every actor a veto player), reused by each
    wd = np.empty((a_n, i_n))
    qd = np.empty((a_n, i_n))
    act = np.empty(a_n, np.int64)
    cand_issue = np.empty(i_n * a_n, np.int64)
    cand_actor = np.empty(i_n * a_n, np.int64)
    issue_rows = np.empty(i_n, np.int64)
    start_col = np.empty(i_n, np.int64)
    c_lo = np.empty(i_n, np.int64)
    c_hi = np.empty(i_n, np.int64)
    T = np.empty((a_n + i_n, 2 + i_n * a_n + a_n))
    basis = np.empty(a_n + i_n, np.int64)
    z = np.empty(1 + i_n * a_n + a_n)
    mu = np.empty(i_n * a_n)
    sums = np.empty(i_n)
    dims = np.zeros(4, np.int64)
    for d in range(n):  # independent problems: maxmin runs blocks of them on a thread per core
        # this problem's weights (scaled per actor) and candidates (positions clipped to the
        # red-line box, as np.clip: min(max(p, lo), hi)), built here, not as [n, a, i] arrays
        for a in range(a_n):
            for j in range(i_n):
                wd[a, j] = scale[d, a] * w[d, a, j]
                v = p[d, a, j]
                if v < lo[d, j]:
                    v = lo[d, j]
                if v > hi[d, j]:
                    v = hi[d, j]
                qd[a, j] = v
        values[d, 0], ok[d] = _maxmin_one(wd, p[d], qd, c[d, 0], veto[d], move[d], eps,
                                          decide, xs[d], act, cand_issue, cand_actor,
                                          issue_rows, start_col, c_lo, c_hi, T, basis, z, mu,
                                          sums, dims, rhs0)
        for kk in range(1, n_k):
            v = _rewarm(wd, p[d], qd, c[d, kk], eps, act, cand_issue, cand_actor, issue_rows,
                        start_col, T, basis, z, dims, rhs0, rhs)
            if np.isnan(v):
                v, ok_k = _maxmin_one(wd, p[d], qd, c[d, kk], veto[d], move[d], eps, decide,
                                      xk, act, cand_issue, cand_actor, issue_rows, start_col,
                                      c_lo, c_hi, T, basis, z, mu, sums, dims, rhs0)
                ok[d] = ok[d] and ok_k
            values[d, kk] = v
    return values, xs, ok


def maxmin(w: np.ndarray, position: np.ndarray, c: np.ndarray, veto: np.ndarray,
           move: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None,
           scale: np.ndarray | None = None,
           decide: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``max_x min_{veto a} (c_a - sum_{i in move} s_a w_ai |x_i - p_ai|)`` per problem.

    w, position ``[n, a, i]``; c ``[n, a]``; veto ``[n, a]`` bool; move ``[n, i]`` bool (the
    issues the settlement may set); ``scale`` ``[n, a]`` (default 1) multiplies each actor's
    weights (a deal's chance to hold). ``low``/``high`` ``[n, i]`` (default open) is the box
    the red lines leave: the candidates are the veto players' positions clipped to it (over a
    box the inner weighted-median problem is solved at a clipped position, so the LP stays
    exact). Returns (value ``[n]``, package ``[n, i]`` with NaN where the issue does not move
    or no veto player has a stance on it). ``value`` is ``+inf`` for a problem without veto
    players.

    ``decide``: only which side of ``decide`` each value is on (the what-if's feasible or
    not). A problem stops at the first bound that tells: the start package's value (a lower
    bound; that package is returned), a veto player's value at its own clipped position (an
    upper bound; the package is NaN) or, while pivoting, the first basis whose value reaches
    ``decide`` (the primal simplex never lowers it, so the optimum does too; that basis's
    package is returned). ``value >= decide`` is then the same as for the exact value; on
    the flagship about half of the problems need no pivot, and the what-if's LP takes 40%
    less time than with every feasible problem solved to the optimum.

    ``c`` ``[n, K, a]`` (three axes): each problem at K sets of constants, values ``[n, K]``
    and the package at the first. Only the constants change, so each set after the first
    starts from the optimal basis of the one before and pivots only when that basis is not
    feasible for it (the outlook's knot months).
    """
    n, a, i = position.shape
    n_k = c.shape[1] if np.ndim(c) == 3 else 1
    if n_k > 1 and decide is not None:
        raise ValueError("maxmin: decide takes one set of constants per problem, got "
                         f"{n_k} (the knots are solved exactly)")

    def req(x, shape, dtype=float):  # one compiled signature whatever is passed
        return frozen(np.broadcast_to(x, shape), dtype)

    args = (req(w, (n, a, i)), req(position, (n, a, i)),
            req(-np.inf if low is None else low, (n, i)), req(np.inf if high is None else high, (n, i)),
            req(1.0 if scale is None else scale, (n, a)),
            req(c if np.ndim(c) == 3 else np.atleast_1d(c)[..., None, :], (n, n_k, a)),
            req(veto, (n, a), np.bool_), req(move, (n, i), np.bool_))
    blocks = blocks_of(n)
    at = np.nan if decide is None else float(decide)
    parts = map_ordered(lambda sl: _maxmin_batch(*(x[sl] for x in args), 1e-12, at), blocks)
    values, xs, ok = (np.concatenate([part[k] for part in parts]) for k in range(3))
    if not ok.all():  # pragma: no cover - a safety net, never seen
        raise RuntimeError(f"feasibility LP did not converge for {int((~ok).sum())} problems")
    return (values if np.ndim(c) == 3 else values[:, 0]), xs


def _compile() -> None:
    """Compile (and cache) the LP and its helpers for the types every run uses; see
    ``models/_warm``."""
    n, a, i = 2, 2, 2
    w = np.full((n, a, i), 0.5)
    p = np.array([[[0.0, 100.0], [100.0, 0.0]]] * n)
    maxmin(w, p, np.ones((n, a)), np.ones((n, a), bool), np.ones((n, i), bool),
           np.zeros((n, i)), np.full((n, i), 100.0), np.ones((n, a)))
    loss(w, p, p[:, 0], np.ones(i, bool))
    weights(w, p, np.zeros(i), np.full(i, 100.0))


# ---- deals on a batch -----------------------------------------------------------------------

@dataclass(frozen=True)
class DealResult:
    """One deal over a batch of ``n`` draws."""

    name: str
    issues: tuple[str, ...]
    value: np.ndarray
    """``[n]`` max-min slack of the consenting players (``>= 0``: feasible; ``-inf`` where
    their red lines leave no settlement)."""
    package: np.ndarray
    """``[n, i]`` the closest-to-feasible package (unsettled issues at the status quo)."""
    slack: np.ndarray | None
    """``[n, a]`` each actor's value of the package minus its no-deal value (durability
    included: ``P(holds)·(u - no_deal) - (1 - P(holds))·renewal_cost``); None when
    :func:`evaluate` only decided feasibility (``decide``)."""
    veto: np.ndarray
    """``[n, a]`` whose consent the deal needs in each draw (veto players, and delivery-veto
    players on the terms they must deliver)."""
    red_block: np.ndarray | None = None
    """``[n, a]`` consenting players whose red line is one of a pair (or a pin) that no
    settlement can meet."""
    p_holds: np.ndarray | None = None
    """``[n, a]`` each actor's belief that this deal still holds 12 months on."""

    @property
    def feasible(self) -> np.ndarray:
        return self.value >= -TOL

    @property
    def shortfall(self) -> np.ndarray:
        """``[n, a]`` how much utility each veto player lacks at the package (0 if none)."""
        return np.where(self.veto, np.clip(-np.nan_to_num(self.slack, nan=0.0), 0.0, None), 0.0)

    @property
    def spoiler(self) -> np.ndarray:
        """``[n, a]`` consenting players whose slack at the closest package is negative, or
        whose red line leaves no settlement."""
        out = self.veto & (np.nan_to_num(self.slack, nan=0.0) < -TOL)
        return out if self.red_block is None else out | self.red_block


def deal_issues(deals: Mapping[str, Sequence[str]], issues: Sequence[str]) -> dict[str, np.ndarray]:
    """Boolean issue masks: the comprehensive deal first, then every named deal."""
    out = {COMPREHENSIVE: np.ones(len(issues), bool)}
    for name, ids in deals.items():
        unknown = [x for x in ids if x not in issues]
        if unknown:
            raise ValueError(f"deal {name!r}: unknown issues {', '.join(unknown)}")
        out[name] = np.isin(np.asarray(issues, dtype=object), list(ids))
    return out


P_HOLDS = 0.68
"""Default belief that a deal without durability terms still holds 12 months on: the share of
Fortna's 96 civil-war ceasefires (1989-99) still holding at 12 months (Kaplan-Meier on her data
as shipped in Gelman, Hill & Vehtari's ROS-Examples; research note outlook.md, section 4)."""
SETTLEMENT_BREAKDOWN_RATIO = 0.4
"""Breakdown hazard ratio of a comprehensive settlement against a ceasefire: peace agreements cut
the risk of renewed war by about 60% relative to ceasefires (civil wars, second-hand in the
research note, section 4); a judgement when carried over to an interstate war."""


@dataclass(frozen=True)
class Terms:
    """What a deal must respect besides utilities, per view (docs/analysis.md, "Deals").

    ``red_low``/``red_high`` ``[a, i]`` (NaN: open), ``delivers`` ``[a, i]`` (the terms each
    actor must deliver), ``pins`` deal -> ``[i]`` (NaN: not pinned), ``durability`` ``[n, i]``
    breakdown hazard ratio at the top of each scale (NaN: not a durability term), ``p_holds``
    and ``renewal`` ``[n, a]``; ``kind_ratio`` deal -> breakdown ratio of the deal kind.
    """

    red_low: np.ndarray
    red_high: np.ndarray
    delivers: np.ndarray
    pins: Mapping[str, np.ndarray] = field(default_factory=dict)
    durability: np.ndarray | None = None
    p_holds: np.ndarray | None = None
    renewal: np.ndarray | None = None
    kind_ratio: Mapping[str, float] = field(default_factory=dict)

    def extend(self, actors: int, repeat: int) -> "Terms":
        """Terms for a lever batch: ``repeat`` copies of every draw (lever-major, as
        :meth:`LeverArrays.apply` lays them out) and added actors with no red lines."""
        a0 = self.red_low.shape[-2]
        pad = actors - a0

        def tile(x):
            return None if x is None else np.tile(x, (repeat,) + (1,) * (x.ndim - 1))

        red_low = np.concatenate([self.red_low, np.full((pad, self.red_low.shape[-1]), np.nan)])
        red_high = np.concatenate([self.red_high, np.full((pad, self.red_low.shape[-1]), np.nan)])
        delivers = np.concatenate([self.delivers, np.zeros((pad, self.delivers.shape[-1]), bool)])
        p_h = None if self.p_holds is None else np.pad(self.p_holds, ((0, 0), (0, pad)),
                                                       constant_values=P_HOLDS)
        ren = None if self.renewal is None else np.pad(self.renewal, ((0, 0), (0, pad)))
        return replace(self, red_low=red_low, red_high=red_high, delivers=delivers,
                       durability=tile(self.durability), p_holds=tile(p_h), renewal=tile(ren))

    def consent(self, veto: np.ndarray, touched: np.ndarray) -> np.ndarray:
        """``[n, a]`` veto players plus those who must deliver a term the deal touches."""
        return veto | (self.delivers & touched).any(-1)

    def box(self, consent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[n, i]`` the settlements every consenting player's red lines admit."""
        n, i = consent.shape[0], self.red_low.shape[-1]
        L, U = np.full((n, i), -np.inf), np.full((n, i), np.inf)
        # only the actors that draw a red line enter the [n, k, i] arrays
        lo = np.flatnonzero(np.isfinite(self.red_low).any(-1))
        if lo.size:
            L = np.where(consent[:, lo, None], np.nan_to_num(self.red_low[lo], nan=-np.inf),
                         -np.inf).max(1)
        hi = np.flatnonzero(np.isfinite(self.red_high).any(-1))
        if hi.size:
            U = np.where(consent[:, hi, None], np.nan_to_num(self.red_high[hi], nan=np.inf),
                         np.inf).min(1)
        return L, U

    def holds(self, deal: str, x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """``[n, a]`` P(the deal holds 12 months) by each actor's belief, at the terms ``x``:
        ``p_holds ** HR(x)``, ``HR = kind_ratio · prod_i ratio_i ** ((x_i - low_i) / width_i)``
        (proportional hazards: a hazard ratio raises the survival probability to its power).
        1 when the view codes no belief that a deal holds (valued on utilities alone)."""
        if self.p_holds is None:
            return np.ones(x.shape[:-1] + self.red_low.shape[-2:-1])
        ph = self.p_holds
        log_hr = np.log(self.kind_ratio.get(deal, 1.0))
        if self.durability is not None:
            frac = np.clip((x - low) / (high - low), 0.0, 1.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                term = np.where(np.isnan(self.durability), 0.0, np.log(self.durability) * frac)
            log_hr = log_hr + np.nan_to_num(term).sum(-1)
        return np.asarray(ph, float) ** np.exp(np.asarray(log_hr))[..., None]


def no_terms(a: int, i: int) -> Terms:
    """Terms with no red line, pin, delivery veto or durability input (the defaults)."""
    return Terms(np.full((a, i), np.nan), np.full((a, i), np.nan), np.zeros((a, i), bool))


@dataclass(frozen=True)
class Problem:
    """One deal's max-min problem over a batch, before the no-deal side is fixed: the
    outlook re-solves it month by month with a different ``c``."""

    name: str
    mask: np.ndarray
    touched: np.ndarray
    pin: np.ndarray
    consent: np.ndarray
    L: np.ndarray
    U: np.ndarray
    conflict: np.ndarray
    red_block: np.ndarray
    w: np.ndarray
    fixed_loss: np.ndarray
    """``[n, a]`` loss on pinned issues (and, read at the status quo, unsettled ones)."""


def problem(inputs: Inputs, w: np.ndarray, name: str, mask: np.ndarray, veto: np.ndarray,
            terms: Terms, unsettled: str, status_quo: np.ndarray | None = None,
            p0: np.ndarray | None = None) -> Problem:
    """Consenting players, the box their red lines leave, conflicts and fixed losses.

    No ``[n, a, i]`` array is made here (in a what-if batch those are the cost): the LP clips
    the candidates to the box itself, and the fixed losses are one compiled pass."""
    n, a, i = inputs.shape
    p = inputs.position
    p0 = nan0(p) if p0 is None else p0
    sq = inputs.status_quo if status_quo is None else status_quo
    pin = np.asarray(terms.pins.get(name, np.full(i, np.nan)), float)
    pinned = ~np.isnan(pin)
    touched = mask | pinned
    consent = terms.consent(np.broadcast_to(veto, (n, a)), touched)
    L, U = terms.box(consent)
    tol = 1e-9
    bad = touched & (L > U + tol)
    bad |= pinned & ((pin < L - tol) | (pin > U + tol))
    conflict = bad.any(-1)
    red_block = np.zeros((n, a), bool)
    if conflict.any():  # who blocks: consenting players whose bound binds on a conflicting issue
        r = np.flatnonzero(conflict)  # the draws in conflict only
        lo_bind = consent[r, :, None] & np.isclose(terms.red_low, L[r, None, :])
        hi_bind = consent[r, :, None] & np.isclose(terms.red_high, U[r, None, :])
        red_block[r] = ((lo_bind | hi_bind) & bad[r, None, :]).any(-1)
    # loss on pinned issues, and (read at the status quo) on unsettled ones
    at = np.where(pinned, pin, np.nan)
    if unsettled == "status_quo" and not touched.all():
        free = ~touched
        missing = free & np.isnan(sq)
        if missing.any():
            raise ValueError(f"deal {name!r} keeps issues at the status quo but the scenario "
                             f"gives none for {', '.join(np.asarray(inputs.issues)[missing])}")
        at = np.where(free, sq, at)
    held = ~np.isnan(at)
    fixed = loss(w, p0, np.where(held, at, 0.0), held) if held.any() else np.zeros((n, a))
    return Problem(name, mask, touched, pin, consent, L, U, conflict, red_block, w, fixed)


def package_fill(pr: Problem, x: np.ndarray, inputs: Inputs,
                 status_quo: np.ndarray | None = None) -> np.ndarray:
    """Complete a package: pinned issues at their pin, unsettled ones and settled ones no
    consenting player cares about at the status quo (clipped to the red-line box)."""
    sq = inputs.status_quo if status_quo is None else status_quo
    fill = np.where(np.isnan(sq), (inputs.low + inputs.high) / 2, sq)
    fill = np.where(pr.mask, np.clip(fill, np.minimum(pr.L, pr.U), pr.U), fill)
    x = np.where(np.isnan(x), fill, x)
    return np.where(np.isnan(pr.pin), x, pr.pin)


def solve(pr: Problem, c: np.ndarray, p_h: np.ndarray, renewal: np.ndarray,
          position: np.ndarray, decide: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``max_x min_consenting [P·(c - fixed - L(x)) - (1 - P)·r]`` (value ``[n]``, x ``[n, i]``;
    ``decide``: see :func:`maxmin`). ``c`` ``[K, n, a]`` (three axes): the problem at K sets of
    constants, values ``[n, K]`` and the package at the first (see :func:`maxmin`)."""
    cc = p_h * (c - pr.fixed_loss) - (1.0 - p_h) * renewal
    if cc.ndim == 3:
        cc = np.moveaxis(cc, 0, 1)
    value, x = maxmin(pr.w, position, cc, pr.consent, pr.mask, pr.L, pr.U, p_h, decide)
    conflict = pr.conflict if value.ndim == 1 else pr.conflict[:, None]
    return np.where(conflict, -np.inf, value), x


def evaluate(inputs: Inputs, no_deal: np.ndarray, deals: Mapping[str, np.ndarray],
             veto: np.ndarray | None = None, unsettled: str = "status_quo",
             terms: Terms | None = None, durability_passes: int = 1,
             decide: bool = False) -> dict[str, DealResult]:
    """Feasibility of each deal (name -> issue mask) for every draw of a batch.

    ``no_deal[n, a]``: each actor's utility of no agreement; NaN means the actor states none
    (then it cannot veto anything: it is treated as having no reservation, which is the same
    as the worst no-deal value 0, and the output says so). ``veto[n, a]`` defaults to
    ``inputs.veto``. ``terms`` adds red lines, delivery vetoes, pins and durability; a deal's
    value to an actor is ``P(holds)·u(deal) + (1 - P(holds))·(no_deal - renewal_cost)``, with
    ``P(holds)`` read at the terms in force when the parties sign (status quo and pins;
    ``durability_passes`` > 1 re-reads it at the previous pass's package, a fixed point).
    ``decide``: only whether each deal is feasible (the what-if): ``value`` is then a bound on
    the same side of ``-TOL`` as the max-min value (:func:`maxmin`), the package the one that
    bound was read at, and ``slack`` and ``p_holds`` are not computed (None).
    """
    if unsettled not in MODES:
        raise ValueError(f"unsettled: expected one of {', '.join(MODES)}, got {unsettled!r}")
    n, a, i = inputs.shape
    terms = no_terms(a, i) if terms is None else terms
    veto = np.broadcast_to(inputs.veto if veto is None else veto, (n, a))
    nd = np.broadcast_to(np.asarray(no_deal, float), (n, a))
    w = weights(inputs.salience, inputs.position, inputs.low, inputs.high)
    p = inputs.position
    p0 = nan0(p)
    c = 1.0 - nan0(nd)
    renewal = np.zeros((n, a)) if terms.renewal is None else terms.renewal
    out = {}
    for name, mask in deals.items():
        mask = np.asarray(mask, bool)
        pr = problem(inputs, w, name, mask, veto, terms, unsettled, p0=p0)
        x = package_fill(pr, np.full((n, i), np.nan), inputs)
        for _ in range(max(1, durability_passes)):
            p_h = terms.holds(name, x, inputs.low, inputs.high) * np.ones((n, a))
            value, x = solve(pr, c, p_h, renewal, p, -TOL if decide else None)
            x = package_fill(pr, x, inputs)
        if decide:
            out[name] = DealResult(name, tuple(np.asarray(inputs.issues)[mask]), value, x, None,
                                   np.asarray(pr.consent, bool), pr.red_block)
            continue
        counted = None if unsettled == "status_quo" else pr.touched
        slack = p_h * (utility(x, p, w, counted, p0) - nd) - (1.0 - p_h) * renewal
        held = p_h if terms.durability is None else \
            terms.holds(name, x, inputs.low, inputs.high) * np.ones((n, a))
        out[name] = DealResult(name, tuple(np.asarray(inputs.issues)[mask]), value, x, slack,
                               np.asarray(pr.consent, bool), pr.red_block, held)
    return out


def wilson(k: np.ndarray | float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n (Monte-Carlo error of a probability)."""
    if n == 0:
        return float("nan"), float("nan")
    p = float(k) / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    lo, hi = max(0.0, mid - half), min(1.0, mid + half)
    return (0.0 if k == 0 else min(lo, p)), (1.0 if k == n else max(hi, p))


# ---- the scenario-level analysis ------------------------------------------------------------

@dataclass
class Feasibility:
    """What ``accord feasibility`` computes; DataFrames for the Python API."""

    scenario_id: str
    scenario_sha256: str
    seed: int | None
    draws: int
    views: list[str]
    unsettled: str
    summary: pd.DataFrame
    """view × deal: P(feasible) with a 95% interval, median max-min slack."""
    spoilers: pd.DataFrame
    """view × deal × veto player: how often it blocks and by how much."""
    packages: pd.DataFrame
    """view × deal × issue: the closest-to-feasible package (median, p10, p90)."""
    extent: pd.DataFrame
    """view × deal × issue: range of feasible settlements at the point values."""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        from .. import __version__
        from .ensemble import _records

        return {"scenario": self.scenario_id, "scenario_sha256": self.scenario_sha256,
                "accord_version": __version__, "seed": self.seed, "draws": self.draws,
                "views": self.views, "unsettled": self.unsettled,
                "feasibility": _records(self.summary), "spoilers": _records(self.spoilers),
                "packages": _records(self.packages), "extent": _records(self.extent),
                "notes": self.notes}


def no_deal_notes(scenario) -> list[str]:
    """What the output must say about missing no-deal values."""
    missing = [a.id for a in scenario.actors if a.veto and a.no_deal is None]
    if not any(a.veto for a in scenario.actors):
        return ["no actor has a veto: every settlement is acceptable to all veto players "
                "(vacuously feasible); mark veto players with `veto: true`"]
    if missing:
        return [f"no no-deal value given for veto player(s) {', '.join(missing)}: treated as 0 "
                "(the worst), so they never block"]
    return []


def feasibility(scenario, draws: int = 2_000, seed: int | None = 0,
                deals: Sequence[str] | None = None, unsettled: str = "status_quo",
                chunk: int | None = None, backend: str = "local",
                scheduler: str | None = None, client=None, extent: bool = True) -> Feasibility:
    """P(each deal feasible) over Monte-Carlo draws, per view and for the ensemble.

    ``extent=False`` skips the feasible ranges at the point values (small LPs, ~1 s on the
    flagship), for interactive use.

    >>> import accord
    >>> from accord.analysis.feasibility import feasibility
    >>> f = feasibility(accord.load("ukraine-2025"), draws=50, seed=1)
    >>> sorted(set(f.summary.deal))
    ['ceasefire', 'comprehensive', 'framework']
    """
    from . import sweeps

    run = sweeps.run(scenario, draws=draws, seed=seed, levers=None, models=(), deals=deals,
                     unsettled=unsettled, chunk=chunk, backend=backend, scheduler=scheduler,
                     client=client)
    views = run.views
    rows, srows, prow = [], [], []
    groups = [(v, [v]) for v in views] + ([("ensemble", views)] if len(views) > 1 else [])
    for deal in run.deal_names:
        for label, vs in groups:
            value = np.concatenate([run.deal(v, deal, "value")[0] for v in vs])
            feas = value >= -TOL
            k, n = int(feas.sum()), int(feas.size)
            # one draw per view means no ranged input: the answer is exact, not sampled
            lo, hi = wilson(k, n) if run.draws > 1 else (k / n, k / n)
            rows.append({"view": label, "deal": deal, "issues": ", ".join(run.deal_issue_ids[deal]),
                         "p_feasible": k / n, "p_low": lo, "p_high": hi,
                         "median_slack": float(np.median(value)) if np.isfinite(value).all()
                         else float("nan"), "draws": n})
            slack = np.concatenate([run.deal(v, deal, "slack")[0] for v in vs])
            veto = np.concatenate([run.deal(v, deal, "veto")[0] for v in vs])
            short = np.where(veto, np.clip(-np.nan_to_num(slack, nan=0.0), 0, None), 0.0)
            spoil = veto & (np.nan_to_num(slack, nan=0.0) < -TOL)
            for ai, actor in enumerate(run.actors):
                if not veto[:, ai].any():
                    continue
                blocks = spoil[:, ai]
                srows.append({"view": label, "deal": deal, "actor": actor,
                              "p_veto": float(veto[:, ai].mean()),
                              "p_blocks": float(blocks.mean()),
                              "median_shortfall": float(np.median(short[blocks, ai]))
                              if blocks.any() else 0.0,
                              "p90_shortfall": float(np.quantile(short[blocks, ai], 0.9))
                              if blocks.any() else 0.0})
            pkg = np.concatenate([run.deal(v, deal, "package")[0] for v in vs])
            q = np.quantile(pkg, (0.1, 0.5, 0.9), axis=0)
            for j, issue in enumerate(run.issues):
                prow.append({"view": label, "deal": deal, "issue": issue,
                             "settled": issue in run.deal_issue_ids[deal],
                             "median": float(q[1, j]), "p10": float(q[0, j]),
                             "p90": float(q[2, j])})
    summary = pd.DataFrame(rows)
    spoilers = pd.DataFrame(srows, columns=["view", "deal", "actor", "p_veto", "p_blocks",
                                            "median_shortfall", "p90_shortfall"])
    spoilers = spoilers.sort_values(["deal", "view", "p_blocks", "actor"],
                                    ascending=[True, True, False, True],
                                    kind="stable").reset_index(drop=True)
    extent = point_extent(scenario, views, run.deal_masks, unsettled) if extent else \
        pd.DataFrame(columns=["view", "deal", "issue", "feasible_low", "feasible_high"])
    notes = no_deal_notes(scenario) + run.notes
    return Feasibility(scenario.id, scenario.sha256, seed, run.draws, views, unsettled, summary,
                       spoilers, pd.DataFrame(prow), extent, notes)


def point_extent(scenario, views: list[str], deals: Mapping[str, np.ndarray],
                 unsettled: str = "status_quo") -> pd.DataFrame:
    """Per view and deal, the range of each settled issue over the feasible settlements at
    the point values (exact LPs, one small problem per view × deal × issue × direction)."""
    from scipy.optimize import linprog

    from .ensemble import BASE, _resolved

    from .terms import term_tables

    rows = []
    for v in views:  # a handful of views
        sc = _resolved(scenario, v)
        inp = sc.inputs()
        tt = term_tables(sc)
        terms = Terms(tt.red_low, tt.red_high, tt.delivers, tt.pins)
        w = weights(inp.salience, inp.position, inp.low, inp.high)
        nd = np.array([np.nan if a.no_deal is None else a.no_deal.value for a in sc.actors])
        for deal, mask in deals.items():
            pr = problem(inp, w, deal, np.asarray(mask, bool), sc.veto[None], terms, unsettled)
            c = 1.0 - np.nan_to_num(nd, nan=0.0) - pr.fixed_loss[0]
            if pr.conflict[0]:
                lo = hi = np.full(len(mask), np.nan)
            else:
                lo, hi = _extent_lp(w[0], inp.position[0], c, pr.consent[0], mask,
                                    np.maximum(inp.low, pr.L[0]), np.minimum(inp.high, pr.U[0]),
                                    linprog)
            for j, issue in enumerate(sc.issue_ids):
                if mask[j]:
                    rows.append({"view": v if v != BASE else BASE, "deal": deal, "issue": issue,
                                 "feasible_low": lo[j], "feasible_high": hi[j]})
    return pd.DataFrame(rows, columns=["view", "deal", "issue", "feasible_low", "feasible_high"])


def _extent_lp(w, p, c, veto, mask, low, high, linprog):
    """min and max of each moving x_j s.t. every veto player's loss <= c_a (NaN if empty)."""
    idx = np.flatnonzero(mask)
    J = len(idx)
    vetoes = np.flatnonzero(veto)
    lo = np.full(len(mask), np.nan)
    hi = np.full(len(mask), np.nan)
    if J == 0:
        return lo, hi
    pairs = [(a, j) for a in vetoes for j in range(J) if w[a, idx[j]] > 0]
    nv = J + len(pairs)
    A, b = [], []
    for e, (a, j) in enumerate(pairs):
        r1 = np.zeros(nv); r1[j] = 1; r1[J + e] = -1
        r2 = np.zeros(nv); r2[j] = -1; r2[J + e] = -1
        A += [r1, r2]
        b += [p[a, idx[j]], -p[a, idx[j]]]
    for a in vetoes:
        r = np.zeros(nv)
        for e, (aa, j) in enumerate(pairs):
            if aa == a:
                r[J + e] = w[a, idx[j]]
        A.append(r)
        b.append(c[a])
    bounds = [(low[j], high[j]) for j in idx] + [(0, None)] * len(pairs)
    for j in range(J):
        for sign, out in ((1, lo), (-1, hi)):
            obj = np.zeros(nv)
            obj[j] = sign
            res = linprog(obj, A_ub=np.array(A) if A else None, b_ub=np.array(b) if b else None,
                          bounds=bounds, method="highs")
            if res.status == 0:
                out[idx[j]] = res.x[j]
    return lo, hi
