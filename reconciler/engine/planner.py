"""From desired state and store to a plan: diff, judge, address, order.

desired ─┐
         ├→ diff → judge (permissions) → notifications → order → policy rules → hold → Plan
store ───┘

"Hold" marks the permitted actions that wait on a blocked one, or share a
unit with one (engine/units.py), so the plan's reports say what
`apply --request` would hold back and why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from reconciler.core.model import DesiredState, effective_access
from reconciler.core.plan import Action, Notification, Plan, renamed_users
from reconciler.core.records import Snapshot
from reconciler.engine.diff import diff
from reconciler.engine.expiry import NOTHING_EXPIRED, expire, with_reasons
from reconciler.engine.guards import DEFAULT_MAX_REMOVAL_RATIO, mass_removal
from reconciler.engine.ordering import plan_order
from reconciler.engine.permissions import Authority, Judgement, judge, standing
from reconciler.engine.policies import judge_policies
from reconciler.engine.recipients import Recipients
from reconciler.engine.requests import with_holds
from reconciler.engine.targets import check_known, select
from reconciler.engine.unmanaged import DEFAULT_POLICY, with_unmanaged
from reconciler.policy.cel import compile_rules


@dataclass(frozen=True)
class PlanOptions:
    """How to plan, beyond the YAML: the command line's guard, policy and target options."""

    max_removal_ratio: float = DEFAULT_MAX_REMOVAL_RATIO
    unmanaged: str | None = None  # overrides the YAML's unmanaged_users
    targets: tuple[str, ...] = ()
    #: The day expiry is judged on, ISO 8601 (the command line's --today, or today in UTC); None: never.
    today: str | None = None


DEFAULT_OPTIONS = PlanOptions()


def make_plan(
    desired: DesiredState, snapshot: Snapshot, actor: str, options: PlanOptions = DEFAULT_OPTIONS
) -> Plan:
    """The ordered, judged plan that takes the store in `snapshot` to `desired`."""
    actor = actor.lower()
    policy = options.unmanaged or desired.unmanaged_users or DEFAULT_POLICY
    goal, unmanaged = with_unmanaged(desired, snapshot.state, policy)
    expiries = NOTHING_EXPIRED
    if options.today is not None:
        goal, expiries = expire(goal, options.today)
    # Policy rules read the access the plan leaves (a user's serials, a serial's seats used): worked out
    # once, for the diff and the rules both.
    grants = effective_access(goal) if desired.policies else None
    actions = with_reasons(
        judge_actions(diff(goal, snapshot.state, snapshot.grants, grants), snapshot, actor), expiries
    )
    whole = None
    if options.targets:
        check_known(options.targets, desired, snapshot.state)
        whole, actions = actions, select(actions, options.targets, snapshot.state.teams)
    ordered = tuple(plan_order(actions))
    outcome = None
    if desired.policies:
        rules = compile_rules(desired.policies)
        ordered, outcome = judge_policies(rules, ordered, goal, snapshot, actor, options.today, grants, whole)
    if any(not action.permitted for action in ordered):
        ordered = tuple(with_holds(ordered, snapshot.state.teams))
    counts = store_counts(snapshot)
    products, names = labels(ordered, goal, snapshot.state)
    return Plan(
        lineage=snapshot.lineage,
        revision=snapshot.revision,
        actor=actor,
        desired_digest=digest(desired),
        actions=ordered,
        store_counts=counts,
        guards=mass_removal(ordered, counts, options.max_removal_ratio),
        max_removal_ratio=options.max_removal_ratio,
        unmanaged_policy=policy,
        unmanaged=unmanaged,
        targets=options.targets,
        standing=standing(snapshot, actor),
        products=products,
        user_names=names,
        policy=outcome,
    )


def labels(
    actions: Sequence[Action], desired: DesiredState, state: DesiredState
) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """The plan's `products` and `user_names`: the product of each serial `actions` name and the name
    of each person they name, from `desired` (the YAML) and `state` (the store)."""
    serials: set[str] = set()
    people: set[str] = set()
    for action in actions:
        target = action.target
        if "serial" in target:
            serials.add(target["serial"])
        for key in ("user", "coordinator"):
            if key in target:
                people.add(target[key])
        after = action.after
        if after is not None and type(after.get("coordinator")) is str:
            people.add(after["coordinator"])
    products: dict[str, str] = {}
    names: dict[str, tuple[str, str]] = {}
    # A serial by the product the store has (what it is now), a new one by the YAML's; a person by
    # the YAML's name, one the YAML no longer has by the store's.
    for source in (desired, state):
        products.update(
            (s.number, s.product) for c in source.contracts for s in c.serials if s.number in serials
        )
    for source in (state, desired):
        names.update(
            (u.email, (u.first_name or "", u.last_name or ""))
            for u in source.users
            if u.email in people and (u.first_name or u.last_name)
        )
    return dict(sorted(products.items())), dict(sorted(names.items()))


def store_counts(snapshot: Snapshot) -> dict[str, int]:
    """What the removal guard measures a plan against: the store's users and their effective access."""
    return {"users": len(snapshot.state.users), "access": len(snapshot.grants)}


def judge_actions(actions: Iterable[Action], snapshot: Snapshot, actor: str) -> list[Action]:
    """`actions` with who may perform them, whether `actor` may, and who hears of them, as the store
    in `snapshot` says."""
    actions = list(actions)
    judged = judgements(actions, snapshot, actor)
    # Built directly rather than by dataclasses.replace, which is several times slower per call.
    return [
        Action(
            action.kind,
            action.target,
            action.before,
            action.after,
            judgement.requires,
            judgement.permitted,
            judgement.reason,
            notifications,
        )
        for action, (judgement, notifications) in zip(actions, judged, strict=True)
    ]


def judgements(
    actions: Sequence[Action], snapshot: Snapshot, actor: str
) -> Iterator[tuple[Judgement, tuple[Notification, ...]]]:
    """Each of `actions` judged as the store in `snapshot` says: who may perform it, whether `actor`
    may, and who hears of it. `judge_actions` writes these into a plan's actions; checking a saved
    plan compares its actions with them, without making each action again."""
    moved = renamed_users(actions)
    authority = Authority.of(snapshot, actor, moved)
    recipients = Recipients.of(snapshot, moved)
    return ((judge(action, authority), recipients.of_action(action)) for action in actions)


def digest(desired: DesiredState) -> str:
    """A fingerprint of the desired state: equal states, equal digests.

    The model is frozen dataclasses of sorted tuples, so its repr is canonical; it is six times
    faster than going through asdict and JSON.
    """
    return "sha256:" + hashlib.sha256(repr(desired).encode()).hexdigest()
