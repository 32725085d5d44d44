"""The conclusion of a scenario in words and numbers: one object every surface renders.

:func:`analyse` runs the forecast (every model × every view), the feasibility of each deal
and, when the scenario has a ``levers.yaml``, the what-if levers, all with the same draws and
seed, and condenses them into a :class:`Summary`: per issue the most likely settlement (the
nearest labelled point of the scale) with its 80% interval in words; the chance of a deal (from
the outlook when one is given, else the share of coding draws with a zone of agreement, which
is *not* a probability of a deal); who blocks; the lever that moves the outcome most; where the
analyses disagree most; what rests on judgement rather than quotes; and why a model stopped
where it did. The CLI, the report, the web app and ``--json`` only render this object, so the
same request gives the same numbers everywhere.

The outlook hook: pass ``outlook=`` any object whose ``to_json()`` returns the document
:func:`deal_outlook_rows` reads (``accord.analysis.outlook`` once it lands).
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..defaults import (DRAWS, DYNAMIC_DRAWS, LEVER_DRAWS, OUTLOOK_DRAWS,  # noqa: F401
                        OUTLOOK_HORIZON, SEED)

REFERENCE_MODELS = ("status_quo",)
"""Models that describe no change; shown, but kept out of the pooled central forecast."""
INTERVAL = "80% interval"
MC_BOUND_SCALE = 0.01
"""Documented bound on the Monte-Carlo standard error of a reported median: a hundredth of the
issue's scale (±1 point on 0–100). ``Summary.precision`` says whether every median meets it."""
MC_BOUND_PROBABILITY = 0.01
"""Documented bound on the Monte-Carlo standard error of a reported probability (±1 pp)."""
MC_Z = 1.96
"""Width of Woodruff's interval behind :func:`median_se`, in standard errors."""
ZONE_LABEL = "share of coding draws with a zone of agreement"
"""What the feasibility fallback measures: NOT a probability that a deal is signed."""

STOP_REASONS = {
    "one_shot": "computed in one step (no rounds of bargaining)",
    "converged": "positions stopped moving (a fixed point): the forecast is where they rest",
    "cycle": "positions repeat in a cycle; the forecast is the cycle's position at the last "
             "round, and the cycle's range is the honest answer",
    "tolerance": "the forecast changed by less than the tolerance between two rounds, so the "
                 "state was frozen there",
    "max_rounds": "ran the full number of rounds without settling; the forecast is the "
                  "position after the last round",
    "degenerate": "a round could not be computed (every actor at one point, or zero "
                  "weights); the state was kept as it was",
    "no_status_quo": "the issue has no status quo to stay at",
}
"""Every stop reason a model reports, in words (shared by `accord run` and the summary)."""


def explain_stop(reason: str) -> str:
    """A stop reason in words (unknown reasons are shown as they are)."""
    return STOP_REASONS.get(reason, reason)


# ---- the result -------------------------------------------------------------------------------

@dataclass(frozen=True)
class IssueLine:
    """One issue's most likely settlement."""

    issue: str
    question: str
    unit: str
    """'years', or 'points on the 0–100 scale' when the file names none."""
    median: float
    p10: float
    p90: float
    anchor: str | None
    """Label of the scale point nearest the median (the settlement in words)."""
    anchor_point: float | None
    low_anchor: str | None
    high_anchor: str | None
    model_medians: dict[str, float]
    status_quo: float | None
    sentence: str
    mc_se: float | None = None
    """Monte-Carlo standard error of ``median`` (scale units; :func:`median_se`)."""


@dataclass(frozen=True)
class Blocker:
    actor: str
    name: str
    p_blocks: float
    """Share of coding draws in which this veto player is short of its no-deal value at the
    closest-to-feasible package."""
    median_shortfall: float
    """Utility it lacks when it blocks (0–1 utility scale)."""


@dataclass(frozen=True)
class DealLine:
    """One deal: its chance (outlook) or its zone-of-agreement share (feasibility)."""

    deal: str
    issues: tuple[str, ...]
    source: str
    """'outlook' or 'feasibility'."""
    label: str
    value: float
    """The outlook's P(deal by the horizon), or the feasibility share (see ``label``)."""
    low: float | None
    high: float | None
    by: str | None
    """'YYYY-MM' the probability refers to (outlook only)."""
    median_months: int | None
    p_holds_12m: float | None
    zone_share: float | None
    """The feasibility share, also kept when the outlook gives the probability."""
    blockers: tuple[Blocker, ...]
    sentence: str
    start: str | None = None
    """'YYYY-MM' the outlook's months count from (outlook only)."""
    cumulative: tuple[float, ...] = ()
    """P(deal by month k), k = 1 .. horizon (outlook only)."""
    mc_se: float | None = None
    """Monte-Carlo standard error of ``value``: sqrt(p(1 - p)/n), an upper bound for a mean of
    per-draw probabilities (a variable in [0, 1] with mean p has variance at most p(1 - p))."""


@dataclass(frozen=True)
class LeverLine:
    lever: str
    title: str
    issue: str | None
    shift: float | None
    """Median shift of the pooled one-shot forecast on ``issue`` (issue units)."""
    unit: str
    deal: str | None
    change: float | None
    """Change of the zone-of-agreement share of ``deal`` (a share, not percentage points)."""
    sentence: str
    mc_se: float | None = None
    """Monte-Carlo standard error of ``shift`` (issue units; the mean of the models' standard
    errors, a bound for the standard error of their mean) or of ``change`` (a share), over
    the what-if's paired draws."""


