"""One read of the directory: the mapped groups, their members classified in batches, nested groups
followed, and the people and memberships that come of it.

Only the mapped groups and what they reach are read, never the whole tree
(Adobe's User Sync Tool synced test and service accounts because its read
was not scoped so: its issues #24 and #538). The entries are looked up by
their DNs in batches, one paged search for each under base_dn: an OR of
equality tests on the DN attribute (`entryDN` in OpenLDAP,
`distinguishedName` in Active Directory), which the server answers from
its index of names. OpenLDAP's back-mdb does so only where objectClass is
indexed (`index objectClass eq`, as in every packaged configuration): it
adds `(objectClass=referral)` to each filter, and an unindexed term makes
it test every entry under base_dn instead.

10,000 members take 40 searches of 250 rather than 10,000 lookups: one base
search per member reads three times slower on a local slapd, and pays a
round trip each over a network (tests/bench/bench_directory.py
--per-member). Batches of 250 rather than 500: slapd tests each entry it
finds against every term of the OR, so its work grows with the square of
the batch (0.18 s of slapd's time for 10,000 members in batches of 250,
0.25 s in batches of 500), while the reader's own barely changes; and 250
stays under the 500 entries a search that OpenLDAP allows by default.

A member is kept when it is enabled (AD: userAccountControl's disabled flag
clear; OpenLDAP: no pwdAccountLockedTime; and not matched by the block's
disabled_filter) and has an id, an e-mail and both names; a member left
out, and why, is counted in the notes of each mapped group it belongs to.
A member DN outside base_dn is not read.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass

from reconciler.core.errors import DirectoryError, plural
from reconciler.core.model import Directory, Flavour
from reconciler.directory import searching, values
from reconciler.directory.connection import open_connection
from reconciler.directory.flattening import cycles, leaves
from reconciler.directory.names import DnKey, dn_key, is_under
from reconciler.directory.protocol import Connect, LdapConnection
from reconciler.directory.records import DirectoryRead, Person
from reconciler.directory.searching import Found, Searcher

#: DNs looked up in one search.
BATCH = 250

#: The attribute that holds an entry's own DN, for each flavour.
DN_ATTRIBUTE = {Flavour.OPENLDAP: "entryDN", Flavour.ACTIVE_DIRECTORY: "distinguishedName"}
#: The attribute that says an account is disabled, for each flavour. pwdAccountLockedTime is
#: operational (the ppolicy overlay's): returned only when asked for by name.
DISABLED_ATTRIBUTE = {
    Flavour.OPENLDAP: "pwdAccountLockedTime",
    Flavour.ACTIVE_DIRECTORY: "userAccountControl",
}
#: Object classes of groups; an entry with member values is a group too.
GROUP_CLASSES = frozenset(
    {b"group", b"groupofnames", b"groupofuniquenames", b"groupofmembers", b"groupofentries"}
)

#: Why a member was left out, in the order the notes count them.
DISABLED = "disabled"
NO_EMAIL = "without e-mail"
NO_NAMES = "without a first or last name"
NO_ID = "without an id"
OUTSIDE = "outside base_dn"
NOT_FOUND = "not found"
NOT_A_DN = "not a DN"
REASONS = (DISABLED, NO_EMAIL, NO_NAMES, NO_ID, OUTSIDE, NOT_FOUND, NOT_A_DN)


@dataclass(frozen=True, slots=True)
class _Entry:
    """A looked-up entry: a group with its members' keys, or a person, or why it is left out."""

    dn: str
    members: tuple[DnKey, ...] | None = None
    person: Person | None = None
    left_out: str | None = None


def read_directory(
    directory: Directory,
    groups: Sequence[str],
    password: str | None,
    progress: Callable[[int, int], None] | None = None,
    *,
    connect: Connect | None = None,
) -> DirectoryRead:
    """The read behind reconciler.directory.read_directory: see there."""
    base = _key(directory.base_dn, "base_dn")
    asked = {group: _key(group, "the mapped group") for group in groups}
    for group, key in asked.items():
        if not is_under(key, base):
            raise DirectoryError(f"the mapped group {group} is not under base_dn {directory.base_dn}")
    connection = (connect or open_connection)(directory, password)
    try:
        entries = _Walk(directory, connection, base, progress).run(asked)
    finally:
        _close(connection)
    return _result(directory, asked, entries)


