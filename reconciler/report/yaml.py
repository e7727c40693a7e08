"""The account as desired-state YAML: what `export` prints, and what a plan of it leaves unchanged.

Written by hand for this one shape of document, because PyYAML's emitter
is pure Python and took longer than reading the file back. A string is
written plain only when it is plainly safe (letters, digits and a few
marks, and a string under YAML 1.1 and 1.2 alike: not `NO`, `on`, `0755`,
`0o17`, `null`); everything else, and every contract and serial number, is
double-quoted as JSON quotes it, which YAML reads the same. The property
tests check both versions read every export back as it was.

Each file starts with the YAML language server's modeline naming the schema
beside it (`reconciler schema --out FOLDER/desired-state.schema.json` puts
it there): a path into this repository would mean nothing where the file
lives.

`fmt` writes each file the same way, as the part of the account the file
declares (`part_yaml`); layout.py puts the file's comments back in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, replace
from typing import Any

import yaml

from reconciler.core.errors import InputError
from reconciler.core.model import (
    DEFAULT_ATTRIBUTES,
    DEFAULT_TIMEOUT,
    SCHEMA_FILE,
    Access,
    Contract,
    DesiredState,
    Directory,
    Policy,
    Serial,
    Team,
    User,
)
from reconciler.core.scalars import plain_scalar
from reconciler.core.shapes import (
    access_entry_record,
    contract_record,
    coordinator_record,
    serial_record,
    team_record,
    user_record,
)


def modeline(schema: str = SCHEMA_FILE) -> str:
    """The first line of a file written: the YAML language server's modeline, naming the schema at
    `schema`, a path from the file's folder."""
    return f"# yaml-language-server: $schema={schema}\n"


#: The first line of every file written: editors with the YAML language server check the file against
#: the schema in the same folder.
MODELINE = modeline()

#: The top-level keys, in the order `export` writes them and `fmt` puts each file's in (`export` never
#: writes `unmanaged_users`, a setting of the files; it stands by `version`, as another one).
TOP_KEYS = ("version", "unmanaged_users", "directory", "contracts", "users", "teams", "policies")

#: Where a node is in a document: the keys from the top, and in a list, the entry by its identity in a
#: 1-tuple: a record's first field (e-mail, number, serial or name, as written), or the entry itself.
NodePath = tuple[str | tuple[str], ...]

_STR_TAG = "tag:yaml.org,2002:str"
_YAML_1_1 = yaml.resolver.Resolver()
#: Characters a plain scalar may hold beside letters and digits, in block context, anywhere but first.
_PLAIN_EXTRA = frozenset(" ._@/()&+',-")
#: Most of what a large file holds, known plain without asking the resolvers of either YAML version
#: (tests/test_export_scalars.py holds the two to one answer): an e-mail address (no number, boolean,
#: null or date of either has an @); a lower-case UUID (its first group is eight characters: no date,
#: and its dashes make it no number); a word of more than five ASCII letters (the longest boolean or
#: null is `false`); letters and digits that start with a letter and hold a digit (no number starts
#: with a letter, no boolean or null has a digit).
_SURELY_PLAIN = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._+-]*@[A-Za-z0-9][A-Za-z0-9.-]*"
    r"|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}"
    r"|[A-Za-z]{6,}"
    r"|[A-Za-z][A-Za-z0-9]*[0-9][A-Za-z0-9]*"
)
#: Characters JSON leaves raw that YAML 1.1 reads as line breaks or a byte-order mark.
_YAML_ONLY_ESCAPES = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029", "\ufeff": "\\ufeff"}


class _Quoted(str):
    """A contract or serial number, or a date: always quoted, as the schema asks people to write them
    (a plain 2027-03-31 is a timestamp to YAML 1.1)."""


class _Expression(str):
    """A policy rule's CEL expression: single-quoted where it holds a double quote and no single one,
    as people write them, so that its string literals need no escapes."""


