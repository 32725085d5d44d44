"""What-if levers: named interventions as data, all evaluated as one more array axis.

A levers file (YAML, format in docs/analysis.md) lists named interventions. Each changes
actors' capability, salience, position, veto or no-deal value (set a number, ``plus`` a
shift, ``times`` a factor), removes an actor or adds one, or ``combine``\\ s other levers.
:func:`compile_levers` turns the list into arrays ``[lever, actor(, issue)]``; lever 0 is
always ``none`` (the scenario as coded). :meth:`LeverArrays.apply` turns a batch of draws
``[n, ...]`` into ``[levers · n, ...]`` so every model and the feasibility solver run once over
all levers and draws; every lever sees the same draws (common random numbers), so a lever that
changes nothing changes no number and a shift is the lever's own effect.

Shifted values stay in their domain: a position on its issue's scale, a salience and a no-deal
value on [0, 1], a capability at 0 or above (documented clipping of ``plus``/``times``; a
``set`` outside the domain is an error in the file).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from typing_extensions import Annotated

from ..errors import Collector
from ..scenario.changes import _OPS, ChangeM, Num, OpM, _M  # noqa: F401 (re-exported)
from ..models.base import Inputs

NONE = "none"
MISSING_CHANGES = "nothing"


# ---- the file ---------------------------------------------------------------------------------

class StanceM(_M):
    position: Num
    salience: Num


class NewActorM(_M):
    name: Optional[str] = None
    capability: Num
    veto: bool = False
    no_deal: Optional[Num] = None
    stances: dict[str, StanceM] = {}


class EvidenceM(_M):
    source: Optional[str] = None
    quote: Optional[str] = Field(default=None, min_length=1)
    judgement: Optional[str] = Field(default=None, min_length=1)


class LeverViewM(_M):
    """What one analysis says the lever did or would do: replaces ``changes`` in that view."""

    changes: dict[str, ChangeM] = {}
    evidence: list[EvidenceM] = []
    quote: Optional[str] = Field(default=None, min_length=1)
    source: Optional[str] = None
    judgement: Optional[str] = Field(default=None, min_length=1)


class LeverM(_M):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
    title: Optional[str] = None
    description: Optional[str] = None
    evidence: list[EvidenceM] = []
    changes: dict[str, ChangeM] = {}
    add: dict[str, NewActorM] = {}
    combine: list[str] = []
    views: dict[str, LeverViewM] = {}


class LeversFileM(_M):
    scenario: Optional[str] = None
    description: Optional[str] = None
    levers: list[LeverM] = Field(min_length=1)


@dataclass(frozen=True)
class Lever:
    """One named intervention as read from a file (changes already merged for ``combine``)."""

    name: str
    title: str
    description: str | None
    evidence: tuple[dict[str, Any], ...]
    changes: tuple[tuple[str, ChangeM], ...]
    add: tuple[tuple[str, NewActorM], ...]
    combine: tuple[str, ...] = ()
    line: int | None = None
    views: tuple[tuple[str, tuple[tuple[str, ChangeM], ...], tuple[dict[str, Any], ...]], ...] = ()
    """Per view: (view id, changes that replace ``changes`` in that view, evidence). A
    combined lever holds its parts' view effects (:func:`changes_for`)."""

    def changes_for(self, view: str | None) -> tuple[tuple[str, ChangeM], ...]:
        """The changes this lever makes in ``view`` (its view effect, else ``changes``)."""
        for vid, changes, _ in self.views:
            if vid == view:
                return changes
        return self.changes

    def evidence_for(self, view: str | None) -> tuple[dict[str, Any], ...]:
        for vid, _, ev in self.views:
            if vid == view:
                return ev
        return self.evidence


