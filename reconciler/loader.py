"""Strict YAML: the desired state as plain Python data, or every problem with its place.

Built on PyYAML's event stream (libyaml's C parser where installed) rather
than on its constructors, for three reasons:

- YAML 1.2 core scalars: only `true`/`false` are booleans and only `null`/`~`
  is null, so `country: NO` stays "NO" and `download: yes` stays a string
  that the schema then refuses;
- duplicate keys, non-text keys, merge keys and unknown tags are errors;
- aliases and nesting are bounded while parsing, so an alias bomb or a
  deeply nested file fails at once instead of eating memory.

It is also faster: no node tree is built, and positions are not kept for
the happy path. `locate()` walks a file again to place the rare problem.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from reconciler.diagnostics import Diagnostic, DocPath, show_value
from reconciler.errors import InvalidDesiredState

#: libyaml's parser where PyYAML was built with it, else the pure-Python one.
EVENT_PARSER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

YAML_SUFFIXES = (".yaml", ".yml")
MAX_DEPTH = 64
#: Aliases may grow a document to this many times its own size, plus the slack.
ALIAS_GROWTH = 10
ALIAS_SLACK = 10_000
#: A file larger than this (RECONCILER_MAX_FILE_MIB to change it) is refused before it is read.
MAX_FILE_MIB = 64
#: No legitimate key or value comes near this; a longer one is refused before it costs anything more.
MAX_SCALAR_CHARS = 10_000

_CORE_SCALAR = re.compile(
    r"(?P<null>~|null|Null|NULL)"
    r"|(?P<bool>true|True|TRUE|false|False|FALSE)"
    r"|(?P<int>[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)"
    r"|(?P<float>[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?(?:\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN)"
)
_CORE_FIRST = frozenset("~nNtTfF0123456789+-.")
_TAG = "tag:yaml.org,2002:"
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE
_SCALAR_TYPES = {bool: "bool", int: "int", float: "float", type(None): "null"}


@dataclass(frozen=True)
class Source:
    """One file of desired state: the name the user knows it by, and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Position:
    """Where a node starts, counted from 1."""

    line: int
    column: int


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


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cycle collector while building large acyclic data.

    Parsing allocates millions of small objects, each allocation counting
    towards a collection that finds nothing; pausing it halves load time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


#: Reports how much of a file has been read, in characters: (done, total).
Progress = Callable[[int, int], None]
#: How many events pass between two progress reports: often enough for a bar, rarely enough to cost nothing.
_REPORT_EVERY = 50_000


def parse(source: Source, progress: Progress | None = None) -> Any:
    """The document in `source` as dicts, lists and scalars; raises InvalidDesiredState."""
    _check_characters(source)
    builder = _Builder(source, progress)
    try:
        document = builder.document()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        builder.problem(mark, _yaml_message(error, _character_at(source.data, mark)))
        document = None
    except _Stop:
        document = None
    finally:
        builder.close()
    if builder.problems:
        raise InvalidDesiredState(builder.problems)
    return document


def _check_characters(source: Source) -> None:
    """Refuse bytes that are not UTF-8, and characters YAML does not allow, with their place."""
    try:
        text = source.data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _line_and_column(source.data, error.start)
        message = f"not UTF-8 text (byte 0x{source.data[error.start]:02x}); save the file as UTF-8"
        raise InvalidDesiredState([Diagnostic(source.name, line, column, "", message)]) from None
    bad = _NON_PRINTABLE.search(text)
    if bad:
        line, column = _line_and_column(source.data, len(text[: bad.start()].encode()))
        character = ord(bad.group())
        kind = (
            "a control character"
            if character < 0x20 or 0x7F <= character < 0xA0
            else "a character YAML does not allow"
        )
        raise InvalidDesiredState([Diagnostic(source.name, line, column, "", f"{kind} (U+{character:04X})")])


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


