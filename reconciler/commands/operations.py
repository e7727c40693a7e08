"""What `plan`, `drift` and `usage` do, each as one call: read the YAML and the store, compare, return
the result.

The command line calls these and prints what they return; `apply` has its
own module (apply.py), as it also writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from reconciler.core.plan import Plan
from reconciler.core.records import Drift, Usage
from reconciler.engine.drift import find_drift
from reconciler.engine.planner import DEFAULT_OPTIONS, PlanOptions, make_plan
from reconciler.engine.usage import DEFAULT_RENEWAL_DAYS, seat_usage
from reconciler.loading import Progress, load_desired_state, place_verdicts
from reconciler.store.protocol import Store


def plan_account(
    store: Store,
    paths: Sequence[str],
    actor: str,
    options: PlanOptions = DEFAULT_OPTIONS,
    reading: Progress | None = None,
) -> Plan:
    """The plan that takes `store` to the account the YAML at `paths` declares, judged for `actor`."""
    desired = load_desired_state(paths, reading)
    return placed(make_plan(desired, store.snapshot(), actor, options), paths)


def placed(plan: Plan, paths: Sequence[str]) -> Plan:
    """`plan` with what its policy rules said put on the lines of the files at `paths`."""
    if plan.policy is None or not plan.policy.verdicts:
        return plan
    return replace(plan, policy=place_verdicts(paths, plan.policy))


def drift_account(
    store: Store,
    paths: Sequence[str],
    now: datetime,
    stale_after_days: int | None = None,
    unmanaged: str | None = None,
    reading: Progress | None = None,
) -> Drift:
    """How `store` differs from the YAML at `paths`, both ways; stale invitations as of `now`."""
    desired = load_desired_state(paths, reading)
    return find_drift(desired, store.snapshot(), now, stale_after_days, unmanaged)


def usage_report(
    store: Store,
    now: datetime,
    renewal_days: int = DEFAULT_RENEWAL_DAYS,
    stale_after_days: int | None = None,
    expiring_days: int | None = None,
) -> Usage:
    """How `store`'s seats are used and when its contracts end, as of `now`, from one snapshot; with
    `expiring_days`, what ends within that many days."""
    return seat_usage(store.snapshot(), now, renewal_days, stale_after_days, expiring_days)
