"""Benchmark: a what-if sweep of 10^4 draws × 20 levers on the flagship with the baseline models.

    python bench/sweeps.py [--draws 10000] [--levers 20] [--no-dask]

The draws are spread over the flagship's views (10^4 in total, pooled into the ensemble); each
of the levers (the 9 of scenarios/ukraine-2025/levers.yaml plus generated ones: every actor's
capability +20 %, then every veto player's no-deal value -0.05) is applied to every draw, and
every baseline model and every deal's feasibility is evaluated on all of them. Prints the local
time (target < 30 s) and, unless --no-dask, runs the same sweep on a 2-worker dask
LocalCluster and checks the results are identical bit for bit.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import accord
from accord.analysis import sweeps
from accord.analysis.whatif import compile_levers, read_levers
from accord.scenario import bundled


def levers_text(sc, n: int) -> str:
    base = (bundled(sc.id) / "levers.yaml").read_text()
    extra = []
    for a in sc.actors:
        extra.append(f"  - name: {a.id}-stronger\n    changes:\n      {a.id}: {{capability: {{times: 1.2}}}}\n")
    for a in sc.actors:
        if a.veto:
            extra.append(f"  - name: {a.id}-needs-a-deal\n    changes:\n      {a.id}: {{no_deal: {{plus: -0.05}}}}\n")
    have = base.count("\n  - name: ")
    return base.rstrip("\n") + "\n" + "".join(extra[:max(0, n - have)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=10_000, help="draws in total (over all views)")
    ap.add_argument("--levers", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args()
    sc = accord.load("ukraine-2025")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "levers.yaml"
        path.write_text(levers_text(sc, args.levers))
        levers = compile_levers(sc, read_levers(path, sc))
    models = [n for n, s in accord.models.available().items() if not s.dynamic]
    per_view = math.ceil(args.draws / max(1, len(sc.views)))
    n_lev = levers.count - 1
    # warm up the compiled kernels (numba caches them on disk; the first run compiles)
    sweeps.run(sc, draws=2, seed=args.seed, levers=levers, models=models)
    t0 = time.perf_counter()
    local = sweeps.run(sc, draws=per_view, seed=args.seed, levers=levers, models=models)
    t_local = time.perf_counter() - t0
    problems = levers.count * len(local.views) * local.draws
    print(f"flagship: {len(local.views)} views × {local.draws} draws = "
          f"{len(local.views) * local.draws} draws; {n_lev} levers (+ none); models "
          f"{', '.join(local.models)}; deals {', '.join(local.deal_names)}")
    print(f"local: {t_local:.1f} s for {problems} negotiations "
          f"({problems / t_local:,.0f}/s); target < 30 s: {'ok' if t_local < 30 else 'MISSED'}")
    if args.no_dask:
        return
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        t0 = time.perf_counter()
        remote = sweeps.run(sc, draws=per_view, seed=args.seed, levers=levers, models=models,
                            backend="dask", client=client)
        t_dask = time.perf_counter() - t0
    same = all(local.final[m].tobytes() == remote.final[m].tobytes() for m in local.final) and \
        all(local.deals[d][k].tobytes() == remote.deals[d][k].tobytes()
            for d in local.deals for k in local.deals[d])
    print(f"dask (LocalCluster, 2 workers): {t_dask:.1f} s; identical to local bit for bit: "
          f"{'yes' if same else 'NO'}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
