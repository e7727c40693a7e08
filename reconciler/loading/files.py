"""Finding and reading desired-state files: a file named, or every .yaml/.yml file below a folder.

A file larger than the limit is refused before it is read; what cannot be
read is a problem with the file's name, never an exception.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
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
    """Read each file named, and every `.yaml`/`.yml` file below each folder named, sorted; a file
    named twice (`acme acme/users.yaml`, `acme ./acme`, a link to it) is read once, where first named."""
    sources: list[Source] = []
    problems: list[Diagnostic] = []
    limit = _max_file_bytes()
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = yaml_files(path)
            if not files:
                problems.append(Diagnostic(given, 0, 0, "", "no .yaml or .yml files in this folder"))
        else:
            files = [path]
        for file in files:
            if (same := file.resolve()) in seen:
                continue
            seen.add(same)
            try:
                size = file.stat().st_size
                if size > limit:
                    problems.append(Diagnostic(str(file), 0, 0, "", _too_large(size, limit)))
                    continue
                sources.append(Source(str(file), file.read_bytes()))
            except OSError as error:
                problems.append(Diagnostic(str(file), 0, 0, "", f"cannot read: {error.strerror}"))
    return sources, problems


def yaml_files(folder: Path) -> list[Path]:
    """The `.yaml`/`.yml` files below `folder`, sorted, outside hidden folders: those a folder named
    as an account's stands for (listed, not read)."""
    return sorted(
        found
        for found in folder.rglob("*")
        if found.suffix in YAML_SUFFIXES
        and found.is_file()
        and not any(part.startswith(".") for part in found.relative_to(folder).parts)
    )


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


def repository_paths(files: Iterable[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each of `files` as GitHub names it in an annotation: relative to the top of the git work tree
    that holds it, else to GITHUB_WORKSPACE, else to the current folder; with `/`, never `./`. A
    file under none of them keeps the name it was given.

    The work tree's top is the nearest folder above the file with a `.git` (a folder, or a file in
    a worktree or submodule), found without running git: in a container job git may refuse a
    checkout it does not own ("dubious ownership"), and a runner needs no git to validate."""
    environ = os.environ if environ is None else environ
    fallbacks = [Path(environ[name]) for name in ("GITHUB_WORKSPACE",) if environ.get(name)]
    fallbacks.append(Path.cwd())
    return {file: _repository_path(file, fallbacks) for file in dict.fromkeys(files)}


def _repository_path(file: str, fallbacks: list[Path]) -> str:
    path = Path(os.path.abspath(file))
    top = next((folder for folder in path.parents if (folder / ".git").exists()), None)
    for root in [*([top] if top else []), *fallbacks]:
        for inside, above in ((path, Path(os.path.abspath(root))), (path.resolve(), root.resolve())):
            if inside != above and inside.is_relative_to(above):
                return inside.relative_to(above).as_posix()
    return file
