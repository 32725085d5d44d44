"""Named models, found by scanning this package: a module that defines ``SPECS`` registers.

A new model therefore appears in ``accord models``, ``accord run`` and ``accord forecast``
without any other file changing.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from .base import Inputs, ModelSpec, Outcome


@lru_cache(maxsize=1)
def _registry() -> dict[str, ModelSpec]:
    found: dict[str, ModelSpec] = {}
    package = importlib.import_module(__package__)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name in ("base", "registry") or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        for spec in getattr(module, "SPECS", ()):
            if spec.name in found:
                raise RuntimeError(f"model name {spec.name!r} registered twice")
            found[spec.name] = spec
    order = {"status_quo": 0, "mean": 1, "compromise": 2, "median": 3, "nbs": 4}
    return dict(sorted(found.items(), key=lambda kv: (order.get(kv[0], 10), kv[0])))


def available() -> dict[str, ModelSpec]:
    """All registered models by name, baselines first."""
    return dict(_registry())


def get(name: str) -> ModelSpec:
    models = _registry()
    if name not in models:
        raise KeyError(f"unknown model {name!r}; models: {', '.join(models)}")
    return models[name]


def run(name: str, inputs: Inputs, *, preset: str | None = None, rounds: int | None = None,
        seed: int | np.random.Generator | None = 0,
        params: Mapping[str, Any] | None = None) -> tuple[Outcome, dict[str, Any]]:
    """Run a model by name; returns the outcome and the resolved parameters. The seed
    defaults to 0 so that the same call gives the same result (None: fresh entropy)."""
    spec = get(name)
    values = spec.resolve(preset, params)
    if spec.max_size is not None:
        refusal = spec.max_size(*inputs.shape)
        if refusal:
            raise ValueError(refusal)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n_rounds = spec.default_rounds if rounds is None else int(rounds)
    return spec.run(inputs, rounds=n_rounds, rng=rng, **values), values
