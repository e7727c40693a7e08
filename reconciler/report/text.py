"""A plan, a drift or the history for a terminal.

A plan is one line per action, `+` add, `~` change, `-` remove, then a summary:

    + user.add carol@acme.example: Carol Smith
    ~ serial.seats_change 399-12345678: seats 10 → 12
    - access.revoke bob@acme.example on 399-12345678
    ~ contract.manager_change 110001234567: manager alice@acme.example → bob@acme.example
        blocked: changing the Contract Manager of contract 110001234567 needs the reseller: ask …
    + team.member_add dana@acme.example in team Review
        held back: waits on access.grant dana@acme.example on 399-20000001, which is blocked
    + access.grant dana@acme.example on 399-20000001: via team:Review
        blocked: giving dana@acme.example access to serial 399-20000001 needs the Contract Manager: …

    Plan: 2 to add, 2 to change, 1 to remove, 2 blocked.

A permitted action that `apply --request` would hold back says which blocked
action it waits on. A removal of what expired (`expires`, `plan --today`)
says so on its line, `- access.revoke carol@acme.example on 399-12345678
(expired 2027-01-15)`, and is listed again, by that day, in a section of its
own below the actions (`Expired: …`). What the account's policy rules said
comes next (report/attention.py), each record a rule holds for at the place
it is written:

    Policy: 3 rules over 32 records:
      Denied (1):
        users.yaml:14:7: deny no-contractor-download: no downloads (access cy@x.example on 399-12345678)
      Warnings (1):
        users.yaml:30:5: warn many-serials: holds more than one serial (user bob@acme.example)
      This plan needs 2 approving reviews (policy big-change).

A rule that holds for more records than `attention.LISTED` in a part lists
its first ones and then how many more (`… and 1,225 more of many-serials`).

and the plan's notes tell the actions a rule denies (which no `--request`
can ask for) from those the actor may not perform. A long plan can be shown
in brief (`render_brief`: each contract's counts, each kind's first actions,
what expired counted by day, what the policy rules said, every action the
actor may not perform, and how to see every one), for `plan --summary` and
for apply's question on a short terminal.

A drift reads from git to the store, as a change made outside git: `+` the
store has it and git does not, `-` git has it and the store does not, `~` the
fields differ (git → store). The history shows each apply as a plan; an
adoption (`apply --adopt`) says so, and marks each of its entries `(adopted)`.
A usage report lists what needs action first (report/attention.py), then a
table of each contract's serials, numbers right-aligned.

`paint(text, colour)` colours a piece of text; the command line passes one
that works on a terminal, tests and files get plain text. Every line is
scrubbed before it is painted (reconciler/core/characters.py): a store that holds
a name with a control or a bidi override, written past validation, still
cannot move the cursor, reorder a line or hide a difference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from reconciler.core.characters import scrub
from reconciler.core.errors import plural
from reconciler.core.kinds import Effect, Kind
from reconciler.core.plan import Action, Plan
from reconciler.core.records import AuditEntry, Difference, Drift, SerialUsage, Usage
from reconciler.core.wording import details, expired_reason, fields, record_label, show, target_label
from reconciler.report import grouping
from reconciler.report.attention import (
    attention,
    policy_findings,
    totals,
    verdict_line,
    when_it_ends,
)
from reconciler.report.expiring import EXPIRED_HEADING, expiring_count, expiring_lines, usage_expiring_text
from reconciler.report.notes import plan_notes
from reconciler.report.summary import Brief

Paint = Callable[[str, str], str]

SYMBOLS = {Effect.ADD: "+", Effect.CHANGE: "~", Effect.REMOVE: "-"}
COLOURS = {Effect.ADD: "green", Effect.CHANGE: "yellow", Effect.REMOVE: "red"}


def no_paint(text: str, colour: str) -> str:
    return text


def render_plan(plan: Plan, paint: Paint = no_paint) -> Iterator[str]:
    """The plan, line by line."""
    yield scrub(f"Plan for store {plan.lineage} at revision {plan.revision}, as {plan.actor}:")
    yield ""
    yield from _notes(plan, paint, first=True)
    if not plan.actions:
        yield "No changes. The store matches the desired state."
    # Each effect's symbol is painted once, not once an action (the same piece in the same colour
    # paints the same): 400,000 calls to paint took a sixth of the time a large plan takes to print.
    symbols = {effect: paint(symbol, COLOURS[effect]) for effect, symbol in SYMBOLS.items()}
    for action in plan.actions:  # the lines of render_action, without a generator for each action
        yield painted_action_line(action, symbols[action.kind.effect])
        if not action.permitted:
            yield blocked_line(action, paint)
        elif action.held:
            yield held_line(action, paint)
    expired = grouping.expired(plan.actions)
    if expired:
        yield ""
        yield paint(grouping.expired_heading(len(expired)) + ":", "yellow")
        for action in expired:
            blocked = "" if action.permitted else " (blocked)"
            yield f"  {symbols[action.effect]} {scrub(f'{action.kind} {target_label(action)}')}: " + (
                expired_reason(action) + blocked
            )
    yield from _policy(plan, paint)
    yield ""
    yield from _plan_end(plan, paint)


def _policy(plan: Plan, paint: Paint) -> Iterator[str]:
    """What the plan's policy rules said (report/attention.py), after a blank line: the records a rule
    denies, those a rule could not be evaluated for, those a rule warns of, each rule's first few and
    how many more; then the approving reviews the plan needs. Nothing when they said nothing."""
    found = policy_findings(plan)
    if found is None:
        return
    yield ""
    yield paint(found.heading + ":", "red" if found.denied or found.errors else "yellow")
    for heading, rules in found.parts():
        colour = "yellow" if rules is found.warnings else "red"
        yield f"  {heading} ({sum(r.count for r in rules):,}):"
        for rule in rules:
            for verdict in rule.listed:
                yield "    " + paint(scrub(verdict_line(verdict)), colour)
            if rule.more:
                yield "    " + scrub(rule.more_line)
    if found.approvals:
        yield "  " + paint(scrub(found.approvals_line), "yellow")


def _plan_end(plan: Plan, paint: Paint) -> Iterator[str]:
    """The lines that close a plan, whole or in brief: its counts, its e-mail, its notes."""
    yield summary_line(plan)
    people = len({n.to for a in plan.actions for n in a.notifications})
    news = sum(len(a.notifications) for a in plan.actions)
    if news:
        whom = f"{people:,} {plural(people, 'person', 'people')}"
        yield f"E-mail: {whom} will hear of {news:,} {plural(news, 'change')}, in one message each."
    yield from _notes(plan, paint, first=False)


def _notes(plan: Plan, paint: Paint, first: bool) -> Iterator[str]:
    """The plan's notes said before its actions (`first`, then a blank line), or those said after."""
    notes = [note for note in plan_notes(plan) if note.first == first]
    for note in notes:
        line = scrub(f"{note.label}: {note.text}")
        yield paint(line, "red") if note.warning else line
    if notes and first:
        yield ""


