"""Will there be a deal, which kind, and when: ``accord outlook``.

A discrete-time survival model (docs/analysis.md, "Outlook"; research note outlook.md §6) run
month by month from each view's date, for every Monte-Carlo draw, what-if lever and deal kind
at once (arrays ``[lever · draw, month]``; no Python loop over draws, months or levers):

* **State.** The status quo drifts by the view's trends (scale units per month, clipped to the
  scale); each actor's no-deal value follows it, ``nd_a(t) = nd_a(0) + u_a(q_t) - u_a(q_0)``,
  and falls by its accrued cost of fighting, ``- cost_a · t`` (war weariness: Weisiger's
  finding that settlement follows extensive fighting; Zartman's hurting stalemate). Dated
  events change actors (lever-style), the status quo or a trend from their month on.
* **Slack.** ``s_t`` is the max-min slack of the deal kind (:mod:`.feasibility`): red lines,
  delivery vetoes, pins, and durability (``P(holds)·u(deal) + (1 - P(holds))·(no deal -
  renewal cost)``) included. It is solved exactly at knot months (every ``slack_step`` months
  and at every event) and linearly interpolated between them: within a segment only the
  no-deal side moves, and the max-min value is concave in it, so the interpolation is a lower
  bound that is exact at the knots.
* **Hazard** (complementary log-log, so published hazard ratios plug in; Beck, Katz & Tucker
  1998; Broström, *Event History Analysis with R*, §3.8)::

      h_t = 1[s_t > 0] · (1 - (1 - h0)^HR_t),   h0 = 1 - (1 - H0)^(1/12)
      HR_t = (s_t / s_ref)^beta_s · m_R^MHS_t · m_C^log2(1 + t / age0) · m_D^(drift / drift_ref)
             · prod_e m_e(t) · exp(sigma · z) · (|V| / 2)^(-k_V)

  Zero when the feasible set is empty (Fearon 1995: a bargaining range is necessary, never
  sufficient, since private information and commitment problems remain). ``MHS_t`` is
  Zartman's mutually hurting stalemate: every consenting player gains less from
  ``ripeness_months`` more months of drift than those months cost it. ``age0`` is the war's
  age at the view's date (at least a month): the cost term counts doublings of the cumulative
  cost, ``log2(1 + t / age0)``, one factor ``m_C`` per doubling. Drift depresses the hazard
  (Powell 2006: fast shifts in power block commitment). ``z ~ N(0, 1)`` is a per-draw frailty
  (unobserved heterogeneity; the pooled hazard falls as in the COW data). ``|V|`` consenting
  players hold out longer (Cunningham 2006).
* **Output.** Per view, the ensemble and each deal kind: ``cumulative[k] = P(a deal of that
  kind is reached by the end of month k + 1)``, the median month, and ``P(it still holds 12
  months later)`` (the consenting players' average belief at the deal's terms, weighted by
  the chance of reaching it). Kinds are each their own process (not competing exits); ``any``
  combines them assuming independence given the draw.

Every constant is a named field of :class:`OutlookParams` with its source or the word
*judgement*; there are no hidden fitted numbers.
"""

from __future__ import annotations

import datetime as _dt
import threading
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .._threads import map_ordered
from ..models.base import Inputs
from .feasibility import (COMPREHENSIVE, P_HOLDS, TOL, Terms, deal_issues, package_fill, problem, solve,
                          utility, weights)

ANY = "any"
"""The pseudo deal kind "some deal of any kind"."""
FRAILTY_STREAM = 2**31 - 2
"""Spawn-key component of the frailty's random stream."""


