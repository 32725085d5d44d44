"""Bueno de Mesquita's expected-utility ("challenge") model, as reconstructed by Scholz et al.

Bueno de Mesquita, B. (1994). "Political forecasting: an expected utility method." In
Bueno de Mesquita & Stokman (eds.), *European Community Decision Making*, Yale UP, 71-104.
Scholz, J. B., Calbert, G. J. & Smith, G. A. (2011). "Unravelling Bueno De Mesquita's group
decision model." *Journal of Theoretical Politics* 23(4), 510-531.

BDM never published his code, and the two public replications disagree with each other and
with the paper. Every disputed choice (the ambiguities A1-A13 of the reference data's README)
is therefore a named parameter, and presets reproduce each public implementation:

``scholz_code``
    jmckib's replication, whose choices its author says follow Scholz's own code; it
    reproduces Scholz's Table 2 and BDM's Belgium quadrant chart. Capitulation is
    unreachable, as in that code.
``scholz_code_fixed``
    the same with capitulation reachable.
``dmasad``
    dmasad's replication, with the scale range taken from the initial positions (its
    notebooks pass 10 and 4 whatever the data: ``--param scale_range=6``).
``paper``
    the equations as Scholz et al. print them (pair-wise probabilities, each side's own risk
    exponent, per-dyad T, least movement). No public implementation exists to check it.

One round (Scholz's appendix): risk exponents from an r = 1 pass, expected utilities again with
them, one move per actor chosen from start-of-round positions, all moves applied together.
Risk is recomputed from scratch every round, so a round depends only on the positions: an
exact repeat of earlier positions is a cycle that continues for ever. The engine detects such
cycles (and fixed points) exactly and fills the remaining rounds with the cycle, so detection
never changes a trajectory (``rounds_run`` counts those rounds; ``summary["stopped_at_round"]``
says where the repeat was found, ``summary["forecast_interval"]`` and
``extra["forecast_low"/"forecast_high"]`` give the cycle's range). ``stop_reason`` per draw is
``max_rounds``, ``converged`` (fixed point), ``cycle``, ``tolerance`` (forecast change at most
``tolerance``; the state is then frozen) or ``degenerate`` (A12 with ``degenerate=stop``); a
draw with several issues reports the least settled of them.

Ties: offers equal under the selection rule go to the first proposer in input order, as in
both replications (so with tied data, permuting actors can change a choice); ``least_move``
(preset ``paper``) breaks them by the proposer's expected utility instead. Utilities are
evaluated in the replications' operation order, so actors with equal inputs keep bit-equal
expected utilities and the replications' exact-equality tests behave the same.

Round records (draw 0; merged into ``accord run --json``): ``weighted_mean`` {issue},
``risk_exponents`` {actor: {issue: r}} (null in round 0) and ``moves`` [{actor, issue, kind,
toward, new_position, eu_i, eu_j}] in input order; ``extra`` carries ``weighted_mean``,
``risk_exponents`` (NaN in round 0), ``forecast_low`` and ``forecast_high`` for every draw.

Speed: each pass is O(a^2 log a) per lane, not O(a^3): the voters preferring i over j are a
prefix or suffix of the voters sorted by position, so prefix sums replace the voter loop.

Issues are independent (the literature runs them one by one); draws x issues form "lanes"
computed together as ``[lanes, actors, actors]`` arrays. An actor with no stance on an issue
(NaN position) takes no part in it: it neither votes, challenges nor is challenged, and its
position stays NaN.

Degenerate cases are defined: P = 0 between equal positions (A11) and when no voter
separates two positions; when every danger level is equal (A12, e.g. all actors at one
position) the risk exponents are 1 (or the lane stops, preset ``dmasad``, mirroring its crash);
a lane with all actors at one position is a fixed point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from numba import njit

from .._threads import cores, map_ordered
from .base import Inputs, ModelSpec, Outcome, Param, frozen

__all__ = ["SPECS", "PRESETS", "config", "internals", "quadrant", "quadrant_figure",
           "weighted_median", "weighted_mean", "KINDS"]

KINDS = ("none", "confrontation", "compromise", "capitulation")
_NONE, _CONF, _COMP, _CAP = 0, 1, 2, 3

# ---------------------------------------------------------------------------------------------
# parameters and presets

PARAMS = (
    Param("range_rule", "initial", "A1: scale range Rg = max - min of each lane's initial "
          "positions ('initial', both replications) or the issue's scale ('issue')", str,
          ("initial", "issue")),
    Param("scale_range", None, "A1: a fixed scale range Rg for every issue (overrides "
          "range_rule; must cover the initial positions)", float),
    Param("median_rule", "median", "A2: the median mu in the (1-Q) term: c*s-weighted median "
          "('median'), weighted mean ('mean') or dmasad's median-then-mean; no effect at Q = 1",
          str, ("median", "mean", "vote_then_mean")),
    Param("p_numerator", "positive", "A3: numerator of P_ij: positive support ('positive', "
          "Scholz), net support clipped at 0 ('net', dmasad), or positive support with each "
          "voter's distances raised to its own r ('positive_voter_risk', Scholz's code)", str,
          ("positive", "net", "positive_voter_risk")),
    Param("p_denominator", "pairwise", "A4: denominator of P_ij: this pair's total |support| "
          "('pairwise') or the grand total over all ordered pairs ('grand_total', Scholz's "
          "code; P is then tiny)", str, ("pairwise", "grand_total")),
    Param("perspective", "own", "A5: whose risk exponent values j's challenge of i when i "
          "decides: j's own ('own') or the receiver i's ('receiver', Scholz's code)", str,
          ("own", "receiver")),
    Param("qt_term", "per_dyad", "A6: the (1-Q)[T U_b + (1-T) U_w] term: per-dyad T "
          "('per_dyad'), global T ('global'), global T with dmasad's inverted sign "
          "('global_inverted') or left out ('omitted', valid at Q = 1 only)", str,
          ("per_dyad", "global", "global_inverted", "omitted")),
    Param("q", 1.0, "A6: probability Q that the status quo persists unchallenged (Scholz: 1)",
          float),
    Param("t", 1.0, "A6: the global T (1: an unchallenged shift helps)", float),
    Param("risk_normalisation", "actors", "A7: risk exponents from danger levels normalised "
          "across actors ('actors') or none, r = 1 ('none')", str, ("actors", "none")),
    Param("conflict", "full", "A8: a receiver that expects to lose a conflict (b > a > 0) "
          "moves fully to the proposer ('full') or conflicts move nobody ('off')", str,
          ("full", "off")),
    Param("capitulation", True, "A9: capitulation (b > 0 > a, b < |a|) moves the receiver "
          "fully; false reproduces Scholz's code, where it is unreachable", bool),
    Param("offer_choice", "least_move", "A10: which offer a receiver takes: conflict, then "
          "compromise, then capitulation, each the least movement ('least_move', Scholz's "
          "prose); the same but the compromise with the smallest EU-weighted position "
          "('scholz_code'); or only the offers of largest sender EU, nearest first "
          "('max_sender_eu', dmasad)", str, ("least_move", "scholz_code", "max_sender_eu")),
    Param("equal_positions", "no_contest", "A11: two actors at one position never contest "
          "('no_contest') or contest with P = 0 ('p_zero', dmasad)", str,
          ("no_contest", "p_zero")),
    Param("degenerate", "risk_neutral", "A12: when all danger levels are equal, r = 1 for all "
          "('risk_neutral') or the lane stops ('stop', where dmasad crashes)", str,
          ("risk_neutral", "stop")),
    Param("tolerance", 0.0, "A13: stop a lane when its forecast changes by at most this "
          "much (0: off); exact fixed points always stop", float),
    Param("max_period", 8, "A13: detect exact cycles up to this period and report the "
          "cycle's range (0: off)", int),
)

_SCHOLZ_CODE = dict(range_rule="initial", median_rule="median",
                    p_numerator="positive_voter_risk", p_denominator="grand_total",
                    perspective="receiver", qt_term="omitted", conflict="full",
                    capitulation=False, offer_choice="scholz_code",
                    equal_positions="no_contest", degenerate="risk_neutral")

PRESETS: dict[str, dict[str, Any]] = {
    "scholz_code": _SCHOLZ_CODE,
    "scholz_code_fixed": {**_SCHOLZ_CODE, "capitulation": True},
    "dmasad": dict(range_rule="initial", median_rule="vote_then_mean", p_numerator="net",
                   p_denominator="pairwise", perspective="own", qt_term="global_inverted",
                   t=1.0, conflict="full", capitulation=True, offer_choice="max_sender_eu",
                   equal_positions="p_zero", degenerate="stop"),
    "paper": dict(range_rule="issue", median_rule="median", p_numerator="positive",
                  p_denominator="pairwise", perspective="own", qt_term="per_dyad",
                  conflict="full", capitulation=True, offer_choice="least_move",
                  equal_positions="no_contest", degenerate="risk_neutral"),
}


@dataclass(frozen=True)
class Config:
    """The resolved A1-A13 choices (see :data:`PARAMS`)."""

    range_rule: str = "initial"
    scale_range: float | None = None
    median_rule: str = "median"
    p_numerator: str = "positive"
    p_denominator: str = "pairwise"
    perspective: str = "own"
    qt_term: str = "per_dyad"
    q: float = 1.0
    t: float = 1.0
    risk_normalisation: str = "actors"
    conflict: str = "full"
    capitulation: bool = True
    offer_choice: str = "least_move"
    equal_positions: str = "no_contest"
    degenerate: str = "risk_neutral"
    tolerance: float = 0.0
    max_period: int = 8


def config(preset: str = "scholz_code", **overrides: Any) -> Config:
    """A :class:`Config` from a preset and keyword overrides, validated like ``--param``."""
    spec = SPECS[0]
    values = spec.resolve(preset, {k: v for k, v in overrides.items()})
    return _config(values)


def _config(values: Mapping[str, Any]) -> Config:
    known = {p.name: p for p in PARAMS}
    clean = {}
    for key, value in values.items():
        p = known[key]
        if p.choices is not None and value not in p.choices:
            raise ValueError(f"parameter {key}: expected one of {', '.join(p.choices)}, "
                             f"got {value!r}")
        clean[key] = value
    cfg = Config(**clean)
    if not 0.0 <= cfg.q <= 1.0:
        raise ValueError(f"parameter q: expected a probability in [0, 1], got {cfg.q!r}")
    if not 0.0 <= cfg.t <= 1.0:
        raise ValueError(f"parameter t: expected a probability in [0, 1], got {cfg.t!r}")
    if cfg.scale_range is not None and not (np.isfinite(cfg.scale_range)
                                            and cfg.scale_range > 0):
        raise ValueError(f"parameter scale_range: expected a number > 0, got "
                         f"{cfg.scale_range!r}")
    if cfg.tolerance < 0 or not np.isfinite(cfg.tolerance):
        raise ValueError(f"parameter tolerance: expected a number >= 0, got {cfg.tolerance!r}")
    if cfg.max_period < 0:
        raise ValueError(f"parameter max_period: expected an integer >= 0, got "
                         f"{cfg.max_period!r}")
    return cfg


# ---------------------------------------------------------------------------------------------
# statistics


def weighted_median(x: np.ndarray, w: np.ndarray, present: np.ndarray | None = None
                    ) -> np.ndarray:
    """Lower weighted median over the last axis (the median voter; Condorcet winner in 1-D).

    The smallest position whose cumulative weight, positions ascending, reaches half the
    total. Zero total weight falls back to equal weights; no actor present gives NaN.
    """
    x = np.asarray(x, float)
    w = np.asarray(w, float)
    present = ~np.isnan(x) if present is None else present
    w = np.where(present, w, 0.0)
    tot = w.sum(-1, keepdims=True)
    w = np.where(tot > 0, w, present.astype(float))
    tot = w.sum(-1, keepdims=True)
    xx = np.where(present, x, np.inf)
    order = np.argsort(xx, axis=-1, kind="stable")
    xs = np.take_along_axis(xx, order, -1)
    cum = np.cumsum(np.take_along_axis(w, order, -1), -1)
    # a tie at exactly half goes to the lower position despite rounding in the float sums
    k = np.argmax(cum >= 0.5 * tot * (1.0 - 1e-12), axis=-1)
    out = np.take_along_axis(xs, k[..., None], -1)[..., 0]
    return np.where(present.any(-1), out, np.nan)


def weighted_mean(x: np.ndarray, w: np.ndarray, present: np.ndarray | None = None
                  ) -> np.ndarray:
    """c*s-weighted mean over the last axis (Scholz's Table 2 reports it beside the median)."""
    x = np.asarray(x, float)
    present = ~np.isnan(x) if present is None else present
    w = np.where(present, w, 0.0)
    tot = w.sum(-1)
    w = np.where(tot[..., None] > 0, w, present.astype(float))
    tot = w.sum(-1)
    num = np.where(present, w * np.where(present, x, 0.0), 0.0).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, num / np.where(tot > 0, tot, 1.0), np.nan)


