"""Strict YAML: the desired state as plain Python data, or every problem with its place.

Built on PyYAML's event stream (libyaml's C parser where installed) rather
than on its constructors, for these reasons:

- YAML 1.2 core scalars: only `true`/`false` are booleans and only `null`/`~`
  is null, so `country: NO` stays "NO" and `download: yes` stays a string
  that the schema then refuses;
- duplicate keys, non-text keys, merge keys and unknown tags are errors;
- aliases and nesting are bounded while parsing, so an alias bomb or a
  deeply nested file fails at once instead of eating memory.
- a character no file may hold is refused before parsing, with its line,
  column and field: control characters, and YAML 1.1's line breaks NEL, LS
  and PS, which libyaml would fold or break a line at where YAML 1.2 and
  JSON keep them as text.

It is also faster: no node tree is built, and positions are not kept for
the happy path. `locate.py` walks a file again to place the rare problem.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from sys import intern
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
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

from reconciler.core.characters import REPLACEMENT, explain, first_refused
from reconciler.core.diagnostics import Diagnostic, DocPath, format_path, show_value
from reconciler.core.scalars import plain_scalar
from reconciler.loading.files import Source

#: libyaml's parser where PyYAML was built with it, else the pure-Python one.
EVENT_PARSER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 64
#: Aliases may grow a document to this many times its own size, plus the slack.
ALIAS_GROWTH = 10
ALIAS_SLACK = 10_000
#: No legitimate key or value comes near this; a longer one is refused before it costs anything more.
MAX_SCALAR_CHARS = 10_000

_TAG = "tag:yaml.org,2002:"
#: What no file may hold, refused before the parser reads it: the characters YAML does not allow (its
#: printable set: no control character but tab, line feed and carriage return, no U+FFFE or U+FFFF),
#: and YAML 1.1's line breaks, which YAML 1.2 and JSON read as text: NEL (U+0085), LS (U+2028) and PS
#: (U+2029). libyaml reads those as YAML 1.1 does: it folds a NEL in quotes to a space and ends a plain
#: name at one, and it counts a line at each, so every problem after one would be placed a line late.
#: No valid file holds one anyway: text refuses them all (core/characters.py), and so do the schema's
#: other patterns.
_REFUSED_CHARACTER = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_SCALAR_TYPES = {bool: "bool", int: "int", float: "float", type(None): "null"}


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


@dataclass(frozen=True)
class Parsed:
    """One file read: its document as dicts, lists and scalars, or None, and what was wrong with it."""

    document: Any
    problems: tuple[Diagnostic, ...] = ()


def parse(source: Source, progress: Progress | None = None) -> Parsed:
    """The document in `source`, or every problem found on the way, each with its place."""
    problem = character_problem(source)
    if problem is not None:
        return Parsed(None, (problem,))
    builder = _Builder(source, EVENT_PARSER, progress)
    parsed = builder.parse()
    if builder.libyaml_too_deep is None:
        return parsed
    # libyaml 0.2.6 (in PyYAML 6.0.4's wheels) scans a flow collection's opening brackets ahead of the
    # events, up to a nesting limit of its own (1,000 levels), so ours (64) never saw the 65th level.
    # The pure-Python parser, given the file up to that line, finds and places it as ours always has.
    line, column = builder.libyaml_too_deep
    head = Source(source.name, source.data[: _line_end(source.data, line)])
    again = _Builder(head, yaml.SafeLoader).parse()
    if any(p.message == TOO_DEEP for p in again.problems):
        return again
    return Parsed(None, (*parsed.problems, Diagnostic(source.name, line, column, "", TOO_DEEP)))


TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"
#: How libyaml says a file is nested deeper than its own limit.
_LIBYAML_NESTING = "exceeded maximum nesting depth"


def _line_end(data: bytes, line: int) -> int:
    """The offset just past line `line` (counted from 1) of `data`."""
    offset = 0
    for _ in range(line):
        found = data.find(b"\n", offset)
        if found < 0:
            return len(data)
        offset = found + 1
    return offset


def character_problem(source: Source) -> Diagnostic | None:
    """Bytes that are not UTF-8, or a character no file may hold, with its place: the line and column
    an editor shows, and the field whose key or value holds it."""
    try:
        text = source.data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _line_and_column(source.data, error.start)
        message = f"not UTF-8 text (byte 0x{source.data[error.start]:02x}); save the file as UTF-8"
        return Diagnostic(source.name, line, column, "", message)
    bad = _REFUSED_CHARACTER.search(text)
    if bad is None:
        return None
    line, column = _line_and_column(source.data, len(text[: bad.start()].encode()))
    character = bad.group()
    field = _field_at(text, line, column)
    if field is None:
        return Diagnostic(source.name, line, column, "", _character_name(character))
    message = explain(character) if first_refused(character) else _character_name(character)
    return Diagnostic(source.name, line, column, format_path(field), message)


def _character_name(character: str) -> str:
    point = ord(character)
    if unicodedata.category(character) == "Cc":
        return f"a control character (U+{point:04X})"
    if character in "\u2028\u2029":
        return f"a {unicodedata.name(character).lower()} (U+{point:04X})"
    return f"a character YAML does not allow (U+{point:04X})"


def _field_at(text: str, line: int, column: int) -> DocPath | None:
    """The field whose value, or the mapping whose key, holds the character at `line` and `column`
    (from 1) of `text`; None when it stands elsewhere (a comment, between nodes, a key at the top) or
    the text does not parse. The text is read with each refused character replaced by U+FFFD, one
    character for one, so that the parser takes it and every line and column stays where it was."""
    where = (line - 1, column - 1)
    parser = EVENT_PARSER(_REFUSED_CHARACTER.sub(REPLACEMENT, text))
    open_: list[_Open] = []
    try:
        while not isinstance(event := parser.get_event(), StreamEndEvent):
            if isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                open_.pop()
                if open_:
                    open_[-1].done("?")
            elif isinstance(event, (ScalarEvent, AliasEvent, MappingStartEvent, SequenceStartEvent)):
                parent = open_[-1] if open_ else None
                path = parent.next_path() if parent else ()
                if isinstance(event, ScalarEvent) and _holds(event, where):
                    field = parent.path if parent and path is None else path
                    return field or None
                if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                    inside = path if path is not None else parent.path + ("?",) if parent else ()
                    open_.append(_Open(inside, isinstance(event, MappingStartEvent)))
                elif parent:
                    parent.done(event.value if isinstance(event, ScalarEvent) else "*")
        return None
    except yaml.YAMLError:
        return None
    finally:
        parser.dispose()


def _holds(event: ScalarEvent, where: tuple[int, int]) -> bool:
    """Whether the scalar of `event`, quotes and all, holds the place `where` (line, column from 0)."""
    start, end = event.start_mark, event.end_mark
    return (
        start is not None and end is not None and (start.line, start.column) <= where < (end.line, end.column)
    )


@dataclass
class _Open:
    """A collection open while `_field_at` walks a file: its path, and where in it the walk is."""

    path: DocPath
    mapping: bool
    key: str | None = None  # a mapping's key whose value comes next; None while a key is to come
    index: int = 0  # a sequence's next entry

    def next_path(self) -> DocPath | None:
        """The path of the next node in this collection; None for a mapping's key."""
        if not self.mapping:
            return (*self.path, self.index)
        return None if self.key is None else (*self.path, self.key)

    def done(self, key: str) -> None:
        """The next node has been read (`key`, if it was a mapping's key)."""
        if not self.mapping:
            self.index += 1
        else:
            self.key = key if self.key is None else None


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

    def __init__(self, source: Source, parser: type, progress: Progress | None = None) -> None:
        self.source = source
        self.problems: list[Diagnostic] = []
        self._parser = parser(source.data)
        self._next: Callable[[], Event] = self._parser.get_event
        if progress is not None:
            self._next = _reporting(self._parser.get_event, len(source.data), progress)
        #: Where libyaml stopped at its own nesting limit (line, column), if it did.
        self.libyaml_too_deep: tuple[int, int] | None = None
        self._anchors: dict[str, tuple[Any, int]] = {}
        self._events = 0
        self._nodes = 0
        self._depth = 0

    def parse(self) -> Parsed:
        """The document, or the problems found until parsing could not go on."""
        try:
            document = self.document()
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            if error.problem == _LIBYAML_NESTING and mark is not None:
                self.libyaml_too_deep = (mark.line + 1, mark.column + 1)
            else:
                self.problem(mark, _yaml_message(error, self.source.data))
            document = None
        except _Stop:
            document = None
        finally:
            self._parser.dispose()
        if self.problems or self.libyaml_too_deep:
            return Parsed(None, tuple(self.problems))
        return Parsed(document)

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
            self.problem(start.start_mark, TOO_DEEP)
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
            result[intern(key)] = value  # one copy of each field's name, not one per record

    def _sequence(self) -> list[Any]:
        result: list[Any] = []
        next_event = self._next
        while True:
            event = next_event()
            if type(event) is SequenceEndEvent:
                return result
            result.append(self._node(event))

    def _key(self, event: Any) -> str | None:
        # A key is a node like any value: counted towards the alias bound, and an anchor on it
        # names it for a later alias (`{&k a: 1, b: *k}`).
        key = self._node(event)
        if type(event) is not ScalarEvent:
            self.problem(event.start_mark, "a key must be plain text, not a list, a mapping or an alias")
            return None
        if key == "<<" and event.tag is None and event.implicit[0]:
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
        if tag is None:
            return plain_scalar(value) if event.implicit[0] else value
        if tag == "!":
            # The non-specific tag: text, whatever it looks like (YAML 1.2, example 6.28: `! 12` is
            # "12"). PyYAML calls such a scalar implicit too, so that flag alone does not say plain.
            return value
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


