"""FastAPI app over one data folder. Every number it shows comes from the library.

Endpoints (JSON unless said otherwise):

- ``GET  /api/scenarios`` — the scenarios of the data folder (path relative to it, title, views).
- ``GET  /api/scenario?path=P&view=V`` — actors, issues and every cell of one view (or the base),
  with ranges, evidence and whether the view inherits the cell.
- ``POST /api/forecast`` — ``{path, view, views?, changes?, draws?, seed?, models?}``: the
  forecast of the view and of the ensemble of ``views``; ``changes`` are unsaved what-ifs.
- ``POST /api/edit`` — ``{path, view, actor, issue?, field, value, low?, high?, quote?, source?,
  judgement?}``: saves the edit as a new view file (folder scenarios) or a new scenario file.
- ``GET  /api/download?path=P&kind=json|csv|report&view=V&views=a,b`` — attachments.
"""

from __future__ import annotations

import copy
import io
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, Optional

import numpy as np

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_BODY = 64 * 1024
"""Largest request body accepted (bytes); an edit is a few hundred."""
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
from ..defaults import DRAWS, DYNAMIC_DRAWS, SEED  # noqa: E402

INTERACTIVE_DRAWS = DRAWS
"""Draws per view of every computation: the same default as the CLI and the report."""
FEASIBILITY_DRAWS = 20_000
LEVER_DRAWS = 20_000
"""Caps only: feasibility and levers use the request's draws, as the CLI does."""
BASELINES = ("status_quo", "mean", "compromise", "median", "nbs")
FLAGSHIP = "ukraine-2025"
"""The scenario the app opens on when the data folder holds it (by scenario id or folder)."""
STATIC = Path(__file__).with_name("static")
_EDIT_SUFFIX = re.compile(r"-edit-\d+$")
_FIELDS = ("position", "salience", "capability")


