"""Backtest: every registered model, with default parameters, on expert-coded negotiations
with known outcomes, in the layout of the DEU data set (Decision-making in the European
Union; Thomson, Stokman, Achen & König 2006; Thomson et al. 2012).

The DEU layout: one row per controversial issue; for each actor ``X`` a position ``pX`` on
the issue's 0–100 scale and a salience ``sX`` on 0–100 (50 an issue of average importance),
both blank when the actor took no stance; ``rp`` the reference point (what happens without a
decision) and ``out`` the decision outcome, on the same scale. Optional: ``cX`` the actor's
capability for that issue (e.g. its Council votes), else every actor counts the same; an issue
id in a column ``issue_id``, ``issue`` or ``id``. Other columns (DEU's proposal metadata)
are ignored and listed in the result's ``attrs``; a lone ``pX``/``sX`` with a short actor code
(up to four characters, as DEU's actor codes) is an error, because it looks like an actor whose
other half is missing.

No tuning: every model runs with its default preset and parameters, status quo = ``rp``,
scale [0, 100], saliences divided by 100. The table gives each model's mean absolute error
(MAE) against ``out`` and a paired bootstrap confidence interval of its MAE minus the MAE of
the ``compromise`` baseline (Achen 2006) over the same issues (negative: better).
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from accord.errors import Collector
from accord.models import Inputs, available, run

REFERENCE = "compromise"
"""The baseline every model is compared with (Achen 2006's compromise model)."""

MISSING = frozenset({"", "na", "n/a", "nan", ".", "-"})
"""Cell texts that mean "no stance" (blank, NA, Stata's ".")."""

_ID_COLUMNS = ("issue_id", "issue", "id")
_ACTOR_CODE_MAX = 4
# scipy >= 1.15 names the generator ``rng``; older releases ``random_state``.
_RNG_KW = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"


@dataclass(frozen=True)
class DeuData:
    """A DEU-format file, parsed: ``[n]`` issues by ``[a]`` actors."""

    path: str
    sha256: str
    issues: tuple[str, ...]
    actors: tuple[str, ...]
    position: np.ndarray
    """``[n, a]`` on 0–100, NaN where an actor took no stance."""
    salience: np.ndarray
    """``[n, a]`` on [0, 1] (the file's 0–100 divided by 100), NaN where no stance."""
    capability: np.ndarray
    """``[n, a]`` from ``cX`` columns, else ones."""
    reference: np.ndarray
    outcome: np.ndarray
    lines: tuple[int, ...]
    ignored_columns: tuple[str, ...] = ()
    capability_given: bool = False

    def inputs(self, k: int) -> Inputs:
        """Issue ``k`` as model inputs: its actors with a stance, scale 0–100, status quo rp."""
        m = ~np.isnan(self.position[k])
        return Inputs.from_arrays(self.capability[k, m], self.position[k, m][:, None],
                                  self.salience[k, m][:, None], low=[0.0], high=[100.0],
                                  status_quo=[self.reference[k]],
                                  actors=[a for a, keep in zip(self.actors, m) if keep],
                                  issues=[self.issues[k]])


def _number(text: str) -> float | None:
    """The cell as a float; None when it means "no stance"; NaN when it is not a number."""
    t = text.strip()
    if t.lower() in MISSING:
        return None
    try:
        return float(t)
    except ValueError:
        return math.nan


def read_deu(path: str | Path, *, salience_max: float = 100.0,
             ignore: Sequence[str] = ()) -> DeuData:
    """Read a DEU-format CSV; every problem of the file is reported at once, by line and column.

    ``salience_max`` is the top of the file's salience scale (DEU: 100). ``ignore`` names
    columns to leave out although they look like an actor's (e.g. a metadata column ``sec``).
    """
    path = Path(path)
    errs = Collector(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise errs.fail(None, "file", str(path), f"a readable file ({exc.strerror})")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise errs.fail(None, "file", f"byte {exc.start}", "UTF-8 text")
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise errs.fail(1, "header", "nothing", "a header row with rp, out, p<actor>, s<actor>")
    except csv.Error as exc:
        raise errs.fail(1, "header", str(exc), "a CSV header row")
    col = {}
    skip = set(ignore)
    for j, h in enumerate(header):
        if h in skip:
            continue
        if h in col:
            errs.add(1, "header", h, "each column once", column=j + 1)
        col.setdefault(h, j)
    for need in ("rp", "out"):
        if need not in col:
            errs.add(1, "header", need, f"a column {need!r} "
                     + ("(reference point)" if need == "rp" else "(decision outcome)"))
    codes = lambda prefix: {h[1:] for h in col if h.startswith(prefix) and len(h) > 1}  # noqa: E731
    reserved = {"rp", "out", *_ID_COLUMNS}
    p_codes = {x for x in codes("p") if "p" + x not in reserved}
    s_codes = {x for x in codes("s") if "s" + x not in reserved}
    actors = tuple(sorted(p_codes & s_codes, key=lambda x: col["p" + x]))
    ignored = []
    for x in sorted(p_codes ^ s_codes):
        have, miss = ("p", "s") if x in p_codes else ("s", "p")
        if len(x) <= _ACTOR_CODE_MAX:
            errs.add(1, "header", have + x, f"a matching column {miss + x!r} (a stance needs a "
                     "position and a salience), or the column named in ignore",
                     column=col[have + x] + 1)
        else:
            ignored.append(have + x)
    if not actors:
        errs.add(1, "header", header[:8], "position and salience columns p<actor>, s<actor>")
    c_codes = {x for x in codes("c") if "c" + x not in reserved}
    cap_given = bool(c_codes & set(actors))
    if cap_given:
        for x in actors:
            if x not in c_codes:
                errs.add(1, "header", "c" + x, "a capability column for every actor, since "
                         "other actors have one")
    id_col = next((c for c in _ID_COLUMNS if c in col), None)
    used = {"rp", "out", *(f"{k}{x}" for x in actors for k in "ps"),
            *(("c" + x) for x in actors if cap_given), *([id_col] if id_col else [])}
    ignored += [h for h in header if h not in used and h not in ignored and h]
    if not actors or any(p.line == 1 and p.field == "header" and p.value in ("rp", "out")
                         for p in errs.problems):
        errs.raise_if_any()  # nothing to check the rows against

    n_cols = len(header)
    ids, lines, pos, sal, cap, rp, out = [], [], [], [], [], [], []
    seen: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue
            if len(row) != n_cols:
                errs.add(line, "row", f"{len(row)} cells", f"{n_cols} cells like the header")
                continue
            issue = row[col[id_col]].strip() if id_col else f"row{line}"
            if not issue:
                errs.add(line, id_col, "", "an issue id", column=col[id_col] + 1)
            elif issue in seen:
                errs.add(line, id_col, issue, f"an id not used before (line {seen[issue]})",
                         column=col[id_col] + 1)
            seen.setdefault(issue, line)
            vals = {}
            for name in ("rp", "out"):
                v = _number(row[col[name]])
                if v is None or not (0.0 <= v <= 100.0):
                    errs.add(line, name, row[col[name]], "a number on [0, 100]",
                             column=col[name] + 1)
                    v = math.nan
                vals[name] = v
            p_row, s_row, c_row = [], [], []
            given = 0
            for x in actors:
                p = _number(row[col["p" + x]])
                given += p is not None
                s = _number(row[col["s" + x]])
                c = _number(row[col["c" + x]]) if cap_given else 1.0
                if p is not None and not (0.0 <= p <= 100.0):
                    errs.add(line, "p" + x, row[col["p" + x]],
                             "a position on [0, 100] or blank (no stance)", column=col["p" + x] + 1)
                    p = math.nan
                if s is not None and not (0.0 <= s <= salience_max):
                    errs.add(line, "s" + x, row[col["s" + x]],
                             f"a salience on [0, {salience_max:g}] or blank",
                             column=col["s" + x] + 1)
                    s = math.nan
                if (p is None) != (s is None):
                    blank, other = ("s", "p") if s is None else ("p", "s")
                    errs.add(line, blank + x, "blank", f"a value, since {other + x} is given "
                             "(a stance needs a position and a salience)",
                             column=col[blank + x] + 1)
                if cap_given and p is not None and (c is None or not (c >= 0 and math.isfinite(c))):
                    errs.add(line, "c" + x, row[col["c" + x]], "a capability >= 0",
                             column=col["c" + x] + 1)
                p_row.append(math.nan if p is None else p)
                s_row.append(math.nan if s is None or p is None else s / salience_max)
                c_row.append(1.0 if c is None or not math.isfinite(c) else c)
            if given < 2:
                errs.add(line, "p<actor>", f"{given} position(s)",
                         "positions of at least two actors")
            ids.append(issue)
            lines.append(line)
            pos.append(p_row)
            sal.append(s_row)
            cap.append(c_row)
            rp.append(vals["rp"])
            out.append(vals["out"])
    except csv.Error as exc:
        errs.add(reader.line_num, "row", str(exc), "well-formed CSV")
    if not ids and not errs:
        errs.add(2, "rows", "nothing", "at least one issue row")
    errs.raise_if_any()
    a = len(actors)
    return DeuData(path=str(path), sha256=hashlib.sha256(raw).hexdigest(), issues=tuple(ids),
                   actors=actors, position=np.array(pos, dtype=float).reshape(-1, a),
                   salience=np.array(sal, dtype=float).reshape(-1, a),
                   capability=np.array(cap, dtype=float).reshape(-1, a),
                   reference=np.array(rp, dtype=float), outcome=np.array(out, dtype=float),
                   lines=tuple(lines), ignored_columns=tuple(ignored),
                   capability_given=cap_given)


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


def predictions(data: DeuData, models: Sequence[str], seed: int = 0
                ) -> tuple[pd.DataFrame, dict[str, list[tuple[str, str]]]]:
    """``[issue, model]`` forecasts (NaN where a model failed) and the failures' messages."""
    table = np.full((len(data.issues), len(models)), np.nan)
    failures: dict[str, list[tuple[str, str]]] = {m: [] for m in models}
    for k in range(len(data.issues)):
        inputs = data.inputs(k)
        for j, name in enumerate(models):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    outcome, _ = run(name, inputs, seed=seed)
                value = float(outcome.final[0, 0])
            except Exception as exc:  # one model failing on one issue must not stop the run
                failures[name].append((data.issues[k], f"{type(exc).__name__}: {exc}"))
                continue
            if math.isnan(value):
                failures[name].append((data.issues[k], "no forecast (NaN)"))
            table[k, j] = value
    return pd.DataFrame(table, index=pd.Index(data.issues, name="issue"),
                        columns=list(models)), failures


def backtest(path: str | Path | DeuData, models: Sequence[str] | None = None,
             n_boot: int = 2000, seed: int = 0, *, confidence: float = 0.95,
             ignore: Sequence[str] = ()) -> pd.DataFrame:
    """MAE of every model (default parameters) on a DEU-format file, with bootstrap CIs.

    One row per model, registry order, ``compromise`` always included as the reference.
    Columns: ``n`` issues scored, ``failed`` issues without a forecast, ``mae`` with
    ``mae_low``/``mae_high`` (bootstrap CI of the MAE), ``diff`` = MAE − MAE(compromise) on
    the issues both scored, with ``diff_low``/``diff_high`` its paired bootstrap CI (the same
    resampled issues for both models; percentile method, ``n_boot`` resamples, ``seed``).
    ``attrs`` carries the file's hash, the issue and actor counts, the forecasts per issue
    (``predictions``) and every failure's message (``failures``).
    """
    data = path if isinstance(path, DeuData) else read_deu(path, ignore=ignore)
    registry = available()
    names = list(registry) if models is None else list(dict.fromkeys(models))
    errs = Collector(data.path)
    for m in names:
        if m not in registry:
            errs.add(None, "models", m, f"one of {', '.join(registry)}")
    if REFERENCE not in registry:
        errs.add(None, "models", REFERENCE, "the compromise baseline to be registered")
    if not (0 < confidence < 1):
        errs.add(None, "confidence", confidence, "a level strictly between 0 and 1")
    if n_boot < 0:
        errs.add(None, "n_boot", n_boot, "a number of resamples >= 0")
    errs.raise_if_any()
    if REFERENCE not in names:
        names.insert(0, REFERENCE)
    names = [m for m in registry if m in names]
    pred, failures = predictions(data, names, seed)
    err = np.abs(pred.to_numpy() - data.outcome[:, None])
    ref = err[:, names.index(REFERENCE)]
    rows = []
    for j, name in enumerate(names):
        e = err[:, j]
        ok = np.isfinite(e)
        both = ok & np.isfinite(ref)
        mae = float(e[ok].mean()) if ok.any() else math.nan
        diff = e[both] - ref[both]
        mae_ci = _ci(e[ok], n_boot, seed, confidence)
        diff_ci = _ci(diff, n_boot, seed, confidence)
        rows.append({"model": name, "n": int(ok.sum()), "failed": int((~ok).sum()),
                     "mae": mae, "mae_low": mae_ci[0], "mae_high": mae_ci[1],
                     "diff": float(diff.mean()) if diff.size else math.nan,
                     "diff_low": diff_ci[0], "diff_high": diff_ci[1]})
    table = pd.DataFrame(rows)
    table.attrs.update(file=data.path, sha256=data.sha256, issues=len(data.issues),
                       actors=len(data.actors), seed=seed, n_boot=n_boot,
                       confidence=confidence, reference=REFERENCE,
                       ignored_columns=list(data.ignored_columns),
                       failures={m: f for m, f in failures.items() if f},
                       predictions=pred)
    return table


__all__ = ["DeuData", "REFERENCE", "read_deu", "predictions", "backtest"]
