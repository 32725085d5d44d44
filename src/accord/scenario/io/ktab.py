"""KTAB SMP CSV, the table KAPSARC's Spatial Model of Politics reads (``smpc --csv``).

Row 1: scenario name, description, number of actors, number of dimensions (anything after
is ignored, as KTAB does). Row 2: ``Actor, Description, Influence|Power`` then a position and
a salience header per dimension; the position headers name the dimensions. Then exactly one
row per actor: name, description, capability, then (position, salience) per dimension.
Positions and saliences are on 0–100 and an actor's saliences sum to at most 100; accord
stores saliences divided by 100 and gives every dimension the scale [0, 100]. Always
comma-separated (descriptions contain semicolons); CRLF, quotes, ``", "`` spacing and a
trailing comma occur in KTAB's own files.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import Collector
from ..model import Actor, Issue, Quantity, Stance
from . import Format
from ._common import Text, finish, guard, parse_float, read_text, rows

CAPABILITY_HEADERS = ("influence", "power")
_INT = re.compile(r"^\s*\d+\s*$")


def _cells(line: str) -> list[str]:
    return [c.strip().strip('"').strip() for c in line.split(",")]


def _sniff(path: Path, head: str) -> int:
    lines = [ln for ln in head.replace("\r", "\n").split("\n") if ln.strip()]
    if len(lines) < 2:
        return 0
    first, second = _cells(lines[0]), _cells(lines[1])
    counts = len(first) >= 4 and bool(_INT.match(first[2])) and bool(_INT.match(first[3]))
    header = [c.lower() for c in second[:3]]
    if counts and len(header) == 3 and header[:2] == ["actor", "description"] \
            and header[2] in CAPABILITY_HEADERS:
        return 10
    if counts and header[:1] == ["actor"]:
        return 3
    return 0


def read(path: Path, lenient: bool = False):
    return guard(str(path), lambda: _read(read_text(path), lenient))


def _trim(cells: list[str]) -> list[str]:
    """Drop empty cells at the end of a row (KTAB's files often end with a comma)."""
    end = len(cells)
    while end and cells[end - 1] == "":
        end -= 1
    return cells[:end]


def _read(text: Text, lenient: bool = False):
    out = Collector(text.path)
    it = rows(text.text, ",")
    try:
        line1, first = next(it)
    except StopIteration:
        raise out.fail(1, "scenario row", "nothing", "name, description, actor count, "
                       "dimension count") from None
    first = _trim(first)
    if len(first) < 4:
        raise out.fail(line1, "scenario row", ",".join(first),
                       "4 fields: name, description, number of actors, number of dimensions")
    n_act = _count(first[2], out, line1, "number of actors", 3)
    n_dim = _count(first[3], out, line1, "number of dimensions", 4)
    try:
        line2, header = next(it)
    except StopIteration:
        raise out.fail(line1 + 1, "header", "nothing",
                       "Actor, Description, Influence, then position/salience pairs") from None
    header = _trim(header)
    out.raise_if_any()
    assert n_act is not None and n_dim is not None
    want = 3 + 2 * n_dim
    if [h.lower() for h in header[:2]] != ["actor", "description"] \
            or len(header) < 3 or header[2].lower() not in CAPABILITY_HEADERS:
        out.add(line2, "header", ",".join(header[:3]), "Actor, Description, Influence (or Power)")
    if len(header) != want:
        out.add(line2, "header", f"{len(header)} columns",
                f"{want} columns (3 + a position and a salience for each of {n_dim} dimensions)")
    out.raise_if_any()
    dims = [header[3 + 2 * k] for k in range(n_dim)]
    for k, name in enumerate(dims):
        if not name:
            out.add(line2, "header", name, "a dimension name", 4 + 2 * k)
    seen_dims: dict[str, int] = {}
    for k, name in enumerate(dims):
        if name in seen_dims:
            out.add(line2, "header", name, "unique dimension names", 4 + 2 * k)
        seen_dims.setdefault(name, k)
    notes: list[str] = ["positions on 0-100 per dimension; salience read on 0-100 and "
                        "divided by 100"]
    actors, stances, seen = [], {}, {}
    n_rows = 0
    last_line = line2
    for line, cells in it:
        last_line = line
        n_rows += 1
        if n_rows > n_act:
            out.add(line, "row", ",".join(cells)[:60],
                    f"no more actor rows (row 1 declares {n_act} actors)")
            continue
        cells = _trim(cells)
        if len(cells) < want:
            out.add(line, "row", f"{len(cells)} cells", f"{want} cells: name, description, "
                    f"capability, then position and salience for {n_dim} dimensions")
            continue
        if len(cells) > want:
            if lenient:
                notes.append(f"line {line}: {len(cells) - want} cells after the last "
                             "salience ignored")
            else:
                out.add(line, "row", f"{len(cells)} cells", f"{want} cells (extra data after "
                        "the last salience)", want + 1)
                continue
        name, desc = cells[0], cells[1]
        if not name:
            out.add(line, "Actor", name, "an actor name", 1)
            continue
        if name in seen:
            out.add(line, "Actor", name, f"a unique actor name (also on line {seen[name]})", 1)
            continue
        seen[name] = line
        cap = parse_float(cells[2], out, line, header[2], "a capability >= 0", 3)
        if cap is not None and cap < 0:
            out.add(line, header[2], cells[2], "a capability >= 0", 3)
        total = 0.0
        ok = True
        row_stances = {}
        for k, dim in enumerate(dims):
            pc, sc = 4 + 2 * k, 5 + 2 * k
            pos = parse_float(cells[pc - 1], out, line, header[pc - 1],
                              "a position in [0, 100]", pc)
            sal = parse_float(cells[sc - 1], out, line, header[sc - 1],
                              "a salience in [0, 100]", sc)
            if pos is not None and not 0 <= pos <= 100:
                out.add(line, header[pc - 1], cells[pc - 1], "a position in [0, 100]", pc)
                ok = False
            if sal is not None and not 0 <= sal <= 100:
                out.add(line, header[sc - 1], cells[sc - 1], "a salience in [0, 100]", sc)
                ok = False
            if pos is None or sal is None:
                ok = False
                continue
            total += sal
            row_stances[dim] = Stance(Quantity(pos, file=text.path, line=line),
                                      Quantity(sal / 100.0, file=text.path, line=line))
        if ok and total > 100 + 1e-9:
            out.add(line, "salience", round(total, 6),
                    "saliences of one actor that sum to at most 100")
        if cap is None or not ok:
            continue
        actors.append(Actor(name, name, Quantity(cap, file=text.path, line=line),
                            description=desc or None))
        for dim, st in row_stances.items():
            stances[(name, dim)] = st
    if n_rows < n_act:
        out.add(last_line, "rows", f"{n_rows} actor rows",
                f"{n_act} actor rows, as row 1 declares")
    out.raise_if_any()
    issues = [Issue(dim, dim, 0.0, 100.0) for dim in dims]
    return finish(out, text.path, text, "ktab-csv", id=scenario_id(first[0], text.path),
                  title=first[0] or Path(text.path).stem,
                  description=first[1] or None, actors=actors, issues=issues,
                  stances=stances, notes=notes)


def scenario_id(name: str, path: str) -> str:
    """An accord scenario id (letters, digits, ``_.-``) from KTAB's free-text name."""
    for raw in (name, Path(path).stem):
        slug = re.sub(r"[^A-Za-z0-9_.\-]+", "-", raw or "").strip("-._")
        if slug:
            return slug
    return "ktab"


def _count(raw: str, out: Collector, line: int, field: str, column: int) -> int | None:
    if not _INT.match(raw or ""):
        out.add(line, field, raw, "a whole number >= 1", column)
        return None
    value = int(raw)
    if value < 1:
        out.add(line, field, raw, "a whole number >= 1", column)
        return None
    return value


def _num(x: float) -> str:
    text = f"{x:.12g}"
    return text


def _quote(text: str) -> str:
    if any(ch in text for ch in ',"\n\r') or text != text.strip():
        return '"' + text.replace('"', "'") + '"'
    return text


def check_writable(scenario) -> None:
    """KTAB needs a stance of every actor on every issue and saliences summing to <= 1."""
    problems = []
    for a in scenario.actors:
        total = 0.0
        for x in scenario.issues:
            st = scenario.stances.get((a.id, x.id))
            if st is None:
                problems.append(f"{a.id} has no stance on {x.id}")
            else:
                total += st.salience.value
        if total > 1 + 1e-9:
            problems.append(f"{a.id}'s saliences sum to {total:g} (KTAB needs at most 1)")
    if problems:
        raise ValueError("KTAB files cannot hold this scenario: " + "; ".join(problems[:5]))


def write(scenario, path: Path) -> None:
    """KTAB CSV: each issue rescaled to 0–100, salience × 100; refuses what KTAB cannot hold."""
    from ...fileio import atomic_write

    check_writable(scenario)
    head = [_quote(scenario.title or scenario.id), _quote(scenario.description or ""),
            str(len(scenario.actors)), str(len(scenario.issues))]
    lines = [",".join(head)]
    cols = ["Actor", "Description", "Influence"]
    for x in scenario.issues:
        cols += [_quote(x.id), _quote(f"{x.id} Salience")]
    lines.append(",".join(cols))
    for a in scenario.actors:
        cells = [_quote(a.id), _quote(a.description or a.name or ""), _num(a.capability.value)]
        for x in scenario.issues:
            st = scenario.stances[(a.id, x.id)]
            p = st.position.value
            if not (x.low == 0 and x.high == 100):
                p = 100.0 * (p - x.low) / (x.high - x.low)
            cells += [_num(p), _num(st.salience.value * 100.0)]
        lines.append(",".join(cells))
    atomic_write(path, "\n".join(lines) + "\n")


FORMAT = Format("ktab-csv", "KTAB SMP CSV (scenario row, Actor,Description,Influence, "
                "position/salience pairs)", (".csv",), _sniff, read, write)
