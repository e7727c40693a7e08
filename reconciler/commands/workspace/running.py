"""Running one piece of work on each account: in this process or in spawned ones, one account's
failure its own outcome (`guarded`), never the others'."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import TypeVar

from reconciler.commands.workspace.choosing import AccountJob
from reconciler.core.errors import (
    InputError,
    InvalidDesiredState,
    PlanBlocked,
    ReconcilerError,
    WorkspaceError,
)
from reconciler.core.model import is_email
from reconciler.core.workspace import AccountRun, AccountStatus
from reconciler.loading import Progress
from reconciler.store import Store, open_store
from reconciler.store.urls import redact_url

T = TypeVar("T")
X = TypeVar("X")


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


def account_store(job: AccountJob) -> Store:
    if job.unset:
        raise WorkspaceError(job.unset)
    if not job.store_url:
        raise InputError(
            f"no store for account {job.name}: give it `store:` in reconciler.yaml (or --store with this "
            "account alone)"
        )
    return open_store(job.store_url, lock_timeout=job.lock_timeout)


def account_actor(job: AccountJob) -> str:
    if not job.actor:
        raise InputError(
            f"nobody acts on account {job.name}: give it `actor:` in reconciler.yaml, or pass --actor EMAIL"
        )
    # The file's actors are checked when it is read; --actor's and the environment's here.
    if not is_email(job.actor):
        raise InputError(f"the actor {job.actor!r} is not an e-mail address")
    return job.actor