# ---------------------------------------------------------------------------------------------
# one round, batched over lanes [L, a]


@njit(cache=True, nogil=True)
def _left_of_midpoints(x):
    """``_mid_counts`` for few actors: a compiled count over the pairs i < j (a^3/2
    comparisons a lane, no temporaries; an exact integer, so the same as any other count)."""
    L, a = x.shape
    cnt = np.zeros((L, a, a), np.intp)  # the diagonal is never used (equal positions)
    for lane in range(L):
        for i in range(a):
            for j in range(i + 1, a):
                mid = (x[lane, i] + x[lane, j]) * 0.5
                c = 0
                for k in range(a):
                    if x[lane, k] < mid:
                        c += 1
                cnt[lane, i, j] = c
                cnt[lane, j, i] = c
    return cnt


def _mid_counts(x: np.ndarray) -> np.ndarray:
    """``cnt[l, i, j]`` = number of actors strictly left of the midpoint of x_i and x_j."""
    L, a = x.shape
    if a <= 24:
        return _left_of_midpoints(frozen(x))
    mid = (x[:, :, None] + x[:, None, :]) * 0.5
    # one batched binary search: complex numbers sort lexicographically, so ``lane + 1j*x``
    # keeps the lanes apart exactly
    lane = np.arange(L, dtype=float)
    hay = (lane[:, None] + 1j * np.sort(x, axis=1)).ravel()
    needles = lane[:, None, None] + 1j * mid
    idx = np.searchsorted(hay, needles.ravel(), side="left").reshape(L, a, a)
    idx -= (np.arange(L) * a)[:, None, None]
    return idx


