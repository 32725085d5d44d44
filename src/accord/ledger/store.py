"""The forecast ledger: an append-only SQLite record sealed by a hash chain.

Three tables hold the record: ``questions`` (what is forecast and how it resolves),
``forecasts`` (a distribution by a named model, with everything needed to reproduce it) and
``resolutions`` (what happened). Every row of every table is one link of a single chain:
its ``seq`` is global, its ``prev_hash`` is the hash of the row with ``seq - 1`` (in whatever
table) and its ``hash`` is ``sha256(canonical JSON of the row's other columns + prev_hash)``.
:func:`verify` recomputes the chain and names the table and row of any edit, deletion or
insertion made behind the API's back.

Append-only twice over: the API has no update or delete, and SQLite triggers refuse
``UPDATE`` and ``DELETE`` on the three tables. Crash-safe: WAL journal, ``synchronous=FULL``
and one ``BEGIN IMMEDIATE`` transaction per append, so a writer killed mid-write leaves every
committed row intact and the uncommitted one absent.

What a chain cannot see: someone who deletes the newest rows *and* rewrites SQLite's own
``sqlite_sequence`` bookkeeping leaves a shorter chain that is internally consistent. Keep the
head hash that :func:`verify` reports somewhere else and pass it back as ``expected_head`` to
close that gap.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import re
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from accord.errors import MISSING, Collector

KINDS = ("continuous", "binary", "ordered")
"""Question kinds: a value on a scale [low, high]; yes/no; one of K ordered categories."""

BASELINES = ("status_quo", "mean", "compromise", "median")
"""Models whose forecasts :func:`accord.ledger.score` always reports beside the others."""

GENESIS = "0" * 64
"""``prev_hash`` of the first row of a ledger."""

TABLES = ("questions", "forecasts", "resolutions")

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Column order is part of the format: the hash covers every column but ``hash``.
_SCHEMA = {
    "questions": """
        row INTEGER PRIMARY KEY AUTOINCREMENT,
        seq INTEGER NOT NULL UNIQUE,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        question_id TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL,
        criteria TEXT NOT NULL,
        kind TEXT NOT NULL,
        low REAL NOT NULL,
        high REAL NOT NULL,
        anchors TEXT NOT NULL,
        categories TEXT NOT NULL,
        cuts TEXT NOT NULL,
        deadline TEXT NOT NULL,
        maps_to TEXT,
        condition TEXT,
        created TEXT NOT NULL""",
    "forecasts": """
        row INTEGER PRIMARY KEY AUTOINCREMENT,
        seq INTEGER NOT NULL UNIQUE,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        question_id TEXT NOT NULL,
        model TEXT NOT NULL,
        preset TEXT,
        accord_version TEXT NOT NULL,
        seed INTEGER,
        scenario_sha256 TEXT,
        params TEXT NOT NULL,
        quantiles TEXT,
        samples TEXT,
        probabilities TEXT,
        note TEXT NOT NULL,
        created TEXT NOT NULL""",
    "resolutions": """
        row INTEGER PRIMARY KEY AUTOINCREMENT,
        seq INTEGER NOT NULL UNIQUE,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        question_id TEXT NOT NULL UNIQUE,
        outcome REAL,
        annulled INTEGER NOT NULL,
        resolved TEXT NOT NULL,
        note TEXT NOT NULL,
        created TEXT NOT NULL""",
}


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Question:
    """A question a reader can resolve.

    ``kind`` is ``continuous`` (an outcome on ``[low, high]``, e.g. an issue's 0–100 scale,
    described by ``anchors``), ``binary`` (outcome 0 or 1) or ``ordered`` (outcome one of
    ``categories``, lowest first). ``cuts`` turn forecasts made on the scale into
    probabilities: for a binary question one cut (the event is ``value >= cut``), for an
    ordered question ``K - 1`` increasing cuts (category k is ``cuts[k-1] <= value < cuts[k]``).
    ``maps_to`` names what a model forecasts for it (an issue id of the scenario, or a
    feasibility key such as ``deal_feasible``); ``condition`` states when the question is
    annulled instead of resolved.
    """

    id: str
    text: str
    criteria: str
    deadline: str
    kind: str = "continuous"
    low: float = 0.0
    high: float = 100.0
    anchors: Mapping[float, str] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    cuts: tuple[float, ...] = ()
    maps_to: str | None = None
    condition: str | None = None


@dataclass(frozen=True)
class ChainProblem:
    """One thing :func:`verify` found wrong, located by table and row."""

    table: str | None
    row: int | None
    seq: int | None
    what: str

    def __str__(self) -> str:
        where = self.table or "ledger"
        if self.row is not None:
            where += f" row {self.row}"
        if self.seq is not None:
            where += f" (seq {self.seq})"
        return f"{where}: {self.what}"


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` checked and found. ``ok`` is True when nothing is wrong."""

    path: str
    rows: Mapping[str, int]
    head_seq: int
    head_hash: str
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {t}" for t, n in self.rows.items())
        if self.ok:
            return (f"{self.path}: OK — {counts}; chain of {self.head_seq} rows, "
                    f"head {self.head_hash}")
        lines = [f"{self.path}: FAILED — {len(self.problems)} problem(s)"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([vars(p) for p in self.problems],
                            columns=["table", "row", "seq", "what"])


# --------------------------------------------------------------------------- plumbing


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def row_hash(table: str, columns: Mapping[str, Any]) -> str:
    """``sha256(canonical JSON of the row without its hash, then prev_hash)``."""
    content = {k: v for k, v in columns.items() if k != "hash"}
    content["table"] = table
    text = _canonical(content) + columns["prev_hash"]
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def accord_version() -> str:
    """``accord.__version__``, else the installed distribution's version."""
    try:
        from accord import __version__

        return str(__version__)
    except ImportError:
        from importlib.metadata import PackageNotFoundError, version
        try:
            return version("accord")
        except PackageNotFoundError:  # pragma: no cover - a bare checkout
            return "unknown"


def _connect(db: str | Path, create: bool) -> sqlite3.Connection:
    path = Path(db)
    if not create and not path.is_file():
        raise Collector(path).fail(None, "ledger", str(path),
                                                 "an existing ledger file")
    con = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        if create:
            _ensure_schema(con)
    except sqlite3.DatabaseError as exc:
        con.close()
        raise Collector(path).fail(None, "ledger", str(path),
                                   f"a SQLite ledger ({exc})") from None
    return con


def _ensure_schema(con: sqlite3.Connection) -> None:
    have = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if all(t in have for t in TABLES):
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        for table, cols in _SCHEMA.items():
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({cols}) STRICT")
            for op in ("UPDATE", "DELETE"):
                con.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: "
                    f"{op} on {table} refused'); END")
        con.execute("CREATE INDEX IF NOT EXISTS forecasts_question ON forecasts(question_id)")
        con.execute("PRAGMA user_version=1")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


