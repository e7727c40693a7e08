"""The canonical layout of a desired-state file, its comments kept: what `fmt` writes.

Canonical is what `export` writes (yaml.py): each record's fields in its
order, lists sorted by their key, e-mails in lower case, a scalar quoted only
where YAML 1.1 or 1.2 would misread it, two spaces a level. A file is written
as the part of the account it declares, under the top-level keys it has,
after its leading comment block (the comment and blank lines above its first
key, such as `# yaml-language-server: $schema=…`), which stays as it is; so
do its line breaks (LF, CRLF or CR) and a byte-order mark. It ends with one
line break.

Two ways to one answer, as loading has a fast path beside the strict one:

- `plain_layout`: a file whose body (all below the leading block) holds no
  comment and no blank line is the leading block and yaml.py's text, nothing
  else. That is every file `export` and `import csv` write, and the large
  generated ones: written as fast as `export` writes.
- `commented_layout`: any other file is composed again by PyYAML (libyaml's
  composer), for where each record and field starts and each scalar ends.
  The same text is written, and each comment and blank line is put back
  beside the node it belongs to, wherever the sort moves that node:
    * comment lines and blank lines go with the node that starts next,
      indented as it is;
    * a comment at the end of a line goes with the outermost node that
      starts on that line (on a line where none does, the last one that
      started before), at the end of that node's first line, at the
      column it had when that is near, else as far from the content as it
      was; where that line has one already, on the line above it;
    * a field the layout leaves out (`download: false`, `access: []`) hands
      its comments to the record it was in: they go above the record;
    * one blank line at most in a row, and none just below a line that
      opens a block;
    * comments below the last node stay at the end, as written.
  A comment is a `#` after a blank or at the start of a line, outside every
  scalar; the composer's marks say where the scalars are. A round-trip
  library (ruamel.yaml) was tried and not kept: it keeps a comment line with
  the node above it, so a sort would carry each heading off with the wrong
  record, its quoting is not the export's, and its composer is pure Python,
  8 times slower than libyaml's for the same marks.

Which way a file takes is decided on its text: a `#` after a blank or at the
start of a line, or a blank line, anywhere in the body. So a quoted
`"Studio #1"` sends a file the long way, to the same answer; the tests hold
the two ways to the same bytes on files without comments.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection
from typing import Any

import yaml

from reconciler.core.errors import FormatFailed
from reconciler.core.model import DesiredState
from reconciler.report.yaml import NodePath, part_lines, part_yaml

#: libyaml's composer where PyYAML was built with it: only the nodes and their marks are wanted.
_Composer = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOM = "\ufeff"
#: A comment or a blank line, anywhere in a body: what sends a file the commented way.
_COMMENT_OR_BLANK = re.compile(r"(?:^|[ \t])#|^[ \t]*$", re.MULTILINE)
_LINE_BREAK = re.compile(r"\r\n?|\n")
#: The field that names each record of a list, as yaml.py writes it first; e-mails compared in lower case.
_IDENTITY = {
    "contracts": "number",
    "coordinators": "email",
    "serials": "number",
    "users": "email",
    "access": "serial",
    "teams": "name",
    "members": "email",  # a member with a last day: `{email: …, expires: …}`
}
#: What may stand before a comment on a line that starts no node, for the comment to go with the next
#: node rather than the last one: an entry's dash alone, a complex key's mark, the document's start.
_OPENERS = ("-", "?", "---")
#: How much further from its content than it was an end-of-line comment may stand to keep its column.
_NEAR = 4


def canonical_file(data: bytes, part: DesiredState, keys: Collection[str]) -> bytes:
    """The file `data`, which declares `part` under its top-level `keys`, in the canonical layout."""
    text, newline, bom = _decoded(data)
    lead = _leading_block_end(text)
    if _has_comments_or_blanks(text, lead):
        laid_out = commented_layout(text, lead, part, keys)
    else:
        laid_out = plain_layout(text, lead, part, keys)
    if newline != "\n":
        laid_out = laid_out.replace("\n", newline)
    return (bom + laid_out).encode("utf-8")


def plain_layout(text: str, lead: int, part: DesiredState, keys: Collection[str]) -> str:
    """`text` (with LF line breaks) laid out without looking for comments below its leading block,
    which ends at offset `lead`: for a file whose body has none and no blank line."""
    return text[:lead] + part_yaml(part, keys)


def commented_layout(text: str, lead: int, part: DesiredState, keys: Collection[str]) -> str:
    """`text` (with LF line breaks) laid out with its comments and blank lines kept, as the module's
    docstring says; its leading block ends at offset `lead`. FormatFailed if PyYAML cannot read
    what the loader read."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    marks = _Marks(lines)
    try:
        root = yaml.compose(text, Loader=_Composer)
    except yaml.YAMLError as error:
        raise FormatFailed(f"PyYAML cannot read it as the loader did ({error.__class__.__name__})") from None
    marks.walk(root, (), "")
    canonical, paths = part_lines(part, keys)
    weave = _Weave(canonical, paths)
    leading = text.count("\n", 0, lead)
    pending: list[str] = []  # loose lines (comments, blank ones) waiting for the node that starts next
    latest: NodePath | None = None
    for number in range(leading, len(lines)):
        line = lines[number].rstrip()
        if number not in marks.within and (not line.strip() or line.lstrip().startswith("#")):
            pending.append(line)
            continue
        column = None if number in marks.inside else _comment_column(line, marks.tail.get(number, 0))
        here = sorted(marks.starts.get(number, ()), key=lambda start: start[:2])
        if here:
            weave.before(here[0][2], pending)
            pending = []
            latest = here[-1][2]
        if column is None:
            continue
        comment, content = line[column:], line[:column].rstrip()
        if here:
            weave.end_of_line(here[0][2], comment, column, column - len(content))
        elif latest is None or content.strip() in _OPENERS:
            pending.append(comment)
        else:
            weave.end_of_line(latest, comment, column, column - len(content))
    return "".join(line + "\n" for line in [*lines[:leading], *weave.lines(pending)])


