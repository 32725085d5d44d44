"""The expected-utility model (preset scholz_code): accord's batched engine against a faithful
plain-Python per-dyad implementation of the same preset (bench/_bdm_naive.py), in one run.

    python bench/bdm.py [--repeat 3] [--naive-n300]

Workloads (issue 10): 10 rounds at n = 10, 30, 100, 300 actors on one issue; 10^4 Monte-Carlo
draws of the EU emissions case x 10 rounds; 10^3 draws at n = 100 x 10 rounds. accord times are
the best of --repeat runs (wall clock; CPU time beside it, since the machine is shared). The
naive code is timed in full where that takes seconds and extrapolated otherwise (the column
says how). Deviations: the largest |accord - naive| position over every round both computed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import _bdm_naive as naive  # noqa: E402

from accord.models import Inputs, run  # noqa: E402
from accord.scenario import load  # noqa: E402

PRESET = "scholz_code"
TARGETS = {"n=100": 0.05, "EU 10^4 draws": 1.0, "n=100 10^3 draws": 30.0}


def random_case(n: int, draws: int = 1, seed: int = 0) -> Inputs:
    """Actors with positions on 0-100, capability 0.05-1, salience 0.1-1."""
    rng = np.random.default_rng(seed)
    return Inputs.from_arrays(rng.uniform(0.05, 1.0, (draws, n)),
                              rng.uniform(0.0, 100.0, (draws, n, 1)),
                              rng.uniform(0.1, 1.0, (draws, n, 1)), low=[0.0], high=[100.0])


def eu_draws(draws: int, seed: int = 0) -> Inputs:
    """Monte-Carlo draws of the EU case: positions +-N(0, 0.5) in [4, 10], salience and
    capability x U(0.8, 1.2) (salience kept in [0, 1])."""
    base = load("eu-emissions").inputs()
    rng = np.random.default_rng(seed)
    a = len(base.actors)
    x = np.clip(base.position[0, :, 0] + rng.normal(0, 0.5, (draws, a)), 4.0, 10.0)
    s = np.clip(base.salience[0, :, 0] * rng.uniform(0.8, 1.2, (draws, a)), 0.0, 1.0)
    c = base.capability[0] * rng.uniform(0.8, 1.2, (draws, a))
    return Inputs.from_arrays(c, x[..., None], s[..., None], low=base.low, high=base.high,
                              actors=base.actors, issues=base.issues)


def timed(fn, repeat: int):
    best_wall, best_cpu, out = np.inf, np.inf, None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu, out


def accord_run(inputs: Inputs):
    return run("bdm", inputs, preset=PRESET, rounds=10)[0]


def naive_run(inputs: Inputs, k: int, rounds: int = 10):
    return naive.run(inputs.position[k, :, 0], inputs.capability[k], inputs.salience[k, :, 0],
                     rounds)


def deviation(out, inputs: Inputs, draws, rounds: int = 10) -> float:
    worst = 0.0
    for k in draws:
        traj = np.array(naive_run(inputs, k, rounds))
        worst = max(worst, float(np.abs(out.positions[k, :rounds + 1, :, 0] - traj).max()))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--naive-n300", action="store_true",
                    help="time the naive code for one full round at n = 300 (minutes)")
    args = ap.parse_args()
    accord_run(random_case(10))  # warm up
    rows = []

    # 10 rounds on one issue at n actors
    naive_round = {}
    for n in (10, 30, 100, 300):
        inputs = random_case(n, seed=n)
        wall, cpu, out = timed(lambda: accord_run(inputs), args.repeat)
        if n <= 30:
            t_naive, _, _ = timed(lambda: naive_run(inputs, 0), 1)
            how = "full"
            dev = deviation(out, inputs, [0])
            naive_round[n] = t_naive / 10
        elif n == 100 or args.naive_n300:
            t1, _, _ = timed(lambda: naive_run(inputs, 0, 1), 1)
            naive_round[n] = t1
            t_naive, how = 10 * t1, "1 round x 10"
            dev = deviation(out, inputs, [0], 1)
        else:
            t_naive = 10 * naive_round[100] * (n / 100) ** 3
            how, dev = "n^3 from n=100", float("nan")
        rows.append((f"n={n}", f"10 rounds, rounds run {int(out.rounds_run[0])}", wall, cpu,
                     t_naive, how, dev))

    # 10^4 Monte-Carlo draws of the EU case x 10 rounds
    inputs = eu_draws(10_000)
    wall, cpu, out = timed(lambda: accord_run(inputs), args.repeat)
    k = 100
    t_k, _, _ = timed(lambda: [naive_run(inputs, j) for j in range(k)], 1)
    dev = deviation(out, inputs, range(k))
    rows.append(("EU 10^4 draws", "10 actors x 10 rounds", wall, cpu, t_k * 10_000 / k,
                 f"{k} draws x {10_000 // k}", dev))

    # 10^3 draws at n = 100 x 10 rounds
    inputs = random_case(100, draws=1000, seed=1)
    wall, cpu, out = timed(lambda: accord_run(inputs), 1)
    rows.append(("n=100 10^3 draws", "10 rounds", wall, cpu, 1000 * 10 * naive_round[100],
                 "n=100 round x 10^4", float("nan")))

    print(f"bdm preset {PRESET}, numpy {np.__version__}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    head = (f"{'workload':<18}{'':<30}{'accord s':>10}{'cpu s':>9}{'naive s':>12}"
            f"{'naive timing':>22}{'ratio':>10}{'max |dev|':>11}{'target':>9}")
    print(head)
    print("-" * len(head))
    for name, what, wall, cpu, t_naive, how, dev in rows:
        target = TARGETS.get(name)
        mark = "" if target is None else (f"<{target:g} " + ("ok" if wall < target else "MISS"))
        print(f"{name:<18}{what:<30}{wall:>10.4f}{cpu:>9.3f}{t_naive:>12.2f}{how:>22}"
              f"{t_naive / wall:>9.0f}x{dev:>11.1e}{mark:>12}")


if __name__ == "__main__":
    main()
