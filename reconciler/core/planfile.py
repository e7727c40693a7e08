"""The plan's file format: a Plan as JSON (`plan --out`, `plan --format json`, `show`) and back.

Kept apart from the plan in memory (plan.py), as terraform keeps its
planfile apart from its plans: the engine and the renderers read a Plan and
never its JSON; `apply PLANFILE` reads the JSON back into a Plan here.

The file is one JSON object, keys sorted, so the same plan is the same
bytes: `format_version`, `store` (`lineage`, `revision` and the counts the
removal guard is based on), `actor`, `desired_digest`, `summary`,
`max_removal_ratio`, `guards`, `unmanaged`, `targets`, `actor_standing`,
`products`, `user_names`, `policy`, and `actions` one a line, so two plans diff action
by action. An action is a change (`kind`,
`target`, `before`, `after`) judged: `requires`, `permitted`, `reason` when
blocked, and the `notifications` it causes.

`checksum` seals the rest: `sha256:HEX`, the SHA-256 of the file's text
without the line that holds it, or, made with a key (RECONCILER_PLAN_KEY),
`hmac-sha256:HEX`, the HMAC-SHA256 of the same text. It is checked before
anything the file says is believed: an edited file is refused, and with a key
only a plan made where the key is applies. The text is what is sealed, so a
plan is written and checked in one pass each, with no second encoding; the
line is the last that starts `  "checksum": `, and the file's own
`checksum` must be the one on it.

The JSON reports (report/json.py) and a SCIM push's JSON (scim/rendering.py)
follow this shape: a store, a change and a removal guard are written as
`store_to_json`, `change_to_json` and `guard_to_json` write them, here once.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
from collections.abc import Mapping
from dataclasses import fields
from enum import StrEnum
from typing import Any, Protocol, TextIO

from reconciler.core.errors import InputError, PlanFileError, PlanKeyMissing
from reconciler.core.kinds import Event, Kind, Role
from reconciler.core.model import is_email
from reconciler.core.plan import (
    COUNTED,
    Action,
    Notification,
    Plan,
    PolicyOutcome,
    Standing,
    Tripped,
    Verdict,
)

#: 2: access is effective access, with its sources (`via`); teams and their kinds of action.
#: 3: `checksum`, of the rest of the file; an HMAC-SHA256 when made with RECONCILER_PLAN_KEY.
#: 4: `user.change_email`; a user's `id` (the directory's) in `user.*` records.
#: 5: `actor_standing` (the actor's roles, the resellers, and for an actor with no role the addresses
#: like theirs, and the note that says so); `products` and `user_names` of what the actions name.
#: 6: `expired` on a removal of what expired (engine/expiry.py), the day it lasted until, and then a
#: permitted action's `reason` says so (`expired 2027-03-31`); `team.member_update`; `expires` in
#: records of users, grants and team members.
#: 7: `policy` (what the account's policy rules said: verdicts placed on their records, the approvals
#: the plan needs), and `denied`, the rule's id, on an action a rule blocks.
FORMAT_VERSION = 7
#: The versions `load_plan` reads: a plan of version 4 reads as one that does not know the actor's
#: roles, nor products and names (its reports say less; apply judges it again all the same).
READS = (4, 5, 6, FORMAT_VERSION)

#: Where the key of a plan's HMAC comes from; its value is never printed.
KEY_VARIABLE = "RECONCILER_PLAN_KEY"
#: The fewest characters a key may have: a short one could be guessed from a plan and its HMAC.
MIN_KEY_LENGTH = 16
#: What a refusal of a saved plan says became of it: `apply` applied nothing, `show` shows nothing.
NOT_APPLIED = "nothing was applied"
NOT_SHOWN = "it is not shown"
_REDO = "make the plan again with `reconciler plan --out`"
_WHERE_THE_KEY_IS = f" where {KEY_VARIABLE} is set"

_PLAIN, _KEYED = "sha256", "hmac-sha256"
_CHECKSUM_START = b'\n  "checksum": '
_CHECKSUM_LINE = re.compile(rb'  "checksum": "(sha256|hmac-sha256):([0-9a-f]{64})",?\n')
#: Where `write_plan` puts the checksum while it works it out.
_PLACEHOLDER = "<checksum>"
#: How many actions `write_plan` writes, and seals, at a time.
_CHUNK = 2048


def plan_key(value: str | None) -> bytes | None:
    """The key of plans' HMACs that RECONCILER_PLAN_KEY holds (`value`), None when it is not set;
    raises InputError for an empty key (a CI secret that does not exist reads as one) or a short one.
    The key itself is never part of a message."""
    if value is None:
        return None
    if not value:
        raise InputError(
            f"{KEY_VARIABLE} is set but empty (a CI secret that does not exist?): "
            "set it to a key, or unset it"
        )
    if len(value) < MIN_KEY_LENGTH:
        raise InputError(
            f"{KEY_VARIABLE} is {len(value)} characters long: a key needs {MIN_KEY_LENGTH} at least "
            "(say, `openssl rand -hex 32`)"
        )
    return value.encode("utf-8")


class _Hash(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


def _sealer(key: bytes | None) -> _Hash:
    """What works a checksum out: SHA-256, or with `key` HMAC-SHA256."""
    return hashlib.sha256() if key is None else hmac.new(key, digestmod=hashlib.sha256)


def _checksum(key: bytes | None, sealed: _Hash) -> str:
    return f"{_PLAIN if key is None else _KEYED}:{sealed.hexdigest()}"


def store_to_json(lineage: str, revision: int) -> dict[str, Any]:
    """The store a plan or a report was made from: which one, and at which revision."""
    return {"lineage": lineage, "revision": revision}


def change_to_json(
    kind: StrEnum,
    target: Mapping[str, str],
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """One change to one record: a planned action's, an applied one's in the history, a SCIM request's."""
    return {"kind": kind.value, "target": dict(target), "before": before, "after": after}