def read_levers(path: str | Path, scenario) -> list[Lever]:
    """Read and check a levers file against a scenario; bad input raises ScenarioError with
    every located problem (file, line, field, value, expected)."""
    from ..scenario.io._common import read_text
    from ..scenario.io.yaml_format import _parse, _validate, line_of

    text = read_text(path)
    out = Collector(text.path)
    doc = _parse(text, out)
    data = doc.data
    if isinstance(data, list):  # a bare list of levers
        doc.data = {"levers": data}
        doc.lines = {("levers",) + k: v for k, v in doc.lines.items()}
    model = _validate(LeversFileM, doc, out)
    out.problems = [replace(p, expected=p.expected.replace("docs/scenario-format.md",
                                                           "docs/analysis.md, Levers"))
                    for p in out.problems]
    out.raise_if_any()
    assert model is not None
    actors = list(scenario.actor_ids)
    issues = {x.id: x for x in scenario.issues}
    if model.scenario is not None and model.scenario != scenario.id:
        out.add(line_of(doc, ("scenario",)), "scenario", model.scenario,
                f"the id of the scenario these levers are applied to ({scenario.id!r})")
    names: dict[str, int] = {}
    for k, lm in enumerate(model.levers):
        at = ("levers", k)
        if lm.name == NONE:
            out.add(line_of(doc, at + ("name",)), f"levers[{k}].name", lm.name,
                    f"a name other than {NONE!r} (reserved for the scenario as coded)")
        if lm.name in names:
            out.add(line_of(doc, at + ("name",)), f"levers[{k}].name", lm.name,
                    f"a lever name used once (also lever {names[lm.name]})")
        names.setdefault(lm.name, k)
        if not (lm.changes or lm.add or lm.combine):
            out.add(line_of(doc, at), f"levers[{k}]", lm.name,
                    "at least one of changes:, add:, combine:")
        for new_id, na in lm.add.items():
            nat = at + ("add", new_id)
            if new_id in actors:
                out.add(line_of(doc, nat), f"{lm.name}.add", new_id,
                        "a new actor id (this actor is already in the scenario)")
            _check_number(out, doc, nat + ("capability",), f"{lm.name}.add.{new_id}.capability",
                          na.capability, 0, None)
            if na.no_deal is not None:
                _check_number(out, doc, nat + ("no_deal",), f"{lm.name}.add.{new_id}.no_deal",
                              na.no_deal, 0, 1)
            for iid, st in na.stances.items():
                sat = nat + ("stances", iid)
                if iid not in issues:
                    out.add(line_of(doc, sat), f"{lm.name}.add.{new_id}.stances", iid,
                            f"an issue of the scenario ({', '.join(issues)})")
                    continue
                _check_number(out, doc, sat + ("position",), f"{lm.name}.add.{new_id}.{iid}.position",
                              st.position, issues[iid].low, issues[iid].high)
                _check_number(out, doc, sat + ("salience",), f"{lm.name}.add.{new_id}.{iid}.salience",
                              st.salience, 0, 1)
        added_here = set(lm.add)
        _check_changes(out, doc, scenario, actors, issues, k, f"levers[{k}]", at, lm.changes,
                       added_here, lm.name)
        for vid, vm in lm.views.items():
            vat = at + ("views", vid)
            if vid not in scenario.views:
                out.add(line_of(doc, vat), f"{lm.name}.views", vid,
                        f"a view of the scenario ({', '.join(scenario.views) or 'none'})")
                continue
            if not vm.changes:
                out.add(line_of(doc, vat), f"{lm.name}.views.{vid}", MISSING_CHANGES,
                        "changes: (what the lever does in this view)")
            if not (vm.evidence or vm.quote or vm.judgement):
                out.add(line_of(doc, vat), f"{lm.name}.views.{vid}", "no evidence",
                        "a quote from the view's source or a judgement note saying what the "
                        "text states the lever did or would do")
            _check_changes(out, doc, scenario, actors, issues, k, f"{lm.name}.views.{vid}", vat,
                           vm.changes, added_here, f"{lm.name}.views.{vid}")
    for k, lm in enumerate(model.levers):
        for j, other in enumerate(lm.combine):
            if other not in names:
                out.add(line_of(doc, ("levers", k, "combine", j)), f"{lm.name}.combine", other,
                        f"the name of another lever in this file ({', '.join(names)})")
    out.raise_if_any()
    by_name = {lm.name: (k, lm) for k, lm in enumerate(model.levers)}
    levers = []
    for k, lm in enumerate(model.levers):
        changes, add, err = _flatten(lm.name, by_name, ())
        if err:
            j = lm.combine.index(err) if err in lm.combine else 0
            out.add(line_of(doc, ("levers", k, "combine", j)), f"{lm.name}.combine", err,
                    "levers that do not combine themselves (a cycle)")
            continue
        views = _view_effects(lm.name, by_name, scenario)
        levers.append(Lever(lm.name, lm.title or lm.name, lm.description,
                            tuple(e.model_dump(exclude_none=True) for e in lm.evidence),
                            tuple(changes), tuple(add), tuple(lm.combine),
                            line_of(doc, ("levers", k)), views))
    out.raise_if_any()
    return levers


