"""Store URLs fit to print: a password never reaches a terminal, a CI log or a plan file."""

from __future__ import annotations

import re

#: `scheme://user:password@`: the password runs from the user's colon to the host's `@`, the last
#: one of the URL: a password that was not URL-encoded, as a `${VAR}` of reconciler.yaml may hold
#: it, can have `@`, `/`, `?` or `#` in it (base64 has `/`), and then no parser can tell where the
#: host begins. Hiding too much of such a URL is better than showing part of the secret.
_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*):(?P<secret>\S*)@", re.IGNORECASE)
#: `password=…` in a URL's query string or a key=value connection string.
_PASSWORD_PARAM = re.compile(r"(?P<head>\bpassword=)(?P<secret>[^&\s]*)", re.IGNORECASE)

REDACTED = "***"


def redact_url(text: str) -> str:
    """`text` with the password of every URL in it, and every `password=` value, replaced by ***."""
    text = _USERINFO.sub(lambda m: f"{m['head']}:{REDACTED}@", text)
    return _PASSWORD_PARAM.sub(lambda m: f"{m['head']}{REDACTED}", text)