class _Geometry:
    """What both passes of a round share: distances, voter order and gather indices."""

    def __init__(self, x: np.ndarray, rg: np.ndarray):
        L, a = x.shape
        self.x = x
        self.diff = np.abs(x[:, :, None] - x[:, None, :])
        self.d = self.diff / rg[:, None, None]
        self.same = self.diff == 0
        self.lower = x[:, :, None] < x[:, None, :]
        order = np.argsort(x, axis=1, kind="stable")
        self.order = order
        lane = np.arange(L)[:, None, None]
        # flat indices into [L, a, a] arrays: row b, a slot for a leading zero, then the voters
        # in position order, so that one in-place cumsum gives the prefix sums
        perm = np.empty((L, a, a + 1), np.intp)
        perm[:, :, 0] = 0  # overwritten with zeros after the gather
        perm[:, :, 1:] = lane * (a * a) + np.arange(a)[None, :, None] * a + order[:, None, :]
        self.perm = perm.ravel()
        # voters preferring i lie left of the midpoint when x_i < x_j (a prefix of the sorted
        # voters) and right of it otherwise (the complement): prefix sums, column cnt
        cnt = _mid_counts(x)
        width = a + 1
        base = lane * (a * width) + cnt
        self.idx_i = (base + np.arange(a)[None, :, None] * width).ravel()   # c[l, i, cnt_ij]
        self.idx_j = (base + np.arange(a)[None, None, :] * width).ravel()   # c[l, j, cnt_ij]


def _support(ut: np.ndarray, w: np.ndarray, g: _Geometry) -> np.ndarray:
    """``pos[l, i, j]`` = sum over voters k closer to x_i than to x_j of w_k (u_kj - u_ki).

    ``ut[l, b, k]`` is voter k's (transformed) distance to actor b; it grows with
    |x_k - x_b|, so the voters preferring i are a prefix (x_i < x_j) or suffix of the voters
    sorted by position. Prefix sums make this O(a^2 log a) per lane instead of O(a^3).
    """
    L, a, _ = ut.shape
    c = np.take(ut.ravel(), g.perm).reshape(L, a, a + 1)
    c[:, :, 0] = 0.0
    c[:, :, 1:] *= np.take_along_axis(w, g.order, axis=1)[:, None, :]
    np.cumsum(c, axis=2, out=c)
    flat = c.ravel()
    pos = np.take(flat, g.idx_j).reshape(L, a, a)
    pos -= np.take(flat, g.idx_i).reshape(L, a, a)
    total = c[:, :, a]
    suffix = total[:, None, :] - total[:, :, None]
    suffix -= pos
    pos = np.where(g.lower, pos, suffix)
    pos[g.same] = 0.0
    np.maximum(pos, 0.0, out=pos)
    return pos


