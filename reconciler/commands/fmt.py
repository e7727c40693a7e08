"""`fmt`: each desired-state file in the canonical layout (`export`'s), its comments kept.

The account is validated first, as `validate` validates it; an invalid one
changes no file. Each file is then laid out on its own (report/layout.py) as
the part of the account it declares. Before anything is written, the files
as they would be are read again: each must declare what it declared, and
all of them the account that was validated, or no file is written
(FormatFailed: a bug, and a file is never the worse for it). A file already
in the layout is not written at all, so its modification time stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.commands.files import write_whole
from reconciler.core.diagnostics import Diagnostic
from reconciler.core.errors import FormatFailed
from reconciler.loading import Loaded, Part, Progress, Source, find_sources, load_sources
from reconciler.report.layout import canonical_file


@dataclass(frozen=True)
class Formatted:
    """What `fmt` did, or would do with `check`: the files it changed and those already in the layout,
    each by the name it was given by; or the problems that stopped it, when the account is invalid."""

    changed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    problems: tuple[Diagnostic, ...] = ()


def format_files(paths: Sequence[str], check: bool = False, reading: Progress | None = None) -> Formatted:
    """Lay out each desired-state file at `paths` (files, or folders of them) canonically; with
    `check`, write nothing and only say which files would change."""
    sources, problems = find_sources(paths)
    loaded = load_sources(sources, problems, reading, by_file=True)
    if loaded.state is None:
        return Formatted(problems=loaded.problems)
    laid_out = {part.source.name: _laid_out(part) for part in loaded.parts}
    changed = [source for source in sources if laid_out[source.name] != source.data]
    if changed and not check:
        _check_reads_back(loaded, laid_out)
        for source in changed:
            write_whole(Path(source.name), laid_out[source.name], "the YAML")
    return Formatted(
        tuple(source.name for source in changed),
        tuple(source.name for source in sources if laid_out[source.name] == source.data),
    )


def _laid_out(part: Part) -> bytes:
    try:
        return canonical_file(part.source.data, part.state, part.keys)
    except FormatFailed as error:
        raise FormatFailed(_bug(f"{part.source.name}: {error}")) from None


def _bug(what: str) -> str:
    return (
        f"not formatted: {what}; no file was written. "
        "This is a bug in reconciler: please report it, with the file"
    )


def _check_reads_back(loaded: Loaded, laid_out: dict[str, bytes]) -> None:
    """Raise FormatFailed, naming the files, unless the files `laid_out` read back, each as the part of
    the account it declared, and together as the account `loaded` validated."""
    again = load_sources(
        [Source(part.source.name, laid_out[part.source.name]) for part in loaded.parts], by_file=True
    )
    if again.state is None:
        wrong = sorted({problem.file for problem in again.problems})
        detail = f"it does not validate: {again.problems[0]}"
    else:
        wrong = [
            old.source.name
            for old, new in zip(loaded.parts, again.parts, strict=True)
            if new.state != old.state or set(new.keys) != set(old.keys)
        ]
        if not wrong and again.state != loaded.state:
            wrong = [part.source.name for part in loaded.parts]
        detail = "it reads back as different records"
    if wrong:
        raise FormatFailed(
            _bug(f"the canonical layout of {', '.join(wrong)} would change what the file declares ({detail})")
        )
