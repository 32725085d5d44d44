"""Labels at the edge: model outcomes as the `accord run --json` document and DataFrames."""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

import numpy as np

from .models.base import Inputs, Outcome


def _num(x: float) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def run_document(outcome: Outcome, inputs: Inputs, *, model: str, preset: str,
                 params: Mapping[str, Any], seed: int | None, scenario_sha256: str,
                 version: str, draw: int = 0, view: str | None = None) -> dict[str, Any]:
    """The public contract of ``accord run … --json`` for one draw (DESIGN.md)."""
    actors, issues = list(inputs.actors), list(inputs.issues)
    n = int(outcome.rounds_run[draw])
    rounds = []
    records = outcome.round_records or []
    for r in range(n + 1):
        pos = outcome.positions[draw, r]
        entry: dict[str, Any] = {
            "round": r,
            "positions": {a: {iss: _num(pos[k, j]) for j, iss in enumerate(issues)
                              if not math.isnan(pos[k, j])} for k, a in enumerate(actors)},
            "forecast": {iss: _num(outcome.forecast[draw, r, j]) for j, iss in enumerate(issues)},
        }
        if draw == 0 and r < len(records) and records[r]:
            for key, value in records[r].items():
                if key not in entry:
                    entry[key] = value
        rounds.append(entry)
    doc: dict[str, Any] = {
        "model": model, "preset": preset, "params": dict(params), "seed": seed,
        "scenario_sha256": scenario_sha256, "accord_version": version,
        "stop_reason": str(outcome.stop_reason[draw]), "actors": actors, "issues": issues,
    }
    if view is not None:
        doc["view"] = view
    for key, value in (outcome.summary or {}).items():
        doc.setdefault(key, value)
    doc["rounds"] = rounds
    return doc


def dumps(doc: Any) -> str:
    """Deterministic JSON: NaN never written (null instead), keys in insertion order."""
    return json.dumps(_clean(doc), ensure_ascii=False, allow_nan=False, indent=None,
                      default=_default)


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean(o: Any) -> Any:
    if isinstance(o, float) and math.isnan(o):
        return None
    if isinstance(o, np.floating):
        return None if np.isnan(o) else float(o)
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.ndarray):
        return _clean(o.tolist())
    return o


def trajectory(outcome: Outcome, inputs: Inputs):
    """positions as an xarray DataArray with named dims ``draw, round, actor, issue``."""
    import xarray as xr

    d, r1, a, i = outcome.positions.shape
    return xr.DataArray(outcome.positions, dims=("draw", "round", "actor", "issue"),
                        coords={"draw": np.arange(d), "round": np.arange(r1),
                                "actor": list(inputs.actors), "issue": list(inputs.issues)},
                        name="position")
