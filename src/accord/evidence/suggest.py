"""Suggest, for each cell (actor × issue) of a coding, the sentences of a source that speak to it.

A coder reading a 5,000-word analysis for ten actors and ten issues needs to know where to look.
Every sentence of the source is one row of an in-memory SQLite FTS5 table (the tokenizer of
the evidence store), and each cell asks two BM25 questions: how strongly does a sentence speak
to the *issue* (its question, its anchors' labels and its id), and how strongly to the *actor*
(its id, its name and the synonyms the analyst gives, e.g. "Kremlin" and "Putin" for Russia).
A sentence must speak to the issue; its score is the sum of both BM25 scores, so a sentence
naming the actor and the issue ranks above one naming only the issue. Actors' names are not
issue words (else "Ukraine", in most anchors, would tie every sentence naming Ukraine to every
issue), and a sentence far below the cell's best (:data:`RELATIVE_CUTOFF`) is not shown.

Example::

    >>> from accord.evidence.store import Document
    >>> doc = Document("x", "a.txt", "text", "", ("Kyiv wants NATO membership.", "",
    ...     "Moscow demands a ban on NATO membership. Prices rose."))
    >>> [s.text for s in suggest_cell(split_sentences(doc), ["NATO membership ban"], ["Russia", "Moscow"])]
    ['Moscow demands a ban on NATO membership.']
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from .store import Document

__all__ = ["Sentence", "Suggestion", "split_sentences", "suggest_cell", "suggest",
           "actor_terms", "issue_terms", "STOPWORDS"]

STOPWORDS = frozenset("""
a an and are as at be been but by can could do does for from has have if in into is it its
not no of on or our so than that the their them then there these they this to up was we were
what when which while who will with would all any more most other some such only own same
after before over under about between both each few how just very also because should through
during again further here once out off why where being having his her one two new non kept
""".split())
"""Words too common to say what a sentence is about; dropped from the queries."""

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-Ý])")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Sentence:
    """One sentence of a document and the file line where it starts."""

    line: int
    text: str


@dataclass(frozen=True)
class Suggestion:
    """A sentence suggested for a cell, with its BM25 scores (higher is better)."""

    line: int
    text: str
    score: float
    issue_score: float
    actor_score: float


def split_sentences(document: Document, lines: tuple[int, int] | None = None) -> list[Sentence]:
    """The sentences of ``document`` (restricted to ``lines=(first, last)``), each with its line.

    Lines are joined within a paragraph (a blank line ends one), so a sentence broken over
    lines is one sentence, located at the line where it starts.
    """
    first, last = (1, len(document.lines)) if lines is None else lines
    out: list[Sentence] = []
    para: list[tuple[int, str]] = []

    def flush() -> None:
        if not para:
            return
        text, starts = "", []  # starts: (offset in text, line)
        for ln, piece in para:
            if text:
                text += " "
            starts.append((len(text), ln))
            text += piece
        pos = 0
        for part in _SENTENCE_END.split(text):
            at = text.find(part, pos)
            pos = at + len(part)
            line = max(ln for off, ln in starts if off <= at) if at >= 0 else starts[0][1]
            if _WORD.search(part):
                out.append(Sentence(line, part.strip()))
        para.clear()

    for k in range(first, last + 1):
        raw = document.lines[k - 1].strip()
        if not raw:
            flush()
        else:
            para.append((k, raw))
    flush()
    return out


def _words(texts: Iterable[str]) -> set[str]:
    return {w.lower() for t in texts for w in _WORD.findall(t or "")}


def _terms(texts: Iterable[str], prefix: bool = False, drop: frozenset[str] = frozenset()
           ) -> list[str]:
    seen: dict[str, None] = {}
    for t in texts:
        for w in _WORD.findall(t or ""):
            w = w.lower()
            if w in STOPWORDS or len(w) < 3 or w.isdigit() or w in drop:
                continue
            seen.setdefault(f'"{w}"*' if prefix else f'"{w}"', None)
    return list(seen)


def issue_terms(issue) -> list[str]:
    """The words a sentence about ``issue`` is likely to use: id, question, anchors' labels."""
    return [issue.id.replace("_", " "), issue.question, *(label for _, label in issue.anchors)]


def actor_terms(actor, synonyms: Sequence[str] = ()) -> list[str]:
    """The names a sentence about ``actor`` uses: id, name, and the analyst's synonyms."""
    return [actor.id.replace("_", " "), actor.name, *synonyms]


def _scores(con: sqlite3.Connection, terms: list[str]) -> dict[int, float]:
    if not terms:
        return {}
    rows = con.execute("SELECT rowid, bm25(s) FROM s WHERE s MATCH ?", (" OR ".join(terms),))
    return {int(r): -float(score) for r, score in rows}


def _table(sentences: Sequence[Sentence]) -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE s USING fts5(text, tokenize = 'porter unicode61 "
                "remove_diacritics 2')")
    con.executemany("INSERT INTO s(rowid, text) VALUES (?, ?)",
                    ((k, s.text) for k, s in enumerate(sentences)))
    return con


RELATIVE_CUTOFF = 0.3
"""A suggestion scoring below this share of the cell's best sentence is noise, not shown."""


def _rank(con, sentences, issue_words, actor_words, limit, drop=frozenset()) -> list[Suggestion]:
    si = _scores(con, _terms(issue_words, drop=drop))
    sa = _scores(con, _terms(actor_words, prefix=True))
    total = {k: si[k] + sa.get(k, 0.0) for k in si}
    ranked = sorted(total, key=lambda k: (-total[k], sentences[k].line, k))
    if ranked:
        floor = RELATIVE_CUTOFF * total[ranked[0]]
        ranked = [k for k in ranked if total[k] >= floor]
    return [Suggestion(sentences[k].line, sentences[k].text, round(total[k], 6),
                       round(si[k], 6), round(sa.get(k, 0.0), 6)) for k in ranked[:limit]]


def suggest_cell(sentences: Sequence[Sentence], issue_words: Sequence[str],
                 actor_words: Sequence[str], limit: int = 3) -> list[Suggestion]:
    """The ``limit`` best sentences for one cell (see the module docstring for the score)."""
    with closing(_table(sentences)) as con:
        return _rank(con, sentences, issue_words, actor_words, limit,
                     frozenset(_words(actor_words)))


def suggest(scenario, document: Document, *, lines: tuple[int, int] | None = None,
            synonyms: Mapping[str, Sequence[str]] | None = None, limit: int = 3
            ) -> dict[tuple[str, str], list[Suggestion]]:
    """Suggestions for every (actor, issue) cell of ``scenario`` from one source document."""
    sentences = split_sentences(document, lines)
    synonyms = synonyms or {}
    out: dict[tuple[str, str], list[Suggestion]] = {}
    names = {a.id: actor_terms(a, synonyms.get(a.id, ())) for a in scenario.actors}
    # actors' names say who, not what: "Ukraine" in every anchor would rank every sentence
    # naming Ukraine for every issue
    drop = frozenset(w for words in names.values() for w in _words(words))
    with closing(_table(sentences)) as con:
        for actor in scenario.actors:
            for issue in scenario.issues:
                out[(actor.id, issue.id)] = _rank(con, sentences, issue_terms(issue),
                                                  names[actor.id], limit, drop)
    return out