def _probability(pos: np.ndarray, valid: np.ndarray | None, cfg: Config) -> np.ndarray:
    """P_ij that i beats j (A3/A4/A11); 0 when nobody separates them."""
    if valid is not None:
        pos = pos * valid
    if cfg.p_denominator == "grand_total":
        den = 2.0 * pos.sum(axis=(1, 2))
        den = np.where(den > 0, den, np.inf)[:, None, None]
        if cfg.p_numerator == "net":
            return np.maximum(pos - pos.transpose(0, 2, 1), 0.0) / den
        return pos / den
    den = pos + pos.transpose(0, 2, 1)
    num = np.maximum(pos - pos.transpose(0, 2, 1), 0.0) if cfg.p_numerator == "net" else pos
    out = np.zeros_like(pos)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _utilities(d: np.ndarray, r):
    """U_s, U_f, U_sq for normalised distance d and risk exponent r (Scholz eq. 9-13)."""
    half = 0.5 * d
    if isinstance(r, float) and r == 1.0:
        us = 0.5 - half
        uf = 0.5 + half
        usq = 0.0
    else:
        us = np.power(0.5 - half, r)
        uf = np.power(0.5 + half, r)
        usq = 2 - 4 * 0.5 ** r
    us *= -4
    us += 2
    uf *= -4
    uf += 2
    return us, uf, usq


def _eu(p, us, uf, usq, s_target, r, qt) -> np.ndarray:
    """E(U) of a challenge: the target resists with probability s_target (Scholz eq. 5).

    Evaluated as ``s (p U_s + (1 - p) U_f) + (1 - s) U_s - Q U_sq``, the order both
    replications use, so that equal inputs give bit-equal utilities (ties stay ties).
    """
    eu = p * us
    tmp = 1 - p
    tmp *= uf
    eu += tmp
    eu *= s_target
    eu += (1 - s_target) * us
    cfg, d_c, d_mu, rg = qt
    if cfg.qt_term == "omitted" or cfg.q == 1.0:
        eu -= cfg.q * usq
        return eu
    base = 0.25 * ((d_mu + d_c) / rg)
    ub = 2 - 4 * (0.5 - base) ** r
    uw = 2 - 4 * (0.5 + base) ** r
    t = (d_mu < d_c).astype(float) if cfg.qt_term == "per_dyad" else cfg.t
    term = (1 - cfg.q) * (t * ub + (1 - t) * uw)
    if cfg.qt_term == "global_inverted":
        return eu - (cfg.q * usq - term)
    return eu - cfg.q * usq - term


@dataclass
class _Round:
    """Everything one round computes for a batch of lanes (kept for tests and the chart)."""

    P1: np.ndarray
    EU1: np.ndarray
    S: np.ndarray
    R: np.ndarray
    r: np.ndarray
    P2: np.ndarray
    A: np.ndarray          # A[l, i, j] = E^i(U_ij), i challenging j, with r_i
    B: np.ndarray          # B[l, i, j] = j's challenge of i as weighed when i decides
    degenerate: np.ndarray
    kind: np.ndarray       # [L, a] move kind code per receiver
    toward: np.ndarray     # [L, a] proposer index (-1 none)
    new_x: np.ndarray      # [L, a]


def _mu(x, w, pres, rule_pass):
    if rule_pass == "mean":
        return weighted_mean(x, w, pres)
    return weighted_median(x, w, pres)


def _step(x, c, s, pres, rg, cfg: Config) -> _Round:
    """One round for lanes ``x[L, a]`` (absent actors filled with a finite position)."""
    L, a = x.shape
    g = _Geometry(x, rg)
    all_present = bool(pres.all())
    w = c * s if all_present else np.where(pres, c * s, 0.0)
    eye = np.eye(a, dtype=bool)[None]
    if all_present:
        valid = None
        contest = ~(g.same if cfg.equal_positions == "no_contest" else eye)
    else:
        valid = pres[:, :, None] & pres[:, None, :] & ~eye
        contest = valid & ~g.same if cfg.equal_positions == "no_contest" else valid
    need_mu = cfg.qt_term != "omitted" and cfg.q != 1.0

    def qt_args(pass_no, challenger_axis):
        if not need_mu:
            return (cfg, None, None, None)
        rule = cfg.median_rule
        if rule == "vote_then_mean":
            rule = "median" if pass_no == 1 else "mean"
        mu = _mu(x, w, pres, rule)
        d_mu = np.abs(x - mu[:, None])
        d_mu = d_mu[:, :, None] if challenger_axis == 1 else d_mu[:, None, :]
        return (cfg, g.diff, d_mu, rg[:, None, None])

    s_j = s[:, None, :]
    # pass 1: every r = 1; the danger levels give the risk exponents (A7)
    pos1 = _support(g.d, w, g)
    P1 = _probability(pos1, valid, cfg)
    us, uf, usq = _utilities(g.d, 1.0)
    EU1 = _eu(P1, us, uf, usq, s_j, 1.0, qt_args(1, 1))
    if cfg.risk_normalisation == "actors":
        S = (EU1 if valid is None else EU1 * valid).sum(axis=1)
        if all_present:
            smax, smin = S.max(axis=1), S.min(axis=1)
        else:
            smax = np.where(pres, S, -np.inf).max(axis=1)
            smin = np.where(pres, S, np.inf).min(axis=1)
        span = smax - smin
        degenerate = ~(span > 0)
        safe = np.where(degenerate, 1.0, span)
        with np.errstate(invalid="ignore"):  # lanes without actors: masked below
            R = (2 * S - smax[:, None] - smin[:, None]) / safe[:, None]
        R[degenerate] = 0.0
        r = (1 - R / 3.0) / (1 + R / 3.0)
        if not all_present:
            r = np.where(pres, r, 1.0)
    else:
        S = np.zeros((L, a))
        R = np.zeros((L, a))
        r = np.ones((L, a))
        degenerate = np.zeros(L, bool)

    # pass 2 with the risk exponents
    if cfg.p_numerator == "positive_voter_risk":
        P2 = _probability(_support(np.power(g.d, r[:, None, :]), w, g), valid, cfg)
    else:
        P2 = P1
    ri = r[:, :, None]
    us, uf, usq = _utilities(g.d, ri)
    A = _eu(P2, us, uf, usq, s_j, ri, qt_args(2, 1))
    if cfg.perspective == "receiver":
        B = _eu(P2.transpose(0, 2, 1), us, uf, usq, s[:, :, None], ri, qt_args(2, 2))
    else:
        B = A.transpose(0, 2, 1)
    kind, toward, new_x = _choose(x, g, A, B, contest, cfg)
    return _Round(P1, EU1, S, R, r, P2, A, B, degenerate, kind, toward, new_x)


