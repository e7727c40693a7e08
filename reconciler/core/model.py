"""The account as immutable values: what diff and plan consume.

Built only from documents that passed the schema and the domain rules, so
it trusts its input. E-mail addresses are lower-cased here, once; every
collection is sorted by its key, so two files that say the same thing in a
different order make equal models.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from typing import Any

#: The published JSON Schema of this model's YAML: its name in `schemas/` and in the wheel, the file
#: `reconciler schema --out` writes beside the account's files, and what their editor modeline names.
SCHEMA_FILE = "desired-state.schema.json"

#: An e-mail address as the published schema's `$defs/email` writes it (R7): an RFC 5322 dot-atom of at
#: most 64 characters, `@`, a domain of labels of letters, digits and hyphens, none starting with two
#: characters and `--` but Punycode's `xn--`, the last ending in a letter: all of email-validator's
#: syntax that a pattern can say. It answers for most addresses at once; `email_problem` asks
#: email-validator about the rest, and about every domain once.
EMAIL = re.compile(
    r"^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:(?!(?![Xx][Nn])[A-Za-z0-9-]{2}--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?!(?![Xx][Nn])[A-Za-z0-9-]{2}--)(?:[A-Za-z0-9][A-Za-z0-9-]{0,61})?[A-Za-z](?![\s\S])"
)
#: RFC 5321's limits: the part before the @ and the whole address.
MAX_LOCAL_PART = 64
MAX_ADDRESS = 254


def email_problem(text: str) -> str | None:
    """Why `text` is not an e-mail address reconciler can send to, or None when it is one.

    The judge is email-validator (syntax only: no DNS, no internationalised addresses), with RFC
    5321's 64 characters before the @ on top; a plain address it would take is recognised by EMAIL
    without asking, and its domain asked once.
    """
    local, _, domain = text.rpartition("@")
    if len(local) > MAX_LOCAL_PART:
        return f"the part before the @-sign is {len(local)} characters; at most {MAX_LOCAL_PART} are allowed"
    if len(text) <= MAX_ADDRESS and EMAIL.fullmatch(text) and _domain_problem(domain.lower()) is None:
        return None
    return (
        _validator_problem(text)
        or "it is not a plain address: letters, digits and .!#$%&'*+/=?^_`{|}~- before the @-sign"
    )


def is_email(text: str) -> bool:
    """Whether `text` is an e-mail address reconciler can send to (see `email_problem`)."""
    return email_problem(text) is None


@cache
def _domain_problem(domain: str) -> str | None:
    return _validator_problem(f"x@{domain}")


def _validator_problem(address: str) -> str | None:
    # Imported here: loading it costs more than a command that reads no address needs.
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        said = str(error).rstrip(".")  # a clause of our own messages: "… is not a valid e-mail address: …"
        return said[:1].lower() + said[1:]
    return None


@dataclass(frozen=True, slots=True)
class Shipping:
    """Where a coordinator's media and documents are sent."""

    name: str
    address: str
    country: str


@dataclass(frozen=True, slots=True)
class Coordinator:
    """A Software Coordinator named on one contract."""

    email: str
    manage_users: bool = False
    shipping: Shipping | None = None


@dataclass(frozen=True, slots=True)
class Serial:
    """A serial number on a contract. `coordinator` None means the Contract Manager (R4)."""

    number: str
    product: str
    seats: int
    group: str | None = None
    coordinator: str | None = None
    protect: bool = False


@dataclass(frozen=True, slots=True)
class Contract:
    """A contract, its one Contract Manager (R1), its coordinators and serials."""

    number: str
    manager: str
    coordinators: tuple[Coordinator, ...] = ()
    serials: tuple[Serial, ...] = ()
    protect: bool = False
    ends: str | None = None  # the day the contract ends, ISO 8601 ("2027-03-31"); None when not said

    def coordinator_of(self, serial: Serial) -> str:
        """Who coordinates `serial`: its named SC, or else the CM (R4)."""
        return serial.coordinator or self.manager


