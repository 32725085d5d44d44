"""Stokman's exchange model, executed exactly as decide-exchange-model executes it.

Actors trade positions across issues: each gives ground where it cares little for ground
where it cares much (Stokman & Van Oosten 1994, "The exchange of voting positions: an
object-oriented model of policy networks", in Bueno de Mesquita & Stokman (eds.),
*European Community Decision Making*, Yale UP, 105–127). Every pair of actors on opposite
sides of the outcome on two issues is a candidate; the candidate's deal is the largest
equal-gain one (both gain the same salience-weighted outcome shift); deals are executed
best first, and executing one changes the deals of every candidate that shares an actor
and issue with it. The randomized equal-gain variant (Dijkstra, Van Assen, Stokman &
Draaijer 2018, "Random variation of exchange rates in the equal utility exchange model")
splits the gain unequally with probability mass set by ``p``.

The reference is the PyPI package ``decide-exchange-model`` 2022.1.28 (J. Draaijer). Its
order of candidates, its recomputation rules and its quirks (the move-history bookkeeping,
each candidate's private view of executed moves, the overshoot cap, the end-of-round
update) are reproduced; its comparisons that Decimal rounding noise decides are made
tolerant (rules T1–T4 of ``shared/reference/exchange/README.md``), which is the package's
own logic run as if its arithmetic were exact.

Random choices (decide's coin flip between tied candidates, and the u, v, z draws of the
randomized variant) come from a copy of Python's Mersenne Twister: with ``python_seed=s``
a run draws exactly what decide draws after ``random.seed(s)``, in the same order, and is
decide's own run until decide's rounding noise first decides a comparison. Run against
decide with T1-T4 (``python bench/exchange_seeded.py --tolerant``), accord makes the same
exchanges in the same order in all 80 seeded runs at p = 0 (20 seeds x 4 data sets, 10
rounds) and all 30 at p = 0.8. That includes decide's tie duplication: a candidate listed
twice that is executed is recomputed against itself in the sweep, and the candidates after
it read its new voting positions while those before it keep the old (``_reread``).

Speed: candidates and their deals are arrays; the within-round execution sequence is
compiled with numba and, after each executed exchange, recomputes only the candidates
that share an actor-and-issue with it (found through an index), in O(1) each (outcome
levels are kept as sums plus per-(actor, demand issue) corrections, shared by the
candidates with that demand because they all take in the same moves), and keeps the
sorted list by merging the changed candidates back in. Draws of a Monte Carlo batch run
in one compiled call per core (contiguous blocks of draws on threads; the compiled loop
releases the GIL, and each draw has its own stream, so the bytes are those of one call).
The small helpers are compiled without numba's reference counting (``_nrt=False``: they
allocate nothing), which removed two atomic operations per array argument per call, about two
thirds of the run time; copies are element loops rather than slice assignments, which keeps
the first-run compile shorter. The three small helpers every candidate computation calls
(``_outcome_with``, ``_move_ok``, ``_stored``) are inlined at numba's IR level: a call passed
about seventy array fields, and inlining them took 13% off the run (inlining the larger
``_check_nbs`` and ``_recalculate`` made it slower). The list's merge sort works in place in
scratch kept for the round, so an execution allocates nothing. ``ACCORD_EXCHANGE_LOOP=1``
forces the old loop of one compiled call per run (for ``bench/mainjob.py``); on a cold numba
cache ``accord forecast`` compiles this module in a child process while it runs the other
models (``models/_warm.py``, ``ACCORD_PREWARM=0`` turns that off).

Example::

    >>> import numpy as np
    >>> from accord.models import Inputs, run
    >>> inp = Inputs.from_arrays([1, 1], [[0, 100], [100, 0]], [[0.9, 0.2], [0.2, 0.9]],
    ...                          low=[0, 0], high=[100, 100])
    >>> out, _ = run("exchange", inp, preset="decide_deterministic", rounds=1)
    >>> out.final[0].round(2).tolist()    # each gets its way where it cares most
    [0.0, 0.0]
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from numba import njit

from .base import Inputs, ModelSpec, Outcome, Param

__all__ = ["run_exchange", "trades_frame", "inputs_from_scenario", "SPECS"]

TOL = 1e-12        # rules T2-T4: differences below this (normalised units) are zero
GAIN_TOL = 1e-9    # rule T1: gains closer than this are a tie (list order decides)
MIN_MOVE = 1e-10
MIN_GAIN = 1e-10
FIXED_WEIGHT = 0.1
SALIENCE_WEIGHT = 0.4

# candidate int columns
C_I, C_J, C_P, C_Q, C_GRP, C_VALID, C_FCI, C_FCJ, C_MULT, C_CAPI, C_CAPJ, C_CHG, C_STAMP = range(13)
C_DONE = 13
NI = 14
# candidate float columns
F_GAIN, F_MI, F_MJ, F_YI, F_YJ, F_FSI, F_FMNI, F_FMXI, F_FSJ, F_FMNJ, F_FMXJ = range(11)
F_EUMI, F_EUMJ, F_YEGI, F_YEGJ, F_U, F_V, F_Z = range(11, 18)
F_XI, F_XJ = 18, 19    # the candidate's own view of i's and j's supply positions
NF = 20
# log columns (draw 0 only)
L_GAIN, L_DP, L_DQ, L_XI, L_MI, L_YI, L_XJ, L_MJ, L_YJ, L_O0I, L_O1I, L_O0J, L_O1J = range(13)
LF = 13
K_ROUND, K_I, K_J, K_P, K_Q, K_GRP, K_CAPI, K_CAPJ, K_TIE = range(9)
LI = 9


# ---------------------------------------------------------------------------------------
# Python's random stream (MT19937 + random.random), so that a seeded run makes the same
# coin flips and u, v, z draws as decide after random.seed(seed)
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _mt_seed(mt, seed):
    """``random.seed(seed)`` for an int64 seed: CPython's init_by_array on the 32-bit words
    of |seed| (one word for 0), leaving the position at 624 as ``getstate()`` shows it."""
    n = abs(seed)
    key = np.zeros(2, np.int64)
    key[0] = n & 0xFFFFFFFF
    key[1] = n >> 32
    nk = 2 if key[1] != 0 else 1
    mt[0] = 19650218
    for i in range(1, 624):
        mt[i] = (1812433253 * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i) & 0xFFFFFFFF
    i, j = 1, 0
    for _ in range(max(624, nk)):
        mt[i] = ((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525)) + key[j] + j) & 0xFFFFFFFF
        i += 1
        j += 1
        if i >= 624:
            mt[0] = mt[623]
            i = 1
        if j >= nk:
            j = 0
    for _ in range(623):
        mt[i] = ((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941)) - i) & 0xFFFFFFFF
        i += 1
        if i >= 624:
            mt[0] = mt[623]
            i = 1
    mt[0] = 0x80000000
    mt[624] = 624


def python_stream(seed: int) -> np.ndarray:
    """The state of ``random.Random(seed)`` (int64 seed): 624 words and the position."""
    mt = np.empty(625, np.int64)
    _mt_seed(mt, np.int64(seed))
    return mt


@njit(cache=True, _nrt=False)
def _mt_word(mt):
    """Next 32-bit output of the Mersenne Twister in ``mt`` (CPython's genrand_uint32)."""
    i = mt[624]
    if i >= 624:
        for k in range(624):
            y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7FFFFFFF)
            v = mt[(k + 397) % 624] ^ (y >> 1)
            if y & 1:
                v ^= 0x9908B0DF
            mt[k] = v
        i = 0
    y = mt[i]
    mt[624] = i + 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y


@njit(cache=True, _nrt=False)
def _mt_random(mt):
    """random.random(): 53 bits from two words."""
    a = _mt_word(mt) >> 5
    b = _mt_word(mt) >> 6
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)


