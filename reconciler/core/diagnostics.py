"""Problems found in the user's files, each with its place: file, line, column, field; and how bad.

An error makes the files invalid: nothing is planned from them. A warning
(a date already past) is said beside them, and changes nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from reconciler.core.characters import scrub

#: A place inside a document: mapping keys and sequence indices, from the root.
DocPath = tuple[str | int, ...]


class Severity(StrEnum):
    """How bad a problem is: an error makes the files invalid, a warning does not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem, located. Line and column count from 1; 0 means "not known"."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        """As a person reads it: a key written with a character that reorders or hides text shows U+FFFD.
        A warning says so after its place, as compilers do: `file:3:9: warning: path: message`."""
        where = self.file if self.line == 0 else f"{self.file}:{self.line}:{self.column}"
        if self.severity is Severity.WARNING:
            where += ": warning"
        return scrub(f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}")

    def as_dict(self) -> dict[str, str | int]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "severity": str(self.severity),
        }


def format_path(path: Sequence[str | int]) -> str:
    """`("contracts", 0, "serials", 1, "seats")` -> `contracts[0].serials[1].seats`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def show_value(value: object, limit: int = 60) -> str:
    """A user's value, quoted and with control characters escaped, cut to `limit` characters."""
    if isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "null"}[value]
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


@dataclass(frozen=True)
class Finding:
    """A problem at a path in one file, before it is placed on a line.

    `related` is a second place the message refers to as `{related}`, such
    as where a duplicate was first declared; `severity` goes on to the
    Diagnostic it is placed as; `inside`, a line and column (from 1) inside
    the string at `path`, such as where a policy's expression breaks.
    """

    source: str
    path: DocPath
    message: str
    at_key: bool = False
    related: tuple[str, DocPath] | None = None
    severity: Severity = Severity.ERROR
    inside: tuple[int, int] | None = None
