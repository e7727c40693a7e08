"""What `remind` did, for a terminal and as JSON: each reminder due, whether this run queued it or an
earlier one had, and the counts per mark.

    Reminders due on 2026-12-01, 14 and 3 days before an expiry, in store 5b0c… at revision 4:
      queued          14 days  carol@acme.example  access carol@acme.example on 399-12345678, until …
      queued          14 days  bob@acme.example    access carol@acme.example on 399-12345678, until …
      already queued   3 days  dana@acme.example   member dana@acme.example of team Review, until …

    Queued 2 reminders (2 at 14 days, 0 at 3 days); 1 was queued already. `reconciler notify` sends them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reconciler.core.characters import scrub
from reconciler.core.errors import plural
from reconciler.core.planfile import store_to_json
from reconciler.core.records import Reminded, Reminder
from reconciler.report.expiring import entry_label, expiring_to_json, when
from reconciler.report.json import FORMAT_VERSION, dumps

QUEUED, ALREADY = "queued", "already queued"


def _marks(marks: tuple[int, ...]) -> str:
    """`14 and 3 days`, largest first."""
    shown = [f"{mark:,}" for mark in sorted(marks, reverse=True)]
    joined = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    return f"{joined} {plural(max(marks), 'day')}"


def render_reminded(reminded: Reminded) -> Iterator[str]:
    """What `remind` queued, line by line: a line per reminder due, then the counts."""
    yield scrub(
        f"Reminders due on {reminded.today}, {_marks(reminded.marks)} before an expiry, in store "
        f"{reminded.lineage} at revision {reminded.revision}:"
    )
    rows = [(QUEUED, r) for r in reminded.queued] + [(ALREADY, r) for r in reminded.already]
    if not rows:
        yield "  none."
    width = max((len(r.to) for _, r in rows), default=0)
    mark_width = max(len(f"{mark:,}") for mark in reminded.marks)
    for status, reminder in rows:
        entry = reminder.expiring
        yield scrub(
            f"  {status:<{len(ALREADY)}}  {reminder.mark:>{mark_width},} {plural(reminder.mark, 'day')}  "
            f"{reminder.to:<{width}}  {entry_label(entry)}, {when(entry)}"
        ).rstrip()
    yield ""
    yield summary_line(reminded)


def summary_line(reminded: Reminded) -> str:
    """`Queued 2 reminders (2 at 14 days, 0 at 3 days); 1 was queued already.`"""
    counts = reminded.counts()
    queued, already = len(reminded.queued), len(reminded.already)
    per_mark = ", ".join(f"{new:,} at {mark:,} {plural(mark, 'day')}" for mark, (new, _) in counts.items())
    line = f"Queued {queued:,} {plural(queued, 'reminder')} ({per_mark})"
    if already:
        line += f"; {already:,} {plural(already, 'was', 'were')} queued already"
    line += "."
    if queued:
        line += " `reconciler notify` sends them."
    return line


def reminded_json(reminded: Reminded) -> str:
    """`remind --format json`: `format_version`, `store`, `today`, `marks` (largest first), `summary`
    (`queued`, `already_queued`), `by_mark` (each `mark`, `queued`, `already_queued`) and `reminders`,
    each with `status` (`queued` or `already_queued`), `mark`, `to`, `role` (`user` or `coordinator`)
    and `entry` (as usage's and drift's JSON write an entry with its date)."""
    counts = reminded.counts()
    data: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "store": store_to_json(reminded.lineage, reminded.revision),
        "today": reminded.today,
        "marks": sorted(reminded.marks, reverse=True),
        "summary": {"queued": len(reminded.queued), "already_queued": len(reminded.already)},
        "by_mark": [
            {"mark": mark, "queued": new, "already_queued": old} for mark, (new, old) in counts.items()
        ],
        "reminders": [_reminder(r, "queued") for r in reminded.queued]
        + [_reminder(r, "already_queued") for r in reminded.already],
    }
    return dumps(data)


def _reminder(reminder: Reminder, status: str) -> dict[str, Any]:
    return {
        "status": status,
        "mark": reminder.mark,
        "to": reminder.to,
        "role": reminder.role,
        "entry": expiring_to_json(reminder.expiring),
    }