# ---------------------------------------------------------------------------------------
# one candidate (decide's EqualGainExchange.calculate and AbstractExchangeActor.check_nbs)
# ---------------------------------------------------------------------------------------
@njit(cache=True, _nrt=False, inline="always")
def _stored(k, a, e, u, G):
    """(is set, position) of actor u in candidate k's private table for a's demand issue e:
    the shared table, unless k keeps an older entry of its own (see _reread)."""
    Gv, Gset, Gcorr, ovi, ovf, nov = G
    for t in range(nov[0]):
        if ovi[t, 0] == k and ovi[t, 1] == a and ovi[t, 2] == e and ovi[t, 3] == u:
            return ovi[t, 4] == 1, ovf[t]
    return Gset[a, e, u], Gv[a, e, u]


@njit(cache=True, _nrt=False, inline="always")
def _outcome_with(k, e, mover, other, pos, x, cs, N, W, G):
    """Outcome on issue e as candidate k sees it: round-start positions, k's private updates
    (those of ``other``'s demand on e), and ``mover`` at ``pos``."""
    Gv, Gset, Gcorr, ovi, ovf, nov = G
    if W[e] == 0.0:
        return 0.0
    if nov[0] > 0:                   # some candidate keeps entries of its own (rare)
        return _outcome_own(k, e, mover, other, pos, x, cs, N, W, G)
    num = N[e] + Gcorr[other, e]
    if Gset[other, e, mover]:
        num -= cs[mover, e] * (Gv[other, e, mover] - x[mover, e])
    num += cs[mover, e] * (pos - x[mover, e])
    return num / W[e]


@njit(cache=True, _nrt=False)
def _outcome_own(k, e, mover, other, pos, x, cs, N, W, G):
    """_outcome_with where k's own older entries replace the shared ones."""
    Gv, Gset, Gcorr, ovi, ovf, nov = G
    num = N[e] + Gcorr[other, e]
    for t in range(nov[0]):
        if ovi[t, 0] == k and ovi[t, 1] == other and ovi[t, 2] == e:
            u = ovi[t, 3]
            if Gset[other, e, u]:
                num -= cs[u, e] * (Gv[other, e, u] - x[u, e])
            if ovi[t, 4] == 1:
                num += cs[u, e] * (ovf[t] - x[u, e])
    st, v = _stored(k, other, e, mover, G)
    if st:
        num -= cs[mover, e] * (v - x[mover, e])
    num += cs[mover, e] * (pos - x[mover, e])
    return num / W[e]


# Arguments that compiled code passes as constants go through np.int64 / np.bool_: numba
# compiles one more copy of a function for every literal value an argument receives from
# compiled code (seconds of the first run's compile), a typed value keeps it to one copy.
ROLE_I = np.int64(0)
"""The initiator's side of a candidate (the demand/supply of actor i)."""
ROLE_J = np.int64(1)
"""The partner's side (actor j)."""
KEEP_INVALID = np.bool_(False)
DROP_INVALID = np.bool_(True)


@njit(cache=True, _nrt=False, inline="always")
def _move_ok(k, role, move, pos, cf, cint):
    """decide's is_move_valid on the move history (frozen entries + this move)."""
    if abs(move) > 100.0 or abs(move) <= MIN_MOVE:
        return False
    if pos + move < -TOL or pos + move > 100.0 + TOL:
        return False
    if role == 0:
        cnt, fs, fmn, fmx = cint[C_FCI, k], cf[F_FSI, k], cf[F_FMNI, k], cf[F_FMXI, k]
    else:
        cnt, fs, fmn, fmx = cint[C_FCJ, k], cf[F_FSJ, k], cf[F_FMNJ, k], cf[F_FMXJ, k]
    if fs + move > 100.0:
        return False
    mn, mx = move, move
    if cnt > 0:
        mn = min(fmn, move)
        mx = max(fmx, move)
    return (mn < 0.0 and mx < 0.0) or (mn > 0.0 and mx > 0.0)


@njit(cache=True, _nrt=False)
def _check_nbs(k, role, cf, cint, x, s, cs, N, W, G):
    """Cut the mover's move when it would push the outcome past the partner (rule T3)."""
    ai, aj, p, q = cint[C_I, k], cint[C_J, k], cint[C_P, k], cint[C_Q, k]
    if role == 0:
        X, Y, e, f, fy, fmx = ai, aj, q, p, F_YI, F_MI
        oy, omv, fx, fxo = F_YJ, F_MJ, F_XI, F_XJ
    else:
        X, Y, e, f, fy, fmx = aj, ai, p, q, F_YJ, F_MJ
        oy, omv, fx, fxo = F_YI, F_MI, F_XJ, F_XI
    xs, ys = cf[fx, k], cf[fxo, k]
    nbs0 = _outcome_with(k, e, X, Y, xs, x, cs, N, W, G)
    nbs1 = _outcome_with(k, e, X, Y, cf[fy, k], x, cs, N, W, G)
    target = x[Y, e]
    d0 = target - nbs0
    d1 = target - nbs1
    if abs(d0) < TOL:
        d0 = 0.0
    if abs(d1) < TOL:
        d1 = 0.0
    if not ((d0 > 0.0 and d1 < 0.0) or (d0 < 0.0 and d1 > 0.0)):
        return
    st, pos_u = _stored(k, Y, e, X, G)
    o_u = _outcome_with(k, e, X, Y, pos_u if st else xs, x, cs, N, W, G)
    delta = abs((target * W[e] - o_u * W[e]) / cs[X, e])
    dX = delta * cs[X, e] / W[e]
    dY = (s[X, e] + s[Y, e]) / (s[X, f] + s[Y, f]) * dX
    mY = abs(dY * W[f] / cs[Y, f])
    mX = delta
    if ys > x[X, f]:
        mY = -mY
    if xs > target:
        mX = -mX
    cf[omv, k] = mY
    cf[fmx, k] = mX
    cf[oy, k] = ys + mY
    cf[fy, k] = xs + mX
    cf[F_GAIN, k] = abs(dY * s[Y, f] - dX * s[Y, e])
    okY = _move_ok(k, 1 - role, mY, ys, cf, cint)
    okX = _move_ok(k, role, mX, xs, cf, cint)
    cint[C_VALID, k] = 1 if (okY and okX) else 0
    if role == 0:
        cint[C_CAPI, k] = 1
    else:
        cint[C_CAPJ, k] = 1


@njit(cache=True, _nrt=False)
def _max_utility(k, cf, cint, x, s, cs, N, W, G):
    """decide's calculate_maximum_utility: each side's utility when the other gains 0."""
    ai, aj, p, q = cint[C_I, k], cint[C_J, k], cint[C_P, k], cint[C_Q, k]
    yi, yj = cf[F_YI, k], cf[F_YJ, k]
    i_par = x[ai, p] == yi
    j_par = x[aj, q] == yj
    nbs0_i = _outcome_with(k, q, ai, aj, cf[F_XI, k], x, cs, N, W, G)
    nbs0_j = _outcome_with(k, p, aj, ai, cf[F_XJ, k], x, cs, N, W, G)
    adj_i = _outcome_with(k, q, ai, aj, yi if i_par else x[aj, q], x, cs, N, W, G)
    adj_j = _outcome_with(k, p, aj, ai, yj if j_par else x[ai, p], x, cs, N, W, G)
    di = abs(nbs0_i - adj_i)
    dj = abs(nbs0_j - adj_j)
    loss1 = dj * s[aj, p]
    gain2 = dj * s[ai, p]
    loss2 = di * s[ai, q]
    gain1 = di * s[aj, q]
    ut_i = gain1 - loss1
    ut_j = gain2 - loss2
    over = 0.0
    if i_par and ut_i > 0:
        over = gain2 - (loss1 / s[aj, q]) * s[ai, q]
    if j_par and ut_j > 0:
        over = gain1 - (loss2 / s[ai, p]) * s[aj, p]
    if gain2 > gain1:   # actor = j
        g, l_ = gain1, loss2
        s_sup, s_oppdem = s[aj, p], s[ai, p]
        f_act, f_opp = F_EUMJ, F_EUMI
    else:
        g, l_ = gain2, loss1
        s_sup, s_oppdem = s[ai, q], s[aj, q]
        f_act, f_opp = F_EUMI, F_EUMJ
    sh = s_sup / (s_sup + s_oppdem)
    d_u1 = l_ / (sh * s_oppdem)
    d_u2 = g / (sh * s_sup)
    if over != 0.0:
        cf[f_opp, k] = over
    else:
        cf[f_opp, k] = sh * s_oppdem * d_u2 - l_
    cf[f_act, k] = g - sh * s_sup * d_u1


