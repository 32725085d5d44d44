"""Benchmark: `accord outlook` on the flagship, 10^4 draws × 36 months × 10 levers.

    python bench/outlook.py [--draws 10000] [--horizon 36] [--loop-draws 60]

Prints, in one run:

* the flagship as bundled, without and with its levers (the 9 of levers.yaml + "none" = 10);
* the same with time at work: a copy of the flagship where every veto player pays a monthly
  cost of fighting, the front drifts and a deadline falls inside the horizon (the knots of
  the slack are then solved every `slack_step` months instead of once);
* the ratio against a loop over draws: the same algorithm called once per draw (one draw per
  view per call), timed on ``--loop-draws`` draws and compared per draw with the batched run.

Targets (issues 14, 18): 10^4 draws × 36 months × 10 levers < 10 s; 10^4 × 36 < 3 s.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import yaml

import accord
from accord.analysis.outlook import outlook
from accord.scenario import bundled


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def with_time_at_work(name: str) -> Path:
    """A copy of the bundled scenario with monthly costs, a drifting front and a deadline."""
    folder = Path(tempfile.mkdtemp()) / name
    shutil.copytree(bundled(name), folder)
    path = folder / "scenario.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["corpus"] = str((bundled(name) / doc["corpus"]).resolve()) if doc.get("corpus") else None
    first_issue = next(iter(doc["issues"]))
    doc["issues"][first_issue]["trend"] = {"value": 0.5, "range": [0.0, 1.0]}
    for actor in doc["actors"].values():
        if actor.get("veto"):
            actor["cost"] = {"value": 0.003, "range": [0.001, 0.005]}
    doc["events"] = [{"name": "deadline", "date": "2026-06-01", "until": "2026-07-31",
                      "hazard_ratio": 1.5}]
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--horizon", type=int, default=36)
    ap.add_argument("--loop-draws", type=int, default=60)
    args = ap.parse_args()
    flag = accord.load("ukraine-2025")
    levers = bundled("ukraine-2025") / "levers.yaml"
    timed_flag = accord.load(with_time_at_work("ukraine-2025"))
    outlook(flag, horizon=6, draws=60, seed=0, levers=levers)          # compile once
    outlook(timed_flag, horizon=6, draws=60, seed=0, levers=levers)
    n_views = len(flag.views)
    print(f"flagship: {n_views} views; {args.draws} draws in all; {args.horizon} months")
    rows = []
    for label, sc in (("as bundled", flag), ("time at work", timed_flag)):
        t0, _ = timed(lambda: outlook(sc, horizon=args.horizon, draws=args.draws, seed=0))
        t1, o = timed(lambda: outlook(sc, horizon=args.horizon, draws=args.draws, seed=0,
                                      levers=levers))
        rows.append((label, t0, t1, len(o.levers)))
        print(f"  {label:13s} no levers {t0:6.2f} s (target < 3 s)   "
              f"{len(o.levers)} levers {t1:6.2f} s (target < 10 s)")
    # a loop over draws: one call per draw (one draw per view), the same algorithm
    k = max(1, args.loop_draws // n_views)
    t_loop, _ = timed(lambda: [outlook(timed_flag, horizon=args.horizon, draws=n_views, seed=s,
                                       levers=levers) for s in range(k)])
    t_batch, _ = timed(lambda: outlook(timed_flag, horizon=args.horizon, draws=k * n_views,
                                       seed=0, levers=levers))
    per_loop = t_loop / (k * n_views)
    per_batch = rows[1][2] / args.draws
    print(f"loop over draws ({k * n_views} draws, 10 levers): {per_loop * 1e3:.1f} ms per draw; "
          f"batched ({args.draws} draws): {per_batch * 1e3:.3f} ms per draw; "
          f"ratio {per_loop / per_batch:.0f}x  (batched {k * n_views} draws: {t_batch:.2f} s)")


if __name__ == "__main__":
    main()
