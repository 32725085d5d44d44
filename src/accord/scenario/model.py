"""The Scenario: actors, issues, stances and alternative codings ("views"), immutable.

A Scenario is validated once, by the reader that builds it; everything downstream takes
its arrays. Every number is a :class:`Quantity` so that its uncertainty and its evidence
travel with it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

DISTRIBUTIONS = ("uniform", "triangular", "pert")
"""Named distributions over a range: uniform on [low, high]; triangular and PERT (beta)
with the point value as mode."""


@dataclass(frozen=True)
class Evidence:
    """Why a number is what it is: a verbatim quote from a source, or a coder's judgement."""

    source: str | None = None
    quote: str | None = None
    judgement: str | None = None
    file: str | None = None
    line: int | None = None
    """Where in the scenario files this evidence was written."""


@dataclass(frozen=True)
class Quantity:
    """A number with optional uncertainty (range + named distribution) and evidence."""

    value: float
    low: float | None = None
    high: float | None = None
    dist: str = "uniform"
    evidence: tuple[Evidence, ...] = ()
    file: str | None = None
    line: int | None = None
    range_line: int | None = None
    """Where the range was written, when not on ``line``."""

    @property
    def uncertain(self) -> bool:
        return self.low is not None and self.high is not None and self.high > self.low

    def bounds(self) -> tuple[float, float]:
        if self.low is None or self.high is None:
            return self.value, self.value
        return self.low, self.high


def _q(value: float) -> Quantity:
    return Quantity(float(value))


@dataclass(frozen=True)
class Source:
    id: str
    file: str | None = None
    author: str | None = None
    title: str | None = None
    date: _dt.date | None = None
    school: str | None = None
    url: str | None = None
    lines: tuple[int, int] | None = None
    """The part of ``file`` that is this source (1-based, inclusive), when a file holds several."""


@dataclass(frozen=True)
class RedLine:
    """The settlements an actor can accept on one issue: ``[low, high]`` (either may be open).

    A hard constraint (non-compensatory): no gain elsewhere buys a settlement outside it.
    """

    low: float | None = None
    high: float | None = None
    evidence: tuple[Evidence, ...] = ()
    file: str | None = None
    line: int | None = None

    def quantity(self) -> Quantity:
        """The bound as a Quantity, so that its evidence is checked like every number's."""
        return Quantity(self.low if self.low is not None else (self.high or 0.0),
                        evidence=self.evidence, file=self.file, line=self.line)


@dataclass(frozen=True)
class Delivery:
    """A delivery veto: the issues an actor must deliver, so a deal settling them needs it."""

    issues: tuple[str, ...]
    evidence: tuple[Evidence, ...] = ()
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Event:
    """A dated event: from ``date`` on, ``changes`` (lever-style) apply; from ``date`` to
    ``until`` the monthly chance of a deal is multiplied by ``hazard_ratio``."""

    name: str
    date: _dt.date
    until: _dt.date | None = None
    announced: _dt.date | None = None
    hazard_ratio: Quantity | None = None
    changes: Mapping[str, Any] = field(default_factory=dict)
    """Actor id -> lever-style changes (:class:`accord.scenario.changes.ChangeM`)."""
    status_quo: Mapping[str, Any] = field(default_factory=dict)
    """Issue id -> a set/plus/times change of the status quo (:class:`~.changes.OpM`)."""
    trend: Mapping[str, Any] = field(default_factory=dict)
    """Issue id -> a set/plus/times change of the status quo's monthly drift."""
    evidence: tuple[Evidence, ...] = ()
    file: str | None = None
    line: int | None = None


OUTLOOK_ACTOR_FIELDS = ("cost", "p_holds", "renewal_cost", "capability_trend")
"""Per-actor outlook inputs (docs/scenario-format.md, "Time and durability")."""


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    capability: Quantity
    veto: bool = False
    description: str | None = None
    no_deal: Quantity | None = None
    """Utility of no agreement on [0, 1] (see docs/scenario-format.md)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    veto_quantity: Quantity | None = None
    """The veto flag as a 0/1 Quantity with its evidence, where the file states the flag."""
    cost: Quantity | None = None
    """Monthly cost of fighting on, in utility units per month (>= 0)."""
    p_holds: Quantity | None = None
    """The actor's belief that a deal without durability terms still holds 12 months on."""
    renewal_cost: Quantity | None = None
    """Utility lost, against no deal, when a signed deal breaks down (>= 0)."""
    capability_trend: Quantity | None = None
    """Capability units per month."""
    delivers: Delivery | None = None
    red_lines: Mapping[str, RedLine] = field(default_factory=dict)
    """Issue id -> the settlements this actor can accept there."""


