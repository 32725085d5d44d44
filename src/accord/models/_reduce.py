"""numpy's reductions and stable sort in compiled code, in numpy's own order, so that a compiled
path gives the bytes of the array path it replaces (``smp_kernel``, ``bdm_kernel``)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, _nrt=False)
def _pwsum(a, n):  # pragma: no cover - compiled
    """numpy's sum of ``a[:n]``: pairwise, eight accumulators, blocks of 128."""
    if n < 8:
        res = 0.0
        for k in range(n):
            res += a[k]
        return res
    if n <= 128:
        r0, r1, r2, r3 = a[0], a[1], a[2], a[3]
        r4, r5, r6, r7 = a[4], a[5], a[6], a[7]
        i = 8
        while i < n - n % 8:
            r0 += a[i]
            r1 += a[i + 1]
            r2 += a[i + 2]
            r3 += a[i + 3]
            r4 += a[i + 4]
            r5 += a[i + 5]
            r6 += a[i + 6]
            r7 += a[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pwsum(a, n2) + _pwsum(a[n2:], n - n2)


@njit(cache=True, nogil=True, _nrt=False)
def _extremes(v, mask):  # pragma: no cover - compiled
    """(min, max) of ``v`` where ``mask`` holds, NaN if any such value is NaN (np.min, np.max)."""
    lo, hi = np.inf, -np.inf
    for k in range(v.shape[0]):
        if mask[k]:
            if v[k] != v[k] or lo != lo:
                lo = hi = np.nan
            else:
                lo = min(lo, v[k])
                hi = max(hi, v[k])
    return lo, hi


@njit(cache=True, nogil=True, _nrt=False)
def _before(a, b):  # pragma: no cover - compiled
    """numpy's order of floats in a sort: ``a < b``, with NaN after every number."""
    return a < b or (b != b and a == a)


@njit(cache=True, nogil=True, _nrt=False)
def _argsort_stable(x, out, ws):  # pragma: no cover - compiled
    """``np.argsort(x, kind="stable")`` written into ``out``; ``ws`` is int scratch of the same
    size. A stable sort under one order gives one permutation, so this is numpy's (and numba's)
    to the index. Insertion-sorted runs of 16, then merged bottom-up: numba's own mergesort
    would give the same, but compiling it (and the row assignment its result needs) made BDM's
    first compile 2.3 s longer."""
    n = x.shape[0]
    for i in range(n):
        out[i] = i
    run = 16
    for lo in range(0, n, run):
        for i in range(lo + 1, min(lo + run, n)):
            k = out[i]
            j = i
            while j > lo and _before(x[k], x[out[j - 1]]):
                out[j] = out[j - 1]
                j -= 1
            out[j] = k
    src, dst = out, ws
    in_ws = False
    width = run
    while width < n:
        for lo in range(0, n, 2 * width):
            mid, hi = min(lo + width, n), min(lo + 2 * width, n)
            i, j = lo, mid
            for k in range(lo, hi):
                if j >= hi or (i < mid and not _before(x[src[j]], x[src[i]])):
                    dst[k] = src[i]
                    i += 1
                else:
                    dst[k] = src[j]
                    j += 1
        src, dst = dst, src
        in_ws = not in_ws
        width *= 2
    if in_ws:
        for i in range(n):
            out[i] = ws[i]
