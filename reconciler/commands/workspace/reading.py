"""`drift`, `usage` and `notify` over a workspace's accounts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial

from reconciler.commands.operations import drift_account, usage_report
from reconciler.commands.workspace.choosing import (
    AccountJob,
    Selection,
    Settings,
    choose,
    mailing_for,
    shown,
)
from reconciler.commands.workspace.planning import account_desired
from reconciler.commands.workspace.running import account_store, guarded, run_each
from reconciler.core.records import Drift, Usage
from reconciler.core.workspace import AccountRun, AccountStatus
from reconciler.engine.drift import find_drift
from reconciler.loading import Progress
from reconciler.notify.delivery import DeliveryReport, send_queued
from reconciler.report.attention import attention


def drift_workspace(
    selection: Selection,
    settings: Settings,
    now: datetime,
    stale_after_days: int | None = None,
    unmanaged: str | None = None,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[AccountRun[Drift], ...]:
    """`drift` over the accounts `selection` names."""
    jobs = choose(selection, settings).jobs
    return drift_accounts(jobs, now, stale_after_days, unmanaged, workers=workers, progress=progress)


def usage_workspace(
    selection: Selection,
    settings: Settings,
    now: datetime,
    renewal_days: int,
    stale_after_days: int | None = None,
    *,
    expiring_days: int | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[AccountRun[Usage], ...]:
    """`usage` over the accounts `selection` names."""
    jobs = choose(selection, settings).jobs
    return usage_accounts(
        jobs,
        now,
        renewal_days,
        stale_after_days,
        expiring_days=expiring_days,
        workers=workers,
        progress=progress,
    )


def notify_workspace(
    selection: Selection,
    settings: Settings,
    environ: Mapping[str, str],
    *,
    resend: Sequence[int] = (),
    resend_uncertain: bool = False,
) -> tuple[AccountRun[DeliveryReport], ...]:
    """`notify` over the accounts `selection` names: each account's outbox sent through the workspace's
    SMTP server, one account after another; a settled delivery is done, one that left mail queued or
    uncertain is that account's error. `resend` and `resend_uncertain` are for a run on one account,
    whose outbox ids they name."""
    chosen = choose(selection, settings)
    courier = mailing_for(chosen.workspace, environ).courier()

    def one(job: AccountJob) -> AccountRun[DeliveryReport]:
        def deliver() -> AccountRun[DeliveryReport]:
            report = send_queued(
                account_store(job), courier, resend=resend, resend_uncertain=resend_uncertain
            )
            return AccountRun(job.name, AccountStatus.DONE if report.settled else AccountStatus.ERROR, report)

        return guarded(job.name, deliver)

    return tuple(one(job) for job in chosen.jobs)


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
            desired, empty = account_desired(job.entry)
            if empty is not None:
                found = find_drift(desired, account_store(job).snapshot(), now, stale_after_days, unmanaged)
                return AccountRun(
                    job.name, AccountStatus.CHANGES if found.found else AccountStatus.DONE, found
                )
        if not job.entry.path.is_dir():
            return AccountRun(
                job.name, AccountStatus.ERROR, reason=f"its folder {shown(job.entry.path)} is gone"
            )
        found = drift_account(account_store(job), [shown(job.entry.path)], now, stale_after_days, unmanaged)
        return AccountRun(job.name, AccountStatus.CHANGES if found.found else AccountStatus.DONE, found)

    return guarded(job.name, drift)


def usage_accounts(
    jobs: Sequence[AccountJob],
    now: datetime,
    renewal_days: int,
    stale_after_days: int | None = None,
    *,
    expiring_days: int | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[AccountRun[Usage], ...]:
    """How each account's seats are used and when its contracts end; with `expiring_days`, what ends."""
    work = partial(
        _usage_one,
        now=now,
        renewal_days=renewal_days,
        stale_after_days=stale_after_days,
        expiring_days=expiring_days,
    )
    return run_each(work, jobs, workers, progress)


def _usage_one(
    job: AccountJob, now: datetime, renewal_days: int, stale_after_days: int | None, expiring_days: int | None
) -> AccountRun[Usage]:
    def usage() -> AccountRun[Usage]:
        found = usage_report(account_store(job), now, renewal_days, stale_after_days, expiring_days)
        return AccountRun(job.name, AccountStatus.CHANGES if attention(found) else AccountStatus.DONE, found)

    return guarded(job.name, usage)
