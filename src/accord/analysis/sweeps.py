"""Sweeps: Monte-Carlo draws × what-if levers × models × deals, run locally or on Dask.

The work is cut into tasks over (view, chunk of draws, chunk of levers). Each task draws its
own inputs from a seed derived from the run's seed (``SeedSequence(seed, spawn_key=(view,
chunk))``, i.e. ``SeedSequence(seed).spawn(...)[view].spawn(...)[chunk]``), applies every lever
of its lever chunk to those draws (levers are one array axis), runs every model once on the
whole batch and evaluates every deal. The local backend runs the very same tasks one after
another, so a Dask run returns the same bytes as a local one for the same seed, and a run
with more draws extends a run with fewer (the first chunks are the same).

Everything a task needs is plain arrays (:class:`Tables`, :class:`~accord.analysis.whatif.
LeverArrays`), so tasks pickle to any worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .. import models as _models
from ..models.base import Inputs
from .montecarlo import _Table, _draw, _table

CHUNK = 1_000
"""Draws per task (fixed, so numbers never depend on the backend or the number of levers)."""
PROBLEMS_PER_TASK = 2_000
"""Lever chunks are sized so a task holds about this many draws × levers: its ``[problems,
a, i]`` temporaries stay near 20 MB on the flagship, one task per thread alive (measured in
``bench/mainjob.py``: 2,000 keeps the forecast under 400 MB; 12,000 took 130 MB more and
0.3 s less)."""
DEAL_KEYS = ("value", "package", "slack", "veto", "feasible")
_TAIL = {"value": (), "feasible": (), "package": (-1,), "slack": (-1,), "veto": (-1,)}
"""Per deal key, the axes after ``[lever, draw]`` (a ``DealResult`` field of that name)."""
BACKENDS = ("local", "dask")


@dataclass(frozen=True)
class Tables:
    """One view's sampling tables: what a worker needs to draw its chunk."""

    view: str
    cap: _Table
    pos: _Table
    sal: _Table
    nd: _Table
    low: np.ndarray
    high: np.ndarray
    status_quo: np.ndarray
    veto: np.ndarray
    actors: tuple[str, ...]
    issues: tuple[str, ...]
    terms: Any = None
    """:class:`~accord.analysis.terms.TermTables`: red lines, pins, durability, time inputs."""

    @property
    def uncertain(self) -> bool:
        tabs = [self.cap, self.pos, self.sal, self.nd]
        if self.terms is not None:
            tabs += [self.terms.durability, self.terms.p_holds, self.terms.renewal,
                     self.terms.cost, self.terms.trend, self.terms.cap_trend]
        return any(bool(np.any(np.nan_to_num(t.high - t.low) > 0)) for t in tabs)


def tables(scenario, view: str) -> Tables:
    """The sampling tables of one view (``"base"`` for the scenario itself)."""
    from .ensemble import _resolved
    from .terms import term_tables

    sc = _resolved(scenario, view)
    a, i = len(sc.actors), len(sc.issues)
    cells = [sc.stances.get((x, y)) for x in sc.actor_ids for y in sc.issue_ids]
    return Tables(view, _table([x.capability for x in sc.actors], (a,)),
                  _table([c.position if c else None for c in cells], (a, i)),
                  _table([c.salience if c else None for c in cells], (a, i)),
                  _table([x.no_deal for x in sc.actors], (a,)),
                  sc.low, sc.high, sc.status_quo, sc.veto, sc.actor_ids, sc.issue_ids,
                  term_tables(sc))


def sample_chunk(t: Tables, n: int, seed: np.random.SeedSequence) -> tuple[Inputs, np.ndarray]:
    """``n`` draws of one view: Inputs (as :func:`montecarlo.sample` draws them from the same
    generator) and the no-deal values ``[n, a]`` (NaN where an actor gives none)."""
    rng = np.random.default_rng(seed)
    a, i = t.pos.value.shape
    u = rng.random((n, a + 2 * a * i))
    capability = _draw(t.cap, u[:, :a])
    position = _draw(t.pos, u[:, a:a + a * i].reshape(n, a, i))
    salience = _draw(t.sal, u[:, a + a * i:].reshape(n, a, i))
    salience = np.where(np.isnan(position), np.nan, salience)
    no_deal = _draw(t.nd, rng.random((n, a)))
    inputs = Inputs.from_arrays(capability, position, salience, t.low, t.high, t.status_quo,
                                t.veto, t.actors, t.issues)
    return inputs, no_deal


@dataclass(frozen=True)
class Task:
    view_index: int
    chunk_index: int
    size: int
    entropy: int
    tables: Tables
    levers: Any
    """LeverArrays or None (then the only variant is the scenario as coded)."""
    lever_slice: tuple[int, int]
    models: tuple[str, ...]
    deal_masks: Mapping[str, np.ndarray]
    unsettled: str
    seed: int | None
    keep: tuple[str, ...] = DEAL_KEYS
    """The per-deal arrays to return (the what-if needs only ``feasible``; then the solver
    stops at the first bound that decides it: ``feasibility.maxmin``'s ``decide``)."""