@dataclass(frozen=True)
class Issue:
    id: str
    question: str
    low: float
    high: float
    anchors: tuple[tuple[float, str], ...] = ()
    status_quo: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    status_quo_quantity: Quantity | None = None
    """The status quo with its range and evidence, where the file gives them."""
    trend: Quantity | None = None
    """Drift of the status quo, scale units per month (the front line, the aid level)."""

    def nearest_anchor(self, x: float) -> str | None:
        """The labelled point closest to x (ties to the lower one)."""
        if not self.anchors or x is None or np.isnan(x):
            return None
        best = min(self.anchors, key=lambda a: (abs(a[0] - x), a[0]))
        return f"{_fmt(best[0])}: {best[1]}"


def _red_lines(actor: "Actor", view: "View") -> dict[str, RedLine]:
    out = dict(actor.red_lines)
    for (aid, iid), rl in view.red_lines.items():
        if aid == actor.id:
            if rl is None:
                out.pop(iid, None)
            else:
                out[iid] = rl
    return out


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Stance:
    position: Quantity
    salience: Quantity
    inherited: bool = False
    """True when a view took this cell from the base coding instead of its own source."""


@dataclass(frozen=True)
class View:
    """One dated coding of the same actors and issues from one source, over the base."""

    id: str
    source: str | None
    date: _dt.date | None
    title: str | None = None
    capability: Mapping[str, Quantity] = field(default_factory=dict)
    stances: Mapping[tuple[str, str], Stance | None] = field(default_factory=dict)
    """Overrides by (actor, issue). ``None`` removes the base stance (the view says the actor
    takes no part in this issue)."""
    veto: Mapping[str, bool] = field(default_factory=dict)
    no_deal: Mapping[str, Quantity] = field(default_factory=dict)
    status_quo: Mapping[str, Quantity] = field(default_factory=dict)
    """Issue id -> the state of play as this analysis describes it (its date's status quo)."""
    file: str | None = None
    line: int | None = None
    veto_quantity: Mapping[str, Quantity] = field(default_factory=dict)
    """Actor id -> the view's veto flag as a 0/1 Quantity with its evidence."""
    outlook: Mapping[tuple[str, str], Quantity] = field(default_factory=dict)
    """(actor id, field in OUTLOOK_ACTOR_FIELDS) -> the view's value."""
    delivers: Mapping[str, Delivery | None] = field(default_factory=dict)
    red_lines: Mapping[tuple[str, str], RedLine | None] = field(default_factory=dict)
    """(actor, issue) -> the view's red line; ``None`` removes the base one."""
    trend: Mapping[str, Quantity] = field(default_factory=dict)
    durability: Mapping[str, Quantity] = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    """The view's own events (base events announced by its date are added on resolving)."""


