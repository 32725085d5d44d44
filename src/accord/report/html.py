"""Build the HTML report of a scenario: figures (plotly), tables and provenance, one file.

The report shows what the library computes and computes nothing of its own: the forecast
(:func:`accord.analysis.ensemble.forecast`), the models' trajectories
(:func:`accord.models.run`), BDM's quadrant chart (``expected_utility.quadrant``), the quote
check (:func:`accord.evidence.check`) and, when those modules are installed, feasibility,
what-if and key-actor analyses. Plotly's JavaScript is inlined once, so the file opens from
disk with no network. Figures get fixed ids, so the same inputs and seed give the same bytes.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .. import __version__
from .. import models as _models
from ..defaults import DRAWS, DYNAMIC_DRAWS, LEVER_DRAWS, SEED
from ..scenario.model import Scenario

_TEMPLATES = Path(__file__).with_name("templates")
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")
_FIG_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["sendDataToCloud"]}


@dataclass(frozen=True)
class ReportOptions:
    """What the report computes. ``generated`` (an ISO date) defaults to $SOURCE_DATE_EPOCH's
    date, else today's (UTC) — pass it to get byte-identical reports on different days."""

    models: Sequence[str] | None = None
    draws: int = DRAWS
    dynamic_draws: int = DYNAMIC_DRAWS
    lever_draws: int = LEVER_DRAWS
    seed: int = SEED
    corpus_dir: str | Path | None = None
    check_evidence: bool = True
    """False: do not read the corpus (the web app reads only its data folder)."""
    corpus_note: str | None = None
    """Said in the evidence section when ``check_evidence`` is False."""
    generated: str | None = None
    max_quadrant_actors: int = 12


def _generated(opts: ReportOptions) -> str:
    if opts.generated:
        return opts.generated
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc).date().isoformat()
    return _dt.datetime.now(_dt.timezone.utc).date().isoformat()


# ---- figures -------------------------------------------------------------------------------


class _Fig:
    """A plotly figure as plain data (``data`` traces, ``layout``), serialised by hand: the
    graph-objects layer validates every property and costs seconds on a report this size."""

    def __init__(self, trace: dict | None = None) -> None:
        self.data: list[dict[str, Any]] = [trace] if trace else []
        self.layout: dict[str, Any] = {"shapes": [], "annotations": []}

    def add_trace(self, trace: dict[str, Any]) -> None:
        self.data.append(trace)

    def update_layout(self, **kw: Any) -> None:
        _merge(self.layout, _titled(kw))

    def update_xaxes(self, **kw: Any) -> None:
        _merge(self.layout.setdefault("xaxis", {}), _titled(kw))

    def update_yaxes(self, **kw: Any) -> None:
        _merge(self.layout.setdefault("yaxis", {}), _titled(kw))

    def add_hline(self, y: float, line: dict, annotation_text: str | None = None,
                  annotation_position: str | None = None) -> None:
        self.layout["shapes"].append(dict(type="line", xref="paper", x0=0, x1=1, yref="y",
                                          y0=y, y1=y, line=line))
        if annotation_text:
            self.layout["annotations"].append(dict(xref="paper", x=0, yref="y", y=y,
                                                   text=annotation_text, showarrow=False,
                                                   xanchor="left", yanchor="bottom",
                                                   font=dict(color="#888", size=10)))

    def add_vline(self, x: float, line: dict) -> None:
        self.layout["shapes"].append(dict(type="line", yref="paper", y0=0, y1=1, xref="x",
                                          x0=x, x1=x, line=line))

    def add_annotation(self, **kw: Any) -> None:
        self.layout["annotations"].append(kw)


class _go:  # the few trace types the report draws
    Figure = _Fig

    @staticmethod
    def Scatter(**kw: Any) -> dict[str, Any]:
        return {"type": "scatter", **kw}

    @staticmethod
    def Heatmap(**kw: Any) -> dict[str, Any]:
        return {"type": "heatmap", **kw}


def _titled(kw: dict) -> dict:
    """plotly.js 3 wants ``title: {text: ...}``."""
    if isinstance(kw.get("title"), str):
        kw = {**kw, "title": {"text": kw["title"]}}
    return kw


def _merge(into: dict, new: dict) -> None:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


_LAYOUT = dict(paper_bgcolor="white", plot_bgcolor="white", font=dict(size=12),
               margin=dict(l=60, r=20, t=50, b=50), hovermode="closest",
               colorway=list(("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")))
_AXIS = dict(gridcolor="#ebf0f8", linecolor="#c8d4e3", zerolinecolor="#ebf0f8", automargin=True)