def run_task(task: Task) -> dict[str, Any]:
    """Evaluate one task; returns arrays with a leading lever axis ``[L_chunk, n, ...]``."""
    from .feasibility import evaluate

    ss = np.random.SeedSequence(task.entropy, spawn_key=(task.view_index, task.chunk_index))
    inputs, nd = sample_chunk(task.tables, task.size, ss)
    veto = np.broadcast_to(inputs.veto, nd.shape)
    lo, hi = task.lever_slice
    if task.levers is not None:
        batch, nd, veto, n_var = task.levers.apply(inputs, nd, veto, lo, hi)
    else:
        batch, n_var = inputs, 1
    n = task.size
    out: dict[str, Any] = {"final": {}, "deals": {}, "skipped": {}}
    model_seed = np.random.SeedSequence(task.entropy, spawn_key=(task.view_index,
                                                                 task.chunk_index, lo))
    for name in task.models:  # a handful of models
        try:
            outcome, _ = _models.run(name, batch, seed=np.random.default_rng(model_seed))
        except ValueError as exc:
            out["skipped"][name] = str(exc)
            continue
        out["final"][name] = outcome.final.reshape(n_var, n, -1)
    if task.deal_masks:
        from .terms import TERMS_STREAM, sample_terms

        terms = sample_terms(task.tables.terms, n, np.random.SeedSequence(
            task.entropy, spawn_key=(task.view_index, task.chunk_index, TERMS_STREAM))).terms
        terms = terms.extend(len(batch.actors), n_var)
        decide = set(task.keep) <= {"feasible"}
        res = evaluate(batch, nd, task.deal_masks, veto=veto, unsettled=task.unsettled,
                       terms=terms, decide=decide)
        for deal, r in res.items():  # only the kept ones: a deciding run has no slack
            out["deals"][deal] = {k: getattr(r, k).reshape((n_var, n) + _TAIL[k])
                                  for k in task.keep}
    return out


@dataclass
class SweepRun:
    """All tasks' results glued back together: arrays ``[lever, view, draw, ...]``."""

    views: list[str]
    draws: int
    actors: tuple[str, ...]
    issues: tuple[str, ...]
    lever_names: list[str]
    deal_masks: dict[str, np.ndarray]
    final: dict[str, np.ndarray]
    deals: dict[str, dict[str, np.ndarray]]
    seed: int | None
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def deal_names(self) -> list[str]:
        return list(self.deal_masks)

    @property
    def deal_issue_ids(self) -> dict[str, tuple[str, ...]]:
        return {d: tuple(np.asarray(self.issues, dtype=object)[m]) for d, m in self.deal_masks.items()}

    @property
    def models(self) -> list[str]:
        return list(self.final)

    def deal(self, view: str, deal: str, key: str) -> np.ndarray:
        """``[lever, draw, ...]`` of one view."""
        return self.deals[deal][key][:, self.views.index(view)]

    def forecast(self, view: str, model: str) -> np.ndarray:
        return self.final[model][:, self.views.index(view)]