@njit(cache=True, _nrt=False)
def _randomized_gain(k, role, pval, cf, cint, x, s, cs, N, W, G):
    """decide's randomized_gain (Dijkstra et al. 2018): the chosen side wins or loses
    a random share of the gain and the deal is rebuilt around it (quirks kept)."""
    ai, aj, p, q = cint[C_I, k], cint[C_J, k], cint[C_P, k], cint[C_Q, k]
    if role == 0:
        X, Y, e, f = ai, aj, q, p
        fmX, fmY, fyX, fyY, feu, fx, fxo = F_MI, F_MJ, F_YI, F_YJ, F_EUMI, F_XI, F_XJ
    else:
        X, Y, e, f = aj, ai, p, q
        fmX, fmY, fyX, fyY, feu, fx, fxo = F_MJ, F_MI, F_YJ, F_YI, F_EUMJ, F_XJ, F_XI
    eu = cf[F_GAIN, k]
    v, z = cf[F_V, k], cf[F_Z, k]
    if v < 0.5:
        eui = eu + pval * z * (cf[feu, k] - eu)
    else:
        eui = eu - pval * z * eu
    xs, ys = cf[fx, k], cf[fxo, k]
    move_i = abs(xs - x[Y, e])
    er_q = move_i * cs[X, e] / W[e]
    er_p = (eui + er_q * s[X, e]) / s[X, f]
    move_j = er_p * W[f] / cs[Y, f]
    dxj = abs(ys - x[X, f])
    if abs(move_j) > dxj:
        er_p = dxj * cs[Y, f] / W[f]
        er_q = abs((eui - er_p * s[X, f]) / s[X, e])
        move_j = dxj
        move_i = er_q * W[e] / cs[X, e]
    else:
        move_i_a = -move_i if xs > x[Y, e] else move_i
        nbs0 = _outcome_with(k, e, X, Y, xs, x, cs, N, W, G)
        adj = _outcome_with(k, e, X, Y, xs + move_i_a, x, cs, N, W, G)
        t = x[Y, e]
        if not ((t >= nbs0 and t >= adj) or (t <= nbs0 and t <= adj)):
            st, pos_u = _stored(k, Y, e, X, G)
            o_u = _outcome_with(k, e, X, Y, pos_u if st else xs, x, cs, N, W, G)
            delta = abs((t * W[e] - o_u * W[e]) / cs[X, e])
            er_q = delta * cs[X, e] / W[e]
            er_p = (eui + er_q * s[X, e]) / s[X, f]
            move_j = er_p * W[f] / cs[Y, f]
            move_i = move_i_a      # decide keeps the full (signed) move here
            if role == 0:
                cint[C_CAPI, k] = 1
            else:
                cint[C_CAPJ, k] = 1
    mX, mY = move_i, move_j
    if xs > x[Y, e]:
        mX = -mX
    if ys > x[X, f]:
        mY = -mY
    cf[fmX, k] = mX
    cf[fmY, k] = mY
    cf[fyX, k] = xs + mX
    cf[fyY, k] = ys + mY
    okX = _move_ok(k, role, mX, xs, cf, cint)
    okY = _move_ok(k, 1 - role, mY, ys, cf, cint)
    cint[C_VALID, k] = 1 if (okX and okY) else 0


@njit(cache=True, _nrt=False)
def _calculate(k, opt, mt, cf, cint, x, s, cs, N, W, G):
    """The candidate's equal-gain deal from the current state (decide's calculate)."""
    pval = opt[0]
    ai, aj, p, q = cint[C_I, k], cint[C_J, k], cint[C_P, k], cint[C_Q, k]
    if cs[ai, q] == 0.0 or cs[aj, p] == 0.0:
        # a supplier without weight on its supply issue cannot shift the outcome: the deal's
        # gain is 0 (decide divides by zero here, research note §5 quirk 7)
        cf[F_GAIN, k] = 0.0
        cint[C_VALID, k] = 0
        return
    xiq, xjp = cf[F_XI, k], cf[F_XJ, k]
    dip, djq = x[ai, p], x[aj, q]
    full_j = abs(dip - xjp)
    dp = full_j * cs[aj, p] / W[p]
    dq = (s[aj, p] + s[ai, p]) / (s[aj, q] + s[ai, q]) * dp
    mi = dq * W[q] / cs[ai, q]
    mj = full_j
    full_i = abs(djq - xiq)
    if abs(mi) > full_i:
        dq = full_i * cs[ai, q] / W[q]
        dp = (s[ai, q] + s[aj, q]) / (s[ai, p] + s[aj, p]) * dq
        mi = full_i
        mj = dp * W[p] / cs[aj, p]
    if xiq > djq:
        mi = -mi
    if xjp > dip:
        mj = -mj
    cf[F_MI, k] = mi
    cf[F_MJ, k] = mj
    cf[F_YI, k] = xiq + mi
    cf[F_YJ, k] = xjp + mj
    cf[F_YEGI, k] = xiq + mi
    cf[F_YEGJ, k] = xjp + mj
    gain = abs(dq * s[ai, q] - dp * s[ai, p])
    cf[F_GAIN, k] = gain
    cint[C_CAPI, k] = 0
    cint[C_CAPJ, k] = 0
    ok = _move_ok(k, ROLE_I, mi, xiq, cf, cint) and _move_ok(k, ROLE_J, mj, xjp, cf, cint)
    if gain < MIN_GAIN:
        ok = False
    if not ok:
        cint[C_VALID, k] = 0
        return
    _check_nbs(k, ROLE_I, cf, cint, x, s, cs, N, W, G)
    _check_nbs(k, ROLE_J, cf, cint, x, s, cs, N, W, G)
    ok = (_move_ok(k, ROLE_I, cf[F_MI, k], xiq, cf, cint)
          and _move_ok(k, ROLE_J, cf[F_MJ, k], xjp, cf, cint))
    cint[C_VALID, k] = 1 if ok else 0
    if pval > 0.0:
        u = _mt_random(mt)
        cf[F_U, k] = u
        cf[F_V, k] = _mt_random(mt)
        cf[F_Z, k] = _mt_random(mt)
        _max_utility(k, cf, cint, x, s, cs, N, W, G)
        _randomized_gain(k, 0 if u < 0.5 else 1, pval, cf, cint, x, s, cs, N, W, G)


@njit(cache=True, _nrt=False)
def _freeze(k, role, cf, cint):
    """Keep the current tentative move in the history (decide's stale-entry quirk)."""
    if role == 0:
        m = cf[F_MI, k]
        if cint[C_FCI, k] == 0:
            cf[F_FMNI, k] = m
            cf[F_FMXI, k] = m
        else:
            cf[F_FMNI, k] = min(cf[F_FMNI, k], m)
            cf[F_FMXI, k] = max(cf[F_FMXI, k], m)
        cf[F_FSI, k] += m
        cint[C_FCI, k] += 1
    else:
        m = cf[F_MJ, k]
        if cint[C_FCJ, k] == 0:
            cf[F_FMNJ, k] = m
            cf[F_FMXJ, k] = m
        else:
            cf[F_FMNJ, k] = min(cf[F_FMNJ, k], m)
            cf[F_FMXJ, k] = max(cf[F_FMXJ, k], m)
        cf[F_FSJ, k] += m
        cint[C_FCJ, k] += 1


