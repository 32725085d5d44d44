"""Scenarios: the validated description of a negotiation, and its readers and writers."""

from .model import Actor, Evidence, Issue, Quantity, Scenario, Source, Stance, View
from .load import load, bundled, bundled_names

__all__ = ["Actor", "Evidence", "Issue", "Quantity", "Scenario", "Source", "Stance", "View",
           "load", "bundled", "bundled_names"]