def guard_to_json(guard: Tripped) -> dict[str, Any]:
    """The removal guard, tripped (read back by `Tripped(**data)`)."""
    return {"what": guard.what, "removed": guard.removed, "total": guard.total, "max_ratio": guard.max_ratio}


def action_to_json(action: Action) -> dict[str, Any]:
    """An action as its line of the file holds it."""
    data = change_to_json(action.kind, action.target, action.before, action.after)
    data["requires"] = action.requires.value
    data["permitted"] = action.permitted
    data["notifications"] = [{"to": n.to, "event": n.event.value} for n in action.notifications]
    if action.expired is not None:
        data["expired"] = action.expired
    if action.denied is not None:
        data["denied"] = action.denied
    reason = _reason(action)
    if reason is not None:
        data["reason"] = reason
    return data


def _reason(action: Action) -> str | None:
    """What the file says of why an action is as it is: why it is blocked, or else that it expired."""
    if action.reason is None and action.expired is not None:
        return f"expired {action.expired}"
    return action.reason


def action_line(action: Action, records: dict[int, str] | None = None) -> str:
    """`action_to_json` as one line of JSON, keys sorted: the bytes `_ONE_LINE(action_to_json(action))`
    gives, built from parts, as a 400,000-action plan is written twice as fast that way. `records` keeps
    the JSON of each record object met so far, by id, for the actions that share one (see `write_plan`)."""
    if records is None:
        records = {}
    try:
        said = _reason(action)
        reason = "" if said is None else f', "reason": {_string(said)}'
        expired = "" if action.expired is None else f'"expired": {_string(action.expired)}, '
        denied = "" if action.denied is None else f'"denied": {_string(action.denied)}, '
        return (
            f'{{"after": {_record(action.after, records)}, "before": {_record(action.before, records)}, '
            f'{denied}{expired}"kind": {_string(action.kind)}, '
            f'"notifications": {_notifications(action.notifications)}, '
            f'"permitted": {"true" if action.permitted else "false"}{reason}, '
            f'"requires": {_string(action.requires)}, "target": {_flat(action.target)}}}'
        )
    except TypeError:  # a hand-edited plan file's number where a string belongs: the long way
        return _ONE_LINE(action_to_json(action))


