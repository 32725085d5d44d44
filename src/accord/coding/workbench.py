"""The coding workbench's library side: cells coded in the browser, checked, forecast, saved.

The browser holds the coder's unsaved cells; everything it shows is computed here, so the
workbench renders and never computes. A *cell* is one actor's stance on one issue as a coder
writes it: position (with an optional range), salience (with an optional range), and the
evidence — a verbatim quote from the view's source and/or a judgement note.

- :func:`parse_cells` validates cells from JSON, every problem at once;
- :func:`coded_scenario` lays them over the view the file holds (in memory only);
- :func:`view_forecast` gives the view's forecast and its difference from the ensemble;
- :func:`check_quote` is the quote check of :mod:`accord.evidence.quotes` for one quote;
- :func:`render_view` writes the view (file cells + coded cells) as a new YAML document.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import MISSING, Problem, ScenarioError

__all__ = ["Cell", "parse_cells", "coded_scenario", "view_forecast", "check_quote",
           "render_view", "source_document", "draft_ids", "WORKBENCH_MODELS"]

WORKBENCH_MODELS = ("compromise", "mean", "median", "nbs")
"""One-shot models the live forecast runs (a dynamic model per keystroke would be too slow)."""

_DRAFT = re.compile(r"-(edit|coded)-\d+$")


@dataclass(frozen=True)
class Cell:
    actor: str
    issue: str
    position: float
    salience: float
    low: float | None = None
    high: float | None = None
    salience_low: float | None = None
    salience_high: float | None = None
    quote: str | None = None
    judgement: str | None = None


def _num(d: dict, key: str, where: str, problems: list[Problem], required: bool):
    x = d.get(key)
    if x is None or x == "":
        if required:
            problems.append(Problem(where, None, key, MISSING, "a number"))
        return None
    if isinstance(x, bool) or not isinstance(x, (int, float, str)):
        problems.append(Problem(where, None, key, x, "a number"))
        return None
    try:
        v = float(x)
    except ValueError:
        problems.append(Problem(where, None, key, x, "a number"))
        return None
    if not np.isfinite(v):
        problems.append(Problem(where, None, key, x, "a finite number"))
        return None
    return v


def _txt(d: dict, key: str, where: str, problems: list[Problem], limit: int = 4000):
    x = d.get(key)
    if x is None:
        return None
    if not isinstance(x, str) or len(x) > limit:
        problems.append(Problem(where, None, key, x, f"text of at most {limit} characters"))
        return None
    return x.strip() or None


def parse_cells(scenario, raw: Any, where: str = "workbench") -> list[Cell]:
    """Cells from JSON (a list of objects), validated against ``scenario``: every problem at once.

    A cell needs an actor and an issue of the scenario, a position on the issue's scale and a
    salience in [0, 1], ranges (if given) holding their value, and a quote or a judgement.
    """
    problems: list[Problem] = []
    if not isinstance(raw, list):
        raise ScenarioError([Problem(where, None, "cells", raw, "a list of cells")])
    cells, seen = [], set()
    for k, d in enumerate(raw):
        at = f"{where} cell {k + 1}"
        if not isinstance(d, dict):
            problems.append(Problem(at, None, "cell", d, "an object"))
            continue
        actor, issue = d.get("actor"), d.get("issue")
        if actor not in scenario.actor_ids:
            problems.append(Problem(at, None, "actor", actor,
                                    f"an actor of the scenario ({', '.join(scenario.actor_ids)})"))
        if issue not in scenario.issue_ids:
            problems.append(Problem(at, None, "issue", issue,
                                    f"an issue of the scenario ({', '.join(scenario.issue_ids)})"))
        if (actor, issue) in seen:
            problems.append(Problem(at, None, "cell", f"{actor}.{issue}", "each cell coded once"))
        seen.add((actor, issue))
        vals = {k2: _num(d, k2, at, problems, k2 in ("position", "salience"))
                for k2 in ("position", "low", "high", "salience", "salience_low",
                           "salience_high")}
        quote, judgement = _txt(d, "quote", at, problems), _txt(d, "judgement", at, problems)
        if not quote and not judgement:
            problems.append(Problem(at, None, "quote", MISSING,
                                    "a verbatim quote from the source, or a judgement note"))
        if issue in scenario.issue_ids:
            iss = scenario.issue(issue)
            for key in ("position", "low", "high"):
                v = vals[key]
                if v is not None and not iss.low <= v <= iss.high:
                    problems.append(Problem(at, None, key, v, f"a point on the scale of {issue} "
                                                              f"[{iss.low:g}, {iss.high:g}]"))
        for key in ("salience", "salience_low", "salience_high"):
            v = vals[key]
            if v is not None and not 0 <= v <= 1:
                problems.append(Problem(at, None, key, v, "a salience in [0, 1]"))
        for lo, hi, val in (("low", "high", "position"),
                            ("salience_low", "salience_high", "salience")):
            a, b, v = vals[lo], vals[hi], vals[val]
            if (a is None) != (b is None):
                problems.append(Problem(at, None, f"{lo}, {hi}", [a, b], "both ends, or neither"))
            elif a is not None and v is not None and not a <= v <= b:
                problems.append(Problem(at, None, f"{lo}, {hi}", [a, b],
                                        f"a range holding the {val} {v:g}"))
        cells.append(Cell(str(actor), str(issue), vals["position"], vals["salience"],
                          vals["low"], vals["high"], vals["salience_low"], vals["salience_high"],
                          quote, judgement))
    if problems:
        raise ScenarioError(problems)
    return cells


def _stance(cell: Cell, source: str | None):
    from ..scenario.model import Evidence, Quantity, Stance

    ev = tuple(e for e in (Evidence(source, cell.quote) if cell.quote else None,
                           Evidence(None, None, cell.judgement) if cell.judgement else None)
               if e is not None)
    return Stance(Quantity(cell.position, cell.low, cell.high, evidence=ev),
                  Quantity(cell.salience, cell.salience_low, cell.salience_high, evidence=ev))


def coded_scenario(scenario, view_id: str, cells: Sequence[Cell]):
    """``scenario`` with ``cells`` laid over view ``view_id`` (in memory; nothing written)."""
    v = scenario.views[view_id]
    stances = dict(v.stances)
    for c in cells:
        stances[(c.actor, c.issue)] = _stance(c, v.source)
    return replace(scenario, views={**scenario.views, view_id: replace(v, stances=stances)})


def draft_ids(scenario, view_id: str) -> list[str]:
    """Other files of the same coding (``<id>-edit-N``) — left out of the ensemble it is
    compared with, so that a draft is not compared with itself."""
    root = _DRAFT.sub("", view_id)
    return [v for v in scenario.views if v != view_id and _DRAFT.sub("", v) == root]


def view_forecast(scenario, view_id: str, cells: Sequence[Cell] = (), *, draws: int = 300,
                  seed: int = 0, models: Sequence[str] = WORKBENCH_MODELS):
    """The coded view's forecast per issue and model, the ensemble's, and the difference.

    The ensemble pools every view of the scenario with equal weight, the coded view included
    (as ``accord forecast`` does), drafts of the same coding left out. Returns a DataFrame:
    issue, model, view (median), p10, p90, ensemble, difference, anchor.
    """
    import pandas as pd

    from ..analysis.ensemble import ENSEMBLE, forecast

    sc = coded_scenario(scenario, view_id, cells)
    drafts = set(draft_ids(sc, view_id))
    sub = replace(sc, views={k: v for k, v in sc.views.items() if k not in drafts})
    fc = forecast(sub, list(models), draws=draws, seed=seed, dynamic_draws=min(draws, 50))
    s = fc.summary
    mine = s[s.view == view_id].set_index(["issue", "model"])
    ens = s[s.view == ENSEMBLE].set_index(["issue", "model"]) if ENSEMBLE in set(s.view) \
        else mine
    out = pd.DataFrame({"view": mine["median"], "p10": mine["p10"], "p90": mine["p90"],
                        "ensemble": ens["median"].reindex(mine.index),
                        "anchor": mine["anchor"]})
    out["difference"] = out["view"] - out["ensemble"]
    out = out.reset_index()
    order = {x: k for k, x in enumerate(scenario.issue_ids)}
    out["_o"] = out["issue"].map(order)
    out = out.sort_values(["_o", "model"], kind="stable").drop(columns="_o")
    return out[["issue", "model", "view", "p10", "p90", "ensemble", "difference", "anchor"]
               ].reset_index(drop=True)


def source_document(scenario, view_id: str):
    """The view's source as a :class:`~accord.evidence.Document` and its line range."""
    from ..evidence.quotes import _corpus_dir
    from ..evidence.store import load_document

    v = scenario.views[view_id]
    if v.source is None or v.source not in scenario.sources:
        raise ScenarioError([Problem(v.file or str(scenario.path), v.line, "source",
                                     v.source if v.source is not None else MISSING,
                                     "a source declared under sources: (the text this view "
                                     "codes)")])
    src = scenario.sources[v.source]
    corpus = _corpus_dir(scenario, None)
    path = Path(src.file) if src.file else None
    if path is not None and not path.is_absolute() and corpus is not None:
        path = corpus / path
    if path is None or not path.is_file():
        raise ScenarioError([Problem(str(scenario.path), None, f"sources.{v.source}.file",
                                     src.file if src.file else MISSING,
                                     f"a file in the corpus folder {corpus}")])
    doc = load_document(path, src.file)
    first, last = src.lines if src.lines else (1, len(doc.lines))
    return doc, (first, last)


