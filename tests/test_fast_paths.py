"""Every compiled or threaded fast path of the main job equals a plain implementation of the
same definition (issue 18: the same algorithms, faster)."""

from __future__ import annotations

import os
import threading
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import accord
from accord import _threads
from accord.analysis import feasibility as F
from accord.analysis import sweeps
from accord.analysis.whatif import _nanq, whatif
from accord.models.baselines import weighted_mean, weighted_median

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cells(draw, nan=True):
    d = draw(st.integers(1, 6))
    a = draw(st.integers(1, 9))
    i = draw(st.integers(1, 4))
    pos = draw(hnp.arrays(float, (d, a, i), elements=st.sampled_from(
        [0.0, 10.0, 25.0, 50.0, 75.0, 100.0, 33.3] + ([np.nan] if nan else []))))
    w = draw(hnp.arrays(float, (d, a, i), elements=st.sampled_from([0.0, 0.5, 1.0, 2.0, 0.3])))
    return pos, w


def _median_cell(x, w, rule):
    """The definition, one cell at a time: positions ascending (stable), running weight."""
    keep = ~np.isnan(x)
    if not keep.any():
        return np.nan
    x, w = x[keep], w[keep]
    if w.sum() <= 0:
        w = np.ones_like(w)
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    cum = np.cumsum(ws)
    half = cum[-1] / 2 * (1 - 1e-12)
    lower = xs[np.argmax(cum >= half)]
    top = cum[-1] - cum + ws
    upper = xs[len(xs) - 1 - np.argmax((top >= half)[::-1])]
    return {"lower": lower, "upper": upper, "midpoint": (lower + upper) / 2}[rule]


@FAST
@given(cells(), st.sampled_from(["lower", "upper", "midpoint"]))
def test_the_compiled_weighted_median_is_the_definition_cell_by_cell(data, rule):
    pos, w = data
    got = weighted_median(pos, w, rule)
    want = np.array([[_median_cell(pos[k, :, j], w[k, :, j], rule) for j in range(pos.shape[2])]
                     for k in range(pos.shape[0])])
    np.testing.assert_array_equal(got, want)


@FAST
@given(cells())
def test_the_compiled_weighted_mean_is_the_definition(data):
    pos, w = data
    x = np.where(np.isnan(pos), 0.0, pos)
    with np.errstate(all="ignore"):
        total, count = w.sum(1), (~np.isnan(pos)).sum(1)
        want = np.where(total > 0, (w * x).sum(1) / total,
                        np.where(count > 0, x.sum(1) / count, np.nan))
    np.testing.assert_allclose(weighted_mean(pos, w), want, rtol=1e-12, atol=1e-12)


@FAST
@given(hnp.arrays(float, st.tuples(st.integers(1, 5), st.integers(2, 30)),
                  elements=st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.5, 3.0, 7.75, 100.0])))
def test_bdm_counts_voters_left_of_each_midpoint_as_the_definition(x):
    """BDM's voter counts (compiled for up to 24 actors, a batched binary search above) equal
    a plain count, ties and positions exactly at a midpoint included."""
    from accord.models.expected_utility import _mid_counts

    a = x.shape[1]
    mid = (x[:, :, None] + x[:, None, :]) * 0.5
    plain = (x[:, None, None, :] < mid[..., None]).sum(-1)
    off = ~np.eye(a, dtype=bool)
    np.testing.assert_array_equal(_mid_counts(x)[:, off], plain[:, off])


@FAST
@given(hnp.arrays(float, st.integers(0, 80), elements=st.sampled_from(
    [0.0, -0.0, 0.5, 1.0, 3.0, np.nan, np.inf, -np.inf, -2.0])))
def test_bdms_voter_order_is_numpys_stable_argsort(x):
    """BDM's compiled voter order (insertion-sorted runs of 16, merged) is numpy's stable
    argsort to the index: ties in list order, -0.0 tied with 0.0, NaN last."""
    from accord.models._reduce import _argsort_stable

    out, ws = np.full(x.size, -1, np.int64), np.empty(x.size, np.int64)
    _argsort_stable(x, out, ws)
    np.testing.assert_array_equal(out, np.argsort(x, kind="stable"))


