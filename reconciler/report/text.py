"""A plan, a drift or the history for a terminal.

A plan is one line per action, `+` add, `~` change, `-` remove, then a summary:

    + user.add carol@acme.example: Carol Smith
    ~ serial.seats_change 399-12345678: seats 10 → 12
    - access.revoke bob@acme.example on 399-12345678
    ~ contract.manager_change 110001234567: manager alice@acme.example → bob@acme.example
        blocked: changing the Contract Manager of contract 110001234567 needs the reseller: ask …

    Plan: 1 to add, 2 to change, 1 to remove, 1 blocked.

A drift reads from git to the store, as a change made outside git: `+` the
store has it and git does not, `-` git has it and the store does not, `~` the
fields differ (git → store). The history shows each apply as a plan; an
adoption (`apply --adopt`) says so, and marks each of its entries `(adopted)`.

`paint(text, colour)` colours a piece of text; the command line passes one
that works on a terminal, tests and files get plain text. Every line is
scrubbed before it is painted (reconciler/characters.py): a store that holds
a name with a control or a bidi override, written past validation, still
cannot move the cursor, reorder a line or hide a difference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from reconciler.characters import scrub
from reconciler.errors import plural
from reconciler.kinds import Effect, Record
from reconciler.plan import Action, Plan
from reconciler.records import Applied, AuditEntry, Difference, Drift
from reconciler.report.notes import plan_notes
from reconciler.wording import details, fields, show, target_label

Paint = Callable[[str, str], str]

SYMBOLS = {Effect.ADD: "+", Effect.CHANGE: "~", Effect.REMOVE: "-"}
COLOURS = {Effect.ADD: "green", Effect.CHANGE: "yellow", Effect.REMOVE: "red"}


def no_paint(text: str, colour: str) -> str:
    return text


def render_plan(plan: Plan, paint: Paint = no_paint) -> Iterator[str]:
    """The plan, line by line."""
    yield scrub(f"Plan for store {plan.lineage} at revision {plan.revision}, as {plan.actor}:")
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
    for note in plan_notes(plan):
        line = scrub(f"{note.label}: {note.text}")
        yield paint(line, "red") if note.warning else line


def render_action(action: Action, paint: Paint = no_paint) -> Iterator[str]:
    symbol = paint(SYMBOLS[action.effect], COLOURS[action.effect])
    detail = details(action)
    yield f"  {symbol} " + scrub(f"{action.kind} {target_label(action)}" + (f": {detail}" if detail else ""))
    if not action.permitted:
        yield "      " + paint(scrub(f"blocked: {action.reason}"), "red")


def summary_line(plan: Plan) -> str:
    counts = plan.summary()
    return (
        f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['remove']} to remove, "
        f"{counts['blocked']} blocked."
    )


def difference_label(difference: Difference) -> str:
    """The record a drift is about, as a person names it: `serial 399-12345678`."""
    target = difference.target
    if difference.record is Record.ACCESS:
        return f"access {target['user']} on {target['serial']}"
    if difference.record is Record.COORDINATOR:
        return f"coordinator {target['coordinator']} on {target['contract']}"
    if difference.record is Record.TEAM_MEMBER:
        return f"member {target['user']} of team {target['team']}"
    if difference.record is Record.TEAM_ACCESS:
        return f"team {target['team']} on {target['serial']}"
    return f"{difference.record} {target[difference.record]}"


def record_fields(record: Mapping[str, Any] | None) -> str:
    """What a record holds, as `details` shows an add: a user's name, else `field value, …`."""
    record = record or {}
    if set(record) == {"first_name", "last_name"}:
        return f"{record['first_name']} {record['last_name']}"
    return ", ".join(f"{key} {show(value)}" for key, value in fields(record) if value not in (None, False))


def changed_fields(difference: Difference) -> str:
    """Fields that differ, as `field git → store`."""
    store, git = difference.store or {}, difference.git or {}
    return ", ".join(
        f"{key} {show(git.get(key))} → {show(store.get(key))}" for key, _ in fields(git, every=True)
    )


#: Drift seen from git: what the store has that git does not was added outside git.
DRIFT_SECTIONS = (
    ("only_in_store", "+", Effect.ADD, "In the store, not in git (added or kept outside git):"),
    ("only_in_git", "-", Effect.REMOVE, "In git, not in the store (removed outside git, or never applied):"),
    ("differ", "~", Effect.CHANGE, "Different (git → store):"),
)


def drift_line(section: str, difference: Difference) -> str:
    """One difference without its symbol: `serial 399-12345678: seats 10 → 12`."""
    if section == "differ":
        detail = changed_fields(difference)
    else:
        detail = record_fields(difference.store if section == "only_in_store" else difference.git)
    return difference_label(difference) + (f": {detail}" if detail else "")


def render_drift(drift: Drift, paint: Paint = no_paint) -> Iterator[str]:
    """The drift, line by line."""
    yield scrub(f"Drift of store {drift.lineage} at revision {drift.revision} from git:")
    yield ""
    if not (drift.only_in_store or drift.only_in_git or drift.differ):
        yield "No drift. The store matches git."
    for section, symbol, effect, heading in DRIFT_SECTIONS:
        differences: tuple[Difference, ...] = getattr(drift, section)
        if differences:
            yield heading
            for difference in differences:
                yield f"  {paint(symbol, COLOURS[effect])} {scrub(drift_line(section, difference))}"
    if drift.stale_invites:
        yield f"Still invited {drift.stale_after_days} days or more after being added:"
        for invite in drift.stale_invites:
            yield scrub(f"  {invite.user} (invited {invite.invited_at})")
    yield ""
    yield drift_summary_line(drift)


def drift_summary_line(drift: Drift) -> str:
    counts = drift.summary()
    line = (
        f"Drift: {counts['only_in_store']} only in the store, {counts['only_in_git']} only in git, "
        f"{counts['differ']} different"
    )
    if drift.stale_after_days is not None:
        line += f", {counts['stale_invites']} stale {plural(counts['stale_invites'], 'invite')}"
    return line + "."


def render_history(applies: Sequence[Applied], paint: Paint = no_paint) -> Iterator[str]:
    """What each apply changed, newest first."""
    if not applies:
        yield "Nothing has been applied to this store yet."
    for index, applied in enumerate(applies):
        if index:
            yield ""
        count = len(applied.changes)
        if applied.adopted:
            yield scrub(
                f"Revision {applied.revision}, adopted by {applied.actor} at {applied.at}: "
                f"{count} {plural(count, 'record')} recorded as already there, nobody told"
            )
        else:
            yield scrub(
                f"Revision {applied.revision}, applied by {applied.actor} at {applied.at}: "
                f"{count} {plural(count, 'action')}"
            )
        for change in applied.changes:
            lines = list(render_action(as_action(change), paint))
            if change.adopted:
                lines[0] += " (adopted)"
            yield from lines


def as_action(change: AuditEntry) -> Action:
    """An audited change as the plan action it was, so that it renders the same way."""
    return Action(change.kind, change.target, change.before, change.after)