@contextmanager
def _ledger(db: str | Path, create: bool = False) -> Iterator[sqlite3.Connection]:
    con = _connect(db, create)
    try:
        yield con
    finally:
        con.close()


def _append(con: sqlite3.Connection, table: str, values: dict[str, Any],
            check=None) -> int:
    """Append one row in its own transaction; ``check(con)`` runs inside it first."""
    con.execute("BEGIN IMMEDIATE")
    try:
        if check is not None:
            check(con)
        heads = [con.execute(f"SELECT seq, hash FROM {t} ORDER BY seq DESC LIMIT 1").fetchone()
                 for t in TABLES]
        head = max((h for h in heads if h is not None), default=None)
        seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
        last = con.execute("SELECT seq FROM sqlite_sequence WHERE name=?", (table,)).fetchone()
        row = (last[0] if last else 0) + 1
        columns = {"row": row, "seq": seq, "prev_hash": prev, "hash": ""}
        columns.update(values)
        columns["hash"] = row_hash(table, columns)
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        con.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(columns.values()))
        con.execute("COMMIT")
        return row
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise


def _question_row(con: sqlite3.Connection, question_id: str) -> dict[str, Any] | None:
    cur = con.execute("SELECT * FROM questions WHERE question_id=?", (question_id,))
    r = cur.fetchone()
    return None if r is None else dict(zip([d[0] for d in cur.description], r))


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) \
        and math.isfinite(float(x))


