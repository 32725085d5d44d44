"""Fuzzed readers: whatever bytes a reader is given, it ends in a Scenario or a located error.

The contract every reader keeps (``accord.scenario.io.read(path, format=...)`` for each
registered format): the outcome is a :class:`~accord.scenario.model.Scenario` or a
:class:`~accord.errors.ScenarioError` whose every problem names the file and the line —
never another exception, never more than a second, never a memory blow-up.

The inputs start from valid files (small templates drawn by hypothesis, files written by
accord's own writers, and the peers' reference files read in place) and are then corrupted:
byte flips, truncation, deleted and duplicated lines, swapped delimiters, huge numbers,
NaN and infinity, unicode junk, very long lines, byte-order marks, CR-only line endings,
deeply nested YAML, alias bombs ("billion laughs"), XML entity expansion.

This module is also the library of ``bench/fuzz.py``, which runs the same strategies with
the full budget (>= 10^4 inputs per reader) and prints the counts. Here CI runs a small,
derandomised budget.
"""

from __future__ import annotations

import contextlib
import gc
import re
import resource
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from accord.errors import ScenarioError
from accord.scenario import io

FORMATS = ("yaml", "csv", "bdm-csv", "decide", "ktab-csv", "ktab-xml")
SUFFIX = {"yaml": ".yaml", "csv": ".csv", "bdm-csv": ".csv", "decide": ".txt",
          "ktab-csv": ".csv", "ktab-xml": ".xml"}
TIME_LIMIT = 1.0
"""Seconds of CPU one input may take."""
MEMORY_LIMIT = 128 * 1024 * 1024
"""Bytes one input may allocate at its peak (checked with tracemalloc for the bombs; the
largest today, 100 000 nested XML elements, needs ~36 MiB)."""

REPO = Path(__file__).resolve().parents[1]


# ---- valid files: templates ------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """A small valid scenario, before it is written in some format."""

    actors: tuple[str, ...]
    issues: tuple[str, ...]
    capability: tuple[float, ...]
    position: tuple[tuple[float, ...], ...]      # [actor][issue], on 0-100
    salience: tuple[tuple[float, ...], ...]      # [actor][issue], each actor's sum <= 1
    veto: tuple[bool, ...]


_ids = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,7}", fullmatch=True)


