"""A local document store for the sources a scenario quotes: SQLite FTS5, ranked by BM25.

``index(directory, db_path)`` reads every plain-text, HTML and Markdown file under a folder,
turns each into lines of plain text *with the line numbers of the file* (HTML tags and Markdown
markup are removed, never lines), cuts the lines into passages and stores them in one SQLite
file. ``search(db_path, query)`` ranks passages by BM25.

Document ids are stable: the same file name with the same bytes gives the same id on every
machine (see :func:`document_id`).

Crash safety: the store runs in WAL mode and every ``index`` call is one transaction, so a
writer killed at any moment leaves the store as it was before the call (SQLite rolls the
transaction back on the next open) and readers never see half of a rebuild.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.txt").write_text("Peace talks stalled.\\n\\nSecurity guarantees for Kyiv.\\n")
>>> report = index(d, d / "store.db")
>>> [(p.file, p.line_start) for p in search(d / "store.db", "guarantees")]
[('a.txt', 3)]
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from html.parser import HTMLParser
from html import unescape
from pathlib import Path
from typing import Callable, Sequence

from ..errors import Collector, Problem, ScenarioError

__all__ = ["Document", "Passage", "IndexReport", "SUFFIXES", "document_id", "load_document",
           "parse_text", "index", "search", "documents", "get_document", "verify_store"]

SCHEMA_VERSION = 1

SUFFIXES: dict[str, str] = {
    ".txt": "text", ".text": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
}
"""File suffixes the store reads, and the format each is read as."""

PASSAGE_WORDS = 120
"""Target length of a passage in words; passages are cut at line (or sentence) boundaries."""


# ---- documents ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Document:
    """One source file as plain text: ``lines[k]`` is line ``k + 1`` of the file."""

    id: str
    file: str
    """The path relative to the indexed folder (POSIX separators), or the name given."""
    format: str
    sha256: str
    """SHA-256 of the file's bytes."""
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def line_range(self, first: int, last: int) -> str:
        """Lines ``first``..``last`` (1-based, inclusive), joined by newlines."""
        return "\n".join(self.lines[first - 1:last])


def document_id(file: str, sha256: str) -> str:
    """Stable id of a document: 16 hex digits of SHA-256 over its file name and content hash.

    The same name with the same bytes always gives the same id; an edited file gets a new id.
    """
    return hashlib.sha256(f"{file}\n{sha256}".encode("utf-8")).hexdigest()[:16]


def _decode(data: bytes, name: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ScenarioError([Problem(name, line, "encoding", data[exc.start:exc.start + 4],
                                     "UTF-8 text")]) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_text(text: str, fmt: str) -> list[str]:
    """The plain-text lines of ``text`` read as ``fmt`` ('text', 'markdown' or 'html').

    The result has one entry per line of the input, so line numbers stay those of the file.
    """
    raw = text.split("\n")
    if len(raw) > 1 and raw[-1] == "":
        raw.pop()  # the newline that ends the last line does not start another
    if fmt == "text":
        return raw
    if fmt == "html":
        return _html_lines(text, len(raw))
    if fmt == "markdown":
        return _markdown_lines(text, len(raw))
    raise ValueError(f"unknown document format {fmt!r}; expected one of text, markdown, html")


def load_document(path: str | Path, name: str | None = None, fmt: str | None = None) -> Document:
    """Read one file as a :class:`Document` (format from its suffix unless ``fmt`` is given)."""
    path = Path(path)
    name = name if name is not None else path.name
    if fmt is None:
        fmt = SUFFIXES.get(path.suffix.lower(), "text")
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    lines = parse_text(_decode(data, name), fmt)
    return Document(document_id(name, sha), name, fmt, sha, tuple(lines))


# ---- HTML --------------------------------------------------------------------------------

_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "math"}
_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div",
    "dl", "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
    "tbody", "td", "tfoot", "th", "thead", "title", "tr", "ul",
}


class _HTMLText(HTMLParser):
    """Collects text by source line: ``getpos()`` gives the line where each piece starts."""

    def __init__(self, n_lines: int):
        super().__init__(convert_charrefs=False)
        self.parts: list[list[str]] = [[] for _ in range(n_lines)]
        self.skip = 0

    def _put(self, text: str, split_newlines: bool = True) -> None:
        line = self.getpos()[0] - 1
        pieces = text.split("\n") if split_newlines else [text.replace("\n", " ")]
        for k, piece in enumerate(pieces):
            if line + k < len(self.parts):
                self.parts[line + k].append(piece)

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag in _BLOCK_TAGS:
            self._put(" ", False)
        elif tag == "img" and not self.skip:
            alt = dict(attrs).get("alt")
            if alt:
                self._put(f" {alt} ", False)

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCK_TAGS:
            self._put(" ", False)
        elif tag == "img" and not self.skip:
            alt = dict(attrs).get("alt")
            if alt:
                self._put(f" {alt} ", False)

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self._put(" ", False)

    def handle_data(self, data):
        if not self.skip:
            self._put(data)

    def handle_entityref(self, name):
        if not self.skip:
            self._put(unescape(f"&{name};"), False)

    def handle_charref(self, name):
        if not self.skip:
            self._put(unescape(f"&#{name};"), False)


