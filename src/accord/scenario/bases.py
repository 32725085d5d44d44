"""Dated bases: each view inherits from a base coding of its own time.

A scenario folder may hold ``bases/<id>.yaml``: a base coding dated ``as_of`` that serves
the views listed under ``views:``. A base file has the form of a view file (``actors:`` with
capability, no_deal, veto and stances; ``issues:`` with each issue's state of play at that
date) plus::

    base: base-2022               # id
    as_of: 2022-03-17             # the state of play it codes; no text dated later may be quoted
    title: The war as of March 2022
    views: [usip-2022]            # views that inherit from this base instead of scenario.yaml
    extends: base-2025            # optional: an EARLIER base this one updates cell by cell

A view no base lists inherits the latest base dated on or before it when ``scenario.yaml`` is
dated after it (a new view, or a copy the web editor saves, finds the base of its time).

A view served by a dated base resolves as: the view's own cells, then the dated base's cells
(marked inherited), then -- only for cells neither writes -- the scenario's main base (also
marked inherited). :func:`later_cells` lists the cells that would come from a base dated
after the view; the flagship's test requires that list to be empty.

The reader change this module stands in for (see the lead's report): a ``base:`` key on a
view, and ``View.base`` in the model, so that the binding is written on the view.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional

from ..errors import Collector, ScenarioError
from .model import Scenario, Stance, View

__all__ = ["DatedBase", "LayeredScenario", "attach", "base_of", "later_cells"]


@dataclass(frozen=True)
class DatedBase:
    id: str
    as_of: _dt.date
    views: tuple[str, ...]
    cells: View
    """The base's cells, in the form of a view (``cells.date`` = ``as_of``)."""
    extends: str | None = None
    title: str | None = None
    file: str | None = None
    line: int | None = None


def _merge_views(under: View, over: View) -> View:
    """``over``'s cells on top of ``under``'s (mapping fields merged key by key)."""
    kw: dict[str, Any] = {}
    for f in fields(View):
        a, b = getattr(under, f.name), getattr(over, f.name)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            kw[f.name] = {**a, **b}
        elif isinstance(a, tuple) and isinstance(b, tuple) and f.name not in ("id",):
            kw[f.name] = a + b
        else:
            kw[f.name] = b
    return View(**kw)


@dataclass(frozen=True)
class LayeredScenario(Scenario):
    """A Scenario whose views may inherit from a dated base instead of the main base."""

    bases: Mapping[str, DatedBase] = field(default_factory=dict)
    view_base: Mapping[str, str] = field(default_factory=dict)
    """View id -> id of the dated base it inherits from."""

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "bases", MappingProxyType(dict(self.bases)))
        object.__setattr__(self, "view_base", MappingProxyType(dict(self.view_base)))

    def base_layer(self, base_id: str) -> View:
        """The dated base's cells with the earlier bases it extends folded in."""
        b = self.bases[base_id]
        layer = b.cells
        seen = {base_id}
        while b.extends and b.extends in self.bases and b.extends not in seen:
            seen.add(b.extends)
            b = self.bases[b.extends]
            layer = _merge_views(b.cells, layer)
        return layer

    def view(self, view_id: str) -> Scenario:
        bid = self.view_base.get(view_id)
        if bid is None or view_id not in self.views:
            r = Scenario.view(self, view_id)
            return _plain(r)
        own = self.views[view_id]
        merged = _merge_views(self.base_layer(bid), own)
        merged = replace(merged, id=own.id, source=own.source, date=own.date, title=own.title,
                         file=own.file, line=own.line)
        tmp = replace(self, views={**self.views, view_id: merged})
        r = Scenario.view(tmp, view_id)
        stances = {k: (st if k in own.stances else replace(st, inherited=True))
                   for k, st in r.stances.items()}
        return _plain(replace(r, stances=stances))

    def capability_inherited(self, view_id: str) -> dict[str, bool]:
        v = self.views[view_id]
        return {a.id: a.id not in v.capability for a in self.actors}


def _plain(r: Scenario) -> Scenario:
    """A resolved view is a plain coding: no views, no bases."""
    if isinstance(r, LayeredScenario):
        kw = {f.name: getattr(r, f.name) for f in fields(Scenario)}
        return Scenario(**kw)
    return r


def base_of(scenario, view_id: str) -> tuple[str, _dt.date | None]:
    """(base id, as_of) the view inherits from: a dated base, or ``("scenario", as_of)``."""
    vb = getattr(scenario, "view_base", {})
    if view_id in vb:
        b = scenario.bases[vb[view_id]]
        return b.id, b.as_of
    return "scenario", scenario.as_of


