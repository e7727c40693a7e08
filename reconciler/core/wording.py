"""How actions, roles and events are put into words, once, for every place that says them.

The reports, the e-mails, the permission reasons and the requests all name an
action's target, describe what it changes and say who may perform it; they
read these functions instead of each keeping its own wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.kinds import Effect, Event, Record, Role
from reconciler.core.model import DIRECT
from reconciler.core.plan import Action

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
    "email",
    "id",
    "first_name",
    "last_name",
    "manager",
    "ends",
    "manage_users",
    "shipping",
    "name",
    "address",
    "product",
    "seats",
    "group",
    "coordinator",
    "country",
    "description",
    "download",
    "direct_download",
    "expires",
    "via",
)
_FIELD_RANK = {name: rank for rank, name in enumerate(FIELD_ORDER)}
#: The fields a record names only when they are set (core/shapes.py): a change that drops one says so.
_ONLY_WHEN_SET = ("id", "ends", "expires")


def describe(action: Action) -> str:
    """The action in words, as a reason or a request names it: `giving carol@… access to serial …`."""
    new_coordinator = (action.after or {}).get("coordinator")
    return action.kind.info.phrase.format(**action.target, new_coordinator=new_coordinator)


#: The verb each kind's phrase starts with, as one who may do it is told it: `giving` → `give`.
_VERBS = {
    "adding": "add",
    "changing": "change",
    "creating": "create",
    "giving": "give",
    "handing": "hand",
    "naming": "name",
    "putting": "put",
    "removing": "remove",
    "renaming": "rename",
    "taking": "take",
}


def _imperative(phrase: str) -> str:
    verb, _, rest = phrase.partition(" ")
    return f"{_VERBS[verb]} {rest}"


def instruction(action: Action, products: Mapping[str, str] | None = None) -> str:
    """The action as something one may do, after `may`, each serial with its product where `products`
    (by serial number) or the action knows it: `give carol@… access to AutoCAD (serial 399-…)`."""
    return _imperative(_worded(action, products or {}, {}))


def sentence(
    action: Action, products: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None
) -> str:
    """The action as a manager reads it, one sentence that names each serial's product and each
    person: `Give Carol Smith access to AutoCAD (serial 399-12345678), with downloads`.

    `products` are the products of serials by number (a plan's `products`), `names` people's names
    by e-mail (from a plan's `user_names`); a serial or person in neither is named by number or
    address.
    """
    words = _imperative(_worded(action, products or {}, names or {}))
    kind = action.kind
    if kind.record in (Record.ACCESS, Record.TEAM_ACCESS) and kind.effect is not Effect.REMOVE:
        download = (action.after or {}).get("download")
        if action.before is None:  # a grant: downloads are worth a word when it gives them
            words += ", with downloads" if download else ""
        elif download is not None and action.before.get("download") != download:
            words += ", with downloads" if download else ", without downloads any more"
    words += _until(action)
    if action.expired is not None:
        words += f" ({expired_reason(action)})"
    return words[0].upper() + words[1:]


def expired_reason(action: Action) -> str:
    """Why an action takes away what expired, as the plan file's `reason` says it: `expired 2027-01-15`,
    the last day it lasted; "" for any other action."""
    return "" if action.expired is None else f"expired {action.expired}"


def _until(action: Action) -> str:
    """The last day an add gives, or a change sets, moves or drops (`expires`), as a sentence ends:
    `, until 2027-03-31`, `, until 2027-04-30 (was until 2027-03-31)`, `, for good (was until …)`."""
    if action.kind.effect is Effect.REMOVE:
        return ""
    before, after = (action.before or {}).get("expires"), (action.after or {}).get("expires")
    if before == after:
        return ""
    was = f" (was until {before})" if before is not None else ""
    return (f", until {after}" if after is not None else ", for good") + was


def _worded(action: Action, products: Mapping[str, str], names: Mapping[str, str]) -> str:
    """The kind's phrase of `action`, each person by name where `names` has it, each serial as
    `PRODUCT (serial NUMBER)` where `products` or the action's own record has its product."""
    target = action.target
    after = action.after or {}
    values: dict[str, Any] = {
        key: names.get(value, value) for key, value in target.items() if key != "serial"
    }
    new_coordinator = after.get("coordinator")
    values["new_coordinator"] = names.get(new_coordinator, new_coordinator) if new_coordinator else None
    phrase = action.kind.info.phrase
    if "serial" in target:
        serial = target["serial"]
        product = products.get(serial) or (action.before or after).get("product")
        values["serial"] = f"{product} (serial {serial})" if product else f"serial {serial}"
        phrase = phrase.replace("serial {serial}", "{serial}")
    return phrase.format(**values)


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
    if record is Record.TEAM:
        return f"team {target['team']}"
    if record is Record.TEAM_MEMBER:
        return f"{target['user']} in team {target['team']}"
    if record is Record.TEAM_ACCESS:
        return f"team {target['team']} on {target['serial']}"
    return target.get("user") or target["contract"]


def record_label(record: Record, target: Mapping[str, str]) -> str:
    """A stored record, named by its kind and keys as the store-side reports (drift, expiry) name it:
    `access carol@acme.example on 399-12345678`, `member eve@acme.example of team Temps`."""
    if record is Record.ACCESS:
        return f"access {target['user']} on {target['serial']}"
    if record is Record.COORDINATOR:
        return f"coordinator {target['coordinator']} on {target['contract']}"
    if record is Record.TEAM_MEMBER:
        return f"member {target['user']} of team {target['team']}"
    if record is Record.TEAM_ACCESS:
        return f"team {target['team']} on {target['serial']}"
    return f"{record} {target[record]}"


def details(action: Action) -> str:
    """What an add sets, or what a change changes: `field old → new`; for access a team gives, which."""
    effect = action.kind.effect
    if effect is Effect.REMOVE:
        return _through_teams(action.before or {})
    after = action.after or {}
    if effect is Effect.ADD:
        if action.kind.record is Record.USER:
            expires = after.get("expires")
            return f"{after['first_name']} {after['last_name']}" + (f", expires {expires}" if expires else "")
        return ", ".join(f"{key} {show(value)}" for key, value in fields(after) if value not in (None, False))
    before = action.before or {}
    changed = [
        f"{key} {show(before.get(key))} → {show(value)}"
        for key, value in fields(after, every=True)
        if before.get(key) != value
    ]
    # A field named only when set, that the change drops: `expires 2027-03-01 → (none)`.
    changed += [
        f"{key} {show(before[key])} → {show(None)}"
        for key in _ONLY_WHEN_SET
        if key in before and key not in after
    ]
    if "via" in after and before.get("via") == after["via"]:
        changed.append(_through_teams(after))
    return ", ".join(part for part in changed if part)


#: The sources of a grant that is the user's own and nobody else's: not worth a word in a report.
ONLY_DIRECT = [DIRECT]


def _through_teams(record: Mapping[str, Any]) -> str:
    """`via team:Design`, for access a team gives: what caused a grant, or its change, or its end."""
    via = record.get("via")
    return f"via {show(via)}" if via and via != ONLY_DIRECT else ""


def fields(record: Mapping[str, Any], every: bool = False) -> list[tuple[str, Any]]:
    """The fields of `record` in FIELD_ORDER, so a saved plan reads as the plan did; unless `every`,
    a grant's sources when it is the user's own alone (most grants) go without saying."""
    shown = [item for item in record.items() if every or item != ("via", ONLY_DIRECT)]
    if len(shown) < 2:  # most of a large plan's records: a grant's download alone
        return shown
    return sorted(shown, key=lambda item: (_FIELD_RANK.get(item[0], len(_FIELD_RANK)), item[0]))


def show(value: Any) -> str:
    """A field's value as a person reads it: `(none)`, `yes`, `no`, a shipping address on one line."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(str(v) for _, v in fields(value))
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else "(none)"
    return str(value)
