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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .. import __version__
from .. import models as _models
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
    draws: int = 2_000
    dynamic_draws: int = 100
    seed: int = 0
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


class _Figures:
    """Turns plotly figures into ``<div>``s with fixed ids (deterministic output)."""

    def __init__(self) -> None:
        self.count = 0

    def html(self, fig) -> str:
        self.count += 1
        fig.update_layout(template="plotly_white", margin=dict(l=60, r=20, t=50, b=50),
                          font=dict(size=12))
        return fig.to_html(full_html=False, include_plotlyjs=False,
                           div_id=f"fig-{self.count}", config=_FIG_CONFIG)


def _color(k: int) -> str:
    return _PALETTE[k % len(_PALETTE)]


def _scale_axis(issue) -> dict[str, Any]:
    ticks = [a for a, _ in issue.anchors] or [issue.low, issue.high]
    return dict(range=[issue.low - 0.04 * (issue.high - issue.low),
                       issue.high + 0.04 * (issue.high - issue.low)],
                tickvals=ticks, ticktext=[f"{t:g}" for t in ticks], zeroline=False)


def _fig_forecast(sc: Scenario, fc, issue) -> Any:
    import plotly.graph_objects as go

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
    fig.update_xaxes(tickvals=list(range(len(cols))), ticktext=cols)
    fig.update_yaxes(**_scale_axis(issue), title="forecast")
    return fig


def _fig_distribution(sc: Scenario, fc, issue, j: int) -> Any:
    import plotly.graph_objects as go

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
                                 mode="lines", line_shape="hvh", name=m,
                                 line=dict(color=_color(k), width=1.6)))
    fig.update_layout(title=f"{issue.id}: distribution of the forecast, all views pooled",
                      height=320, legend=dict(orientation="h", y=-0.25))
    fig.update_xaxes(**_scale_axis(issue), title=issue.question[:90])
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
    import plotly.graph_objects as go

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
                                  {"title": f"{issue.id}: positions over rounds ({m}, base coding)"}]))
    first = n_traces[0][0] if n_traces else ""
    fig.update_layout(title=f"{issue.id}: positions over rounds ({first}, base coding)",
                      height=360, legend=dict(font=dict(size=10)),
                      updatemenus=[dict(buttons=buttons, direction="down", x=1.0, xanchor="right",
                                        y=1.18, yanchor="top")] if len(buttons) > 1 else [])
    fig.update_xaxes(title="round", dtick=1 if total and len(n_traces) and
                     max(len(t.x) for t in fig.data) <= 20 else None)
    fig.update_yaxes(**_scale_axis(issue), title="position")
    return fig


def _fig_quadrant(sc: Scenario, issue, max_actors: int, seed: int | None) -> Any | None:
    import plotly.graph_objects as go

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
    lim = 0.5
    frames = []
    for actor in focal:
        try:
            frame = quadrant(inputs, actor, issue=issue.id)
        except Exception:  # noqa: BLE001 - a model refusal must not break the report
            continue
        frames.append((actor, frame))
        if len(frame):
            lim = max(lim, float(np.abs(frame[["eu_self", "eu_other"]].to_numpy()).max()) * 1.15)
    if not frames:
        return None
    for k, (actor, frame) in enumerate(frames):
        fig.add_trace(go.Scatter(
            x=frame["eu_self"].round(4).tolist(), y=frame["eu_other"].round(4).tolist(),
            mode="markers+text", text=list(frame.index), textposition="top center",
            hovertext=[f"{a}: position {r.position:g}, {r.region}" for a, r in frame.iterrows()],
            hoverinfo="text", name=actor, visible=k == 0, marker=dict(size=9, color=_color(k))))
        buttons.append(dict(label=actor, method="update",
                            args=[{"visible": [t == k for t in range(len(frames))]},
                                  {"title": f"{issue.id}: {actor}'s expected-utility quadrants "
                                            "(BDM, round 0)"}]))
    for x, y, label in ((0.5, 0.5, "conflict"), (-0.5, 0.5, "compromise / capitulation"),
                        (0.5, -0.5, "the other compromises / capitulates"),
                        (-0.5, -0.5, "status quo")):
        fig.add_annotation(x=x * lim, y=y * lim * 1.7, text=label, showarrow=False,
                           font=dict(color="#888", size=10))
    fig.add_hline(y=0, line=dict(color="#888", width=1))
    fig.add_vline(x=0, line=dict(color="#888", width=1))
    fig.update_layout(title=f"{issue.id}: {frames[0][0]}'s expected-utility quadrants (BDM, round 0)",
                      height=420, showlegend=False,
                      updatemenus=[dict(buttons=buttons, direction="down", x=1.0, xanchor="right",
                                        y=1.16, yanchor="top")] if len(buttons) > 1 else [])
    fig.update_xaxes(range=[-lim, lim], title="focal actor's E(U) of challenging the other")
    fig.update_yaxes(range=[-lim, lim], title="the other's E(U) of challenging the focal actor")
    return fig


def _fig_disagreement(sc: Scenario, fc) -> Any | None:
    import plotly.graph_objects as go

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
                               colorbar=dict(title="|shift|")))
    fig.update_layout(title="Disagreement map: the largest move of a point forecast that one "
                            "view's coding of a cell causes", height=120 + 32 * len(sc.actors))
    fig.update_yaxes(autorange="reversed")
    return fig