class Refused(Exception):
    """A request the server will not serve: ``status`` and a message for the user."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


# ---- the data folder -----------------------------------------------------------------------


def _sig(files: list[Path]) -> tuple:
    out = []
    for f in files:
        try:
            st = f.stat()
        except FileNotFoundError:
            continue
        out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


class DataFolder:
    """The one folder the server reads and writes; every path is checked against it."""

    def __init__(self, root: str | Path):
        root = Path(root)
        if not root.is_dir():
            raise ValueError(f"{root}: not a folder (the data folder of accord serve)")
        self.root = root.resolve(strict=True)
        self._cache: "OrderedDict[str, tuple[tuple, Any]]" = OrderedDict()
        self._lock = threading.Lock()

    # paths ----------------------------------------------------------------------------------
    def inside(self, p: Path) -> bool:
        try:
            real = p.resolve(strict=True)
        except (FileNotFoundError, RuntimeError, OSError):
            return False
        return real == self.root or self.root in real.parents

    def resolve(self, rel: str) -> Path:
        """``rel`` (relative, '/'-separated) as a path inside the data folder, or Refused."""
        if not isinstance(rel, str) or not rel or "\x00" in rel or "\\" in rel:
            raise Refused(400, "path: expected a path relative to the data folder")
        pure = PurePosixPath(rel)
        if pure.is_absolute() or re.match(r"^[A-Za-z]:", rel):
            raise Refused(403, f"path {rel!r}: absolute paths are refused; give a path "
                               "relative to the data folder")
        if any(part == ".." for part in pure.parts):
            raise Refused(403, f"path {rel!r}: '..' is refused; the server reads only its "
                               "data folder")
        p = self.root.joinpath(*pure.parts)
        if not p.exists() and not p.is_symlink():
            raise Refused(404, f"path {rel!r}: no such scenario in the data folder")
        if not self.inside(p):
            raise Refused(403, f"path {rel!r}: leaves the data folder (a symbolic link?); refused")
        return p

    def files_of(self, p: Path) -> list[Path]:
        """The files the scenario reader will read for ``p`` (all must lie inside)."""
        if p.is_dir():
            files = [p / "scenario.yaml"] if (p / "scenario.yaml").exists() else \
                sorted(list(p.glob("*.yaml")) + list(p.glob("*.yml")))
            views = p / "views"
            if views.is_dir() or views.is_symlink():
                files.append(views)
                if views.is_dir():
                    files += sorted(list(views.glob("*.yaml")) + list(views.glob("*.yml")))
            return files
        return [p]

    def check_files(self, p: Path) -> list[Path]:
        files = self.files_of(p)
        for f in files:
            if not self.inside(f):
                raise Refused(403, f"{self.rel(f, resolve=False)}: leaves the data folder "
                                   "(a symbolic link?); refused")
        return files

    def rel(self, p: Path, resolve: bool = True) -> str:
        q = p.resolve() if resolve else p
        try:
            return q.relative_to(self.root).as_posix()
        except ValueError:
            try:
                return p.relative_to(self.root).as_posix()
            except ValueError:
                return p.name

    # scenarios ------------------------------------------------------------------------------
    def scenarios(self) -> list[dict[str, Any]]:
        """Scenario folders (holding scenario.yaml) and accord YAML files, at most 3 deep."""
        found: list[Path] = []
        others: set[Path] = set()
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            d = Path(dirpath)
            depth = len(d.relative_to(self.root).parts)
            dirnames[:] = sorted(n for n in dirnames if not n.startswith((".", "_"))
                                 and n != "views" and depth < 3)
            if d != self.root and "scenario.yaml" in filenames:
                found.append(d)
                dirnames[:] = []
                continue
            for name in sorted(filenames):
                if name.endswith((".yaml", ".yml")) and not name.startswith("."):
                    f = d / name
                    try:
                        with open(f, encoding="utf-8", errors="replace") as fh:
                            head = fh.read(4096)
                    except OSError:
                        continue
                    if re.search(r"^scenario\s*:", head, re.M):
                        found.append(f)
                elif name.lower().endswith((".csv", ".xml")) and not name.startswith("."):
                    others.add(d / name)  # peers' formats: listed when they read
                    found.append(d / name)
            # symlinked folders are listed only when they stay inside
            for n in list(dirnames):
                if (d / n).is_symlink() and not self.inside(d / n):
                    dirnames.remove(n)
        out = []
        for p in found:
            if not self.inside(p):
                continue
            entry: dict[str, Any] = {"path": self.rel(p, resolve=False),
                                     "kind": "folder" if p.is_dir() else "file"}
            try:
                sc = self.load(entry["path"])
            except Refused as exc:
                if p in others:
                    continue  # a CSV or XML file that is not a scenario
                entry["error"] = exc.message
            else:
                entry.update(id=sc.id, title=sc.title, actors=len(sc.actors),
                             issues=len(sc.issues), views=_views_of(sc))
            out.append(entry)
        return out

    def load(self, rel: str):
        """The scenario at ``rel``, read once per change of its files."""
        from ..errors import ScenarioError
        from ..scenario import io as sio

        p = self.resolve(rel)
        files = self.check_files(p)
        sig = _sig(files)
        with self._lock:
            hit = self._cache.get(rel)
            if hit and hit[0] == sig:
                self._cache.move_to_end(rel)
                return hit[1]
        try:
            sc = sio.read(p)
        except ScenarioError as exc:
            raise Refused(422, "; ".join(str(pr) for pr in exc.problems[:5])) from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise Refused(422, f"{rel}: not readable as a scenario ({type(exc).__name__})") from None
        with self._lock:
            self._cache[rel] = (sig, sc)
            while len(self._cache) > 16:
                self._cache.popitem(last=False)
        return sc


def _views_of(sc) -> list[dict[str, Any]]:
    from ..analysis.ensemble import _view_list

    if not sc.views:
        return []
    return [{"id": v, "date": sc.views[v].date.isoformat() if sc.views[v].date else None,
             "title": sc.views[v].title, "source": sc.views[v].source}
            for v in _view_list(sc)]


# ---- cells and changes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    actor: str
    issue: Optional[str]
    field: str
    value: float
    low: Optional[float] = None
    high: Optional[float] = None
    quote: Optional[str] = None
    source: Optional[str] = None
    judgement: Optional[str] = None


def _float(x: Any, name: str) -> Optional[float]:
    if x is None or x == "":
        return None
    if isinstance(x, bool):
        raise Refused(422, f"{name}: expected a number, got {x!r}")
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise Refused(422, f"{name}: expected a number, got {x!r}") from None
    if not np.isfinite(v):
        raise Refused(422, f"{name}: expected a finite number, got {x!r}")
    return v


def _text(x: Any, name: str, limit: int = 4000) -> Optional[str]:
    if x is None:
        return None
    if not isinstance(x, str):
        raise Refused(422, f"{name}: expected text")
    x = x.strip()
    if len(x) > limit:
        raise Refused(422, f"{name}: at most {limit} characters")
    return x or None


def parse_change(d: Any, require_evidence: bool) -> Change:
    if not isinstance(d, dict):
        raise Refused(422, "change: expected an object")
    fld = d.get("field")
    if fld not in _FIELDS:
        raise Refused(422, f"field: expected one of {', '.join(_FIELDS)}, got {fld!r}")
    actor = _text(d.get("actor"), "actor", 200)
    issue = _text(d.get("issue"), "issue", 200)
    if not actor:
        raise Refused(422, "actor: missing")
    if fld != "capability" and not issue:
        raise Refused(422, f"issue: missing (a {fld} belongs to an actor and an issue)")
    value = _float(d.get("value"), "value")
    if value is None:
        raise Refused(422, "value: missing")
    ch = Change(actor, issue if fld != "capability" else None, fld, value,
                _float(d.get("low"), "low"), _float(d.get("high"), "high"),
                _text(d.get("quote"), "quote"), _text(d.get("source"), "source", 200),
                _text(d.get("judgement"), "judgement"))
    if (ch.low is None) != (ch.high is None):
        raise Refused(422, "low, high: give both ends of the range, or neither")
    if require_evidence and not (ch.quote or ch.judgement):
        raise Refused(422, "an edit needs its evidence: a quote from a source, or a judgement "
                           "note saying why")
    if ch.quote and not ch.source:
        pass  # a view's quote defaults to the view's source
    return ch


def _quantity(sc, view: Optional[str], ch: Change):
    """The Quantity the change edits (as the view resolves it) and the stance, if any."""
    r = sc.view(view) if view else sc
    if ch.actor not in r.actor_ids:
        raise Refused(422, f"actor {ch.actor!r}: not in the scenario ({', '.join(r.actor_ids)})")
    if ch.field == "capability":
        return r.actor(ch.actor).capability, None
    if ch.issue not in r.issue_ids:
        raise Refused(422, f"issue {ch.issue!r}: not in the scenario ({', '.join(r.issue_ids)})")
    st = r.stances.get((ch.actor, ch.issue))
    if st is None:
        raise Refused(422, f"{ch.actor} takes no stance on {ch.issue} in "
                           f"{view or 'the base coding'}; add the stance in the file first")
    return getattr(st, ch.field), st


def _new_range(q, ch: Change, issue=None) -> tuple[Optional[float], Optional[float]]:
    if ch.low is not None:
        lo, hi = ch.low, ch.high
        if not lo <= ch.value <= hi:
            raise Refused(422, f"value {ch.value:g} lies outside the range [{lo:g}, {hi:g}] given")
        return lo, hi
    if q.low is None or q.high is None:
        return None, None
    if not q.low <= ch.value <= q.high:
        raise Refused(422, f"value {ch.value:g} lies outside the current range "
                           f"[{q.low:g}, {q.high:g}]; give a range (low, high) that holds it")
    return q.low, q.high


def _check_scale(sc, ch: Change) -> None:
    if ch.field == "salience":
        for x, name in ((ch.value, "value"), (ch.low, "low"), (ch.high, "high")):
            if x is not None and not 0 <= x <= 1:
                raise Refused(422, f"{name} {x:g}: a salience lies in [0, 1]")
    elif ch.field == "position":
        issue = sc.issue(ch.issue)
        for x, name in ((ch.value, "value"), (ch.low, "low"), (ch.high, "high")):
            if x is not None and not issue.low <= x <= issue.high:
                raise Refused(422, f"{name} {x:g}: outside the scale of {issue.id} "
                                   f"[{issue.low:g}, {issue.high:g}]")
    elif ch.value < 0:
        raise Refused(422, f"value {ch.value:g}: a capability is not negative")


def apply_change(sc, view: Optional[str], ch: Change):
    """The scenario with one number changed in memory (a what-if), validated like an edit."""
    from ..scenario.model import Evidence

    q, st = _quantity(sc, view, ch)
    _check_scale(sc, ch)
    lo, hi = _new_range(q, ch)
    evidence = tuple(e for e in (
        Evidence(ch.source, ch.quote) if ch.quote else None,
        Evidence(None, None, ch.judgement) if ch.judgement else None) if e is not None)
    nq = replace(q, value=ch.value, low=lo, high=hi, evidence=evidence or q.evidence,
                 file=None, line=None, range_line=None)
    if view is None:
        if ch.field == "capability":
            actors = tuple(replace(a, capability=nq) if a.id == ch.actor else a for a in sc.actors)
            return replace(sc, actors=actors)
        stances = dict(sc.stances)
        stances[(ch.actor, ch.issue)] = replace(st, **{ch.field: nq}, inherited=False)
        return replace(sc, stances=stances)
    v = sc.views[view]
    if ch.field == "capability":
        nv = replace(v, capability={**v.capability, ch.actor: nq})
    else:
        nv = replace(v, stances={**v.stances,
                                 (ch.actor, ch.issue): replace(st, **{ch.field: nq},
                                                               inherited=False)})
    return replace(sc, views={**sc.views, view: nv})


# ---- saving an edit ------------------------------------------------------------------------


def _number_map(value: float, lo: Optional[float], hi: Optional[float], ch: Optional[Change],
                note: Optional[str] = None):
    from ruamel.yaml.comments import CommentedMap

    from ..scenario.io.yaml_format import _clean

    from ruamel.yaml.comments import CommentedSeq

    m = CommentedMap(value=_clean(value))
    if lo is not None and hi is not None:
        rng = CommentedSeq([_clean(lo), _clean(hi)])
        rng.fa.set_flow_style()
        m["range"] = rng
    if ch is not None:
        if ch.quote:
            if ch.source:
                m["source"] = ch.source
            m["quote"] = ch.quote
        if ch.judgement:
            m["judgement"] = ch.judgement
    elif note:
        m["judgement"] = note
    return m


def _child(m, key):
    from ruamel.yaml.comments import CommentedMap

    if key not in m or m[key] is None:
        m[key] = CommentedMap()
    return m[key]


def _put(actors_map, sc_resolved, ch: Change, lo, hi) -> None:
    """Write the change into an ``actors:`` mapping (base or view), stance created if needed."""
    from ruamel.yaml.comments import CommentedMap

    am = _child(actors_map, ch.actor)
    if ch.field == "capability":
        am["capability"] = _number_map(ch.value, lo, hi, ch)
        return
    stances = _child(am, "stances")
    stance = stances.get(ch.issue)
    if stance is None or not isinstance(stance, dict):
        st = sc_resolved.stances[(ch.actor, ch.issue)]
        other = "salience" if ch.field == "position" else "position"
        oq = getattr(st, other)
        stance = CommentedMap()
        stance["position"] = None
        stance["salience"] = None
        stance[other] = _number_map(oq.value, oq.low, oq.high, None,
                                    note=f"as in the base coding (copied with the edit of "
                                         f"{ch.field})")
        stances[ch.issue] = stance
    stance[ch.field] = _number_map(ch.value, lo, hi, ch)


def _dump(doc) -> str:
    from ..scenario.io.yaml_format import _yaml

    buf = io.StringIO()
    _yaml().dump(doc, buf)
    return buf.getvalue()


def _next_name(exists, stem: str) -> tuple[str, int]:
    base = _EDIT_SUFFIX.sub("", stem)
    n = 1
    while exists(f"{base}-edit-{n}"):
        n += 1
    return f"{base}-edit-{n}", n


def save_edit(folder: DataFolder, rel: str, view: Optional[str], ch: Change) -> dict[str, Any]:
    """Save ``ch`` as a NEW file: a view file for folder scenarios, else a new scenario file."""
    from ..errors import ScenarioError
    from ..fileio import atomic_write
    from ..scenario import io as sio

    sc = folder.load(rel)
    from collections.abc import Mapping

    if sc.format != "yaml" or not isinstance(sc.document, Mapping):
        raise Refused(422, f"{rel}: edits are saved for accord YAML scenarios only "
                           f"(this one is {sc.format}); `accord import` it first")
    if view is not None and view not in sc.views:
        raise Refused(422, f"view {view!r}: not in {rel} ({', '.join(sc.views) or 'no views'})")
    q, _ = _quantity(sc, view, ch)
    _check_scale(sc, ch)
    lo, hi = _new_range(q, ch)
    resolved = sc.view(view) if view else sc
    p = folder.resolve(rel)
    with _WRITE_LOCK:
        if p.is_dir():
            views_dir = p / "views"
            taken = set(sc.views)
            new_id, _ = _next_name(lambda n: n in taken or (views_dir / f"{n}.yaml").exists(),
                                   view or "base")
            target = views_dir / f"{new_id}.yaml"
            doc = _view_document(sc, view, new_id, ch)
            _put(_child(doc, "actors"), resolved, ch, lo, hi)
            reload_rel = rel
        else:
            main = next(iter(sc.document.values()))
            doc = copy.deepcopy(main)
            new_stem, n = _next_name(lambda x: (p.parent / f"{x}{p.suffix}").exists(), p.stem)
            target = p.parent / f"{new_stem}{p.suffix}"
            doc["scenario"] = f"{_EDIT_SUFFIX.sub('', str(doc['scenario']))}-edit-{n}"
            if view is None:
                _put(_child(doc, "actors"), resolved, ch, lo, hi)
            else:
                _put(_child(_child(_child(doc, "views"), view), "actors"), resolved, ch, lo, hi)
            new_id = view
            reload_rel = folder.rel(target, resolve=False)
        if target.exists() or target.is_symlink():
            raise Refused(409, f"{folder.rel(target, resolve=False)} exists; not overwritten")
        if target.parent.exists() and not folder.inside(target.parent):
            raise Refused(403, "the views folder leaves the data folder; refused")
        atomic_write(target, _dump(doc))
        try:
            new = folder.load(reload_rel)
        except Refused as exc:
            target.unlink()  # our own file, written a moment ago
            raise Refused(422, f"the edit does not validate: {exc.message}") from None
        except ScenarioError as exc:  # pragma: no cover - load() converts these
            target.unlink()
            raise Refused(422, str(exc)) from None
    return {"saved": folder.rel(target, resolve=False), "path": reload_rel, "view": new_id,
            "scenario": new.id, "parent": view or "base"}


_WRITE_LOCK = threading.Lock()


def _view_document(sc, view: Optional[str], new_id: str, ch: Change):
    from ruamel.yaml.comments import CommentedMap

    what = (f"{ch.actor}.capability" if ch.field == "capability"
            else f"{ch.actor}.{ch.issue}.{ch.field}")
    if view is None:
        doc = CommentedMap()
        doc["view"] = new_id
        doc["title"] = f"The base coding with {what} = {ch.value:g} (edited in accord serve)"
        doc["actors"] = CommentedMap()
        return doc
    v = sc.views[view]
    src_doc = None
    if v.file:
        key = f"views/{Path(v.file).name}"
        if key in sc.document:
            src_doc = copy.deepcopy(sc.document[key])
    if src_doc is None:  # a view written inline in scenario.yaml
        main = next(iter(sc.document.values()))
        inline = copy.deepcopy(main["views"][view])
        src_doc = CommentedMap()
        src_doc["view"] = new_id
        for k, val in inline.items():
            src_doc[k] = val
    src_doc["view"] = new_id
    title = str(src_doc.get("title") or view)
    src_doc["title"] = f"{title} - edited: {what} = {ch.value:g} (from {view})"
    return src_doc


# ---- forecasts ------------------------------------------------------------------------------


def _subset(sc, view: Optional[str], views: Optional[list[str]]):
    """The scenario the forecast runs on: the base alone, or the chosen views."""
    if view is None:
        return replace(sc, views={})
    chosen = list(views) if views else list(sc.views)
    if view not in chosen:
        chosen.append(view)
    unknown = [v for v in chosen if v not in sc.views]
    if unknown:
        raise Refused(422, f"views {', '.join(unknown)}: not in the scenario "
                           f"({', '.join(sc.views)})")
    return replace(sc, views={k: sc.views[k] for k in sc.views if k in chosen})


def _feasibility(sc, seed: int, draws: int, view: Optional[str]) -> Optional[dict[str, Any]]:
    """P(each deal is feasible) for the view and the ensemble, when the module exists."""
    try:
        from ..analysis.feasibility import feasibility as _feas
    except ImportError:
        return None
    from ..analysis.ensemble import ENSEMBLE, _records

    try:
        f = _feas(sc, draws=draws, seed=seed, extent=False)  # interactive: no LPs
    except Exception as exc:  # noqa: BLE001 - never fatal for the app
        return {"error": f"{type(exc).__name__}: {exc}"}
    shown = {view or "base", ENSEMBLE} if view else set(f.summary["view"])
    summ = f.summary[f.summary["view"].isin(shown)]
    spoil = f.spoilers[f.spoilers["view"].isin(shown) & (f.spoilers["p_blocks"] > 0)]
    return {"summary": _records(summ.drop(columns=["issues"], errors="ignore")),
            "spoilers": _records(spoil), "notes": list(f.notes), "draws": f.draws, "seed": f.seed}


class _Forecasts:
    def __init__(self) -> None:
        self.cache: "OrderedDict[tuple, Any]" = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple, compute):
        with self.lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        value = compute()
        with self.lock:
            self.cache[key] = value
            while len(self.cache) > 8:
                self.cache.popitem(last=False)
        return value


class _Cancelled(Exception):
    """Raised inside a background computation that a newer request replaced."""


class _Jobs:
    """Slow computations (every model, feasibility, levers) in background threads.

    One job runs per scenario path at a time: a new request for the same path (an edit, a
    what-if) cancels the old one at its next step. Jobs report their progress; finished
    results are kept (a few) so that asking again is instant.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: "OrderedDict[str, dict[str, Any]]" = OrderedDict()
        self.by_key: dict[tuple, str] = {}
        self.current: dict[Any, str] = {}
        self.count = 0

    def start(self, key: tuple, owner: Any, total: int, work) -> dict[str, Any]:
        with self.lock:
            jid = self.by_key.get(key)
            if jid in self.jobs and self.jobs[jid]["state"] in ("running", "done"):
                if self.jobs[jid]["state"] == "running":
                    self.current[owner] = jid
                return self.view(jid)
            old = self.current.get(owner)
            if old in self.jobs and self.jobs[old]["state"] == "running":
                self.jobs[old]["cancel"] = True
            self.count += 1
            jid = f"job-{self.count}"
            job = {"id": jid, "state": "running", "done": 0, "total": total, "step": "",
                   "cancel": False, "result": None, "error": None, "t0": time.perf_counter()}
            self.jobs[jid] = job
            self.by_key[key] = jid
            self.current[owner] = jid
            while len(self.jobs) > 12:
                gone, _ = self.jobs.popitem(last=False)
                self.by_key = {k: v for k, v in self.by_key.items() if v != gone}

        def progress(step: str) -> None:
            if job["cancel"]:
                raise _Cancelled()
            job["step"] = step
            job["done"] = min(job["total"], job["done"] + 1)

        def run() -> None:
            try:
                result = work(progress)
            except _Cancelled:
                job["state"] = "cancelled"
                return
            except Exception as exc:  # noqa: BLE001 - reported to the page, not raised
                job["state"], job["error"] = "failed", f"{type(exc).__name__}: {exc}"
                return
            job["result"], job["state"] = result, "done"
            job["done"] = job["total"]
            job["seconds"] = round(time.perf_counter() - job["t0"], 2)

        threading.Thread(target=run, name=jid, daemon=True).start()
        return self.view(jid)

    def view(self, jid: str) -> dict[str, Any]:
        job = self.jobs.get(jid)
        if job is None:
            raise Refused(404, f"job {jid!r}: unknown or expired")
        out = {k: job[k] for k in ("id", "state", "done", "total", "step", "error")}
        if job["state"] == "done":
            out["result"] = job["result"]
            out["seconds"] = job.get("seconds")
        return out


