"""Backtest: every registered model, with default parameters, on expert-coded negotiations
with known outcomes, in the layout of the DEU data set (Decision-making in the European
Union; Thomson, Stokman, Achen & König 2006; Thomson et al. 2012; Arregui & Perarnaud 2022).

The file is read by :func:`accord.scenario.io.deu.read_deu` (DEU III as distributed, the
blank-missing copies, or any file with ``p<actor>``, ``s<actor>``, ``rp``, ``out``).

The setting, each choice a named parameter:

- **Capability** (``power``): Council members weigh by their Shapley–Shubik index under the
  rule in force at the decision date (:mod:`accord.analysis.voting_power`), the Commission
  and the Parliament by ``supranational``; ``equal`` is the old every-actor-1 setting.
- **Negotiations** (``joint``): the multi-issue models (:data:`JOINT_MODELS`: exchange, smp)
  run each proposal's issues together, as the trades they model happen across the issues of
  one proposal; the one-issue models run per issue. With ``joint=False`` every model runs
  per issue, and the exchange model can trade nothing. Within a proposal the exchange model
  reads each issue's own capabilities (decide's per-issue power); smp takes each actor's mean
  over the proposal's issues (they differ only where a proposal mixes Council rules). Issues
  without a coded outcome still take part in their proposal's negotiation; they are not scored.
- **Forecast distributions** (``draws``): besides the forecast on the coded data (the point
  forecast, which the MAE scores), each model runs on ``draws`` perturbations of the coding:
  every position moves by Normal(0, ``position_sd``) scale points, every salience by
  Normal(0, ``salience_sd``) on 0–1, both clipped to their scale (a coder cannot code beyond
  the ends), the reference point and who takes a stance held fixed; a stochastic model
  (exchange's coin flips) adds its own randomness in each draw. The two sizes are accord's
  choice, not fitted to anything: vary them, the result records them.
- **Scores**: MAE, RMSE, median absolute error and the share within 10 points of the point
  forecast; CRPS of the draws (``scoringrules``) and the coverage of their central 50, 80 and
  95% intervals, with a randomised PIT histogram; each against the compromise model (Achen
  2006) with a paired bootstrap CI over the same issues; broken down by Council rule, binary
  or graded issue, period and procedure.
- **Calibration**: the perturbation draws show how a forecast moves with the coding, not how
  far forecasts land from outcomes; the ``*_cal`` scores widen each model's draws by its
  out-of-fold errors (:func:`calibrated`), so both the raw and the calibrated distribution
  are on the table.
- **Ensemble**: a convex combination of the models whose weights minimise the absolute error
  on the other folds of proposals (cross-validation by proposal, :func:`ensemble_cv`); it is
  scored only out of fold.

No tuning of any model: default preset and parameters, scale [0, 100], saliences / 100.
"""

from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from accord.errors import Collector
from accord.models import Inputs, available, run
from accord.scenario.io.deu import DeuData, read_deu

from .voting_power import POWER, SUPRANATIONAL, deu_capability, period_on

REFERENCE = "compromise"
"""The baseline every model is compared with (Achen 2006's compromise model)."""

JOINT_MODELS = ("exchange", "smp")
"""Models whose forecast on one issue depends on the other issues of the negotiation."""

ENSEMBLE = "ensemble"
LEVELS = (0.5, 0.8, 0.95)
PIT_BINS = 10
_RNG_KW = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"
_SMP_CHUNK = 64  # lanes per SMP call: smaller chunks stay in cache (measured: 64 beats 256, 512)


