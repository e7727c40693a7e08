"""`directory pull`: the people of the mapped directory groups, into the account's generated file.

The hand-written files say where the directory is (`directory:`) and which
team follows which group (`directory_group`); the pull reads only those
groups and their enabled members (reconciler/directory) and writes the
directory's file: the users, each with the directory's immutable id, and
each mapped team's members. Sorted, no timestamps, written whole or not at
all: an unchanged directory leaves the file as it was, byte for byte, so a
scheduled job opens a pull request only when something changed, and the
plan of that pull request shows what the change does to licences.

The pull refuses (PullRefused, the file untouched) when the read was cut
short, when a mapped group that has members in the file reads empty, and
when the people or a group would shrink by more than the allowed share,
unless the shrink is allowed: a directory that answers nothing, or a group
emptied by mistake, must not take everybody's licences away (Argo CD
#18212, #18780 are that failure).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reconciler.commands.files import write_whole
from reconciler.core.errors import (
    DirectoryError,
    IncompleteRead,
    InputError,
    InvalidDesiredState,
    ShrinkRefused,
    plural,
)
from reconciler.core.model import SCHEMA_FILE, DesiredState, Directory, Team, User, build_state
from reconciler.engine.guards import DEFAULT_MAX_REMOVAL_RATIO, removal_tripped
from reconciler.loading import Source, find_directory_file, find_sources, read_files
from reconciler.report.yaml import generated_yaml

#: How far the people or a group may shrink in one pull without --allow-shrink.
DEFAULT_MAX_SHRINK_RATIO = DEFAULT_MAX_REMOVAL_RATIO

#: Reads the directory: `directory.read_directory`, or a test's stand-in for a server slapd cannot be.
Reader = Callable[..., Any]


@dataclass(frozen=True, order=True)
class Change:
    """A person whose e-mail or names the directory changed: as the file had them, and as they are."""

    before: str
    after: str


@dataclass(frozen=True)
class _Files:
    """The account's files as a pull sees them: the directory they declare, the teams of the hand-written
    ones, and the directory's file (`output`) as it is now, None when there is none yet."""

    directory: Directory
    teams: tuple[Team, ...]
    output: Path
    output_name: str
    generated: DesiredState | None
    generated_data: bytes | None
    hand_written: tuple[Source, ...] = ()


@dataclass(frozen=True)
class Pulled:
    """What a pull did: the file it wrote (or found unchanged), the people and groups it holds now, and
    how they differ from the file before it."""

    output: str
    written: bool
    people: int
    groups: int
    joined: tuple[str, ...] = ()  # e-mails
    left: tuple[str, ...] = ()
    renamed: tuple[Change, ...] = ()  # e-mail changes, by id: `user.change_email` in the plan
    new_names: tuple[Change, ...] = ()  # name changes, as "First Last" before and after, by e-mail now
    members_added: int = 0
    members_removed: int = 0
    notes: tuple[str, ...] = field(default=())


def pull(
    paths: Sequence[str],
    password: str | None,
    read: Reader | None = None,
    allow_shrink: bool = False,
    max_shrink_ratio: float = DEFAULT_MAX_SHRINK_RATIO,
    progress: Callable[[int, int], None] | None = None,
) -> Pulled:
    """Read the directory the account at `paths` declares and write its file; see the module."""
    sources, problems = find_sources(paths)
    if problems:
        raise InvalidDesiredState(problems)
    files = _files(sources, allow_shrink)
    directory = files.directory
    mapped = _mapped_teams(files.teams)
    if read is None:
        from reconciler.directory import read_directory

        read = read_directory
    try:
        found = read(directory, sorted(set(mapped.values())), password, progress)
    except IncompleteRead as cut_short:
        raise IncompleteRead(f"{files.output_name} was not written: {cut_short}") from None
    people = _people(found.people)
    teams = tuple(
        Team(name, members=tuple(sorted(people[i].email for i in found.members[group])))
        for name, group in sorted(mapped.items())
    )
    users = tuple(sorted(people.values(), key=lambda user: user.email))
    before = files.generated
    old_users = before.users if before else ()
    moved = _new_addresses(old_users, users)  # a changed address is no person or member lost
    left = _missing(old_users, users)
    refusals = [] if allow_shrink else _shrinks(before, users, teams, max_shrink_ratio, moved, len(left))
    if refusals:
        raise ShrinkRefused(
            f"{files.output_name} was not written: {'; '.join(refusals)}. If the directory is right, "
            "pull again with --allow-shrink, and review the pull request"
        )
    # The schema beside the hand-written files (the README's `reconciler schema --out`), from the
    # directory's file, which is often in a folder below them (people/directory.yaml).
    schema = os.path.relpath(Path(directory.declared_in) / SCHEMA_FILE, files.output.parent)
    state = DesiredState(users=users, teams=teams)
    text = generated_yaml(state, _header(directory), Path(schema).as_posix()).encode()
    written = files.generated_data != text
    if written:
        files.output.parent.mkdir(parents=True, exist_ok=True)  # a first pull into people/, say
        write_whole(files.output, text, "the directory's people")
    pulled = _pulled(files.output_name, written, before, users, teams, moved, left, found.notes)
    stale = _still_named(files.hand_written, pulled.renamed, pulled.left)
    return replace(pulled, notes=(*pulled.notes, *stale)) if stale else pulled