#: The columns of a brief's table of contracts, after the contract's own: heading, and the count's field.
BRIEF_COLUMNS = (("to add", "add"), ("to change", "change"), ("to remove", "remove"), ("blocked", "blocked"))
#: The row of a brief's table for the actions on no contract.
NO_CONTRACT = "(users, teams)"


def render_brief(found: Brief, see_all: str, paint: Paint = no_paint) -> Iterator[str]:
    """A plan in brief (report/summary.py), line by line: its contracts' counts, each kind's count and
    first actions, what expired counted by its last day, what the policy rules said, then every action
    the actor may not perform with its reason (last, nearest apply's question), the plan's end; last of
    all, how many actions it shows and `see_all`, how to see every one."""
    plan = found.plan
    yield scrub(f"Plan for store {plan.lineage} at revision {plan.revision}, as {plan.actor}, in brief:")
    yield ""
    yield from _notes(plan, paint, first=True)
    if not plan.actions:
        yield "No changes. The store matches the desired state."
        yield ""
        yield from _plan_end(plan, paint)
        return
    symbols = {effect: paint(symbol, COLOURS[effect]) for effect, symbol in SYMBOLS.items()}
    yield "By contract:"
    rows = [
        (scrub(c.contract) or NO_CONTRACT, *(f"{getattr(c.tally, field):,}" for _, field in BRIEF_COLUMNS))
        for c in found.contracts
    ]
    heading = ("contract", *(name for name, _ in BRIEF_COLUMNS))
    widths = [max(len(row[i]) for row in [heading, *rows]) for i in range(len(heading))]
    for row in [heading, *rows]:
        numbers = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        yield "  " + "  ".join([row[0].ljust(widths[0]), *numbers])
    yield ""
    yield f"By kind, the first {found.shown:,} of each:" if found.shown else "By kind:"
    for kind in found.kinds:
        aside = f" ({kind.held}, below)" if kind.blocked else ""
        yield f"  {kind.kind}: {kind.count:,}{aside}"
        for action in kind.first:
            yield "  " + painted_action_line(action, symbols[action.effect])
            if action.held:
                yield "  " + held_line(action, paint)
        if kind.unshown and kind.first:
            yield f"      … and {kind.unshown:,} more"
    if found.expired:
        yield ""
        yield paint(grouping.expired_heading(found.expired_count) + ", counted by that day:", "yellow")
        for day, count in found.expired:
            yield f"  {day}: {count:,}"
    yield from _policy(plan, paint)
    blocked = found.blocked
    if blocked:
        count = len(blocked)
        yield ""
        title = f"Blocked: {count:,} {plural(count, 'action')} the actor may not perform, every one:"
        yield paint(title, "red")
        for action in blocked:
            yield painted_action_line(action, symbols[action.effect])
            yield blocked_line(action, paint)
    yield ""
    yield from _plan_end(plan, paint)
    total = len(plan.actions)
    if found.listed == total:
        yield f"In brief: all {total:,} {plural(total, 'action')} shown."
    else:
        yield f"In brief: {found.listed:,} of {total:,} {plural(total, 'action')} shown. {see_all}"