def check_quote(scenario, view_id: str, quote: str) -> dict[str, Any]:
    """Is ``quote`` verbatim in the view's source (within its lines)? The rules of ``accord
    evidence check``; when not, the closest passage as a hint."""
    from ..evidence.quotes import find_quote, normalise

    doc, rng = source_document(scenario, view_id)
    if not normalise(quote or "").strip():
        return {"found": False, "line": None, "end_line": None, "hint": "an empty quote",
                "passage": None}
    m = find_quote(quote, doc, rng)
    hint = m.hint()
    if not m.found and m.outside is not None:
        hint = f"found at line {m.outside}, outside this source's lines {rng[0]}-{rng[1]}"
    return {"found": m.found, "line": m.line, "end_line": m.end_line, "elided": m.elided,
            "score": m.score, "passage": m.passage, "hint": hint}


def _flow(items):
    from ruamel.yaml.comments import CommentedSeq

    s = CommentedSeq(items)
    s.fa.set_flow_style()
    return s


def _clean(x: float):
    return int(x) if float(x).is_integer() else float(x)


def render_view(scenario, view_id: str, new_id: str, cells: Sequence[Cell], *,
                document: Any = None) -> str:
    """A new view file: the view's own cells (as its file holds them) with ``cells`` over them.

    ``document``: the ruamel document of the view's file; when it holds cells of its own,
    they and their comments are kept and coded cells replace or join them. A scaffold (no
    cells yet) is not copied: its "not yet coded" comments would be stale.
    """
    import copy
    import io

    from ruamel.yaml.comments import CommentedMap

    from ..scenario.io.yaml_format import _yaml

    v = scenario.views[view_id]
    if document is not None and document.get("actors"):
        doc = copy.deepcopy(document)  # a coded file: its own cells and comments kept
    else:
        doc = CommentedMap()
        doc["view"] = view_id
        if v.source:
            doc["source"] = v.source
        if v.date:
            doc["date"] = v.date
        if v.title:
            doc["title"] = v.title
    doc["view"] = new_id
    if "actors" not in doc or not doc["actors"]:
        doc["actors"] = CommentedMap()
    actors = doc["actors"]
    actors.fa.set_block_style()
    for c in cells:
        am = actors.get(c.actor)
        if am is None:
            am = actors[c.actor] = CommentedMap()
        if am.get("stances") is None:
            am["stances"] = CommentedMap()
        st = CommentedMap()
        st["position"] = _clean(c.position)
        if c.low is not None:
            st["range"] = _flow([_clean(c.low), _clean(c.high)])
        st["salience"] = _clean(c.salience)
        if c.salience_low is not None:
            st["salience_range"] = _flow([_clean(c.salience_low), _clean(c.salience_high)])
        if c.quote:
            st["quote"] = c.quote
        if c.judgement:
            st["judgement"] = c.judgement
        am["stances"][c.issue] = st
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    n = sum(1 for s in scenario.view(view_id).stances.values() if not s.inherited)
    head = (f"# {new_id}: view {view_id!r} with {len(cells)} cell(s) coded in the accord "
            f"workbench\n# (the file's own cells before: {n}; "
            f"{json.dumps(sorted(f'{c.actor}.{c.issue}' for c in cells))})\n")
    return head + buf.getvalue()
