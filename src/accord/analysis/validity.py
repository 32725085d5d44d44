"""Validity table: does each view's outlook agree with its author's own conclusion?

The author's conclusions are data (``conclusions.yaml`` next to the scenario): the sentence,
quoted verbatim, and the claims a reader can check against accord's outlook, each a coder's
reading of that sentence. No number of the scenario is coded from these sentences; they are
only the yardstick. Where the outlook disagrees, the row names the mechanism the scenario or
the model lacks (``if_disagree:``, the coder's diagnosis).

``conclusions.yaml``::

    views:
      masses-2026:
        conclusion: "At this moment, the likelihood of a short-term comprehensive peace deal is low."
        claims:
          - {deal: comprehensive, by_month: 12, p: low}     # P(first deal by month 12) < LOW
          - {deal: ceasefire, by_month: 36, p: high}        # >= HIGH
          - {more_likely: ceasefire, than: comprehensive, by_month: 12}
          - {deal: ceasefire, holds: low}                   # P(holds 12 months) < 0.5
        if_disagree: "..."

:func:`validity` returns the rows; :func:`render` the Markdown of ``docs/flagship-validity.md``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..defaults import DRAWS as PER_VIEW_DRAWS
from ..defaults import OUTLOOK_DRAWS, OUTLOOK_HORIZON

__all__ = ["ValidityRow", "validity", "render", "has_conclusions", "outlook_words",
           "feasible_shares", "FEASIBILITY_DRAWS", "LOW", "HIGH", "HORIZON", "DRAWS", "SEED"]

LOW = 0.25
"""A claim that something is unlikely holds when accord gives it less than this."""
HIGH = 0.5
"""A claim that something is likely (or near) holds when accord gives it at least this."""
HOLDS_LOW = 0.5
HORIZON, DRAWS, SEED = OUTLOOK_HORIZON, OUTLOOK_DRAWS, 0
"""The outlook the summary reads (:func:`accord.analysis.summary.analyse`): months, draws in all
(shared equally by the views) and seed, so the table, the report and the forecast's conclusion
show the same numbers."""
FEASIBILITY_DRAWS = PER_VIEW_DRAWS
"""Draws per view of the P(feasible) column: the summary's."""


