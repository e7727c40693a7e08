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
    """Where a node starts, counted from 1; for a scalar, its `style` (None or "" plain, `'`, `"`, `|`,
    `>`) and its `value` too."""

    line: int
    column: int
    style: str | None = field(default=None, compare=False)
    value: str | None = field(default=None, compare=False)


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

    Quoting, escapes and folding change only how the string's blanks and escaped characters are
    written, so the place is found by counting: the characters before it that are not blank, in the
    string as read, and as many such characters of the string as written, an escape (`\\"`, `''`)
    counted as the one it stands for."""
    value = start.value
    if value is None:
        return start
    line, column = inside
    rows = value.split("\n")
    offset = sum(len(row) + 1 for row in rows[: line - 1]) + column - 1
    before = sum(not character.isspace() for character in value[:offset])
    on_blank = offset >= len(value) or value[offset].isspace()
    places = _written(start, source, sum(not character.isspace() for character in value))
    if on_blank:  # just after the last character before it, as at the end of a condition cut short
        if before == 0 or before > len(places):
            return start
        found = places[before - 1]
        return Position(found.line, found.column + 1)
    return places[before] if before < len(places) else start


#: The escapes of a double-quoted string that stand for a blank: a space, a tab, a line break.
_BLANK_ESCAPES = frozenset(" \ttnvfrN_LP")


def _written(start: Position, source: Source, count: int) -> list[Position]:
    """Where each of the first `count` characters of the string at `start` that are not blank is
    written, in order."""
    lines = source.data.decode("utf-8", "replace").split("\n")
    style = start.style or ""
    row, column = start.line - 1, start.column - 1
    if style in ("|", ">"):  # the header line holds the indicators, the text starts below it
        row, column = row + 1, 0
    elif style in ("'", '"'):
        column += 1
    places: list[Position] = []
    while row < len(lines) and len(places) < count:
        text = lines[row]
        while column < len(text):
            character = text[column]
            width = 1
            if character == style == '"' or character == style == "'" != text[column + 1 : column + 2]:
                return places  # the closing quote
            if style == '"' and character == "\\":
                escaped = text[column + 1 : column + 2]
                width = {"x": 4, "u": 6, "U": 10}.get(escaped, 2)
                if escaped and escaped not in _BLANK_ESCAPES:
                    places.append(Position(row + 1, column + 1))
            elif style == "'" and text.startswith("''", column):
                width = 2
                places.append(Position(row + 1, column + 1))
            elif not character.isspace():
                if not style and character == "#" and (column == 0 or text[column - 1].isspace()):
                    break  # a comment ends a plain line (in a block string, # is text)
                places.append(Position(row + 1, column + 1))
            column += width
        row, column = row + 1, 0
    return places


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

    def _note(self, path: DocPath, mark: Any, scalar: ScalarEvent | None = None) -> None:
        if path in self._wanted and path not in self._found:
            style, value = (None, None) if scalar is None else (scalar.style, scalar.value)
            self._found[path] = Position(mark.line + 1, mark.column + 1, style, value)

    def _node(self, event: Event, path: DocPath) -> None:
        if not self._key or not path or isinstance(path[-1], int):
            self._note(path, event.start_mark, event if isinstance(event, ScalarEvent) else None)
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
