"""A plan's file format, byte for byte: `planfile.write_plan` builds each action's line from parts,
and it must give the bytes the JSON encoder gives for the action's `action_to_json`, sorted keys and
all."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.kinds import Event, Kind, Role
from reconciler.core.plan import Action, Notification, Plan
from reconciler.core.planfile import action_line, action_to_json, dump_plan, plan_to_json

ONE_LINE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": ")).encode

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
scalars = st.none() | st.booleans() | st.integers() | texts
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
records = st.none() | st.dictionaries(texts, values, max_size=4)
targets = st.dictionaries(st.sampled_from(["team", "contract", "serial", "coordinator", "user"]), texts)
actions = st.builds(
    Action,
    kind=st.sampled_from(Kind),
    target=targets,
    before=records,
    after=records,
    requires=st.sampled_from(Role),
    permitted=st.booleans(),
    reason=st.none() | texts,
    notifications=st.lists(st.builds(Notification, to=texts, event=st.sampled_from(Event)), max_size=3).map(
        tuple
    ),
)


@given(actions)
def test_an_actions_line_is_what_the_encoder_makes_of_it(action: Action) -> None:
    assert action_line(action) == ONE_LINE(action_to_json(action))


def test_a_hand_edited_plans_odd_values_are_written_as_json() -> None:
    odd: dict[str, Any] = {"user": 7}
    action = Action(
        Kind.USER_ADD, odd, None, {}, reason=None, notifications=(Notification(odd, Event.USER_INVITED),)
    )  # type: ignore[arg-type]
    assert action_line(action) == ONE_LINE(action_to_json(action))


@given(st.lists(actions, max_size=3))
def test_a_plan_is_written_as_json_reads_it(planned: list[Action]) -> None:
    plan = Plan("lineage", 3, "a@x.example", "sha256:0", tuple(planned))
    text = dump_plan(plan)
    assert json.loads(text) == json.loads(json.dumps(plan_to_json(plan)))
    assert text.startswith('{\n  "actions": [')