_WS = re.compile(r"\s+")


def _html_lines(text: str, n_lines: int) -> list[str]:
    parser = _HTMLText(n_lines)
    parser.feed(text)
    parser.close()
    return [_WS.sub(" ", "".join(p)).strip() for p in parser.parts]


# ---- Markdown ----------------------------------------------------------------------------

def _markdown_lines(text: str, n_lines: int) -> list[str]:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    parts: list[list[str]] = [[] for _ in range(n_lines)]

    def put(line: int, piece: str) -> None:
        if 0 <= line < n_lines:
            parts[line].append(piece)

    for tok in md.parse(text):
        if tok.map is None:
            continue
        start = tok.map[0]
        if tok.type == "inline":
            line = start
            for child in tok.children or ():
                if child.type in ("softbreak", "hardbreak"):
                    line += 1
                elif child.type in ("text", "code_inline", "image"):
                    put(line, child.content)
                elif child.type == "html_inline":
                    line += child.content.count("\n")
            put(start, " ")  # table cells on one line
        elif tok.type in ("fence", "code_block"):
            first = start + 1 if tok.type == "fence" else start
            for k, piece in enumerate(tok.content.rstrip("\n").split("\n")):
                put(first + k, piece)
        elif tok.type == "html_block":
            for k, piece in enumerate(_html_lines(tok.content, tok.content.count("\n") + 1)):
                put(start + k, piece)
    return [_WS.sub(" ", "".join(p)).strip() for p in parts]


# ---- passages ----------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")


def _passages(lines: Sequence[str], target: int = PASSAGE_WORDS) -> list[tuple[int, int, str]]:
    """Cut lines into passages ``(first_line, last_line, text)`` (1-based lines).

    A blank line ends a passage; consecutive lines are joined until about ``target`` words;
    a single line much longer than that is cut into runs of whole sentences.
    """
    out: list[tuple[int, int, str]] = []
    buf: list[str] = []
    first = 0
    words = 0

    def flush(last: int) -> None:
        nonlocal buf, words
        if buf:
            out.append((first, last, " ".join(buf)))
        buf, words = [], 0

    for k, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            flush(k - 1)
            continue
        n = len(line.split())
        if n > 2 * target:
            flush(k - 1)
            chunk: list[str] = []
            count = 0
            for sentence in _SENTENCE_END.split(line):
                chunk.append(sentence)
                count += len(sentence.split())
                if count >= target:
                    out.append((k, k, " ".join(chunk)))
                    chunk, count = [], 0
            if chunk:
                out.append((k, k, " ".join(chunk)))
            continue
        if not buf:
            first = k
        buf.append(line)
        words += n
        if words >= target:
            flush(k)
    flush(len(lines))
    return out


