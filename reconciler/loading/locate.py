"""Where a path of a document is in its file: walked again only when a problem must be placed.

The happy path keeps no positions (that is what makes loading fast); the
rare problem found after parsing (by the schema or the rules) is a
`Finding` at a path, which `place_findings` puts on its file, line and
column with one more walk of each file that has any.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from reconciler.core.diagnostics import Diagnostic, DocPath, Finding, format_path
from reconciler.loading import events
from reconciler.loading.files import Source


@dataclass(frozen=True)
class Position:
    """Where a node starts, counted from 1; a scalar's `style` too (None plain, `'`, `"`, `|`, `>`)."""

    line: int
    column: int
    style: str | None = field(default=None, compare=False)


def locate(source: Source, paths: Iterable[DocPath], key: bool = False) -> dict[DocPath, Position]:
    """Where each path is in `source`: its deepest part that exists.

    With `key`, a mapping entry is placed at its key rather than its value
    (for "unknown field" problems). Only used when something is wrong, so it
    walks the file again rather than keeping positions for every node.
    """
    wanted = set(paths)
    prefixes = {path[:end] for path in wanted for end in range(len(path) + 1)}
    found: dict[DocPath, Position] = {}
    _Locator(source, prefixes, found, key).walk()
    located: dict[DocPath, Position] = {}
    for path in wanted:
        for end in range(len(path), -1, -1):
            if path[:end] in found:
                located[path] = found[path[:end]]
                break
        else:
            located[path] = Position(1, 1)
    return located


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
        if finding.inside is not None:
            position = _inside(position, finding.inside, by_name[finding.source])
        message = finding.message
        if finding.related:
            name, path = finding.related
            other = positions[(name, False)][path]
            message = message.replace("{related}", f"{name}:{other.line}:{other.column}")
        placed.append(
            Diagnostic(
                finding.source,
                position.line,
                position.column,
                format_path(finding.path),
                message,
                finding.severity,
            )
        )
    return placed


def _inside(start: Position, inside: tuple[int, int], source: Source) -> Position:
    """Where line and column `inside` of the string that starts at `start` is in the file.

    Exact for a string on one line, plain or quoted with no escapes before the place; in a block
    string (`|`, `>`) or one that runs on, the line is the string's and the column counts from the
    line's indentation."""
    line, column = inside
    plain = not start.style  # libyaml says '' where PyYAML says None
    if line == 1 and (plain or start.style in ("'", '"')):
        return Position(start.line, start.column + column - (1 if plain else 0))
    number = start.line + line - (0 if start.style in ("|", ">") else 1)
    lines = source.data.splitlines()
    if not 0 < number <= len(lines):
        return start
    text = lines[number - 1].decode("utf-8", "replace")
    return Position(number, len(text) - len(text.lstrip(" ")) + column)


class _Locator:
    """Walks a file's events, noting where the wanted paths start."""

    def __init__(
        self, source: Source, wanted: set[DocPath], found: dict[DocPath, Position], key: bool
    ) -> None:
        self._parser = events.EVENT_PARSER(source.data)
        self._wanted = wanted
        self._found = found
        self._key = key

    def walk(self) -> None:
        try:
            event = self._parser.get_event()
            while not isinstance(event, StreamEndEvent):
                if isinstance(event, DocumentStartEvent):
                    self._node(self._parser.get_event(), ())
                event = self._parser.get_event()
        except yaml.YAMLError:
            pass  # a file that does not parse was reported by parse() already
        finally:
            self._parser.dispose()

    def _note(self, path: DocPath, mark: Any, style: str | None = None) -> None:
        if path in self._wanted and path not in self._found:
            self._found[path] = Position(mark.line + 1, mark.column + 1, style)

    def _node(self, event: Event, path: DocPath) -> None:
        if not self._key or not path or isinstance(path[-1], int):
            self._note(path, event.start_mark, event.style if isinstance(event, ScalarEvent) else None)
        if isinstance(event, MappingStartEvent):
            event = self._parser.get_event()
            while not isinstance(event, MappingEndEvent):
                child = path + (event.value,) if isinstance(event, ScalarEvent) else path + ("?",)
                if self._key:
                    self._note(child, event.start_mark)
                self._skip_key(event)
                self._node(self._parser.get_event(), child)
                event = self._parser.get_event()
        elif isinstance(event, SequenceStartEvent):
            index = 0
            event = self._parser.get_event()
            while not isinstance(event, SequenceEndEvent):
                self._node(event, path + (index,))
                index += 1
                event = self._parser.get_event()

    def _skip_key(self, event: Event) -> None:
        depth = 1 if isinstance(event, (MappingStartEvent, SequenceStartEvent)) else 0
        while depth:
            event = self._parser.get_event()
            if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                depth += 1
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                depth -= 1
