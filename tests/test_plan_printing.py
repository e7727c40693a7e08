"""A plan as the terminal shows it: painted once per effect, printed in chunks, the same lines."""

from __future__ import annotations

from itertools import chain

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.cli.app import echo_lines
from reconciler.core.kinds import Event, Kind
from reconciler.core.plan import Action, Notification, Plan
from reconciler.report.text import render_action, render_plan

#: Text of any kind: control characters, bidi overrides, markup, surrogates left out.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


def painted(piece: str, colour: str) -> str:
    return f"[{colour}]{piece}[/]"


@st.composite
def actions(draw: st.DrawFn) -> Action:
    """An action of each effect, blocked, held back or neither, naming text of any kind."""
    user, serial = draw(ANY_TEXT), draw(ANY_TEXT)
    kind, before, after = draw(
        st.sampled_from(
            [
                (Kind.USER_ADD, None, {"first_name": draw(ANY_TEXT), "last_name": draw(ANY_TEXT)}),
                (Kind.ACCESS_GRANT, None, {"download": draw(st.booleans()), "via": ["direct"]}),
                (Kind.ACCESS_UPDATE, {"download": False}, {"download": True, "via": [draw(ANY_TEXT)]}),
                (Kind.ACCESS_REVOKE, {"download": True, "via": ["team:" + draw(ANY_TEXT)]}, None),
                (Kind.USER_REMOVE, {"first_name": "A", "last_name": "B"}, None),
            ]
        )
    )
    permitted = draw(st.booleans())
    return Action(
        kind,
        {"contract": "110001234567", "serial": serial, "user": user},
        before,
        after,
        permitted=permitted,
        reason=None if permitted else draw(ANY_TEXT),
        held=draw(st.none() | ANY_TEXT) if permitted else None,
        notifications=tuple(Notification(user, Event.ACCESS_GRANTED) for _ in range(draw(st.integers(0, 2)))),
    )


@given(st.lists(actions(), max_size=8))
def test_a_plan_shows_each_action_as_it_is_shown_alone(planned: list[Action]) -> None:
    plan = Plan("lineage", 3, "orders@cadpartners.example", "digest", tuple(planned))
    lines = list(render_plan(plan, painted))
    alone = list(chain.from_iterable(render_action(action, painted) for action in planned))
    start = 3 if not planned else 2
    assert lines[start : start + len(alone)] == alone
    assert lines[start + len(alone)] == ""


@pytest.mark.parametrize("count", [0, 1, 2, 999, 1000, 1001, 2500])
@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_printed_lines_are_each_line_once_in_order(
    count: int, chunk: int, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (f"line {n}" for n in range(count))
    echo_lines(lines, chunk)
    assert capsys.readouterr().out == "".join(f"line {n}\n" for n in range(count))
