"""Which accounts a run over a workspace takes, and the store, actor and mail each one uses.

The selection flags name the accounts (`--account`, `--all`, `--changed`);
the settings weigh a flag typed on the command line over the workspace file,
and the file over the environment. A run on PATHs inside an account's folder
takes that account's settings (`settle`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.core.errors import (
    InputError,
    WorkspaceError,
)
from reconciler.core.workspace import AccountEntry, Workspace
from reconciler.loading.changes import Changes, find_changes
from reconciler.loading.workspace import find_workspace, pick_accounts, read_workspace, select_changed
from reconciler.notify.compose import MailSettings
from reconciler.notify.delivery import Courier, RetryPolicy
from reconciler.notify.smtp import SmtpSettings
from reconciler.store import DEFAULT_LOCK_TIMEOUT


@dataclass(frozen=True)
class AccountJob:
    """One account as this run uses it: its workspace entry, the store URL and the actor the flags,
    the file and the environment settle on for it (None when nothing names one)."""

    entry: AccountEntry
    store_url: str | None
    actor: str | None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    #: A `${VAR}` of its settings that is not set: this account's error, not the whole run's.
    unset: str | None = None

    @property
    def name(self) -> str:
        return self.entry.name


@dataclass(frozen=True)
class Mailing:
    """How an apply over many accounts sends its mail: the settings every message is composed with,
    and the SMTP server (with the delivery attempts) when there is one; else mail waits in each
    account's outbox."""

    settings: MailSettings
    smtp: SmtpSettings | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def courier(self) -> Courier | None:
        return None if self.smtp is None else Courier(self.smtp, self.retry)


@dataclass(frozen=True)
class Selection:
    """Which accounts the command line asked for: named, all, or those changed since `base`; and the
    workspace file it named, if any (else the one found around the working directory)."""

    accounts: tuple[str, ...] = ()
    all_accounts: bool = False
    changed: bool = False
    base: str | None = None
    workspace_file: Path | None = None

    @property
    def flag(self) -> str | None:
        """The flag that asked, as the user typed it; None when none did (the command runs on PATHs)."""
        asked = [flag for flag, on in self.flags() if on]
        return asked[0] if asked else None

    def flags(self) -> list[tuple[str, bool]]:
        return [("--account", bool(self.accounts)), ("--all", self.all_accounts), ("--changed", self.changed)]


@dataclass(frozen=True)
class Settings:
    """The store and actor as the command line and the environment give them; a flag typed on the
    command line wins over the workspace file, which wins over the environment."""

    store_flag: str | None = None
    actor_flag: str | None = None
    store_env: str | None = None
    actor_env: str | None = None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT


@dataclass(frozen=True)
class Chosen:
    """The accounts a command runs on, each with its settings; the workspace they come from; with
    --changed, what changed."""

    workspace: Workspace
    jobs: tuple[AccountJob, ...]
    changes: Changes | None = None


def choose(selection: Selection, settings: Settings) -> Chosen:
    """The accounts `selection` names in the workspace, each with the store and actor it uses."""
    workspace = _workspace(selection.workspace_file, selection.flag)
    changes = None
    if selection.changed:
        changes = find_changes(workspace, selection.base, os.environ)
        entries = select_changed(workspace, changes.files, changes.entries_changed, changes.everything)
    elif selection.all_accounts:
        entries = workspace.accounts
    else:
        entries = pick_accounts(workspace, selection.accounts)
    flags = bool(settings.store_flag), bool(settings.actor_flag)
    unset = [why for entry in entries if (why := entry.unset(*flags))]
    if unset and len(entries) == 1:
        raise WorkspaceError(unset[0])  # one account: the run is that account's
    if settings.store_flag and len(entries) > 1:
        raise InputError(
            "--store names one store, and each account has its own: set each account's `store:` in "
            "reconciler.yaml, or choose one account with --account"
        )
    # One account may take its store from the environment; several sharing one store would mix them.
    env_store = settings.store_env if len(entries) == 1 else None
    jobs = tuple(
        AccountJob(
            entry,
            settings.store_flag or entry.store or env_store,
            settings.actor_flag or entry.actor or settings.actor_env,
            settings.lock_timeout,
            entry.unset(*flags),
        )
        for entry in entries
    )
    return Chosen(workspace, jobs, changes)


def settle(
    paths: Sequence[str], settings: Settings, workspace_file: Path | None = None
) -> tuple[str | None, str | None, Workspace | None]:
    """The store and actor of a command on `paths` (the working directory when none), and the workspace
    around them if there is one: a flag, else the setting of the account whose folder holds them all,
    else the environment's."""
    found = workspace_file if workspace_file is not None else find_workspace()
    store, actor = settings.store_flag or settings.store_env, settings.actor_flag or settings.actor_env
    if found is None:
        return store, actor, None
    workspace = _workspace(found)
    spanned = _accounts_named(workspace, paths)
    if len(spanned) > 1:
        # Planned as one, they would be one account in one store: a customer's people in another's.
        raise WorkspaceError(
            f"{' '.join(paths)}: the files of {len(spanned)} accounts of {shown(workspace.file)} "
            f"({', '.join(spanned)}), each with a store of its own; name one account's folder, or choose "
            f"the accounts with --account {' --account '.join(spanned[:2])}{' …' if len(spanned) > 2 else ''}"
        )
    holders = {workspace.holding(Path(path)) for path in paths or ["."]}
    entry = holders.pop() if len(holders) == 1 else None
    if entry is None:
        return store, actor, workspace
    unset = entry.unset(bool(settings.store_flag), bool(settings.actor_flag))
    if unset:
        raise WorkspaceError(unset)
    return (
        settings.store_flag or entry.store or settings.store_env,
        settings.actor_flag or entry.actor or settings.actor_env,
        workspace,
    )


def _accounts_named(workspace: Workspace, paths: Sequence[str]) -> list[str]:
    """The accounts whose files `paths` name, in the file's order: the account whose folder holds a
    path, or every account whose folder lies inside it (`accounts`, `.`)."""
    named: set[str] = set()
    for path in paths:
        resolved = Path(path).resolve()
        holder = workspace.holding(resolved)
        inside = [holder] if holder else [e for e in workspace.accounts if e.path.is_relative_to(resolved)]
        named |= {entry.name for entry in inside}
    return [entry.name for entry in workspace.accounts if entry.name in named]


def _workspace(given: Path | None, required_by: str | None = None) -> Workspace:
    found = given if given is not None else find_workspace()
    if found is None:
        raise WorkspaceError(
            f"{required_by} runs on the accounts of a workspace, and there is no reconciler.yaml in this "
            "folder or above it in the repository; create one (`reconciler schema --workspace` gives its "
            "schema) or pass --workspace FILE"
        )
    if not found.is_file():
        raise WorkspaceError(f"--workspace {found}: no such file")
    return read_workspace(found)


def environment(workspace: Workspace | None, environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with the workspace file's mail settings over it: the file wins over the variables."""
    merged = dict(environ)
    if workspace is not None:
        if workspace.mail_unset:
            raise WorkspaceError(workspace.mail_unset)
        merged.update(workspace.mail)
    return merged


def mailing_for(workspace: Workspace | None, environ: Mapping[str, str]) -> Mailing:
    """How an apply sends its mail: the workspace file's settings, else the environment's."""
    env = environment(workspace, environ)
    return Mailing(MailSettings.from_env(env), SmtpSettings.from_env(env), RetryPolicy.from_env(env))


def shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive, on Windows
        return str(path)
