"""Plan, apply, drift and usage over many accounts of a workspace, each account on its own.

Each account is read, planned and applied by itself, with its own store and
its own transaction: one account's bad file, refused plan or unreachable
store is that account's outcome (an AccountRun with its reason), and the
others go on. With `workers` above one, accounts run in that many processes,
each opening its own store (one PostgreSQL connection per account at a time).

The empty-account guard lives here, where an account's folder and its store
meet: an account whose folder is gone, or whose files declare no users and
no contracts, while its store holds an account, is blocked unless the
workspace marks it `decommission: true`. Decommissioning is the review the
removal guard asks for, so its plan is not held to the removal ratio; a
`decommission: true` on an account whose files still declare users or
contracts is an error, so a stale mark cannot switch that guard off.

A plan saved for many accounts is a folder: `accounts.json` says which
accounts were planned (each one's plan file, or why none), and each plan is
`NAME.json` as `plan --out` writes it. Applying the folder marks each account
applied (`NAME.applied`) once its transaction has committed, so applying the
folder again applies only what is left; the store would refuse a plan applied
twice anyway, as stale.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

from reconciler.commands.apply import ApplyOptions, ApplyResult, prepare, run_apply
from reconciler.commands.operations import drift_account, usage_report
from reconciler.core.errors import (
    InputError,
    InvalidDesiredState,
    PlanBlocked,
    ReconcilerError,
    WorkspaceError,
    plural,
)
from reconciler.core.model import DesiredState, is_email
from reconciler.core.plan import Plan
from reconciler.core.planfile import write_plan
from reconciler.core.records import Drift, Snapshot, Usage
from reconciler.core.workspace import AccountEntry, AccountRun, AccountStatus, Workspace
from reconciler.engine.drift import find_drift
from reconciler.engine.guards import refused_without
from reconciler.engine.planner import PlanOptions, make_plan
from reconciler.loading import Progress, find_sources, load_desired_state
from reconciler.loading.changes import Changes, find_changes
from reconciler.loading.workspace import find_workspace, pick_accounts, read_workspace, select_changed
from reconciler.notify.compose import MailSettings
from reconciler.notify.delivery import Courier, DeliveryReport, RetryPolicy, send_queued
from reconciler.notify.smtp import SmtpSettings
from reconciler.report.attention import attention
from reconciler.store import DEFAULT_LOCK_TIMEOUT, Store, open_store
from reconciler.store.urls import redact_url

#: The saved plans' index in a folder written by `plan --out DIR` over several accounts.
INDEX_FILE = "accounts.json"
INDEX_VERSION = 1
#: What marks an account of a saved folder applied: `NAME.applied`, beside its plan `NAME.json`.
APPLIED_SUFFIX = ".applied"
#: An account's name as the workspace schema allows it.
ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")

T = TypeVar("T")
X = TypeVar("X")


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
    attempts: int = 3

    def courier(self) -> Courier | None:
        return None if self.smtp is None else Courier(self.smtp, RetryPolicy(attempts=self.attempts))


# --- choosing the accounts ---------------------------------------------------------------------------


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
            f"{' '.join(paths)}: the files of {len(spanned)} accounts of {_shown(workspace.file)} "
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


def plan_workspace(
    selection: Selection,
    settings: Settings,
    options: PlanOptions,
    *,
    allow_mass_removal: bool = False,
    out: Path | None = None,
    key: bytes | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[Chosen, tuple[AccountRun[Plan], ...]]:
    """`plan` over the accounts `selection` names: which they are, and each one's plan."""
    chosen = choose(selection, settings)
    runs = plan_accounts(
        chosen.jobs,
        options,
        allow_mass_removal=allow_mass_removal,
        out=out,
        key=key,
        workers=workers,
        progress=progress,
    )
    return chosen, runs


# --- plan -------------------------------------------------------------------------------------------