def action_from_json(data: Mapping[str, Any]) -> Action:
    """An action of a saved plan; raises KeyError, TypeError or ValueError for a broken one."""
    return Action(
        kind=Kind(data["kind"]),
        target=dict(data["target"]),
        before=data["before"],
        after=data["after"],
        requires=Role(data["requires"]),
        permitted=data["permitted"],
        reason=_blocked_reason(data),
        notifications=tuple(Notification(n["to"], Event(n["event"])) for n in data["notifications"]),
        expired=data.get("expired"),
        denied=data.get("denied"),
    )


def _blocked_reason(data: Mapping[str, Any]) -> str | None:
    """The reason of an action of the file, as a plan in memory has it: why it is blocked, if it is
    (a permitted removal of what expired says so in its `reason` in the file alone)."""
    if data.get("expired") is not None and data["permitted"] is True:
        return None
    return data.get("reason")


#: A kind, a role, an event by its value: what calling the enum does, as a plain lookup.
_KINDS: dict[object, Kind] = {kind.value: kind for kind in Kind}
_ROLES: dict[object, Role] = {role.value: role for role in Role}
_EVENTS: dict[object, Event] = {event.value: event for event in Event}


def _slot_setters(cls: type) -> tuple[Any, ...]:
    """The setters of the slots of `cls`, a frozen dataclass with slots, one per field in field order."""
    names = tuple(field.name for field in fields(cls))
    if getattr(cls, "__slots__", None) != names or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} is not a plain frozen dataclass with slots")
    return tuple(getattr(cls, name).__set__ for name in names)


#: See `_actions_from_json`.
_ACTION_SLOTS = _slot_setters(Action)
_NOTIFICATION_SLOTS = _slot_setters(Notification)


def _actions_from_json(items: Any) -> tuple[Action, ...]:
    """`action_from_json` of each of `items`, a list fresh from the parser: the same actions, the same
    errors, in a third of the time for 400,000 actions. An item this cannot read as `write_plan`
    writes it goes to `action_from_json`, which reads it or says what is wrong with it.

    What is saved: the enums are looked up in dicts instead of called; a target is the parser's own
    dict, which nothing else holds, where `action_from_json` copies it; an Action and a Notification
    have their slots set one by one, which is what their frozen dataclass's __init__ does, by
    object.__setattr__ and each field's name, at twice the cost. And each item is let go once read,
    so its memory goes to the next actions and the parsed plan is not freed in one go at the end.
    (One Notification for equal ones costs more to look up than to make: most go to one user once.)"""
    if type(items) is not list:
        return tuple(action_from_json(data) for data in items)
    kinds, roles, events, new = _KINDS, _ROLES, _EVENTS, object.__new__
    (
        set_kind,
        set_target,
        set_before,
        set_after,
        set_requires,
        set_permitted,
        set_reason,
        set_notes,
        set_held,
        set_expired,
        set_denied,
    ) = _ACTION_SLOTS
    set_to, set_event = _NOTIFICATION_SLOTS
    actions: list[Action] = []
    for index, data in enumerate(items):
        try:
            action = new(Action)
            set_kind(action, kinds[data["kind"]])
            target = data["target"]
            set_target(action, target if type(target) is dict else dict(target))
            set_before(action, data["before"])
            set_after(action, data["after"])
            set_requires(action, roles[data["requires"]])
            set_permitted(action, data["permitted"])
            if "expired" in data:
                set_expired(action, data["expired"])
                set_reason(action, _blocked_reason(data))
            else:
                set_expired(action, None)
                set_reason(action, data.get("reason"))
            notes = []
            for note in data["notifications"]:
                notification = new(Notification)
                set_to(notification, note["to"])
                set_event(notification, events[note["event"]])
                notes.append(notification)
            set_notes(action, tuple(notes))
            set_held(action, None)
            set_denied(action, data.get("denied"))
        except Exception:  # whatever it is, action_from_json raises it as it always has, or reads the item
            action = action_from_json(data)
        actions.append(action)
        items[index] = None
    return tuple(actions)


