"""Domain rules a schema cannot say, checked across every file in one pass.

Runs on documents that passed the schema. Each problem names the field at
fault; a duplicate also names where the first one was declared.

Where a `directory:` block names a file that is among those read, that file is the directory's
(directory.py) and the rules check the account the two kinds of file make together: a user declared
there and in a hand-written file is one user, whose names and id are the directory's, and a team with a
`directory_group` has its members there. The directory's file holds only what `directory pull` writes;
what a hand-written file says that the directory owns is refused at both places.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.core.diagnostics import DocPath, Finding, show_value
from reconciler.core.model import email_problem, member_email
from reconciler.loading.directory import DirectoryFile, find_directory_file, generated_findings, url_problem

#: A file's name and its parsed document.
Document = tuple[str, Mapping[str, Any]]
Place = tuple[str, DocPath]
NAMES = ("first_name", "last_name")


@dataclass
class _Serial:
    source: str
    path: DocPath
    seats: int
    ends: str | None = None  # the contract's last day, ISO 8601: no access to the serial may outlast it


@dataclass(frozen=True)
class _TeamGrant:
    """A team's access to one serial: the declared users it gives that serial to."""

    name: str
    members: frozenset[str]


@dataclass(frozen=True)
class _Person:
    """A user of the directory's file: where they are declared in it, and their id there."""

    path: DocPath
    id: Any


@dataclass(frozen=True)
class _Group:
    """A team of the directory's file: its name, where it is declared, and its declared members."""

    name: str
    place: Place
    members: frozenset[str]


def check_rules(documents: Sequence[Document], directory: DirectoryFile | None = None) -> list[Finding]:
    """Every broken domain rule in the merged documents; `directory` says which is the directory's file
    (found here when not given)."""
    found = find_directory_file(documents) if directory is None else directory
    generated = None if found.generated is None else documents[found.generated]
    written = [document for index, document in enumerate(documents) if index != found.generated]
    findings: list[Finding] = [] if generated is None else generated_findings(*generated)
    _check_directory_blocks(written, findings)
    users = _declared_users(written, generated, found, findings)
    serials = _check_contracts(written, users, findings)
    teams = _check_teams(written, generated, found, users, serials, findings)
    _check_access(written, serials, teams, findings)
    _check_expiring_roles(written, findings)
    _check_policy_agrees(written, findings)
    return findings


def _check_expiring_roles(documents: Sequence[Document], findings: list[Finding]) -> None:
    """A user who holds a role on a contract (its CM, a coordinator) cannot expire: the plan would
    remove someone the contract still names."""
    roles: dict[str, str] = {}
    for _, document in documents:
        for contract in document.get("contracts", ()):
            number = show_value(contract["number"])
            for coordinator in contract.get("coordinators", ()):
                roles.setdefault(coordinator["email"].lower(), f"a coordinator on contract {number}")
            roles[contract["manager"].lower()] = f"the Contract Manager of contract {number}"
    for source, document in documents:
        for index, user in enumerate(document.get("users", ())):
            role = roles.get(user["email"].lower()) if "expires" in user else None
            if role is not None:
                findings.append(
                    Finding(
                        source,
                        ("users", index, "expires"),
                        f"{show_value(user['email'])} is {role} and cannot expire; hand the role to "
                        "someone else first, or give their access an end date instead",
                    )
                )


def _check_policy_agrees(documents: Sequence[Document], findings: list[Finding]) -> None:
    first: tuple[str, str] | None = None
    for source, document in documents:
        policy = document.get("unmanaged_users")
        if policy is None:
            continue
        if first is None:
            first = (source, policy)
        elif policy != first[1]:
            findings.append(
                Finding(
                    source,
                    ("unmanaged_users",),
                    f"unmanaged_users is {show_value(policy)} here but {show_value(first[1])} "
                    "at {related}; the files must agree",
                    related=(first[0], ("unmanaged_users",)),
                )
            )


def _check_directory_blocks(documents: Sequence[Document], findings: list[Finding]) -> None:
    """One `directory:` block in all the files, read over TLS unless the server is this machine."""
    first: str | None = None
    for source, document in documents:
        block = document.get("directory")
        if block is None:
            continue
        if first is not None:
            findings.append(
                Finding(
                    source,
                    ("directory",),
                    "the account has one directory, declared once; first at {related}",
                    at_key=True,
                    related=(first, ("directory",)),
                )
            )
            continue
        first = source
        problem = url_problem(block["url"])
        if problem is not None:
            findings.append(Finding(source, ("directory", "url"), problem))