def _check_changes(out, doc, scenario, actors, issues, k, where, at, changes,
                   added_here, name) -> None:
    from ..scenario.io.yaml_format import line_of

    for actor, ch in changes.items():
        cat = at + ("changes", actor)
        field = f"{name}.changes.{actor}"
        if actor not in actors and actor not in added_here:
            out.add(line_of(doc, cat), f"{where}.changes", actor,
                    f"an actor of the scenario ({', '.join(actors)})")
            continue
        for key, lo, hi in (("capability", 0, None), ("no_deal", 0, 1)):
            op = getattr(ch, key)
            if op is not None:
                _check_op(out, doc, cat + (key,), f"{field}.{key}", op, lo, hi)
        for key in ("position", "salience"):
            for iid, op in getattr(ch, key).items():
                iat = cat + (key, iid)
                if iid not in issues:
                    out.add(line_of(doc, iat), f"{field}.{key}", iid,
                            f"an issue of the scenario ({', '.join(issues)})")
                    continue
                lo, hi = (issues[iid].low, issues[iid].high) if key == "position" else (0, 1)
                _check_op(out, doc, iat, f"{field}.{key}.{iid}", op, lo, hi)
                if actor in actors and (actor, iid) not in scenario.stances:
                    other = "salience" if key == "position" else "position"
                    if op.set is None or iid not in getattr(ch, other) or \
                            getattr(ch, other)[iid].set is None:
                        out.add(line_of(doc, iat), f"{field}.{key}.{iid}", _show(op),
                                f"set: values for both position and salience ({actor} has "
                                f"no stance on {iid} to shift)")


def _show(op: OpM) -> Any:
    return {k: v for k, v in op.model_dump().items() if v is not None}


def _check_op(out, doc, at, field, op: OpM, lo, hi) -> None:
    from ..scenario.io.yaml_format import line_of

    given = [k for k in _OPS if getattr(op, k) is not None]
    if len(given) != 1:
        out.add(line_of(doc, at), field, _show(op), "exactly one of set:, plus:, times:")
        return
    if op.set is not None:
        _check_number(out, doc, at, field, op.set, lo, hi)
    if op.times is not None and op.times < 0:
        out.add(line_of(doc, at), field, _show(op), "times: a factor of 0 or more")


def _check_number(out, doc, at, field, value, lo, hi) -> None:
    from ..scenario.io.yaml_format import line_of

    if not np.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        rng = f"a number in [{lo:g}, {hi:g}]" if hi is not None else f"a number >= {lo:g}"
        out.add(line_of(doc, at), field, value, rng)


def _flatten(name: str, by_name: dict, seen: tuple, view: str | None = None
             ) -> tuple[list, list, str | None]:
    if name in seen:
        return [], [], name
    _, lm = by_name[name]
    changes, add = [], []
    for other in lm.combine:
        c, a, err = _flatten(other, by_name, seen + (name,), view)
        if err:
            return [], [], err
        changes += c
        add += a
    own = lm.views[view].changes if view is not None and view in lm.views else lm.changes
    changes += list(own.items())
    add += list(lm.add.items())
    return changes, add, None


