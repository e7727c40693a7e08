"""The workspace file, `reconciler.yaml`: found, read strictly, checked, its `${VAR}`s filled in.

It is read as the account's files are (strict YAML, its own published
schema, every problem placed at file:line:col), then each `${VAR}` is
replaced by the environment's value: a variable that is not set is an error
naming it and where it is used. Secrets come only that way: a password
written into a store or SMTP URL in the file is refused, so the file can be
committed and shown.

Then the accounts a command names are picked from it: by name, all of them,
or those a set of changed files concerns (`select_changed`).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, overload

from reconciler.core.diagnostics import Diagnostic, DocPath, Finding, format_path
from reconciler.core.errors import InvalidDesiredState, WorkspaceError
from reconciler.core.model import is_email
from reconciler.core.workspace import WORKSPACE_FILE, AccountEntry, Workspace
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.loading.locate import locate, place_findings
from reconciler.loading.schema import workspace_findings

#: `${NAME}`: an environment variable's value.
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: The environment variable each `mail:` setting stands for: the file's value wins over it.
MAIL_VARIABLES = {
    "smtp_url": "RECONCILER_SMTP_URL",
    "from": "RECONCILER_MAIL_FROM",
    "portal_url": "RECONCILER_PORTAL_URL",
}
#: A password in a URL: `scheme://user:password@host`, or a `password=` parameter.
_WRITTEN_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:]*:[^/@]+@|[?&]password=", re.IGNORECASE)


def find_workspace(start: Path | None = None) -> Path | None:
    """The workspace file in `start` (the working directory) or the nearest folder above it, if any.

    The walk stops at a repository's root (a folder holding `.git`): a workspace file above the
    repository belongs to something else.
    """
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        found = candidate / WORKSPACE_FILE
        if found.is_file():
            return found
        if (candidate / ".git").exists():
            return None
    return None


def read_workspace(file: Path, environ: Mapping[str, str] | None = None) -> Workspace:
    """The workspace at `file`, its `${VAR}`s read from `environ` (the process's environment).

    Raises InvalidDesiredState with every problem of the file placed, or WorkspaceError for a file
    that cannot be read or a variable that is not set.
    """
    environ = os.environ if environ is None else environ
    name = _shown(file)
    try:
        source = Source(name, file.read_bytes())
    except OSError as error:
        raise WorkspaceError(f"cannot read the workspace file {name}: {error.strerror}") from None
    parsed = parse(source)
    if parsed.problems:
        raise InvalidDesiredState(parsed.problems)
    document = parsed.document
    if not isinstance(document, dict):
        line = 1 if document is None else locate(source, [()])[()].line
        problem = "the workspace file must be a mapping with `version` and `accounts`"
        raise InvalidDesiredState([Diagnostic(name, line, 1, "", problem)])
    findings = workspace_findings(name, document) or _rule_findings(name, document, file.parent)
    if findings:
        raise InvalidDesiredState(place_findings(findings, [source]))
    filled = _Filler(source, environ)
    root = file.resolve().parent
    accounts = []
    for index, entry in enumerate(document["accounts"]):
        at: DocPath = ("accounts", index)
        folder = (root / filled(entry["path"], (*at, "path"))).resolve()
        store: str | None = None
        actor: str | None = None
        store_unset: str | None = None
        actor_unset: str | None = None
        # Only a run on this account needs its secrets, and not one whose flag takes the setting's place.
        try:
            store = _store(filled.nonempty(entry.get("store"), (*at, "store")), root)
        except WorkspaceError as error:
            store_unset = str(error)
        try:
            actor = filled.nonempty(entry.get("actor"), (*at, "actor"))
        except WorkspaceError as error:
            actor_unset = str(error)
        if actor is not None and not is_email(actor):
            raise WorkspaceError(filled.where((*at, "actor"), f"{actor!r} is not an e-mail address"))
        accounts.append(
            AccountEntry(
                name=entry["name"],
                path=folder,
                store=store,
                actor=actor.lower() if actor else None,
                decommission=entry.get("decommission", False),
                store_unset=store_unset,
                actor_unset=actor_unset,
            )
        )
    mail: dict[str, str] = {}
    mail_unset = None
    try:
        for key, variable in MAIL_VARIABLES.items():
            value = filled(document.get("mail", {}).get(key), ("mail", key))
            if value is not None:
                mail[variable] = value
    except WorkspaceError as error:
        mail, mail_unset = {}, str(error)
    return Workspace(
        file=file.resolve(),
        accounts=tuple(accounts),
        shared=tuple(document.get("shared", ())),
        mail=mail,
        mail_unset=mail_unset,
    )


def _shown(file: Path) -> str:
    """The file's name as messages give it: from the working directory when it is below it."""
    try:
        return str(file.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(file)


def _store(url: str | None, root: Path) -> str | None:
    """A store URL with a relative SQLite file counted from the workspace's folder, not the caller's."""
    if url is None or not url.startswith("sqlite:///") or url.startswith("sqlite:////"):
        return url
    return f"sqlite:///{root / url.removeprefix('sqlite:///')}"


def _rule_findings(name: str, document: dict[str, Any], root: Path) -> list[Finding]:
    """What the schema cannot say: names, folders and stores each used once, no folder inside another's,
    no secret written into a URL."""
    findings: list[Finding] = []
    names: dict[str, int] = {}
    folders: dict[str, int] = {}
    stores: dict[str, int] = {}
    for index, entry in enumerate(document["accounts"]):
        at: DocPath = ("accounts", index)
        first = names.setdefault(entry["name"], index)
        if first != index:
            findings.append(
                Finding(name, (*at, "name"), f"the account {entry['name']!r} is declared twice", related=None)
            )
        folder = os.path.normpath(entry["path"])
        first = folders.setdefault(folder, index)
        if first != index:
            findings.append(
                Finding(
                    name,
                    (*at, "path"),
                    f"the folder {entry['path']!r} is already the folder of account "
                    f"{document['accounts'][first]['name']!r}",
                )
            )
        store = entry.get("store")
        first = stores.setdefault(store, index) if isinstance(store, str) else index
        if first != index:
            # Each plan would remove what the other account put there.
            findings.append(
                Finding(
                    name,
                    (*at, "store"),
                    f"account {document['accounts'][first]['name']!r} has this store too; each account "
                    "needs a store of its own (a database, or a schema of one, or a SQLite file)",
                )
            )
        for key in ("store",):
            value = entry.get(key)
            if isinstance(value, str) and _WRITTEN_PASSWORD.search(VARIABLE.sub("", value)):
                findings.append(Finding(name, (*at, key), _SECRET))
    for folder, index in folders.items():
        for other, outer in folders.items():
            if other != folder and PurePosixPath(folder).is_relative_to(PurePosixPath(other)):
                outside = document["accounts"][outer]
                findings.append(
                    Finding(
                        name,
                        ("accounts", index, "path"),
                        f"the folder {document['accounts'][index]['path']!r} is inside the folder of account "
                        f"{outside['name']!r} ({outside['path']!r}), whose files would then be its too; give "
                        "each account a folder of its own, side by side",
                    )
                )
                break
    smtp = document.get("mail", {}).get("smtp_url")
    if isinstance(smtp, str) and _WRITTEN_PASSWORD.search(VARIABLE.sub("", smtp)):
        findings.append(Finding(name, ("mail", "smtp_url"), _SECRET))
    return findings


_SECRET = (
    "a password is written in the file; the file is committed and shown, so put the secret in an "
    "environment variable and write ${VARIABLE} in its place"
)


class _Filler:
    """Replaces each `${VAR}` of a value by the environment's, or raises WorkspaceError naming it."""

    def __init__(self, source: Source, environ: Mapping[str, str]) -> None:
        self.source, self.environ = source, environ

    @overload
    def __call__(self, value: str, path: DocPath) -> str: ...
    @overload
    def __call__(self, value: str | None, path: DocPath) -> str | None: ...
    def __call__(self, value: str | None, path: DocPath) -> str | None:
        if value is None:
            return None

        def variable(found: re.Match[str]) -> str:
            got = self.environ.get(found[1])
            if got is None:
                raise WorkspaceError(
                    self.where(path, f"${{{found[1]}}} is not set; set the environment variable {found[1]}")
                )
            return got

        return VARIABLE.sub(variable, value)

    def nonempty(self, value: str | None, path: DocPath) -> str | None:
        """The value filled in, or WorkspaceError when its variables leave it empty: a secret missing in
        CI is a variable set to nothing, and an empty store must not fall back to RECONCILER_STORE."""
        got = self(value, path)
        if value is None or got is None or got.strip():
            return got
        names = ", ".join(dict.fromkeys(found[1] for found in VARIABLE.finditer(value)))
        raise WorkspaceError(self.where(path, f"{value} is empty; set the environment variable {names}"))

    def where(self, path: DocPath, message: str) -> str:
        position = locate(self.source, [path])[path]
        return f"{self.source.name}:{position.line}:{position.column}: {format_path(path)}: {message}"


def pick_accounts(workspace: Workspace, names: Sequence[str]) -> tuple[AccountEntry, ...]:
    """The accounts named, in the workspace file's order; WorkspaceError for a name it does not have."""
    known = {entry.name for entry in workspace.accounts}
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; it has {_listed(sorted(known))}"
            raise WorkspaceError(f"{_shown(workspace.file)} has no account {name!r}{hint}")
    wanted = set(names)
    return tuple(entry for entry in workspace.accounts if entry.name in wanted)


def _listed(names: Sequence[str], most: int = 10) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def select_changed(
    workspace: Workspace,
    changed: Iterable[Path],
    entries_changed: Iterable[str] = (),
    everything: bool = False,
) -> tuple[AccountEntry, ...]:
    """The accounts a change concerns, in the workspace file's order.

    `changed` are the changed files (absolute paths; deleted ones too); an account is concerned when
    one is under its folder, and all are when one is under a `shared` path. `entries_changed` names
    accounts whose entry in the workspace file itself changed; `everything` says a change in the
    workspace file concerns every account (its `shared` or `mail` changed).
    """
    files = [path.resolve() if path.is_absolute() else (workspace.root / path).resolve() for path in changed]
    shared = [_shared_pattern(workspace.root, pattern) for pattern in workspace.shared]
    if everything or any(pattern.fullmatch(file.as_posix()) for file in files for pattern in shared):
        return workspace.accounts
    named = set(entries_changed)
    return tuple(
        entry
        for entry in workspace.accounts
        if entry.name in named or any(file == entry.path or file.is_relative_to(entry.path) for file in files)
    )


def _shared_pattern(root: Path, pattern: str) -> re.Pattern[str]:
    """A `shared` path as a regular expression over absolute POSIX paths: a folder or file and what is
    under it; `*` and `?` stay inside a folder, `**` crosses folders."""
    parts = []
    for piece in re.split(r"(\*\*/?|\*|\?)", pattern.rstrip("/")):
        if piece.startswith("**"):
            parts.append(".*")
        elif piece == "*":
            parts.append("[^/]*")
        elif piece == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(piece))
    return re.compile(re.escape(root.resolve().as_posix()) + "/" + "".join(parts) + "(?:/.*)?")
