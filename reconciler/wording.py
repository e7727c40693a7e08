"""How actions, roles and events are put into words, once, for every place that says them.

The reports, the e-mails, the permission reasons and the requests all name an
action's target, describe what it changes and say who may perform it; they
read these functions instead of each keeping its own wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.kinds import Effect, Event, Record, Role
from reconciler.plan import Action

#: Who each role is, in a sentence.
ROLE_NAMES = {
    Role.RESELLER: "the reseller",
    Role.CONTRACT_MANAGER: "the Contract Manager",
    Role.SOFTWARE_COORDINATOR: "a Software Coordinator who may manage users",
}

#: What each notification event is called in a list of who will be e-mailed.
EVENT_NAMES = {
    Event.USER_INVITED: "invitation",
    Event.USER_REMOVED: "removal",
    Event.ACCESS_GRANTED: "access granted",
    Event.ACCESS_CHANGED: "access changed",
    Event.ACCESS_REVOKED: "access removed",
    Event.COORDINATOR_ASSIGNED: "serial given to them",
    Event.COORDINATOR_UNASSIGNED: "serial taken from them",
    Event.COORDINATOR_REMOVED: "coordinator role ended",
    Event.MANAGER_CHANGED: "new Contract Manager",
    Event.GROUP_RENAMED: "group renamed",
}

#: The order fields are shown in, as the diff builds records; a saved plan's JSON has its keys sorted.
FIELD_ORDER = (
    "first_name",
    "last_name",
    "manager",
    "manage_users",
    "shipping",
    "name",
    "address",
    "product",
    "seats",
    "group",
    "coordinator",
    "country",
    "download",
)
_FIELD_RANK = {name: rank for rank, name in enumerate(FIELD_ORDER)}


def describe(action: Action) -> str:
    """The action in words, as a reason or a request names it: `giving carol@… access to serial …`."""
    new_coordinator = (action.after or {}).get("coordinator")
    return action.kind.info.phrase.format(**action.target, new_coordinator=new_coordinator)


def target_label(action: Action) -> str:
    """The thing an action is about, as a person names it."""
    target = action.target
    record = action.kind.record
    if record is Record.ACCESS:
        return f"{target['user']} on {target['serial']}"
    if record is Record.COORDINATOR:
        return f"{target['coordinator']} on {target['contract']}"
    if record is Record.SERIAL:
        return target["serial"]
    return target.get("user") or target["contract"]


def details(action: Action) -> str:
    """What an add sets, or what a change changes: `field old → new`."""
    if action.effect is Effect.REMOVE:
        return ""
    after = action.after or {}
    if action.effect is Effect.ADD:
        if action.kind.record is Record.USER:
            return f"{after['first_name']} {after['last_name']}"
        return ", ".join(f"{key} {show(value)}" for key, value in fields(after) if value not in (None, False))
    before = action.before or {}
    return ", ".join(
        f"{key} {show(before.get(key))} → {show(value)}"
        for key, value in fields(after)
        if before.get(key) != value
    )


def fields(record: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The fields of `record` in FIELD_ORDER, so a saved plan reads as the plan did."""
    return sorted(record.items(), key=lambda item: (_FIELD_RANK.get(item[0], len(_FIELD_RANK)), item[0]))


def show(value: Any) -> str:
    """A field's value as a person reads it: `(none)`, `yes`, `no`, a shipping address on one line."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(str(v) for _, v in fields(value))
    return str(value)