def _effect_views(name: str, by_name: dict, seen: tuple = ()) -> set[str]:
    if name in seen:
        return set()
    _, lm = by_name[name]
    out = set(lm.views)
    for other in lm.combine:
        out |= _effect_views(other, by_name, seen + (name,))
    return out


def _view_effects(name: str, by_name: dict, scenario) -> tuple:
    """(view, changes, evidence) for every view in which this lever (or a part) has an effect."""
    out = []
    for vid in sorted(_effect_views(name, by_name)):
        changes, _, err = _flatten(name, by_name, (), vid)
        if err:
            continue
        evidence = []
        stack = [name]
        while stack:
            _, lm = by_name[stack.pop()]
            vm = lm.views.get(vid)
            if vm is not None:
                src = vm.source or (scenario.views[vid].source if vid in scenario.views else None)
                evidence += [dict(e.model_dump(exclude_none=True),
                                  **({"source": e.source or src} if e.quote else {}))
                             for e in vm.evidence]
                if vm.quote:
                    evidence.append({"source": src, "quote": vm.quote})
                if vm.judgement:
                    evidence.append({"judgement": vm.judgement})
            stack += list(lm.combine)
        out.append((vid, tuple(changes), tuple(evidence)))
    return tuple(out)


# ---- the arrays -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LeverArrays:
    """Levers as arrays; lever 0 is ``none``. Added actors are appended after the scenario's.

    Every numeric change is an affine map ``x -> mul · x + add`` per cell (``set v``: 0, v;
    ``plus p``: 1, p; ``times f``: f, 0), so a combined lever composes its parts in order.
    """

    names: tuple[str, ...]
    titles: tuple[str, ...]
    actors: tuple[str, ...]
    n_added: int
    cap: np.ndarray
    """``[2, L, a]`` (mul, add)."""
    nd: np.ndarray
    pos: np.ndarray
    """``[2, L, a, i]`` (mul, add)."""
    sal: np.ndarray
    veto_set: np.ndarray
    """``[L, a]`` -1 keep, 0 no veto, 1 veto."""
    present: np.ndarray
    """``[L, a]`` False where the actor is removed (or an added actor is not added)."""
    by_view: Any = None
    """View id -> the LeverArrays of that view, where a lever has a view effect there."""

    @property
    def count(self) -> int:
        return len(self.names)

    def for_view(self, view: str | None) -> "LeverArrays":
        """The arrays to apply to ``view``'s draws (its own lever effects, else these)."""
        if self.by_view and view in self.by_view:
            return self.by_view[view]
        return self

    def apply(self, inputs: Inputs, no_deal: np.ndarray, veto: np.ndarray, lo: int = 0,
              hi: int | None = None) -> tuple[Inputs, np.ndarray, np.ndarray, int]:
        """Levers ``lo:hi`` on a batch of ``n`` draws: ``[(hi - lo) · n]`` problems."""
        hi = self.count if hi is None else hi
        sl = slice(lo, hi)
        L = hi - lo
        n, a0, i = inputs.shape
        e = self.n_added
        cap = np.concatenate([inputs.capability, np.zeros((n, e))], axis=1)
        pos = np.concatenate([inputs.position, np.full((n, e, i), np.nan)], axis=1)
        sal = np.concatenate([inputs.salience, np.full((n, e, i), np.nan)], axis=1)
        nd = np.concatenate([no_deal, np.full((n, e), np.nan)], axis=1)
        vt = np.concatenate([np.broadcast_to(veto, (n, a0)), np.zeros((n, e), bool)], axis=1)
        cap = _apply(cap[None], self.cap[:, sl, None], 0.0, np.inf)
        nd = _apply(nd[None], self.nd[:, sl, None], 0.0, 1.0)
        pos = _apply(pos[None], self.pos[:, sl, None], inputs.low, inputs.high)
        sal = _apply(sal[None], self.sal[:, sl, None], 0.0, 1.0)
        vset = self.veto_set[sl, None]
        vt = np.where(vset >= 0, vset == 1, vt[None])
        present = self.present[sl, None]
        cap = np.where(present, cap, 0.0)
        nd = np.where(present, nd, np.nan)
        vt = vt & present
        pos = np.where(present[..., None], pos, np.nan)
        sal = np.where(np.isnan(pos), np.nan, sal)
        batch = Inputs(np.ascontiguousarray(cap.reshape(L * n, -1)),
                       np.ascontiguousarray(pos.reshape(L * n, -1, i)),
                       np.ascontiguousarray(sal.reshape(L * n, -1, i)),
                       inputs.low, inputs.high, inputs.status_quo,
                       np.concatenate([inputs.veto, np.zeros(e, bool)]), self.actors,
                       inputs.issues)
        return batch, nd.reshape(L * n, -1), vt.reshape(L * n, -1), L