def _decoded(data: bytes) -> tuple[str, str, str]:
    """The text of `data` with LF line breaks, the line break it had (its first), and its byte-order
    mark if any."""
    text = data.decode("utf-8")
    bom = _BOM if text.startswith(_BOM) else ""
    text = text[len(bom) :]
    first = _LINE_BREAK.search(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, first.group() if first else "\n", bom


def _leading_block_end(text: str) -> int:
    """The offset just past the comment and blank lines that open `text`."""
    offset = 0
    while offset < len(text):
        end = text.find("\n", offset)
        end = len(text) if end < 0 else end + 1
        line = text[offset:end].strip()
        if line and not line.startswith("#"):
            break
        offset = end
    return offset


def _has_comments_or_blanks(text: str, lead: int) -> bool:
    """Whether the body of `text`, below offset `lead`, may hold a comment or a blank line (blank lines
    at the very end do not count: a file ends with one line break)."""
    end = len(text)
    while end > lead and text[end - 1] in " \t\n":
        end -= 1
    return _COMMENT_OR_BLANK.search(text, lead, end) is not None


def _comment_column(line: str, start: int) -> int | None:
    """Where a comment begins on `line`, looking from column `start` on (past its last scalar): a `#`
    at the start or after a blank."""
    at = line.find("#", start)
    while at >= 0:
        if at == 0 or line[at - 1] in " \t":
            return at
        at = line.find("#", at + 1)
    return None


class _Marks:
    """Where, in the file as written, each node starts, and where a comment cannot be."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        #: By line: the column, depth and path of each key and list entry starting on it.
        self.starts: dict[int, list[tuple[int, int, NodePath]]] = defaultdict(list)
        #: Lines a scalar runs on past the end of: no comment begins on them.
        self.inside: set[int] = set()
        #: Lines that begin inside a scalar: neither a comment line nor a blank one, whatever they look like.
        self.within: set[int] = set()
        #: By line: the column where the last scalar or flow collection ending on it ends.
        self.tail: dict[int, int] = {}

    def walk(self, node: Any, path: NodePath, key: str) -> None:
        """Note `node` and everything in it; `path` is where it is, `key` the key it is the value of."""
        if node.id == "scalar":
            self._scalar(node)
            return
        if node.flow_style:
            self._ends_at(node.end_mark.line, node.end_mark.column)
        if node.id == "mapping":
            for name, value in node.value:
                self._starts_at(name.start_mark, (*path, name.value))
                self.walk(name, path, "")
                self.walk(value, (*path, name.value), name.value)
        else:
            for item in node.value:
                where = (*path, (_identity(item, key),))
                self._starts_at(item.start_mark, where)
                self.walk(item, where, "")

    def _starts_at(self, mark: Any, path: NodePath) -> None:
        self.starts[mark.line].append((mark.column, len(path), path))

    def _ends_at(self, line: int, column: int) -> None:
        self.tail[line] = max(self.tail.get(line, 0), column)

    def _scalar(self, node: Any) -> None:
        start, end = node.start_mark, node.end_mark
        if node.style in ("|", ">"):
            # A block scalar: a comment may follow its header, and none stands in its lines.
            header = re.match(r"[|>][0-9+-]*", self.lines[start.line][start.column :])
            self._ends_at(start.line, start.column + (len(header.group()) if header else 1))
            last = end.line if end.column else end.line - 1
            self.inside.update(range(start.line + 1, last + 1))
            self.within.update(range(start.line + 1, last + 1))
            return
        self.inside.update(range(start.line, end.line))
        self.within.update(range(start.line + 1, end.line + 1))
        self._ends_at(end.line, end.column)


def _identity(item: Any, key: str) -> str:
    """What names the list entry `item` of the list under `key`, as yaml.py's paths name it."""
    if item.id == "scalar":
        return str(item.value).lower()  # a team's members: e-mails
    field = _IDENTITY.get(key)
    if item.id == "mapping":
        for name, value in item.value:
            if name.value == field and value.id == "scalar":
                return str(value.value).lower() if field == "email" else str(value.value)
    return ""


class _Weave:
    """The canonical lines, and the comments and blank lines to put back among them."""

    def __init__(self, canonical: list[str], paths: list[NodePath]) -> None:
        self.canonical = canonical
        #: The line each node starts on. A path's prefixes were all seen by the time it is, so the walk
        #: up a path stops at the first one already known.
        self.first: dict[NodePath, int] = {}
        for index, path in enumerate(paths):
            for end in range(len(path), 0, -1):
                if self.first.setdefault(path[:end], index) != index:
                    break
        self.above: dict[int, list[str]] = defaultdict(list)
        self.ends: dict[int, tuple[str, int, int]] = {}

    def before(self, path: NodePath, lines: list[str]) -> None:
        """Put `lines` (comments, blank lines) above the node at `path`."""
        if not lines:
            return
        index = self.first.get(path)
        if index is None:  # a field left out: its comments go above its record, without blank lines
            index = self._record_line(path)
            lines = [line for line in lines if line.strip()]
        self.above[index].extend(lines)

    def end_of_line(self, path: NodePath, comment: str, column: int, gap: int) -> None:
        """Put `comment`, which stood at `column`, `gap` blanks after its line's content, at the end of
        the first line of the node at `path`."""
        index = self.first.get(path)
        if index is None:
            self.before(path, [comment])
        elif index in self.ends:
            self.above[index].append(comment)
        else:
            self.ends[index] = (comment, column, gap)

    def lines(self, trailing: list[str]) -> list[str]:
        """The canonical lines with the comments and blank lines put back; `trailing` after the last."""
        out: list[str] = []
        for index, line in enumerate(self.canonical):
            above = self.above.get(index)
            if above:
                indent = len(line) - len(line.lstrip(" "))
                opens = index > 0 and self.canonical[index - 1].endswith(":")
                out += _spaced([" " * indent + text.strip() if text.strip() else "" for text in above], opens)
            if index in self.ends:
                comment, column, gap = self.ends[index]
                # At its column while that keeps it near (comments aligned in a column stay so), else as
                # far from the content as it was.
                padding = column - len(line) if min(gap, 2) <= column - len(line) <= gap + _NEAR else gap
                line += " " * padding + comment
            out.append(line)
        tail = _spaced(trailing, False)
        while tail and not tail[-1]:
            tail.pop()
        return out + tail

    def _record_line(self, path: NodePath) -> int:
        for end in range(len(path) - 1, 0, -1):
            if path[:end] in self.first:
                return self.first[path[:end]]
        return 0


def _spaced(lines: list[str], opens: bool) -> list[str]:
    """`lines` with one blank line at most in a row, and none first when they follow a line that
    opens a block."""
    spaced: list[str] = []
    for line in lines:
        if line.strip():
            spaced.append(line)
        elif spaced[-1:] != [""] and (spaced or not opens):
            spaced.append("")
    return spaced
