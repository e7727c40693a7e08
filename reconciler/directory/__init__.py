"""The directory reader: people and group memberships read from LDAP or Active Directory (the `ldap` extra).

records      Person and DirectoryRead: what a read gives
flattening   pure: nested groups flattened, cycles found
names        DNs compared as the server compares them, and which lie under base_dn
values       values as text: AD's objectGUID and userAccountControl
"""

from __future__ import annotations

from reconciler.directory.records import DirectoryRead, Person

__all__ = ["DirectoryRead", "Person"]