def plan(scenario, draws: int, seed: int | None, levers=None, models: Sequence[str] = (),
         deals: Sequence[str] | None = None, unsettled: str = "status_quo",
         chunk: int | None = None,
         keep: Sequence[str] = DEAL_KEYS) -> tuple[list[Task], dict[str, Any]]:
    """The tasks of a sweep and what is needed to glue their results."""
    from .ensemble import _view_list
    from .feasibility import MODES, deal_issues

    if draws < 1:
        raise ValueError("draws must be at least 1")
    if unsettled not in MODES:
        raise ValueError(f"unsettled: expected one of {', '.join(MODES)}, got {unsettled!r}")
    bad = [k for k in keep if k not in DEAL_KEYS]
    if bad:
        raise ValueError(f"keep: expected some of {', '.join(DEAL_KEYS)}, got {', '.join(bad)}")
    chunk = CHUNK if chunk is None else int(chunk)
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    views = _view_list(scenario)
    tabs = [tables(scenario, v) for v in views]
    d = draws if any(t.uncertain for t in tabs) else 1
    names = dict(scenario.deals)
    if deals is not None:
        unknown = [x for x in deals if x not in names and x != "comprehensive"]
        if unknown:
            raise ValueError(f"unknown deal(s) {', '.join(unknown)}; deals: "
                             f"comprehensive{', ' if names else ''}{', '.join(names)}")
    masks = deal_issues(names, scenario.issue_ids)
    if deals is not None:
        masks = {k: v for k, v in masks.items() if k in deals}
    n_lev = 1 if levers is None else levers.count
    entropy = int(np.random.SeedSequence(seed).entropy)
    lever_chunk = max(1, PROBLEMS_PER_TASK // min(chunk, d))
    tasks = []
    for vi, t in enumerate(tabs):
        for ci, start in enumerate(range(0, d, chunk)):
            size = min(chunk, d - start)
            for lo in range(0, n_lev, lever_chunk):
                lv = levers.for_view(views[vi]) if hasattr(levers, "for_view") else levers
                tasks.append(Task(vi, ci, size, entropy, t, lv,
                                  (lo, min(n_lev, lo + lever_chunk)), tuple(models), masks,
                                  unsettled, seed, tuple(keep)))
    meta = {"views": views, "draws": d, "tabs": tabs, "masks": masks, "n_lev": n_lev,
            "lever_chunk": lever_chunk}
    return tasks, meta


def run(scenario, draws: int = 2_000, seed: int | None = 0, levers=None,
        models: Sequence[str] = (), deals: Sequence[str] | None = None,
        unsettled: str = "status_quo", chunk: int | None = None, backend: str = "local",
        scheduler: str | None = None, client=None, keep: Sequence[str] = DEAL_KEYS) -> SweepRun:
    """Run a sweep locally or on a dask.distributed cluster; identical results either way.
    ``keep``: the per-deal arrays to glue (``value``, ``package``, ``slack``, ``veto``)."""
    check_backend(backend, scheduler)
    tasks, meta = plan(scenario, draws, seed, levers, models, deals, unsettled, chunk, keep)
    results = _map(tasks, backend, scheduler, client)
    return _glue(tasks, results, meta, levers, seed)


def check_backend(backend: str, scheduler: str | None) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"--backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    if scheduler is not None and backend != "dask":
        raise ValueError("--scheduler needs --backend dask")


def map_tasks(fn, tasks: list, backend: str = "local", scheduler: str | None = None,
              client=None) -> list:
    """``[fn(t) for t in tasks]`` here or on a dask cluster, results in task order."""
    check_backend(backend, scheduler)
    return list(_map(tasks, backend, scheduler, client, fn))


def _map(tasks: list, backend: str, scheduler: str | None, client, fn=None) -> Iterable:
    """Results in task order: an iterator locally (each folded in as it comes), a list from
    dask."""
    fn = run_task if fn is None else fn
    if backend == "local":
        from .._threads import imap_ordered

        # each chunk is one batch of numpy and nogil compiled code: threads overlap them, and
        # every task has its own seed, so the results are the same bytes in any order
        return imap_ordered(fn, tasks)
    from distributed import Client, LocalCluster

    own_client = own_cluster = None
    if client is None:
        if scheduler:
            client = own_client = Client(scheduler)
        else:
            own_cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
            client = own_client = Client(own_cluster)
    try:
        futures = client.map(fn, tasks, pure=False)
        return client.gather(futures)
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def _glue(tasks: list[Task], results: Iterable[dict], meta: dict, levers, seed) -> SweepRun:
    """Fold each task's arrays into ``[lever, view, draw, ...]`` as it arrives."""
    views, d, n_lev = meta["views"], meta["draws"], meta["n_lev"]
    t0 = meta["tabs"][0]
    final: dict[str, np.ndarray] = {}
    deals: dict[str, dict[str, np.ndarray]] = {}
    skipped: dict[str, str] = {}
    offsets = {}
    for task in tasks:
        offsets.setdefault((task.view_index, task.chunk_index), sum(
            t.size for t in tasks if t.view_index == task.view_index
            and t.chunk_index < task.chunk_index and t.lever_slice[0] == 0))
    for task, r in zip(tasks, results):
        skipped.update(r["skipped"])
        lo, hi = task.lever_slice
        start = offsets[(task.view_index, task.chunk_index)]
        sl = (slice(lo, hi), task.view_index, slice(start, start + task.size))
        for m, arr in r["final"].items():
            if m not in final:
                final[m] = np.full((n_lev, len(views), d, arr.shape[-1]), np.nan)
            final[m][sl] = arr
        for deal, parts in r["deals"].items():
            store = deals.setdefault(deal, {})
            for key, arr in parts.items():
                if key not in store:
                    store[key] = np.zeros((n_lev, len(views), d) + arr.shape[2:], arr.dtype)
                store[key][sl] = arr
    # a model refused anywhere is left out everywhere, in the order asked
    final = {m: final[m] for m in (tasks[0].models if tasks else ()) if m in final and m not in skipped}
    names = ["none"] if levers is None else list(levers.names)
    actors = levers.actors if levers is not None else t0.actors
    return SweepRun(views, d, actors, t0.issues, names, meta["masks"], final, deals, seed,
                    skipped=skipped)