def plan_accounts(
    jobs: Sequence[AccountJob],
    options: PlanOptions,
    *,
    allow_mass_removal: bool = False,
    out: Path | None = None,
    key: bytes | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[AccountRun[Plan], ...]:
    """Each account's plan, in the order of `jobs`; with `out`, saved there with an index."""
    if out is not None:
        _prepare_folder(out)
    work = partial(_plan_one, options=options, allow_mass_removal=allow_mass_removal, out=out, key=key)
    runs = run_each(work, jobs, workers, progress)
    if out is not None:
        _write_index(out, runs)
    return runs


def _plan_one(
    job: AccountJob, options: PlanOptions, allow_mass_removal: bool, out: Path | None, key: bytes | None
) -> AccountRun[Plan]:
    def plan() -> AccountRun[Plan]:
        made = _plan(job, options)
        if isinstance(made, AccountRun):
            return made
        if out is not None:
            with (out / f"{job.name}.json").open("w", encoding="utf-8") as file:
                write_plan(made, file, key)
        return plan_run(job.name, made, allow_mass_removal, job.entry.decommission)

    return guarded(job.name, plan)


def plan_run(
    name: str, plan: Plan, allow_mass_removal: bool = False, decommission: bool = False
) -> AccountRun[Plan]:
    """An account's plan as a run's outcome: blocked when apply would refuse it as it stands."""
    refused = refused_without(plan, allow_mass_removal or decommission)
    if refused:
        blocked = len(plan.blocked)
        why = [f"{blocked} {plural(blocked, 'action')} blocked for lack of permission"] if blocked else []
        why += [guard.message() for guard in plan.guards] if "--allow-mass-removal" in refused else []
        needs = f"apply needs {' and '.join(refused)}"
        if decommission:  # never half closed: what blocks must go first
            needs = "a decommission is applied whole: lift what blocks it first, such as `protect: true`"
        return AccountRun(name, AccountStatus.BLOCKED, plan, "; ".join(why) + f" ({needs})")
    return AccountRun(name, AccountStatus.CHANGES if plan.actions else AccountStatus.DONE, plan)


def _plan(job: AccountJob, options: PlanOptions) -> Plan | AccountRun[Plan]:
    """The account's plan, or its run when the empty-account guard stops it."""
    store, actor = _store(job), _actor(job)
    desired, empty = _desired(job.entry)
    snapshot = store.snapshot()
    stopped = _guard(job, empty, snapshot)
    if stopped is not None:
        return stopped
    if job.entry.decommission:
        options = replace(options, max_removal_ratio=1.0, unmanaged="remove")
    return make_plan(desired, snapshot, actor, options)


def _desired(entry: AccountEntry) -> tuple[DesiredState, str | None]:
    """The account's desired state, and why it is empty when it is: its folder gone or declaring nothing."""
    folder = _shown(entry.path)
    if not entry.path.is_dir():
        return DesiredState(), f"its folder {folder} is gone"
    sources, _ = find_sources([folder])
    if not sources:
        return DesiredState(), f"its folder {folder} holds no .yaml or .yml files"
    desired = load_desired_state([folder])  # named from the working directory, as the user would
    if not desired.users and not desired.contracts:
        return desired, f"its files in {folder} declare no users, contracts or serials"
    return desired, None


def _guard(job: AccountJob, empty: str | None, snapshot: Snapshot) -> AccountRun[Plan] | None:
    state = snapshot.state
    held = [
        f"{count} {plural(count, word)}"
        for count, word in ((len(state.contracts), "contract"), (len(state.users), "user"))
        if count
    ]
    if job.entry.decommission and empty is None:
        return AccountRun(
            job.name,
            AccountStatus.ERROR,
            reason="reconciler.yaml marks it `decommission: true`, and its files in "
            f"{_shown(job.entry.path)} still declare users or contracts; empty its folder to close the "
            "account, or drop the mark",
        )
    if empty is None or job.entry.decommission or not (state.contracts or state.users or state.teams):
        return None
    return AccountRun(
        job.name,
        AccountStatus.BLOCKED,
        reason=f"{empty}, and its store holds {' and '.join(held) or 'teams'}: nothing is planned. "
        "Restore the folder; or, to close the account and remove all of it, mark it "
        "`decommission: true` in reconciler.yaml",
    )


def _prepare_folder(out: Path) -> None:
    """Make `out` ready for a new set of plans: created, or emptied of an earlier set; never a folder that
    holds anything else."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: a file is there; a plan of several accounts is saved in a folder")
    out.mkdir(parents=True, exist_ok=True)
    ours = {INDEX_FILE}
    index = out / INDEX_FILE
    if index.exists():
        for entry in _read_index(out)["accounts"]:
            name = entry["name"]
            ours |= {f"{name}.json", f"{name}{APPLIED_SUFFIX}"}
    others = sorted(path.name for path in out.iterdir() if path.name not in ours)
    if others:
        raise InputError(
            f"--out {out}: the folder holds {', '.join(others[:3])}{' and more' if len(others) > 3 else ''}, "
            "which is not a saved plan of these accounts; name an empty or new folder"
        )
    for name in sorted(ours):
        (out / name).unlink(missing_ok=True)


def _write_index(out: Path, runs: Sequence[AccountRun[Plan]]) -> None:
    accounts: list[dict[str, Any]] = []
    for run in runs:
        entry: dict[str, Any] = {"name": run.name, "status": run.status.value}
        if run.result is not None:
            entry["plan"] = f"{run.name}.json"
        if run.reason:
            entry["reason"] = run.reason
        accounts.append(entry)
    text = json.dumps({"format_version": INDEX_VERSION, "accounts": accounts}, indent=2, sort_keys=True)
    (out / INDEX_FILE).write_text(text + "\n", encoding="utf-8")


def _read_index(folder: Path) -> dict[str, Any]:
    path = folder / INDEX_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise InputError(f"{path} is not a saved plan's index: {error}") from None
    if not isinstance(data, dict) or data.get("format_version") != INDEX_VERSION:
        raise InputError(f"{path} is not a saved plan's index this reconciler reads (format_version 1)")
    accounts = data.get("accounts")
    if not isinstance(accounts, list) or not all(_index_entry(entry) for entry in accounts):
        raise InputError(
            f"{path} is not a saved plan's index: its `accounts` must be a list of {{name, status, plan}}, "
            "as `plan --out DIR` writes it; plan the accounts again into a new folder"
        )
    return data


def _index_entry(entry: Any) -> bool:
    """Whether `entry` is an account of a saved index as `_write_index` writes it: a name, a status it
    knows, the plan's file name beside the index (if any) and the reason (if any)."""
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and ACCOUNT_NAME.fullmatch(entry["name"]) is not None  # a file name in the folder, nowhere else
        and entry.get("status", "error") in {status.value for status in AccountStatus}
        and (entry.get("plan") is None or entry.get("plan") == f"{entry['name']}.json")
        and isinstance(entry.get("reason", ""), str)
    )