def _step_compiled(x, c, s, pres, rg, cfg: Config) -> _Round:
    """:func:`_step` by :mod:`accord.models.bdm_kernel` (Scholz's code): the same moves, risk
    exponents, A and B, byte for byte; P1, EU1, S, R and P2 are not kept (None)."""
    from .bdm_kernel import first_pass, second_pass

    x, c, s, rg = (frozen(v) for v in (x, c, s, rg))
    pres = frozen(pres, np.bool_)
    cnt = frozen(_mid_counts(x), np.int64)
    d, order, r, degenerate = first_pass(x, c, s, pres, rg, cnt)
    ri = r[:, :, None]
    half = 0.5 * d
    # numpy's powers, as _step computes them (compiled code's pow rounds differently)
    dr, us, uf = np.power(d, r[:, None, :]), np.power(0.5 - half, ri), np.power(0.5 + half, ri)
    kind, toward, new_x, A, B = second_pass(x, c, s, pres, order, cnt, dr, us, uf, 0.5 ** r,
                                            float(cfg.q), cfg.conflict == "full",
                                            bool(cfg.capitulation))
    return _Round(None, None, None, None, r, None, A, B, degenerate, kind, toward, new_x)


def _round_step(cfg: Config):
    """The round that runs ``cfg``: compiled for Scholz's code (unless
    ``ACCORD_BDM_ARRAYS=1``), the array path otherwise. Both give the same bytes."""
    import os

    if os.environ.get("ACCORD_BDM_ARRAYS", "") != "1":
        from .bdm_kernel import compiles

        if compiles(cfg):
            return _step_compiled
    return _step


