"""First run after an install: compile the exchange model in a second process meanwhile.

numba compiles the exchange model's sequence once per installation (about 20 CPU-seconds)
and caches it next to the source. Compiling holds one core and the GIL, so on a cold cache
:func:`start` hands that compilation to a child process while this one runs the other
models; :func:`wait` joins it before the exchange model runs, which then loads the cached
machine code. Nothing about the results changes: the child compiles the same functions for
the same types and only writes numba's cache. ``ACCORD_PREWARM=0`` turns this off.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cold(name: str) -> bool:
    """True when the named model's compiled code is not in numba's cache yet."""
    if name != "exchange":
        return False
    try:
        from . import exchange

        return not exchange._run_batch._cache._cache_file._load_index()
    except Exception:  # pragma: no cover - numba internals moved: just compile in-process
        return False


def start(names) -> dict[str, subprocess.Popen]:
    """Start a compiling child per cold compiled model among ``names``."""
    if os.environ.get("ACCORD_PREWARM", "1") in ("0", "") or os.environ.get("NUMBA_DISABLE_JIT") == "1":
        return {}
    procs: dict[str, subprocess.Popen] = {}
    if "exchange" in names and cold("exchange"):
        root = str(Path(__file__).resolve().parents[2])   # the folder that holds `accord`
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
        try:
            procs["exchange"] = subprocess.Popen(
                [sys.executable, "-c", "from accord.models.exchange import _compile; _compile()"],
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
