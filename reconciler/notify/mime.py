"""A stored Message as the MIME e-mail a server receives: plain text with an HTML alternative."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

from reconciler.records import Message

# Folding at 78 columns makes the email package break a subject right after "Subject:", which
# readers then show with a leading space; RFC 5322's hard limit of 998 keeps our headers on one line.
_POLICY = SMTP.clone(max_line_length=998)


def to_email(message: Message, sender: str) -> EmailMessage:
    """The e-mail of `message`. The policy refuses CR or LF in any header, so nothing can add one."""
    email = EmailMessage(policy=_POLICY)
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    return email
