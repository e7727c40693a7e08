"""`apply` over a workspace's accounts: each in a transaction of its own, asked about once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from reconciler.commands.apply import ApplyOptions, ApplyResult, prepare, run_apply
from reconciler.commands.workspace.choosing import (
    AccountJob,
    Chosen,
    Mailing,
    Selection,
    Settings,
    choose,
    mailing_for,
)
from reconciler.commands.workspace.planning import plan_accounts, plan_run
from reconciler.commands.workspace.running import account_actor, account_store, guarded, run_each
from reconciler.commands.workspace.saved import APPLIED_SUFFIX, INDEX_FILE, read_index
from reconciler.core.errors import InputError
from reconciler.core.plan import Plan
from reconciler.core.workspace import AccountRun, AccountStatus
from reconciler.loading import Progress


def saved_plans(
    folder: Path,
    index: dict[str, dict[str, Any]],
    jobs: Sequence[AccountJob],
    options: ApplyOptions,
    *,
    workers: int = 1,
) -> tuple[AccountRun[Plan], ...]:
    """The plans saved in `folder`, whose index entries by account are `index`, for the accounts of
    `jobs`, each checked against its store as apply checks a saved plan; an account applied already,
    or not planned, is an outcome without a plan."""
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
        plan, _ = prepare(
            account_store(job), [str(folder / entry["plan"])], account_actor(job), _for(job, options)
        )
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
            account_store(job),
            plan,
            account_actor(job),
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
    index = {} if folder is None else {entry["name"]: entry for entry in read_index(folder)["accounts"]}
    if folder is not None and selection.flag is None:
        selection = replace(selection, accounts=tuple(index))
    chosen = choose(selection, settings)
    mailing = mailing_for(chosen.workspace, environ)  # bad mail settings fail before anything is shown
    if folder is not None:
        prepared = saved_plans(folder, index, chosen.jobs, options, workers=workers)
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