def render_action(action: Action, paint: Paint = no_paint) -> Iterator[str]:
    yield action_line(action, paint)
    if not action.permitted:
        yield blocked_line(action, paint)
    elif action.held:
        yield held_line(action, paint)


def action_line(action: Action, paint: Paint = no_paint) -> str:
    """`  + access.grant carol@acme.example on 399-12345678: download yes`"""
    effect = action.kind.effect
    return painted_action_line(action, paint(SYMBOLS[effect], COLOURS[effect]))


def painted_action_line(action: Action, symbol: str) -> str:
    """`action_line`, given its symbol painted."""
    detail = details(action)
    line = f"{action.kind} {target_label(action)}"
    if detail:
        line += f": {detail}"
    if action.expired is not None:
        line += f" ({expired_reason(action)})"
    return f"  {symbol} {scrub(line)}"


def blocked_line(action: Action, paint: Paint = no_paint) -> str:
    return "      " + paint(scrub(f"blocked: {action.reason}"), "red")


def held_line(action: Action, paint: Paint = no_paint) -> str:
    """Why `apply --request` would hold a permitted action back: the blocked action it waits on."""
    return "      " + paint(scrub(f"held back: {action.held}"), "yellow")


def summary_line(plan: Plan) -> str:
    counts = plan.summary()
    return (
        f"Plan: {counts['add']:,} to add, {counts['change']:,} to change, {counts['remove']:,} to remove, "
        f"{counts['blocked']:,} blocked."
    )


def difference_label(difference: Difference) -> str:
    """The record a drift is about, as a person names it: `serial 399-12345678`."""
    return record_label(difference.record, difference.target)


def action_detail(action: Action) -> str:
    """What an action does, for the reports that show a removal by what it removes: the removed
    record's fields, else `details`. A removal of what expired leaves its `expires` out: the line says
    when it ended (`expired DAY`)."""
    if action.effect is not Effect.REMOVE:
        return details(action)
    before = action.before
    if before and action.expired is not None and "expires" in before:
        before = {key: value for key, value in before.items() if key != "expires"}
    return record_fields(before)


#: A user's record: their name says who they are (their directory id adds nothing for a reader), and
#: the last day they have, if any.
_A_USER = ({"first_name", "last_name"}, {"first_name", "last_name", "id"})
_A_USER_UNTIL = tuple(fields | {"expires"} for fields in _A_USER)


def record_fields(record: Mapping[str, Any] | None) -> str:
    """What a record holds, as `details` shows an add: a user's name (and last day), else
    `field value, …`."""
    record = record or {}
    if set(record) in _A_USER:
        return f"{record['first_name']} {record['last_name']}"
    if set(record) in _A_USER_UNTIL:
        return f"{record['first_name']} {record['last_name']}, expires {record['expires']}"
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
    if not (drift.only_in_store or drift.only_in_git or drift.differ or drift.expired):
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
    if drift.expired:
        yield EXPIRED_HEADING
        yield from (paint(line, "red") for line in expiring_lines(drift.expired))
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
    if drift.expired:
        line += f", {counts['expired']} past {plural(counts['expired'], 'its', 'their')} last day"
    return line + "."


def as_action(change: AuditEntry) -> Action:
    """An audited change of a plan (not a chore) as the plan action it was, to render it the same way."""
    assert isinstance(change.kind, Kind), f"{change.kind} is a chore, not a plan's action"
    return Action(change.kind, change.target, change.before, change.after)


