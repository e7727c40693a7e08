"""The directory reader: people and group memberships read from LDAP or Active Directory (the `ldap` extra).

records      Person and DirectoryRead: what a read gives
protocol     the seam: the calls of an LDAP connection the reader makes, and how one is opened
connection   opening one: ldaps:// with its certificate checked, ldap:// only to loopback, the bind
searching    the searches, each to its end: pages, AD's member;range=, limits and referrals refused
reading      the mapped groups, their members looked up in batches, nested groups followed
flattening   pure: nested groups flattened, cycles found
names        DNs compared as the server compares them, and which lie under base_dn
values       values as text: AD's objectGUID and userAccountControl

Only this package imports ldap3, and only when a read is made: without the
extra, `read_directory` raises an InputError saying what to install.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reconciler.core.errors import InputError
from reconciler.core.model import Directory
from reconciler.directory.protocol import Connect, LdapConnection
from reconciler.directory.records import DirectoryRead, Person

__all__ = ["INSTALL", "Connect", "DirectoryRead", "LdapConnection", "Person", "read_directory"]

INSTALL = "pip install 'licence-reconciler[ldap]'"


def read_directory(
    directory: Directory,
    groups: Sequence[str],
    password: str | None,
    progress: Callable[[int, int], None] | None = None,
    *,
    connect: Connect | None = None,
) -> DirectoryRead:
    """The people in `groups` (DNs, each under the directory's base_dn) and each group's members.

    Reads only those groups and what they reach: nested groups flattened
    (a cycle is noted, never followed round), enabled members with an id, an
    e-mail and both names; every other member is left out and counted in the
    notes. Binds as the directory's bind_dn with `password` (anonymous without
    a bind_dn). `progress`, if given, hears (entries read, entries known so
    far) after each batch. `connect` replaces the opening of the connection
    (a test double: see protocol.py).

    Raises DirectoryError when the directory cannot be reached, refuses the
    bind, or its certificate does not check out; for an `ldap://` url to
    another machine; for a mapped group that is not there. Raises
    IncompleteRead when any part of the read was cut short: a lost
    connection, a limit, a referral, a page or a range left unread. Never
    returns part of a read.
    """
    try:
        from reconciler.directory import reading
    except ModuleNotFoundError as error:
        if error.name != "ldap3":
            raise
        raise InputError(
            f"reading an LDAP directory needs ldap3, which is not installed: {INSTALL}"
        ) from None
    return reading.read_directory(directory, groups, password, progress, connect=connect)