# --------------------------------------------------------------------------- questions


def add_question(db: str | Path, question: Question, *, created: str | None = None) -> int:
    """Record a question; returns its row. Creates the ledger file when absent."""
    errs = Collector(db)
    q = question
    f = f"question {q.id!r}"
    if not isinstance(q.id, str) or not _ID.match(q.id):
        errs.add(None, "question.id", q.id, "an id of letters, digits and _.:- (max 128)")
    for name in ("text", "criteria"):
        if not isinstance(getattr(q, name), str) or not getattr(q, name).strip():
            errs.add(None, f"{f}.{name}", getattr(q, name), "a non-empty text")
    if q.kind not in KINDS:
        errs.add(None, f"{f}.kind", q.kind, f"one of {', '.join(KINDS)}")
    if not isinstance(q.deadline, str) or not _DATE.match(q.deadline):
        errs.add(None, f"{f}.deadline", q.deadline, "an ISO date YYYY-MM-DD")
    else:
        try:
            _dt.date.fromisoformat(q.deadline)
        except ValueError:
            errs.add(None, f"{f}.deadline", q.deadline, "a real calendar date")
    if not (_finite(q.low) and _finite(q.high) and q.low < q.high):
        errs.add(None, f"{f}.low/high", (q.low, q.high), "finite numbers with low < high")
    anchors: dict[str, str] = {}
    for k, label in dict(q.anchors).items():
        if not _finite(k) or (_finite(q.low) and _finite(q.high) and not q.low <= k <= q.high):
            errs.add(None, f"{f}.anchors", k, f"a point on the scale [{q.low}, {q.high}]")
        elif not isinstance(label, str) or not label.strip():
            errs.add(None, f"{f}.anchors.{k}", label, "a non-empty label")
        else:
            anchors[repr(float(k))] = label
    cuts = list(q.cuts)
    if not all(_finite(c) for c in cuts) or any(b <= a for a, b in zip(cuts, cuts[1:])):
        errs.add(None, f"{f}.cuts", tuple(cuts), "strictly increasing finite numbers")
    elif _finite(q.low) and _finite(q.high) and any(not q.low < c <= q.high for c in cuts):
        errs.add(None, f"{f}.cuts", tuple(cuts), f"points inside ({q.low}, {q.high}]")
    cats = list(q.categories)
    if q.kind == "ordered":
        if len(cats) < 2 or not all(isinstance(c, str) and c.strip() for c in cats) \
                or len(set(cats)) != len(cats):
            errs.add(None, f"{f}.categories", tuple(cats), "two or more distinct labels")
        elif cuts and len(cuts) != len(cats) - 1:
            errs.add(None, f"{f}.cuts", tuple(cuts),
                     f"{len(cats) - 1} cuts for {len(cats)} categories (or none)")
    else:
        if cats:
            errs.add(None, f"{f}.categories", tuple(cats), "categories only on ordered questions")
        if q.kind == "binary" and len(cuts) > 1:
            errs.add(None, f"{f}.cuts", tuple(cuts), "at most one cut (the event is value >= cut)")
        if q.kind == "continuous" and cuts:
            errs.add(None, f"{f}.cuts", tuple(cuts), "no cuts on a continuous question")
    for name in ("maps_to", "condition"):
        v = getattr(q, name)
        if v is not None and (not isinstance(v, str) or not v.strip()):
            errs.add(None, f"{f}.{name}", v, "a non-empty text or nothing")
    errs.raise_if_any()

    values = {
        "question_id": q.id, "text": q.text, "criteria": q.criteria, "kind": q.kind,
        "low": float(q.low), "high": float(q.high), "anchors": _canonical(anchors),
        "categories": _canonical(cats), "cuts": _canonical([float(c) for c in cuts]),
        "deadline": q.deadline, "maps_to": q.maps_to, "condition": q.condition,
        "created": created or _now(),
    }

    def check(con: sqlite3.Connection) -> None:
        if _question_row(con, q.id) is not None:
            raise Collector(db).fail(None, "question.id", q.id,
                                                   "an id not yet in the ledger")

    with _ledger(db, create=True) as con:
        return _append(con, "questions", values, check)


