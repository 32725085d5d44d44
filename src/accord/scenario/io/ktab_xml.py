"""KTAB SMP XML (``smpSchema.xsd``): the scenario file KTAB's GUI and ``smpc --xml`` read.

``<Scenario>`` holds ``name``, ``desc``, optional ``prngSeed``, optional
``ModelParameters`` (KTAB's nine parameters by name), ``Dimensions/dName*``,
``Actors/Actor*`` (``name``, ``description``, ``capability``, ``Position/dCoord*``,
``Salience/dSal*``, positions and saliences on 0–100) and optional
``IdealAdjustment/iaPair*`` (``adjustingIdeal``, ``referencePos``, ``adjust`` in [0, 1]).

The writer produces the same layout (issues rescaled to 0–100). Parsed with expat so
that every element keeps its line and column. A document type
declaration is refused outright: SMP files need none, and refusing it rules out entity
expansion attacks ("billion laughs") and external entities. The model parameters are
reported in ``Scenario.notes`` and returned by :func:`model_parameters`; the ideal
adjustments are kept on each actor's ``extra["ktab_ideal_adjustment"]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

import numpy as np

from ...errors import Collector
from ..model import Actor, Issue, Quantity, Stance
from . import Format
from ._common import Text, finish, guard, parse_float, read_text
from .ktab import scenario_id

PARAMETERS = {
    "VictoryProbModel": ("Linear", "Square", "Quartic", "Octic", "Binary"),
    "PCEModel": ("Conditional", "MarkovIncentive", "MarkovUniform"),
    "StateTransitions": ("Deterministic", "Stochastic"),
    "VotingRule": ("Binary", "PropBin", "Prop", "PropCbc", "Cubic", "ASymProsp"),
    "BigRAdjust": ("None", "OneThird", "Half", "TwoThirds", "Full"),
    "BigRRange": ("Min", "Mid", "Max"),
    "ThirdPartyCommit": ("NoCommit", "SemiCommit", "FullCommit"),
    "InterVecBrgn": ("S1P1", "S2P2", "S2PMax"),
    "BargnModel": ("InitOnlyInterp", "InitRcvrInterp", "PWCompInterp"),
}
_TOP = ("name", "desc", "prngSeed", "ModelParameters", "Dimensions", "Actors", "IdealAdjustment")
_ACTOR = ("name", "description", "capability", "Position", "Salience")
_PAIR = ("adjustingIdeal", "referencePos", "adjust")


@dataclass
class _Node:
    tag: str
    line: int
    column: int
    text: str = ""
    children: list["_Node"] = field(default_factory=list)

    def all(self, tag: str) -> list["_Node"]:
        return [c for c in self.children if c.tag == tag]


class _Refused(Exception):
    pass


def _parse(text: Text, out: Collector) -> _Node:
    """Expat to a small tree with positions; DOCTYPE and entity declarations refused."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_Node] = []
    root: list[_Node] = []

    def refuse(*_args):
        raise _Refused()

    def start(tag, _attrs):
        node = _Node(tag, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(_tag):
        stack.pop()

    def chars(data):
        if stack:
            stack[-1].text += data

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(text.text, True)
    except _Refused:
        raise out.fail(parser.CurrentLineNumber, "DOCTYPE", "a document type or entity "
                       "declaration", "an SMP scenario without DTD or entities (refused: "
                       "entity expansion)", parser.CurrentColumnNumber + 1) from None
    except expat.ExpatError as exc:
        raise out.fail(exc.lineno, "xml", expat.ErrorString(exc.code),
                       "well-formed XML", exc.offset + 1) from None
    return root[0]


def _sniff(path: Path, head: str) -> int:
    body = head.lstrip()
    if "<Scenario" in body[:600] and ("<Actors" in body or "<Dimensions" in body
                                      or "<name>" in body):
        return 10
    return 1 if path.suffix.lower() == ".xml" else 0


def read(path: Path, lenient: bool = False):
    return guard(str(path), lambda: _read(read_text(path)))


def _one(parent: _Node, tag: str, out: Collector, required: bool = True) -> _Node | None:
    found = parent.all(tag)
    if not found:
        if required:
            out.add(parent.line, f"{parent.tag}/{tag}", "nothing", f"a <{tag}> element",
                    parent.column)
        return None
    for extra in found[1:]:
        out.add(extra.line, f"{parent.tag}/{tag}", "a second element", f"one <{tag}>",
                extra.column)
    return found[0]


def _unknown(node: _Node, allowed: tuple[str, ...], out: Collector) -> None:
    for child in node.children:
        if child.tag not in allowed:
            out.add(child.line, f"{node.tag}/{child.tag}", f"<{child.tag}>",
                    f"one of {', '.join('<' + a + '>' for a in allowed)}", child.column)


def _read(text: Text):
    out = Collector(text.path)
    root = _parse(text, out)
    if root.tag != "Scenario":
        raise out.fail(root.line, "root", f"<{root.tag}>", "<Scenario>", root.column)
    _unknown(root, _TOP, out)
    name = _one(root, "name", out)
    desc = _one(root, "desc", out, required=False)
    params, notes = _parameters(root, out), []
    if params:
        notes.append("KTAB ModelParameters: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    dims_node = _one(root, "Dimensions", out)
    dims: list[tuple[str, _Node]] = []
    if dims_node is not None:
        _unknown(dims_node, ("dName",), out)
        for d in dims_node.all("dName"):
            label = d.text.strip()
            if not label:
                out.add(d.line, "dName", label, "a dimension name", d.column)
            elif label in [x for x, _ in dims]:
                out.add(d.line, "dName", label, "unique dimension names", d.column)
            else:
                dims.append((label, d))
        if not dims_node.all("dName"):
            out.add(dims_node.line, "Dimensions", "no <dName>", "at least one dimension",
                    dims_node.column)
    actors_node = _one(root, "Actors", out)
    out.raise_if_any()
    n_dim = len(dims)
    actors, stances, lines = [], {}, {}
    for node in actors_node.all("Actor") if actors_node is not None else []:
        _unknown(node, _ACTOR, out)
        nm = _one(node, "name", out)
        ds = _one(node, "description", out, required=False)
        cp = _one(node, "capability", out)
        pos_node = _one(node, "Position", out)
        sal_node = _one(node, "Salience", out)
        if nm is None or cp is None or pos_node is None or sal_node is None:
            continue
        actor = nm.text.strip()
        if not actor:
            out.add(nm.line, "Actor/name", actor, "an actor name", nm.column)
            continue
        if actor in lines:
            out.add(nm.line, "Actor/name", actor,
                    f"a unique actor name (also on line {lines[actor]})", nm.column)
            continue
        lines[actor] = nm.line
        cap = parse_float(cp.text, out, cp.line, f"{actor}.capability", "a capability >= 0",
                          cp.column)
        if cap is not None and cap < 0:
            out.add(cp.line, f"{actor}.capability", cp.text.strip(), "a capability >= 0",
                    cp.column)
        _unknown(pos_node, ("dCoord",), out)
        _unknown(sal_node, ("dSal",), out)
        coords, sals = pos_node.all("dCoord"), sal_node.all("dSal")
        ok = cap is not None
        for kind, got, where in (("dCoord", coords, pos_node), ("dSal", sals, sal_node)):
            if len(got) != n_dim:
                out.add(where.line, f"{actor}.{where.tag}", f"{len(got)} <{kind}>",
                        f"{n_dim} <{kind}>, one per dimension", where.column)
                ok = False
        if not ok:
            continue
        total = 0.0
        row = {}
        for (dim, _), c, s in zip(dims, coords, sals):
            p = parse_float(c.text, out, c.line, f"{actor}.{dim}.position",
                            "a position in [0, 100]", c.column)
            v = parse_float(s.text, out, s.line, f"{actor}.{dim}.salience",
                            "a salience in [0, 100]", s.column)
            if p is not None and not 0 <= p <= 100:
                out.add(c.line, f"{actor}.{dim}.position", c.text.strip(),
                        "a position in [0, 100]", c.column)
                p = None
            if v is not None and not 0 <= v <= 100:
                out.add(s.line, f"{actor}.{dim}.salience", s.text.strip(),
                        "a salience in [0, 100]", s.column)
                v = None
            if p is None or v is None:
                ok = False
                continue
            total += v
            row[dim] = Stance(Quantity(p, file=text.path, line=c.line),
                              Quantity(v / 100.0, file=text.path, line=s.line))
        if ok and total > 100 + 1e-9:
            out.add(sal_node.line, f"{actor}.Salience", round(total, 6),
                    "saliences of one actor that sum to at most 100", sal_node.column)
        if not ok:
            continue
        actors.append(Actor(actor, actor, Quantity(cap, file=text.path, line=cp.line),
                            description=(ds.text.strip() or None) if ds is not None else None))
        for dim, st in row.items():
            stances[(actor, dim)] = st
    if actors_node is not None:
        _unknown(actors_node, ("Actor",), out)
        if not actors_node.all("Actor"):
            out.add(actors_node.line, "Actors", "no <Actor>", "at least one actor",
                    actors_node.column)
    adjust = _adjustments(root, lines, out)
    out.raise_if_any()
    if adjust:
        actors = [Actor(a.id, a.name, a.capability, a.veto, a.description, a.no_deal,
                        {**dict(a.extra), "ktab_ideal_adjustment": adjust[a.id]})
                  if a.id in adjust else a for a in actors]
        notes.append("KTAB IdealAdjustment kept on actors' extra['ktab_ideal_adjustment']")
    notes.append("positions on 0-100 per dimension; salience read on 0-100 and divided by 100")
    sname = name.text.strip() or Path(text.path).stem
    dtext = desc.text.strip() if desc is not None else ""
    return finish(out, text.path, text, "ktab-xml", id=scenario_id(sname, text.path), title=sname,
                  description=dtext or None, actors=actors,
                  issues=[Issue(d, d, 0.0, 100.0) for d, _ in dims], stances=stances,
                  notes=notes)


def _parameters(root: _Node, out: Collector) -> dict[str, str]:
    node = _one(root, "ModelParameters", out, required=False)
    if node is None:
        return {}
    _unknown(node, tuple(PARAMETERS), out)
    found = {}
    for key, choices in PARAMETERS.items():
        child = _one(node, key, out, required=False)
        if child is None:
            continue
        value = child.text.strip()
        if value not in choices:
            out.add(child.line, f"ModelParameters/{key}", value, f"one of {', '.join(choices)}",
                    child.column)
        else:
            found[key] = value
    return found


def _adjustments(root: _Node, actors: dict[str, int],
                 out: Collector) -> dict[str, dict[str, float]]:
    node = _one(root, "IdealAdjustment", out, required=False)
    if node is None:
        return {}
    _unknown(node, ("iaPair",), out)
    table: dict[str, dict[str, float]] = {}
    first_line: dict[str, int] = {}
    for pair in node.all("iaPair"):
        _unknown(pair, _PAIR, out)
        a, r, v = (_one(pair, t, out) for t in _PAIR)
        if a is None or r is None or v is None:
            continue
        who, ref = a.text.strip(), r.text.strip()
        bad = False
        for el, nm in ((a, who), (r, ref)):
            if nm not in actors:
                out.add(el.line, f"iaPair/{el.tag}", nm, "the name of an actor above", el.column)
                bad = True
        value = parse_float(v.text, out, v.line, "iaPair/adjust", "a number in [0, 1]", v.column)
        if value is not None and not 0 <= value <= 1:
            out.add(v.line, "iaPair/adjust", v.text.strip(), "a number in [0, 1]", v.column)
            bad = True
        if bad or value is None:
            continue
        if ref in table.get(who, {}):
            out.add(pair.line, "iaPair", f"{who} -> {ref}", "one iaPair per actor pair",
                    pair.column)
            continue
        table.setdefault(who, {})[ref] = value
        first_line.setdefault(who, pair.line)
    for who, row in table.items():
        if sum(row.values()) > 1 + 1e-9:
            out.add(first_line[who], f"iaPair/{who}", round(sum(row.values()), 6),
                    "adjustments of one actor that sum to at most 1")
    return table


def model_parameters(path: str | Path) -> dict[str, str]:
    """The ``ModelParameters`` of a KTAB XML file (for ``accord run smp --param``)."""
    text = read_text(path)
    out = Collector(str(path))
    params = _parameters(_parse(text, out), out)
    out.raise_if_any()
    return params


def accommodation(scenario) -> "list[list[float]]":
    """The ideal-adjustment matrix A (actors × actors) of a scenario read from KTAB XML
    (identity where the file gives none)."""
    acc = scenario.inputs().accommodation
    return (acc if acc is not None else np.eye(len(scenario.actors))).tolist()


def write(scenario, path: Path) -> None:
    """KTAB SMP XML: issues rescaled to 0–100, salience × 100, ideal adjustments kept."""
    from xml.sax.saxutils import escape

    from ...fileio import atomic_write
    from .ktab import _num, check_writable

    check_writable(scenario)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<Scenario>",
             f"  <name>{escape(scenario.title or scenario.id)}</name>",
             f"  <desc>{escape(scenario.description or '')}</desc>", "  <Dimensions>"]
    lines += [f"    <dName>{escape(x.id)}</dName>" for x in scenario.issues]
    lines += ["  </Dimensions>", "  <Actors>"]
    for a in scenario.actors:
        lines += ["    <Actor>", f"      <name>{escape(a.id)}</name>",
                  f"      <description>{escape(a.description or a.name or '')}</description>",
                  f"      <capability>{_num(a.capability.value)}</capability>", "      <Position>"]
        for x in scenario.issues:
            p = scenario.stances[(a.id, x.id)].position.value
            if not (x.low == 0 and x.high == 100):
                p = 100.0 * (p - x.low) / (x.high - x.low)
            lines.append(f"        <dCoord>{_num(p)}</dCoord>")
        lines += ["      </Position>", "      <Salience>"]
        lines += [f"        <dSal>{_num(scenario.stances[(a.id, x.id)].salience.value * 100)}"
                  "</dSal>" for x in scenario.issues]
        lines += ["      </Salience>", "    </Actor>"]
    lines.append("  </Actors>")
    pairs = [(a.id, ref, v) for a in scenario.actors
             for ref, v in (a.extra.get("ktab_ideal_adjustment") or {}).items()]
    if pairs:
        lines.append("  <IdealAdjustment>")
        for who, ref, v in pairs:
            lines.append(f"    <iaPair><adjustingIdeal>{escape(who)}</adjustingIdeal>"
                         f"<referencePos>{escape(ref)}</referencePos>"
                         f"<adjust>{_num(v)}</adjust></iaPair>")
        lines.append("  </IdealAdjustment>")
    lines.append("</Scenario>")
    atomic_write(path, "\n".join(lines) + "\n")


FORMAT = Format("ktab-xml", "KTAB SMP XML (<Scenario> with <Actors>, <Dimensions>)", (".xml",),
                _sniff, read, write)