def test_an_unknown_median_rule_is_refused():
    with pytest.raises(ValueError, match="rule: expected one of lower, upper, midpoint"):
        weighted_median(np.ones((1, 2, 1)), np.ones((1, 2, 1)), "average")


@FAST
@given(hnp.arrays(float, st.tuples(st.integers(1, 3), st.integers(1, 40), st.integers(1, 3)),
                  elements=st.one_of(st.floats(-100, 100), st.just(np.nan))),
       st.sampled_from([0.5, (0.1, 0.5, 0.9)]), st.booleans())
def test_quantiles_that_skip_nan_equal_numpy_nanquantile(x, q, overwrite):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.nanquantile(x, q, axis=1)
    np.testing.assert_array_equal(_nanq(x.copy(), q, overwrite=overwrite), want)


@FAST
@given(cells(nan=True), st.integers(0, 2**31))
def test_weights_and_losses_are_the_documented_formulas(data, seed):
    pos, sal = data
    d, a, i = pos.shape
    low, high = np.zeros(i), np.full(i, 100.0)
    s = np.where(np.isnan(pos) | np.isnan(sal), 0.0, sal)
    total = s.sum(-1, keepdims=True)
    with np.errstate(all="ignore"):
        want = np.where(total > 0, s / total, 0.0) / 100.0
    w = F.weights(sal, pos, low, high)
    np.testing.assert_allclose(w, want, rtol=1e-12, atol=1e-15)
    x = np.random.default_rng(seed).uniform(0, 100, (d, i))
    count = np.random.default_rng(seed + 1).random(i) < 0.7
    p0 = np.where(np.isnan(pos), 0.0, pos)
    want_loss = np.where(count & (w > 0), w * np.abs(x[:, None, :] - p0), 0.0).sum(-1)
    np.testing.assert_allclose(F.loss(w, p0, x, count), want_loss, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.utility(x, pos, w, count), 1 - want_loss, rtol=1e-12, atol=1e-12)


def _problems(n=300, a=5, i=4, seed=0):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 100, (n, a, i))
    pos[rng.random(pos.shape) < 0.1] = np.nan
    w = F.weights(rng.random((n, a, i)), pos, np.zeros(i), np.full(i, 100.0))
    c = rng.uniform(0.6, 1.0, (n, a))
    veto = rng.random((n, a)) < 0.6
    move = rng.random((n, i)) < 0.8
    return w, pos, c, veto, move, rng


def test_a_scale_per_actor_is_the_same_as_scaled_weights():
    w, pos, c, veto, move, rng = _problems()
    s = rng.uniform(0.3, 1.0, c.shape)
    v1, x1 = F.maxmin(w, pos, c, veto, move, scale=s)
    v2, x2 = F.maxmin(s[..., None] * w, pos, c, veto, move)
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_array_equal(x1, x2)


def test_a_red_line_box_keeps_the_package_inside_and_never_raises_the_value():
    w, pos, c, veto, move, rng = _problems(seed=1)
    lo = np.where(rng.random(move.shape) < 0.5, rng.uniform(0, 50, move.shape), -np.inf)
    hi = np.where(rng.random(move.shape) < 0.5, rng.uniform(50, 100, move.shape), np.inf)
    v_open, _ = F.maxmin(w, pos, c, veto, move)
    v, x = F.maxmin(w, pos, c, veto, move, lo, hi)
    assert (v <= v_open + 1e-12).all()
    inside = np.isnan(x) | ((x >= lo - 1e-9) & (x <= hi + 1e-9))
    assert inside.all()


@FAST
@given(seed=st.integers(0, 10_000), knots=st.integers(2, 8), drift=st.sampled_from([0.01, 0.1, 1.0]),
       box=st.booleans())
