"""Shared reading steps: bytes to text with located complaints, numbers, delimited rows."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from ...errors import Collector, ScenarioError

MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Text:
    """A decoded file: text with LF line endings, plus what the decoding noticed."""

    path: str
    text: str
    sha256: str
    notes: tuple[str, ...]


def read_text(path: str | Path, data: bytes | None = None) -> Text:
    """Decode UTF-8 (with or without BOM; CR-only and CRLF line endings normalised).

    Binary junk and undecodable bytes are located errors, never a UnicodeDecodeError.
    """
    path = str(path)
    out = Collector(path)
    if data is None:
        try:
            with open(path, "rb") as fh:
                # read(n) allocates n bytes up front: ask for the file's size, not the maximum
                size = os.fstat(fh.fileno()).st_size
                data = fh.read(size + 1 if 0 < size <= MAX_BYTES else MAX_BYTES + 1)
        except FileNotFoundError:
            raise out.fail(None, "file", path, "an existing file") from None
        except IsADirectoryError:
            raise out.fail(None, "file", path, "a file, not a folder") from None
        except OSError as exc:
            raise out.fail(None, "file", path, f"a readable file ({exc.strerror})") from None
    if len(data) > MAX_BYTES:
        raise out.fail(None, "file", f"{len(data)} bytes", f"at most {MAX_BYTES} bytes")
    notes = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        notes.append("byte-order mark removed")
    if not data.strip():
        raise out.fail(1, "file", "an empty file", "a scenario")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + data.count(b"\r", 0, nul) - data.count(b"\r\n", 0, nul) + 1
        raise out.fail(line, "file", "binary data (NUL byte)", "a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise out.fail(line, "encoding", data[exc.start:exc.start + 4],
                       "UTF-8 text") from None
    if "\r" in text:
        if "\r\n" not in text:
            notes.append("CR-only line endings read as line breaks")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Text(path, text, hashlib.sha256(data).hexdigest(), tuple(notes))


def parse_float(raw: Any, out: Collector, line: int | None, field: str,
                expected: str = "a number", column: int | None = None) -> float | None:
    """A finite float from text or a number; a located problem (and None) otherwise."""
    if isinstance(raw, bool):
        out.add(line, field, raw, expected, column)
        return None
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = str(raw).strip().strip("'\"").strip()
        try:
            value = float(text)
        except ValueError:
            out.add(line, field, raw, expected, column)
            return None
    if not math.isfinite(value):
        out.add(line, field, raw, expected, column)
        return None
    return value


def sniff_delimiter(sample: str, candidates: str = ",;\t") -> str:
    """The candidate delimiter that splits the first non-comment lines most consistently."""
    lines = [ln for ln in sample.split("\n")[:20] if ln.strip()]
    best, best_score = ",", -1.0
    for d in candidates:
        counts = [ln.count(d) for ln in lines]
        if not counts or max(counts) == 0:
            continue
        score = sum(counts) / len(counts) - (max(counts) - min(counts)) * 0.1
        if score > best_score:
            best, best_score = d, score
    return best


def rows(text: str, delimiter: str, quotechar: str = '"') -> Iterator[tuple[int, list[str]]]:
    """(1-based line, cells) for every non-blank line; cells stripped."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=quotechar,
                        skipinitialspace=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            cells = [text.split("\n")[start - 1]]
        line, start = start, reader.line_num + 1
        if cells and any(c.strip() for c in cells):
            yield line, [c.strip() for c in cells]


def guard(path: str, fn: Callable[[], Any]) -> Any:
    """Run a reader; any unexpected exception becomes a located ScenarioError, never a traceback."""
    try:
        return fn()
    except ScenarioError:
        raise
    except RecursionError:
        raise Collector(path).fail(None, "file", "nesting too deep", "a plain scenario file") from None
    except Exception as exc:  # noqa: BLE001 - the contract is: only ScenarioError escapes
        raise Collector(path).fail(None, "file", f"{type(exc).__name__}: {exc}"[:200],
                                   "a readable scenario file") from None


def finish(out: Collector, path: str, text: Text, fmt: str, *, id: str, title: str,
           actors, issues, stances, sources=None, views=None, as_of=None, description=None,
           notes=(), document=None, locate: Callable[[str], int | None] | None = None,
           **extra):
    """Assemble a Scenario, run the shared semantic checks, raise everything collected.

    ``extra`` are further Scenario fields (deals, events, ...) that the checks must see.
    ``locate(field) -> line`` finds the line of a problem the shared checks could not place
    (an issue's scale, say); without it, or where it finds nothing, the line is taken from
    the issue's or actors' own numbers.
    """
    from ..model import Scenario
    from ..validate import check_scenario

    for kind, items in (("actor", actors), ("issue", issues)):
        first: dict[str, Any] = {}
        for item in items:
            if item.id in first:
                line = _line_of(kind, item, stances)
                out.add(line, kind, item.id, f"unique {kind} ids (also on line "
                        f"{_line_of(kind, first[item.id], stances)})" if line else
                        f"unique {kind} ids")
            else:
                first[item.id] = item
    duplicates = any(p.field in ("actor", "issue") and p.expected.startswith("unique")
                     for p in out.problems)
    if duplicates:
        _place(out, actors, issues, stances, locate)
        out.raise_if_any()
    earlier = bool(out)
    try:
        sc = Scenario(id=id, title=title, actors=tuple(actors), issues=tuple(issues),
                      stances=stances, sources=sources or {}, views=views or {}, as_of=as_of,
                      description=description, path=path, format=fmt,
                      content_sha256=text.sha256, notes=tuple(text.notes) + tuple(notes),
                      document=document, **extra)
        check_scenario(sc, out)  # value checks too, so every problem is reported at once
    except Exception:  # noqa: BLE001 - only after earlier problems: report those
        if not earlier:
            raise
        sc = None
    _place(out, actors, issues, stances, locate)
    out.raise_if_any()
    return sc


def _line_of(kind: str, item: Any, stances) -> int | None:
    """The line where a reader met an actor (its capability) or an issue (its own line, its
    status quo, else its first stance)."""
    if kind == "actor":
        return item.capability.line
    line = (item.extra or {}).get("line")
    if line is None and item.status_quo_quantity is not None:
        line = item.status_quo_quantity.line
    if line is None:
        found = [st.position.line for (_, i), st in stances.items()
                 if i == item.id and st is not None and st.position.line is not None]
        line = min(found) if found else None
    return line


def _place(out: Collector, actors, issues, stances, locate) -> None:
    """Give a line to the problems collected without one, where the scenario knows it."""
    from dataclasses import replace

    by_id = None
    for k, p in enumerate(out.problems):
        if p.line is not None:
            continue
        line = locate(p.field) if locate is not None else None
        if line is None and p.field == "actors.capability":
            found = [a.capability.line for a in actors if a.capability.line is not None]
            line = min(found) if found else None
        elif line is None and p.field.startswith("issues."):
            if by_id is None:
                by_id = {x.id: x for x in issues}
            issue = by_id.get(p.field[len("issues."):].rsplit(".", 1)[0])
            line = None if issue is None else _line_of("issue", issue, stances)
        if line is not None:
            out.problems[k] = replace(p, line=line)