def _yaml_message(error: yaml.MarkedYAMLError, data: bytes) -> str:
    problem = error.problem or str(error)
    if _indenting_tab(problem, data, error.problem_mark or error.context_mark):
        return "a tab character; YAML is indented with spaces only"
    if problem in _NO_NODE and (text := _COLON_TEXT.match(_rest_of_line(data, error.problem_mark))):
        return (
            f"text inside [ ] or {{ }} cannot start with ':' ({show_value(text.group())}); put it in quotes"
        )
    if error.context and error.context_mark is not None and error.problem_mark is not None:
        return f"{problem} ({error.context} at line {error.context_mark.line + 1})"
    return problem


#: How libyaml says a tab stands where indentation is (block scalars, plain scalars).
_TAB_INDENTATION = (
    "found a tab character where an indentation space is expected",
    "found a tab character that violates indentation",
)


#: How libyaml and the pure parser say a flow collection holds a `:` where a key or a value starts:
#: YAML 1.2 reads `:x` there as text, and the fast path leaves such a file to this one (fast.py).
_NO_NODE = ("did not find expected node content", "expected the node content, but found ':'")
_COLON_TEXT = re.compile(r":[^\s,\[\]{}]+")


def _rest_of_line(data: bytes, mark: Any) -> str:
    """The text of `data` from `mark` to the end of its line, or nothing."""
    if mark is None:
        return ""
    lines = data.split(b"\n", mark.line + 1)
    return lines[mark.line].decode("utf-8", "replace")[mark.column :] if mark.line < len(lines) else ""


def _indenting_tab(problem: str, data: bytes, mark: Any) -> bool:
    """Whether the parser stopped at a tab used as indentation.

    Either it says so, or the tab is in the line's leading blanks. A tab
    further on separates tokens (after `-` or `name:`, at the end of a
    line), and there the parser's own message is nearer the truth than a
    word about indenting.
    """
    if problem in _TAB_INDENTATION:
        return True
    if mark is None:
        return False
    lines = data.split(b"\n", mark.line + 1)
    if mark.line >= len(lines):
        return False
    line = lines[mark.line].decode("utf-8", "replace")
    return line[mark.column : mark.column + 1] == "\t" and not line[: mark.column].strip(" \t")


def _line_and_column(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column