@dataclass(frozen=True)
class Disagreement:
    kind: str
    """'models', 'views' or 'cell'."""
    issue: str
    low: float
    high: float
    low_by: str
    high_by: str
    sentence: str


@dataclass(frozen=True)
class JudgementCall:
    field: str
    value: str
    judgement: str | None
    why: str


@dataclass(frozen=True)
class Judgement:
    numbers: int
    quoted: int
    judgement_only: int
    bare: int
    key: tuple[JudgementCall, ...]
    sentence: str


@dataclass(frozen=True)
class ModelNote:
    model: str
    stop_reasons: dict[str, float]
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    """What the analyses conclude; plain fields and :meth:`to_json` (the surfaces' contract)."""

    scenario: str
    title: str
    scenario_sha256: str
    accord_version: str
    draws: int
    dynamic_draws: int
    seed: int | None
    models: tuple[str, ...]
    pooled_models: tuple[str, ...]
    views: tuple[str, ...]
    headline: tuple[str, ...]
    """The conclusion in sentences, most important first (deals, blockers, levers,
    disagreement, judgement); the settlement per issue is ``settlement`` and ``issues``."""
    settlement: str
    issues: tuple[IssueLine, ...]
    deals: tuple[DealLine, ...]
    deal_source: str
    levers: tuple[LeverLine, ...]
    disagreements: tuple[Disagreement, ...]
    judgement: Judgement
    explanations: tuple[ModelNote, ...]
    notes: tuple[str, ...] = ()
    bases: dict[str, str] = field(default_factory=dict)
    """Which coding and draws each part rests on (views pooled, base coding ...)."""
    precision: str = ""
    """The largest Monte-Carlo standard errors of the reported medians, probabilities and lever
    effects, against their documented bounds (``MC_BOUND_SCALE``, ``MC_BOUND_PROBABILITY``);
    every surface prints it."""
    lever_draws: int | None = None
    """Draws per view of the what-if behind ``levers`` (None: no levers file)."""
    model_mc_se: dict[str, float] = field(default_factory=dict)
    """Per model, the largest Monte-Carlo standard error of its own median over the issues, as a
    share of the issue's scale. A single model's median is shown for comparison (the
    ``models`` range, the disagreements) and rests on its own draws only: the dynamic models'
    ``dynamic_draws`` per view give it a wider error than the pooled median; ``precision``
    says how wide, and the bound is held on the pooled medians."""

    def to_json(self) -> dict[str, Any]:
        return _plain(self)


def _plain(x: Any) -> Any:
    if is_dataclass(x):
        return {f.name: _plain(getattr(x, f.name)) for f in fields(x)}
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(x, np.integer):
        return int(x)
    return x


@dataclass(frozen=True)
class Analysis:
    """The results :func:`analyse` computed, for surfaces that show more than the summary."""

    summary: Summary
    forecast: Any
    feasibility: Any
    whatif: Any
    outlook: Any = None


# ---- the outlook hook -------------------------------------------------------------------------

@dataclass(frozen=True)
class OutlookRow:
    """One deal kind × view (or the ensemble) of an outlook result."""

    deal: str
    view: str
    start: str
    horizon_months: int
    cumulative: tuple[float, ...]
    """P(deal by month k), k = 1 .. horizon."""
    median_months: int | None
    p_holds_12m: float | None
    draws: int | None = None
    """Outlook draws behind this row (all of them for the ensemble)."""

    @property
    def by(self) -> str | None:
        """'YYYY-MM' of the horizon's last month (None for an undated analysis)."""
        return add_months(self.start, self.horizon_months)

    @property
    def p_by_horizon(self) -> float:
        return float(self.cumulative[-1]) if self.cumulative else float("nan")


def add_months(start: str | None, months: int) -> str | None:
    """``YYYY-MM`` plus whole months; None for an undated analysis."""
    if start is None:
        return None
    y, m = (int(x) for x in str(start)[:7].split("-"))
    k = y * 12 + (m - 1) + int(months)
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def deal_outlook_rows(outlook: Any) -> list[OutlookRow]:
    """Rows of an outlook result: the one hook between the outlook and the summary.

    ``outlook`` is any object with ``to_json()`` (or the dict itself) of the form
    ``{"scenario", "horizon_months", "seed", "draws", "deals": {KIND: {"views": {VIEW: {"start":
    "YYYY-MM", "cumulative": [p1..pK], "median_months": int|None, "p_holds_12m": float}},
    "ensemble": {...same}}}}``. The ensemble row has view ``"ensemble"``.
    """
    doc = outlook.to_json() if hasattr(outlook, "to_json") else dict(outlook)
    horizon = int(doc.get("horizon_months") or 0)
    total, per_view = doc.get("draws"), doc.get("draws_per_view") or doc.get("draws")
    rows = []
    for kind, d in (doc.get("deals") or {}).items():
        entries = list((d.get("views") or {}).items())
        if d.get("ensemble") is not None:
            entries.append(("ensemble", d["ensemble"]))
        for view, e in entries:
            cum = tuple(float(x) for x in e.get("cumulative") or ())
            start = e.get("start")
            rows.append(OutlookRow(str(kind), str(view), None if start is None else str(start),
                                   horizon or len(cum), cum, e.get("median_months"),
                                   e.get("p_holds_12m"),
                                   total if view == "ensemble" else per_view))
    return rows


# ---- computing --------------------------------------------------------------------------------