def _scalar(value: object) -> str:
    """`value` as a YAML scalar that reads back the same under YAML 1.1, 1.2 and our loader."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    assert isinstance(value, str)
    if not isinstance(value, _Quoted) and _plain_is_safe(value):
        return value
    if isinstance(value, _Expression) and '"' in value and "'" not in value and value.isprintable():
        return f"'{value}'"  # its string literals read as written, with no escapes
    # A JSON string is a YAML double-quoted scalar; escape what YAML alone treats specially.
    quoted = json.dumps(value, ensure_ascii=False)
    return "".join(_YAML_ONLY_ESCAPES.get(character, character) for character in quoted)


def _plain_is_safe(value: str) -> bool:
    """Whether `value` may stand unquoted: only letters, digits and a few marks, starting with a letter
    or digit, not ending in a space, and a string under both YAML versions (not `NO`, `on`, `0755`)."""
    if _SURELY_PLAIN.fullmatch(value):
        return True
    if not value or not value[0].isalnum() or value[-1] == " ":
        return False
    if not all(character.isalnum() or character in _PLAIN_EXTRA for character in value):
        return False
    return isinstance(plain_scalar(value), str) and (
        _YAML_1_1.resolve(yaml.ScalarNode, value, (True, False)) == _STR_TAG  # type: ignore[no-untyped-call]
    )


def _emit(
    value: dict[str, Any],
    indent: int,
    out: list[str],
    first_prefix: str = "",
    at: NodePath = (),
    paths: list[NodePath] | None = None,
) -> None:
    """Block-style YAML of a mapping: lists indented under their key, as people write them. With
    `paths`, each line's place in the document (see NodePath) is appended to it as the line is."""
    pad = " " * indent
    for index, (key, item) in enumerate(value.items()):
        lead = first_prefix if index == 0 and first_prefix else pad
        if paths is not None:
            paths.append((*at, key))
        if isinstance(item, dict):
            out.append(f"{lead}{key}:")
            _emit(item, indent + 2, out, at=(*at, key), paths=paths)
        elif isinstance(item, list):
            if not item:
                out.append(f"{lead}{key}: []")
                continue
            out.append(f"{lead}{key}:")
            for element in item:
                if isinstance(element, dict):
                    # A record is named by its first field, its identity (e-mail, number, serial, name).
                    where = (*at, key, (next(iter(element.values())),)) if paths is not None else at
                    _emit(element, indent + 4, out, " " * (indent + 2) + "- ", where, paths)
                else:
                    if paths is not None:
                        paths.append((*at, key, (element,)))
                    out.append(f"{pad}  - {_scalar(element)}")
        else:
            out.append(f"{lead}{key}: {_scalar(item)}")


def export_yaml(state: DesiredState, contract: str | None = None) -> str:
    """`state` as YAML, after the MODELINE; with `contract`, only it, the teams that give its serials and
    the users it concerns (InputError if it has none). A user's own grants stay under the user, a
    team's under it."""
    contracts, users, teams = list(state.contracts), list(state.users), list(state.teams)
    if contract is not None:
        contracts, teams, people = contract_part(state, contract)
        serials = {s.number for c in contracts for s in c.serials}
        users = [
            _only_access_to(u, serials)
            for u in users
            if u.email in people or any(a.serial in serials for a in u.access)
        ]
    keys = ("version", "contracts", "users", *(("teams",) if teams else ()))
    return MODELINE + part_yaml(DesiredState(tuple(contracts), tuple(users), teams=tuple(teams)), keys)


def part_yaml(part: DesiredState, keys: Collection[str]) -> str:
    """The top-level `keys` of `part`, in the order and the layout `export` writes: the file of an
    account that declares those keys, as `fmt` writes it."""
    return _document_text(_part_document(part, keys))


def part_lines(part: DesiredState, keys: Collection[str]) -> tuple[list[str], list[NodePath]]:
    """The lines of `part_yaml`, without their line breaks, and where in the document each one is."""
    lines: list[str] = []
    paths: list[NodePath] = []
    _emit(_part_document(part, keys), 0, lines, paths=paths)
    return lines, paths


def _part_document(part: DesiredState, keys: Collection[str]) -> dict[str, Any]:
    unknown = set(keys).difference(TOP_KEYS)
    if unknown:  # the schema allows no other; writing the rest would lose what these hold
        raise ValueError(f"no top-level key {', '.join(sorted(unknown))} in desired state")
    values: dict[str, Callable[[], Any]] = {
        "version": lambda: 1,
        "unmanaged_users": lambda: part.unmanaged_users,
        "directory": lambda: _directory(part.directory),
        "contracts": lambda: [_contract(c) for c in part.contracts],
        "users": lambda: [_user(u) for u in part.users],
        "teams": lambda: [_team(t) for t in part.teams],
        "policies": lambda: [_policy(p) for p in part.policies],
    }
    return {key: values[key]() for key in TOP_KEYS if key in keys}


def contract_part(state: DesiredState, contract: str) -> tuple[list[Contract], list[Team], set[str]]:
    """What `export --contract` covers of `state`: the contract, the teams that give its serials (their
    access cut to those serials) and the people it concerns by role: its Contract Manager, its
    coordinators and those teams' members. InputError when the store has no such contract."""
    contracts = [c for c in state.contracts if c.number == contract]
    if not contracts:
        raise InputError(f"no contract {contract} in the store")
    serials = {s.number for c in contracts for s in c.serials}
    teams = [
        replace(t, access=tuple(a for a in t.access if a.serial in serials))
        for t in state.teams
        if any(a.serial in serials for a in t.access)
    ]
    people = {p for c in contracts for p in (c.manager, *(k.email for k in c.coordinators))}
    people.update(member for t in teams for member in t.members)
    return contracts, teams, people


def users_yaml(users: Iterable[User], preamble: str = "") -> str:
    """A file of `users` alone (`version: 1` and `users:`), as `export_yaml` writes them, after the
    MODELINE and the comment lines of `preamble`: the file `import csv` makes, for the contracts'
    files beside it."""
    return generated_yaml(DesiredState(users=tuple(users)), preamble)


