"""Load and check desired-state files: YAML, then the schema, then the domain rules.

`load_desired_state()` is the one entry point: it returns the model of a
valid account, or raises InvalidDesiredState with every problem found, each
placed on its file, line and column.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from reconciler.diagnostics import Diagnostic, DocPath, Finding, format_path
from reconciler.errors import InvalidDesiredState
from reconciler.loader import Position, Progress, Source, find_sources, gc_paused, locate, parse
from reconciler.model import DesiredState, build_state
from reconciler.rules import check_rules
from reconciler.schema import schema_findings


def load_desired_state(paths: Iterable[str], progress: Progress | None = None) -> DesiredState:
    """The account the files at `paths` declare; raises InvalidDesiredState.

    `progress`, if given, hears how much of all the files has been read.
    """
    sources, diagnostics = find_sources(paths)
    return check_sources(sources, diagnostics, progress)


def check_sources(
    sources: Sequence[Source], diagnostics: Sequence[Diagnostic] = (), progress: Progress | None = None
) -> DesiredState:
    """The account `sources` declare; raises InvalidDesiredState with `diagnostics` and every problem."""
    diagnostics = list(diagnostics)
    read, total = 0, sum(len(source.data) for source in sources)
    documents: list[tuple[str, Any]] = []
    findings: list[Finding] = []
    with gc_paused():
        for source in sources:
            reporting = _offset(progress, read, total)
            read += len(source.data)
            try:
                document = parse(source, reporting)
            except InvalidDesiredState as invalid:
                diagnostics.extend(invalid.diagnostics)
                continue
            found = schema_findings(source.name, document)
            findings.extend(found)
            if not found:
                documents.append((source.name, document))
        # Cross-file rules would only echo a broken file's problems as false ones.
        if not diagnostics and not findings:
            findings = check_rules(documents)
        if diagnostics or findings:
            raise InvalidDesiredState(diagnostics + place_findings(findings, sources))
        return build_state(document for _, document in documents)


def _offset(progress: Progress | None, before: int, total: int) -> Progress | None:
    """`progress` for one file among several: its position counted across all of them."""
    if progress is None:
        return None
    return lambda done, _: progress(before + done, total)


def place_findings(findings: Sequence[Finding], sources: Sequence[Source]) -> list[Diagnostic]:
    """Put each finding on its line: one walk of each file that has any."""
    wanted: dict[tuple[str, bool], set[DocPath]] = defaultdict(set)
    for finding in findings:
        wanted[(finding.source, finding.at_key)].add(finding.path)
        if finding.related:
            wanted[(finding.related[0], False)].add(finding.related[1])
    by_name = {source.name: source for source in sources}
    positions: dict[tuple[str, bool], dict[DocPath, Position]] = {
        (name, at_key): locate(by_name[name], paths, key=at_key) for (name, at_key), paths in wanted.items()
    }
    placed = []
    for finding in findings:
        position = positions[(finding.source, finding.at_key)][finding.path]
        message = finding.message
        if finding.related:
            name, path = finding.related
            other = positions[(name, False)][path]
            message = message.replace("{related}", f"{name}:{other.line}:{other.column}")
        placed.append(
            Diagnostic(finding.source, position.line, position.column, format_path(finding.path), message)
        )
    return placed
