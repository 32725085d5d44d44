"""BDM CSV as the public replications use it: ``Actor,Capability,Position,Salience``.

One issue; CR-only line endings occur (dmasad's files). Salience is given on 0–100 or 0–1:
a column whose largest value exceeds 1 is read as 0–100, divided by 100, and the
conversion is reported in ``Scenario.notes``; a column that mixes the two (0.5 next to 1.7)
is an error naming the rows, not a guess. The issue's scale is the range of the
positions (the replications have no other), or 0–1 when the positions fit in it; the
choice is reported in ``Scenario.notes``.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import Collector
from ..model import Actor, Issue, Quantity, Stance
from ._common import Text, finish, guard, parse_float, read_text, rows, sniff_delimiter
from . import Format

COLUMNS = ("actor", "capability", "position", "salience")
ALIASES = {"stakeholder": "actor", "name": "actor", "resources": "capability",
           "power": "capability", "clout": "capability"}
"""Header names the replications' files use for the same columns (dmasad: Stakeholder, Resources)."""


def _canon(cells: list[str]) -> list[str]:
    return [ALIASES.get(c.strip().strip('"').lower(), c.strip().strip('"').lower()) for c in cells]


def _sniff(path: Path, head: str) -> int:
    first = head.replace("\r", "\n").split("\n", 1)[0].strip().lower()
    cells = _canon(first.replace(";", ",").split(","))
    if "issue" in cells:
        return 0
    if cells[:4] == list(COLUMNS):
        return 10
    return 5 if cells[:1] == ["actor"] and "capability" in cells else 0


def read(path: Path, lenient: bool = False):
    return guard(str(path), lambda: _read(read_text(path)))


def _read(text: Text):
    out = Collector(text.path)
    delim = sniff_delimiter(text.text)
    it = rows(text.text, delim)
    try:
        line, header = next(it)
    except StopIteration:
        raise out.fail(1, "header", "nothing", "a header Actor,Capability,Position,Salience")
    cols = _canon(header)
    missing = [c for c in COLUMNS if c not in cols]
    if missing:
        raise out.fail(line, "header", ",".join(header),
                       f"columns {','.join(c.title() for c in COLUMNS)} (missing {', '.join(missing)})")
    idx = {c: cols.index(c) for c in COLUMNS}
    parsed = []
    for line, cells in it:
        if len(cells) < len(header):
            out.add(line, "row", delim.join(cells), f"{len(header)} cells, got {len(cells)}")
            continue
        name = cells[idx["actor"]]
        if not name:
            out.add(line, "Actor", name, "an actor name", idx["actor"] + 1)
        cap = parse_float(cells[idx["capability"]], out, line, "Capability", "a number >= 0",
                          idx["capability"] + 1)
        pos = parse_float(cells[idx["position"]], out, line, "Position", "a number",
                          idx["position"] + 1)
        sal = parse_float(cells[idx["salience"]], out, line, "Salience",
                          "a number in [0, 1] or [0, 100]", idx["salience"] + 1)
        parsed.append((line, name, cap, pos, sal))
    if not parsed and not out:
        out.add(line, "rows", "no actor rows", "at least one actor row")
    out.raise_if_any()
    notes = []
    sal_max = max(p[4] for p in parsed)
    factor = 1.0
    big = [(line, sal) for line, _, _, _, sal in parsed if sal > 1]
    small = [(line, sal) for line, _, _, _, sal in parsed if 0 < sal < 1 and sal != int(sal)]
    if big and small:  # two scales in one column: refuse to guess which is meant
        fewer, other = (big, small) if len(big) <= len(small) else (small, big)
        others = ", ".join(f"{ln} ({v:g})" for ln, v in other[:6]) + (" …" if len(other) > 6 else "")
        for line, sal in fewer:
            out.add(line, "Salience", sal,
                    f"one salience scale for the whole column: all in [0, 1] or all in "
                    f"[0, 100]; lines {others} are on the "
                    f"{'0–1' if other is small else '0–100'} scale")
        out.raise_if_any()
    if sal_max > 1:
        factor = 100.0
        notes.append("salience read on a 0-100 scale and divided by 100")
        for line, _, _, _, sal in parsed:
            if not 0 <= sal <= 100:
                out.add(line, "Salience", sal, "a salience in [0, 100]")
    positions = [p[3] for p in parsed]
    lo, hi = min(positions), max(positions)
    if lo >= 0 and hi <= 1:
        lo, hi = 0.0, 1.0
    elif lo == hi:
        lo, hi = lo - 1.0, hi + 1.0
    notes.append(f"issue scale taken as [{lo:g}, {hi:g}] from the positions")
    issue_id = "issue"
    issue = Issue(issue_id, Path(text.path).stem, lo, hi)
    actors, stances = [], {}
    for line, name, cap, pos, sal in parsed:
        actors.append(Actor(name, name, Quantity(cap, file=text.path, line=line)))
        stances[(name, issue_id)] = Stance(Quantity(pos, file=text.path, line=line),
                                           Quantity(sal / factor, file=text.path, line=line))
    out.raise_if_any()
    return finish(out, text.path, text, "bdm-csv", id=Path(text.path).stem,
                  title=Path(text.path).stem, actors=actors, issues=[issue], stances=stances,
                  notes=notes)


def write(scenario, path: Path) -> None:
    from ...fileio import atomic_write

    if len(scenario.issues) != 1:
        raise ValueError("BDM CSV holds exactly one issue")
    iid = scenario.issues[0].id
    lines = ["Actor,Capability,Position,Salience"]
    for a in scenario.actors:
        st = scenario.stances.get((a.id, iid))
        if st is not None:
            lines.append(f"{a.id},{a.capability.value!r},{st.position.value!r},{st.salience.value!r}")
    atomic_write(path, "\n".join(lines) + "\n")


FORMAT = Format("bdm-csv", "BDM CSV (Actor,Capability,Position,Salience)", (".csv",), _sniff,
                read, write)
