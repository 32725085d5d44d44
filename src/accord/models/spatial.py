"""KTAB's Spatial Model of Politics (SMP): multi-dimensional bargaining turn by turn.

Each turn every actor estimates, with probabilistic Condorcet elections (PCE), which rival it
gains most by challenging, proposes a compromise to it, and every actor then adopts the
bargain that wins a PCE among the proposals in its own queue. Risk attitudes are re-derived
every turn from each position's chance of prevailing.

Method: B. P. Wise et al., "An Introduction to KTAB" and "Multidimensional Bargaining using
KTAB", KAPSARC discussion papers (2015-2016); Wise & Bankes (2015), "Non-spatial Probabilistic
Condorcet Election Methodology"; reference implementation KAPSARC/KTAB ``examples/smp``
(MIT licence). This is an independent array reimplementation: every all-pairs step
(coalitions, victory probabilities, challenge evaluation, queue elections) is one array
operation over ``[draw, actor, actor(, actor)]``, so the O(N^4) per turn of the C++
original becomes O(N^3) vectorised work.

KTAB works on [0, 1]; positions are rescaled from each issue's own scale and back. An actor
without a stance on an issue is given salience 0 there (it neither pulls nor is pulled in
that dimension) and the issue's status quo (or midpoint) as a placeholder position; its
output position is NaN. KTAB requires each actor's saliences to sum to at most 1 (they are
shares of one attention budget); ``SalienceSum=Rescale`` divides a larger sum down to 1 and
reports the actors in the summary, ``Reject`` refuses.

The forecast of an issue at each turn is the position most likely to prevail (KTAB's
per-state PCE over distinct positions); ``extra`` holds every actor's probability, risk
attitude, target and the partner whose bargain it adopted, per draw and turn.

Example (four actors, two issues on 0-100):

>>> from accord.models import Inputs, run
>>> inp = Inputs.from_arrays([100, 60, 40, 30],
...                          [[20, 80], [60, 40], [90, 10], [50, 70]],
...                          [[0.5, 0.3], [0.4, 0.4], [0.6, 0.2], [0.3, 0.5]],
...                          low=[0, 0], high=[100, 100], actors=["us", "eu", "cn", "in"])
>>> out, params = run("smp", inp, preset="ktab")
>>> str(out.stop_reason[0]), int(out.rounds_run[0])
('converged', 10)
>>> out.final[0].round(2).tolist()
[45.63, 53.91]
>>> out.extra["probability"][0, -1].round(3).tolist()
[0.673, 0.246, 0.08, 0.246]
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
from numba import njit

from .base import Inputs, ModelSpec, Outcome, Param

# ---- fixed constants of KTAB's SMP (README §4 of the reference data) ----------------------
_MIN_COALITION = 1e-8      # seed of every coalition in a PCE
_MIN_CHALLENGE = 1e-10     # seed of the principals' coalitions in a challenge
_MIN_GAIN = 1e-5           # a challenge must be worth more than this
_MIN_W = 1e-6              # S2P2/S1P1 tie-breaker weight toward the initiator
_POS_TOL = 1e-3            # positions closer than this (on [0, 1]) are the same position
_STOP_RATIO = 0.02
_STOP_OFFSET = 1e-4
_MIN_TURNS = 2
_DETERMINISTIC_BLOCK = 200  # draws per block when no random transition is drawn
_CHUNK_ELEMENTS = 2.5e6    # draws run in blocks of about this many [i, j, n] cells

VICTORY = ("Linear", "Square", "Quartic", "Octic", "Binary")
PCE = ("Conditional", "MarkovIncentive", "MarkovUniform")
TRANSITIONS = ("Deterministic", "Stochastic")
VOTING = ("Binary", "PropBin", "Prop", "PropCbc", "Cubic", "ASymProsp")
RADJUST = ("None", "OneThird", "Half", "TwoThirds", "Full")
RRANGE = ("Min", "Mid", "Max")
COMMIT = ("NoCommit", "SemiCommit", "FullCommit")
INTERP = ("S1P1", "S2P2", "S2PMax")
BARGAIN = ("InitOnlyInterp", "InitRcvrInterp", "PWCompInterp")


# ---- scalar pieces, vectorised ------------------------------------------------------------

def _vote(rule: str, w, du):
    """Vote of weight w on a utility difference (KTAB ``Model::vote``)."""
    if rule == "Prop":
        return w * du
    binary = np.clip(du / 1e-8, -1.0, 1.0)
    if rule == "Binary":
        return w * binary
    if rule == "PropBin":
        return w * ((1 - 0.2) * du + 0.2 * binary)
    cubic = du * du * du
    if rule == "Cubic":
        return w * cubic
    if rule == "PropCbc":
        return w * ((1 - 0.5) * du + 0.5 * cubic)
    if rule == "ASymProsp":
        return np.where(du < 0, w * du, np.where(du > 0, (2.0 * w * du) / 3.0, 0.0))
    raise ValueError(f"VotingRule: unknown {rule!r}")


def _victory(model: str, c1, c2):
    """P(1 beats 2) from coalition strengths (KTAB ``Model::vProb``)."""
    if model == "Linear":
        x1, x2 = c1, c2
    elif model == "Square":
        x1, x2 = c1 * c1, c2 * c2
    elif model == "Quartic":
        x1, x2 = (c1 * c1) ** 2, (c2 * c2) ** 2
    elif model == "Octic":
        x1, x2 = ((c1 * c1) ** 2) ** 2, ((c2 * c2) ** 2) ** 2
    elif model == "Binary":
        t = 1.10
        r12 = c1 / (c1 + c2)
        mid = (r12 * (t + 1.0) - 1.0) / (t - 1.0)
        x1 = np.where(c1 >= t * c2, 1.0, np.where(c2 >= t * c1, 1e-6, mid))
        x2 = np.where(c1 >= t * c2, 1e-6, np.where(c2 >= t * c1, 1.0, 1 - mid))
    else:
        raise ValueError(f"VictoryProbModel: unknown {model!r}")
    return x1 / (x1 + x2)


def _utility(d, r):
    """Utility at salience-weighted distance d with risk attitude r: (1-d)(1+dR).

    d > 1 only from round-off (positions stay in the unit cube); KTAB then uses (1-d)(1+R).
    """
    u = np.multiply(d, r)
    u += 1
    u *= 1 - d
    far = d > 1
    if np.any(far):
        u = np.where(far, (1 - d) * (1 + r), u)
    return u


def _distance(ref, pos, sal):
    """``[B, i, j]`` distance from actor i's reference point to position j, in i's saliences.

    sqrt(sum_k (s_ik (ref_ik - pos_jk))^2 / sum_k s_ik^2); 0 for an actor with no salience.
    """
    ds = np.subtract(ref[:, :, None, :], pos[:, None, :, :])
    ds *= sal[:, :, None, :]
    ds *= ds
    num = np.sum(ds, axis=-1)
    den = np.sum(sal * sal, axis=-1)[:, :, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.sqrt(num / den)
    return np.where(den > 0, d, 0.0)


def _estimate_risk(rh, ri, rule: str):
    """h's estimate of i's risk attitude (KTAB ``Model::estNRA``)."""
    if rule == "Full":
        return np.broadcast_to(ri, np.broadcast_shapes(np.shape(rh), np.shape(ri)))
    if rule == "TwoThirds":
        return (rh + (2.0 * ri)) / 3.0
    if rule == "Half":
        return (rh + ri) / 2
    if rule == "OneThird":
        return ((2.0 * rh) + ri) / 3.0
    if rule == "None":
        return np.broadcast_to(rh, np.broadcast_shapes(np.shape(rh), np.shape(ri)))
    raise ValueError(f"BigRAdjust: unknown {rule!r}")


def _risk_from_prob(p, member, rule: str):
    """Map each option's probability linearly to a risk attitude (KTAB ``bigRfromProb``).

    All-equal probabilities would divide by zero in KTAB; here everyone is then risk-neutral.
    """
    pmin = np.min(np.where(member, p, np.inf), axis=-1, keepdims=True)
    pmax = np.max(np.where(member, p, -np.inf), axis=-1, keepdims=True)
    span = pmax - pmin
    safe = np.where(span > 0, span, 1.0)
    if rule == "Min":
        r = (p - pmin) / safe
    elif rule == "Mid":
        r = (3 * p - (pmax + 2 * pmin)) / (2 * safe)
    elif rule == "Max":
        r = (2 * p - (pmax + pmin)) / safe
    else:
        raise ValueError(f"BigRRange: unknown {rule!r}")
    return np.where(span > 0, r, 0.0)


# ---- probabilistic Condorcet elections ------------------------------------------------------

def _coalitions(util, weight, rule: str):
    """``[B, o, o]`` coalition strengths C(a over b) from voters' utilities ``[B, v, o]``.

    KTAB tallies each unordered pair once from the lower triangle (a > b): positive votes
    go to a, negative ones to b. That matters only for the asymmetric voting rule.
    """
    du = util[:, :, :, None] - util[:, :, None, :]            # [B, v, a, b]
    if rule == "Prop":
        du *= weight[:, :, None, None]
        votes = du
    else:
        votes = _vote(rule, weight[:, :, None, None], du)
    if rule == "ASymProsp":
        pos = np.maximum(votes, 0.0).sum(axis=1)
        neg = np.maximum(-votes, 0.0).sum(axis=1)
        n = util.shape[-1]
        lower = np.tril(np.ones((n, n), bool), -1)
        strength = np.where(lower, pos, np.swapaxes(neg, 1, 2))
    else:
        strength = np.maximum(votes, 0.0, out=votes).sum(axis=1)
    strength = _MIN_COALITION + strength
    idx = np.arange(util.shape[-1])
    strength[:, idx, idx] = _MIN_COALITION
    return strength


def _victory_matrix(strength, model: str):
    """``[B, o, o]`` P(a beats b), computed once per unordered pair as KTAB does."""
    n = strength.shape[-1]
    low = _victory(model, strength, np.swapaxes(strength, 1, 2))
    lower = np.tril(np.ones((n, n), bool), -1)
    p = np.where(lower, low, np.swapaxes(_complement(model, strength), 1, 2))
    idx = np.arange(n)
    p[:, idx, idx] = 0.5
    return p


def _complement(model: str, strength):
    """For a > b: P(b beats a) as KTAB computes it, x2 / (x1 + x2), (x1, x2) from (C_ab, C_ba)."""
    c1, c2 = strength, np.swapaxes(strength, 1, 2)
    if model == "Binary":
        t = 1.10
        r12 = c1 / (c1 + c2)
        mid = (r12 * (t + 1.0) - 1.0) / (t - 1.0)
        x1 = np.where(c1 >= t * c2, 1.0, np.where(c2 >= t * c1, 1e-6, mid))
        x2 = np.where(c1 >= t * c2, 1e-6, np.where(c2 >= t * c1, 1.0, 1 - mid))
        return x2 / (x1 + x2)
    pw = {"Linear": 1, "Square": 2, "Quartic": 4, "Octic": 8}[model]
    x1, x2 = c1, c2
    for _ in range({1: 0, 2: 1, 4: 2, 8: 3}[pw]):
        x1, x2 = x1 * x1, x2 * x2
    return x2 / (x1 + x2)


def _pce(strength, member, pce: str, vpm: str):
    """Per-queue PCE: ``member [B, q, o]`` selects each queue's options; returns ``[B, q, o]``.

    Coalitions between two options do not depend on the other options, so one strength
    matrix per draw serves every queue.
    """
    victory = _victory_matrix(strength, vpm)                   # [B, o, o]
    mem = member.astype(bool)
    if pce == "Conditional":
        terms = np.where(mem[:, :, None, :], victory[:, None, :, :], 1.0)   # [B, q, o, o']
        raw = np.prod(terms, axis=-1)
        raw = np.where(mem, raw, 0.0)
        total = raw.sum(axis=-1, keepdims=True)
        bad = ~(total > 0)
        if np.any(bad):  # underflow of a long product: redo those queues in logs
            with np.errstate(divide="ignore"):
                logs = np.where(mem[:, :, None, :], np.log(victory)[:, None, :, :], 0.0).sum(-1)
            logs = np.where(mem, logs, -np.inf)
            alt = np.exp(logs - logs.max(axis=-1, keepdims=True))
            alt = np.where(mem, alt, 0.0)
            raw = np.where(bad, alt, raw)
            total = raw.sum(axis=-1, keepdims=True)
        return raw / total
    m = mem.sum(axis=-1, keepdims=True).astype(float)          # [B, q, 1]
    p = np.where(mem, 1.0 / m, 0.0)
    vic = np.where(mem[:, :, None, :] & mem[:, :, :, None], victory[:, None], 0.0)
    if pce == "MarkovUniform":
        tol = 1e-6
        active = np.ones(mem.shape[:2], bool)
        for _ in range(1000):
            q = (np.einsum("bqij,bqi->bqi", vic, p) + np.einsum("bqij,bqj->bqi", vic, p)) / m
            change = np.max(np.abs(q - p), axis=-1)
            p = np.where(active[..., None], (p + q) / 2.0, p)
            active &= change > tol
            if not active.any():
                break
        return p
    if pce == "MarkovIncentive":
        tol = 1e-8
        strength_q = np.where(mem[:, :, None, :] & mem[:, :, :, None], strength[:, None], 0.0)
        inc = strength_q * vic
        o = strength.shape[-1]
        idx = np.arange(o)
        inc[:, :, idx, idx] += np.where(mem, 1e-10, 0.0)
        col = inc.sum(axis=2, keepdims=True)
        chlg = np.divide(inc, col, out=np.zeros_like(inc), where=col > 0)    # P[i -> j]
        active = np.ones(mem.shape[:2], bool)
        for _ in range(1000):
            ct = p[..., :, None] * np.swapaxes(chlg, 2, 3)               # ct[i,j] = p_i chlg[j,i]
            q = np.sum(vic * (ct + np.swapaxes(ct, 2, 3)), axis=-1)
            change = np.max(np.abs(q - p), axis=-1)
            p = np.where(active[..., None], (p + q) / 2.0, p)
            active &= change > tol
            if not active.any():
                break
        return p
    raise ValueError(f"PCEModel: unknown {pce!r}")


def _choose(prob, member, rank, stochastic: bool, rng: np.random.Generator):
    """Winning option per queue: arg-max (ties to the lowest rank) or a draw by probability."""
    if stochastic:
        order = np.argsort(np.where(member, rank, np.iinfo(np.int64).max), axis=-1, kind="stable")
        p_sorted = np.take_along_axis(prob, order, axis=-1)
        cum = np.cumsum(p_sorted, axis=-1)
        u = rng.random(prob.shape[:-1])[..., None] * cum[..., -1:]
        k = np.minimum((cum <= u).sum(axis=-1), prob.shape[-1] - 1)
        return np.take_along_axis(order, k[..., None], axis=-1)[..., 0]
    masked = np.where(member, prob, -np.inf)
    best = masked.max(axis=-1, keepdims=True)
    tied = member & (masked == best)
    return np.argmin(np.where(tied, rank, np.iinfo(np.int64).max), axis=-1)


# ---- unique positions (sequential by nature: greedy, order-dependent) ---------------------

@njit(cache=True, nogil=True, _nrt=False)
def _close(pos, i, j, tol):  # pragma: no cover - compiled
    """Whether positions i and j are closer than ``tol`` (Euclidean)."""
    s = 0.0
    for k in range(pos.shape[1]):
        dx = pos[i, k] - pos[j, k]
        s += dx * dx
    return np.sqrt(s) < tol


@njit(cache=True, nogil=True, _nrt=False)
def _unique_one(pos, tol, rep, owner, reps):  # pragma: no cover - compiled
    """One draw's greedy representatives (lowest index) into ``rep``, and each actor's last
    matching representative into ``owner`` (``reps``: scratch)."""
    na = pos.shape[0]
    nr = 0
    for i in range(na):
        rep[i] = False
        new = True
        for r in range(nr):
            if _close(pos, i, reps[r], tol):
                new = False
                break
        if new:
            reps[nr] = i
            nr += 1
            rep[i] = True
    for i in range(na):
        owner[i] = 0
        for r in range(nr):
            if _close(pos, i, reps[r], tol):
                owner[i] = reps[r]


@njit(cache=True, nogil=True)
def _unique_positions(pos, tol):  # pragma: no cover - compiled
    """Greedy representatives (lowest index) and each actor's last matching representative."""
    nb, na, nk = pos.shape
    rep = np.zeros((nb, na), np.bool_)
    owner = np.zeros((nb, na), np.int64)
    reps = np.empty(na, np.int64)
    for b in range(nb):
        _unique_one(pos[b], tol, rep[b], owner[b], reps)
    return rep, owner


