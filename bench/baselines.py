"""Baselines on 10⁴ draws × 100 actors × 10 issues: one batched call against a Python loop over
draws (the same functions, one draw at a time), measured in the same run.

    python bench/baselines.py [--draws 10000] [--actors 100] [--issues 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from accord.models import Inputs, run

MODELS = ["status_quo", "mean", "compromise", "median", "nbs"]


def make(draws: int, actors: int, issues: int, seed: int = 0) -> Inputs:
    rng = np.random.default_rng(seed)
    return Inputs.from_arrays(rng.uniform(1, 100, (draws, actors)),
                              rng.uniform(0, 100, (draws, actors, issues)),
                              rng.uniform(0.05, 1, (draws, actors, issues)),
                              np.zeros(issues), np.full(issues, 100.0),
                              rng.uniform(0, 100, issues))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--actors", type=int, default=100)
    ap.add_argument("--issues", type=int, default=10)
    ap.add_argument("--loop-draws", type=int, default=1_000,
                    help="draws timed in the Python loop (scaled to --draws)")
    args = ap.parse_args()
    inputs = make(args.draws, args.actors, args.issues)
    for m in MODELS:  # compile and warm up
        run(m, inputs.draw(0))
    print(f"{args.draws} draws × {args.actors} actors × {args.issues} issues")
    print(f"{'model':<12}{'batched draws/s':>18}{'loop draws/s':>16}{'ratio':>9}")
    for m in MODELS:
        t0 = time.perf_counter()
        batch = run(m, inputs)[0].final
        t_batch = time.perf_counter() - t0
        k = min(args.loop_draws, args.draws)
        t0 = time.perf_counter()
        looped = np.stack([run(m, inputs.draw(j))[0].final[0] for j in range(k)])
        t_loop = (time.perf_counter() - t0) * args.draws / k
        assert np.array_equal(batch[:k], looped, equal_nan=True), m
        print(f"{m:<12}{args.draws / t_batch:>18,.0f}{args.draws / t_loop:>16,.0f}"
              f"{t_loop / t_batch:>8.1f}×")


if __name__ == "__main__":
    main()