_QUESTION_KEYS = ("id", "text", "criteria", "deadline", "kind", "low", "high", "anchors",
                  "categories", "cuts", "maps_to", "condition")


def question_from_mapping(data: Mapping[str, Any], file: str | Path = "question",
                          line: int | None = None) -> Question:
    """A :class:`Question` from a parsed JSON/YAML mapping (for ``accord ledger add``).

    Keys are the fields of :class:`Question`; ``scale: [low, high]`` may stand for low/high.
    Unknown and missing keys are reported together; the values are checked when the question
    is added.
    """
    errs = Collector(file)
    if not isinstance(data, Mapping):
        raise errs.fail(line, "question", type(data).__name__, "a mapping of question fields")
    d = dict(data)
    if "scale" in d:
        scale = d.pop("scale")
        if isinstance(scale, (list, tuple)) and len(scale) == 2:
            d.setdefault("low", scale[0])
            d.setdefault("high", scale[1])
        else:
            errs.add(line, "scale", scale, "[low, high]")
    for key in d:
        if key not in _QUESTION_KEYS:
            errs.add(line, str(key), d[key], f"one of the keys {', '.join(_QUESTION_KEYS)}")
    for key in ("id", "text", "criteria", "deadline"):
        if key not in d:
            errs.add(line, key, MISSING, "a value")
    if "deadline" in d and isinstance(d["deadline"], _dt.date):
        d["deadline"] = d["deadline"].isoformat()
    for key in ("categories", "cuts"):
        if key in d and not isinstance(d[key], (list, tuple)):
            errs.add(line, key, d[key], "a list")
    if "anchors" in d and not isinstance(d["anchors"], Mapping):
        errs.add(line, "anchors", d["anchors"], "a mapping of scale point to label")
    errs.raise_if_any()
    for key in ("categories", "cuts"):
        if key in d:
            d[key] = tuple(d[key])
    return Question(**{k: v for k, v in d.items() if k in _QUESTION_KEYS})


def _to_question(r: Mapping[str, Any]) -> Question:
    return Question(id=r["question_id"], text=r["text"], criteria=r["criteria"],
                    deadline=r["deadline"], kind=r["kind"], low=r["low"], high=r["high"],
                    anchors={float(k): v for k, v in json.loads(r["anchors"]).items()},
                    categories=tuple(json.loads(r["categories"])),
                    cuts=tuple(json.loads(r["cuts"])), maps_to=r["maps_to"],
                    condition=r["condition"])


def get_question(db: str | Path, question_id: str) -> Question:
    """The question with this id (a located error when there is none)."""
    with _ledger(db) as con:
        r = _question_row(con, question_id)
    if r is None:
        raise Collector(db).fail(None, "question_id", question_id,
                                               "the id of a question in the ledger")
    return _to_question(r)


# --------------------------------------------------------------------------- forecasts