@dataclass(frozen=True)
class OutlookParams:
    """The hazard's constants. Defaults and their basis: docs/analysis.md, "Outlook"."""

    horizon: int = 36
    """Months after each view's date."""
    base_rate_narrow: float = 0.10
    """H0 for a narrow deal (ceasefire, framework): annual hazard of the median draw at
    ``s = s_ref`` with no other multiplier. Research note §3: a long war ends by a deal at
    0.05-0.2 per year; central value a judgement."""
    base_rate_settlement: float = 0.04
    """H0 for the comprehensive settlement: judgement (no source splits ceasefires from
    settlements); below the narrow rate because a settlement must resolve every issue."""
    slack_ref: float = 0.05
    """Reference slack, utility units: about a strong push in the flagship's calibration
    (CODING.md: a no-deal shift of 0.04 is a strong push). Judgement."""
    slack_exponent: float = 0.5
    """beta_s: hazard ratio (s / s_ref)^beta_s. Judgement; its sign follows Fearon (1995)."""
    ripeness_ratio: float = 2.0
    """m_R: hazard ratio in a mutually hurting stalemate. Judgement; direction from Mooradian
    & Druckman (1999)."""
    ripeness_months: int = 6
    """H: the look-ahead of the stalemate test."""
    cost_ratio: float = 1.3
    """m_C: hazard ratio per doubling of the cumulative cost since the war began (its age at the
    view's date, at least a month, is the first unit). Judgement; direction from Weisiger."""
    drift_ratio: float = 0.7
    """m_D: hazard ratio at a drift of ``drift_ref``. Judgement; direction from Powell (2006)."""
    drift_ref: float = 0.01
    """Reference drift: a hundredth of the scale per month, summed over issues."""
    frailty_sd: float = 0.7
    """sigma: sd of the log frailty. Fits COW war durations after conditioning on four years of
    war (research note §3, computed there)."""
    holdout_exponent: float = 0.5
    """k_V: hazard ratio (|V| / 2)^(-k_V) beyond two consenting players. Judgement; direction
    from Cunningham (2006)."""
    settlement_breakdown_ratio: float = 0.4
    """Breakdown hazard ratio of a comprehensive settlement against a narrow deal (research note
    §4: agreements cut renewed-war risk by about 60% against ceasefires, civil wars)."""
    slack_step: int = 12
    """Months between exact solves of the slack (linearly interpolated between them; a lower
    bound between knots). On the flagship with costs and a drifting front, 12 moves no
    cumulative probability by more than 0.05 percentage points against solving every month
    (3: 0.003 points); see bench/outlook.py."""
    durability_passes: int = 1
    """1 (default): each party values a deal with P(holds) read at the terms in force when it
    signs (the status quo, and the deal's pins), so a guarantee counts for signing only once a
    deal kind fixes it; the reported P(holds 12 months) reads the terms of the package reached
    (Walter 2002: guarantees drive implementation). 2 or more: a fixed point that re-reads
    P(holds) at the previous package (then dropping a red line may lower a slack)."""
    base_rates: Mapping[str, float] = field(default_factory=dict)
    """Per deal kind overrides of H0 (annual)."""

    def h0(self, deal: str) -> float:
        """Monthly base hazard of a deal kind: ``1 - (1 - H0)^(1/12)``."""
        annual = self.base_rates.get(deal, self.base_rate_settlement if deal == COMPREHENSIVE
                                     else self.base_rate_narrow)
        return 1.0 - (1.0 - annual) ** (1.0 / 12.0)

    @classmethod
    def from_strings(cls, items: Mapping[str, str]) -> "OutlookParams":
        """Parameters from ``KEY=VALUE`` text (the CLI's ``--param``); ``base_rates.DEAL=H0``
        sets one deal kind's annual base rate. Every problem is reported at once."""
        fields = {f.name: f for f in cls.__dataclass_fields__.values()}
        values: dict[str, Any] = {}
        rates: dict[str, float] = {}
        problems = []
        for key, text in items.items():
            name = key.split(".", 1)[0]
            if name not in fields:
                problems.append(f"--param {key}: expected one of {', '.join(sorted(fields))}")
                continue
            try:
                if name == "base_rates":
                    if "." not in key:
                        raise ValueError
                    rates[key.split(".", 1)[1]] = float(text)
                elif fields[name].type in ("int", int):
                    values[name] = int(text)
                else:
                    values[name] = float(text)
            except ValueError:
                problems.append(f"--param {key}={text}: expected a number" +
                                (" (base_rates.DEAL=H0)" if name == "base_rates" else ""))
        if problems:
            raise ValueError("; ".join(problems))
        return cls(**values, base_rates=rates)

    def check(self) -> None:
        problems = []
        for name in ("base_rate_narrow", "base_rate_settlement"):
            if not 0.0 <= getattr(self, name) < 1.0:
                problems.append(f"{name}: expected an annual probability in [0, 1)")
        for name in ("slack_ref", "ripeness_ratio", "cost_ratio", "drift_ratio", "drift_ref",
                     "settlement_breakdown_ratio"):
            if not getattr(self, name) > 0:
                problems.append(f"{name}: expected a number > 0")
        for name in ("slack_exponent", "frailty_sd", "holdout_exponent"):
            if not getattr(self, name) >= 0:
                problems.append(f"{name}: expected a number >= 0")
        for name in ("horizon", "ripeness_months", "slack_step", "durability_passes"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                problems.append(f"{name}: expected a whole number >= 1")
        for k, v in self.base_rates.items():
            if not 0.0 <= v < 1.0:
                problems.append(f"base_rates.{k}: expected an annual probability in [0, 1)")
        if problems:
            raise ValueError("; ".join(problems))


# ---- dates ----------------------------------------------------------------------------------

def months_between(start: _dt.date, end: _dt.date) -> float:
    """Months from ``start`` to ``end`` (calendar months, fractional by day)."""
    return (end.year - start.year) * 12 + (end.month - start.month) + (end.day - start.day) / 30.4375


def event_month(start: _dt.date, date: _dt.date) -> int:
    """The month index (1-based) in which a dated event first acts."""
    return max(1, int(np.ceil(months_between(start, date) - 1e-9)))


def month_label(start: _dt.date | None) -> str | None:
    """``YYYY-MM``; None for an undated analysis (its months count from itself)."""
    return None if start is None else f"{start.year:04d}-{start.month:02d}"


# ---- one view -------------------------------------------------------------------------------

@dataclass
class _ViewRun:
    """Arrays of one view: ``hazard[deal] [L, n, T]``, ``p_holds[deal] [L, n]``."""

    view: str
    start: _dt.date
    months: int
    hazard: dict[str, np.ndarray]
    p_holds: dict[str, np.ndarray]
    slack0: dict[str, np.ndarray]
    blockers: dict[str, np.ndarray]
    """``[L, a]`` share of draws in which each actor blocks at the view's date."""
    actors: tuple[str, ...]


def _segments(events, start: _dt.date, months: int) -> list[tuple[int, list]]:
    """``[(first month, events in force)]``: one segment per distinct event month."""
    acting = sorted([(event_month(start, e.date), e) for e in events if e.date > start
                     and event_month(start, e.date) <= months], key=lambda x: (x[0], x[1].name))
    starts = sorted({1} | {m for m, _ in acting})
    return [(m, [e for k, e in acting if k <= m]) for m in starts]


def _hr_window(events, start: _dt.date, months: int, rng: np.random.Generator, n: int) -> np.ndarray:
    """``[n, T]`` product of the events' hazard ratios in the months they cover."""
    from .montecarlo import _draw, _table

    out = np.ones((n, months))
    for e in events:
        if e.hazard_ratio is None or e.date <= start:
            continue
        first = event_month(start, e.date)
        last = event_month(start, e.until) if e.until is not None else first
        if first > months:
            continue
        hr = _draw(_table([e.hazard_ratio], (1,)), rng.random((n, 1)))[:, 0]
        out[:, first - 1:min(last, months)] *= hr[:, None]
    return out



def _apply_op(x: np.ndarray, op, lo=-np.inf, hi=np.inf) -> np.ndarray:
    """A set / plus / times change (:class:`~accord.scenario.changes.OpM`), kept in [lo, hi]."""
    if op.set is not None:
        out = np.full_like(x, float(op.set))
    elif op.plus is not None:
        out = x + float(op.plus)
    else:
        out = x * float(op.times)
    return np.clip(out, lo, hi)


def _sq_path(q0: np.ndarray, trend: np.ndarray, segs, issue_ids, low, high,
             months: int) -> tuple[np.ndarray, np.ndarray]:
    """Status quo ``[n, months + 1, i]`` (month 0 = the view's date) and the speed of its
    drift ``[n, months + 1]``: the trend's absolute size summed over the issues, each in
    widths of its scale per month.

    A loop over segments (the few event months), each vectorised over draws and months; the
    path is clipped to the scale. The trend is constant within a segment, so the speed is
    kept per month, not per month and issue (a tenth of the memory).
    """
    n, i = trend.shape
    ii = {x: k for k, x in enumerate(issue_ids)}
    width = high - low
    q = np.empty((n, months + 1, i))
    speed = np.empty((n, months + 1))
    cur_q = np.broadcast_to(np.where(np.isnan(q0), (low + high) / 2, q0), (n, i)).astype(float)
    cur_t = trend.astype(float).copy()
    q[:, 0] = cur_q
    speed[:, 0] = (np.abs(cur_t) / width).sum(-1)
    firsts = [f for f, _ in segs] + [months + 1]
    applied: set[str] = set()
    prev = 0
    for k, (first, evs) in enumerate(segs):
        end = firsts[k + 1]
        here = cur_q + cur_t * (first - prev)
        for e in evs:
            if e.name in applied:
                continue
            applied.add(e.name)
            for iid, op in e.trend.items():
                cur_t[:, ii[iid]] = _apply_op(cur_t[:, ii[iid]], op)
            for iid, op in e.status_quo.items():
                j = ii[iid]
                here[:, j] = _apply_op(here[:, j], op, low[j], high[j])
        path = q[:, first:end]  # written in place: here + trend x months, clipped
        np.multiply(cur_t[:, None, :], (np.arange(first, end) - first)[None, :, None], out=path)
        path += here[:, None, :]
        np.clip(path, low, high, out=path)
        speed[:, first:end] = (np.abs(cur_t) / width).sum(-1)[:, None]
        cur_q, prev = path[:, -1], end - 1
    return q, speed


def _combined_levers(levers: Sequence, events: Sequence) -> list:
    """Lever 0 (``none``) and every lever, each followed by the events' changes."""
    from .whatif import Lever

    ev = tuple((a, ch) for e in events for a, ch in e.changes.items())
    first = Lever("none", "as coded", None, (), ev, ())
    return [first] + [replace(lv, changes=tuple(lv.changes) + ev) for lv in levers]


def _cost_maps(levers: Sequence, actors: Sequence[str]) -> np.ndarray:
    """``[2, L, a]`` (mul, add) of each combined lever's changes to the monthly cost."""
    from .whatif import _compose

    ai = {x: k for k, x in enumerate(actors)}
    ma = np.stack([np.ones((len(levers), len(actors))), np.zeros((len(levers), len(actors)))])
    for k, lv in enumerate(levers):  # a handful of levers × changes: builds parameters only
        for aid, ch in lv.changes:
            if getattr(ch, "cost", None) is not None and aid in ai:
                _compose(ma, (k, ai[aid]), ch.cost)
    return ma


def _utility_path(w: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``[m, T, a]`` utilities of the status quo path ``q [n, T, i]`` (``m = L · n``, w and p
    ``[m, a, i]``, lever-major), summed issue by issue to bound memory."""
    m, a, i = p.shape
    n = q.shape[0]
    L = m // n
    u = np.ones((L, n, q.shape[1], a))
    wr = w.reshape(L, n, a, i)
    pr = np.nan_to_num(p).reshape(L, n, a, i)
    tmp = np.empty_like(u)  # one temporary for every issue: views run on threads side by side
    for j in range(i):  # issues: a handful
        np.subtract(q[None, :, :, None, j], pr[:, :, None, :, j], out=tmp)
        np.abs(tmp, out=tmp)
        tmp *= wr[:, :, None, :, j]
        u -= tmp
    return u.reshape(m, q.shape[1], a)


def _knots(first: int, end: int, step: int) -> np.ndarray:
    """Months where the slack is solved exactly: the segment's ends and every ``step``."""
    return np.unique(np.r_[np.arange(first, end, step), end - 1])


def _interp(knots: np.ndarray, values: np.ndarray, first: int, end: int) -> np.ndarray:
    """``[m, end - first]`` linear interpolation of ``values [m, K]`` given at ``knots``."""
    ts = np.arange(first, end)
    k = np.clip(np.searchsorted(knots, ts, side="right") - 1, 0, len(knots) - 1)
    k1 = np.minimum(k + 1, len(knots) - 1)
    span = np.where(k1 > k, knots[k1] - knots[k], 1)
    f = np.where(k1 > k, (ts - knots[k]) / span, 0.0)
    v0, v1 = values[:, k], values[:, k1]
    with np.errstate(invalid="ignore"):
        out = v0 + (v1 - v0) * f
    return np.where(np.isneginf(v0) | np.isneginf(v1), -np.inf, out)


def _run_view(scenario, view: str, vi: int, n: int, entropy: int, levers: Sequence,
              deals: Mapping[str, np.ndarray], params: OutlookParams, months: int,
              tick: Callable[[], None]) -> _ViewRun:
    """Hazards of every deal kind for one view: chunks of draws, each one batch over levers."""
    from . import sweeps
    from .ensemble import _resolved
    from .terms import TERMS_STREAM, sample_terms
    from .whatif import compile_levers

    sc = _resolved(scenario, view)
    start = sc.as_of
    t = sweeps.tables(scenario, view)
    tt = replace(t.terms, kind_ratio={COMPREHENSIVE: params.settlement_breakdown_ratio})
    # an undated analysis counts months from itself; dated events cannot be placed in it
    segs = _segments(sc.events, start, months) if start is not None else [(1, [])]
    # a lever's own effect in this view, where the view's text states one (levers.yaml views:)
    levers = [replace(lv, changes=lv.changes_for(view), views=())
              if getattr(lv, "views", ()) else lv for lv in levers]
    combos = [_combined_levers(levers, evs) for _, evs in segs]
    arrays = [compile_levers(sc, c) for c in combos]
    L = len(levers) + 1
    actors = arrays[0].actors
    cost_maps = [_cost_maps(c, actors) for c in combos]
    age0 = None if scenario.conflict_start is None or start is None else \
        months_between(scenario.conflict_start, start)
    h0 = {d: params.h0(d) for d in deals}
    H = params.ripeness_months
    hazard = {d: np.zeros((L, n, months)) for d in deals}
    holds = {d: np.zeros((L, n)) for d in deals}
    slack0 = {d: np.zeros((L, n)) for d in deals}
    blocks = {d: np.zeros((L, len(actors))) for d in deals}
    frng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(vi, FRAILTY_STREAM)))
    z = frng.standard_normal(n)
    ev_hr = _hr_window(sc.events, start, months, frng, n) if start is not None else \
        np.ones((n, months))
    for ci, lo in enumerate(range(0, n, sweeps.CHUNK)):  # chunks of draws, as the sweeps cut them
        size = min(sweeps.CHUNK, n - lo)
        ds = slice(lo, lo + size)
        inputs, nd = sweeps.sample_chunk(t, size, np.random.SeedSequence(entropy, spawn_key=(vi, ci)))
        td = sample_terms(tt, size, np.random.SeedSequence(entropy, spawn_key=(vi, ci, TERMS_STREAM)))
        veto = np.broadcast_to(inputs.veto, nd.shape)
        q, speed = _sq_path(sc.status_quo, td.trend, segs, sc.issue_ids, sc.low, sc.high,
                            months + H)
        moving = (np.ptp(q, axis=1) > 0).any(0)                           # [i]
        speed = speed[:, 1:months + 1]                                    # [n, T]
        base_hr = (params.drift_ratio ** (speed / params.drift_ref)) * ev_hr[ds] \
            * np.exp(params.frailty_sd * z[ds])[:, None]
        cost_cum = None
        for k, (first, _) in enumerate(segs):
            end = segs[k + 1][0] if k + 1 < len(segs) else months + 1
            batch, ndk, vt, _ = arrays[k].apply(inputs, nd, veto, 1, L + 1)  # 0: identity
            ndk = np.nan_to_num(ndk)
            m, a, i = batch.shape
            terms = td.terms.extend(a, L)
            cost0 = np.tile(np.pad(td.cost, ((0, 0), (0, a - td.cost.shape[1]))), (L, 1))
            cm = cost_maps[k]
            cost = np.clip(np.repeat(cm[0], size, axis=0) * cost0 + np.repeat(cm[1], size, axis=0),
                           0.0, None)                                      # [m, a]
            if cost_cum is None:
                cost_cum = np.zeros((m, a))
            w = weights(batch.salience, batch.position, batch.low, batch.high)
            p = batch.position
            p0 = np.nan_to_num(p)
            ts = np.arange(first, end)
            # only the issues whose status quo moves change utilities over time
            if moving.any():
                du = _utility_path(w[..., moving], p0[..., moving], q[..., moving])
                du -= du[:, :1]                                             # [m, T + H + 1, a]
                gain = du[:, first + H:end + H] - du[:, first:end]  # ts as slices: no copies
            else:
                du, gain = None, np.zeros((m, 1, a))
            hurting = gain < cost[:, None, :] * H                           # [m, S or 1, a]

            def no_deal_at(tk):
                """Each actor's no-deal value at month ``tk``: drift and accrued cost."""
                drift = 0.0 if du is None else du[:, tk]
                return ndk + drift - cost_cum - cost * (tk - first + 1)

            def q_at(tk):
                return np.tile(q[:, tk], (L, 1))

            renewal = terms.renewal if terms.renewal is not None else np.zeros((m, a))
            still = du is None and not (cost > 0).any()
            knots = np.array([first]) if still else _knots(first, end, params.slack_step)
            passes = params.durability_passes if terms.durability is not None else 1
            reads_package = terms.durability is not None
            for d, mask in deals.items():
                pr = problem(batch, w, d, mask, vt, terms, "reserved")     # pins only in fixed
                free = ~pr.touched
                x = package_fill(pr, np.full((m, i), np.nan), batch, q_at(first))
                fl_first = _free_loss(w, p0, q_at(first), free)
                free_moving = free & moving
                cs = [1.0 - no_deal_at(first) - fl_first]
                for tk in knots[1:]:  # a few knot months
                    fl = fl_first
                    if free_moving.any():  # only the moving issues' losses change
                        wm, pm = w[..., free_moving], p0[..., free_moving]
                        fl = fl_first + (wm * (np.abs(q_at(tk)[:, None, free_moving] - pm)
                                               - np.abs(q_at(first)[:, None, free_moving] - pm))
                                         ).sum(-1)
                    cs.append(1.0 - no_deal_at(tk) - fl)
                for pass_no in range(passes):
                    p_h = terms.holds(d, x, batch.low, batch.high) * np.ones((m, a))
                    # the last pass solves every knot month in one batch: each knot starts
                    # from the basis of the one before, as only the constants differ
                    last = pass_no == passes - 1
                    v, x = solve(pr, np.stack(cs) if last else cs[0], p_h, renewal, p)
                    x = package_fill(pr, x, batch, q_at(first))
                vals = v
                v_first = vals[:, 0]
                s = np.repeat(vals, end - first, axis=1) if still else \
                    _interp(knots, vals, first, end)                        # [m, S]
                ripe = (hurting | ~pr.consent[:, None, :]).all(-1)  # every consenting one hurts
                consenting_cost = (np.where(pr.consent, cost, 0.0) > 0).any(-1)
                # doublings of the cumulative cost since the view's date (age0 >= 1 month)
                cum = np.log2(1.0 + ts / max(age0, 1.0))[None, :] * consenting_cost[:, None] \
                    if age0 is not None else 0.0
                n_v = pr.consent.sum(-1)
                hold = np.where(n_v > 2, (np.maximum(n_v, 1) / 2.0) ** -params.holdout_exponent, 1.0)
                # no consenting player (nobody can veto): the slack is unbounded; run at s_ref
                s = np.where(np.isposinf(s), params.slack_ref, s)
                hr = (np.maximum(s, 0.0) / params.slack_ref) ** params.slack_exponent \
                    * params.ripeness_ratio ** ripe * params.cost_ratio ** cum \
                    * hold[:, None] * np.tile(base_hr[:, first - 1:end - 1], (L, 1))
                # a slack within the LP's round-off (TOL) of 0 is no zone of agreement
                h = np.where(s > TOL, -np.expm1(np.log1p(-h0[d]) * hr), 0.0)
                hazard[d][:, ds, first - 1:end - 1] = h.reshape(L, size, -1)
                if k == 0:
                    if reads_package:  # the package's own terms decide how long it holds
                        p_h = terms.holds(d, x, batch.low, batch.high) * np.ones((m, a))
                    k_c = pr.consent.sum(-1)
                    held = np.where(k_c > 0, np.where(pr.consent, p_h, 0.0).sum(-1) /
                                    np.maximum(k_c, 1), p_h.mean(-1))
                    if terms.p_holds is None:  # not coded: report the base rate, value nothing
                        held = np.full(m, P_HOLDS ** (params.settlement_breakdown_ratio
                                                      if d == COMPREHENSIVE else 1.0))
                    holds[d][:, ds] = held.reshape(L, size)
                    slack0[d][:, ds] = v_first.reshape(L, size)
                    sl = p_h * (utility(x, p, w) - ndk) - (1 - p_h) * renewal
                    spoil = (pr.consent & (sl < -TOL)) | pr.red_block
                    blocks[d] += spoil.reshape(L, size, a).sum(1)
            cost_cum = cost_cum + cost * (end - first)
        tick()
    return _ViewRun(view, start, months, hazard, holds, slack0,
                    {d: b / n for d, b in blocks.items()}, actors)