# ---- the store ---------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents(
    id TEXT PRIMARY KEY,
    file TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    n_lines INTEGER NOT NULL,
    n_passages INTEGER NOT NULL
);
CREATE TABLE lines(
    doc_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (doc_id, line)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE passages USING fts5(
    text, doc_id UNINDEXED, line_start UNINDEXED, line_end UNINDEXED,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
"""


def _connect(db_path: str | Path, write: bool) -> sqlite3.Connection:
    db_path = Path(db_path)
    if not write and not db_path.exists():
        raise FileNotFoundError(f"{db_path}: no evidence store here; build one with "
                                f"`accord evidence index DIR`")
    if write:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(db_path), timeout=30.0, isolation_level=None)
    try:
        if not write and _schema_version(con) != SCHEMA_VERSION:
            raise ValueError(f"{db_path}: not an accord evidence store (or an older one); "
                             f"rebuild it with `accord evidence index DIR`")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
    except BaseException:
        con.close()
        raise
    return con


def _schema_version(con: sqlite3.Connection) -> int | None:
    has_meta = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
    if not has_meta:
        return None
    row = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else None


@dataclass(frozen=True)
class IndexReport:
    """What one ``index`` call did. ``documents`` lists (id, file, format, lines, passages)."""

    db_path: str
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]
    documents: tuple[tuple[str, str, str, int, int], ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def _walk(directory: Path, skip: set[Path]) -> list[Path]:
    files = []
    for p in sorted(directory.rglob("*")):
        rel = p.relative_to(directory)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.is_file() and p.suffix.lower() in SUFFIXES and p.resolve() not in skip:
            files.append(p)
    return files


def index(directory: str | Path, db_path: str | Path, *, rebuild: bool = False,
          progress: Callable[[int, int, str], None] | None = None) -> IndexReport:
    """Make the store at ``db_path`` hold exactly the documents under ``directory``.

    Reads ``*.txt``, ``*.md``, ``*.html`` (see :data:`SUFFIXES`) recursively, skipping hidden
    files and folders. Unchanged documents (same id) are kept; changed, new and removed ones are
    updated. ``rebuild=True`` drops and rebuilds everything. The whole call is one transaction:
    if it fails or the process dies, the store is left as it was.

    ``progress(done, total, file)`` is called after each document is read (for progress bars).
    Raises :class:`~accord.errors.ScenarioError` (nothing written) if a file is not UTF-8.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ScenarioError([Problem(str(directory), None, "directory", str(directory),
                                     "an existing folder of source documents")])
    db = Path(db_path)
    skip = {db.resolve(), Path(f"{db}-wal").resolve(), Path(f"{db}-shm").resolve(),
            Path(f"{db}-journal").resolve()}
    files = _walk(directory, skip)
    problems = Collector(directory)

    with closing(_connect(db, write=True)) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            version = _schema_version(con)
            if rebuild or version != SCHEMA_VERSION:
                for (name,) in con.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
                        "('meta', 'documents', 'lines', 'passages')").fetchall():
                    con.execute(f'DROP TABLE IF EXISTS "{name}"')
                for stmt in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                    con.execute(stmt)
                con.execute("INSERT INTO meta VALUES ('schema_version', ?)",
                            (str(SCHEMA_VERSION),))
            existing = {row[1]: row[0] for row in
                        con.execute("SELECT id, file FROM documents")}
            added, updated, unchanged, seen = [], [], [], set()
            for k, path in enumerate(files, start=1):
                name = path.relative_to(directory).as_posix()
                seen.add(name)
                try:
                    doc = load_document(path, name)
                except ScenarioError as err:
                    problems.extend(err)
                    continue
                old = existing.get(name)
                if old == doc.id:
                    unchanged.append(name)
                else:
                    if old is not None:
                        _delete(con, old)
                        updated.append(name)
                    else:
                        added.append(name)
                    _insert(con, doc)
                if progress is not None:
                    progress(k, len(files), name)
            removed = sorted(set(existing) - seen)
            for name in removed:
                _delete(con, existing[name])
            problems.raise_if_any()
            now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            con.execute("INSERT OR REPLACE INTO meta VALUES ('root', ?)",
                        (str(directory.resolve()),))
            con.execute("INSERT OR REPLACE INTO meta VALUES ('indexed_at', ?)", (now,))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        docs = tuple(con.execute(
            "SELECT id, file, format, n_lines, n_passages FROM documents ORDER BY file"))
    return IndexReport(str(db), tuple(added), tuple(updated), tuple(removed), tuple(unchanged),
                       docs)


def _delete(con: sqlite3.Connection, doc_id: str) -> None:
    con.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
    con.execute("DELETE FROM lines WHERE doc_id = ?", (doc_id,))
    con.execute("DELETE FROM documents WHERE id = ?", (doc_id,))


def _insert(con: sqlite3.Connection, doc: Document) -> None:
    passages = _passages(doc.lines)
    con.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                (doc.id, doc.file, doc.format, doc.sha256, len(doc.lines), len(passages)))
    con.executemany("INSERT INTO lines VALUES (?, ?, ?)",
                    ((doc.id, k, text) for k, text in enumerate(doc.lines, start=1)))
    con.executemany("INSERT INTO passages (text, doc_id, line_start, line_end) "
                    "VALUES (?, ?, ?, ?)",
                    ((text, doc.id, a, b) for a, b, text in passages))


# ---- reading -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Passage:
    """One ranked search hit. ``score`` is BM25 (higher is better)."""

    doc_id: str
    file: str
    line_start: int
    line_end: int
    score: float
    text: str
    snippet: str = ""

    def to_dict(self) -> dict:
        return {"doc_id": self.doc_id, "file": self.file, "line_start": self.line_start,
                "line_end": self.line_end, "score": self.score, "text": self.text,
                "snippet": self.snippet}


_TOKEN = re.compile(r"\w+", re.UNICODE)


def _fts_query(query: str) -> str | None:
    terms = _TOKEN.findall(query)
    if not terms:
        return None
    return " OR ".join(f'"{t}"' for t in dict.fromkeys(t.lower() for t in terms))