def _check_forecast(errs: Collector, q: Question, samples, quantiles, probabilities) -> tuple:
    f = f"forecast on {q.id!r}"
    s_json = qs_json = p_json = None
    if samples is None and quantiles is None and probabilities is None:
        errs.add(None, f, None, "samples, quantiles or probabilities")
        return None, None, None
    on_scale = q.kind == "continuous" or bool(q.cuts)
    if samples is not None and q.kind == "ordered" and not q.cuts:
        errs.add(None, f"{f}.samples", "...", "probabilities (this ordered question has no "
                 "cuts to bin samples by)")
        samples = None
    if samples is not None:
        arr = np.asarray(samples, dtype=float).ravel() if _numeric(samples) else None
        if arr is None or arr.size == 0:
            errs.add(None, f"{f}.samples", samples, "a non-empty sequence of numbers")
        else:
            bad = np.flatnonzero(~np.isfinite(arr))
            lo, hi = (q.low, q.high) if on_scale else (0.0, 1.0)
            out = np.flatnonzero(np.isfinite(arr) & ((arr < lo) | (arr > hi)))
            for k in bad[:5]:
                errs.add(None, f"{f}.samples[{k}]", float(arr[k]), "a finite number")
            for k in out[:5]:
                errs.add(None, f"{f}.samples[{k}]", float(arr[k]),
                         f"a value on [{lo:g}, {hi:g}]"
                         + ("" if on_scale else " (the question has no cut, so samples are "
                            "probabilities)"))
            if not len(bad) and not len(out):
                s_json = _canonical([float(x) for x in arr])
    if quantiles is not None:
        if q.kind != "continuous":
            errs.add(None, f"{f}.quantiles", "...", "quantiles only on continuous questions "
                     "(give probabilities or samples)")
        else:
            try:
                items = sorted((float(k), float(v)) for k, v in dict(quantiles).items())
            except (TypeError, ValueError):
                errs.add(None, f"{f}.quantiles", quantiles, "a mapping level -> value")
                items = None
            if items is not None:
                ok = bool(items)
                for lv, val in items:
                    if not (0.0 < lv < 1.0):
                        errs.add(None, f"{f}.quantiles", lv, "levels strictly between 0 and 1")
                        ok = False
                    if not (math.isfinite(val) and q.low <= val <= q.high):
                        errs.add(None, f"{f}.quantiles[{lv:g}]", val,
                                 f"a value on [{q.low:g}, {q.high:g}]")
                        ok = False
                vals = [v for _, v in items]
                if any(b < a for a, b in zip(vals, vals[1:])):
                    errs.add(None, f"{f}.quantiles", dict(items),
                             "values non-decreasing in the level")
                    ok = False
                if not items:
                    errs.add(None, f"{f}.quantiles", quantiles, "at least one level")
                if ok:
                    qs_json = _canonical([[lv, v] for lv, v in items])
    if probabilities is not None:
        k_expected = 2 if q.kind == "binary" else len(q.categories)
        if q.kind == "continuous":
            errs.add(None, f"{f}.probabilities", probabilities,
                     "no probabilities on a continuous question (give samples or quantiles)")
        else:
            p = np.atleast_1d(np.asarray(probabilities, dtype=float)) \
                if _numeric(probabilities) else None
            if p is not None and q.kind == "binary" and p.size == 1:
                p = np.array([1.0 - p[0], p[0]])
            if p is None or p.size != k_expected or not np.all(np.isfinite(p)) \
                    or np.any(p < 0) or np.any(p > 1) or abs(p.sum() - 1.0) > 1e-9:
                want = ("P(yes) in [0, 1]" if q.kind == "binary"
                        else f"{k_expected} probabilities in [0, 1] summing to 1")
                errs.add(None, f"{f}.probabilities", probabilities, want)
            else:
                p_json = _canonical([float(x) for x in p])
    return s_json, qs_json, p_json


def _numeric(x: Any) -> bool:
    try:
        np.asarray(x, dtype=float)
        return True
    except (TypeError, ValueError):
        return False


