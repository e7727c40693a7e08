"""The loading stage: desired-state files in, the account's model out, or every problem, placed.

    files.py      find the files, read their bytes (size limits); name them as GitHub does
    fast.py       the [fast] extra: a valid file read and checked by yaml-rs and jsonschema-rs
    events.py     strict YAML, from libyaml's events (YAML 1.2 scalars, duplicate keys, aliases, depth)
    schema.py     the published JSON Schema, its errors in the user's words
    directory.py  which file is the directory's, what it may hold; the `directory:` block's URL
    rules.py      the domain rules a schema cannot say, across every file, the directory's with them
    policies.py   the policy rules: ids, approvals, each expression compiled (the [policy] extra)
    expired.py    the warnings: `expires` dates already past
    locate.py     the file, line and column of a problem found after parsing
    places.py     the file, line and column of each record a policy rule holds for, after a plan

`load()` runs the stage and returns what it found (given `today`, with the
warnings of dates before it); `load_desired_state()` is
the same for callers that want the model or an InvalidDesiredState; `load_sources`
with `by_file` also gives each file's own part of the account (`fmt` rewrites
each file as its part). For a
caller that makes desired state from something else (`import csv`): the files
themselves (`find_sources`, then `load_sources`), the serials some contract
files declare before they are checked (`declared_serials`), and the schema's
rules for one kind of string (`schema_pattern`, `schema_max_length`). For
annotations, each file's path from its repository's root (`repository_paths`). For `directory
pull`, each file read on its own (`read_files`) and the directory's file among them as validation
finds it (`find_directory_file`); where a `directory:` block puts that file (`output_path`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from reconciler.core.diagnostics import Diagnostic, Finding, Severity
from reconciler.core.errors import InvalidDesiredState
from reconciler.core.model import DesiredState, build_state
from reconciler.loading import fast
from reconciler.loading.directory import DirectoryFile, declared_in, find_directory_file, output_path
from reconciler.loading.events import Progress, gc_paused, parse
from reconciler.loading.expired import past_dates
from reconciler.loading.files import Source, find_sources, repository_paths
from reconciler.loading.locate import place_findings
from reconciler.loading.places import place_verdicts
from reconciler.loading.policies import check_policies
from reconciler.loading.rules import check_rules, missing_names
from reconciler.loading.schema import schema_document, schema_findings

__all__ = [
    "Loaded",
    "Part",
    "Progress",
    "Source",
    "declared_serials",
    "find_directory_file",
    "find_sources",
    "load",
    "load_desired_state",
    "load_sources",
    "output_path",
    "place_verdicts",
    "read_files",
    "repository_paths",
    "schema_max_length",
    "schema_pattern",
]


@dataclass(frozen=True)
class Part:
    """What one valid file declares: its top-level keys, in the file's order, and its records as a model
    (`build_state` of the file alone)."""

    source: Source
    keys: tuple[str, ...]
    state: DesiredState


@dataclass(frozen=True)
class Loaded:
    """What loading found: the account's model when the files are valid, else every problem (each an
    error); when asked for them, each file's part of the account, in the order of the files; and,
    valid or not, the warnings (each a Diagnostic of Severity.WARNING) of the files that passed the
    schema, sorted."""

    state: DesiredState | None
    problems: tuple[Diagnostic, ...] = ()
    parts: tuple[Part, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()


def load(paths: Iterable[str], progress: Progress | None = None, today: str | None = None) -> Loaded:
    """The account the files at `paths` declare, or why it cannot be read.

    `progress`, if given, hears how much of all the files has been read; with `today` (ISO 8601), each
    `expires` before it is a warning.
    """
    sources, problems = find_sources(paths)
    return load_sources(sources, problems, progress, today=today)


def load_desired_state(paths: Iterable[str], progress: Progress | None = None) -> DesiredState:
    """The account the files at `paths` declare; raises InvalidDesiredState with every problem."""
    loaded = load(paths, progress)
    if loaded.state is None:
        raise InvalidDesiredState(loaded.problems)
    return loaded.state


def load_sources(
    sources: Sequence[Source],
    problems: Sequence[Diagnostic] = (),
    progress: Progress | None = None,
    by_file: bool = False,
    today: str | None = None,
) -> Loaded:
    """The account `sources` declare, or `problems` and every problem found in them; with `by_file`,
    each file's part of it too; with `today`, a warning at each `expires` before it, in the files
    that passed the schema (whichever path read them: the warnings are found in the documents)."""
    diagnostics = list(problems)
    read, total = 0, sum(len(source.data) for source in sources)
    documents: list[tuple[str, Any]] = []
    parsed: list[tuple[str, Any]] = []  # every file that parses, valid or not
    findings: list[Finding] = []
    with gc_paused():
        for source in sources:
            found = _read(source, _offset(progress, read, total))
            read += len(source.data)
            diagnostics.extend(found.problems)
            findings.extend(found.findings)
            if found.document is not None:
                documents.append((source.name, found.document))
            if found.parsed is not None:
                parsed.append((source.name, found.parsed))
        # Cross-file rules would only echo a broken file's problems as false ones; but where every file
        # parsed and none has a directory, the users with no names are told now, as when the schema said so.
        directory = DirectoryFile()
        if not diagnostics and not findings:
            directory = find_directory_file(documents)
            findings = check_rules(documents, directory) + check_policies(documents)
        elif not diagnostics:
            findings.extend(missing_names(parsed))
        # One walk of each file places its errors and its warnings both.
        placed = place_findings(findings + (past_dates(documents, today) if today else []), sources)
        warnings = tuple(sorted(d for d in placed if d.severity is Severity.WARNING))
        errors = [d for d in placed if d.severity is not Severity.WARNING]
        if diagnostics or errors:
            return Loaded(None, tuple(sorted(diagnostics + errors)), warnings=warnings)
        generated = None if directory.generated is None else documents[directory.generated][1]
        written = (document for index, (_, document) in enumerate(documents) if index != directory.generated)
        state = build_state(written, generated, directory.declared_in)
        if not by_file:
            return Loaded(state, warnings=warnings)
        # Every source was read into a document (any problem returned above), so the two line up.
        parts = tuple(
            Part(
                source,
                tuple(document),
                state if len(documents) == 1 else build_state([document], declared_in=declared_in(name)),
            )
            for source, (name, document) in zip(sources, documents, strict=True)
        )
        return Loaded(state, parts=parts, warnings=warnings)


def read_files(sources: Sequence[Source]) -> tuple[list[tuple[Source, Any]], list[Diagnostic]]:
    """Each file's document, read and checked against the schema, but not against the other files'
    (`directory pull` reads the hand-written files so, beside a directory's file it is about to
    write again); and every problem of those that are not valid."""
    documents: list[tuple[Source, Any]] = []
    problems: list[Diagnostic] = []
    findings: list[Finding] = []
    for source in sources:
        found = _read(source, None)
        problems.extend(found.problems)
        findings.extend(found.findings)
        if found.document is not None:
            documents.append((source, found.document))
    return documents, sorted(problems + place_findings(findings, sources))


@dataclass(frozen=True)
class _FileRead:
    """One file read: its document when it is valid, else its syntax problems or its schema findings;
    `parsed`, its document whether valid or not, when it parses."""

    document: Any = None
    problems: tuple[Diagnostic, ...] = ()
    findings: tuple[Finding, ...] = ()
    parsed: Any = None


def _read(source: Source, progress: Progress | None) -> _FileRead:
    """One file, by the fast path where it vouches for the file, else by the strict path."""
    document = fast.valid_document(source) if fast.enabled() else None
    if document is None:
        return _read_strictly(source, progress)
    if fast.checking():
        strict = _read_strictly(source, None)
        fast.check_same(source.name, document, strict.document, len(strict.problems) + len(strict.findings))
    if progress is not None:
        progress(len(source.data), len(source.data))
    return _FileRead(document, parsed=document)


def _read_strictly(source: Source, progress: Progress | None) -> _FileRead:
    parsed = parse(source, progress)
    if parsed.problems:
        return _FileRead(problems=parsed.problems)
    findings = tuple(schema_findings(source.name, parsed.document))
    return _FileRead(None if findings else parsed.document, findings=findings, parsed=parsed.document)


def _offset(progress: Progress | None, before: int, total: int) -> Progress | None:
    """`progress` for one file among several: its position counted across all of them."""
    if progress is None:
        return None
    return lambda done, _: progress(before + done, total)


def declared_serials(sources: Sequence[Source]) -> tuple[frozenset[str] | None, list[Diagnostic]]:
    """The serial numbers the contract files `sources` declare, read strictly but before any schema or
    rule is checked, and the problems of those that cannot be parsed; None for the serials (nothing to
    check against) when one cannot."""
    serials: set[str] = set()
    problems: list[Diagnostic] = []
    for source in sources:
        parsed = parse(source)
        problems.extend(parsed.problems)
        document = parsed.document if isinstance(parsed.document, dict) else {}
        for contract in _list(document.get("contracts")):
            for serial in _list(contract.get("serials") if isinstance(contract, dict) else None):
                if isinstance(serial, dict) and isinstance(serial.get("number"), str):
                    serials.add(serial["number"])
    return (None if problems else frozenset(serials)), problems


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


@cache
def schema_pattern(definition: str) -> re.Pattern[str]:
    """The pattern the schema gives the strings of `$defs/<definition>` (`text`, `serial_number`, ...),
    for `fullmatch`."""
    pattern: str = schema_document()["$defs"][definition]["pattern"]
    # The schema's patterns anchor with ^ and (?![\s\S]); fullmatch wants them without.
    return re.compile(pattern.removeprefix("^").removesuffix("(?![\\s\\S])"))


@cache
def schema_max_length(definition: str) -> int:
    """The most characters the schema allows the strings of `$defs/<definition>`."""
    length: int = schema_document()["$defs"][definition]["maxLength"]
    return length
