"""Read the DEU data set (Decision-making in the European Union) as it is distributed.

DEU I/II (Thomson, Stokman, Achen & König 2006; Thomson et al. 2012) and DEU III (Arregui &
Perarnaud 2022, doi:10.34810/data53) code one row per controversial issue of a legislative
proposal: for each actor ``X`` a position ``pX`` on the issue's 0–100 scale and a salience
``sX`` (0–100, 50 an issue of average importance); ``rp`` the reference point (the policy
without a new act) and ``out`` the adopted outcome; and the codebook's metadata: ``prnr``
(proposal), ``isnr`` (issue: ``prnr`` + ``i`` + index), ``proc`` (COD co-decision, CNS
consultation), ``counvte`` (Council rule: ``QMV``, ``Unan``, ``QMV(10)``), ``intro`` and
``finact`` (dates of the proposal and of the final act).

What the files hold, and how it is read (all counted in :attr:`DeuData.summary`):

- Delimiter ``;`` (DEU III), tab or ``,``: sniffed from the first lines unless named.
- Missing cells are blank or a code of ``missing`` (DEU III: ``999``); both mean "not coded".
- A stance needs a position *and* a salience. A salience without a position (DEU III codes
  salience 0 for the states that were not yet members) or a position without a salience is
  "no stance": counted, never an error.
- A missing ``rp`` leaves the status quo unknown (NaN) unless ``reference_fill="midpoint"``
  (50, the convention of the published naive status-quo figure); models that need a status
  quo say so in the backtest's failures.
- A missing ``out``, or fewer than ``min_actors`` actors with a stance, makes the issue
  unscorable: kept, counted, not scored.
- Dates come as ``DD-MM-YY`` (years >= ``century_pivot`` are 19YY), ``DD-MM-YYYY``, or
  ``YYYY-MM-DD``. The latter is, in the copies seen, a spreadsheet's re-reading of
  ``DD-MM-YY`` as ``YY-MM-DD`` (stored 2024-05-17 = 24 May 2017): ``iso_dates="reread"``
  (default) undoes that, ``"iso"`` takes it literally. A final act before its proposal is an
  error either way, which catches the wrong choice.
- Proposals group issues by the stem of ``isnr`` (before its last ``i``), because one DEU
  proposal number (``a04163``) holds issues of two stems; ``proposal_key="prnr"`` uses
  ``prnr`` as it stands.

Anything else that is wrong (a position of 150, a word where a number belongs, an unknown
voting rule, a date that is no date, a duplicate issue id) is a located error, and every one
of them is reported at once.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ...errors import Collector
from ._common import read_text, sniff_delimiter

METADATA = ("prnrnmc", "isnrnmc", "prnr", "prname", "isnr", "type", "council", "proc",
            "counvte", "proccde", "issues", "intro", "finact")
"""The DEU codebook's metadata columns, kept under their own names."""
ID_COLUMNS = ("isnr", "issue_id", "issue", "id")
BLANK = frozenset({"", "na", "n/a", "nan", ".", "-"})
RULE_CODES = {"qmv": "QMV", "qmv(10)": "QMV(10)", "unan": "Unan", "unanimity": "Unan"}
_ACTOR_CODE_MAX = 4
_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


