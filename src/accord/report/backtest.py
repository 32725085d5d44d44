"""The backtest as one self-contained HTML page: leaderboard, calibration, errors by subset,
and where each model loses its points.

It renders what :func:`accord.analysis.backtest.backtest` returns and computes nothing but
the words: the verdict sentence and, per model, the case in which it gives up the most
points against the compromise model. Plotly's JavaScript is inlined (no CDN); figures get
fixed ids, so the same table gives the same bytes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from .html import _Figures, _go, _color

_TEMPLATES = Path(__file__).with_name("templates")


def _fmt(x: Any, spec: str = ".2f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return format(x, spec)


def verdict(table: pd.DataFrame) -> str:
    """One sentence: who scores best, and whether anyone beats the compromise model beyond
    the bootstrap noise."""
    t = table[table["n"] > 0]
    if t.empty:
        return "No model could be scored."
    best = t.loc[t["mae"].idxmin()]
    better = t[t["diff_high"] < 0]
    worse = t[t["diff_low"] > 0]
    ref = t[t["model"] == "compromise"]
    ref_mae = float(ref["mae"].iloc[0]) if len(ref) else math.nan
    s = (f"On {table.attrs.get('issues', int(best['n']))} scorable issues the lowest mean absolute "
         f"error is {best['model']}'s, {best['mae']:.2f} points (compromise model {ref_mae:.2f}). ")
    if better.empty:
        s += "No model beats the compromise model by more than the bootstrap noise"
    else:
        s += "Reliably better than the compromise model: " + ", ".join(
            f"{r.model} ({r.diff:+.2f}, CI {r.diff_low:+.2f} to {r.diff_high:+.2f})"
            for r in better.itertuples())
    if len(worse):
        s += "; reliably worse: " + ", ".join(f"{r.model} ({r.diff:+.2f})" for r in worse.itertuples())
    mde = t["mde"].dropna() if "mde" in t else pd.Series(dtype=float)
    if len(mde):
        s += (f". Differences smaller than about {mde.median():.1f} points cannot be told apart "
              "on this file (median minimum detectable effect, 80% power)")
    return s + "."


def lessons(table: pd.DataFrame) -> list[tuple[str, str]]:
    """Per model, where it loses the most points against the compromise model: by where its
    forecast lands, and by the kind of outcome."""
    d = table.attrs.get("diagnosis")
    out = []
    if d is None or d.empty:
        return out
    for model, part in d.groupby("model", sort=False):
        if model == "compromise":
            continue
        said = []
        for by in ("forecast", "outcome"):
            rows = part[part["by"] == by].sort_values("points_lost", ascending=False)
            if rows.empty or rows.iloc[0]["points_lost"] <= 0.05:
                continue
            w = rows.iloc[0]
            said.append(f"{w['points_lost']:.2f} points on '{w['case']}' ({int(w['n'])} issues, "
                        f"{w['share']:.0%} of its forecasts; MAE {w['mae']:.1f} vs "
                        f"{w['mae_compromise']:.1f} for the compromise model)")
        if not said:
            out.append((model, "loses no case against the compromise model by more than 0.05 "
                               "points of MAE"))
        else:
            out.append((model, "gives up " + "; by outcome, ".join(said)))
    return out


def _calibration_figure(table: pd.DataFrame, figs: _Figures) -> str:
    fig = _go.Figure()
    levels = [50, 80, 95]
    fig.add_trace(_go.Scatter(x=levels, y=levels, mode="lines", name="perfect",
                              line=dict(color="#999", dash="dot")))
    for k, r in enumerate(table.itertuples()):
        raw = [getattr(r, f"coverage_{c}") for c in levels]
        cal = [getattr(r, f"coverage_{c}_cal") for c in levels]
        fig.add_trace(_go.Scatter(x=levels, y=[100 * v if v == v else None for v in raw],
                                  mode="lines+markers", name=f"{r.model} (perturbation)",
                                  line=dict(color=_color(k))))
        if any(v == v for v in cal):
            fig.add_trace(_go.Scatter(x=levels, y=[100 * v if v == v else None for v in cal],
                                      mode="lines+markers", name=f"{r.model} (calibrated)",
                                      line=dict(color=_color(k), dash="dash")))
    fig.update_layout(title="Coverage of the central intervals", height=420)
    fig.update_xaxes(title="nominal coverage (%)", range=[40, 100])
    fig.update_yaxes(title="share of outcomes inside (%)", range=[0, 100])
    return figs.html(fig)


def _pit_figure(table: pd.DataFrame, key: str, title: str, figs: _Figures) -> str:
    pit = table.attrs.get(key) or {}
    models = [m for m in table["model"] if m in pit]
    if not models:
        return ""
    z = [[c / max(sum(pit[m]), 1) * len(pit[m]) for c in pit[m]] for m in models]
    fig = _go.Figure(_go.Heatmap(z=z, y=models, x=[f"{b / 10:.1f}" for b in range(len(z[0]))],
                                 colorscale="RdBu", zmid=1.0, zmin=0, zmax=3,
                                 colorbar=dict(title="density")))
    fig.update_layout(title=title, height=90 + 32 * len(models))
    fig.update_xaxes(title="PIT bin (1 = calibrated; U-shape = too narrow)")
    return figs.html(fig)


def _subset_figure(sub: pd.DataFrame, figs: _Figures) -> str:
    if sub is None or sub.empty:
        return ""
    fig = _go.Figure()
    sub = sub[sub["n"] > 0]
    cats = [f"{s}: {lab}" for s, lab in dict.fromkeys(zip(sub["subset"], sub["label"]))]
    for k, (model, part) in enumerate(sub.groupby("model", sort=False)):
        fig.add_trace({"type": "bar", "name": model, "x": [f"{s}: {lab}" for s, lab in
                                                           zip(part["subset"], part["label"])],
                       "y": part["mae"].tolist(), "marker": {"color": _color(k)}})
    fig.update_layout(title="MAE by subset", barmode="group", height=420)
    fig.update_xaxes(categoryorder="array", categoryarray=cats)
    fig.update_yaxes(title="mean absolute error (points)")
    return figs.html(fig)


def backtest_html(table: pd.DataFrame) -> str:
    """The backtest page for a table from :func:`accord.analysis.backtest.backtest`."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    a = table.attrs
    figs = _Figures()
    rows = []
    for r in table.itertuples():
        rows.append([r.model, str(r.n), str(r.failed), _fmt(r.mae),
                     f"[{_fmt(r.mae_low)}, {_fmt(r.mae_high)}]", _fmt(r.diff, "+.2f"),
                     f"[{_fmt(r.diff_low, '+.2f')}, {_fmt(r.diff_high, '+.2f')}]",
                     _fmt(r.rmse), _fmt(r.median_ae), _fmt(r.within_10, ".0%"), _fmt(r.crps),
                     _fmt(r.coverage_50, ".0%"), _fmt(r.coverage_80, ".0%"),
                     _fmt(r.coverage_95, ".0%"), _fmt(r.crps_cal), _fmt(r.coverage_80_cal, ".0%"),
                     _fmt(r.mde)])
    sub = a.get("subsets")
    pivot = None
    if sub is not None and not sub.empty:
        p = sub.pivot_table(index=["subset", "label"], columns="model", values="mae", sort=False)
        n = sub.groupby(["subset", "label"], sort=False)["n"].max()
        pivot = {"models": list(p.columns),
                 "rows": [(s, lab, int(n.loc[(s, lab)]), [_fmt(v) for v in p.loc[(s, lab)]])
                          for s, lab in p.index]}
    diag = a.get("diagnosis")
    diag_rows = [] if diag is None else [
        (r.model, f"{r.by}: {r.case}", r.n, _fmt(r.share, ".0%"), _fmt(r.mae), _fmt(r.mae_compromise),
         _fmt(r.points_lost, "+.2f")) for r in diag.itertuples()]
    ens = a.get("ensemble")
    setting = [("file", f"{a.get('file')} (sha256 {str(a.get('sha256'))[:16]}…)"),
               ("capability", f"{a.get('power')}; Commission/Parliament: {a.get('supranational')}"),
               ("negotiations", "each proposal's issues jointly in exchange and smp"
                if a.get("joint") else "every issue alone"),
               ("distribution", f"{a.get('draws')} draws; position sd {a.get('position_sd')}, "
                                f"salience sd {a.get('salience_sd')}"),
               ("bootstrap", f"{a.get('n_boot')} resamples of {a.get('bootstrap_unit', 'issue')}s, "
                             f"{a.get('confidence', 0.95):.0%}, seed {a.get('seed')}"),
               ("accord", __version__)]
    env = Environment(loader=FileSystemLoader(str(_TEMPLATES)), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("backtest.html.j2").render(
        verdict=verdict(table), rows=rows, notes=a.get("notes") or [], reading=a.get("reading") or {},
        power_notes=a.get("power_notes") or {}, setting=setting,
        failures={m: len(f) for m, f in (a.get("failures") or {}).items()},
        calibration=Markup(_calibration_figure(table, figs)),
        pit=Markup(_pit_figure(table, "pit", "PIT histogram, perturbation draws", figs)),
        pit_cal=Markup(_pit_figure(table, "pit_cal", "PIT histogram, calibrated", figs)),
        subsets=Markup(_subset_figure(sub, figs)), pivot=pivot, diagnosis=diag_rows,
        lessons=lessons(table),
        ensemble=None if not ens else {
            "models": ens["models"], "folds": ens["folds"],
            "weights": [[_fmt(w, ".2f") for w in row] for row in ens["weights"]]},
        plotly_js=Markup(get_plotlyjs()))


def write_backtest_html(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the page; returns its path."""
    path = Path(path)
    path.write_text(backtest_html(table), encoding="utf-8")
    return path


__all__ = ["backtest_html", "write_backtest_html", "verdict", "lessons"]
