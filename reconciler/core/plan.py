"""The plan: plain data that says what apply will do, in order, and who may do it.

An Action's `before` is the record as the store has it (None for an add),
its `after` the record as the YAML wants it (None for a removal); for a
change both hold the fields that matter to that kind. `requires` is the least
role that could perform the action on its target given the store; `permitted`
says whether the actor can, and `reason` why not. `held` says of a permitted
action that `apply --request` would hold it back, and which blocked action it
waits on (engine/requests.py); a saved plan's file does not keep it, as apply
works it out again. `expired` says of a removal that it takes away what
expired, and on which day it ended (its `reason` in the plan's JSON). Its
file, JSON with a `format_version`, is planfile.py's; apply consumes a plan
and never diffs again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.errors import StalePlan
from reconciler.core.kinds import RANK, TARGET_KEYS, Effect, Event, Kind, Role


@dataclass(frozen=True, slots=True)
class Notification:
    """An e-mail an action will cause."""

    to: str
    event: Event


@dataclass(frozen=True, slots=True)
class Action:
    """One change to the store."""

    kind: Kind
    target: Mapping[str, str]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    requires: Role = Role.RESELLER
    permitted: bool = True
    reason: str | None = None
    notifications: tuple[Notification, ...] = ()
    held: str | None = None
    #: For a removal of what expired (engine/expiry.py): the last day it lasted, ISO 8601.
    expired: str | None = None
    #: For an action a policy rule denies (engine/policies.py): the rule's id. It is blocked, and its
    #: `reason` says why; no request can unblock it, only a change to the YAML or the rule.
    denied: str | None = None

    @property
    def effect(self) -> Effect:
        """`add`, `change` or `remove`: how the summary counts this action."""
        return self.kind.effect

    def sort_key(self) -> str:
        """The tie-break when the dependency graph leaves the order open: the kind's rank, then the
        target's values in `TARGET_KEYS` order ("" where it has none), as one string.

        Joined by NUL, which no name holds (a name with a control character is invalid), the strings
        sort as the tuples (rank, *values) would; 400,000 of them sort six times faster.
        """
        target = self.target
        return "\0".join([_RANK_CHARACTER[self.kind], *[target.get(key, "") for key in TARGET_KEYS]])


def renamed_users(actions: Iterable[Action]) -> dict[str, str]:
    """The users `actions` give a new e-mail address (`user.change_email`): old address to new.

    What a plan says after such an action names the user by the new address, and the store before the
    plan knows them by the old one: who they are (their roles, what they coordinate) is looked up there.
    """
    found: dict[str, str] = {}
    change_email = Kind.USER_CHANGE_EMAIL  # a local: a plan of 400,000 actions asks this of each
    for action in actions:
        if action.kind is change_email:
            new = (action.after or {}).get("email")
            if isinstance(new, str):  # a saved plan is checked before it is believed; `show` only prints it
                found[action.target["user"]] = new
    return found


#: A kind's tie-break rank as the first character of its actions' sort key.
_RANK_CHARACTER = {kind: chr(rank) for kind, rank in RANK.items()}


#: What the store holds of the things a mass removal would take: the base of the removal guard.
COUNTED = ("users", "access")


@dataclass(frozen=True)
class Tripped:
    """The removal guard, tripped: the plan removes more of `what` than `max_ratio` of the store's."""

    what: str
    removed: int
    total: int
    max_ratio: float

    def message(self, where: str = "in the store", remover: str = "the plan") -> str:
        things = "access grants" if self.what == "access" else self.what
        return (
            f"{remover} removes {self.removed} of the {self.total} {things} {where} "
            f"({self.removed / self.total:.0%}), more than the {self.max_ratio:.0%} allowed"
        )


@dataclass(frozen=True)
class Standing:
    """What the store before the plan says of the actor: the roles they hold, least first (none: an
    address nobody in the store has a role under, a misspelt --actor perhaps); the resellers; and,
    for an actor with no role, who holds one under a like address (the --actor they may have meant)."""

    roles: tuple[Role, ...]
    resellers: tuple[str, ...] = ()
    lookalikes: tuple[str, ...] = ()

    def message(self, actor: str, actions: int) -> str:
        """What `actor`, holding no role, is told once at the top of a plan of `actions` actions: that
        each is blocked, and whom they may have meant. (Worded here, as `Tripped.message` is, for
        the reports and the plan's JSON alike.)"""
        blocked = "every action is blocked" if actions else "they may change nothing"
        told = (
            f"{actor} holds no role in this store (no reseller, Contract Manager or coordinator has "
            f"that address): {blocked}. Is --actor spelt right?"
        )
        if self.lookalikes:
            meant = [
                f"{email} (a reseller)" if email in self.resellers else email for email in self.lookalikes
            ]
            told += f" Did you mean {' or '.join(meant)}?"
        if self.resellers and not set(self.resellers) <= set(self.lookalikes):
            are = "reseller is" if len(self.resellers) == 1 else "resellers are"
            told += f" The {are} {', '.join(self.resellers)}."
        return told


