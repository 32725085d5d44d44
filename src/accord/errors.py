"""One error type for bad input, located like a compiler message.

Readers collect every problem of a file before raising, so a user fixes a file in one pass
instead of one error per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    """One located problem: where (file, line, column), what (field, value) and what was expected."""

    file: str
    line: int | None
    field: str
    value: Any
    expected: str
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        value = _show(self.value)
        return f"{where}: {self.field}: got {value}; expected {self.expected}"


def _show(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Missing:
    def __repr__(self) -> str:
        return "nothing"


_MISSING = _Missing()
MISSING: Any = _MISSING
"""Value to report when a required field is absent."""


class ScenarioError(Exception):
    """Bad input. Carries every located problem found (up to ``MAX_PROBLEMS``)."""

    def __init__(self, problems: Iterable[Problem], truncated: int = 0):
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.truncated = truncated
        super().__init__(self.render())

    @property
    def first(self) -> Problem:
        return self.problems[0]

    def render(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.truncated:
            lines.append(f"... and {self.truncated} more problems")
        n = len(self.problems) + self.truncated
        lines.append(f"{n} problem{'s' if n != 1 else ''} found")
        return "\n".join(lines)


class Collector:
    """Gathers problems of one file; ``raise_if_any`` raises them together."""

    def __init__(self, file: str | Path, limit: int = MAX_PROBLEMS):
        self.file = str(file)
        self.limit = limit
        self.problems: list[Problem] = []
        self.dropped = 0

    def add(self, line: int | None, field: str, value: Any, expected: str,
            column: int | None = None, file: str | None = None) -> None:
        if len(self.problems) >= self.limit:
            self.dropped += 1
            return
        self.problems.append(Problem(file or self.file, line, field, value, expected, column))

    def extend(self, error: ScenarioError) -> None:
        for p in error.problems:
            if len(self.problems) >= self.limit:
                self.dropped += 1
            else:
                self.problems.append(p)
        self.dropped += error.truncated

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise ScenarioError(self.problems, self.dropped)

    def fail(self, line: int | None, field: str, value: Any, expected: str,
             column: int | None = None) -> ScenarioError:
        """Add one problem and return the error with everything so far (for `raise`)."""
        self.add(line, field, value, expected, column)
        return ScenarioError(self.problems, self.dropped)
