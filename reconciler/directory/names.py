"""Distinguished names compared as a directory compares them, and which of them lie under base_dn.

A member's DN is written as its group's entry holds it, which need not be
how the server spells the entry itself (case, spaces, escapes). `dn_key`
reads a DN by RFC 4514 into a key that is equal for two spellings of one
name: attribute types and values lower-cased, escapes resolved, the spaces
around a value dropped and those inside it collapsed (caseIgnoreMatch, as
the naming attributes cn, ou, dc and uid compare).
"""

from __future__ import annotations

#: One RDN: its attribute-value pairs, sorted (a multi-valued RDN's order is not significant).
Rdn = tuple[tuple[str, str], ...]
#: A DN as a key: its RDNs, the entry's own first, as written.
DnKey = tuple[Rdn, ...]

_HEX = frozenset("0123456789abcdefABCDEF")
_SEPARATORS = frozenset(",+;")


def dn_key(dn: str) -> DnKey:
    """The DN as a key that two spellings of one name share; ValueError when it is not a DN."""
    if "\\" in dn or "+" in dn or ";" in dn or '"' in dn or not dn.strip():
        return _parse(dn)
    # The common case (no escapes, one value an RDN) by splitting, at a tenth of the parser's cost.
    parts = [rdn.partition("=") for rdn in dn.lower().split(",")]
    if dn.split() != [dn]:  # whitespace somewhere
        parts = [(attribute.strip(), equals, " ".join(value.split())) for attribute, equals, value in parts]
    if not all(equals and attribute for attribute, equals, _ in parts):
        return _parse(dn)  # which says what is wrong
    return tuple(((attribute, value),) for attribute, _, value in parts)


def _parse(dn: str) -> DnKey:
    rdns: list[Rdn] = []
    pairs: list[tuple[str, str]] = []
    position = 0
    text = dn.strip()
    if not text:
        return ()
    while True:
        equals = text.find("=", position)
        if equals < 0:
            raise ValueError(f"{dn!r} is not a DN: {text[position:]!r} has no '='")
        attribute = text[position:equals].strip().lower()
        if not attribute or _SEPARATORS.intersection(attribute):
            raise ValueError(f"{dn!r} is not a DN: a value without an attribute type")
        value, position = _value(dn, text, equals + 1)
        pairs.append((attribute, value))
        if position == len(text):
            rdns.append(tuple(sorted(pairs)))
            return tuple(rdns)
        if text[position] != "+":
            rdns.append(tuple(sorted(pairs)))
            pairs = []
        position += 1


def _value(dn: str, text: str, start: int) -> tuple[str, int]:
    """The value that starts at `start`, normalised, and where it ends (at a separator or the end)."""
    raw = bytearray()
    position = start
    while position < len(text) and text[position] not in _SEPARATORS:
        char = text[position]
        if char == "\\":
            pair = text[position + 1 : position + 3]
            if len(pair) == 2 and pair[0] in _HEX and pair[1] in _HEX:
                raw.append(int(pair, 16))
                position += 3
                continue
            if position + 1 >= len(text):
                raise ValueError(f"{dn!r} is not a DN: it ends in an escape")
            raw.extend(text[position + 1].encode())
            position += 2
            continue
        raw.extend(char.encode())
        position += 1
    try:
        value = raw.decode()
    except UnicodeDecodeError:
        raise ValueError(f"{dn!r} is not a DN: an escaped value is not UTF-8") from None
    return " ".join(value.split()).lower(), position


def is_under(key: DnKey, base: DnKey) -> bool:
    """Whether the entry `key` is `base` or lies below it."""
    return len(key) >= len(base) and key[len(key) - len(base) :] == base