@dataclass(frozen=True)
class Scenario:
    """A validated negotiation. Immutable; :meth:`view` gives a resolved coding."""

    id: str
    title: str
    actors: tuple[Actor, ...]
    issues: tuple[Issue, ...]
    stances: Mapping[tuple[str, str], Stance]
    sources: Mapping[str, Source] = field(default_factory=dict)
    views: Mapping[str, View] = field(default_factory=dict)
    as_of: _dt.date | None = None
    description: str | None = None
    path: str | None = None
    format: str | None = None
    content_sha256: str | None = None
    """SHA-256 of the bytes the scenario was read from (all files, in a fixed order)."""
    view_id: str | None = None
    """Set on a resolved view (:meth:`view`)."""
    corpus: str | None = None
    """Folder where the sources' files are found (absolute, resolved by the reader)."""
    deals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Named narrow deals: the issues each settles (the others stay at the status quo)."""
    deal_evidence: Mapping[str, tuple[Evidence, ...]] = field(default_factory=dict)
    """Deal id -> the quotes and judgement for settling just these issues."""
    notes: tuple[str, ...] = ()
    """Things a reader detected and reports, e.g. a salience scale it converted."""
    document: Any = field(default=None, compare=False, repr=False)
    """The parsed YAML document (ruamel round-trip) when read from accord YAML."""
    conflict_start: _dt.date | None = None
    """The war's onset (its age at each view's date enters the outlook)."""
    durability: Mapping[str, Quantity] = field(default_factory=dict)
    """Issue id -> breakdown hazard ratio of a deal whose term sits at the top of the scale
    (log-linear in between; < 1: the term makes a deal hold)."""
    events: tuple[Event, ...] = ()
    deal_pins: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Deal id -> issue -> the value the deal pins it at (a ceasefire pins sequencing)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "stances", MappingProxyType(dict(self.stances)))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        object.__setattr__(self, "views", MappingProxyType(dict(self.views)))
        object.__setattr__(self, "deals", MappingProxyType(dict(self.deals)))
        object.__setattr__(self, "deal_evidence", MappingProxyType(dict(self.deal_evidence)))
        object.__setattr__(self, "durability", MappingProxyType(dict(self.durability)))
        object.__setattr__(self, "deal_pins", MappingProxyType(dict(self.deal_pins)))

    # ---- labels -------------------------------------------------------------------------
    @property
    def actor_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.actors)

    @property
    def issue_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.issues)

    def actor(self, actor_id: str) -> Actor:
        return self.actors[self.actor_ids.index(actor_id)]

    def issue(self, issue_id: str) -> Issue:
        return self.issues[self.issue_ids.index(issue_id)]

    # ---- arrays -------------------------------------------------------------------------
    @cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        a, i = len(self.actors), len(self.issues)
        pos = np.full((a, i), np.nan)
        sal = np.full((a, i), np.nan)
        inh = np.zeros((a, i), bool)
        ai = {x: k for k, x in enumerate(self.actor_ids)}
        ii = {x: k for k, x in enumerate(self.issue_ids)}
        for (actor, issue), st in self.stances.items():
            pos[ai[actor], ii[issue]] = st.position.value
            sal[ai[actor], ii[issue]] = st.salience.value
            inh[ai[actor], ii[issue]] = st.inherited
        for arr in (pos, sal, inh):
            arr.setflags(write=False)
        cap = np.array([x.capability.value for x in self.actors], float)
        cap.setflags(write=False)
        return {"position": pos, "salience": sal, "inherited": inh, "capability": cap}

    @property
    def capability(self) -> np.ndarray:
        """``[a]`` capabilities."""
        return self._arrays["capability"]

    @property
    def position(self) -> np.ndarray:
        """``[a, i]`` positions in each issue's units, NaN where an actor has no stance."""
        return self._arrays["position"]

    @property
    def salience(self) -> np.ndarray:
        """``[a, i]`` saliences in [0, 1], NaN where an actor has no stance."""
        return self._arrays["salience"]

    @property
    def inherited(self) -> np.ndarray:
        """``[a, i]`` True where a view took the cell from the base coding."""
        return self._arrays["inherited"]

    @property
    def veto(self) -> np.ndarray:
        return np.array([x.veto for x in self.actors], bool)

    @property
    def low(self) -> np.ndarray:
        return np.array([x.low for x in self.issues], float)

    @property
    def high(self) -> np.ndarray:
        return np.array([x.high for x in self.issues], float)

    @property
    def status_quo(self) -> np.ndarray:
        return np.array([np.nan if x.status_quo is None else x.status_quo
                         for x in self.issues], float)

    def inputs(self):
        """The point-value model input (a batch of one draw)."""
        from ..models.base import Inputs

        inputs = Inputs.from_arrays(self.capability, self.position, self.salience, self.low,
                                    self.high, self.status_quo, self.veto, self.actor_ids,
                                    self.issue_ids)
        if any(a.extra.get("power_by_issue") for a in self.actors):
            power = np.broadcast_to(self.capability[None, :, None], inputs.shape).copy()
            for k, actor in enumerate(self.actors):
                for issue, value in actor.extra.get("power_by_issue", {}).items():
                    power[:, k, self.issue_ids.index(issue)] = value
            inputs = replace(inputs, power=power)
        rows = {a.id: a.extra.get("ktab_ideal_adjustment") for a in self.actors}
        if any(rows.values()):
            acc = np.eye(len(self.actors))      # KTAB: an actor without pairs keeps its ideal
            for k, row in enumerate(rows.values()):
                if row:
                    acc[k] = [float(row.get(other, 0.0)) for other in self.actor_ids]
            inputs = replace(inputs, accommodation=acc)
        return inputs

    # ---- pandas -------------------------------------------------------------------------
    def stances_frame(self):
        """Long table: one row per actor × issue with a stance."""
        import pandas as pd

        rows = []
        for actor in self.actors:
            for issue in self.issues:
                st = self.stances.get((actor.id, issue.id))
                if st is None:
                    continue
                rows.append({
                    "actor": actor.id, "issue": issue.id,
                    "position": st.position.value, "position_low": st.position.low,
                    "position_high": st.position.high, "salience": st.salience.value,
                    "salience_low": st.salience.low, "salience_high": st.salience.high,
                    "capability": actor.capability.value, "inherited": st.inherited,
                    "view": self.view_id,
                })
        return pd.DataFrame(rows)

    def actors_frame(self):
        import pandas as pd

        return pd.DataFrame([{"actor": a.id, "name": a.name, "capability": a.capability.value,
                              "capability_low": a.capability.low,
                              "capability_high": a.capability.high, "veto": a.veto}
                             for a in self.actors]).set_index("actor")

    def issues_frame(self):
        import pandas as pd

        return pd.DataFrame([{"issue": x.id, "question": x.question, "low": x.low,
                              "high": x.high, "status_quo": x.status_quo,
                              "anchors": len(x.anchors)} for x in self.issues]).set_index("issue")

    # ---- views --------------------------------------------------------------------------
    def view(self, view_id: str) -> "Scenario":
        """The scenario as one view codes it: its cells over the base, the rest inherited."""
        if view_id not in self.views:
            raise KeyError(f"scenario {self.id!r} has no view {view_id!r}; "
                           f"views: {', '.join(self.views) or 'none'}")
        v = self.views[view_id]
        actors = tuple(replace(a, capability=v.capability.get(a.id, a.capability),
                               veto=v.veto.get(a.id, a.veto),
                               veto_quantity=v.veto_quantity.get(a.id, a.veto_quantity),
                               no_deal=v.no_deal.get(a.id, a.no_deal),
                               delivers=v.delivers.get(a.id, a.delivers),
                               red_lines=_red_lines(a, v),
                               **{f: v.outlook.get((a.id, f), getattr(a, f))
                                  for f in OUTLOOK_ACTOR_FIELDS}) for a in self.actors)
        stances: dict[tuple[str, str], Stance] = {
            key: replace(st, inherited=True) for key, st in self.stances.items()}
        for key, st in v.stances.items():
            if st is None:
                stances.pop(key, None)
            else:
                stances[key] = replace(st, inherited=False)
        issues = tuple(replace(x, status_quo=v.status_quo[x.id].value,
                               status_quo_quantity=v.status_quo[x.id])
                       if x.id in v.status_quo else x for x in self.issues)
        issues = tuple(replace(x, trend=v.trend[x.id]) if x.id in v.trend else x for x in issues)
        date = v.date or self.as_of
        # base events reach a view only if they were announced by the view's date
        events = tuple(e for e in self.events
                       if date is None or (e.announced or e.date) <= date) + tuple(v.events)
        return replace(self, actors=actors, issues=issues, stances=stances, views={},
                       view_id=view_id, as_of=date, document=None,
                       durability={**self.durability, **v.durability}, events=events)

    def capability_inherited(self, view_id: str) -> dict[str, bool]:
        v = self.views[view_id]
        return {a.id: a.id not in v.capability for a in self.actors}

    @property
    def sha256(self) -> str:
        """Hash of the input bytes; falls back to a hash of the arrays for in-memory scenarios."""
        if self.content_sha256:
            return self.content_sha256
        h = hashlib.sha256()
        h.update(repr((self.actor_ids, self.issue_ids, self.view_id)).encode())
        for arr in (self.capability, self.position, self.salience, self.low, self.high):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()