# ---- one turn ------------------------------------------------------------------------------

class _State:
    """Utilities of one state for a batch of draws (KTAB ``setAllAUtil``)."""

    def __init__(self, x, ideal, sal, cap, prm):
        self.x, self.ideal = x, ideal
        bsz, n, _ = x.shape
        self.dist = _distance(ideal, x, sal)                         # [B, i, j]
        neutral = _utility(self.dist, 0.0)
        strength = _coalitions(neutral, cap, prm["VotingRule"])
        everyone = np.ones((bsz, 1, n), bool)
        p = _pce(strength, everyone, prm["PCEModel"], prm["VictoryProbModel"])[:, 0]
        self.risk = _risk_from_prob(p, everyone[:, 0], prm["BigRRange"])   # [B, n]
        self.r_hi = _estimate_risk(self.risk[:, :, None], self.risk[:, None, :],
                                   prm["BigRAdjust"])                 # [B, h, i]
        idx = np.arange(n)
        # own[b, a, j] = U^a(a, j): a's own utility of j's position
        self.own = _utility(self.dist, self.r_hi[:, idx, idx][:, :, None])

    def u(self, b, h, i, j):
        """h's estimate of i's utility of j's position, for broadcast index arrays."""
        return _utility(self.dist[b, i, j], self.r_hi[b, h, i])

    def prevailing(self, cap, prm):
        """Probability that each actor's position prevails: a PCE over unique positions."""
        rep, owner = _unique_positions(np.ascontiguousarray(self.x), _POS_TOL)
        strength = _coalitions(self.own, cap, "Prop")
        p = _pce(strength, rep[:, None, :], prm["PCEModel"], prm["VictoryProbModel"])[:, 0]
        return np.take_along_axis(p, owner, axis=1), rep