@njit(cache=True, _nrt=False)
def _recalculate(k, E, opt, mt, cf, cint, x, s, cs, N, W, G):
    """decide's recalculate(k, executed E); returns whether k was recomputed."""
    ki, kj, kp, kq = cint[C_I, k], cint[C_J, k], cint[C_P, k], cint[C_Q, k]
    ei, ej, ep, eq = cint[C_I, E], cint[C_J, E], cint[C_P, E], cint[C_Q, E]
    # supply matches: (actor, supply issue); i supplies q, j supplies p
    sup_i = (ki == ei and kq == eq) or (ki == ej and kq == ep)
    sup_j = (kj == ei and kp == eq) or (kj == ej and kp == ep)
    re = sup_i or sup_j
    # the matched actor starts from its executed voting position, as E holds it now
    if sup_i:
        cf[F_XI, k] = cf[F_YI, E] if ki == ei else cf[F_YJ, E]
    if sup_j:
        cf[F_XJ, k] = cf[F_YI, E] if kj == ei else cf[F_YJ, E]
    if sup_i and sup_j:
        _freeze(k, ROLE_I, cf, cint)
        _freeze(k, ROLE_J, cf, cint)
    elif sup_i:
        _freeze(k, ROLE_I, cf, cint)
    elif sup_j:
        _freeze(k, ROLE_J, cf, cint)
    # demand matches: (actor, demand issue); i demands p, j demands q
    if not re:
        dem1 = (ej == kj and eq == kq) or (ej == ki and eq == kp)
        dem2 = (ei == kj and ep == kq) or (ei == ki and ep == kp)
        re = dem1 or dem2
    if re:
        _calculate(k, opt, mt, cf, cint, x, s, cs, N, W, G)
    return re


@njit(cache=True, _nrt=False)
def _kept(is_set, stored, y, start):
    """decide's update_updates: of the stored and the new position, the one its rule keeps."""
    if not is_set:
        return y
    if start <= stored:
        return stored if stored < y else y
    return stored if stored > y else y


@njit(cache=True, _nrt=False)
def _set_update(a, e, u, y, start, cs, x, G):
    """u moved to y on a's demand issue e: every private table of (a, e) takes it in."""
    Gv, Gset, Gcorr, ovi, ovf, nov = G
    new = _kept(Gset[a, e, u], Gv[a, e, u], y, start)
    Gcorr[a, e] += cs[u, e] * (new - (Gv[a, e, u] if Gset[a, e, u] else x[u, e]))
    Gset[a, e, u] = True
    Gv[a, e, u] = new
    for t in range(nov[0]):
        if ovi[t, 1] == a and ovi[t, 2] == e and ovi[t, 3] == u:
            ovf[t] = _kept(ovi[t, 4] == 1, ovf[t], y, start)
            ovi[t, 4] = 1


@njit(cache=True, _nrt=False)
def _before2(ga, gb, pa, pb):
    """Stable descending order by gain with tie tolerance (rule T1): gains closer than
    GAIN_TOL are a tie and the earlier list position goes first."""
    if ga > gb + GAIN_TOL:
        return True
    if gb > ga + GAIN_TOL:
        return False
    return pa < pb


@njit(cache=True, _nrt=False)
def _sort_entries(a, pa, n, gain, b, pb):
    """Stable merge sort, in place, of the entries a[:n] (candidate ids) and their old list
    positions pa[:n] by gain, ties by old position; b and pb are scratch of length >= n."""
    width = 1
    flipped = False
    while width < n:
        i = 0
        while i < n:
            lo, mid, hi = i, min(i + width, n), min(i + 2 * width, n)
            l, r, o = lo, mid, lo
            while l < mid and r < hi:
                if _before2(gain[a[r]], gain[a[l]], pa[r], pa[l]):
                    b[o] = a[r]
                    pb[o] = pa[r]
                    r += 1
                else:
                    b[o] = a[l]
                    pb[o] = pa[l]
                    l += 1
                o += 1
            while l < mid:
                b[o] = a[l]
                pb[o] = pa[l]
                l += 1
                o += 1
            while r < hi:
                b[o] = a[r]
                pb[o] = pa[r]
                r += 1
                o += 1
            i += 2 * width
        a, b = b, a
        pa, pb = pb, pa
        flipped = not flipped
        width *= 2
    if flipped:                  # the sorted run is in the scratch: copy it back
        for t in range(n):
            b[t] = a[t]
            pb[t] = pa[t]


@njit(cache=True, _nrt=False)
def _resort(lst, start, m, cint, gain, keep, keep_pos, chg, chg_pos, drop, sa, sp):
    """Merge the changed entries of lst[start:m] back (and, after an execution, drop the
    invalid ones as decide's sweep does): the list a stable sort by gain would give, in
    O(n) instead of O(n log n). Writes lst[0:new m]; sa, sp: sort scratch."""
    nk = 0
    nc = 0
    for t in range(start, m):
        k = lst[t]
        if drop and cint[C_VALID, k] == 0:
            cint[C_MULT, k] -= 1
            continue
        if cint[C_CHG, k] != 0:
            chg[nc] = k
            chg_pos[nc] = t
            nc += 1
        else:
            keep[nk] = k
            keep_pos[nk] = t
            nk += 1
    _sort_entries(chg, chg_pos, nc, gain, sa, sp)
    for t in range(nc):
        cint[C_CHG, chg[t]] = 0
    # insert each changed entry by binary search into the (still sorted) unchanged ones
    o = 0
    a = 0
    for b in range(nc):
        g, pb = gain[chg[b]], chg_pos[b]
        lo, hi = a, nk
        while lo < hi:
            mid = (lo + hi) // 2
            if _before2(g, gain[keep[mid]], pb, keep_pos[mid]):
                hi = mid
            else:
                lo = mid + 1
        for t in range(a, lo):
            lst[o] = keep[t]
            o += 1
        a = lo
        lst[o] = chg[b]
        o += 1
    for t in range(a, nk):
        lst[o] = keep[t]
        o += 1
    return o


@njit(cache=True, _nrt=False)
def _snapshot(G, keys, snap):
    """Before E's moves enter the tables, keep what they held: the two shared entries go
    to ``snap`` (set, value), and every override is copied to the second half of
    ovi/ovf (the live overrides never fill more than the first half)."""
    Gv, Gset, Gcorr, ovi, ovf, nov = G
    for s_ in range(2):
        a, e, u = keys[3 * s_], keys[3 * s_ + 1], keys[3 * s_ + 2]
        snap[s_, 0] = 1.0 if Gset[a, e, u] else 0.0
        snap[s_, 1] = Gv[a, e, u]
    half = ovi.shape[0] // 2
    for t in range(nov[0]):
        ovi[half + t, 4] = ovi[t, 4]
        ovf[half + t] = ovf[t]


@njit(cache=True)
def _grown(ovi, ovf):
    """Four times the room for overrides: live entries stay in front, copies move to the
    new second half."""
    n = ovi.shape[0]
    h, h2 = n // 2, 2 * n
    ovi2 = np.zeros((4 * n, 5), np.int64)
    ovf2 = np.zeros(4 * n)
    # element loops, not slice assignment: the same copy without compiling numba's
    # broadcasting (and its error-message strings), which cost seconds of first-run compile
    for t in range(h):
        for col in range(5):
            ovi2[t, col] = ovi[t, col]
        ovf2[t] = ovf[t]
    for t in range(n - h):
        for col in range(5):
            ovi2[h2 + t, col] = ovi[h + t, col]
        ovf2[h2 + t] = ovf[h + t]
    return ovi2, ovf2


