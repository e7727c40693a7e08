"""The plan's file format: a Plan as JSON (`plan --out`, `plan --format json`, `show`) and back.

Kept apart from the plan in memory (plan.py), as terraform keeps its
planfile apart from its plans: the engine and the renderers read a Plan and
never its JSON; `apply PLANFILE` reads the JSON back into a Plan here.

The file is one JSON object, keys sorted, so the same plan is the same
bytes: `format_version`, `store` (`lineage`, `revision` and the counts the
removal guard is based on), `actor`, `desired_digest`, `summary`,
`max_removal_ratio`, `guards`, `unmanaged`, `targets`, and `actions` one a
line, so two plans diff action by action. An action is a change (`kind`,
`target`, `before`, `after`) judged: `requires`, `permitted`, `reason` when
blocked, and the `notifications` it causes.

The JSON reports (report/json.py) and a SCIM push's JSON (scim/rendering.py)
follow this shape: a store, a change and a removal guard are written as
`store_to_json`, `change_to_json` and `guard_to_json` write them, here once.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TextIO

from reconciler.core.errors import PlanFileError
from reconciler.core.kinds import Event, Kind, Role
from reconciler.core.model import is_email
from reconciler.core.plan import COUNTED, Action, Notification, Plan, Tripped

#: 2: access is effective access, with its sources (`via`); teams and their kinds of action.
FORMAT_VERSION = 2


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
    if action.reason is not None:
        data["reason"] = action.reason
    return data


def action_line(action: Action, records: dict[int, str] | None = None) -> str:
    """`action_to_json` as one line of JSON, keys sorted: the bytes `_ONE_LINE(action_to_json(action))`
    gives, built from parts, as a 400,000-action plan is written twice as fast that way. `records` keeps
    the JSON of each record object met so far, by id, for the actions that share one (see `write_plan`)."""
    if records is None:
        records = {}
    try:
        reason = "" if action.reason is None else f', "reason": {_string(action.reason)}'
        return (
            f'{{"after": {_record(action.after, records)}, "before": {_record(action.before, records)}, '
            f'"kind": {_string(action.kind)}, "notifications": {_notifications(action.notifications)}, '
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
        reason=data.get("reason"),
        notifications=tuple(Notification(n["to"], Event(n["event"])) for n in data["notifications"]),
    )


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


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as the file holds it, as one dict."""
    return {**_header_json(plan), "actions": [action_to_json(action) for action in plan.actions]}


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
    }


def dump_plan(plan: Plan) -> str:
    """The plan as JSON text (see `write_plan`)."""
    out = io.StringIO()
    write_plan(plan, out)
    return out.getvalue()


def write_plan(plan: Plan, out: TextIO) -> None:
    """The plan as JSON, written as it is encoded: sorted keys, so the same plan is the same bytes;
    one action a line, so two plans diff action by action. (json's indenting encoder is pure
    Python: at 40,000 actions it took longer than making the plan.)

    Actions may share a record (the diff gives equal grants one), and the plan holds them all while
    it is written, so a record's id names it: each is encoded once."""
    out.write('{\n  "actions": [')
    records: dict[int, str] = {}
    for index, action in enumerate(plan.actions):
        out.write(("," if index else "") + "\n    " + action_line(action, records))
    out.write("\n  ],\n" if plan.actions else "],\n")
    out.write(json.dumps(_header_json(plan), sort_keys=True, indent=2, ensure_ascii=False)[2:] + "\n")


def load_plan(text: str, name: str) -> Plan:
    """A plan saved by `plan --out`; raises PlanFileError naming `name`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlanFileError(f"{name}: not a saved plan: {error}") from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if isinstance(version, int) and version != FORMAT_VERSION:
        raise PlanFileError(
            f"{name}: a plan of format version {version}, and this reconciler applies version "
            f"{FORMAT_VERSION} only; make it again with `reconciler plan --out`"
        )
    if not isinstance(data, dict) or version != FORMAT_VERSION:
        raise PlanFileError(
            f"{name}: not a saved plan of format version {FORMAT_VERSION}; "
            "make it again with `reconciler plan --out`"
        )
    try:
        store = data["store"]
        if not is_email(str(data["actor"])):
            raise ValueError(f"actor {data['actor']!r} is not an e-mail address")
        return Plan(
            lineage=store["lineage"],
            revision=store["revision"],
            actor=data["actor"],
            desired_digest=data["desired_digest"],
            actions=tuple(action_from_json(a) for a in data["actions"]),
            store_counts={what: int(store[what]) for what in COUNTED},
            guards=tuple(Tripped(**guard) for guard in data["guards"]),
            max_removal_ratio=float(data["max_removal_ratio"]),
            unmanaged_policy=data["unmanaged"]["policy"],
            unmanaged=tuple(data["unmanaged"]["users"]),
            targets=tuple(data["targets"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise PlanFileError(f"{name}: a saved plan with a missing or broken field ({error})") from None
