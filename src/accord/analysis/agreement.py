"""Inter-coder agreement: do two coders of the same source give the same numbers?

Two codings (views) of one analysis are compared cell by cell. Agreement is Krippendorff's
alpha with the interval metric (Krippendorff 2004, *Content Analysis*, ch. 11; computed by the
``krippendorff`` package): alpha = 1 − D_o / D_e, observed over expected disagreement, where
each actor's position on an issue is one unit and each coder one observer. A cell only one
coder wrote is missing for the other (alpha allows missing values); a unit needs both to count.

- per issue: the positions of every actor on that issue, in the issue's units;
- overall: every position of every issue, each rescaled to [0, 1] by its scale so that issues
  of different units pool (the interval metric is not scale free across units);
- salience: every salience (already on [0, 1]).

Alpha says how far to trust a coding; the differences say where to look. For each cell the two
coders wrote differently, the forecast is computed with coder A's coding and with that one
cell taken from coder B (one batch per model, as the ensemble's disagreement map does), so the
table reads "this difference moves the forecast of this issue by this much".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from .. import models as _models
from ..models.base import Inputs

__all__ = ["Agreement", "compare", "alpha_interval", "DEFAULT_MODELS"]

DEFAULT_MODELS = ("compromise", "median", "mean")
"""One-shot models whose forecasts the differences are measured with (fast, no draws)."""


@dataclass
class Agreement:
    """The outcome of :func:`compare`: alpha per issue and overall, and the differences."""

    a: str
    b: str
    alpha: pd.DataFrame
    """One row per issue, then ``overall`` and ``salience``: alpha, units coded by both, notes."""
    differences: pd.DataFrame
    """One row per cell (position, salience or capability) the coders wrote differently,
    largest scaled difference first, with the forecast shift per model."""
    models: list[str] = field(default_factory=list)

    @property
    def overall(self) -> float:
        return float(self.alpha.set_index("unit").loc["overall", "alpha"])

    def to_json(self) -> dict:
        from .ensemble import _records

        return {"a": self.a, "b": self.b, "models": self.models,
                "alpha": _records(self.alpha), "differences": _records(self.differences)}


def alpha_interval(data: np.ndarray) -> tuple[float, str]:
    """Krippendorff's interval alpha of ``data[coder, unit]`` (NaN = not coded), and a note.

    NaN with a note where alpha is undefined: fewer than one unit coded by both coders, or no
    variation among the values (expected disagreement zero).
    """
    import krippendorff

    data = np.asarray(data, float)
    both = (~np.isnan(data)).sum(axis=0) >= 2
    if not both.any():
        return float("nan"), "no cell coded by both"
    values = data[:, both]
    if np.unique(values[~np.isnan(values)]).size < 2:
        return float("nan"), "no variation: every cell coded by both has the same value"
    note = ("one cell coded by both: alpha is 0 whenever the two differ, whatever by how much"
            if both.sum() == 1 else "")
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="interval")), note


def _cells(scenario, view) -> dict[tuple[str, str, str], float]:
    """The numbers a view itself writes: (actor, issue|'', field) -> value."""
    out: dict[tuple[str, str, str], float] = {}
    for actor, q in view.capability.items():
        out[(actor, "", "capability")] = q.value
    for (actor, issue), st in view.stances.items():
        if st is not None:
            out[(actor, issue, "position")] = st.position.value
            out[(actor, issue, "salience")] = st.salience.value
    return out


def compare(scenario, view_a, view_b, models: Sequence[str] = DEFAULT_MODELS,
            label_a: str | None = None, label_b: str | None = None) -> Agreement:
    """Agreement between two codings (:class:`~accord.scenario.View`) of ``scenario``."""
    ca, cb = _cells(scenario, view_a), _cells(scenario, view_b)
    la, lb = label_a or view_a.id, label_b or view_b.id
    rows = []
    pooled = []
    for issue in scenario.issues:
        span = issue.high - issue.low
        data = np.array([[c.get((a, issue.id, "position"), np.nan) for a in scenario.actor_ids]
                         for c in (ca, cb)], float)
        value, note = alpha_interval(data)
        both = int(((~np.isnan(data)).sum(axis=0) == 2).sum())
        rows.append({"unit": issue.id, "alpha": value, "cells_both": both,
                     "cells_a": int((~np.isnan(data[0])).sum()),
                     "cells_b": int((~np.isnan(data[1])).sum()), "note": note})
        pooled.append((data - issue.low) / span if span > 0 else data * np.nan)
    for unit, data in (("overall", np.concatenate(pooled, axis=1) if pooled else np.empty((2, 0))),
                       ("salience", np.array([[c.get((a, i, "salience"), np.nan)
                                               for a in scenario.actor_ids
                                               for i in scenario.issue_ids]
                                              for c in (ca, cb)], float))):
        value, note = alpha_interval(data)
        rows.append({"unit": unit, "alpha": value,
                     "cells_both": int(((~np.isnan(data)).sum(axis=0) == 2).sum()),
                     "cells_a": int((~np.isnan(data[0])).sum()),
                     "cells_b": int((~np.isnan(data[1])).sum()), "note": note})
    alpha = pd.DataFrame(rows, columns=["unit", "alpha", "cells_both", "cells_a", "cells_b",
                                        "note"])
    names = [m for m in models if not _models.get(m).dynamic]
    diffs = _differences(scenario, view_a, view_b, ca, cb, names)
    return Agreement(la, lb, alpha, diffs, names)


def _differences(scenario, view_a, view_b, ca, cb, names) -> pd.DataFrame:
    from dataclasses import replace

    cols = ["actor", "issue", "field", "a", "b", "difference", "scaled"] + \
        [f"shift_{m}" for m in names] + ["max_shift"]
    keys = sorted(set(ca) | set(cb))
    diff = [(k, ca.get(k, np.nan), cb.get(k, np.nan)) for k in keys
            if not (k in ca and k in cb and ca[k] == cb[k])]
    if not diff:
        return pd.DataFrame(columns=cols)
    sc_a = replace(scenario, views={**scenario.views, "__a": replace(view_a, id="__a")}
                   ).view("__a")
    sc_b = replace(scenario, views={**scenario.views, "__b": replace(view_b, id="__b")}
                   ).view("__b")
    base = sc_a.inputs()
    other = sc_b.inputs()
    ai = {x: k for k, x in enumerate(scenario.actor_ids)}
    ii = {x: k for k, x in enumerate(scenario.issue_ids)}
    n = len(diff)
    cap = np.repeat(base.capability[0][None], n, axis=0)
    pos = np.repeat(base.position[0][None], n, axis=0)
    sal = np.repeat(base.salience[0][None], n, axis=0)
    for k, ((actor, issue, fld), _, _) in enumerate(diff):
        a = ai[actor]
        if fld == "capability":
            cap[k, a] = other.capability[0, a]
        else:
            j = ii[issue]
            if np.isnan(pos[k, a, j]):  # A gives no stance here: take B's whole stance
                pos[k, a, j], sal[k, a, j] = other.position[0, a, j], other.salience[0, a, j]
            src = other.position if fld == "position" else other.salience
            (pos if fld == "position" else sal)[k, a, j] = src[0, a, j]
    batch = Inputs.from_arrays(cap, pos, sal, base.low, base.high, base.status_quo, base.veto,
                               base.actors, base.issues)
    shifts = {}
    for name in names:
        ref = _models.run(name, base)[0].final[0]
        shifts[name] = _models.run(name, batch)[0].final - ref[None]
    rows = []
    for k, ((actor, issue, fld), va, vb) in enumerate(diff):
        if fld == "position":
            iss = scenario.issue(issue)
            scale = (iss.high - iss.low) or 1.0
        elif fld == "salience":
            scale = 1.0
        else:
            caps = [a.capability.value for a in scenario.actors]
            scale = (max(caps) or 1.0)
        row = {"actor": actor, "issue": issue or None, "field": fld, "a": va, "b": vb,
               "difference": vb - va, "scaled": abs(vb - va) / scale}
        cols_j = [ii[issue]] if issue else list(range(len(ii)))
        best = 0.0
        for name in names:
            d = shifts[name][k, cols_j]
            j = int(np.nanargmax(np.abs(d))) if not np.isnan(d).all() else 0
            v = float(d[j])
            row[f"shift_{name}"] = v
            if not np.isnan(v):
                best = max(best, abs(v))
        row["max_shift"] = best
        rows.append(row)
    df = pd.DataFrame(rows, columns=cols)
    df["_one"] = df["scaled"].isna()  # written by one coder only: after the disagreements
    df = df.sort_values(["_one", "scaled", "max_shift", "actor", "issue", "field"],
                        ascending=[True, False, False, True, True, True], kind="stable",
                        na_position="last")
    return df.drop(columns="_one").reset_index(drop=True)
