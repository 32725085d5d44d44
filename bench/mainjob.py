"""Benchmark: the main job at interactive speed (issue 18), every figure in one run.

    python bench/mainjob.py [--repeat 3] [--before REV] [--skip-cold]

Prints, for each row of the issue's table, wall-clock and CPU seconds (CPU = user + system of
the process and its children, the honest figure on a shared machine), the target, the same
command with the slow path forced, and the ratio:

* ``accord forecast ukraine-2025`` (all models, warm cache): slow path ``ACCORD_EXCHANGE_LOOP=1``
  (the exchange model's old loop of one compiled call per run), ``ACCORD_SMP_ARRAYS=1`` and
  ``ACCORD_BDM_ARRAYS=1`` (the SMP's and BDM's numpy array paths instead of their compiled
  rounds, same bytes);
* the first run (cold numba cache: a fresh copy of ``src/`` without ``__pycache__``, as after
  ``pip install .``): slow path ``ACCORD_PREWARM=0``, everything compiled in the one process;
* ``accord --help``; peak memory of the forecast (max RSS, process and children);
* ``accord report ukraine-2025`` (the forecast, the validity table, evidence and figures in one
  HTML file; the issue sets it no target of its own);
* the web app's edit → updated forecast with every model (``POST /api/forecast`` with a change,
  ``models``: all, the app's interactive draws), in process: the same slow paths;
* ``accord outlook ukraine-2025`` (10⁴ draws × 36 months): slow path, the same algorithm called
  once per draw (one draw per view per call), per draw, as ``bench/outlook.py`` does;
* BDM on the EU example, 10⁴ draws (target 1 s): slow path, one draw per call; the array
  path (``ACCORD_BDM_ARRAYS=1``) on a line of its own.

``--before REV`` adds the same commands on ``git archive REV`` (e.g. the commit before the
issue) in a temporary folder, warmed once: the ratio against the code as it was.
Model results are unchanged by every fast path (tests/test_exchange.py, test_determinism.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))
FLAGSHIP = "ukraine-2025"
SLOW = {"ACCORD_EXCHANGE_LOOP": "1", "ACCORD_SMP_ARRAYS": "1", "ACCORD_BDM_ARRAYS": "1"}
"""The slow paths: every switch that turns a fast path off (results are the same)."""
SLOW_LABEL = "exchange loop, SMP+BDM arrays"


def cli(args, src: Path = SRC, env: dict | None = None) -> tuple[float, float, float]:
    """Run ``accord ARGS`` in a fresh process: (wall s, CPU s incl. children, peak RSS MB)."""
    full = {**os.environ, "PYTHONPATH": str(src), **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", "from accord.cli import main; main()", *args],
                            env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"accord {' '.join(args)} failed ({proc.returncode}): {err[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def best(args, repeat: int, **kw) -> tuple[float, float, float]:
    """Median wall and CPU over ``repeat`` runs, max RSS."""
    runs = [cli(args, **kw) for _ in range(repeat)]
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
            max(r[2] for r in runs))


def fresh_copy(src: Path) -> Path:
    """``src`` without any compiled cache (as after ``pip install .``)."""
    dst = Path(tempfile.mkdtemp(prefix="accord-cold-")) / "src"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dst


def archive(rev: str) -> Path:
    dst = Path(tempfile.mkdtemp(prefix="accord-before-"))
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src", "scenarios"],
                         check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dst)], input=tar, check=True)
    return dst / "src"


ROWS: list[tuple] = []


def row(what, now, target, slow=None, slow_label="", met=None):
    ROWS.append((what, now, target, slow, slow_label, met))
    ratio = f"{slow[1] / now[1]:5.1f}x cpu {slow[0] / now[0]:5.1f}x wall" if slow else "—"
    flag = "" if met is None else ("  MET" if met else "  NOT MET")
    slow_s = f"{slow[0]:6.2f} s / {slow[1]:6.2f} cpu ({slow_label})" if slow else ""
    print(f"{what:44s} {now[0]:6.2f} s / {now[1]:6.2f} cpu  target {target:10s} "
          f"{slow_s:44s} ratio {ratio}{flag}", flush=True)


def web_update(models: list[str]) -> float:
    """Seconds for POST /api/forecast with a what-if change and every model (in process)."""
    from fastapi.testclient import TestClient

    from accord.web import create_app

    data = Path(tempfile.mkdtemp(prefix="accord-web-")) / "data"
    data.mkdir(parents=True)
    shutil.copytree(ROOT / "scenarios" / FLAGSHIP, data / FLAGSHIP)
    times = {}
    with TestClient(create_app(data), base_url="http://127.0.0.1") as client:
        def post(value, loop):
            for key in SLOW:
                os.environ[key] = "1" if loop else "0"
            change = {"actor": "russia", "issue": "territory", "field": "position",
                      "value": value, "low": max(0, value - 5), "high": min(100, value + 5)}
            t = time.perf_counter(), time.process_time()
            r = client.post("/api/forecast", json={"path": FLAGSHIP, "view": "base",
                                                   "models": models, "changes": [change]})
            assert r.status_code == 200, r.text
            assert set(r.json()["models"]) == set(models), r.json()["skipped"]
            return time.perf_counter() - t[0], time.process_time() - t[1]
        post(50, False)                      # load, first request
        times["fast"] = post(10, False)      # an edit: a new key, nothing cached
        times["slow"] = post(20, True)
    for key in SLOW:
        os.environ.pop(key, None)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", default=None, help="git revision to compare with (git archive)")
    ap.add_argument("--skip-cold", action="store_true")
    args = ap.parse_args()
    n = args.repeat
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start; "
          f"median of {n} runs; wall s / CPU s (user+system, incl. children)")
    fc = ["forecast", FLAGSHIP]
    cli(fc)                                                     # warm the cache
    now = best(fc, n)
    slow = best(fc, n, env=SLOW)
    row("accord forecast ukraine-2025 (warm)", now, "< 3 s", slow, SLOW_LABEL, now[0] < 3)
    if not args.skip_cold:
        cold = cli(fc, src=fresh_copy(SRC))
        cold_slow = cli(fc, src=fresh_copy(SRC), env={"ACCORD_PREWARM": "0"})
        row("first run, cold numba cache", cold[:2], "< 30 s", cold_slow[:2],
            "compile in one process", cold[0] < 30)
    helps = [cli(["--help"]) for _ in range(max(5, n))]
    h = (statistics.median(x[0] for x in helps), statistics.median(x[1] for x in helps))
    row("accord --help", h, "< 0.3 s", None, "", h[0] < 0.3)
    print(f"{'peak memory of the forecast':44s} {now[2]:6.0f} MB (slow paths {slow[2]:.0f} MB)"
          f"  target < 400 MB{'  MET' if now[2] < 400 else '  NOT MET'}")

    report = str(Path(tempfile.mkdtemp(prefix="accord-report-")) / "report.html")
    rep = ["report", FLAGSHIP, "-o", report, "--force"]
    rp = best(rep, n)
    row("accord report ukraine-2025 (warm)", rp[:2], "(none)", None)

    from accord import models as M

    w = web_update(list(M.available()))
    row("web app: edit -> forecast, every model", w["fast"], "< 2 s", w["slow"],
        SLOW_LABEL, w["fast"][0] < 2)

    cli(["outlook", FLAGSHIP])                                  # warm its cache
    out = best(["outlook", FLAGSHIP], n)
    from accord.analysis.outlook import outlook
    from accord.scenario import load

    flag = load(FLAGSHIP)
    views = len(flag.views)
    outlook(flag, horizon=36, draws=views, seed=0)              # compiled, warm
    k = 10
    t = time.perf_counter(), time.process_time()
    for s in range(k):
        outlook(flag, horizon=36, draws=views, seed=s)
    per_loop = ((time.perf_counter() - t[0]) / (k * views), (time.process_time() - t[1]) / (k * views))
    t = time.perf_counter(), time.process_time()
    outlook(flag, horizon=36, draws=10_000, seed=0)
    batch = (time.perf_counter() - t[0], time.process_time() - t[1])
    row("accord outlook, 1e4 draws x 36 months (CLI)", out[:2], "< 3 s",
        (per_loop[0] * 10_000, per_loop[1] * 10_000), "one call per draw, x1e4", out[0] < 3)
    print(f"{'  (in process, without start-up)':44s} {batch[0]:6.2f} s / {batch[1]:6.2f} cpu")

    from accord.analysis.montecarlo import sample

    eu = load("eu-emissions")
    big = sample(eu, 10_000, 0)
    M.run("bdm", big)
    t = time.perf_counter(), time.process_time()
    M.run("bdm", big)
    bdm = (time.perf_counter() - t[0], time.process_time() - t[1])
    small = [big.draw(j) for j in range(50)]
    t = time.perf_counter(), time.process_time()
    for one in small:
        M.run("bdm", one)
    per = ((time.perf_counter() - t[0]) / 50 * 10_000, (time.process_time() - t[1]) / 50 * 10_000)
    row("bdm, EU example, 1e4 draws", bdm, "< 1 s", per, "one draw per call, x1e4", bdm[0] < 1)
    os.environ["ACCORD_BDM_ARRAYS"] = "1"
    t = time.perf_counter(), time.process_time()
    M.run("bdm", big)
    arrays = (time.perf_counter() - t[0], time.process_time() - t[1])
    os.environ.pop("ACCORD_BDM_ARRAYS")
    print(f"{'  (array path, ACCORD_BDM_ARRAYS=1)':44s} {arrays[0]:6.2f} s / {arrays[1]:6.2f} cpu"
          f"  ratio {arrays[1] / bdm[1]:5.1f}x cpu {arrays[0] / bdm[0]:5.1f}x wall")

    if args.before:
        src = archive(args.before)
        cli(fc, src=src)                                        # compile its cache once
        b = best(fc, n, src=src)
        row(f"forecast at {args.before[:10]} (before)", b[:2], "", None)
        print(f"{'  ratio before/now':44s} {b[1] / now[1]:5.1f}x CPU, {b[0] / now[0]:5.1f}x wall; "
              f"peak memory {b[2]:.0f} MB before")
        rb = best(rep, n, src=src)
        row(f"report at {args.before[:10]} (before)", rb[:2], "", None)
        hb = [cli(["--help"], src=src) for _ in range(max(5, n))]
        hbm = (statistics.median(x[0] for x in hb), statistics.median(x[1] for x in hb))
        row(f"--help at {args.before[:10]} (before)", hbm, "", None)
        if not args.skip_cold:
            cb = cli(fc, src=fresh_copy(src))
            row(f"first run at {args.before[:10]} (before)", cb[:2], "", None)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
