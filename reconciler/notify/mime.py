"""A stored Message as the MIME e-mail a server receives: plain text with an HTML alternative.

Limits every line keeps: 78 characters for any line (RFC 5322), 76 for a
quoted-printable or base64 body line (RFC 2045), 75 for an encoded-word
(RFC 2047). The email package encodes bodies and folds headers at the
policy's one `max_line_length`, so that is 76 here; and with `cte_type`
7bit a body that is not ASCII goes out quoted-printable or base64, so no
server has to offer 8BITMIME.

The Subject is the one header the email package does not fold for us. Its
folder (up to Python 3.13; see CPython gh-144156) breaks a subject right
after "Subject:" when the rest fits on the next line, which readers then
show with a leading space, and it can split an encoded-word in two, which
garbles the subject. `fold_subject` folds it instead: at spaces when it is
plain ASCII, else as UTF-8 encoded-words, the first one on the name's line.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from email.headerregistry import BaseHeader, HeaderRegistry, UniqueUnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import formatdate
from typing import Any, ClassVar, Literal

from reconciler.core.records import Message

#: RFC 2045's limit for encoded body lines, and so also where headers fold (inside RFC 5322's 78).
LINE_LENGTH = 76
#: RFC 2047's limit for one encoded-word, "=?utf-8?b?...?=" included.
ENCODED_WORD_LENGTH = 75
_PREFIX, _SUFFIX = "=?utf-8?b?", "?="


def fold_subject(name: str, text: str, line_length: int = LINE_LENGTH) -> list[str]:
    """The lines of the header `name: text`, none over `line_length`, that unfold back to `text`.

    Plain ASCII words stay as they are, folded before a space; a subject that
    holds anything else (other characters, runs of spaces, a word too long for
    a line, something a reader would take for an encoded-word) becomes UTF-8
    encoded-words, in which every character, spaces too, survives as it was.
    """
    first = f"{name}: "
    words = text.split(" ")
    if text.isascii() and text.isprintable() and "=?" not in text and " ".join(text.split()) == text:
        lines = [first + words[0]]
        for word in words[1:]:
            if len(lines[-1]) + 1 + len(word) <= line_length:
                lines[-1] += " " + word
            else:
                lines.append(" " + word)
        if all(len(line) <= line_length for line in lines):
            return lines
    return _encoded_words(first, text, line_length)


def _encoded_words(first: str, text: str, line_length: int) -> list[str]:
    """`text` as base64 encoded-words, one a line, each holding whole characters (RFC 2047 §5)."""
    lines: list[str] = []
    lead, chunk = first, b""
    for character in text:
        octets = character.encode()
        room = min(ENCODED_WORD_LENGTH, line_length - len(lead)) - len(_PREFIX) - len(_SUFFIX)
        if chunk and 4 * ((len(chunk) + len(octets) + 2) // 3) > room:  # base64 length of both
            lines.append(lead + _encoded_word(chunk))
            lead, chunk = " ", b""
        chunk += octets
    lines.append(lead + _encoded_word(chunk) if chunk else first.rstrip())
    return lines


def _encoded_word(octets: bytes) -> str:
    return _PREFIX + base64.b64encode(octets).decode("ascii") + _SUFFIX


class _SubjectHeader(UniqueUnstructuredHeader, BaseHeader):
    """The Subject, folded by `fold_subject` when written.

    Its value is the text as composed: the email package would decode anything
    in it that looks like an encoded-word, so a product named "=?utf-8?q?A?="
    would reach the reader as "A". (The policy only writes mail, never reads it.)
    """

    max_count: ClassVar[Literal[1]] = 1  # one Subject a message, as UniqueUnstructuredHeader has it

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        super().parse(value, kwds)
        kwds["decoded"] = value

    def fold(self, *, policy: Policy) -> str:
        lines = fold_subject(self.name, str(self), policy.max_line_length or LINE_LENGTH)
        return policy.linesep.join(lines) + policy.linesep


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("subject", _SubjectHeader)
_POLICY = SMTP.clone(max_line_length=LINE_LENGTH, cte_type="7bit", header_factory=_HEADERS)


def to_email(message: Message, queued_at: str) -> EmailMessage:
    """The e-mail of `message`, queued at `queued_at` (ISO 8601, as the outbox keeps it): the same
    bytes however often and wherever it is written, a resend and a Maildir copy too. Its Date is when
    it was queued, its boundary comes from its Message-ID. The policy refuses CR or LF in any header,
    so nothing can add one."""
    email = EmailMessage(policy=_POLICY)
    email["From"] = message.sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = formatdate(datetime.fromisoformat(queued_at).timestamp(), usegmt=True)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    # "=_" never occurs in quoted-printable or base64 text, so no body line can be taken for it.
    email.set_boundary("=_" + hashlib.sha256(message.message_id.encode()).hexdigest()[:32])
    return email
