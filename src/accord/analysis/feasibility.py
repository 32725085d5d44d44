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

Narrow deals settle only their issues. Two readings of "the others stay at the status quo":

* ``unsettled="reserved"`` (default): the other issues stay where they are but *unresolved*;
  nobody signs away a claim on them, so a narrow deal is judged by what each veto player
  concedes on the issues it settles (its loss on unsettled issues is not part of the deal).
  Then a narrow deal is feasible whenever the comprehensive one is (for any subset of issues):
  dropping issues only removes losses.
* ``unsettled="status_quo"``: the status quo on the other issues counts as part of the deal's
  outcome. Then the implication runs the other way: the narrow deal is the comprehensive one
  with the other issues pinned, so it is feasible only if the comprehensive one is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numba
import numpy as np
import pandas as pd

from ..models.base import Inputs

TOL = 1e-9
"""A deal is feasible when the max-min slack is at least ``-TOL`` (LP round-off)."""
COMPREHENSIVE = "comprehensive"
MODES = ("reserved", "status_quo")


def weights(salience: np.ndarray, position: np.ndarray, low: np.ndarray,
            high: np.ndarray) -> np.ndarray:
    """``w[..., a, i] = s_ai / (high_i - low_i) / sum_i s_ai``; 0 where no stance."""
    s = np.where(np.isnan(position), 0.0, np.nan_to_num(salience, nan=0.0))
    total = s.sum(axis=-1, keepdims=True)
    width = np.asarray(high, float) - np.asarray(low, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(total > 0, s / np.where(total > 0, total, 1.0), 0.0) / np.where(width > 0, width, 1.0)
    return np.where(width > 0, w, 0.0)


def utility(x: np.ndarray, position: np.ndarray, w: np.ndarray,
            issues: np.ndarray | None = None) -> np.ndarray:
    """``u[..., a]`` of settlements ``x[..., i]`` (only the issues in the boolean ``issues``
    mask count when given: the reserved reading of a narrow deal)."""
    loss = w * np.abs(x[..., None, :] - np.nan_to_num(position))
    loss = np.where(w > 0, loss, 0.0)
    if issues is not None:
        loss = np.where(issues, loss, 0.0)
    return 1.0 - loss.sum(axis=-1)


# ---- the exact max-min solver ---------------------------------------------------------------

@numba.njit(cache=True, nogil=True)
def _maxmin_one(w, p, c, veto, move, eps):  # pragma: no cover - compiled
    """One problem: w, p [a, i]; c [a]; veto [a]; move [i]. Returns (value, x [i], ok)."""
    a_n, i_n = w.shape
    act = np.empty(a_n, np.int64)
    k = 0
    for a in range(a_n):
        if veto[a]:
            act[k] = a
            k += 1
    x = np.full(i_n, np.nan)
    if k == 0:
        return np.inf, x, True
    # candidate columns: (issue, veto player with a stance there)
    cand_issue = np.empty(i_n * k, np.int64)
    cand_actor = np.empty(i_n * k, np.int64)
    issue_rows = np.full(i_n, -1, np.int64)
    start_col = np.full(i_n, -1, np.int64)
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
                        loss += w[a, j] * abs(p[cand_actor[cc], j] - p[a, j])
                if loss < best_loss:
                    best, best_loss = cc, loss
            start_col[j] = best
    m = k + n_rows_issue
    n_col = 1 + n_c + k  # tau, mu, slacks
    T = np.zeros((m, n_col + 1))
    # D[row r, cand] = w_a j |p_b j - p_a j|
    for r in range(k):
        a = act[r]
        T[r, 0] = 1.0
        for cc in range(n_c):
            j = cand_issue[cc]
            if w[a, j] > 0:
                T[r, 1 + cc] = w[a, j] * abs(p[cand_actor[cc], j] - p[a, j])
        T[r, 1 + n_c + r] = 1.0
    for cc in range(n_c):
        T[issue_rows[cand_issue[cc]], 1 + cc] = 1.0
    for j in range(i_n):
        if issue_rows[j] >= 0:
            T[issue_rows[j], n_col] = 1.0
    # tau = t_lo + tau'; t_lo = the value at the start point (so tau' >= 0 is feasible)
    t_lo = np.inf
    for r in range(k):
        a = act[r]
        v = c[a]
        for j in range(i_n):
            if start_col[j] >= 0:
                v -= T[r, 1 + start_col[j]]
        if v < t_lo:
            t_lo = v
    for r in range(k):
        T[r, n_col] = c[act[r]] - t_lo
    basis = np.empty(m, np.int64)
    for r in range(k):
        basis[r] = 1 + n_c + r
    for j in range(i_n):
        if issue_rows[j] >= 0:
            row = issue_rows[j]
            col = 1 + start_col[j]
            basis[row] = col
            for r in range(k):
                f = T[r, col]
                if f != 0.0:
                    for q in range(n_col + 1):
                        T[r, q] -= f * T[row, q]
    for r in range(k):  # clean round-off of the start point
        if T[r, n_col] < 0.0:
            T[r, n_col] = 0.0
    # reduced costs of max tau': z[q] = cost_q - c_B B^-1 A_q; basis costs are all 0 at start
    z = np.zeros(n_col)
    z[0] = 1.0
    ok = True
    it = 0
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
    # read the mixture and the package
    mu = np.zeros(n_c)
    for r in range(m):
        col = basis[r]
        if 1 <= col <= n_c:
            mu[col - 1] = max(T[r, n_col], 0.0)
    sums = np.zeros(i_n)
    for cc in range(n_c):
        j = cand_issue[cc]
        if np.isnan(x[j]):
            x[j] = 0.0
        x[j] += mu[cc] * p[cand_actor[cc], j]
        sums[j] += mu[cc]
    for j in range(i_n):
        if sums[j] > 0:
            x[j] /= sums[j]
    value = t_lo
    for r in range(m):
        if basis[r] == 0:
            value = t_lo + T[r, n_col]
    return value, x, ok


@numba.njit(cache=True, nogil=True)
def _maxmin_batch(w, p, c, veto, move, eps):  # pragma: no cover - compiled
    n, a_n, i_n = w.shape
    values = np.empty(n)
    xs = np.empty((n, i_n))
    ok = np.empty(n, np.bool_)
    for d in range(n):
        v, x, good = _maxmin_one(w[d], p[d], c[d], veto[d], move[d], eps)
        values[d] = v
        xs[d] = x
        ok[d] = good
    return values, xs, ok


def maxmin(w: np.ndarray, position: np.ndarray, c: np.ndarray, veto: np.ndarray,
           move: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``max_x min_{veto a} (c_a - sum_{i in move} w_ai |x_i - p_ai|)`` per problem.

    w, position ``[n, a, i]``; c ``[n, a]``; veto ``[n, a]`` bool; move ``[n, i]`` bool (the
    issues the settlement may set). Returns (value ``[n]``, package ``[n, i]`` with NaN where
    the issue does not move or no veto player has a stance on it). ``value`` is ``+inf`` for a
    problem without veto players.
    """
    n, a, i = position.shape
    # contiguous, writeable copies: one compiled signature whatever the caller passes
    w = np.require(np.broadcast_to(w, (n, a, i)), float, ["C", "W"])
    p = np.require(position, float, ["C", "W"])
    c = np.require(np.broadcast_to(c, (n, a)), float, ["C", "W"])
    veto = np.require(np.broadcast_to(veto, (n, a)), np.bool_, ["C", "W"])
    move = np.require(np.broadcast_to(move, (n, i)), np.bool_, ["C", "W"])
    values, xs, ok = _maxmin_batch(w, p, c, veto, move, 1e-12)
    if not ok.all():  # pragma: no cover - a safety net, never seen
        raise RuntimeError(f"feasibility LP did not converge for {int((~ok).sum())} problems")
    return values, xs


# ---- deals on a batch -----------------------------------------------------------------------

@dataclass(frozen=True)
class DealResult:
    """One deal over a batch of ``n`` draws."""

    name: str
    issues: tuple[str, ...]
    value: np.ndarray
    """``[n]`` max-min slack of the veto players (``>= 0``: feasible)."""
    package: np.ndarray
    """``[n, i]`` the closest-to-feasible package (unsettled issues at the status quo)."""
    slack: np.ndarray
    """``[n, a]`` u_a(package) - no_deal_a (NaN for actors without a no-deal value)."""
    veto: np.ndarray
    """``[n, a]`` who had a veto in each draw."""

    @property
    def feasible(self) -> np.ndarray:
        return self.value >= -TOL

    @property
    def shortfall(self) -> np.ndarray:
        """``[n, a]`` how much utility each veto player lacks at the package (0 if none)."""
        return np.where(self.veto, np.clip(-np.nan_to_num(self.slack, nan=0.0), 0.0, None), 0.0)

    @property
    def spoiler(self) -> np.ndarray:
        """``[n, a]`` veto players whose slack at the closest package is negative."""
        return self.veto & (np.nan_to_num(self.slack, nan=0.0) < -TOL)


def deal_issues(deals: Mapping[str, Sequence[str]], issues: Sequence[str]) -> dict[str, np.ndarray]:
    """Boolean issue masks: the comprehensive deal first, then every named deal."""
    out = {COMPREHENSIVE: np.ones(len(issues), bool)}
    for name, ids in deals.items():
        unknown = [x for x in ids if x not in issues]
        if unknown:
            raise ValueError(f"deal {name!r}: unknown issues {', '.join(unknown)}")
        out[name] = np.isin(np.asarray(issues, dtype=object), list(ids))
    return out


def evaluate(inputs: Inputs, no_deal: np.ndarray, deals: Mapping[str, np.ndarray],
             veto: np.ndarray | None = None, unsettled: str = "reserved") -> dict[str, DealResult]:
    """Feasibility of each deal (name -> issue mask) for every draw of a batch.

    ``no_deal[n, a]``: each actor's utility of no agreement; NaN means the actor states none
    (then it cannot veto anything: it is treated as having no reservation, which is the same
    as the worst no-deal value 0, and the output says so). ``veto[n, a]`` defaults to
    ``inputs.veto``.
    """
    if unsettled not in MODES:
        raise ValueError(f"unsettled: expected one of {', '.join(MODES)}, got {unsettled!r}")
    n, a, i = inputs.shape
    veto = np.broadcast_to(inputs.veto if veto is None else veto, (n, a))
    nd = np.broadcast_to(np.asarray(no_deal, float), (n, a))
    w = weights(inputs.salience, inputs.position, inputs.low, inputs.high)
    p = inputs.position
    sq = inputs.status_quo
    base_c = 1.0 - np.nan_to_num(nd, nan=0.0)
    out = {}
    for name, mask in deals.items():
        mask = np.asarray(mask, bool)
        c = base_c
        if unsettled == "status_quo" and not mask.all():
            fixed = ~mask
            missing = fixed & np.isnan(sq)
            if missing.any():
                raise ValueError(f"deal {name!r} keeps issues at the status quo but the scenario "
                                 f"gives none for {', '.join(np.asarray(inputs.issues)[missing])}")
            c = base_c - np.where(fixed, np.where(w > 0, w * np.abs(sq - np.nan_to_num(p)), 0.0),
                                  0.0).sum(-1)
        value, x = maxmin(w, p, c, veto, np.broadcast_to(mask, (n, i)))
        # issues no veto player cares about, and unsettled issues, sit at the status quo
        fill = np.where(np.isnan(sq), (inputs.low + inputs.high) / 2, sq)
        x = np.where(np.isnan(x), fill, x)
        counted = None if unsettled == "status_quo" else mask
        slack = utility(x, p, w, counted) - nd
        out[name] = DealResult(name, tuple(np.asarray(inputs.issues)[mask]), value, x, slack,
                               np.asarray(veto, bool))
    return out


def wilson(k: np.ndarray | float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n (Monte-Carlo error of a probability)."""
    if n == 0:
        return float("nan"), float("nan")
    p = float(k) / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


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
                deals: Sequence[str] | None = None, unsettled: str = "reserved",
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
                 unsettled: str = "reserved") -> pd.DataFrame:
    """Per view and deal, the range of each settled issue over the feasible settlements at
    the point values (exact LPs, one small problem per view × deal × issue × direction)."""
    from scipy.optimize import linprog

    from .ensemble import BASE, _resolved

    rows = []
    for v in views:  # a handful of views
        sc = _resolved(scenario, v)
        inp = sc.inputs()
        p, w = inp.position[0], weights(inp.salience, inp.position, inp.low, inp.high)[0]
        nd = np.array([np.nan if a.no_deal is None else a.no_deal.value for a in sc.actors])
        veto = sc.veto
        for deal, mask in deals.items():
            c = 1.0 - np.nan_to_num(nd, nan=0.0)
            if unsettled == "status_quo":
                c = c - np.where(~mask & (w > 0), w * np.abs(np.nan_to_num(inp.status_quo)
                                                             - np.nan_to_num(p)), 0.0).sum(-1)
            lo, hi = _extent_lp(w, p, c, veto, mask, inp.low, inp.high, linprog)
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
