"""SCENARIO arguments: a path, or the name of a bundled scenario."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import Collector
from .model import Scenario


def _bundled_root() -> Path:
    return Path(str(resources.files("accord") / "bundled"))


def bundled_names() -> list[str]:
    root = _bundled_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def bundled(name: str) -> Path:
    """The path of a bundled scenario (a folder holding scenario.yaml)."""
    return _bundled_root() / name


def load(ref: str | Path, format: str | None = None, lenient: bool = False) -> Scenario:
    """Read a scenario from a path or a bundled name."""
    from . import io

    path = Path(ref)
    if not path.exists() and str(ref) in bundled_names():
        path = bundled(str(ref))
    elif not path.exists():
        names = bundled_names()
        raise Collector(str(ref)).fail(None, "SCENARIO", str(ref),
                                       "an existing file or folder, or a bundled scenario"
                                       + (f" ({', '.join(names)})" if names else ""))
    return io.read(path, format=format, lenient=lenient)