@dataclass(frozen=True)
class DeuData:
    """A DEU file, parsed: ``[n]`` issues (every row, scorable or not) by ``[a]`` actors."""

    path: str
    sha256: str
    issues: tuple[str, ...]
    actors: tuple[str, ...]
    position: np.ndarray
    """``[n, a]`` on 0–100, NaN where an actor took no stance."""
    salience: np.ndarray
    """``[n, a]`` on [0, 1] (the file's 0–100 divided by 100), NaN where no stance."""
    capability: np.ndarray
    """``[n, a]`` from ``cX`` columns, else ones."""
    reference: np.ndarray
    """``[n]`` the reference point, NaN where unknown (and not filled)."""
    outcome: np.ndarray
    """``[n]`` the outcome, NaN where not coded."""
    lines: tuple[int, ...]
    ignored_columns: tuple[str, ...] = ()
    capability_given: bool = False
    proposal: tuple[str, ...] = ()
    procedure: tuple[str, ...] = ()
    """``COD``, ``CNS`` ... or "" where not coded."""
    rule: tuple[str, ...] = ()
    """``QMV``, ``QMV(10)``, ``Unan`` or "" where not coded."""
    decided: tuple[dt.date | None, ...] = ()
    """The final-act date, else the introduction date (see ``date_from``), else None."""
    date_from: tuple[str, ...] = ()
    """``finact``, ``intro`` or "" per issue."""
    reference_filled: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    scorable: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    """``[n]`` outcome coded and at least ``min_actors`` actors with a stance."""
    summary: dict = field(default_factory=dict)
    """Counts of what was read as missing: see the module docstring."""
    delimiter: str = ","

    def inputs(self, k: int):
        """Issue ``k`` as model inputs: its actors with a stance, scale 0–100, status quo rp."""
        from ...models import Inputs

        m = ~np.isnan(self.position[k])
        return Inputs.from_arrays(self.capability[k, m], self.position[k, m][:, None],
                                  self.salience[k, m][:, None], low=[0.0], high=[100.0],
                                  status_quo=[self.reference[k]],
                                  actors=[a for a, keep in zip(self.actors, m) if keep],
                                  issues=[self.issues[k]])

    @property
    def binary(self) -> np.ndarray:
        """``[n]`` issues whose every coded position lies at an end of the scale (0 or 100):
        DEU's yes/no issues, as opposed to graded ones."""
        p = self.position
        ends = np.isnan(p) | (p == 0.0) | (p == 100.0)
        return ends.all(axis=1) & (~np.isnan(p)).any(axis=1)


def _cell(text: str, missing: frozenset[str], decimal_comma: bool) -> float | None:
    """A number; None for a missing cell; NaN for text that is no number."""
    t = text.strip()
    if t.lower() in BLANK or t in missing:
        return None
    if decimal_comma and re.fullmatch(r"-?\d+,\d+", t):
        t = t.replace(",", ".")
    try:
        v = float(t)
    except ValueError:
        return math.nan
    return v if math.isfinite(v) else math.nan


def _date(text: str, iso_dates: str, pivot: int) -> dt.date | None | str:
    """A date, None when missing, or an error message."""
    t = text.strip()
    m = _DATE.match(t)
    try:
        if m:
            d, mo, y = (int(g) for g in m.groups())
            if len(m.group(3)) == 2:
                y += 1900 if y >= pivot else 2000
            return dt.date(y, mo, d)
        m = _ISO.match(t)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            if iso_dates == "reread":  # DD-MM-YY read as YY-MM-DD: "year" holds the day
                y, d = d + (1900 if d >= pivot else 2000), y % 100
            return dt.date(y, mo, d)
    except ValueError:
        return "a calendar date"
    return "a date as DD-MM-YY, DD-MM-YYYY or YYYY-MM-DD"


def _decode(path: Path, encoding: str):
    """UTF-8 through the shared reader (BOM, line endings, located complaints); another
    named encoding decoded here, with the same line-ending rules."""
    import hashlib

    from ...errors import ScenarioError
    from ._common import Text

    if codecs.lookup(encoding).name == "utf-8":
        try:
            return read_text(path)
        except ScenarioError as exc:
            if exc.first.field != "encoding":
                raise
            raise Collector(path).fail(exc.first.line, "encoding", exc.first.value,
                                       "UTF-8 text, or the file's encoding named "
                                       "(encoding='cp1252', --encoding cp1252)") from None
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise Collector(path).fail(None, "file", str(path), f"a readable file ({exc.strerror})") from None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Collector(path).fail(raw.count(b"\n", 0, exc.start) + 1, "encoding",
                                   raw[exc.start:exc.start + 4], f"{encoding} text") from None
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return Text(str(path), text, hashlib.sha256(raw).hexdigest(), ())


