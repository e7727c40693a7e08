"""Drift: how the store differs from git, found by the same diff a plan uses, read the other way.

A plan asks "what must change in the store to match git"; drift asks "what
was changed in the store outside git". Each action of `diff(git, store)`
answers both: an add is something git has and the store lacks, a removal
something the store has and git lacks, a change fields that differ. Changes
to one record (a serial's seats and its group, say) become one difference,
and a serial missing from the store carries its coordinator with it.

Users still `invited` long after they were added are reported beside the
drift when asked for: an invitation nobody accepted is usually a typo or a
person who left. `now` is a parameter so that the result depends on its
input only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.diff import diff
from reconciler.model import DesiredState
from reconciler.plan import TARGET_KEYS
from reconciler.store.base import INVITED, Snapshot
from reconciler.unmanaged import DEFAULT_POLICY, with_unmanaged

#: The kinds of record, in the order a report lists them.
RECORDS = ("user", "contract", "coordinator", "serial", "access")
_RECORD_RANK = {record: rank for rank, record in enumerate(RECORDS)}


@dataclass(frozen=True)
class Difference:
    """One record the store and git disagree on.

    `store` is the record as the store has it, None when only git has it;
    `git` the record as the YAML declares it, None when only the store has
    it. For a record in both, each holds only the fields that differ.
    """

    record: str
    target: Mapping[str, str]
    store: Mapping[str, Any] | None
    git: Mapping[str, Any] | None

    def sort_key(self) -> tuple[int, tuple[str, ...]]:
        return _RECORD_RANK[self.record], tuple(self.target.get(k, "") for k in TARGET_KEYS)


@dataclass(frozen=True)
class StaleInvite:
    """A user still invited, and since when (ISO 8601, as the store has it)."""

    user: str
    invited_at: str


@dataclass(frozen=True)
class Drift:
    """The store at one revision compared with git."""

    lineage: str
    revision: int
    only_in_store: tuple[Difference, ...] = ()
    only_in_git: tuple[Difference, ...] = ()
    differ: tuple[Difference, ...] = ()
    stale_invites: tuple[StaleInvite, ...] = ()
    stale_after_days: int | None = None

    @property
    def found(self) -> bool:
        """Whether there is anything to report (and `drift` exits 2)."""
        return bool(self.only_in_store or self.only_in_git or self.differ or self.stale_invites)

    def summary(self) -> dict[str, int]:
        return {
            "only_in_store": len(self.only_in_store),
            "only_in_git": len(self.only_in_git),
            "differ": len(self.differ),
            "stale_invites": len(self.stale_invites),
        }


def find_drift(
    desired: DesiredState,
    snapshot: Snapshot,
    now: datetime,
    stale_after_days: int | None = None,
    unmanaged: str | None = None,
) -> Drift:
    """How the store in `snapshot` differs from `desired`; invitations older than the days given at `now`."""
    # Users the YAML leaves unmanaged on purpose (unmanaged_users: keep or revoke) are not drift.
    policy = unmanaged or desired.unmanaged_users or DEFAULT_POLICY
    goal, _ = with_unmanaged(desired, snapshot.state, policy)
    actions = diff(goal, snapshot.state)
    created = {a.target["serial"] for a in actions if a.kind == "serial.create"}
    assigned = {
        a.target["serial"]: (a.after or {}).get("coordinator")
        for a in actions
        if a.kind == "serial.assign_coordinator" and a.target["serial"] in created
    }
    only_in_store: list[Difference] = []
    only_in_git: list[Difference] = []
    changed: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[dict[str, Any], dict[str, Any]]] = {}
    for action in actions:
        record = action.kind.split(".", 1)[0]
        target = dict(action.target)
        if action.effect == "remove":
            only_in_store.append(Difference(record, target, action.before, None))
        elif action.kind == "serial.create":
            git = {**(action.after or {}), "coordinator": assigned.get(target["serial"])}
            only_in_git.append(Difference(record, target, None, git))
        elif action.effect == "add":
            only_in_git.append(Difference(record, target, None, action.after))
        elif target.get("serial") not in created:
            store, git = changed.setdefault((record, tuple(sorted(target.items()))), ({}, {}))
            store.update(action.before or {})
            git.update(action.after or {})
    differ = [
        Difference(record, dict(target), store, git) for (record, target), (store, git) in changed.items()
    ]
    return Drift(
        lineage=snapshot.lineage,
        revision=snapshot.revision,
        only_in_store=_sorted(only_in_store),
        only_in_git=_sorted(only_in_git),
        differ=_sorted(differ),
        stale_invites=_stale(snapshot, now, stale_after_days),
        stale_after_days=stale_after_days,
    )


def _sorted(differences: list[Difference]) -> tuple[Difference, ...]:
    return tuple(sorted(differences, key=Difference.sort_key))


def _stale(snapshot: Snapshot, now: datetime, days: int | None) -> tuple[StaleInvite, ...]:
    if days is None:
        return ()
    cutoff = _utc(now) - timedelta(days=days)
    return tuple(
        StaleInvite(email, snapshot.user_added[email])
        for email, status in sorted(snapshot.user_status.items())
        if status == INVITED and _utc(datetime.fromisoformat(snapshot.user_added[email])) <= cutoff
    )


def _utc(moment: datetime) -> datetime:
    """`moment` with a time zone; one without is taken as UTC, as the store writes it."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
