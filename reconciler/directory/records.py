"""What a read of the directory gives: its people and each asked group's members, as plain records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Person:
    """One enabled member of a mapped group, as the directory gives them.

    `id` is the directory's immutable id: `entryUUID` as text, or `objectGUID`
    as Active Directory shows it (lower case, without braces). `email` is
    lower-cased; `dn` is the entry's name as the server spells it.
    """

    id: str
    email: str
    first_name: str
    last_name: str
    dn: str


@dataclass(frozen=True, slots=True)
class DirectoryRead:
    """The people of the mapped groups and each group's members; a read is whole or raises, never partial.

    `members` maps each asked group's DN, exactly as asked, to the ids of its
    enabled members, nested groups flattened. `notes` (sorted, for a person to
    read) say what the read left out and why: a cycle of nested groups, and
    per group the members left out (disabled, without e-mail or names,
    outside base_dn, not found).
    """

    people: Mapping[str, Person]
    members: Mapping[str, frozenset[str]]
    notes: tuple[str, ...] = ()
