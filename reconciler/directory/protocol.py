"""The seam between the reader and the LDAP client: the few calls of a connection the reader makes.

As httpx's transport is for its client, this is the one place a test puts
something else behind the reader: `read_directory(..., connect=...)` takes
any callable that returns an open, bound connection with these calls (an
ldap3 `Connection`, or ldap3's offline server for what only Active
Directory does: tests/test_directory_ad.py). Without it, the reader opens
one itself (connection.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from reconciler.core.model import Directory


class LdapConnection(Protocol):
    """An open, bound LDAP connection, as ldap3's `Connection` is one (with `raise_exceptions=False`).

    The reader sends its searches as ldap3's `Connection.search` does inside
    (its filters built beforehand: searching.py says why): `send` a request
    with its controls, then `post_send_search` its answer, which leaves the
    searchResDone in `result` (`result`, `description`, `message`,
    `referrals`, `controls`) and the entries and references in `response`
    (`type`, `dn`, `raw_attributes`, `uri`). A lost connection raises
    ldap3's LDAPCommunicationError.
    """

    result: Any
    response: Any

    def send(self, message_type: str, request: Any, controls: Any = None) -> Any:
        """Send a request (`message_type` "searchRequest"); what it returns goes to post_send_search."""
        ...

    def post_send_search(self, payload: Any) -> Any:
        """Wait for the answer to the search `payload` names, into `result` and `response`."""
        ...

    def unbind(self) -> Any:
        """Say goodbye and close the connection."""
        ...


#: Opens a bound connection for a `directory:` block and its bind password (None: anonymous).
Connect = Callable[[Directory, str | None], LdapConnection]
