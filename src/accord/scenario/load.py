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


LOCAL = "scenarios"
"""A bare NAME is read from ./scenarios/NAME when that folder exists (a user's editable copy,
see `accord scenarios copy`), before the packaged copy."""


def resolve(ref: str | Path) -> Path | None:
    """Where a SCENARIO argument is read from: the path itself, ./scenarios/NAME, or the
    packaged copy of a bundled NAME (None if none exists)."""
    path = Path(ref)
    if path.exists():
        return path
    name = str(ref)
    if name and "/" not in name and "\\" not in name and not name.startswith("."):
        local = Path.cwd() / LOCAL / name
        if local.is_dir():
            return local
        if name in bundled_names():
            return bundled(name)
    return None


def is_packaged(path: str | Path) -> bool:
    """True when ``path`` is the packaged (bundled) copy of a scenario."""
    return Path(path).parent == _bundled_root()


def source_files(sc: Scenario) -> list[Path]:
    """The files a scenario was read from (the main file, each view file, each dated base)."""
    from collections.abc import Mapping

    if not sc.path:
        return []
    p = Path(sc.path)
    if isinstance(sc.document, Mapping) and len(sc.document):
        base = p if p.is_dir() else p.parent
        dated = [Path(b.file) for b in getattr(sc, "bases", {}).values() if b.file]  # bases/*.yaml
        return [base / name for name in sc.document] + sorted(dated)
    return [p]


def load(ref: str | Path, format: str | None = None, lenient: bool = False) -> Scenario:
    """Read a scenario from a path, ./scenarios/NAME, or a bundled name."""
    from . import io

    path = Path(ref)
    found = resolve(ref)
    if found is not None:
        path = found
    elif not path.exists():
        names = bundled_names()
        raise Collector(str(ref)).fail(None, "SCENARIO", str(ref),
                                       "an existing file or folder, or a bundled scenario"
                                       + (f" ({', '.join(names)})" if names else ""))
    return io.read(path, format=format, lenient=lenient)
