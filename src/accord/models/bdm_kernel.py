"""One BDM round compiled, for Scholz's code (presets ``scholz_code``, ``scholz_code_fixed``).

:func:`accord.models.expected_utility._step` writes a round as numpy operations over
``[lanes, actors, actors]``; with eleven actors numpy's per-call overhead set the model's time.
Here the same round runs lane by lane in compiled loops that release the GIL, in two parts
around the powers: numpy's ``power`` (vectorised, on CPUs with AVX-512) rounds differently from
the C library's ``pow`` that compiled code calls, in the last bit of about one result in
twenty, so the three powers of a round stay numpy calls between the two parts.

Same algorithm, same bytes: every formula keeps the operand order of the array path and every
sum numpy's order (a running sum over a middle axis and in ``cumsum``, the pairwise sum of
``_reduce._pwsum`` over a whole ``[actors, actors]`` block); ``tests/test_expected_utility``
checks the two paths for equality on random lanes. ``ACCORD_BDM_ARRAYS=1`` forces the array
path (``bench/mainjob.py`` times both).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._reduce import _argsort_stable, _extremes, _pwsum

RULES = {"p_numerator": "positive_voter_risk", "p_denominator": "grand_total",
         "perspective": "receiver", "qt_term": "omitted", "risk_normalisation": "actors",
         "offer_choice": "scholz_code", "equal_positions": "no_contest",
         "degenerate": "risk_neutral"}
"""The A1-A13 choices this module computes (Scholz's code); conflict, capitulation, Q and the
stopping rules are free."""


def compiles(cfg) -> bool:
    """True when ``cfg`` (an ``expected_utility.Config``) is one this module computes."""
    return all(getattr(cfg, k) == v for k, v in RULES.items())


@njit(cache=True, nogil=True, _nrt=False)
def _support(ut, w, order, cnt, lower, same, c, out):  # pragma: no cover - compiled
    """``expected_utility._support`` for one lane: prefix sums over the voters in position
    order (``c``: scratch ``[a, a + 1]``), then max(., 0)."""
    a = w.shape[0]
    for b in range(a):
        c[b, 0] = 0.0
        for m in range(a):
            k = order[m]
            c[b, m + 1] = ut[b, k] * w[k]
        for m in range(1, a + 1):           # np.cumsum: in order
            c[b, m] = c[b, m - 1] + c[b, m]
    for i in range(a):
        for j in range(a):
            if same[i, j]:
                v = 0.0
            else:
                k = cnt[i, j]
                v = c[j, k] - c[i, k]
                if not lower[i, j]:
                    v = (c[j, a] - c[i, a]) - v
            out[i, j] = v if (v >= 0.0 or v != v) else 0.0


@njit(cache=True, nogil=True)
def _scratch(a):  # pragma: no cover - compiled
    """One lane's work arrays, shared by its lanes: weights, pair flags, prefix sums, P."""
    return (np.empty(a), np.empty((a, a), np.bool_), np.empty((a, a), np.bool_),
            np.empty((a, a), np.bool_), np.empty((a, a + 1)), np.empty((a, a)), np.empty(a * a))


@njit(cache=True, nogil=True, _nrt=False)
def _lane(xl, c, s, pres, w, lower, same, valid):  # pragma: no cover - compiled
    """What both passes of a round read for one lane: weights c*s (0 for an absent actor),
    equal positions, order, valid pairs; returns whether every actor is present."""
    a = xl.shape[0]
    all_present = True
    for k in range(a):
        all_present = all_present and pres[k]
        w[k] = c[k] * s[k] if pres[k] else 0.0
    for i in range(a):
        for j in range(a):
            same[i, j] = abs(xl[i] - xl[j]) == 0
            lower[i, j] = xl[i] < xl[j]
            valid[i, j] = pres[i] and pres[j] and i != j
    return all_present


@njit(cache=True, nogil=True, _nrt=False)
def _probability(pos, valid, all_present, flat):  # pragma: no cover - compiled
    """P_ij = pos_ij / (2 * sum of pos), in place (grand total); 0 where nobody separates."""
    a = pos.shape[0]
    for i in range(a):
        for j in range(a):
            if not all_present:
                pos[i, j] = pos[i, j] * (1.0 if valid[i, j] else 0.0)
            flat[i * a + j] = pos[i, j]
    den = 2.0 * _pwsum(flat, a * a)
    if not den > 0:
        den = np.inf
    for i in range(a):
        for j in range(a):
            pos[i, j] = pos[i, j] / den


@njit(cache=True, nogil=True)
def first_pass(x, c, s, pres, rg, cnt):  # pragma: no cover - compiled
    """Geometry and the r = 1 pass of a round (Scholz's appendix), given the voters left of
    each midpoint ``cnt [L, a, a]`` (``expected_utility._mid_counts``): normalised distances
    ``d [L, a, a]``, voter order, risk exponents ``r [L, a]`` and the lanes whose danger
    levels are all equal."""
    L, a = x.shape
    d = np.empty((L, a, a))
    order = np.empty((L, a), np.int64)
    r = np.empty((L, a))
    degenerate = np.zeros(L, np.bool_)
    w, lower, same, valid, cs, P, flat = _scratch(a)
    S = np.empty(a)
    ws = np.empty(a, np.int64)
    for lane in range(L):
        xl = x[lane]
        all_present = _lane(xl, c[lane], s[lane], pres[lane], w, lower, same, valid)
        _argsort_stable(xl, order[lane], ws)
        for i in range(a):
            for j in range(a):
                d[lane, i, j] = abs(xl[i] - xl[j]) / rg[lane]
        _support(d[lane], w, order[lane], cnt[lane], lower, same, cs, P)
        _probability(P, valid, all_present, flat)
        # danger levels S_j: the sum over challengers i of E^i(U_ij) at r = 1
        for j in range(a):
            S[j] = 0.0
        for i in range(a):
            for j in range(a):
                dd = d[lane, i, j]
                half = 0.5 * dd
                us = (0.5 - half) * -4 + 2
                uf = (0.5 + half) * -4 + 2
                p = P[i, j]
                eu = ((p * us + (1 - p) * uf) * s[lane, j] + (1 - s[lane, j]) * us) - 0.0
                S[j] += eu if all_present else eu * (1.0 if valid[i, j] else 0.0)
        smin, smax = _extremes(S, pres[lane])
        span = smax - smin
        deg = not span > 0
        degenerate[lane] = deg
        safe = 1.0 if deg else span
        for k in range(a):
            R = 0.0 if deg else (2 * S[k] - smax - smin) / safe
            rk = (1 - R / 3.0) / (1 + R / 3.0)
            r[lane, k] = rk if pres[lane, k] else 1.0
    return d, order, r, degenerate


@njit(cache=True, nogil=True)
def second_pass(x, c, s, pres, order, cnt, dr, us, uf, usq, q, conflict,
                capitulation):  # pragma: no cover - compiled
    """The pass with the risk exponents and each receiver's choice of offer.

    ``dr [L, b, k]`` = d^r_k (each voter's own r), ``us``/``uf`` ``[L, i, j]`` the powers
    (0.5 -/+ d/2)^r_i and ``usq [L, i]`` 0.5^r_i, all from numpy. Returns ``kind``,
    ``toward``, ``new_x`` ``[L, a]`` and ``A``, ``B`` ``[L, a, a]``.
    """
    L, a = x.shape
    A = np.empty((L, a, a))
    B = np.empty((L, a, a))
    kind = np.empty((L, a), np.int64)
    toward = np.empty((L, a), np.int64)
    new_x = np.empty((L, a))
    w, lower, same, valid, cs, P, flat = _scratch(a)
    for lane in range(L):
        xl = x[lane]
        all_present = _lane(xl, c[lane], s[lane], pres[lane], w, lower, same, valid)
        _support(dr[lane], w, order[lane], cnt[lane], lower, same, cs, P)
        _probability(P, valid, all_present, flat)
        for i in range(a):
            sq = 2 - 4 * usq[lane, i]
            for j in range(a):
                u_s = us[lane, i, j] * -4 + 2
                u_f = uf[lane, i, j] * -4 + 2
                p = P[i, j]
                A[lane, i, j] = ((p * u_s + (1 - p) * u_f) * s[lane, j]
                                 + (1 - s[lane, j]) * u_s) - q * sq
                p = P[j, i]
                B[lane, i, j] = ((p * u_s + (1 - p) * u_f) * s[lane, i]
                                 + (1 - s[lane, i]) * u_s) - q * sq
        # each receiver i: conflict, then compromise, then capitulation (A8-A10); within the
        # best class the compromise with the smallest EU-weighted position, else the nearest
        for i in range(a):
            best, j_best, key_best = 4, 0, np.inf
            for j in range(a):
                contest = (not same[i, j]) if all_present else (valid[i, j] and not same[i, j])
                aij, bij = A[lane, i, j], B[lane, i, j]
                cls = 4
                comp = False
                if contest and bij > 0 and aij < 0:
                    if capitulation and bij < abs(aij):
                        cls = 3
                    if bij > abs(aij):
                        cls = 2
                        comp = True
                if conflict and contest and bij > aij and aij > 0:
                    cls = 1
                if comp:
                    key = (abs(aij) * xl[i] + abs(bij) * xl[j]) / (abs(aij) + abs(bij))
                else:
                    key = abs(xl[i] - xl[j])
                # the smallest key in the best class, first on ties (np.argmin: NaN first)
                if cls < best:
                    best, j_best, key_best = cls, j, key
                elif cls == best and key_best == key_best and (key < key_best or key != key):
                    j_best, key_best = j, key
            k = best if best < 4 else 0
            kind[lane, i] = k
            toward[lane, i] = j_best if k != 0 else -1
            xj = xl[j_best]
            if k == 2:
                new_x[lane, i] = xl[i] + (xj - xl[i]) * abs(A[lane, i, j_best] / B[lane, i, j_best])
            elif k != 0:
                new_x[lane, i] = xj
            else:
                new_x[lane, i] = xl[i]
    return kind, toward, new_x, A, B
