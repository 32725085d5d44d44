"""The forecast of a scenario: every model × every view × Monte-Carlo draws, in one batch per model.

Views are stacked along the draw axis (``[views · draws, a, i]``) so each model runs once. The
ensemble pools the draws of all views with equal weight. The disagreement map asks, cell by
cell, how far each analysis' coding is from the base and how much that one difference moves
the point forecast (one batch of single-cell variants per model).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .. import models as _models
from ..models.base import Inputs
from ..scenario.model import Scenario
from .montecarlo import sample, stack, uncertain

QUANTILES = (0.1, 0.5, 0.9)
BASE = "base"
ENSEMBLE = "ensemble"


@dataclass
class Forecast:
    """What ``accord forecast`` computes; DataFrames for the Python API, ``to_json`` for tools."""

    scenario: Scenario
    seed: int | None
    draws: int
    models: list[str]
    views: list[str]
    samples: dict[str, np.ndarray]
    """model -> ``[view, draw, issue]`` final forecasts (views in ``self.views`` order)."""
    summary: pd.DataFrame
    disagreement: pd.DataFrame
    timeline: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    stops: dict[str, dict[str, float]] = field(default_factory=dict)
    """model -> stop reason -> share of draws (all views), so a surface can explain them."""
    diagnostics: dict[str, dict[str, Any]] = field(default_factory=dict)
    """model -> what a surface needs to explain an odd result: ``cycle_low``/``cycle_high``
    (issue -> median ends of a detected cycle's forecast range over cycling draws) and
    ``no_gain`` (issue -> share of draws where nobody gains by leaving the status quo)."""

    def to_json(self) -> dict[str, Any]:
        from .. import __version__

        sc = self.scenario
        views = []
        for v in self.views:
            if v == BASE:
                views.append({"id": BASE, "date": sc.as_of, "source": None, "inherited_cells": 0})
            else:
                vv = sc.views[v]
                resolved = sc.view(v)
                views.append({"id": v, "date": vv.date, "source": vv.source, "title": vv.title,
                              "inherited_cells": int(resolved.inherited.sum()),
                              "own_cells": int((~resolved.inherited & ~np.isnan(resolved.position)).sum())})
        return {
            "scenario": sc.id, "scenario_sha256": sc.sha256, "accord_version": __version__,
            "seed": self.seed, "draws": self.draws, "models": self.models,
            "skipped_models": self.skipped, "views": views,
            "forecasts": _records(self.summary),
            "disagreement": _records(self.disagreement),
            "timeline": _records(self.timeline),
            "stop_reasons": self.stops, "diagnostics": self.diagnostics,
            "notes": self.notes,
        }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in df.to_dict(orient="records")]


def _view_list(scenario: Scenario) -> list[str]:
    if not scenario.views:
        return [BASE]
    dated = sorted(scenario.views.values(), key=lambda v: (v.date is None, v.date or 0, v.id))
    return [v.id for v in dated]


def _resolved(scenario: Scenario, view: str) -> Scenario:
    return scenario if view == BASE else scenario.view(view)


def _view_batches(scenario: Scenario, draws: int, seed: int | None):
    views = _view_list(scenario)
    resolved = [_resolved(scenario, v) for v in views]
    d = draws if any(uncertain(s) for s in resolved) else 1
    seqs = np.random.SeedSequence(seed).spawn(len(views))
    return views, [sample(s, d, np.random.default_rng(q)) for s, q in zip(resolved, seqs)], d


def view_inputs(scenario: Scenario, draws: int, seed: int | None) -> tuple[list[str], Inputs, int]:
    """Every view's draws stacked into one batch ``[views · draws]``; returns (views, inputs, d).

    The stacked batch carries the first view's status quo and veto flags; use
    :func:`view_groups` where views may differ in those.
    """
    views, batches, d = _view_batches(scenario, draws, seed)
    return views, stack(batches), d


def view_groups(scenario: Scenario, draws: int, seed: int | None):
    """Views that share status quo and vetoes, stacked: ``[(view indices, Inputs)], views, d``.

    Same draws as :func:`view_inputs`. Most scenarios give one group, so each model runs once.
    """
    views, batches, d = _view_batches(scenario, draws, seed)
    groups: dict[tuple, list[int]] = {}
    for k, b in enumerate(batches):
        key = (tuple(np.nan_to_num(b.status_quo, nan=-np.inf).tolist()), tuple(b.veto.tolist()))
        groups.setdefault(key, []).append(k)
    return [(idx, stack([batches[k] for k in idx])) for idx in groups.values()], views, d


def forecast(scenario: Scenario, models: Sequence[str] | None = None, draws: int = 10_000,
             seed: int | None = 0, dynamic_draws: int = 1_000,
             progress: Callable[[str], None] | None = None,
             meanwhile: Callable[[], None] | None = None) -> Forecast:
    """Forecast every issue under every model and view, with intervals and the ensemble.

    ``meanwhile``: work that does not need the forecast (the deal analyses), called once:
    while a model's code still compiles in another process on a first run, else after the
    last model."""
    from contextlib import ExitStack

    from .._threads import leave_cores
    from ..models import _warm

    names = list(models) if models is not None else list(_models.available())
    # on a first run the exchange model compiles in a second process meanwhile; it runs last
    warming = _warm.start(names)
    groups, views, d = view_groups(scenario, draws, seed)
    done: dict[str, Any] = {}
    # the one-shot models first: once they are done, only the dynamic models' first draws of
    # each view are kept (on the flagship 1.6 of the 31 MiB of draws; the rest is freed
    # before the models with the largest working memory run, 35 MiB off the peak)
    order = sorted(names, key=lambda n: (n in warming, _models.get(n).dynamic))
    full = max((t for t, n in enumerate(order) if not _models.get(n).dynamic), default=-1)
    kept = d
    with ExitStack() as compiling:  # that compile is the run's critical path: it keeps a core
        compiling.enter_context(leave_cores(len(warming)))
        for t, name in enumerate(order):
            spec = _models.get(name)
            k = d if not spec.dynamic else min(d, dynamic_draws)
            if t > full and k < kept:
                groups = [(idx, _take(inputs, len(idx), kept, k)) for idx, inputs in groups]
                kept = k
            if name in warming and meanwhile is not None:  # done while it compiles
                meanwhile()
                meanwhile = None
            if progress:
                progress(name)
            _warm.wait(warming, name)
            if not warming:
                compiling.close()  # every compile is done: all cores again
            done[name] = _one_model(scenario, name, k, groups, views, kept, seed)
    groups = None  # the sampled inputs (tens of MB): freed before the deals (each model's
    # runs and trajectories went with its _one_model call)
    if meanwhile is not None:
        meanwhile()
    samples: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    notes: list[str] = []
    stops: dict[str, dict[str, float]] = {}
    diagnostics: dict[str, dict[str, Any]] = {}
    for name in names:              # the order asked for, whatever order they ran in
        if isinstance(done[name], str):
            skipped[name] = done[name]
            continue
        samples[name], stops[name], diagnostics[name] = done[name]
        k = samples[name].shape[1]
        if k < d:
            notes.append(f"{name}: {k} draws per view (dynamic model; --dynamic-draws)")
    summary = _summary(scenario, views, samples)
    disagreement = _disagreement(scenario, views, [m for m in samples
                                                   if not _models.get(m).dynamic]) \
        if scenario.views else pd.DataFrame(columns=["view", "actor", "issue", "field", "base",
                                                     "coded", "difference", "model",
                                                     "forecast_shift"])
    timeline = _timeline(scenario, views, summary)
    return Forecast(scenario, seed, d, list(samples), views, samples, summary, disagreement,
                    timeline, notes, skipped, stops, diagnostics)


def _one_model(scenario: Scenario, name: str, k: int, groups, views, d: int,
               seed: int | None):
    """One model on every view group: ``(samples [views, k, issues], stop shares,
    diagnostics)``, or the reason it could not run (a ``ValueError``'s message)."""
    result = np.full((len(views), k, len(scenario.issues)), np.nan)
    reasons: list[np.ndarray] = []
    cycles: list[tuple[np.ndarray, np.ndarray]] = []
    no_gain: list[np.ndarray] = []
    try:
        for idx, inputs in groups:
            sub = inputs if k == d else _take(inputs, len(idx), d, k)
            # an issue no actor of these views takes a stance on has no outcome there
            live = sub.present.any(axis=(0, 1))
            if not live.all():
                sub = sub.subset_issues(np.flatnonzero(live))
            outcome, _ = _models.run(name, sub, seed=seed)
            result[idx] = _widen(outcome.final, live).reshape(len(idx), k, -1)
            reasons.append(np.asarray(outcome.stop_reason, dtype=object))
            ex = outcome.extra or {}
            path = _widen(np.asarray(outcome.forecast, float), live)
            if path.shape[1] > 2:  # dynamic: the forecast's range over the last half
                tail = path[:, path.shape[1] // 2:]
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    # issues with no outcome
                    warnings.simplefilter("ignore", RuntimeWarning)
                    open_ = np.isin(np.asarray(outcome.stop_reason).astype(str),
                                    ("max_rounds", "cycle"))[:, None]
                    lo_, hi_ = np.nanmin(tail, axis=1), np.nanmax(tail, axis=1)
                    step = np.diff(tail, axis=1)
                    eps = 1e-9 * np.maximum(1.0, np.abs(tail).max(initial=1.0))
                    turns = (step > eps).any(axis=1) & (step < -eps).any(axis=1)
                    cycles.append((np.where(open_, lo_, np.nan),
                                   np.where(open_, hi_, np.nan), open_ & turns))
            if "nbs_gain_possible" in ex:
                gain = _widen(np.asarray(ex["nbs_gain_possible"], float), live, 1.0)
                no_gain.append(gain[:, -1] == 0)
    except ValueError as exc:
        return str(exc)
    return result, _stop_shares(reasons), _diagnostics(scenario, cycles, no_gain)


def _widen(a: np.ndarray, live: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """``a`` over the live issues (last axis) spread back over every issue, ``fill`` elsewhere."""
    if live.all():
        return a
    out = np.full(a.shape[:-1] + (live.size,), fill)
    out[..., live] = a
    return out


def _stop_shares(reasons: list[np.ndarray]) -> dict[str, float]:
    r = np.concatenate(reasons) if reasons else np.array([], dtype=object)
    names, counts = np.unique(r.astype(str), return_counts=True)
    return {str(n): float(c) / max(1, len(r)) for n, c in zip(names, counts)}


def _diagnostics(scenario: Scenario, cycles, no_gain) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ids = scenario.issue_ids
    if cycles:
        lo = np.concatenate([c[0] for c in cycles])
        hi = np.concatenate([c[1] for c in cycles])
        width = np.where(scenario.high > scenario.low, scenario.high - scenario.low, 1.0)
        moving = np.nan_to_num(hi - lo) > 0.01 * width  # draws whose forecast keeps moving
        turns = np.concatenate([c[2] for c in cycles])
        if (moving & ~turns).any():  # still drifting one way when the rounds ran out
            out["drift_share"] = {x: float((moving & ~turns)[:, j].mean())
                                  for j, x in enumerate(ids)}
        cyc = moving & turns  # up and down: a cycle, exact or not
        if cyc.any():
            out["swing_share"] = {x: float(cyc[:, j].mean()) for j, x in enumerate(ids)}
            out["swing_low"] = {x: float(np.median(lo[cyc[:, j], j])) if cyc[:, j].any() else None
                                for j, x in enumerate(ids)}
            out["swing_high"] = {x: float(np.median(hi[cyc[:, j], j])) if cyc[:, j].any() else None
                                 for j, x in enumerate(ids)}
    if no_gain:
        g = np.concatenate(no_gain)
        out["no_gain"] = {x: float(g[:, j].mean()) for j, x in enumerate(ids)}
    return out


def _take(inputs: Inputs, n_views: int, d: int, k: int) -> Inputs:
    idx = (np.arange(n_views)[:, None] * d + np.arange(k)[None, :]).ravel()
    return Inputs(inputs.capability[idx], inputs.position[idx], inputs.salience[idx],
                  inputs.low, inputs.high, inputs.status_quo, inputs.veto, inputs.actors,
                  inputs.issues)


def _summary(scenario: Scenario, views: list[str], samples: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = []
    for name, s in samples.items():
        groups = [(v, s[k]) for k, v in enumerate(views)]
        if len(views) > 1:
            groups.append((ENSEMBLE, s.reshape(-1, s.shape[-1])))
        for view, x in groups:
            q = np.full((3, x.shape[-1]), np.nan)
            live = ~np.isnan(x).all(axis=0)  # an issue may have no outcome in a view
            if live.any():
                q[:, live] = np.nanquantile(x[:, live], QUANTILES, axis=0)
            for j, issue in enumerate(scenario.issues):
                rows.append({"issue": issue.id, "model": name, "view": view,
                             "median": float(q[1, j]), "p10": float(q[0, j]),
                             "p90": float(q[2, j]),
                             "anchor": issue.nearest_anchor(float(q[1, j]))})
    return pd.DataFrame(rows, columns=["issue", "model", "view", "median", "p10", "p90", "anchor"])


def _timeline(scenario: Scenario, views: list[str], summary: pd.DataFrame) -> pd.DataFrame:
    if not scenario.views:
        return pd.DataFrame(columns=["view", "date", "model", "issue", "median"])
    dates = {v: scenario.views[v].date for v in views}
    t = summary[summary["view"].isin(views)].copy()
    t["date"] = t["view"].map(lambda v: dates[v].isoformat() if dates.get(v) else None)
    return t[["view", "date", "model", "issue", "median"]].sort_values(
        ["date", "view", "model", "issue"], kind="stable").reset_index(drop=True)


def _disagreement(scenario: Scenario, views: list[str], names: list[str]) -> pd.DataFrame:
    """Per view and coded cell: the difference from the base and the shift of the point forecast.

    All single-cell variants of all views form one batch per model.
    """
    base = scenario.inputs()
    cap0, pos0, sal0 = base.capability[0], base.position[0], base.salience[0]
    actor_ix = {x: k for k, x in enumerate(scenario.actor_ids)}
    issue_ix = {x: k for k, x in enumerate(scenario.issue_ids)}
    variants = []  # (view, actor, issue|None, field, base value, coded value)
    for v in views:
        vv = scenario.views[v]
        for actor, q in vv.capability.items():
            variants.append((v, actor, None, "capability", cap0[actor_ix[actor]], q.value, None))
        for (actor, issue), st in vv.stances.items():
            a, j = actor_ix[actor], issue_ix[issue]
            if st is None:
                continue
            variants.append((v, actor, issue, "position", pos0[a, j], st.position.value, st))
            variants.append((v, actor, issue, "salience", sal0[a, j], st.salience.value, st))
    if not variants or not names:
        return pd.DataFrame(columns=["view", "actor", "issue", "field", "base", "coded",
                                     "difference", "model", "forecast_shift"])
    n = len(variants)
    cap = np.repeat(cap0[None], n, axis=0)
    pos = np.repeat(pos0[None], n, axis=0)
    sal = np.repeat(sal0[None], n, axis=0)
    for k, (_, actor, issue, fld, _, coded, st) in enumerate(variants):
        a = actor_ix[actor]
        if fld == "capability":
            cap[k, a] = coded
        else:
            j = issue_ix[issue]
            if np.isnan(pos[k, a, j]):  # the base gives no stance: the view adds the whole stance
                pos[k, a, j], sal[k, a, j] = st.position.value, st.salience.value
            (pos if fld == "position" else sal)[k, a, j] = coded
    batch = Inputs.from_arrays(cap, pos, sal, base.low, base.high, base.status_quo, base.veto,
                               base.actors, base.issues)
    rows = []
    for name in names:
        ref = _models.run(name, base)[0].final[0]
        shifted = _models.run(name, batch)[0].final
        for k, (v, actor, issue, fld, b, coded, _) in enumerate(variants):
            cols = [issue_ix[issue]] if issue else list(range(len(issue_ix)))
            deltas = shifted[k, cols] - ref[cols]
            j = cols[int(np.nanargmax(np.abs(deltas)))] if not np.isnan(deltas).all() else cols[0]
            rows.append({"view": v, "actor": actor, "issue": issue or scenario.issue_ids[j],
                         "field": fld, "base": float(b), "coded": float(coded),
                         "difference": float(coded - b) if not np.isnan(b) else np.nan,
                         "model": name, "forecast_shift": float(shifted[k, j] - ref[j])})
    df = pd.DataFrame(rows)
    df["abs_shift"] = df["forecast_shift"].abs()
    df = df.sort_values(["abs_shift", "view", "actor", "issue", "field", "model"],
                        ascending=[False, True, True, True, True, True], kind="stable")
    return df.drop(columns="abs_shift").reset_index(drop=True)