class _Walk:
    """Looks up DNs in batches from the mapped groups on, following each group found to its members."""

    def __init__(
        self,
        directory: Directory,
        connection: LdapConnection,
        base: DnKey,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.directory = directory
        self.base = base
        self.progress = progress
        self.searcher = Searcher(
            connection,
            max(1, math.ceil(directory.timeout)),
            domain_scope=directory.flavour is Flavour.ACTIVE_DIRECTORY,
        )
        chosen = directory.attributes
        self.attributes = list(
            dict.fromkeys(
                [
                    "objectClass",
                    chosen.id,
                    chosen.email,
                    chosen.first_name,
                    chosen.last_name,
                    chosen.member,
                    DISABLED_ATTRIBUTE[directory.flavour],
                ]
            )
        )
        self.disabled_filter = (
            searching.parse(directory.disabled_filter, "the directory's disabled_filter")
            if directory.disabled_filter
            else None
        )
        # Found's values are by lower-cased name.
        self.member = chosen.member.lower()
        self.id_attribute = chosen.id.lower()
        self.person_attributes = (chosen.email.lower(), chosen.first_name.lower(), chosen.last_name.lower())
        self.disabled_attribute = DISABLED_ATTRIBUTE[directory.flavour].lower()
        self.entries: dict[DnKey, _Entry] = {}
        self.known: dict[DnKey, str] = {}
        self.queue: list[tuple[DnKey, str]] = []

    def run(self, asked: Mapping[str, DnKey]) -> dict[DnKey, _Entry]:
        for group, key in asked.items():
            self._enqueue(key, group)
        while self.queue:
            batch, self.queue = self.queue[:BATCH], self.queue[BATCH:]
            self._look_up(batch)
            if self.progress is not None:
                self.progress(len(self.entries), len(self.known))
        return self.entries

    def _enqueue(self, key: DnKey, dn: str) -> None:
        if key in self.known:
            return
        self.known[key] = dn
        if key and key[0][0][0] == NOT_A_DN:
            self.entries[key] = _Entry(dn, left_out=NOT_A_DN)
        elif is_under(key, self.base):
            self.queue.append((key, dn))
        else:
            self.entries[key] = _Entry(dn, left_out=OUTSIDE)

    def _look_up(self, batch: Sequence[tuple[DnKey, str]]) -> None:
        wanted = searching.any_of(DN_ATTRIBUTE[self.directory.flavour], [dn for _, dn in batch])
        base = self.directory.base_dn
        found = {_key_of(entry.dn): entry for entry in self.searcher.search(base, wanted, self.attributes)}
        disabled: set[DnKey] = set()
        if self.disabled_filter is not None:
            matched = self.searcher.search(base, searching.all_of(wanted, self.disabled_filter), ["1.1"])
            disabled = {_key_of(entry.dn) for entry in matched}
        for key, dn in batch:
            entry = found.get(key)
            if entry is None:
                self.entries[key] = _Entry(dn, left_out=NOT_FOUND)
                continue
            raw_members = entry.values.get(self.member)
            if not raw_members and GROUP_CLASSES.isdisjoint(
                map(bytes.lower, entry.values.get("objectclass", ()))
            ):
                try:
                    self.entries[key] = self._person(entry, key in disabled)
                except ValueError as error:
                    raise DirectoryError(f"{entry.dn}: {error}") from None
                continue
            members = [value.decode("utf-8", "replace") for value in raw_members or ()]
            keys = [_key_of(member) for member in members]
            self.entries[key] = _Entry(entry.dn, members=tuple(keys))
            for member_key, member in zip(keys, members, strict=True):
                self._enqueue(member_key, member)

    def _person(self, entry: Found, disabled_by_filter: bool) -> _Entry:
        found = entry.values.get
        flag = found(self.disabled_attribute)
        disabled = bool(flag)
        if flag and self.directory.flavour is Flavour.ACTIVE_DIRECTORY:
            disabled = values.account_disabled(flag[0])
        if disabled or disabled_by_filter:
            return _Entry(entry.dn, left_out=DISABLED)
        email, first_name, last_name = (_first_text(found(attribute)) for attribute in self.person_attributes)
        if not email:
            return _Entry(entry.dn, left_out=NO_EMAIL)
        if not first_name or not last_name:
            return _Entry(entry.dn, left_out=NO_NAMES)
        raw_id = found(self.id_attribute)
        person_id = values.directory_id(self.id_attribute, raw_id[0]) if raw_id else ""
        if not person_id:
            return _Entry(entry.dn, left_out=NO_ID)
        return _Entry(entry.dn, person=Person(person_id, email.lower(), first_name, last_name, entry.dn))


def _first_text(found: Sequence[bytes] | None) -> str:
    """The first value, as text without the spaces around it; "" when there is none."""
    return values.text(found[0]).strip() if found else ""


def _result(
    directory: Directory, asked: Mapping[str, DnKey], entries: Mapping[DnKey, _Entry]
) -> DirectoryRead:
    missing = sorted(group for group, key in asked.items() if entries[key].left_out == NOT_FOUND)
    if missing:
        raise DirectoryError(
            f"{len(missing)} {plural(len(missing), 'mapped group')} not found under base_dn "
            f"{directory.base_dn}: " + "; ".join(missing)
        )
    not_groups = sorted(group for group, key in asked.items() if entries[key].members is None)  # people
    if not_groups:
        count = len(not_groups)
        raise DirectoryError(
            f"{count} {plural(count, 'mapped group is not a group', 'mapped groups are not groups')} "
            f"(no group object class, no {directory.attributes.member} values): " + "; ".join(not_groups)
        )
    graph = {key: entry.members for key, entry in entries.items() if entry.members is not None}
    notes = [
        "groups nested in a cycle, each read once: " + "; ".join(sorted(entries[key].dn for key in cycle))
        for cycle in cycles(graph)
    ]
    people: dict[str, Person] = {}
    members: dict[str, frozenset[str]] = {}
    for group, key in asked.items():
        ids = set()
        left_out: Counter[str] = Counter()
        for leaf in leaves(graph, key):
            entry = entries[leaf]
            if entry.person is None:
                left_out[entry.left_out or NOT_FOUND] += 1
                continue
            same = people.setdefault(entry.person.id, entry.person)
            if same.dn != entry.person.dn:
                raise DirectoryError(
                    f"{same.dn} and {entry.dn} have one id, {same.id} ({directory.attributes.id}): "
                    "choose an id attribute whose values are unique"
                )
            ids.add(entry.person.id)
        members[group] = frozenset(ids)
        if left_out:
            count = sum(left_out.values())
            reasons = ", ".join(f"{left_out[reason]} {reason}" for reason in REASONS if left_out[reason])
            notes.append(f"{group}: {count} {plural(count, 'member')} left out ({reasons})")
    return DirectoryRead(
        people={person_id: people[person_id] for person_id in sorted(people)},
        members=members,
        notes=tuple(sorted(notes)),
    )


def _key(dn: str, what: str) -> DnKey:
    try:
        return dn_key(dn)
    except ValueError as error:
        raise DirectoryError(f"{what} {dn!r}: {error}") from None


def _key_of(dn: str) -> DnKey:
    """The key of a DN the server wrote; one that is no DN gets a key of its own, no DN's key."""
    try:
        return dn_key(dn)
    except ValueError:
        return _not_a_dn(dn)


def _not_a_dn(text: str) -> DnKey:
    return (((NOT_A_DN, text),),)


def _close(connection: LdapConnection) -> None:
    with suppress(Exception):  # the read is over: a goodbye that fails changes nothing
        connection.unbind()