def analyse(scenario, *, draws: int = DRAWS, seed: int | None = SEED,
            models: Sequence[str] | None = None, dynamic_draws: int = DYNAMIC_DRAWS,
            outlook: Any = "default", levers: Any = "default", forecast: Any = None,
            lever_draws: int = LEVER_DRAWS,
            progress: Callable[[str], None] | None = None) -> Analysis:
    """Forecast, feasibility, outlook and what-if with one seed, and their summary.

    ``outlook``: ``"default"`` runs :func:`accord.analysis.outlook.outlook` (``OUTLOOK_DRAWS``
    draws in all, ``OUTLOOK_HORIZON`` months), ``None`` leaves it out (the deals are then
    described by the feasibility share), or a precomputed outlook result.
    ``levers``: a levers file, a list of levers, ``None`` (no what-if) or ``"default"`` (the
    scenario's ``levers.yaml`` when it has one). ``forecast``: a precomputed forecast with the
    same draws and seed (it is checked). ``lever_draws``: draws per view of the what-if (at
    most ``draws``; its standard errors are in the summary's ``precision``).
    ``progress(step)`` is called before each step, from two threads but never at once:
    feasibility and the levers run on a thread beside the models (on more than one core).
    """
    from .. import models as _models
    from .._threads import cores, release
    from ..models import _warm
    from .ensemble import forecast as _forecast
    from .feasibility import feasibility as _feasibility

    names = list(models) if models is not None else list(_models.available())

    said = threading.Lock()

    def say(step: str) -> None:
        release()  # each step's peak starts from what is live
        if progress:
            with said:  # two threads report steps: the callback sees one at a time
                progress(step)

    if forecast is not None and forecast.seed != seed:
        raise ValueError(f"forecast: seed {forecast.seed}, but the summary asks for seed {seed}")
    one_shot = [m for m in (names if forecast is None else forecast.models)
                if not _models.get(m).dynamic]
    deals: dict[str, Any] = {"extra": []}

    def zone_analyses() -> None:
        """Feasibility and levers: they need the scenario, not the forecast, so they run on
        a thread of their own beside the models (their LPs fill the cores the models' serial
        steps leave idle; each result is the same whichever thread computes it). About 0.3 s
        off the flagship forecast, and no more peak memory: the outlook stays after the
        models."""
        say("feasibility")
        _warm.wait(warming, "feasibility")
        deals["feas"] = _feasibility(scenario, draws=draws, seed=seed, extent=False)
        path = _levers_path(scenario, levers)
        if path is not None and one_shot:
            from ..errors import ScenarioError
            from .whatif import whatif as _whatif

            say("what-if levers")
            try:
                deals["wi"] = _whatif(scenario, path, models=one_shot,
                                      draws=min(draws, lever_draws), seed=seed)
            except ScenarioError as exc:  # a broken levers file must not hide the forecast
                n = len(exc.problems) + exc.truncated
                deals["extra"].append(f"levers not run: {path} has {n} problem"
                                      f"{'s' if n != 1 else ''} (`accord whatif` lists them); "
                                      f"first: {exc.problems[0]}")

    def outlook_analysis() -> None:
        """The outlook: after the models on a warm run, not beside them (with them its
        draws would lift the job's peak memory), but while the exchange model compiles in
        another process on a first run."""
        if isinstance(outlook, str) and outlook == "default":
            from .outlook import outlook as _outlook

            say("outlook")
            deals["outlook"] = _outlook(scenario, horizon=OUTLOOK_HORIZON, draws=OUTLOOK_DRAWS,
                                        seed=seed)
        else:
            deals["outlook"] = outlook

    # on a first run the feasibility LP compiles in another process while the models run
    warming = _warm.start(["feasibility"])
    if forecast is None:
        with ThreadPoolExecutor(1, thread_name_prefix="accord-zone") as side:
            # one core (ACCORD_THREADS=1): no thread, the zones wait for ``meanwhile``
            zones = side.submit(zone_analyses) if cores() > 1 else None

            def meanwhile() -> None:
                if zones is None:
                    zone_analyses()
                else:
                    zones.result()  # the LP is compiled (first run) and the zones are known
                outlook_analysis()

            try:
                forecast = _forecast(scenario, names, draws=draws, seed=seed,
                                     dynamic_draws=dynamic_draws, progress=say,
                                     meanwhile=meanwhile)
            finally:
                if zones is not None:
                    zones.exception()  # a model failed or the job was cancelled: join it
    else:
        zone_analyses()
        outlook_analysis()
    feas, wi, outlook, extra = deals["feas"], deals.get("wi"), deals["outlook"], deals["extra"]
    summary = summarize_results(scenario, forecast, feas, wi, outlook=outlook,
                                dynamic_draws=dynamic_draws, notes=extra)
    return Analysis(summary, forecast, feas, wi, outlook)


def summarize(scenario, *, draws: int = DRAWS, seed: int | None = SEED,
              models: Sequence[str] | None = None, dynamic_draws: int = DYNAMIC_DRAWS,
              outlook: Any = "default", levers: Any = "default", lever_draws: int = LEVER_DRAWS,
              progress: Callable[[str], None] | None = None) -> Summary:
    """The :class:`Summary` of a scenario (see :func:`analyse`).

    >>> import accord
    >>> s = summarize(accord.load("eu-emissions"), draws=50, models=["compromise", "median"])
    >>> s.issues[0].unit, s.deal_source
    ('years', 'outlook')
    """
    return analyse(scenario, draws=draws, seed=seed, models=models, dynamic_draws=dynamic_draws,
                   outlook=outlook, levers=levers, lever_draws=lever_draws,
                   progress=progress).summary


def _levers_path(scenario, levers: Any):
    if levers is None:
        return None
    if isinstance(levers, str) and levers == "default":
        from .whatif import default_levers_path

        return default_levers_path(scenario)
    return levers