def _reporting(get_event: Callable[[], Event], total: int, progress: Progress) -> Callable[[], Event]:
    """`get_event`, telling `progress` how far into the file it is every so many events."""
    count = 0

    def next_event() -> Event:
        nonlocal count
        event = get_event()
        count += 1
        if isinstance(event, StreamEndEvent):
            progress(total, total)
        elif count % _REPORT_EVERY == 0:
            # The mark counts characters and the total bytes: near enough for a bar, and capped.
            mark = event.start_mark
            progress(total if mark is None else min(mark.index, total), total)
        return event

    return next_event


class _Stop(Exception):
    """Parsing cannot go on; the reason is already among the problems."""


class _Builder:
    """Turns one file's event stream into data, collecting problems as it goes."""

    def __init__(self, source: Source, progress: Progress | None = None) -> None:
        self.source = source
        self.problems: list[Diagnostic] = []
        self._parser = EVENT_PARSER(source.data)
        self._next: Callable[[], Event] = self._parser.get_event
        if progress is not None:
            self._next = _reporting(self._parser.get_event, len(source.data), progress)
        self._anchors: dict[str, tuple[Any, int]] = {}
        self._events = 0
        self._nodes = 0
        self._depth = 0

    def close(self) -> None:
        self._parser.dispose()

    def problem(self, mark: Any, message: str) -> None:
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        self.problems.append(Diagnostic(self.source.name, line, column, "", message))

    def document(self) -> Any:
        self._expect(self._next(), StreamStartEvent)
        start = self._next()
        if isinstance(start, StreamEndEvent):
            self.problem(None, "the file is empty; it needs at least `version: 1`")
            raise _Stop
        self._expect(start, DocumentStartEvent)
        root = self._node(self._next())
        self._expect(self._next(), DocumentEndEvent)
        end = self._next()
        if not isinstance(end, StreamEndEvent):
            self.problem(
                end.start_mark, "a second YAML document (---) in one file; put it in a file of its own"
            )
        return root

    def _expect(self, event: Event, kind: type) -> None:
        if not isinstance(event, kind):  # libyaml guarantees the stream's shape
            raise AssertionError(f"unexpected {event!r}")

    def _node(self, event: Any) -> Any:
        self._events += 1
        first_node = self._nodes
        kind = type(event)
        if kind is ScalarEvent:
            self._nodes += 1
            value = self._scalar(event)
        elif kind is MappingStartEvent:
            value = self._collection(event, "map", self._mapping)
        elif kind is SequenceStartEvent:
            value = self._collection(event, "seq", self._sequence)
        else:
            return self._alias(event)
        if event.anchor is not None:
            self._anchors[event.anchor] = (value, self._nodes - first_node)
        return value

    def _collection(self, start: Any, kind: str, build: Callable[[], Any]) -> Any:
        if start.tag is not None and start.tag not in ("!", _TAG + kind):
            self.problem(start.start_mark, f"the tag {_short_tag(start.tag)} is not supported")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            self.problem(start.start_mark, f"nested deeper than {MAX_DEPTH} levels")
            raise _Stop
        self._nodes += 1
        value = build()
        self._depth -= 1
        return value

    def _mapping(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        next_event = self._next
        while True:
            event = next_event()
            if type(event) is MappingEndEvent:
                return result
            key = self._key(event)
            value = self._node(next_event())
            if key is None:
                continue
            if key in result:
                self.problem(event.start_mark, f"duplicate key {show_value(key)} in this mapping")
            result[key] = value

    def _sequence(self) -> list[Any]:
        result: list[Any] = []
        next_event = self._next
        while True:
            event = next_event()
            if type(event) is SequenceEndEvent:
                return result
            result.append(self._node(event))

    def _key(self, event: Any) -> str | None:
        if type(event) is not ScalarEvent:
            self._node(event)
            self.problem(event.start_mark, "a key must be plain text, not a list, a mapping or an alias")
            return None
        self._events += 1
        self._nodes += 1
        key = self._scalar(event)
        if key == "<<" and event.implicit[0]:
            self.problem(event.start_mark, "YAML merge keys (<<) are not supported; write the fields out")
            return None
        if not isinstance(key, str):
            self.problem(event.start_mark, f"the key {show_value(key)} is not text; quote it")
            return None
        return key

    def _alias(self, event: Any) -> Any:
        anchored = self._anchors.get(event.anchor)
        if anchored is None:
            self.problem(event.start_mark, f"the alias *{event.anchor} names no anchor defined before it")
            raise _Stop
        value, size = anchored
        self._nodes += size
        if self._nodes > self._events * ALIAS_GROWTH + ALIAS_SLACK:
            self.problem(
                event.start_mark,
                f"aliases expand this file to over {ALIAS_GROWTH} times its size; write the data out",
            )
            raise _Stop
        return value

    def _scalar(self, event: Any) -> Any:
        value: str = event.value
        if len(value) > MAX_SCALAR_CHARS:
            self.problem(
                event.start_mark,
                f"a value of {len(value):,} characters; at most {MAX_SCALAR_CHARS:,} are allowed",
            )
            return value[:MAX_SCALAR_CHARS]
        tag = event.tag
        if tag is None or tag == "!":
            return plain_scalar(value) if event.implicit[0] else value
        kind = tag[len(_TAG) :]
        if kind == "str" and tag.startswith(_TAG):
            return value
        if not tag.startswith(_TAG) or kind not in _SCALAR_TYPES.values():
            self.problem(event.start_mark, f"the tag {_short_tag(tag)} is not supported")
            return value
        resolved = plain_scalar(value)
        if kind != _SCALAR_TYPES.get(type(resolved)):
            self.problem(event.start_mark, f"{show_value(value)} is not a valid !!{kind}")
        return resolved


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def plain_scalar(value: str) -> Any:
    """Resolve a plain scalar by the YAML 1.2 core schema."""
    if not value:
        return None
    if value[0] not in _CORE_FIRST:
        return value
    match = _CORE_SCALAR.fullmatch(value)
    if match is None:
        return value
    kind = match.lastgroup
    if kind == "null":
        return None
    if kind == "bool":
        return value[0] in "tT"
    if kind == "int":
        return _core_int(value)
    lowered = value.lower()
    if lowered == ".nan":
        return float("nan")
    if lowered.endswith(".inf"):
        return float("-inf") if lowered.startswith("-") else float("inf")
    return float(lowered)


def _core_int(value: str) -> int | str:
    base = {"0o": 8, "0x": 16}.get(value[:2], 10)
    try:
        return int(value[2:] if base != 10 else value, base)
    except ValueError:  # beyond Python's digit limit: keep the text, the schema refuses it
        return value


def _yaml_message(error: yaml.MarkedYAMLError, character: str) -> str:
    problem = error.problem or str(error)
    if character == "\t":
        return "a tab character; YAML is indented with spaces only"
    if error.context and error.context_mark is not None and error.problem_mark is not None:
        return f"{problem} ({error.context} at line {error.context_mark.line + 1})"
    return problem


def _character_at(data: bytes, mark: Any) -> str:
    if mark is None:
        return ""
    lines = data.split(b"\n", mark.line + 1)
    if mark.line >= len(lines):
        return ""
    text = lines[mark.line].decode("utf-8", "replace")
    return text[mark.column] if mark.column < len(text) else ""


def _line_and_column(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


class _Locator:
    """Walks a file's events, noting where the wanted paths start."""

    def __init__(
        self, source: Source, wanted: set[DocPath], found: dict[DocPath, Position], key: bool
    ) -> None:
        self._parser = EVENT_PARSER(source.data)
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

    def _note(self, path: DocPath, mark: Any) -> None:
        if path in self._wanted and path not in self._found:
            self._found[path] = Position(mark.line + 1, mark.column + 1)

    def _node(self, event: Event, path: DocPath) -> None:
        if not self._key or not path or isinstance(path[-1], int):
            self._note(path, event.start_mark)
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
