"""Store URLs fit to print: a password never reaches a terminal, a CI log or a plan file."""

from __future__ import annotations

import re

#: `scheme://user:password@`: the password runs from the user's colon to the host's `@` (the last
#: one before the path, should an unencoded `@` be in the password itself).
_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*):(?P<secret>[^/\s]*)@", re.IGNORECASE)
#: `password=…` in a URL's query string or a key=value connection string.
_PASSWORD_PARAM = re.compile(r"(?P<head>\bpassword=)(?P<secret>[^&\s]*)", re.IGNORECASE)

REDACTED = "***"


def redact_url(text: str) -> str:
    """`text` with the password of every URL in it, and every `password=` value, replaced by ***."""
    text = _USERINFO.sub(lambda m: f"{m['head']}:{REDACTED}@", text)
    return _PASSWORD_PARAM.sub(lambda m: f"{m['head']}{REDACTED}", text)
