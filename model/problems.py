"""Planner-facing problems: one type for everything a planner must fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ERROR = "error"
WARNING = "warning"

# Exit statuses shared by every command.
EXIT_OK = 0
EXIT_ERRORS = 1  # the case (or run) has problems the planner must fix
EXIT_UNREADABLE = 2  # the file could not be read at all


@dataclass(frozen=True)
class Problem:
    """One problem in a case, located by file and Sheet!Cell.

    `where` is the A1 location (``Projects!C5``) or just a sheet name when
    no single cell is to blame; `found` is the offending value as text;
    `expected` says in plain words what should be there instead.
    """

    severity: str
    message: str
    file: str = ""
    where: str = ""
    found: str | None = None
    expected: str | None = None

    def __str__(self) -> str:
        loc = f"{Path(self.file).name}: {self.where}" if self.file and self.where else (self.where or Path(self.file).name)
        text = f"{loc}: {self.message}" if loc else self.message
        if self.found is not None:
            text += f" (found {self.found!r}" + (f"; expected {self.expected})" if self.expected else ")")
        elif self.expected:
            text += f" (expected {self.expected})"
        return f"{self.severity}: {text}"


@dataclass
class Problems:
    """A collector: validation appends every problem, then decides once."""

    items: list[Problem] = field(default_factory=list)

    def error(self, message: str, file: str = "", where: str = "", found=None, expected: str | None = None) -> None:
        self.items.append(Problem(ERROR, message, str(file), where, _show(found), expected))

    def warn(self, message: str, file: str = "", where: str = "", found=None, expected: str | None = None) -> None:
        self.items.append(Problem(WARNING, message, str(file), where, _show(found), expected))

    def extend(self, other: Problems) -> None:
        self.items.extend(other.items)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == WARNING]


def _show(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:  # not 1e308 as 309 digits
        return str(int(value))
    return str(value)


class CaseError(Exception):
    """Raised when a case cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem], exit_code: int = EXIT_ERRORS):
        self.problems = problems
        self.exit_code = exit_code
        super().__init__("\n".join(str(p) for p in problems))


class UnreadableFile(CaseError):
    """The file could not be read at all (exit status 2)."""

    def __init__(self, path: str | Path, message: str):
        super().__init__([Problem(ERROR, message, str(path))], exit_code=EXIT_UNREADABLE)


class RunError(Exception):
    """A planner-facing failure outside the case itself (output path, solver outcome)."""

    def __init__(self, message: str, exit_code: int = EXIT_ERRORS):
        self.exit_code = exit_code
        super().__init__(message)
