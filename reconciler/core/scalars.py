"""How YAML 1.2's core schema reads a plain (unquoted) scalar: null, a boolean, a number or text.

One answer for every reader and writer of desired-state YAML: the strict
loader resolves plain scalars by it, the fast path checks yaml-rs against it,
and `export` writes a string plain only when this reads it back as that
string.
"""

from __future__ import annotations

import re
from typing import Any

_CORE_SCALAR = re.compile(
    r"(?P<null>~|null|Null|NULL)"
    r"|(?P<bool>true|True|TRUE|false|False|FALSE)"
    r"|(?P<int>[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)"
    r"|(?P<float>[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?(?:\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN)"
)
#: The characters a plain scalar starts with when it may be anything but text.
_CORE_FIRST = frozenset("~nNtTfF0123456789+-.")


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
