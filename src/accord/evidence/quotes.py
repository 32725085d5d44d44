"""Quote checking: does every quote of a scenario occur in the source it cites?

A quote matches when it occurs in the document after both are normalised (:func:`normalise`):
whitespace and line breaks collapse to one space; curly and straight quotation marks and
apostrophes are one mark; all dashes are one hyphen, without spaces around it; ``…`` is
``...`` and no space stands before ``. , ; : ! ?``; case is folded; soft hyphens and zero-width characters are dropped. An ellipsis in
the quote (``...``, ``…`` or ``[...]``) stands for left-out words: the parts must occur in
order, each close after the previous one. Nothing else is forgiven.

:func:`check` walks every quote of a scenario (base coding and views) and reports each one
that is not found, with the closest passage of the document as a hint, located at the line
of the scenario file where the quote was written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import MAX_PROBLEMS, MISSING, Problem, ScenarioError
from .store import Document, load_document

__all__ = ["normalise", "find_quote", "QuoteMatch", "check", "CheckReport", "MAX_GAP"]

MAX_GAP = 400
"""Most characters (normalised) that an ellipsis in a quote may stand for."""

_QUOTE_MARKS = "'\"‘’‚‛“”„‟′″‵‶«»‹›`´＂＇"
_DASHES = "-‐‑‒–—―−﹘﹣－⸺⸻"
_INVISIBLE = {"\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}
_MAP = {**{c: '"' for c in _QUOTE_MARKS}, **{c: "-" for c in _DASHES}}


class _Normalised:
    """Normalised text of some lines, with the (line, column) each character came from."""

    __slots__ = ("text", "line", "col", "lines", "first")

    def __init__(self, lines: Sequence[str], first: int = 1):
        self.first = first
        self.lines = [unicodedata.normalize("NFC", s) for s in lines]
        out: list[str] = []
        line_of: list[int] = []
        col_of: list[int] = []
        pending: tuple[int, int] | None = None  # position of a whitespace run not yet written
        after_dash = False
        for k, text in enumerate(self.lines):
            lineno = first + k
            for c, ch in enumerate(text):
                if ch in _INVISIBLE:
                    continue
                if ch.isspace():
                    pending = pending or (lineno, c)
                    continue
                tok = _MAP.get(ch)
                if tok is None:
                    tok = unicodedata.normalize("NFKC", ch).casefold()
                    tok = "".join(_MAP.get(t, t) for t in tok)
                for t in tok:
                    if t.isspace():
                        pending = pending or (lineno, c)
                        continue
                    if t == "-":
                        pending = None
                        if out and out[-1] == " ":
                            out.pop(), line_of.pop(), col_of.pop()
                        if out and out[-1] == "-":
                            after_dash = True
                            continue
                    elif t == '"' and out and out[-1] == '"' and pending is None:
                        continue
                    elif t in ".,;:!?" and pending is not None:
                        pending = None  # "word ." / ". . ." / "time ..." -> no space
                    if pending is not None and out and not after_dash:
                        out.append(" ")
                        line_of.append(pending[0])
                        col_of.append(pending[1])
                    pending = None
                    out.append(t)
                    line_of.append(lineno)
                    col_of.append(c)
                    after_dash = t == "-"
            if out:  # a line break is whitespace
                pending = pending or (lineno, len(text))
        self.text = "".join(out)
        self.line = line_of
        self.col = col_of

    def original(self, start: int, end: int) -> str:
        """The (NFC) source text behind normalised characters ``start:end``."""
        if end <= start:
            return ""
        l1, c1 = self.line[start] - self.first, self.col[start]
        l2, c2 = self.line[end - 1] - self.first, self.col[end - 1] + 1
        if l1 == l2:
            return self.lines[l1][c1:c2]
        parts = [self.lines[l1][c1:]] + self.lines[l1 + 1:l2] + [self.lines[l2][:c2]]
        return " ".join(p.strip() for p in parts)


def normalise(text: str) -> str:
    """The form quotes and documents are compared in.

    >>> normalise("Ukraine’s  “territorial\\nintegrity” — no…")
    'ukraine"s "territorial integrity"-no...'
    """
    return _Normalised(text.split("\n")).text


_ELLIPSIS = re.compile(r"\s*(?:\[\s*\.\.\.\s*\]|\(\s*\.\.\.\s*\)|\.{3,})\s*")


def _split_elisions(q: str) -> list[str]:
    return [p for p in _ELLIPSIS.split(q) if p.strip()]


@dataclass(frozen=True)
class QuoteMatch:
    """Where a quote occurs in a document, or the closest passage when it does not."""

    found: bool
    line: int | None = None
    """Document line where the quote starts (found) or the closest passage starts."""
    end_line: int | None = None
    score: float = 0.0
    """100 when found; otherwise the similarity (0-100) of the closest passage."""
    passage: str | None = None
    """The document's own text of the match or the closest passage."""
    elided: bool = False
    """True when the quote matched only with its ellipses standing for left-out words."""
    outside: int | None = None
    """When the search was restricted to a line range: a line outside it where the quote occurs."""

    def hint(self, width: int = 160) -> str:
        if self.found or self.line is None:
            return ""
        text = self.passage or ""
        if len(text) > width:
            text = text[:width - 1] + "…"
        return f"closest passage at line {self.line} (similarity {self.score:.0f}%): “{text}”"


