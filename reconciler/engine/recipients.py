"""Who each action e-mails, and about what (R9), as the kind table's `mail` column says.

- a user hears of every access given, changed or taken away, of being
  invited (a new user) and of being removed;
- a Software Coordinator hears when a serial is given to or taken from them,
  and when their coordinator role ends;
- a manager change reaches the old CM, the new CM and the reseller;
- a renamed group reaches the serial's coordinator (the CM where none is named).

Access is effective access: a user hears when what they may use or download
changes, not when a team they are in is changed or they move between teams
that give the same serial (those are bookkeeping, and tell nobody).

The table names each audience; this module finds their addresses in the
action and in the store before the plan. A user whose e-mail the plan changes
hears at the new address: the plan's actions name them by it, and what the
store says of them is renamed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.core.kinds import TABLE, Audience
from reconciler.core.plan import Action, Notification
from reconciler.core.records import Snapshot


@dataclass(frozen=True)
class Recipients:
    """What the store says about who coordinates what, to address the mail."""

    resellers: frozenset[str]
    serial_coordinators: Mapping[str, str]

    @classmethod
    def of(cls, snapshot: Snapshot, moved: Mapping[str, str] | None = None) -> Recipients:
        """Who the store says coordinates what; a coordinator the plan gives a new e-mail address
        (`moved`, old address to new) hears at the new one."""
        contracts = snapshot.state.contracts
        coordinators = {s.number: c.coordinator_of(s) for c in contracts for s in c.serials}
        if moved:
            coordinators = {serial: moved.get(person, person) for serial, person in coordinators.items()}
        return cls(resellers=snapshot.resellers, serial_coordinators=coordinators)

    def of_action(self, action: Action) -> tuple[Notification, ...]:
        """The e-mails `action` causes, sorted, each once."""
        mail = TABLE[action.kind].mail
        if len(mail) == 1 and mail[0].audience is Audience.USER and mail[0].when_changed is None:
            # By far the most common (a user hears of their own grant, invitation or removal): the
            # general way below takes three times as long for it.
            return (Notification(action.target["user"], mail[0].event),)
        found = [
            Notification(person, notice.event)
            for notice in mail
            if notice.when_changed is None or _changed(action, notice.when_changed)
            for person in self._addresses(notice.audience, action)
        ]
        if len(found) < 2:  # most actions tell one person, or nobody
            return tuple(found)
        return tuple(sorted(set(found), key=lambda n: (n.to, n.event)))

    def _addresses(self, audience: Audience, action: Action) -> tuple[str, ...]:
        """The people `audience` means for `action`; none where the action names nobody there."""
        if audience is Audience.USER:  # by far the most common: a user hears of their own change
            return (action.target["user"],)
        if audience is Audience.RESELLERS:
            return tuple(self.resellers)
        person: str | None
        match audience:
            case Audience.COORDINATOR:
                person = action.target["coordinator"]
            case Audience.NEW_COORDINATOR:
                person = (action.after or {}).get("coordinator")
            case Audience.OLD_COORDINATOR:
                person = (action.before or {}).get("coordinator")
            case Audience.NEW_MANAGER:
                person = (action.after or {})["manager"]
            case Audience.OLD_MANAGER:
                person = (action.before or {})["manager"]
            case Audience.SERIAL_COORDINATOR:
                person = self.serial_coordinators.get(action.target["serial"])
        return (person,) if person else ()


def _changed(action: Action, field: str) -> bool:
    return (action.before or {}).get(field) != (action.after or {}).get(field)