#: The columns of a usage table: heading, and whether its values are numbers (right-aligned).
USAGE_COLUMNS = (
    ("serial", False),
    ("product", False),
    ("group", False),
    ("coordinator", False),
    ("seats", True),
    ("assigned", True),
    ("free", True),
    ("invited", True),
    ("stale", True),
)


def render_usage(usage: Usage, paint: Paint = no_paint) -> Iterator[str]:
    """Seats and renewals: what needs action first, then each contract's serials in a table."""
    yield scrub(
        f"Seats and renewals of store {usage.lineage} at revision {usage.revision}, on {usage.today}:"
    )
    yield ""
    found = attention(usage)
    if found:
        yield "Needs action:"
    else:
        yield "Nothing needs action."
    if found.full:
        yield "  " + paint(f"Full ({len(found.full):,}):", "red")
        for contract, serial in found.full:
            yield scrub(
                f"    {serial.number} {serial.product} on {contract.number}: "
                f"{serial.assigned:,} of {serial.seats:,} {plural(serial.seats, 'seat')} assigned"
            )
    if found.unused:
        count = len(found.unused)
        yield "  " + paint(
            f"Unused seats ({found.unused_seats:,} on {count:,} {plural(count, 'serial')}):", "yellow"
        )
        for contract, serial in found.unused:
            yield scrub(
                f"    {serial.number} {serial.product} on {contract.number}: "
                f"{serial.free:,} of {serial.seats:,} free"
            )
    if found.stale:
        heading = (
            f"Still invited {usage.stale_after_days:,} days or more after being added ({len(found.stale):,}):"
        )
        yield "  " + paint(heading, "yellow")
        for user in found.stale:
            yield scrub(f"    {user.user} (invited {user.invited_at}) holds {', '.join(user.serials)}")
    if found.renewals:
        yield "  " + paint(
            f"Renewal due within {usage.renewal_days:,} days ({len(found.renewals):,}):", "yellow"
        )
        for contract in found.renewals:
            text = scrub(f"    {contract.number} {when_it_ends(contract)}; manager {contract.manager}")
            yield paint(text, "red") if (contract.days_left or 0) < 0 else text
    if usage.expiring_days is not None:
        yield ""
        yield from usage_expiring_text(usage, paint)
    columns = USAGE_COLUMNS if usage.stale_after_days is not None else USAGE_COLUMNS[:-1]
    rows = {s.number: _usage_row(s)[: len(columns)] for c in usage.contracts for s in c.serials}
    widths = [
        max([len(heading), *(len(row[i]) for row in rows.values())]) for i, (heading, _) in enumerate(columns)
    ]

    def line(cells: tuple[str, ...]) -> str:
        padded = (
            cell.rjust(width) if number else cell.ljust(width)
            for cell, width, (_, number) in zip(cells, widths, columns, strict=True)
        )
        return "  " + "  ".join(padded).rstrip()

    for contract in usage.contracts:
        yield ""
        due = ", renewal due" if contract.renewal_due else ""
        yield scrub(f"Contract {contract.number}: manager {contract.manager}, {when_it_ends(contract)}{due}")
        if not contract.serials:
            yield "  no serials"
            continue
        yield line(tuple(heading for heading, _ in columns))
        for serial in contract.serials:
            yield line(rows[serial.number])
    yield ""
    yield usage_summary_line(usage)


def _usage_row(serial: SerialUsage) -> tuple[str, ...]:
    return (
        scrub(serial.number),
        scrub(serial.product),
        scrub(show(serial.group)),
        scrub(serial.coordinator),
        f"{serial.seats:,}",
        f"{serial.assigned:,}",
        f"{serial.free:,}",
        f"{serial.invited:,}",
        f"{len(serial.stale_invites):,}",
    )


def usage_summary_line(usage: Usage) -> str:
    counts = totals(usage)
    line = (
        f"Usage: {counts['contracts']:,} {plural(counts['contracts'], 'contract')}, "
        f"{counts['serials']:,} {plural(counts['serials'], 'serial')}, {counts['seats']:,} "
        f"{plural(counts['seats'], 'seat')}: {counts['assigned']:,} assigned, {counts['free']:,} free; "
        f"{counts['full']:,} full, {counts['renewals_due']:,} {plural(counts['renewals_due'], 'renewal')} due"
    )
    if usage.stale_after_days is not None:
        line += f", {counts['stale_invites']:,} stale {plural(counts['stale_invites'], 'invite')}"
    return line + expiring_count(usage) + "."
