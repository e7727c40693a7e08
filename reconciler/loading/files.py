"""Finding and reading desired-state files: a file named, or every .yaml/.yml file below a folder.

A file larger than the limit is refused before it is read; what cannot be
read is a problem with the file's name, never an exception.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from reconciler.core.diagnostics import Diagnostic

YAML_SUFFIXES = (".yaml", ".yml")
#: A file larger than this (RECONCILER_MAX_FILE_MIB to change it) is refused before it is read.
MAX_FILE_MIB = 64


@dataclass(frozen=True)
class Source:
    """One file of desired state: the name the user knows it by, and its bytes."""

    name: str
    data: bytes


def find_sources(paths: Iterable[str]) -> tuple[list[Source], list[Diagnostic]]:
    """Read each file named, and every `.yaml`/`.yml` file below each folder named, sorted."""
    sources: list[Source] = []
    problems: list[Diagnostic] = []
    limit = _max_file_bytes()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(
                found
                for found in path.rglob("*")
                if found.suffix in YAML_SUFFIXES
                and found.is_file()
                and not any(part.startswith(".") for part in found.relative_to(path).parts)
            )
            if not files:
                problems.append(Diagnostic(given, 0, 0, "", "no .yaml or .yml files in this folder"))
        else:
            files = [path]
        for file in files:
            try:
                size = file.stat().st_size
                if size > limit:
                    problems.append(Diagnostic(str(file), 0, 0, "", _too_large(size, limit)))
                    continue
                sources.append(Source(str(file), file.read_bytes()))
            except OSError as error:
                problems.append(Diagnostic(str(file), 0, 0, "", f"cannot read: {error.strerror}"))
    return sources, problems


def _max_file_bytes() -> int:
    setting = os.environ.get("RECONCILER_MAX_FILE_MIB", "")
    mib = float(setting) if setting.replace(".", "", 1).isdigit() else MAX_FILE_MIB
    return int(mib * 1024 * 1024)


def _too_large(size: int, limit: int) -> str:
    return (
        f"the file is {_amount(size)}, more than the {_amount(limit)} a file may be; "
        "split it into several files in a folder, or raise RECONCILER_MAX_FILE_MIB"
    )


def _amount(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MiB" if size >= 1024 * 1024 else f"{size:,} bytes"