def _declared_users(
    written: Sequence[Document], generated: Document | None, found: DirectoryFile, findings: list[Finding]
) -> dict[str, Place]:
    """Every user, by e-mail: the directory's, then the hand-written files' (a directory user's
    hand-written entry adds to theirs). A user declared twice, a directory user's names written by hand
    and an id given twice are findings; so is a user with no names that the directory does not declare."""
    users: dict[str, Place] = {}
    ids: dict[str, tuple[str, Place]] = {}  # an id -> the user who has it and where
    people: dict[str, _Person] = {}  # the directory's users
    directory = ""
    if generated is not None:
        directory, document = generated
        for index, user in enumerate(document.get("users", ())):
            path: DocPath = ("users", index)
            email = user["email"].lower()
            if _first(directory, path, email, users, findings):
                people[email] = _Person(path, user.get("id"))
                _check_id(directory, path, user, email, ids, findings)
    claimed: dict[str, Place] = {}  # the directory users' hand-written entries
    for source, document in written:
        for index, user in enumerate(document.get("users", ())):
            path = ("users", index)
            email = user["email"].lower()
            person = people.get(email) if people else None
            if not _first(source, path, email, users if person is None else claimed, findings):
                continue
            if person is not None:
                _check_owned(source, path, user, email, (directory, person), findings)
                continue
            if "first_name" not in user or "last_name" not in user:
                _check_names(source, path, user, email, found, findings)
            if "id" in user:
                _check_id(source, path, user, email, ids, findings)
    return users


def _first(source: str, path: DocPath, email: str, seen: dict[str, Place], findings: list[Finding]) -> bool:
    """Whether the user at `path` is the first of their e-mail in `seen`, which notes them; a second is a
    finding. An e-mail the schema's pattern took may still be refused (a reserved domain, say)."""
    place = (source, path + ("email",))
    problem = email_problem(email)
    if problem is not None:
        findings.append(
            Finding(source, place[1], f"{show_value(email)} is not a valid e-mail address: {problem}")
        )
    if email in seen:
        findings.append(
            Finding(
                source,
                place[1],
                f"the user {show_value(email)} is declared twice (e-mails ignore case); first at {{related}}",
                related=seen[email],
            )
        )
        return False
    seen[email] = place
    return True


def _check_names(
    source: str,
    path: DocPath,
    user: Mapping[str, Any],
    email: str,
    found: DirectoryFile,
    findings: list[Finding],
) -> None:
    """A user the directory's file does not declare has both names (R7)."""
    missing = [name for name in NAMES if name not in user]
    if not missing:
        return
    if found.block is None:
        why = ""
    elif found.generated is None:
        why = (
            f" (only a user the directory's file declares may leave them out, and that file, "
            f"{show_value(found.expected)}, is not among the files read)"
        )
    else:
        why = " (only a user the directory's file declares may leave them out)"
    findings.append(_names_missing(source, path, email, missing, why))


def _names_missing(
    source: str, path: DocPath, email: object, missing: Sequence[str], why: str = ""
) -> Finding:
    """The finding of a user with no first name or no last name (`missing`); `why` ends the message."""
    who = f"the user {show_value(email)}" if isinstance(email, str) else "this user"
    give = "both" if len(missing) > 1 else "first_name and last_name"
    return Finding(source, path + (missing[0],), f"{who} has no {' and no '.join(missing)}; give {give}{why}")


def missing_names(documents: Sequence[tuple[str, Any]]) -> list[Finding]:
    """Each user with no first or last name in `documents`, which need not fit the schema, when none of
    them declares a `directory:` block (nor can: the caller knows every file parsed). So a file with
    other problems hears of these at once, as when the schema required the names."""
    if any(isinstance(document, dict) and "directory" in document for _, document in documents):
        return []  # only the rules, once every file is valid, can tell who the directory names
    findings = []
    for source, document in documents:
        users = document.get("users") if isinstance(document, dict) else None
        for index, user in enumerate(users if isinstance(users, list) else ()):
            missing = [name for name in NAMES if name not in user] if isinstance(user, dict) else []
            if missing:
                findings.append(_names_missing(source, ("users", index), user.get("email"), missing))
    return findings


