"""Fuzz every reader with the full budget and print the counts.

    nice python bench/fuzz.py                  # 10^4 inputs per reader
    nice python bench/fuzz.py -n 2000 --format yaml --format csv --seed 3

Each input is a valid file (template, accord writer output, or a peer's reference file read
in place) with up to three corruptions (see tests/test_fuzz.py, which holds the strategies
and runs a small derandomised budget in CI). An input ends as a Scenario, a located error
(every problem names file and line), an unlocated error, another exception (one the
reader's catch-all would have hidden as a vague error), or a timeout (5 s alarm). The
process's address space is capped, so a memory blow-up shows up as a MemoryError.
Exit status 1 when any input broke the contract.
"""

from __future__ import annotations

import argparse
import collections
import signal
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import test_fuzz as lib  # noqa: E402  (the strategies live with the CI test)


def _alarm(_signum, _frame):
    raise lib._Timeout()


def fuzz(fmt: str, n: int, seeds: list[bytes], workdir: Path, rng_seed: int):
    counts: collections.Counter[str] = collections.Counter()
    worst = [0.0, ""]
    failures: dict[str, tuple[str, str]] = {}
    path = workdir / f"input{lib.SUFFIX[fmt]}"

    @seed(rng_seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(lib.inputs(fmt, seeds))
    def one(case):
        valid, ops = case
        data = lib.corrupt(valid, ops)
        got = lib.run_one(path, fmt, data, alarm=5)
        counts["inputs"] += 1
        counts[got.kind] += 1
        if got.seconds > worst[0]:
            worst[:] = [got.seconds, lib.describe(data, ops)]
        if got.seconds >= lib.TIME_LIMIT:
            counts["slow"] += 1
            failures.setdefault(f"slow ({got.seconds:.1f} s)", ("", lib.describe(data, ops)))
        if got.kind not in ("scenario", "located"):
            key = got.detail.strip().splitlines()[-1][:160] if got.detail.strip() else got.kind
            if got.kind == "unlocated":
                key = "unlocated: " + key.split(": ", 1)[-1][:120]
            failures.setdefault(key, (got.detail, lib.describe(data, ops)))

    with lib.unguarded():
        one()
    return counts, worst, failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000, help="inputs per reader (default 10^4)")
    ap.add_argument("--format", action="append", choices=lib.FORMATS,
                    help="fuzz only these readers (repeatable)")
    ap.add_argument("--seed", type=int, default=0, help="hypothesis seed")
    ap.add_argument("--verbose", "-v", action="store_true", help="print each failure's traceback")
    args = ap.parse_args(argv)
    lib.memory_guard()
    signal.signal(signal.SIGALRM, _alarm)
    rows, all_failures = [], {}
    with tempfile.TemporaryDirectory(prefix="accord-fuzz-") as tmp:
        seeds = lib.seed_files(lib.reference_root(), Path(tmp) / "seeds")
        for fmt in args.format or lib.FORMATS:
            t0 = time.perf_counter()
            counts, worst, failures = fuzz(fmt, args.n, seeds[fmt], Path(tmp), args.seed)
            rows.append((fmt, counts, worst[0], time.perf_counter() - t0, len(seeds[fmt])))
            all_failures[fmt] = (failures, worst)
            print(f"{fmt}: {counts['inputs']} inputs in {rows[-1][3]:.0f} s", file=sys.stderr)
    head = ("reader", "inputs", "scenarios", "located errors", "unlocated errors",
            "other exceptions", "timeouts", "max seconds")
    print(f"{head[0]:<10} " + " ".join(f"{h:>16}" for h in head[1:]))
    bad = 0
    for fmt, c, worst, _, _ in rows:
        vals = (c["inputs"], c["scenario"], c["located"], c["unlocated"], c["other"], c["timeout"])
        bad += c["unlocated"] + c["other"] + c["timeout"] + c["slow"]
        print(f"{fmt:<10} " + " ".join(f"{v:>16}" for v in vals) + f" {worst:>16.3f}")
    print(f"(seconds: CPU time of one read + sniff; seed files per reader: "
          f"{', '.join(f'{r[0]} {r[4]}' for r in rows)}; hypothesis seed {args.seed})")
    for fmt, (failures, worst) in all_failures.items():
        for key, (detail, example) in failures.items():
            print(f"\n--- {fmt}: {key}\n{example}")
            if args.verbose and detail:
                print(detail)
        print(f"\n--- {fmt}: slowest input ({worst[0]:.3f} s)\n{worst[1][:400]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