def summarize_results(scenario, forecast, feasibility=None, whatif=None, *, outlook: Any = None,
                      dynamic_draws: int | None = None, notes: Sequence[str] = ()) -> Summary:
    """Condense results already computed (same draws and seed) into a :class:`Summary`."""
    from .. import __version__
    from .. import models as _models
    from .ensemble import ENSEMBLE

    sc, fc = scenario, forecast
    pooled = tuple(m for m in fc.models if m not in REFERENCE_MODELS) or tuple(fc.models)
    label = ENSEMBLE if len(fc.views) > 1 else fc.views[0]
    issues = _issue_lines(sc, fc, pooled, label)
    model_se = _model_se(sc, fc)
    deals, source = _deal_lines(sc, feasibility, outlook)
    levers = _lever_lines(sc, whatif, label, pooled) if whatif is not None else ()
    dis = _disagreements(sc, fc, pooled)
    judgement = _judgement(sc, fc, feasibility)
    notes_m = _model_notes(sc, fc)
    dyn = [m for m in fc.models if _models.get(m).dynamic]
    k = {m: fc.samples[m].shape[1] for m in fc.models}
    dd = min(fc.draws, dynamic_draws) if dynamic_draws is not None else \
        (k[dyn[0]] if dyn else fc.draws)
    n_views = len(fc.views)
    bases = {
        "forecast": f"{n_views} analys{'es' if n_views != 1 else 'is'} pooled with equal weight; "
                    f"{fc.draws:,} draws per view ({dd:,} for dynamic models), seed {fc.seed}",
        "settlement": "median of the models " + ", ".join(pooled) + " pooled with equal weight "
                      f"({REFERENCE_MODELS[0]} shown but not pooled); the {INTERVAL} spans "
                      "the draws and the models together",
        "deals": (f"outlook ({source})" if source == "outlook" else
                  f"feasibility over the same views and draws: {ZONE_LABEL}"),
        "levers": (f"what-if over the same views, {whatif.draws:,} draws per view with every "
                   "lever on the same draws (paired), one-shot models" if whatif is not None
                   else "no levers file"),
    }
    headline = _headline(sc, issues, deals, levers, dis, judgement, source)
    settlement = ("Most likely settlement: " + "; ".join(
        f"{x.issue} near {x.anchor_point:g} ({x.anchor})" if x.anchor
        else f"{x.issue} {with_unit(x.median, sc.issue(x.issue))}" for x in issues) + "."
        if issues else "")
    notes = tuple(fc.notes) + (tuple(feasibility.notes) if feasibility is not None else ()) \
        + tuple(notes)
    return Summary(sc.id, sc.title, sc.sha256, __version__, int(fc.draws), int(dd), fc.seed,
                   tuple(fc.models), pooled, tuple(fc.views), headline, settlement, issues,
                   deals, source,
                   levers, dis, judgement, notes_m, notes, bases,
                   _precision(sc, issues, deals, levers, model_se),
                   int(whatif.draws) if whatif is not None else None, model_se)


def unit_of(issue) -> str:
    """An issue's unit in words: its ``unit:`` or the scale it is measured on."""
    unit = (issue.extra or {}).get("unit")
    return str(unit) if unit else f"points on the {issue.low:g}–{issue.high:g} scale"


def number(x: float | None, issue) -> str:
    """A value with the precision its scale deserves (one decimal on short scales)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.1f}" if issue.high - issue.low <= 20 else f"{x:.0f}"


def with_unit(x: float | None, issue) -> str:
    unit = (issue.extra or {}).get("unit")
    return f"{number(x, issue)} {unit}" if unit else number(x, issue)


def _pooled_cdf(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """Samples pooled with equal total weight per part (model × view), sorted, with the
    distribution function at each (mid-point rule); None when no part has a value."""
    vals, wts = [], []
    for p in parts:
        p = p[~np.isnan(p)]
        if len(p):
            vals.append(_sorted_run(p))  # one weight per part: sorted runs, which the
            wts.append(np.full(len(p), 1.0 / len(p)))  # stable sort below only merges
    if not vals:
        return None
    v, w = np.concatenate(vals), np.concatenate(wts)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    return v, (np.cumsum(w) - 0.5 * w) / w.sum()


def _sorted_run(p: np.ndarray) -> np.ndarray:
    """``p`` sorted, in the order a stable sort gives: numpy's default sort (8x faster than
    its stable one on 2,000 draws) is that order except among equal values with other bytes,
    0.0 and -0.0, so a part holding both is sorted stably."""
    zero = p == 0
    if zero.any():
        neg = np.signbit(p[zero])
        if neg.any() and not neg.all():
            return np.sort(p, kind="stable")
    return np.sort(p)


def _weighted_quantiles(parts: list[np.ndarray], q: Sequence[float]) -> np.ndarray:
    """Quantiles of samples pooled with equal total weight per part (model × view)."""
    cdf = _pooled_cdf(parts)
    return np.full(len(q), np.nan) if cdf is None else np.interp(q, cdf[1], cdf[0])


def median_se(parts: list[np.ndarray], z: float = MC_Z) -> float | None:
    """Monte-Carlo standard error of the median of samples pooled as :func:`_weighted_quantiles`.

    Woodruff's (1952) interval: the pooled distribution function at the median, F̂(m), has
    variance Σ_i F_i(m)(1 − F_i(m)) / n_i / P² over the P equally weighted parts (model × view,
    n_i draws each); the quantiles at 0.5 ± z·sd(F̂) bound the median, and their distance over 2z
    is its standard error. Parts are taken as independent; the models of one view share its
    coding draws, so this is a guide, not exact.
    """
    live = [p[~np.isnan(p)] for p in parts]
    live = [p for p in live if len(p)]
    if not live:
        return None
    v, c = _pooled_cdf(live)           # one sort serves the median and the interval
    m = float(np.interp(0.5, c, v))
    below = [float((p <= m).mean()) for p in live]
    var_f = sum(f * (1 - f) / len(p) for f, p in zip(below, live))
    d = z * math.sqrt(var_f) / len(live)
    lo, hi = np.interp((max(0.0, 0.5 - d), min(1.0, 0.5 + d)), c, v)
    return float((hi - lo) / (2 * z))


def proportion_se(p: float | None, n: int | None) -> float | None:
    """Monte-Carlo standard error of a share or mean probability ``p`` over ``n`` draws (a bound
    for a mean of per-draw probabilities)."""
    if p is None or not n or (isinstance(p, float) and math.isnan(p)):
        return None
    return math.sqrt(max(0.0, p * (1 - p)) / n)


def _model_se(sc, fc) -> dict[str, float]:
    """Per model: the largest standard error of its own median (pooled over the views), as a
    share of the issue's scale (:attr:`Summary.model_mc_se`)."""
    out = {}
    for m in fc.models:
        s = fc.samples[m]
        rel = [se / ((x.high - x.low) or 1.0) for j, x in enumerate(sc.issues)
               if (se := median_se([s[v, :, j] for v in range(s.shape[0])])) is not None]
        if rel:
            out[m] = max(rel)
    return out