class _CompiledState:
    """The same state computed by :mod:`accord.models.smp_kernel` (the ``ktab`` preset's
    rules), with the prevailing probabilities computed alongside."""

    def __init__(self, x, ideal, sal, cap, prm):
        from .smp_kernel import state

        self.x = x
        self._prob, self.risk, self.dist, self.r_hi, self.own = state(x, ideal, sal, cap, _POS_TOL)

    def prevailing(self, cap, prm):
        return self._prob, None


def _compiled_turn(st: _CompiledState, sal, tot_sal, cap, prm, rng):
    """:func:`_turn` by :mod:`accord.models.smp_kernel`."""
    from .smp_kernel import turn

    new, target, tprob, tgain, partner = turn(st.x, sal, tot_sal, cap, st.dist, st.r_hi,
                                              st.risk, st.own)
    return new, {"target": target, "target_prob": tprob, "target_gain": tgain,
                 "partner": partner}


def _steps(prm):
    """The state and turn that run ``prm``: compiled for the rules ``smp_kernel`` covers
    (unless ``ACCORD_SMP_ARRAYS=1``), the array path otherwise. Both give the same bytes."""
    if os.environ.get("ACCORD_SMP_ARRAYS", "") != "1":
        from .smp_kernel import compiles

        if compiles(prm):
            return _CompiledState, _compiled_turn
    return _State, _turn


