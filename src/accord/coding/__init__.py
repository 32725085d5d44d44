"""Coding a view from a source: scaffold it (:func:`new_view`), code it cell by cell in the
workbench (:mod:`accord.coding.workbench`), and compare two coders (:func:`compare`)."""

from .scaffold import NewView, new_view, read_synonyms

__all__ = ["NewView", "new_view", "read_synonyms"]
