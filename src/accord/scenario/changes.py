"""Lever-style changes (set / plus / times a number) as data, shared by levers and events.

A levers file (docs/analysis.md, Levers) and a scenario's dated events (docs/scenario-format.md)
describe changes to actors the same way; both are validated by these models.
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict
from typing_extensions import Annotated

_OPS = ("set", "plus", "times")


def _op(v: Any) -> Any:
    if isinstance(v, bool) or isinstance(v, str):
        raise ValueError("expected a number (set to it) or a mapping with one of set:, plus:, "
                         "times:")
    if isinstance(v, (int, float)):
        return {"set": v}
    return v


def _strict(v: Any) -> Any:
    if isinstance(v, (bool, str)):
        raise ValueError("expected a number")
    return v


Num = Annotated[float, BeforeValidator(_strict)]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpM(_M):
    set: Optional[Num] = None
    plus: Optional[Num] = None
    times: Optional[Num] = None


Op = Annotated[OpM, BeforeValidator(_op)]


class ChangeM(_M):
    capability: Optional[Op] = None
    no_deal: Optional[Op] = None
    cost: Optional[Op] = None
    """The monthly cost of fighting: acts in the outlook only (the static analyses have no time)."""
    veto: Optional[bool] = None
    position: dict[str, Op] = {}
    salience: dict[str, Op] = {}
    remove: bool = False


