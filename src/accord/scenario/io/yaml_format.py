"""accord YAML: the format people write (comments, quotes, anchors, views).

Parsed with libyaml (fast, with the line of every node); written back through ruamel.yaml's
round-trip dumper so that comments survive. The structure is validated by pydantic models
(``extra="forbid"``, so a typo is an error, not a silently ignored key) and each pydantic
error is located by walking the parsed document along the error's path. The schema is
described in ``docs/scenario-format.md``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Optional

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ...errors import MISSING, Collector, ScenarioError
from ..changes import ChangeM, Op
from ..model import (OUTLOOK_ACTOR_FIELDS, Actor, Delivery, Event, Evidence, Issue, Quantity,
                     RedLine, Source, Stance, View)
from . import Format
from ._common import Text, finish, guard, read_text

ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
NAME = r"^[^\s\x00-\x1f](.*[^\s\x00-\x1f])?$"
"""Actor and issue ids may be names ("Hong Kong", "STU/INTEL"): no surrounding blanks or
control characters."""


def _number(v: Any) -> Any:
    if isinstance(v, bool) or isinstance(v, str):
        raise ValueError("expected a number, or a mapping with value: and optional range:, "
                         "evidence:, judgement:")
    if isinstance(v, (int, float)):
        return {"value": v}
    return v


def _flag(v: Any) -> Any:
    if isinstance(v, bool):
        return {"value": v}
    if isinstance(v, dict):
        return v
    raise ValueError("expected true or false, or a mapping with value: true/false and "
                     "optional quote:, source:, evidence:, judgement:")


def _strict_float(v: Any) -> Any:
    if isinstance(v, (bool, str)):
        raise ValueError("expected a number")
    return v


Float = Annotated[float, BeforeValidator(_strict_float)]
Pair = tuple[Float, Float]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceM(_M):
    source: Optional[str] = None
    quote: Optional[str] = Field(default=None, min_length=1)
    judgement: Optional[str] = Field(default=None, min_length=1)


class _Evidenced(_M):
    evidence: list[EvidenceM] = Field(default_factory=list)
    judgement: Optional[str] = Field(default=None, min_length=1)
    quote: Optional[str] = Field(default=None, min_length=1)
    source: Optional[str] = None


class NumberM(_Evidenced):
    value: Float
    range: Optional[Pair] = None
    dist: str = "uniform"


Number = Annotated[NumberM, BeforeValidator(_number)]


class FlagM(_Evidenced):
    value: StrictBool


Flag = Annotated[FlagM, BeforeValidator(_flag)]


class StanceM(_Evidenced):
    position: Number
    salience: Number
    range: Optional[Pair] = None
    salience_range: Optional[Pair] = None
    dist: Optional[str] = None


class RedLineM(_Evidenced):
    min: Optional[Float] = None
    max: Optional[Float] = None


class DeliversM(_Evidenced):
    issues: list[str] = Field(min_length=1)


class _OutlookActorM(_M):
    """Outlook inputs of an actor (docs/scenario-format.md, "Time and durability")."""

    cost: Optional[Number] = None
    p_holds: Optional[Number] = None
    renewal_cost: Optional[Number] = None
    capability_trend: Optional[Number] = None
    delivers: Optional[DeliversM] = None
    red_lines: dict[str, Optional[RedLineM]] = {}


class ActorM(_OutlookActorM):
    name: Optional[str] = None
    description: Optional[str] = None
    capability: Number
    veto: Optional[Flag] = None
    no_deal: Optional[Number] = None
    stances: dict[Annotated[str, Field(pattern=NAME)], Optional[StanceM]] = {}


class EventM(_Evidenced):
    name: Annotated[str, Field(pattern=ID)]
    date: _dt.date
    until: Optional[_dt.date] = None
    announced: Optional[_dt.date] = None
    hazard_ratio: Optional[Number] = None
    changes: dict[str, ChangeM] = {}
    status_quo: dict[str, Op] = {}
    trend: dict[str, Op] = {}


class IssueM(_M):
    question: str
    description: Optional[str] = None
    unit: Optional[str] = None
    scale: Pair
    anchors: dict[Float, str] = {}
    status_quo: Optional[Number] = None
    trend: Optional[Number] = None


class SourceM(_M):
    file: Optional[str] = None
    lines: Optional[tuple[int, int]] = None
    author: Optional[str] = None
    title: Optional[str] = None
    date: Optional[_dt.date] = None
    school: Optional[str] = None
    url: Optional[str] = None


class DealM(_Evidenced):
    title: Optional[str] = None
    issues: list[str] = Field(min_length=1)
    pins: dict[str, Float] = {}


class ViewActorM(_OutlookActorM):
    capability: Optional[Number] = None
    veto: Optional[Flag] = None
    no_deal: Optional[Number] = None
    stances: dict[str, Optional[StanceM]] = {}


class ViewIssueM(_M):
    status_quo: Optional[Number] = None
    trend: Optional[Number] = None


class ViewM(_M):
    view: Optional[Annotated[str, Field(pattern=ID)]] = None
    source: Optional[str] = None
    date: Optional[_dt.date] = None
    title: Optional[str] = None
    description: Optional[str] = None
    issues: dict[str, ViewIssueM] = {}
    actors: dict[str, ViewActorM] = {}
    durability: dict[str, Number] = {}
    events: list[EventM] = []


class ScenarioM(_M):
    scenario: Annotated[str, Field(pattern=ID)]
    title: Optional[str] = None
    as_of: Optional[_dt.date] = None
    conflict_start: Optional[_dt.date] = None
    durability: dict[str, Number] = {}
    events: list[EventM] = []
    description: Optional[str] = None
    corpus: Optional[str] = None
    sources: dict[Annotated[str, Field(pattern=ID)], SourceM] = {}
    issues: dict[Annotated[str, Field(pattern=NAME)], IssueM] = Field(min_length=1)
    deals: dict[Annotated[str, Field(pattern=ID)], DealM] = {}
    actors: dict[Annotated[str, Field(pattern=NAME)], ActorM] = Field(min_length=1)
    views: dict[Annotated[str, Field(pattern=ID)], ViewM] = {}


# ---- locating --------------------------------------------------------------------------------

def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 100
    return y


class Doc:
    """A parsed YAML file: its plain data and the 1-based line of every key and item path.

    Parsed with libyaml (PyYAML's C parser) because ruamel's pure-Python scanner needs
    ~40 s for a 500 × 50 scenario; ruamel is used only to write a file back with its
    comments (:func:`ruamel_document`).
    """

    def __init__(self, data: Any, lines: dict[tuple, int], text: str):
        self.data, self.lines, self.text = data, lines, text


MAX_NODES = 2_000_000
MAX_DEPTH = 100
"""Nesting a scenario never needs (it uses ~8 levels); deeper files are refused before
libyaml composes them (its composer recurses in C: slow at 10^4 levels, a crash at 10^5)."""


MAX_EXPANSION = 50_000
"""Nodes that aliases may repeat in all (each visit of a node met before counts): a few
shared anchors stay far below, an alias bomb ("billion laughs") is stopped in ~0.1 s
however large the file around it."""


def _node_budget(text: str) -> list:
    """[nodes left, repeated nodes left, ids of the nodes met] for :func:`_walk`."""
    return [MAX_NODES, MAX_EXPANSION, set()]


def _check_depth(text: str, out: Collector) -> None:
    """Refuse nesting deeper than MAX_DEPTH, found with libyaml's (iterative) event parser."""
    loader = yaml.CSafeLoader(text) if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise out.fail(event.start_mark.line + 1, "yaml",
                                   f"nesting deeper than {MAX_DEPTH} levels",
                                   "a scenario of plain nesting", event.start_mark.column + 1)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass            # the parse proper reports it, with its line
    finally:
        loader.dispose()


def _walk(node: Any, path: tuple, lines: dict, out: Collector, budget: list,
          stack: set) -> None:
    budget[0] -= 1
    if id(node) in budget[2]:
        budget[1] -= 1
    else:
        budget[2].add(id(node))
    if budget[0] < 0 or budget[1] < 0:
        raise out.fail(node.start_mark.line + 1, "yaml",
                       f"more than {MAX_NODES} nodes" if budget[0] < 0 else
                       f"aliases that repeat more than {MAX_EXPANSION} nodes (an alias bomb?)",
                       "a scenario of reasonable size")
    if id(node) in stack:
        raise out.fail(node.start_mark.line + 1, "yaml", "a recursive alias",
                       "a tree without self-references")
    if isinstance(node, yaml.MappingNode):
        stack.add(id(node))
        seen: dict[str, int] = {}
        for knode, vnode in node.value:
            key = str(knode.value) if isinstance(knode, yaml.ScalarNode) else f"<{knode.tag}>"
            line = knode.start_mark.line + 1
            if key in seen and key != "<<":
                out.add(line, ".".join(map(str, path + (key,))), key,
                        f"each key once in a mapping (also on line {seen[key]})")
            seen.setdefault(key, line)
            lines.setdefault(path + (key,), line)
            _walk(vnode, path + (key,), lines, out, budget, stack)
        stack.discard(id(node))
    elif isinstance(node, yaml.SequenceNode):
        stack.add(id(node))
        for k, item in enumerate(node.value):
            lines.setdefault(path + (str(k),), item.start_mark.line + 1)
            _walk(item, path + (str(k),), lines, out, budget, stack)
        stack.discard(id(node))


def line_of(doc: Doc, path: tuple) -> int | None:
    """1-based line of the deepest key or item reachable along ``path``."""
    line = doc.lines.get(path)            # the common case: a path of string keys
    if line is not None:
        return line
    key = tuple(_key_str(x) for x in path)
    for k in range(len(key), 0, -1):
        line = doc.lines.get(key[:k])
        if line is not None:
            return line
    return 1


def _key_str(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _find_key(node: dict, key: Any) -> Any:
    if key in node:
        return key
    for k in node:
        if str(k) == str(key):
            return k
    return MISSING


def _get(doc: Doc, path: tuple) -> Any:
    node = doc.data
    for key in path:
        if isinstance(node, dict):
            k = _find_key(node, key)
            if k is MISSING:
                return MISSING
            node = node[k]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return MISSING
    return node


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """libyaml's safe loader whose value constructors fail with the value's line: PyYAML
    lets a ValueError out of ``!!timestamp`` on a non-date, a date like 2025-02-30 or an
    integer of more than 4300 digits."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, AttributeError, OverflowError, ArithmeticError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"a value that cannot be read as {node.tag} ({exc})"[:200],
                node.start_mark) from None


def _parse(text: Text, out: Collector) -> Doc:
    _check_depth(text.text, out)
    loader = _Loader(text.text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise out.fail(1, "document", "nothing", "a mapping with scenario:, issues:, actors:")
        lines: dict[tuple, int] = {}
        _walk(node, (), lines, out, _node_budget(text.text), set())
        out.raise_if_any()
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        col = mark.column + 1 if mark is not None else None
        problem, expected = (exc.problem or str(exc)).strip(), "valid YAML"
        lines = text.text.splitlines()
        here = lines[line - 1] if 0 < line <= len(lines) else ""
        indent = here[:len(here) - len(here.lstrip(" \t"))]
        if "\t" in indent or "'\\t'" in problem or "\\t" in problem:
            problem = f"a tab in the indentation ({problem})"
            expected = "spaces for indentation (YAML does not allow tabs there)"
        raise out.fail(line, "yaml", problem, expected, column=col) from None
    except yaml.YAMLError as exc:
        # a reader error (control character, bad encoding) has no mark, only a position
        pos = getattr(exc, "position", None)
        line = text.text.count("\n", 0, pos) + 1 if isinstance(pos, int) else 1
        raise out.fail(line, "yaml", str(exc)[:120], "valid YAML") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise out.fail(1, "document", type(data).__name__,
                       "a mapping with scenario:, issues:, actors:")
    return Doc(data, lines, text.text)


def ruamel_document(text: str) -> Any:
    """The round-trip (comment-keeping) document of a YAML text, for writing it back."""
    return _yaml().load(text)


class _Documents(Mapping):
    """File name -> ruamel document, parsed on first access (writing is rare, reading common)."""

    def __init__(self, texts: dict[str, str]):
        self._texts, self._docs = texts, {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._docs:
            self._docs[name] = ruamel_document(self._texts[name])
        return self._docs[name]

    def __iter__(self):
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def text(self, name: str) -> str:
        return self._texts[name]


def _validate(model: type[BaseModel], doc: Any, out: Collector, prefix: tuple = (),
              locs: list | None = None) -> Any:
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and
                                                        x.startswith(("function-", "["))))
            if locs is not None:
                locs.append(loc)
            value = _get(doc, loc)
            if err["type"] == "missing":
                value = MISSING
            elif value is MISSING:
                value = err.get("input", MISSING)
            msg = err["msg"].replace("Value error, ", "")
            if err["type"] == "extra_forbidden":
                msg = "no such key here (see docs/scenario-format.md)"
            elif err["type"] == "missing":
                msg = f"a value for {loc[-1]!s} (it is required here)" if loc else \
                    "this required field"
            out.add(line_of(doc, loc), ".".join(map(str, prefix + loc)) or "document",
                    _short(value), msg)
        return None


def _short(value: Any) -> Any:
    if isinstance(value, dict):
        return "{" + ", ".join(map(str, list(value)[:4])) + (", ...}" if len(value) > 4 else "}")
    if isinstance(value, list):
        return value[:4]
    return value


_ENTRIES = ("issues", "actors", "sources", "deals", "views")


def _validate_rest(doc: Doc, locs: list) -> tuple[Any, set[str], set[str]]:
    """After a structural error, validate what is left without the broken entries.

    Each error's entry (an issue, an actor's stance, an actor, a source, a deal or a view) is
    left out and the rest validated again, so that value and reference checks still run on
    the rest of the file: a user sees every problem of a file at once. Returns (model or
    None, broken issue ids, broken actor ids); the ids are known to exist, so references to
    them are not reported as unknown.
    """
    import copy

    data = copy.copy(doc.data)
    broken_issues: set[str] = set()
    broken_actors: set[str] = set()
    drop: set[tuple] = set()
    for loc in locs:
        if len(loc) < 2 or loc[0] not in _ENTRIES or not isinstance(data.get(loc[0]), dict):
            return None, set(), set()
        if loc[0] == "actors" and len(loc) >= 4 and loc[2] == "stances":
            drop.add(loc[:4])
        else:
            drop.add(loc[:2])
            if loc[0] == "issues":
                broken_issues.add(str(loc[1]))
            elif loc[0] == "actors":
                broken_actors.add(str(loc[1]))
    for path in sorted(drop, key=len):
        node = data
        for k, key in enumerate(path[:-1]):
            child = node.get(key) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                node = None
                break
            node[key] = child = dict(child)  # copy on the way down: the document stays as read
            node = child
        if isinstance(node, dict):
            node.pop(path[-1], None)
    for aid, am in (data.get("actors") or {}).items():  # stances on a broken issue go too
        if isinstance(am, dict) and isinstance(am.get("stances"), dict):
            kept = {i: v for i, v in am["stances"].items() if str(i) not in broken_issues}
            if len(kept) != len(am["stances"]):
                data["actors"] = dict(data["actors"])
                data["actors"][aid] = {**am, "stances": kept}
    try:
        return ScenarioM.model_validate(data), broken_issues, broken_actors
    except ValidationError:
        return None, set(), set()


# ---- building ---------------------------------------------------------------------------------

class _Builder:
    def __init__(self, path: str, doc: Any, default_source: str | None = None):
        self.path, self.doc, self.default_source = path, doc, default_source

    def evidence(self, m: _Evidenced, at: tuple) -> tuple[Evidence, ...]:
        items = []
        for k, e in enumerate(m.evidence):
            items.append(Evidence(e.source or (self.default_source if e.quote else None),
                                  e.quote, e.judgement, self.path,
                                  line_of(self.doc, at + ("evidence", k))))
        if m.quote is not None:
            items.append(Evidence(m.source or self.default_source, m.quote, None, self.path,
                                  line_of(self.doc, at + ("quote",))))
        if m.judgement is not None:
            items.append(Evidence(None, None, m.judgement, self.path,
                                  line_of(self.doc, at + ("judgement",))))
        return tuple(items)

    def number(self, m: NumberM, at: tuple, rng: tuple | None = None, dist: str | None = None,
               inherited_evidence: tuple[Evidence, ...] = (),
               rng_at: tuple | None = None) -> Quantity:
        r = m.range if m.range is not None else rng
        ev = self.evidence(m, at) or inherited_evidence
        r_at = at + ("range",) if m.range is not None else rng_at
        return Quantity(float(m.value), None if r is None else float(r[0]),
                        None if r is None else float(r[1]),
                        dist if (dist and m.dist == "uniform") else m.dist, ev, self.path,
                        line_of(self.doc, at), None if r_at is None else line_of(self.doc, r_at))

    def flag(self, m: FlagM, at: tuple) -> Quantity:
        """A yes/no claim (a veto) as a 0/1 Quantity, so that its evidence is checked and
        reported like every number's."""
        return Quantity(1.0 if m.value else 0.0, evidence=self.evidence(m, at), file=self.path,
                        line=line_of(self.doc, at))

    def stance(self, m: StanceM, at: tuple) -> Stance:
        ev = self.evidence(m, at)
        pos = self.number(m.position, at + ("position",), m.range, m.dist, ev, at + ("range",))
        sal = self.number(m.salience, at + ("salience",), m.salience_range, m.dist, ev,
                          at + ("salience_range",))
        return Stance(pos, sal)


    def red_line(self, m: RedLineM, at: tuple) -> RedLine:
        return RedLine(m.min, m.max, self.evidence(m, at), self.path, line_of(self.doc, at))

    def delivers(self, m: DeliversM, at: tuple) -> Delivery:
        return Delivery(tuple(m.issues), self.evidence(m, at), self.path, line_of(self.doc, at))

    def event(self, m: EventM, at: tuple) -> Event:
        hr = None if m.hazard_ratio is None else self.number(m.hazard_ratio, at + ("hazard_ratio",))
        return Event(m.name, m.date, m.until, m.announced, hr, dict(m.changes),
                     dict(m.status_quo), dict(m.trend), self.evidence(m, at), self.path,
                     line_of(self.doc, at))

    def outlook(self, m: _OutlookActorM, at: tuple) -> dict[str, Any]:
        """The outlook fields an actor (or a view's actor) gives."""
        out: dict[str, Any] = {f: self.number(getattr(m, f), at + (f,))
                               for f in OUTLOOK_ACTOR_FIELDS if getattr(m, f) is not None}
        if m.delivers is not None:
            out["delivers"] = self.delivers(m.delivers, at + ("delivers",))
        out["red_lines"] = {iid: None if rl is None else self.red_line(rl, at + ("red_lines", iid))
                            for iid, rl in m.red_lines.items()}
        return out


def _check_outlook_refs(out: Collector, doc: Any, path: str, issues: dict, actors: dict,
                        actor_models: dict, prefix: tuple, events: list, durability: dict,
                        top: tuple = ()) -> None:
    """Issue ids under red_lines/delivers/durability and actor ids under events' changes."""
    known = f"an issue id declared under issues ({', '.join(issues)})"
    for aid, am in actor_models.items():
        for iid in am.red_lines:
            if iid not in issues:
                at = prefix + (aid, "red_lines", iid)
                out.add(line_of(doc, at), ".".join(map(str, at)), iid, known, file=path)
        if am.delivers is not None:
            for k, iid in enumerate(am.delivers.issues):
                if iid not in issues:
                    at = prefix + (aid, "delivers", "issues", k)
                    out.add(line_of(doc, at), ".".join(map(str, at[:-1])), iid, known, file=path)
    for iid in durability:
        if iid not in issues:
            at = top + ("durability", iid)
            out.add(line_of(doc, at), ".".join(at), iid, known, file=path)
    for k, em in enumerate(events):
        for key in ("status_quo", "trend"):
            for iid in getattr(em, key):
                if iid not in issues:
                    at = top + ("events", k, key, iid)
                    out.add(line_of(doc, at), f"events[{k}].{key}", iid, known, file=path)
        for aid in em.changes:
            if aid not in actors:
                at = top + ("events", k, "changes", aid)
                out.add(line_of(doc, at), f"events[{k}].changes", aid,
                        f"an actor id declared under actors ({', '.join(actors)})", file=path)


def _check_refs(out: Collector, doc: Any, path: str, actors: dict, issues: dict,
                stances: dict, prefix: tuple) -> None:
    for actor_id, st in stances.items():
        if actor_id not in actors:
            out.add(line_of(doc, prefix + (actor_id,)), ".".join(prefix + (actor_id,)),
                    actor_id, f"an actor id declared under actors ({', '.join(actors)})",
                    file=path)
            continue
        for issue_id in st:
            if issue_id not in issues:
                at = prefix + (actor_id, "stances", issue_id)
                out.add(line_of(doc, at), ".".join(at), issue_id,
                        f"an issue id declared under issues ({', '.join(issues)})", file=path)


def _check_view_issues(out: Collector, doc: Doc, path: str, issues: dict, vm: ViewM,
                       prefix: tuple) -> None:
    for iid in vm.issues:
        if iid not in issues:
            out.add(line_of(doc, prefix + (iid,)), ".".join(prefix + (iid,)), iid,
                    f"an issue id declared under issues ({', '.join(issues)})", file=path)


def _known_cells(v: View, actors, issues) -> View:
    """A view without the cells that name an unknown actor or issue (already reported)."""
    from dataclasses import replace

    return replace(v, stances={k: st for k, st in v.stances.items()
                               if k[0] in actors and k[1] in issues},
                   capability={k: q for k, q in v.capability.items() if k in actors},
                   no_deal={k: q for k, q in v.no_deal.items() if k in actors},
                   veto={k: x for k, x in v.veto.items() if k in actors},
                   veto_quantity={k: q for k, q in v.veto_quantity.items() if k in actors},
                   status_quo={k: q for k, q in v.status_quo.items() if k in issues})


def _view(b: _Builder, m: ViewM, view_id: str, at: tuple) -> View:
    capability, veto, veto_q, no_deal, stances = {}, {}, {}, {}, {}
    outlook, delivers, red_lines = {}, {}, {}
    for actor_id, va in m.actors.items():
        base = at + ("actors", actor_id)
        fields = b.outlook(va, base)
        for iid, rl in fields.pop("red_lines").items():
            red_lines[(actor_id, iid)] = rl
        if "delivers" in fields:
            delivers[actor_id] = fields.pop("delivers")
        outlook.update({(actor_id, f): q for f, q in fields.items()})
        if va.capability is not None:
            capability[actor_id] = b.number(va.capability, base + ("capability",))
        if va.veto is not None:
            veto[actor_id] = va.veto.value
            veto_q[actor_id] = b.flag(va.veto, base + ("veto",))
        if va.no_deal is not None:
            no_deal[actor_id] = b.number(va.no_deal, base + ("no_deal",))
        for issue_id, sm in va.stances.items():
            stances[(actor_id, issue_id)] = (None if sm is None else
                                             b.stance(sm, base + ("stances", issue_id)))
    status_quo = {iid: b.number(vi.status_quo, at + ("issues", iid, "status_quo"))
                  for iid, vi in m.issues.items() if vi.status_quo is not None}
    trend = {iid: b.number(vi.trend, at + ("issues", iid, "trend"))
             for iid, vi in m.issues.items() if vi.trend is not None}
    durability = {iid: b.number(q, at + ("durability", iid)) for iid, q in m.durability.items()}
    events = tuple(b.event(em, at + ("events", k)) for k, em in enumerate(m.events))
    return View(view_id, m.source, m.date, m.title, capability, stances, veto, no_deal,
                status_quo, b.path, line_of(b.doc, at) if at else 1, veto_q, outlook,
                delivers, red_lines, trend, durability, events)


def _read(path: Path) -> Any:
    main = path / "scenario.yaml" if path.is_dir() else path
    if path.is_dir() and not main.exists():
        alt = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
        if len(alt) != 1:
            raise Collector(str(path)).fail(None, "folder", str(path),
                                            "a folder holding scenario.yaml")
        main = alt[0]
    text = read_text(main)
    out = Collector(text.path)
    doc = _parse(text, out)
    locs: list = []
    model = _validate(ScenarioM, doc, out, locs=locs)
    broken_issues: set[str] = set()
    broken_actors: set[str] = set()
    if model is None:
        model, broken_issues, broken_actors = _validate_rest(doc, locs)
    view_files = []
    if path.is_dir() and (path / "views").is_dir():
        view_files = sorted(list((path / "views").glob("*.yaml")) +
                            list((path / "views").glob("*.yml")))
    parsed_views = []
    digest = hashlib.sha256(text.sha256.encode())
    for vf in view_files:
        vtext = read_text(vf)
        digest.update(vf.name.encode() + vtext.sha256.encode())
        vout = Collector(vtext.path)
        try:
            vdoc = _parse(vtext, vout)
        except ScenarioError as exc:
            out.extend(exc)
            continue
        vm = _validate(ViewM, vdoc, vout)
        if vm is not None and vm.view is None:
            vout.add(1, "view", MISSING, "the view's id (view: ...)")
        out.extend(ScenarioError(vout.problems, vout.dropped)) if vout else None
        if vm is not None:
            parsed_views.append((vtext, vdoc, vm))
    if model is None:
        out.raise_if_any()
    assert model is not None
    p = text.path

    sources = {sid: Source(sid, s.file, s.author, s.title, s.date, s.school, s.url,
                           None if s.lines is None else (int(s.lines[0]), int(s.lines[1])))
               for sid, s in model.sources.items()}
    for sid, s in model.sources.items():
        if s.lines is not None and not (1 <= s.lines[0] <= s.lines[1]):
            out.add(line_of(doc, ("sources", sid, "lines")), f"sources.{sid}.lines",
                    list(s.lines), "[first, last] line numbers with 1 <= first <= last")
    b = _Builder(p, doc)
    issues = []
    for iid, im in model.issues.items():
        sq = None if im.status_quo is None else b.number(im.status_quo, ("issues", iid, "status_quo"))
        issues.append(Issue(iid, im.question, float(im.scale[0]), float(im.scale[1]),
                            tuple(sorted((float(k), v) for k, v in im.anchors.items())),
                            None if sq is None else sq.value,
                            {k: v for k, v in (("description", im.description),
                                               ("unit", im.unit)) if v}, sq,
                            None if im.trend is None else b.number(im.trend, ("issues", iid, "trend"))))
    actors, stances = [], {}
    for aid, am in model.actors.items():
        at = ("actors", aid)
        fields = b.outlook(am, at)
        fields["red_lines"] = {k: v for k, v in fields["red_lines"].items() if v is not None}
        actors.append(Actor(aid, am.name or aid, b.number(am.capability, at + ("capability",)),
                            am.veto is not None and am.veto.value, am.description,
                            None if am.no_deal is None else b.number(am.no_deal, at + ("no_deal",)),
                            veto_quantity=(None if am.veto is None
                                           else b.flag(am.veto, at + ("veto",))), **fields))
        for iid, sm in am.stances.items():
            if sm is not None:
                stances[(aid, iid)] = b.stance(sm, at + ("stances", iid))
    known_issues = {**model.issues, **{x: None for x in broken_issues}}
    known_actors = {**model.actors, **{x: None for x in broken_actors}}
    _check_refs(out, doc, p, known_actors, known_issues,
                {a: am.stances for a, am in model.actors.items()}, ("actors",))
    for deal, dm in model.deals.items():
        for k, iid in enumerate(dm.issues):
            if iid not in known_issues:
                out.add(line_of(doc, ("deals", deal, "issues", k)), f"deals.{deal}.issues",
                        iid, f"an issue id declared under issues ({', '.join(model.issues)})")
        for iid, v in dm.pins.items():
            at = ("deals", deal, "pins", iid)
            if iid not in model.issues:
                out.add(line_of(doc, at), f"deals.{deal}.pins", iid,
                        f"an issue id declared under issues ({', '.join(model.issues)})")
            elif not (model.issues[iid].scale[0] <= v <= model.issues[iid].scale[1]):
                out.add(line_of(doc, at), f"deals.{deal}.pins.{iid}", v,
                        f"a point on the issue's scale {list(model.issues[iid].scale)}")
            elif iid in dm.issues:
                out.add(line_of(doc, at), f"deals.{deal}.pins", iid,
                        "an issue the deal does not also settle (a term is settled or pinned)")
    _check_outlook_refs(out, doc, p, model.issues, model.actors, model.actors, ("actors",),
                        model.events, model.durability)
    views = {}
    for vid, vm in model.views.items():
        _check_view_issues(out, doc, p, known_issues, vm, ("views", vid, "issues"))
        views[vid] = _view(_Builder(p, doc, vm.source), vm, vid, ("views", vid))
        _check_outlook_refs(out, doc, p, model.issues, model.actors, vm.actors,
                            ("views", vid, "actors"), vm.events, vm.durability, ("views", vid))
        _check_refs(out, doc, p, known_actors, known_issues,
                    {a: va.stances for a, va in vm.actors.items()}, ("views", vid, "actors"))
    for vtext, vdoc, vm in parsed_views:
        if vm.view in views:
            out.add(line_of(vdoc, ("view",)), "view", vm.view, "a view id used only once",
                    file=vtext.path)
        _check_view_issues(out, vdoc, vtext.path, known_issues, vm, ("issues",))
        views[vm.view] = _view(_Builder(vtext.path, vdoc, vm.source), vm, vm.view, ())
        _check_outlook_refs(out, vdoc, vtext.path, model.issues, model.actors, vm.actors,
                            ("actors",), vm.events, vm.durability)
        _check_refs(out, vdoc, vtext.path, known_actors, known_issues,
                    {a: va.stances for a, va in vm.actors.items()}, ("actors",))
    for v in views.values():
        if v.source is not None and sources and v.source not in sources:
            out.add(v.line, f"views.{v.id}.source", v.source,
                    f"a source id declared under sources ({', '.join(sources)})", file=v.file)
    if out:  # keep going to the value checks, on the cells that name real actors and issues
        stances = {k: v for k, v in stances.items() if k[1] in model.issues}
        views = {vid: _known_cells(v, model.actors, model.issues) for vid, v in views.items()}
    corpus = None
    if model.corpus:
        corpus = str((Path(p).parent / model.corpus).resolve())
    sha = digest.hexdigest() if view_files else text.sha256
    text = Text(text.path, text.text, sha, text.notes)
    documents = _Documents({main.name: doc.text,
                            **{f"views/{Path(t.path).name}": d.text for t, d, _ in parsed_views}})
    deal_evidence = {d: b.evidence(dm, ("deals", d)) for d, dm in model.deals.items()
                     if dm.evidence or dm.quote or dm.judgement}
    return finish(out, str(path), text, "yaml", id=model.scenario, title=model.title or model.scenario,
                  actors=actors, issues=issues, stances=stances, sources=sources, views=views,
                  as_of=model.as_of, description=model.description, document=documents,
                  locate=lambda field: (line_of(doc, tuple(field.split(".")))
                                        if field.startswith(("issues.", "deals.")) else None),
                  corpus=corpus, conflict_start=model.conflict_start,
                  durability={iid: b.number(q, ("durability", iid))
                              for iid, q in model.durability.items()},
                  events=tuple(b.event(em, ("events", k)) for k, em in enumerate(model.events)),
                  deal_pins={d: dict(dm.pins) for d, dm in model.deals.items() if dm.pins},
                  deals={d: tuple(dm.issues) for d, dm in model.deals.items()},
                  deal_evidence=deal_evidence)


def read(path: Path, lenient: bool = False):
    return guard(str(path), lambda: _read(Path(path)))


def _sniff(path: Path, head: str) -> int:
    if path.is_dir():
        return 10
    score = 2 if path.suffix.lower() in (".yaml", ".yml") else 0
    if re.search(r"^scenario\s*:", head, re.M):
        score += 8
    return score


# ---- writing ----------------------------------------------------------------------------------

def dumps(scenario) -> str:
    """YAML text of a scenario. A scenario read from one YAML file is written back as it was
    read, comments included; others are built from the data."""
    y = _yaml()
    docs = scenario.document
    if isinstance(docs, Mapping) and len(docs) == 1:
        buf = io.StringIO()
        y.dump(next(iter(docs.values())), buf)
        return buf.getvalue()
    buf = io.StringIO()
    y.dump(to_document(scenario), buf)
    return buf.getvalue()


def _num(q: Quantity, with_range: bool = True) -> Any:
    if q.low is None and not q.evidence and q.dist == "uniform":
        return _clean(q.value)
    m = CommentedMap(value=_clean(q.value))
    if with_range and q.low is not None:
        m["range"] = [_clean(q.low), _clean(q.high)]
    if q.dist != "uniform":
        m["dist"] = q.dist
    _put_evidence(m, q.evidence)
    return m


def _flag_doc(q: Quantity) -> CommentedMap:
    m = CommentedMap(value=bool(q.value))
    _put_evidence(m, q.evidence)
    return m


def _clean(x: float) -> Any:
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def _put_evidence(m: CommentedMap, evidence) -> None:
    items = []
    for e in evidence:
        if e.quote is not None:
            items.append(CommentedMap(source=e.source, quote=e.quote) if e.source
                         else CommentedMap(quote=e.quote))
        elif e.judgement is not None:
            items.append(CommentedMap(judgement=e.judgement))
    if items:
        m["evidence"] = items


def _stance(st: Stance) -> CommentedMap:
    m = CommentedMap(position=_num(st.position), salience=_num(st.salience))
    return m


def to_document(sc) -> CommentedMap:
    """A ruamel document (comments possible) holding the whole scenario, views inline."""
    doc = CommentedMap()
    doc["scenario"] = sc.id
    doc["title"] = sc.title
    if sc.as_of:
        doc["as_of"] = sc.as_of
    if sc.description:
        doc["description"] = sc.description
    if sc.sources:
        doc["sources"] = CommentedMap()
        for sid, s in sc.sources.items():
            doc["sources"][sid] = CommentedMap(
                (k, v) for k, v in (("file", s.file),
                                    ("lines", list(s.lines) if s.lines else None),
                                    ("author", s.author), ("title", s.title),
                                    ("date", s.date), ("school", s.school), ("url", s.url))
                if v is not None)
    doc["issues"] = CommentedMap()
    for x in sc.issues:
        im = CommentedMap(question=x.question, scale=[_clean(x.low), _clean(x.high)])
        if x.anchors:
            im["anchors"] = CommentedMap((_clean(k), v) for k, v in x.anchors)
        if x.status_quo_quantity is not None:
            im["status_quo"] = _num(x.status_quo_quantity)
        elif x.status_quo is not None:
            im["status_quo"] = _clean(x.status_quo)
        doc["issues"][x.id] = im
    if sc.deals:
        doc["deals"] = CommentedMap()
        for d, v in sc.deals.items():
            dm = doc["deals"][d] = CommentedMap(issues=list(v))
            _put_evidence(dm, sc.deal_evidence.get(d, ()))
    doc["actors"] = CommentedMap()
    for a in sc.actors:
        am = CommentedMap(name=a.name, capability=_num(a.capability))
        if a.veto_quantity is not None and a.veto_quantity.evidence:
            am["veto"] = _flag_doc(a.veto_quantity)
        elif a.veto:
            am["veto"] = True
        if a.no_deal is not None:
            am["no_deal"] = _num(a.no_deal)
        st = CommentedMap()
        for x in sc.issues:
            s = sc.stances.get((a.id, x.id))
            if s is not None and not s.inherited:
                st[x.id] = _stance(s)
        if st:
            am["stances"] = st
        doc["actors"][a.id] = am
    if sc.views:
        doc["views"] = CommentedMap()
        for v in sc.views.values():
            vm = CommentedMap((k, val) for k, val in (("source", v.source), ("date", v.date),
                                                       ("title", v.title)) if val is not None)
            if v.status_quo:
                vm["issues"] = CommentedMap((iid, CommentedMap(status_quo=_num(q)))
                                            for iid, q in v.status_quo.items())
            actors = CommentedMap()
            for a in sc.actors:
                am = CommentedMap()
                if a.id in v.capability:
                    am["capability"] = _num(v.capability[a.id])
                if a.id in v.veto:
                    q = v.veto_quantity.get(a.id)
                    am["veto"] = _flag_doc(q) if q is not None and q.evidence else v.veto[a.id]
                if a.id in v.no_deal:
                    am["no_deal"] = _num(v.no_deal[a.id])
                st = CommentedMap()
                for x in sc.issues:
                    if (a.id, x.id) in v.stances:
                        s = v.stances[(a.id, x.id)]
                        st[x.id] = None if s is None else _stance(s)
                if st:
                    am["stances"] = st
                if am:
                    actors[a.id] = am
            vm["actors"] = actors
            doc["views"][v.id] = vm
    return doc


def write(scenario, path: Path) -> None:
    from ...fileio import atomic_write

    atomic_write(path, dumps(scenario))


FORMAT = Format("yaml", "accord YAML (people: comments, quotes, anchors, views)",
                (".yaml", ".yml"), _sniff, read, write)
