"""Apply a plan: refuse what must not run, compose its e-mail, hand both to the store's one transaction.

The messages are composed before the transaction from the store as the plan
saw it, and written to the outbox inside it: the change and the news of it
commit together or not at all. Delivery happens afterwards (notify/).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.errors import ApplyRefused, MassRemoval, PlanBlocked, PlanFileError, plural
from reconciler.guards import mass_removal
from reconciler.notify.compose import DEFAULT_MAIL, MailSettings, compose_notifications
from reconciler.notify.message import Message, Request
from reconciler.notify.requests import compose_requests, requests_of, split_blocked
from reconciler.plan import Action, Plan
from reconciler.planner import judge_actions, store_counts
from reconciler.store.base import Progress, Snapshot, Store
from reconciler.store.shared import check_current


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did: the store's revision after it, what it applied, queued and asked for."""

    revision: int
    plan: Plan
    messages: tuple[Message, ...] = ()
    requests: tuple[Request, ...] = ()
    held_back: tuple[Action, ...] = ()


def check_applicable(
    plan: Plan, actor: str | None, request: bool = False, allow_mass_removal: bool = False
) -> None:
    """Raise unless `plan` may run as it stands: made for this actor, nothing blocked unless the
    blocked actions are to be requested, and no mass removal unless it is allowed."""
    if actor is not None and actor.lower() != plan.actor:
        raise ApplyRefused(
            f"the plan was made for {plan.actor}, not {actor.lower()}; "
            "permissions were judged for that actor, so make a plan of your own"
        )
    blocked = len(plan.blocked)
    if blocked and not request:
        raise PlanBlocked(
            f"{blocked} {plural(blocked, 'action')} of the plan {'is' if blocked == 1 else 'are'} blocked "
            "for lack of permission; nothing was applied (use --request to ask whoever may)"
        )
    if plan.guards and not allow_mass_removal:
        raise MassRemoval(
            "; ".join(guard.message() for guard in plan.guards)
            + ". Nothing was applied: check the YAML, and if this is meant, apply with --allow-mass-removal"
        )


def verify_saved(plan: Plan, snapshot: Snapshot) -> None:
    """Refuse a saved plan that says other than the store does now.

    A plan file is data that anyone with access to it could have edited between `plan` and
    `apply`: every action is judged again for the plan's actor against the store, and its e-mail
    and removal guard worked out again; anything that differs means the file was changed.
    """
    check_current(plan, snapshot.lineage, snapshot.revision)
    for saved, fresh in zip(plan.actions, judge_actions(plan.actions, snapshot, plan.actor), strict=True):
        if (saved.requires, saved.permitted, saved.reason, saved.notifications) != (
            fresh.requires,
            fresh.permitted,
            fresh.reason,
            fresh.notifications,
        ):
            raise PlanFileError(
                f"the saved plan does not match the store: it marks {saved.kind} {dict(saved.target)} "
                f"{_verdict(saved)} for {plan.actor}, the store makes it {_verdict(fresh)}; the file was "
                "changed after it was made: make the plan again"
            )
    counts = store_counts(snapshot)
    if dict(plan.store_counts) != counts or plan.guards != mass_removal(
        plan.actions, counts, plan.max_removal_ratio
    ):
        raise PlanFileError(
            "the saved plan's removal guard does not match the store; the file was changed after it "
            "was made: make the plan again"
        )


def _verdict(action: Action) -> str:
    return "permitted" if action.permitted else f"blocked (needs {action.requires})"


def apply_plan(
    store: Store,
    plan: Plan,
    actor: str | None = None,
    *,
    snapshot: Snapshot | None = None,
    request: bool = False,
    allow_mass_removal: bool = False,
    mail: MailSettings = DEFAULT_MAIL,
    progress: Progress | None = None,
) -> ApplyResult:
    """Run `plan` on `store`, all of it or nothing, with its e-mail queued in the same transaction.

    With `request`, blocked actions (and what waits on them) are not applied
    but sent as requests to the people who may perform them. `snapshot`, the
    store as the plan was made from it, saves reading the store again.
    """
    check_applicable(plan, actor, request, allow_mass_removal)
    if not plan.actions:
        return ApplyResult(plan.revision, plan)
    if snapshot is None or (snapshot.lineage, snapshot.revision) != (plan.lineage, plan.revision):
        snapshot = store.snapshot()  # if it moved on since the plan, the store refuses the apply
    runnable = plan
    requests: list[Request] = []
    held_back: tuple[Action, ...] = ()
    if request and plan.blocked:
        split = split_blocked(plan)
        runnable, held_back = split.runnable, split.held_back
        requests = requests_of(plan, snapshot, datetime.now(UTC).date().isoformat())
    messages = compose_notifications(runnable, snapshot, runnable.revision_after, mail)
    messages += compose_requests(plan, requests, mail)
    revision = store.apply(runnable, plan.actor, messages, requests, progress)
    return ApplyResult(revision, runnable, tuple(messages), tuple(requests), held_back)
