"""The exceptions reconciler raises; the command line maps them to exit codes.

    ReconcilerError              anything reconciler reports to its user
     └── InputError              the user's input cannot be used
          └── InvalidDesiredState  the desired-state YAML has problems (carries every diagnostic)

Library code raises these and never prints; `reconciler.cli` alone turns them
into messages and exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.diagnostics import Diagnostic


class ReconcilerError(Exception):
    """Anything reconciler reports to its user."""


class InputError(ReconcilerError):
    """The user's input cannot be used."""


class InvalidDesiredState(InputError):
    """The desired-state YAML has problems; every one of them is attached."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(sorted(diagnostics))
        files = len({d.file for d in self.diagnostics})
        count = len(self.diagnostics)
        super().__init__(f"{count} {_plural(count, 'error')} in {files} {_plural(files, 'file')}")


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"