def later_cells(scenario, view_id: str) -> list[str]:
    """Cells the resolved view takes from a base dated after the view (should be none)."""
    v = scenario.views[view_id]
    date = v.date
    if date is None:
        return []
    bid, as_of = base_of(scenario, view_id)
    out: list[str] = []
    if bid != "scenario" and as_of is not None and as_of > date:
        out.append(f"base {bid} (as_of {as_of}) is dated after the view ({date})")
    if scenario.as_of is None or scenario.as_of <= date:
        return out
    # the main base is later than the view: every one of its cells must be covered
    layer = scenario.base_layer(bid) if bid != "scenario" else None
    covered = _merge_views(layer, v) if layer is not None else v
    for (a, i) in scenario.stances:
        if (a, i) not in covered.stances:
            out.append(f"{a}.{i} (stance)")
    for a in scenario.actors:
        if a.id not in covered.capability:
            out.append(f"{a.id}.capability")
        if a.no_deal is not None and a.id not in covered.no_deal:
            out.append(f"{a.id}.no_deal")
    for x in scenario.issues:
        if x.status_quo is not None and x.id not in covered.status_quo:
            out.append(f"issues.{x.id}.status_quo")
    from .model import OUTLOOK_ACTOR_FIELDS

    for a in scenario.actors:
        for f in OUTLOOK_ACTOR_FIELDS:
            if getattr(a, f) is not None and (a.id, f) not in covered.outlook:
                out.append(f"{a.id}.{f}")
        if a.delivers is not None and a.id not in covered.delivers:
            out.append(f"{a.id}.delivers")
        for issue in a.red_lines:
            if (a.id, issue) not in covered.red_lines:
                out.append(f"{a.id}.red_lines.{issue}")
    for x in scenario.issues:
        if x.trend is not None and x.id not in covered.trend:
            out.append(f"issues.{x.id}.trend")
    # durability (breakdown hazard ratios) comes from the outlook research, not from a text,
    # and events reach a view only when announced by its date (Scenario.view): neither is checked
    return out


# ---- reading ----------------------------------------------------------------------------------

def _base_model():
    from pydantic import Field

    from .io.yaml_format import ID, ViewM

    class BaseFileM(ViewM):
        base: str = Field(pattern=ID)
        as_of: _dt.date
        views: list[str] = []
        extends: Optional[str] = None

    return BaseFileM


def attach(sc: Scenario, folder: str | Path) -> Scenario:
    """Read ``folder/bases/*.yaml`` into a :class:`LayeredScenario` (or return ``sc``)."""
    folder = Path(folder)
    files = sorted(folder.glob("bases/*.yaml")) if folder.is_dir() else []
    if not files:
        return sc
    from .io._common import read_text
    from .io.yaml_format import _Builder, _check_refs, _check_view_issues, _parse, _validate, \
        _view, line_of

    model_cls = _base_model()
    actors = {a: None for a in sc.actor_ids}
    issues = {i: None for i in sc.issue_ids}
    bases: dict[str, DatedBase] = {}
    view_base: dict[str, str] = {}
    problems = []
    digest = hashlib.sha256((sc.content_sha256 or "").encode())
    for path in files:
        text = read_text(path)
        digest.update(path.name.encode() + text.sha256.encode())
        out = Collector(text.path)
        try:
            doc = _parse(text, out)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        m = _validate(model_cls, doc, out)
        if m is None:
            problems.extend(out.problems)
            continue
        _check_view_issues(out, doc, text.path, issues, m, ("issues",))
        _check_refs(out, doc, text.path, actors, issues,
                    {a: va.stances for a, va in m.actors.items()}, ("actors",))
        cells = _view(_Builder(text.path, doc, None), m, m.base, ())
        cells = replace(cells, date=m.as_of, title=m.title)
        if m.base in bases:
            out.add(line_of(doc, ("base",)), "base", m.base, "a base id used only once")
        for k, vid in enumerate(m.views):
            if vid not in sc.views:
                out.add(line_of(doc, ("views", k)), "views", vid,
                        f"a view of the scenario ({', '.join(sc.views)})")
            elif vid in view_base:
                out.add(line_of(doc, ("views", k)), "views", vid,
                        f"a view served by one base only (also {view_base[vid]})")
            else:
                view_base[vid] = m.base
        bases[m.base] = DatedBase(m.base, m.as_of, tuple(m.views), cells, m.extends, m.title,
                                  text.path, 1)
        problems.extend(out.problems)
    for b in bases.values():
        if b.extends is not None:
            e = bases.get(b.extends)
            if e is None:
                problems.append(_problem(b, "extends", b.extends,
                                         f"the id of another base ({', '.join(bases)})"))
            elif e.as_of > b.as_of:
                problems.append(_problem(b, "extends", b.extends,
                                         f"a base dated on or before {b.as_of} (it is dated "
                                         f"{e.as_of}: a later base cannot reach an earlier one)"))
    if problems:
        raise ScenarioError(problems)
    # a view no base lists (a new one, or a copy saved by the web editor) inherits the latest
    # base dated on or before it, when the main base is dated after it
    for vid, v in sc.views.items():
        if vid in view_base or v.date is None or sc.as_of is None or v.date >= sc.as_of:
            continue
        fit = [b for b in bases.values() if b.as_of <= v.date]
        if fit:
            view_base[vid] = max(fit, key=lambda b: (b.as_of, b.id)).id
    kw = {f.name: getattr(sc, f.name) for f in fields(Scenario)}
    kw["content_sha256"] = digest.hexdigest()
    return LayeredScenario(**kw, bases=bases, view_base=view_base)


def _problem(b: DatedBase, fld: str, value, expected):
    from ..errors import Problem

    return Problem(b.file or "", b.line, fld, value, expected)