def is_saved_folder(paths: Sequence[str]) -> bool:
    """Whether `apply` was given a folder of plans saved by `plan --out DIR` over several accounts."""
    return len(paths) == 1 and (Path(paths[0]) / INDEX_FILE).is_file()


# --- apply ------------------------------------------------------------------------------------------


def saved_plans(
    folder: Path, jobs: Sequence[AccountJob], options: ApplyOptions, *, workers: int = 1
) -> tuple[AccountRun[Plan], ...]:
    """The plans saved in `folder` for the accounts of `jobs`, each checked against its store as apply
    checks a saved plan; an account applied already, or not planned, is an outcome without a plan."""
    index = {entry["name"]: entry for entry in _read_index(folder)["accounts"]}
    missing = [job.name for job in jobs if job.name not in index]
    if missing:
        raise InputError(
            f"{folder / INDEX_FILE} holds no plan for {', '.join(missing)}; plan those accounts again"
        )
    work = partial(_saved_one, folder=folder, index=index, options=options)
    return run_each(work, jobs, workers)


def _saved_one(
    job: AccountJob, folder: Path, index: dict[str, dict[str, Any]], options: ApplyOptions
) -> AccountRun[Plan]:
    entry = index[job.name]
    applied = folder / f"{job.name}{APPLIED_SUFFIX}"
    if applied.exists():
        return AccountRun(
            job.name,
            AccountStatus.DONE,
            reason=f"applied already, {applied.read_text(encoding='utf-8').strip()}",
        )
    if "plan" not in entry:
        status = AccountStatus(entry.get("status", "error"))
        return AccountRun(job.name, status, reason=f"not planned: {entry.get('reason', 'no plan was saved')}")

    def read() -> AccountRun[Plan]:
        plan, _ = prepare(_store(job), [str(folder / entry["plan"])], _actor(job), _for(job, options))
        return plan_run(job.name, plan, options.allow_mass_removal, job.entry.decommission)

    return guarded(job.name, read)