@st.composite
def plans(draw) -> Plan:
    n_a = draw(st.integers(1, 5))
    n_i = draw(st.integers(1, 3))
    actors = draw(st.lists(_ids, min_size=n_a, max_size=n_a, unique_by=str.lower))
    issues = draw(st.lists(_ids, min_size=n_i, max_size=n_i, unique_by=str.lower))
    cap = [draw(st.integers(0, 100)) for _ in actors]
    cap[0] = max(cap[0], 1)
    pos = tuple(tuple(float(draw(st.integers(0, 100))) for _ in issues) for _ in actors)
    sal = tuple(tuple(draw(st.integers(0, 100 // n_i)) / 100 for _ in issues) for _ in actors)
    veto = tuple(draw(st.booleans()) for _ in actors)
    return Plan(tuple(actors), tuple(issues), tuple(float(c) for c in cap), pos, sal, veto)


def _g(x: float) -> str:
    return f"{x:g}"


def render(fmt: str, p: Plan) -> str:
    """The plan as a valid file of ``fmt``."""
    A, I = range(len(p.actors)), range(len(p.issues))
    if fmt == "yaml":
        out = ["scenario: fuzz", "title: A fuzzed scenario", "issues:"]
        for i in I:
            out += [f"  {p.issues[i]}:", f"    question: What about {p.issues[i]}?",
                    "    scale: [0, 100]", "    anchors: {0: none, 100: all}",
                    "    status_quo: 50"]
        out.append("actors:")
        for a in A:
            out += [f"  {p.actors[a]}:", f"    name: Actor {p.actors[a]}",
                    f"    capability: {{value: {_g(p.capability[a])}, "
                    f"range: [{_g(p.capability[a])}, {_g(p.capability[a] + 5)}]}}"]
            if p.veto[a]:
                out.append("    veto: true")
            out.append("    stances:")
            for i in I:
                out += [f"      {p.issues[i]}:", f"        position: {_g(p.position[a][i])}",
                        f"        salience: {_g(p.salience[a][i])}",
                        "        judgement: the coder's reading"]
        return "\n".join(out) + "\n"
    if fmt == "csv":
        out = ["actor,issue,position,salience,capability,low,high,scale_low,scale_high,veto,name"]
        for a in A:
            for i in I:
                pos = p.position[a][i]
                out.append(f"{p.actors[a]},{p.issues[i]},{_g(pos)},{_g(p.salience[a][i])},"
                           f"{_g(p.capability[a])},{_g(max(0, pos - 5))},{_g(min(100, pos + 5))},"
                           f"0,100,{'true' if p.veto[a] else 'false'},\"Actor, {p.actors[a]}\"")
        return "\n".join(out) + "\n"
    if fmt == "bdm-csv":
        out = ["Actor,Capability,Position,Salience"]
        out += [f"{p.actors[a]},{_g(p.capability[a])},{_g(p.position[a][0])},"
                f"{_g(p.salience[a][0] * 100)}" for a in A]
        return "\n".join(out) + "\n"
    if fmt == "decide":
        out = ["#O\tfuzz"]
        out += [f"#A\t{p.actors[a]}\tActor {p.actors[a]}\t" for a in A]
        for i in I:
            out += [f"#P\t{p.issues[i]}\tWhat about {p.issues[i]}?", f"#M\t{p.issues[i]}\t0\tnone",
                    f"#M\t{p.issues[i]}\t100\tall"]
        out += [f"#D\t{p.actors[a]}\t{p.issues[i]}\t{_g(p.position[a][i])}\t"
                f"{_g(p.salience[a][i])}\t{_g(p.capability[a])}\t" for a in A for i in I]
        return "\n".join(out) + "\n"
    if fmt == "ktab-csv":
        out = [f"Fuzz,A fuzzed scenario,{len(A)},{len(I)},",
               "Actor,Description,Influence," + ",".join(f"{x},{x} Salience" for x in p.issues)]
        for a in A:
            cells = [p.actors[a], f"Actor {p.actors[a]}", _g(p.capability[a])]
            for i in I:
                cells += [_g(p.position[a][i]), _g(p.salience[a][i] * 100)]
            out.append(",".join(cells) + ",")
        return "\r\n".join(out) + "\r\n"
    if fmt == "ktab-xml":
        out = ['<?xml version="1.0" encoding="UTF-8"?>', "<Scenario>", "  <name>Fuzz</name>",
               "  <desc>A fuzzed scenario</desc>", "  <prngSeed>7</prngSeed>",
               "  <ModelParameters>", "    <VictoryProbModel>Linear</VictoryProbModel>",
               "    <VotingRule>Cubic</VotingRule>", "  </ModelParameters>", "  <Dimensions>"]
        out += [f"    <dName>{x}</dName>" for x in p.issues]
        out += ["  </Dimensions>", "  <Actors>"]
        for a in A:
            out += ["    <Actor>", f"      <name>{p.actors[a]}</name>",
                    f"      <description>Actor {p.actors[a]}</description>",
                    f"      <capability>{_g(p.capability[a])}</capability>", "      <Position>"]
            out += [f"        <dCoord>{_g(p.position[a][i])}</dCoord>" for i in I]
            out += ["      </Position>", "      <Salience>"]
            out += [f"        <dSal>{_g(p.salience[a][i] * 100)}</dSal>" for i in I]
            out += ["      </Salience>", "    </Actor>"]
        out += ["  </Actors>"]
        if len(A) > 1:
            out += ["  <IdealAdjustment>", "    <iaPair>",
                    f"      <adjustingIdeal>{p.actors[0]}</adjustingIdeal>",
                    f"      <referencePos>{p.actors[1]}</referencePos>",
                    "      <adjust>0.5</adjust>", "    </iaPair>", "  </IdealAdjustment>"]
        out += ["</Scenario>"]
        return "\n".join(out) + "\n"
    raise ValueError(fmt)


# ---- valid files: accord's writers and the peers' reference files -------------------------------

REFERENCE_GLOBS = {"bdm-csv": ("bdm/*.csv", "bdm/original/*/*.csv"),
                   "decide": ("exchange/*.csv", "exchange/*.txt"),
                   "ktab-csv": ("ktab/*.csv",)}


def reference_root() -> Path | None:
    """``../shared/reference`` as tests/conftest.py finds it (for bench/fuzz.py)."""
    sys.path.insert(0, str(REPO / "tests"))
    try:
        from conftest import _find
    finally:
        sys.path.pop(0)
    return _find("ACCORD_REFERENCE", "shared/reference")


def seed_files(reference: Path | None, workdir: Path) -> dict[str, list[bytes]]:
    """Valid files per format: bundled scenarios through accord's writers, and the reference
    files (read in place) that the reader accepts."""
    from accord.scenario import load

    seeds: dict[str, list[bytes]] = {f: [] for f in FORMATS}
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("eu-emissions", "ukraine-2025"):
        try:
            sc = load(name)
        except ScenarioError:
            continue
        for fmt in FORMATS:
            writer = io.formats()[fmt].write
            if writer is None:
                continue
            target = workdir / f"seed-{name}-{fmt}{SUFFIX[fmt]}"
            target.unlink(missing_ok=True)
            try:
                writer(sc, target)
            except (ValueError, ScenarioError):      # the format cannot hold this scenario
                continue
            data = target.read_bytes()
            if fmt == "yaml" or len(data) < 20_000:
                seeds[fmt].append(data)
    if reference is not None:
        for fmt, globs in REFERENCE_GLOBS.items():
            for pattern in globs:
                for path in sorted(reference.glob(pattern)):
                    if path.stat().st_size > 20_000:
                        continue
                    try:
                        io.read(path, format=fmt)
                    except ScenarioError:
                        continue
                    seeds[fmt].append(path.read_bytes())
    return seeds


# ---- corruptions -------------------------------------------------------------------------------

WEIRD_NUMBERS = ("nan", "NaN", "-nan", "inf", "-inf", "Infinity", ".inf", ".nan", "1e309",
                 "-1e309", "1.7976931348623157e308", "1e-400", "9" * 400, "-" + "9" * 40,
                 "0x1F", "1_000", "-0", "+5", "5.5.5", "1,5", "١٢", "٣.٥", "", " ", "~",
                 "null", "true", "2**64", "1e5000", "18446744073709551617", "−3", "５")
JUNK = ("\ufeff", "\u200b", "\u202e", "\x00", "\x1b[31m", "\ud7ff", "\U0001f600", "é",
        "\u0301", "\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\\", "'", '"', "&", "<", "]]>",
        "*", "&a", "!!python/object:os.system", "{", "[", "%", "#", "\t", ";", ",", "|")


def _frac():
    return st.floats(0, 1, exclude_max=True)


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _at(n: int, f: float) -> int:
    return min(int(f * n), max(n - 1, 0))


def _yaml_bomb(levels: int, width: int) -> str:
    out = ["bomb0: &b0 [" + ", ".join(["lol"] * width) + "]"]
    for k in range(1, levels):
        out.append(f"bomb{k}: &b{k} [" + ", ".join([f"*b{k - 1}"] * width) + "]")
    return "\n".join(out) + "\n"


def _xml_bomb(levels: int) -> str:
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{k} "' + f"&lol{k - 1};" * 10 + '">' for k in range(1, levels)]
    return ('<?xml version="1.0"?>\n<!DOCTYPE Scenario [\n' + "\n".join(ents) + "\n]>\n")


SPECIALS = {
    "yaml": (
        ("prepend", _yaml_bomb(9, 10)),                       # billion laughs
        ("prepend", _yaml_bomb(30, 2)),                       # a billion with 2-wide levels
        ("append", "recursive: &r [*r]\n"),
        ("append", "recursive: &m {a: *m}\n"),
        ("append", "deep: " + "[" * 20_000 + "]" * 20_000 + "\n"),
        ("append", "deep: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n"),
        ("append", "deep:\n" + "".join(" " * (k + 1) + "- \n" for k in range(3_000))),
        ("append", "deep:\n" + "".join(" " * (k + 1) + f"k{k}:\n" for k in range(3_000))),
        ("append", "tag: !!python/object/apply:os.system ['true']\n"),
        ("append", "tag: !custom 5\n"),
        ("append", "merge:\n  <<: *nothing\n"),
        ("append", "x: &a 1\ny: *a\n<<: {scenario: other}\n"),
        ("append", "big: " + "9" * 5_000 + "\n"),
        ("append", "date: 2025-02-30\n"),
        ("append", "---\nscenario: second\n"),
        ("append", "...\n"),
        ("replace", ("scale: [0, 100]", "scale: &s [0, 100]\n    status_quo: *s")),
        ("replace", ("scale: [0, 100]", "scale: [100, 0]")),
        ("replace", ("scale: [0, 100]", "scale: [0, .nan]")),
        ("replace", ("scale: [0, 100]", "scale: [0, 1e400]")),
        ("replace", ("scale: [0, 100]", "scale: {low: 0}")),
        ("replace", ("position:", "position: &p")),
        ("replace", ("salience:", "salience: !!str")),
        ("replace", ("capability:", "capability: !!binary")),
        ("replace", ("stances:", "stances: !!set")),
        ("replace", ("anchors: {", "anchors: {? [1, 2]: composite, ")),
        ("replace", ("anchors: {", "anchors: {.nan: x, ")),
        ("replace", ("actors:", "actors: &all")),
        ("replace", ("scenario: ", "scenario: !!timestamp ")),
    ),
    "xml": (
        ("prepend", _xml_bomb(10)),
        ("prepend", '<?xml version="1.0"?>\n<!DOCTYPE Scenario [<!ENTITY x SYSTEM '
                    '"file:///etc/passwd">]>\n'),
        ("prepend", '<?xml version="1.0"?>\n<!DOCTYPE Scenario SYSTEM "http://127.0.0.1:9/x.dtd">\n'),
        ("replace", ("<name>", "<name>&x;")),
        ("replace", ("<name>", "<name>&lt;&#0;")),
        ("replace", ("<name>", "<name>&#x10FFFF;&#xD800;")),
        ("replace", ("<name>", "<name><![CDATA[a]]>")),
        ("replace", ("<Actors>", "<Actors>" + "<Actor>" * 20_000 + "</Actor>" * 20_000)),
        ("replace", ("<Actors>", "<Actors xmlns:a='urn:x' a:b='1'>")),
        ("replace", ("<Dimensions>", "<Dimensions><?pi x?><!-- c -->")),
        ("replace", ("<dCoord>", "<dCoord>" + "9" * 5_000)),
        ("replace", ("<dSal>", "<dSal>-")),
        ("replace", ("</Scenario>", "</Scenario><Scenario/>")),
        ("replace", ("<Scenario>", "<Scenario>" + "<name>x</name>" * 3)),
        ("append", "<trailing/>"),
        ("prepend", '<?xml version="1.0" encoding="UTF-16"?>\n'),
    ),
    "csv": (
        ("append", '"' + "x" * 200_000 + '"\n'),             # field over csv's size limit
        ("append", '"unterminated,1,2,3\n'),
        ("append", "a,b,c" + ",x" * 20_000 + "\n"),
        ("append", '"a""b",1,2,3\n'),
        ("prepend", "sep=;\n"),
        ("append", "\n\n\n,,,,\n"),
        ("append", "#comment\n"),
        ("replace", (",", ',"')),
        ("replace", ("\t", "\t'")),
        ("replace", ("Actor", "\ufeffActor")),
        ("replace", ("#A", "'#A'")),
        ("replace", ("#D", "#P")),
        ("replace", ("#P", "#D")),
        ("replace", ("#M", "#A")),
    ),
}


def _special(fmt: str):
    family = {"yaml": "yaml", "ktab-xml": "xml"}.get(fmt, "csv")
    return st.tuples(st.just("special"), st.sampled_from(SPECIALS[family]))


def mutations(fmt: str):
    """One corruption, as a plain tuple (so a failing example prints readably)."""
    f = _frac()
    return st.one_of(
        st.tuples(st.just("flip"), f, st.integers(0, 255)),
        st.tuples(st.just("insert"), f, st.sampled_from(JUNK)),
        st.tuples(st.just("insert_text"), f, st.text(max_size=8)),
        st.tuples(st.just("insert_bytes"), f, st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("truncate"), f),
        st.tuples(st.just("delete_line"), f),
        st.tuples(st.just("duplicate_line"), f, st.sampled_from((1, 2, 50, 5_000))),
        st.tuples(st.just("swap_lines"), f, f),
        st.tuples(st.just("delimiter"), st.sampled_from((",", ";", "\t", "|", " ", ":", "")),
                  st.sampled_from((",", ";", "\t", "|", " ", "\n"))),
        st.tuples(st.just("number"), f, st.sampled_from(WEIRD_NUMBERS)),
        st.tuples(st.just("bom"), st.sampled_from((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff",
                                                   b"\xef\xbb\xbf\xef\xbb\xbf"))),
        st.tuples(st.just("endings"), st.sampled_from(("\r", "\r\n", "\n\r", "\r\r\n",
                                                       "\u2028", "\x85"))),
        st.tuples(st.just("long_line"), f, st.sampled_from((1_000, 70_000, 300_000))),
        st.tuples(st.just("indent"), f, st.sampled_from((" ", "\t", "  ", ""))),
        st.tuples(st.just("blank_cells"), f),
        st.tuples(st.just("keep_lines"), st.integers(0, 3)),
        _special(fmt),
    )


_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


MAX_INPUT = 256 * 1024
"""Bytes of one fuzzed input at most (a longer one is truncated): the one-second contract
is about malformed files, not about huge valid ones."""


def corrupt(data: bytes, ops) -> bytes:
    """Apply corruptions in order; each keeps working on bytes."""
    for op in ops:
        data = data[:MAX_INPUT]
        kind, args = op[0], op[1:]
        n = len(data)
        if kind == "flip":
            if n:
                k = _at(n, args[0])
                data = data[:k] + bytes([data[k] ^ (args[1] or 1)]) + data[k + 1:]
        elif kind in ("insert", "insert_text"):
            k = _at(n + 1, args[0])
            data = data[:k] + args[1].encode("utf-8", "surrogatepass") + data[k:]
        elif kind == "insert_bytes":
            k = _at(n + 1, args[0])
            data = data[:k] + args[1] + data[k:]
        elif kind == "truncate":
            data = data[:_at(n, args[0])]
        elif kind == "keep_lines":
            data = b"\n".join(_lines(data)[:args[0]]) + b"\n"
        elif kind in ("delete_line", "duplicate_line", "swap_lines", "long_line", "indent",
                      "blank_cells"):
            lines = _lines(data)
            k = _at(len(lines), args[0])
            if kind == "delete_line":
                del lines[k]
            elif kind == "duplicate_line":
                lines[k:k + 1] = [lines[k]] * (args[1] + 1)
            elif kind == "swap_lines":
                j = _at(len(lines), args[1])
                lines[k], lines[j] = lines[j], lines[k]
            elif kind == "long_line":
                lines[k] = lines[k] + b"x" * args[1]
            elif kind == "blank_cells":          # the delimiters and nothing else
                lines[k] = re.sub(rb"[^,;\t\r]", b"", lines[k])
            else:
                lines[k] = args[1].encode() + lines[k]
            data = b"\n".join(lines)
        elif kind == "delimiter":
            old, new = args
            if old:
                data = data.replace(old.encode(), new.encode())
        elif kind == "number":
            found = list(_NUMBER.finditer(data))
            if found:
                m = found[_at(len(found), args[0])]
                data = data[:m.start()] + args[1].encode() + data[m.end():]
        elif kind == "bom":
            data = args[0] + data
        elif kind == "endings":
            data = data.replace(b"\n", args[0].encode())
        elif kind == "special":
            how, what = args[0]
            if how == "prepend":
                data = what.encode() + data
            elif how == "append":
                data = data + (b"" if data.endswith(b"\n") or not data else b"\n") + what.encode()
            else:
                data = data.replace(what[0].encode(), what[1].encode(), 1)
        else:
            raise ValueError(kind)
    return data[:MAX_INPUT]


def inputs(fmt: str, seeds: list[bytes]):
    """A valid file of ``fmt`` (template or seed) and the corruptions to apply to it."""
    valid = plans().map(lambda p: render(fmt, p).encode())
    if seeds:
        valid = st.one_of(valid, st.sampled_from(seeds))
    return st.tuples(valid, st.lists(mutations(fmt), min_size=0, max_size=3))


# ---- running one input --------------------------------------------------------------------------

@contextlib.contextmanager
def unguarded():
    """Let unexpected exceptions out of the readers instead of ``guard``'s catch-all, so
    that an exception a reader did not foresee counts as one (not as a vague error)."""
    modules = {sys.modules[f.read.__module__] for f in io.formats().values()}

    def strict(path, fn):
        return fn()

    saved = {m: m.guard for m in modules if hasattr(m, "guard")}
    try:
        for m in saved:
            m.guard = strict
        yield
    finally:
        for m, g in saved.items():
            m.guard = g


@contextlib.contextmanager
def frozen_heap():
    """Keep the objects alive so far out of garbage collections, so that a collection of
    hypothesis's and pytest's heap is not counted as a reader's time."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Timeout(BaseException):
    """Raised by the alarm in bench runs; a BaseException so no reader can swallow it."""


@dataclass
class Outcome:
    kind: str                 # scenario | located | unlocated | other | timeout
    seconds: float
    detail: str = ""


def run_one(path: Path, fmt: str, data: bytes, alarm: int = 0, retime: bool = True) -> Outcome:
    """Write ``data`` to ``path`` and read it as ``fmt`` (and sniff it): classify the outcome.

    ``alarm``: seconds of CPU after which SIGVTALRM fires (its handler must raise
    ``_Timeout``); CPU, not wall time, so that a busy machine does not look like a hang."""
    path.write_bytes(data)
    collecting = gc.isenabled()
    gc.disable()            # a collection of the fuzzer's own heap is not the reader's time
    c0 = time.process_time()
    kind, detail = "scenario", ""
    if alarm:
        signal.setitimer(signal.ITIMER_VIRTUAL, alarm)
    try:
        try:
            io.sniff(path)
        except ScenarioError:
            pass
        io.read(path, format=fmt)
    except ScenarioError as exc:
        bad = [p for p in exc.problems if not p.file or p.line is None]
        if not exc.problems:
            kind, detail = "unlocated", "a ScenarioError without problems"
        elif bad:
            kind, detail = "unlocated", "\n".join(str(p) for p in bad[:3])
        else:
            kind = "located"
    except _Timeout:
        kind, detail = "timeout", "alarm"
    except Exception:  # noqa: BLE001 - the point is to count them
        kind, detail = "other", traceback.format_exc(limit=-6)
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        seconds = max(time.process_time() - c0, 0.0)
        if collecting:
            gc.enable()
    if seconds >= TIME_LIMIT and kind != "timeout" and retime:
        # once more: a garbage collection or a busy machine is not the reader's time
        seconds = min(seconds, run_one(path, fmt, data, alarm, retime=False).seconds)
    return Outcome(kind, seconds, detail)


def describe(data: bytes, ops) -> str:
    shown = [_short(repr(op)) for op in ops]
    return f"corruptions=[{', '.join(shown)}]\ninput ({len(data)} bytes) starts {data[:300]!r}"


def _short(text: str, n: int = 160) -> str:
    return text if len(text) <= n else f"{text[:n // 2]} ...({len(text)} chars)... {text[-n // 4:]}"


# ---- CI: a small budget ------------------------------------------------------------------------

CI_EXAMPLES = 150


@pytest.fixture(scope="module")
def seeds(request, tmp_path_factory) -> dict[str, list[bytes]]:
    try:
        ref = request.getfixturevalue("reference")
    except pytest.skip.Exception:
        ref = None
    return seed_files(ref, tmp_path_factory.mktemp("seeds"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_fuzzed(fmt):
    assert fmt in io.formats(), f"{fmt} is no longer registered"
    assert set(io.formats()) <= set(FORMATS), (
        f"a new reader {sorted(set(io.formats()) - set(FORMATS))}: add it to FORMATS")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_corrupted_file_ends_in_a_scenario_or_a_located_error(fmt, seeds, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / f"input{SUFFIX[fmt]}"

    @settings(max_examples=CI_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), print_blob=False,
              phases=(Phase.explicit, Phase.generate))      # no shrinking: CI stays short
    @given(inputs(fmt, seeds[fmt]))
    def check(case):
        valid, ops = case
        data = corrupt(valid, ops)
        with unguarded():
            got = run_one(path, fmt, data)
        assert got.kind in ("scenario", "located"), f"{got.kind}: {got.detail}\n{describe(data, ops)}"
        assert got.seconds < TIME_LIMIT, f"{got.seconds:.2f} s\n{describe(data, ops)}"

    with frozen_heap():
        check()


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_valid_files_the_fuzzer_starts_from_are_read(fmt, seeds, tmp_path):
    """Otherwise the fuzzer corrupts what was broken already and proves little."""
    path = tmp_path / f"valid{SUFFIX[fmt]}"

    @settings(max_examples=30, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(plans())
    def check(plan):
        path.write_text(render(fmt, plan))
        io.read(path, format=fmt)

    check()
    for data in seeds[fmt]:
        path.write_bytes(data)
        io.read(path, format=fmt)


BOMBS = [
    ("yaml", "billion laughs", lambda: "scenario: t\n" + _yaml_bomb(9, 10)),
    ("yaml", "billion laughs, 2 wide", lambda: "scenario: t\n" + _yaml_bomb(30, 2)),
    ("yaml", "recursive alias", lambda: "scenario: t\nx: &r [*r]\n"),
    ("yaml", "deep flow nesting", lambda: "scenario: t\nx: " + "[" * 100_000 + "]" * 100_000 + "\n"),
    ("yaml", "deep block nesting",
     lambda: "scenario: t\nx:\n" + "".join(" " * (k + 1) + f"k{k}:\n" for k in range(5_000))),
    ("ktab-xml", "billion laughs", lambda: _xml_bomb(10) + "<Scenario><name>&lol9;</name></Scenario>\n"),
    ("ktab-xml", "external entity", lambda: '<?xml version="1.0"?>\n<!DOCTYPE Scenario [<!ENTITY x '
     'SYSTEM "file:///etc/passwd">]>\n<Scenario><name>&x;</name></Scenario>\n'),
    ("ktab-xml", "deep nesting", lambda: "<Scenario>" + "<a>" * 100_000 + "</a>" * 100_000 + "</Scenario>\n"),
    ("csv", "a field over csv's limit", lambda: "actor,issue,position,salience,capability\n"
     + '"' + "x" * 300_000 + '",x,1,0.5,1\n'),
    ("decide", "a field over csv's limit", lambda: "#A\t" + "x" * 300_000 + "\n#P\tx\n"),
    ("decide", "an unterminated quote", lambda: "#A\ta\n#P\tx\n#D\ta\tx\t1\t0.5\t1\n\"#A\tb\n"),
    ("bdm-csv", "a very long line", lambda: "Actor,Capability,Position,Salience\n" + "A," * 500_000 + "\n"),
    ("ktab-csv", "a field over csv's limit", lambda: "s,d,1,1\nActor,Description,Influence,x,x s\n"
     + '"' + "x" * 300_000 + '",d,1,1,1\n'),
]


@pytest.mark.parametrize("fmt,name,make", BOMBS, ids=[f"{f}: {n}" for f, n, _ in BOMBS])
def test_a_bomb_is_refused_quickly_and_in_little_memory(fmt, name, make, tmp_path):
    import tracemalloc

    path = tmp_path / f"bomb{SUFFIX[fmt]}"
    data = make().encode()
    with unguarded():
        got = run_one(path, fmt, data)
    assert got.kind == "located", f"{got.kind}: {got.detail}"
    assert got.seconds < TIME_LIMIT, f"{got.seconds:.2f} s"
    tracemalloc.start()          # once more, counting memory (and slower)
    try:
        with unguarded():
            run_one(path, fmt, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"{peak / 2**20:.0f} MiB"


# Inputs the fuzzer found, each once a crash, an unlocated error or a slow read:
# (format, what it was, input, line the first problem must name; None: any line)
FOUND = [
    ("yaml", "a control character (libyaml's reader error has no mark)",
     b"scenario: t\ntitle: a\x1fb\n", 2),
    ("yaml", "a NEL control character after a flipped byte", b"scenario: t\n\n\nx: \xc2\x88\n", 4),
    ("yaml", "an integer of 5000 digits (ValueError from int())", b"scenario: t\nx: " + b"9" * 5000 + b"\n", 2),
    ("yaml", "!!timestamp on a word (AttributeError)", b"scenario: t\n\nx: !!timestamp fuzz\n", 3),
    ("yaml", "February 30 (ValueError from date())", b"scenario: t\nas_of: 2025-02-30\n", 2),
    ("yaml", "100 000 nested brackets (libyaml's composer crashed the process)",
     b"scenario: t\nx: " + b"[" * 100_000 + b"\n", 2),
    ("yaml", "an issue's scale reversed (the shared check had no line)",
     b"scenario: t\nissues:\n  x:\n    question: q\n    scale: [100, 0]\n"
     b"actors:\n  a: {capability: 1, stances: {x: {position: 5, salience: 0.5}}}\n", 5),
    ("bdm-csv", "an actor twice (the duplicate had no line)",
     b"Actor,Capability,Position,Salience\nA,1,2,50\nB,1,3,40\nA,1,2,50\n", 4),
    ("bdm-csv", "every capability zero (the shared check had no line)",
     b"Actor,Capability,Position,Salience\nA,0,2,50\nB,0,3,40\n", 2),
    ("csv", "a header of empty cells (StopIteration)", b",,,\n", 1),
    ("csv", "a lone quote (StopIteration)", b'"\n', 1),
    ("csv", "a header and no rows (no line)", b"actor,issue,position,salience,capability\n", 1),
    ("decide", "a row tag without a delimiter (TypeError)", b"#O", None),
    ("decide", "a cell over csv's field limit (csv.Error)", b"#A\t" + b"x" * 200_000 + b"\n#P\tx\n",
     None),
    ("decide", "no #P rows (no line)", b"#A\ta\n#A\tb\n", None),
]


@pytest.mark.parametrize("fmt,name,data,line", FOUND, ids=[f"{f}: {n}" for f, n, _, _ in FOUND])
def test_what_the_fuzzer_found_stays_fixed(fmt, name, data, line, tmp_path):
    path = tmp_path / f"found{SUFFIX[fmt]}"
    with unguarded():
        got = run_one(path, fmt, data)
    assert got.kind == "located", f"{got.kind}: {got.detail}"
    assert got.seconds < TIME_LIMIT
    with pytest.raises(ScenarioError) as exc:
        io.read(path, format=fmt)
    assert line is None or exc.value.problems[0].line == line, exc.value.render()


def test_many_repeated_rows_are_refused_in_linear_time(tmp_path):
    """10^4 copies of one BDM row took 1.7 s (duplicate ids were counted with list.count)."""
    path = tmp_path / "many.csv"
    path.write_bytes(b"Actor,Capability,Position,Salience\n" + b"A,1,2,50\n" * 20_000)
    got = run_one(path, "bdm-csv", path.read_bytes())
    assert got.kind == "located" and got.seconds < TIME_LIMIT / 2, got


def memory_guard(extra: int = 4 * 2**30):
    """Cap this process's address space (bench runs): a blow-up becomes a MemoryError."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as fh:
        size = int(fh.read().split()[0]) * resource.getpagesize()
    limit = size + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return soft, hard


__all__ = ["FORMATS", "SUFFIX", "Plan", "plans", "render", "seed_files", "mutations", "corrupt",
           "inputs", "unguarded", "frozen_heap", "run_one", "Outcome", "describe", "reference_root",
           "memory_guard"]
