"""Coding checks: does each number follow from its evidence? (`accord evidence check`)

The quote check (:mod:`accord.evidence.quotes`) proves that a quote occurs in its source. These
checks look at how the quote and the judgement are used, each reported with the scenario file
and line:

=========================  ========  =============================================================
check                      severity  why this severity
=========================  ========  =============================================================
``off-topic``              warning   the quote's sentence names neither the cell's actor nor its
                                     issue (nor a synonym from ``terms.yaml``). A warning: a
                                     sentence may speak of an actor by pronoun ("He said ...");
                                     a coder must then widen the quote or add the synonym.
``cut``                    error     the quote starts or ends mid-sentence without an ellipsis
                                     (``...``): a reader cannot see that words were left out,
                                     and the meaning may lie in them.
``later-base``             error     a view dated before the ``as_of`` of the base it inherits
                                     from: cells from a later time reach an earlier analysis.
``no-reason``              warning   a judgement note with no reason in it (no "because",
                                     "so", "=", "between", ... and fewer than six words). A
                                     heuristic, hence a warning.
``foreign``                error     a number coded from a text that is not the view's own
                                     source: a view's judgement that takes its number "from the
                                     base" or names another analysis, or a dated base quoting a
                                     text written after its ``as_of``.
=========================  ========  =============================================================

Synonyms: ``terms.yaml`` next to ``scenario.yaml``::

    actors:
      russia: [Russia, Moscow, Putin, Kremlin]
    issues:
      territory: [territor*, land, Donbas, Crimea]

A term matches whole words, case-insensitively; a term ending in ``*`` matches the start of a
word ("territor*" matches "territorial"). Every actor's id and name, every issue's id, and the actor names in
``synonyms.yaml`` (the file `accord view new` reads; prefix matches) also count as terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..errors import Problem

__all__ = ["Finding", "coding_checks", "load_terms", "CHECKS"]

CHECKS = ("off-topic", "cut", "later-base", "no-reason", "foreign")
SEVERITY = {"off-topic": "warning", "cut": "error", "later-base": "error",
            "no-reason": "warning", "foreign": "error"}

_REASON = re.compile(
    r"(\b(because|since|so|hence|therefore|thus|as|given|from|per|i\.e|e\.g|which|means|"
    r"implies|reads?|read as|between|than|if|when|where|until|by|for|with|without|but|not|"
    r"only|no|none|neither|nor|whose|who|against|toward|towards|after|before|unlike|like|"
    r"excludes?|includes?|anchor|puts|makes)\b|[=:;→(]|->|—)", re.I)
_END = ".!?"


@dataclass(frozen=True)
class Finding:
    check: str
    severity: str
    problem: Problem


def load_terms(scenario) -> dict[str, dict[str, list[str]]]:
    """Synonyms per actor and issue: ids, names and ``terms.yaml`` next to the scenario."""
    terms: dict[str, dict[str, list[str]]] = {"actors": {}, "issues": {}}
    for a in scenario.actors:
        words = [a.id.replace("_", " ")] + a.id.split("_") + [a.name]
        terms["actors"][a.id] = [w for w in words if w]
    for x in scenario.issues:
        terms["issues"][x.id] = [x.id.replace("_", " ")] + x.id.split("_")
    if scenario.path:
        p = Path(scenario.path)
        folder = p if p.is_dir() else p.parent
        syn = folder / "synonyms.yaml"      # actor names of `accord view new` (prefix match)
        if syn.is_file():
            import yaml

            for key, words in (yaml.safe_load(syn.read_text(encoding="utf-8")) or {}).items():
                if isinstance(words, list):
                    terms["actors"].setdefault(str(key), []).extend(f"{w}*" for w in words)
        f = folder / "terms.yaml"
        if f.is_file():
            import yaml

            data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
            for kind in ("actors", "issues"):
                for key, words in (data.get(kind) or {}).items():
                    terms[kind].setdefault(key, []).extend(str(w) for w in words or [])
    return terms


def _fields_ids(fld: str, actors: set[str], issues: set[str]) -> tuple[str | None, str | None]:
    parts = fld.split(".")
    actor = next((p for p in parts if p in actors), None)
    issue = next((p for p in parts if p in issues and p != actor), None)
    return actor, issue


def _sentence(hay: str, start: int, end: int, breaks: set[int]) -> tuple[int, int]:
    """Bounds of the sentence(s) around hay[start:end] (breaks: positions that start a paragraph)."""
    a = 0
    for m in re.finditer(r"[.!?]\"?(?= )", hay[:start]):
        a = m.end() + 1
    a = max([a] + [k for k in breaks if k <= start])
    m = re.compile(r"[.!?]\"?(?= |$)").search(hay, max(end - 1, start))
    b = m.end() if m else len(hay)
    b = min([b] + [k for k in breaks if k > end])
    return a, b


def _starts_sentence(hay: str, start: int, breaks: set[int], lo: int) -> bool:
    k = start
    while k > lo and hay[k - 1] in ' "(':
        k -= 1
    if k <= lo or k in breaks or start in breaks:
        return True
    return hay[k - 1] in _END


def _ends_sentence(hay: str, end: int, breaks: set[int], hi: int) -> bool:
    if end >= hi or end in breaks:
        return True
    if hay[end - 1] in _END or (hay[end - 1] in '")' and end >= 2 and hay[end - 2] in _END):
        return True
    k = end
    while k < hi and hay[k] in '")':
        k += 1
    return k >= hi or k in breaks or hay[k] in _END


def _has_term(text: str, words: Iterable[str]) -> bool:
    from .quotes import normalise

    for w in words:
        prefix = w.endswith("*")
        w = normalise(w.rstrip("*")).strip()
        tail = "" if prefix else r"(?![a-z0-9])"
        if w and re.search(r"(?<![a-z0-9])" + re.escape(w) + tail, text):
            return True
    return False


def coding_checks(scenario, docs: dict, cache: dict) -> list[Finding]:
    """Every coding finding of ``scenario`` (``docs``: source id -> Document or None)."""
    from ..scenario.bases import base_of
    from ..scenario.validate import all_quantities
    from .quotes import _ELLIPSIS, _Normalised, normalise

    findings: list[Finding] = []
    actors, issues = set(scenario.actor_ids), set(scenario.issue_ids)
    terms = load_terms(scenario)
    default_file = str(scenario.path) if scenario.path else f"<scenario {scenario.id}>"
    norm_cache: dict[str, tuple[Any, set[int]]] = {}

    def add(check: str, file, line, fld, value, expected) -> None:
        findings.append(Finding(check, SEVERITY[check], Problem(file, line, fld, value,
                                                                f"[{check}] {expected}")))

    def normalised(src_id: str):
        if src_id not in norm_cache:
            doc = docs.get(src_id)
            if doc is None:
                norm_cache[src_id] = None
            else:
                rng = scenario.sources[src_id].lines or (1, len(doc.lines))
                n = _Normalised(list(doc.lines)[rng[0] - 1:rng[1]], rng[0])
                breaks = {k for k in range(1, len(n.text)) if n.line[k] != n.line[k - 1]
                          and _para(doc.lines, n.line[k])}
                norm_cache[src_id] = (n, breaks)
        return norm_cache[src_id]

    # ---- which cells, from which coding ----------------------------------------------------
    cells = list(_cells(scenario, all_quantities))
    # ---- later-base: a view before its base --------------------------------------------------
    for v in scenario.views.values():
        bid, as_of = base_of(scenario, v.id)
        if v.date is not None and as_of is not None and v.date < as_of:
            add("later-base", v.file or default_file, v.line, f"views.{v.id}.date",
                v.date.isoformat(),
                f"a view dated on or after the as_of of the base it inherits from ({bid}, "
                f"{as_of}); add a base of the view's own time (bases/*.yaml, views: "
                f"[{v.id}]) so that nothing coded from a later text reaches it")
    source_dates = {sid: s.date for sid, s in scenario.sources.items()}
    names = _source_names(scenario)
    seen: set[tuple] = set()
    for q, fld, coding, view in cells:
        actor, issue = _fields_ids(fld, actors, issues)
        for ev in q.evidence:
            efile = ev.file or q.file or default_file
            eline = ev.line if ev.line is not None else q.line
            key = (efile, eline, fld.rsplit(".", 1)[0], ev.quote, ev.judgement)
            if key in seen:
                continue
            seen.add(key)
            if ev.judgement:
                j = ev.judgement
                if len(j.split()) < 6 or not _REASON.search(j):
                    add("no-reason", efile, eline, f"{fld}.judgement", j,
                        "a judgement note that gives its reason (why this number: the "
                        "anchor, the interpolation, what the text implies)")
                if view is not None:
                    other = _foreign_mention(j, view.source, names)
                    if other:
                        add("foreign", efile, eline, f"{fld}.judgement", j,
                            f"a number coded from the view's own source {view.source!r}; the "
                            f"note takes it from {other}")
            if ev.quote is None:
                continue
            src_id = ev.source or (view.source if view is not None else None)
            if coding is not None and src_id in source_dates:   # a dated base
                d = source_dates[src_id]
                if d is not None and coding[1] is not None and d > coding[1]:
                    add("foreign", efile, eline, f"{fld}.evidence.source", src_id,
                        f"a source dated on or before the base's as_of {coding[1]} ({src_id} "
                        f"is dated {d}: a later text cannot code an earlier base)")
            got = normalised(src_id) if src_id in scenario.sources else None
            if got is None:
                continue
            n, breaks = got
            qn = normalise(ev.quote).strip()
            parts = [p.strip() for p in _ELLIPSIS.split(qn) if p.strip()]
            if not parts:
                continue
            lead = bool(_ELLIPSIS.match(qn) and _ELLIPSIS.match(qn).start() == 0)
            trail = bool(re.search(r"(\.{3,}|\[\s*\.\.\.\s*\])\s*$", qn))
            first = n.text.find(parts[0])
            if first < 0:
                continue
            last_at = n.text.find(parts[-1], first) if len(parts) > 1 else first
            end = last_at + len(parts[-1])
            if not lead and not _starts_sentence(n.text, first, breaks, 0):
                add("cut", efile, eline, f"{fld}.evidence.quote", ev.quote[:70],
                    "a quote that starts at the start of a sentence, or marks the cut with "
                    "'...' (the words before it may carry the meaning)")
            elif not trail and not _ends_sentence(n.text, end, breaks, len(n.text)):
                add("cut", efile, eline, f"{fld}.evidence.quote", ev.quote[:70],
                    "a quote that ends at the end of a sentence, or marks the cut with '...' "
                    "(the words after it may carry the meaning)")
            if actor is None and issue is None:
                continue
            a, b = _sentence(n.text, first, end, breaks)
            sent = n.text[a:b]
            words_a = terms["actors"].get(actor, []) if actor else []
            words_i = terms["issues"].get(issue, []) if issue else []
            if not _has_term(sent, words_a + words_i):
                what = " nor ".join(x for x in (f"actor {actor!r}" if actor else "",
                                                 f"issue {issue!r}" if issue else "") if x)
                add("off-topic", efile, eline, f"{fld}.evidence.quote", ev.quote[:70],
                    f"a quote whose sentence names the cell's {what} (or a synonym listed in "
                    f"terms.yaml); the sentence is: \u201c{n.original(a, min(b, len(n.text)))[:140]}\u201d")
    return findings


def _para(lines, lineno: int) -> bool:
    """True when line ``lineno`` (1-based) starts a paragraph: the line before is blank, short
    (a heading) or ends a sentence. Hard-wrapped text keeps its sentences whole."""
    if lineno <= 1:
        return True
    prev = str(lines[lineno - 2]).strip()
    return not prev or len(prev) < 60 or prev[-1] in '.!?:"\u201d\u2019)'



def _source_names(scenario) -> dict[str, list[str]]:
    out = {}
    for sid, s in scenario.sources.items():
        names = [sid]
        if s.author and not s.author.startswith("("):
            names.append(s.author.split()[-1])
        out[sid] = names
    return out


def _foreign_mention(text: str, own: str | None, names: dict[str, list[str]]) -> str | None:
    low = text.lower()
    if re.search(r"\bfrom the (main )?base\b|\bthe base value\b|\bposition from the base", low):
        return "the base coding (another time's texts)"
    for sid, words in names.items():
        if sid == own:
            continue
        for w in words:
            if re.search(r"(?<![\w-])" + re.escape(w.lower()) + r"(?![\w-])", low):
                return f"the analysis {sid!r} ({w})"
    return None


def _cells(scenario, all_quantities):
    """(quantity, field, (base id, as_of) or None, view or None) for every coded number."""
    views_by_id = scenario.views
    for q, fld in all_quantities(scenario):
        view = None
        if fld.startswith("views."):
            view = views_by_id.get(fld.split(".")[1])
        yield q, fld, None, view
    for b in getattr(scenario, "bases", {}).values():
        from ..scenario.validate import all_quantities as aq
        from ..scenario.model import Scenario

        shell = Scenario(id=scenario.id, title=scenario.title, actors=(), issues=(),
                         stances={}, views={b.id: b.cells})
        for q, fld in aq(shell):
            yield q, "bases" + fld[len("views"):], (b.id, b.as_of), None
