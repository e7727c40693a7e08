"""Text users wrote, made safe for GitHub-flavoured markdown.

`literal` is for a code block, where nothing renders: the characters nobody
may write in text (reconciler/characters.py: controls, line separators, bidi
controls, invisible characters) are replaced with U+FFFD, so a name cannot
add a line, reorder what is shown or hide a difference. `inert` is for
everywhere else: it leaves no markdown, HTML, link, mention or math in the
text.
"""

from __future__ import annotations

import re

from reconciler.characters import scrub

# Characters that would start markdown (or GitHub's math) inline; escaped with a backslash.
_MARKDOWN = frozenset("\\`*_[]|#~$")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_ZWJ = "\u200d"
_WORD = re.compile(r"[A-Za-z0-9_]")
# Bare URLs GitHub would turn into links: a scheme's `://`, and `www.`.
_AUTOLINK = re.compile(r"://|(?i:www)\.")
# Markers that start a block when at the start of a line: `-`, `+`, `=`, `1.`, `1)`.
_BLOCK_START = re.compile(r"^([-+=]|\d+[.)])")


def literal(text: str) -> str:
    """`text` for a code block: one line, nothing that reorders or hides what is shown."""
    return scrub(str(text))


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
