"""The HTML report: one self-contained file (plotly's JavaScript inlined) that opens from disk.

- :func:`render` — the report of a scenario as HTML text (computes the forecast when not given).
- :func:`write` — save it; refuses to replace an existing file unless ``force``.
"""

from .html import ReportOptions, render, write

__all__ = ["ReportOptions", "render", "write"]
