"""Writing a file whole or not at all, as `import csv --out` and `fmt` do."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from reconciler.core.errors import InputError


def write_whole(path: Path, data: bytes, what: str) -> None:
    """Write `data` to `path` whole or not at all: a temporary file beside it, flushed to disk and
    renamed into place, so a reader finds the old file or the new one, never half of one. A file
    replaced keeps its permissions, and a symbolic link stays one (its target is replaced). Raises
    InputError, naming `what` is written, when it cannot (no such folder, no room, no right)."""
    try:
        _stage_and_rename(path.resolve(), data)
    except OSError as error:
        raise InputError(f"cannot write {what} to {path}: {error.strerror or error}") from None


def _stage_and_rename(path: Path, data: bytes) -> None:
    descriptor, staged = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(staged, _mode_for(path))  # mkstemp's 0600 is for the staging, not for the file
        os.replace(staged, path)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The permissions of the file at `path`, or those a new file gets (0666 less the umask)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