#: One value as one line of JSON, keys sorted, by the C encoder.
_ONE_LINE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": ")).encode
#: A string as JSON: the C function `_ONE_LINE` encodes each string with (ensure_ascii=False).
_string = json.encoder.encode_basestring


def _record(record: Mapping[str, Any] | None, known: dict[int, str]) -> str:
    if record is None:
        return "null"
    encoded = known.get(id(record))
    if encoded is None:
        encoded = known[id(record)] = _ONE_LINE(record)
    return encoded


def _flat(target: Mapping[str, str]) -> str:
    """A target as JSON, keys sorted: its keys are strings, and so are its values."""
    return "{" + ", ".join([f"{_string(key)}: {_string(target[key])}" for key in sorted(target)]) + "}"


def _notifications(notifications: tuple[Notification, ...]) -> str:
    return (
        "["
        + ", ".join([f'{{"event": {_string(n.event)}, "to": {_string(n.to)}}}' for n in notifications])
        + "]"
    )


def plan_to_json(plan: Plan, key: bytes | None = None) -> dict[str, Any]:
    """The plan as the file holds it, as one dict, its checksum too (made with `key` if given)."""
    checksum = json.loads(dump_plan(plan, key))["checksum"]
    return {
        **_header_json(plan),
        "checksum": checksum,
        "actions": [action_to_json(action) for action in plan.actions],
    }


def _header_json(plan: Plan) -> dict[str, Any]:
    """Everything of `plan_to_json` but the actions."""
    return {
        "format_version": FORMAT_VERSION,
        "store": {**store_to_json(plan.lineage, plan.revision), **plan.store_counts},
        "actor": plan.actor,
        "desired_digest": plan.desired_digest,
        "summary": plan.summary(),
        "max_removal_ratio": plan.max_removal_ratio,
        "guards": [guard_to_json(guard) for guard in plan.guards],
        "unmanaged": {"policy": plan.unmanaged_policy, "users": list(plan.unmanaged)},
        "targets": list(plan.targets),
        "actor_standing": _standing_json(plan),
        "products": dict(plan.products),
        "user_names": {email: list(name) for email, name in plan.user_names.items()},
        "policy": None if plan.policy is None else policy_to_json(plan.policy),
    }


def policy_to_json(outcome: PolicyOutcome) -> dict[str, Any]:
    """What the policy rules said of a plan, as its file (and the JSON report) hold it."""
    return {
        "required_approvals": outcome.required_approvals,
        "approvals_from": list(outcome.approvals_from),
        "rules": outcome.rules,
        "records": outcome.records,
        "verdicts": [
            {
                "rule": v.rule,
                "effect": v.effect,
                "message": v.message,
                "applies_to": v.applies_to,
                "subject": dict(v.subject),
                "record": v.record,
                "actions": list(v.actions),
                "approvals": v.approvals,
                "file": v.file,
                "line": v.line,
                "column": v.column,
            }
            for v in outcome.verdicts
        ],
    }