def apply_accounts(
    planned: Sequence[tuple[AccountJob, Plan]],
    options: ApplyOptions,
    mailing: Mailing,
    *,
    marks: Path | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[AccountRun[ApplyResult], ...]:
    """Apply each account's plan in its own transaction, its mail queued with it and then sent; with
    `marks`, each account applied is marked there. One account's failure is its outcome alone."""
    work = partial(_apply_one, options=options, mailing=mailing, marks=marks)
    return run_each(work, planned, workers, progress)


def _apply_one(
    planned: tuple[AccountJob, Plan], options: ApplyOptions, mailing: Mailing, marks: Path | None
) -> AccountRun[ApplyResult]:
    job, plan = planned

    def apply() -> AccountRun[ApplyResult]:
        applied = run_apply(
            _store(job),
            plan,
            _actor(job),
            _for(job, options),
            mail=mailing.settings,
            courier=mailing.courier(),
        )
        if marks is not None:
            mark = marks / f"{job.name}{APPLIED_SUFFIX}"
            try:
                mark.write_text(f"revision {applied.revision}\n", encoding="utf-8")
            except OSError as error:  # committed all the same: the account is applied, and says so
                return AccountRun(
                    job.name,
                    AccountStatus.DONE,
                    applied,
                    reason=f"applied, but not marked so ({mark}: {error.strerror}); applying the folder "
                    "again refuses this account's plan as stale, which it is",
                )
        return AccountRun(job.name, AccountStatus.DONE, applied)

    return guarded(job.name, apply)


def _for(job: AccountJob, options: ApplyOptions) -> ApplyOptions:
    """The apply options for one account: a decommissioned one is not held to the removal ratio, and
    is closed whole or not at all (never --request: half an account closed, the rest asked for)."""
    if not job.entry.decommission:
        return options
    planning = replace(options.planning, max_removal_ratio=1.0)
    return replace(options, allow_mass_removal=True, request=False, planning=planning)


def apply_workspace(
    selection: Selection,
    settings: Settings,
    options: ApplyOptions,
    environ: Mapping[str, str],
    *,
    folder: Path | None = None,
    workers: int = 1,
    show: Callable[[Chosen, tuple[AccountRun[Plan], ...]], None] | None = None,
    approve: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> tuple[Chosen, tuple[AccountRun[Plan], ...], dict[str, AccountRun[ApplyResult]]]:
    """`apply` over many accounts: the plans saved in `folder` (those of the accounts `selection` names,
    or all it holds), else new plans of the accounts' files; shown, approved once (`approve` hears how
    many accounts have changes, and raises ApplyRefused to stop), then each applied on its own.

    Returns the accounts, each one's plan as it was prepared, and what applying did, by account.
    """
    if folder is not None and selection.flag is None:
        names = tuple(entry["name"] for entry in _read_index(folder)["accounts"])
        selection = replace(selection, accounts=names)
    chosen = choose(selection, settings)
    mailing = mailing_for(chosen.workspace, environ)  # bad mail settings fail before anything is shown
    if folder is not None:
        prepared = saved_plans(folder, chosen.jobs, options, workers=workers)
    else:
        prepared = plan_accounts(
            chosen.jobs, options.planning, allow_mass_removal=options.allow_mass_removal, workers=workers
        )
    planned = [
        (job, run.result)
        for job, run in zip(chosen.jobs, prepared, strict=True)
        if run.result is not None and run.result.actions
    ]
    if not planned:  # nothing to show or ask about: each account's line says why
        return chosen, prepared, {}
    if show:
        show(chosen, prepared)
    if approve:
        approve(len(planned))
    applied = apply_accounts(planned, options, mailing, marks=folder, workers=workers, progress=progress)
    return chosen, prepared, {run.name: run for run in applied}


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
    attempts = env.get("RECONCILER_SMTP_ATTEMPTS", "3")
    if not attempts.isdigit() or int(attempts) < 1:
        raise InputError("RECONCILER_SMTP_ATTEMPTS must be a whole number of at least 1")
    return Mailing(MailSettings.from_env(env), SmtpSettings.from_env(env), int(attempts))


def drift_workspace(
    selection: Selection,
    settings: Settings,
    now: datetime,
    stale_after_days: int | None = None,
    unmanaged: str | None = None,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[Chosen, tuple[AccountRun[Drift], ...]]:
    """`drift` over the accounts `selection` names."""
    chosen = choose(selection, settings)
    runs = drift_accounts(chosen.jobs, now, stale_after_days, unmanaged, workers=workers, progress=progress)
    return chosen, runs


def usage_workspace(
    selection: Selection,
    settings: Settings,
    now: datetime,
    renewal_days: int,
    stale_after_days: int | None = None,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[Chosen, tuple[AccountRun[Usage], ...]]:
    """`usage` over the accounts `selection` names."""
    chosen = choose(selection, settings)
    runs = usage_accounts(
        chosen.jobs, now, renewal_days, stale_after_days, workers=workers, progress=progress
    )
    return chosen, runs


def notify_workspace(
    selection: Selection,
    settings: Settings,
    environ: Mapping[str, str],
    *,
    resend: Sequence[int] = (),
    resend_uncertain: bool = False,
) -> tuple[Chosen, tuple[AccountRun[DeliveryReport], ...]]:
    """`notify` over the accounts `selection` names: each account's outbox sent through the workspace's
    SMTP server, one account after another; a settled delivery is done, one that left mail queued or
    uncertain is that account's error. `resend` and `resend_uncertain` are for a run on one account,
    whose outbox ids they name."""
    chosen = choose(selection, settings)
    courier = mailing_for(chosen.workspace, environ).courier()

    def one(job: AccountJob) -> AccountRun[DeliveryReport]:
        def deliver() -> AccountRun[DeliveryReport]:
            report = send_queued(_store(job), courier, resend=resend, resend_uncertain=resend_uncertain)
            return AccountRun(job.name, AccountStatus.DONE if report.settled else AccountStatus.ERROR, report)

        return guarded(job.name, deliver)

    return chosen, tuple(one(job) for job in chosen.jobs)


# --- drift and usage --------------------------------------------------------------------------------


def drift_accounts(
    jobs: Sequence[AccountJob],
    now: datetime,
    stale_after_days: int | None = None,
    unmanaged: str | None = None,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[AccountRun[Drift], ...]:
    """How each account's store differs from its files, both ways."""
    work = partial(_drift_one, now=now, stale_after_days=stale_after_days, unmanaged=unmanaged)
    return run_each(work, jobs, workers, progress)


def _drift_one(
    job: AccountJob, now: datetime, stale_after_days: int | None, unmanaged: str | None
) -> AccountRun[Drift]:
    def drift() -> AccountRun[Drift]:
        if job.entry.decommission:  # being closed: what its store still holds is what is left to remove
            desired, empty = _desired(job.entry)
            if empty is not None:
                found = find_drift(desired, _store(job).snapshot(), now, stale_after_days, unmanaged)
                return AccountRun(
                    job.name, AccountStatus.CHANGES if found.found else AccountStatus.DONE, found
                )
        if not job.entry.path.is_dir():
            return AccountRun(
                job.name, AccountStatus.ERROR, reason=f"its folder {_shown(job.entry.path)} is gone"
            )
        found = drift_account(_store(job), [_shown(job.entry.path)], now, stale_after_days, unmanaged)
        return AccountRun(job.name, AccountStatus.CHANGES if found.found else AccountStatus.DONE, found)

    return guarded(job.name, drift)


def usage_accounts(
    jobs: Sequence[AccountJob],
    now: datetime,
    renewal_days: int,
    stale_after_days: int | None = None,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[AccountRun[Usage], ...]:
    """How each account's seats are used and when its contracts end."""
    work = partial(_usage_one, now=now, renewal_days=renewal_days, stale_after_days=stale_after_days)
    return run_each(work, jobs, workers, progress)


def _usage_one(
    job: AccountJob, now: datetime, renewal_days: int, stale_after_days: int | None
) -> AccountRun[Usage]:
    def usage() -> AccountRun[Usage]:
        found = usage_report(_store(job), now, renewal_days, stale_after_days)
        return AccountRun(job.name, AccountStatus.CHANGES if attention(found) else AccountStatus.DONE, found)

    return guarded(job.name, usage)


# --- running each account -----------------------------------------------------------------------------


def run_each(
    work: Callable[[X], AccountRun[T]], items: Sequence[X], workers: int = 1, progress: Progress | None = None
) -> tuple[AccountRun[T], ...]:
    """`work` on each item, in `workers` processes when more than one (spawned, so that nothing of this
    process but the item travels), the results in the items' order; `progress` hears (done, total).

    A worker process that dies (killed, out of memory) fails the accounts it had not finished, each
    with that reason; the others' outcomes stand."""
    total = len(items)
    if workers <= 1 or total <= 1:
        runs = []
        for done, item in enumerate(items, 1):
            runs.append(work(item))
            if progress:
                progress(done, total)
        return tuple(runs)
    found: dict[int, AccountRun[T]] = {}
    with ProcessPoolExecutor(max_workers=min(workers, total), mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(work, item): index for index, item in enumerate(items)}
        for done, future in enumerate(as_completed(futures), 1):
            index = futures[future]
            try:
                found[index] = future.result()
            except BrokenProcessPool:
                found[index] = AccountRun(
                    _name_of(items[index]),
                    AccountStatus.ERROR,
                    reason="its worker process ended before it finished (killed, or out of memory); "
                    "run it again, with fewer --jobs",
                )
            if progress:
                progress(done, total)
    return tuple(found[index] for index in range(total))


def _name_of(item: object) -> str:
    """The account an item of `run_each` is about: a job, or a job with its plan."""
    job = item[0] if isinstance(item, tuple) else item
    return job.name if isinstance(job, AccountJob) else str(job)


def guarded(name: str, work: Callable[[], AccountRun[T]]) -> AccountRun[T]:
    """`work()`, or the account's failed run: whatever one account does wrong is its outcome alone."""
    try:
        return work()
    except InvalidDesiredState as error:
        return AccountRun(
            name,
            AccountStatus.ERROR,
            reason=f"invalid: {error}",
            details=tuple(str(diagnostic) for diagnostic in error.diagnostics),
        )
    except PlanBlocked as error:
        return AccountRun(name, AccountStatus.BLOCKED, reason=redact_url(str(error)))
    except ReconcilerError as error:
        return AccountRun(name, AccountStatus.ERROR, reason=redact_url(str(error)))
    except Exception as error:  # a bug in one account must not stop the others, nor lose their outcomes
        return AccountRun(
            name,
            AccountStatus.ERROR,
            reason=f"internal error ({type(error).__name__}: {redact_url(str(error))}); this is a bug in "
            "reconciler: report it",
        )


def _store(job: AccountJob) -> Store:
    if job.unset:
        raise WorkspaceError(job.unset)
    if not job.store_url:
        raise InputError(
            f"no store for account {job.name}: give it `store:` in reconciler.yaml (or --store with this "
            "account alone)"
        )
    return open_store(job.store_url, lock_timeout=job.lock_timeout)


def _actor(job: AccountJob) -> str:
    if not job.actor:
        raise InputError(
            f"nobody acts on account {job.name}: give it `actor:` in reconciler.yaml, or pass --actor EMAIL"
        )
    # The file's actors are checked when it is read; --actor's and the environment's here.
    if not is_email(job.actor):
        raise InputError(f"the actor {job.actor!r} is not an e-mail address")
    return job.actor


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive, on Windows
        return str(path)
