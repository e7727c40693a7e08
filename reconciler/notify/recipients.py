"""Who each action e-mails, and about what (R9).

- a user hears of every access given, changed or taken away, of being
  invited (a new user) and of being removed;
- a Software Coordinator hears when a serial is given to or taken from them,
  and when their coordinator role ends;
- a manager change reaches the old CM, the new CM and the reseller;
- a renamed group reaches the serial's coordinator (the CM where none is named).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from reconciler.plan import Action, Notification
from reconciler.store.base import Snapshot

_USER_EVENTS = {
    "user.add": "user.invited",
    "user.remove": "user.removed",
    "access.grant": "access.granted",
    "access.update": "access.changed",
    "access.revoke": "access.revoked",
}


@dataclass(frozen=True)
class Recipients:
    """What the store says about who coordinates what, to address the mail."""

    resellers: frozenset[str]
    managers: Mapping[str, str]
    serial_coordinators: Mapping[str, str]

    @classmethod
    def of(cls, snapshot: Snapshot) -> Recipients:
        contracts = snapshot.state.contracts
        return cls(
            resellers=snapshot.resellers,
            managers={c.number: c.manager for c in contracts},
            serial_coordinators={s.number: c.coordinator_of(s) for c in contracts for s in c.serials},
        )

    def of_action(self, action: Action) -> tuple[Notification, ...]:
        """The e-mails `action` causes, sorted, each once."""
        found = tuple(self._notifications(action))
        if len(found) < 2:  # most actions tell one person, or nobody
            return found
        return tuple(sorted(set(found), key=lambda n: (n.to, n.event)))

    def _notifications(self, action: Action) -> Iterator[Notification]:
        kind, target = action.kind, action.target
        before, after = action.before or {}, action.after or {}
        if kind in _USER_EVENTS:
            yield Notification(target["user"], _USER_EVENTS[kind])
        elif kind in ("serial.assign_coordinator", "serial.unassign_coordinator"):
            if after.get("coordinator"):
                yield Notification(after["coordinator"], "coordinator.assigned")
            if before.get("coordinator"):
                yield Notification(before["coordinator"], "coordinator.unassigned")
        elif kind == "coordinator.remove":
            yield Notification(target["coordinator"], "coordinator.removed")
        elif kind == "contract.manager_change":
            for person in (before["manager"], after["manager"], *self.resellers):
                yield Notification(person, "manager.changed")
        elif kind == "serial.rename_group":
            coordinator = self.serial_coordinators.get(target["serial"])
            if coordinator:
                yield Notification(coordinator, "group.renamed")
