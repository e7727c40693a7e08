"""What a reader of a plan must know beyond its actions, worded once for every report.

An actor who holds no role in the store (a misspelt --actor, most often:
every action is blocked, and no one reason says why), first; a plan limited
by --target; the actions policy rules deny, which apply refuses whatever
it is told; what apply refuses the plan for unless given a flag, each
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
#: How many policy rules the note on denied actions names before it only counts.
RULES_NAMED = 5


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
    denied = sorted({str(action.denied) for action in plan.actions if action.denied is not None})
    if denied:
        notes.append(_denied(denied, sum(action.denied is not None for action in plan.actions)))
    blocked = sum(not action.permitted and action.denied is None for action in plan.actions)
    if blocked:
        them = "it" if blocked == 1 else "them"
        asks = (
            f"without --request, which applies the rest and asks whoever may perform {them}."
            if not denied
            else f"while a rule denies an action; then --request asks whoever may perform {them}."
        )
        notes.append(
            Note(
                "Blocked",
                f"{blocked:,} {plural(blocked, 'action')} the actor may not perform: apply refuses the plan "
                + asks,
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


def _denied(rules: list[str], count: int) -> Note:
    """The note on the actions policy rules deny: unlike blocked ones, no request can ask for them."""
    named = ", ".join(rules[:RULES_NAMED])
    if len(rules) > RULES_NAMED:
        named += f" and {len(rules) - RULES_NAMED:,} more"
    return Note(
        "Denied",
        f"{count:,} {plural(count, 'action')} {'breaks' if count == 1 else 'break'} policy "
        f"{plural(len(rules), 'rule')} ({named}): apply refuses the plan, even with --request, which "
        "cannot ask anyone to break a rule; change the YAML or the rule.",
        warning=True,
    )
