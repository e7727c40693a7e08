"""The characters nobody may write in text, decided once: for validation and for every output.

Names, products, groups and shipping addresses are shown to people: in a
terminal, a pull-request comment, an e-mail subject. Some characters change
what a reader sees without showing themselves (the "Trojan Source" attack,
CVE-2021-42574; Unicode's UTS #39, Unicode Security Mechanisms, and UTS #55):

- control characters and the line and paragraph separators break a line:
  in an e-mail header, they start a new header;
- bidirectional embeddings, overrides, isolates and marks reorder what is
  shown: a product "exe.jpg" written with a right-to-left override reads
  "jpg.exe"; the interlinear annotation controls hide text;
- zero-width and other invisible characters (Unicode's
  Default_Ignorable_Code_Point) show nothing, so two names that look the
  same in a review can differ.

The schema's `$defs/text` pattern is `TEXT_PATTERN` (a test keeps the
published schema equal to it), so `validate` refuses these with `explain`'s
message. Every output passes what it shows through `scrub`, which replaces
them with U+FFFD: the markdown reports (report/escaping.py), the text
reports and the outbox, e-mail subjects and bodies, and diagnostics; that is
for text that did not come through validation, such as a store edited by
hand or a plan file someone changed. U+FFFD rather than nothing: a reader
sees that something was there, and two different names never show as the
same one. The JSON reports and plan files keep the text exact: they are
data, escaped by JSON, and a program reading them must see what is stored.

Allowed on purpose, although Default_Ignorable_Code_Point:

- ZERO WIDTH JOINER U+200D and ZERO WIDTH NON-JOINER U+200C: names in
  Persian, Hindi, Malayalam, Sinhala and other scripts need them to be
  spelt right, and emoji sequences use ZWJ (UTS #39 allows them in context);
- variation selectors U+FE00-FE0F, U+E0100-E01EF and the Mongolian free
  variation selectors U+180B-180D, U+180F: each picks a glyph of the one
  character before it. Keyboards add U+FE0F to emoji, Japanese names use
  ideographic variation sequences, Mongolian needs its selectors. They move
  nothing and hide no other character; a selector after a letter that has
  no variants shows nothing, and that look-alike is of the same kind as a
  Cyrillic "а" for a Latin "a", which no character list can catch.

Every other Default_Ignorable_Code_Point is refused, reserved ones too (so
that a character Unicode assigns there later is refused already), and so are
the interlinear annotation controls U+FFF9-FFFB, which are not
default-ignorable but hide the annotated text. Spaces (U+00A0, U+2000-200A,
U+3000...) are visible as space and stay allowed.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum

#: What replaces a refused character wherever text is shown.
REPLACEMENT = "\ufffd"


class Effect(Enum):
    """What a refused character does to the text it is in."""

    BREAKS_LINE = "breaks the line"
    REORDERS = "reorders or hides text"
    INVISIBLE = "is invisible"


#: The refused characters: first and last code point of each range, in order, and what they do.
REFUSED: tuple[tuple[int, int, Effect], ...] = (
    (0x0000, 0x001F, Effect.BREAKS_LINE),  # C0 controls: NUL, TAB, LF, CR, ESC...
    (0x007F, 0x009F, Effect.BREAKS_LINE),  # DELETE and the C1 controls, NEXT LINE among them
    (0x00AD, 0x00AD, Effect.INVISIBLE),  # SOFT HYPHEN
    (0x034F, 0x034F, Effect.INVISIBLE),  # COMBINING GRAPHEME JOINER
    (0x061C, 0x061C, Effect.REORDERS),  # ARABIC LETTER MARK
    (0x115F, 0x1160, Effect.INVISIBLE),  # HANGUL CHOSEONG and JUNGSEONG FILLER
    (0x17B4, 0x17B5, Effect.INVISIBLE),  # KHMER VOWEL INHERENT AQ and AA
    (0x180E, 0x180E, Effect.INVISIBLE),  # MONGOLIAN VOWEL SEPARATOR
    (0x200B, 0x200B, Effect.INVISIBLE),  # ZERO WIDTH SPACE (U+200C and U+200D are allowed)
    (0x200E, 0x200F, Effect.REORDERS),  # LEFT-TO-RIGHT and RIGHT-TO-LEFT MARK
    (0x2028, 0x2029, Effect.BREAKS_LINE),  # LINE and PARAGRAPH SEPARATOR
    (0x202A, 0x202E, Effect.REORDERS),  # embeddings, POP DIRECTIONAL FORMATTING, overrides
    (0x2060, 0x2065, Effect.INVISIBLE),  # WORD JOINER, the invisible operators, a reserved one
    (0x2066, 0x2069, Effect.REORDERS),  # the isolates and POP DIRECTIONAL ISOLATE
    (0x206A, 0x206F, Effect.REORDERS),  # deprecated: symmetric swapping, Arabic shaping, digit shapes
    (0x3164, 0x3164, Effect.INVISIBLE),  # HANGUL FILLER
    (0xFEFF, 0xFEFF, Effect.INVISIBLE),  # ZERO WIDTH NO-BREAK SPACE (the byte order mark)
    (0xFFA0, 0xFFA0, Effect.INVISIBLE),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8, Effect.INVISIBLE),  # reserved, default-ignorable
    (0xFFF9, 0xFFFB, Effect.REORDERS),  # INTERLINEAR ANNOTATION ANCHOR, SEPARATOR, TERMINATOR
    (0x1BCA0, 0x1BCA3, Effect.INVISIBLE),  # SHORTHAND FORMAT controls
    (0x1D173, 0x1D17A, Effect.INVISIBLE),  # MUSICAL SYMBOL BEGIN BEAM ... END PHRASE
    (0xE0000, 0xE00FF, Effect.INVISIBLE),  # LANGUAGE TAG, the tag characters, reserved around them
    (0xE01F0, 0xE0FFF, Effect.INVISIBLE),  # reserved, default-ignorable (U+E0100-E01EF are selectors)
)


def _code(point: int) -> str:
    # A regular expression both Python's re and ECMA-262 (JSON Schema's dialect, with the u flag that
    # editors and validators use) read the same: \uXXXX in the BMP, the character itself above it.
    return f"\\u{point:04x}" if point <= 0xFFFF else chr(point)


def _merged(ranges: tuple[tuple[int, int, Effect], ...]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last, _ in ranges:
        if merged and merged[-1][1] + 1 == first:
            merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


_CLASS = "".join(_code(a) if a == b else f"{_code(a)}-{_code(b)}" for a, b in _merged(REFUSED))

#: The schema's `$defs/text` pattern: none of the refused characters. It ends with "nothing follows",
#: not `$`, which in Python's re (and so in jsonschema) also matches before a final line feed.
TEXT_PATTERN = f"^[^{_CLASS}]*(?![\\s\\S])"

_REFUSED = re.compile(f"[{_CLASS}]")


def first_refused(text: str) -> str | None:
    """The first character of `text` that nobody may write, if any."""
    found = _REFUSED.search(text)
    return found.group() if found else None


def effect(char: str) -> Effect:
    """What the refused character `char` does."""
    point = ord(char)
    for first, last, what in REFUSED:
        if first <= point <= last:
            return what
    raise ValueError(f"U+{point:04X} is not a refused character")


def explain(char: str) -> str:
    """Why text holding the refused character `char` is refused, and what to do."""
    point = ord(char)
    what = effect(char)
    if what is Effect.BREAKS_LINE:
        if unicodedata.category(char) == "Cc":
            return f"must be one line of text; it contains the control character U+{point:04X}"
        return f"must be one line of text; it contains U+{point:04X} ({unicodedata.name(char)})"
    name = unicodedata.name(char, "an unassigned code point")
    return f"contains U+{point:04X} ({name}), which {what.value}; remove it"


def scrub(text: str) -> str:
    """`text` with each refused character replaced by U+FFFD: one line, in order, nothing hidden."""
    if text.isascii() and text.isprintable():  # the common case, five times faster than the search
        return text
    return _REFUSED.sub(REPLACEMENT, text)
