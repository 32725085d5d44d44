"""A plain-Python, per-dyad-loop implementation of the ``scholz_code`` preset, for the benchmark.

Written from the specification in the reference README (A1-A13, Scholz's-code column), not
from accord's engine: lists and loops, O(n^3) voter sums per pass, no numpy. The grand-total
denominator is computed once per pass (the reference runs cache it the same way; uncached it
costs O(n^5) per round). It exists to measure what vectorising the same algorithm buys, and
doubles as an independent check of the engine (bench/bdm.py prints the largest deviation).
"""

from __future__ import annotations


def _eu(p: float, d: float, s_target: float, r: float) -> float:
    """E(U) of a challenge at normalised distance d, evaluated with risk exponent r (Q = 1)."""
    us = 2 - 4 * (0.5 - 0.5 * d) ** r
    uf = 2 - 4 * (0.5 + 0.5 * d) ** r
    usq = 2 - 4 * 0.5 ** r
    return s_target * (p * us + (1 - p) * uf) + (1 - s_target) * us - usq


def _probabilities(x, w, r, rg):
    """P[i][j]: positive support of voters for i over j, each voter's distances ** its r,
    divided by the grand total over all ordered pairs (Scholz's code, A3/A4)."""
    n = len(x)
    u = [[(abs(x[k] - x[b]) / rg) ** r[k] for b in range(n)] for k in range(n)]
    total = 0.0
    for k in range(n):
        for a in range(n):
            for b in range(n):
                total += abs(w[k] * (u[k][b] - u[k][a]))
    P = [[0.0] * n for _ in range(n)]
    if total == 0:
        return P
    for i in range(n):
        for j in range(n):
            if x[i] == x[j]:
                continue
            support = 0.0
            for k in range(n):
                support += max(0.0, w[k] * (u[k][j] - u[k][i]))
            P[i][j] = support / total
    return P


def one_round(x, c, s, rg):
    """One round from positions x; returns the new positions."""
    n = len(x)
    w = [c[k] * s[k] for k in range(n)]
    ones = [1.0] * n
    # pass 1, everyone risk neutral: danger levels -> risk exponents
    P1 = _probabilities(x, w, ones, rg)
    danger = []
    for i in range(n):
        total = 0.0
        for j in range(n):
            if j != i:
                total += _eu(P1[j][i], abs(x[j] - x[i]) / rg, s[i], 1.0)
        danger.append(total)
    hi, lo = max(danger), min(danger)
    if hi == lo:
        r = ones
    else:
        r = []
        for i in range(n):
            R = (2 * danger[i] - hi - lo) / (hi - lo)
            r.append((1 - R / 3.0) / (1 + R / 3.0))
    # pass 2: the receiver weighs both challenges with its own r (A5)
    P2 = _probabilities(x, w, r, rg)
    new = list(x)
    for i in range(n):
        best_conf = best_comp = None
        for j in range(n):
            if x[j] == x[i]:
                continue
            d = abs(x[i] - x[j]) / rg
            a = _eu(P2[i][j], d, s[j], r[i])
            b = _eu(P2[j][i], d, s[i], r[i])
            if b > a > 0:
                move = abs(x[i] - x[j])
                if best_conf is None or move < best_conf[0]:
                    best_conf = (move, x[j])
            elif b > 0 > a and b > abs(a):
                key = (abs(a) * x[i] + abs(b) * x[j]) / (abs(a) + abs(b))
                if best_comp is None or key < best_comp[0]:
                    best_comp = (key, x[i] + (x[j] - x[i]) * abs(a / b))
            # capitulation is unreachable in Scholz's code (A9)
        if best_conf is not None:
            new[i] = best_conf[1]
        elif best_comp is not None:
            new[i] = best_comp[1]
    return new


def run(x, c, s, rounds: int):
    """Positions after each round (round 0 = input); Rg = initial max - min, fixed (A1)."""
    x = [float(v) for v in x]
    rg = (max(x) - min(x)) or 1.0
    out = [list(x)]
    for _ in range(rounds):
        x = one_round(x, c, s, rg)
        out.append(list(x))
    return out