def test_constants_at_several_knots_solve_as_separate_problems(seed, knots, drift, box):
    """The outlook's knot months: each set of constants after the first starts from the basis
    of the one before (a dual simplex); the values are those of separate solves, and the
    package is the first's. The constants drift apart by up to ``drift`` per knot and per
    actor, so some bases stay optimal and others need pivots or a cold solve."""
    w, pos, c, veto, move, rng = _problems(n=150, seed=seed)
    lo = hi = None
    if box:
        lo = np.where(rng.random(move.shape) < 0.3, rng.uniform(0, 50, move.shape), -np.inf)
        hi = np.where(rng.random(move.shape) < 0.3, rng.uniform(50, 100, move.shape), np.inf)
    steps = rng.uniform(-drift, drift, (knots,) + c.shape)
    steps[0] = 0.0
    cs = c[None] + np.cumsum(steps, axis=0)                    # [K, n, a]
    got, x = F.maxmin(w, pos, np.moveaxis(cs, 0, 1), veto, move, lo, hi)
    assert got.shape == (c.shape[0], knots)
    for k in range(knots):
        want, x_k = F.maxmin(w, pos, cs[k], veto, move, lo, hi)
        np.testing.assert_allclose(got[:, k], want, rtol=0, atol=1e-9)
        if k == 0:
            np.testing.assert_array_equal(x, x_k)


@FAST
@given(seed=st.integers(0, 10_000), at=st.sampled_from([-F.TOL, 0.0, 0.05, -0.1]),
       box=st.booleans())
def test_deciding_a_side_gives_the_exact_sides_and_bounds_on_the_right_side(seed, at, box):
    """``decide``: the what-if's feasible flags with fewer pivots. A returned value is a bound
    (lower when at or above ``at``, upper when below), so the side is the exact one."""
    w, pos, c, veto, move, rng = _problems(n=200, seed=seed)
    c = c - rng.uniform(0.0, 0.5, c.shape)  # both sides of ``at`` in one batch
    lo = hi = None
    if box:
        lo = np.where(rng.random(move.shape) < 0.3, rng.uniform(0, 50, move.shape), -np.inf)
        hi = np.where(rng.random(move.shape) < 0.3, rng.uniform(50, 100, move.shape), np.inf)
    exact, _ = F.maxmin(w, pos, c, veto, move, lo, hi)
    v, x = F.maxmin(w, pos, c, veto, move, lo, hi, decide=at)
    np.testing.assert_array_equal(v >= at, exact >= at)
    slack = 1e-12
    assert (v[v >= at] <= exact[v >= at] + slack).all()   # a lower bound
    assert (v[v < at] >= exact[v < at] - slack).all()     # an upper bound
    # where the bound is the start package's value, that package reaches it
    got = (v >= at) & np.isfinite(v) & ~np.isnan(x).all(-1)
    p0 = np.nan_to_num(pos)
    reach = np.where(veto, c - np.where(move[:, None, :] & (w > 0) & ~np.isnan(x)[:, None, :],
                                        w * np.abs(np.nan_to_num(x)[:, None, :] - p0), 0).sum(-1),
                     np.inf).min(-1)
    assert (reach[got] >= at - 1e-9).all()


def test_the_solver_gives_the_same_bytes_on_one_thread_and_on_several(monkeypatch):
    w, pos, c, veto, move, _ = _problems(n=1000, seed=2)
    monkeypatch.setenv("ACCORD_THREADS", "1")
    one = F.maxmin(w, pos, c, veto, move)
    monkeypatch.setenv("ACCORD_THREADS", "3")
    assert len(_threads.blocks_of(1000)) == 3
    three = F.maxmin(w, pos, c, veto, move)
    for u, v in zip(one, three):
        np.testing.assert_array_equal(u, v)