def _ci(values: np.ndarray, n_boot: int, seed: int, confidence: float) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (scipy, vectorised); constant data -> (x, x);
    fewer than two issues or no resamples -> NaN."""
    if values.size < 2 or n_boot <= 0:
        return math.nan, math.nan
    if np.all(values == values[0]):
        return float(values[0]), float(values[0])
    res = stats.bootstrap((values,), np.mean, n_resamples=n_boot, vectorized=True,
                          paired=False, confidence_level=confidence, method="percentile",
                          **{_RNG_KW: np.random.default_rng(seed)})
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _cluster_boot(values: np.ndarray, clusters: Sequence[str], n_boot: int, seed: int,
                  confidence: float) -> tuple[float, float, float]:
    """Percentile CI and standard error of the mean by resampling whole clusters (proposals):
    issues of one proposal share their coders and their bargain, so they are not independent.
    One multinomial draw of cluster counts per resample, vectorised."""
    if values.size < 2 or n_boot <= 0:
        return math.nan, math.nan, math.nan
    if np.all(values == values[0]):
        return float(values[0]), float(values[0]), 0.0
    keys, inv = np.unique(np.asarray(clusters, dtype=object).astype(str), return_inverse=True)
    sums = np.bincount(inv, weights=values, minlength=keys.size)
    sizes = np.bincount(inv, minlength=keys.size).astype(float)
    counts = np.random.default_rng(seed).multinomial(keys.size, np.full(keys.size, 1 / keys.size),
                                                     size=n_boot)
    means = (counts @ sums) / (counts @ sizes)
    lo, hi = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi), float(means.std(ddof=1))


MDE_Z = float(stats.norm.ppf(0.975) + stats.norm.ppf(0.8))
"""(z_0.975 + z_0.8): the minimum detectable effect is MDE_Z standard errors of the mean
paired difference (two-sided 5% test, 80% power)."""


# ---- inputs ------------------------------------------------------------------------------

def perturb(data: DeuData, draws: int, position_sd: float, salience_sd: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``[draws + 1, n, a]`` positions and saliences: draw 0 the coded values, then draws
    with Normal noise clipped to [0, 100] and [0, 1]; NaN (no stance) stays NaN."""
    n, a = data.position.shape
    pos = np.repeat(data.position[None], draws + 1, axis=0)
    sal = np.repeat(data.salience[None], draws + 1, axis=0)
    if draws:
        pos[1:] = np.clip(pos[1:] + rng.normal(0.0, position_sd, (draws, n, a)), 0.0, 100.0)
        sal[1:] = np.clip(sal[1:] + rng.normal(0.0, salience_sd, (draws, n, a)), 0.0, 1.0)
    return pos, sal


