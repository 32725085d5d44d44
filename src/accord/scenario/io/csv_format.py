"""accord CSV: the long table spreadsheets exchange, one row per actor × issue.

Required columns: ``actor, issue, position, salience, capability``. Optional: ``low, high``
(the position's range), ``salience_low, salience_high``, ``capability_low,
capability_high``, ``scale_low, scale_high`` (the issue's scale; default 0–100),
``status_quo``, ``veto``, ``name``. Capability, veto and name belong to the actor and scale
and status quo to the issue, so repeated values must agree. Views and evidence live in YAML
only; the writer says so by writing the base coding.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ...errors import Collector
from ..model import Actor, Issue, Quantity, Stance
from . import Format
from ._common import Text, finish, guard, parse_float, read_text, rows, sniff_delimiter

REQUIRED = ("actor", "issue", "position", "salience", "capability")
OPTIONAL = ("low", "high", "salience_low", "salience_high", "capability_low", "capability_high",
            "scale_low", "scale_high", "status_quo", "veto", "name")


def _sniff(path: Path, head: str) -> int:
    first = head.replace("\r", "\n").split("\n", 1)[0].lower()
    cells = {c.strip().strip('"') for c in first.replace(";", ",").replace("\t", ",").split(",")}
    if set(REQUIRED) <= cells:
        return 10
    return 1 if path.suffix.lower() == ".csv" and "issue" in cells else 0


def read(path: Path, lenient: bool = False):
    return guard(str(path), lambda: _read(read_text(path)))


def _read(text: Text):
    out = Collector(text.path)
    delim = sniff_delimiter(text.text)
    it = rows(text.text, delim)
    try:
        line, header = next(it)
    except StopIteration:
        raise out.fail(1, "header", "no cells", f"a header with columns {', '.join(REQUIRED)}") from None
    cols = [h.lower() for h in header]
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise out.fail(line, "header", delim.join(header),
                       f"columns {', '.join(REQUIRED)} (missing {', '.join(missing)})")
    for k, c in enumerate(cols):
        if c not in REQUIRED + OPTIONAL:
            out.add(line, "header", header[k], f"a known column ({', '.join(REQUIRED + OPTIONAL)})",
                    k + 1)
    ix = {c: cols.index(c) for c in cols}

    def cell(cells, name):
        k = ix.get(name)
        return cells[k] if k is not None and k < len(cells) and cells[k] != "" else None

    def num(cells, name, ln, expected="a number"):
        raw = cell(cells, name)
        return None if raw is None else parse_float(raw, out, ln, name, expected, ix[name] + 1)

    actors: dict[str, dict] = {}
    issues: dict[str, dict] = {}
    stances = {}
    seen = {}
    for ln, cells in it:
        if len(cells) != len(header):
            out.add(ln, "row", delim.join(cells), f"{len(header)} cells, got {len(cells)}")
            continue
        aid, iid = cell(cells, "actor"), cell(cells, "issue")
        if not aid or not iid:
            out.add(ln, "actor" if not aid else "issue", "", "an id", ix["actor" if not aid else "issue"] + 1)
            continue
        if (aid, iid) in seen:
            out.add(ln, "actor,issue", f"{aid},{iid}", f"one row per actor and issue (also on line {seen[(aid, iid)]})")
            continue
        seen[(aid, iid)] = ln
        vals = {c: num(cells, c, ln) for c in ("position", "salience", "capability", "low", "high",
                                              "salience_low", "salience_high", "capability_low",
                                              "capability_high", "scale_low", "scale_high",
                                              "status_quo")}
        for c in ("position", "salience", "capability"):
            if cell(cells, c) is None:
                out.add(ln, c, "", "a number", ix[c] + 1)
        veto_raw = (cell(cells, "veto") or "false").lower()
        if veto_raw not in ("true", "false", "1", "0", "yes", "no"):
            out.add(ln, "veto", veto_raw, "true or false", ix["veto"] + 1)
        veto = veto_raw in ("true", "1", "yes")
        a = actors.setdefault(aid, {"line": ln, "cap": vals["capability"],
                                    "lo": vals["capability_low"], "hi": vals["capability_high"],
                                    "veto": veto, "name": cell(cells, "name") or aid})
        for key, v in (("cap", vals["capability"]), ("veto", veto)):
            if v is not None and a[key] is not None and v != a[key]:
                out.add(ln, "capability" if key == "cap" else key, v,
                        f"the same value as on line {a['line']} ({a[key]}) for actor {aid}")
        lo, hi = vals["scale_low"], vals["scale_high"]
        x = issues.setdefault(iid, {"line": ln, "low": lo if lo is not None else 0.0,
                                    "high": hi if hi is not None else 100.0,
                                    "sq": vals["status_quo"]})
        if (lo is not None and lo != x["low"]) or (hi is not None and hi != x["high"]):
            out.add(ln, "scale_low,scale_high", [lo, hi],
                    f"the same scale as on line {x['line']} for issue {iid}")
        if None in (vals["position"], vals["salience"], vals["capability"]):
            continue
        stances[(aid, iid)] = Stance(
            Quantity(vals["position"], vals["low"], vals["high"], file=text.path, line=ln),
            Quantity(vals["salience"], vals["salience_low"], vals["salience_high"],
                     file=text.path, line=ln))
    out.raise_if_any()
    if not stances:
        last = text.text.rstrip("\n").count("\n") + 1
        raise out.fail(last, "rows", "no rows up to the end of the file",
                       "at least one actor-issue row")
    actor_objs = [Actor(aid, a["name"], Quantity(a["cap"], a["lo"], a["hi"], file=text.path,
                                                 line=a["line"]), a["veto"])
                  for aid, a in actors.items()]
    issue_objs = [Issue(iid, iid, x["low"], x["high"], (), x["sq"]) for iid, x in issues.items()]
    stem = Path(text.path).stem
    return finish(out, text.path, text, "csv", id=stem, title=stem, actors=actor_objs,
                  issues=issue_objs, stances=stances)


def dumps(scenario) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(REQUIRED + OPTIONAL)
    issues = {x.id: x for x in scenario.issues}
    for a in scenario.actors:
        for x in scenario.issues:
            st = scenario.stances.get((a.id, x.id))
            if st is None:
                continue
            p, s, c = st.position, st.salience, a.capability
            w.writerow([a.id, x.id, _n(p.value), _n(s.value), _n(c.value), _n(p.low), _n(p.high),
                        _n(s.low), _n(s.high), _n(c.low), _n(c.high), _n(issues[x.id].low),
                        _n(issues[x.id].high), _n(x.status_quo), "true" if a.veto else "false",
                        a.name])
    return buf.getvalue()


def _n(x) -> str:
    return "" if x is None else repr(float(x))


def write(scenario, path: Path) -> None:
    from ...fileio import atomic_write

    atomic_write(path, dumps(scenario))


FORMAT = Format("csv", "accord CSV (long table: actor, issue, position, salience, capability)",
                (".csv",), _sniff, read, write)
