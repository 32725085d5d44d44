"""accord: forecast how multi-party negotiations end.

>>> import accord
>>> sc = accord.load("eu-emissions")
>>> float(accord.models.run("median", sc.inputs())[0].final[0, 0])
7.0
"""

from __future__ import annotations

from typing import Any

__all__ = ["Scenario", "ScenarioError", "load", "models", "__version__"]


def __getattr__(name: str) -> Any:
    """Everything public is imported on first use, so that ``accord --help`` starts fast
    (numpy, the models and the scenario readers are not needed to print help)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value: Any = version("accord")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            value = "0.0.0+local"
    elif name == "models":
        import importlib

        value = importlib.import_module(".models", __name__)
    elif name in ("Scenario", "load"):
        from . import scenario

        value = getattr(scenario, name)
    elif name == "ScenarioError":
        from .errors import ScenarioError as value
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