def add_forecast(db: str | Path, question_id: str, *, model: str, samples=None,
                 quantiles: Mapping[float, float] | None = None, probabilities=None,
                 preset: str | None = None, seed: int | None = None,
                 scenario_sha256: str | None = None, params: Mapping[str, Any] | None = None,
                 version: str | None = None, note: str = "",
                 created: str | None = None) -> int:
    """Record a forecast on an open question; returns its row in ``forecasts``.

    The distribution is given as ``samples`` (draws on the question's scale; for a binary
    question without a cut, probabilities in [0, 1]), ``quantiles`` (``{level: value}``,
    continuous questions) and/or ``probabilities`` (binary: P(yes); ordered: one per
    category). A question that is already resolved takes no more forecasts.
    """
    errs = Collector(db)
    with _ledger(db) as con:
        r = _question_row(con, question_id)
    if r is None:
        raise errs.fail(None, "question_id", question_id,
                                      "the id of a question in the ledger")
    q = _to_question(r)
    if not isinstance(model, str) or not _ID.match(model):
        errs.add(None, "forecast.model", model, "a model name")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        errs.add(None, "forecast.seed", seed, "an integer or nothing")
    if scenario_sha256 is not None and (not isinstance(scenario_sha256, str)
                                        or not _SHA.match(scenario_sha256)):
        errs.add(None, "forecast.scenario_sha256", scenario_sha256, "64 lower-case hex digits")
    try:
        params_json = _canonical(dict(params or {}))
    except (TypeError, ValueError):
        errs.add(None, "forecast.params", params, "JSON-ready parameter values")
        params_json = "{}"
    s_json, qs_json, p_json = _check_forecast(errs, q, samples, quantiles, probabilities)
    when = created or _now()
    if when[:10] > q.deadline:
        errs.add(None, "forecast.created", when, f"a time on or before the question's deadline "
                 f"{q.deadline} (a forecast after it is not a forecast)")
    errs.raise_if_any()
    values = {
        "question_id": question_id, "model": model, "preset": preset,
        "accord_version": version or accord_version(),
        "seed": None if seed is None else int(seed), "scenario_sha256": scenario_sha256,
        "params": params_json, "quantiles": qs_json, "samples": s_json,
        "probabilities": p_json, "note": note, "created": when,
    }

    def check(con: sqlite3.Connection) -> None:
        if con.execute("SELECT 1 FROM resolutions WHERE question_id=?",
                       (question_id,)).fetchone():
            raise Collector(db).fail(
                None, "question_id", question_id, "an open question (this one is resolved; "
                "a forecast made after the outcome is not a forecast)")

    with _ledger(db) as con:
        return _append(con, "forecasts", values, check)


# --------------------------------------------------------------------------- resolutions


def resolve(db: str | Path, question_id: str, outcome: float | int | str | None, *,
            note: str = "", annulled: bool = False, resolved: str | None = None,
            created: str | None = None) -> int:
    """Record what happened; returns the row in ``resolutions``. Once per question.

    ``outcome``: a value on the scale (continuous), 0/1 or yes/no (binary), a category label
    or index (ordered). ``annulled=True`` (with ``outcome=None``) records that the question's
    condition was not met; annulled questions are not scored.
    """
    errs = Collector(db)
    with _ledger(db) as con:
        r = _question_row(con, question_id)
    if r is None:
        raise errs.fail(None, "question_id", question_id,
                                      "the id of a question in the ledger")
    q = _to_question(r)
    value: float | None = None
    if annulled:
        if outcome is not None:
            errs.add(None, "resolution.outcome", outcome, "nothing on an annulled question")
    elif q.kind == "continuous":
        if not _finite(outcome) or not q.low <= float(outcome) <= q.high:
            errs.add(None, "resolution.outcome", outcome, f"a value on [{q.low:g}, {q.high:g}]")
        else:
            value = float(outcome)
    elif q.kind == "binary":
        table = {"yes": 1.0, "no": 0.0, "1": 1.0, "0": 0.0}
        if isinstance(outcome, str) and outcome.strip().lower() in table:
            value = table[outcome.strip().lower()]
        elif _finite(outcome) and float(outcome) in (0.0, 1.0):
            value = float(outcome)
        else:
            errs.add(None, "resolution.outcome", outcome, "yes/no or 1/0")
    else:
        if isinstance(outcome, str) and outcome in q.categories:
            value = float(q.categories.index(outcome))
        elif _finite(outcome) and float(outcome).is_integer() \
                and 0 <= int(outcome) < len(q.categories):
            value = float(int(outcome))
        else:
            errs.add(None, "resolution.outcome", outcome,
                     f"one of {list(q.categories)} or its index 0..{len(q.categories) - 1}")
    if resolved is not None and (not isinstance(resolved, str) or not _DATE.match(resolved[:10])):
        errs.add(None, "resolution.resolved", resolved, "an ISO date or time")
    errs.raise_if_any()
    values = {"question_id": question_id, "outcome": value, "annulled": int(bool(annulled)),
              "resolved": resolved or _now(), "note": note, "created": created or _now()}

    def check(con: sqlite3.Connection) -> None:
        if con.execute("SELECT 1 FROM resolutions WHERE question_id=?",
                       (question_id,)).fetchone():
            raise Collector(db).fail(None, "question_id", question_id,
                                                   "a question not yet resolved")

    with _ledger(db) as con:
        return _append(con, "resolutions", values, check)