@dataclass(frozen=True, slots=True)
class Access:
    """A user's access to one serial (R8); `expires` the last day of a user's own grant, ISO 8601."""

    serial: str
    download: bool = False
    expires: str | None = None


@dataclass(frozen=True, slots=True)
class User:
    """A person, known by lower-case e-mail (R7), and by `id` where the directory gives one.

    `id` is the directory's immutable id (`entryUUID`, `objectGUID`): the store keeps it, so a user
    whose e-mail the directory changes is the same user under a new address. The names are None only
    in one file's own part of the account, where a hand-written file gives a directory user access
    and the directory's file gives their names; the merged account always has them.
    """

    email: str
    first_name: str | None
    last_name: str | None
    access: tuple[Access, ...] = ()
    protect: bool = False
    id: str | None = None
    expires: str | None = None  # the last day the user is in the account, ISO 8601; None: for good


@dataclass(frozen=True, slots=True)
class Team:
    """A group of users that gives each of its members access to serials, as a directory group does."""

    name: str
    description: str | None = None
    members: tuple[str, ...] = ()  # lower-case e-mails, sorted
    access: tuple[Access, ...] = ()
    #: The directory group whose members this team's are (`directory pull` writes them); YAML only.
    directory_group: str | None = None
    #: The members who are in the team until a day (ISO 8601), by e-mail, sorted: the rest are for good.
    member_expires: tuple[tuple[str, str], ...] = ()

    @property
    def source(self) -> str:
        """How a grant names this team among its sources (`via`)."""
        return TEAM_SOURCE + self.name


class Flavour(StrEnum):
    """Which directory server a `directory:` block reads, for its attributes' defaults."""

    ACTIVE_DIRECTORY = "active_directory"
    OPENLDAP = "openldap"


@dataclass(frozen=True, slots=True)
class DirectoryAttributes:
    """The LDAP attributes a person and a group are read from."""

    id: str
    email: str
    first_name: str
    last_name: str
    member: str


#: Each flavour's attributes; a `directory:` block's `attributes` overrides any of them.
DEFAULT_ATTRIBUTES = {
    Flavour.ACTIVE_DIRECTORY: DirectoryAttributes("objectGUID", "mail", "givenName", "sn", "member"),
    Flavour.OPENLDAP: DirectoryAttributes("entryUUID", "mail", "givenName", "sn", "member"),
}


#: Seconds to wait for the directory to answer one request, where the block does not say.
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Directory:
    """Where the account's people come from: an LDAP directory, and the file `directory pull` writes.

    `output` and `ca_file` are as the `directory:` block says them, relative to `declared_in`, the
    folder of the file that holds the block. `disabled_filter` is an LDAP filter of accounts to leave
    out beside the flavour's own test (AD's `userAccountControl` disabled bit, OpenLDAP's
    `pwdAccountLockedTime`).
    """

    url: str
    base_dn: str
    flavour: Flavour
    output: str
    attributes: DirectoryAttributes
    bind_dn: str | None = None
    disabled_filter: str | None = None
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    declared_in: str = "."


#: How a grant names its sources (`via`): a user's own grant, and a team's by its name after the prefix.
DIRECT = "direct"
TEAM_SOURCE = "team:"


@dataclass(frozen=True, slots=True)
class Policy:
    """A policy rule (`policies:`): where the CEL expression `when` holds for a record of kind
    `applies_to` that a plan touches, `effect` follows (reconciler/policy, engine/policies.py).

    `effect` is `deny`, `warn` or `require_approvals` (with `approvals`, how many reviews); `message`
    is what a plan says where it holds, None for the expression itself."""

    id: str
    applies_to: str
    when: str
    effect: str
    message: str | None = None
    approvals: int | None = None


@dataclass(frozen=True, slots=True)
class DesiredState:
    """The whole account as the YAML declares it."""

    contracts: tuple[Contract, ...] = ()
    users: tuple[User, ...] = ()
    unmanaged_users: str | None = None  # the policy for users the store has and the YAML does not
    teams: tuple[Team, ...] = ()
    directory: Directory | None = None
    policies: tuple[Policy, ...] = ()  # by id


