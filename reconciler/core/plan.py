"""The plan: plain data that says what apply will do, in order, and who may do it.

An Action's `before` is the record as the store has it (None for an add),
its `after` the record as the YAML wants it (None for a removal); for a
change both hold the fields that matter to that kind. `requires` is the least
role that could perform the action on its target given the store; `permitted`
says whether the actor can, and `reason` why not. A Plan serialises to JSON
with a `format_version`; apply consumes that and never diffs again.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from reconciler.core.errors import PlanFileError, StalePlan
from reconciler.core.kinds import RANK, TARGET_KEYS, Effect, Event, Kind, Role
from reconciler.core.model import is_email

#: 2: access is effective access, with its sources (`via`); teams and their kinds of action.
FORMAT_VERSION = 2


@dataclass(frozen=True, slots=True)
class Notification:
    """An e-mail an action will cause."""

    to: str
    event: Event


@dataclass(frozen=True, slots=True)
class Action:
    """One change to the store."""

    kind: Kind
    target: Mapping[str, str]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    requires: Role = Role.RESELLER
    permitted: bool = True
    reason: str | None = None
    notifications: tuple[Notification, ...] = ()

    @property
    def effect(self) -> Effect:
        """`add`, `change` or `remove`: how the summary counts this action."""
        return self.kind.effect

    def sort_key(self) -> str:
        """The tie-break when the dependency graph leaves the order open: the kind's rank, then the
        target's values in `TARGET_KEYS` order ("" where it has none), as one string.

        Joined by NUL, which no name holds (a name with a control character is invalid), the strings
        sort as the tuples (rank, *values) would; 400,000 of them sort six times faster.
        """
        target = self.target
        return "\0".join([_RANK_CHARACTER[self.kind], *[target.get(key, "") for key in TARGET_KEYS]])

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind.value,
            "target": dict(self.target),
            "before": self.before,
            "after": self.after,
            "requires": self.requires.value,
            "permitted": self.permitted,
            "notifications": [{"to": n.to, "event": n.event.value} for n in self.notifications],
        }
        if self.reason is not None:
            data["reason"] = self.reason
        return data

    def json_line(self, records: dict[int, str] | None = None) -> str:
        """`to_json` as one line of JSON, keys sorted: the bytes `_ONE_LINE(self.to_json())` gives, built
        from parts, as a 400,000-action plan is written twice as fast that way. `records` keeps the JSON
        of each record object met so far, by id, for the actions that share one (see `write_json`)."""
        if records is None:
            records = {}
        try:
            reason = "" if self.reason is None else f', "reason": {_string(self.reason)}'
            return (
                f'{{"after": {_record(self.after, records)}, "before": {_record(self.before, records)}, '
                f'"kind": {_string(self.kind)}, "notifications": {_notifications(self.notifications)}, '
                f'"permitted": {"true" if self.permitted else "false"}{reason}, '
                f'"requires": {_string(self.requires)}, "target": {_flat(self.target)}}}'
            )
        except TypeError:  # a hand-edited plan file's number where a string belongs: the long way
            return _ONE_LINE(self.to_json())

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Action:
        """An action of a saved plan; raises KeyError, TypeError or ValueError for a broken one."""
        return cls(
            kind=Kind(data["kind"]),
            target=dict(data["target"]),
            before=data["before"],
            after=data["after"],
            requires=Role(data["requires"]),
            permitted=data["permitted"],
            reason=data.get("reason"),
            notifications=tuple(Notification(n["to"], Event(n["event"])) for n in data["notifications"]),
        )


#: A kind's tie-break rank as the first character of its actions' sort key.
_RANK_CHARACTER = {kind: chr(rank) for kind, rank in RANK.items()}

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


#: What the store holds of the things a mass removal would take: the base of the removal guard.
COUNTED = ("users", "access")


@dataclass(frozen=True)
class Tripped:
    """The removal guard, tripped: the plan removes more of `what` than `max_ratio` of the store's."""

    what: str
    removed: int
    total: int
    max_ratio: float

    def message(self, where: str = "in the store") -> str:
        things = "access grants" if self.what == "access" else self.what
        return (
            f"the plan removes {self.removed} of the {self.total} {things} {where} "
            f"({self.removed / self.total:.0%}), more than the {self.max_ratio:.0%} allowed"
        )

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "removed": self.removed, "total": self.total, "max_ratio": self.max_ratio}