# ---- the app --------------------------------------------------------------------------------


def _host_allowed(host_header: str, extra: frozenset[str]) -> bool:
    h = host_header.strip().lower()
    if not h:
        return False
    if h.startswith("["):
        name = h[: h.find("]") + 1] if "]" in h else h
    else:
        name = h.rsplit(":", 1)[0] if h.count(":") == 1 else h
    return name in LOOPBACK_NAMES or name in extra


class _Guard:
    """ASGI middleware: loopback Host (DNS rebinding), same-origin writes, bounded bodies."""

    def __init__(self, app, max_body: int, extra_hosts: frozenset[str]):
        self.app, self.max_body, self.extra = app, max_body, extra_hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        if not _host_allowed(headers.get("host", ""), self.extra):
            return await _plain(send, 400, "Host header refused: this server answers only "
                                           "to loopback names (127.0.0.1, localhost)")
        origin = headers.get("origin")
        if scope["method"] not in ("GET", "HEAD", "OPTIONS") and origin is not None:
            from urllib.parse import urlsplit

            # same origin only: a page from another site, port or a local file may not write
            if urlsplit(origin).netloc.lower() != headers.get("host", "").strip().lower():
                return await _plain(send, 403, "cross-origin request refused")
        length = headers.get("content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                return await _plain(send, 400, "bad Content-Length")
            if n > self.max_body:
                return await _plain(send, 413, f"request body of {n} bytes refused "
                                               f"(at most {self.max_body})")
        if scope["method"] in ("GET", "HEAD", "OPTIONS") and length in (None, "0"):
            return await self.app(scope, receive, send)
        # read the whole (small) body first, counting, so that no parser sees an oversized one
        chunks, received = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body = message.get("body", b"")
            received += len(body)
            if received > self.max_body:
                return await _plain(send, 413, f"request body refused (at most {self.max_body} "
                                               "bytes)")
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replayed():
            if replay:
                return replay.pop()
            return await receive()

        return await self.app(scope, replayed, send)


async def _plain(send, status: int, text: str) -> None:
    import json

    body = json.dumps({"detail": text}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_app(data_dir: str | Path, *, host: str = DEFAULT_HOST, max_body: int = MAX_BODY,
               draws: int = INTERACTIVE_DRAWS, dynamic_draws: int = DYNAMIC_DRAWS):
    """The ASGI app serving ``data_dir``. ``host``: a non-loopback name the server is bound to
    is accepted in Host headers too (loopback names always are)."""
    from fastapi import Body, FastAPI, Query
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles

    from .. import __version__
    from .. import models as _models
    from ..analysis.ensemble import ENSEMBLE, forecast as _forecast
    from ..results import dumps

    folder = DataFolder(data_dir)
    forecasts = _Forecasts()
    jobs = _Jobs()
    api = FastAPI(title="accord", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)

    @api.exception_handler(Refused)
    async def _refused(request, exc: Refused):
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @api.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    api.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    __import__("accord.web.workbench", fromlist=["add_routes"]).add_routes(api, folder)

    @api.get("/api/scenarios")
    def scenarios():
        found = folder.scenarios()
        ok = [s for s in found if not s.get("error")]
        flagship = next((s for s in ok if s.get("id") == FLAGSHIP
                         or PurePosixPath(s["path"]).name == FLAGSHIP), ok[0] if ok else None)
        return {"data_folder": folder.root.name, "accord_version": __version__,
                "scenarios": found, "default": flagship["path"] if flagship else None,
                "draws": draws, "dynamic_draws": dynamic_draws, "seed": SEED,
                "models": list(_models.available())}

    def _view_arg(sc, view: Optional[str]) -> Optional[str]:
        if view in (None, "", "base"):
            return None
        if view not in sc.views:
            raise Refused(422, f"view {view!r}: not in the scenario "
                               f"({', '.join(sc.views) or 'no views'})")
        return view

    @api.get("/api/scenario")
    def scenario(path: str = Query(...), view: Optional[str] = Query(None)):
        sc = folder.load(path)
        v = _view_arg(sc, view)
        r = sc.view(v) if v else sc
        cap_inh = sc.capability_inherited(v) if v else {}
        cells = []
        for a in r.actors:
            for i in r.issues:
                st = r.stances.get((a.id, i.id))
                if st is None:
                    continue
                cells.append({"actor": a.id, "issue": i.id, "inherited": bool(st.inherited),
                              "position": _q(st.position), "salience": _q(st.salience)})
        return {
            "path": path, "id": sc.id, "title": sc.title, "view": v or "base",
            "views": _views_of(sc), "format": sc.format, "sha256": sc.sha256,
            "editable": sc.format == "yaml",
            "sources": [{"id": s.id, "author": s.author, "title": s.title} for s in sc.sources.values()],
            "view_source": sc.views[v].source if v else None,
            "actors": [{"id": a.id, "name": a.name, "veto": a.veto,
                        "capability": _q(a.capability), "inherited": cap_inh.get(a.id, False)}
                       for a in r.actors],
            "issues": [{"id": i.id, "question": i.question, "low": i.low, "high": i.high,
                        "status_quo": i.status_quo, "unit": _unit_of(i),
                        "anchors": [[a, label] for a, label in i.anchors]} for i in r.issues],
            "cells": cells,
        }

    def _compute(path: str, view: Optional[str], views: Optional[list[str]],
                 changes: list[Change], seed: int, n_draws: int, models: list[str]):
        sc = folder.load(path)
        v = _view_arg(sc, view)
        for ch in changes:
            sc = apply_change(sc, v, ch)
        sub = _subset(sc, v, views)
        key = (path, folder.load(path).sha256, v, tuple(sub.views), tuple(changes), seed,
               n_draws, tuple(models))

        def run():
            t0 = time.perf_counter()
            fc = _forecast(sub, models, draws=n_draws, seed=seed, dynamic_draws=dynamic_draws)
            return fc, {"forecast_ms": round((time.perf_counter() - t0) * 1000, 1)}
        return (*forecasts.get(key, run), v, sub)

    def _request(body: dict) -> tuple:
        if not isinstance(body, dict):
            raise Refused(422, "expected a JSON object")
        path = body.get("path")
        views = body.get("views")
        if views is not None and (not isinstance(views, list) or
                                  not all(isinstance(x, str) for x in views)):
            raise Refused(422, "views: expected a list of view ids")
        changes = body.get("changes") or []
        if not isinstance(changes, list) or len(changes) > 50:
            raise Refused(422, "changes: expected a list of at most 50 changes")
        seed = body.get("seed", SEED)
        n = body.get("draws", draws)
        if not isinstance(seed, int) or isinstance(seed, bool) or not isinstance(n, int) \
                or isinstance(n, bool) or not 1 <= n <= 20_000:
            raise Refused(422, "seed: an integer; draws: an integer in [1, 20000]")
        models = body.get("models") or list(BASELINES)
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise Refused(422, "models: expected a list of model names")
        for m in models:
            if m not in _models.available():
                raise Refused(422, f"model {m!r}: unknown ({', '.join(_models.available())})")
        return (path, body.get("view"), views, [parse_change(c, False) for c in changes],
                seed, n, models)

    @api.post("/api/forecast")
    def forecast(body: dict = Body(...)):
        t0 = time.perf_counter()
        path, view, views, changes, seed, n, models = _request(body)
        fc, timing, v, _ = _compute(path, view, views, changes, seed, n, models)
        shown = {v or "base", ENSEMBLE} if v else {"base"}
        rows = fc.summary[fc.summary.view.isin(shown)]
        rows = [{k: (None if isinstance(x, float) and np.isnan(x) else x)
                 for k, x in r.items()} for r in rows.to_dict(orient="records")]
        return {"path": path, "view": v or "base", "views": fc.views, "models": fc.models,
                "seed": fc.seed, "draws": fc.draws, "scenario_sha256": fc.scenario.sha256,
                "changes": len(changes), "rows": rows,
                "skipped": fc.skipped, "timing": {**timing,
                                                  "total_ms": round((time.perf_counter() - t0) * 1000, 1)}}

    @api.post("/api/summary")
    def summary(body: dict = Body(...)):
        """The summary with every model, computed in the background: returns the job (poll
        ``GET /api/job?id=``); a newer request for the same scenario cancels an older one."""
        from ..analysis.summary import analyse

        path, view, views, changes, seed, n, models = _request(body)
        if not body.get("models"):
            models = list(_models.available())
        sc = folder.load(path)
        v = _view_arg(sc, view)
        for ch in changes:
            sc = apply_change(sc, v, ch)
        sub = _subset(sc, v, views)
        key = ("summary", path, folder.load(path).sha256, v, tuple(sub.views), tuple(changes),
               seed, n, tuple(models))

        def work(progress):
            res = analyse(sub, draws=n, seed=seed, models=models, dynamic_draws=dynamic_draws,
                          progress=progress)
            fc = res.forecast
            shown = {v or "base", ENSEMBLE} if v else set(fc.summary.view)
            rows = fc.summary[fc.summary.view.isin(shown)]
            rows = [{k: (None if isinstance(x, float) and np.isnan(x) else x)
                     for k, x in r.items()} for r in rows.to_dict(orient="records")]
            levers = None
            if res.whatif is not None and "compromise" in res.whatif.models:
                from ..analysis.whatif import default_levers_path

                lp = default_levers_path(sc)
                if lp is not None and folder.inside(lp):
                    levers = _lever_payload(folder, res.whatif, lp, v)
            return {"summary": res.summary.to_json(), "rows": rows, "models": fc.models,
                    "views": fc.views, "view": v or "base", "draws": fc.draws,
                    "seed": fc.seed, "changes": len(changes), "levers": levers}
        # an edit cancels the previous edit's run, never the run of the scenario as saved
        # (the "before" of every what-if)
        return jobs.start(key, (path, bool(changes)), len(models) + 2, work)

    @api.get("/api/job")
    def job(id: str = Query(...)):
        return jobs.view(id)

    def _changed(body: dict):
        """The request's scenario with its unsaved changes applied, and the views it asks for."""
        path, view, views, changes, seed, n, _ = _request(body)
        sc = folder.load(path)
        v = _view_arg(sc, view)
        for ch in changes:
            sc = apply_change(sc, v, ch)
        sub = _subset(sc, v, views)
        key = (path, folder.load(path).sha256, v, tuple(sub.views), tuple(changes), seed)
        return path, v, sc, sub, seed, n, key

    @api.post("/api/feasibility")
    def feasibility(body: dict = Body(...)):
        t0 = time.perf_counter()
        path, v, sc, sub, seed, n, key = _changed(body)
        key = ("feasibility", *key, min(n, FEASIBILITY_DRAWS))
        result = forecasts.get(key, lambda: _feasibility(sub, seed, min(n, FEASIBILITY_DRAWS), v))
        return {"path": path, "view": v or "base", "available": result is not None,
                **(result or {}), "timing": {"total_ms": round((time.perf_counter() - t0) * 1000, 1)}}

    @api.post("/api/levers")
    def levers(body: dict = Body(...)):
        t0 = time.perf_counter()
        path, v, sc, sub, seed, n, key = _changed(body)
        key = ("levers", *key, min(n, LEVER_DRAWS))
        result = forecasts.get(key, lambda: _levers(folder, sc, sub, seed, min(n, LEVER_DRAWS), v))
        return {"path": path, **result,
                "timing": {"total_ms": round((time.perf_counter() - t0) * 1000, 1)}}

    @api.post("/api/edit")
    def edit(body: dict = Body(...)):
        if not isinstance(body, dict):
            raise Refused(422, "expected a JSON object")
        path = body.get("path")
        sc = folder.load(path)
        v = _view_arg(sc, body.get("view"))
        ch = parse_change(body, True)
        return save_edit(folder, path, v, ch)

    @api.get("/api/download")
    def download(path: str = Query(...), kind: str = Query("json"),
                 view: Optional[str] = Query(None), views: Optional[str] = Query(None),
                 seed: int = Query(SEED), draws: int = Query(draws, ge=1, le=20_000),
                 models: Optional[str] = Query(None)):
        vlist = [x for x in views.split(",") if x] if views else None
        mlist = [x for x in models.split(",") if x] if models else None
        for m in mlist or []:
            if m not in _models.available():
                raise Refused(422, f"model {m!r}: unknown ({', '.join(_models.available())})")
        sc = folder.load(path)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", sc.id)
        if kind == "report":
            from ..report import ReportOptions, render

            v = _view_arg(sc, view)
            sub = _subset(sc, v, vlist) if (v or vlist) else sc
            html = render(sub, options=ReportOptions(
                models=mlist, draws=draws, seed=seed, dynamic_draws=dynamic_draws, check_evidence=_corpus_inside(folder, sc),
                corpus_note="corpus not read: it lies outside the data folder of accord serve "
                            "(run `accord report` for checked quotes)"
                if sc.corpus else "corpus not found: quotes not verified"))
            return Response(html, media_type="text/html", headers=_attachment(f"{stem}-report.html"))
        if kind not in ("json", "csv"):
            raise Refused(422, "kind: json, csv or report")
        fc, _, _, _ = _compute(path, view, vlist, [], seed, draws, mlist or list(BASELINES))
        if kind == "json":
            return Response(dumps(fc.to_json()), media_type="application/json",
                            headers=_attachment(f"{stem}-forecast.json"))
        return Response(fc.summary.to_csv(index=False), media_type="text/csv",
                        headers=_attachment(f"{stem}-forecast.csv"))

    return _Guard(api, max_body, frozenset() if host in LOOPBACK_NAMES or host in ("0.0.0.0", "::")
                  else frozenset({host.lower()}))


def _corpus_inside(folder: DataFolder, sc) -> bool:
    """True when the quote check would read only files inside the data folder."""
    if sc.corpus:
        corpus = Path(sc.corpus)
    elif sc.path:
        p = Path(sc.path)
        corpus = p if p.is_dir() else p.parent
    else:
        return False
    if not corpus.exists() or not folder.inside(corpus):
        return False
    for src in sc.sources.values():
        if src.file:
            f = corpus / src.file
            if f.exists() and not folder.inside(f):
                return False
    return True


def _levers(folder: DataFolder, sc, sub, seed: int, draws: int, view: Optional[str]):
    """The scenario's levers (levers.yaml beside it, inside the data folder), when available."""
    try:
        from ..analysis.whatif import default_levers_path, whatif
    except ImportError:
        return {"available": False, "reason": "accord.analysis.whatif is not installed"}
    path = default_levers_path(sc)
    if path is None:
        return {"available": False, "reason": "no levers.yaml beside the scenario"}
    if not folder.inside(path):
        raise Refused(403, "levers.yaml leaves the data folder (a symbolic link?); refused")
    w = whatif(sub, path, models=["compromise"], draws=draws, seed=seed)
    return _lever_payload(folder, w, path, view)


def _lever_payload(folder: DataFolder, w, path: Path, view: Optional[str]) -> dict[str, Any]:
    """The levers table the page shows, from a what-if result (the summary's own, when it ran)."""
    from ..analysis.ensemble import ENSEMBLE, _records

    label = ENSEMBLE if ENSEMBLE in set(w.forecast.view) else (view or w.views[0])
    f = w.forecast[(w.forecast.view == label) & (w.forecast.model == "compromise")]
    p = w.feasibility[w.feasibility.view == label] if len(w.feasibility) else w.feasibility
    return {"available": True, "file": folder.rel(path, resolve=False), "view": label,
            "levers": [{"name": lv.name, "title": lv.title} for lv in w.levers],
            "forecast": _records(f[["lever", "issue", "median", "shift"]]),
            "feasibility": _records(p[["lever", "deal", "p_feasible", "change"]]) if len(p) else [],
            "draws": w.draws, "seed": w.seed, "notes": list(w.notes)}


def _unit_of(issue) -> str:
    from ..analysis.summary import unit_of

    return unit_of(issue)


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _q(q) -> dict[str, Any]:
    return {"value": q.value, "low": q.low, "high": q.high,
            "evidence": [{"source": e.source, "quote": e.quote, "judgement": e.judgement}
                         for e in q.evidence]}


def serve(data_dir: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          log_level: str = "warning", draws: int = INTERACTIVE_DRAWS,
          dynamic_draws: int = DYNAMIC_DRAWS) -> None:
    """Run the app with uvicorn (blocks)."""
    import uvicorn

    uvicorn.run(create_app(data_dir, host=host, draws=draws, dynamic_draws=dynamic_draws),
                host=host, port=port, log_level=log_level)