def _challenge(st: _State, h, i, j, k, tot_sal, cap, prm):
    """h's estimate of P(i beats j) and of k's expected utility gain if i challenges j.

    All index arrays are ``[B, P]``; third parties are evaluated for every pair at once.
    """
    u = st.u
    bsz, n = cap.shape
    b = np.arange(bsz)[:, None]
    rule = prm["VotingRule"]
    w = tot_sal * cap                                                 # [B, n]
    uii, uij = u(b, h, i, i), u(b, h, i, j)
    uji, ujj = u(b, h, j, i), u(b, h, j, j)
    wi = np.take_along_axis(w, i, axis=1)
    wj = np.take_along_axis(w, j, axis=1)
    ci = _vote(rule, wi, uii - uij)
    cj = _vote(rule, wj, uji - ujj)
    ch_ij = (_MIN_CHALLENGE + np.maximum(ci, 0.0)) + np.maximum(cj, 0.0)
    ch_ji = (_MIN_CHALLENGE + np.maximum(-ci, 0.0)) + np.maximum(-cj, 0.0)
    # third parties n: [B, P, n]
    hb, bb = h[:, :, None], b[:, :, None]
    nn = np.arange(n)[None, None, :]
    u_ni = u(bb, hb, nn, i[:, :, None])
    u_nj = u(bb, hb, nn, j[:, :, None])
    u_nn = u(bb, hb, nn, nn)
    wn = w[:, None, :]
    v = _vote(rule, wn, u_ni - u_nj)
    c_in = ch_ij[..., None] + np.maximum(v, 0.0)
    c_jn = ch_ji[..., None] + np.maximum(-v, 0.0)
    p_in = c_in / (c_in + c_jn)
    p_jn = 1.0 - p_in
    commit = prm["ThirdPartyCommit"]
    if commit == "FullCommit":
        a_win, a_lose = (u_ni + u_ni) + u_ni, (u_nj + u_nj) + u_nj
        b_win, b_lose = (u_ni + u_ni) + u_ni, (u_nj + u_nj) + u_nj
    elif commit == "SemiCommit":
        a_win, a_lose = (u_ni + u_ni) + u_nn, (u_nj + u_nj) + u_nj
        b_win, b_lose = (u_ni + u_ni) + u_ni, (u_nj + u_nj) + u_nn
    elif commit == "NoCommit":
        a_win, a_lose = (u_ni + u_ni) + u_nn, (u_nj + u_nj) + u_nn
        b_win, b_lose = (u_ni + u_ni) + u_nn, (u_nj + u_nj) + u_nn
    else:
        raise ValueError(f"ThirdPartyCommit: unknown {commit!r}")
    join_i = p_in * a_win + p_jn * a_lose
    join_j = p_in * b_win + p_jn * b_lose
    vote_n = _vote(rule, wn, join_i - join_j)
    third = (nn != i[:, :, None]) & (nn != j[:, :, None])
    vote_n = np.where(third, vote_n, 0.0)
    ch_ij = ch_ij + np.maximum(vote_n, 0.0).sum(axis=-1)
    ch_ji = ch_ji + np.maximum(-vote_n, 0.0).sum(axis=-1)
    p_ij = ch_ij / (ch_ij + ch_ji)
    p_ji = ch_ji / (ch_ij + ch_ji)
    uki, ukj = u(b, h, k, i), u(b, h, k, j)
    eu_sq = uki + ukj
    eu_win = uki + uki
    eu_lose = ukj + ukj
    s_j = np.take_along_axis(tot_sal, j, axis=1)
    eu_chlg = (1 - s_j) * eu_win + s_j * (p_ij * eu_win + p_ji * eu_lose)
    return p_ij, eu_chlg - eu_sq


