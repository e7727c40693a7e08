"""From desired state and store to a plan: diff, judge, address, order.

desired ─┐
         ├→ diff → judge (permissions) → notifications → order → Plan
store ───┘
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace

from reconciler.diff import diff
from reconciler.model import DesiredState
from reconciler.notify.recipients import Recipients
from reconciler.ordering import plan_order
from reconciler.permissions import Authority, judge
from reconciler.plan import Plan
from reconciler.store.base import Snapshot


def make_plan(desired: DesiredState, snapshot: Snapshot, actor: str) -> Plan:
    """The ordered, judged plan that takes the store in `snapshot` to `desired`."""
    actor = actor.lower()
    authority = Authority.of(snapshot, actor)
    recipients = Recipients.of(snapshot)
    actions = []
    for action in diff(desired, snapshot.state):
        judgement = judge(action, authority)
        actions.append(
            replace(
                action,
                requires=judgement.requires,
                permitted=judgement.permitted,
                reason=judgement.reason,
                notifications=recipients.of_action(action),
            )
        )
    return Plan(
        lineage=snapshot.lineage,
        revision=snapshot.revision,
        actor=actor,
        desired_digest=digest(desired),
        actions=tuple(plan_order(actions)),
    )


def digest(desired: DesiredState) -> str:
    """A fingerprint of the desired state: equal states, equal digests."""
    canonical = json.dumps(asdict(desired), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