def _check_owned(
    source: str,
    path: DocPath,
    user: Mapping[str, Any],
    email: str,
    directory: tuple[str, _Person],
    findings: list[Finding],
) -> None:
    """A directory user's hand-written entry: access and protection only, and the directory's own id."""
    generated, person = directory
    given = [name for name in NAMES if name in user]
    if given:
        findings.append(
            Finding(
                source,
                path + (given[0],),
                f"the names of {show_value(email)} come from the directory, at {{related}}; "
                "leave first_name and last_name out here",
                related=(generated, person.path + ("email",)),
            )
        )
    if "id" in user and person.id is not None and user["id"] != person.id:  # no id there: its own finding
        findings.append(
            Finding(
                source,
                path + ("id",),
                f"one e-mail with two ids: {show_value(email)} has the id {show_value(user['id'])} here and "
                f"{show_value(person.id)} in the directory's file, at {{related}}; leave `id` out here",
                related=(generated, person.path + ("id",)),
            )
        )


def _check_id(
    source: str,
    path: DocPath,
    user: Mapping[str, Any],
    email: str,
    ids: dict[str, tuple[str, Place]],
    findings: list[Finding],
) -> None:
    """No two users share one id."""
    ident = user.get("id")
    if ident is None:
        return
    first = ids.get(ident)
    if first is None:
        ids[ident] = (email, (source, path + ("id",)))
    else:
        findings.append(
            Finding(
                source,
                path + ("id",),
                f"two users with one id: {show_value(email)} has the id {show_value(ident)}, as "
                f"{show_value(first[0])} has at {{related}}; an id is one person's",
                related=first[1],
            )
        )


def _check_contracts(
    documents: Sequence[Document], users: Mapping[str, Place], findings: list[Finding]
) -> dict[str, _Serial]:
    contracts: dict[str, Place] = {}
    serials: dict[str, _Serial] = {}
    for source, document in documents:
        for index, contract in enumerate(document.get("contracts", ())):
            path: DocPath = ("contracts", index)
            number = contract["number"]
            if number in contracts:
                findings.append(
                    Finding(
                        source,
                        path + ("number",),
                        f"the contract {show_value(number)} is declared twice; first at {{related}}",
                        related=contracts[number],
                    )
                )
                continue
            contracts[number] = (source, path + ("number",))
            manager = contract["manager"].lower()
            ends = None if contract.get("ends") is None else str(contract["ends"])
            if manager not in users:
                findings.append(_undeclared(source, path + ("manager",), "Contract Manager", manager))
            coordinators = _check_coordinators(source, path, contract, users, findings)
            for serial_index, serial in enumerate(contract.get("serials", ())):
                serial_path = path + ("serials", serial_index)
                _check_serial(source, serial_path, serial, manager, coordinators, serials, findings, ends)
    return serials


def _check_coordinators(
    source: str,
    path: DocPath,
    contract: Mapping[str, Any],
    users: Mapping[str, Place],
    findings: list[Finding],
) -> set[str]:
    named: set[str] = set()
    for index, coordinator in enumerate(contract.get("coordinators", ())):
        email = coordinator["email"].lower()
        email_path = path + ("coordinators", index, "email")
        if email in named:
            findings.append(
                Finding(
                    source,
                    email_path,
                    f"{show_value(email)} is named twice as a coordinator of this contract",
                )
            )
        elif email not in users:
            findings.append(_undeclared(source, email_path, "Software Coordinator", email))
        named.add(email)
    return named


def _check_serial(
    source: str,
    path: DocPath,
    serial: Mapping[str, Any],
    manager: str,
    coordinators: set[str],
    serials: dict[str, _Serial],
    findings: list[Finding],
    ends: str | None = None,
) -> None:
    number = serial["number"]
    if number in serials:
        findings.append(
            Finding(
                source,
                path + ("number",),
                f"the serial {show_value(number)} is declared twice; first at {{related}}",
                related=(serials[number].source, serials[number].path + ("number",)),
            )
        )
        return
    serials[number] = _Serial(source, path, serial["seats"], ends)
    coordinator = serial.get("coordinator")
    if coordinator is None or coordinator.lower() in coordinators:
        return
    if coordinator.lower() == manager:
        message = (
            f"{show_value(coordinator)} is the Contract Manager, who coordinates every serial "
            "not given to a Software Coordinator (R4); leave `coordinator` out"
        )
    else:
        message = (
            f"{show_value(coordinator)} is not a coordinator of this contract; "
            "name them under the contract's `coordinators` first"
        )
    findings.append(Finding(source, path + ("coordinator",), message))


