"""The defaults every surface shares (CLI, report, web app), importable without numpy."""

DRAWS = 2_000
"""Monte-Carlo draws per view on every surface (CLI, report, web app) unless asked otherwise."""
DYNAMIC_DRAWS = 100
"""Draws per view for the dynamic models (BDM, exchange, SMP), which cost far more per draw."""
SEED = 0
"""Seed of every surface's draws unless asked otherwise."""
OUTLOOK_DRAWS = 10_000
"""Draws of the outlook in all (shared by the views), the same on every surface."""
OUTLOOK_HORIZON = 36
"""Months of the outlook the summary reads."""