def test_ordered_maps_keep_the_order_and_never_nest_pools(monkeypatch):
    monkeypatch.setenv("ACCORD_THREADS", "2")
    main = threading.get_ident()

    def inner(k):
        # inside a worker: a nested map runs on the same thread, in order
        return [(k, j, threading.get_ident()) for j in _threads.map_ordered(lambda j: j, range(4))]

    out = list(_threads.imap_ordered(inner, range(7)))
    assert [row[0][0] for row in out] == list(range(7))
    for row in out:
        assert [j for _, j, _ in row] == [0, 1, 2, 3]
        assert len({t for _, _, t in row}) == 1 and row[0][2] != main
    assert _threads.blocks_of(10) == [slice(0, 10)]          # too few problems to split


def test_an_error_in_a_worker_reaches_the_caller(monkeypatch):
    monkeypatch.setenv("ACCORD_THREADS", "2")

    def boom(k):
        if k == 3:
            raise ValueError("draw 3")
        return k

    with pytest.raises(ValueError, match="draw 3"):
        list(_threads.imap_ordered(boom, range(6)))


def test_lever_chunking_never_changes_a_number(monkeypatch):
    sc = accord.load("eu-emissions")
    levers = accord.scenario.bundled("eu-emissions") / "levers.yaml"
    runs = []
    for size in (30, 60, 10_000):  # one lever a task, two, all of them (30 draws a task)
        monkeypatch.setattr(sweeps, "PROBLEMS_PER_TASK", size)
        w = whatif(sc, levers, models=["median", "nbs", "compromise"], draws=30, seed=3)
        runs.append((w.forecast, w.feasibility))
    for f, p in runs[1:]:
        assert f.equals(runs[0][0])
        assert p.equals(runs[0][1])


_SIGNATURES = r"""
import importlib, sys, accord
from numba.core.registry import CPUDispatcher
from accord.models import _warm
from accord.analysis.summary import analyse

def compiled():
    return {(m, n): set(f.signatures) for m, mod in list(sys.modules.items())
            if m.startswith("accord") for n, f in vars(mod).items()
            if isinstance(f, CPUDispatcher)}

for module, *_ in _warm.UNITS.values():
    importlib.import_module(module)._compile()
warm = compiled()
from accord.analysis.outlook import outlook
sc = accord.load("ukraine-2025")
analyse(sc, draws=40, dynamic_draws=4, outlook=outlook(sc, draws=120))
for (m, n), sigs in compiled().items():
    if len(sigs) > 1 or (any(m == u for u, *_ in _warm.UNITS.values()) and sigs - warm[(m, n)]):
        print(f"{m}.{n}: {len(sigs)} signatures, {len(sigs - warm.get((m, n), set()))} "
              "after the prewarm")
"""


def test_each_compiled_function_compiles_once_and_the_prewarm_compiles_what_runs():
    """A second signature (a read-only or Fortran-ordered argument) means a second compile on
    the user's first run, after the prewarm child compiled the first (9 s for the exchange
    model's Fortran-ordered presence mask). The first process fills numba's cache; in the
    second every function is loaded from it, so only the functions Python calls (not those
    inlined into other compiled code) show their signatures."""
    import subprocess
    import sys

    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _SIGNATURES], capture_output=True,
                             text=True, check=True)
    assert out.stdout == "", out.stdout


def _literal_calls(source: str, where: str) -> list[str]:
    """Calls from one compiled function to another with a literal number or bool argument."""
    import ast

    tree = ast.parse(source)
    jitted = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for d in node.decorator_list:
                f = d.func if isinstance(d, ast.Call) else d
                if (f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)) == "njit":
                    jitted[node.name] = node
    found = []
    for name, fn in jitted.items():
        for n in ast.walk(fn):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in jitted:
                lit = [ast.unparse(a) for a in list(n.args) + [k.value for k in n.keywords]
                       if isinstance(a, ast.Constant) and isinstance(a.value, (bool, int, float))]
                if lit:
                    found.append(f"{where}:{n.lineno}: {name} calls {n.func.id} with "
                                 f"{', '.join(lit)}")
    return found


