"""Text users wrote, made safe for GitHub-flavoured markdown.

`literal` is for a code block, where nothing renders: the characters nobody
may write in text (reconciler/core/characters.py: controls, line separators, bidi
controls, invisible characters) are replaced with U+FFFD, so a name cannot
add a line, reorder what is shown or hide a difference. `inert` is for
everywhere else: it leaves no markdown, HTML, link, mention or math in the
text. `in_html` is for raw HTML, such as a <summary>, where markdown is not
read.
"""

from __future__ import annotations

import re

from reconciler.core.characters import scrub

# Characters that would start markdown (or GitHub's math) inline; escaped with a backslash.
_MARKDOWN = frozenset("\\`*_[]|#~$")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_ZWJ = "\u200d"
# What GitHub turns into a link without any markup, each broken by a zero-width joiner put before
# its last character: a scheme's `://` and `www.` (GFM's extended URL and www autolinks), `mailto:`
# and `xmpp:` (its extended protocol autolinks), and `#1` and `GH-1` (GitHub's issue references).
# An `@` is followed by one, which leaves no e-mail autolink and no @-mention.
_AUTOLINK = re.compile(r"://|(?i:www)\.|(?i:mailto|xmpp):|#[0-9]|(?i:gh)-(?=[0-9])")
# Markers that start a block when at the start of a line, after up to three spaces (CommonMark
# indents a block by up to three): `-`, `+`, `=`, `1.`, `1)`. Spaces are all the text may hold there:
# `literal` has replaced tabs.
_BLOCK_START = re.compile(r"^ *([-+=]|\d+[.)])")


def literal(text: str) -> str:
    """`text` for a code block: one line, nothing that reorders or hides what is shown."""
    return scrub(str(text))


def inert(text: str) -> str:
    """`text` as markdown that renders as exactly that text: no markup, HTML, links or mentions.

    Replaces what `literal` replaces, backslash-escapes what markdown reads
    (\\ ` * _ [ ] | # ~ $), writes & < > " as entities, and puts a zero-width
    joiner, which shows nothing, where GitHub would otherwise make a link:
    after every @ (an e-mail address anywhere outside code is autolinked, and
    for one like `x|boss@acme.example` only the tail, another address than
    the one shown; an @ before a name is a mention), inside `://`, `www.`,
    `mailto:`, `xmpp:`, `#1` and `GH-1`. Renders as written in a table cell,
    a paragraph, a heading, a list item and a quote; inside raw HTML such as
    <summary> it is as safe, but markdown is not read there, so its
    backslashes would show.
    """
    out = []
    for char in _unlinked(text):
        if char in _MARKDOWN:
            out.append("\\" + char)
        elif char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char == "@":
            out.append("@" + _ZWJ)
        else:
            out.append(char)
    escaped = "".join(out)
    return _BLOCK_START.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], escaped)


def in_html(text: str) -> str:
    """`text` for raw HTML in markdown, such as a <summary>: what `inert` makes of it, but without its
    backslashes, which would show there (markdown is not read inside raw HTML; GitHub still links
    mentions, addresses and issue references in its text, so those are broken as `inert` breaks them)."""
    return "".join(_ENTITIES.get(char) or ("@" + _ZWJ if char == "@" else char) for char in _unlinked(text))


def _unlinked(text: str) -> str:
    """`text` as `literal` makes it, with a zero-width joiner wherever GitHub would make a link."""
    return _AUTOLINK.sub(lambda m: m.group()[:-1] + _ZWJ + m.group()[-1], literal(text))
