"""The audit log as people read it (`reconciler history`): each apply or chore, newest first.

An apply lists its actions as a plan does, with where it came from (commit,
pull request) when that is known; a chore (`users activate`, `resellers
add|remove`) lists the people it concerned. Text for a terminal, markdown for
an issue or a job summary; JSON is report/json.py's `history_json`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from reconciler.core.characters import scrub
from reconciler.core.errors import plural
from reconciler.core.kinds import Effect
from reconciler.core.records import Applied, AuditEntry, Chore
from reconciler.report import markdown
from reconciler.report.escaping import inert, literal
from reconciler.report.fitting import Report
from reconciler.report.text import COLOURS, SYMBOLS, Paint, action_line, as_action, no_paint

#: The marker of a history comment, so a workflow finds its own comment again.
HISTORY_MARKER = "<!-- reconciler:history -->"

#: What a chore did to the person it concerns, worded once for every report of the audit log
#: (`history`, `users show`): its effect (which gives its symbol and colour) and its words.
CHORES = {
    Chore.USER_ACTIVATE: (Effect.CHANGE, "status invited → active (signed in)"),
    Chore.RESELLER_ADD: (Effect.ADD, "made a reseller"),
    Chore.RESELLER_REMOVE: (Effect.REMOVE, "no longer a reseller"),
}


@dataclass(frozen=True)
class Filters:
    """What a history was limited to, said above it: entries concerning `user`, `since` a day, of `kinds`."""

    user: str | None = None
    since: str | None = None
    kinds: tuple[str, ...] = ()

    def describe(self) -> str:
        said = [f"concerning {self.user}"] if self.user else []
        said += [f"since {self.since}"] if self.since else []
        said += [f"of kind {' or '.join(self.kinds)}"] if self.kinds else []
        return ", ".join(said)


NO_FILTERS = Filters()


@dataclass(frozen=True)
class _Done:
    """What an apply or chore did, in words every format lays out its own way: `applied` by whom,
    how many `things`, and what the reader should know besides (an adoption told nobody)."""

    what: str
    count: int
    things: str
    besides: str = ""

    @classmethod
    def of(cls, applied: Applied) -> _Done:
        count = len(applied.changes)
        chores = {change.kind for change in applied.changes if isinstance(change.kind, Chore)}
        if chores == {Chore.USER_ACTIVATE}:
            return cls("users activated", count, plural(count, "user"))
        if chores:
            return cls("resellers changed", count, plural(count, "change"))
        if applied.adopted:
            return cls("adopted", count, plural(count, "record"), " recorded as already there, nobody told")
        return cls("applied", count, plural(count, "action"))


def heading(applied: Applied) -> str:
    """`Revision 3, applied by X at T: 4 actions`, or what a chore or an adoption did."""
    done = _Done.of(applied)
    return (
        f"Revision {applied.revision}, {done.what} by {applied.actor} at {applied.at}: "
        f"{done.count} {done.things}{done.besides}"
    )


def change_line(change: AuditEntry, paint: Paint = no_paint) -> str:
    """A change as a plan's line says it; a chore as
    `  ~ user.activate carol@…: status invited → active (signed in)`, its symbol painted as its effect's."""
    if isinstance(change.kind, Chore):
        effect, words = CHORES[change.kind]
        symbol = paint(SYMBOLS[effect], COLOURS[effect])
        return f"  {symbol} {scrub(f'{change.kind} {_concerned(change)}: {words}')}"
    line = action_line(as_action(change), paint)
    return line + " (adopted)" if change.adopted else line


def render_history(
    applies: Sequence[Applied], filters: Filters = NO_FILTERS, paint: Paint = no_paint
) -> Iterator[str]:
    """What each apply (or chore) changed, newest first, for a terminal."""
    if not applies:
        yield (
            f"No entry {filters.describe()}."
            if filters.describe()
            else "Nothing has been applied to this store yet."
        )
    elif filters.describe():
        yield f"Only the entries {filters.describe()}."
        yield ""
    for index, applied in enumerate(applies):
        if index:
            yield ""
        yield scrub(heading(applied))
        if applied.source is not None:
            yield "  " + scrub(f"from {applied.source.describe()}")
        for change in applied.changes:
            yield change_line(change, paint)


def render_history_markdown(
    applies: Sequence[Applied], filters: Filters = NO_FILTERS, *, limit: int = markdown.SUMMARY_LIMIT
) -> str:
    """What each apply changed, newest first, for an issue or a job summary; cut to `limit` bytes."""
    report = Report()
    report.head += [HISTORY_MARKER, "### reconciler history"]
    if filters.describe():
        report.head += ["", inert(f"Only the entries {filters.describe()}.")]
    if not applies:
        report.head += [
            "",
            "No entry matches." if filters.describe() else "Nothing has been applied to this store yet.",
        ]
    for applied in applies:
        what, items = _said(applied)
        report.body += [f"#### Revision {applied.revision:,}", "", what, ""]
        if applied.source is not None:
            report.body += [_source_markdown(applied), ""]
        report.fenced("", items, [_diff_line(c) for c in applied.changes])
    return report.text(limit, "change", "`reconciler history --format json` has all of it.")


def _said(applied: Applied) -> tuple[str, str]:
    """What an apply or chore did, as the sentence under its revision, and how its lines are counted."""
    done = _Done.of(applied)
    counted = f"{done.count:,} {done.things}"
    said = (
        f"{done.what.capitalize()} by {inert(applied.actor)} at {inert(applied.at)}: {counted}{done.besides}."
    )
    return said, f"{done.count:,} adopted {done.things}" if applied.adopted else counted


def _concerned(chore: AuditEntry) -> str:
    """The one person a chore's entry names (its target is `{"user": …}` or `{"reseller": …}`)."""
    return next(iter(chore.target.values()), "")


def _diff_line(change: AuditEntry) -> str:
    """A change as a line of a ```diff block, as a plan's markdown has it: `! access.update …`."""
    if isinstance(change.kind, Chore):
        effect, words = CHORES[change.kind]
        return literal(f"{markdown.SYMBOLS[effect]} {change.kind} {_concerned(change)}: {words}")
    return markdown.action_line(as_action(change), with_kind=True) + (
        "   (adopted)" if change.adopted else ""
    )


def _source_markdown(applied: Applied) -> str:
    """Where an apply came from, with links GitHub shows as links; what users wrote is made inert."""
    source = applied.source
    assert source is not None
    parts = []
    if source.commit:
        short = inert(source.commit[:12])
        parts.append(f"commit [{short}]({source.commit_url})" if source.commit_url else f"commit {short}")
    if source.pull_request:
        parts.append(f"pull request {source.pull_request}")
    if source.run:
        parts.append(f"[the run]({source.run})")
    if source.text:
        parts.append(inert(source.text))
    return "From " + ", ".join(parts) + "."