def _precision(sc, issues, deals, levers=(), model_se=None) -> str:
    """One sentence: the largest standard errors against their documented bounds."""
    parts = []

    def scale(issue: str) -> float:
        return (sc.issue(issue).high - sc.issue(issue).low) or 1.0

    rel = [(x.mc_se / scale(x.issue), x) for x in issues if x.mc_se is not None]
    if rel:
        r, x = max(rel, key=lambda t: t[0])
        parts.append(f"medians within ±{x.mc_se:.2g} {unit_of(sc.issue(x.issue))} (largest: "
                     f"{x.issue}, {100 * r:.2g}% of its scale; bound {100 * MC_BOUND_SCALE:g}%)")
    ps = [(d.mc_se, d) for d in deals if d.mc_se is not None]
    if ps:
        se, d = max(ps, key=lambda t: t[0])
        parts.append(f"probabilities within ±{100 * se:.2f} pp (largest: {d.deal}; bound "
                     f"±{100 * MC_BOUND_PROBABILITY:g} pp)")
    moves = [(x.mc_se / scale(x.issue), x) for x in levers if x.mc_se is not None and x.issue]
    if moves:
        r, x = max(moves, key=lambda t: t[0])
        parts.append(f"the lever's shift within ±{x.mc_se:.2g} {x.unit} ({100 * r:.2g}% of "
                     f"the scale)")
    changes = [(x.mc_se, x) for x in levers if x.mc_se is not None and x.deal]
    if changes:
        se, x = max(changes, key=lambda t: t[0])
        parts.append(f"the lever's change of a deal's share within ±{100 * se:.2f} pp")
    if model_se:
        m = max(model_se, key=lambda k: model_se[k])
        if model_se[m] > MC_BOUND_SCALE:  # said, not held to the bound (Summary.model_mc_se)
            parts.append(f"a single model's own median within ±{100 * model_se[m]:.2g}% of the "
                         f"scale (largest: {m}; --dynamic-draws narrows it)")
    rel += moves
    ps += changes
    if not parts:
        return ""
    over = any(r > MC_BOUND_SCALE for r, _ in rel) or any(se > MC_BOUND_PROBABILITY for se, _ in ps)
    return ("Monte-Carlo standard error: " + "; ".join(parts)
            + ("; ABOVE the bound: raise --draws" if over else "") + ".")


def _nearest(issue, x: float) -> tuple[float | None, str | None]:
    if not issue.anchors or x is None or np.isnan(x):
        return None, None
    pt, text = min(issue.anchors, key=lambda a: (abs(a[0] - x), a[0]))
    return pt, text


def _pooled(fc, models: Sequence[str], j: int, views: Sequence[int] | None = None) -> np.ndarray:
    parts = []
    for m in models:
        s = fc.samples[m]
        for v in (range(s.shape[0]) if views is None else views):
            parts.append(s[v, :, j])
    return _weighted_quantiles(parts, (0.1, 0.5, 0.9))


def _issue_lines(sc, fc, pooled, label) -> tuple[IssueLine, ...]:
    out = []
    s = fc.summary
    for j, issue in enumerate(sc.issues):
        p10, med, p90 = (float(x) for x in _pooled(fc, pooled, j))
        se = median_se([fc.samples[m][v, :, j] for m in pooled
                        for v in range(fc.samples[m].shape[0])])
        pt, text = _nearest(issue, med)
        _, lo_t = _nearest(issue, p10)
        _, hi_t = _nearest(issue, p90)
        rows = s[(s.issue == issue.id) & (s.view == label)]
        meds = {r.model: float(r.median) for r in rows.itertuples()}
        unit = unit_of(issue)
        if text is None:
            sentence = (f"{issue.id}: most likely {with_unit(med, issue)} "
                        f"({INTERVAL} {number(p10, issue)}–{number(p90, issue)}; {unit}).")
        else:
            span = (f"{INTERVAL} {number(p10, issue)}–{number(p90, issue)}"
                    + (", all nearest that point" if lo_t == hi_t == text else
                       f": from “{lo_t}” to “{hi_t}”"))
            sentence = (f"{issue.id}: most likely near {pt:g}, “{text}” "
                        f"(median {with_unit(med, issue)}"
                        f"{'' if (issue.extra or {}).get('unit') else ' on the ' + f'{issue.low:g}–{issue.high:g} scale'}"
                        f"; {span}).")
        out.append(IssueLine(issue.id, issue.question, unit, med, p10, p90, text, pt, lo_t,
                             hi_t, meds, issue.status_quo, sentence, se))
    return tuple(out)


