"""Fuzz every reader with the full budget and print the counts.

    nice python bench/fuzz.py                  # 10^4 inputs per reader
    nice python bench/fuzz.py -n 2000 --format yaml --format csv --seed 3
    nice python bench/fuzz.py --atheris -n 100000 --seconds 300   # coverage-guided (pip install atheris)

Each input is a valid file (template, accord writer output, or a peer's reference file read
in place) with up to three corruptions (see tests/test_fuzz.py, which holds the strategies
and runs a small derandomised budget in CI). An input ends as a Scenario, a located error
(every problem names file and line), an unlocated error, another exception (one the
reader's catch-all would have hidden as a vague error), or a timeout (5 s of CPU). The
process's address space is capped, so a memory blow-up shows up as a MemoryError.
Exit status 1 when any input broke the contract.
"""

from __future__ import annotations

import argparse
import resource
import collections
import json
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
    jump = [0.0, ""]          # the largest rise of peak RSS during one read (MiB)
    path = workdir / f"input{lib.SUFFIX[fmt]}"

    @seed(rng_seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(lib.inputs(fmt, seeds))
    def one(case):
        valid, ops = case
        data = lib.corrupt(valid, ops)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        got = lib.run_one(path, fmt, data, alarm=5)
        grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        if grew > jump[0]:
            jump[:] = [grew, lib.describe(data, ops)]
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

    with lib.unguarded(), lib.frozen_heap():
        one()
    counts["rss_jump_mib"] = round(jump[0])
    if jump[0] > 256:
        failures.setdefault(f"memory: peak RSS rose {jump[0]:.0f} MiB in one read", ("", jump[1]))
        counts["memory"] += 1
    return counts, worst, failures


def atheris_child(fmt: str, runs: int, seconds: int, workdir: Path, report: Path) -> None:
    """Coverage-guided fuzzing of one reader (runs in its own process: libFuzzer exits it)."""
    import atheris

    seeds = lib.seed_files(lib.reference_root(), workdir / "seeds")
    corpus = workdir / f"corpus-{fmt}"
    corpus.mkdir(parents=True, exist_ok=True)
    import random
    rnd = random.Random(0)
    for k, data in enumerate(seeds[fmt]):
        (corpus / f"seed{k}").write_bytes(data)
    # and templates, so a reader without seed files starts from valid input too
    for k in range(20):
        plan = lib.Plan(*_plan_args(rnd))
        (corpus / f"template{k}").write_bytes(lib.render(fmt, plan).encode())
    _instrument(atheris)
    counts: collections.Counter[str] = collections.Counter()
    worst = [0.0]
    failures: dict[str, str] = {}
    path = workdir / f"atheris{lib.SUFFIX[fmt]}"

    def dump() -> None:
        report.write_text(json.dumps({"counts": counts, "worst": worst[0], "failures": failures}))

    def one(data: bytes) -> None:
        got = lib.run_one(path, fmt, data, alarm=5)
        counts["inputs"] += 1
        counts[got.kind] += 1
        worst[0] = max(worst[0], got.seconds)
        if got.seconds >= lib.TIME_LIMIT:
            counts["slow"] += 1
            failures.setdefault(f"slow ({got.seconds:.1f} s)", repr(data[:300]))
        if got.kind not in ("scenario", "located"):
            key = got.detail.strip().splitlines()[-1][:160] if got.detail.strip() else got.kind
            failures.setdefault(key, f"{got.detail}\ninput {data[:300]!r}")
        if counts["inputs"] % 500 == 0:
            dump()

    import atexit
    atexit.register(dump)
    signal.signal(signal.SIGVTALRM, _alarm)
    with lib.unguarded():
        atheris.Setup([sys.argv[0], str(corpus), f"-runs={runs}", f"-max_total_time={seconds}",
                       "-max_len=200000", "-print_final_stats=0", "-close_fd_mask=3"], one)
        try:
            atheris.Fuzz()
        finally:
            dump()


def _instrument(atheris) -> None:
    """Coverage feedback from accord's readers and checks only (instrumenting every loaded
    function, numpy and pandas included, takes minutes)."""
    import inspect

    prefixes = ("accord.scenario", "accord.errors")
    for name, module in list(sys.modules.items()):
        if not name.startswith(prefixes) or module is None:
            continue
        for owner in [module] + [v for v in vars(module).values()
                                 if inspect.isclass(v) and v.__module__ == name]:
            for key, value in list(vars(owner).items()):
                if inspect.isfunction(value) and value.__module__ == name:
                    try:
                        setattr(owner, key, atheris.instrument_func(value))
                    except Exception:  # noqa: BLE001 - frozen dataclasses, builtins: skip
                        pass


def _plan_args(rnd):
    n_a, n_i = rnd.randint(1, 5), rnd.randint(1, 3)
    actors = tuple(f"a{k}" for k in range(n_a))
    issues = tuple(f"i{k}" for k in range(n_i))
    cap = tuple(float(rnd.randint(1, 100)) for _ in actors)
    pos = tuple(tuple(float(rnd.randint(0, 100)) for _ in issues) for _ in actors)
    sal = tuple(tuple(rnd.randint(0, 100 // n_i) / 100 for _ in issues) for _ in actors)
    veto = tuple(rnd.random() < 0.3 for _ in actors)
    return actors, issues, cap, pos, sal, veto


def run_atheris(formats, runs: int, seconds: int) -> list[tuple]:
    import subprocess

    rows = []
    with tempfile.TemporaryDirectory(prefix="accord-atheris-") as tmp:
        for fmt in formats:
            report = Path(tmp) / f"{fmt}.json"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--atheris-child", fmt, "-n", str(runs),
                            "--seconds", str(seconds), "--workdir", tmp, "--report", str(report)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=seconds + 120)
            got = json.loads(report.read_text()) if report.exists() else {
                "counts": {}, "worst": 0.0, "failures": {"no report": "the child died"}}
            rows.append((fmt, collections.Counter(got["counts"]), got["worst"],
                         time.perf_counter() - t0, got["failures"]))
            print(f"atheris {fmt}: {got['counts'].get('inputs', 0)} inputs", file=sys.stderr)
    return rows


def _table(rows) -> int:
    head = ("reader", "inputs", "scenarios", "located errors", "unlocated errors",
            "other exceptions", "timeouts", "max seconds")
    print(f"{head[0]:<10} " + " ".join(f"{h:>16}" for h in head[1:]))
    bad = 0
    for fmt, c, worst, *_ in rows:
        vals = (c["inputs"], c["scenario"], c["located"], c["unlocated"], c["other"], c["timeout"])
        bad += c["unlocated"] + c["other"] + c["timeout"] + c["slow"] + c["memory"]
        print(f"{fmt:<10} " + " ".join(f"{v:>16}" for v in vals) + f" {worst:>16.3f}")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000, help="inputs per reader (default 10^4)")
    ap.add_argument("--format", action="append", choices=lib.FORMATS,
                    help="fuzz only these readers (repeatable)")
    ap.add_argument("--seed", type=int, default=0, help="hypothesis seed")
    ap.add_argument("--verbose", "-v", action="store_true", help="print each failure's traceback")
    ap.add_argument("--atheris", action="store_true",
                    help="coverage-guided (atheris/libFuzzer) instead of hypothesis")
    ap.add_argument("--seconds", type=int, default=600, help="atheris: time limit per reader")
    ap.add_argument("--atheris-child", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--report", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    lib.memory_guard()
    signal.signal(signal.SIGVTALRM, _alarm)
    if args.atheris_child:
        atheris_child(args.atheris_child, args.n, args.seconds, Path(args.workdir),
                      Path(args.report))
        return 0
    if args.atheris:
        rows = run_atheris(args.format or lib.FORMATS, args.n, args.seconds)
        _table(rows)
        for fmt, _, _, _, failures in rows:
            for key, example in failures.items():
                print(f"\n--- atheris {fmt}: {key}\n{example[:2000] if args.verbose else example[-400:]}")
        return 1 if any(c["unlocated"] + c["other"] + c["timeout"] + c["slow"]
                        for _, c, _, _, _ in rows) else 0
    rows, all_failures = [], {}
    with tempfile.TemporaryDirectory(prefix="accord-fuzz-") as tmp:
        seeds = lib.seed_files(lib.reference_root(), Path(tmp) / "seeds")
        for fmt in args.format or lib.FORMATS:
            t0 = time.perf_counter()
            counts, worst, failures = fuzz(fmt, args.n, seeds[fmt], Path(tmp), args.seed)
            rows.append((fmt, counts, worst[0], time.perf_counter() - t0, len(seeds[fmt])))
            all_failures[fmt] = (failures, worst)
            print(f"{fmt}: {counts['inputs']} inputs in {rows[-1][3]:.0f} s", file=sys.stderr)
    bad = _table(rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    jumps = ", ".join(f"{r[0]} {r[1]['rss_jump_mib']} MiB" for r in rows)
    print(f"(seconds: CPU time of one read + sniff; seed files per reader: "
          f"{', '.join(f'{r[0]} {r[4]}' for r in rows)}; hypothesis seed {args.seed}; largest "
          f"rise of peak RSS in one read: {jumps}; "
          f"peak RSS of the whole run {peak:.0f} MiB (mostly hypothesis's own records); "
          f"address space capped at +4 GiB)")
    for fmt, (failures, worst) in all_failures.items():
        for key, (detail, example) in failures.items():
            print(f"\n--- {fmt}: {key}\n{example}")
            if args.verbose and detail:
                print(detail)
        print(f"\n--- {fmt}: slowest input ({worst[0]:.3f} s)\n{worst[1][:400]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