def _run_final(name: str, inputs: Inputs, seed: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        outcome, _ = run(name, inputs, seed=seed)
    return np.asarray(outcome.final, float)


def _issue_inputs(pos, sal, cap_row, ref, idx, low_actors=True) -> tuple[Inputs, np.ndarray]:
    """Issues ``idx`` on the issue axis, draws on the draw axis, one capability row."""
    p = pos[:, idx].transpose(0, 2, 1)
    keep = ~np.isnan(p[0]).all(axis=1) if low_actors else np.ones(p.shape[1], bool)
    p = p[:, keep]
    s = sal[:, idx].transpose(0, 2, 1)[:, keep]
    i = len(idx)
    return Inputs.from_arrays(cap_row[keep], p, s, low=[0.0] * i, high=[100.0] * i,
                              status_quo=ref[idx]), keep


def forecasts(data: DeuData, models: Sequence[str], capability: np.ndarray, pos: np.ndarray,
              sal: np.ndarray, *, seed: int = 0, joint: bool = True,
              min_actors: int = 3) -> tuple[dict[str, np.ndarray], dict[str, list]]:
    """``{model: [draws + 1, n]}`` forecasts (NaN where none) and each model's failures.

    One-issue models run once per group of issues that share a capability row (the issues on
    the issue axis, draws on the draw axis); joint models once per proposal (SMP: proposals
    with the same actors are stacked on the draw axis, their issue axes padded with empty
    issues, which changes nothing — every actor has salience 0 there)."""
    d1, n, a = pos.shape
    stances = (~np.isnan(data.position)).sum(axis=1)
    runnable = np.nonzero(stances >= min_actors)[0]
    out = {m: np.full((d1, n), np.nan) for m in models}
    failures: dict[str, list] = {m: [] for m in models}
    groups: dict[bytes, list[int]] = {}
    for k in runnable:
        groups.setdefault(capability[k].tobytes(), []).append(int(k))
    proposals: dict[str, list[int]] = {}
    for k in runnable:
        proposals.setdefault(data.proposal[k] if data.proposal else data.issues[k], []).append(int(k))

    def fail(name, ks, msg):
        for k in ks:
            failures[name].append((data.issues[k], msg))

    singles = {data.issues[k]: [int(k)] for k in runnable}
    for name in models:
        if name in JOINT_MODELS:  # a negotiation is a proposal, or each issue alone
            units = proposals if joint else singles
            if name == "smp":
                _smp_stacked(name, data, capability, pos, sal, units, seed, out, fail)
            else:
                for ks in units.values():
                    idx = np.array(ks)
                    inp, keep = _issue_inputs(pos, sal, capability[idx].mean(axis=0),
                                              data.reference, idx)
                    power = np.broadcast_to(capability[idx][:, keep].T, (d1, keep.sum(), len(idx)))
                    try:
                        out[name][:, idx] = _run_final(name, replace(inp, power=np.array(power)), seed)
                    except Exception as exc:  # one proposal failing must not stop the run
                        fail(name, ks, f"{type(exc).__name__}: {exc}")
            continue
        for ks in groups.values():
            idx = np.array(ks)
            try:
                inp, _ = _issue_inputs(pos, sal, capability[idx[0]], data.reference, idx)
                out[name][:, idx] = _run_final(name, inp, seed)
            except Exception:  # localise: rerun the group issue by issue
                for k in ks:
                    try:
                        inp, _ = _issue_inputs(pos, sal, capability[k], data.reference, np.array([k]))
                        out[name][:, [k]] = _run_final(name, inp, seed)
                    except Exception as exc:
                        fail(name, [k], f"{type(exc).__name__}: {exc}")
    for name in models:
        bad = [k for k in runnable if np.isnan(out[name][0, k])
               and data.issues[k] not in {i for i, _ in failures[name]}]
        fail(name, bad, "no forecast (NaN)" + ("; the reference point is unknown"
                                                if name == "status_quo" else ""))
    return out, failures


def _smp_stacked(name, data, capability, pos, sal, proposals, seed, out, fail) -> None:
    """SMP on every proposal: those with the same actors share calls (draws × proposals on
    the draw axis). The status quo is left unknown so that an absent actor's placeholder is
    the scale midpoint in every proposal alike (SMP reads the status quo for nothing else)."""
    d1 = pos.shape[0]
    by_actors: dict[bytes, list[list[int]]] = {}
    for ks in proposals.values():
        present = ~np.isnan(data.position[ks]).all(axis=0)
        by_actors.setdefault(present.tobytes(), []).append(ks)
    for key, props in by_actors.items():
        present = np.frombuffer(key, dtype=bool)
        width = max(len(ks) for ks in props)
        lanes_p, lanes_s, lanes_c = [], [], []
        for ks in props:
            p = np.full((d1, present.sum(), width), np.nan)
            s = np.full_like(p, np.nan)
            p[:, :, :len(ks)] = pos[:, ks][:, :, present].transpose(0, 2, 1)
            s[:, :, :len(ks)] = sal[:, ks][:, :, present].transpose(0, 2, 1)
            lanes_p.append(p)
            lanes_s.append(s)
            lanes_c.append(np.broadcast_to(capability[ks][:, present].mean(axis=0), (d1, present.sum())))
        P, S, C = np.concatenate(lanes_p), np.concatenate(lanes_s), np.concatenate(lanes_c)
        finals = np.full((P.shape[0], width), np.nan)
        try:
            for lo in range(0, P.shape[0], _SMP_CHUNK):
                sl = slice(lo, lo + _SMP_CHUNK)
                inp = Inputs.from_arrays(C[sl], P[sl], S[sl], low=[0.0] * width,
                                         high=[100.0] * width)
                finals[sl] = _run_final(name, inp, seed)
        except Exception as exc:
            for ks in props:
                fail(name, ks, f"{type(exc).__name__}: {exc}")
            continue
        for j, ks in enumerate(props):
            out[name][:, ks] = finals[j * d1:(j + 1) * d1, :len(ks)]


# ---- scores ------------------------------------------------------------------------------

def scores(point: np.ndarray, dist: np.ndarray | None, y: np.ndarray,
           rng: np.random.Generator | None = None) -> dict:
    """Point and distribution scores on the issues where the model forecast.

    ``point`` ``[n]``, ``dist`` ``[D, n]`` or None, ``y`` ``[n]``. The PIT is randomised
    where draws tie with the outcome (u = (#below + V·#equal) / D), so a point mass that
    sits on the outcome is uniform, not piled at one end."""
    import scoringrules as sr

    e = np.abs(point - y)
    ok = np.isfinite(e)
    res = {"rmse": math.nan, "median_ae": math.nan, "within_10": math.nan, "crps": math.nan,
           **{f"coverage_{round(c * 100)}": math.nan for c in LEVELS},
           "pit": [0] * PIT_BINS}
    if ok.any():
        res.update(rmse=float(np.sqrt(np.mean(e[ok] ** 2))), median_ae=float(np.median(e[ok])),
                   within_10=float(np.mean(e[ok] <= 10.0)))
    if dist is None or dist.shape[0] == 0:
        return res
    dok = ok & np.isfinite(dist).all(axis=0)
    if not dok.any():
        return res
    f, obs = dist[:, dok], y[dok]
    res["crps"] = float(np.mean(sr.crps_ensemble(obs, f.T)))
    for c in LEVELS:
        lo, hi = np.quantile(f, [(1 - c) / 2, (1 + c) / 2], axis=0)
        res[f"coverage_{round(c * 100)}"] = float(np.mean((obs >= lo - 1e-9) & (obs <= hi + 1e-9)))
    rng = rng or np.random.default_rng(0)
    below = (f < obs).sum(axis=0)
    equal = (f == obs).sum(axis=0)
    u = (below + rng.random(obs.size) * equal) / f.shape[0]
    res["pit"] = np.histogram(u, bins=PIT_BINS, range=(0.0, 1.0))[0].tolist()
    return res


def ensemble_cv(X: np.ndarray, y: np.ndarray, groups: Sequence[str], folds: int = 5,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold stacking: weights ``w >= 0``, ``Σw = 1`` minimising Σ|y − Xw| on the
    training folds (a linear programme, HiGHS), folds made of whole groups (proposals).

    Returns ``fold[n]`` (each issue's fold), ``weights[folds, m]`` and the out-of-fold
    predictions ``X[k] @ weights[fold[k]]``. The weights of fold f never see an outcome of
    fold f: its rows are removed before the programme is built."""
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    n, m = X.shape
    uniq = list(dict.fromkeys(groups))
    order = np.random.default_rng(seed).permutation(len(uniq))
    gfold = {g: int(order[j] % folds) for j, g in enumerate(uniq)}
    fold = np.array([gfold[g] for g in groups])
    weights = np.full((folds, m), np.nan)
    for f in range(folds):
        tr = fold != f
        weights[f] = _lad_simplex(X[tr], y[tr])
    oof = np.einsum("nm,nm->n", X, weights[fold])
    return fold, weights, oof


def _lad_simplex(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin_w Σ|y − Xw| subject to w >= 0, Σw = 1, as an LP over (w, t) with t >= |y − Xw|."""
    n, m = X.shape
    if n == 0:
        return np.full(m, 1.0 / m)
    c = np.concatenate([np.zeros(m), np.ones(n)])
    A = np.block([[X, -np.eye(n)], [-X, -np.eye(n)]])
    b = np.concatenate([y, -y])
    eq = np.concatenate([np.ones(m), np.zeros(n)])[None]
    res = optimize.linprog(c, A_ub=A, b_ub=b, A_eq=eq, b_eq=[1.0],
                           bounds=[(0, None)] * (m + n), method="highs")
    if not res.success:
        return np.full(m, 1.0 / m)
    w = np.clip(res.x[:m], 0.0, None)
    return w / w.sum()


def _period(date) -> str:
    if date is None:
        return "unknown"
    try:
        name = period_on(date).name
    except ValueError:
        return "unknown"
    return "Lisbon" if "Lisbon" in name else "pre-Nice" if "pre-Nice" in name or "transitional" in name else "Nice"


def subsets(data: DeuData) -> dict[str, np.ndarray]:
    """The breakdowns: Council rule (QMV vs unanimity), binary vs graded issue, period,
    procedure; each a label per issue."""
    rule = np.array(["unanimity" if r == "Unan" else "QMV" if r.startswith("QMV") else "unknown"
                     for r in (data.rule or ("",) * len(data.issues))], dtype=object)
    kind = np.where(data.binary, "binary", "graded").astype(object)
    period = np.array([_period(d) for d in (data.decided or (None,) * len(data.issues))], dtype=object)
    proc = np.array([p or "unknown" for p in (data.procedure or ("",) * len(data.issues))], dtype=object)
    return {"rule": rule, "issue": kind, "period": period, "procedure": proc}


def diagnose(table: dict[str, np.ndarray], data: DeuData, ok: np.ndarray) -> pd.DataFrame:
    """Where each model loses its points: MAE by the kind of case, beside the compromise model.

    Cases: the outcome at an end of the scale (0/100) or inside; the reference point known or
    not; the forecast at the status quo (the Nash bargaining solution's disagreement point
    when the actors sit on both sides of it) or not; the forecast on a coded position (where
    BDM's challenges tend to end) or between positions. Each of the three partitions (``by``)
    covers every scored issue once; ``points_lost`` is the case's share of the model's MAE
    minus the compromise model's, so a partition's rows add up to the MAE difference."""
    y = data.outcome
    rp = data.reference
    ends = (y == 0) | (y == 100)
    known = np.isfinite(rp) & ~data.reference_filled
    ref = table[REFERENCE][0]
    rows = []
    for name, f in table.items():
        x = f[0]
        use = ok & np.isfinite(x) & np.isfinite(ref)
        at_sq = np.isfinite(rp) & (np.abs(x - rp) < 0.5)
        on_pos = (np.abs(data.position - x[:, None]) < 0.5).any(axis=1)
        for by, case, mask in (("outcome", "outcome at 0 or 100", ends),
                               ("outcome", "outcome inside", ~ends),
                               ("reference point", "reference point known", known),
                               ("reference point", "reference point unknown", ~known),
                               ("forecast", "forecast at the status quo", at_sq),
                               ("forecast", "forecast on a coded position", on_pos & ~at_sq),
                               ("forecast", "forecast between positions", ~on_pos & ~at_sq)):
            m = use & mask
            if not m.any():
                continue
            e, er = np.abs(x[m] - y[m]), np.abs(ref[m] - y[m])
            rows.append({"model": name, "by": by, "case": case, "n": int(m.sum()),
                         "share": float(m.sum() / max(use.sum(), 1)), "mae": float(e.mean()),
                         "mae_compromise": float(er.mean()),
                         "points_lost": float((e - er).sum() / max(use.sum(), 1))})
    return pd.DataFrame(rows, columns=["model", "by", "case", "n", "share", "mae",
                                       "mae_compromise", "points_lost"])


# ---- the backtest ------------------------------------------------------------------------

COLUMNS = ["model", "n", "failed", "mae", "mae_low", "mae_high", "diff", "diff_low",
           "diff_high", "rmse", "median_ae", "within_10", "crps", "coverage_50", "coverage_80",
           "coverage_95", "crps_cal", "coverage_50_cal", "coverage_80_cal", "coverage_95_cal",
           "mde"]
CAL_QUANTILES = 20
"""Residual quantiles per draw in a calibrated distribution (:func:`calibrated`)."""


def calibrated(table: np.ndarray, y: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """``[draws·Q, n]`` a model's distribution widened by its out-of-fold errors.

    The perturbation draws say how the forecast moves with the coding; they say nothing of how
    far a model's forecasts land from outcomes, which on DEU is 20-30 points. For an issue of
    fold f, each draw is shifted by the ``CAL_QUANTILES`` mid-quantiles of the model's point
    errors (outcome − forecast) on the *other* folds of proposals, then clipped to [0, 100]
    (outcomes lie there, a third of them at an end). Split conformal prediction by proposal:
    no outcome of fold f shapes fold f's distribution. ``fold`` is -1 on unscored issues."""
    draws = table[1:] if table.shape[0] > 1 else table[:1]
    out = np.full((draws.shape[0] * CAL_QUANTILES, table.shape[1]), np.nan)
    resid = y - table[0]
    levels = (np.arange(CAL_QUANTILES) + 0.5) / CAL_QUANTILES
    for f in np.unique(fold[fold >= 0]):
        train = (fold >= 0) & (fold != f) & np.isfinite(resid)
        test = np.nonzero(fold == f)[0]
        if not train.any():
            continue
        q = np.quantile(resid[train], levels)
        x = draws[:, test][:, None, :] + q[None, :, None]
        out[:, test] = np.clip(x, 0.0, 100.0).reshape(-1, test.size)
    return out


def ensemble_calibrated(X: np.ndarray, draws: np.ndarray, y: np.ndarray, fold: np.ndarray
                        ) -> np.ndarray:
    """``[draws·Q, n]`` the ensemble's draws widened by its errors on the other folds, each
    of those errors itself out of fold (nested: the weights that forecast fold g for the
    calibration of fold f never saw f or g). ``X`` ``[n, m]`` point forecasts of the scored
    issues, ``draws`` ``[D, n]`` the ensemble's draws there, ``fold`` ``[n]``."""
    levels = (np.arange(CAL_QUANTILES) + 0.5) / CAL_QUANTILES
    out = np.full((draws.shape[0] * CAL_QUANTILES, X.shape[0]), np.nan)
    fs = np.unique(fold)
    for f in fs:
        resid = []
        for g in fs[fs != f]:
            train = (fold != f) & (fold != g)
            if not train.any():
                continue
            w = _lad_simplex(X[train], y[train])
            resid.append(y[fold == g] - X[fold == g] @ w)
        if not resid:
            continue
        q = np.quantile(np.concatenate(resid), levels)
        test = np.nonzero(fold == f)[0]
        out[:, test] = np.clip(draws[:, test][:, None, :] + q[None, :, None], 0.0,
                               100.0).reshape(-1, test.size)
    return out


def predictions(data: DeuData, models: Sequence[str], seed: int = 0
                ) -> tuple[pd.DataFrame, dict[str, list[tuple[str, str]]]]:
    """``[issue, model]`` point forecasts on the coded data, every model per issue with the
    file's capabilities (the old setting), and the failures' messages."""
    pos, sal = perturb(data, 0, 0.0, 0.0, np.random.default_rng(seed))
    table, failures = forecasts(data, models, np.asarray(data.capability, float), pos, sal,
                                seed=seed, joint=False, min_actors=2)
    return pd.DataFrame(np.column_stack([table[m][0] for m in models]) if models else
                        np.zeros((len(data.issues), 0)),
                        index=pd.Index(data.issues, name="issue"), columns=list(models)), failures


def backtest(path: str | Path | DeuData, models: Sequence[str] | None = None,
             n_boot: int = 2000, seed: int = 0, *, confidence: float = 0.95,
             ignore: Sequence[str] = (), draws: int = 10, position_sd: float = 10.0,
             salience_sd: float = 0.1, power: str = "auto",
             supranational: str = "largest_state", joint: bool = True, folds: int = 5,
             reference_fill: str = "none", min_actors: int = 3,
             skip_lines: Sequence[int] = (), encoding: str = "utf-8",
             bootstrap_unit: str = "issue") -> pd.DataFrame:
    """Score every model (default parameters) on a DEU file's scorable issues.

    One row per model in registry order (``compromise`` always included), then the
    out-of-fold ``ensemble`` when ``folds`` >= 2. Columns: :data:`COLUMNS` — ``n`` issues
    scored, ``failed`` scorable issues without a forecast, ``mae`` with its bootstrap CI,
    ``diff`` = MAE − MAE(compromise) on the issues both scored with its paired bootstrap CI
    (percentile, ``n_boot`` resamples, ``seed``; ``bootstrap_unit="proposal"`` resamples whole
    proposals), then the scores of :func:`scores`, their calibrated versions and ``mde``, the
    smallest MAE difference from the compromise model this file could detect (:data:`MDE_Z`
    standard errors of the paired difference).
    ``attrs``: the file's hash and reading summary, the setting, ``predictions`` (point
    forecasts per issue), ``distributions`` (``{model: [draws, n]}``), ``subsets`` and
    ``diagnosis`` tables, ``pit`` histograms, the ``ensemble`` weights per fold, failures.
    """
    errs = Collector(path if not isinstance(path, DeuData) else path.path)
    for name, value, allowed in (("power", power, POWER), ("supranational", supranational, SUPRANATIONAL),
                                 ("bootstrap_unit", bootstrap_unit, ("issue", "proposal"))):
        if value not in allowed:
            errs.add(None, name, value, "one of " + ", ".join(allowed))
    for name, value, ok, expected in (
            ("confidence", confidence, 0 < confidence < 1, "a level strictly between 0 and 1"),
            ("n_boot", n_boot, n_boot >= 0, "a number of resamples >= 0"),
            ("draws", draws, draws >= 0, "a number of perturbed draws >= 0"),
            ("position_sd", position_sd, position_sd >= 0, "a standard deviation >= 0"),
            ("salience_sd", salience_sd, salience_sd >= 0, "a standard deviation >= 0"),
            ("folds", folds, folds == 0 or folds >= 2, "0 (no ensemble) or at least 2")):
        if not ok:
            errs.add(None, name, value, expected)
    errs.raise_if_any()
    data = path if isinstance(path, DeuData) else read_deu(
        path, ignore=ignore, reference_fill=reference_fill, min_actors=min_actors,
        skip_lines=skip_lines, encoding=encoding)
    registry = available()
    names = list(registry) if models is None else list(dict.fromkeys(models))
    errs = Collector(data.path)
    for m in names:
        if m not in registry:
            errs.add(None, "models", m, f"one of {', '.join(registry)}")
    if REFERENCE not in registry:
        errs.add(None, "models", REFERENCE, "the compromise baseline to be registered")
    errs.raise_if_any()
    if REFERENCE not in names:
        names.insert(0, REFERENCE)
    names = [m for m in registry if m in names]

    capability, power_used, power_notes = deu_capability(data, power, supranational)
    rng = np.random.default_rng(seed)
    pos, sal = perturb(data, draws, position_sd, salience_sd, rng)
    table, failures = forecasts(data, names, capability, pos, sal, seed=seed, joint=joint,
                                min_actors=min_actors)
    ok = np.asarray(data.scorable, bool) if len(data.scorable) else ~np.isnan(data.outcome)
    y = data.outcome
    failures = {m: [f for f in fs if ok[data.issues.index(f[0])]] for m, fs in failures.items()}

    ens = ens_cal = None
    idx = np.nonzero(ok)[0]
    groups = [data.proposal[k] if data.proposal else data.issues[k] for k in idx]
    fold_all = np.full(len(y), -1)
    usable = [m for m in names if np.isfinite(table[m][:, ok]).all()]
    if folds >= 2 and ok.sum() >= folds:
        X = np.column_stack([table[m][0, idx] for m in usable]) if usable else np.zeros((idx.size, 0))
        fold, weights, oof = ensemble_cv(X, y[idx], groups, folds, seed)
        fold_all[idx] = fold
    if folds >= 2 and len(usable) >= 2 and ok.sum() >= folds:
        full = np.full((draws + 1, len(y)), np.nan)
        full[0, idx] = oof
        if draws:
            D = np.stack([table[m][1:, idx] for m in usable], axis=-1)  # [draws, n_ok, m]
            full[1:, idx] = np.einsum("dnm,nm->dn", D, weights[fold])
        table = {**table, ENSEMBLE: full}
        ens_cal = np.full((max(draws, 1) * CAL_QUANTILES, len(y)), np.nan)
        ens_cal[:, idx] = ensemble_calibrated(X, full[1:, idx] if draws else full[:1, idx],
                                              y[idx], fold)
        ens = {"models": usable, "folds": folds, "weights": weights.tolist(),
               "fold_of_issue": {data.issues[k]: int(f) for k, f in zip(idx, fold)},
               "mean_weights": dict(zip(usable, weights.mean(axis=0).tolist()))}
    order = names + ([ENSEMBLE] if ens else [])

    ref_err = np.where(ok, np.abs(table[REFERENCE][0] - y), np.nan)
    rows, pits, pits_cal, cal = [], {}, {}, {}
    pit_rng = np.random.default_rng(seed)
    for name in order:
        e = np.where(ok, np.abs(table[name][0] - y), np.nan)
        fin = np.isfinite(e)
        both = fin & np.isfinite(ref_err)
        diff = e[both] - ref_err[both]
        if bootstrap_unit == "proposal":
            prop = np.asarray(data.proposal if data.proposal else data.issues, dtype=object)
            mae_ci = _cluster_boot(e[fin], prop[fin], n_boot, seed, confidence)[:2]
            *diff_ci, se = _cluster_boot(diff, prop[both], n_boot, seed, confidence)
        else:
            mae_ci = _ci(e[fin], n_boot, seed, confidence)
            diff_ci = _ci(diff, n_boot, seed, confidence)
            se = float(diff.std(ddof=1) / math.sqrt(diff.size)) if diff.size > 1 else math.nan
        sc = scores(np.where(ok, table[name][0], np.nan), table[name][1:] if draws else None,
                    np.where(ok, y, np.nan), pit_rng)
        pits[name] = sc.pop("pit")
        if (fold_all >= 0).any():
            cal[name] = (ens_cal if name == ENSEMBLE else
                         calibrated(table[name], np.where(ok, y, np.nan), fold_all))
            cs = scores(np.where(ok, table[name][0], np.nan), cal[name], np.where(ok, y, np.nan),
                        pit_rng)
            pits_cal[name] = cs["pit"]
            sc.update({k + "_cal": cs[k] for k in ("crps", "coverage_50", "coverage_80",
                                                    "coverage_95")})
        rows.append({"model": name, "n": int(fin.sum()), "failed": int((ok & ~fin).sum()),
                     "mae": float(e[fin].mean()) if fin.any() else math.nan,
                     "mae_low": mae_ci[0], "mae_high": mae_ci[1],
                     "diff": float(diff.mean()) if diff.size else math.nan,
                     "diff_low": diff_ci[0], "diff_high": diff_ci[1], **sc,
                     "mde": MDE_Z * se if name != REFERENCE else math.nan})
    result = pd.DataFrame(rows, columns=COLUMNS)

    sub_rows = []
    for dim, labels in subsets(data).items():
        for label in sorted(set(labels[ok])):
            m = ok & (labels == label)
            for name in order:
                x = table[name]
                sc = scores(np.where(m, x[0], np.nan), x[1:] if draws else None,
                            np.where(m, y, np.nan), np.random.default_rng(seed))
                e = np.abs(x[0] - y)[m]
                e = e[np.isfinite(e)]
                cs = (scores(np.where(m, x[0], np.nan), cal[name], np.where(m, y, np.nan),
                             np.random.default_rng(seed)) if name in cal else {})
                sub_rows.append({"subset": dim, "label": label, "model": name, "n": int(e.size),
                                 "mae": float(e.mean()) if e.size else math.nan,
                                 "crps": sc["crps"], "coverage_80": sc["coverage_80"],
                                 "crps_cal": cs.get("crps", math.nan),
                                 "coverage_80_cal": cs.get("coverage_80", math.nan)})
    notes = []
    unknown_sq = int((ok & np.isnan(data.reference)).sum())
    if unknown_sq and "nbs" in order:
        notes.append(f"nbs: on {unknown_sq} scorable issues without a reference point the "
                     "disagreement point is each actor's worst point of the scale")
    if "smp" in order:
        notes.append("smp: an actor without a stance on one issue of a proposal sits at the "
                     "scale midpoint there with salience 0 (KTAB's placeholder)")
    if ens is None and folds >= 2:
        notes.append("ensemble: not formed (fewer than two models forecast every scorable issue)")
    result.attrs.update(notes=notes, 
        file=data.path, sha256=data.sha256, issues=int(ok.sum()), rows=len(data.issues),
        actors=len(data.actors), seed=seed, n_boot=n_boot, confidence=confidence,
        reference=REFERENCE, bootstrap_unit=bootstrap_unit, ignored_columns=list(data.ignored_columns),
        reading=dict(data.summary), power=power_used, supranational=supranational,
        power_notes=power_notes, joint=joint, draws=draws, position_sd=position_sd,
        salience_sd=salience_sd, failures={m: f for m, f in failures.items() if f},
        predictions=pd.DataFrame({m: table[m][0] for m in order},
                                 index=pd.Index(data.issues, name="issue")),
        distributions={m: table[m][1:] for m in order}, outcome=y, scorable=ok,
        subsets=pd.DataFrame(sub_rows), diagnosis=diagnose({m: table[m] for m in order}, data, ok),
        pit=pits, pit_cal=pits_cal, folds=fold_all, ensemble=ens)
    return result


__all__ = ["DeuData", "REFERENCE", "JOINT_MODELS", "COLUMNS", "read_deu", "perturb",
           "forecasts", "scores", "calibrated", "ensemble_calibrated", "ensemble_cv", "subsets", "diagnose", "predictions", "backtest"]
