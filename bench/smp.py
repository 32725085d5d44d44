"""Benchmark: accord's SMP against KTAB's C++ on KTAB's own 40-, 80- and 160-actor sets, and
10^3 Monte-Carlo draws of the 27-actor, 6-dimension set.

Run:  python bench/smp.py            (reads ../shared/reference/ktab or $ACCORD_REFERENCE)
      python bench/smp.py --quick    (a040 and a080 only, 100 draws)

KTAB's times are those of the reference README (§8: C API, no database logging, the same
2-vCPU machine kind) and of issue 5 (2.6 s, 31 s, ~11 min wall; 4, 58, ~1,200 CPU-s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from accord import models
from accord.analysis import montecarlo
from accord.models.spatial import simulate
from accord.scenario import io
from accord.scenario.model import Quantity

# data set: (KTAB wall s, KTAB CPU s), README §8 / issue 5
KTAB = {"dummyData-a040": (2.8, 4.0), "dummyData-a080": (36.0, 58.0),
        "dummyData-a160": (665.0, 1207.0)}
TARGET = {"dummyData-a080": 3.0, "dummyData-a160": 30.0}


def reference_dir() -> Path:
    env = os.environ.get("ACCORD_REFERENCE")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[1]
    return (here / ".." / "shared" / "reference").resolve()


def kinputs(path: Path):
    sc = io.read(path)
    inp = sc.inputs()
    return sc, inp.position / 100.0, inp.salience, inp.capability


def bench_set(ref: Path, name: str) -> bool:
    sc, x, sal, cap = kinputs(ref / "ktab" / f"{name}.csv")
    expected = json.loads((ref / "ktab" / f"{name}.expected.json").read_text())
    simulate(x[:, :4], sal[:, :4], cap[:, :4], rounds=2)          # compile/warm caches
    wall0, cpu0 = time.perf_counter(), time.process_time()
    res = simulate(x, sal, cap, rounds=100)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    turns = int(res["rounds_run"][0])
    names = [a["name"] for a in expected["actors"]]
    want = np.array([[t["positions"][n] for n in names] for t in expected["turns"]])
    got = res["positions"][0] * 100
    same_shape = got.shape == want.shape
    dev = float(np.abs(got - want).max()) if same_shape else float("nan")
    kw, kc = KTAB[name]
    per_turn = " ".join(f"{s:.2f}" for s in res["turn_seconds"])
    print(f"{name}: {len(names)} actors, {turns} turns (KTAB {expected['n_turns']}), "
          f"max |dev| from KTAB {dev:.2g} on 0-100")
    print(f"  per-turn s: {per_turn}  (mean {wall / max(turns, 1):.3f} s; KTAB mean "
          f"{kw / expected['n_turns']:.2f} s = its total / {expected['n_turns']} turns)")
    print(f"  accord total {wall:.2f} s wall, {cpu:.2f} s CPU | KTAB {kw:g} s wall, "
          f"{kc:g} s CPU | speed-up {kw / wall:.0f}x wall, {kc / cpu:.0f}x CPU")
    ok = same_shape and dev <= 1e-6
    if name in TARGET:
        hit = wall < TARGET[name]
        print(f"  target < {TARGET[name]:g} s: {'met' if hit else 'MISSED'}")
        ok = ok and hit
    return ok


def bench_montecarlo(ref: Path, draws: int) -> bool:
    sc = io.read(ref / "ktab" / "dummyData_6Dim.csv")
    # ranges: positions +-5 points (within 0-100), capabilities +-20 %
    stances = {}
    for key, s in sc.stances.items():
        v = s.position.value
        stances[key] = replace(s, position=replace(s.position, low=max(0.0, v - 5),
                                                   high=min(100.0, v + 5)))
    actors = tuple(replace(a, capability=Quantity(a.capability.value,
                                                  0.8 * a.capability.value,
                                                  1.2 * a.capability.value))
                   for a in sc.actors)
    ranged = replace(sc, stances=stances, actors=actors)
    inp = montecarlo.sample(ranged, draws, seed=2024)
    models.run("smp", inp.draw(0), rounds=2)                      # warm
    wall0, cpu0 = time.perf_counter(), time.process_time()
    out, _ = models.run("smp", inp, preset="ktab", seed=1)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    r = out.rounds_run
    print(f"Monte Carlo, dummyData_6Dim (27 actors x 6 dims): {draws} draws in {wall:.1f} s "
          f"wall, {cpu:.1f} s CPU ({draws / wall:.1f} draws/s); turns per draw "
          f"mean {r.mean():.1f}, max {r.max()}; stop reasons "
          f"{dict(zip(*np.unique(out.stop_reason.astype(str), return_counts=True)))}")
    spread = out.final.std(axis=0)
    print(f"  forecast spread (sd over draws, 0-100): {np.round(spread, 2).tolist()}")
    if draws == 1000:
        print(f"  target < 60 s: {'met' if wall < 60 else 'MISSED'}")
        return wall < 60
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--draws", type=int, default=None)
    args = ap.parse_args(argv)
    ref = reference_dir()
    if not (ref / "ktab").is_dir():
        print(f"reference data not found at {ref}; set ACCORD_REFERENCE", file=sys.stderr)
        return 2
    sets = ["dummyData-a040", "dummyData-a080"] + ([] if args.quick else ["dummyData-a160"])
    ok = all([bench_set(ref, s) for s in sets])
    ok = bench_montecarlo(ref, args.draws or (100 if args.quick else 1000)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