# --------------------------------------------------------------------------- reading


def _frame(db: str | Path, sql: str, args: Sequence[Any] = ()) -> pd.DataFrame:
    with _ledger(db) as con:
        cur = con.execute(sql, tuple(args))
        rows = cur.fetchall()
        cols = [d[0] for d in cur.description]
    return pd.DataFrame(rows, columns=cols)


def questions(db: str | Path) -> pd.DataFrame:
    """Every question, oldest first, with its resolution (NaN/None while open)."""
    df = _frame(db, "SELECT q.row, q.question_id, q.kind, q.text, q.criteria, q.low, q.high, "
                    "q.anchors, q.categories, q.cuts, q.deadline, q.maps_to, q.condition, "
                    "q.created, r.outcome, r.annulled, r.resolved, "
                    "(SELECT COUNT(*) FROM forecasts f WHERE f.question_id=q.question_id) "
                    "AS n_forecasts FROM questions q LEFT JOIN resolutions r "
                    "ON r.question_id=q.question_id ORDER BY q.seq")
    for col in ("anchors", "categories", "cuts"):
        df[col] = df[col].map(json.loads)
    df["status"] = np.where(df["resolved"].isna(), "open",
                            np.where(df["annulled"].fillna(0).astype(bool), "annulled",
                                     "resolved"))
    return df


def forecasts(db: str | Path, question_id: str | None = None) -> pd.DataFrame:
    """Forecasts, oldest first; ``samples`` and ``probabilities`` as numpy arrays (or None),
    ``quantiles`` as ``{level: value}`` dicts (or None), ``params`` as dicts."""
    sql = "SELECT * FROM forecasts"
    args: tuple = ()
    if question_id is not None:
        sql += " WHERE question_id=?"
        args = (question_id,)
    with _ledger(db) as con:
        cur = con.execute(sql + " ORDER BY seq", args)
        cols = [d[0] for d in cur.description]
        records = [dict(zip(cols, r)) for r in cur.fetchall()]
    for r in records:
        del r["prev_hash"]
        for key in ("samples", "probabilities"):
            r[key] = None if r[key] is None else np.asarray(json.loads(r[key]), dtype=float)
        r["quantiles"] = None if r["quantiles"] is None else \
            {lv: v for lv, v in json.loads(r["quantiles"])}
        r["params"] = json.loads(r["params"])
    cols = [c for c in cols if c != "prev_hash"]
    df = pd.DataFrame.from_records(records, columns=cols)
    for key in ("samples", "probabilities", "quantiles", "params"):
        df[key] = pd.Series([r[key] for r in records], index=df.index, dtype=object)
    return df


def resolutions(db: str | Path) -> pd.DataFrame:
    """Resolutions, oldest first."""
    df = _frame(db, "SELECT row, seq, question_id, outcome, annulled, resolved, note, created "
                    "FROM resolutions ORDER BY seq")
    df["annulled"] = df["annulled"].astype(bool)
    return df


# --------------------------------------------------------------------------- verify