def generated_yaml(part: DesiredState, header: str, schema: str = SCHEMA_FILE) -> str:
    """A file another command makes of the users and teams of `part`, as `export_yaml` writes them,
    after the MODELINE (naming `schema`, a path from the file's folder) and the comment lines of
    `header`: the directory's file `directory pull` writes (the users with their ids, each team with
    its name and members only)."""
    keys = ("version", "users", *(("teams",) if part.teams else ()))
    document = _part_document(part, keys)
    for team in document.get("teams", ()):
        team.setdefault("members", [])  # a group read empty says so, where a reviewer sees it
    return modeline(schema) + header + _document_text(document)


def _document_text(document: dict[str, Any]) -> str:
    lines: list[str] = []
    _emit(document, 0, lines)
    return "\n".join(lines) + "\n"


def _only_access_to(user: User, serials: set[str]) -> User:
    return replace(user, access=tuple(a for a in user.access if a.serial in serials))


def _contract(contract: Contract) -> dict[str, Any]:
    data: dict[str, Any] = {"number": _Quoted(contract.number), **contract_record(contract)}
    if "ends" in data:
        data["ends"] = _Quoted(data["ends"])
    if contract.protect:
        data["protect"] = True
    if contract.coordinators:
        data["coordinators"] = [
            _without_defaults({"email": k.email, **coordinator_record(k)}) for k in contract.coordinators
        ]
    if contract.serials:
        data["serials"] = [_serial(s) for s in contract.serials]
    return data


def _serial(serial: Serial) -> dict[str, Any]:
    record = {"number": _Quoted(serial.number), **serial_record(serial), "coordinator": serial.coordinator}
    return _without_defaults({**record, "protect": serial.protect})


def _user(user: User) -> dict[str, Any]:
    """A user as the YAML declares them: the directory's `id` by the e-mail, where they have one; no
    names where a file's part of the account has none (a directory user's access, by hand)."""
    record = user_record(user)
    data: dict[str, Any] = {"email": user.email}
    if "id" in record:
        data["id"] = record.pop("id")
    expires = record.pop("expires", None)
    data.update((name, value) for name, value in record.items() if value is not None)
    if user.protect:
        data["protect"] = True
    if expires is not None:  # after protect, as the schema lists a user's fields
        data["expires"] = _Quoted(expires)
    if user.access:
        data["access"] = _access(user.access)
    return data


def _directory(directory: Directory | None) -> dict[str, Any]:
    """A `directory:` block as its file declares it: the attributes only where they are not the
    flavour's, the time-out only when it is not the default."""
    assert directory is not None  # a part with the key `directory` has one
    defaults = asdict(DEFAULT_ATTRIBUTES[directory.flavour])
    said = asdict(directory.attributes)
    attributes = {name: value for name, value in said.items() if defaults[name] != value}
    data = {
        "kind": "ldap",
        "url": directory.url,
        "bind_dn": directory.bind_dn,
        "base_dn": directory.base_dn,
        "flavour": directory.flavour.value,
        "output": directory.output,
        "attributes": attributes or None,
        "disabled_filter": directory.disabled_filter,
        "ca_file": directory.ca_file,
        "timeout": None if directory.timeout == DEFAULT_TIMEOUT else _number(directory.timeout),
    }
    return _without_defaults(data)


def _number(value: float) -> float | int:
    """A number as it was most likely written: 10, not 10.0."""
    return int(value) if value.is_integer() else value


def _team(team: Team) -> dict[str, Any]:
    data: dict[str, Any] = {"name": team.name, **team_record(team), "directory_group": team.directory_group}
    if team.members:
        data["members"] = _members(team)
    if team.access:
        data["access"] = _access(team.access)
    return _without_defaults(data)


def _members(team: Team) -> list[str | dict[str, Any]]:
    """A team's members as the YAML lists them: an e-mail alone, or `{email, expires}` for one who is
    in the team until a day."""
    until = dict(team.member_expires)
    return [
        email if email not in until else {"email": email, "expires": _Quoted(until[email])}
        for email in team.members
    ]


def _access(access: Iterable[Access]) -> list[dict[str, Any]]:
    """A user's or a team's own access entries, as the YAML lists them under it; a user's with its last
    day (`expires`), where it has one."""
    return [
        _without_defaults(
            {
                "serial": _Quoted(a.serial),
                **access_entry_record(a),
                "expires": None if a.expires is None else _Quoted(a.expires),
            }
        )
        for a in access
    ]


def _policy(policy: Policy) -> dict[str, Any]:
    return _without_defaults(
        {
            "id": policy.id,
            "applies_to": policy.applies_to,
            "when": _Expression(policy.when),
            "effect": policy.effect,
            "message": policy.message,
            "approvals": policy.approvals,
        }
    )


def _without_defaults(record: dict[str, Any]) -> dict[str, Any]:
    """Leave out what the YAML leaves out by default: false flags and absent values."""
    return {key: value for key, value in record.items() if value is not None and value is not False}