def _apply(x, ma, lo, hi):
    mul, add = ma[0], ma[1]
    changed = (mul != 1.0) | (add != 0.0)
    with np.errstate(invalid="ignore"):
        out = np.where(mul == 0.0, add, mul * x + add)
    # changed cells stay in their domain; untouched cells stay bit for bit
    return np.where(changed, np.clip(out, lo, hi), x)


def _compose(ma: np.ndarray, idx: tuple, op: OpM) -> None:
    """Apply ``op`` after the map already in ``ma[:, idx]``."""
    mul, add = ma[0][idx], ma[1][idx]
    if op.set is not None:
        mul, add = 0.0, float(op.set)
    elif op.plus is not None:
        add = add + float(op.plus)
    elif op.times is not None:
        mul, add = mul * float(op.times), add * float(op.times)
    ma[0][idx], ma[1][idx] = mul, add


def compile_levers(scenario, levers: Sequence[Lever], view: str | None = None) -> LeverArrays:
    """Arrays of every lever (lever 0 = ``none``). Without ``view``, the arrays also hold,
    in ``by_view``, the arrays of each view where a lever has its own effect."""
    base = list(scenario.actor_ids)
    added: list[str] = []
    for lv in levers:
        for aid, _ in lv.add:
            if aid not in added:
                added.append(aid)
    actors = base + added
    ai = {x: k for k, x in enumerate(actors)}
    ii = {x: k for k, x in enumerate(scenario.issue_ids)}
    L, A, I = len(levers) + 1, len(actors), len(ii)

    def identity(shape):
        return np.stack([np.ones(shape), np.zeros(shape)])

    cap, nd, pos, sal = identity((L, A)), identity((L, A)), identity((L, A, I)), identity((L, A, I))
    veto_set = np.full((L, A), -1, np.int8)
    present = np.zeros((L, A), bool)
    present[:, :len(base)] = True
    for k, lv in enumerate(levers, start=1):
        for aid, na in lv.add:
            a = ai[aid]
            present[k, a] = True
            _compose(cap, (k, a), OpM(set=na.capability))
            veto_set[k, a] = int(na.veto)
            if na.no_deal is not None:
                _compose(nd, (k, a), OpM(set=na.no_deal))
            for iid, st in na.stances.items():
                _compose(pos, (k, a, ii[iid]), OpM(set=st.position))
                _compose(sal, (k, a, ii[iid]), OpM(set=st.salience))
        for aid, ch in lv.changes_for(view):
            a = ai[aid]
            if ch.remove:
                present[k, a] = False
            if ch.capability is not None:
                _compose(cap, (k, a), ch.capability)
            if ch.no_deal is not None:
                _compose(nd, (k, a), ch.no_deal)
            if ch.veto is not None:
                veto_set[k, a] = int(ch.veto)
            for iid, op in ch.position.items():
                _compose(pos, (k, a, ii[iid]), op)
            for iid, op in ch.salience.items():
                _compose(sal, (k, a, ii[iid]), op)
    by_view = None
    if view is None:
        vids = sorted({vid for lv in levers for vid, _, _ in lv.views})
        by_view = {vid: compile_levers(scenario, levers, vid) for vid in vids} or None
    return LeverArrays((NONE,) + tuple(lv.name for lv in levers),
                       ("as coded",) + tuple(lv.title for lv in levers), tuple(actors),
                       len(added), cap, nd, pos, sal, veto_set, present, by_view)