def _policy_from_json(data: Any) -> PolicyOutcome | None:
    if data is None:
        return None
    return PolicyOutcome(
        verdicts=tuple(
            Verdict(
                rule=str(v["rule"]),
                effect=str(v["effect"]),
                message=str(v["message"]),
                applies_to=str(v["applies_to"]),
                subject=_strings(v["subject"]),
                record=str(v["record"]),
                actions=tuple(int(i) for i in v["actions"]),
                approvals=int(v["approvals"]),
                file=str(v["file"]),
                line=int(v["line"]),
                column=int(v["column"]),
            )
            for v in data["verdicts"]
        ),
        required_approvals=int(data["required_approvals"]),
        approvals_from=tuple(str(rule) for rule in data["approvals_from"]),
        rules=int(data["rules"]),
        records=int(data["records"]),
    )


def _standing_json(plan: Plan) -> dict[str, Any] | None:
    """The actor's roles and the resellers; for an actor with no role, the addresses like theirs and
    the note every report of the plan prints (so that a reader of the JSON alone is told it too)."""
    standing = plan.standing
    if standing is None:
        return None
    return {
        "roles": [role.value for role in standing.roles],
        "resellers": list(standing.resellers),
        "lookalikes": list(standing.lookalikes),
        "note": None if standing.roles else standing.message(plan.actor, len(plan.actions)),
    }


def _standing_from_json(data: Any) -> Standing | None:
    if data is None:
        return None
    return Standing(
        tuple(Role(role) for role in data["roles"]),
        tuple(str(email) for email in data["resellers"]),
        tuple(str(email) for email in data["lookalikes"]),
    )


def dump_plan(plan: Plan, key: bytes | None = None) -> str:
    """The plan as JSON text (see `write_plan`)."""
    out = io.StringIO()
    write_plan(plan, out, key)
    return out.getvalue()


def write_plan(plan: Plan, out: TextIO, key: bytes | None = None) -> None:
    """The plan as JSON, written as it is encoded: sorted keys, so the same plan is the same bytes;
    one action a line, so two plans diff action by action; sealed by its checksum, with `key` an
    HMAC. (json's indenting encoder is pure Python: at 40,000 actions it took longer than making the
    plan.)

    Actions may share a record (the diff gives equal grants one), and the plan holds them all while
    it is written, so a record's id names it: each is encoded once."""
    sealed = _sealer(key)

    def put(text: str) -> None:
        out.write(text)
        sealed.update(text.encode("utf-8"))

    chunk = ['{\n  "actions": [']
    records: dict[int, str] = {}
    for index, action in enumerate(plan.actions):
        chunk.append(("," if index else "") + "\n    " + action_line(action, records))
        if len(chunk) == _CHUNK:
            put("".join(chunk))
            chunk.clear()
    chunk.append("\n  ],\n" if plan.actions else "],\n")
    put("".join(chunk))
    header = {**_header_json(plan), "checksum": _PLACEHOLDER}
    text = json.dumps(header, sort_keys=True, indent=2, ensure_ascii=False)[2:] + "\n"
    # `actor` comes first, then the checksum: the line it takes is left out of what it seals.
    head, line, tail = text.partition(f'  "checksum": "{_PLACEHOLDER}",\n')
    sealed.update((head + tail).encode("utf-8"))
    out.write(head + line.replace(_PLACEHOLDER, _checksum(key, sealed)) + tail)


