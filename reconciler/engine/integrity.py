"""A saved plan against the store it was made from: what `apply PLANFILE` checks before it believes it.

A plan file is data that whoever can write it may have changed. Its checksum
(core/planfile.py) catches an edit, unless whoever made it worked a plain
checksum out again, which anyone can; these checks stand without it. Each
is a pass over the actions, every record looked up by its key, and each
refusal names the action and what is wrong with it:

- shape: an action is what its kind says: its target has the keys of its
  record, an add has no `before`, a removal no `after`, and a kind that
  changes one field (`serial.seats_change`) holds that field;
- order: no action runs before one it waits on in the dependency graph
  (ordering.py), as the store's foreign keys and seat triggers would say
  in their own words;
- before: an action's `before` is the record as the store holds it (`None`
  for an add, whose record must be absent), or, for a record the plan adds,
  as that add leaves it; shapes.py says what each record looks like;
- needs: what an action's record refers to (the user of a grant, the
  contract of a serial, the coordinator a serial is given to...) is in the
  store or added earlier, and not removed; nothing left refers to a record
  a removal takes; and no grant gives a serial more users than its seats;
- a change of e-mail (`user.change_email`) moves a user the store holds,
  with their id, to an address nobody holds; the rest of the plan is read
  against the store with that user, and all that refers to them, at the
  new address, as the diff read it.

What it cannot see without a key: an `after` changed to another value the
store would take, or an action left out that nothing else needs. The HMAC
is for those.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, cast

from reconciler.core.errors import PlanFileError, plural
from reconciler.core.kinds import REFERENCES, REFERENCES_FROM, REFERENCES_TO, Effect, Kind, Record, Reference
from reconciler.core.model import Team, User, is_email
from reconciler.core.plan import Action, renamed_users
from reconciler.core.records import Snapshot
from reconciler.core.shapes import (
    access_entry_record,
    access_record,
    contract_record,
    coordinator_record,
    email_record,
    member_record,
    serial_record,
    team_record,
    user_record,
)
from reconciler.core.wording import target_label
from reconciler.engine.identity import renamed_snapshot
from reconciler.engine.ordering import unsettled_dependencies

#: A record's key: the values of its kind's target keys (`Record.keys`), in that order.
Key = tuple[str, ...]
#: A record as a dict of its fields (a plan's records, and the store's as the plan would write them).
Row = Mapping[str, Any]

_CHANGED = "the file was changed after it was made"
_KIND_CHANGED = "its kind was changed after the plan was made"
_REDO = "nothing was applied: make the plan again with `reconciler plan --out`"

#: What `_Walk.rows` gives for a record no action has reached.
_UNREACHED: Any = object()
#: Each kind's record, looked up once: `Kind.record` is a property, and a plan asks for every action.
_RECORD = {kind: kind.record for kind in Kind}

#: The keys of each record's targets: its own, and its contract's where it hangs off one.
_TARGET_KEYS: dict[Record, frozenset[str]] = {
    Record.USER: frozenset({"user"}),
    Record.CONTRACT: frozenset({"contract"}),
    Record.COORDINATOR: frozenset({"contract", "coordinator"}),
    Record.SERIAL: frozenset({"contract", "serial"}),
    Record.TEAM: frozenset({"team"}),
    Record.TEAM_MEMBER: frozenset({"team", "user"}),
    Record.TEAM_ACCESS: frozenset({"team", "contract", "serial"}),
    Record.ACCESS: frozenset({"contract", "serial", "user"}),
}

#: The kinds that change one field of their record: `before` and `after` hold that field alone.
_FIELD: dict[Kind, str] = {
    Kind.USER_PROTECT: "protect",
    Kind.CONTRACT_MANAGER_CHANGE: "manager",
    Kind.CONTRACT_ENDS_CHANGE: "ends",
    Kind.CONTRACT_PROTECT: "protect",
    Kind.SERIAL_PRODUCT_CHANGE: "product",
    Kind.SERIAL_SEATS_CHANGE: "seats",
    Kind.SERIAL_RENAME_GROUP: "group",
    Kind.SERIAL_ASSIGN_COORDINATOR: "coordinator",
    Kind.SERIAL_UNASSIGN_COORDINATOR: "coordinator",
    Kind.SERIAL_PROTECT: "protect",
}
#: The kinds that give a record a new key, and the fields their `before` and `after` hold.
_MOVES: dict[Kind, frozenset[str]] = {Kind.USER_CHANGE_EMAIL: frozenset({"email", "id"})}
#: A field a record added without it has (an added record names `protect` only when set).
_DEFAULTS = {"protect": False}
#: The fields of a record that name another (a user, a coordinator), and the graph finds actions by.
_NAMES = ("manager", "coordinator")
_NAMING = frozenset({Record.CONTRACT, Record.SERIAL})


def _serial_whole(serial: Any) -> dict[str, Any]:
    return {**serial_record(serial), "coordinator": serial.coordinator}


#: The `before` of every other change or removal: the whole record as diff.py shapes it, from the
#: store's model of it.
_WHOLE: dict[Record, Callable[[Any], dict[str, Any]]] = {
    Record.USER: user_record,
    Record.CONTRACT: contract_record,
    Record.COORDINATOR: coordinator_record,
    Record.SERIAL: _serial_whole,
    Record.TEAM: team_record,
    Record.TEAM_MEMBER: lambda found: member_record(found[0]),
    Record.TEAM_ACCESS: access_entry_record,
    Record.ACCESS: access_record,
}


def check_saved(actions: Sequence[Action], snapshot: Snapshot) -> None:
    """Raise PlanFileError unless `actions`, a saved plan's, are shaped as their kinds say, in an order
    the dependency graph allows, each `before` the record as the store in `snapshot` holds it, and
    nothing any of them needs missing."""
    for action in actions:
        _check_shape(action)
    _check_order(actions)
    _Walk(actions, snapshot).run()


def _refuse(problem: str, why: str = _CHANGED) -> PlanFileError:
    return PlanFileError(f"the saved plan {problem}: {why}; {_REDO}")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _check_shape(action: Action) -> None:
    kind, target, before, after = action.kind, action.target, action.before, action.after
    record = _RECORD[kind]
    expected = _TARGET_KEYS[record]
    if target.keys() != expected:
        raise _refuse(
            f"has {kind} {_json(target)}, whose target names {', '.join(sorted(target))}, and the "
            f"target of {kind} names {', '.join(sorted(expected))}",
            "its kind was changed, or its target, after the plan was made",
        )
    for value in target.values():
        if type(value) is not str:
            raise _refuse(f"has {kind} {_json(target)}, whose target holds other than names")
    for name, held in (("before", before), ("after", after)):
        if held is None:
            continue
        if not isinstance(held, dict):
            raise _refuse(f"has {_label(action)} whose {name} is {_json(held)}, not a record")
        if record in _NAMING:
            for naming in _NAMES:
                if not isinstance(held.get(naming), str | None):
                    raise _refuse(
                        f"has {_label(action)} whose {name} holds {naming} {_json(held[naming])}, not a name"
                    )
    effect = kind.effect
    if effect is Effect.ADD and before is not None:
        raise _refuse(f"has {_label(action)} with a before, and an add has none", _KIND_CHANGED)
    if effect is Effect.REMOVE and after is not None:
        raise _refuse(f"has {_label(action)} with an after, and a removal has none", _KIND_CHANGED)
    if before is None and effect is not Effect.ADD:
        change = "a change" if effect is Effect.CHANGE else "a removal"
        raise _refuse(f"has {_label(action)} without a before, and {change} has one")
    if after is None and effect is not Effect.REMOVE:
        change = "an add" if effect is Effect.ADD else "a change"
        raise _refuse(f"has {_label(action)} without an after, and {change} has one")
    moved = _MOVES.get(kind)
    if moved is not None and before is not None and after is not None:
        if set(before) != moved or set(after) != moved:
            fields = ", ".join(sorted(set(before) | set(after)))
            raise _refuse(
                f"has {_label(action)} whose before and after hold {fields}, and a {kind} changes "
                f"{', '.join(sorted(moved))}",
                _KIND_CHANGED,
            )
        new = after["email"]
        if not isinstance(new, str) or not is_email(new) or new != new.lower() or new == target["user"]:
            raise _refuse(f"has {_label(action)} whose new address is {_json(new)}, not a new e-mail address")
    field = _FIELD.get(kind)
    if field is not None and before is not None and after is not None and set(before) | set(after) != {field}:
        fields = ", ".join(sorted(set(before) | set(after)))
        raise _refuse(
            f"has {_label(action)} whose before and after hold {fields}, and a {kind} changes {field}",
            _KIND_CHANGED,
        )


def _label(action: Action) -> str:
    """An action as a refusal names it: its kind and its target, as a person names it."""
    return f"{action.kind} {target_label(action)}"


def _name(record: Record) -> str:
    return record.value.replace("_", " ")


def _named(record: Record, key: Key) -> str:
    return f"{_name(record)} {'/'.join(key)}"


def _check_order(actions: Sequence[Action]) -> None:
    """Raise PlanFileError if an action comes before one it waits on; of several, the first in the plan."""
    late: tuple[int, int] | None = None
    for first, then in unsettled_dependencies(actions):
        if first > then and (late is None or (then, first) < late):
            late = (then, first)
    if late is not None:
        early, needed = actions[late[0]], actions[late[1]]
        raise _refuse(
            f"runs {_label(early)} before {_label(needed)}, which must come first",
            "the actions were reordered after the plan was made",
        )


class _Stored(dict[Record, Mapping[Key, Any]]):
    """The store's records by kind of record and key, each index made when first asked for.

    A dict, so that the walk's lookups of an index made already cost no Python call."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self._snapshot = snapshot

    def __missing__(self, record: Record) -> Mapping[Key, Any]:
        found = self[record] = self._index(record)
        return found

    def _index(self, record: Record) -> Mapping[Key, Any]:
        state = self._snapshot.state
        if record is Record.ACCESS:
            return cast(Mapping[Key, Any], self._snapshot.grants)  # by (user, serial): Record.ACCESS.keys
        indexes: dict[Record, Callable[[], Iterator[tuple[Key, Any]]]] = {
            Record.USER: lambda: (((u.email,), u) for u in state.users),
            Record.CONTRACT: lambda: (((c.number,), c) for c in state.contracts),
            Record.COORDINATOR: lambda: (
                ((c.number, k.email), k) for c in state.contracts for k in c.coordinators
            ),
            Record.SERIAL: lambda: (((s.number,), (c.number, s)) for c in state.contracts for s in c.serials),
            Record.TEAM: lambda: (((t.name,), t) for t in state.teams),
            Record.TEAM_MEMBER: lambda: _memberships(state.teams),
            Record.TEAM_ACCESS: lambda: (((t.name, a.serial), a) for t in state.teams for a in t.access),
        }
        return dict(indexes[record]())

    def whole(self, record: Record, found: Any) -> dict[str, Any]:
        """A stored record's `before` as a change or removal of all of it has it."""
        return _WHOLE[record](found[1] if record is Record.SERIAL else found)

    def row(self, record: Record, key: Key, found: Any) -> dict[str, Any]:
        """A stored record with every field a plan may change or refer to, named as plans name them."""
        values: dict[str, Any] = dict(zip(record.keys, key, strict=True))
        if record is Record.SERIAL:
            contract, serial = found
            values.update(_serial_whole(serial), contract=contract, protect=serial.protect)
        elif record in (Record.USER, Record.CONTRACT):
            values.update(self.whole(record, found), protect=found.protect)
            if record is Record.CONTRACT:
                values["ends"] = found.ends
        else:
            values.update(self.whole(record, found))
        return values