def verify(db: str | Path, expected_head: str | None = None) -> VerifyReport:
    """Recompute the hash chain; report every edited, deleted or inserted row by table and row.

    Also checks SQLite's own integrity, that the append-only triggers are in place, that row
    numbers have no gaps (SQLite's ``sqlite_sequence`` remembers the highest row ever
    written, so deleting the newest row shows), and that forecasts and resolutions refer to
    an earlier question and no forecast follows its question's resolution. Give the head
    hash recorded earlier as ``expected_head`` to also detect a rewritten tail.
    """
    problems: list[ChainProblem] = []
    rows_by_table: dict[str, int] = {}
    chain: list[tuple[int, str, int, dict[str, Any]]] = []
    with _ledger(db) as con:
        for (msg,) in con.execute("PRAGMA integrity_check").fetchall():
            if msg != "ok":
                problems.append(ChainProblem(None, None, None, f"SQLite integrity: {msg}"))
        con.execute("BEGIN")  # one snapshot of every table, whatever writers do meanwhile
        names = {(r[0], r[1]) for r in con.execute("SELECT type, name FROM sqlite_master")}
        sequences = dict(con.execute("SELECT name, seq FROM sqlite_sequence").fetchall()) \
            if ("table", "sqlite_sequence") in names else {}
        for table in TABLES:
            if ("table", table) not in names:
                problems.append(ChainProblem(table, None, None, "table missing"))
                rows_by_table[table] = 0
                continue
            for op in ("update", "delete"):
                if ("trigger", f"{table}_no_{op}") not in names:
                    problems.append(ChainProblem(
                        table, None, None, f"trigger {table}_no_{op} missing: the append-only "
                        "guard was removed"))
            cur = con.execute(f"SELECT * FROM {table} ORDER BY row")
            cols = [d[0] for d in cur.description]
            rows = [dict(zip(cols, r)) for r in cur.fetchall()]
            rows_by_table[table] = len(rows)
            expected = 1
            for r in rows:
                if r["row"] > expected:
                    gap = (f"row {expected}" if r["row"] == expected + 1
                           else f"rows {expected}–{r['row'] - 1}")
                    problems.append(ChainProblem(table, expected, None,
                                                 f"{gap} missing: deleted"))
                expected = r["row"] + 1
                chain.append((r["seq"], table, r["row"], r))
            top = sequences.get(table, 0)
            if top >= expected:
                gap = f"row {expected}" if top == expected else f"rows {expected}–{top}"
                problems.append(ChainProblem(table, expected, None,
                                             f"{gap} missing: deleted (the newest rows)"))
        con.execute("COMMIT")
    chain.sort(key=lambda c: c[0])
    prev_hash, prev_seq, prev_where = GENESIS, 0, None
    asked: dict[str, int] = {}
    resolved_at: dict[str, int] = {}
    for seq, table, row, r in chain:
        if seq != prev_seq + 1:
            problems.append(ChainProblem(table, row, seq,
                                         f"seq {prev_seq + 1}–{seq - 1} missing before this row: "
                                         "rows were deleted" if seq > prev_seq + 1
                                         else f"seq {seq} repeated"))
        try:
            recomputed = row_hash(table, r)
        except (TypeError, ValueError) as exc:
            recomputed = f"unhashable content ({exc})"
        if recomputed != r["hash"]:
            problems.append(ChainProblem(table, row, seq,
                                         "content edited: its hash no longer matches"))
        if r["prev_hash"] != prev_hash:
            where = f" ({prev_where})" if prev_where else ""
            problems.append(ChainProblem(table, row, seq, "chain broken: prev_hash is not the "
                                         f"hash of the row before{where}"))
        qid = r.get("question_id")
        if table == "questions":
            asked[qid] = seq
        elif qid not in asked:
            problems.append(ChainProblem(table, row, seq,
                                         f"refers to question {qid!r}, not asked before it"))
        elif table == "forecasts" and qid in resolved_at:
            problems.append(ChainProblem(table, row, seq,
                                         f"forecast recorded after question {qid!r} resolved"))
        if table == "resolutions":
            resolved_at[qid] = seq
        prev_hash, prev_seq, prev_where = r["hash"], seq, f"{table} row {row}"
    if expected_head is not None and expected_head not in {c[3]["hash"] for c in chain}:
        problems.append(ChainProblem(None, None, None,
                                     f"expected head {expected_head} is not in the chain: "
                                     "the ledger was truncated or rewritten"))
    return VerifyReport(path=str(db), rows=rows_by_table, head_seq=prev_seq,
                        head_hash=prev_hash, problems=tuple(problems))