def _files(sources: Sequence[Source], allow_shrink: bool) -> _Files:
    """The directory, mapping and generated file the account's `sources` hold; each file read on its own,
    so that a directory's file the pull is about to replace cannot stop it. A directory's file that
    cannot be read stops the pull, which compares with it before writing, unless a shrink is allowed:
    then it is written again, as its header says."""
    documents, problems = read_files(sources)
    where = find_directory_file([(source.name, document) for source, document in documents])
    blocks = [source.name for source, document in documents if "directory" in document]
    if where.block is None or where.expected is None:
        if problems:
            raise InvalidDesiredState(problems)
        raise InputError(
            "no file declares a `directory:` block: say where the directory is and which file the pull "
            "writes (see `reconciler directory pull --help`)"
        )
    if len(blocks) > 1:
        raise InputError(f"the directory is declared twice, in {blocks[0]} and {blocks[1]}: keep one")
    output = Path(where.expected)
    by_hand_problems = [problem for problem in problems if not _same_file(problem.file, output)]
    if by_hand_problems:
        raise InvalidDesiredState(by_hand_problems)
    generated = None if where.generated is None else documents[where.generated]
    by_hand = [(s, d) for s, d in documents if generated is None or s is not generated[0]]
    hand_written = build_state((d for _s, d in by_hand), None, where.declared_in)
    broken = len(problems) > 0  # the directory's file, among the files named, cannot be read
    if generated is None and not broken and output.is_file():  # not named: still the one replaced
        generated, broken = _read_generated(output)
    if broken and not allow_shrink:
        raise InputError(
            f"{output} cannot be read as the directory's file, which the pull compares with before it "
            f"writes (`reconciler validate {output}` says where); pull with --allow-shrink to write it again"
        )
    assert hand_written.directory is not None  # a hand-written file holds the block
    return _Files(
        directory=hand_written.directory,
        teams=hand_written.teams,
        output=output,
        output_name=where.expected,
        generated=None if generated is None else build_state([generated[1]]),  # the file on its own
        generated_data=None if generated is None else generated[0].data,
        hand_written=tuple(s for s, _d in by_hand),
    )


def _read_generated(path: Path) -> tuple[tuple[Source, Any] | None, bool]:
    """The directory's file at `path`, read on its own; None and True when it cannot be."""
    sources, problems = find_sources([str(path)])
    documents, problems = read_files(sources) if not problems else ([], problems)
    return (None, True) if problems else (documents[0], False)


def _same_file(name: str, path: Path) -> bool:
    return Path(name).resolve() == path.resolve()


def _mapped_teams(teams: Sequence[Team]) -> dict[str, str]:
    """Each team that follows a directory group, by name: the group's DN."""
    mapped = {team.name: team.directory_group for team in teams if team.directory_group is not None}
    if not mapped:
        raise InputError(
            "no team has a directory_group: map a team to a directory group "
            '(directory_group: "cn=Design Studio,ou=Groups,dc=acme,dc=example") and pull again'
        )
    return mapped


def _people(found: Mapping[str, Any]) -> dict[str, User]:
    """The directory's people as users, by id; two people with one e-mail are the directory's mistake,
    and a pull cannot choose between them."""
    by_email: dict[str, Any] = {}
    users: dict[str, User] = {}
    for person in sorted(found.values(), key=lambda p: p.id):
        other = by_email.setdefault(person.email, person)
        if other is not person:
            raise DirectoryError(
                f"two people in the directory have the e-mail {person.email}: {other.dn} and {person.dn}; "
                "give each their own address in the directory and pull again"
            )
        users[person.id] = User(person.email, person.first_name, person.last_name, id=person.id)
    return users