def _challenge_all(st: _State, tot_sal, cap, prm):
    """Every actor i's own estimate of P(i beats j) and of its gain from challenging j.

    The same arithmetic as :func:`_challenge` with h = k = i, on views of the utility
    tensor instead of gathers: ``[B, i, j, n]`` with n the third parties.
    """
    bsz, n = cap.shape
    idx = np.arange(n)
    rule = prm["VotingRule"]
    w = tot_sal * cap
    r_in = st.r_hi[:, :, None, :]                                     # [B, i, 1, n]
    # u_nj[b, i, j, n] = U^i(n, j), laid out with third parties last (contiguous)
    u_nj = _utility(np.swapaxes(st.dist, 1, 2)[:, None, :, :], r_in)
    u_ni = np.diagonal(u_nj, axis1=1, axis2=2)                        # [B, n, i] = U^i(n, i)
    u_ni = np.ascontiguousarray(np.swapaxes(u_ni, 1, 2))[:, :, None, :]   # [B, i, 1, n]
    u_nn = _utility(np.diagonal(st.dist, axis1=1, axis2=2)[:, None, None, :], r_in)
    u_ij = np.swapaxes(np.diagonal(u_nj, axis1=1, axis2=3), 1, 2)     # [B, i, j] = U^i(i, j)
    u_ii = np.diagonal(u_ij, axis1=1, axis2=2)[:, :, None]            # [B, i, 1]
    u_ji = u_ni[:, :, 0, :]                                           # U^i(j, i)
    u_jj = u_nn[:, :, 0, :]                                           # U^i(j, j)
    ci = _vote(rule, w[:, :, None], u_ii - u_ij)
    cj = _vote(rule, w[:, None, :], u_ji - u_jj)
    ch_ij = (_MIN_CHALLENGE + np.maximum(ci, 0.0)) + np.maximum(cj, 0.0)
    ch_ji = (_MIN_CHALLENGE + np.maximum(-ci, 0.0)) + np.maximum(-cj, 0.0)
    wn = w[:, None, None, :]
    commit = prm["ThirdPartyCommit"]
    if commit not in COMMIT:
        raise ValueError(f"ThirdPartyCommit: unknown {commit!r}")
    if commit == "SemiCommit":
        # Third party n joins i or j by comparing the sum of three utilities in its little
        # (i, j, n) contest: EU(join i) - EU(join j) = p_in (u_nn - u_ni) + p_jn (u_nj - u_nn)
        # under SemiCommit. Under NoCommit and FullCommit the two sides are identical,
        # so third parties abstain (as in KTAB, where their votes are exactly zero).
        # In place on three [B, i, j, n] buffers: this is the O(N^3) hot spot.
        buf_v = np.subtract(u_ni, u_nj)
        if rule == "Prop":
            buf_v *= wn
        else:
            buf_v = _vote(rule, wn, buf_v)                            # v_n
        buf_d = np.abs(buf_v)
        buf_d += (ch_ij + ch_ji)[..., None]                           # C_i + C_j + |v_n|
        np.maximum(buf_v, 0.0, out=buf_v)
        buf_v += ch_ij[..., None]                                     # C_i + [v_n]+
        p_in = np.divide(buf_v, buf_d, out=buf_v)
        lose = np.subtract(u_nj, u_nn, out=buf_d)                     # u_nj - u_nn
        diff = np.subtract(u_nn - u_ni, lose)
        diff *= p_in
        diff += lose
        if rule == "Prop":
            diff *= wn
            vote_n = diff
        else:
            vote_n = _vote(rule, wn, diff)
        vote_n[:, idx, :, idx] = 0.0          # n == i
        vote_n[:, :, idx, idx] = 0.0          # n == j
        ch_ij = ch_ij + np.maximum(vote_n, 0.0, out=buf_d).sum(axis=-1)
        ch_ji = ch_ji - np.minimum(vote_n, 0.0, out=vote_n).sum(axis=-1)
    p_ij = ch_ij / (ch_ij + ch_ji)
    p_ji = ch_ji / (ch_ij + ch_ji)
    eu_sq = u_ii + u_ij
    eu_win = u_ii + u_ii
    eu_lose = u_ij + u_ij
    s_j = tot_sal[:, None, :]
    eu_chlg = (1 - s_j) * eu_win + s_j * (p_ij * eu_win + p_ji * eu_lose)
    return p_ij, eu_chlg - eu_sq


def _round4(x):
    return np.trunc(0.5 + x * 10000.0) / 10000.0


def _interpolate(xi, si, pi, xj, sj, pj, how: str):
    """Compromise points offered to initiator and receiver, per dimension (``[..., K]``)."""
    if how in ("S1P1", "S2P2"):
        if how == "S2P2":
            wik = (si * si) * (pi * pi)
            wjk = (sj * sj) * (pj * pj)
        else:
            wik, wjk = si * pi, sj * pj
        den = (wik + _MIN_W) + wjk
        bi = _round4(((wik + _MIN_W) * xi + wjk * xj) / den)
        bj = _round4((wik * xi + (_MIN_W + wjk) * xj) / den)
        return bi, bj
    if how == "S2PMax":
        di = np.maximum(pj - pi, 0.0)
        dj = np.maximum(pi - pj, 0.0)
        si2, sj2 = si * si, sj * sj
        dik = (di * sj2) / (((di * sj2) + _MIN_W) + ((1 - di) * si2))
        djk = (dj * si2) / (((dj * si2) + _MIN_W) + ((1 - dj) * sj2))
        return xi + dik * (xj - xi), xj + djk * (xi - xj)
    raise ValueError(f"InterVecBrgn: unknown {how!r}")