class _Figures:
    """Turns figures into ``<div>``s with fixed ids (deterministic output)."""

    def __init__(self) -> None:
        self.count = 0

    def html(self, fig: _Fig) -> str:
        import json

        self.count += 1
        layout: dict[str, Any] = {}
        _merge(layout, _LAYOUT)
        _merge(layout, {"xaxis": dict(_AXIS), "yaxis": dict(_AXIS)})
        _merge(layout, fig.layout)
        height = int(layout.get("height", 380))
        div = f"fig-{self.count}"

        def js(x: Any) -> str:
            return json.dumps(_plain(x), ensure_ascii=False, separators=(",", ":"),
                              allow_nan=False).replace("</", "<\\/")

        return (f'<div id="{div}" class="plotly-graph-div" style="height:{height}px;width:100%;">'
                f'</div>\n<script>Plotly.newPlot("{div}",{js(fig.data)},{js(layout)},'
                f'{js(_FIG_CONFIG)});</script>')


def _color(k: int) -> str:
    return _PALETTE[k % len(_PALETTE)]


def _scale_axis(issue) -> dict[str, Any]:
    ticks = [a for a, _ in issue.anchors] or [issue.low, issue.high]
    return dict(range=[issue.low - 0.04 * (issue.high - issue.low),
                       issue.high + 0.04 * (issue.high - issue.low)],
                tickvals=ticks, ticktext=[f"{t:g}" for t in ticks], zeroline=False)


def _fig_forecast(sc: Scenario, fc, issue) -> Any:
    go = _go

    from ..analysis.ensemble import ENSEMBLE

    s = fc.summary[fc.summary.issue == issue.id]
    cols = list(fc.views) + ([ENSEMBLE] if len(fc.views) > 1 else [])
    fig = go.Figure()
    n = max(1, len(fc.models))
    for k, m in enumerate(fc.models):
        rows = s[s.model == m].set_index("view").reindex(cols)
        offset = (k - (n - 1) / 2) * 0.8 / n
        x = [c + offset for c in range(len(cols))]
        hover = [f"{m} · {v}<br>median {r['median']:.1f} [{r['p10']:.1f}–{r['p90']:.1f}]"
                 f"<br>{r['anchor'] if isinstance(r['anchor'], str) else ''}"
                 for v, r in rows.iterrows()]
        fig.add_trace(go.Scatter(
            x=x, y=rows["median"].round(3).tolist(), mode="markers", name=m,
            marker=dict(color=_color(k), size=8, symbol="diamond" if _models.get(m).dynamic
                        else "circle"),
            error_y=dict(type="data", symmetric=False,
                         array=(rows["p90"] - rows["median"]).round(3).tolist(),
                         arrayminus=(rows["median"] - rows["p10"]).round(3).tolist(),
                         thickness=1.2, width=3),
            hovertext=hover, hoverinfo="text"))
    if issue.status_quo is not None:
        fig.add_hline(y=issue.status_quo, line=dict(color="#999", dash="dot", width=1),
                      annotation_text="status quo", annotation_position="top left")
    fig.update_layout(title=f"{issue.id}: median and 80% interval, by view and model",
                      height=380, legend=dict(orientation="h", y=-0.18))
    fig.update_xaxes(tickvals=list(range(len(cols))), ticktext=[_two_lines(c) for c in cols],
                     tickangle=0)
    fig.update_yaxes(**_scale_axis(issue), title=_unit_title(issue))
    return fig


def _two_lines(label: str) -> str:
    """A view id on two lines ("conservative<br>2025"), so tick labels need no rotation."""
    head, sep, tail = label.rpartition("-")
    return f"{head}<br>{tail}" if sep and head else label


def _unit_title(issue) -> str:
    from ..analysis.summary import unit_of

    return f"forecast ({unit_of(issue)})"


