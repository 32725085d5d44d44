"""First run after an install: compile the slowest compiled units in other processes meanwhile.

numba compiles a module's compiled code once per installation and caches it next to the
source. Two units take long: the exchange model's sequence (about 15 CPU-seconds) and the
feasibility LP (about 4). Compiling holds one core and the GIL, so on a cold cache
:func:`start` hands each cold unit to a child process while this one runs the other models;
:func:`wait` joins a unit's child before its first use, which then loads the cached machine
code. Nothing about the results changes: a child compiles the same functions for the same
types (its module's ``_compile``) and only writes numba's cache. ``ACCORD_PREWARM=0`` turns
this off.
"""

from __future__ import annotations

import atexit
import importlib
import os
import subprocess
import sys
from pathlib import Path

UNITS = {"exchange": ("accord.models.exchange", "_run_batch", 0),
         "feasibility": ("accord.analysis.feasibility", "_maxmin_batch", 10)}
"""Unit -> (module, a compiled function of it whose cache tells whether it is cold, the
niceness of its child). The module has a ``_compile()`` that compiles the unit for the types
every run uses. The exchange model's compile is a first run's critical path: the LP's child
yields the cores to it (``os.nice``) and runs when one is idle, at the latest while this
process waits for it. On 2 cores that took the flagship's first run from 26-27 s to 23 s,
with the same work (42 CPU-s)."""


def cold(name: str) -> bool:
    """True when the named unit's compiled code is not in numba's cache yet."""
    if name not in UNITS:
        return False
    module, fn, _ = UNITS[name]
    try:
        return not getattr(importlib.import_module(module), fn)._cache._cache_file._load_index()
    except Exception:  # pragma: no cover - numba internals moved: just compile in-process
        return False


_running: dict[str, subprocess.Popen] = {}
"""Children still compiling, by unit: a later :func:`start` shares them (the CLI starts them
before it reads the scenario, the forecast asks again)."""


def start(names) -> dict[str, subprocess.Popen]:
    """The compiling child of each cold unit among ``names``: started here, or the one an
    earlier call started and nobody has joined yet."""
    if os.environ.get("ACCORD_PREWARM", "1") in ("0", "") or os.environ.get("NUMBA_DISABLE_JIT") == "1":
        return {}
    procs: dict[str, subprocess.Popen] = {}
    root = str(Path(__file__).resolve().parents[2])   # the folder that holds `accord`
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    for name in names:
        if name in _running:
            procs[name] = _running[name]
        elif name in UNITS and cold(name):
            try:
                module, _, nice = UNITS[name]
                lower = (f"import os; os.nice({nice}) if hasattr(os, 'nice') else None; "
                         if nice else "")
                procs[name] = _running[name] = subprocess.Popen(
                    [sys.executable, "-c", f"{lower}from {module} import _compile; _compile()"],
                    env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
            except OSError:  # pragma: no cover - cannot spawn: compile in-process as before
                pass
    return procs


def wait(procs: dict[str, subprocess.Popen], name: str) -> None:
    """Join the child compiling ``name``, if any (its cache is then read on first call)."""
    proc = procs.pop(name, None)
    if proc is not None:
        proc.wait()
        if _running.get(name) is proc:
            del _running[name]


def stop() -> None:
    """End the children nobody joined (the process is leaving: a bad scenario, Ctrl-C), so no
    compiler outlives the command. numba writes its cache by renaming a finished file, so a
    child stopped mid-compile leaves the cache as it was."""
    for name, proc in list(_running.items()):
        if proc.poll() is None:
            proc.terminate()
        _running.pop(name, None)


atexit.register(stop)