@dataclass(frozen=True)
class Verdict:
    """A policy rule that holds for one record the plan touches (or for the plan itself).

    `effect` is the rule's (`deny`, `warn`, `require_approvals`), or `error` when the rule could not
    be evaluated there, which blocks as a deny does; `subject` names the record by the keys of a
    target (`user`, `serial`, `team`; none for the plan); `record`, as a person reads it. `actions`
    are the positions of the plan's actions that touch it (those a deny blocks). `file`, `line` and
    `column` are where the record is written (the team's line for access only a team gives), 0 when
    not known; loading finds them after the plan is made (commands/operations.py)."""

    rule: str
    effect: str
    message: str
    applies_to: str
    subject: Mapping[str, str]
    record: str
    actions: tuple[int, ...] = ()
    approvals: int = 0  # a require_approvals rule's reviews
    file: str = ""
    line: int = 0
    column: int = 0

    @property
    def blocks(self) -> bool:
        return self.effect in ("deny", "error")

    @property
    def place(self) -> str:
        """`file:line:column`, or the file alone, or "" when not known."""
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


@dataclass(frozen=True)
class PolicyOutcome:
    """What the account's policy rules said of a plan: the verdicts, in plan order of their records,
    and how many approving reviews the plan needs (the most any holding rule asks; 0 for none)."""

    verdicts: tuple[Verdict, ...] = ()
    required_approvals: int = 0
    approvals_from: tuple[str, ...] = ()  # the ids of the rules that ask for reviews, sorted
    rules: int = 0  # how many rules were evaluated
    records: int = 0  # how many records they were evaluated over

    @property
    def denied(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.blocks)

    @property
    def warnings(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.effect == "warn")


@dataclass(frozen=True)
class Plan:
    """The ordered actions that take the store at `revision` to the desired state."""

    lineage: str
    revision: int
    actor: str
    desired_digest: str
    actions: tuple[Action, ...] = field(default=())
    store_counts: Mapping[str, int] = field(default_factory=dict)  # users, access: before the plan
    guards: tuple[Tripped, ...] = ()  # the removal guard, as the plan's max_removal_ratio judges it
    max_removal_ratio: float = 0.25
    unmanaged_policy: str = "remove"
    unmanaged: tuple[str, ...] = ()  # users the store has and the YAML does not, when not removed
    targets: tuple[str, ...] = ()  # --target: the plan covers only these, with what they need
    standing: Standing | None = None  # the actor's roles; None when not known (a plan of format 4)
    #: The product of each serial the actions name, and the first and last name of each person they
    #: name (by e-mail), as the YAML or the store has them: for the reports people read (wording.sentence).
    products: Mapping[str, str] = field(default_factory=dict)
    user_names: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: What the account's policy rules said (engine/policies.py); None when it has none.
    policy: PolicyOutcome | None = None

    @property
    def revision_after(self) -> int:
        """The store's revision once this plan is applied: one more, unless it changes nothing."""
        return self.revision + 1 if self.actions else self.revision

    def check_current(self, lineage: str, revision: int) -> int:
        """The store's revision after this plan; raises StalePlan unless the store, at `lineage` and
        `revision` (read inside the apply's transaction), is where the plan was made."""
        if lineage != self.lineage:
            raise StalePlan(
                f"the plan was made for another store (lineage {self.lineage}, this one is {lineage}); "
                "nothing was applied"
            )
        if revision != self.revision:
            raise StalePlan(
                f"the plan was made at revision {self.revision} but the store is at revision {revision}; "
                "nothing was applied: run `reconciler plan` again"
            )
        return self.revision_after

    @property
    def blocked(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if not a.permitted)

    def summary(self) -> dict[str, int]:
        counts = {"add": 0, "change": 0, "remove": 0, "blocked": 0}
        for kind, count in Counter(action.kind for action in self.actions).items():
            counts[kind.effect] += count
        counts["blocked"] = sum(not action.permitted for action in self.actions)
        return counts