# ---- the analysis -----------------------------------------------------------------------------

@dataclass
class WhatIf:
    """What ``accord whatif`` computes; DataFrames for the Python API."""

    scenario_id: str
    scenario_sha256: str
    seed: int | None
    draws: int
    views: list[str]
    levers: list[Lever]
    models: list[str]
    forecast: pd.DataFrame
    """lever × view × model × issue: median forecast and the paired shift against ``none``
    (median, p10, p90 over draws; ``shift_se``, the Monte-Carlo standard error of its median)."""
    feasibility: pd.DataFrame
    """lever × view × deal: P(feasible) with a 95% interval and its change against ``none``
    (``change_se``, its Monte-Carlo standard error over paired draws)."""
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        from .. import __version__
        from .ensemble import _records

        return {"scenario": self.scenario_id, "scenario_sha256": self.scenario_sha256,
                "accord_version": __version__, "seed": self.seed, "draws": self.draws,
                "views": self.views, "models": self.models,
                "levers": [{"name": lv.name, "title": lv.title, "description": lv.description,
                            "evidence": list(lv.evidence), "combine": list(lv.combine),
                            "views": {vid: list(ev) for vid, _, ev in lv.views}}
                           for lv in self.levers],
                "forecast": _records(self.forecast), "feasibility": _records(self.feasibility),
                "notes": self.notes, "skipped_models": self.skipped}


def default_levers_path(scenario) -> Path | None:
    """``levers.yaml`` next to the scenario file, if there is one."""
    if not scenario.path:
        return None
    p = Path(scenario.path)
    folder = p if p.is_dir() else p.parent
    cand = folder / "levers.yaml"
    return cand if cand.exists() else None


