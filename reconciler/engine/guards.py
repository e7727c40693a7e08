"""The removal guard, as peribolos' maximum removal delta: a plan that takes away more than a
share of the users or of the access in the store is refused unless the person applying says
it is meant. A deleted file, a bad merge or a wrong folder should not empty an account.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace

from reconciler.core.errors import InputError
from reconciler.core.kinds import Kind
from reconciler.core.plan import Action, Plan, Tripped

DEFAULT_MAX_REMOVAL_RATIO = 0.25
#: Removing this many is never a mass removal, however small the account: one person leaving is routine.
ALWAYS_ALLOWED = 1

#: What counts as removing each counted thing.
_REMOVING = {"users": Kind.USER_REMOVE, "access": Kind.ACCESS_REVOKE}


def check_ratio(ratio: float) -> float:
    if not 0 <= ratio <= 1:
        raise InputError(f"--max-removal-ratio must be between 0 and 1, not {ratio}")
    return ratio


def mass_removal(
    actions: Sequence[Action], store_counts: Mapping[str, int], max_ratio: float
) -> tuple[Tripped, ...]:
    """The counted things of which `actions` remove more than `max_ratio` of what the store has,
    and more than one."""
    kinds = Counter(action.kind for action in actions)
    found = (
        removal_tripped(what, kinds[kind], store_counts.get(what, 0), max_ratio)
        for what, kind in _REMOVING.items()
    )
    return tuple(guard for guard in found if guard is not None)


def removal_tripped(what: str, removed: int, total: int, max_ratio: float) -> Tripped | None:
    """The guard on `what`, tripped when `removed` of `total` is more than `max_ratio`, and more than
    one; None when it holds. The one rule, for the store's plan and a directory push alike."""
    if removed > ALWAYS_ALLOWED and removed / total > max_ratio:
        return Tripped(what, removed, total, max_ratio)
    return None


#: What `refused_without` says for a plan a policy rule denies an action of: no flag helps.
NO_FLAG = "a change to the YAML or the rule its policy denies"


def refused_without(plan: Plan, allow_mass_removal: bool = False) -> tuple[str, ...]:
    """The flags without which `apply` refuses `plan` as it stands, as its check_applicable judges
    (commands/apply.py): a change to the YAML (`NO_FLAG`) while a policy rule denies an action,
    `--request` while another action is blocked, `--allow-mass-removal` when the
    removal guard trips and is not allowed. `plan` exits 3 (blocked) when there is any, so that a
    pull request is not green for a plan that apply will refuse after the merge. (Apply's other
    refusal, a plan made for another actor, cannot happen to a plan just made for its actor.)"""
    flags = []
    if any(action.denied is not None for action in plan.actions):
        flags.append(NO_FLAG)  # a rule's denial: no flag makes apply take it
    if any(not action.permitted and action.denied is None for action in plan.actions):
        flags.append("--request")
    if plan.guards and not allow_mass_removal:
        flags.append("--allow-mass-removal")
    return tuple(flags)


def rejudge_removals(plan: Plan, max_ratio: float) -> Plan:
    """A saved `plan` with its removal guard judged again at another ratio."""
    guards = mass_removal(plan.actions, plan.store_counts, max_ratio)
    return replace(plan, guards=guards, max_removal_ratio=max_ratio)
