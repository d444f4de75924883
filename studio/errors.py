"""Errors for people.

Every failure a user can cause ends in a :class:`StudioError` (or a subclass). Its
message names the file, line, field and a fix; the CLI prints it without a traceback
and exits non-zero. Validation collects every :class:`Problem` it finds and raises them
together, so a writer fixes a screenplay in one pass instead of one error at a time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can.

    ``line`` and ``column`` are 1-based (what editors show); 0 means unknown.
    ``field`` is the dotted path of the offending value (``scenes[1].beats[3].speaker``).
    """

    message: str
    file: str = ""
    line: int = 0
    column: int = 0
    field: str = ""
    hint: str = ""
    severity: str = "error"  # "error" or "warning"

    @property
    def location(self) -> str:
        where = self.file or "<input>"
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity}: "
        if self.field:
            text += f"{self.field}: "
        text += self.message
        if self.hint:
            text += f": {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class StudioError(Exception):
    """Base of every error meant for the user. ``str()`` is the whole message."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        self.hint = hint
        super().__init__(message + (f"\n  fix: {hint}" if hint else ""))


@dataclass
class ProblemReport:
    """Problems gathered while checking one input, errors and warnings together."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        if problem not in self.problems:
            self.problems.append(problem)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def sorted(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.file, p.line or 10**9, p.column, p.message))


class ScreenplayError(StudioError):
    """A screenplay that cannot be used: one or more located problems."""

    def __init__(self, problems: list[Problem], path: str | Path | None = None) -> None:
        self.problems = sorted(
            problems, key=lambda p: (p.file, p.line or 10**9, p.column, p.message)
        )
        self.path = str(path) if path else (self.problems[0].file if self.problems else "")
        errors = [p for p in self.problems if p.severity == "error"]
        head = f"{self.path or 'screenplay'}: {len(errors)} problem{'s' if len(errors) != 1 else ''}"
        body = "\n".join(f"  {p}" for p in self.problems)
        Exception.__init__(self, f"{head}\n{body}")
        self.hint = ""


class RenderError(StudioError):
    """A render that cannot go on (a missing tool, a full disk, a broken model)."""


class MissingToolError(StudioError):
    """A system tool (ffmpeg, espeak-ng, fluidsynth) is not installed."""