def load_plan(
    text: str, name: str, key: bytes | None = None, *, refused: str = NOT_APPLIED, unkeyed: bool = False
) -> Plan:
    """A plan saved by `plan --out`, its checksum checked (an HMAC with `key`, which a plan made with a
    key needs); raises PlanFileError naming `name`, whose message ends saying `refused`. `unkeyed`
    reads a plan made with a key, where there is none, unchecked: for `show`, which only prints it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlanFileError(f"{name}: not a saved plan: {error}") from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if isinstance(version, int) and version not in READS:
        raise PlanFileError(
            f"{name}: a plan of format version {version}, and this reconciler applies versions "
            f"{', '.join(map(str, READS[:-1]))} and {READS[-1]} only; "
            "make it again with `reconciler plan --out`"
        )
    if not isinstance(data, dict) or version not in READS:
        raise PlanFileError(
            f"{name}: not a saved plan of format version {FORMAT_VERSION}; "
            "make it again with `reconciler plan --out`"
        )
    _check_seal(text, data.get("checksum"), name, key, refused, unkeyed)
    try:
        store = data["store"]
        if not is_email(str(data["actor"])):
            raise ValueError(f"actor {data['actor']!r} is not an e-mail address")
        return Plan(
            lineage=store["lineage"],
            revision=store["revision"],
            actor=data["actor"],
            desired_digest=data["desired_digest"],
            actions=_actions_from_json(data["actions"]),
            store_counts={what: int(store[what]) for what in COUNTED},
            guards=tuple(Tripped(**guard) for guard in data["guards"]),
            max_removal_ratio=float(data["max_removal_ratio"]),
            unmanaged_policy=data["unmanaged"]["policy"],
            unmanaged=tuple(data["unmanaged"]["users"]),
            targets=tuple(data["targets"]),
            standing=_standing_from_json(data.get("actor_standing")) if version > 4 else None,
            products=_strings(data["products"]) if version > 4 else {},
            user_names=_names(data["user_names"]) if version > 4 else {},
            policy=_policy_from_json(data["policy"]) if version > 6 else None,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise PlanFileError(f"{name}: a saved plan with a missing or broken field ({error})") from None


def _strings(data: Any) -> dict[str, str]:
    """A map of strings to strings, as a saved plan's `products` and `user_names` are."""
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise TypeError("not an object of strings")
    return dict(data)


def _names(data: Any) -> dict[str, tuple[str, str]]:
    """A saved plan's `user_names`: each e-mail's first and last name."""
    if not isinstance(data, dict):
        raise TypeError("user_names is not an object")
    names = {}
    for email, (first, last) in data.items():
        if not (isinstance(first, str) and isinstance(last, str)):
            raise TypeError(f"the name of {email} is not two strings")
        names[email] = (first, last)
    return names


def _check_seal(
    text: str, checksum: object, name: str, key: bytes | None, refused: str, unkeyed: bool
) -> None:
    """Raise PlanFileError unless the file `text` carries the checksum of the rest of it, worked out
    as `write_plan` works it out (with `key`, an HMAC), and its `checksum` field is the same."""
    data = text.encode("utf-8")
    start = data.rfind(_CHECKSUM_START) + 1
    found = _CHECKSUM_LINE.match(data, start) if start else None
    if found is None or checksum != f"{found[1].decode()}:{found[2].decode()}":
        raise PlanFileError(
            f"{name}: it has no checksum of its own: the file was changed after it was made; "
            f"{refused}: {_REDO}"
        )
    keyed = found[1].decode() == _KEYED
    if keyed and key is None:
        if unkeyed:
            return
        raise PlanKeyMissing(
            f"{name}: it was made with a key (its checksum is an HMAC), and {KEY_VARIABLE} is not set "
            f"here: set it to the key the plan was made with; {refused}"
        )
    if not keyed and key is not None:
        raise PlanFileError(
            f"{name}: it was made without a key (its checksum is a plain SHA-256), and {KEY_VARIABLE} is "
            f"set here, so only a plan made with the key applies; {refused}: {_REDO}{_WHERE_THE_KEY_IS}"
        )
    sealed = _sealer(key)
    whole = memoryview(data)
    sealed.update(whole[:start])
    sealed.update(whole[found.end() :])
    if not hmac.compare_digest(sealed.hexdigest(), found[2].decode()):
        if keyed:
            raise PlanFileError(
                f"{name}: its HMAC does not match its content: the file was changed after it was made, or "
                f"made with another key; {refused}: {_REDO}{_WHERE_THE_KEY_IS}"
            )
        raise PlanFileError(
            f"{name}: its checksum does not match its content: the file was changed after it was made; "
            f"{refused}: {_REDO}"
        )