def _locate(parts: list[str], hay: str) -> tuple[int, int] | None:
    """Start and end of the parts in order in hay, each within MAX_GAP of the previous."""
    first = parts[0]
    start = hay.find(first)
    while start >= 0:
        pos = start + len(first)
        ok = True
        for part in parts[1:]:
            nxt = hay.find(part, pos)
            if nxt < 0 or nxt - pos > MAX_GAP:
                ok = False
                break
            pos = nxt + len(part)
        if ok:
            return start, pos
        start = hay.find(first, start + 1)
    return None


def _as_lines(document: Document | Sequence[str] | str) -> list[str]:
    if isinstance(document, Document):
        return list(document.lines)
    if isinstance(document, str):
        return document.split("\n")
    return list(document)


def find_quote(quote: str, document: Document | Sequence[str] | str,
               lines: tuple[int, int] | None = None, *, _cache: dict | None = None
               ) -> QuoteMatch:
    """Find ``quote`` in ``document`` (a Document, its lines, or text), after normalising both.

    ``lines=(a, b)`` restricts the search to lines a..b (1-based, inclusive). The result gives
    the document line where the quote starts; when it does not occur, the closest passage
    (rapidfuzz partial-ratio alignment) and its line.

    >>> find_quote("the West has effectively lost", ["Intro.", "The West has", "effectively lost."]).line
    2
    """
    all_lines = _as_lines(document)
    first, last = (1, len(all_lines)) if lines is None else (int(lines[0]), int(lines[1]))
    key = (id(document), first, last)
    norm = _cache.get(key) if _cache is not None else None
    if norm is None:
        norm = _Normalised(all_lines[first - 1:last], first)
        if _cache is not None:
            _cache[key] = (norm, document)  # keep document alive so its id stays unique
    else:
        norm = norm[0]
    q = normalise(quote).strip()
    if not q:
        return QuoteMatch(False)
    hay = norm.text
    span, elided = None, False
    at = hay.find(q)
    if at >= 0:
        span = (at, at + len(q))
    else:
        parts = [p.strip() for p in _split_elisions(q)]
        if parts and (len(parts) > 1 or parts[0] != q):
            span = _locate(parts, hay)
            elided = span is not None
    if span is not None:
        return QuoteMatch(True, norm.line[span[0]], norm.line[span[1] - 1], 100.0,
                          norm.original(*span), elided)
    outside = None
    if lines is not None and (first > 1 or last < len(all_lines)):
        whole = find_quote(quote, all_lines)
        if whole.found:
            outside = whole.line
    if not hay:
        return QuoteMatch(False, outside=outside)
    from rapidfuzz import fuzz

    al = fuzz.partial_ratio_alignment(q, hay)
    a, b = al.dest_start, max(al.dest_end, al.dest_start + 1)
    b = min(b, len(hay))
    return QuoteMatch(False, norm.line[a], norm.line[b - 1], float(al.score),
                      norm.original(a, b), outside=outside)


# ---- checking a scenario -----------------------------------------------------------------

_VERIFIED_COLUMNS = ["field", "source", "quote", "document", "line", "end_line", "document_id",
                     "view", "scenario_file", "scenario_line", "elided"]