@njit(cache=True)
def _reread(E, G, snap, lst, start, pos, stamp, cint, cf, cs, x):
    """E, listed again, was recomputed against itself at list position ``pos`` and its
    voting positions changed. decide's candidates before that point took in E's old
    positions, the ones after take in the new: the shared tables get the new, and each
    earlier candidate that took in the old keeps it as an override of its own."""
    Gv, Gset, Gcorr, ovi, ovf, nov = G
    ei, ej, ep, eq = cint[C_I, E], cint[C_J, E], cint[C_P, E], cint[C_Q, E]
    half = ovi.shape[0] // 2
    n_before = nov[0]
    for s_ in range(2):
        if s_ == 0:
            a, e, u, y = ej, eq, ei, cf[F_YI, E]
        else:
            a, e, u, y = ei, ep, ej, cf[F_YJ, E]
        start_u = x[u, e]
        # earlier candidates with this demand and no entry of their own: the old value
        for t2 in range(start, pos):
            k2 = lst[t2]
            if cint[C_DONE, k2] != stamp:
                continue
            if not ((cint[C_I, k2] == a and cint[C_P, k2] == e)
                    or (cint[C_J, k2] == a and cint[C_Q, k2] == e)):
                continue
            have = False
            for t in range(nov[0]):
                if ovi[t, 0] == k2 and ovi[t, 1] == a and ovi[t, 2] == e and ovi[t, 3] == u:
                    have = True
                    break
            if have:
                continue
            if nov[0] >= half:
                ovi, ovf = _grown(ovi, ovf)
                half = ovi.shape[0] // 2
            t = nov[0]
            ovi[t, 0], ovi[t, 1], ovi[t, 2], ovi[t, 3] = k2, a, e, u
            ovi[t, 4] = 1 if Gset[a, e, u] else 0
            ovf[t] = Gv[a, e, u]
            nov[0] += 1
        # later candidates' own entries, and the shared one: from before E, with the new y
        for t in range(n_before):
            if ovi[t, 1] == a and ovi[t, 2] == e and ovi[t, 3] == u \
                    and cint[C_DONE, ovi[t, 0]] != stamp:
                ovf[t] = _kept(ovi[half + t, 4] == 1, ovf[half + t], y, start_u)
                ovi[t, 4] = 1
        new = _kept(snap[s_, 0] == 1.0, snap[s_, 1], y, start_u)
        Gcorr[a, e] += cs[u, e] * (new - (Gv[a, e, u] if Gset[a, e, u] else x[u, e]))
        Gset[a, e, u] = True
        Gv[a, e, u] = new
    return (Gv, Gset, Gcorr, ovi, ovf, nov)


# ---------------------------------------------------------------------------------------
# one round
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _round(x, s, c, pres, opt, mt, random_ties, rnd, log_f, log_i, nlog, record):
    """One round from normalised positions x [a, i]; returns voting and updated positions,
    the number of exchanges, and appends executed exchanges to the log when ``record``."""
    na, ni = x.shape
    cs = np.zeros((na, ni))
    W = np.zeros(ni)
    N = np.zeros(ni)
    for a in range(na):
        for e in range(ni):
            if pres[a, e]:
                cs[a, e] = c[a, e] * s[a, e]
                W[e] += cs[a, e]
                N[e] += cs[a, e] * x[a, e]
    O = np.zeros(ni)
    for e in range(ni):
        O[e] = N[e] / W[e] if W[e] != 0.0 else 0.0
    left = np.zeros((na, ni), np.bool_)
    for a in range(na):
        for e in range(ni):
            left[a, e] = pres[a, e] and x[a, e] <= O[e] + TOL

    # candidate list in decide's order: issue pairs, then A x D, then B x C
    grp = np.full(na, -1, np.int64)
    total = 0
    cnt = np.zeros(4, np.int64)
    for p in range(ni):
        for q in range(p + 1, ni):
            for g in range(4):
                cnt[g] = 0
            for a in range(na):
                if pres[a, p] and pres[a, q]:
                    cnt[int(left[a, p]) + 2 * int(left[a, q])] += 1
            total += cnt[0] * cnt[3] + cnt[1] * cnt[2]
    cint = np.zeros((NI, total), np.int32)
    cf = np.zeros((NF, total))
    k = 0
    for p in range(ni):
        for q in range(p + 1, ni):
            for a in range(na):
                grp[a] = int(left[a, p]) + 2 * int(left[a, q]) if (pres[a, p] and pres[a, q]) else -1
            for pair in range(2):
                g1, g2 = (0, 3) if pair == 0 else (1, 2)
                for a1 in range(na):
                    if grp[a1] != g1:
                        continue
                    for a2 in range(na):
                        if grp[a2] != g2:
                            continue
                        r1 = s[a1, p] / s[a1, q] if s[a1, q] != 0 else np.inf
                        r2 = s[a2, p] / s[a2, q] if s[a2, q] != 0 else np.inf
                        if r1 < r2:
                            cint[C_I, k], cint[C_J, k] = a2, a1
                        else:
                            cint[C_I, k], cint[C_J, k] = a1, a2
                        cint[C_P, k], cint[C_Q, k], cint[C_GRP, k] = p, q, pair
                        cint[C_MULT, k] = 1
                        k += 1
    n = total
    # index: candidates by (actor, issue) they involve
    head = np.zeros(na * ni + 1, np.int64)
    for k in range(n):
        for a, e in ((cint[C_I, k], cint[C_P, k]), (cint[C_I, k], cint[C_Q, k]),
                     (cint[C_J, k], cint[C_P, k]), (cint[C_J, k], cint[C_Q, k])):
            head[a * ni + e + 1] += 1
    for t in range(na * ni):
        head[t + 1] += head[t]
    fill = head[:-1].copy()
    idx = np.empty(4 * n, np.int64)
    for k in range(n):
        for a, e in ((cint[C_I, k], cint[C_P, k]), (cint[C_I, k], cint[C_Q, k]),
                     (cint[C_J, k], cint[C_P, k]), (cint[C_J, k], cint[C_Q, k])):
            idx[fill[a * ni + e]] = k
            fill[a * ni + e] += 1

    # private updates, kept once per (demanding actor, issue) since every candidate with
    # that demand takes in the same moves; a candidate that saw an executed deal before the
    # deal was recomputed keeps its older entry as an override (see _reread)
    G = (np.zeros((na, ni, na)), np.zeros((na, ni, na), np.bool_), np.zeros((na, ni)),
         np.zeros((64, 5), np.int64), np.zeros(64), np.zeros(1, np.int64))
    for k in range(n):
        cint[C_VALID, k] = 1
        cf[F_XI, k] = x[cint[C_I, k], cint[C_Q, k]]
        cf[F_XJ, k] = x[cint[C_J, k], cint[C_P, k]]
        _calculate(k, opt, mt, cf, cint, x, s, cs, N, W, G)

    # the list: entries are candidate ids (a candidate may be listed twice after a
    # random tie, as in decide)
    cap = n + 16
    lst = np.empty(cap, np.int64)
    keep = np.empty(cap, np.int64)
    keep_pos = np.empty(cap, np.int64)
    chg = np.empty(cap, np.int64)
    chg_pos = np.empty(cap, np.int64)
    sa = np.empty(cap, np.int64)
    sp = np.empty(cap, np.int64)
    for t in range(n):
        lst[t] = t
        keep_pos[t] = t
    gain = cf[F_GAIN, :]
    _sort_entries(lst, keep_pos, n, gain, sa, sp)
    m = n
    start = 0          # entries before `start` are popped
    realized = np.empty(max(n, 1) * 2, np.int64)
    nreal = 0
    pending = False
    stamp = 0
    snap = np.zeros((2, 2))            # the two shared entries E changed, as they were
    ordered = opt[0] > 0.0    # p > 0 draws u, v, z in every recomputation: keep list order
    while m - start > 0:
        if pending:
            # re-sort with appended entries (they sit at the end, flagged changed)
            m = _resort(lst, np.int64(start), np.int64(m), cint, gain, keep, keep_pos, chg,
                        chg_pos, KEEP_INVALID, sa, sp)
            start = 0
            pending = False
            if m == 0:
                break
        real = lst[start]
        start += 1
        tie = 0
        if random_ties and m - start > 0:
            nxt = lst[start]
            if abs(gain[real] - gain[nxt]) <= GAIN_TOL:
                tie = 1
                if _mt_random(mt) >= 0.5:
                    lst[m] = real           # first goes to the end, second executes
                    m += 1
                    real = nxt
                    start += 1
                    cint[C_CHG, lst[m - 1]] = 1
                else:
                    lst[m] = nxt            # decide appends the second again
                    m += 1
                    cint[C_MULT, nxt] += 1
                    cint[C_CHG, nxt] = 1
                pending = True
        cint[C_MULT, real] -= 1
        if cint[C_VALID, real] == 0:
            continue
        # execute
        E = real
        ei, ej, ep, eq = cint[C_I, E], cint[C_J, E], cint[C_P, E], cint[C_Q, E]
        if record:
            if nlog[0] >= log_f.shape[0]:
                return x, x, -1, nlog[0]
            r = nlog[0]
            log_i[r, K_ROUND] = rnd
            log_i[r, K_I] = ei
            log_i[r, K_J] = ej
            log_i[r, K_P] = ep
            log_i[r, K_Q] = eq
            log_i[r, K_GRP] = cint[C_GRP, E]
            log_i[r, K_CAPI] = cint[C_CAPI, E]
            log_i[r, K_CAPJ] = cint[C_CAPJ, E]
            log_i[r, K_TIE] = tie
            log_f[r, L_GAIN] = gain[E]
            log_f[r, L_DQ] = abs(cf[F_MI, E]) * cs[ei, eq] / W[eq]
            log_f[r, L_DP] = abs(cf[F_MJ, E]) * cs[ej, ep] / W[ep]
            log_f[r, L_XI] = cf[F_XI, E]
            log_f[r, L_MI] = cf[F_MI, E]
            log_f[r, L_YI] = cf[F_YI, E]
            log_f[r, L_XJ] = cf[F_XJ, E]
            log_f[r, L_MJ] = cf[F_MJ, E]
            log_f[r, L_YJ] = cf[F_YJ, E]
            log_f[r, L_O0I] = _outcome_with(E, eq, ei, ej, cf[F_XI, E], x, cs, N, W, G)
            log_f[r, L_O1I] = _outcome_with(E, eq, ei, ej, cf[F_YI, E], x, cs, N, W, G)
            log_f[r, L_O0J] = _outcome_with(E, ep, ej, ei, cf[F_XJ, E], x, cs, N, W, G)
            log_f[r, L_O1J] = _outcome_with(E, ep, ej, ei, cf[F_YJ, E], x, cs, N, W, G)
            nlog[0] += 1
        realized[nreal] = E
        nreal += 1
        if nreal >= realized.shape[0]:
            bigger = np.empty(realized.shape[0] * 2, np.int64)
            for t in range(nreal):     # a loop, not a slice copy (see _grown)
                bigger[t] = realized[t]
            realized = bigger
        yi, yj = cf[F_YI, E], cf[F_YJ, E]
        # E still listed (decide's tie duplication) is recomputed against itself in the
        # sweep, and candidates after it read its new voting positions: keep list order
        # and what the two tables held before E
        again = cint[C_MULT, E] > 0
        if again:
            _snapshot(G, (ej, eq, ei, ei, ep, ej), snap)
        _set_update(ej, eq, ei, yi, x[ei, eq], cs, x, G)
        _set_update(ei, ep, ej, yj, x[ej, ep], cs, x, G)
        # recompute the candidates that share an actor-and-issue with E (found through the
        # index; a candidate listed twice is recomputed twice, as in decide's sweep). With
        # p > 0 each recomputation draws u, v, z, so they run in the list's order as decide's
        # sweep runs them; otherwise the order cannot matter
        stamp += 1
        for a, e in ((ei, ep), (ei, eq), (ej, ep), (ej, eq)):
            for t in range(head[a * ni + e], head[a * ni + e + 1]):
                kk = idx[t]
                if cint[C_STAMP, kk] == stamp:
                    continue
                cint[C_STAMP, kk] = stamp
                if ordered or again or cint[C_MULT, kk] <= 0 or cint[C_VALID, kk] == 0:
                    continue
                for _rep in range(cint[C_MULT, kk]):
                    if cint[C_VALID, kk] == 0:
                        break
                    if _recalculate(kk, E, opt, mt, cf, cint, x, s, cs, N, W, G):
                        cint[C_CHG, kk] = 1
        if ordered or again:
            for t in range(start, m):
                kk = lst[t]
                if cint[C_STAMP, kk] != stamp or cint[C_VALID, kk] == 0:
                    continue
                if kk == E:
                    y0i, y0j = cf[F_YI, E], cf[F_YJ, E]
                    if _recalculate(E, E, opt, mt, cf, cint, x, s, cs, N, W, G):
                        cint[C_CHG, E] = 1
                    if cf[F_YI, E] != y0i or cf[F_YJ, E] != y0j:
                        G = _reread(E, G, snap, lst, start, t, stamp, cint, cf, cs, x)
                    continue
                if _recalculate(kk, E, opt, mt, cf, cint, x, s, cs, N, W, G):
                    cint[C_CHG, kk] = 1
                cint[C_DONE, kk] = stamp
        # drop the invalid, merge the changed back in
        m = _resort(lst, np.int64(start), np.int64(m), cint, gain, keep, keep_pos, chg,
                    chg_pos, DROP_INVALID, sa, sp)
        start = 0
        pending = False

    # end of round: voting positions, then the preference update
    vote = x.copy()
    for t in range(nreal):
        E = realized[t]
        vote[cint[C_I, E], cint[C_Q, E]] = cf[F_YI, E]
        vote[cint[C_J, E], cint[C_P, E]] = cf[F_YJ, E]
    new = x.copy()
    for t in range(nreal):
        E = realized[t]
        for a, e, y in ((cint[C_I, E], cint[C_Q, E], cf[F_YI, E]),
                        (cint[C_J, E], cint[C_P, E], cf[F_YJ, E])):
            sal = s[a, e]
            new[a, e] = ((1.0 - sal) * SALIENCE_WEIGHT * y + FIXED_WEIGHT * y
                         + (1.0 - (1.0 - sal) * SALIENCE_WEIGHT - FIXED_WEIGHT) * x[a, e])
    return vote, new, nreal, nlog[0]