def _first_min(key: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Index of the smallest key where mask holds (first on ties, like Python's min)."""
    return np.where(mask, key, np.inf).argmin(axis=2)


def _choose(x, g: _Geometry, A, B, contest, cfg: Config):
    """Each receiver i picks at most one offer (A8-A10); all from start-of-round positions."""
    L, a = x.shape
    rows = np.arange(L)[:, None]
    cols = np.arange(a)[None, :]
    absA = np.abs(A)
    if cfg.offer_choice == "max_sender_eu":
        offer = contest & (B > 0)
        bmax = np.where(offer, B, -np.inf).max(axis=2, keepdims=True)
        j = _first_min(g.diff, offer & (B == bmax))
        has = offer.any(axis=2)
        a_, b_ = A[rows, cols, j], B[rows, cols, j]
        kind = np.full((L, a), _NONE)
        if cfg.conflict == "full":
            kind[(a_ > 0) & (a_ < b_)] = _CONF
        kind[(a_ < 0) & (np.abs(a_) < b_)] = _COMP
        if cfg.capitulation:
            kind[(a_ < 0) & (np.abs(a_) > b_)] = _CAP
        kind[~has] = _NONE
    else:
        # class of each offer (1 conflict, 2 compromise, 3 capitulation, 4 none); the best
        # class wins, then the smallest key within it (first on ties, like Python's min)
        cls = np.full(A.shape, 4, dtype=np.int8)
        lose = contest & (B > 0) & (A < 0)
        if cfg.capitulation:
            cls[lose & (B < absA)] = 3
        comp = lose & (B > absA)
        cls[comp] = 2
        if cfg.conflict == "full":
            cls[contest & (B > A) & (A > 0)] = 1
        best = cls.min(axis=2)
        if cfg.offer_choice == "scholz_code":
            absB = np.abs(B)
            with np.errstate(divide="ignore", invalid="ignore"):
                key = absA * x[:, :, None]
                key += absB * x[:, None, :]
                key /= absA + absB
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                key = g.diff * np.abs(A / B)
        key = np.where(comp, key, g.diff)
        mask = cls == best[:, :, None]
        if cfg.offer_choice == "least_move":
            # Scholz's prose: among equally small moves concede to the proposer with the
            # highest expected utility (order-free; the replications take input order)
            least = np.where(mask, key, np.inf).min(axis=2, keepdims=True)
            j = np.where(mask & (key == least), B, -np.inf).argmax(axis=2)
        else:
            j = _first_min(key, mask)
        kind = np.where(best < 4, best, _NONE)
        a_, b_ = A[rows, cols, j], B[rows, cols, j]
    xj = x[rows, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        comp_x = x + (xj - x) * np.abs(a_ / b_)
    moved = kind != _NONE
    new_x = np.where(kind == _COMP, comp_x, np.where(moved, xj, x))
    return kind, np.where(moved, j, -1), new_x


# ---------------------------------------------------------------------------------------------
# the run


def _lanes(inputs: Inputs, cfg: Config):
    """Flatten draws x issues into lanes; fix the scale range per lane (A1)."""
    d, a, i = inputs.shape
    pos = np.moveaxis(inputs.position, 2, 1).reshape(d * i, a)
    sal = np.moveaxis(inputs.salience, 2, 1).reshape(d * i, a)
    cap = np.repeat(np.asarray(inputs.capability, float), i, axis=0)
    pres = ~np.isnan(pos)
    if np.isinf(pos).any():
        lane, actor = np.argwhere(np.isinf(pos))[0]
        raise ValueError(f"bdm: actor {inputs.actors[actor]!r}, issue "
                         f"{inputs.issues[lane % i]!r}: position must be finite")
    bad_c = pres & ~(np.isfinite(cap) & (cap >= 0))
    bad_s = pres & ~(np.isfinite(sal) & (sal >= 0) & (sal <= 1))
    if bad_c.any() or bad_s.any():
        what = "capability" if bad_c.any() else "salience"
        lane, actor = np.argwhere(bad_c if bad_c.any() else bad_s)[0]
        raise ValueError(f"bdm: actor {inputs.actors[actor]!r}, issue "
                         f"{inputs.issues[lane % i]!r}: {what} must be "
                         f"{'>= 0' if what == 'capability' else 'in [0, 1]'}")
    with np.errstate(all="ignore"):
        hi = np.where(pres, pos, -np.inf).max(axis=1)
        lo = np.where(pres, pos, np.inf).min(axis=1)
    spread = np.where(pres.any(axis=1), hi - lo, 0.0)
    if cfg.scale_range is not None:
        rg = np.full(d * i, float(cfg.scale_range))
        short = spread > rg * (1 + 1e-12)
        if short.any():
            lane = int(np.argmax(short))
            raise ValueError(f"bdm: scale_range={cfg.scale_range:g} is narrower than the "
                             f"initial positions on issue {inputs.issues[lane % i]!r} "
                             f"(spread {spread[lane]:g}); utilities are undefined there")
    elif cfg.range_rule == "issue":
        width = np.tile(np.asarray(inputs.high, float) - np.asarray(inputs.low, float), d)
        rg = np.where(np.isfinite(width) & (width >= spread) & (width > 0), width, spread)
    else:
        rg = spread
    rg = np.where(rg > 0, rg, 1.0)  # all at one position: distances are 0 anyway
    fill = np.where(pres.any(axis=1), lo, 0.0)
    x = np.where(pres, pos, fill[:, None])
    return x, cap, np.where(pres, sal, 0.0), pres, rg


_REASONS = ("max_rounds", "converged", "cycle", "tolerance", "degenerate")


def _simulate(x0, c, s, pres, rg, cfg: Config, rounds: int, keep: np.ndarray):
    """Run all lanes; returns trajectories and per-lane stop data. ``keep``: lanes to record."""
    L, a = x0.shape
    X = np.empty((L, rounds + 1, a))
    X[:, 0] = x0
    RISK = np.full((L, rounds + 1, a), np.nan)
    reason = np.zeros(L, int)            # index into _REASONS
    last = np.full(L, rounds)            # last computed round
    period = np.ones(L, int)
    exact = np.ones(L, bool)             # fill continues the model exactly (cycle / fixed pt)
    active = np.arange(L)
    w = c * s
    fc_prev = weighted_median(x0, w, pres) if cfg.tolerance > 0 else None
    recs: dict[int, dict[int, tuple]] = {int(k): {} for k in keep}
    step = _round_step(cfg)
    for t in range(1, rounds + 1):
        if active.size == 0:
            break
        full = active.size == L
        if full:
            xa = X[:, t - 1]
            rd = step(xa, c, s, pres, rg, cfg)
        else:
            xa = X[active, t - 1]
            rd = step(xa, c[active], s[active], pres[active], rg[active], cfg)
        stop_deg = rd.degenerate if cfg.degenerate == "stop" else np.zeros(active.size, bool)
        new = np.where(stop_deg[:, None], xa, rd.new_x)
        X[active, t] = new
        RISK[active, t] = np.where(pres[active], rd.r, np.nan)
        for n in np.flatnonzero(np.isin(active, keep)):  # draw 0's lanes only
            recs[int(active[n])][t] = (rd.kind[n], rd.toward[n], rd.new_x[n], rd.A[n],
                                       rd.B[n], rd.r[n])
        done = np.zeros(active.size, bool)
        if stop_deg.any():
            lanes = active[stop_deg]
            reason[lanes], last[lanes], period[lanes], exact[lanes] = 4, t - 1, 1, False
            done |= stop_deg
        # exact fixed points and cycles: the round depends only on the positions
        maxp = max(1, min(cfg.max_period, t)) if cfg.max_period > 0 else 1
        for p in range(1, maxp + 1):
            before = X[:, t - p] if full else X[active, t - p]
            hit = ~done & (new == before).all(axis=1)
            if hit.any():
                lanes = active[hit]
                reason[lanes] = 1 if p == 1 else 2
                last[lanes], period[lanes] = t, p
                done |= hit
        if cfg.tolerance > 0:
            fc = weighted_median(new, w[active], pres[active])
            hit = ~done & (np.abs(fc - fc_prev) <= cfg.tolerance)
            if hit.any():
                lanes = active[hit]
                reason[lanes], last[lanes], period[lanes], exact[lanes] = 3, t, 1, False
                done |= hit
            fc_prev = fc[~done]
        active = active[~done]
    # fill the rounds after each lane stopped: the cycle continued (or the state repeated)
    u = np.arange(rounds + 1)[None, :]
    tl, pl = last[:, None], period[:, None]
    src = np.where(u <= tl, u, tl - pl + (u - tl - 1) % pl + 1)
    X = np.take_along_axis(X, src[:, :, None], axis=1)
    RISK = np.take_along_axis(RISK, src[:, :, None], axis=1)
    return X, RISK, reason, last, period, exact, src, recs


def _run(inputs: Inputs, *, rounds: int, rng: np.random.Generator | None = None,
         **params: Any) -> Outcome:
    """``spec.run``: every draw and issue in one batched computation."""
    cfg = _config(params)
    d, a, n_i = inputs.shape
    rounds = int(rounds)
    if rounds < 0:
        raise ValueError(f"bdm: rounds must be >= 0, got {rounds}")
    x0, c, s, pres, rg = _lanes(inputs, cfg)
    L = d * n_i
    keep = np.arange(min(n_i, L))  # draw 0's lanes
    # memory-bounded blocks of lanes (a block is many draws, never one by one)
    block = max(1, int(65536 // max(1, a * a)))
    def job(b0):
        sl = slice(b0, min(L, b0 + block))
        kb = keep[(keep >= sl.start) & (keep < sl.stop)] - sl.start
        return _simulate(x0[sl], c[sl], s[sl], pres[sl], rg[sl], cfg, rounds, kb)

    starts = range(0, max(L, 1), block)
    # blocks are independent, so threads (numpy releases the GIL) give identical bytes
    parts = map_ordered(job, starts, min(4, cores()))
    X = np.concatenate([p[0] for p in parts])
    RISK = np.concatenate([p[1] for p in parts])
    reason = np.concatenate([p[2] for p in parts])
    last = np.concatenate([p[3] for p in parts])
    period = np.concatenate([p[4] for p in parts])
    exact = np.concatenate([p[5] for p in parts])
    src = np.concatenate([p[6] for p in parts])
    recs = parts[0][7]

    X = np.where(pres[:, None, :], X, np.nan)
    w = (c * s)[:, None, :]
    fc = weighted_median(X, w, pres[:, None, :])
    # an issue on which no actor takes a stance keeps its status quo (NaN if none is given)
    fc = np.where(np.isnan(fc), np.tile(np.asarray(inputs.status_quo, float), d)[:, None], fc)
    wm = weighted_mean(X, w, pres[:, None, :])
    # the forecast interval: the range of the forecast over a detected cycle
    cyc = (reason == 2)[:, None]
    start = (last - period)[:, None]
    in_cycle = cyc & (np.arange(rounds + 1)[None, :] > start)
    lo = np.where(in_cycle, fc, np.inf).min(axis=1)
    hi = np.where(in_cycle, fc, -np.inf).max(axis=1)
    f_lo = np.where(in_cycle, lo[:, None], fc)
    f_hi = np.where(in_cycle, hi[:, None], fc)

    def per_draw(arr, tail=()):  # lanes [L, r+1, *tail] -> [d, r+1, ..., i]
        arr = arr.reshape((d, n_i, rounds + 1) + tail)
        return np.moveaxis(arr, 1, -1)

    positions = per_draw(X, (a,))
    forecast = per_draw(fc)
    lane_reason = reason.reshape(d, n_i)
    # a draw stops when its last issue stops; the most open reason wins
    rank = np.array([5, 1, 2, 3, 4])  # max_rounds > degenerate > tolerance > cycle > converged
    worst = np.take_along_axis(lane_reason, rank[lane_reason].argmax(axis=1)[:, None], 1)[:, 0]
    stop_reason = np.array([_REASONS[k] for k in worst], dtype=object)
    # an exact cycle's (or fixed point's) continuation is the model's own trajectory, so those
    # rounds count as run; a tolerance or degenerate stop freezes the state instead
    ran = np.where(exact, rounds, last)
    rounds_run = ran.reshape(d, n_i).max(axis=1)

    records = _records(inputs, recs, keep, src, exact, X, fc, wm, rounds) if L else None
    summary = {}
    if L:
        summary = {
            "forecast_interval": {inputs.issues[k]: [_f(f_lo[k, -1]), _f(f_hi[k, -1])]
                                  for k in range(n_i)},
            "stop_reasons": {inputs.issues[k]: _REASONS[reason[k]] for k in range(n_i)},
            "cycle_period": {inputs.issues[k]: int(period[k]) if reason[k] == 2 else None
                             for k in range(n_i)},
            "stopped_at_round": {inputs.issues[k]: int(last[k]) for k in range(n_i)},
            "scale_range": {inputs.issues[k]: float(rg[k]) for k in range(n_i)},
        }
    extra = {"weighted_mean": per_draw(wm), "forecast_low": per_draw(f_lo),
             "forecast_high": per_draw(f_hi), "risk_exponents": per_draw(RISK, (a,))}
    return Outcome(positions=positions, forecast=forecast, stop_reason=stop_reason,
                   rounds_run=rounds_run, round_records=records, extra=extra, summary=summary)


def _f(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def _records(inputs, recs, keep, src, exact, X, fc, wm, rounds):
    """JSON-ready round entries for draw 0: risk exponents, weighted mean, moves."""
    actors, issues = inputs.actors, inputs.issues
    out = []
    for t in range(rounds + 1):
        risk: dict[str, dict[str, float]] = {}
        moves = []
        for k in keep:
            k = int(k)
            if t == 0:
                continue
            st = int(src[k, t])
            if st != t and not exact[k]:
                continue  # a frozen lane (tolerance / degenerate stop) moves nobody
            rec = recs[k].get(st)
            if rec is None:
                continue
            kind, toward, new_x, A, B, r = rec
            for n in np.flatnonzero(~np.isnan(X[k, 0])):
                risk.setdefault(actors[n], {})[issues[k]] = float(r[n])
            for n in np.flatnonzero(kind != _NONE):
                j = int(toward[n])
                moves.append({"actor": actors[n], "issue": issues[k], "kind": KINDS[kind[n]],
                              "toward": actors[j], "new_position": float(new_x[n]),
                              "eu_i": float(A[n, j]), "eu_j": float(B[n, j])})
        out.append({"weighted_mean": {issues[k]: _f(wm[k, t]) for k in keep},
                    "risk_exponents": risk if t else None,
                    "moves": moves})
    return out


# ---------------------------------------------------------------------------------------------
# one round's internals and BDM's quadrant chart


def internals(inputs: Inputs, *, preset: str = "scholz_code",
              params: Mapping[str, Any] | None = None, round: int = 0, draw: int = 0,
              issue: int | str = 0) -> dict[str, np.ndarray]:
    """The computations of the round that starts from the positions after ``round``.

    Returns P (r = 1 and second pass), EU1, danger levels S, R, r, A = E^i(U_ij), B (j's
    challenge of i as i weighs it), and the chosen moves, for one draw and issue.
    """
    spec = SPECS[0]
    cfg = _config(spec.resolve(preset, params))
    k = inputs.issues.index(issue) if isinstance(issue, str) else int(issue)
    one = inputs.draw(draw).subset_issues([k])
    x0, c, s, pres, rg = _lanes(one, cfg)
    if round > 0:
        X = _simulate(x0, c, s, pres, rg, cfg, round, np.array([], int))[0]
        x0 = X[:, round]
    rd = _step(x0, c, s, pres, rg, cfg)
    out = {name: getattr(rd, name)[0] for name in
           ("P1", "EU1", "S", "R", "r", "P2", "A", "B", "kind", "toward", "new_x")}
    out.update(x=x0[0], present=pres[0], scale_range=float(rg[0]),
               degenerate=bool(rd.degenerate[0]))
    return out


def _region(a: float, b: float) -> str:
    if a > 0 and b > 0:
        return "conflict_lose" if b > a else "conflict_win"
    if a < 0 < b:
        return "compromise" if abs(a) < b else "capitulation"
    if b < 0 < a:
        return "compromise_other" if abs(b) < a else "capitulation_other"
    if a < 0 and b < 0:
        return "status_quo"
    return "none"


def quadrant(inputs: Inputs, actor: str | int, round: int = 0, *,
             preset: str = "scholz_code", params: Mapping[str, Any] | None = None,
             draw: int = 0, issue: int | str = 0):
    """One actor's expected-utility picture of every other actor (BDM 1994's quadrant chart).

    ``eu_self`` (x-axis): the focal actor's E(U) of challenging the other; ``eu_other``
    (y-axis): the other's E(U) of challenging it, as the focal actor weighs it under the
    preset's perspective rule (A5). ``region`` names the octant from the focal actor's side.
    """
    import pandas as pd

    i = inputs.actors.index(actor) if isinstance(actor, str) else int(actor)
    inn = internals(inputs, preset=preset, params=params, round=round, draw=draw, issue=issue)
    rows = []
    for j, name in enumerate(inputs.actors):
        if j == i or not inn["present"][j] or not inn["present"][i]:
            continue
        a, b = float(inn["A"][i, j]), float(inn["B"][i, j])
        rows.append({"actor": name, "position": float(inn["x"][j]), "eu_self": a,
                     "eu_other": b, "region": _region(a, b)})
    frame = pd.DataFrame(rows, columns=["actor", "position", "eu_self", "eu_other", "region"])
    frame = frame.set_index("actor")
    frame.attrs.update(focus=inputs.actors[i], round=round, preset=preset)
    return frame


def quadrant_figure(inputs: Inputs, actor: str | int, round: int = 0, *,
                    preset: str = "scholz_code", params: Mapping[str, Any] | None = None,
                    draw: int = 0, issue: int | str = 0, ax=None):
    """The quadrant chart as a matplotlib Figure (axes through the origin, actors labelled)."""
    from matplotlib.figure import Figure

    frame = quadrant(inputs, actor, round, preset=preset, params=params, draw=draw,
                     issue=issue)
    if ax is None:
        fig = Figure(figsize=(6, 6))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    lim = max(0.5, float(np.abs(frame[["eu_self", "eu_other"]].to_numpy()).max(initial=0)) * 1.15)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    ax.scatter(frame["eu_self"], frame["eu_other"], s=18)
    for name, row in frame.iterrows():
        ax.annotate(str(name), (row["eu_self"], row["eu_other"]), fontsize=8,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    focus = frame.attrs["focus"]
    ax.set_xlabel(f"{focus}'s expected utility of challenging")
    ax.set_ylabel(f"the other's expected utility of challenging {focus}")
    ax.set_title(f"{focus}: expected-utility quadrants (round {round}, {preset})")
    return fig


def _max_size(draws: int, actors: int, issues: int) -> str | None:
    """Refuse up front what would run for hours: a round costs ~2e-7 s per lane × a² (lanes =
    draws × issues; measured: 10³ draws at n = 100, 10 rounds, in ~13 CPU-s)."""
    seconds = 2e-7 * draws * issues * actors * actors * 10
    if actors > 3000 or seconds > 3600:
        return (f"bdm: {draws} draws × {actors} actors × {issues} issues would take about "
                f"{seconds / 60:.0f} CPU-minutes for 10 rounds and "
                f"{8 * 12 * actors * actors / 2**30:.2f} GiB per lane (limits: 3000 actors, "
                "an hour); reduce the draws or the actors")
    return None


SPECS = (ModelSpec(
    name="bdm",
    title="Expected utility (Bueno de Mesquita, as reconstructed by Scholz et al. 2011)",
    citation=("Scholz, Calbert & Smith (2011), Unravelling Bueno De Mesquita's group decision "
              "model, Journal of Theoretical Politics 23(4):510-531; Bueno de Mesquita (1994) "
              "in Bueno de Mesquita & Stokman (eds.), European Community Decision Making"),
    run=_run,
    params=PARAMS,
    presets=PRESETS,
    default_preset="scholz_code",
    dynamic=True,
    default_rounds=10,
    stochastic=False,
    doc=__doc__ or "",
    max_size=_max_size,
),)