def _free_loss(w: np.ndarray, p0: np.ndarray, q: np.ndarray, free: np.ndarray) -> np.ndarray:
    """``[m, a]`` loss on the issues a deal leaves at the status quo ``q [m, i]`` (``p0``: the
    positions with 0 where there is no stance, where ``w`` is 0 too)."""
    if not free.any():
        return np.zeros(w.shape[:2])
    return (w[..., free] * np.abs(q[:, None, free] - p0[..., free])).sum(-1)


# ---- the analysis ---------------------------------------------------------------------------

@dataclass
class Outlook:
    """What ``accord outlook`` computes.

    ``curves`` has one row per lever × view (and ``ensemble``) × deal kind × month:
    ``cumulative`` = P(a deal of that kind by the end of that month after ``start``).
    """

    scenario_id: str
    scenario_sha256: str
    seed: int | None
    draws: int
    draws_per_view: int
    horizon: int
    params: OutlookParams
    views: list[str]
    view_labels: dict[str, str]
    starts: dict[str, str]
    levers: list[str]
    lever_titles: dict[str, str]
    deals: list[str]
    curves: dict[str, dict[str, dict[str, np.ndarray]]]
    """lever -> deal -> view label (or "ensemble") -> ``[horizon]`` cumulative probability."""
    holds: dict[str, dict[str, dict[str, float]]]
    """lever -> deal -> view label -> P(still holds 12 months after it is reached)."""
    slack: dict[str, dict[str, dict[str, float]]]
    """lever -> deal -> view label -> share of draws with a zone of agreement at the start."""
    blockers: dict[str, dict[str, dict[str, dict[str, float]]]]
    """lever -> deal -> view label -> actor -> share of draws it blocks at the start."""
    notes: list[str] = field(default_factory=list)

    def median_months(self, curve: np.ndarray) -> int | None:
        hit = np.flatnonzero(curve >= 0.5)
        return int(hit[0] + 1) if hit.size else None

    def by(self, month: int, deal: str, view: str = "ensemble", lever: str = "none") -> float:
        """P(a deal of this kind by the end of month ``month`` (1-based))."""
        curve = self.curves[lever][deal][view]
        return float(curve[min(month, len(curve)) - 1]) if month >= 1 else 0.0

    def _block(self, lever: str) -> dict[str, Any]:
        out = {}
        for d in self.deals + [ANY]:
            views = {}
            for label, curve in self.curves[lever][d].items():
                views[label] = {"start": self.starts[label],
                                "cumulative": [round(float(x), 6) for x in curve],
                                "median_months": self.median_months(curve),
                                "p_holds_12m": _round(self.holds[lever][d].get(label)),
                                "p_zone_of_agreement": _round(self.slack[lever][d].get(label)),
                                "blockers": {a: round(v, 4) for a, v in
                                             self.blockers[lever][d].get(label, {}).items()}}
            ens = views.pop("ensemble", None)
            out[d] = {"views": views, "ensemble": ens if ens is not None else
                      next(iter(views.values()))}
        return out

    def to_json(self) -> dict[str, Any]:
        from .. import __version__

        doc = {"scenario": self.scenario_id, "scenario_sha256": self.scenario_sha256,
               "accord_version": __version__, "horizon_months": self.horizon, "seed": self.seed,
               "draws": self.draws, "draws_per_view": self.draws_per_view,
               "params": {k: (dict(v) if isinstance(v, Mapping) else v)
                          for k, v in asdict(self.params).items()},
               "views": [{"id": self.view_labels[v], "start": self.starts[self.view_labels[v]]}
                         for v in self.views],
               "deals": self._block("none"), "notes": self.notes}
        if len(self.levers) > 1:
            doc["levers"] = {lv: {"title": self.lever_titles[lv], "deals": self._block(lv)}
                             for lv in self.levers}
        return doc

    def table(self, months: Sequence[int] = (6, 12, 24, 36), lever: str = "none") -> pd.DataFrame:
        """view × deal: P(deal by each month), median months, P(holds 12 months)."""
        rows = []
        for d in self.deals + [ANY]:
            for label, curve in self.curves[lever][d].items():
                row = {"view": label, "deal": d, "start": self.starts[label]}
                for k in months:
                    if k <= self.horizon:
                        row[f"p_{k}m"] = float(curve[k - 1])
                row["median_months"] = self.median_months(curve)
                row["p_holds_12m"] = self.holds[lever][d].get(label, float("nan"))
                row["p_zone"] = self.slack[lever][d].get(label, float("nan"))
                rows.append(row)
        return pd.DataFrame(rows)


