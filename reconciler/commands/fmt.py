"""`fmt`: each desired-state file in the canonical layout (`export`'s), its comments kept.

The account is validated first, as `validate` validates it; an invalid one
changes no file. Each file is then laid out on its own (report/layout.py) as
the part of the account it declares. Before anything is written, the files
as they would be are read again: each must declare what it declared, and
all of them the account that was validated, or no file is written
(FormatFailed: a bug, and a file is never the worse for it). A file already
in the layout is not written at all, so its modification time stays.

With `Dropping` (`fmt --drop-expired`), each file is laid out without the
entries whose `expires` is before the day (a user, a user's access entry, a
team member) and whose removal the store already holds: the plan took them
away and an apply made it so. An entry the store still holds stays (the apply
has not run yet), and so does a user the directory's file declares too (the
directory would bring them back). A user taken out leaves the teams of every
file with them. The read-back check holds the files to the account without
those entries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from reconciler.commands.files import write_whole
from reconciler.core.diagnostics import Diagnostic
from reconciler.core.errors import FormatFailed
from reconciler.engine.expiry import Ended, ended, split_applied, without
from reconciler.loading import Loaded, Part, Progress, Source, find_sources, load_sources
from reconciler.report.layout import canonical_file
from reconciler.store.protocol import Store


@dataclass(frozen=True)
class Dropping:
    """`fmt --drop-expired`: take out what ended before `today` (ISO 8601) once `store` no longer
    holds it."""

    store: Store
    today: str


@dataclass(frozen=True)
class Formatted:
    """What `fmt` did, or would do with `check`: the files it changed and those already in the layout,
    each by the name it was given by; or the problems that stopped it, when the account is invalid.

    With `Dropping`: each entry taken out (or that would be), with the file it was in, by file and
    entry; `pending`, what ended but the store still holds (the apply has not run yet); `directory`,
    the users who ended but whom the directory's file declares too.
    """

    changed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    problems: tuple[Diagnostic, ...] = ()
    dropped: tuple[tuple[str, Ended], ...] = ()
    pending: tuple[Ended, ...] = ()
    directory: tuple[Ended, ...] = ()


def format_files(
    paths: Sequence[str],
    check: bool = False,
    reading: Progress | None = None,
    dropping: Dropping | None = None,
) -> Formatted:
    """Lay out each desired-state file at `paths` (files, or folders of them) canonically; with
    `check`, write nothing and only say which files would change; with `dropping`, without the entries
    that ended and whose removal the store holds."""
    sources, problems = find_sources(paths)
    loaded = load_sources(sources, problems, reading, by_file=True)
    if loaded.state is None:
        return Formatted(problems=loaded.problems)
    dropped: list[tuple[str, Ended]] = []
    pending: list[Ended] = []
    directory: list[Ended] = []
    if dropping is not None:
        loaded, dropped, pending, directory = _drop_ended(loaded, dropping)
    laid_out = {part.source.name: _laid_out(part) for part in loaded.parts}
    changed = [source for source in sources if laid_out[source.name] != source.data]
    if changed and not check:
        _check_reads_back(loaded, laid_out)
        for source in changed:
            write_whole(Path(source.name), laid_out[source.name], "the YAML")
    return Formatted(
        tuple(source.name for source in changed),
        tuple(source.name for source in sources if laid_out[source.name] == source.data),
        dropped=tuple(dropped),
        pending=tuple(pending),
        directory=tuple(directory),
    )


def _drop_ended(
    loaded: Loaded, dropping: Dropping
) -> tuple[Loaded, list[tuple[str, Ended]], list[Ended], list[Ended]]:
    """`loaded` as it is without the entries that ended before the day and that the store no longer
    holds (its state, and each file's part); those entries, by the file each was in; those the store
    still holds; and the users left because the directory's file declares them too."""
    assert loaded.state is not None
    applied, pending = split_applied(ended(loaded.state, dropping.today), dropping.store.snapshot().state)
    # A user declared by two files is a directory user with a hand-written entry (two hand-written
    # ones are an error): taken out of the hand-written file, the directory's would bring them back.
    declared = Counter(user.email for part in loaded.parts for user in part.state.users)
    directory = [e for e in applied if e.serial is None and e.team is None and declared[e.user] > 1]
    applied = [entry for entry in applied if entry not in directory]
    if not applied:
        return loaded, [], pending, directory
    parts, dropped = [], []
    for part in loaded.parts:
        state, held = without(part.state, applied)
        parts.append(replace(part, state=state))
        dropped += [(part.source.name, entry) for entry in held]
    state, _ = without(loaded.state, applied)
    return replace(loaded, state=state, parts=tuple(parts)), dropped, pending, directory


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
