"""The directory's file among the account's files: which one it is, what it may hold, and the block's URL.

The `directory:` block names the file `reconciler directory pull` writes (`output`), relative to the
folder of the file that holds the block. That file is the directory's: its users' names and ids and
its teams' members are the directory's, and every other file is written by hand. Which source is the
directory's file is told by where its path leads (`Path.resolve()`), so `acme/people/directory.yaml`,
`./acme/people/directory.yaml` and a link to it are one file, as `find_sources` reads them.

`output_path` is the one answer to "where is the directory's file", for `directory pull` as for
validation; `find_directory_file` finds it among the files read; `generated_findings` says what a
generated file holds that `directory pull` never writes; `url_problem` refuses `ldap://` off this machine.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.core.diagnostics import DocPath, Finding, show_value
from reconciler.core.model import Directory

#: A file's name and its parsed document.
Document = tuple[str, Mapping[str, Any]]

#: All the directory's file holds: each user's id, e-mail and names, each mapped team's name and members.
GENERATED_KEYS = frozenset({"version", "users", "teams"})
GENERATED_USER_KEYS = frozenset({"id", "email", "first_name", "last_name"})
GENERATED_TEAM_KEYS = frozenset({"name", "members"})
#: In the order a message lists them.
_USER_FIELDS = ("id", "email", "first_name", "last_name")
_TEAM_FIELDS = ("name", "members")

#: Only a server on this machine may be read over `ldap://`, whose bind sends the password in clear.
CLEAR_TEXT = "ldap:// sends the password in clear; use ldaps:// (ldap:// is allowed only to this machine)"


def output_path(directory: Directory) -> Path:
    """The directory's file, as the folder of the file that declares the block names it (not resolved):
    where `directory pull` writes and where validation expects to find it."""
    return Path(directory.declared_in) / directory.output


def declared_in(source: str) -> str:
    """The folder of the file named `source`, as its name gives it: what the block's paths are relative to."""
    return str(Path(source).parent)


@dataclass(frozen=True)
class DirectoryFile:
    """Where the account's `directory:` block is, and the directory's file among the files read.

    `block` is the index in the documents of the file that declares the block (the first, when several
    do: the rules refuse the others), None when none does; `expected` the directory's file as the
    block names it; `generated` the index of that file among the documents, None when it was not read.
    """

    block: int | None = None
    declared_in: str = "."
    expected: str | None = None
    generated: int | None = None


def find_directory_file(documents: Sequence[Document]) -> DirectoryFile:
    """The `directory:` block among `documents` (valid ones) and, when it is among them, its file."""
    block = next((index for index, (_, document) in enumerate(documents) if "directory" in document), None)
    if block is None:
        return DirectoryFile()
    name, document = documents[block]
    folder = declared_in(name)
    expected = Path(folder) / document["directory"]["output"]
    where = expected.resolve()
    generated = next(
        (index for index, (source, _) in enumerate(documents) if Path(source).resolve() == where), None
    )
    return DirectoryFile(block, folder, str(expected), generated)


def generated_findings(source: str, document: Mapping[str, Any]) -> list[Finding]:
    """What the directory's file holds that `directory pull` never writes there, or leaves out."""
    findings = [_moved(source, (key,)) for key in document if key not in GENERATED_KEYS]
    for index, user in enumerate(document.get("users", ())):
        if user.keys() != GENERATED_USER_KEYS:
            findings += _fields(source, ("users", index), user, GENERATED_USER_KEYS, _USER_FIELDS, "user")
    for index, team in enumerate(document.get("teams", ())):
        if team.keys() != GENERATED_TEAM_KEYS:
            findings += _fields(source, ("teams", index), team, GENERATED_TEAM_KEYS, _TEAM_FIELDS, "team")
    return findings


def _fields(
    source: str,
    path: DocPath,
    record: Mapping[str, Any],
    allowed: frozenset[str],
    order: tuple[str, ...],
    what: str,
) -> list[Finding]:
    findings = [_moved(source, path + (key,)) for key in record if key not in allowed]
    missing = [key for key in order if key not in record]
    if missing:
        findings.append(
            Finding(
                source,
                path + (missing[0],),
                f"the directory's file gives every {what} {_listed(order)}, and this one has no "
                f"{' and no '.join(missing)}: the file is written by `reconciler directory pull`; run it "
                "to write the file again",
            )
        )
    return findings


def _moved(source: str, path: DocPath) -> Finding:
    return Finding(
        source,
        path,
        f"the directory's file is written by `reconciler directory pull`; move `{path[-1]}` to a "
        "hand-written file",
        at_key=True,
    )


def _listed(fields: Sequence[str]) -> str:
    return fields[0] if len(fields) == 1 else f"{', '.join(fields[:-1])} and {fields[-1]}"


def url_problem(url: str) -> str | None:
    """Why the directory may not be read at `url` (a URL the schema's pattern took), or None."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # past 65535
        port = 0
    if port == 0:
        return f"{show_value(url)} names no port from 1 to 65535; leave the port out for the usual one"
    if parts.scheme.lower() == "ldap" and not is_loopback(parts.hostname or ""):
        return CLEAR_TEXT
    return None


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine: localhost, 127.0.0.0/8 or ::1 (an IPv4 one written as IPv6 too)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