def _fig_timeline(sc: Scenario, fc) -> Any | None:
    import plotly.graph_objects as go

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
                items.append({"kind": "quote", "text": ev.quote, "source": ev.source or "",
                              "where": verified.get((fld, ev.quote), "")})
            elif ev.judgement:
                items.append({"kind": "judgement", "text": ev.judgement, "source": "",
                              "where": ""})
        rows.append({"field": fld, "value": f"{q.value:g}", "range": rng, "items": items,
                     "at": f"{_relative(q.file, sc)}:{q.line}" if q.line else _relative(q.file, sc)})
    return {"status": status, "ok": ok, "rows": rows,
            "n_quotes": sum(1 for r in rows for e in r["items"] if e["kind"] == "quote"),
            "n_verified": sum(1 for r in rows for e in r["items"] if e["where"]),
            "n_bare": sum(1 for r in rows if not r["items"])}


def _optional_analyses(sc: Scenario, fc, opts: ReportOptions, figs: _Figures) -> list[dict[str, Any]]:
    """Feasibility, what-if and key actors when their modules exist; never fatal."""
    sections = []
    candidates: list[tuple[str, str, tuple[str, ...]]] = [
        ("Feasibility: is any agreement possible?", "feasibility", ("feasibility", "analyse", "analyze", "run")),
        ("What-if", "whatif", ("whatif", "what_if", "analyse", "run")),
        ("Key actors and sensitivity", "sensitivity", ("key_actors", "sensitivity", "analyse", "run")),
    ]
    import importlib

    for title, module, names in candidates:
        try:
            mod = importlib.import_module(f"accord.analysis.{module}")
        except ImportError:
            continue
        fn = next((getattr(mod, n) for n in names if callable(getattr(mod, n, None))), None)
        if fn is None:
            continue
        try:
            result = _call(fn, sc, opts)
        except Exception as exc:  # noqa: BLE001
            sections.append({"title": title, "note": f"not available: {type(exc).__name__}: {exc}",
                             "tables": []})
            continue
        sections.append({"title": title, "note": None, "tables": _tables_of(result)})
    return sections


def _call(fn: Callable, sc: Scenario, opts: ReportOptions) -> Any:
    import inspect

    kwargs = {}
    params = inspect.signature(fn).parameters
    if "seed" in params:
        kwargs["seed"] = opts.seed
    if "draws" in params:
        kwargs["draws"] = min(opts.draws, 1000)
    return fn(sc, **kwargs)


def _tables_of(result: Any) -> list[dict[str, Any]]:
    out = []
    if isinstance(result, pd.DataFrame):
        out.append({"caption": "", **_frame_table(result.reset_index()
                                                  if result.index.name else result)})
        return out
    for name in ("table", "summary", "frame", "result", "deals", "actors", "scores"):
        v = getattr(result, name, None)
        if isinstance(v, pd.DataFrame):
            out.append({"caption": name, **_frame_table(v.reset_index() if v.index.name else v)})
    if not out and hasattr(result, "to_frame"):
        try:
            out.append({"caption": "", **_frame_table(result.to_frame())})
        except Exception:  # noqa: BLE001
            pass
    if not out and isinstance(result, dict):
        for k, v in result.items():
            if isinstance(v, pd.DataFrame):
                out.append({"caption": str(k), **_frame_table(v)})
    return out


# ---- the report ----------------------------------------------------------------------------


def render(scenario: Scenario, forecast=None, options: ReportOptions | None = None,
           **kwargs: Any) -> str:
    """The report of ``scenario`` as one HTML document (plotly's JavaScript inlined).

    ``forecast``: a :class:`~accord.analysis.ensemble.Forecast` to show (computed with
    ``options`` when omitted). Keyword arguments override fields of ``options``.
    """
    from dataclasses import replace

    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from plotly.offline import get_plotlyjs

    from ..analysis.ensemble import forecast as _forecast

    opts = replace(options or ReportOptions(), **kwargs)
    sc = scenario
    if forecast is None:
        names = list(opts.models) if opts.models is not None else list(_models.available())
        forecast = _forecast(sc, names, draws=opts.draws, seed=opts.seed,
                             dynamic_draws=opts.dynamic_draws)
    fc = forecast
    figs = _Figures()
    traj = _trajectories(sc, fc, fc.seed)
    has_bdm = "bdm" in fc.models
    issues = []
    for j, issue in enumerate(sc.issues):
        head, rows = _summary_rows(sc, fc, issue)
        quad = _fig_quadrant(sc, issue, opts.max_quadrant_actors, fc.seed) if has_bdm else None
        issues.append({
            "id": issue.id, "question": issue.question, "status_quo": issue.status_quo,
            "scale": f"{issue.low:g}–{issue.high:g}",
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
    optional = _optional_analyses(sc, fc, opts, figs)
    json_doc = fc.to_json()
    provenance = [
        ("accord version", __version__),
        ("scenario", f"{sc.id} — {sc.title}"),
        ("scenario sha256", sc.sha256),
        ("scenario as of", str(sc.as_of) if sc.as_of else "—"),
        ("seed", str(fc.seed)),
        ("Monte-Carlo draws per view", str(fc.draws)),
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
        sc=sc, fc=fc, issues=issues, provenance=provenance, notes=fc.notes,
        plotly_js=Markup(get_plotlyjs()),
        fig_disagreement=Markup(figs.html(dis)) if dis is not None else None,
        fig_timeline=Markup(figs.html(tl)) if tl is not None else None,
        disagreement=_frame_table(fc.disagreement[dis_cols], 25) if len(fc.disagreement) else None,
        optional=optional, evidence=_evidence(sc, opts), n_figures=figs.count,
        actors=[{"id": a.id, "name": a.name, "capability": f"{a.capability.value:g}",
                 "veto": a.veto} for a in sc.actors],
        views=json_doc["views"], deals=dict(sc.deals),
        has_dynamic=bool(traj), has_bdm=has_bdm)


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