def _check_teams(
    written: Sequence[Document],
    generated: Document | None,
    found: DirectoryFile,
    users: Mapping[str, Place],
    serials: Mapping[str, _Serial],
    findings: list[Finding],
) -> dict[str, list[_TeamGrant]]:
    """Each team's name, members and access; returns, by serial, the teams that give it and to whom.

    A team with a `directory_group` has its members from its entry in the directory's file, and none
    by hand; each entry there belongs to such a team."""
    groups = {} if generated is None else _directory_teams(generated, users, findings)
    mapped: set[str] = set()
    names: dict[str, Place] = {}
    given: dict[str, list[_TeamGrant]] = {}
    for source, document in written:
        for index, team in enumerate(document.get("teams", ())):
            path: DocPath = ("teams", index)
            name = team["name"]
            key = name.casefold()  # "ignoring case" for every script, not only A-Z
            if key in names:
                findings.append(_team_twice(source, path, name, names[key]))
            else:
                names[key] = (source, path + ("name",))
            if "directory_group" in team:
                mapped.add(key)
                group = groups.get(key)
                _check_mapped(source, path, team, group, found, findings)
                members = frozenset() if group is None else group.members
            else:
                members = _check_members(source, path, team, users, findings)
            for number in _granted(source, path, team, serials, "team", findings):
                if members:
                    given.setdefault(number, []).append(_TeamGrant(name, members))
    for key, group in groups.items():
        if key not in mapped:
            findings.append(
                Finding(
                    group.place[0],
                    group.place[1],
                    f"the team {show_value(group.name)} is not mapped to a directory group in the "
                    "hand-written files; run `reconciler directory pull` to rewrite the file",
                )
            )
    return given


def _directory_teams(
    generated: Document, users: Mapping[str, Place], findings: list[Finding]
) -> dict[str, _Group]:
    """The teams of the directory's file, by name ignoring case, each with its declared members."""
    source, document = generated
    groups: dict[str, _Group] = {}
    for index, team in enumerate(document.get("teams", ())):
        path: DocPath = ("teams", index)
        name = team["name"]
        key = name.casefold()
        if key in groups:
            findings.append(_team_twice(source, path, name, groups[key].place))
            continue
        groups[key] = _Group(
            name, (source, path + ("name",)), _check_members(source, path, team, users, findings)
        )
    return groups


def _team_twice(source: str, path: DocPath, name: str, first: Place) -> Finding:
    return Finding(
        source,
        path + ("name",),
        f"the team {show_value(name)} is declared twice (team names ignore case); first at {{related}}",
        related=first,
    )


def _check_mapped(
    source: str,
    path: DocPath,
    team: Mapping[str, Any],
    group: _Group | None,
    found: DirectoryFile,
    findings: list[Finding],
) -> None:
    """A team with a `directory_group`: a directory to read it, the directory's file read, no members here."""
    mapping = path + ("directory_group",)
    name = show_value(team["name"])
    if found.block is None:
        findings.append(
            Finding(
                source,
                mapping,
                f"the team {name} has a directory_group, but no file declares the `directory:` block to read "
                "it from; declare one, or leave directory_group out and list the team's members",
            )
        )
    elif found.generated is None:
        findings.append(
            Finding(
                source,
                mapping,
                f"the directory's file {show_value(found.expected)} is not among the files read: read it "
                f"too, or run `reconciler directory pull` to write it; without it the team {name} would "
                "have no members",
            )
        )
    if "members" in team:
        if group is not None:
            where = "the directory's file, at {related}"
        else:
            where = (
                "its directory group (at {related}), which `reconciler directory pull` reads into the "
                "directory's file"
            )
        findings.append(
            Finding(
                source,
                path + ("members",),
                f"the members of the team {name} come from {where}; leave `members` out here",
                related=group.place if group is not None else (source, mapping),
            )
        )


