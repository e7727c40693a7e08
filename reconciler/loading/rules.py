"""Domain rules a schema cannot say, checked across every file in one pass.

Runs on documents that passed the schema. Each problem names the field at
fault; a duplicate also names where the first one was declared.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.core.diagnostics import DocPath, Finding, show_value
from reconciler.core.model import email_problem

#: A file's name and its parsed document.
Document = tuple[str, Mapping[str, Any]]
Place = tuple[str, DocPath]


@dataclass
class _Serial:
    source: str
    path: DocPath
    seats: int


@dataclass(frozen=True)
class _TeamGrant:
    """A team's access to one serial: the declared users it gives that serial to."""

    name: str
    members: frozenset[str]


def check_rules(documents: Sequence[Document]) -> list[Finding]:
    """Every broken domain rule in the merged documents."""
    findings: list[Finding] = []
    users = _declared_users(documents, findings)
    serials = _check_contracts(documents, users, findings)
    teams = _check_teams(documents, users, serials, findings)
    _check_access(documents, serials, teams, findings)
    _check_policy_agrees(documents, findings)
    return findings


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


def _declared_users(documents: Sequence[Document], findings: list[Finding]) -> dict[str, Place]:
    users: dict[str, Place] = {}
    for source, document in documents:
        for index, user in enumerate(document.get("users", ())):
            email = user["email"].lower()
            place = (source, ("users", index, "email"))
            problem = email_problem(email)  # what the schema's pattern cannot tell: a reserved domain, say
            if problem is not None:
                findings.append(
                    Finding(source, place[1], f"{show_value(email)} is not a valid e-mail address: {problem}")
                )
            if email in users:
                findings.append(
                    Finding(
                        source,
                        place[1],
                        f"the user {show_value(email)} is declared twice (e-mails ignore case); "
                        "first at {related}",
                        related=users[email],
                    )
                )
            else:
                users[email] = place
    return users


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
            if manager not in users:
                findings.append(_undeclared(source, path + ("manager",), "Contract Manager", manager))
            coordinators = _check_coordinators(source, path, contract, users, findings)
            for serial_index, serial in enumerate(contract.get("serials", ())):
                serial_path = path + ("serials", serial_index)
                _check_serial(source, serial_path, serial, manager, coordinators, serials, findings)
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
    serials[number] = _Serial(source, path, serial["seats"])
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
    documents: Sequence[Document],
    users: Mapping[str, Place],
    serials: Mapping[str, _Serial],
    findings: list[Finding],
) -> dict[str, list[_TeamGrant]]:
    """Each team's name, members and access; returns, by serial, the teams that give it and to whom."""
    names: dict[str, Place] = {}
    given: dict[str, list[_TeamGrant]] = {}
    for source, document in documents:
        for index, team in enumerate(document.get("teams", ())):
            path: DocPath = ("teams", index)
            name = team["name"]
            key = name.casefold()  # "ignoring case" for every script, not only A-Z
            if key in names:
                findings.append(
                    Finding(
                        source,
                        path + ("name",),
                        f"the team {show_value(name)} is declared twice (team names ignore case); "
                        "first at {related}",
                        related=names[key],
                    )
                )
            else:
                names[key] = (source, path + ("name",))
            members = _check_members(source, path, team, users, findings)
            for number in _granted(source, path, team, serials, "team", findings):
                if members:
                    given.setdefault(number, []).append(_TeamGrant(name, members))
    return given


def _check_members(
    source: str, path: DocPath, team: Mapping[str, Any], users: Mapping[str, Place], findings: list[Finding]
) -> frozenset[str]:
    """The team's members that are declared users; each one that is not, or is listed twice, is a finding."""
    listed: set[str] = set()
    declared: set[str] = set()
    for index, member in enumerate(team.get("members", ())):
        email = member.lower()
        if email in listed:
            message = f"{show_value(email)} is listed twice as a member of this team"
            findings.append(Finding(source, path + ("members", index), message))
            continue
        listed.add(email)
        if email in users:
            declared.add(email)
        else:
            findings.append(_undeclared(source, path + ("members", index), "team member", email))
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