def test_no_compiled_function_passes_a_literal_to_another():
    """numba compiles one more copy of a compiled function for every literal constant it gets
    from compiled code: five such calls cost the exchange model 3 s of its first-run compile
    (the first run's critical path). Constants go through a typed value (``np.int64``,
    ``np.bool_``) instead."""
    from pathlib import Path

    root = Path(accord.__file__).parent
    found = [c for path in sorted(root.rglob("*.py"))
             for c in _literal_calls(path.read_text(), str(path.relative_to(root)))]
    assert found == []
    bad = "@njit\ndef f(a):\n    return a\n@njit\ndef g(b):\n    return f(0) + f(b)\n"
    assert _literal_calls(bad, "x") == ["x:6: g calls f with 0"]      # the check can fail


def test_leaving_cores_to_a_compile_lowers_the_threads_and_gives_them_back(monkeypatch):
    monkeypatch.delenv("ACCORD_THREADS", raising=False)
    monkeypatch.setattr(_threads.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert _threads.cores() == 3
    with _threads.leave_cores(1):
        assert _threads.cores() == 2
        with _threads.leave_cores(5):
            assert _threads.cores() == 1          # never fewer than one
        assert _threads.cores() == 2
    assert _threads.cores() == 3
    with pytest.raises(RuntimeError):
        with _threads.leave_cores(2):
            raise RuntimeError("a model failed")
    assert _threads.cores() == 3                  # given back on an error too
    monkeypatch.setenv("ACCORD_THREADS", "4")
    with _threads.leave_cores(1):
        assert _threads.cores() == 4              # the user's setting wins


def test_while_the_exchange_model_compiles_the_other_models_leave_it_a_core(monkeypatch):
    """A first run: the prewarm child compiling the exchange model is the critical path."""
    from accord import models as M
    from accord.analysis import ensemble
    from accord.models import _warm

    monkeypatch.delenv("ACCORD_THREADS", raising=False)
    monkeypatch.setattr(_threads.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(_warm, "start", lambda names: {"exchange": object()})
    monkeypatch.setattr(_warm, "wait", lambda procs, name: procs.pop(name, None))
    seen, real = {}, M.run

    def spy(name, inputs, **kw):
        seen[name] = _threads.cores()
        return real(name, inputs, **kw)

    monkeypatch.setattr(M, "run", spy)
    deals = []
    ensemble.forecast(accord.load("eu-emissions"), ["mean", "median", "exchange"], draws=20,
                      seed=0, dynamic_draws=4, meanwhile=lambda: deals.append(_threads.cores()))
    assert seen == {"mean": 1, "median": 1, "exchange": 2} and deals == [1]
    assert _threads.cores() == 2


def test_dynamic_models_see_each_views_first_draws_whatever_the_order(monkeypatch):
    """Once the one-shot models are done the forecast keeps only the dynamic models' draws
    (memory); a dynamic model still runs on the first k draws of every view, in any order."""
    from accord import models as M
    from accord.analysis import ensemble

    sc = accord.load("ukraine-2025")  # five view groups: the draws are taken per group
    groups, _, d = ensemble.view_groups(sc, 30, 5)
    want = []
    for idx, inputs in groups:
        sub = ensemble._take(inputs, len(idx), d, 4)
        want.append(sub.subset_issues(np.flatnonzero(sub.present.any(axis=(0, 1)))).position)
    seen, real = [], M.run

    def spy(name, inputs, **kw):
        if name == "bdm":
            seen.append(inputs.position)
        return real(name, inputs, **kw)

    monkeypatch.setattr(M, "run", spy)
    runs = [ensemble.forecast(sc, order, draws=30, seed=5, dynamic_draws=4)
            for order in (["bdm", "median"], ["median", "bdm"])]
    assert len(seen) == 2 * len(want)
    for got, expected in zip(seen, want + want):
        np.testing.assert_array_equal(got, expected)
    for name in ("bdm", "median"):
        np.testing.assert_array_equal(runs[0].samples[name], runs[1].samples[name])


def test_the_lps_compile_yields_the_cores_to_the_exchange_models(monkeypatch):
    """On a first run the exchange model's compile is the critical path: the LP's child runs
    at a lower priority (niceness +10), the exchange model's at the caller's."""
    import subprocess
    import sys

    from accord.models import _warm

    commands = {}

    class Child:
        def __init__(self, args, **kwargs):
            commands[args[-1].rsplit("from ", 1)[1].split()[0]] = args[-1]

    monkeypatch.setenv("ACCORD_PREWARM", "1")
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    monkeypatch.setattr(_warm.subprocess, "Popen", Child)
    monkeypatch.setattr(_warm, "cold", lambda name: True)
    monkeypatch.setattr(_warm, "_running", {})
    _warm.start(["exchange", "feasibility"])
    monkeypatch.undo()  # a real subprocess.Popen again, and no child left to join

    def niceness(command):  # the child's own code, up to its import of the unit
        code = command.rsplit("from ", 1)[0] + "import os; print(os.nice(0))"
        return int(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                  text=True, check=True).stdout)

    base = os.nice(0)
    assert niceness(commands["accord.models.exchange"]) == base
    assert niceness(commands["accord.analysis.feasibility"]) == min(base + 10, 19)


def test_a_compile_started_early_is_shared_and_never_outlives_the_command(monkeypatch):
    """The CLI starts the prewarm children before it reads the scenario; the forecast's own
    request must join those, not start more, and children nobody joined end with the process."""
    from accord.models import _warm

    spawned = []

    class Child:
        def __init__(self, *args, **kwargs):
            self.done = self.stopped = False
            spawned.append(self)

        def poll(self):
            return 0 if self.done else None

        def wait(self):
            self.done = True

        def terminate(self):
            self.stopped = True

    monkeypatch.setenv("ACCORD_PREWARM", "1")
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    monkeypatch.setattr(_warm.subprocess, "Popen", Child)
    monkeypatch.setattr(_warm, "cold", lambda name: True)
    monkeypatch.setattr(_warm, "_running", {})
    early = _warm.start(["mean", "exchange", "feasibility"])
    later = _warm.start(["exchange"])
    assert len(spawned) == 2 and later["exchange"] is early["exchange"]
    _warm.wait(later, "exchange")
    assert spawned[0].done and "exchange" not in _warm._running
    _warm.stop()                          # at exit: the feasibility child nobody joined
    assert spawned[1].stopped and not spawned[0].stopped and _warm._running == {}


def test_the_cli_job_runs_without_the_collector_and_gives_it_back(monkeypatch):
    """The forecast's objects form few cycles: the collector's passes cost time and freed
    little, so the job runs with it off and its objects leave the passes at the end (the
    exit's too); a caller running the CLI in process gets the collector back, after an
    error too."""
    import gc

    from typer.testing import CliRunner

    from accord.analysis import summary
    from accord.cli import app

    seen, real = [], summary.analyse

    def spy(*a, **kw):
        seen.append(gc.isenabled())
        return real(*a, **kw)

    monkeypatch.setattr(summary, "analyse", spy)
    assert gc.isenabled()
    gc.unfreeze()
    res = CliRunner().invoke(app, ["forecast", "eu-emissions", "--models", "mean,median",
                                   "--draws", "20", "--lever-draws", "5", "--json"])
    assert res.exit_code == 0, res.output
    assert seen == [False] and gc.isenabled()
    assert gc.get_freeze_count() > 10_000         # what lives on leaves the passes (exit)
    with pytest.raises(RuntimeError):
        with _threads.quiet_collector():
            assert not gc.isenabled()
            raise RuntimeError("a model failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with _threads.quiet_collector():
            pass
        assert not gc.isenabled()                 # a caller's own setting stays
    finally:
        gc.enable()