@dataclass
class ValidityRow:
    view: str
    date: str
    source: str
    conclusion: str
    outlook: dict[str, Any]
    """deal -> {"p12": P(deal by month 12), "p36": ..., "median_months", "p_holds_12m"}."""
    feasible: dict[str, float]
    """deal -> P(feasible) at the view's date (static analysis)."""
    claims: list[dict[str, Any]] = field(default_factory=list)
    """Each claim with ``text`` (in words), ``accord`` (the number), ``holds`` (True/False)."""
    agree: str = "n/a"
    """yes, no, partly, or n/a (the text makes no claim accord can check)."""
    mechanism: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _conclusions(scenario) -> dict[str, Any]:
    import yaml

    if not scenario.path:
        return {}
    p = Path(scenario.path)
    f = (p if p.is_dir() else p.parent) / "conclusions.yaml"
    if not f.is_file():
        return {}
    return (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("views", {}) or {}


def _p_by(cum: list[float], month: int) -> float:
    if not cum:
        return 0.0
    return float(cum[min(month, len(cum)) - 1])


def _claim(c: dict[str, Any], deals: dict[str, Any]) -> dict[str, Any]:
    if "more_likely" in c:
        a, b, m = c["more_likely"], c["than"], int(c.get("by_month", 12))
        pa, pb = _p_by(deals[a]["cumulative"], m), _p_by(deals[b]["cumulative"], m)
        return {"text": f"{a} more likely than {b} by month {m}",
                "accord": f"{pa:.0%} vs {pb:.0%}", "holds": pa > pb}
    deal = c["deal"]
    d = deals[deal]
    if "holds" in c:
        p = float(d.get("p_holds_12m", float("nan")))
        want = c["holds"]
        ok = p < HOLDS_LOW if want == "low" else p >= HOLDS_LOW
        return {"text": f"a {deal} {'is unlikely to hold' if want == 'low' else 'holds'} "
                        f"(12 months)", "accord": f"{p:.0%} hold", "holds": bool(ok)}
    m = int(c.get("by_month", 12))
    p = _p_by(d["cumulative"], m)
    want = c["p"]
    ok = p < LOW if want == "low" else p >= HIGH
    words = "unlikely" if want == "low" else "likely"
    return {"text": f"a {deal} {words} by month {m}", "accord": f"{p:.0%}", "holds": bool(ok)}


def validity(scenario, horizon: int = HORIZON, draws: int = DRAWS, seed: int = SEED,
             outlook_json: dict | None = None, feasible: dict | None = None,
             feasibility_draws: int = FEASIBILITY_DRAWS) -> list[ValidityRow]:
    """One row per view: the author's conclusion, accord's outlook and whether they agree.

    ``draws``: the outlook's draws in all; ``feasibility_draws``: per view. ``outlook_json`` and
    ``feasible`` (:func:`feasible_shares`) take results already computed with these."""
    from .ensemble import _view_list

    if outlook_json is None:
        from .outlook import outlook

        outlook_json = outlook(scenario, horizon=horizon, draws=draws, seed=seed).to_json()
    if feasible is None:
        from .feasibility import feasibility

        feasible = feasible_shares(feasibility(scenario, draws=feasibility_draws, seed=seed,
                                               extent=False))
    conc = _conclusions(scenario)
    rows = []
    for vid in _view_list(scenario):
        v = scenario.views.get(vid)
        deals = {k: d["views"][vid] for k, d in outlook_json["deals"].items()
                 if vid in d.get("views", {})}
        summary = {k: {"p12": _p_by(d["cumulative"], 12), "p36": _p_by(d["cumulative"], 36),
                       "median_months": d.get("median_months"),
                       "p_holds_12m": d.get("p_holds_12m"), "start": d.get("start")}
                   for k, d in deals.items()}
        c = conc.get(vid, {})
        claims = [_claim(x, deals) for x in c.get("claims", []) if
                  (x.get("deal") in deals or x.get("more_likely") in deals)]
        if not claims:
            agree = "n/a"
        elif all(x["holds"] for x in claims):
            agree = "yes"
        elif any(x["holds"] for x in claims):
            agree = "partly"
        else:
            agree = "no"
        rows.append(ValidityRow(vid, v.date.isoformat() if v and v.date else "",
                                v.source if v else "", str(c.get("conclusion", "")).strip(),
                                summary, feasible.get(vid, {}), claims, agree,
                                "" if agree == "yes" else str(c.get("if_disagree", "")).strip()))
    return rows


def feasible_shares(feas) -> dict[str, dict[str, float]]:
    """view -> deal -> P(feasible) of a :class:`~accord.analysis.feasibility.Feasibility`."""
    out: dict[str, dict[str, float]] = {}
    for r in feas.summary.itertuples():
        out.setdefault(r.view, {})[r.deal] = float(r.p_feasible)
    return out


def has_conclusions(scenario) -> bool:
    """Whether the scenario ships its authors' conclusions (``conclusions.yaml``)."""
    return bool(_conclusions(scenario))


def outlook_words(o: dict[str, Any], horizon: int = HORIZON) -> str:
    """One deal kind of a row's outlook in words (the docs table and the report share it)."""
    return (f"{_pct(o['p12'])} by 12 mo, {_pct(o['p36'])} by 36 mo, median "
            f"{o['median_months'] if o['median_months'] is not None else '>' + str(horizon)} mo, "
            f"holds 12 mo {_pct(o['p_holds_12m'])}")


def _pct(p) -> str:
    return "—" if p is None or p != p else f"{100 * p:.0f}%"


def render(rows: list[ValidityRow], scenario, horizon: int = HORIZON, draws: int = DRAWS,
           seed: int = SEED, feasibility_draws: int = FEASIBILITY_DRAWS) -> str:
    """The Markdown table of docs/flagship-validity.md."""
    from .. import __version__
    from .outlook import draws_per_view

    per_view = draws_per_view(scenario, draws)

    deals = list(dict.fromkeys(k for r in rows for k in r.outlook))
    lines = [
        f"# Validity of `{scenario.id}`: each view against its author's conclusion",
        "",
        "Generated by `accord validity scenarios/ukraine-2025 --write docs/flagship-validity.md`; "
        "`tests/test_validity.py` fails when this file is stale. Do not edit by hand.",
        "",
        f"Outlook: horizon {horizon} months, {draws:,} draws in all ({per_view:,} per view), "
        f"seed {seed}; P(feasible): {feasibility_draws:,} draws per view; "
        f"scenario sha256 `{scenario.sha256[:16]}`; accord {__version__}. "
        f"A claim of \"unlikely\" holds below {LOW:.0%}, \"likely\" at {HIGH:.0%} or more; "
        f"\"unlikely to hold\" below {HOLDS_LOW:.0%} after 12 months. The conclusions are "
        "quoted, never coded: no number of the scenario comes from these sentences.",
        "",
        "| view | author's conclusion (quoted) | accord: outlook from the view's date | "
        "P(feasible) | claims checked | agree | where they differ: the mechanism missing |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out = "<br>".join(f"{k}: {outlook_words(o, horizon)}" for k, o in r.outlook.items())
        feas = "<br>".join(f"{k}: {_pct(p)}" for k, p in r.feasible.items())
        claims = "<br>".join(f"{'✓' if c['holds'] else '✗'} {c['text']} ({c['accord']})"
                             for c in r.claims) or "none the text makes"
        conc = r.conclusion.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {r.view} ({r.date}) | “{conc}” | {out} | {feas} | {claims} | "
                     f"**{r.agree}** | {r.mechanism.replace('|', '/') or '—'} |")
    lines.append("")
    del deals
    return "\n".join(lines)


def inputs_digest(scenario) -> str:
    """SHA-256 of what the table depends on besides the code: scenario and conclusions."""
    h = hashlib.sha256(scenario.sha256.encode())
    if scenario.path:
        p = Path(scenario.path)
        f = (p if p.is_dir() else p.parent) / "conclusions.yaml"
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()
