"""A reseller's many accounts: the workspace file's records, and what one run over several accounts gives.

`reconciler.yaml`, at the root of a repository, names the accounts (each a
folder of desired-state files with its own store) and holds the settings
that would otherwise come from environment variables. These records are the
file as read, its `${VAR}`s already replaced; loading/workspace.py reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Generic, TypeVar

#: The workspace file's name, found by walking up from the working directory.
WORKSPACE_FILE = "reconciler.yaml"
#: Its published JSON Schema, beside the account's in `schemas/` and in the wheel.
WORKSPACE_SCHEMA_FILE = "workspace.schema.json"


@dataclass(frozen=True)
class AccountEntry:
    """One account of the workspace: where its files are, its store and default actor, as the file says.

    `store` and `actor` are None where the file is silent (the flag or the environment decides);
    `store_unset` and `actor_unset` say which `${VAR}` of each setting is not set: only a run that
    uses this account, and no flag in that setting's place, needs its secrets.
    """

    name: str
    path: Path
    store: str | None = None
    actor: str | None = None
    decommission: bool = False
    store_unset: str | None = None
    actor_unset: str | None = None

    def unset(self, store_flag: bool = False, actor_flag: bool = False) -> str | None:
        """Why this account cannot run, a `${VAR}` of its settings not being set, unless a flag given on
        the command line takes that setting's place."""
        return (None if store_flag else self.store_unset) or (None if actor_flag else self.actor_unset)


@dataclass(frozen=True)
class Workspace:
    """The workspace file as read: its accounts in the file's order, the shared paths, the mail settings.

    `root` is the file's folder, from which every path in it counts. `mail` maps the environment
    variable each setting stands for (RECONCILER_SMTP_URL…) to the file's value; `mail_unset` says
    which `${VAR}` of them is not set, for the commands that send.
    """

    file: Path
    accounts: tuple[AccountEntry, ...]
    shared: tuple[str, ...] = ()
    mail: Mapping[str, str] = field(default_factory=dict)
    mail_unset: str | None = None

    @property
    def root(self) -> Path:
        return self.file.parent

    def holding(self, path: Path) -> AccountEntry | None:
        """The account whose folder is `path` or holds it, if any."""
        resolved = path.resolve()
        for entry in self.accounts:
            if resolved == entry.path or resolved.is_relative_to(entry.path):
                return entry
        return None


class AccountStatus(Enum):
    """How one account's part of a run came out, worst last: the run's exit code is its accounts' worst."""

    DONE = "done"  # nothing to change, or applied
    CHANGES = "changes"  # a plan with changes; drift found
    BLOCKED = "blocked"  # an action the actor may not perform, a removal guard, a folder gone
    ERROR = "error"  # the account could not be read, planned or applied


#: Worst first: an error outranks a block, a block a change.
STATUS_ORDER = (AccountStatus.ERROR, AccountStatus.BLOCKED, AccountStatus.CHANGES, AccountStatus.DONE)

T = TypeVar("T")


@dataclass(frozen=True)
class AccountRun(Generic[T]):
    """One account's part of a run over many: what it gave (a plan, a drift, a usage report), or why not.

    `status` says how it came out; `reason` is the one line a person reads when it is blocked or
    failed (a result may come with a reason too: a plan blocked by the removal guard); `details` the
    lines beneath it, such as each problem of an invalid account's files at its file:line:col.
    """

    name: str
    status: AccountStatus
    result: T | None = None
    reason: str | None = None
    details: tuple[str, ...] = ()


def worst_status(runs: Iterable[AccountRun[Any]]) -> AccountStatus:
    """The run's outcome: an error if any account failed, else blocked if any was, else changes, else done."""
    found = {run.status for run in runs}
    return next((status for status in STATUS_ORDER if status in found), AccountStatus.DONE)
