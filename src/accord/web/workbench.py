"""The coding workbench's routes: a view's source beside its coding grid (``/workbench``).

- ``GET  /api/workbench/open?path=P&view=V`` — the view's source text (its lines), the scales
  with their anchors, every cell (coded by the view's file, or inherited from the base), and
  the passages :mod:`accord.evidence.suggest` ranks best for each cell.
- ``POST /api/workbench/check`` — ``{path, view, quote}``: the quote check for one quote.
- ``POST /api/workbench/forecast`` — ``{path, view, cells, draws?, seed?}``: the forecast of the
  view with the unsaved cells, the ensemble's, and the difference.
- ``POST /api/workbench/save`` — ``{path, view, cells}``: writes ``views/<id>-edit-N.yaml``, a
  new file; nothing is overwritten.
- ``POST /api/workbench/compare`` — ``{path, a, b, cells?}``: a second coder's agreement
  (``cells``: coder A's unsaved cells over view ``a``) (alpha per issue
  and overall, the largest differences and their effect on the forecast).

The source is read only when the scenario's corpus lies inside the data folder, like every
file the server reads.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

WORKBENCH_DRAWS = 300
"""Draws per view of the live forecast while coding (the CLI and report use more)."""


def _refuse_errors(fn):
    from functools import wraps

    from ..errors import ScenarioError
    from .app import Refused

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ScenarioError as exc:
            raise Refused(422, "; ".join(str(p) for p in exc.problems[:20])) from None
    return wrapper


def add_routes(api, folder) -> None:
    """Add the workbench's page and API to the FastAPI app ``api`` serving ``folder``."""
    from fastapi import Body, Query
    from fastapi.responses import FileResponse

    from ..analysis.ensemble import _records
    from ..coding import workbench as wb
    from .app import STATIC, Refused, _corpus_inside, _next_name, _views_of, _WRITE_LOCK

    def _view(path: Any, view: Any):
        if not isinstance(path, str):
            raise Refused(422, "path: expected the scenario's path in the data folder")
        sc = folder.load(path)
        if not isinstance(view, str) or view not in sc.views:
            raise Refused(422, f"view {view!r}: expected a view of the scenario "
                               f"({', '.join(sc.views) or 'none; run `accord view new`'})")
        return sc, view

    def _source_allowed(sc) -> None:
        if not _corpus_inside(folder, sc):
            raise Refused(403, "the view's source lies outside the data folder of accord serve; "
                               "serve a folder that holds both the scenario and its corpus")

    @api.get("/workbench", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "workbench.html", media_type="text/html")

    @api.get("/api/workbench/open")
    @_refuse_errors
    def open_view(path: str = Query(...), view: str = Query(...)):
        from ..coding.scaffold import SYNONYMS_FILE, read_synonyms
        from ..evidence.suggest import suggest

        sc, v = _view(path, view)
        _source_allowed(sc)
        doc, (first, last) = wb.source_document(sc, v)
        r = sc.view(v)
        synonyms = {}
        p = folder.resolve(path)
        if p.is_dir() and (p / SYNONYMS_FILE).is_file():
            synonyms = read_synonyms(p / SYNONYMS_FILE, sc.actor_ids)
        hits = suggest(sc, doc, lines=(first, last), synonyms=synonyms)
        cells = []
        for a in sc.actors:
            for i in sc.issues:
                st = r.stances.get((a.id, i.id))
                cell: dict[str, Any] = {"actor": a.id, "issue": i.id,
                                        "suggestions": [{"line": s.line, "text": s.text,
                                                         "score": round(s.score, 2)}
                                                        for s in hits[(a.id, i.id)]]}
                if st is None:
                    cell["coded"] = False
                    cell["stance"] = None
                else:
                    ev = st.position.evidence
                    cell["coded"] = not st.inherited
                    cell["stance"] = {
                        "position": st.position.value, "low": st.position.low,
                        "high": st.position.high, "salience": st.salience.value,
                        "salience_low": st.salience.low, "salience_high": st.salience.high,
                        "quote": next((e.quote for e in ev if e.quote), None),
                        "judgement": next((e.judgement for e in ev if e.judgement), None)}
                cells.append(cell)
        vv = sc.views[v]
        return {
            "path": path, "scenario": sc.id, "title": sc.title,
            "view": {"id": v, "source": vv.source, "title": vv.title,
                     "date": vv.date.isoformat() if vv.date else None},
            "views": _views_of(sc),
            "actors": [{"id": a.id, "name": a.name} for a in sc.actors],
            "issues": [{"id": i.id, "question": i.question, "low": i.low, "high": i.high,
                        "status_quo": i.status_quo,
                        "anchors": [[x, label] for x, label in i.anchors]} for i in sc.issues],
            "source": {"id": vv.source, "file": doc.file, "first": first, "last": last,
                       "lines": [[k, doc.lines[k - 1]] for k in range(first, last + 1)]},
            "cells": cells,
        }

    @api.post("/api/workbench/check")
    @_refuse_errors
    def check(body: dict = Body(...)):
        sc, v = _view(body.get("path"), body.get("view"))
        _source_allowed(sc)
        quote = body.get("quote")
        if not isinstance(quote, str) or len(quote) > 4000:
            raise Refused(422, "quote: expected text of at most 4000 characters")
        return wb.check_quote(sc, v, quote)

    @api.post("/api/workbench/forecast")
    @_refuse_errors
    def forecast(body: dict = Body(...)):
        t0 = time.perf_counter()
        sc, v = _view(body.get("path"), body.get("view"))
        cells = wb.parse_cells(sc, body.get("cells") or [])
        draws, seed = body.get("draws", WORKBENCH_DRAWS), body.get("seed", 0)
        if not isinstance(draws, int) or isinstance(draws, bool) or not 1 <= draws <= 5_000 \
                or not isinstance(seed, int) or isinstance(seed, bool):
            raise Refused(422, "draws: an integer in [1, 5000]; seed: an integer")
        df = wb.view_forecast(sc, v, cells, draws=draws, seed=seed)
        return {"path": body["path"], "view": v, "cells": len(cells), "draws": draws,
                "seed": seed, "ensemble_views": [x for x in sc.views
                                                 if x not in wb.draft_ids(sc, v)],
                "rows": _records(df),
                "timing": {"total_ms": round((time.perf_counter() - t0) * 1000, 1)}}

    @api.post("/api/workbench/save")
    @_refuse_errors
    def save(body: dict = Body(...)):
        from ..coding.scaffold import exclusive_write

        path = body.get("path")
        sc, v = _view(path, body.get("view"))
        cells = wb.parse_cells(sc, body.get("cells") or [])
        if not cells:
            raise Refused(422, "cells: nothing coded yet; code a cell first")
        p = folder.resolve(path)
        if not p.is_dir() or sc.format != "yaml":
            raise Refused(422, f"{path}: the workbench saves views of scenario folders "
                               "(scenario.yaml + views/)")
        vv = sc.views[v]
        document = None
        if vv.file:
            key = f"views/{Path(vv.file).name}"
            if key in sc.document:
                document = sc.document[key]
        views_dir = p / "views"
        with _WRITE_LOCK:
            new_id, _ = _next_name(lambda n: n in sc.views or (views_dir / f"{n}.yaml").exists(),
                                   v)
            target = views_dir / f"{new_id}.yaml"
            if not folder.inside(views_dir):
                raise Refused(403, "the views folder leaves the data folder; refused")
            text = wb.render_view(sc, v, new_id, cells, document=document)
            try:
                exclusive_write(target, text)
            except FileExistsError:
                raise Refused(409, f"{folder.rel(target, resolve=False)} exists; "
                                   "not overwritten") from None
            try:
                folder.load(path)
            except Refused as exc:
                target.unlink()  # our own file, written a moment ago
                raise Refused(422, f"the coded view does not validate: {exc.message}") from None
        return {"saved": folder.rel(target, resolve=False), "view": new_id, "parent": v,
                "cells": len(cells)}

    @api.post("/api/workbench/compare")
    @_refuse_errors
    def compare(body: dict = Body(...)):
        from ..analysis.agreement import compare as _compare

        sc, a = _view(body.get("path"), body.get("a"))
        _, b = _view(body.get("path"), body.get("b"))
        cells = wb.parse_cells(sc, body.get("cells") or [])  # A's unsaved cells count too
        coded = wb.coded_scenario(sc, a, cells)
        res = _compare(coded, coded.views[a], coded.views[b])
        return res.to_json()
