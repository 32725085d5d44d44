"""Independent blocks of work on a thread per core, results in order (the same bytes as a loop).

numpy and the compiled loops (``nogil``) release the GIL, so threads overlap the blocks of a
batch without the cost of processes. ``ACCORD_THREADS`` sets the number of threads (1: a
plain loop).
"""

from __future__ import annotations

import os
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def cores() -> int:
    """Threads to use: ``ACCORD_THREADS`` when set, else the cores this process may run on."""
    env = os.environ.get("ACCORD_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def map_ordered(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> list[R]:
    """``[fn(x) for x in items]``, on up to ``workers`` threads (default :func:`cores`)."""
    items = list(items)
    k = max(1, min(cores() if workers is None else workers, len(items)))
    if k == 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=k) as pool:
        return list(pool.map(fn, items))
