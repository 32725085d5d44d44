"""Scoring resolved questions with proper scores from ``scoringrules``.

Continuous (0–100) questions: CRPS — from the samples when a forecast has them
(``scoringrules.crps_ensemble``), else from its quantiles (``scoringrules.crps_quantile``,
the pinball-loss approximation) — and the absolute error of the forecast's median.
Binary questions: Brier score and log score of P(yes). Ordered questions: the
multi-category Brier score (the sum of the per-category Brier scores), the ranked
probability score and the log score of the probability given to the outcome's category.
All scores are negatively oriented: lower is better. A log score is ``inf`` when a forecast
gave the outcome probability 0 (nothing is clipped).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from accord.errors import Collector

from .store import BASELINES, Question, forecasts, get_question, questions

def _scoringrules():
    """scoringrules compiles its numba kernels on import (seconds): import it when scoring."""
    import scoringrules

    return scoringrules




def probabilities(question: Question, samples=None, probs=None) -> np.ndarray:
    """Category probabilities a forecast implies: ``[P(no), P(yes)]`` or one per category.

    Stored probabilities win; otherwise samples are binned by the question's cuts (binary:
    the event is ``value >= cut``; without a cut, samples are probabilities and their mean
    is P(yes)).
    """
    if probs is not None:
        return np.asarray(probs, dtype=float)
    x = np.asarray(samples, dtype=float)
    if question.kind == "binary":
        p = float(np.mean(x >= question.cuts[0])) if question.cuts else float(np.mean(x))
        return np.array([1.0 - p, p])
    k = np.searchsorted(np.asarray(question.cuts, dtype=float), x, side="right")
    return np.bincount(k, minlength=len(question.categories)) / x.size


def _median(samples, quantiles) -> float:
    if samples is not None:
        return float(np.median(samples))
    levels = np.array(sorted(quantiles))
    values = np.array([quantiles[lv] for lv in levels])
    if levels[0] <= 0.5 <= levels[-1]:
        return float(np.interp(0.5, levels, values))
    return float("nan")


def _score_rows(q: Question, outcome: float, df: pd.DataFrame) -> pd.DataFrame:
    sr = _scoringrules()
    out: dict[str, list] = {}
    if q.kind == "continuous":
        crps, src, med = [], [], []
        for s, qs in zip(df["samples"], df["quantiles"]):
            if s is not None:
                crps.append(float(sr.crps_ensemble(outcome, s)))
                src.append("samples")
            else:
                levels = np.array(sorted(qs))
                crps.append(float(sr.crps_quantile(outcome, np.array([qs[lv] for lv in levels]),
                                                   levels)))
                src.append("quantiles")
            med.append(_median(s, qs))
        out = {"crps": crps, "crps_from": src, "median": med,
               "abs_error_median": list(np.abs(np.asarray(med, dtype=float) - outcome))}
        return pd.DataFrame(out, index=df.index)
    P = np.stack([probabilities(q, s, p) for s, p in zip(df["samples"], df["probabilities"])]) \
        if len(df) else np.zeros((0, 2 if q.kind == "binary" else len(q.categories)))
    k = int(outcome)
    onehot = np.zeros_like(P)
    onehot[:, k] = 1.0
    with np.errstate(divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if q.kind == "binary":
            return pd.DataFrame({
                "p_yes": P[:, 1],
                "brier": np.asarray(sr.brier_score(np.full(len(P), k), P[:, 1]), dtype=float),
                "log_score": np.asarray(sr.log_score(np.full(len(P), k), P[:, 1]), dtype=float),
            }, index=df.index)
        brier = np.asarray(sr.brier_score(onehot, P), dtype=float).sum(axis=1)
        return pd.DataFrame({
            "p_outcome": P[:, k],
            "brier": brier,
            "rps": np.asarray(sr.rps_score(onehot, P, onehot=True), dtype=float),
            "log_score": np.asarray(sr.log_score(np.ones(len(P)), P[:, k]), dtype=float),
        }, index=df.index)


def score(db: str | Path, question_id: str, models=None) -> pd.DataFrame:
    """Score every forecast on a resolved question, baselines always beside them.

    ``models`` narrows the table to some models; forecasts by the baselines
    (:data:`accord.ledger.BASELINES`) are kept whatever it says. One row per forecast,
    sorted by the question's main score (CRPS, or Brier). ``attrs`` carries the question,
    the outcome and ``missing_baselines``: baselines with no forecast on the question.
    """
    q = get_question(db, question_id)
    qs = questions(db)
    rec = qs.loc[qs["question_id"] == question_id].iloc[0]
    if rec["status"] != "resolved":
        why = ("annulled (its condition was not met), so it is not scored"
               if rec["status"] == "annulled" else "open")
        raise Collector(db).fail(None, "question_id", question_id,
                                               f"a resolved question (this one is {why})")
    outcome = float(rec["outcome"])
    df = forecasts(db, question_id)
    if models is not None:
        keep = set(models) | set(BASELINES)
        df = df[df["model"].isin(keep)]
    scores = _score_rows(q, outcome, df)
    base = pd.DataFrame({
        "question_id": question_id, "forecast": df["row"], "model": df["model"],
        "preset": df["preset"], "baseline": df["model"].isin(BASELINES),
        "seed": df["seed"], "created": df["created"], "outcome": outcome,
    }, index=df.index)
    table = pd.concat([base, scores], axis=1)
    main = "crps" if q.kind == "continuous" else "brier"
    table = table.sort_values([main, "forecast"], kind="stable").reset_index(drop=True)
    present = set(df["model"])
    table.attrs.update(question=q, outcome=outcome, kind=q.kind, main_score=main,
                       missing_baselines=[b for b in BASELINES if b not in present])
    return table


def score_all(db: str | Path) -> pd.DataFrame:
    """:func:`score` of every resolved question, stacked (columns differ by kind; NaN where
    a score does not apply)."""
    qs = questions(db)
    frames = [score(db, qid) for qid in qs.loc[qs["status"] == "resolved", "question_id"]]
    if not frames:
        return pd.DataFrame(columns=["question_id", "forecast", "model", "baseline", "outcome"])
    return pd.concat(frames, ignore_index=True)
