"""Who each action e-mails, and about what (R9), as the kind table's `mail` column says.

- a user hears of every access given, changed or taken away, of being
  invited (a new user) and of being removed;
- a Software Coordinator hears when a serial is given to or taken from them,
  and when their coordinator role ends;
- a manager change reaches the old CM, the new CM and the reseller;
- a renamed group reaches the serial's coordinator (the CM where none is named).

The table names each audience; this module finds their addresses in the
action and in the store before the plan.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from reconciler.kinds import Audience
from reconciler.plan import Action, Notification
from reconciler.records import Snapshot


@dataclass(frozen=True)
class Recipients:
    """What the store says about who coordinates what, to address the mail."""

    resellers: frozenset[str]
    serial_coordinators: Mapping[str, str]

    @classmethod
    def of(cls, snapshot: Snapshot) -> Recipients:
        contracts = snapshot.state.contracts
        return cls(
            resellers=snapshot.resellers,
            serial_coordinators={s.number: c.coordinator_of(s) for c in contracts for s in c.serials},
        )

    def of_action(self, action: Action) -> tuple[Notification, ...]:
        """The e-mails `action` causes, sorted, each once."""
        found = tuple(
            Notification(person, notice.event)
            for notice in action.kind.info.mail
            for person in self._addresses(notice.audience, action)
        )
        if len(found) < 2:  # most actions tell one person, or nobody
            return found
        return tuple(sorted(set(found), key=lambda n: (n.to, n.event)))

    def _addresses(self, audience: Audience, action: Action) -> Iterator[str]:
        """The people `audience` means for `action`; none where the action names nobody there."""
        target, before, after = action.target, action.before or {}, action.after or {}
        person: str | None
        match audience:
            case Audience.RESELLERS:
                yield from self.resellers
                return
            case Audience.USER:
                person = target["user"]
            case Audience.COORDINATOR:
                person = target["coordinator"]
            case Audience.NEW_COORDINATOR:
                person = after.get("coordinator")
            case Audience.OLD_COORDINATOR:
                person = before.get("coordinator")
            case Audience.NEW_MANAGER:
                person = after["manager"]
            case Audience.OLD_MANAGER:
                person = before["manager"]
            case Audience.SERIAL_COORDINATOR:
                person = self.serial_coordinators.get(target["serial"])
        if person:
            yield person
