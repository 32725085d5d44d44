"""KTAB's SMP state and turn, compiled, for the rules of the ``ktab`` preset.

:mod:`accord.models.spatial` writes each step of the SMP as one numpy operation over
``[draw, actor, actor, actor]``. On the flagship those arrays are small (ten actors), so
numpy's per-call overhead, not arithmetic, set the model's time, and the GIL kept its threads
from running side by side. Here the same steps run draw by draw in compiled loops that release
the GIL.

Same algorithm, same bytes: every formula keeps the operand order of the array path, and every
sum keeps numpy's order (``_reduce._pwsum``, its pairwise sum along a last axis; a running
sum over voters, as numpy reduces a middle axis). ``tests/test_spatial.py`` checks the two paths
for equality, byte for byte, on random states and on whole runs. Only the preset's rules are
compiled: Linear victory, Conditional PCE, deterministic transitions, Prop voting, OneThird
risk adjustment, Mid risk range, SemiCommit, S2P2 interpolation, InitOnlyInterp.
:func:`accord.models.spatial.simulate` runs every other combination, and this one too under
``ACCORD_SMP_ARRAYS=1`` (``bench/mainjob.py`` times both).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._reduce import _extremes, _pwsum
from .spatial import _MIN_CHALLENGE, _MIN_COALITION, _MIN_GAIN, _MIN_W, _unique_one

RULES = {"VictoryProbModel": "Linear", "PCEModel": "Conditional",
         "StateTransitions": "Deterministic", "VotingRule": "Prop", "BigRAdjust": "OneThird",
         "BigRRange": "Mid", "ThirdPartyCommit": "SemiCommit", "InterVecBrgn": "S2P2",
         "BargnModel": "InitOnlyInterp"}
"""The rules this module computes (the ``ktab`` preset's defaults)."""

_NO_RANK = np.iinfo(np.int64).max


def compiles(prm) -> bool:
    """True when every rule of ``prm`` is one this module computes."""
    return all(prm.get(k) == v for k, v in RULES.items())


@njit(cache=True, nogil=True, _nrt=False)
def _util(d, r):  # pragma: no cover - compiled
    """(1-d)(1+dR), and (1-d)(1+R) past d = 1, as ``spatial._utility``."""
    if d > 1.0:
        return (1.0 - d) * (1.0 + r)
    return (d * r + 1.0) * (1.0 - d)


@njit(cache=True, nogil=True, _nrt=False)
def _round4(v):  # pragma: no cover - compiled
    """KTAB's rounding of a bargain to 4 decimals, as ``spatial._round4``."""
    return np.trunc(0.5 + v * 10000.0) / 10000.0


@njit(cache=True, nogil=True, _nrt=False)
def _plus(t):  # pragma: no cover - compiled
    """np.maximum(t, 0.0), NaN kept."""
    return t if (t >= 0.0 or t != t) else 0.0


@njit(cache=True, nogil=True, _nrt=False)
def _minus(t):  # pragma: no cover - compiled
    """np.minimum(t, 0.0), NaN kept."""
    return t if (t <= 0.0 or t != t) else 0.0


@njit(cache=True, nogil=True, _nrt=False)
def _distance(ref, pos, sal, den, buf):  # pragma: no cover - compiled
    """Salience-weighted distance from ``ref`` to ``pos`` (``den``: the sum of squared
    saliences), as ``spatial._distance``."""
    if not den > 0:
        return 0.0
    kd = ref.shape[0]
    for k in range(kd):
        t = (ref[k] - pos[k]) * sal[k]
        buf[k] = t * t
    return np.sqrt(_pwsum(buf, kd) / den)


@njit(cache=True, nogil=True, _nrt=False)
def _sq_sum(sal, buf):  # pragma: no cover - compiled
    kd = sal.shape[0]
    for k in range(kd):
        buf[k] = sal[k] * sal[k]
    return _pwsum(buf, kd)


@njit(cache=True, nogil=True, _nrt=False)
def _victories(util, cap, vic):  # pragma: no cover - compiled
    """P(a beats b) from voters' utilities ``util[v, o]`` under Prop votes and the Linear
    model: coalitions as ``spatial._coalitions``, then C_ab / (C_ab + C_ba)."""
    nv, no = util.shape
    for a in range(no):
        for b in range(no):
            s = 0.0
            for v in range(nv):
                s += _plus((util[v, a] - util[v, b]) * cap[v])
            vic[a, b] = _MIN_COALITION + s
        vic[a, a] = _MIN_COALITION
    for a in range(no):
        for b in range(a):
            cab, cba = vic[a, b], vic[b, a]
            vic[a, b] = cab / (cab + cba)
            vic[b, a] = cba / (cba + cab)
        vic[a, a] = 0.5


@njit(cache=True, nogil=True, _nrt=False)
def _pce(vic, mem, p, logs):  # pragma: no cover - compiled
    """Conditional PCE over the options in ``mem`` into ``p``, as ``spatial._pce``: products of
    victories, and in logs for a queue whose products all underflow."""
    no = mem.shape[0]
    for o in range(no):
        r = 0.0
        if mem[o]:
            r = 1.0
            for q in range(no):
                if mem[q]:
                    r *= vic[o, q]
        p[o] = r
    total = _pwsum(p, no)
    if not total > 0:
        for o in range(no):
            for q in range(no):
                logs[q] = np.log(vic[o, q]) if mem[q] else 0.0
            p[o] = _pwsum(logs, no) if mem[o] else -np.inf
        top = -np.inf
        for o in range(no):
            if p[o] > top:
                top = p[o]
        for o in range(no):
            p[o] = np.exp(p[o] - top) if mem[o] else 0.0
        total = _pwsum(p, no)
    for o in range(no):
        p[o] = p[o] / total


@njit(cache=True, nogil=True)
def state(x, ideal, sal, cap, tol):  # pragma: no cover - compiled
    """``spatial._State`` for a batch, and its prevailing probabilities.

    Returns ``prob [B, n]`` (each actor's position's chance to prevail), ``risk [B, n]``,
    ``dist [B, i, j]``, ``r_hi [B, h, i]`` and ``own [B, a, j]``, the arrays of ``_State``.
    """
    bsz, n, kd = x.shape
    prob = np.empty((bsz, n))
    risk = np.empty((bsz, n))
    dist = np.empty((bsz, n, n))
    r_hi = np.empty((bsz, n, n))
    own = np.empty((bsz, n, n))
    buf = np.empty(kd)
    util = np.empty((n, n))
    vic = np.empty((n, n))
    mem = np.ones(n, np.bool_)
    p = np.empty(n)
    logs = np.empty(n)
    rep = np.zeros(n, np.bool_)
    owner = np.zeros(n, np.int64)
    reps = np.empty(n, np.int64)
    for b in range(bsz):
        for i in range(n):
            den = _sq_sum(sal[b, i], buf)
            for j in range(n):
                d = _distance(ideal[b, i], x[b, j], sal[b, i], den, buf)
                dist[b, i, j] = d
                util[i, j] = 1.0 - d          # utility at risk attitude 0
        _victories(util, cap[b], vic)
        _pce(vic, mem, p, logs)
        lo, hi = _extremes(p, mem)
        span = hi - lo
        for i in range(n):
            risk[b, i] = (3 * p[i] - (hi + 2 * lo)) / (2 * span) if span > 0 else 0.0
        for h in range(n):
            for i in range(n):
                r_hi[b, h, i] = ((2.0 * risk[b, h]) + risk[b, i]) / 3.0
        for a in range(n):
            for j in range(n):
                own[b, a, j] = _util(dist[b, a, j], r_hi[b, a, a])
        # prevailing: a PCE over the distinct positions, each actor reads its own
        _unique_one(x[b], tol, rep, owner, reps)
        _victories(own[b], cap[b], vic)
        _pce(vic, rep, p, logs)
        for i in range(n):
            prob[b, i] = p[owner[i]]
    return prob, risk, dist, r_hi, own


@njit(cache=True, nogil=True)
def turn(x, sal, tot_sal, cap, dist, r_hi, risk, own):  # pragma: no cover - compiled
    """``spatial._turn`` for a batch: challenges, bargains, queues, adopted positions.

    Returns the new positions ``[B, n, K]`` and the record: target (-1 when inactive),
    target probability and gain (NaN when inactive), partner (-1: kept its position).
    """
    bsz, n, kd = x.shape
    nb = n
    no = n + 1
    new = np.empty((bsz, n, kd))
    target_out = np.empty((bsz, n), np.int64)
    tprob = np.empty((bsz, n))
    tgain = np.empty((bsz, n))
    partner = np.empty((bsz, n), np.int64)
    w = np.empty(n)
    unj = np.empty((n, n))
    unn = np.empty(n)
    target = np.empty(n, np.int64)
    p_tgt = np.empty(n)
    active = np.empty(n, np.bool_)
    pts_i = np.empty((n, kd))
    pts_j = np.empty((n, kd))
    value = np.empty((n, no))
    vic = np.empty((no, no))
    mem = np.empty(no, np.bool_)
    rank = np.empty(no, np.int64)
    p = np.empty(no)
    logs = np.empty(no)
    buf = np.empty(kd)
    for b in range(bsz):
        for i in range(n):
            w[i] = tot_sal[b, i] * cap[b, i]
        # every actor i's own estimate of its gain from challenging each j
        for i in range(n):
            for m in range(n):
                r = r_hi[b, i, m]
                for j in range(n):
                    unj[j, m] = _util(dist[b, m, j], r)      # U^i(m, j)
                unn[m] = _util(dist[b, m, m], r)
            uii = unj[i, i]
            best, tgt, ptg = -np.inf, -1, 0.0
            for j in range(n):
                uij, uji, ujj = unj[j, i], unj[i, j], unn[j]
                ci = w[i] * (uii - uij)
                cj = w[j] * (uji - ujj)
                ch_ij = (_MIN_CHALLENGE + _plus(ci)) + _plus(cj)
                ch_ji = (_MIN_CHALLENGE + _plus(-ci)) + _plus(-cj)
                both = ch_ij + ch_ji
                # running sums over third parties: in the array path's layout this axis is
                # not the innermost, and numpy then reduces it in order, not pairwise
                up, down = 0.0, 0.0
                for m in range(n):
                    v = (unj[i, m] - unj[j, m]) * w[m]
                    p_in = (_plus(v) + ch_ij) / (abs(v) + both)
                    lose = unj[j, m] - unn[m]
                    vote = (((unn[m] - unj[i, m]) - lose) * p_in + lose) * w[m]
                    if m == i or m == j:
                        vote = 0.0
                    up += _plus(vote)
                    down += _minus(vote)
                ch_ij = ch_ij + up
                ch_ji = ch_ji - down
                p_ij = ch_ij / (ch_ij + ch_ji)
                p_ji = ch_ji / (ch_ij + ch_ji)
                s_j = tot_sal[b, j]
                eu_win = uii + uii
                g = ((1 - s_j) * eu_win + s_j * (p_ij * eu_win + p_ji * (uij + uij))) \
                    - (uii + uij)
                if j == i:
                    g = -np.inf
                # np.argmax: the first largest, or the first NaN
                if tgt < 0 or (best == best and (g > best or g != g)):
                    best, tgt, ptg = g, j, p_ij
            target[i], p_tgt[i] = tgt, ptg
            active[i] = best > _MIN_GAIN
            target_out[b, i] = tgt if active[i] else -1
            tprob[b, i] = ptg if active[i] else np.nan
            tgain[b, i] = best if active[i] else np.nan
            # the bargain i proposes to its target (S2P2)
            pi, pj = ptg, 1 - ptg
            for k in range(kd):
                xi, si = x[b, i, k], sal[b, i, k]
                xj, sj = x[b, tgt, k], sal[b, tgt, k]
                wik = (si * si) * (pi * pi)
                wjk = (sj * sj) * (pj * pj)
                den = (wik + _MIN_W) + wjk
                pts_i[i, k] = _round4(((wik + _MIN_W) * xi + wjk * xj) / den)
                pts_j[i, k] = _round4((wik * xi + (_MIN_W + wjk) * xj) / den)
        # each actor's value of the state after each bargain: the mean over positions
        for a in range(n):
            den = _sq_sum(sal[b, a], buf)
            base = _pwsum(own[b, a], n)
            value[a, 0] = base / n
            for o in range(nb):
                ub = _util(_distance(x[b, a], pts_i[o], sal[b, a], den, buf), risk[b, a])
                uj = _util(_distance(x[b, a], pts_j[o], sal[b, a], den, buf), risk[b, a])
                value[a, 1 + o] = ((ub + uj) + ((base - own[b, a, o]) - own[b, a, target[o]])) / n
        _victories(value, cap[b], vic)
        # queue of actor k: status quo, its own bargain, bargains aimed at it
        for k in range(n):
            mem[0] = True
            rank[0] = 0
            for o in range(nb):
                owns = active[o] and o == k
                mem[1 + o] = owns or (active[o] and target[o] == k)
                rank[1 + o] = 1 + o if owns else 1 + o + 2 * nb + 2
            _pce(vic, mem, p, logs)
            # the most probable option, ties to the lowest rank (a NaN: none, as np.max)
            top = -np.inf
            for o in range(no):
                if mem[o] and (p[o] > top or p[o] != p[o]):
                    top = p[o]
                    if top != top:
                        break
            win, low = 0, _NO_RANK
            for o in range(no):
                if mem[o] and p[o] == top and rank[o] < low:
                    win, low = o, rank[o]
            if win == 0:
                for q in range(kd):
                    new[b, k, q] = x[b, k, q]
                partner[b, k] = -1
            else:
                o = win - 1
                src = pts_i if o == k else pts_j
                for q in range(kd):
                    new[b, k, q] = src[o, q]
                partner[b, k] = target[o] if o == k else o
    return new, target_out, tprob, tgain, partner