def _turn(st: _State, sal, tot_sal, cap, prm, rng):
    """One Bargain-Compete-Negotiate step for a batch; returns new positions and a record."""
    x = st.x
    bsz, n, kd = x.shape
    b = np.arange(bsz)[:, None]
    p_all, gain = _challenge_all(st, tot_sal, cap, prm)
    idx = np.arange(n)
    gain[:, idx, idx] = -np.inf
    target = np.argmax(gain, axis=-1)                                # first j wins ties
    best = np.take_along_axis(gain, target[..., None], axis=-1)[..., 0]
    p_tgt = np.take_along_axis(p_all, target[..., None], axis=-1)[..., 0]
    active = best > _MIN_GAIN
    # bargains proposed by each initiator i to its target j
    ai = np.broadcast_to(idx, (bsz, n))
    xj = np.take_along_axis(x, target[..., None], axis=1)
    sj = np.take_along_axis(sal, target[..., None], axis=1)
    pi = p_tgt[..., None]
    b_i, b_j = _interpolate(x, sal, pi, xj, sj, 1 - pi, prm["InterVecBrgn"])
    mode = prm["BargnModel"]
    if mode != "InitOnlyInterp":
        tgt_safe = np.where(active, target, (ai + 1) % n)
        # KTAB (smpbcn.cpp) takes the second element of j's estimate for k = i, which is
        # i's expected gain, where its comment says "probability"; ReceiverView=Probability
        # uses j's estimate of P(i beats j) instead.
        p_rcv, gain_rcv = _challenge(st, tgt_safe, ai, tgt_safe, ai, tot_sal, cap, prm)
        if prm.get("ReceiverView", "KtabGain") == "KtabGain":
            p_rcv = gain_rcv
        pr = p_rcv[..., None]
        r_i, r_j = _interpolate(x, sal, pr, xj, sj, 1 - pr, prm["InterVecBrgn"])
        if mode == "InitRcvrInterp":
            init = np.repeat(ai, 2, axis=1)
            rcvr = np.repeat(target, 2, axis=1)
            valid = np.repeat(active, 2, axis=1)
            pts_i = np.stack([b_i, r_i], axis=2).reshape(bsz, 2 * n, kd)
            pts_j = np.stack([b_j, r_j], axis=2).reshape(bsz, 2 * n, kd)
        elif mode == "PWCompInterp":
            # KTAB weighs j's view by the initiator's capability times j's salience
            wi = (cap * tot_sal)[..., None]
            wj = (cap * np.take_along_axis(tot_sal, target, axis=1))[..., None]
            pts_i = (wi * b_i + wj * r_i) / (wi + wj)
            pts_j = (wi * b_j + wj * r_j) / (wi + wj)
            init, rcvr, valid = ai, target, active
        else:
            raise ValueError(f"BargnModel: unknown {mode!r}")
    else:
        init, rcvr, valid, pts_i, pts_j = ai, target, active, b_i, b_j
    nb = init.shape[1]
    # utility to every actor a of the state after each bargain: the mean over positions
    radj = st.risk[:, :, None]
    u_bi = _utility(_distance(x, pts_i, sal), radj)                 # [B, a, o]
    u_bj = _utility(_distance(x, pts_j, sal), radj)
    own = st.own
    base = own.sum(axis=-1)                                           # [B, a]
    u_old_i = np.take_along_axis(own, np.broadcast_to(init[:, None, :], (bsz, n, nb)), axis=2)
    u_old_j = np.take_along_axis(own, np.broadcast_to(rcvr[:, None, :], (bsz, n, nb)), axis=2)
    rest = base[..., None] - u_old_i - u_old_j
    value = np.concatenate([base[..., None], (u_bi + u_bj) + rest], axis=2) / n   # [B, a, 1+nb]
    strength = _coalitions(value, cap, prm["VotingRule"])
    # queue of actor k: status quo, own bargains, bargains aimed at k (by initiator)
    member = np.zeros((bsz, n, 1 + nb), bool)
    member[:, :, 0] = True
    owns = valid[:, None, :] & (init[:, None, :] == idx[None, :, None])
    gets = valid[:, None, :] & (rcvr[:, None, :] == idx[None, :, None]) & ~owns
    member[:, :, 1:] = owns | gets
    order = np.arange(1 + nb)[None, None, :]
    rank = np.where(order == 0, 0, np.where(np.concatenate(
        [np.zeros((bsz, n, 1), bool), owns], axis=2), order, order + 2 * nb + 2))
    prob = _pce(strength, member, prm["PCEModel"], prm["VictoryProbModel"])
    win = _choose(prob, member, rank, prm["StateTransitions"] == "Stochastic", rng)  # [B, k]
    o = np.clip(win - 1, 0, nb - 1)
    mine_init = np.take_along_axis(init, o, axis=1) == idx[None, :]
    new_i = np.take_along_axis(pts_i, o[..., None], axis=1)
    new_j = np.take_along_axis(pts_j, o[..., None], axis=1)
    new = np.where((win == 0)[..., None], x, np.where(mine_init[..., None], new_i, new_j))
    partner = np.where(win == 0, -1, np.where(mine_init, np.take_along_axis(rcvr, o, axis=1),
                                               np.take_along_axis(init, o, axis=1)))
    record = {"target": np.where(active, target, -1),
              "target_prob": np.where(active, p_tgt, np.nan),
              "target_gain": np.where(active, best, np.nan), "partner": partner}
    return new, record


# ---- driver --------------------------------------------------------------------------------

def _prepare(inputs: Inputs, salience_sum: str):
    width = np.where(inputs.high > inputs.low, inputs.high - inputs.low, 1.0)
    present = inputs.present
    fill = np.where(np.isfinite(inputs.status_quo), inputs.status_quo,
                    (inputs.low + inputs.high) / 2)
    pos = np.where(present, inputs.position, fill)
    x = (pos - inputs.low) / width
    sal = np.where(present, np.nan_to_num(inputs.salience), 0.0)
    if np.any(sal < 0) or np.any(inputs.capability < 0):
        raise ValueError("smp: capabilities and saliences must be >= 0")
    if np.any((x < -1e-12) | (x > 1 + 1e-12)):
        raise ValueError("smp: positions must lie within each issue's scale [low, high]")
    total = sal.sum(axis=-1)
    over = total > 1 + 1e-12
    rescaled: list[str] = []
    if np.any(over):
        if salience_sum == "Reject":
            a = sorted({inputs.actors[k] for k in np.nonzero(over)[1]})
            raise ValueError("smp: KTAB needs each actor's saliences to sum to at most 1; "
                             f"over 1: {', '.join(a)} (use --param SalienceSum=Rescale)")
        sal = np.where(over[..., None], sal / np.where(over, total, 1.0)[..., None], sal)
        rescaled = sorted({inputs.actors[k] for k in np.nonzero(over)[1]})
    return x, sal, np.asarray(inputs.capability, float), width, rescaled