def read_deu(path: str | Path, *, delimiter: str | None = None,
             missing: Sequence[str] = ("999",), reference_fill: str = "none",
             salience_max: float = 100.0, min_actors: int = 3, iso_dates: str = "reread",
             century_pivot: int = 90, proposal_key: str = "isnr_stem",
             ignore: Sequence[str] = (), skip_lines: Sequence[int] = (),
             encoding: str = "utf-8") -> DeuData:
    """Read a DEU file in any of its layouts; every problem of the file is reported at once,
    and nothing but a located :class:`~accord.errors.ScenarioError` ever escapes.

    ``missing`` are the codes that mean "not coded" besides a blank; ``reference_fill`` is
    ``none`` (an unknown status quo stays NaN) or ``midpoint`` (50); ``min_actors`` actors
    with a stance make an issue scorable (3, as the published 351-issue figures);
    ``ignore`` names columns to leave out although they look like an actor's;
    ``skip_lines`` names lines that are not issues (a third-party copy adds a GDP row on
    line 2), which are left out and listed in the summary; ``encoding`` names the file's
    text encoding where it is not UTF-8 (e.g. ``cp1252`` for a file saved by Excel on Windows).
    """
    from ._common import guard

    options = dict(delimiter=delimiter, missing=missing, reference_fill=reference_fill,
                   salience_max=salience_max, min_actors=min_actors, iso_dates=iso_dates,
                   century_pivot=century_pivot, proposal_key=proposal_key, ignore=ignore,
                   skip_lines=skip_lines, encoding=encoding)
    return guard(str(path), lambda: _read_deu(path, **options))


