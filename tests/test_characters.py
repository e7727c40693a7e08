"""The one list of characters nobody may write in text: what it holds, and that the schema is the same list."""

from __future__ import annotations

import itertools
import json
import re
import sys

import pytest
from conftest import ROOT
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.characters import REFUSED, TEXT_PATTERN, explain, first_refused, scrub

SCHEMA = json.loads((ROOT / "schemas" / "desired-state.schema.json").read_text(encoding="utf-8"))

#: Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15.1 and 16.0).
DEFAULT_IGNORABLE = [
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
]
#: Default-ignorable, and allowed on purpose: ZWNJ and ZWJ, and the variation selectors.
ALLOWED_IGNORABLE = [
    (0x200C, 0x200D),
    (0x180B, 0x180D),
    (0x180F, 0x180F),
    (0xFE00, 0xFE0F),
    (0xE0100, 0xE01EF),
]
#: Refused although not default-ignorable: the controls, the line breaks, and the annotation controls.
REFUSED_VISIBLE = [(0x0000, 0x001F), (0x007F, 0x009F), (0x2028, 0x2029), (0xFFF9, 0xFFFB)]


def points(ranges: list[tuple[int, int]]) -> set[int]:
    return {point for first, last in ranges for point in range(first, last + 1)}


def every_code_point() -> str:
    return "".join(chr(p) for p in range(sys.maxunicode + 1) if not 0xD800 <= p <= 0xDFFF)


def test_the_schema_refuses_text_by_the_one_definition() -> None:
    assert SCHEMA["$defs"]["text"]["pattern"] == TEXT_PATTERN


def test_the_refused_characters_are_the_default_ignorable_ones_but_joiners_and_selectors() -> None:
    listed = points([(first, last) for first, last, _ in REFUSED])
    expected = (points(DEFAULT_IGNORABLE) - points(ALLOWED_IGNORABLE)) | points(REFUSED_VISIBLE)
    assert sorted(listed - expected) == []
    assert sorted(expected - listed) == []


def test_the_ranges_are_in_order_and_do_not_overlap() -> None:
    for (_, last, _), (first, _, _) in itertools.pairwise(REFUSED):
        assert last < first


def test_the_published_pattern_refuses_exactly_the_refused_characters() -> None:
    # The pattern as a validator reads it (jsonschema uses re.search), over every code point there is.
    pattern = re.compile(SCHEMA["$defs"]["text"]["pattern"])
    listed = points([(first, last) for first, last, _ in REFUSED])
    allowed = [char for char in every_code_point() if pattern.search(char)]
    assert len(allowed) + len(listed) == len(every_code_point())
    assert not any(ord(char) in listed for char in allowed)


def test_scrub_replaces_each_refused_character_and_nothing_else() -> None:
    text = every_code_point()
    scrubbed = scrub(text)
    assert len(scrubbed) == len(text)
    listed = points([(first, last) for first, last, _ in REFUSED])
    assert [ord(a) for a, b in zip(text, scrubbed, strict=True) if a != b] == sorted(listed)
    assert first_refused(scrubbed) is None


@pytest.mark.parametrize(
    ("char", "message"),
    [
        ("\r", "must be one line of text; it contains the control character U+000D"),
        ("\x85", "must be one line of text; it contains the control character U+0085"),
        ("\u2028", "must be one line of text; it contains U+2028 (LINE SEPARATOR)"),
        ("\u202e", "contains U+202E (RIGHT-TO-LEFT OVERRIDE), which reorders or hides text; remove it"),
        ("\u200b", "contains U+200B (ZERO WIDTH SPACE), which is invisible; remove it"),
        ("\U000e0041", "contains U+E0041 (TAG LATIN CAPITAL LETTER A), which is invisible; remove it"),
        ("\U000e0fff", "contains U+E0FFF (an unassigned code point), which is invisible; remove it"),
    ],
)
def test_the_message_names_the_character_and_says_what_it_does(char: str, message: str) -> None:
    assert first_refused(f"a{char}b{char}") == char
    assert explain(char) == message


def test_a_name_without_refused_characters_is_kept_as_written() -> None:
    name = "Zo\u00eb \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u2764\ufe0f \u845b\U000e0100"
    assert first_refused(name) is None
    assert scrub(name) == name


def test_scrub_takes_printable_ascii_as_it_is_and_nothing_refused_is_printable_ascii() -> None:
    from reconciler.core.characters import REFUSED, scrub

    printable = [c for c in map(chr, range(128)) if c.isprintable()]
    assert not [c for c in printable if any(first <= ord(c) <= last for first, last, _ in REFUSED)]
    assert scrub("".join(printable)) == "".join(printable)
    assert scrub("tab\there, escape\x1b[31m") == "tab\ufffdhere, escape\ufffd[31m"


REFUSED_POINTS = points([(first, last) for first, last, _ in REFUSED])
#: Text of every kind, the printable ASCII that scrub takes as it is mixed with the characters it replaces.
ASCII_AND_REFUSED = st.sampled_from(
    [*map(chr, range(128)), *(chr(first) for first, _, _ in REFUSED), *(chr(last) for _, last, _ in REFUSED)]
)


@given(st.text(st.characters(exclude_categories=("Cs",))) | st.text(ASCII_AND_REFUSED))
def test_scrub_is_the_refused_characters_replaced_one_by_one(text: str) -> None:
    assert scrub(text) == "".join("\ufffd" if ord(char) in REFUSED_POINTS else char for char in text)
