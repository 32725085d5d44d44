"""Models: pure functions on (batched) arrays, found through the registry."""

from .base import Inputs, ModelSpec, Outcome, Param, one_shot
from .registry import available, get, run

__all__ = ["Inputs", "ModelSpec", "Outcome", "Param", "one_shot", "available", "get", "run"]
