"""What a reader of a plan must know beyond its actions, worded once for every report.

An actor who holds no role in the store (a misspelt --actor, most often:
every action is blocked, and no one reason says why), first; a plan limited
by --target; what apply refuses the plan for unless given a flag, each
naming the flag (blocked actions, a tripped removal guard: the plan exits 3
for them, engine/guards.py's `refused_without`); and users the YAML does not
manage that a policy keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core.errors import plural
from reconciler.core.plan import Plan

#: How many unmanaged users a note names before it only counts.
NAMED = 10


@dataclass(frozen=True)
class Note:
    label: str
    text: str
    warning: bool = False
    #: Said before the actions, not after them: what makes every action below read otherwise.
    first: bool = False


def plan_notes(plan: Plan) -> list[Note]:
    """The notes of `plan`, most urgent first, each worded once for every report."""
    notes = []
    if plan.standing is not None and not plan.standing.roles:
        notes.append(
            Note("No role", plan.standing.message(plan.actor, len(plan.actions)), warning=True, first=True)
        )
    if plan.targets:
        needs = "it needs" if len(plan.targets) == 1 else "they need"
        notes.append(
            Note(
                "Targeted",
                f"only {', '.join(plan.targets)} and what {needs}; "
                "the rest of the YAML waits for a full plan.",
                warning=True,
            )
        )
    blocked = len(plan.blocked)
    if blocked:
        notes.append(
            Note(
                "Blocked",
                f"{blocked:,} {plural(blocked, 'action')} the actor may not perform: apply refuses the plan "
                f"without --request, which applies the rest and asks whoever may perform "
                f"{'it' if blocked == 1 else 'them'}.",
                warning=True,
            )
        )
    for guard in plan.guards:
        notes.append(
            Note("Removal guard", f"{guard.message()}: apply refuses it without --allow-mass-removal.", True)
        )
    if plan.unmanaged:
        count = len(plan.unmanaged)
        named = ", ".join(plan.unmanaged[:NAMED]) + (f" and {count - NAMED} more" if count > NAMED else "")
        doing = "kept as they are" if plan.unmanaged_policy == "keep" else "kept, with their access revoked"
        notes.append(
            Note(
                "Unmanaged",
                f"{count} {plural(count, 'user')} in the store but not in the YAML, {doing} "
                f"(unmanaged_users: {plan.unmanaged_policy}): {named}.",
            )
        )
    return notes