def whatif(scenario, levers: Union[str, Path, Sequence[Lever]], models: Sequence[str] | None = None,
           draws: int = 1_000, seed: int | None = 0, deals: Sequence[str] | None = None,
           unsettled: str = "status_quo", chunk: int | None = None, backend: str = "local",
           scheduler: str | None = None, client=None) -> WhatIf:
    """How each lever shifts every model's forecast and every deal's feasibility.

    >>> import accord
    >>> from accord.analysis.whatif import whatif
    >>> sc = accord.load("eu-emissions")
    >>> w = whatif(sc, accord.scenario.bundled("eu-emissions") / "levers.yaml",
    ...            models=["median"], draws=20)
    >>> "none" in set(w.forecast.lever)
    True
    """
    from .. import models as _models
    from . import sweeps
    from .feasibility import no_deal_notes, wilson

    if isinstance(levers, (str, Path)):
        levers = read_levers(levers, scenario)
    levers = list(levers)
    arrays = compile_levers(scenario, levers)
    names = list(models) if models is not None else \
        [n for n, s in _models.available().items() if not s.dynamic]
    for n in names:
        _models.get(n)
    run = sweeps.run(scenario, draws=draws, seed=seed, levers=arrays, models=names,
                     deals=deals, unsettled=unsettled, chunk=chunk, backend=backend,
                     scheduler=scheduler, client=client, keep=("feasible",))
    views = run.views
    groups = [(v, [v]) for v in views] + ([("ensemble", views)] if len(views) > 1 else [])
    vix = {v: k for k, v in enumerate(views)}
    def pooled(arr, vs):  # [L, draws of the views vs, i]: a view of arr, never a copy
        k = vix[vs[0]]
        return arr[:, k:k + len(vs)].reshape(arr.shape[0], -1, arr.shape[-1])

    from .summary import MC_Z

    frows = []
    models = run.models
    for m in models:
        arr = run.final.pop(m)  # [L, V, d, i] (groups are one view or all, in order)
        with np.errstate(all="ignore"):
            meds = [_nanq(pooled(arr, vs), 0.5) for _, vs in groups]
            arr -= arr[:1].copy()  # the paired shift against ``none``, in place
            # quantiles need no pairing: each group may reorder its draws in place
            shifts = [_nanq(pooled(arr, vs), _shift_quantiles, overwrite=True)
                      for _, vs in groups]
        for (label, _), med, sq in zip(groups, meds, shifts):
            se = (sq[4] - sq[3]) / (2 * MC_Z)
            for li, name in enumerate(arrays.names):
                for j, issue in enumerate(run.issues):
                    frows.append({"lever": name, "view": label, "model": m, "issue": issue,
                                  "median": med[li, j], "shift": sq[1, li, j],
                                  "shift_p10": sq[0, li, j], "shift_p90": sq[2, li, j],
                                  "shift_se": se[li, j]})
    prows = []
    for deal in run.deal_names:
        ok = run.deals[deal]["feasible"]  # [L, V, d]
        for label, vs in groups:
            x = pooled(ok[..., None], vs)[..., 0]
            n = x.shape[1]
            p0 = x[0].mean()
            for li, name in enumerate(arrays.names):
                k = int(x[li].sum())
                lo, hi = wilson(k, n) if run.draws > 1 else (k / n, k / n)
                changed = int((x[li] != x[0]).sum())
                # the change is the mean of paired differences in {-1, 0, 1}: their variance
                # is (changed/n - change²), so common random numbers keep this small
                ch = k / n - p0
                prows.append({"lever": name, "view": label, "deal": deal, "p_feasible": k / n,
                              "p_low": lo, "p_high": hi, "change": ch,
                              "change_se": float(np.sqrt(max(0.0, changed / n - ch * ch) / n)),
                              "draws_changed": changed, "draws": n})
    notes = no_deal_notes(scenario)
    return WhatIf(scenario.id, scenario.sha256, seed, run.draws, views, levers, models,
                  pd.DataFrame(frows), pd.DataFrame(prows), notes, run.skipped)


def _shift_quantiles(count: int) -> tuple[float, ...]:
    """p10, median, p90 of ``count`` paired shifts, and the order statistics around the median
    whose distance over 2·MC_Z is its Monte-Carlo standard error (Woodruff's interval for one
    sample: :func:`accord.analysis.summary.median_se` with one part, at F(median) = 1/2)."""
    from .summary import MC_Z

    d = MC_Z * 0.5 / np.sqrt(count)
    return (0.1, 0.5, 0.9, max(0.0, 0.5 - d), min(1.0, 0.5 + d))


def _nanq(x: np.ndarray, q, overwrite: bool = False) -> np.ndarray:
    """Quantiles over the draw axis (axis 1) that ignore NaN (models without a forecast).

    ``np.nanquantile`` on the non-NaN values, without its Python loop over every slice: the
    slices are sorted once (NaN last) and those with the same number of values (a handful:
    the views that take no stance on an issue) go through one ``np.quantile``.
    ``q``: the quantiles, or a function of a slice's number of values that returns them (a
    standard error's order statistics depend on it). ``overwrite``: ``x`` may be reordered
    along axis 1 (saves a copy of it)."""
    at = q if callable(q) else (lambda _c: q)
    if not np.isnan(x).any():
        return np.quantile(x, at(x.shape[1]), axis=1, overwrite_input=overwrite)
    qa = np.asarray(at(x.shape[1]), float)
    xs = x if overwrite else x.copy()
    xs.sort(axis=1)                                             # NaN last
    rows = np.moveaxis(xs, 1, -1)                               # [L, ..., d]
    count = (~np.isnan(rows)).sum(-1)
    out = np.full(qa.shape + count.shape, np.nan)
    for c in np.unique(count[count > 0]):                       # distinct counts: a few
        sel = count == c
        out[..., sel] = np.quantile(rows[sel][:, :c], at(int(c)), axis=1, overwrite_input=True)
    return out
