"""What every model takes and returns: plain arrays with a leading draw axis.

Models never see files or labels beyond the names they may echo in round records; the
scenario layer builds an :class:`Inputs` and attaches labels to the :class:`Outcome`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import numpy as np


@dataclass(frozen=True)
class Inputs:
    """A batch of ``d`` negotiations over the same actors and issues.

    capability: ``[d, a]``; position, salience: ``[d, a, i]`` in each issue's own units,
    NaN where an actor has no stance (salience is NaN there too). ``low``/``high``: the
    issue scales ``[i]``; ``status_quo``: ``[i]`` (NaN where the scenario gives none);
    ``veto``: ``[a]`` bool.
    """

    capability: np.ndarray
    position: np.ndarray
    salience: np.ndarray
    low: np.ndarray
    high: np.ndarray
    status_quo: np.ndarray
    veto: np.ndarray
    actors: tuple[str, ...]
    issues: tuple[str, ...]
    power: np.ndarray | None = None
    """Optional ``[d, a, i]`` per-issue power where it differs from capability (decide's files);
    models that know no such thing use capability."""
    accommodation: np.ndarray | None = None
    """Optional ``[a, a]`` ideal adjustment (KTAB XML ``IdealAdjustment``): how far each
    actor's ideal follows the others' positions; the spatial model alone reads it."""

    @classmethod
    def from_arrays(cls, capability, position, salience, low=None, high=None,
                    status_quo=None, veto=None, actors=None, issues=None) -> "Inputs":
        """Build from arrays with or without the draw axis; adds it where missing."""
        position = np.asarray(position, dtype=float)
        if position.ndim == 2:
            position = position[None]
        d, a, i = position.shape
        capability = np.asarray(capability, dtype=float)
        if capability.ndim == 1:
            capability = np.broadcast_to(capability, (d, a))
        salience = np.asarray(salience, dtype=float)
        if salience.ndim == 2:
            salience = np.broadcast_to(salience, (d, a, i))
        with np.errstate(all="ignore"):
            lo_default = np.nanmin(position, axis=(0, 1)) if low is None else None
            hi_default = np.nanmax(position, axis=(0, 1)) if high is None else None
        low = np.asarray(lo_default if low is None else low, dtype=float).reshape(i)
        high = np.asarray(hi_default if high is None else high, dtype=float).reshape(i)
        status_quo = (np.full(i, np.nan) if status_quo is None
                      else np.asarray(status_quo, dtype=float).reshape(i))
        veto = np.zeros(a, bool) if veto is None else np.asarray(veto, dtype=bool).reshape(a)
        actors = tuple(actors) if actors is not None else tuple(f"A{k}" for k in range(a))
        issues = tuple(issues) if issues is not None else tuple(f"I{k}" for k in range(i))
        return cls(np.ascontiguousarray(capability), position,
                   np.ascontiguousarray(salience), low, high, status_quo, veto, actors, issues)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.position.shape  # type: ignore[return-value]

    @property
    def present(self) -> np.ndarray:
        """``[d, a, i]`` True where the actor has a stance."""
        return ~np.isnan(self.position)

    def draw(self, k: int) -> "Inputs":
        """The k-th draw as a batch of one (used by loop-equivalence tests)."""
        return replace(self, capability=self.capability[k:k + 1],
                       position=self.position[k:k + 1], salience=self.salience[k:k + 1],
                       power=None if self.power is None else self.power[k:k + 1])

    def subset_issues(self, idx) -> "Inputs":
        idx = np.atleast_1d(idx)
        return replace(self, position=self.position[:, :, idx], salience=self.salience[:, :, idx],
                       low=self.low[idx], high=self.high[idx], status_quo=self.status_quo[idx],
                       issues=tuple(self.issues[j] for j in idx),
                       power=None if self.power is None else self.power[:, :, idx])


class _Lazy:
    """A field that may be given as a zero-argument function and is computed on first access.

    One-shot models return positions this way: Monte-Carlo forecasts read only ``final``, and
    building ``[d, 2, a, i]`` positions would cost more than the model itself.
    """

    def __set_name__(self, owner, name):
        self.attr = "_lazy_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            raise AttributeError(self.attr)  # tells dataclasses: no default
        value = obj.__dict__[self.attr]
        if callable(value):
            value = value()
            obj.__dict__[self.attr] = value
        return value

    def __set__(self, obj, value):
        obj.__dict__[self.attr] = value


@dataclass(frozen=True)
class Outcome:
    """A model's trajectory for every draw.

    positions: ``[d, r+1, a, i]`` (round 0 is the input); forecast: ``[d, r+1, i]``.
    Draws that stop early repeat their last state so that the arrays stay rectangular, unless
    the model continues an exactly detected cycle or fixed point (its own trajectory), in
    which case those rounds count in ``rounds_run[d]``; ``stop_reason[d]`` says why it stopped. ``round_records``, where the model keeps them, holds one JSON-ready dict per
    round for draw 0 (moves, risk exponents, voting positions ...), merged into the
    ``accord run --json`` round entries. ``extra`` holds further arrays with leading
    ``[d, r+1]`` axes and ``summary`` top-level JSON-ready keys.
    """

    positions: np.ndarray = _Lazy()  # type: ignore[assignment]
    forecast: np.ndarray
    stop_reason: np.ndarray
    rounds_run: np.ndarray
    round_records: list[dict[str, Any]] | None = None
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)
    summary: Mapping[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> np.ndarray:
        """``[d, i]`` the forecast after the last round."""
        return self.forecast[:, -1]


def one_shot(inputs: Inputs, forecast: np.ndarray, reason: str = "one_shot",
             summary: Mapping[str, Any] | None = None,
             extra: Mapping[str, np.ndarray] | None = None) -> Outcome:
    """Outcome of a static model: round 0 is the input, round 1 everyone at the forecast."""
    d, a, i = inputs.shape

    def positions() -> np.ndarray:
        out = np.empty((d, 2, a, i))
        out[:, 0] = inputs.position
        out[:, 1] = forecast[:, None, :]
        np.copyto(out[:, 1], np.nan, where=np.isnan(inputs.position))
        return out

    return Outcome(positions=positions, forecast=np.repeat(forecast[:, None, :], 2, axis=1),
                   stop_reason=np.full(d, reason, dtype=object), rounds_run=np.ones(d, int),
                   summary=summary or {}, extra=extra or {})


@dataclass(frozen=True)
class Param:
    """One named model parameter: default, type and what choice it encodes."""

    name: str
    default: Any
    doc: str
    type: type = float
    choices: tuple[Any, ...] | None = None

    def parse(self, text: Any) -> Any:
        """Coerce a ``--param K=V`` string (or a value) to this parameter's type."""
        if self.type is bool and isinstance(text, str):
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                value: Any = True
            elif low in ("0", "false", "no", "off"):
                value = False
            else:
                raise ValueError(f"expected true or false, got {text!r}")
        elif text is None:
            value = None
        else:
            value = self.type(text)
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"expected one of {', '.join(map(str, self.choices))}, got {text!r}")
        return value


