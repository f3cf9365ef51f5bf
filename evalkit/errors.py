"""Errors evalkit raises, each saying which file, where in it, and how to fix it.

The tree::

    EvalkitError            anything evalkit reports to a person in plain words
    ├── ConfigError         the pilot card (pilot.yaml) or a command's options are wrong
    ├── DataError           the data files are wrong, unreadable or too broken to estimate on
    ├── EstimationError     the data are valid but the design cannot be estimated on them
    └── NotebookError       a report template failed while it ran

The command line turns any of these into a message and exit code 1; anything
else is a bug in evalkit and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong, located precisely enough for a person to fix it."""

    where: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text}\n    fix: {self.hint}" if self.hint else text


class EvalkitError(Exception):
    """Base of every error evalkit explains to a person."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        where: str = "",
        hint: str = "",
        problems: Sequence[Problem] = (),
    ) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.where = where
        self.hint = hint
        self.problems = tuple(problems)
        super().__init__(self.render())

    def render(self) -> str:
        """Return the whole message: file, place, what is wrong, and the fix."""
        head = self.message
        if self.path is not None:
            location = f"{self.path}:{self.where}" if self.where else str(self.path)
            head = f"{location}: {head}"
        lines = [head]
        lines.extend(f"  - {problem}".replace("\n", "\n  ") for problem in self.problems)
        if self.hint:
            lines.append(f"  fix: {self.hint}")
        return "\n".join(lines)


class ConfigError(EvalkitError):
    """The pilot card (or an option given to a command) is wrong."""


class DataError(EvalkitError):
    """A data file is missing, unreadable, or fails its checks."""


class EstimationError(EvalkitError):
    """The data passed their checks but the design cannot be estimated on them."""


class NotebookError(EvalkitError):
    """A report template raised an error while it ran."""
