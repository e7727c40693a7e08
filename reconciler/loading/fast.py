"""The fast path of the `[fast]` extra: yaml-rs reads a file, jsonschema-rs checks it.

It only ever answers "valid, and here is the data": a file it cannot vouch
for, whether wrong or merely outside what it can tell, goes to the strict
path (events.py and schema.py), the reference, which finds and places every
problem. So errors read exactly as they do without the extra, and an account
is taken by the fast path only when both paths would give the same data.

What the strict path holds, and how the fast path holds it too:

- characters: the same check of the bytes (UTF-8, YAML's printable set
  without YAML 1.1's line breaks NEL, LS and PS, which the two parsers read
  otherwise and no valid file holds);
- duplicate keys: yaml-rs refuses them itself;
- non-text keys, merge keys (`<<`), a second document, a root that is not a
  mapping, nesting past 64 levels and scalars past 10,000 characters: none of
  them passes the schema, whose every mapping is closed and every text
  bounded (a test holds the schema to that);
- YAML that yaml-rs (YAML 1.2) reads and libyaml (the strict path's parser,
  YAML 1.1) refuses or reads otherwise: tabs, block scalars' trailing
  blanks, a `:` where a node may start (after a blank, a line break, `[`,
  `{`, `,`, or a quoted key's `:`, as in `{"a"::x}`). And what the fast path
  does not read at all: tags, anchors and aliases (so the alias bounds are
  the strict path's), complex keys, escapes, directives, document markers but
  an opening `---`, and lines indented 200 deep (yaml-rs would recurse until
  it crashed). A file showing any of them, even inside quotes, takes the
  strict path; the YAML test suite's cases and generated YAML, spliced into
  every kind of place a field has, and the fuzz corpus hold the list
  complete (tests/test_fast.py);
- scalars: yaml-rs reads every number, boolean and null of YAML 1.2's core
  schema as the strict path does, and a few more forms as numbers (`1_000`,
  `0b11`, `0X1F`, `.iNf`) that the strict path keeps as text. In a valid file
  a number stands only in a field the schema lets be one (`seats`,
  `version`), so the values of those fields are read both ways, and one that
  differs sends the file to the strict path.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
from functools import cache
from sys import intern
from typing import Any

from reconciler.core.scalars import plain_scalar
from reconciler.loading.events import character_problem
from reconciler.loading.files import Source
from reconciler.loading.pieces import cut
from reconciler.loading.schema import schema_document

#: Whether the extra is installed. Its libraries are imported when a file is first read by them, so
#: that with the fast path switched off a command runs as it does without the extra.
INSTALLED = all(importlib.util.find_spec(name) is not None for name in ("yaml_rs", "jsonschema_rs"))


@cache
def _libraries() -> tuple[Any, Any]:
    """yaml_rs and jsonschema_rs, imported."""
    # yaml-rs allocates through mimalloc, which keeps what is freed for a while before it gives it
    # back; read piece by piece, each piece's tree is freed before the next is read, and given back
    # at once the peak stays at the strict path's. The option is read once, as the library loads.
    os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")
    import jsonschema_rs
    import yaml_rs

    return yaml_rs, jsonschema_rs


def yaml_rs_read(text: str) -> Any:
    """`text` as yaml-rs reads it, dates kept as text (the schema checks them)."""
    return _libraries()[0].loads(text, parse_datetime=False)


#: `RECONCILER_FAST=0` reads every file by the strict path, as without the extra (to compare, or to rule
#: the fast path out); `check` reads a file the fast path takes by the strict path too, and stops where
#: the two differ (the test suite runs so).
SWITCH = "RECONCILER_FAST"

#: What the fast path leaves to the strict one, where it may stand as YAML reads it (after a blank, a
#: flow indicator or a `:`): a tag (`!`), a complex key (`?`), a block scalar (`|`, `>`: yaml-rs and
#: libyaml keep trailing blanks differently), an anchor or an alias (`&a`, `*a`: the alias bounds are
#: the strict path's). Most files have none of these characters at all, which is quick to tell.
_MAY_NOT_READ = re.compile(rb"[!?|>&*]")
_NOT_READ = re.compile(rb"[!?|>](?<=[\s\[{,:][!?|>])|[&*](?<=[\s\[{,:][&*])[^\s,\[\]{}]")
_NOT_FIRST = frozenset(b"!?|>&*%:")
#: ... and anywhere: a tab (libyaml refuses more of them than yaml-rs), a merge key, a directive, an
#: escape (which could spell a key the checks below look for otherwise). A byte order mark is read at
#: the start of the file only.
_NOT_READ_ANYWHERE = tuple(part.encode() for part in ("\t", "<<", "\n%", "\\", "\ufeff"))
#: A `:` where a node may start, or that ends a flow entry. In a flow collection libyaml takes every `:`
#: that starts a token for the value indicator; YAML 1.2 (yaml-rs) lets `:` and a character that is not
#: a blank start a plain scalar there (ns-plain-first), so yaml-rs reads `:x` where libyaml refuses the
#: file. A token starts after a blank or a line break (LF, or a CR alone: a flow key's `:` on the line
#: after it), after `[`, `{` or `,`, and after the `:` that follows a quoted or bracketed key with no
#: blank between (YAML 1.2's adjacent value, `{"a"::x}`).
_ODD_COLON = re.compile(rb":(?:(?<=[\s\[{,]:)|(?<=[\"'\]}]::)|[,\]}])")
#: A line indented, or led by `-` indicators, so far that its nodes may nest past what yaml-rs recurses
#: to (it would crash, not refuse).
_DEEP_LINE = re.compile(rb"\n[ -]{200}")
_DOCUMENT_MARKER = re.compile(rb"\n(?:---|\.\.\.)(?=\s|$)")
#: What follows a key: its value, as far as a plain scalar can run without a blank or an indicator.
_VALUE_AFTER_KEY = re.compile(rb"[\"']?[ \t]*:\s*(?P<value>[^\s,\]}]*)")


def enabled() -> bool:
    """Whether files are read by the fast path: the extra is installed and not switched off."""
    return INSTALLED and os.environ.get(SWITCH, "1") != "0"


def checking() -> bool:
    """Whether what the fast path reads is read by the strict path too, and compared."""
    return enabled() and os.environ.get(SWITCH) == "check"


class Mismatch(AssertionError):
    """The fast path read a file otherwise than the strict path: a bug, never the user's."""