@dataclass(frozen=True, slots=True)
class Grant:
    """A user's effective access to one serial: their own grant and their teams', together.

    `download` when any source gives it; `via` the sources, sorted (`"direct"`,
    `"team:NAME"`); `direct_download` the user's own grant's download, None
    when they have no grant of their own; `expires` the last day of their own grant, if it has one.
    """

    download: bool
    via: tuple[str, ...]
    direct_download: bool | None = None
    expires: str | None = None


#: Effective access, by (user, serial).
Grants = dict[tuple[str, str], Grant]

_ONLY_DIRECT = (DIRECT,)


def effective_access(state: DesiredState) -> Grants:
    """Every user's effective access to every serial: direct grants and team grants, together."""
    grants = team_grants(state.teams)
    for user in state.users:
        for access in user.access:
            key = (user.email, access.serial)
            through_teams = grants.get(key)
            if through_teams is None:
                grants[key] = Grant(access.download, _ONLY_DIRECT, access.download, access.expires)
            else:
                download = access.download or through_teams.download
                grants[key] = Grant(download, (DIRECT, *through_teams.via), access.download, access.expires)
    return grants


def team_grants(teams: Iterable[Team]) -> Grants:
    """The access `teams` give their members, each grant's sources sorted as the teams are (by name)."""
    grants: Grants = {}
    for team in teams:
        source = team.source
        for member in team.members:
            for access in team.access:
                key = (member, access.serial)
                found = grants.get(key)
                if found is None:
                    grants[key] = Grant(access.download, (source,))
                else:
                    grants[key] = Grant(found.download or access.download, (*found.via, source))
    return grants


def build_state(
    documents: Iterable[Mapping[str, Any]],
    generated: Mapping[str, Any] | None = None,
    declared_in: str = ".",
) -> DesiredState:
    """The model of validated documents, merged.

    `documents` are the hand-written files; `generated`, when it was read, the directory's file (the
    one `directory pull` writes). A user it declares takes their names and id from it, and their access
    and protection from a hand-written entry of the same e-mail, if any; a team with a `directory_group`
    takes its members from its entry there (same name, ignoring case) and the rest from its
    hand-written entry. Each record is looked up once, by e-mail or by name. `declared_in` is the folder
    of the file that holds the `directory:` block, which its paths are relative to.
    """
    people: dict[str, Mapping[str, Any]] = {}
    groups: dict[str, Mapping[str, Any]] = {}
    if generated is not None:
        people = {raw["email"].lower(): raw for raw in generated.get("users", ())}
        groups = {raw["name"].casefold(): raw for raw in generated.get("teams", ())}
    contracts: list[Contract] = []
    users: list[User] = []
    teams: list[Team] = []
    rules: list[Policy] = []
    policies = set()
    directory = None
    for document in documents:
        contracts.extend(_contract(raw) for raw in document.get("contracts", ()))
        if people:
            users.extend(
                _user(raw, people.pop(raw["email"].lower(), None)) for raw in document.get("users", ())
            )
        else:
            users.extend(_user(raw) for raw in document.get("users", ()))
        teams.extend(
            _team(raw, groups.get(raw["name"].casefold()) if "directory_group" in raw else None)
            for raw in document.get("teams", ())
        )
        rules.extend(_policy(raw) for raw in document.get("policies", ()))
        if "unmanaged_users" in document:
            policies.add(document["unmanaged_users"])
        if directory is None and "directory" in document:  # the rules refuse a second one
            directory = _directory(document["directory"], declared_in)
    users.extend(_user(raw) for raw in people.values())  # the directory's users no hand-written file names
    return DesiredState(
        contracts=tuple(sorted(contracts, key=lambda c: c.number)),
        users=tuple(sorted(users, key=lambda u: u.email)),
        unmanaged_users=min(policies) if policies else None,  # the rules refuse files that disagree
        teams=tuple(sorted(teams, key=lambda t: t.name)),
        directory=directory,
        policies=tuple(sorted(rules, key=lambda p: p.id)),
    )