def _deal_lines(sc, feas, outlook) -> tuple[tuple[DealLine, ...], str]:
    from .feasibility import COMPREHENSIVE

    if feas is None and outlook is None:
        return (), "none"
    names = {a.id: a.name for a in sc.actors}
    zone: dict[str, tuple[float, float, float]] = {}
    blockers: dict[str, tuple[Blocker, ...]] = {}
    issues_of: dict[str, tuple[str, ...]] = {COMPREHENSIVE: tuple(sc.issue_ids),
                                              **{d: tuple(v) for d, v in sc.deals.items()}}
    feas_draws = None
    if feas is not None:
        views = {v for v in feas.summary.view if v != "ensemble"}
        feas_draws = int(feas.draws) * max(1, len(views)) or None
        label = "ensemble" if "ensemble" in set(feas.summary.view) else feas.summary.view.iloc[0]
        for r in feas.summary[feas.summary.view == label].itertuples():
            zone[r.deal] = (float(r.p_feasible), float(r.p_low), float(r.p_high))
        sp = feas.spoilers[(feas.spoilers.view == label) & (feas.spoilers.p_blocks > 0)]
        for d in zone:
            rows = sp[sp.deal == d].sort_values(["p_blocks", "actor"], ascending=[False, True],
                                                kind="stable")
            blockers[d] = tuple(Blocker(r.actor, names.get(r.actor, r.actor), float(r.p_blocks),
                                        float(r.median_shortfall)) for r in rows.itertuples())
    out = []
    rows = [r for r in deal_outlook_rows(outlook) if r.view == "ensemble"] if outlook is not None else []
    if not rows and outlook is not None:  # one view only: its own row
        rows = deal_outlook_rows(outlook)
    if rows:
        for r in rows:
            z = zone.get(r.deal)
            when = f"by {r.by}" if r.by else f"within {r.horizon_months} months"
            label = f"P(deal {when})"
            sent = (f"{r.deal}: {100 * r.p_by_horizon:.0f}% chance of a deal {when}"
                    + (f" (median {r.median_months} months)" if r.median_months is not None
                       else " (median beyond the horizon)")
                    + (f"; {100 * r.p_holds_12m:.0f}% that it still holds 12 months later"
                       if r.p_holds_12m is not None else "") + ".")
            out.append(DealLine(r.deal, issues_of.get(r.deal, ()), "outlook", label,
                                r.p_by_horizon, None, None, r.by, r.median_months, r.p_holds_12m,
                                None if z is None else z[0], blockers.get(r.deal, ()), sent,
                                r.start, tuple(r.cumulative),
                                proportion_se(r.p_by_horizon, r.draws)))
        return tuple(out), "outlook"
    for d, (p, lo, hi) in zone.items():
        bl = blockers.get(d, ())
        sent = (f"{d} deal: some settlement is acceptable to every veto player in "
                f"{100 * p:.0f}% of coding draws (95% {100 * lo:.0f}–{100 * hi:.0f}%); this is "
                f"the {ZONE_LABEL}, not a probability of a deal")
        if bl:
            sent += (f"; {bl[0].name} blocks it in {100 * bl[0].p_blocks:.0f}% of draws "
                     f"(short by {bl[0].median_shortfall:.3f} utility on a 0–1 scale)")
        out.append(DealLine(d, issues_of.get(d, ()), "feasibility", ZONE_LABEL, p, lo, hi, None,
                            None, None, p, bl, sent + ".",
                            mc_se=proportion_se(p, feas_draws)))
    return tuple(out), "feasibility"


def _lever_lines(sc, wi, label, pooled) -> tuple[LeverLine, ...]:
    f = wi.forecast[(wi.forecast.view == label) & (wi.forecast.model.isin(pooled))]
    width = {x.id: (x.high - x.low) or 1.0 for x in sc.issues}
    by_issue = {x.id: x for x in sc.issues}
    titles = {lv.name: lv.title for lv in wi.levers}
    best_move = None
    if len(f):
        by = f[f.lever != "none"].groupby(["lever", "issue"], sort=False)
        g, g_se = by["shift"].mean(), by["shift_se"].mean()
        if len(g):
            rel = g.abs() / g.index.get_level_values("issue").map(width).to_numpy()
            if np.nanmax(rel.to_numpy()) > 0:
                (lever, issue) = rel.idxmax()
                best_move = (lever, issue, float(g[(lever, issue)]),
                             float(g_se[(lever, issue)]))
    p = wi.feasibility[wi.feasibility.view == label]
    best_deal = None
    if len(p):
        q = p[p.lever != "none"].copy()
        if len(q):
            q["abs"] = q.change.abs()
            q = q.sort_values(["abs", "deal"], ascending=[False, True], kind="stable")
            r = q.iloc[0]
            if r["abs"] > 0:
                best_deal = (r.lever, r.deal, float(r.change), float(r.change_se))
    out = []
    if best_move is not None:
        lever, issue, shift, se = best_move
        x = by_issue[issue]
        sent = (f"The lever that moves the forecast most: {titles.get(lever, lever)} ({lever}) "
                f"shifts {issue} by {shift:+.1f} "
                f"{x.extra.get('unit') or f'points on its {x.low:g}–{x.high:g} scale'}.")
        out.append(LeverLine(lever, titles.get(lever, lever), issue, shift, unit_of(x), None,
                             None, sent, se))
    if best_deal is not None:
        lever, deal, ch, se = best_deal
        sent = (f"The lever that changes the zone of agreement most: {titles.get(lever, lever)} "
                f"({lever}) moves the {deal} deal's share by {100 * ch:+.0f} percentage points.")
        out.append(LeverLine(lever, titles.get(lever, lever), None, None, "percentage points",
                             deal, ch, sent, se))
    return tuple(out)


