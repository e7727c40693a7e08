"""A saved plan read, and its audit rows made, in bulk: the same as one action at a time.

`load_plan` reads the actions of a file by `planfile._actions_from_json`, which takes shortcuts
(enums looked up, the parser's dicts kept, slots set directly) and hands any action it cannot read
to `action_from_json`: a plan must read the same both ways, field for field and type for type, and
a broken one must be refused with the same words. `rows.audit_rows` makes every audit row of an
apply with one encoder and a record shared by actions encoded once: its rows must be `audit_row`'s,
and an action that cannot be encoded must fail as `audit_row` fails.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any
from unittest import mock

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from reconciler.core import planfile
from reconciler.core.kinds import Event, Kind, Role
from reconciler.core.plan import Action, Notification, Plan
from reconciler.core.planfile import action_from_json, dump_plan, load_plan
from reconciler.store.rows import audit_row, audit_rows

# --- values, odd ones included -------------------------------------------------------------------

#: Text of every kind: non-ASCII, control characters, quotes, backslashes, lone surrogates.
texts = st.text(max_size=6) | st.sampled_from(
    ["", "é", "\u2028", "\x7f", '"\\', "\ud800", "名前", "\U0001f600"]
)
numbers = (
    st.integers()  # big ones too: past 64 bits
    | st.floats()  # NaN, infinities, -0.0
    | st.sampled_from([0, -0.0, 1.0, 2**64, -(2**63) - 1, 1e308])
)
scalars = st.none() | st.booleans() | numbers | texts
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
records = st.dictionaries(texts, values, max_size=4)
target_keys = st.sampled_from(["team", "contract", "serial", "coordinator", "user"])
targets = st.dictionaries(target_keys, texts, max_size=3)
notifications = st.lists(st.builds(Notification, to=texts, event=st.sampled_from(Event)), max_size=3).map(
    tuple
)
actions = st.builds(
    Action,
    kind=st.sampled_from(Kind),
    target=targets,
    before=st.none() | records,
    after=st.none() | records,
    requires=st.sampled_from(Role),
    permitted=st.booleans(),
    reason=st.none() | texts,
    notifications=notifications,
)


def same(left: object, right: object) -> bool:
    """Equal, and of the same types all the way down (1 is not 1.0 nor True), NaN being NaN: their
    reprs, which also name each record's class and keep its keys' order, are the same."""
    return repr(left) == repr(right)


# --- 1. a saved plan read in bulk ----------------------------------------------------------------


@contextmanager
def one_at_a_time() -> Iterator[None]:
    """`load_plan` reading every action by `action_from_json`, as it did before the bulk reader."""
    with mock.patch.object(planfile, "_actions_from_json", lambda items: tuple(map(action_from_json, items))):
        yield


def outcome(read: Callable[[], Plan]) -> tuple[str, str]:
    """What `read` gave: the plan, or the error it raised, named and worded."""
    try:
        return "plan", repr(read())
    except Exception as error:
        return type(error).__name__, str(error)


def both_ways(text: str) -> tuple[tuple[str, str], tuple[str, str]]:
    bulk = outcome(lambda: load_plan(text, "plan.json"))
    with one_at_a_time():
        single = outcome(lambda: load_plan(text, "plan.json"))
    return bulk, single


def sealed(data: dict[str, Any]) -> str:
    """`data` as a plan file with its checksum (as test_plan_integrity.sealed makes it)."""
    placeholder = "<checksum>"
    text = json.dumps({**data, "checksum": placeholder}, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    rest = text.replace(f'  "checksum": "{placeholder}",\n', "").encode("utf-8", "surrogatepass")
    return text.replace(placeholder, "sha256:" + hashlib.sha256(rest).hexdigest())


def plan_of(planned: list[Action]) -> Plan:
    return Plan("lineage", 3, "a@x.example", "sha256:0", tuple(planned), {"users": 2, "access": 5})


@given(st.lists(actions, max_size=4))
def test_a_saved_plan_reads_the_same_in_bulk(planned: list[Action]) -> None:
    try:
        text = dump_plan(plan_of(planned))
    except UnicodeEncodeError:  # a lone surrogate, which no file holds
        assume(False)
    bulk, single = both_ways(text)
    assert bulk == single
    assert bulk[0] == "plan"


def test_a_saved_plan_reads_as_it_was_made() -> None:
    made = plan_of(
        [
            Action(
                Kind.USER_ADD,
                {"user": "zoë@x.example"},
                None,
                {"first_name": "Zoë"},
                Role.SOFTWARE_COORDINATOR,
                notifications=(Notification("zoë@x.example", Event.USER_INVITED),),
            ),
            Action(
                Kind.ACCESS_GRANT,
                {"contract": "1", "serial": "2", "user": "zoë@x.example"},
                None,
                {"download": True, "via": ["direct"]},
                permitted=False,
                reason="no",
            ),
        ]
    )
    read = load_plan(dump_plan(made), "plan.json")
    assert read == made
    assert all(type(a) is Action and type(a.target) is dict and a.held is None for a in read.actions)


#: A JSON value of any shape, the enums' own values among them, to stand where an action's field does.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=4)
    | st.sampled_from([*Kind, *Role, *Event]).map(str),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["to", "event", "user", "kind", "x"]) | st.text(max_size=3), inner, max_size=3
        )
    ),
    max_leaves=5,
)
FIELDS = ["kind", "target", "before", "after", "requires", "permitted", "reason", "notifications"]


def good_action() -> dict[str, Any]:
    return {
        "kind": "access.grant",
        "target": {"contract": "110000000001", "serial": "399-00000001", "user": "a@x.example"},
        "before": None,
        "after": {"download": True, "via": ["direct"]},
        "requires": "reseller",
        "permitted": True,
        "notifications": [{"event": "access.granted", "to": "a@x.example"}],
    }


def saved_with(*items: object) -> str:
    data = json.loads(dump_plan(plan_of([])))
    del data["checksum"]
    data["actions"] = list(items)
    return sealed(data)


@given(st.sampled_from(FIELDS), json_values, st.booleans())
def test_an_edited_action_is_read_or_refused_the_same_in_bulk(field: str, value: Any, drop: bool) -> None:
    edited = good_action()
    if drop:
        edited.pop(field, None)
    else:
        edited[field] = value
    bulk, single = both_ways(saved_with(good_action(), edited, good_action()))
    assert bulk == single


@pytest.mark.parametrize(
    "edited",
    [
        {"kind": "user.rename"},
        {"kind": ["user.add"]},
        {"kind": {"user.add": 1}},
        {"requires": "admin"},
        {"requires": None},
        {"target": [["user", "a@x.example"]]},  # dict() reads pairs: the plan is read
        {"target": "ab"},
        {"target": None},
        {"target": {"user": 7}},
        {"notifications": None},
        {"notifications": ""},
        {"notifications": {}},
        {"notifications": {"to": "a@x.example"}},
        {"notifications": "to"},
        {"notifications": [None]},
        {"notifications": [{"to": "a@x.example"}]},
        {"notifications": [{"to": "a@x.example", "event": "user.renamed"}]},
        {"notifications": [{"to": ["a@x.example"], "event": "access.granted", "x": 1}]},
        {"reason": 3},
        {"permitted": "yes"},
        {"after": {"ratio": float("inf"), "n": 2**70}, "before": "x"},
        {"extra": "kept nowhere"},
    ],
)
def test_an_odd_action_is_read_or_refused_the_same_in_bulk(edited: dict[str, Any]) -> None:
    bulk, single = both_ways(saved_with(good_action(), {**good_action(), **edited}))
    assert bulk == single


@pytest.mark.parametrize("item", [None, 1, "access.grant", [], ["kind"], {}])
def test_an_action_that_is_no_object_is_refused_the_same_in_bulk(item: object) -> None:
    bulk, single = both_ways(saved_with(good_action(), item))
    assert bulk == single
    assert bulk[0] != "plan"


@pytest.mark.parametrize("actions_field", [None, 1, "", "ab", {}, {"kind": 1}])
def test_actions_that_are_no_list_are_read_or_refused_the_same_in_bulk(actions_field: object) -> None:
    data = json.loads(dump_plan(plan_of([])))
    del data["checksum"]
    data["actions"] = actions_field
    bulk, single = both_ways(sealed(data))
    assert bulk == single


# --- 2. the audit rows of an apply, in bulk ------------------------------------------------------


@st.composite
def applied(draw: st.DrawFn) -> list[Action]:
    """Actions some of which share a record (one object), some an equal one (two objects), next to
    each other or not, with odd values too: a target's number, a record's NaN or 2**64, any text."""
    pool = draw(st.lists(records, min_size=1, max_size=3))
    shared = st.none() | st.sampled_from(pool) | records | st.sampled_from(pool).map(dict)
    odd_targets: st.SearchStrategy[Mapping[str, Any]] = targets | st.dictionaries(
        target_keys, st.integers() | texts, max_size=3
    )
    # ... and a Mapping that is not a dict, which audit_row copies
    odd_targets |= odd_targets.map(lambda target: MappingProxyType(dict(target)))
    return draw(
        st.lists(
            st.builds(
                Action,
                kind=st.sampled_from(Kind),
                target=odd_targets,
                before=shared,
                after=shared,
            ),
            max_size=8,
        )
    )


@given(applied(), st.booleans())
def test_the_audit_rows_of_an_apply_are_its_actions_audit_rows(planned: list[Action], adopted: bool) -> None:
    bulk = audit_rows(7, "ána@x.example", "2025-01-01T00:00:00+00:00", planned, adopted)
    single = [audit_row(7, "ána@x.example", "2025-01-01T00:00:00+00:00", a, adopted) for a in planned]
    assert same(bulk, single)
    assert all(type(row) is tuple for row in bulk)


def test_a_record_shared_by_actions_apart_is_written_each_time() -> None:
    grant, other = {"download": True, "via": ["direct"]}, {"download": False, "via": ["team:a"]}
    planned = [
        Action(Kind.ACCESS_GRANT, {"user": f"u{i}@x.example"}, None, record)
        for i, record in enumerate([grant, grant, other, grant, None, grant])
    ]
    assert audit_rows(1, "a", "now", planned) == [audit_row(1, "a", "now", a) for a in planned]


def test_equal_records_are_written_each_as_it_is() -> None:
    # Equal to Python (True == 1 == 1.0), not as JSON: a record is known again by being the same one.
    planned = [
        Action(Kind.ACCESS_GRANT, {"user": "u@x.example"}, {"download": value}, {"download": value})
        for value in (True, 1, 1.0, True, 0, False, -0.0, 0.0)
    ]
    rows = audit_rows(1, "a", "now", planned)
    assert rows == [audit_row(1, "a", "now", a) for a in planned]
    assert [row[6] for row in rows][:3] == ['{"download": true}', '{"download": 1}', '{"download": 1.0}']


def circular() -> dict[str, Any]:
    record: dict[str, Any] = {"a": 1}
    record["self"] = record
    return record


@pytest.mark.parametrize(
    "broken",
    [
        Action(Kind.USER_ADD, {"user": "a@x.example"}, None, {"seen": {1, 2}}),  # a set: not JSON
        Action(Kind.USER_ADD, {"user": "a@x.example"}, None, {1: "x", "b": "y"}),  # type: ignore[dict-item]  # keys that do not sort
        Action(Kind.USER_ADD, {"user": "a@x.example"}, None, circular()),
        Action(Kind.USER_ADD, {"user": object()}, None, None),  # type: ignore[dict-item]
        Action(Kind.USER_ADD, 7, None, None),  # type: ignore[arg-type]
        Action("user.add", {"user": "a@x.example"}, None, None),  # type: ignore[arg-type]
    ],
)
def test_an_action_that_cannot_be_written_fails_as_audit_row_fails(broken: Action) -> None:
    fine = Action(Kind.USER_ADD, {"user": "b@x.example"}, None, {"first_name": "B"})
    with pytest.raises(Exception) as single:
        [audit_row(1, "a", "now", a) for a in (fine, broken, fine)]
    with pytest.raises(Exception) as bulk:
        audit_rows(1, "a", "now", [fine, broken, fine])
    assert (type(bulk.value), str(bulk.value)) == (type(single.value), str(single.value))