def _shrinks(
    before: DesiredState | None,
    users: Sequence[User],
    teams: Sequence[Team],
    max_ratio: float,
    moved: Mapping[str, str],
    lost: int,
) -> list[str]:
    """Why writing `users` and `teams` over `before` is refused without --allow-shrink: each group that
    had members and has none, and the people (`lost` of them) or each group shrinking by more than
    `max_ratio`; `moved`, the addresses the directory changed, old to new."""
    if before is None:
        return []
    reasons = []
    tripped = removal_tripped("people", lost, len(before.users), max_ratio)
    if tripped:
        reasons.append(tripped.message("in the file", "the pull"))
    now = {team.name.casefold(): team for team in teams}
    for old in before.teams:
        new = now.get(old.name.casefold())
        if new is None or not old.members:
            continue
        if not new.members:
            reasons.append(
                f"the group of team {old.name} reads empty, and it has {len(old.members)} "
                f"{plural(len(old.members), 'member')} in the file"
            )
            continue
        # A member the directory gave a new address (same id) is still a member.
        removed = len({moved.get(member, member) for member in old.members} - set(new.members))
        tripped = removal_tripped(f"members of team {old.name}", removed, len(old.members), max_ratio)
        if tripped:
            reasons.append(tripped.message("in the file", "the pull"))
    return reasons


def _missing(people: Sequence[User], among: Sequence[User]) -> list[User]:
    """The users of `people` that `among` holds neither by id nor by e-mail."""
    ids = {user.id for user in among if user.id}
    emails = {user.email for user in among}
    return [user for user in people if user.id not in ids and user.email not in emails]


def _new_addresses(before: Sequence[User], after: Sequence[User]) -> dict[str, str]:
    """Each e-mail of `before` whose user `after` holds by id under another e-mail: the new e-mail."""
    now = {user.id: user.email for user in after if user.id}
    return {user.email: now[user.id] for user in before if user.id in now and now[user.id] != user.email}


def _still_named(sources: Iterable[Source], renamed: Sequence[Change], left: Sequence[str]) -> list[str]:
    """Where a hand-written file still names a person by the address the directory just changed, or a
    person who left: that file (a manager, a coordinator, a person's own access) no longer validates
    until someone follows the change there."""
    what = [
        (change.before, f"now {change.after} in the directory: change it there too") for change in renamed
    ]
    what += [
        (email, "who left the directory's groups: take them out there, or declare them by hand")
        for email in left
    ]
    notes = []
    for source in sources:
        text = source.data.decode("utf-8", errors="replace")
        for email, why in what:
            # The whole address, in any case: not bo@x.example inside bob@x.example.
            found = re.search(rf"(?<![\w.+-]){re.escape(email)}(?![\w.-])", text, re.IGNORECASE)
            if found:
                line = text.count("\n", 0, found.start()) + 1
                notes.append(f"{source.name}:{line} still names {email}, {why}")
    return notes


def _header(directory: Directory) -> str:
    return (
        "# Generated by `reconciler directory pull` from the directory at "
        f"{directory.url} ({directory.base_dn}).\n"
        "# Do not edit: the next pull writes it again. The directory owns these people's names and\n"
        "# these teams' members; give a person access in a hand-written file, by e-mail.\n"
    )


def _pulled(
    output: str,
    written: bool,
    before: DesiredState | None,
    users: Sequence[User],
    teams: Sequence[Team],
    moved: Mapping[str, str],
    left: Sequence[User],
    notes: Sequence[str],
) -> Pulled:
    old_users = before.users if before else ()
    by_id = {user.id: user for user in old_users if user.id}
    old_members = {
        (t.name.casefold(), moved.get(m, m)) for t in (before.teams if before else ()) for m in t.members
    }
    new_members = {(t.name.casefold(), m) for t in teams for m in t.members}
    return Pulled(
        output=output,
        written=written,
        people=len(users),
        groups=len(teams),
        joined=tuple(user.email for user in _missing(users, old_users)),
        left=tuple(user.email for user in left),
        renamed=tuple(Change(old, new) for old, new in sorted(moved.items(), key=lambda move: move[1])),
        new_names=tuple(
            Change(_name(by_id[user.id]), f"{user.email}: {_name(user)}")
            for user in users
            if user.id in by_id and _name(by_id[user.id]) != _name(user)
        ),
        members_added=len(new_members - old_members),
        members_removed=len(old_members - new_members),
        notes=tuple(notes),
    )


def _name(user: User) -> str:
    return f"{user.first_name} {user.last_name}"
