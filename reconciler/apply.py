"""Apply a plan: refuse what must not run, then hand it to the store's one transaction."""

from __future__ import annotations

from reconciler.errors import ApplyRefused, PlanBlocked, plural
from reconciler.plan import Plan
from reconciler.store.base import Store


def check_applicable(plan: Plan, actor: str | None) -> None:
    """Raise unless `plan` may run as it stands: nothing blocked, made for this actor."""
    if actor is not None and actor.lower() != plan.actor:
        raise ApplyRefused(
            f"the plan was made for {plan.actor}, not {actor.lower()}; "
            "permissions were judged for that actor, so make a plan of your own"
        )
    blocked = len(plan.blocked)
    if blocked:
        raise PlanBlocked(
            f"{blocked} {plural(blocked, 'action')} of the plan {'is' if blocked == 1 else 'are'} blocked "
            "for lack of permission; nothing was applied"
        )


def apply_plan(store: Store, plan: Plan, actor: str | None = None) -> int:
    """Run `plan` on `store`, all of it or nothing; returns the store's revision afterwards."""
    check_applicable(plan, actor)
    if not plan.actions:
        return plan.revision
    return store.apply(plan, plan.actor)