@dataclass(frozen=True)
class Plan:
    """The ordered actions that take the store at `revision` to the desired state."""

    lineage: str
    revision: int
    actor: str
    desired_digest: str
    actions: tuple[Action, ...] = field(default=())
    store_counts: Mapping[str, int] = field(default_factory=dict)  # users, access: before the plan
    guards: tuple[Tripped, ...] = ()  # the removal guard, as the plan's max_removal_ratio judges it
    max_removal_ratio: float = 0.25
    unmanaged_policy: str = "remove"
    unmanaged: tuple[str, ...] = ()  # users the store has and the YAML does not, when not removed
    targets: tuple[str, ...] = ()  # --target: the plan covers only these, with what they need

    @property
    def revision_after(self) -> int:
        """The store's revision once this plan is applied: one more, unless it changes nothing."""
        return self.revision + 1 if self.actions else self.revision

    def check_current(self, lineage: str, revision: int) -> int:
        """The store's revision after this plan; raises StalePlan unless the store, at `lineage` and
        `revision` (read inside the apply's transaction), is where the plan was made."""
        if lineage != self.lineage:
            raise StalePlan(
                f"the plan was made for another store (lineage {self.lineage}, this one is {lineage}); "
                "nothing was applied"
            )
        if revision != self.revision:
            raise StalePlan(
                f"the plan was made at revision {self.revision} but the store is at revision {revision}; "
                "nothing was applied: run `reconciler plan` again"
            )
        return self.revision_after

    @property
    def blocked(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if not a.permitted)

    def summary(self) -> dict[str, int]:
        counts = {"add": 0, "change": 0, "remove": 0, "blocked": 0}
        for kind, count in Counter(action.kind for action in self.actions).items():
            counts[kind.effect] += count
        counts["blocked"] = sum(not action.permitted for action in self.actions)
        return counts

    def to_json(self) -> dict[str, Any]:
        return {**self._header_json(), "actions": [action.to_json() for action in self.actions]}

    def _header_json(self) -> dict[str, Any]:
        """Everything of `to_json` but the actions."""
        return {
            "format_version": FORMAT_VERSION,
            "store": {"lineage": self.lineage, "revision": self.revision, **self.store_counts},
            "actor": self.actor,
            "desired_digest": self.desired_digest,
            "summary": self.summary(),
            "max_removal_ratio": self.max_removal_ratio,
            "guards": [guard.to_json() for guard in self.guards],
            "unmanaged": {"policy": self.unmanaged_policy, "users": list(self.unmanaged)},
            "targets": list(self.targets),
        }

    def dumps(self) -> str:
        """The plan as JSON text (see `write_json`)."""
        out = io.StringIO()
        self.write_json(out)
        return out.getvalue()

    def write_json(self, out: TextIO) -> None:
        """The plan as JSON, written as it is encoded: sorted keys, so the same plan is the same bytes;
        one action a line, so two plans diff action by action. (json's indenting encoder is pure
        Python: at 40,000 actions it took longer than making the plan.)

        Actions may share a record (the diff gives equal grants one), and the plan holds them all while
        it is written, so a record's id names it: each is encoded once."""
        out.write('{\n  "actions": [')
        records: dict[int, str] = {}
        for index, action in enumerate(self.actions):
            out.write(("," if index else "") + "\n    " + action.json_line(records))
        out.write("\n  ],\n" if self.actions else "],\n")
        out.write(json.dumps(self._header_json(), sort_keys=True, indent=2, ensure_ascii=False)[2:] + "\n")

    @classmethod
    def loads(cls, text: str, name: str) -> Plan:
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
            return cls(
                lineage=store["lineage"],
                revision=store["revision"],
                actor=data["actor"],
                desired_digest=data["desired_digest"],
                actions=tuple(Action.from_json(a) for a in data["actions"]),
                store_counts={what: int(store[what]) for what in COUNTED},
                guards=tuple(Tripped(**guard) for guard in data["guards"]),
                max_removal_ratio=float(data["max_removal_ratio"]),
                unmanaged_policy=data["unmanaged"]["policy"],
                unmanaged=tuple(data["unmanaged"]["users"]),
                targets=tuple(data["targets"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise PlanFileError(f"{name}: a saved plan with a missing or broken field ({error})") from None