def _memberships(teams: Sequence[Team]) -> Iterator[tuple[Key, tuple[str | None]]]:
    """Each team membership by (team, user), with its last day (None: for good) in a 1-tuple."""
    for team in teams:
        ends = dict(team.member_expires)
        for member in team.members:
            yield (team.name, member), (ends.get(member),)


class _Walk:
    """The plan run over the store's records, one action at a time, as the store would run it."""

    def __init__(self, actions: Sequence[Action], snapshot: Snapshot) -> None:
        self.actions = actions
        #: The users the plan gives a new e-mail, old address to new: the rest of the plan names them by
        #: the new one, so it is read against the store as it is once they have it.
        self.moved = renamed_users(actions)
        self.users_before: dict[str, User] = (
            {user.email: user for user in snapshot.state.users} if self.moved else {}
        )
        self.moved_to: dict[str, str] = {}  # new address -> old, of the changes walked so far
        self.snapshot = renamed_snapshot(snapshot, self.moved)
        self.stored = _Stored(self.snapshot)
        #: Each record an action has reached, by kind of record and key: its fields now, None once removed.
        self.rows: dict[Record, dict[Key, dict[str, Any] | None]] = {record: {} for record in Record}
        #: The records the plan removes, and how many records refer to each of them now.
        self.removed = {
            (action.kind.record, _key(action))
            for action in actions
            if action.kind.effect is Effect.REMOVE and REFERENCES_TO[_RECORD[action.kind]]
        }
        self.referring: Counter[tuple[Reference, Key]] = self._count_referring()
        self.seats_used: Counter[str] | None = None  # each serial's users, counted when first needed

    def run(self) -> None:
        for action in self.actions:
            self._step(action)

    def _step(self, action: Action) -> None:
        kind = action.kind
        if kind in _MOVES:
            self._change_email(action)
            return
        record = _RECORD[kind]
        key = _KEY_OF[record](action.target)
        rows = self.rows[record]
        now = rows.get(key, _UNREACHED)
        reached = now is not _UNREACHED
        found = None
        if not reached:
            found = self.stored[record].get(key)
            now = None if found is None else self.stored.row(record, key, found)
        effect = kind.effect
        if effect is Effect.ADD:
            if now is not None:
                where = "an earlier action of the plan adds" if reached else "the store already holds"
                raise _refuse(f"has {_label(action)}, and {where} that {_name(record)}")
            new: dict[str, Any] | None = {**action.target, **(action.after or {})}
        else:
            if now is None:
                where = "an earlier action of the plan removes it" if reached else "the store holds no such"
                raise _refuse(f"has {_label(action)}, and {where}{'' if reached else ' ' + _name(record)}")
            self._check_before(action, key, now, found)
            new = None if effect is Effect.REMOVE else {**now, **(action.after or {})}
        self._check_needs(action, record, now, new)
        if new is None:
            for reference in REFERENCES_TO[record]:
                if count := self.referring[(reference, key)]:
                    refer = "refers" if count == 1 else "refer"
                    raise _refuse(
                        f"has {_label(action)} while {count} {_name(reference.child)} "
                        f"{plural(count, 'record')} still {refer} to {_named(record, key)}"
                    )
        self._count_seats(action, record, now, new)
        rows[key] = new

    def _change_email(self, action: Action) -> None:
        """A user the store holds, at an address nobody holds, once: the rest of the plan reads the store
        with them there (`self.stored`)."""
        old, after = action.target["user"], action.after or {}
        new = after["email"]
        stored = self.users_before.get(old)
        if stored is None or self.rows[Record.USER].get((old,), _UNREACHED) is not _UNREACHED:
            raise _refuse(f"has {_label(action)}, and the store holds no such user, or the plan changed it")
        if self.moved.get(old) != new or new in self.moved_to:
            raise _refuse(f"has {_label(action)}, and another action of the plan changes that address too")
        expected = email_record(stored)
        if action.before != expected:
            held = _json(expected)
            raise _refuse(
                f"has {_label(action)} with before {_json(action.before)}, and the store holds {held}"
            )
        if after["id"] != stored.id:
            raise _refuse(f"has {_label(action)}, which changes the user's id, and a {action.kind} keeps it")
        taken = self.rows[Record.USER].get((new,), _UNREACHED)
        if new in self.users_before or (taken is not _UNREACHED and taken is not None):
            raise _refuse(f"has {_label(action)}, and user {new} is another user")
        self.moved_to[new] = old

    def _check_before(self, action: Action, key: Key, now: Row, found: Any) -> None:
        """The action's `before` is the record as the store holds it, or as the plan added it."""
        field = _FIELD.get(action.kind)
        record = action.kind.record
        if field is not None:
            expected: Any = {field: now.get(field, _DEFAULTS.get(field))}
        elif found is None:  # a whole record, changed or removed once another action has reached it
            raise _refuse(
                f"has {_label(action)}, and an earlier action of the plan changes that {_name(record)}"
            )
        else:
            expected = self.stored.whole(record, found)
        if action.before != expected:
            holds = "the store holds" if key in self.stored[record] else "the plan adds it as"
            raise _refuse(
                f"has {_label(action)} with before {_json(action.before)}, and {holds} {_json(expected)}"
            )

    def _check_needs(self, action: Action, record: Record, now: Row | None, new: Row | None) -> None:
        """Raise unless the records `new` refers to are there; keep count of what refers to a record
        the plan removes."""
        changed = action.after or {}
        for reference in REFERENCES_FROM[record]:
            new_parent = None if new is None else reference.parent_key(new)
            if new_parent is not None and (now is None or not changed.keys().isdisjoint(reference.fields)):
                row = self.rows[reference.parent].get(new_parent, _UNREACHED)
                if row is None or (row is _UNREACHED and new_parent not in self.stored[reference.parent]):
                    where = "removed earlier" if row is None else "neither in the store nor added earlier"
                    needed = _named(reference.parent, new_parent)
                    raise _refuse(f"has {_label(action)}, which needs {needed}, {where} in the plan")
            if self.removed:
                old_parent = None if now is None else reference.parent_key(now)
                if old_parent == new_parent:
                    continue
                if old_parent is not None and (reference.parent, old_parent) in self.removed:
                    self.referring[(reference, old_parent)] -= 1
                if new_parent is not None and (reference.parent, new_parent) in self.removed:
                    self.referring[(reference, new_parent)] += 1

    def _count_referring(self) -> Counter[tuple[Reference, Key]]:
        """How many stored records refer to each record the plan removes, by reference."""
        counts: Counter[tuple[Reference, Key]] = Counter()
        removed: dict[Record, set[Key]] = {}
        for record, key in self.removed:
            removed.setdefault(record, set()).add(key)
        for reference in REFERENCES:
            wanted = removed.get(reference.parent)
            if not wanted:
                continue
            child = reference.child
            stored = self.stored[child]
            if len(reference.fields) == 1 and reference.fields[0] in child.keys:  # by the child's key alone
                at = child.keys.index(reference.fields[0])
                values = {key[0] for key in wanted}
                found = Counter(key[at] for key in stored if key[at] in values)
                counts.update({(reference, (value,)): count for value, count in found.items()})
                continue
            for key, held in stored.items():
                parent = reference.parent_key(self.stored.row(child, key, held))
                if parent in wanted:
                    counts[(reference, parent)] += 1
        return counts

    def _count_seats(self, action: Action, record: Record, now: Row | None, new: Row | None) -> None:
        """R8, as the store's seat triggers check it: a serial never has more users than seats."""
        if record is Record.ACCESS:
            used = self._seats_used()
            serial = action.target["serial"]
            used[serial] += (new is not None) - (now is not None)
            if now is None:
                self._check_seats(action, serial, used[serial], self._seats(serial), "give")
        elif record is Record.SERIAL and new is not None and (now is None or "seats" in (action.after or {})):
            serial = action.target["serial"]
            self._check_seats(action, serial, self._seats_used()[serial], new.get("seats"), "leave")

    def _seats(self, serial: str) -> Any:
        row = self.rows[Record.SERIAL].get((serial,))
        return row["seats"] if row is not None else self.stored[Record.SERIAL][(serial,)][1].seats

    def _check_seats(self, action: Action, serial: str, users: int, seats: Any, verb: str) -> None:
        if not isinstance(seats, int) or isinstance(seats, bool):
            raise _refuse(f"has {_label(action)}, and serial {serial} has {_json(seats)} seats, not a number")
        if users > seats:
            raise _refuse(
                f"has {_label(action)}, which would {verb} serial {serial} {users} {plural(users, 'user')} "
                f"for its {seats} {plural(seats, 'seat')}"
            )

    def _seats_used(self) -> Counter[str]:
        if self.seats_used is None:
            self.seats_used = Counter(serial for _, serial in self.snapshot.grants)
        return self.seats_used


def _key_getter(names: tuple[str, ...]) -> Callable[[Mapping[str, str]], Key]:
    if len(names) == 1:
        name = names[0]
        return lambda target: (target[name],)
    return itemgetter(*names)  # a tuple of the values, for two names or more


#: A record's key from an action's target, by kind of record.
_KEY_OF = {record: _key_getter(record.keys) for record in Record}


def _key(action: Action) -> Key:
    return _KEY_OF[_RECORD[action.kind]](action.target)