def _disagreements(sc, fc, pooled) -> tuple[Disagreement, ...]:
    from .ensemble import ENSEMBLE

    out = []
    label = ENSEMBLE if len(fc.views) > 1 else fc.views[0]
    s = fc.summary[fc.summary.view == label]
    best = None
    for issue in sc.issues:
        r = s[(s.issue == issue.id) & s.model.isin(pooled)].dropna(subset=["median"])
        if len(r) < 2:
            continue
        w = (issue.high - issue.low) or 1.0
        lo, hi = r.loc[r["median"].idxmin()], r.loc[r["median"].idxmax()]
        spread = (hi["median"] - lo["median"]) / w
        if best is None or spread > best[0]:
            best = (spread, issue, lo, hi)
    if best is not None and best[0] > 0:
        _, issue, lo, hi = best
        out.append(Disagreement(
            "models", issue.id, float(lo["median"]), float(hi["median"]), lo.model, hi.model,
            f"The models disagree most on {issue.id}: from {with_unit(lo['median'], issue)} "
            f"({lo.model}) to {with_unit(hi['median'], issue)} ({hi.model}) "
            f"({100 * best[0]:.0f}% of the scale)."))
    if len(fc.views) > 1:
        best = None
        for j, issue in enumerate(sc.issues):
            meds = [(float(_pooled(fc, pooled, j, [v])[1]), fc.views[v]) for v in range(len(fc.views))]
            meds = [m for m in meds if not np.isnan(m[0])]
            if len(meds) < 2:
                continue
            lo, hi = min(meds), max(meds)
            spread = (hi[0] - lo[0]) / ((issue.high - issue.low) or 1.0)
            if best is None or spread > best[0]:
                best = (spread, issue, lo, hi)
        if best is not None and best[0] > 0:
            _, issue, lo, hi = best
            out.append(Disagreement(
                "views", issue.id, lo[0], hi[0], lo[1], hi[1],
                f"The analyses disagree most on {issue.id}: {lo[1]} puts it at "
                f"{with_unit(lo[0], issue)}, {hi[1]} at {with_unit(hi[0], issue)} "
                f"(pooled models)."))
    if len(fc.disagreement):
        r = fc.disagreement.iloc[0]
        issue = sc.issue(r.issue) if hasattr(sc, "issue") else None
        where = r.actor + (f" on {r.issue}" if r.field != "capability" else "")
        out.append(Disagreement(
            "cell", r.issue, float(r.base), float(r.coded), "base", r.view,
            f"The single coding difference that matters most: {r.view} codes {where}'s "
            f"{r.field} at {r.coded:g} against {r.base:g} in the base, which alone moves the "
            f"{r.model} forecast of {r.issue} by {r.forecast_shift:+.1f}"
            f"{(' ' + issue.extra.get('unit')) if issue is not None and issue.extra.get('unit') else ''}."))
    return tuple(out)


def _judgement(sc, fc, feas) -> Judgement:
    from ..scenario.validate import all_quantities

    quoted = judged = bare = n = 0
    kind: dict[str, tuple[str, Any]] = {}
    for q, fld in all_quantities(sc):
        n += 1
        has_quote = any(e.quote for e in q.evidence)
        j = next((e.judgement for e in q.evidence if e.judgement), None)
        if has_quote:
            quoted += 1
            kind[fld] = ("quote", q)
        elif j:
            judged += 1
            kind[fld] = ("judgement", q, j)
        else:
            bare += 1
            kind[fld] = ("bare", q)
    key: list[JudgementCall] = []

    def add(fld: str, why: str) -> None:
        k = kind.get(fld)
        if k is None or k[0] == "quote" or any(c.field == fld for c in key):
            return
        key.append(JudgementCall(fld, f"{k[1].value:g}", k[2] if k[0] == "judgement" else None,
                                 why))

    if feas is not None and len(feas.spoilers):
        for actor in dict.fromkeys(feas.spoilers[feas.spoilers.p_blocks > 0]
                                   .sort_values("p_blocks", ascending=False).actor):
            add(f"actors.{actor}.no_deal", "the no-deal value of a veto player that blocks")
    for r in fc.disagreement.head(10).itertuples():
        fld = (f"views.{r.view}.{r.actor}.capability" if r.field == "capability"
               else f"views.{r.view}.{r.actor}.{r.issue}.{r.field}")
        add(fld, f"moves the {r.model} forecast of {r.issue} by {r.forecast_shift:+.1f}")
    key = key[:5]
    sent = (f"Of {n} coded numbers, {quoted} cite a quote, {judged} rest on the coder's "
            f"judgement and {bare} on neither")
    if key:
        sent += "; judgement calls that matter most: " + ", ".join(
            f"{c.field} = {c.value}" for c in key[:3])
    elif judged or bare:
        sent += "; those that matter most (blockers' no-deal values, decisive cells) cite quotes"
    return Judgement(n, quoted, judged, bare, tuple(key), sent + ".")


