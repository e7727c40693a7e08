"""A large file cut where YAML itself breaks it: the fast parser reads it a piece at a time.

yaml-rs builds its own tree of a whole document before it hands Python any of
it, some five times the size of the text: read whole, a 100,000-user account
would take a hundred megabytes more than the strict path does. Cut into
pieces of about a megabyte, it takes a few.

A file is cut only where its shape is the plain one an account has: at the
top, keys at the start of a line, each with a one-line value or a block
below it; the long blocks (`users:`, say) lists whose entries start `- ` at
one column. Each such list is cut before an entry. Why the pieces read as the
whole does:

- a line that starts an entry at the list's column ends every block node
  above it (a block scalar, a plain scalar running over lines, a nested
  block), since those hold only lines indented further;
- only a flow node (a quoted scalar, `[...]`, `{...}`) can run across such a
  line, and then the piece before the cut ends inside it and does not parse:
  the file goes to the strict path;
- the rest of the file, read without the lists, holds each of them as an
  empty value (the key and the line it stands on are unchanged).

Anything else (another line at the start of a line, a one-line value that
might run on, an entry's line less indented than its list) leaves the file
whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

#: About this much text goes to the parser at a time (256 KiB: smaller pieces gain no memory).
PIECE_BYTES = 1 << 18

#: A line that starts with neither a blank, nor a comment, nor a `-`: a key of the top mapping. (The
#: patterns here start at a line break, which the regex engine finds fast; the first line has its own.)
_TOP_LINE = re.compile(rb"\n([^ \t\r\n#-][^\n]*)")
_FIRST_LINE = re.compile(rb"([^ \t\r\n#-][^\n]*)")
#: A key of the top mapping and its one-line value, if any: a plain value that cannot run on to the
#: next line (no quotes, no flow or block indicators).
_KEY_LINE = re.compile(
    rb"(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?P<value>[ \t]+[^\s\"'\[\]{}|>#][^\"'\[\]{}#\r\n]*)?"
    rb"[ \t]*(?:#[^\n]*)?\r?"
)
_OPENING_MARKER = re.compile(rb"---[ \t]*\r?(?=\n|$)")
_FIRST_CONTENT = re.compile(rb"(?:\n[ \t]*(?:#[^\n]*)?\r?(?=\n))*\n( *)-(?:[ \t\r\n]|$)")

Span = tuple[int, int]


@dataclass(frozen=True)
class Pieces:
    """A file as the fast parser reads it: the top without its long lists, and each list in pieces,
    each a span of the file's bytes."""

    top: tuple[Span, ...]
    lists: tuple[tuple[str, tuple[Span, ...]], ...]  # each list's key, and its entries in pieces


def cut(data: bytes, piece_bytes: int | None = None) -> Pieces | None:
    """`data` in pieces of about `piece_bytes` (PIECE_BYTES), or None when it is no larger or its shape
    is not the plain one."""
    piece_bytes = piece_bytes or PIECE_BYTES
    if len(data) <= piece_bytes:
        return None
    keys = []
    for line in _top_lines(data):
        match = _KEY_LINE.fullmatch(line.group(1))
        if match is None:
            return None
        keys.append((match, line.start(), line.end()))
    top: list[Span] = [(0, keys[0][1] if keys else len(data))]
    lists: list[tuple[str, tuple[Span, ...]]] = []
    for index, (match, start, end) in enumerate(keys):
        body_end = keys[index + 1][1] if index + 1 < len(keys) else len(data)
        entries = _entries(data, end, body_end, piece_bytes) if match["value"] is None else None
        if entries is None:
            top.append((start, body_end))
        else:
            top.append((start, end))
            lists.append((match["key"].decode(), entries))
    if not lists:
        return None
    return Pieces(tuple(top), tuple(lists))


def _top_lines(data: bytes) -> Iterator[re.Match[bytes]]:
    """The lines of `data` that start with neither a blank, a comment nor a `-`, after a `---` that
    opens it."""
    opening = _OPENING_MARKER.match(data)
    if opening is None:
        first = _FIRST_LINE.match(data)
        if first is not None:
            yield first
    yield from _TOP_LINE.finditer(data, opening.end() if opening else 0)


def _entries(text: bytes, start: int, end: int, piece_bytes: int) -> tuple[Span, ...] | None:
    """The lines of `text` from `start` to `end` in pieces of about `piece_bytes`, each cut before an
    entry; None unless they are a block list whose every line is an entry's start or indented further
    (or blank, or a comment)."""
    first = _FIRST_CONTENT.match(text, start, end)
    if first is None:
        return None
    column = len(first.group(1))
    if _out_of_list(column).search(text, start, end):
        return None
    return tuple(_pieces(text, start, end, _entry(column), piece_bytes))


def _out_of_list(column: int) -> re.Pattern[bytes]:
    """A line of a list at `column` that is neither an entry's start nor indented further, nor blank,
    nor a comment: a line that may end the list or be read otherwise."""
    shallow = rb"\n {0,%d}(?:[^ \r\n#-]|-(?![ \t\r\n]|$))" % column
    less = rb"|\n {0,%d}-" % (column - 1) if column else b""
    return re.compile(shallow + less)


def _entry(column: int) -> re.Pattern[bytes]:
    return re.compile(rb"\n {%d}-(?=[ \t\r\n]|$)" % column)


def _pieces(text: bytes, start: int, end: int, entry: re.Pattern[bytes], piece_bytes: int) -> Iterator[Span]:
    while end - start > piece_bytes:
        found = entry.search(text, start + piece_bytes, end)
        if found is None:
            break
        yield start, found.start()
        start = found.start()
    yield start, end