@njit(cache=True)
def _outcomes(x, cs_w, pres):
    na, ni = x.shape
    out = np.zeros(ni)
    for e in range(ni):
        w = 0.0
        num = 0.0
        for a in range(na):
            if pres[a, e]:
                w += cs_w[a, e]
                num += cs_w[a, e] * x[a, e]
        out[e] = num / w if w != 0.0 else 0.0
    return out


@njit(cache=True, _nrt=False)
def _put(dst, k, r, src):
    """dst[k, r] = src, as a loop (see _grown)."""
    for a in range(src.shape[0]):
        for e in range(src.shape[1]):
            dst[k, r, a, e] = src[a, e]


@njit(cache=True, nogil=True)
def _run_batch(x0, s, c, pres, rounds, opt, random_ties, seeds, log_f, log_i, record):
    """All draws, all rounds. x0, s, c: [d, a, i] (normalised positions)."""
    d, na, ni = x0.shape
    pref = np.empty((d, rounds + 1, na, ni))
    vote = np.empty((d, rounds + 1, na, ni))
    nex = np.zeros((d, rounds + 1), np.int64)
    nlog = np.zeros(1, np.int64)
    status = 0
    mt = np.empty(625, np.int64)
    for k in range(d):
        _mt_seed(mt, seeds[k])
        x = x0[k].copy()
        _put(pref, k, np.int64(0), x)
        _put(vote, k, np.int64(0), x)
        for r in range(1, rounds + 1):
            v, xn, ne, _nl = _round(x, s[k], c[k], pres, opt, mt, random_ties, r, log_f,
                                    log_i, nlog, record and k == 0)
            if ne < 0:
                status = -1
                return pref, vote, nex, nlog[0], status
            _put(vote, k, r, v)
            _put(pref, k, r, xn)
            nex[k, r] = ne
            x = xn
    return pref, vote, nex, nlog[0], status


def _per_run_loop() -> bool:
    """``ACCORD_EXCHANGE_LOOP=1`` forces the old path: one compiled call per run (per draw),
    in one thread. Same draws, same streams, same bytes; kept for the benchmark's ratio."""
    return os.environ.get("ACCORD_EXCHANGE_LOOP", "") not in ("", "0")