def _fig_distribution(sc: Scenario, fc, issue, j: int) -> Any:
    go = _go

    fig = go.Figure()
    bins = 25
    edges = np.linspace(issue.low, issue.high, bins + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    for k, m in enumerate(fc.models):
        x = fc.samples[m][:, :, j].ravel()
        x = x[~np.isnan(x)]
        if not len(x):
            continue
        counts, _ = np.histogram(np.clip(x, issue.low, issue.high), bins=edges)
        share = counts / len(x)
        fig.add_trace(go.Scatter(x=centers.round(4).tolist(), y=share.round(5).tolist(),
                                 mode="lines", name=m,
                                 line=dict(color=_color(k), width=1.6, shape="hvh")))
    fig.update_layout(title=f"{issue.id}: distribution of the forecast, all views pooled",
                      height=340, legend=dict(orientation="h", y=-0.3))
    fig.update_xaxes(**_scale_axis(issue), title=_unit_title(issue))
    fig.update_yaxes(title="share of draws", rangemode="tozero")
    return fig


def _trajectories(sc: Scenario, fc, seed: int | None) -> dict[str, Any]:
    """Dynamic models run once on the base coding's point values: ``{model: Outcome}``."""
    out = {}
    inputs = sc.inputs()
    for m in fc.models:
        if not _models.get(m).dynamic:
            continue
        try:
            out[m] = _models.run(m, inputs, seed=seed)[0]
        except ValueError:
            continue
    return out


def _fig_rounds(sc: Scenario, traj: dict[str, Any], issue, j: int) -> Any:
    go = _go

    fig = go.Figure()
    buttons = []
    n_traces = []
    for mk, (m, outcome) in enumerate(traj.items()):
        pos = outcome.positions[0, :, :, j]  # [r+1, a]
        rounds = list(range(pos.shape[0]))
        start = len(fig.data)
        for a, actor in enumerate(sc.actor_ids):
            if np.isnan(pos[0, a]):
                continue
            fig.add_trace(go.Scatter(x=rounds, y=np.round(pos[:, a], 3).tolist(), mode="lines",
                                     name=actor, legendgroup=actor, visible=mk == 0,
                                     line=dict(color=_color(a), width=1.4)))
        fig.add_trace(go.Scatter(x=rounds, y=np.round(outcome.forecast[0, :, j], 3).tolist(),
                                 mode="lines+markers", name=f"{m} forecast", visible=mk == 0,
                                 line=dict(color="black", width=2.5, dash="dash")))
        n_traces.append((m, start, len(fig.data)))
    total = len(fig.data)
    for m, a, b in n_traces:
        buttons.append(dict(label=m, method="update",
                            args=[{"visible": [a <= t < b for t in range(total)]},
                                  {"title.text": f"{issue.id}: positions over rounds ({m})"}]))
    first = n_traces[0][0] if n_traces else ""
    n_legend = max((b - a for _, a, b in n_traces), default=0)
    fig.update_layout(title=dict(text=f"{issue.id}: positions over rounds ({first})", x=0.02,
                                 xanchor="left"),
                      height=max(380, 140 + 20 * n_legend), legend=dict(font=dict(size=10)),
                      updatemenus=[dict(buttons=buttons, direction="down", x=1.0, xanchor="right",
                                        y=1.18, yanchor="top")] if len(buttons) > 1 else [])
    fig.update_xaxes(title="round (the base coding's point values)", dtick=1 if total and
                     max(len(t["x"]) for t in fig.data) <= 20 else None)
    fig.update_yaxes(**_scale_axis(issue), title="position")
    return fig


def _fig_quadrant(sc: Scenario, issue, max_actors: int, seed: int | None) -> Any | None:
    go = _go

    try:
        from ..models.expected_utility import quadrant
    except ImportError:
        return None
    inputs = sc.inputs()
    j = sc.issue_ids.index(issue.id)
    present = [a for k, a in enumerate(sc.actor_ids) if not np.isnan(sc.position[k, j])]
    order = sorted(present, key=lambda a: (not sc.actor(a).veto, -sc.actor(a).capability.value, a))
    focal = order[:max_actors]
    fig = go.Figure()
    buttons = []
    frames, lims = [], []
    for actor in focal:
        try:
            frame = quadrant(inputs, actor, issue=issue.id)
        except Exception:  # noqa: BLE001 - a model refusal must not break the report
            continue
        frames.append((actor, frame))
        vals = np.abs(frame[["eu_self", "eu_other"]].to_numpy())
        vals = vals[np.isfinite(vals)]
        lims.append(round(max(0.05, float(vals.max()) * 1.25 if len(vals) else 0.5), 4))
    if not frames:
        return None
    lim = lims[0]
    for k, (actor, frame) in enumerate(frames):
        fig.add_trace(go.Scatter(
            x=frame["eu_self"].round(4).tolist(), y=frame["eu_other"].round(4).tolist(),
            mode="markers+text", text=list(frame.index),
            textposition=_label_positions(frame["eu_self"].to_numpy(),
                                          frame["eu_other"].to_numpy(), lims[k]),
            hovertext=[f"{a}: position {r.position:g}, {r.region}" for a, r in frame.iterrows()],
            hoverinfo="text", name=actor, visible=k == 0, marker=dict(size=9, color=_color(k))))
        buttons.append(dict(label=actor, method="update",
                            args=[{"visible": [t == k for t in range(len(frames))]},
                                  {"title.text": f"{issue.id}: {actor}'s E(U) quadrants (BDM)",
                                   "xaxis.range": [-lims[k], lims[k]],
                                   "yaxis.range": [-lims[k], lims[k]]}]))
    for x, y, label in ((0.98, 0.98, "conflict"), (0.02, 0.98, "compromise / capitulation"),
                        (0.98, 0.02, "the other compromises / capitulates"),
                        (0.02, 0.02, "status quo")):
        fig.add_annotation(x=x, y=y, xref="paper", yref="paper", text=label, showarrow=False,
                           xanchor="right" if x > 0.5 else "left",
                           yanchor="top" if y > 0.5 else "bottom",
                           font=dict(color="#888", size=10))
    fig.add_hline(y=0, line=dict(color="#888", width=1))
    fig.add_vline(x=0, line=dict(color="#888", width=1))
    fig.update_layout(title=dict(text=f"{issue.id}: {frames[0][0]}'s E(U) quadrants (BDM)",
                                 x=0.02, xanchor="left"),
                      height=420, showlegend=False,
                      updatemenus=[dict(buttons=buttons, direction="down", x=1.0, xanchor="right",
                                        y=1.16, yanchor="top")] if len(buttons) > 1 else [])
    fig.update_xaxes(range=[-lim, lim], title="focal actor's E(U) of challenging the other")
    fig.update_yaxes(range=[-lim, lim], title="the other's E(U) of challenging the focal actor")
    return fig


def _fig_settlement(sc: Scenario, summary) -> Any:
    """One figure for the first screen: every issue's median and 80% interval on its scale."""
    go = _go

    fig = go.Figure()
    ys = [x.issue for x in summary.issues][::-1]
    rows = {x.issue: x for x in summary.issues}

    def pct(v: float, issue) -> float:
        return round(100 * (v - issue.low) / ((issue.high - issue.low) or 1.0), 3)

    for y in ys:
        x, issue = rows[y], sc.issue(y)
        fig.add_trace(go.Scatter(
            x=[pct(x.p10, issue), pct(x.p90, issue)], y=[y, y], mode="lines",
            line=dict(color="#9db7d5", width=10), hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(
            x=[pct(x.median, issue)], y=[y], mode="markers", showlegend=False,
            marker=dict(color="#1f5fa8", size=11),
            hovertext=[f"{y}: median {x.median:.1f} ({x.unit}), 80% interval "
                       f"{x.p10:.1f}–{x.p90:.1f}<br>{x.anchor or ''}"], hoverinfo="text"))
    fig.update_layout(title="Most likely settlement per issue: median (dot) and 80% interval "
                            "(bar)", height=90 + 34 * len(ys), margin=dict(l=10, r=20, t=50, b=50))
    fig.update_xaxes(range=[-3, 103], tickvals=[0, 25, 50, 75, 100],
                     ticktext=["low end", "25%", "50%", "75%", "high end"],
                     title="position on each issue's own scale (% of the way from its low end)")
    fig.update_yaxes(automargin=True)
    return fig


def _label_positions(x: np.ndarray, y: np.ndarray, lim: float) -> list[str]:
    """Text positions that keep the labels of points close together apart."""
    spots = ("top center", "bottom center", "middle right", "middle left", "top right",
             "bottom left")
    out: list[str] = []
    for k in range(len(x)):
        near = [out[m] for m in range(k)
                if abs(x[m] - x[k]) < 0.12 * lim and abs(y[m] - y[k]) < 0.06 * lim]
        out.append(next((p for p in spots if p not in near), spots[k % len(spots)]))
    return out


def _fig_disagreement(sc: Scenario, fc) -> Any | None:
    go = _go

    d = fc.disagreement
    if d is None or not len(d):
        return None
    d = d.assign(abs_shift=d["forecast_shift"].abs())
    best = d.sort_values(["abs_shift", "view", "field", "model"],
                         ascending=[False, True, True, True], kind="stable")
    best = best.drop_duplicates(["actor", "issue"], keep="first").set_index(["actor", "issue"])
    z, text = [], []
    for a in sc.actor_ids:
        zr, tr = [], []
        for i in sc.issue_ids:
            if (a, i) in best.index:
                r = best.loc[(a, i)]
                zr.append(round(float(r["abs_shift"]), 3))
                tr.append(f"{a} · {i}<br>{r['view']}: {r['field']} {r['base']:g} → {r['coded']:g}"
                          f"<br>{r['model']} forecast moves {r['forecast_shift']:+.2f}")
            else:
                zr.append(None)
                tr.append(f"{a} · {i}: every view codes it as the base")
        z.append(zr)
        text.append(tr)
    fig = go.Figure(go.Heatmap(z=z, x=list(sc.issue_ids), y=list(sc.actor_ids), text=text,
                               hoverinfo="text", colorscale="Reds", zmin=0,
                               colorbar=dict(title=dict(text="|shift|"))))
    fig.update_layout(title="Disagreement map: the largest move of a point forecast that one "
                            "view's coding of a cell causes", height=120 + 32 * len(sc.actors))
    fig.update_yaxes(autorange="reversed")
    return fig


def _fig_timeline(sc: Scenario, fc) -> Any | None:
    go = _go

    t = fc.timeline
    if t is None or not len(t):
        return None
    model = "compromise" if "compromise" in fc.models else fc.models[0]
    t = t[t.model == model]
    fig = go.Figure()
    for k, issue in enumerate(sc.issue_ids):
        g = t[t.issue == issue].sort_values(["date", "view"], kind="stable")
        fig.add_trace(go.Scatter(x=g["date"].tolist(), y=g["median"].round(3).tolist(),
                                 text=g["view"].tolist(), mode="lines+markers", name=issue,
                                 line=dict(color=_color(k))))
    fig.update_layout(title=f"Forecast by the date of each analysis ({model}, median)",
                      height=380)
    fig.update_yaxes(title="forecast")
    return fig


# ---- tables --------------------------------------------------------------------------------


def _fmt(x: Any, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    if isinstance(x, (int, float, np.floating, np.integer)):
        return f"{float(x):.{digits}f}"
    return str(x)


def _summary_rows(sc: Scenario, fc, issue) -> tuple[list[str], list[list[str]]]:
    from ..analysis.ensemble import ENSEMBLE

    s = fc.summary[fc.summary.issue == issue.id]
    cols = list(fc.views) + ([ENSEMBLE] if len(fc.views) > 1 else [])
    rows = []
    for m in fc.models:
        r = s[s.model == m].set_index("view")
        cells = [m]
        for c in cols:
            if c not in r.index:
                cells.append("—")
                continue
            x = r.loc[c]
            if x["p10"] == x["p90"] or x["p10"] != x["p10"]:
                cells.append(_fmt(x["median"]))
            else:
                cells.append(f"{_fmt(x['median'])} [{_fmt(x['p10'], 0)}–{_fmt(x['p90'], 0)}]")
        last = r.loc[cols[-1]]["anchor"] if cols[-1] in r.index else None
        cells.append(last if isinstance(last, str) else "—")
        rows.append(cells)
    return ["model", *cols, "nearest anchor"], rows


def _frame_table(df: pd.DataFrame, limit: int = 200) -> dict[str, Any]:
    df = df.head(limit)
    return {"columns": [str(c) for c in df.columns],
            "rows": [[_fmt(v, 2) if isinstance(v, float) else ("—" if v is None else str(v))
                      for v in row] for row in df.itertuples(index=False)]}


def _relative(file: str | None, sc: Scenario) -> str:
    if not file:
        return ""
    if sc.path:
        base = Path(sc.path)
        base = base if base.is_dir() else base.parent
        try:
            return Path(file).resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            pass
    return Path(file).name


def _evidence(sc: Scenario, opts: ReportOptions) -> dict[str, Any]:
    from ..scenario.validate import all_quantities

    status, verified, ok = None, {}, False
    if not opts.check_evidence:
        status = opts.corpus_note or "corpus not read: quotes not verified"
    else:
        try:
            from ..evidence import check
            report = check(sc, corpus_dir=opts.corpus_dir)
        except Exception as exc:  # noqa: BLE001 - the report still shows the quotes
            status = f"quotes not verified: {type(exc).__name__}: {exc}"
        else:
            corpus_missing = [p for p in report.problems if getattr(p, "field", None) == "corpus"]
            if corpus_missing:
                status = (f"corpus not found ({Path(report.corpus).name if report.corpus else 'none given'}): "
                          "quotes not verified")
            else:
                status = report.summary()
                ok = report.ok
            for r in report.verified.itertuples():
                verified[(r.field, r.quote)] = f"{r.document}:{r.line}"
    rows = []
    for q, fld in all_quantities(sc):
        rng = f"{q.low:g}–{q.high:g}" if q.low is not None and q.high is not None else ""
        items = []
        for ev in q.evidence:
            if ev.quote is not None:
                src = sc.sources.get(ev.source) if ev.source else None
                who = (src.author or src.title or ev.source) if src is not None else ev.source
                if src is not None and src.date is not None:
                    who = f"{who} ({src.date.year})"
                items.append({"kind": "quote", "text": ev.quote, "source": who or "",
                              "where": verified.get((fld, ev.quote), "")})
            elif ev.judgement:
                items.append({"kind": "judgement", "text": ev.judgement, "source": "",
                              "where": ""})
        value = (("yes" if q.value else "no") if fld.endswith(".veto")
                 else ", ".join(sc.deals[fld[6:]]) if fld.startswith("deals.") else f"{q.value:g}")
        rows.append({"field": fld, "value": value, "range": rng, "items": items,
                     "at": f"{_relative(q.file, sc)}:{q.line}" if q.line else _relative(q.file, sc)})
    return {"status": status, "ok": ok, "rows": rows,
            "n_quotes": sum(1 for r in rows for e in r["items"] if e["kind"] == "quote"),
            "n_verified": sum(1 for r in rows for e in r["items"] if e["where"]),
            "n_bare": sum(1 for r in rows if not r["items"])}


def _pct(x: float) -> str:
    return "—" if x != x else f"{100 * x:.0f}%"


def _optional_analyses(sc: Scenario, fc, opts: ReportOptions, figs: _Figures, feas=None,
                       wi=None) -> list[dict[str, Any]]:
    """Feasibility and what-if (the summary's own results) and key actors; never fatal."""
    sections: list[dict[str, Any]] = []

    def guarded(title: str, build: Callable[[], dict[str, Any] | None]) -> None:
        try:
            section = build()
        except ImportError:
            return
        except Exception as exc:  # noqa: BLE001 - one analysis failing must not sink the report
            section = {"note": f"not available: {type(exc).__name__}: {exc}", "tables": []}
        if section is not None:
            sections.append({"title": title, "notes": [], **section})

    def feasibility() -> dict[str, Any] | None:
        f = feas
        if f is None:
            return None
        summ = pd.DataFrame({
            "deal": f.summary.deal, "analysis": f.summary.view,
            "issues it settles": f.summary.issues,
            "zone of agreement (share of draws)": [_pct(x) for x in f.summary.p_feasible],
            "95% interval": [f"{_pct(lo)}–{_pct(hi)}" for lo, hi in
                             zip(f.summary.p_low, f.summary.p_high)],
            "median slack (utility, 0–1)": f.summary.median_slack.round(3),
            "draws": f.summary.draws})
        spoil = f.spoilers[f.spoilers.p_blocks > 0]
        spoil = pd.DataFrame({
            "deal": spoil.deal, "analysis": spoil.view, "veto player": spoil.actor,
            "blocks (share of draws)": [_pct(x) for x in spoil.p_blocks],
            "median shortfall (utility, 0–1)": spoil.median_shortfall.round(3),
            "90th percentile shortfall": spoil.p90_shortfall.round(3)})
        tables = [{"caption": "Zone of agreement: the share of coding draws in which some "
                              "settlement is acceptable to every veto player (not a probability "
                              "of a deal)", **_frame_table(summ)}]
        if len(spoil):
            tables.append({"caption": "Who blocks: veto players short of their no-deal value at "
                                      "the closest package", **_frame_table(spoil, 60)})
        return {"note": f"{f.draws:,} draws per view, seed {f.seed}; unsettled issues: "
                        f"{f.unsettled}.", "tables": tables, "notes": list(f.notes)}

    def whatif() -> dict[str, Any] | None:
        w = wi
        if w is None or not w.models:
            return None
        label = "ensemble" if "ensemble" in set(w.forecast.view) else w.views[0]
        model = "compromise" if "compromise" in w.models else w.models[0]
        f = w.forecast[(w.forecast.view == label) & (w.forecast.model == model)]
        pivot = f.pivot(index="lever", columns="issue", values="shift")
        pivot = pivot.reindex(index=list(dict.fromkeys(f.lever)),
                              columns=[i for i in sc.issue_ids if i in pivot.columns])
        pivot = pivot.round(1).reset_index()
        tables = [{"caption": f"Median shift of the {model} forecast per lever ({label}), in "
                              "each issue's units", **_frame_table(pivot)}]
        if len(w.feasibility):
            p = w.feasibility[w.feasibility.view == label]
            pv = p.pivot(index="lever", columns="deal", values="p_feasible")
            pv = (pv.reindex(index=list(dict.fromkeys(p.lever))) * 100).round(1).reset_index()
            tables.append({"caption": f"Zone of agreement per lever and deal, % of draws "
                                      f"({label})", **_frame_table(pv)})
        return {"note": f"levers from levers.yaml; {w.draws:,} draws per view, seed {w.seed}.",
                "tables": tables, "notes": list(w.notes)}

    def key_actors() -> dict[str, Any]:
        from ..analysis.sensitivity import key_actors as run

        n = max(1, min(opts.draws, 200))
        _, ranking = run(sc, draws=n, seed=opts.seed)
        ranking = ranking.round(3).rename(columns={
            "capability": "capability +10%", "salience": "salience +0.1",
            "position": "position +5% of scale", "influence": "total"})
        tables = [{"caption": "Influence: mean absolute forecast shift, in % of each scale, for "
                              "a step in each actor's capability, salience and position",
                   **_frame_table(ranking, 80)}]
        return {"note": f"the base coding (not the views); {n:,} draws, seed {opts.seed}; "
                        "one-shot models.", "tables": tables}

    guarded("Feasibility: is any agreement possible?", feasibility)
    guarded("What-if: the levers", whatif)
    guarded("Key actors", key_actors)
    return sections


# ---- the report ----------------------------------------------------------------------------


def render(scenario: Scenario, forecast=None, options: ReportOptions | None = None,
           progress: Callable[[str], None] | None = None, **kwargs: Any) -> str:
    """The report of ``scenario`` as one HTML document (plotly's JavaScript inlined).

    ``forecast``: a :class:`~accord.analysis.ensemble.Forecast` to show (computed with
    ``options`` when omitted). Keyword arguments override fields of ``options``.
    """
    from dataclasses import replace

    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from plotly.offline import get_plotlyjs

    from ..analysis.summary import analyse

    opts = replace(options or ReportOptions(), **kwargs)
    sc = scenario
    names = list(opts.models) if opts.models is not None else list(_models.available())
    if forecast is None:
        res = analyse(sc, draws=opts.draws, seed=opts.seed, models=names,
                      dynamic_draws=opts.dynamic_draws, lever_draws=opts.lever_draws,
                      progress=progress)
    else:
        res = analyse(sc, draws=forecast.draws, seed=forecast.seed, models=forecast.models,
                      dynamic_draws=opts.dynamic_draws, lever_draws=opts.lever_draws,
                      forecast=forecast)
    fc, summary = res.forecast, res.summary
    figs = _Figures()
    fig_settlement = figs.html(_fig_settlement(sc, summary))
    traj = _trajectories(sc, fc, fc.seed)
    has_bdm = "bdm" in fc.models
    issues = []
    by_issue = {x.issue: x for x in summary.issues}
    for j, issue in enumerate(sc.issues):
        head, rows = _summary_rows(sc, fc, issue)
        quad = _fig_quadrant(sc, issue, opts.max_quadrant_actors, fc.seed) if has_bdm else None
        line = by_issue[issue.id]
        issues.append({
            "id": issue.id, "question": issue.question, "status_quo": issue.status_quo,
            "scale": f"{issue.low:g}–{issue.high:g}", "unit": line.unit,
            "sentence": line.sentence, "median": _num(line.median, issue),
            "interval": f"{_num(line.p10, issue)}–{_num(line.p90, issue)}",
            "anchor": (f"{line.anchor_point:g}: {line.anchor}" if line.anchor else "—"),
            "models_range": _models_range(line, issue),
            "anchors": [(f"{a:g}", label) for a, label in issue.anchors],
            "table_head": head, "table_rows": rows,
            "fig_forecast": figs.html(_fig_forecast(sc, fc, issue)),
            "fig_distribution": figs.html(_fig_distribution(sc, fc, issue, j)),
            "fig_rounds": figs.html(_fig_rounds(sc, traj, issue, j)) if traj else None,
            "fig_quadrant": figs.html(quad) if quad is not None else None,
        })
    dis = _fig_disagreement(sc, fc)
    tl = _fig_timeline(sc, fc)
    dis_cols = ["view", "actor", "issue", "field", "base", "coded", "model", "forecast_shift"]
    dis_names = {"view": "analysis", "field": "what", "base": "base coding",
                 "coded": "this analysis", "forecast_shift": "moves the forecast by"}
    optional = _optional_analyses(sc, fc, opts, figs, res.feasibility, res.whatif)
    json_doc = fc.to_json()
    provenance = [
        ("accord version", __version__),
        ("scenario", f"{sc.id} — {sc.title}"),
        ("scenario sha256", sc.sha256),
        ("scenario as of", str(sc.as_of) if sc.as_of else "—"),
        ("seed", str(fc.seed)),
        ("Monte-Carlo draws per view", str(fc.draws)),
        ("draws per view: dynamic models, levers (paired)",
         f"{summary.dynamic_draws}, {summary.lever_draws if summary.lever_draws else 'no levers'}"),
        ("models", ", ".join(f"{m} ({_models.get(m).default_preset})" for m in fc.models)),
        ("skipped models", "; ".join(f"{m}: {w}" for m, w in fc.skipped.items()) or "none"),
        ("views", ", ".join(fc.views)),
        ("positions over rounds", "dynamic models run once on the base coding's point values, "
                                  f"seed {fc.seed}" if traj else "no dynamic model ran"),
        ("python / numpy / pandas / plotly",
         f"{platform.python_version()} / {np.__version__} / {pd.__version__} / "
         f"{_plotly_version()}"),
        ("generated", _generated(opts)),
    ]
    env = Environment(loader=FileSystemLoader(str(_TEMPLATES)),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    from markupsafe import Markup

    tpl = env.get_template("report.html.j2")
    return tpl.render(
        sc=sc, fc=fc, issues=issues, provenance=provenance, notes=list(summary.notes),
        plotly_js=Markup(get_plotlyjs()),
        fig_disagreement=Markup(figs.html(dis)) if dis is not None else None,
        fig_timeline=Markup(figs.html(tl)) if tl is not None else None,
        disagreement=_frame_table(fc.disagreement[dis_cols].rename(columns=dis_names), 15)
        if len(fc.disagreement) else None,
        summary=summary, fig_settlement=Markup(fig_settlement),
        summary_json=Markup(_json_script(summary.to_json())),
        optional=optional, evidence=_evidence(sc, opts), n_figures=figs.count,
        validity=_validity(sc, fc.seed, progress, res),
        actors=[{"id": a.id, "name": a.name, "capability": f"{a.capability.value:g}",
                 "veto": a.veto} for a in sc.actors],
        views=json_doc["views"], deals=dict(sc.deals),
        has_dynamic=bool(traj), has_bdm=has_bdm)


def _validity(sc: Scenario, seed, progress, analysis) -> dict[str, Any] | None:
    """Each view against its author's conclusion, as ``accord validity`` computes it (its
    draws and horizon, so the report shows the numbers of docs/flagship-validity.md). The
    summary's outlook and feasibility serve when they were computed with those."""
    from ..analysis import validity as V
    from ..analysis.outlook import draws_per_view

    if not sc.views or not V.has_conclusions(sc):
        return None
    if progress:
        progress("validity")
    seed = 0 if seed is None else seed
    o = analysis.outlook.to_json() if analysis.outlook is not None else None
    same = o is not None and o.get("seed") == seed and o.get("horizon_months") == V.HORIZON \
        and o.get("draws_per_view") == draws_per_view(sc, V.DRAWS)
    f = analysis.feasibility
    rows = V.validity(sc, seed=seed, outlook_json=o if same else None,
                      feasible=V.feasible_shares(f) if f is not None and f.seed == seed
                      and f.draws == V.FEASIBILITY_DRAWS else None)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.agree] = counts.get(r.agree, 0) + 1
    return {"rows": [{**r.to_dict(), "outlook": {k: V.outlook_words(o) for k, o in r.outlook.items()}}
                     for r in rows],
            "counts": sorted(counts.items()),
            "note": (f"accord validity: outlook over {V.HORIZON} months, {V.DRAWS:,} draws in all, "
                     f"P(feasible) over {V.FEASIBILITY_DRAWS:,} draws per view, seed {seed}; "
                     f"\"unlikely\" holds below {V.LOW:.0%}, "
                     f"\"likely\" at {V.HIGH:.0%} or more. No number is coded from these "
                     "conclusions.")}


def _num(x: float, issue) -> str:
    from ..analysis.summary import number

    return number(x, issue)


def _models_range(line, issue) -> str:
    meds = [v for v in line.model_medians.values() if v == v]
    return f"{_num(min(meds), issue)}–{_num(max(meds), issue)}" if meds else "—"


def _json_script(doc: Any) -> str:
    """JSON for a ``<script type="application/json">`` (no ``</`` can end it early)."""
    from ..results import dumps

    return dumps(doc).replace("</", "<\\/")


def _plotly_version() -> str:
    import plotly

    return plotly.__version__


def write(path: str | Path, html: str, force: bool = False) -> Path:
    """Save a report atomically; an existing file is replaced only with ``force``."""
    from ..fileio import atomic_write

    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass force=True (--force) to replace it")
    atomic_write(path, html)
    return path
