"""`accord view new`: add a source to a scenario and scaffold a view to code it.

The five manual steps of a scenario's CODING.md become one call. The source text is copied
into the scenario's corpus (or found there), declared under ``sources:`` in ``scenario.yaml``
(lines are inserted; no byte the user wrote changes), indexed in the evidence store, and
``views/<id>.yaml`` is written with every cell listed as not yet coded, each with the
sentences of the text that BM25 ranks best for it (:mod:`accord.evidence.suggest`).

Every problem of the request is reported at once, and nothing is written unless all checks
pass. No existing file is replaced: new files are created exclusively, and if the scenario
does not validate afterwards, the changes made by this call are undone.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..errors import Collector, Problem, ScenarioError

__all__ = ["NewView", "new_view", "read_synonyms", "render_scaffold", "exclusive_write",
           "SYNONYMS_FILE"]

SYNONYMS_FILE = "synonyms.yaml"
"""Optional file beside ``scenario.yaml``: actor id -> other names texts use (Kremlin, Putin)."""

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class NewView:
    """What :func:`new_view` did."""

    view_file: Path
    source_id: str
    corpus_file: Path
    copied: bool
    """False when the corpus already held the same bytes (nothing copied)."""
    scenario_file: Path
    cells: int
    suggestions: Mapping[tuple[str, str], list] = field(default_factory=dict)
    db_path: Path | None = None


def exclusive_write(path: Path, text: str | bytes) -> None:
    """Write a NEW file atomically; refuse (FileExistsError) if ``path`` exists, even in a race.

    The text goes to a temporary file that is then hard-linked to ``path``: linking fails if
    the name is taken, so no reader sees half a file and nothing is replaced.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.link(tmp, path)
    finally:
        os.unlink(tmp)


def read_synonyms(path: Path, actor_ids: Sequence[str]) -> dict[str, list[str]]:
    """``synonyms.yaml`` (actor id -> list of names), every problem located."""
    from ..scenario.io._common import read_text
    from ..scenario.io.yaml_format import _parse, line_of

    text = read_text(path)
    out = Collector(text.path)
    doc = _parse(text, out)
    data = doc.data if doc is not None else None
    result: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise out.fail(1, "document", data, "a mapping: actor id -> list of other names")
    for actor, names in data.items():
        if str(actor) not in actor_ids:
            out.add(line_of(doc, (actor,)), str(actor), actor,
                    f"an actor id of the scenario ({', '.join(actor_ids)})")
        elif not isinstance(names, list) or not all(isinstance(n, str) and n.strip()
                                                    for n in names):
            out.add(line_of(doc, (actor,)), str(actor), names, "a list of names (text)")
        else:
            result[str(actor)] = [n.strip() for n in names]
    out.raise_if_any()
    return result


def _is_bundled(folder: Path) -> bool:
    """True for the package's own copy: a path through ``accord/bundled`` (a checkout links it
    to ``scenarios/``, which stays editable by its own path) or inside an installed package."""
    from ..scenario.load import _bundled_root

    root = Path(os.path.abspath(_bundled_root()))
    here = Path(os.path.abspath(folder))
    if here == root or root in here.parents:
        return True
    return any(part in ("site-packages", "dist-packages") for part in folder.resolve().parts)


def _store_root(db_path: Path) -> str | None:
    """The folder an existing evidence store indexes (None: no store there yet)."""
    import sqlite3
    from contextlib import closing

    if not Path(db_path).is_file():
        return None
    try:
        with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'root'").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _sources_insert(text: str, source_id: str, entry: list[str]) -> str:
    """``scenario.yaml`` text with ``entry`` lines added as the last item of ``sources:``."""
    lines = text.split("\n")
    start = next((k for k, ln in enumerate(lines) if re.match(r"^sources\s*:", ln)), None)
    if start is None:
        tail = "" if text.endswith("\n") else "\n"
        return text + tail + "sources:\n" + "\n".join("  " + e for e in entry) + "\n"
    if not re.match(r"^sources\s*:\s*(#.*)?$", lines[start]):
        raise ValueError("sources: is written inline (flow style); add the source by hand")
    last, indent = start, None
    for k in range(start + 1, len(lines)):
        ln = lines[k]
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        if not ln[0].isspace():
            break
        last = k
        if indent is None:
            indent = len(ln) - len(ln.lstrip())
    pad = " " * (indent or 2)
    new = [pad + e for e in entry]
    return "\n".join(lines[:last + 1] + new + lines[last + 1:])


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _fmt(x: float | None) -> str:
    return "-" if x is None or x != x else f"{x:g}"


