"""Readers and writers, one module per format; every reader returns the same Scenario.

A module registers by defining ``FORMAT``; :func:`read` sniffs the format from the file's
name and first bytes unless one is named.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from ...errors import Collector, ScenarioError
from ..model import Scenario


@dataclass(frozen=True)
class Format:
    """A file format: how to recognise it, read it and (optionally) write it.

    ``sniff(path, head) -> score``: 0 means "not mine", higher is more certain (suffix
    alone ~1, a recognised header ~10). ``read(path, lenient=False) -> Scenario``.
    ``write(scenario, path) -> None`` writes atomically.
    """

    name: str
    title: str
    suffixes: tuple[str, ...]
    sniff: Callable[[Path, str], int]
    read: Callable[..., Scenario]
    write: Callable[[Scenario, Path], None] | None = None


@lru_cache(maxsize=1)
def formats() -> dict[str, Format]:
    found: dict[str, Format] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        fmt = getattr(module, "FORMAT", None)
        if fmt is not None:
            found[fmt.name] = fmt
    return found


def _head(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(4096)
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def sniff(path: str | Path) -> Format:
    """The most likely format of a file, or a located error listing the formats."""
    path = Path(path)
    if path.is_dir():
        return formats()["yaml"]
    head = _head(path)
    scored = sorted(((fmt.sniff(path, head), fmt.name) for fmt in formats().values()),
                    reverse=True)
    if not scored or scored[0][0] <= 0:
        raise Collector(str(path)).fail(1, "format", path.suffix or path.name,
                                        f"a known format ({', '.join(formats())}); "
                                        "name one with --format")
    return formats()[scored[0][1]]


def read(path: str | Path, format: str | None = None, lenient: bool = False) -> Scenario:
    """Read a scenario file (or a scenario folder) in any known format."""
    path = Path(path)
    if format is None:
        fmt = sniff(path)
    else:
        if format not in formats():
            raise Collector(str(path)).fail(None, "--format", format,
                                            f"one of {', '.join(formats())}")
        fmt = formats()[format]
    sc = fmt.read(path, lenient=lenient)
    if fmt.name == "yaml" and path.is_dir() and (path / "bases").is_dir():
        from ..bases import attach  # dated bases: each view inherits from a base of its time

        sc = attach(sc, path)
    return sc


def write(scenario: Scenario, path: str | Path, format: str | None = None,
          force: bool = False) -> Path:
    """Write a scenario; refuses to overwrite an existing file unless ``force``."""
    path = Path(path)
    if format is None:
        suffix = path.suffix.lower()
        matches = sorted((f for f in formats().values() if f.write and suffix in f.suffixes),
                         key=lambda f: f.name != suffix.lstrip(".").replace("yml", "yaml"))
        if not matches:
            raise Collector(str(path)).fail(None, "output", path.suffix,
                                            "a .yaml or .csv output file")
        fmt = matches[0]
    else:
        if format not in formats():
            raise Collector(str(path)).fail(None, "--format", format,
                                            f"one of {', '.join(formats())}")
        fmt = formats()[format]
        if path.suffix.lower() not in fmt.suffixes:  # YAML in x.csv helps nobody
            raise Collector(str(path)).fail(None, "output", path.name,
                                            f"a file name ending in "
                                            f"{' or '.join(fmt.suffixes)} for {fmt.name} output")
    if fmt.write is None:
        raise Collector(str(path)).fail(None, "--format", fmt.name, "a format accord can write")
    if path.exists() and not force:
        raise Collector(str(path)).fail(None, "output", str(path),
                                        "a new file (it exists; pass --force to replace it)")
    fmt.write(scenario, path)
    return path


__all__ = ["Format", "formats", "read", "write", "sniff", "ScenarioError"]