def simulate(x0, sal, cap, *, rounds: int = 100, rng=None, ideal0=None, accommodation=None,
             **params) -> dict[str, Any]:
    """Run the SMP on ``[d, a, k]`` positions on [0, 1]; KTAB's own scale, for tests and benches.

    ``accommodation`` is KTAB's ideal-adjustment matrix A ``[a, a]`` (XML
    ``IdealAdjustment``): after each turn ``ideal <- A x_new + (1 - rowsum A) ideal``. The
    default, the identity, is KTAB's CSV path: an actor's ideal is its latest position.

    Returns trajectories ``positions [d, T+1, a, k]``, ``prob [d, T+1, a]``, ``risk``,
    ``target``, ``partner``, ``step_distance``, ``fractional_change``, ``rounds_run`` and
    ``stop_reason``. Draws that stop early repeat their last state.
    """
    prm = {p.name: p.default for p in PARAMS}
    prm.update(params)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    x = np.array(x0, float, order="C")     # C order: one compiled signature (smp_kernel)
    sal = np.broadcast_to(np.asarray(sal, float), x.shape).copy()
    cap = np.broadcast_to(np.asarray(cap, float), x.shape[:2]).copy()
    ideal = x.copy() if ideal0 is None else np.array(ideal0, float, order="C")
    tot_sal = sal.sum(axis=-1)
    d, n, kd = x.shape
    if accommodation is not None:
        acc = np.asarray(accommodation, float)
        if acc.shape != (n, n) or np.any(acc < 0) or np.any(acc.sum(axis=-1) > 1 + 1e-10):
            raise ValueError("smp: accommodation must be [actors, actors], >= 0, rows summing "
                             "to at most 1")
    t_max = max(int(rounds), 0)
    pos_h = np.empty((d, t_max + 1, n, kd))
    prob_h = np.full((d, t_max + 1, n), np.nan)
    risk_h = np.full((d, t_max + 1, n), np.nan)
    tgt_h = np.full((d, t_max + 1, n), -1, int)
    part_h = np.full((d, t_max + 1, n), -1, int)
    tprob_h = np.full((d, t_max + 1, n), np.nan)
    step_h = np.full((d, t_max + 1), np.nan)
    frac_h = np.full((d, t_max + 1), np.nan)
    rounds_run = np.zeros(d, int)
    reason = np.full(d, "max_rounds", dtype=object)
    pos_h[:, 0] = x
    alive = np.arange(d)
    d01 = np.zeros(d)
    t = 0
    clock = [time.perf_counter()]
    new_state, take_turn = _steps(prm)
    while True:
        st = new_state(x[alive], ideal[alive], sal[alive], cap[alive], prm)
        pr, _ = st.prevailing(cap[alive], prm)
        prob_h[alive, t] = pr
        risk_h[alive, t] = st.risk
        if t >= t_max or alive.size == 0:
            break
        new, rec = take_turn(st, sal[alive], tot_sal[alive], cap[alive], prm, rng)
        t += 1
        step = np.sqrt(((new - x[alive]) ** 2).sum(axis=-1)).sum(axis=-1)
        x[alive] = new
        if accommodation is None:
            ideal[alive] = new    # CSV path: accommodation = identity, ideal = new position
        else:
            lag = 1.0 - np.minimum(acc.sum(axis=-1), 1.0)
            ideal[alive] = np.einsum("ij,bjk->bik", acc, new) + lag[:, None] * ideal[alive]
        tgt_h[alive, t] = rec["target"]
        tprob_h[alive, t] = rec["target_prob"]
        part_h[alive, t] = rec["partner"]
        pos_h[alive, t] = new
        step_h[alive, t] = step
        if t == 1:
            d01[alive] = step + _STOP_OFFSET
        ratio = step / d01[alive]
        frac_h[alive, t] = ratio
        rounds_run[alive] = t
        stop = (t >= t_max) | ((t >= _MIN_TURNS) & (ratio < _STOP_RATIO))
        reason[alive[stop & (ratio < _STOP_RATIO) & (t >= _MIN_TURNS)]] = "converged"
        clock.append(time.perf_counter())
        if np.any(stop):
            done = alive[stop]
            st_done = new_state(x[done], ideal[done], sal[done], cap[done], prm)
            prob_h[done, t], _ = st_done.prevailing(cap[done], prm)
            risk_h[done, t] = st_done.risk
            alive = alive[~stop]
            if alive.size == 0:
                break
    # repeat the last state of draws that stopped early
    for name, arr in (("pos", pos_h), ("prob", prob_h), ("risk", risk_h)):
        last = np.take_along_axis(arr, rounds_run.reshape((d, 1) + (1,) * (arr.ndim - 2)), 1)
        later = np.arange(t_max + 1)[None, :] > rounds_run[:, None]
        later = later.reshape(later.shape + (1,) * (arr.ndim - 2))
        arr[...] = np.where(later, last, arr)
    return {"positions": pos_h[:, :t + 1], "prob": prob_h[:, :t + 1], "risk": risk_h[:, :t + 1],
            "target": tgt_h[:, :t + 1], "target_prob": tprob_h[:, :t + 1],
            "partner": part_h[:, :t + 1], "step_distance": step_h[:, :t + 1],
            "fractional_change": frac_h[:, :t + 1], "rounds_run": rounds_run,
            "stop_reason": reason, "turn_seconds": np.diff(clock)}