def render_scaffold(scenario, view_id: str, source_id: str, *, title: str,
                    date: _dt.date | None, corpus_name: str,
                    lines: tuple[int, int] | None,
                    suggestions: Mapping[tuple[str, str], list]) -> str:
    """The text of ``views/<id>.yaml``: a valid, empty view plus every cell as a comment."""
    n_cells = len(scenario.actors) * len(scenario.issues)
    rng = f", lines {lines[0]}-{lines[1]}" if lines else ""
    out = [
        f"# View {view_id!r}: {title}",
        f"# Source {source_id!r}: {corpus_name}{rng}. Scaffolded by `accord view new`.",
        "# NOT YET CODED: every cell below inherits the base coding until you write it.",
        "# Code a cell by writing it under `actors:` (drop the `{}`), with the quote it rests on:",
        "#   russia:",
        "#     stances:",
        "#       territory: {position: 75, range: [65, 85], salience: 0.8, "
        "salience_range: [0.7, 0.9],",
        "#                   quote: \"the exact words of the text\", judgement: \"why this number\"}",
        "# or open the view in the coding workbench (`accord serve`, then Workbench).",
        f"view: {view_id}",
        f"source: {source_id}",
    ]
    if date is not None:
        out.append(f"date: {date.isoformat()}")
    out += [f"title: {_q(title)}", "actors: {}", "",
            "# ---- scales: the anchors a number is read against " + "-" * 30]
    for issue in scenario.issues:
        out.append(f"# {issue.id} [{_fmt(issue.low)}, {_fmt(issue.high)}]: {issue.question}")
        for x, label in issue.anchors:
            out.append(f"#   {_fmt(x)} = {label}")
    out += ["", f"# ---- cells: {n_cells} not yet coded "
                f"({len(scenario.actors)} actors x {len(scenario.issues)} issues), "
                f"each with the best passages of the source (BM25) " + "-" * 4]
    for actor in scenario.actors:
        out += ["", f"# {actor.id}: {actor.name}  (capability not yet coded; base "
                    f"{_fmt(actor.capability.value)})"]
        for issue in scenario.issues:
            st = scenario.stances.get((actor.id, issue.id))
            base = (f"base: position {_fmt(st.position.value)}, salience "
                    f"{_fmt(st.salience.value)}" if st is not None else "no stance in the base")
            out.append(f"#   {actor.id}.{issue.id}: not yet coded ({base})")
            found = suggestions.get((actor.id, issue.id), [])
            if not found:
                out.append("#     (no sentence of the source speaks to this issue)")
            for s in found:
                text = " ".join(s.text.split())
                if len(text) > 220:
                    text = text[:219] + "…"
                out.append(f"#     line {s.line} (BM25 {s.score:.1f}): {_q(text)}")
    return "\n".join(out) + "\n"


