"""decide-exchange-model input files (Stokman's Decide group; PyPI ``decide-exchange-model``).

Rows are typed by their first cell: ``#A`` actor (id, name, comment), ``#P`` issue (id,
description), ``#M`` scale anchor (issue, position, meaning), ``#D`` stance (actor, issue,
position, salience, power, comment), ``#O`` data-set title, ``#/`` comment. Cells are
separated by tabs, commas or semicolons, quoted with ``'``, ``"`` or not at all. The ``#M``
anchors of an issue set its scale (min to max); an issue without anchors is 0–100, as in
decide.

decide's reader drops rows it cannot validate and keeps positions outside the scale without
telling anyone. Here every such row is a located error. ``lenient=True`` reproduces decide
instead (drop or keep, exactly as decide does) and says in ``Scenario.notes`` what it dropped
or kept, so a run can be compared with decide's.

Power is given per ``#D`` row. When an actor's power is the same on all its rows (all the
shipped data sets) it becomes the actor's capability. When it differs, the capability is the
power of the actor's first row and the per-issue powers are kept in
``Actor.extra["power_by_issue"]`` ({issue: power}); :func:`accord.models.exchange.inputs_from_scenario`
turns them into the per-issue power the exchange model uses.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ...errors import MISSING, Collector
from ..model import Actor, Issue, Quantity, Stance
from . import Format
from ._common import Text, finish, guard, parse_float, read_text

TAGS = ("#A", "#P", "#M", "#D", "#O", "#/")
FIELDS = {
    "#A": ("id", "name", "comment"),
    "#P": ("id", "description"),
    "#M": ("issue", "position", "meaning"),
    "#D": ("actor", "issue", "position", "salience", "power", "comment"),
    "#O": ("title",),
    "#/": ("text",),
}
REQUIRED = {"#A": 1, "#P": 1, "#M": 2, "#D": 5, "#O": 0, "#/": 0}
DECIDE_MAX = 100.0
"""decide accepts salience and power in [0, 100]; outside it drops the row."""


def _first_cell(line: str) -> tuple[str, str]:
    """(tag, the character right after it) of a raw line, quotes removed."""
    s = line.lstrip()
    q = s[:1] if s[:1] in "'\"" else ""
    body = s[len(q):]
    tag = body[:2]
    rest = body[2:]
    if q and rest.startswith(q):
        rest = rest[1:]
    return tag, rest[:1]


def _sniff(path: Path, head: str) -> int:
    lines = [ln for ln in head.replace("\r", "\n").split("\n") if ln.strip()][:20]
    if not lines:
        return 0
    tagged = sum(_first_cell(ln)[0] in TAGS for ln in lines)
    if tagged == len(lines) or (tagged >= 3 and tagged >= 0.8 * len(lines)):
        return 10
    return 0


def _dialect(text: Text) -> tuple[str, str]:
    """Delimiter and quote character, from what follows the row tags (robust where
    decide's csv.Sniffer on the first 1024 characters guesses wrong)."""
    counts: dict[str, int] = {}
    quotes = {"'": 0, '"': 0}
    for line in text.text.split("\n"):
        if not line.strip():
            continue
        s = line.lstrip()
        if s[:1] in quotes:
            quotes[s[:1]] += 1
        tag, after = _first_cell(line)
        if tag in TAGS and after and after in "\t,;":
            counts[after] = counts.get(after, 0) + 1
    delim = max(counts, key=lambda k: counts[k]) if counts else "\t"
    quote = max(quotes, key=lambda k: quotes[k]) if max(quotes.values()) else '"'
    return delim, quote


def read(path: Path, lenient: bool = False):
    return guard(str(path), lambda: _read(read_text(path), lenient))


class _Tolerant(Collector):
    """A collector that lets through the problems a lenient read chose to keep."""

    def __init__(self, file: str, tolerated: set[str]):
        super().__init__(file)
        self.tolerated = tolerated

    def add(self, line, field, value, expected, column=None, file=None):  # noqa: D401
        if field in self.tolerated:
            return
        super().add(line, field, value, expected, column, file)


MAX_LINE = 100_000


def _rows(text: Text, delim: str, quote: str, out: Collector):
    """(line, cells) per non-blank physical line; a quote never spans lines (decide's rows
    are one line each), so a broken row is reported at its own line."""
    for line, raw in enumerate(text.text.split("\n"), 1):
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE:
            out.add(line, "row", f"{len(raw)} characters", f"a row of at most {MAX_LINE} characters")
            continue
        try:
            cells = next(csv.reader([raw], delimiter=delim, quotechar=quote))
        except csv.Error as exc:
            out.add(line, "row", raw[:60], f"cells separated by {_name(delim)} ({exc})")
            continue
        cells = [c.strip() for c in cells]
        if any(cells):
            yield line, cells


def _read(text: Text, lenient: bool):
    path = text.path
    out = Collector(path)
    delim, quote = _dialect(text)
    notes: list[str] = []
    dropped: list[str] = []   # what decide would drop (strict: errors; lenient: notes)

    def bad(line: int, field: str, value, expected: str, column: int | None, why: str) -> None:
        if lenient:
            dropped.append(f"line {line}: {why} ({field} {value!r}; expected {expected})")
        else:
            out.add(line, field, value, expected, column)

    actors: dict[str, dict] = {}
    issues: dict[str, dict] = {}
    anchors: list[tuple[int, list[str]]] = []
    stances: list[tuple[int, list[str]]] = []
    title = None
    for line, cells in _rows(text, delim, quote, out):
        tag = cells[0]
        if tag not in TAGS:
            out.add(line, "row type", tag, f"a row starting with one of {', '.join(TAGS)} "
                    f"(cells separated by {_name(delim)})", 1)
            continue
        fields = FIELDS[tag]
        values = cells[1:]
        if len(values) > len(fields):   # decide joins surplus cells into the last field
            values = values[:len(fields) - 1] + [" ".join(v for v in values[len(fields) - 1:] if v)]
        values += [""] * (len(fields) - len(values))
        missing = [f for f, v in zip(fields[:REQUIRED[tag]], values) if v == ""]
        if missing:
            col = fields.index(missing[0]) + 2
            bad(line, f"{tag} {missing[0]}", MISSING, f"a value in column {col}", col,
                f"{tag} row without {missing[0]} dropped")
            continue
        if tag == "#O":
            title = values[0] or title
        elif tag == "#A":
            aid = values[0]
            if aid in actors:
                if lenient:
                    notes.append(f"line {line}: actor {aid!r} defined again (first on line "
                                 f"{actors[aid]['line']}); its name taken from this row as decide does")
                    actors[aid]["name"] = values[1] or aid
                else:
                    out.add(line, "#A id", aid, f"a new actor id (already defined on line "
                            f"{actors[aid]['line']})", 2)
                continue
            actors[aid] = {"line": line, "name": values[1] or aid, "comment": values[2]}
        elif tag == "#P":
            iid = values[0]
            if iid in issues:
                if lenient:
                    notes.append(f"line {line}: issue {iid!r} defined again (first on line "
                                 f"{issues[iid]['line']}); ignored")
                else:
                    out.add(line, "#P id", iid, f"a new issue id (already defined on line "
                            f"{issues[iid]['line']})", 2)
                continue
            issues[iid] = {"line": line, "description": values[1]}
        elif tag == "#M":
            anchors.append((line, values))
        elif tag == "#D":
            stances.append((line, values))

    # scale anchors: an issue's scale is the range of its #M positions
    scale: dict[str, list] = {k: [] for k in issues}
    for line, (iid, raw, meaning) in anchors:
        pos = parse_float(raw, (probe := Collector(path)), line, "#M position", "a number", 3)
        if pos is None:
            bad(line, "#M position", raw, "a number", 3, "#M row with a non-numeric position dropped")
            continue
        if iid not in issues:
            bad(line, "#M issue", iid, f"an issue id defined by a #P row ({_ids(issues)})", 2,
                "#M row for an unknown issue ignored")
            continue
        scale[iid].append((pos, meaning, line))

    # stances
    parsed = []
    for line, (aid, iid, rpos, rsal, rpow, comment) in stances:
        probe = Collector(path)
        pos = parse_float(rpos, probe, line, "#D position", "a number", 4)
        sal = parse_float(rsal, probe, line, "#D salience", "a number", 5)
        pw = parse_float(rpow, probe, line, "#D power", "a number", 6)
        row_ok = True
        for p in probe.problems:
            bad(line, p.field, p.value, p.expected, p.column, f"#D row with {p.field} not a number dropped")
            row_ok = False
        if not row_ok:
            continue
        if sal is not None and not 0 <= sal <= DECIDE_MAX:
            bad(line, "#D salience", sal, "a salience in [0, 1]", 5,
                "#D row with salience outside [0, 100] dropped")
            continue
        if pw is not None and not 0 <= pw <= DECIDE_MAX:
            bad(line, "#D power", pw, "a power >= 0 (decide accepts [0, 100])", 6,
                "#D row with power outside [0, 100] dropped")
            continue
        if aid not in actors:
            bad(line, "#D actor", aid, f"an actor id defined by a #A row ({_ids(actors)})", 2,
                "#D row for an unknown actor dropped")
            continue
        if iid not in issues:
            bad(line, "#D issue", iid, f"an issue id defined by a #P row ({_ids(issues)})", 3,
                "#D row for an unknown issue dropped")
            continue
        parsed.append((line, aid, iid, pos, sal, pw))

    # scales (decide: min/max of the #M positions, 0-100 without any)
    issue_objs = []
    no_anchor: list[str] = []
    for iid, info in issues.items():
        pts = scale[iid]
        if pts:
            lo, hi = min(p for p, _, _ in pts), max(p for p, _, _ in pts)
            if not lo < hi:
                out.add(pts[0][2], "#M position", lo,
                        f"at least two different #M positions for issue {iid!r} (its scale)", 3)
        else:
            lo, hi = 0.0, 100.0
            no_anchor.append(iid)
        issue_objs.append(Issue(iid, info["description"] or iid, lo, hi,
                                anchors=tuple((p, m) for p, m, _ in pts),
                                extra={"line": info["line"]}))
    if no_anchor:
        notes.append(f"no #M rows for {', '.join(no_anchor)}: scale 0-100 as decide assumes")
    bounds = {x.id: (x.low, x.high) for x in issue_objs}

    # duplicates: decide lets the last row win
    seen: dict[tuple[str, str], int] = {}
    kept = []
    for row in parsed:
        line, aid, iid = row[:3]
        if (aid, iid) in seen:
            first = seen[(aid, iid)]
            if lenient:
                notes.append(f"line {line}: second #D row for {aid} on {iid} (first on line "
                             f"{first}); this one kept as decide does")
                kept = [r for r in kept if (r[1], r[2]) != (aid, iid)]
            else:
                out.add(line, "#D actor/issue", f"{aid}/{iid}",
                        f"one #D row per actor and issue (already on line {first})", 2)
                continue
        seen[(aid, iid)] = line
        kept.append(row)

    tolerated: set[str] = set()
    stance_objs: dict[tuple[str, str], Stance] = {}
    power: dict[str, dict[str, tuple[float, int]]] = {a: {} for a in actors}
    for line, aid, iid, pos, sal, pw in kept:
        lo, hi = bounds[iid]
        if not lo <= pos <= hi:
            if lenient:
                notes.append(f"line {line}: position {pos:g} of {aid} on {iid} is outside the "
                             f"scale [{lo:g}, {hi:g}]; kept as decide does")
                tolerated.add(f"{aid}.{iid}.position")
            else:
                out.add(line, "#D position", pos, f"a position on the scale [{lo:g}, {hi:g}] "
                        f"of issue {iid!r} (its #M rows)", 4)
        if sal > 1:
            if lenient:
                notes.append(f"line {line}: salience {sal:g} of {aid} on {iid} is above 1; "
                             "kept as decide does")
                tolerated.add(f"{aid}.{iid}.salience")
            else:
                out.add(line, "#D salience", sal, "a salience in [0, 1]", 5)
        stance_objs[(aid, iid)] = Stance(Quantity(pos, file=path, line=line),
                                         Quantity(sal, file=path, line=line))
        power[aid][iid] = (pw, line)
    out.raise_if_any()

    actor_objs = []
    for aid, info in actors.items():
        rows_ = power[aid]
        extra: dict = {"line": info["line"]}
        if info["comment"]:
            extra["comment"] = info["comment"]
        if rows_:
            first_pw, first_line = next(iter(rows_.values()))
            values = {v for v, _ in rows_.values()}
            if len(values) > 1:
                extra["power_by_issue"] = {k: v for k, (v, _) in rows_.items()}
                notes.append(f"actor {aid!r} has a different power on different issues; "
                             "capability = its first row's power, per-issue power in "
                             "extra['power_by_issue']")
            cap = Quantity(first_pw, file=path, line=first_line)
        else:
            cap = Quantity(0.0, file=path, line=info["line"])
            notes.append(f"actor {aid!r} has no #D rows: capability 0")
        actor_objs.append(Actor(aid, info["name"], cap, extra=extra))

    if lenient and dropped:
        notes.extend(f"dropped as decide does: {d}" for d in dropped)
    if not actor_objs or not issue_objs:
        last = max(1, text.text.rstrip("\n").count("\n") + 1)
        what = "no #A rows" if not actor_objs else "no #P rows"
        out.add(last, "rows", f"{what} up to the end of the file",
                "at least one actor (#A) and one issue (#P)")
    checker = _Tolerant(path, tolerated) if tolerated else out
    if tolerated:
        checker.problems = out.problems
    return finish(checker, path, text, "decide", id=Path(path).stem,
                  title=title or Path(path).stem, actors=actor_objs, issues=issue_objs,
                  stances=stance_objs, notes=notes)


def _ids(d) -> str:
    keys = list(d)
    text = ", ".join(keys[:8])
    return text + (", ..." if len(keys) > 8 else "")


def _name(delim: str) -> str:
    return {"\t": "tabs", ",": "commas", ";": "semicolons"}.get(delim, repr(delim))


def write(scenario, path: Path) -> None:
    """Tab-separated, unquoted; every issue gets #M rows so its scale survives."""
    from ...fileio import atomic_write

    def cell(x) -> str:
        return str(x).replace("\t", " ").replace("\n", " ")

    def num(x: float) -> str:
        return repr(float(x)) if float(x) != int(x) else str(int(x))

    lines = [f"#O\t{cell(scenario.title)}"]
    for a in scenario.actors:
        lines.append(f"#A\t{cell(a.id)}\t{cell(a.name)}\t{cell(a.extra.get('comment', ''))}")
    for x in scenario.issues:
        lines.append(f"#P\t{cell(x.id)}\t{cell(x.question)}")
        pts = list(x.anchors)
        if not pts or min(p for p, _ in pts) != x.low or max(p for p, _ in pts) != x.high:
            pts = [(x.low, "")] + pts + [(x.high, "")]
        for p, meaning in pts:
            lines.append(f"#M\t{cell(x.id)}\t{num(p)}\t{cell(meaning)}")
    for a in scenario.actors:
        per_issue = a.extra.get("power_by_issue", {})
        for x in scenario.issues:
            st = scenario.stances.get((a.id, x.id))
            if st is None:
                continue
            pw = per_issue.get(x.id, a.capability.value)
            lines.append(f"#D\t{cell(a.id)}\t{cell(x.id)}\t{num(st.position.value)}\t"
                         f"{num(st.salience.value)}\t{num(pw)}\t")
    atomic_write(path, "\n".join(lines) + "\n")


FORMAT = Format("decide", "decide-exchange-model input (#A/#P/#M/#D rows)",
                (".csv", ".txt", ".tsv"), _sniff, read, write)