def _resolve_doc(con: sqlite3.Connection, source: str) -> tuple[str, str] | None:
    row = con.execute("SELECT id, file FROM documents WHERE id = ? OR file = ?",
                      (source, source)).fetchone()
    if row is None:
        row = con.execute("SELECT id, file FROM documents WHERE file LIKE ? ESCAPE '\\'",
                          ("%/" + source.replace("%", r"\%").replace("_", r"\_"),)).fetchone()
    return row


def search(db_path: str | Path, query: str, source: str | None = None, limit: int = 10, *,
           lines: tuple[int, int] | None = None) -> list[Passage]:
    """Passages ranked by BM25 for the words of ``query`` (any of them; more is better).

    ``source`` restricts the search to one document, named by its id or its file (path
    relative to the indexed folder, or the bare file name); ``lines=(a, b)`` further to
    passages overlapping those lines. Raises ``KeyError`` for an unknown ``source``.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    match = _fts_query(query)
    if match is None:
        return []
    sql = ("SELECT p.doc_id, d.file, p.line_start, p.line_end, bm25(passages) AS score, "
           "p.text, snippet(passages, 0, '[', ']', '…', 16) "
           "FROM passages p JOIN documents d ON d.id = p.doc_id WHERE passages MATCH ?")
    args: list = [match]
    with closing(_connect(db_path, write=False)) as con:
        if source is not None:
            doc = _resolve_doc(con, source)
            if doc is None:
                known = [r[0] for r in con.execute("SELECT file FROM documents ORDER BY file")]
                raise KeyError(f"no document {source!r} in the store; documents: "
                               f"{', '.join(known) or 'none'}")
            sql += " AND p.doc_id = ?"
            args.append(doc[0])
        if lines is not None:
            sql += " AND CAST(p.line_end AS INTEGER) >= ? AND CAST(p.line_start AS INTEGER) <= ?"
            args += [int(lines[0]), int(lines[1])]
        sql += " ORDER BY score, d.file, CAST(p.line_start AS INTEGER) LIMIT ?"
        args.append(int(limit))
        rows = con.execute(sql, args).fetchall()
    return [Passage(r[0], r[1], int(r[2]), int(r[3]), -float(r[4]), r[5], r[6]) for r in rows]


def documents(db_path: str | Path):
    """The stored documents as a pandas DataFrame (id, file, format, sha256, lines, passages)."""
    import pandas as pd

    with closing(_connect(db_path, write=False)) as con:
        rows = con.execute("SELECT id, file, format, sha256, n_lines, n_passages "
                           "FROM documents ORDER BY file").fetchall()
    return pd.DataFrame(rows, columns=["id", "file", "format", "sha256", "lines", "passages"])


def get_document(db_path: str | Path, source: str) -> Document:
    """One stored document (by id or file) with its lines. Raises ``KeyError`` if absent."""
    with closing(_connect(db_path, write=False)) as con:
        row = _resolve_doc(con, source)
        if row is None:
            raise KeyError(f"no document {source!r} in the store")
        meta = con.execute("SELECT id, file, format, sha256 FROM documents WHERE id = ?",
                           (row[0],)).fetchone()
        text = [r[0] for r in con.execute(
            "SELECT text FROM lines WHERE doc_id = ? ORDER BY line", (row[0],))]
    return Document(meta[0], meta[1], meta[2], meta[3], tuple(text))


def verify_store(db_path: str | Path) -> list[str]:
    """Consistency problems of a store (empty list: sound).

    Checks SQLite's integrity, the FTS index, and that every document has exactly its lines
    and passages (no half-written document).
    """
    out: list[str] = []
    with closing(_connect(db_path, write=False)) as con:
        res = [r[0] for r in con.execute("PRAGMA integrity_check")]
        if res != ["ok"]:
            out += [f"integrity_check: {r}" for r in res]
        try:
            con.execute("INSERT INTO passages(passages, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            out.append(f"fts integrity-check: {exc}")
        for doc_id, file, n_lines, n_pass, got_lines, got_pass in con.execute(
                "SELECT d.id, d.file, d.n_lines, d.n_passages, "
                "(SELECT COUNT(*) FROM lines l WHERE l.doc_id = d.id), "
                "(SELECT COUNT(*) FROM passages p WHERE p.doc_id = d.id) FROM documents d"):
            if n_lines != got_lines:
                out.append(f"{file}: {got_lines} lines stored, {n_lines} expected")
            if n_pass != got_pass:
                out.append(f"{file}: {got_pass} passages stored, {n_pass} expected")
        orphans = con.execute("SELECT COUNT(*) FROM passages WHERE doc_id NOT IN "
                              "(SELECT id FROM documents)").fetchone()[0]
        if orphans:
            out.append(f"{orphans} passages of no document")
    return out