def new_view(scenario_dir: str | Path, source_file: str | Path, view_id: str, *,
             source_id: str | None = None, title: str | None = None,
             date: _dt.date | None = None, author: str | None = None,
             lines: tuple[int, int] | None = None, db_path: str | Path | None = None,
             synonyms: Mapping[str, Sequence[str]] | None = None, limit: int = 3) -> NewView:
    """Add ``source_file`` to the scenario at ``scenario_dir`` and scaffold ``views/<view_id>.yaml``.

    Raises :class:`~accord.errors.ScenarioError` with every problem found, before writing
    anything. ``db_path``: the evidence store to index the corpus into (skipped when None).
    """
    from ..evidence.store import SUFFIXES, index, load_document
    from ..evidence.suggest import suggest
    from ..scenario import io as sio
    from ..scenario.io._common import read_text

    folder = Path(scenario_dir)
    source_path = Path(source_file)
    source_id = source_id or view_id
    where = str(folder)
    problems: list[Problem] = []

    def bad(file: str, line: int | None, fld: str, value, expected: str) -> None:
        problems.append(Problem(file, line, fld, value, expected))

    main = folder / "scenario.yaml"
    from ..scenario.load import bundled, bundled_names

    if not folder.exists() and str(scenario_dir) in bundled_names():
        bad(where, None, "SCENARIO", str(scenario_dir),
            "an editable scenario folder, not the name of a bundled scenario: copy it first "
            f"(e.g. `cp -r {bundled(str(scenario_dir))} ./{scenario_dir}`) and run on the copy")
        raise ScenarioError(problems)
    if not folder.is_dir() or not main.is_file():
        bad(where, None, "SCENARIO", str(folder),
            "an editable scenario folder holding scenario.yaml (and views/)")
        raise ScenarioError(problems)
    if _is_bundled(folder):
        bad(where, None, "SCENARIO", str(folder),
            "an editable copy, not the copy bundled inside the installed package: copy the "
            f"folder first (e.g. `cp -r {folder} ./{folder.name}`) and run on the copy")
        raise ScenarioError(problems)
    scenario = sio.read(folder)  # a scenario that does not read is reported as it is
    for name, value in (("--id", view_id), ("--source-id", source_id)):
        if not _ID.match(value or ""):
            bad(where, None, name, value, "letters, digits, '.', '_' or '-', starting with a "
                                          "letter or digit")
    view_file = folder / "views" / f"{view_id}.yaml"
    if view_file.exists() or view_file.is_symlink():
        bad(str(view_file), None, "--id", view_id, "a view id without a file yet (nothing is "
                                                   "overwritten)")
    if view_id in scenario.views:
        bad(str(main), None, "--id", view_id,
            f"a new view id (taken: {', '.join(scenario.views)})")
    if source_id in scenario.sources:
        bad(str(main), None, "--source-id", source_id,
            f"a new source id (taken: {', '.join(scenario.sources)}); give --source-id")
    if not source_path.is_file():
        bad(str(source_path), None, "--source", str(source_path), "an existing text file")
    elif source_path.suffix.lower() not in SUFFIXES:
        bad(str(source_path), None, "--source", source_path.suffix,
            f"a file the evidence store reads ({', '.join(sorted(SUFFIXES))})")
    corpus = Path(scenario.corpus) if scenario.corpus else folder / "sources"
    if scenario.corpus and not corpus.is_dir():
        bad(str(main), None, "corpus", scenario.corpus, "an existing corpus folder")
    if synonyms is None and (folder / SYNONYMS_FILE).is_file():
        try:
            synonyms = read_synonyms(folder / SYNONYMS_FILE, scenario.actor_ids)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if db_path is not None:
        indexed = _store_root(Path(db_path))
        if indexed is not None and Path(indexed) != corpus.resolve():
            bad(str(db_path), None, "--db", str(db_path),
                f"a store of this scenario's corpus {corpus.resolve()} (this one indexes "
                f"{indexed}, and indexing would drop its documents); give another --db")
    if not os.access(main, os.W_OK):
        bad(str(main), None, "scenario.yaml", str(main), "a writable file (the source is "
                                                       "declared there)")
    if problems:
        raise ScenarioError(problems)

    doc = load_document(source_path)  # located error if not UTF-8
    # the corpus may already hold this text (same bytes): use it, copy nothing
    target, copied = None, True
    if corpus.is_dir():
        for p in sorted(corpus.rglob("*")):
            if p.is_file() and p.suffix.lower() in SUFFIXES and p.read_bytes() == \
                    source_path.read_bytes():
                target, copied = p, False
                break
    if target is None:
        target = corpus / source_path.name
        if target.exists():
            bad(str(target), None, "--source", source_path.name,
                "a file name not yet used in the corpus (a different file of that name is "
                "there; rename the text)")
        elif corpus.exists() and not os.access(corpus, os.W_OK):
            bad(str(corpus), None, "corpus", str(corpus),
                "a writable corpus folder (or put the text there yourself and run again)")
    n_lines = len(doc.lines)
    if lines is not None and not (1 <= lines[0] <= lines[1] <= n_lines):
        bad(str(source_path), None, "--lines", list(lines),
            f"FIRST-LAST with 1 <= FIRST <= LAST <= {n_lines}")
    rel = target.relative_to(corpus).as_posix()
    entry = [f"{source_id}:", f"  file: {_q(rel)}"]
    if lines is not None:
        entry.append(f"  lines: [{lines[0]}, {lines[1]}]")
    if author:
        entry.append(f"  author: {_q(author)}")
    entry.append(f"  title: {_q(title or source_path.stem)}")
    if date is not None:
        entry.append(f"  date: {date.isoformat()}")
    raw = main.read_bytes()
    try:
        original = raw.decode("utf-8")
    except UnicodeDecodeError:
        read_text(main)  # the reader's located message
        raise
    newline = "\r\n" if "\r\n" in original else "\n"
    try:
        new_main = _sources_insert(original.replace("\r\n", "\n"), source_id, entry)
        new_main = new_main.replace("\n", newline)  # the file's own line endings
    except ValueError as exc:
        bad(str(main), None, "sources", "inline mapping", str(exc))
    if problems:
        raise ScenarioError(problems)

    found = suggest(scenario, doc, lines=lines, synonyms=synonyms, limit=limit)
    text = render_scaffold(scenario, view_id, source_id, title=title or source_path.stem,
                           date=date, corpus_name=rel, lines=lines, suggestions=found)

    # write: corpus copy, scenario.yaml (lines added), the view; undo our own work on failure
    main_bytes = main.read_bytes()
    done: list = []
    try:
        if copied:
            exclusive_write(target, source_path.read_bytes())
            done.append(("file", target))
        from ..fileio import atomic_write

        atomic_write(main, new_main.encode("utf-8"))
        done.append(("main", main))
        exclusive_write(view_file, text)
        done.append(("file", view_file))
        sio.read(folder)  # the result must read
        if db_path is not None:
            index(corpus, db_path)
    except BaseException:
        for kind, p in reversed(done):
            if kind == "file":
                p.unlink(missing_ok=True)
            else:
                from ..fileio import atomic_write

                atomic_write(p, main_bytes)
        raise
    return NewView(view_file, source_id, target, copied, main, len(found), found,
                   Path(db_path) if db_path is not None else None)
