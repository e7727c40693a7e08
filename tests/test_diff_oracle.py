"""The keyed diff against an independent oracle: DeepDiff of the two accounts as plain nested dicts.

`diff(desired, current)` walks indexes of its own; here both accounts are
written out as dicts keyed by identity, nothing of `engine/diff.py` reused:

    {"users": {email: {first_name, last_name, protect,
                       "access": {serial: {download}}}},
     "contracts": {number: {manager, protect,
                            "coordinators": {email: {manage_users, shipping}},
                            "serials": {number: {product, seats, group, coordinator, protect}}}}}

and DeepDiff (tree view, `threshold_to_diff_deeper=0` so that it reports
keys added and removed instead of a whole changed dict) compares them. Each
path it reports names a record (user, access, contract, coordinator,
serial) and, below the record, a field. For random pairs of accounts drawn
from small alphabets, so that they share keys and collide often:

1. the records the diff adds (by record kind and identity) are those under
   the paths DeepDiff reports added, nested records included: a new
   contract brings its coordinators and serials, a new user their access;
2. likewise for the records removed;
3. for records on both sides, the (record, field) pairs the diff's change
   actions carry with before != after are those DeepDiff reports changed,
   each in the action kind `FIELD_KINDS` names for that field;
4. the diff's before and after, read at DeepDiff's path below the record,
   are DeepDiff's old and new value; an add or a removal carries the
   record's own fields (see `_carries` for the plan's two conventions); an
   action's contract is the one the record is under;
5. nothing else: no action twice, no change action that changes nothing.
   The one extra is a serial.assign_coordinator beside the serial.create of
   a new serial that names its SC: part of creating it, checked as such.

A serial that moves to another contract is shown by DeepDiff as removed
from one and added to the other; the diff refuses it (UnsupportedChange) by
design, and the second property checks that it does.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from deepdiff import DeepDiff
from deepdiff.model import DiffLevel
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.errors import UnsupportedChange
from reconciler.core.kinds import Kind
from reconciler.core.model import Access, Contract, Coordinator, DesiredState, Serial, Shipping, User
from reconciler.core.plan import Action
from reconciler.engine.diff import diff

ORACLE = settings(max_examples=200, deadline=None)

EMAILS = ("ann@acme.example", "bob@acme.example", "cy@acme.example", "dee@acme.example")
CONTRACTS = ("110000000001", "110000000002", "110000000003")
SERIALS = ("399-00000001", "399-00000002", "399-00000003", "399-00000004", "399-00000005")
NAMES = ("Ann", "Bo")
PRODUCTS = ("AutoCAD", "Revit")
GROUPS = (None, "Design", "Build")
ENDS = (None, "2027-03-31", "2028-02-29")

#: A record's identity: its kind, then its keys. A serial is known by its number alone, as in a plan.
Identity = tuple[str, ...]

#: The target keys that name one record of each kind, in the order of its identity.
KEYS: dict[str, tuple[str, ...]] = {
    "user": ("user",),
    "access": ("user", "serial"),
    "contract": ("contract",),
    "coordinator": ("contract", "coordinator"),
    "serial": ("serial",),
}
ADD_KINDS: dict[Kind, str] = {
    Kind.USER_ADD: "user",
    Kind.ACCESS_GRANT: "access",
    Kind.CONTRACT_CREATE: "contract",
    Kind.COORDINATOR_ADD: "coordinator",
    Kind.SERIAL_CREATE: "serial",
}
REMOVE_KINDS: dict[Kind, str] = {
    Kind.USER_REMOVE: "user",
    Kind.ACCESS_REVOKE: "access",
    Kind.CONTRACT_REMOVE: "contract",
    Kind.COORDINATOR_REMOVE: "coordinator",
    Kind.SERIAL_REMOVE: "serial",
}
#: The action kind that carries a change of each field of a record on both sides.
FIELD_KINDS: dict[tuple[str, str], Kind] = {
    ("user", "first_name"): Kind.USER_UPDATE,
    ("user", "last_name"): Kind.USER_UPDATE,
    ("user", "protect"): Kind.USER_PROTECT,
    ("access", "download"): Kind.ACCESS_UPDATE,
    ("contract", "manager"): Kind.CONTRACT_MANAGER_CHANGE,
    ("contract", "protect"): Kind.CONTRACT_PROTECT,
    ("contract", "ends"): Kind.CONTRACT_ENDS_CHANGE,  # set, moved or dropped: None on either side
    ("coordinator", "manage_users"): Kind.COORDINATOR_UPDATE,
    ("coordinator", "shipping"): Kind.COORDINATOR_UPDATE,
    ("serial", "product"): Kind.SERIAL_PRODUCT_CHANGE,
    ("serial", "seats"): Kind.SERIAL_SEATS_CHANGE,
    ("serial", "group"): Kind.SERIAL_RENAME_GROUP,
    ("serial", "coordinator"): Kind.SERIAL_ASSIGN_COORDINATOR,  # unassign when the new value is None
    ("serial", "protect"): Kind.SERIAL_PROTECT,
}
CHANGE_KINDS: dict[Kind, str] = {
    **{kind: record for (record, _), kind in FIELD_KINDS.items()},
    Kind.SERIAL_UNASSIGN_COORDINATOR: "serial",
}
#: What DeepDiff may report for two accounts of dicts and scalars; anything else means the oracle is off.
REPORTS = {"dictionary_item_added", "dictionary_item_removed", "values_changed", "type_changes"}


def field_kind(record: str, field: str, new: Any) -> Kind:
    if (record, field) == ("serial", "coordinator") and new is None:
        return Kind.SERIAL_UNASSIGN_COORDINATOR
    return FIELD_KINDS[record, field]


# --- the accounts ---------------------------------------------------------------------------------


def shippings() -> st.SearchStrategy[Shipping | None]:
    return st.none() | st.builds(
        Shipping,
        st.sampled_from(("HQ", "Lab")),
        st.sampled_from(("1 Main St", "2 Side Rd")),
        st.sampled_from(("US", "NO")),
    )


#: Whether an item is in an account: more often than not, so that two accounts share most keys.
PRESENT = st.sampled_from((False, True, True))


def some(draw: st.DrawFn, items: Sequence[str]) -> list[str]:
    return sorted(item for item in items if draw(PRESENT))


@st.composite
def accounts(
    draw: st.DrawFn, homes: Mapping[str, str], include: frozenset[str] = frozenset()
) -> DesiredState:
    """A valid account whose serials are each on the contract `homes` gives; those in `include` present."""
    emails = some(draw, EMAILS) or [EMAILS[0]]
    numbers = {*some(draw, CONTRACTS), *(homes[s] for s in include)}
    contracts = []
    for number in sorted(numbers):
        manager = draw(st.sampled_from(emails))
        others = [e for e in emails if e != manager]
        named = some(draw, others)
        coordinators = tuple(Coordinator(e, draw(st.booleans()), draw(shippings())) for e in named)
        own = sorted(s for s, home in homes.items() if home == number)
        chosen = set(some(draw, own))
        serials = tuple(
            Serial(
                number=s,
                product=draw(st.sampled_from(PRODUCTS)),
                seats=draw(st.integers(1, 3)),
                group=draw(st.sampled_from(GROUPS)),
                coordinator=draw(st.sampled_from([None, *named])),
                protect=draw(st.booleans()),
            )
            for s in sorted(chosen | (include & set(own)))
        )
        ends = draw(st.sampled_from(ENDS))
        contracts.append(Contract(number, manager, coordinators, serials, draw(st.booleans()), ends))
    declared = sorted(s.number for c in contracts for s in c.serials)
    users = []
    for email in emails:
        access = tuple(Access(s, draw(st.booleans())) for s in some(draw, declared))
        user = User(
            email, draw(st.sampled_from(NAMES)), draw(st.sampled_from(NAMES)), access, draw(st.booleans())
        )
        users.append(user)
    return DesiredState(tuple(contracts), tuple(users))


def homes() -> st.SearchStrategy[dict[str, str]]:
    """Which contract each serial number belongs to."""
    return st.fixed_dictionaries({s: st.sampled_from(CONTRACTS) for s in SERIALS})


@st.composite
def edited(draw: st.DrawFn, state: DesiredState) -> DesiredState:
    """`state` with any of its fields changed and no record added or removed: records on both sides."""

    def maybe(value: Any, other: st.SearchStrategy[Any]) -> Any:
        return draw(other) if draw(st.booleans()) else value

    emails = [u.email for u in state.users]
    flip = st.booleans()
    contracts = []
    for c in state.contracts:
        named = [k.email for k in c.coordinators]
        managers = [e for e in emails if e not in named]
        coordinators = tuple(
            Coordinator(k.email, maybe(k.manage_users, flip), maybe(k.shipping, shippings()))
            for k in c.coordinators
        )
        serials = tuple(
            Serial(
                number=s.number,
                product=maybe(s.product, st.sampled_from(PRODUCTS)),
                seats=maybe(s.seats, st.integers(1, 3)),
                group=maybe(s.group, st.sampled_from(GROUPS)),
                coordinator=maybe(s.coordinator, st.sampled_from([None, *named])),
                protect=maybe(s.protect, flip),
            )
            for s in c.serials
        )
        manager = maybe(c.manager, st.sampled_from(managers))
        ends = maybe(c.ends, st.sampled_from(ENDS))
        contracts.append(Contract(c.number, manager, coordinators, serials, maybe(c.protect, flip), ends))
    users = tuple(
        User(
            u.email,
            maybe(u.first_name, st.sampled_from(NAMES)),
            maybe(u.last_name, st.sampled_from(NAMES)),
            tuple(Access(a.serial, maybe(a.download, flip)) for a in u.access),
            maybe(u.protect, flip),
        )
        for u in state.users
    )
    return DesiredState(tuple(contracts), users)


@st.composite
def pairs(draw: st.DrawFn) -> tuple[DesiredState, DesiredState]:
    """(desired, current) in which every serial stays on its contract.

    Half are drawn apart, to add and remove records; half are one account and an edit of it, so that
    many records are on both sides and their fields change.
    """
    shared = draw(homes())
    current = draw(accounts(shared))
    desired = draw(st.one_of(accounts(shared), edited(current)))
    return desired, current


@st.composite
def moves(draw: st.DrawFn) -> tuple[DesiredState, DesiredState, str]:
    """(desired, current, serial) in which that serial is on another contract in desired than in current."""
    before = draw(homes())
    serial = draw(st.sampled_from(SERIALS))
    after = {**before, serial: draw(st.sampled_from([c for c in CONTRACTS if c != before[serial]]))}
    include = frozenset({serial})
    return draw(accounts(after, include)), draw(accounts(before, include)), serial


# --- the oracle -----------------------------------------------------------------------------------


def plain(state: DesiredState) -> dict[str, Any]:
    """The account as nested dicts keyed by identity, straight from the model."""
    return {
        "users": {
            u.email: {
                "first_name": u.first_name,
                "last_name": u.last_name,
                "protect": u.protect,
                # Accounts without teams: every grant is the user's own (its one source is "direct").
                "access": {a.serial: {"download": a.download, "via": ["direct"]} for a in u.access},
            }
            for u in state.users
        },
        "contracts": {
            c.number: {
                "manager": c.manager,
                "protect": c.protect,
                "ends": c.ends,
                "coordinators": {
                    k.email: {
                        "manage_users": k.manage_users,
                        "shipping": None if k.shipping is None else dataclasses.asdict(k.shipping),
                    }
                    for k in c.coordinators
                },
                "serials": {
                    s.number: {
                        "product": s.product,
                        "seats": s.seats,
                        "group": s.group,
                        "coordinator": s.coordinator,
                        "protect": s.protect,
                    }
                    for s in c.serials
                },
            }
            for c in state.contracts
        },
    }


def locate(path: Sequence[Any]) -> tuple[Identity, tuple[str, ...]]:
    """The record a DeepDiff path is in, and the rest of the path below that record."""
    match list(path):
        case ["users", str(email), "access", str(serial), *rest]:
            return ("access", email, serial), tuple(rest)
        case ["users", str(email), *rest]:
            return ("user", email), tuple(rest)
        case ["contracts", str(number), "coordinators", str(email), *rest]:
            return ("coordinator", number, email), tuple(rest)
        case ["contracts", str(_), "serials", str(serial), *rest]:
            return ("serial", serial), tuple(rest)
        case ["contracts", str(number), *rest]:
            return ("contract", number), tuple(rest)
    raise AssertionError(f"DeepDiff reported a path outside the account: {path!r}")


@dataclasses.dataclass(frozen=True)
class Located:
    """One record of a plain account: its path, its own fields (no nested records), its contract."""

    path: tuple[str, ...]
    fields: Mapping[str, Any]
    contract: str | None


def records(account: Mapping[str, Any]) -> dict[Identity, Located]:
    """Every record of a plain account, by identity."""
    found: dict[Identity, Located] = {}
    serial_home = {s: c for c, contract in account["contracts"].items() for s in contract["serials"]}
    for email, user in account["users"].items():
        found["user", email] = Located(("users", email), _own(user), None)
        for serial, access in user["access"].items():
            path = ("users", email, "access", serial)
            found["access", email, serial] = Located(path, access, serial_home[serial])
    for number, contract in account["contracts"].items():
        found["contract", number] = Located(("contracts", number), _own(contract), number)
        for email, coordinator in contract["coordinators"].items():
            path = ("contracts", number, "coordinators", email)
            found["coordinator", number, email] = Located(path, coordinator, number)
        for serial, fields in contract["serials"].items():
            found["serial", serial] = Located(("contracts", number, "serials", serial), fields, number)
    return found


def _own(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in ("access", "coordinators", "serials")}


@dataclasses.dataclass
class Oracle:
    """What DeepDiff says changed, in records and fields."""

    added: set[Identity]
    removed: set[Identity]
    #: (record, field) -> every (path below the record, old value, new value) DeepDiff reports in it
    changed: dict[tuple[Identity, str], list[tuple[tuple[str, ...], Any, Any]]]


def oracle(have: Mapping[str, Any], want: Mapping[str, Any]) -> Oracle:
    tree = DeepDiff(have, want, view="tree", threshold_to_diff_deeper=0)
    assert set(tree) <= REPORTS, f"DeepDiff reported {sorted(set(tree) - REPORTS)}"
    result = Oracle(set(), set(), {})
    level: DiffLevel
    for report in ("dictionary_item_added", "dictionary_item_removed"):
        side = records(want if report == "dictionary_item_added" else have)
        into = result.added if report == "dictionary_item_added" else result.removed
        for level in tree.get(report, ()):
            path = tuple(level.path(output_format="list"))
            identity, rest = locate(path)
            if rest:  # a key below a record: a change of that record's field
                old, new = (None, level.t2) if report == "dictionary_item_added" else (level.t1, None)
                result.changed.setdefault((identity, rest[0]), []).append((rest, old, new))
                continue
            into.update(i for i, r in side.items() if r.path[: len(path)] == path)
    for report in ("values_changed", "type_changes"):
        for level in tree.get(report, ()):
            identity, rest = locate(level.path(output_format="list"))
            assert rest, f"a whole record reported as changed: {identity}"
            result.changed.setdefault((identity, rest[0]), []).append((rest, level.t1, level.t2))
    return result


# --- the comparison -------------------------------------------------------------------------------


def identity_of(action: Action, record: str) -> Identity:
    assert set(KEYS[record]) <= set(action.target), f"{action.kind} target {dict(action.target)}"
    return (record, *(action.target[k] for k in KEYS[record]))


def dig(value: Mapping[str, Any] | None, path: Sequence[str]) -> Any:
    assert value is not None
    for key in path:
        value = value[key]
    return value


def check_agreement(desired: DesiredState, current: DesiredState) -> None:
    want, have = plain(desired), plain(current)
    want_records, have_records = records(want), records(have)
    expected = oracle(have, want)
    actions = diff(desired, current)

    keys = Counter((a.kind, tuple(sorted(a.target.items()))) for a in actions)
    assert all(n == 1 for n in keys.values()), f"actions twice: {[k for k, n in keys.items() if n > 1]}"

    # The SC that a new serial names is assigned as part of creating it: not a change, but expected.
    companions = {
        identity_of(a, "serial"): a
        for a in actions
        if a.kind is Kind.SERIAL_ASSIGN_COORDINATOR and identity_of(a, "serial") in expected.added
    }
    named = {
        i: r.fields["coordinator"]
        for i, r in want_records.items()
        if i in expected.added and i[0] == "serial" and r.fields["coordinator"] is not None
    }
    assert set(companions) == set(named), (
        "serial.create without its serial.assign_coordinator, or the reverse"
    )
    for identity, action in companions.items():
        assert action.before == {"coordinator": None}
        assert action.after == {"coordinator": named[identity]}
        assert action.target["contract"] == want_records[identity].contract

    added: set[Identity] = set()
    removed: set[Identity] = set()
    changed: dict[tuple[Identity, str], Action] = {}
    for action in actions:
        if action.kind in ADD_KINDS:
            identity = identity_of(action, ADD_KINDS[action.kind])
            added.add(identity)
            assert action.before is None
            record = want_records.get(identity)
            assert record is not None, f"{action.kind} of {identity}, which the desired state lacks"
            _carries(action.after, identity, record, action)
        elif action.kind in REMOVE_KINDS:
            identity = identity_of(action, REMOVE_KINDS[action.kind])
            removed.add(identity)
            assert action.after is None
            record = have_records.get(identity)
            assert record is not None, f"{action.kind} of {identity}, which the current state lacks"
            _carries(action.before, identity, record, action)
        elif action.kind in CHANGE_KINDS:
            identity = identity_of(action, CHANGE_KINDS[action.kind])
            if identity in companions and companions[identity] is action:
                continue
            assert action.before is not None and action.after is not None
            fields = [
                f for f in {*action.before, *action.after} if action.before.get(f) != action.after.get(f)
            ]
            assert fields, f"{action.kind} of {identity} changes nothing: {action.before} -> {action.after}"
            for field in fields:
                assert action.kind is field_kind(identity[0], field, action.after.get(field)), (
                    f"{identity} field {field} changed by {action.kind}"
                )
                changed[identity, field] = action
            record = want_records.get(identity)
            assert record is not None and identity in have_records
            if "contract" in action.target:
                assert action.target["contract"] == record.contract
        else:
            raise AssertionError(f"an action kind the oracle does not know: {action.kind}")

    assert added == expected.added
    assert removed == expected.removed
    assert set(changed) == set(expected.changed)
    for key, reported in expected.changed.items():
        action = changed[key]
        for rest, old, new in reported:
            assert (dig(action.before, rest), dig(action.after, rest)) == (old, new), (
                f"{action.kind} of {key[0]}: {action.before} -> {action.after}, DeepDiff: {rest} {old!r} -> {new!r}"
            )


def _carries(values: Mapping[str, Any] | None, identity: Identity, record: Located, action: Action) -> None:
    """An add or a removal carries the record's own fields, and names the contract the record is under.

    Three conventions of the plan: `protect` is named only on an add that sets it and a contract's `ends`
    only where it has one (plans without them stay as they were), and a new serial's SC travels in its
    serial.assign_coordinator, not in the create.
    """
    fields = dict(record.fields)
    protect = fields.pop("protect", False)
    if identity[0] == "contract" and fields["ends"] is None:
        del fields["ends"]
    if action.kind in ADD_KINDS:
        if identity[0] == "serial":
            del fields["coordinator"]
        if protect:
            fields["protect"] = True
    assert values == fields, f"{action.kind} of {identity} carries {values}, the record is {record.fields}"
    if "contract" in action.target:
        assert action.target["contract"] == record.contract


@ORACLE
@given(pair=pairs())
def test_diff_agrees_with_deepdiff(pair: tuple[DesiredState, DesiredState]) -> None:
    check_agreement(*pair)


@settings(ORACLE, max_examples=50)
@given(move=moves())
def test_a_serial_that_moves_contract_is_refused(move: tuple[DesiredState, DesiredState, str]) -> None:
    desired, current, serial = move
    expected = oracle(plain(current), plain(desired))
    assert ("serial", serial) in expected.added & expected.removed
    with pytest.raises(UnsupportedChange, match=serial):
        diff(desired, current)


def test_the_oracle_sees_what_the_diff_should() -> None:
    """A fixed pair, spelled out, so that a broken oracle cannot agree with a broken diff in silence."""
    serial = Serial("399-00000001", "AutoCAD", 2, "Design", "bob@acme.example")
    current = DesiredState(
        (Contract("110000000001", "ann@acme.example", (Coordinator("bob@acme.example"),), (serial,)),),
        (
            User("ann@acme.example", "Ann", "Bo", (Access("399-00000001"),)),
            User("bob@acme.example", "Bo", "Bo"),
            User("dee@acme.example", "Dee", "Bo"),
        ),
    )
    desired = DesiredState(
        (
            Contract(
                "110000000001",
                "ann@acme.example",
                (Coordinator("bob@acme.example", shipping=Shipping("HQ", "1 Main St", "US")),),
                (dataclasses.replace(serial, seats=3, coordinator=None),),
            ),
        ),
        (
            User("ann@acme.example", "Ann", "Bo", (Access("399-00000001", download=True),)),
            User("bob@acme.example", "Bo", "Bo"),
            User("cy@acme.example", "Cy", "Bo"),
        ),
    )
    found = oracle(plain(current), plain(desired))
    assert found.added == {("user", "cy@acme.example")}
    assert found.removed == {("user", "dee@acme.example")}
    assert set(found.changed) == {
        (("coordinator", "110000000001", "bob@acme.example"), "shipping"),
        (("serial", "399-00000001"), "seats"),
        (("serial", "399-00000001"), "coordinator"),
        (("access", "ann@acme.example", "399-00000001"), "download"),
    }
    check_agreement(desired, current)