def _round(x):
    return None if x is None or x != x else round(float(x), 6)


def _combine_any(hazards: Mapping[str, np.ndarray]) -> np.ndarray:
    """Monthly hazard of "some deal": ``1 - prod_kinds (1 - h)`` (independent given the draw)."""
    keep = np.ones_like(next(iter(hazards.values())))
    for h in hazards.values():
        keep = keep * (1.0 - h)
    return 1.0 - keep


def draws_per_view(scenario, draws: int) -> int:
    """The outlook's draws of each view: ``draws`` in all, shared equally by the views."""
    from .ensemble import _view_list

    return max(1, int(draws) // len(_view_list(scenario)))


def outlook(scenario, horizon: int = 36, draws: int = 10_000, seed: int | None = 0,
            levers=None, deals: Sequence[str] | None = None,
            params: OutlookParams | None = None,
            progress: Callable[[int, int], None] | None = None) -> Outlook:
    """P(a deal of each kind by each month) per view and for the ensemble.

    ``draws`` is the total over the ensemble, shared equally by the views. The ensemble pools
    the views with equal weight from the latest view's date on, each earlier view's curve
    conditioned on no deal before that date (draws weighted by their survival to it). Levers
    (a file or a list of levers) are one more array axis.

    >>> import accord
    >>> from accord.analysis.outlook import outlook
    >>> o = outlook(accord.load("eu-emissions"), horizon=12, draws=200, seed=1)
    >>> len(o.curves["none"]["comprehensive"]["eu-emissions"])
    12
    """
    from pathlib import Path

    from .ensemble import BASE, _view_list
    from .whatif import read_levers

    params = replace(params or OutlookParams(), horizon=int(horizon))
    params.check()
    if draws < 1:
        raise ValueError("draws must be at least 1")
    if isinstance(levers, (str, Path)):
        levers = read_levers(levers, scenario)
    levers = list(levers or [])
    views = _view_list(scenario)
    label = {v: (scenario.id if v == BASE else v) for v in views}
    starts = {}
    for v in views:
        date = scenario.as_of if v == BASE else (scenario.views[v].date or scenario.as_of)
        starts[v] = date
    dated = [d for d in starts.values() if d is not None]
    latest = max(dated) if dated else None
    offset = {v: 0 if starts[v] is None else int(round(months_between(starts[v], latest)))
              for v in views}
    masks = deal_issues(dict(scenario.deals), scenario.issue_ids)
    if deals is not None:
        unknown = [d for d in deals if d not in masks]
        if unknown:
            raise ValueError(f"unknown deal(s) {', '.join(unknown)}; deals: {', '.join(masks)}")
        masks = {k: v for k, v in masks.items() if k in deals}
    n = draws_per_view(scenario, draws)
    entropy = int(np.random.SeedSequence(seed).entropy)
    from . import sweeps

    total = len(views) * -(-n // sweeps.CHUNK)
    done = [0]
    lock = threading.Lock()

    def tick() -> None:
        with lock:  # views run on worker threads
            done[0] += 1
            if progress is not None:
                progress(done[0], total)

    # each view has its own seeds, so a thread per view gives the same bytes as a loop; the
    # views' numpy overlaps (one view's LPs then run on its own thread, never a nested pool).
    # With levers a view's batch (levers × draws) is large enough to keep the cores busy with
    # its own LPs, and two side by side would double the memory: one view at a time.
    side_by_side = (len(levers) + 1) * sweeps.CHUNK <= sweeps.PROBLEMS_PER_TASK
    runs = map_ordered(lambda iv: _run_view(scenario, iv[1], iv[0], n, entropy, levers, masks,
                                            params, offset[iv[1]] + horizon, tick),
                       list(enumerate(views)), None if side_by_side else 1)
    names = ["none"] + [lv.name for lv in levers]
    kinds = list(masks)
    curves: dict = {}
    holds: dict = {}
    zone: dict = {}
    blockers: dict = {}
    for li, lname in enumerate(names):
        curves[lname], holds[lname], zone[lname], blockers[lname] = {}, {}, {}, {}
        for d in kinds + [ANY]:
            cv, hv, zv, bv = {}, {}, {}, {}
            num = np.zeros(horizon)
            for v, r in zip(views, runs):
                haz = _combine_any({k: r.hazard[k][li] for k in kinds}) if d == ANY \
                    else r.hazard[d][li]
                surv = np.cumprod(1.0 - haz, axis=1)                         # [n, T]
                cv[label[v]] = 1.0 - surv[:, :horizon].mean(0)
                # conditioned on no deal by the ensemble's start (the latest view's date)
                s0 = np.ones(len(surv)) if offset[v] == 0 else surv[:, offset[v] - 1]
                later = surv[:, offset[v]:offset[v] + horizon]
                weight = s0.sum()
                num += (s0[:, None] - later).sum(0) / weight if weight > 0 else 0.0
                if d != ANY:
                    reach = 1.0 - surv[:, horizon - 1]
                    ph = r.p_holds[d][li]
                    hv[label[v]] = float((ph * reach).sum() / reach.sum()) if reach.sum() > 0 \
                        else float(ph.mean())
                    zv[label[v]] = float((r.slack0[d][li] >= -TOL).mean())
                    bv[label[v]] = {a: float(b) for a, b in zip(r.actors, r.blockers[d][li])
                                    if b > 0}
            if len(views) > 1:
                cv["ensemble"] = num / len(views)
                if d != ANY:
                    hv["ensemble"] = float(np.mean([hv[label[v]] for v in views]))
                    zv["ensemble"] = float(np.mean([zv[label[v]] for v in views]))
            curves[lname][d], holds[lname][d], zone[lname][d], blockers[lname][d] = cv, hv, zv, bv
    starts_out = {label[v]: month_label(starts[v]) for v in views}
    if len(views) > 1:
        starts_out["ensemble"] = month_label(latest)
    notes = _notes(scenario, views, label)
    return Outlook(scenario.id, scenario.sha256, seed, n * len(views), n, horizon, params,
                   views, label, starts_out, names,
                   {"none": "as coded", **{lv.name: lv.title for lv in levers}}, kinds,
                   curves, holds, zone, blockers, notes)


def _notes(scenario, views, label) -> list[str]:
    """What the reader must know about inputs the outlook had to default."""
    from .ensemble import _resolved

    out = []
    undated = [label[v] for v in views
               if (scenario.as_of if v == "base" else (scenario.views[v].date or scenario.as_of)) is None]
    if undated:
        out.append(f"{', '.join(undated)}: no date (as_of or the view's date): months count from "
                   "the analysis itself and dated events are left out")
    if scenario.conflict_start is None:
        out.append("no conflict_start: the cumulative-cost term of the hazard is off")
    for v in views:
        sc = _resolved(scenario, v)
        vetoes = [a for a in sc.actors if a.veto]
        missing = [a.id for a in vetoes if a.cost is None]
        if missing:
            out.append(f"{label[v]}: no monthly cost of fighting for {', '.join(missing)} (0: "
                       "time does not wear them down)")
        if not any(x.trend is not None for x in sc.issues):
            out.append(f"{label[v]}: no trend coded: the status quo stays where it is")
        if not any(a.p_holds is not None for a in vetoes):
            out.append(f"{label[v]}: no belief that a deal holds: every veto player takes the "
                       "base rate 0.68 (Fortna's ceasefires at 12 months)")
    return out