def _read_deu(path: str | Path, *, delimiter: str | None = None,
             missing: Sequence[str] = ("999",), reference_fill: str = "none",
             salience_max: float = 100.0, min_actors: int = 3, iso_dates: str = "reread",
             century_pivot: int = 90, proposal_key: str = "isnr_stem",
             ignore: Sequence[str] = (), skip_lines: Sequence[int] = (),
             encoding: str = "utf-8") -> DeuData:
    """The reader behind :func:`read_deu` (which guarantees located errors only)."""
    path = Path(path)
    errs = Collector(path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        errs.add(None, "encoding", encoding, "a Python codec name such as utf-8 or cp1252")
    for name, value, allowed in (("reference_fill", reference_fill, ("none", "midpoint")),
                                 ("iso_dates", iso_dates, ("reread", "iso")),
                                 ("proposal_key", proposal_key, ("isnr_stem", "prnr")),
                                 ("delimiter", delimiter, (None, ",", ";", "\t"))):
        if value not in allowed:
            errs.add(None, name, value, "one of " + ", ".join(map(repr, allowed)))
    errs.raise_if_any()
    text = _decode(path, encoding)
    sep = delimiter or sniff_delimiter(text.text)
    miss = frozenset(str(m) for m in missing)
    reader = csv.reader(io.StringIO(text.text), delimiter=sep)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise errs.fail(1, "header", "nothing", "a header row with rp, out, p<actor>, s<actor>")
    col: dict[str, int] = {}
    skip_cols = set(ignore)
    skip = {int(x) for x in skip_lines}
    for j, h in enumerate(header):
        if h in skip_cols:
            continue
        if h in col:
            errs.add(1, "header", h, "each column once", column=j + 1)
        col.setdefault(h, j)
    for need in ("rp", "out"):
        if need not in col:
            errs.add(1, "header", need, f"a column {need!r} "
                     + ("(reference point)" if need == "rp" else "(decision outcome)")
                     + f"; the header was split on {sep!r}")
    reserved = {"rp", "out", *METADATA, *ID_COLUMNS}
    codes = lambda prefix: {h[1:] for h in col if h.startswith(prefix) and len(h) > 1  # noqa: E731
                            and h not in reserved}
    p_codes, s_codes = codes("p"), codes("s")
    actors = tuple(sorted(p_codes & s_codes, key=lambda x: col["p" + x]))
    ignored = []
    for x in sorted(p_codes ^ s_codes):
        have, other = ("p", "s") if x in p_codes else ("s", "p")
        if len(x) <= _ACTOR_CODE_MAX:
            errs.add(1, "header", have + x, f"a matching column {other + x!r} (an actor has a "
                     "position and a salience column), or the column named in ignore",
                     column=col[have + x] + 1)
        else:
            ignored.append(have + x)
    if not actors:
        errs.add(1, "header", header[:8], "position and salience columns p<actor>, s<actor>")
    c_codes = codes("c")
    cap_given = bool(c_codes & set(actors))
    if cap_given:
        for x in actors:
            if x not in c_codes:
                errs.add(1, "header", "c" + x, "a capability column for every actor, since "
                         "other actors have one")
    id_col = next((c for c in ID_COLUMNS if c in col), None)
    meta = [m for m in ("prnr", "proc", "counvte", "intro", "finact") if m in col]
    used = {"rp", "out", *(f"{k}{x}" for x in actors for k in "ps"), *meta,
            *(("c" + x) for x in actors if cap_given), *([id_col] if id_col else [])}
    ignored += [h for h in header if h not in used and h not in ignored and h]
    if not actors or "rp" not in col or "out" not in col:
        errs.raise_if_any()  # nothing to check the rows against

    n_cols = len(header)
    dec_comma = sep != ","
    a = len(actors)
    rows: list[dict] = []
    seen: dict[str, int] = {}
    counts = dict(lone_salience=0, lone_position=0, zero_salience_stances=0)

    def num(row, name, line, expected, hi=100.0):
        raw = row[col[name]]
        v = _cell(raw, miss, dec_comma)
        if v is not None and not (0.0 <= v <= hi):
            errs.add(line, name, raw, expected, column=col[name] + 1)
            return math.nan
        return v

    try:
        for row in reader:
            line = reader.line_num
            if not any(c.strip() for c in row) or line in skip:
                continue
            if len(row) != n_cols:
                errs.add(line, "row", f"{len(row)} cells", f"{n_cols} cells like the header "
                         f"(split on {sep!r})")
                continue
            issue = row[col[id_col]].strip() if id_col else f"row{line}"
            if not issue or issue in miss:
                errs.add(line, id_col, issue, "an issue id", column=col[id_col] + 1)
            elif issue in seen:
                errs.add(line, id_col, issue, f"an id not used before (line {seen[issue]})",
                         column=col[id_col] + 1)
            seen.setdefault(issue, line)
            rp = num(row, "rp", line, "a reference point on [0, 100], blank or a missing code")
            out = num(row, "out", line, "an outcome on [0, 100], blank or a missing code")
            pos = np.full(a, np.nan)
            sal = np.full(a, np.nan)
            cap = np.ones(a)
            for j, x in enumerate(actors):
                p = num(row, "p" + x, line, "a position on [0, 100], blank or a missing code")
                s = num(row, "s" + x, line, f"a salience on [0, {salience_max:g}], blank or a "
                        "missing code", hi=salience_max)
                if cap_given:
                    c = _cell(row[col["c" + x]], miss, dec_comma)
                    if p is not None and s is not None and (c is None or not c >= 0):
                        errs.add(line, "c" + x, row[col["c" + x]], "a capability >= 0",
                                 column=col["c" + x] + 1)
                    cap[j] = c if c is not None and c >= 0 else 1.0
                if p is None and s is not None:
                    counts["lone_salience"] += 1
                elif s is None and p is not None:
                    counts["lone_position"] += 1
                elif p is not None and s is not None:
                    pos[j], sal[j] = p, s / salience_max
                    counts["zero_salience_stances"] += s == 0
            rec = dict(line=line, issue=issue, rp=rp, out=out, pos=pos, sal=sal, cap=cap)
            for m in ("prnr", "proc", "counvte"):
                raw = row[col[m]].strip() if m in col else ""
                rec[m] = "" if raw.lower() in BLANK or raw in miss else raw
            if rec["counvte"]:
                code = RULE_CODES.get(rec["counvte"].lower().replace(" ", ""))
                if code is None:
                    errs.add(line, "counvte", rec["counvte"], "a Council voting rule: QMV, "
                             "QMV(10) or Unan", column=col["counvte"] + 1)
                rec["counvte"] = code or ""
            dates = {}
            for m in ("intro", "finact"):
                raw = row[col[m]].strip() if m in col else ""
                if raw.lower() in BLANK or raw in miss:
                    dates[m] = None
                    continue
                d = _date(raw, iso_dates, century_pivot)
                if isinstance(d, str):
                    errs.add(line, m, raw, d, column=col[m] + 1)
                    d = None
                dates[m] = d
            if dates["intro"] and dates["finact"] and dates["finact"] < dates["intro"]:
                errs.add(line, "finact", row[col["finact"]], "a final act on or after the "
                         f"proposal's introduction ({dates['intro'].isoformat()}); with "
                         "YYYY-MM-DD dates, try iso_dates='iso'", column=col["finact"] + 1)
            rec["decided"] = dates["finact"] or dates["intro"]
            rec["date_from"] = ("finact" if dates["finact"] else
                                "intro" if dates["intro"] else "")
            rows.append(rec)
    except csv.Error as exc:
        errs.add(reader.line_num, "row", str(exc), "well-formed delimited text")
    if not rows and not errs:
        errs.add(2, "rows", "nothing", "at least one issue row")
    errs.raise_if_any()

    n = len(rows)
    position = np.array([r["pos"] for r in rows]).reshape(n, a)
    salience = np.array([r["sal"] for r in rows]).reshape(n, a)
    reference = np.array([np.nan if r["rp"] is None else r["rp"] for r in rows], float)
    outcome = np.array([np.nan if r["out"] is None else r["out"] for r in rows], float)
    no_ref = np.isnan(reference)
    filled = no_ref & (reference_fill == "midpoint")
    reference = np.where(filled, 50.0, reference)
    stances = (~np.isnan(position)).sum(axis=1)
    scorable = ~np.isnan(outcome) & (stances >= min_actors)

    def proposal_of(r):
        if proposal_key == "isnr_stem" and id_col == "isnr" and "i" in r["issue"][1:]:
            return r["issue"][: r["issue"].rindex("i")]
        return r["prnr"] or r["issue"]

    proposal = tuple(proposal_of(r) for r in rows)
    summary = dict(
        rows=n, scorable=int(scorable.sum()),
        proposals=len(set(proposal)),
        scorable_proposals=len({p for p, ok in zip(proposal, scorable) if ok}),
        no_outcome=int(np.isnan(outcome).sum()),
        too_few_actors=int((~np.isnan(outcome) & (stances < min_actors)).sum()),
        no_reference=int(no_ref.sum()), no_reference_scorable=int((no_ref & scorable).sum()),
        reference_filled=int(filled.sum()), **counts,
        date_from_intro=sum(r["date_from"] == "intro" for r in rows),
        no_date=sum(r["date_from"] == "" for r in rows),
        delimiter=sep, missing_codes=sorted(miss), min_actors=min_actors,
        reference_fill=reference_fill, proposal_key=proposal_key,
        skipped_lines=sorted(skip))
    return DeuData(path=str(path), sha256=text.sha256, issues=tuple(r["issue"] for r in rows),
                   actors=actors, position=position, salience=salience,
                   capability=np.array([r["cap"] for r in rows]).reshape(n, a),
                   reference=reference, outcome=outcome,
                   lines=tuple(r["line"] for r in rows), ignored_columns=tuple(ignored),
                   capability_given=cap_given, proposal=proposal,
                   procedure=tuple(r["proc"].upper() for r in rows),
                   rule=tuple(r["counvte"] for r in rows),
                   decided=tuple(r["decided"] for r in rows),
                   date_from=tuple(r["date_from"] for r in rows),
                   reference_filled=filled, scorable=scorable, summary=summary, delimiter=sep)


__all__ = ["DeuData", "read_deu", "METADATA"]