def _policy(raw: Mapping[str, Any]) -> Policy:
    return Policy(
        id=raw["id"],
        applies_to=raw["applies_to"],
        when=raw["when"],
        effect=raw["effect"],
        message=raw.get("message"),
        approvals=None if raw.get("approvals") is None else int(raw["approvals"]),  # JSON Schema: 2.0 is 2
    )


def _contract(raw: Mapping[str, Any]) -> Contract:
    return Contract(
        number=raw["number"],
        manager=raw["manager"].lower(),
        coordinators=tuple(
            sorted((_coordinator(c) for c in raw.get("coordinators", ())), key=lambda c: c.email)
        ),
        serials=tuple(sorted((_serial(s) for s in raw.get("serials", ())), key=lambda s: s.number)),
        protect=raw.get("protect", False),
        ends=_iso_date(raw.get("ends")),
    )


def _iso_date(value: Any) -> str | None:
    """A date as ISO 8601 text, whether YAML gave it quoted (text) or plain (a date)."""
    return None if value is None else str(value)


def _coordinator(raw: Mapping[str, Any]) -> Coordinator:
    shipping = raw.get("shipping")
    return Coordinator(
        email=raw["email"].lower(),
        manage_users=raw.get("manage_users", False),
        shipping=Shipping(shipping["name"], shipping["address"], shipping["country"]) if shipping else None,
    )


def _serial(raw: Mapping[str, Any]) -> Serial:
    coordinator = raw.get("coordinator")
    return Serial(
        number=raw["number"],
        product=raw["product"],
        seats=int(raw["seats"]),
        group=raw.get("group"),
        coordinator=coordinator.lower() if coordinator else None,
        protect=raw.get("protect", False),
    )


def _user(raw: Mapping[str, Any], directory: Mapping[str, Any] | None = None) -> User:
    """A user as `raw` declares them; with the directory's entry of them, their names and id from it."""
    person = raw if directory is None else directory
    return User(
        email=raw["email"].lower(),
        first_name=person.get("first_name"),
        last_name=person.get("last_name"),
        access=_access(raw),
        protect=raw.get("protect", False),
        id=person.get("id"),
        expires=_iso_date(raw.get("expires")),
    )


def _team(raw: Mapping[str, Any], directory: Mapping[str, Any] | None = None) -> Team:
    """A team as `raw` declares it; with the directory's entry of it, its members from that."""
    members = (raw if directory is None else directory).get("members", ())
    emails = {member_email(member).lower(): member for member in members}
    return Team(
        name=raw["name"],
        description=raw.get("description"),
        members=tuple(sorted(emails)),
        access=_access(raw),
        directory_group=raw.get("directory_group"),
        member_expires=tuple(
            sorted(
                (email, str(member["expires"]))
                for email, member in emails.items()
                if not isinstance(member, str) and member.get("expires") is not None
            )
        ),
    )


def member_email(member: str | Mapping[str, Any]) -> str:
    """A team member's e-mail as a file lists it: the address alone, or `{email: …, expires: …}`."""
    return member if isinstance(member, str) else str(member["email"])


def _directory(raw: Mapping[str, Any], declared_in: str) -> Directory:
    flavour = Flavour(raw["flavour"])
    return Directory(
        url=raw["url"],
        base_dn=raw["base_dn"],
        flavour=flavour,
        output=raw["output"],
        attributes=replace(DEFAULT_ATTRIBUTES[flavour], **raw.get("attributes", {})),
        bind_dn=raw.get("bind_dn"),
        disabled_filter=raw.get("disabled_filter"),
        ca_file=raw.get("ca_file"),
        timeout=float(raw.get("timeout", DEFAULT_TIMEOUT)),
        declared_in=declared_in,
    )


def _access(raw: Mapping[str, Any]) -> tuple[Access, ...]:
    access = (
        Access(a["serial"], a.get("download", False), _iso_date(a.get("expires")))
        for a in raw.get("access", ())
    )
    return tuple(sorted(access, key=lambda a: a.serial))
