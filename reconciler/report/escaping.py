"""Text users wrote, made safe for GitHub-flavoured markdown.

`literal` is for a code block, where nothing renders: control characters,
line separators and bidi overrides are replaced, so a name cannot add a
line or reorder what is shown. `inert` is for everywhere else: it leaves no
markdown, HTML, link, mention or math in the text.
"""

from __future__ import annotations

import re

# Characters that would start markdown (or GitHub's math) inline; escaped with a backslash.
_MARKDOWN = frozenset("\\`*_[]|#~$")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
# Control characters, line and paragraph separators, and bidi overrides (which reorder what is shown).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ZWJ = "\u200d"
_WORD = re.compile(r"[A-Za-z0-9_]")
# Bare URLs GitHub would turn into links: a scheme's `://`, and `www.`.
_AUTOLINK = re.compile(r"://|(?i:www)\.")
# Markers that start a block when at the start of a line: `-`, `+`, `=`, `1.`, `1)`.
_BLOCK_START = re.compile(r"^([-+=]|\d+[.)])")


def literal(text: str) -> str:
    """`text` for a code block: one line, nothing that reorders or hides what is shown."""
    return _UNSAFE.sub("\ufffd", str(text))


def inert(text: str) -> str:
    """`text` as markdown that renders as exactly that text: no markup, HTML, links or mentions.

    Backslash-escapes what markdown reads (\\ ` * _ [ ] | # ~ $), writes
    & < > " as entities, breaks bare URLs and @-mentions with a zero-width
    joiner (an @ after a letter or digit, as in an e-mail address, is not
    a mention and is left alone), and replaces control characters. Safe in
    a table cell, a heading, a list item and inside <summary>.
    """
    text = literal(text)
    text = _AUTOLINK.sub(lambda m: m.group()[:-1] + _ZWJ + m.group()[-1], text)
    out = []
    for index, char in enumerate(text):
        if char in _MARKDOWN:
            out.append("\\" + char)
        elif char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char == "@" and (index == 0 or not _WORD.match(text[index - 1])):
            out.append("@" + _ZWJ)
        else:
            out.append(char)
    escaped = "".join(out)
    return _BLOCK_START.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], escaped)
