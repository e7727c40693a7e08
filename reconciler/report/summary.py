"""A plan in brief, decided once for every report that shows it (text, markdown): `plan --summary`,
and apply's view of a plan longer than the terminal.

What a brief holds: the counts of each contract's actions (and of those on
no contract: users and teams), every action the actor may not perform (each
needs someone's decision, so none is left out), and of each kind, in the
kinds' tie-break order, its count and its first `shown` permitted actions in
apply order. The blocked ones are listed once, with their reasons, not again
under their kind. An action a policy rule denies is told by the record the
rule holds for, in the report's policy section (report/attention.py), which
lists a bounded number of records per rule: a rule over the whole plan denies
every action. What expired (`expires`) is counted by the last day it had.
Everything is in a fixed order: the same plan gives the same brief.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.core.kinds import Effect, Kind
from reconciler.core.plan import Action, Plan

#: How many actions of each kind a brief shows, unless told otherwise (`--show N`).
SHOWN = 5


@dataclass(frozen=True)
class Tally:
    """How many actions add, change, remove, and how many of them are blocked."""

    add: int = 0
    change: int = 0
    remove: int = 0
    blocked: int = 0

    @property
    def total(self) -> int:
        return self.add + self.change + self.remove


@dataclass(frozen=True)
class ContractCount:
    """The actions on one contract; `contract` is "" for those on none (users, teams, their members)."""

    contract: str
    tally: Tally


@dataclass(frozen=True)
class KindCount:
    """The actions of one kind: how many, how many blocked, and the first permitted ones in apply order."""

    kind: Kind
    count: int
    blocked: int
    first: tuple[Action, ...]
    #: Of those blocked, how many a policy rule denies.
    denied: int = 0

    @property
    def unshown(self) -> int:
        """The permitted actions of this kind that the brief does not show."""
        return self.count - self.blocked - len(self.first)

    @property
    def held(self) -> str:
        """`3 blocked`, `2 blocked, 1 denied by policy`, `1 denied by policy`: why those blocked are;
        "" when none is."""
        words = [f"{self.blocked - self.denied:,} blocked"] if self.blocked > self.denied else []
        if self.denied:
            words.append(f"{self.denied:,} denied by policy")
        return ", ".join(words)


@dataclass(frozen=True)
class Brief:
    """A plan in brief: see the module's docstring."""

    plan: Plan
    contracts: tuple[ContractCount, ...]
    kinds: tuple[KindCount, ...]
    shown: int
    #: The actions that take away what expired, counted by its last day, earliest first.
    expired: tuple[tuple[str, int], ...] = ()

    @property
    def expired_count(self) -> int:
        """How many actions take away what expired."""
        return sum(count for _, count in self.expired)

    @property
    def blocked(self) -> tuple[Action, ...]:
        """The actions the actor may not perform, which the brief lists every one of: those blocked
        but for the ones a policy denies (the policy section tells them, by their records)."""
        return tuple(action for action in self.plan.blocked if action.denied is None)

    @property
    def listed(self) -> int:
        """How many actions the brief shows: each one the actor may not perform, and the first of each
        kind."""
        return len(self.blocked) + sum(len(kind.first) for kind in self.kinds)


def brief(plan: Plan, shown: int = SHOWN) -> Brief:
    """`plan` in brief, showing the first `shown` permitted actions of each kind."""
    if shown < 0:
        raise ValueError(f"shown must be 0 or more, not {shown}")
    by_contract: dict[str, list[Action]] = {}
    by_kind: dict[Kind, list[Action]] = {}
    by_day: dict[str, int] = {}
    for action in plan.actions:
        by_contract.setdefault(action.target.get("contract", ""), []).append(action)
        by_kind.setdefault(action.kind, []).append(action)
        if action.expired is not None:
            by_day[action.expired] = by_day.get(action.expired, 0) + 1
    contracts = tuple(ContractCount(number, tally(by_contract[number])) for number in sorted(by_contract))
    kinds = tuple(_kind_count(kind, by_kind[kind], shown) for kind in sorted(by_kind, key=lambda k: k.rank))
    return Brief(plan, contracts, kinds, shown, tuple(sorted(by_day.items())))


def tally(actions: Sequence[Action]) -> Tally:
    """What `actions` do, counted."""
    effects = {effect: 0 for effect in Effect}
    blocked = 0
    for action in actions:
        effects[action.effect] += 1
        blocked += not action.permitted
    return Tally(effects[Effect.ADD], effects[Effect.CHANGE], effects[Effect.REMOVE], blocked)


def _kind_count(kind: Kind, actions: Sequence[Action], shown: int) -> KindCount:
    permitted = [action for action in actions if action.permitted]
    denied = sum(action.denied is not None for action in actions)
    return KindCount(kind, len(actions), len(actions) - len(permitted), tuple(permitted[:shown]), denied)
