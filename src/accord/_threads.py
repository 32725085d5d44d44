"""Independent blocks of work on a thread per core, results in order (the same bytes as a loop).

numpy and the compiled loops (``nogil``) release the GIL, so threads overlap the blocks of a
batch without the cost of processes. ``ACCORD_THREADS`` sets the number of threads (1: a
plain loop).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def cores() -> int:
    """Threads to use: ``ACCORD_THREADS`` when set, else the cores this process may run on,
    less those :func:`leave_cores` keeps for other processes."""
    env = os.environ.get("ACCORD_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, n - _left[0])


_left = [0]


@contextmanager
def leave_cores(k: int):
    """Use ``k`` cores fewer inside the block (at least one): on a first run the prewarm
    children compile the slowest models (``models/_warm``), and the one that compiles the
    exchange model is the run's critical path; with a core of its own it finishes sooner
    than this process's threads would have saved. Results never depend on the threads."""
    before = _left[0]
    _left[0] = max(0, int(k))
    try:
        yield
    finally:
        _left[0] = before


_worker = threading.local()


def blocks_of(n: int, least: int = 128) -> list[slice]:
    """``n`` independent problems cut into a block per core (none under ``least`` problems;
    one block inside a worker thread, whose siblings already hold the other cores)."""
    k = 1 if getattr(_worker, "busy", False) else max(1, min(cores(), -(-n // least)))
    edges = [round(n * j / k) for j in range(k + 1)]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def map_ordered(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> list[R]:
    """``[fn(x) for x in items]``, on up to ``workers`` threads (default :func:`cores`)."""
    return list(imap_ordered(fn, items, workers))


def imap_ordered(fn: Callable[[T], R], items: Iterable[T],
                 workers: int | None = None) -> Iterator[R]:
    """``(fn(x) for x in items)`` in order, on up to ``workers`` threads: a consumer that
    folds each result in as it comes holds about one result per thread, not all of them."""
    items = list(items)
    k = max(1, min(cores() if workers is None else workers, len(items)))
    if k == 1 or getattr(_worker, "busy", False):  # one level of threads: no pools in pools
        yield from (fn(x) for x in items)
        return
    pool = _pool(k)
    pending: deque = deque()
    for x in items:  # keep k tasks in flight (k + 1 results alive at most), in order
        pending.append(pool.submit(fn, x))
        if len(pending) > k:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


_pools: dict = {}
_pools_lock = threading.Lock()


def _pool(k: int):
    """A lasting pool of ``k`` worker threads (a solve may map hundreds of small batches:
    starting threads for each would cost more than the work)."""
    from concurrent.futures import ThreadPoolExecutor

    def mark() -> None:
        _worker.busy = True

    with _pools_lock:
        if k not in _pools:
            _pools[k] = ThreadPoolExecutor(max_workers=k, initializer=mark,
                                           thread_name_prefix="accord")
        return _pools[k]


def limit_arenas() -> None:
    """One glibc malloc arena per core (``M_ARENA_MAX`` = :func:`cores`), for a process that
    runs accord's jobs (the CLI, the web server), not a library caller's.

    glibc gives each new thread an arena of its own, up to 8 per core (numpy's, numba's and
    ours); the ``[draws, a, i]`` temporaries a thread frees stay mapped in its arena, and on
    the flagship forecast that spread adds about 50 MB to the peak (``bench/mainjob.py``).
    One arena per core keeps the speed (one arena in all costs about 8% in lock waits). A
    user's own ``MALLOC_ARENA_MAX`` wins; elsewhere than glibc this does nothing.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, cores())  # M_ARENA_MAX (malloc.h)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


@contextmanager
def quiet_collector():
    """Run one of accord's jobs (the CLI's forecast and report) without the garbage
    collector's automatic passes. They walked the imported modules' objects (numpy, pandas,
    numba, accord) and the job's again and again while finding almost nothing: on the flagship
    forecast 530 passes took 0.16 s of held GIL and freed about 2,400 objects (a few MB).
    Reference counting still frees everything outside cycles. At the end every object alive
    leaves the collector's passes (``gc.freeze``): re-enabled, its first pass would walk
    them all (23 ms), and so would the interpreter's exit (0.2 s); only cycles among them are
    never collected. The collector's on/off state is restored after the block (a caller that
    runs the CLI in process keeps its collector)."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


def release() -> None:
    """Hand the heap's free pages back to the system (glibc ``malloc_trim``) between the
    steps of a job: the next step's peak then starts from what is live, not from what the
    last step freed (about 60 MB on the flagship forecast). Elsewhere than glibc: nothing."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass
