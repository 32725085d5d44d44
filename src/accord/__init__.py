"""accord: forecast how multi-party negotiations end.

>>> import accord
>>> sc = accord.load("eu-emissions")
>>> float(accord.models.run("median", sc.inputs())[0].final[0, 0])
7.0
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("accord")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+local"

from . import models
from .errors import ScenarioError
from .scenario import Scenario, load

__all__ = ["Scenario", "ScenarioError", "load", "models", "__version__"]