RunFn = Callable[..., Outcome]


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: the sklearn-like small interface every model shares.

    ``run(inputs, *, rounds, rng, **params) -> Outcome``. ``presets`` map a preset name to
    parameter overrides; ``default_preset`` is used when none is named.
    """

    name: str
    title: str
    citation: str
    run: RunFn
    params: tuple[Param, ...] = ()
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: {"default": {}})
    default_preset: str = "default"
    dynamic: bool = False
    default_rounds: int = 1
    stochastic: bool = False
    doc: str = ""
    max_size: Callable[[int, int, int], str | None] | None = None
    """Given (draws, actors, issues), a refusal message when the size is beyond reach."""

    def resolve(self, preset: str | None, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults, then the preset, then explicit overrides, all validated."""
        known = {p.name: p for p in self.params}
        preset = preset or self.default_preset
        if preset not in self.presets:
            raise KeyError(f"model {self.name!r} has no preset {preset!r}; "
                           f"presets: {', '.join(self.presets)}")
        values = {p.name: p.default for p in self.params}
        values.update(self.presets[preset])
        for key, raw in (overrides or {}).items():
            if key not in known:
                raise KeyError(f"model {self.name!r} has no parameter {key!r}; "
                               f"parameters: {', '.join(known) or 'none'}")
            try:
                values[key] = known[key].parse(raw)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"parameter {key}: {exc}") from None
        return values


def frozen(y, dtype=float) -> np.ndarray:
    """``y`` as a C-contiguous, read-only array of ``dtype`` (a view when it already is one):
    the one layout and flags compiled code takes. numba compiles a separate signature for a
    read-only array (a broadcast, a slice of one) and for a non-contiguous one, so an entry
    point that sometimes got either compiled twice, the second time on the user's first run
    (models/_warm)."""
    out = np.require(y, dtype, ["C"])
    if out.flags.writeable:
        out = out.view()
        out.flags.writeable = False
    return out


def cells(y, shape: tuple[int, ...], tail: int = 2) -> np.ndarray:
    """``y`` broadcast to ``shape`` as contiguous read-only floats with the leading axes merged
    (``[-1] + shape[-tail:]``): the one layout the compiled cell-by-cell loops take, so
    they compile once whatever the caller passes (:func:`frozen`)."""
    return frozen(np.broadcast_to(y, shape)).reshape((-1,) + tuple(shape[len(shape) - tail:]))
