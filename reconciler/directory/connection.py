"""Opening a bound connection to the directory: the URL's rules, LDAPS with its certificate checked,
the time-outs, the bind.

`ldaps://` is the rule: the bind password and the people cross the network.
`ldap://` is accepted only to this machine (localhost, 127.0.0.0/8, ::1),
where a local proxy or a test server listens. The server's certificate is
checked by Python's ssl module, chain and host name (an IP address too),
against `ca_file` when the block names one (read relative to the file that
holds the block), else against the system's CAs. Every failure here is a
DirectoryError whose message never holds the password.
"""

from __future__ import annotations

import ipaddress
import math
import ssl
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import LDAPException

from reconciler.core.errors import DirectoryError
from reconciler.core.model import Directory
from reconciler.directory.protocol import LdapConnection

#: The schemes a `directory:` url may have, and their ports when it names none.
PORTS = {"ldap": 389, "ldaps": 636}

#: invalidCredentials, the answer to a bind with a wrong DN or password (RFC 4511).
INVALID_CREDENTIALS = 49


@dataclass(frozen=True)
class Endpoint:
    """Where the directory listens, from its url."""

    secure: bool
    host: str
    port: int


def endpoint(url: str) -> Endpoint:
    """The url's host and port; DirectoryError for a url that is not ldaps://, or ldap:// to loopback."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise DirectoryError(f"directory url {url!r}: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in PORTS or not parts.hostname:
        raise DirectoryError(
            f"directory url {url!r}: write ldaps://HOST[:PORT] (ldap:// only to this machine)"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username is not None:
        raise DirectoryError(
            f"directory url {url!r}: write only ldaps://HOST[:PORT]; base_dn says where to read, "
            "bind_dn who reads"
        )
    if scheme == "ldap" and not is_loopback(parts.hostname):
        raise DirectoryError(
            f"directory url {url!r}: ldap:// would send the bind password and the people unencrypted "
            f"to {parts.hostname}; use ldaps:// (ldap:// is accepted only to localhost, 127.0.0.0/8 and ::1)"
        )
    return Endpoint(scheme == "ldaps", parts.hostname, port or PORTS[scheme])


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine: localhost, 127.0.0.0/8 or ::1."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def open_connection(directory: Directory, password: str | None) -> LdapConnection:
    """A connection to the directory, bound as its bind_dn with `password` (anonymous without a
    bind_dn); DirectoryError when it cannot be opened, the certificate does not check out, or the
    bind is refused."""
    where = endpoint(directory.url)
    if directory.bind_dn and not password:
        # An empty password is an "unauthenticated bind" (RFC 4513 5.1.2) that servers may answer as
        # anonymous: refused here, so that a missing password is never a read of less than asked.
        raise DirectoryError(
            f"binding to {directory.url} as {directory.bind_dn} needs its password: "
            "set RECONCILER_LDAP_PASSWORD"
        )
    # ldap3 sets the receive time-out with struct.pack("LL", ...): whole seconds only.
    timeout = max(1, math.ceil(directory.timeout))
    tls = _CheckedTls(_tls_context(directory), where.host) if where.secure else None
    server = ldap3.Server(
        where.host,
        port=where.port,
        use_ssl=where.secure,
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=timeout,
    )
    connection = ldap3.Connection(
        server,
        user=directory.bind_dn,
        password=password if directory.bind_dn else None,
        authentication=ldap3.SIMPLE if directory.bind_dn else ldap3.ANONYMOUS,
        auto_bind=ldap3.AUTO_BIND_NONE,
        read_only=True,
        raise_exceptions=False,
        auto_referrals=False,  # a referral is refused as an incomplete read, never followed
        auto_range=False,  # ranged values are followed by searching.py, which knows when one is cut short
        receive_timeout=timeout,
        return_empty_attributes=False,
    )
    try:
        connection.open()
    except LDAPException as error:
        if tls is not None and tls.refusal is not None:
            raise DirectoryError(
                f"{directory.url}: the server's certificate does not check out: {tls.refusal}; "
                + (
                    f"is ca_file {directory.ca_file} the CA that signed it?"
                    if directory.ca_file
                    else "name the CA that signed it in the directory's ca_file"
                )
            ) from None
        raise DirectoryError(
            f"cannot reach the directory at {directory.url}: {_reason(error, password)}"
        ) from None
    try:
        bound = connection.bind()
    except LDAPException as error:
        _close(connection)
        raise DirectoryError(
            f"{directory.url}: the bind {_as(directory)} failed: {_reason(error, password)}"
        ) from None
    if not bound:
        result = connection.result or {}
        _close(connection)
        said = "; ".join(str(part) for part in (result.get("description"), result.get("message")) if part)
        hint = (
            ": check bind_dn and RECONCILER_LDAP_PASSWORD"
            if result.get("result") == INVALID_CREDENTIALS
            else ""
        )
        raise DirectoryError(
            f"{directory.url} refused the bind {_as(directory)} ({_scrub(said, password)}){hint}"
        )
    return cast(LdapConnection, connection)


def _tls_context(directory: Directory) -> ssl.SSLContext:
    """Certificate checking as Python does it by default: CERT_REQUIRED and the host name, against
    ca_file or the system's CAs."""
    if directory.ca_file is None:
        return ssl.create_default_context()
    path = Path(directory.declared_in) / directory.ca_file
    if not path.is_file():
        raise DirectoryError(
            f"the directory's ca_file {directory.ca_file} is not a file "
            f"(read relative to {directory.declared_in})"
        )
    try:
        return ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError) as error:
        raise DirectoryError(
            f"the directory's ca_file {directory.ca_file} holds no CA certificate in PEM form ({error})"
        ) from None


class _CheckedTls(ldap3.Tls):  # type: ignore[misc]
    """ldap3's TLS, its handshake made by an SSLContext that checks the chain and the host name.

    ldap3 checks the name itself, with ssl.match_hostname, which Python 3.12
    removed; its own replacement does not match IP addresses. The reason a
    certificate was refused is kept for the message.
    """

    def __init__(self, context: ssl.SSLContext, host: str) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED)
        self.context = context
        self.host = host
        self.refusal: str | None = None

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        try:
            connection.socket = self.context.wrap_socket(
                connection.socket, server_hostname=self.host, do_handshake_on_connect=do_handshake
            )
        except ssl.SSLCertVerificationError as error:
            self.refusal = str(error.verify_message or error)
            raise


def _as(directory: Directory) -> str:
    return f"as {directory.bind_dn}" if directory.bind_dn else "(anonymous)"


def _reason(error: LDAPException, password: str | None) -> str:
    return _scrub(str(error) or type(error).__name__, password)


def _scrub(text: str, password: str | None) -> str:
    """`text` without the password, should a server or library ever repeat it."""
    return text.replace(password, "********") if password else text


def _close(connection: Any) -> None:
    with suppress(LDAPException):
        connection.unbind()
