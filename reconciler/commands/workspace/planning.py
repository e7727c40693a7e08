"""`plan` over a workspace's accounts, and the empty-account guard.

The guard lives here, where an account's folder and its store meet: an
account whose folder is gone, or whose files declare no users and no
contracts, while its store holds an account, is blocked unless the
workspace marks it `decommission: true`. Decommissioning is the review the
removal guard asks for, so its plan is not held to the removal ratio; a
`decommission: true` on an account whose files still declare users or
contracts is an error, so a stale mark cannot switch that guard off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from reconciler.commands.operations import placed
from reconciler.commands.workspace.choosing import AccountJob, Selection, Settings, choose, shown
from reconciler.commands.workspace.running import account_actor, account_store, guarded, run_each
from reconciler.commands.workspace.saved import prepare_folder, write_index
from reconciler.core.errors import plural
from reconciler.core.model import DesiredState
from reconciler.core.plan import Plan
from reconciler.core.planfile import write_plan
from reconciler.core.records import Snapshot
from reconciler.core.workspace import AccountEntry, AccountRun, AccountStatus
from reconciler.engine.guards import refused_without
from reconciler.engine.planner import PlanOptions, make_plan
from reconciler.loading import Progress, load_desired_state
from reconciler.loading.files import yaml_files


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
) -> tuple[AccountRun[Plan], ...]:
    """`plan` over the accounts `selection` names: each one's plan."""
    return plan_accounts(
        choose(selection, settings).jobs,
        options,
        allow_mass_removal=allow_mass_removal,
        out=out,
        key=key,
        workers=workers,
        progress=progress,
    )


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
        prepare_folder(out)
    work = partial(_plan_one, options=options, allow_mass_removal=allow_mass_removal, out=out, key=key)
    runs = run_each(work, jobs, workers, progress)
    if out is not None:
        write_index(out, runs)
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
        denied = sum(action.denied is not None for action in plan.actions)
        blocked = len(plan.blocked) - denied
        why = [f"{denied} {plural(denied, 'action')} denied by policy rules"] if denied else []
        why += [f"{blocked} {plural(blocked, 'action')} blocked for lack of permission"] if blocked else []
        why += [guard.message() for guard in plan.guards] if "--allow-mass-removal" in refused else []
        needs = f"apply needs {' and '.join(refused)}"
        if decommission:  # never half closed: what blocks must go first
            needs = "a decommission is applied whole: lift what blocks it first, such as `protect: true`"
        return AccountRun(name, AccountStatus.BLOCKED, plan, "; ".join(why) + f" ({needs})")
    return AccountRun(name, AccountStatus.CHANGES if plan.actions else AccountStatus.DONE, plan)


def _plan(job: AccountJob, options: PlanOptions) -> Plan | AccountRun[Plan]:
    """The account's plan, or its run when the empty-account guard stops it."""
    store, actor = account_store(job), account_actor(job)
    desired, empty = account_desired(job.entry)
    snapshot = store.snapshot()
    stopped = _guard(job, empty, snapshot)
    if stopped is not None:
        return stopped
    if job.entry.decommission:
        options = replace(options, max_removal_ratio=1.0, unmanaged="remove")
    return placed(make_plan(desired, snapshot, actor, options), [shown(job.entry.path)])


def account_desired(entry: AccountEntry) -> tuple[DesiredState, str | None]:
    """The account's desired state, and why it is empty when it is: its folder gone or declaring nothing."""
    folder = shown(entry.path)
    if not entry.path.is_dir():
        return DesiredState(), f"its folder {folder} is gone"
    if not yaml_files(entry.path):  # listed only: load_desired_state reads them
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
            f"{shown(job.entry.path)} still declare users or contracts; empty its folder to close the "
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