@dataclass
class CheckReport:
    """The outcome of :func:`check`.

    ``problems``: every quote not found, cited to the wrong analysis, or citing an unknown
    source or a missing document, each located in the scenario file. ``verified``: one row per
    (field, quote) found, with the document line where the quote starts.
    """

    problems: list[Problem]
    verified: Any  # pandas.DataFrame
    quotes: int = 0
    """Distinct quotes checked."""
    judgements: int = 0
    """Evidence items that are a coder's judgement only (no quote)."""
    corpus: str | None = None
    warnings: list[Problem] = field(default_factory=list)
    """Coding findings that do not fail the check (:mod:`accord.evidence.coding`)."""
    findings: list[Any] = field(default_factory=list)
    """Every coding finding (check name, severity, located problem)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_if_failed(self) -> None:
        """Raise one :class:`~accord.errors.ScenarioError` carrying every problem."""
        if self.problems:
            raise ScenarioError(self.problems[:MAX_PROBLEMS],
                                max(0, len(self.problems) - MAX_PROBLEMS))

    def summary(self) -> str:
        n = len(self.verified)
        return (f"{self.quotes} quotes checked, {n} (field, quote) pairs verified, "
                f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}, "
                f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}, "
                f"{self.judgements} judgement notes")


def _corpus_dir(scenario, corpus_dir) -> Path | None:
    if corpus_dir is not None:
        return Path(corpus_dir)
    corpus = scenario.corpus
    if corpus:
        return Path(corpus)
    if scenario.path:
        p = Path(scenario.path)
        return p if p.is_dir() else p.parent
    return None


def _view_of(scenario) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for v in scenario.views.values():
        for q in v.capability.values():
            out[id(q)] = v
        for st in v.stances.values():
            if st is not None:
                out[id(st.position)] = v
                out[id(st.salience)] = v
    return out


def _fmt_lines(lines) -> str:
    return f", lines {lines[0]}-{lines[1]}" if lines else ""


def _all_items(scenario):
    """(quantity, field) of the base coding, the views and the dated bases."""
    from ..scenario.model import Scenario
    from ..scenario.validate import all_quantities

    yield from all_quantities(scenario)
    for b in getattr(scenario, "bases", {}).values():
        shell = Scenario(id=scenario.id, title=scenario.title, actors=(), issues=(),
                         stances={}, views={b.id: b.cells})
        for q, fld in all_quantities(shell):
            yield q, "bases" + fld[len("views"):]


def check(scenario, corpus_dir: str | Path | None = None, coding: bool = True) -> CheckReport:
    """Verify every quote of ``scenario`` in its cited source document.

    Each source's ``file`` is read from ``corpus_dir`` (default: ``scenario.corpus``, else the
    scenario's own folder), restricted to the source's ``lines`` when given. A quote in a view
    must cite the view's own source. With ``coding`` (default), the coding checks of
    :mod:`accord.evidence.coding` run too: their errors join ``problems``, their warnings go to
    ``warnings``. Returns a :class:`CheckReport`; call ``.raise_if_failed()`` to turn its
    problems into one ScenarioError.
    """
    import pandas as pd

    corpus = _corpus_dir(scenario, corpus_dir)
    default_file = str(scenario.path) if scenario.path else f"<scenario {scenario.id}>"
    problems: list[Problem] = []
    rows: list[dict] = []
    view_of = _view_of(scenario)
    docs: dict[str, Document | None] = {}  # source id -> document (None: unusable)
    cache: dict = {}
    results: dict[tuple, QuoteMatch | None] = {}
    judgements = 0
    seen_judgement: set[tuple] = set()
    reported: set[str] = set()

    def load(src_id: str, where: tuple[str, int | None]) -> Document | None:
        if src_id in docs:
            return docs[src_id]
        src = scenario.sources[src_id]
        doc = None
        if not src.file:
            problems.append(Problem(where[0], where[1], f"sources.{src_id}.file", MISSING,
                                    "the file of the source (relative to the corpus folder), "
                                    "needed to check its quotes"))
        else:
            path = Path(src.file)
            if not path.is_absolute():
                path = corpus / path if corpus is not None else None
            if path is None or (corpus is not None and not corpus.is_dir()
                                and not Path(src.file).is_absolute()):
                if "corpus" not in reported:
                    reported.add("corpus")
                    problems.append(Problem(
                        where[0], where[1], "corpus", MISSING if corpus is None else str(corpus),
                        f"an existing corpus folder holding the sources' files (corpus: in the "
                        f"scenario, or --corpus); needed for {src.file!r}"))
            elif not path.is_file():
                problems.append(Problem(where[0], where[1], f"sources.{src_id}.file", src.file,
                                        f"a file in the corpus folder {corpus}"
                                        if corpus is not None else "an existing file"))
            else:
                try:
                    doc = load_document(path, src.file)
                except ScenarioError as err:
                    problems.extend(err.problems)
                else:
                    rng = src.lines
                    if rng is not None:
                        a, b = rng
                        if not (1 <= a <= b <= len(doc.lines)):
                            problems.append(Problem(
                                where[0], where[1], f"sources.{src_id}.lines", list(rng),
                                f"[first, last] with 1 <= first <= last <= {len(doc.lines)} "
                                f"(the lines of {src.file})"))
                            doc = None
        docs[src_id] = doc
        return doc

    for q, fld in _all_items(scenario):
        view = view_of.get(id(q))
        if view is None and fld.startswith("views."):
            view = scenario.views.get(fld.split(".")[1])
        for ev in q.evidence:
            efile = ev.file or q.file or default_file
            eline = ev.line if ev.line is not None else q.line
            if ev.quote is None:
                if ev.judgement:
                    k = (efile, eline, ev.judgement)
                    if k not in seen_judgement:
                        seen_judgement.add(k)
                        judgements += 1
                continue
            src_id = ev.source if ev.source is not None else (view.source if view else None)
            key = (efile, eline, src_id, ev.quote, view.id if view else None)
            if key not in results:
                results[key] = _check_one(scenario, ev.quote, src_id, view, fld, efile, eline,
                                          problems, load, cache)
            match = results[key]
            wrong = view is not None and view.source is not None and src_id != view.source
            if match is not None and match.found and not wrong:
                src = scenario.sources[src_id]
                doc = docs[src_id]
                rows.append({"field": fld, "source": src_id, "quote": ev.quote,
                             "document": src.file, "line": match.line,
                             "end_line": match.end_line, "document_id": doc.id,
                             "view": view.id if view else None, "scenario_file": efile,
                             "scenario_line": eline, "elided": match.elided})
    verified = pd.DataFrame(rows, columns=_VERIFIED_COLUMNS)
    findings: list = []
    warnings: list[Problem] = []
    if coding:
        from .coding import coding_checks

        for src_id in scenario.sources:
            if src_id not in docs and scenario.sources[src_id].file:
                load(src_id, (default_file, None))
        findings = coding_checks(scenario, docs, cache)
        problems.extend(f.problem for f in findings if f.severity == "error")
        warnings = [f.problem for f in findings if f.severity == "warning"]
    return CheckReport(problems, verified, len(results), judgements,
                       str(corpus) if corpus is not None else None, warnings, findings)


def _check_one(scenario, quote: str, src_id: str | None, view, fld: str, efile: str,
               eline: int | None, problems: list[Problem], load, cache) -> QuoteMatch | None:
    where = (efile, eline)
    if src_id is None:
        problems.append(Problem(efile, eline, f"{fld}.evidence.source", MISSING,
                                "the id of the source the quote is from (source: ...)"))
        return None
    if src_id not in scenario.sources:
        known = ", ".join(scenario.sources) or "none declared"
        problems.append(Problem(efile, eline, f"{fld}.evidence.source", src_id,
                                f"a source id declared under sources ({known})"))
        return None
    wrong = view is not None and view.source is not None and src_id != view.source
    doc = load(src_id, where)
    if doc is None:
        return None
    src = scenario.sources[src_id]
    rng = src.lines
    if not normalise(quote).strip():
        problems.append(Problem(efile, eline, f"{fld}.evidence.quote", quote,
                                "a non-empty verbatim quote"))
        return None
    match = find_quote(quote, doc, rng, _cache=cache)
    if wrong:
        own = ""
        if view.source in scenario.sources:
            own_doc = load(view.source, where)
            if own_doc is not None:
                own_match = find_quote(quote, own_doc,
                                       scenario.sources[view.source].lines,
                                       _cache=cache)
                own = (f"; the quote is in {view.source!r} at line {own_match.line}"
                       if own_match.found else "")
        problems.append(Problem(
            efile, eline, f"{fld}.evidence.source", src_id,
            f"the view's own source {view.source!r}: view {view.id!r} codes that analysis, so "
            f"a quote from {src_id!r} is cited to the wrong analysis{own}"))
    if not match.found:
        expected = (f"a verbatim quote from source {src_id!r} ({src.file}{_fmt_lines(rng)})")
        if match.outside is not None:
            expected += (f"; it occurs at line {match.outside}, outside the source's lines "
                         f"{rng[0]}-{rng[1]}")
        elif match.line is not None:
            expected += "; " + match.hint()
        problems.append(Problem(efile, eline, f"{fld}.evidence.quote", quote, expected))
    return match
