"""The defaults every surface shares (CLI, report, web app), importable without numpy."""

DRAWS = 2_000
"""Monte-Carlo draws per view on every surface (CLI, report, web app) unless asked otherwise."""
DYNAMIC_DRAWS = 100
"""Draws per view for the dynamic models (BDM, exchange, SMP), which cost far more per draw."""
LEVER_DRAWS = 500
"""Draws per view for the what-if levers of the summary. Every lever sees the same draws, so a
lever's effect is a mean or median of paired differences and its Monte-Carlo standard error is
small: on the flagship, 500 draws per view keep it within ±0.7 pp and a fraction of a point
(the summary prints it), at a quarter of the cost of ``DRAWS``."""
SEED = 0
"""Seed of every surface's draws unless asked otherwise."""
OUTLOOK_DRAWS = 10_000
"""Draws of the outlook in all (shared by the views), the same on every surface."""
OUTLOOK_HORIZON = 36
"""Months of the outlook the summary reads."""