def _chunked(x, sal, cap, rounds, rng, prm, chunk: int) -> dict[str, Any]:
    """Run draws in blocks so that the ``[B, N, N, N]`` temporaries fit in memory.

    Blocks run on a thread per core (numpy releases the GIL in its loops); each block gets
    its own child generator, spawned in block order, so results do not depend on timing.
    """
    from .._threads import cores, map_ordered

    d = x.shape[0]
    workers = max(1, min(cores(), 8))
    if d > 1 and workers > 1:
        chunk = min(chunk, -(-d // workers))
    if prm.get("StateTransitions", "Deterministic") != "Stochastic":
        # no random draws: the block size cannot change a result, so keep blocks small
        # enough that two in flight stay within ~100 MB (the stochastic mode keeps its
        # blocks, and with them its random streams)
        chunk = min(chunk, _DETERMINISTIC_BLOCK)
    if d <= chunk:
        return simulate(x, sal, cap, rounds=rounds, rng=rng, **prm)
    starts = range(0, d, chunk)
    rngs = rng.spawn(len(starts))

    def block(k: int) -> dict[str, Any]:
        s = starts[k]
        return simulate(x[s:s + chunk], sal[s:s + chunk], cap[s:s + chunk], rounds=rounds,
                        rng=rngs[k], **prm)

    parts = map_ordered(block, range(len(starts)), workers)
    t = max(p["positions"].shape[1] for p in parts)
    out: dict[str, Any] = {}
    for key in list(parts[0]):
        arrs = []
        for p in parts:
            a = p.pop(key)     # each block's copy is freed as soon as it is joined
            if a.ndim >= 2 and key not in ("rounds_run", "stop_reason"):
                pad = t - a.shape[1]
                if pad:
                    a = np.concatenate([a, np.repeat(a[:, -1:], pad, axis=1)], axis=1)
            arrs.append(a)
        out[key] = np.concatenate(arrs, axis=0)
    return out


def _forecast(pos, prob, present):
    """Per issue: the position most likely to prevail (first actor holding it on ties)."""
    best = np.argmax(np.nan_to_num(prob, nan=-1.0), axis=-1)          # [d, T]
    return np.take_along_axis(pos, best[..., None, None], axis=2)[:, :, 0, :]


def run(inputs: Inputs, *, rounds: int, rng: np.random.Generator, **params) -> Outcome:
    """Run the SMP on a batch of draws; positions in and out in each issue's own units."""
    salience_sum = params.pop("SalienceSum", "Rescale")
    x, sal, cap, width, rescaled = _prepare(inputs, salience_sum)
    n = x.shape[1]
    chunk = max(1, int(_CHUNK_ELEMENTS // max(n, 1) ** 3))
    if inputs.accommodation is not None:          # KTAB XML IdealAdjustment
        params = {**params, "accommodation": inputs.accommodation}
    res = _chunked(x, sal, cap, rounds, rng, params, chunk)
    pos01 = res["positions"]
    present = inputs.present

    def positions():  # [d, T+1, a, i] built when read: a forecast needs only the final round
        return np.where(present[:, None], inputs.low + pos01 * width, np.nan)

    forecast = inputs.low + _forecast(pos01, res["prob"], present) * width
    records = []
    names = inputs.actors
    for t in range(pos01.shape[1]):
        rec: dict[str, Any] = {
            "probabilities": {a: float(res["prob"][0, t, k]) for k, a in enumerate(names)},
            "risk_attitudes": {a: float(res["risk"][0, t, k]) for k, a in enumerate(names)},
        }
        if t > 0:
            rec["targets"] = {a: (names[res["target"][0, t, k]] if res["target"][0, t, k] >= 0
                                  else None) for k, a in enumerate(names)}
            rec["adopted_from"] = {a: (names[res["partner"][0, t, k]]
                                       if res["partner"][0, t, k] >= 0 else None)
                                   for k, a in enumerate(names)}
            sd, fc = res["step_distance"][0, t], res["fractional_change"][0, t]
            rec["step_distance"] = None if np.isnan(sd) else float(sd)
            rec["fractional_change"] = None if np.isnan(fc) else float(fc)
        records.append(rec)
    records = records[:int(res["rounds_run"][0]) + 1]
    summary: dict[str, Any] = {}
    if rescaled:
        summary["salience_rescaled"] = rescaled
    return Outcome(positions=positions, forecast=forecast,
                   stop_reason=np.asarray(res["stop_reason"], dtype=object),
                   rounds_run=res["rounds_run"], round_records=records,
                   extra={"probability": res["prob"], "risk_attitude": res["risk"],
                          "target": res["target"], "adopted_from": res["partner"],
                          "fractional_change": res["fractional_change"]},
                   summary=summary)


PARAMS = (
    Param("VictoryProbModel", "Linear", "P(a beats b) from coalition strengths: C_ab/(C_ab+C_ba), "
          "or with both raised to the power 2, 4, 8; Binary: certain at a 10% edge", str, VICTORY),
    Param("PCEModel", "Conditional", "pairwise victories to one probability per option: "
          "conditional product, or a Markov chain of challenges", str, PCE),
    Param("StateTransitions", "Deterministic", "each queue adopts its most probable bargain, "
          "or draws one by probability (seeded)", str, TRANSITIONS),
    Param("VotingRule", "Prop", "vote as a function of the utility difference", str, VOTING),
    Param("BigRAdjust", "OneThird", "how far h's estimate of i's risk attitude moves from "
          "h's own toward i's", str, RADJUST),
    Param("BigRRange", "Mid", "range of risk attitudes mapped from probabilities: "
          "[0,1], [-0.5,1] or [-1,1]", str, RRANGE),
    Param("ThirdPartyCommit", "SemiCommit", "whether a third party that joins a contest "
          "adopts the winner's position", str, COMMIT),
    Param("InterVecBrgn", "S2P2", "compromise weights: salience x probability, squared or not, "
          "or S2PMax", str, INTERP),
    Param("BargnModel", "InitOnlyInterp", "whose estimate of the victory probability shapes "
          "the bargain", str, BARGAIN),
    Param("ReceiverView", "KtabGain", "accord's name for a KTAB detail: with InitRcvrInterp "
          "or PWCompInterp, the receiver's view is built from j's estimate of i's expected "
          "gain, as KTAB's code does (KtabGain), or from j's estimate of P(i beats j) "
          "(Probability), as its comment says", str, ("KtabGain", "Probability")),
    Param("SalienceSum", "Rescale", "accord's choice, not KTAB's: an actor whose saliences sum "
          "over 1 has them divided by the sum (Rescale) or the run is refused (Reject)", str,
          ("Rescale", "Reject")),
)


def _max_size(d: int, a: int, i: int) -> str | None:
    """Refuse up front: a turn needs ~a³ doubles per draw in flight and ~6e-8 s per a³
    (measured: 160 actors, 13 turns, 1.5 CPU-s)."""
    memory = 8 * 4 * a ** 3
    seconds = 6e-8 * a ** 3 * d * 30
    if a > 400 or seconds > 3600:
        return (f"smp: {d} draws × {a} actors × {i} dimensions would need about "
                f"{memory / 2**30:.1f} GiB per draw in flight and {seconds / 60:.0f} CPU-minutes "
                "for 30 turns (limits: 400 actors, an hour); reduce the draws or the actors")
    return None


SPECS = (ModelSpec(
    name="smp",
    title="Spatial Model of Politics (KTAB)",
    citation=("Wise, B. P. et al., 'An Introduction to KTAB' and 'Multidimensional Bargaining "
              "using KTAB', KAPSARC discussion papers (2015-2016); Wise & Bankes (2015), "
              "'Non-spatial Probabilistic Condorcet Election Methodology'; KAPSARC/KTAB "
              "examples/smp (MIT)"),
    run=run,
    params=PARAMS,
    presets={"ktab": {}},
    default_preset="ktab",
    dynamic=True,
    default_rounds=100,
    stochastic=False,
    doc=__doc__ or "",
    max_size=_max_size,
),)
