"""A plan for a terminal: one line per action, `+` add, `~` change, `-` remove, then a summary.

    + user.add carol@acme.example: Carol Smith
    ~ serial.seats_change 399-12345678: seats 10 → 12
    - access.revoke bob@acme.example on 399-12345678
    ~ contract.manager_change 110001234567: manager alice@acme.example → bob@acme.example
        blocked: changing the Contract Manager of contract 110001234567 needs the reseller: ask …

    Plan: 1 to add, 2 to change, 1 to remove, 1 blocked.

`paint(text, colour)` colours a piece of text; the command line passes one
that works on a terminal, tests and files get plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from reconciler.errors import plural
from reconciler.plan import Action, Plan

Paint = Callable[[str, str], str]

SYMBOLS = {"add": "+", "change": "~", "remove": "-"}
COLOURS = {"add": "green", "change": "yellow", "remove": "red"}


def no_paint(text: str, colour: str) -> str:
    return text


def render_plan(plan: Plan, paint: Paint = no_paint) -> Iterator[str]:
    """The plan, line by line."""
    yield f"Plan for store {plan.lineage} at revision {plan.revision}, as {plan.actor}:"
    yield ""
    if not plan.actions:
        yield "No changes. The store matches the desired state."
    for action in plan.actions:
        yield from render_action(action, paint)
    yield ""
    yield summary_line(plan)
    people = len({n.to for a in plan.actions for n in a.notifications})
    news = sum(len(a.notifications) for a in plan.actions)
    if news:
        whom = f"{people} {plural(people, 'person', 'people')}"
        yield f"E-mail: {whom} will hear of {news} {plural(news, 'change')}, in one message each."


def render_action(action: Action, paint: Paint = no_paint) -> Iterator[str]:
    symbol = paint(SYMBOLS[action.effect], COLOURS[action.effect])
    detail = details(action)
    yield f"  {symbol} {action.kind} {target_label(action)}" + (f": {detail}" if detail else "")
    if not action.permitted:
        yield "      " + paint(f"blocked: {action.reason}", "red")


def summary_line(plan: Plan) -> str:
    counts = plan.summary()
    return (
        f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['remove']} to remove, "
        f"{counts['blocked']} blocked."
    )


def target_label(action: Action) -> str:
    """The thing an action is about, as a person names it."""
    target = action.target
    if action.kind.startswith("access."):
        return f"{target['user']} on {target['serial']}"
    if action.kind.startswith("coordinator."):
        return f"{target['coordinator']} on {target['contract']}"
    if action.kind.startswith("serial."):
        return target["serial"]
    return target.get("user") or target["contract"]


def details(action: Action) -> str:
    """What an add sets, or what a change changes: `field old → new`."""
    if action.effect == "remove":
        return ""
    after = action.after or {}
    if action.effect == "add":
        if action.kind == "user.add":
            return f"{after['first_name']} {after['last_name']}"
        return ", ".join(f"{key} {show(value)}" for key, value in after.items() if value not in (None, False))
    before = action.before or {}
    return ", ".join(
        f"{key} {show(before.get(key))} → {show(value)}"
        for key, value in after.items()
        if before.get(key) != value
    )


def show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(str(v) for v in value.values())
    return str(value)