def _model_notes(sc, fc) -> tuple[ModelNote, ...]:
    out = []
    by_id = {x.id: x for x in sc.issues}
    for m in fc.models:
        stops = dict(getattr(fc, "stops", {}).get(m, {}))
        diag = getattr(fc, "diagnostics", {}).get(m, {})
        sents = []
        for reason, share in sorted(stops.items(), key=lambda kv: (-kv[1], kv[0])):
            if reason == "one_shot":
                continue
            sents.append(f"{m}: in {100 * share:.0f}% of draws {explain_stop(reason)}.")
        swing = diag.get("swing_share") or {}
        cyc = [(i, sh) for i, sh in swing.items()
               if sh >= 0.25 and diag["swing_low"].get(i) is not None
               and diag["swing_high"][i] - diag["swing_low"][i]
               >= 0.05 * ((by_id[i].high - by_id[i].low) or 1.0)]
        if cyc:
            parts = [f"{i} ({100 * sh:.0f}% of draws, between "
                     f"{with_unit(diag['swing_low'][i], by_id[i])} and "
                     f"{with_unit(diag['swing_high'][i], by_id[i])})" for i, sh in cyc]
            sents.append(f"{m} cycles instead of settling on " + "; ".join(parts) + ": its "
                         "forecast goes up and down over the last half of the rounds. The "
                         "forecast shown is the position at the last round of that cycle (the "
                         "rounds are capped), so read the range rather than the point.")
        drift = [i for i, sh in (diag.get("drift_share") or {}).items() if sh >= 0.5]
        if drift:
            sents.append(f"{m} was still moving one way on {', '.join(drift)} when the rounds "
                         "ran out; the forecast is where it had got to.")
        no_gain = diag.get("no_gain") or {}
        flat = [i for i, s in no_gain.items() if s >= 0.5]
        if flat:
            sents.append(f"{m} returns the status quo on {', '.join(flat)}: on these issues "
                         "actors stand on both sides of the status quo, so every move away from "
                         "it leaves someone worse off than no agreement, and the Nash bargaining "
                         "solution (which needs every actor to gain) stays put.")
        if m in REFERENCE_MODELS:
            sents.append(f"{m} is the reference forecast that nothing changes; it is not pooled.")
        out.append(ModelNote(m, stops, tuple(sents)))
    for m, why in getattr(fc, "skipped", {}).items():
        out.append(ModelNote(m, {}, (f"{m} was not run: {why}",)))
    return tuple(out)


def _outlook_headline(deals) -> str:
    """P(some deal) and each kind's chance within a year and by the horizon, in one sentence."""
    from .outlook import ANY

    kinds = [d for d in deals if d.deal != ANY]
    anyd = next((d for d in deals if d.deal == ANY), None)

    def at(d, k):
        return 100 * d.cumulative[min(k, len(d.cumulative)) - 1]

    parts = []
    ref = anyd or kinds[0]
    horizon = len(ref.cumulative)
    for k in ([12, horizon] if horizon > 12 else [horizon]):
        by = add_months(ref.start, k)
        each = ", ".join(f"{d.deal} {at(d, k):.0f}%" for d in kinds)
        head = f"a deal of some kind {at(anyd, k):.0f}%" if anyd else ""
        when = f"by {by} ({k} month{'' if k == 1 else 's'})" if by else \
            f"within {k} month{'' if k == 1 else 's'} of the analysis"
        parts.append(f"{when}: {head}{' — ' if head else ''}{each}")
    held = ", ".join(f"{d.deal} {100 * d.p_holds_12m:.0f}%" for d in kinds
                     if d.p_holds_12m is not None)
    return ("Chance of an agreement " + "; ".join(parts) + "." +
            (f" Once reached, P(it still holds a year later): {held}." if held else ""))


def _headline(sc, issues, deals, levers, dis, judgement, source) -> tuple[str, ...]:
    from .feasibility import COMPREHENSIVE

    out = []
    if deals and not any(a.veto for a in sc.actors):
        out.append("No actor has a veto, so no deal can be blocked: feasibility is vacuous "
                   "(mark veto players with `veto: true` to ask whether a deal is possible).")
    elif deals:
        main = next((d for d in deals if d.deal == COMPREHENSIVE), deals[0])
        others = [d for d in deals if d is not main]
        if source == "outlook":
            out.append(_outlook_headline(deals))
        else:
            s = (f"A comprehensive settlement every veto player prefers to no deal exists in "
                 f"{100 * main.value:.0f}% of coding draws"
                 if main.deal == COMPREHENSIVE else
                 f"The {main.deal} deal has a zone of agreement in {100 * main.value:.0f}% of "
                 "coding draws")
            if others:
                s += "; " + ", ".join(f"the {d.deal} deal in {100 * d.value:.0f}%" for d in others)
            s += (f" (the {ZONE_LABEL}, not a probability of a deal; no outlook of months "
                  "was computed).")
            out.append(s)
        for d in deals:
            if d.blockers:
                b = d.blockers[0]
                out.append(f"Who blocks the {d.deal} deal: {b.name}, in "
                           f"{100 * b.p_blocks:.0f}% of draws (short by "
                           f"{b.median_shortfall:.3f} utility on a 0–1 scale)"
                           + (f"; then {d.blockers[1].name} ({100 * d.blockers[1].p_blocks:.0f}%)"
                              if len(d.blockers) > 1 else "") + ".")
                break
        else:
            out.append("No veto player blocks any deal in any draw.")
    out += [lv.sentence for lv in levers]
    out += [d.sentence for d in dis[:2]]
    out.append(judgement.sentence)
    return tuple(out)
