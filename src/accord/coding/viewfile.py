"""Read one view file against a scenario, wherever the file lies (a second coder's folder).

A scenario reads the views in its own ``views/`` folder; a second coder's file may live
elsewhere, and two codings of the same analysis may share a view id. This reads a single
file with the scenario reader's own rules and messages, without adding it to the scenario.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MISSING, Collector

__all__ = ["read_view_file", "with_view"]


def read_view_file(scenario, path: str | Path):
    """The :class:`~accord.scenario.View` written in ``path``, checked against ``scenario``."""
    from ..scenario.io._common import read_text
    from ..scenario.io.yaml_format import (ViewM, _Builder, _check_refs, _check_view_issues,
                                           _parse, _validate, _view, line_of)

    text = read_text(path)
    out = Collector(text.path)
    doc = _parse(text, out)
    vm = _validate(ViewM, doc, out)
    out.raise_if_any()
    if vm.view is None:
        out.add(1, "view", MISSING, "the view's id (view: ...)")
    issues = {i: None for i in scenario.issue_ids}
    actors = {a: None for a in scenario.actor_ids}
    _check_view_issues(out, doc, text.path, issues, vm, ("issues",))
    _check_refs(out, doc, text.path, actors, issues,
                {a: va.stances for a, va in vm.actors.items()}, ("actors",))
    if vm.source is not None and scenario.sources and vm.source not in scenario.sources:
        out.add(line_of(doc, ("source",)), "source", vm.source,
                f"a source id declared under sources ({', '.join(scenario.sources)})")
    out.raise_if_any()
    return _view(_Builder(text.path, doc, vm.source), vm, vm.view, ())


def with_view(scenario, view, view_id: str | None = None):
    """``scenario`` with ``view`` added (or replacing one of the same id), in memory only."""
    from dataclasses import replace

    vid = view_id or view.id
    return replace(scenario, views={**scenario.views, vid: replace(view, id=vid)})