def _check_members(
    source: str, path: DocPath, team: Mapping[str, Any], users: Mapping[str, Place], findings: list[Finding]
) -> frozenset[str]:
    """The team's members that are declared users; each one that is not, or is listed twice, is a finding."""
    listed: set[str] = set()
    declared: set[str] = set()
    for index, member in enumerate(team.get("members", ())):
        email = member_email(member).lower()
        at: DocPath = path + ("members", index) if type(member) is str else path + ("members", index, "email")
        if email in listed:
            message = f"{show_value(email)} is listed twice as a member of this team"
            findings.append(Finding(source, at, message))
            continue
        listed.add(email)
        if email in users:
            declared.add(email)
        else:
            findings.append(_undeclared(source, at, "team member", email))
    return frozenset(declared)


def _granted(
    source: str,
    path: DocPath,
    holder: Mapping[str, Any],
    serials: Mapping[str, _Serial],
    whose: str,
    findings: list[Finding],
) -> list[str]:
    """The declared serials a user's or team's `access` lists, each once; the rest are findings."""
    numbers: dict[str, None] = {}  # a set that keeps the file's order
    for index, access in enumerate(holder.get("access", ())):
        number = access["serial"]
        if number not in serials:
            findings.append(
                Finding(
                    source,
                    path + ("access", index, "serial"),
                    f"no contract declares the serial {show_value(number)}",
                )
            )
        elif number in numbers:
            findings.append(
                Finding(
                    source,
                    path + ("access", index, "serial"),
                    f"access to the serial {show_value(number)} is listed twice for this {whose}",
                )
            )
        else:
            numbers[number] = None
            ends, expires = serials[number].ends, access.get("expires")
            if ends is not None and expires is not None and str(expires) > ends:
                findings.append(
                    Finding(
                        source,
                        path + ("access", index, "expires"),
                        f"the access expires on {expires} but the contract of serial {show_value(number)} "
                        f"ends on {ends}; end it on {ends} or earlier",
                    )
                )
    return list(numbers)


def _check_access(
    documents: Sequence[Document],
    serials: Mapping[str, _Serial],
    teams: Mapping[str, Sequence[_TeamGrant]],
    findings: list[Finding],
) -> None:
    """R8: no serial has more users with access than seats, a user with access several ways counted once."""
    holders: Counter[str] = Counter()
    # Who holds a serial directly is only needed where a team gives it too: there the count is of
    # distinct users. Elsewhere a count is enough, and cheaper.
    direct: dict[str, set[str]] = {number: set() for number in teams}
    for source, document in documents:
        for index, user in enumerate(document.get("users", ())):
            for number in _granted(source, ("users", index), user, serials, "user", findings):
                holders[number] += 1
                if number in direct:
                    direct[number].add(user["email"].lower())
    for number in sorted(holders.keys() | teams.keys()):
        serial = serials[number]
        if number in teams:
            grants = teams[number]
            if len(direct[number]) + sum(len(grant.members) for grant in grants) <= serial.seats:
                continue  # fits even if nobody had it two ways: the union is not needed
            holding = direct[number].union(*(grant.members for grant in grants))
            if len(holding) > serial.seats:
                message = _over_filled(number, serial.seats, len(direct[number]), grants, len(holding))
                findings.append(Finding(serial.source, serial.path + ("seats",), message))
        elif holders[number] > serial.seats:
            findings.append(
                Finding(
                    serial.source,
                    serial.path + ("seats",),
                    f"the serial {show_value(number)} has {serial.seats} seats but {holders[number]} users "
                    "are given access to it (R8); add seats or remove access",
                )
            )


def _over_filled(number: str, seats: int, direct: int, grants: Sequence[_TeamGrant], holding: int) -> str:
    """R8 broken on a serial teams give: how many users have it directly and through each team."""
    sources = [f"{direct} directly"] if direct else []
    ordered = sorted(grants, key=lambda grant: (grant.name.casefold(), grant.name))
    sources += [f"{len(grant.members)} through the team {show_value(grant.name)}" for grant in ordered]
    counted_once = ""
    if direct + sum(len(grant.members) for grant in grants) > holding:
        counted_once = " (a user with access more than one way counts once)"
    return (
        f"the serial {show_value(number)} has {seats} seat{'' if seats == 1 else 's'} but {holding} users "
        f"have access to it (R8): {', '.join(sources)}{counted_once}; "
        "add seats, remove access, or take members off a team"
    )


def _undeclared(source: str, path: DocPath, role: str, email: str) -> Finding:
    return Finding(
        source,
        path,
        f"the {role} {show_value(email)} is not a declared user; add them under `users`",
    )
