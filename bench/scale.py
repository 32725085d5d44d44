"""Scale: a 500-actor × 50-issue scenario (accord CSV and YAML) loads, validates and runs every
baseline; and the flagship forecast with 10⁴ draws and the baselines, end to end from the CLI.

    python bench/scale.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import accord
from accord.scenario import io

BASELINES = ["status_quo", "mean", "compromise", "median", "nbs"]


def write_csv(path: Path, actors: int = 500, issues: int = 50, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    lines = ["actor,issue,position,salience,capability,status_quo"]
    for a in range(actors):
        cap = rng.uniform(1, 100)
        for i in range(issues):
            lines.append(f"a{a},i{i},{rng.uniform(0, 100):.2f},{rng.uniform(0, 1):.3f},{cap:.2f},50")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    for m in BASELINES:  # compile/import once, as a long-lived process would have
        accord.models.run(m, accord.load("eu-emissions").inputs())
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "big.csv"
        write_csv(csv)
        t0 = time.perf_counter()
        sc = io.read(csv)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        for m in BASELINES:
            accord.models.run(m, sc.inputs())
        t_run = time.perf_counter() - t0
        print(f"500 actors × 50 issues, accord CSV: load+validate {t_load:.2f} s, "
              f"5 baselines {t_run:.2f} s, total {t_load + t_run:.2f} s (target < 2 s)")
        yml = Path(tmp) / "big.yaml"
        io.write(sc, yml)
        t0 = time.perf_counter()
        io.read(yml)
        print(f"500 actors × 50 issues, accord YAML: load+validate {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "accord.cli", "forecast", "ukraine-2025", "--models",
                    "baselines", "--draws", "10000"], check=True, stdout=subprocess.DEVNULL)
    print(f"accord forecast ukraine-2025 --models baselines (10^4 draws × 6 views), "
          f"whole process: {time.perf_counter() - t0:.2f} s (target < 5 s)")


if __name__ == "__main__":
    main()
