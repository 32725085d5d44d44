"""Further CLI commands, one module each: a module here that defines ``register(app)`` adds
its commands to ``accord``. Like cli.py they parse and print; they compute nothing themselves."""

from __future__ import annotations

import importlib
import pkgutil


def register_all(app) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