def check_same(name: str, fast: Any, strict: Any, strict_problems: int) -> None:
    """Raise Mismatch unless the strict path found no problem in file `name` and read `strict` as the
    fast path read `fast`."""
    if strict_problems:
        raise Mismatch(f"{name}: the fast path took a file with {strict_problems} problems (strict path)")
    where = difference(fast, strict)
    if where is not None:
        raise Mismatch(f"{name}: the fast path read {where} otherwise than the strict path")


def difference(left: Any, right: Any, path: str = "the document") -> str | None:
    """Where `left` and `right` first differ, in value or in type (1 is not 1.0 nor true), or None."""
    if isinstance(left, dict) and isinstance(right, dict):
        if list(left) != list(right):
            return f"the keys of {path}"
        for key, value in left.items():
            found = difference(value, right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"the length of {path}"
        for index, (one, other) in enumerate(zip(left, right, strict=True)):
            found = difference(one, other, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if same_scalar(left, right) else f"{path} ({left!r}, not {right!r})"


def valid_document(source: Source) -> Any | None:
    """The document in `source` when the fast path can vouch that it is valid and what the strict
    path reads; None when the strict path must read it (for its problems, or to be sure)."""
    data = source.data.removeprefix(_BOM)
    if character_problem(source) is not None or not _readable(data):
        return None
    try:
        document = _parse(data)
    except Exception:  # whatever yaml-rs refuses or trips on, the strict path explains
        return None
    if not isinstance(document, dict) or not _numbers_agree(source.data):
        return None
    try:
        valid = _validator().is_valid(document)
    except (ValueError, TypeError, OverflowError):  # a key that is not text, a value JSON has not
        return None
    return document if valid else None


_BOM = "\ufeff".encode()


class _NotPlain(Exception):
    """The pieces of a file do not add up to a mapping with its lists."""


def _parse(data: bytes) -> Any:
    """`data` read by yaml-rs: whole when it is small or not plain, else piece by piece (pieces.py)."""
    cut_up = cut(data)
    if cut_up is None:
        return _read(data)
    text = memoryview(data)
    document = _read(b"".join(text[start:end] for start, end in cut_up.top))
    for key, pieces in cut_up.lists:
        if not isinstance(document, dict) or key not in document or document[key] is not None:
            raise _NotPlain(key)
        entries: list[Any] = []
        for start, end in pieces:
            read = _read(text[start:end])
            if not isinstance(read, list):
                raise _NotPlain(key)
            entries += read
        document[key] = entries
    return document


def one_copy_of_each_key(node: Any) -> Any:
    """`node` with its mappings' keys interned: a key is written once per record, and 100,000 users
    with their grants hold a million keys, some 50 MB, in a dozen names. (The strict path interns
    them as it reads; yaml-rs makes a string of each.) A key that is not text raises TypeError, and
    the file goes to the strict path, which says so."""
    if type(node) is dict:
        return {intern(key): one_copy_of_each_key(value) for key, value in node.items()}
    if type(node) is list:
        return [one_copy_of_each_key(value) for value in node]
    return node


def _read(data: bytes | memoryview) -> Any:
    """Some of a file's text as yaml-rs reads it, with one copy of each key."""
    return one_copy_of_each_key(yaml_rs_read(str(data, "utf-8")))


def _readable(data: bytes) -> bool:
    """Whether `data` shows nothing the fast path leaves to the strict one."""
    if (data and data[0] in _NOT_FIRST) or any(part in data for part in _NOT_READ_ANYWHERE):
        return False
    if _MAY_NOT_READ.search(data) and _NOT_READ.search(data):
        return False
    if _ODD_COLON.search(data) or _DEEP_LINE.search(data) or re.match(rb"[ -]{200}", data):
        return False
    # One `---` opening the file is common and harmless; any other marker may start a second document.
    return _DOCUMENT_MARKER.search(data) is None and not data.startswith(b"...")


def _numbers_agree(data: bytes) -> bool:
    """Whether the value of every field that may be a number reads in yaml-rs as in the strict path.

    Only there can the two readings differ in a valid file: yaml-rs reads as numbers some scalars the
    strict path keeps as text (`1_000`, `0X1F`), but every number the strict path reads yaml-rs reads
    as the same number, and both read the same booleans and nulls; elsewhere in the schema a number is
    refused, which sends the file to the strict path anyway.
    """
    for key in number_fields():
        for found in re.finditer(re.escape(key.encode()), data):
            value = _VALUE_AFTER_KEY.match(data, found.end())
            if value is not None and not _same_reading(value["value"].decode("utf-8")):
                return False
    return True


@cache
def number_fields() -> frozenset[str]:
    """The fields the schema lets be numbers: the only places a number may stand in a valid file."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, field in node.get("properties", {}).items():
                if isinstance(field, dict) and (
                    field.get("type") in ("integer", "number") or isinstance(field.get("const"), (int, float))
                ):
                    found.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema_document())
    return frozenset(found)


def _same_reading(token: str) -> bool:
    try:
        read = yaml_rs_read(f"x: {token}\n")
    except Exception:  # not a scalar of its own: leave the file to the strict path
        return False
    if not isinstance(read, dict) or list(read) != ["x"]:
        return False
    return same_scalar(read["x"], plain_scalar(token))


def same_scalar(left: Any, right: Any) -> bool:
    """Whether two scalars are the same value of the same type (NaN is NaN)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    return bool(left == right)


@cache
def _validator() -> Any:
    return _libraries()[1].validator_for(schema_document())