def _workers(d: int) -> int:
    """Threads for a batch of d draws: one per usable core, none for small batches."""
    from .._threads import cores

    return max(1, min(cores(), d // 16))


def _run_draws(x0, s, c, pres, rounds, opt, random_ties, seeds, log_f, log_i, record):
    """``_run_batch`` over all draws: draws are independent (each has its own random stream),
    so contiguous blocks of draws run on a thread per core (the compiled loop releases the
    GIL) and are concatenated in order: the same bytes as one call. Draw 0 (the recorded
    one) is in the first block."""
    d = x0.shape[0]
    if _per_run_loop():
        blocks = [(k, k + 1) for k in range(d)]
        workers = 1
    else:
        workers = _workers(d)
        edges = np.linspace(0, d, workers + 1).round().astype(int)
        blocks = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    if len(blocks) == 1:
        return _run_batch(x0, s, c, pres, rounds, opt, random_ties, seeds, log_f, log_i, record)
    dummy_f, dummy_i = np.zeros((1, LF)), np.zeros((1, LI), np.int64)

    def job(block):
        a, b = block
        first = a == 0
        return _run_batch(x0[a:b], s[a:b], c[a:b], pres, rounds, opt, random_ties, seeds[a:b],
                          log_f if first else dummy_f, log_i if first else dummy_i,
                          record and first)

    from .._threads import map_ordered

    parts = map_ordered(job, blocks, workers)
    pref = np.concatenate([q[0] for q in parts])
    vote = np.concatenate([q[1] for q in parts])
    nex = np.concatenate([q[2] for q in parts])
    return pref, vote, nex, parts[0][3], parts[0][4]


# ---------------------------------------------------------------------------------------
# Python edge: normalisation, labels, records
# ---------------------------------------------------------------------------------------
def _normalise(v, lo, hi):
    """decide's normalisation to 0-100 per issue (a zero-width scale maps to 0)."""
    width = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        step = np.where(width != 0, 100.0 / np.where(width != 0, width, 1.0), 0.0)
        return (v - lo) * step


def _denormalise(v, lo, hi):
    width = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        step = np.where(width != 0, 100.0 / np.where(width != 0, width, 1.0), 0.0)
        out = np.where(step != 0, v / np.where(step != 0, step, 1.0) + lo, lo)
    return np.where(np.isnan(v), np.nan, out)


def run_exchange(inputs: Inputs, *, rounds: int = 10, rng=None, p: float = 0.0,
                 random_ties: bool = False, power: np.ndarray | None = None,
                 record: bool = True, python_seed: int | None = None) -> Outcome:
    """Run the exchange model on a batch of draws (one compiled call for all of them).

    ``p`` > 0 is the randomized equal-gain variant; ``random_ties`` breaks exact gain ties
    by a coin flip (decide's default) instead of list order. ``power`` ([d, a, i] or
    [a, i]) is decide's per-issue power; by default ``inputs.power`` if present, else each
    actor's capability on every issue. ``record`` keeps draw 0's exchanges for
    ``round_records`` and :func:`trades_frame`. Every draw has its own Python-compatible
    random stream: seeded with ``python_seed + k`` when given (draw k then flips the coins
    decide flips after ``random.seed(python_seed + k)``), else from ``rng``.

    Returns an Outcome whose ``positions[:, r]`` are the voting positions of round r and
    ``forecast[:, r]`` their outcome (decide's "voting MDS"; round 0 = the input).
    ``extra`` has the preference positions at the start of each round, the positions after
    the end-of-round update, their outcomes and the number of exchanges per round.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    d, na, ni = inputs.shape
    lo, hi = np.asarray(inputs.low, float), np.asarray(inputs.high, float)
    pres = ~np.isnan(inputs.position[0])
    if d > 1 and not np.array_equal(~np.isnan(inputs.position), np.broadcast_to(pres, (d, na, ni))):
        raise ValueError("the exchange model needs the same actors on each issue in every draw")
    if power is None:
        power = getattr(inputs, "power", None)
    if power is None:
        c = np.broadcast_to(np.asarray(inputs.capability, float)[:, :, None], (d, na, ni))
    else:
        c = np.broadcast_to(np.asarray(power, float), (d, na, ni))
    x0 = np.where(pres, _normalise(inputs.position, lo, hi), 0.0)
    s = np.where(pres, np.nan_to_num(inputs.salience), 0.0)
    c = np.where(pres, c, 0.0)
    dead = np.flatnonzero(((c * s).sum(axis=1) <= 0).any(axis=0))
    if dead.size:
        raise ValueError(f"exchange: issue {inputs.issues[dead[0]]!r} has no weight: salience × "
                         "power is 0 for every actor on it, so its outcome (their weighted "
                         "mean) is undefined; expected at least one actor with positive "
                         "salience and power there")
    # C order whatever the caller's layout: one compiled signature (the one _compile caches;
    # a Fortran-ordered presence mask once made the first run compile the sequence twice)
    x0 = np.ascontiguousarray(x0, float)
    s = np.ascontiguousarray(s, float)
    c = np.ascontiguousarray(c, float)
    pres = np.ascontiguousarray(pres)
    seeds = (np.arange(d, dtype=np.int64) + int(python_seed) if python_seed is not None
             else rng.integers(0, 2**63 - 1, size=d))
    cap = int(rounds) * 2 * na * ni + 1024 if record else 1
    while True:
        log_f = np.zeros((cap, LF))
        log_i = np.zeros((cap, LI), np.int64)
        pref, vote, nex, nlog, status = _run_draws(x0, s, c, pres, int(rounds),
                                                   np.array([float(p)]),
                                                   bool(random_ties), seeds, log_f, log_i,
                                                   bool(record))
        if status == 0:
            break
        cap *= 8
    cs = c * s
    nanmask = np.where(pres, 0.0, np.nan)
    pref_u = _denormalise(pref + nanmask, lo, hi)
    vote_u = _denormalise(vote + nanmask, lo, hi)
    mds_vote = _batch_outcomes(vote, cs, pres)
    mds_pref = _batch_outcomes(pref, cs, pres)
    forecast = _denormalise(mds_vote, lo, hi)
    start = np.concatenate([pref[:, :1], pref[:, :-1]], axis=1)
    mds_start = _denormalise(_batch_outcomes(start, cs, pres), lo, hi)
    extra = {
        "preference_positions": _denormalise(start + nanmask, lo, hi),
        "positions_after_update": pref_u,
        "mds_preference": mds_start,
        "mds_after_update": _denormalise(mds_pref, lo, hi),
        "n_exchanges": nex,
    }
    log = _log_frame(log_f[:nlog], log_i[:nlog], inputs, lo, hi) if record else None
    records = None
    if record:
        by_round: dict[int, list] = {}
        for e in log:
            by_round.setdefault(e["round"], []).append(e)
        records = []
        for r in range(rounds + 1):
            rec = {
                "preference_positions": _pos_dict(extra["preference_positions"][0, r], inputs),
                "voting_positions": _pos_dict(vote_u[0, r], inputs),
                "positions_after_update": _pos_dict(pref_u[0, r], inputs),
                "mds_preference": _iss_dict(mds_start[0, r], inputs),
                "mds_voting": _iss_dict(forecast[0, r], inputs),
                "mds_after_update": _iss_dict(extra["mds_after_update"][0, r], inputs),
                "n_exchanges": int(nex[0, r]),
                "exchanges": by_round.get(r, []),
            }
            records.append(rec)
    return Outcome(positions=vote_u, forecast=forecast,
                   stop_reason=np.full(d, "max_rounds", dtype=object),
                   rounds_run=np.full(d, rounds, int), round_records=records, extra=extra,
                   summary={"p": float(p), "random_ties": bool(random_ties),
                            "forecast_is": "mds_voting"})


@njit(cache=True)
def _batch_outcomes(pos, cs, pres):
    d, r1, na, ni = pos.shape
    out = np.zeros((d, r1, ni))
    for k in range(d):
        for r in range(r1):
            for e in range(ni):     # _outcomes, written in place (see _grown)
                w = 0.0
                num = 0.0
                for a in range(na):
                    if pres[a, e]:
                        w += cs[k, a, e]
                        num += cs[k, a, e] * pos[k, r, a, e]
                out[k, r, e] = num / w if w != 0.0 else 0.0
    return out


def _pos_dict(arr, inputs):
    rows = arr.tolist()
    return {a: {i: v for i, v in zip(inputs.issues, row) if v == v}
            for a, row in zip(inputs.actors, rows)}


def _iss_dict(arr, inputs):
    return dict(zip(inputs.issues, arr.tolist()))


def _log_frame(log_f, log_i, inputs, lo, hi):
    """Executed exchanges of draw 0 as JSON-ready dicts (positions in issue units)."""
    if len(log_i) == 0:
        return []
    p, q = log_i[:, K_P], log_i[:, K_Q]
    unit = {}
    for col, iss in ((L_XI, q), (L_YI, q), (L_O0I, q), (L_O1I, q),
                     (L_XJ, p), (L_YJ, p), (L_O0J, p), (L_O1J, p)):
        unit[col] = _denormalise(log_f[:, col], lo[iss], hi[iss]).tolist()
    f = log_f.tolist()
    g = log_i.tolist()
    actors, issues = inputs.actors, inputs.issues
    out = []
    seq = 0
    last_round = -1
    for n, (fr, gr) in enumerate(zip(f, g)):
        rnd = gr[K_ROUND]
        seq = seq + 1 if rnd == last_round else 1
        last_round = rnd
        i, j, ip, iq = gr[K_I], gr[K_J], gr[K_P], gr[K_Q]
        out.append({
            "round": rnd, "seq": seq, "i": actors[i], "j": actors[j],
            "issue_pair": [issues[ip], issues[iq]],
            "groups": ["a", "d"] if gr[K_GRP] == 0 else ["b", "c"],
            "gain": fr[L_GAIN], "dp_norm": fr[L_DP], "dq_norm": fr[L_DQ],
            "coin_flip": bool(gr[K_TIE]),
            "i_side": {"actor": actors[i], "supply_issue": issues[iq], "demand_issue": issues[ip],
                       "x": unit[L_XI][n], "move_norm": fr[L_MI], "y": unit[L_YI][n],
                       "mds_supply_before": unit[L_O0I][n], "mds_supply_after": unit[L_O1I][n],
                       "adjusted_by_mds_cap": bool(gr[K_CAPI])},
            "j_side": {"actor": actors[j], "supply_issue": issues[ip], "demand_issue": issues[iq],
                       "x": unit[L_XJ][n], "move_norm": fr[L_MJ], "y": unit[L_YJ][n],
                       "mds_supply_before": unit[L_O0J][n], "mds_supply_after": unit[L_O1J][n],
                       "adjusted_by_mds_cap": bool(gr[K_CAPJ])},
        })
    return out


def inputs_from_scenario(scenario) -> Inputs:
    """The scenario's inputs; decide's per-issue power travels as ``Inputs.power``."""
    return scenario.inputs()


def trades_frame(outcome_or_records, rounds: "int | None" = None, red_lines=None):
    """The realised exchanges as package deals: one row per (issue pair, actor pair),
    summed over rounds, most valuable (total gain) first.

    Takes an :class:`Outcome` of the exchange model (draw 0) or its ``round_records``.
    ``red_lines`` maps (actor, issue) to (low, high) (None: open): a package in which a
    supplier's new voting position leaves its red line is marked in ``crosses_red_line``
    (the model itself trades as Stokman & Van Oosten wrote it; the red line says which of its
    trades the actor could not sign).
    """
    import pandas as pd

    records = getattr(outcome_or_records, "round_records", outcome_or_records) or []
    rows = []
    for rec in records:
        for e in rec.get("exchanges", []):
            if rounds is not None and e["round"] > rounds:
                continue
            pair = sorted([e["i"], e["j"]])
            crossed = []
            for side in (e["i_side"], e["j_side"]):
                lo, hi = (red_lines or {}).get((side["actor"], side["supply_issue"]), (None, None))
                if (lo is not None and side["y"] < lo - 1e-9) or (hi is not None and side["y"] > hi + 1e-9):
                    crossed.append(f"{side['actor']}:{side['supply_issue']}")
            rows.append({
                "crosses_red_line": ", ".join(crossed),
                "issue_p": e["issue_pair"][0], "issue_q": e["issue_pair"][1],
                "actor_1": pair[0], "actor_2": pair[1],
                "gives_p": e["j"], "gives_q": e["i"],
                "round": e["round"], "gain": e["gain"],
                "move_on_p": e["j_side"]["y"] - e["j_side"]["x"],
                "move_on_q": e["i_side"]["y"] - e["i_side"]["x"],
            })
    cols = ["issue_p", "issue_q", "actor_1", "actor_2", "exchanges", "rounds", "total_gain",
            "mean_gain", "gives_p", "gives_q", "move_on_p", "move_on_q", "crosses_red_line"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows)
    g = df.groupby(["issue_p", "issue_q", "actor_1", "actor_2"], sort=False)
    out = g.agg(exchanges=("gain", "size"), rounds=("round", lambda r: ",".join(map(str, sorted(set(r))))),
                total_gain=("gain", "sum"), mean_gain=("gain", "mean"),
                gives_p=("gives_p", lambda v: "/".join(dict.fromkeys(v))),
                gives_q=("gives_q", lambda v: "/".join(dict.fromkeys(v))),
                move_on_p=("move_on_p", "sum"), move_on_q=("move_on_q", "sum"),
                crosses_red_line=("crosses_red_line",
                                  lambda v: ", ".join(dict.fromkeys(x for x in v if x)))).reset_index()
    return out.sort_values("total_gain", ascending=False, kind="stable").reset_index(drop=True)[cols]


def _run(inputs: Inputs, *, rounds: int, rng, p: float = 0.0, random_ties: bool = True,
         python_seed: int | None = None) -> Outcome:
    return run_exchange(inputs, rounds=rounds, rng=rng, p=p, random_ties=random_ties,
                        python_seed=python_seed)


def _max_size(d: int, a: int, i: int) -> str | None:
    """Refuse up front what would run for hours: candidates ~ C(i,2)·a²/4 per draw and round,
    ~2.5 µs and ~200 bytes each (measured: 50 actors × 20 issues, 10 rounds in ~3 CPU-s)."""
    cand = i * (i - 1) / 2 * a * a / 4
    if d * cand > 5e8:
        return (f"the exchange model on {d} draws × {a} actors × {i} issues has about "
                f"{d * cand:.2g} candidate deals per round: about {d * cand * 2.5e-6 / 60:.0f} "
                f"CPU-minutes and {d * cand * 200 / 2**30:.1f} GiB per round (limit 5e8 "
                "candidates); reduce the draws or the actors")
    return None


SPECS = (
    ModelSpec(
        name="exchange",
        title="Exchange model (Stokman & Van Oosten 1994; decide-exchange-model)",
        citation=("Stokman, F. N. & Van Oosten, R. (1994). The exchange of voting positions. "
                  "In Bueno de Mesquita & Stokman (eds.), European Community Decision Making, "
                  "105-127. Randomized variant: Dijkstra, Van Assen, Stokman & Draaijer (2018)."),
        run=_run,
        params=(
            Param("p", 0.0, "randomized equal gain (Dijkstra et al. 2018): share of the gain "
                  "that may shift to one side; 0 = equal gain"),
            Param("random_ties", True, "break exact gain ties by a coin flip as decide does "
                  "(False: the earlier candidate wins)", bool),
            Param("python_seed", None, "draw k flips its coins (and draws u, v, z) from "
                  "Python's random.seed(python_seed + k), the stream decide uses after that "
                  "call; unset: streams seeded from --seed", int),
        ),
        presets={"decide": {"random_ties": True, "p": 0.0},
                 "decide_deterministic": {"random_ties": False, "p": 0.0}},
        default_preset="decide",
        dynamic=True,
        default_rounds=10,
        stochastic=True,
        doc=__doc__ or "",
        max_size=_max_size,
    ),
)


def _compile() -> None:
    """Compile (and cache) the compiled sequence for the types every run uses; see _warm."""
    inp = Inputs.from_arrays([1.0, 1.0, 2.0], [[0, 100], [100, 0], [50, 40]],
                             [[0.9, 0.2], [0.2, 0.9], [0.5, 0.5]], low=[0, 0], high=[100, 100])
    run_exchange(inp, rounds=1, rng=0, random_ties=True)
